"""The harvest orchestrator: the one place that knows the whole sequence.

For each due source: fetch (conditional GET; a 304 or an unchanged body is recorded and
that is all) → parse the response into item rows (stable ids, canonical URLs; a source never
harvested before has its rows scored there too) → tell new items from updated ones → score
them → keep only the relevant new ones of a filtered source → full text for items whose feed
gave a teaser, scored again → queue everything for one commit → schedule the next check.
Each step is a plain function in its own module, and the machinery that runs them lives
beside this file (``workers``: the CPU thread and worker processes; ``writer``: the batched
writer thread); this file only sequences the steps and decides what a failure means for the
source. A failure of one source is recorded on that source and never reaches the others.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db import batches, store

from . import scores
from .apis.base import FollowUp
from .fetch import FEED_ACCEPT, FetchLimits, Fetcher, FetchResult, USER_AGENT
from .fulltext import extract_text
from .items import parse_rows
from .entrycap import MAX_ENTRIES, join_warnings
from .parse import FeedParseError, ParsedFeed
from .parsers import parse_body
from .polling import next_check
from .scores import rescore
from .workers import Offload, in_pool, in_thread, process_pool
from .writer import BatchWriter, committed

__all__ = ["HarvestSettings", "SourceOutcome", "harvest", "harvest_sources", "parse_response", "rescore",
           "storage_message"]

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
    write_batch_items: int = 3000     # items written per transaction at most (sources are batched, see BatchWriter)
    write_delay: float = 2.0          # seconds a finished source waits at most for others to share its commit
    cache_mib: int = 64               # SQLite page cache during a pass (the indexes of a big database)
    max_entries: int = MAX_ENTRIES    # entries kept per feed and pass, the newest (twice as many read at most)
    max_pass_entries: int = 20 * MAX_ENTRIES  # new items one pass stores over all its sources; the rest wait for the next
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
            max_entries=values["max_entries"], max_pass_entries=values["max_pass_entries"],
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
    are queued whole and written whole (see ``BatchWriter``), and a source whose
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
        run = _Run(db, fetcher, settings, in_pool(pool) if pool else in_thread, unfinished=len(sources))
        outcomes: list[SourceOutcome] = []

        def report(task: asyncio.Task) -> None:
            if task.cancelled() or task.exception() is not None:
                return
            outcomes.append(task.result())
            if on_done:
                on_done(outcomes[-1])

        try:
            # The writer thread sizes its own connection's cache; this is for writes on the caller's.
            with batches.page_cache(db, settings.cache_mib if run.writer.thread is None else 0):
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


def _pool(settings: HarvestSettings, sources: int) -> ProcessPoolExecutor | None:
    """Worker processes for parsing and scoring, when the pass is big enough to pay for them.

    Parsing and scoring are pure Python and hold the GIL, so one process uses
    one core however many sources are in flight. Starting workers costs about
    a second, so small passes (most scheduler ticks) stay in-process.
    """
    if settings.parse_workers < 1 or sources < settings.pool_min_sources:
        return None
    return process_pool(settings.parse_workers)


async def parse_response(fetcher: Fetcher, kind: str, result: FetchResult, cpu: Offload = in_thread, *,
                         allow_private: bool = False) -> ParsedFeed:
    """Feeds go to feedparser, API responses to their adapter (which may ask for a second request).

    ``cpu`` runs the parse off the event loop: a thread, or a worker process
    when the pass is large enough for parsing to need more than one core.
    """
    return await _parse_following_up(fetcher, kind, result, cpu, parse_body, allow_private)


async def _parse_following_up(fetcher: Fetcher, kind: str, result: FetchResult, cpu: Offload,
                              job: Callable[..., Any], allow_private: bool) -> Any:
    """Run ``job(kind, body, url=, headers=)`` on the response, and on the second response an API asks for."""
    parsed = await cpu(job, kind, result.body or b"", url=result.final_url, headers=result.headers)
    if isinstance(parsed, FollowUp):
        # The API's answer names the next URL: it gets the same address policy as the source itself.
        second = await fetcher.get(parsed.url, allow_private=allow_private,
                                   accept="application/json, application/xml;q=0.9, */*;q=0.5")
        if second.error:
            raise FeedParseError(f"{kind} follow-up request failed: {second.error}")
        parsed = await cpu(job, kind, second.body or b"", url=second.final_url, headers=second.headers)
        if isinstance(parsed, FollowUp):
            raise FeedParseError(f"{kind}: the API asked for a third request; check the source URL")
    return parsed


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
        self.pass_budget = settings.max_pass_entries  # new items the pass may still store
        self.storage_error: sqlite3.Error | None = None  # set when the database stops taking writes
        self.writer = BatchWriter(db, max_items=settings.write_batch_items, delay=settings.write_delay,
                                  cache_mib=settings.cache_mib, idle=lambda queued: queued >= self.unfinished)

    async def _score(self, rows: list[dict[str, Any]]) -> None:
        """Label rows in place (in a worker process when the pass has a pool)."""
        if rows:
            labels = await self.cpu(scores.encoded_labels, [scores.score_input(r) for r in rows])
            for row, columns in zip(rows, labels):
                row.update(columns)

    async def source(self, src: dict[str, Any]) -> SourceOutcome:
        """Harvest one source; whatever happens is recorded on the source row."""
        started = store.utcnow()
        clock = time.monotonic()
        try:
            try:
                if self.storage_error:  # the database cannot take writes: don't fetch what can't be kept
                    raise self.storage_error
                async with self.source_slots:
                    outcome, written = await self._harvest(src, started)
                # Outside the slot: the next source starts while this one waits for its commit.
                await committed(written)
            except sqlite3.Error as exc:  # the database, not the source: one line, nothing more to write
                outcome = self._not_saved(src, exc)
            except Exception as exc:  # the per-source boundary: a bug here must not stop other sources
                log.exception("source=%r internal error", src["name"])
                message = f"internal error: {exc!r} (a hypewatch bug: please report it)"
                outcome, written = self._fail(src, started, message)
                try:
                    await committed(written)
                except sqlite3.Error as write_error:
                    outcome = self._not_saved(src, write_error)
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
        # Private, loopback and link-local addresses (every hop) only for sources marked local.
        result = await self.fetcher.get(src["url"], etag=src["etag"], last_modified=src["last_modified"],
                                        allow_private=bool(src["local"]), accept=FEED_ACCEPT)
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
        job = functools.partial(parse_rows, src={k: src[k] for k in ("name", "publisher", "kind")}, now=now,
                                min_chars=self.settings.fulltext_min_chars, max_entries=self.settings.max_entries,
                                # Never harvested: it owns no items yet, so every row will need its labels.
                                score=src["last_success_at"] is None)
        try:
            parsed = await _parse_following_up(self.fetcher, src["kind"], result, self.cpu, job, bool(src["local"]))
        except FeedParseError as exc:
            return self._fail(src, started, str(exc), result)
        if parsed.title:
            changes["feed_title"] = parsed.title
        changes["last_warning"] = parsed.warning
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
        new = self._within_pass_budget(new, changes)
        await self._fulltext(src, new + updated)
        written = self._save(src, started, result, "ok", changes, new, updated)
        return SourceOutcome(name, "ok", new=len(new), updated=len(updated), filtered=filtered,
                             http_status=result.status, warning=changes["last_warning"]), written

    def _within_pass_budget(self, new: list[dict[str, Any]], changes: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest of ``new`` that the pass can still store (max_pass_entries over all sources).

        The rest are deferred, not lost: the source forgets its validators and body hash and is due
        again at once, so the next pass reads the feed again and stores the items still missing.
        """
        if len(new) <= self.pass_budget:
            self.pass_budget -= len(new)
            return new
        keep = max(self.pass_budget, 0)
        newest = sorted(range(len(new)), key=lambda i: new[i].get("published") or "", reverse=True)[:keep]
        kept = [new[i] for i in sorted(newest)]
        self.pass_budget -= len(kept)
        changes.update(etag=None, last_modified=None, body_hash=None, next_check_at=changes["last_checked_at"])
        changes["last_warning"] = join_warnings(
            f"{len(new) - len(kept):,} older new entries wait for the next pass: this pass stored its "
            f"{self.settings.max_pass_entries:,} new items (max_pass_entries)", changes.get("last_warning"))
        return kept

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

    def _not_saved(self, src: dict[str, Any], exc: sqlite3.Error) -> SourceOutcome:
        """A write the database refused: one log line, and a pass that stops writing when the disk is full."""
        message = storage_message(exc)
        if any(word in str(exc).lower() for word in _FATAL_STORAGE):
            self.storage_error = exc
        log.error("source=%r %s", src["name"], message)
        return SourceOutcome(src["name"], "failed", error=message)

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
            changes["disabled_reason"] = (f"{store.GONE_REASON} at {store.iso(now)}: the publisher removed this feed; "
                                          "find its new address and update sources.toml")
        written = self.writer.queue(src["name"], source_changes=changes,
                                    fetch=_fetch_row(started, result, "failed", 0, 0, message))
        return SourceOutcome(src["name"], "failed", http_status=status, error=message, disabled=disabled), written


_FATAL_STORAGE = ("full", "readonly", "read-only", "disk i/o", "unable to open")


def storage_message(exc: sqlite3.Error) -> str:
    """One line for a database write that failed, saying what to do about it."""
    text = str(exc).strip() or type(exc).__name__
    lowered = text.lower()
    if "full" in lowered:
        hint = "free disk space; the source stays due and is harvested again next pass"
    elif "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        hint = "make the database file and its directory writable by this user"
    elif "locked" in lowered or "busy" in lowered:
        hint = "another program holds the database; the source stays due and is retried next pass"
    else:
        hint = "check the disk and the database file (`PRAGMA integrity_check`)"
    return f"not saved: the database refused the write ({text}); {hint}"


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
