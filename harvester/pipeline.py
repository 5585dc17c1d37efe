"""The harvest orchestrator: the one place that knows the whole sequence.

For each due source: fetch (conditional GET) → parse → identify → score →
full text for new items → score again → write everything in one transaction
(a savepoint in a commit shared with other sources, see ``_Writer``) → schedule
the next check. Each step is a plain function in its own module;
this file only wires them together and decides what a failure means for the
source. A failure of one source is recorded on that source and never reaches
the others.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db import store
from scoring import SCORING_VERSION, score_item

from .apis.base import FollowUp
from .fetch import FEED_ACCEPT, FetchLimits, Fetcher, FetchResult, USER_AGENT
from .fulltext import extract_text, needs_fulltext
from .identity import canonical_url, content_hash, item_id
from .parse import Entry, FeedParseError, ParsedFeed
from .parsers import parse_body
from .polling import next_check

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


@dataclass
class HarvestSettings:
    concurrency: int = 16             # sources fetched at once
    per_host: int = 2                 # requests at once to one host
    fulltext: bool = True
    fulltext_concurrency: int = 4     # article pages fetched at once (all sources)
    fulltext_min_chars: int = 600     # feed text shorter than this gets the article fetched
    fulltext_per_source: int = 20     # article pages per source per run, to stay polite
    parse_workers: int = 2            # processes for parsing and scoring in big passes (0: in-process)
    pool_min_sources: int = 20        # a pass needs this many sources to start the workers
    write_batch_items: int = 3000     # items written per transaction at most (sources are batched, see _Writer)
    write_delay: float = 2.0          # seconds a finished source waits at most for others to share its commit
    cache_mib: int = 64               # SQLite page cache during a pass (the indexes of a big database)
    limits: FetchLimits = field(default_factory=FetchLimits)
    user_agent: str = USER_AGENT

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> "HarvestSettings":
        """Build from resolved settings (harvester/settings.toml names)."""
        mib = 2**20
        return cls(
            concurrency=values["concurrency"], per_host=values["per_host"], fulltext=values["fulltext"],
            fulltext_concurrency=values["fulltext_concurrency"], fulltext_min_chars=values["fulltext_min_chars"],
            fulltext_per_source=values["fulltext_per_source"], parse_workers=values["parse_workers"],
            user_agent=values["user_agent"] or USER_AGENT,
            limits=FetchLimits(max_bytes=int(values["max_body_mb"] * mib), max_decoded=int(values["max_decoded_mb"] * mib),
                               connect_timeout=values["connect_timeout"], read_timeout=values["read_timeout"],
                               max_redirects=values["max_redirects"], deadline=values["fetch_deadline"]),
        )


@dataclass
class SourceOutcome:
    source: str
    status: str                       # ok | not_modified | unchanged | failed
    new: int = 0
    updated: int = 0
    filtered: int = 0                 # new items dropped as not relevant (filter = true)
    http_status: int | None = None
    error: str | None = None
    warning: str | None = None
    elapsed: float = 0.0
    disabled: bool = False


def harvest(db: Any, *, names: Iterable[str] | None = None, include_not_due: bool = False,
            settings: HarvestSettings | None = None,
            on_done: Callable[[SourceOutcome], None] | None = None,
            transport: Any = None, should_stop: Callable[[], bool] | None = None) -> list[SourceOutcome]:
    """One pass over the due sources (or the named ones / all of them).

    ``should_stop`` is polled while sources are in flight; when it turns true the
    remaining sources are cancelled at their next network wait. A source's writes
    are queued whole and written whole (see ``_Writer``), and a source whose
    writes are queued is not cancelled, so every source has either written
    everything, and is reported, or nothing, and stays due for the next pass.
    """
    sources = store.due_sources(db, include_not_due=include_not_due or names is not None, names=names)
    if not sources:
        return []
    return asyncio.run(harvest_sources(db, sources, settings or HarvestSettings(), on_done, transport, should_stop))


async def harvest_sources(db: Any, sources: list[dict[str, Any]], settings: HarvestSettings,
                          on_done: Callable[[SourceOutcome], None] | None = None,
                          transport: Any = None,
                          should_stop: Callable[[], bool] | None = None) -> list[SourceOutcome]:
    async with Fetcher(user_agent=settings.user_agent, limits=settings.limits,
                       concurrency=settings.concurrency, per_host=settings.per_host,
                       transport=transport) as fetcher:
        pool = _pool(settings, len(sources))
        run = _Run(db, fetcher, settings, _in_pool(pool) if pool else in_thread, unfinished=len(sources))
        outcomes: list[SourceOutcome] = []

        def report(task: asyncio.Task) -> None:
            if task.cancelled() or task.exception() is not None:
                return
            outcomes.append(task.result())
            if on_done:
                on_done(outcomes[-1])

        try:
            # The writer thread sizes its own connection's cache; this is for writes on the caller's.
            with _page_cache(db, settings.cache_mib if run.writer.thread is None else 0):
                pending = {asyncio.create_task(run.source(src)) for src in sources}
                while pending:
                    done, pending = await asyncio.wait(pending, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        if not task.cancelled():
                            task.result()  # a bug past the per-source boundary stops the pass, as before
                        report(task)
                    if pending and should_stop and should_stop():
                        log.info("stopping: cancelling %d sources in flight", len(pending))
                        for task in pending:
                            task.cancel()  # those already waiting for their commit finish it (_Run.source)
                        await asyncio.gather(*pending, return_exceptions=True)
                        for task in pending:
                            report(task)
                        break
        finally:
            await run.writer.close()  # normally nothing left: every source waited for its own commit
            if pool:
                pool.shutdown(wait=True, cancel_futures=True)
    order = {s["name"]: i for i, s in enumerate(sources)}
    return sorted(outcomes, key=lambda o: order[o.source])


@contextlib.contextmanager
def _page_cache(db: Any, mib: int) -> Iterator[None]:
    """A bigger SQLite page cache for the pass, restored afterwards.

    A first harvest inserts into a dozen indexes and the full-text index at random
    places; with SQLite's default 2 MB cache most of those pages are read again
    from the file for every transaction (half the writer's CPU went to pread and
    pwrite system calls). Memory stays within the pass's budget: the cache only
    grows to ``mib`` as pages are used.
    """
    before = db.execute("PRAGMA cache_size").fetchone()[0]
    # Negative values are KiB, positive ones pages; only ever grow the cache.
    kib = -before if before < 0 else before * db.execute("PRAGMA page_size").fetchone()[0] // 1024
    grow = 0 < mib and kib < mib * 1024
    if grow:
        db.execute(f"PRAGMA cache_size = {-mib * 1024}")
    try:
        yield
    finally:
        if grow:
            db.execute(f"PRAGMA cache_size = {before}")


Offload = Callable[..., Awaitable[Any]]


# One thread for all CPU work outside the event loop: parsing and extraction hold
# the GIL anyway, and feedparser (expat) and trafilatura (a module-level lxml
# parser) must never run concurrently in one process.
_CPU_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hypewatch-cpu")


async def in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_CPU_THREAD, functools.partial(func, *args, **kwargs))


def _in_pool(pool: ProcessPoolExecutor) -> Offload:
    async def offload(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(func, *args, **kwargs))
    return offload


async def parse_response(fetcher: Fetcher, kind: str, result: FetchResult, cpu: Offload = in_thread) -> ParsedFeed:
    """Feeds go to feedparser, API responses to their adapter (which may ask for a second request).

    ``cpu`` runs the parse off the event loop: a thread, or a worker process
    when the pass is large enough for parsing to need more than one core.
    """
    return await _parse_following_up(fetcher, kind, result, cpu, parse_body)


async def _parse_following_up(fetcher: Fetcher, kind: str, result: FetchResult, cpu: Offload,
                              job: Callable[..., Any]) -> Any:
    """Run ``job(kind, body, url=, headers=)`` on the response, and on the second response an API asks for."""
    parsed = await cpu(job, kind, result.body or b"", url=result.final_url, headers=result.headers)
    if isinstance(parsed, FollowUp):
        second = await fetcher.get(parsed.url, accept="application/json, application/xml;q=0.9, */*;q=0.5")
        if second.error:
            raise FeedParseError(f"{kind} follow-up request failed: {second.error}")
        parsed = await cpu(job, kind, second.body or b"", url=second.final_url, headers=second.headers)
        if isinstance(parsed, FollowUp):
            raise FeedParseError(f"{kind}: the API asked for a third request; check the source URL")
    return parsed


@dataclass
class _Parsed:
    """What a worker sends back for one response: the feed's title and warning, and its item rows.

    Rows rather than entries, so each item crosses the process boundary once, as
    the columns it will be stored as (JSON columns already encoded).
    """

    title: str | None
    warning: str | None
    rows: dict[str, dict[str, Any]]
    scored: bool = False


def _parse_rows(kind: str, body: bytes, *, url: str, headers: dict[str, str], src: dict[str, Any],
                now: datetime, min_chars: int, score: bool) -> _Parsed | FollowUp:
    """Parse, build the item rows and, when asked, score them: one worker call per response.

    Module level so worker processes can run it. ``score`` is for sources that
    have never been harvested: all their items are new (or another source's), so
    scoring them here saves sending every text back to a worker a second time.
    """
    parsed = parse_body(kind, body, url=url, headers=headers)
    if isinstance(parsed, FollowUp):
        return parsed
    rows = _rows(src, parsed.entries, now, min_chars)
    if score and rows:
        for row, labels in zip(rows.values(), _labels([_score_input(r) for r in rows.values()])):
            row.update(labels)
    # Encoded here rather than in the main process, which has the writes to do.
    rows = {key: store.encode_item(row) for key, row in rows.items()}
    return _Parsed(parsed.title, parsed.warning, rows, scored=score)


class _Run:
    """State shared by the sources of one harvest pass."""

    def __init__(self, db: Any, fetcher: Fetcher, settings: HarvestSettings, cpu: Offload = in_thread,
                 unfinished: int = 0):
        self.db = db
        self.fetcher = fetcher
        self.settings = settings
        self.cpu = cpu
        self.page_slots = asyncio.Semaphore(settings.fulltext_concurrency)
        # Bounds whole sources (fetch to queued writes), not just fetches:
        # otherwise fetched bodies pile up in memory while they wait for a parser.
        self.source_slots = asyncio.Semaphore(settings.concurrency)
        self.unfinished = unfinished  # sources of the pass not yet done
        self.writer = _Writer(db, settings, idle=lambda queued: queued >= self.unfinished)

    async def _score(self, rows: list[dict[str, Any]]) -> None:
        """Label rows in place (in a worker process when the pass has a pool)."""
        if rows:
            for row, labels in zip(rows, await self.cpu(_labels, [_score_input(r) for r in rows])):
                row.update(labels)

    async def source(self, src: dict[str, Any]) -> SourceOutcome:
        """Harvest one source; whatever happens is recorded on the source row."""
        started = store.utcnow()
        clock = time.monotonic()
        try:
            try:
                async with self.source_slots:
                    outcome, written = await self._harvest(src, started)
                # Outside the slot: the next source starts while this one waits for its commit.
                await _committed(written)
            except Exception as exc:  # the per-source boundary: a bug here must not stop other sources
                log.exception("source=%r internal error", src["name"])
                message = f"internal error: {exc!r} (a hypewatch bug: please report it)"
                outcome, written = self._fail(src, started, message)
                await _committed(written)
        finally:
            self.unfinished -= 1
            self.writer.poke()
        outcome.elapsed = time.monotonic() - clock
        log.info("source=%r status=%s new=%d updated=%d filtered=%d http=%s error=%s",
                 outcome.source, outcome.status, outcome.new, outcome.updated, outcome.filtered,
                 outcome.http_status, outcome.error)
        return outcome

    async def _harvest(self, src: dict[str, Any], started: datetime) -> tuple[SourceOutcome, asyncio.Future]:
        name = src["name"]
        result = await self.fetcher.get(src["url"], etag=src["etag"], last_modified=src["last_modified"],
                                        accept=FEED_ACCEPT)
        if result.error:
            return self._fail(src, started, result.error, result)
        now = store.utcnow()
        changes = self._success_changes(src, result, now)
        if result.not_modified:
            written = self._save(src, started, result, "not_modified", changes)
            return SourceOutcome(name, "not_modified", http_status=result.status), written
        body = result.body or b""
        body_hash = hashlib.sha256(body).hexdigest()
        if body_hash == src["body_hash"] and not result.permanent_url:
            written = self._save(src, started, result, "unchanged", changes)
            return SourceOutcome(name, "unchanged", http_status=result.status), written
        changes["body_hash"] = body_hash
        job = functools.partial(_parse_rows, src={k: src[k] for k in ("name", "publisher", "kind")}, now=now,
                                min_chars=self.settings.fulltext_min_chars,
                                # Never harvested: it owns no items yet, so every row will need its labels.
                                score=src["last_success_at"] is None)
        try:
            parsed = await _parse_following_up(self.fetcher, src["kind"], result, self.cpu, job)
        except FeedParseError as exc:
            return self._fail(src, started, str(exc), result)
        if parsed.title:
            changes["feed_title"] = parsed.title
        rows = parsed.rows
        known = store.known_items(self.db, list(rows))
        new = [r for r in rows.values() if r["id"] not in known]
        # An article another source brought first stays that source's.
        updated = [r for r in rows.values()
                   if r["id"] in known and known[r["id"]] != (r["content_hash"], name) and known[r["id"]][1] == name]
        if not parsed.scored:
            await self._score(new + updated)
        filtered = 0
        if src["filter"]:
            kept = [r for r in new if r["relevant"]]
            filtered = len(new) - len(kept)
            new = kept
        await self._fulltext(src, new + updated)
        written = self._save(src, started, result, "ok", changes, new, updated)
        return SourceOutcome(name, "ok", new=len(new), updated=len(updated), filtered=filtered,
                             http_status=result.status, warning=parsed.warning), written

    async def _fulltext(self, src: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """Fetch article pages for new or changed items whose feed gave only a teaser."""
        wanted = [r for r in rows if r["fulltext_status"] == "pending"]
        if not self.settings.fulltext:
            for row in wanted:
                row["fulltext_status"] = "skipped: full text turned off"
            return
        budget = self.settings.fulltext_per_source
        for row in wanted[budget:]:
            row["fulltext_status"] = "skipped: per-run limit reached"
        await asyncio.gather(*(self._page(src, row) for row in wanted[:budget]))

    async def _page(self, src: dict[str, Any], row: dict[str, Any]) -> None:
        async with self.page_slots:
            result = await self.fetcher.get(row["url"], allow_private=bool(src["local"]), accept=PAGE_ACCEPT)
        if result.error:
            row["fulltext_status"] = ("blocked: " if result.error_kind == "blocked" else "error: ") + result.error
            return
        text, status = await self.cpu(extract_text, result.body or b"", result.final_url,
                                      content_type=result.headers.get("content-type"))
        row["fulltext_status"] = status
        if text and len(text) > len(row["text"]):
            row["text"] = text
            await self._score([row])

    # -- recording ---------------------------------------------------------

    def _success_changes(self, src: dict[str, Any], result: FetchResult, now: datetime) -> dict[str, Any]:
        changes: dict[str, Any] = {
            "last_checked_at": store.iso(now), "last_success_at": store.iso(now),
            "last_status": None, "last_http_status": result.status, "error_count": 0, "last_error": None,
            "next_check_at": store.iso(next_check(now, every=src["every"], status=result.status,
                                                  headers=result.headers, error_count=0)),
        }
        if not result.not_modified:
            changes["etag"] = result.headers.get("etag")
            changes["last_modified"] = result.headers.get("last-modified")
        if result.permanent_url and result.permanent_url != src["url"]:
            log.info("source=%r moved permanently to %s", src["name"], result.permanent_url)
            changes["url"] = result.permanent_url
        return changes

    def _save(self, src: dict[str, Any], started: datetime, result: FetchResult, status: str,
              changes: dict[str, Any], new: list[dict[str, Any]] = (),
              updated: list[dict[str, Any]] = ()) -> asyncio.Future:
        changes["last_status"] = status
        return self.writer.queue(src["name"], source_changes=changes, new_items=new, updated_items=updated,
                                 fetch=_fetch_row(started, result, status, len(new), len(updated)))

    def _fail(self, src: dict[str, Any], started: datetime, message: str,
              result: FetchResult | None = None) -> tuple[SourceOutcome, asyncio.Future]:
        """Count the failure, back off, and keep the reason where `status` and the site show it."""
        now = store.utcnow()
        status = result.status if result else None
        errors = (src["error_count"] or 0) + 1
        changes: dict[str, Any] = {
            "last_checked_at": store.iso(now), "last_status": "failed", "last_http_status": status,
            "error_count": errors, "last_error": message,
            "next_check_at": store.iso(next_check(now, every=src["every"], status=status,
                                                  headers=result.headers if result else {}, error_count=errors)),
        }
        disabled = status == 410
        if disabled:
            changes["enabled"] = 0
            changes["disabled_reason"] = (f"HTTP 410 Gone at {store.iso(now)}: the publisher removed this feed; "
                                          "find its new address and update sources.toml")
        written = self.writer.queue(src["name"], source_changes=changes,
                                    fetch=_fetch_row(started, result, "failed", 0, 0, message))
        return SourceOutcome(src["name"], "failed", http_status=status, error=message, disabled=disabled), written


async def _committed(written: asyncio.Future) -> None:
    """Wait for a source's queued writes, and raise their error if they failed.

    A stop request (cancellation) does not abandon the wait: the writes are queued
    whole and will be committed whole, so the source is reported like the others
    instead of being dropped after its data is in.
    """
    while True:
        try:
            return await asyncio.shield(written)
        except asyncio.CancelledError:
            if written.cancelled():
                raise


@dataclass
class _Queued:
    source: str
    kwargs: dict[str, Any]
    done: asyncio.Future
    items: int


class _Writer:
    """Writes the sources of a pass in shared transactions, one savepoint per source, off the event loop.

    Each source's writes still go through one ``store.save_harvest`` call, whole
    or not at all (a savepoint inside the shared transaction; a crash loses the
    uncommitted sources entirely, and they stay due). Sharing the commit matters
    on a big pass: a source's 50 items touch ~1,000 pages of the items table, its
    dozen indexes and the full-text index, and a commit per source wrote each
    page (and checkpointed it) once per source; batched, pages shared by several
    sources are written once. A source's writes are queued when it finishes and
    committed when ``write_batch_items`` items are queued, when every unfinished
    source is waiting for the writer, or ``write_delay`` seconds after the first.

    The batches are written by one thread with its own connection to the same
    file: SQLite releases the GIL while it works, so the event loop keeps
    feeding the parse workers instead of stalling for each commit. (An
    in-memory database, or a connection already inside a transaction, is written
    on the event loop with the caller's connection, as before.)

    Which source keeps an article two feeds carry is decided as before: the
    first whose insert runs (queue order is write order); ``known_items`` sees
    committed items only, so both may count it as new, as when two sources
    checked it before either had saved it.
    """

    def __init__(self, db: Any, settings: HarvestSettings, idle: Callable[[int], bool]):
        self.db = db
        self.max_items = max(1, settings.write_batch_items)
        self.delay = settings.write_delay
        self.cache_mib = settings.cache_mib
        self.idle = idle
        self.queued: list[_Queued] = []
        self.items = 0
        self.timer: asyncio.TimerHandle | None = None
        self.soon: asyncio.Handle | None = None
        self.writing: set[asyncio.Future] = set()
        self.closed = False
        path = _database_file(db)
        self.thread = _WriterThread(path, settings.cache_mib) if path else None

    def queue(self, source: str, **kwargs: Any) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        entry = _Queued(source, kwargs, loop.create_future(),
                        len(kwargs.get("new_items", ())) + len(kwargs.get("updated_items", ())))
        self.queued.append(entry)
        self.items += entry.items
        if self.closed:  # a source still running after the pass ended (a bug stopped it): write it alone, now
            batch, self.queued, self.items = self.queued, [], 0
            self._settle_all(batch, self._run(self.db, batch))
            return entry.done
        if self.timer is None:
            self.timer = loop.call_later(self.delay, self.flush)
        self.poke()
        return entry.done

    def poke(self) -> None:
        """Commit now if waiting longer cannot make the batch bigger, or it is big enough."""
        if self.queued and self.soon is None and (self.items >= self.max_items or self.idle(len(self.queued))):
            self.soon = asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Send the queued sources to be written (on the event loop when there is no writer thread)."""
        for handle in (self.timer, self.soon):
            if handle is not None:
                handle.cancel()
        self.timer = self.soon = None
        batch, self.queued, self.items = self.queued, [], 0
        if not batch:
            return
        if self.thread is None:
            self._settle_all(batch, self._run(self.db, batch))
            return
        written = asyncio.wrap_future(self.thread.submit(batch))
        self.writing.add(written)
        written.add_done_callback(functools.partial(self._written, batch))

    def _written(self, batch: list[_Queued], written: asyncio.Future) -> None:
        self.writing.discard(written)
        if not written.cancelled() and written.exception() is None and written.result() is None:
            # The writer thread could not open the file: this pass writes on the event loop, as before.
            if self.thread is not None:
                self.thread.stop()
                self.thread = None
            self._settle_all(batch, self._run(self.db, batch))
        elif written.cancelled():
            self._settle_all(batch, [asyncio.CancelledError()] * len(batch))
        elif written.exception() is not None:
            error = written.exception()
            self._settle_all(batch, [error if isinstance(error, Exception) else asyncio.CancelledError()] * len(batch))
        else:
            self._settle_all(batch, written.result())

    async def close(self) -> None:
        """Write what is still queued, wait for the writer thread, and close its connection."""
        self.closed = True
        self.flush()
        while self.writing:
            await asyncio.wait(set(self.writing))
        if self.thread is not None and self.thread.started:
            await asyncio.wrap_future(self.thread.stop())

    def _settle_all(self, batch: list[_Queued], errors: list[BaseException | None]) -> None:
        for entry, error in zip(batch, errors):
            if entry.done.done():
                continue
            if error is None:
                entry.done.set_result(None)
            elif isinstance(error, asyncio.CancelledError):
                entry.done.cancel()
            else:
                entry.done.set_exception(error)

    @staticmethod
    def _run(db: Any, batch: list[_Queued]) -> list[Exception | None]:
        """Write a batch in one transaction; a source whose writes fail is rolled back alone."""
        conn = db.conn
        if len(batch) == 1 or conn.in_transaction:
            return [_Writer._save(db, entry) for entry in batch]
        try:
            conn.execute("BEGIN")
            errors = []
            for entry in batch:
                errors.append(_Writer._save(db, entry))  # a savepoint: a failing source rolls back alone
                if not conn.in_transaction:
                    raise sqlite3.OperationalError("the shared transaction was rolled back")
            conn.execute("COMMIT")
            return errors
        except sqlite3.Error as exc:
            # Whatever went wrong with the shared transaction, each source gets its own, as it would alone.
            log.warning("batched write of %d sources failed (%s); writing them one by one", len(batch), exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [_Writer._save(db, entry) for entry in batch]
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _save(db: Any, entry: _Queued) -> Exception | None:
        try:
            store.save_harvest(db, entry.source, **entry.kwargs)
        except Exception as exc:
            return exc
        return None


class _WriterThread(threading.Thread):
    """The thread ``_Writer`` hands its batches to, with its own connection, opened by the first batch.

    A plain thread with a queue rather than a ThreadPoolExecutor: the scheduler
    runs a pass in a thread of its own, and after SIGTERM the interpreter starts
    shutting down while that pass finishes its queued writes; executors refuse
    new work from then on. A daemon, so a pass that never closes it (a crash)
    cannot keep the process alive; an unfinished transaction is rolled back.
    """

    def __init__(self, path: str, cache_mib: int):
        super().__init__(name="hypewatch-writer", daemon=True)
        self.path = path
        self.cache_mib = cache_mib
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.started = False

    def submit(self, batch: list[_Queued] | None) -> concurrent.futures.Future:
        """Write ``batch`` (None: close the connection and end); the future's result is ``_Writer._run``'s,
        or None when the file could not be opened."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        if not self.started:
            self.started = True
            self.start()
        self.jobs.put((batch, future))
        return future

    def stop(self) -> concurrent.futures.Future:
        return self.submit(None)

    def run(self) -> None:
        db = None
        while True:
            batch, future = self.jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if batch is None:
                    if db is not None:
                        db.close()
                    future.set_result(None)
                    return
                if db is None:
                    try:
                        db = store.open_db(self.path)
                    except Exception as exc:  # noqa: BLE001 - the pass falls back to the caller's connection
                        log.warning("writer thread cannot open %s (%s); writing on the event loop", self.path, exc)
                        future.set_result(None)
                        continue
                    db.execute(f"PRAGMA cache_size = {-self.cache_mib * 1024}")  # see _page_cache
                future.set_result(_Writer._run(db, batch))
            except BaseException as exc:
                future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise


def _database_file(db: Any) -> str | None:
    """The file behind ``db`` when a second connection may write to it, else None.

    Not for in-memory or temporary databases (a second connection would see
    another database), nor while the caller's connection is inside a
    transaction (its writes would wait for that transaction forever).
    """
    if db.conn.in_transaction:
        return None
    for _, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return path or None
    return None


def _fetch_row(started: datetime, result: FetchResult | None, status: str, new: int, updated: int,
               error: str | None = None) -> dict[str, Any]:
    return {
        "started_at": store.iso(started),
        "elapsed": round(result.elapsed, 4) if result else None,
        "status": status,
        "http_status": result.status if result else None,
        "bytes": len(result.body) if result and result.body is not None else None,
        "new_items": new, "updated_items": updated, "error": error,
    }


def _rows(src: dict[str, Any], entries: list[Entry], now: datetime, min_chars: int) -> dict[str, dict[str, Any]]:
    """Item rows keyed by stable id; a feed repeating an item keeps its first copy."""
    rows: dict[str, dict[str, Any]] = {}
    now_s = store.iso(now)
    # API records (PubMed, Europe PMC, trial registries) carry their abstract; their
    # web pages are script-built apps that trafilatura cannot read.
    page_worth_fetching = src["kind"] == "feed"
    for entry in entries:
        iid = item_id(src["name"], entry)
        if iid in rows:
            continue
        rows[iid] = {
            "id": iid, "source": src["name"], "publisher": src["publisher"],
            "url": entry.url, "canonical_url": canonical_url(entry.url) if entry.url else None,
            "title": entry.title, "author": entry.author, "published": entry.published, "updated": entry.updated,
            "summary": entry.summary, "summary_html": entry.summary_html, "text": entry.text or entry.summary,
            "doi": entry.doi, "pmid": entry.pmid, "nct_ids": list(entry.nct_ids), "meta": dict(entry.meta),
            "first_seen_at": now_s, "fetched_at": now_s, "content_hash": content_hash(entry),
            "fulltext_status": "pending" if page_worth_fetching and needs_fulltext(entry, min_chars) else None,
        }
    return rows


def _score_input(row: dict[str, Any]) -> dict[str, Any]:
    """What the scorer reads of an item row: title, text, url, publisher and API metadata."""
    meta = row.get("meta")
    if isinstance(meta, str):
        meta = json.loads(meta or "{}")
    return {"title": row.get("title") or "", "text": row.get("text") or row.get("summary") or "",
            "url": row.get("url"), "publisher": row.get("publisher"), "meta": meta or {}}


# Rescoring uses worker processes from this many items on (starting them costs about a second).
RESCORE_POOL_MIN = 5000
RESCORE_WORKERS = 2
REASONS_KEPT = 5  # per dimension: the strongest cues, which are the ones that decided the label


def score_rows(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The label columns for each item (module level so worker processes can run it).

    Only the strongest reasons of each dimension are stored: they are what a
    reader needs to see why, and the full list was most of an item's bytes.
    """
    scored_at = store.iso(store.utcnow())
    out = []
    for item in inputs:
        labels = score_item(item).to_dict()
        labels["reasons"] = _strongest(labels["reasons"])
        labels["scored_at"] = scored_at
        out.append(labels)
    return out


def _labels(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``score_rows`` with the JSON columns encoded, for the pipeline's worker processes.

    A JSON string crosses the process boundary faster than nested lists and dicts,
    and the main process, which does the writes, no longer encodes them
    (``store.encode_item``, which it uses, keeps strings as they are).
    """
    return [store.encode_item(labels) for labels in score_rows(inputs)]


def _strongest(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: dict[str, int] = {}
    out = []
    for reason in sorted(reasons, key=lambda r: -abs(r.get("weight") or 0)):
        dimension = reason.get("dimension", "")
        if kept.get(dimension, 0) < REASONS_KEPT:
            kept[dimension] = kept.get(dimension, 0) + 1
            out.append(reason)
    return out


def _pool(settings: HarvestSettings, sources: int) -> ProcessPoolExecutor | None:
    """Worker processes for parsing and scoring, when the pass is big enough to pay for them.

    Parsing and scoring are pure Python and hold the GIL, so one process uses
    one core however many sources are in flight. Starting workers costs about
    a second, so small passes (most scheduler ticks) stay in-process.
    """
    if settings.parse_workers < 1 or sources < settings.pool_min_sources:
        return None
    # forkserver: forking a process that already runs threads (asyncio's
    # to_thread pool, the scheduler) can copy a held lock into the child.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["harvester.pipeline"])
    return ProcessPoolExecutor(max_workers=settings.parse_workers, mp_context=context)


def rescore(db: Any, *, rescore_all: bool = False, batch: int = 500,
            on_batch: Callable[[int], None] | None = None, workers: int | None = None) -> int:
    """Score items that have no score or a score from another scorer version.

    Scoring is pure Python, one core per process: with many items to score (a new scorer
    version over a large database) batches are scored by `workers` processes (default: one
    per core, at most RESCORE_WORKERS, from RESCORE_POOL_MIN items) while this process reads
    the next batches and writes the finished ones, each in its own transaction, in order.
    """
    if workers is None:
        todo = (db.execute("SELECT count(*) FROM items").fetchone()[0] if rescore_all
                else store.count_outdated_scores(db, SCORING_VERSION))
        workers = min(RESCORE_WORKERS, os.cpu_count() or 1) if todo >= RESCORE_POOL_MIN else 0
    if workers < 2:
        return _rescore_here(db, rescore_all=rescore_all, batch=batch, on_batch=on_batch)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["harvester.pipeline"])
    done = 0
    after = ""
    pending: collections.deque = collections.deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        while True:
            while len(pending) < workers + 1 and after is not None:
                rows = store.items_to_score(db, SCORING_VERSION, rescore=rescore_all, limit=batch, after_id=after)
                if not rows:
                    after = None
                    break
                after = rows[-1]["id"]
                ids = [r["id"] for r in rows]
                pending.append((ids, pool.submit(_labels, [_score_input(r) for r in rows])))
            if not pending:
                return done
            ids, future = pending.popleft()
            scored = [{"id": i, **labels} for i, labels in zip(ids, future.result())]
            done += store.save_scores(db, scored)
            if on_batch:
                on_batch(len(scored))


def _rescore_here(db: Any, *, rescore_all: bool, batch: int, on_batch: Callable[[int], None] | None) -> int:
    """rescore in this process, batch after batch."""
    done = 0
    after = ""
    while True:
        rows = store.items_to_score(db, SCORING_VERSION, rescore=rescore_all, limit=batch, after_id=after)
        if not rows:
            return done
        after = rows[-1]["id"]
        scored = [{"id": r["id"], **labels} for r, labels in zip(rows, score_rows([_score_input(r) for r in rows]))]
        done += store.save_scores(db, scored)
        if on_batch:
            on_batch(len(scored))