"""The batched writer of a harvest pass: sources' writes queued on the event loop, committed together by one thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db import batches, store

__all__ = ["BatchWriter", "QueuedWrite", "WriterThread", "committed", "write_batch"]

log = logging.getLogger(__name__)


async def committed(written: asyncio.Future) -> None:
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
class QueuedWrite:
    """One source's writes (``store.save_harvest`` keyword arguments), waiting for their commit."""

    source: str
    kwargs: dict[str, Any]
    done: asyncio.Future
    items: int


def write_batch(db: Any, batch: list[QueuedWrite]) -> list[Exception | None]:
    """Write a batch in one transaction; a source whose writes fail is rolled back alone."""
    return batches.save_harvests(db, [(entry.source, entry.kwargs) for entry in batch])


class BatchWriter:
    """Writes the sources of a pass in shared transactions, one savepoint per source, off the event loop.

    Each source's writes still go through one ``store.save_harvest`` call, whole
    or not at all (a savepoint inside the shared transaction; a crash loses the
    uncommitted sources entirely, and they stay due). Sharing the commit matters
    on a big pass: a source's 50 items touch ~1,000 pages of the items table, its
    dozen indexes and the full-text index, and a commit per source wrote each
    page (and checkpointed it) once per source; batched, pages shared by several
    sources are written once. A source's writes are queued when it finishes and
    committed when ``max_items`` items are queued, when every unfinished
    source is waiting for the writer (``idle``), or ``delay`` seconds after the first.

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

    def __init__(self, db: Any, *, max_items: int, delay: float, cache_mib: int, idle: Callable[[int], bool]):
        self.db = db
        self.max_items = max(1, max_items)
        self.delay = delay
        self.cache_mib = cache_mib
        self.idle = idle
        self.queued: list[QueuedWrite] = []
        self.items = 0
        self.timer: asyncio.TimerHandle | None = None
        self.soon: asyncio.Handle | None = None
        self.writing: set[asyncio.Future] = set()
        self.closed = False
        path = batches.database_file(db)
        self.thread = WriterThread(path, cache_mib) if path else None

    def queue(self, source: str, **kwargs: Any) -> asyncio.Future:
        """Queue one source's ``save_harvest`` writes; the future is done when they are committed."""
        loop = asyncio.get_running_loop()
        entry = QueuedWrite(source, kwargs, loop.create_future(),
                            len(kwargs.get("new_items", ())) + len(kwargs.get("updated_items", ())))
        self.queued.append(entry)
        self.items += entry.items
        if self.closed:  # a source still running after the pass ended (a bug stopped it): write it alone, now
            batch, self.queued, self.items = self.queued, [], 0
            self._settle_all(batch, write_batch(self.db, batch))
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
            self._settle_all(batch, write_batch(self.db, batch))
            return
        written = asyncio.wrap_future(self.thread.submit(batch))
        self.writing.add(written)
        written.add_done_callback(functools.partial(self._written, batch))

    def _written(self, batch: list[QueuedWrite], written: asyncio.Future) -> None:
        self.writing.discard(written)
        if not written.cancelled() and written.exception() is None and written.result() is None:
            # The writer thread could not open the file: this pass writes on the event loop, as before.
            if self.thread is not None:
                self.thread.stop()
                self.thread = None
            self._settle_all(batch, write_batch(self.db, batch))
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

    def _settle_all(self, batch: list[QueuedWrite], errors: list[BaseException | None]) -> None:
        for entry, error in zip(batch, errors):
            if entry.done.done():
                continue
            if error is None:
                entry.done.set_result(None)
            elif isinstance(error, asyncio.CancelledError):
                entry.done.cancel()
            else:
                entry.done.set_exception(error)


class WriterThread(threading.Thread):
    """The thread ``BatchWriter`` hands its batches to, with its own connection, opened by the first batch.

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

    def submit(self, batch: list[QueuedWrite] | None) -> concurrent.futures.Future:
        """Write ``batch`` (None: close the connection and end); the future's result is ``write_batch``'s,
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
                    batches.set_page_cache(db, self.cache_mib)  # see batches.page_cache
                future.set_result(write_batch(db, batch))
            except BaseException as exc:
                future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
