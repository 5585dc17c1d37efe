"""Visitors' own SQL runs in worker processes, so a query SQLite cannot interrupt ends with its process.

Datasette's time limit is a progress handler: SQLite calls it between steps of a query, and some
work has no steps. FTS5 parses a full-text expression in one call, in time that grows with the
square of its terms, and evaluates each row across every term: a MATCH expression built in SQL
from a few hundred thousand terms (or tens of thousands of prefix terms) held a thread for half
a minute, and ``sqlite3_interrupt`` is only noticed after the parse. A thread cannot be stopped
from outside; a process can. So the requests the guard marks as ad-hoc SQL (``?sql=``,
``?_where=``) execute here: a small pool of processes, each with its own read-only connection
under the same limits, authorizer and SQL functions as the site's; when a query outlives its time
limit by half a second, its process is killed and replaced, and the visitor gets Datasette's
usual "query took too long". Pages, feeds and the site's own queries never come here.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import multiprocessing
import os
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from datasette.database import QueryInterrupted, Results

__all__ = ["ADHOC", "STREAM", "QueryProcesses"]

log = logging.getLogger(__name__)

#: True while the guard handles a request it counts as ad-hoc SQL (set around the whole request).
ADHOC: contextvars.ContextVar[bool] = contextvars.ContextVar("hypewatch_adhoc_sql", default=False)
#: True while the guard handles a table's streamed CSV (our own keyset queries over the filters).
STREAM: contextvars.ContextVar[bool] = contextvars.ContextVar("hypewatch_csv_stream", default=False)
GRACE_S = 0.5  # past the time limit, before the process is killed
START_TIMEOUT_S = 60.0


@dataclass
class _Worker:
    process: Any
    conn: Any


class QueryProcesses:
    """A pool of ``size`` query processes on the database file ``path``, started when first needed."""

    def __init__(self, path: str, size: int):
        self.path = path
        self.size = max(1, size)
        self._idle: asyncio.Queue[_Worker] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the queue belongs to one event loop
        self._context = multiprocessing.get_context("spawn")

    async def execute(self, sql: str, params: Any, *, truncate: bool, max_rows: int | None,
                      time_limit_ms: int) -> Results:
        """Run one query in a pool process, with Datasette's truncation and errors."""
        idle = await self._pool()
        worker = await idle.get()
        loop = asyncio.get_running_loop()
        try:
            worker.conn.send((sql, params if params is not None else {}, truncate, max_rows, time_limit_ms))
            answer = await asyncio.wait_for(loop.run_in_executor(None, worker.conn.recv),
                                            time_limit_ms / 1000 + GRACE_S)
        except (asyncio.TimeoutError, EOFError, OSError, BrokenPipeError):
            log.warning("query process killed: the query outlived its time limit sql=%.200r", sql)
            self._replace(worker, idle, loop)
            raise QueryInterrupted(sqlite3.OperationalError("interrupted"), sql, params) from None
        idle.put_nowait(worker)
        if answer[0] == "error":
            _, kind, args = answer
            error = getattr(sqlite3, kind, sqlite3.OperationalError)(*args)
            if args == ("interrupted",):
                raise QueryInterrupted(error, sql, params)
            raise error
        _, columns, rows, truncated = answer
        return Results(_as_rows(columns, rows), truncated, [(name, None, None, None, None, None, None)
                                                             for name in columns] or None)

    async def _pool(self) -> asyncio.Queue:
        loop = asyncio.get_running_loop()
        if self._idle is not None and self._loop is not loop:  # a new event loop (tests run several)
            while not self._idle.empty():
                _stop(self._idle.get_nowait())
            self._idle = None
        if self._idle is None:
            idle: asyncio.Queue[_Worker] = asyncio.Queue()
            self._idle, self._loop = idle, loop  # before the await: concurrent first requests share it
            for worker in await asyncio.gather(*(loop.run_in_executor(None, self._start) for _ in range(self.size))):
                idle.put_nowait(worker)
        return self._idle

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve_queries, args=(self.path, child, os.getpid()),
                                        name="hypewatch-sql", daemon=True)
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT_S) or parent.recv() != "ready":
            process.kill()
            raise RuntimeError("a SQL query process did not start; see the messages above")
        return _Worker(process, parent)

    def _replace(self, worker: _Worker, idle: asyncio.Queue, loop: asyncio.AbstractEventLoop) -> None:
        _stop(worker)

        async def restart() -> None:
            try:
                idle.put_nowait(await loop.run_in_executor(None, self._start))
            except Exception:  # noqa: BLE001 - logged; the pool is one process short until the next kill
                log.exception("could not restart a SQL query process")

        loop.create_task(restart())


def _stop(worker: _Worker) -> None:
    worker.process.kill()
    worker.conn.close()
    threading.Thread(target=worker.process.join, daemon=True).start()  # reap it without waiting here


def _as_rows(columns: list[str], rows: list[tuple]) -> list[sqlite3.Row]:
    """Real sqlite3.Row objects (what Datasette's views expect) for rows that crossed a pipe as tuples."""
    if not columns:
        return []
    shape = sqlite3.connect(":memory:").execute(
        "select " + ", ".join('NULL AS "{}"'.format(name.replace('"', '""')) for name in columns))
    return [sqlite3.Row(shape, row) for row in rows]


def serve_queries(path: str, conn: Any, parent: int) -> None:
    """A query process: open the file read-only under the site's limits, then answer queries until the pipe closes."""
    from datasette.utils import sqlite_timelimit

    from harvester.lifeline import die_with_parent
    from hypewatch.site import DATABASE, feeds, labels, markup, sandbox

    die_with_parent(parent)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    for module in (labels, markup, feeds, sandbox):  # the functions visitors' SQL may call, then the limits
        module.prepare_connection(db, DATABASE, None)
    conn.send("ready")
    while True:
        try:
            sql, params, truncate, max_rows, time_limit_ms = conn.recv()
        except (EOFError, OSError):
            return
        try:
            with sqlite_timelimit(db, time_limit_ms):
                cursor = db.execute(sql, params)
                if truncate and max_rows:
                    rows = cursor.fetchmany(max_rows + 1)
                    truncated = len(rows) > max_rows
                    rows = rows[:max_rows]
                else:
                    rows, truncated = cursor.fetchall(), False
            columns = [d[0] for d in cursor.description or ()]
            answer = ("ok", columns, [tuple(row) for row in rows], truncated)
        except sqlite3.Error as exc:
            answer = ("error", type(exc).__name__, tuple(str(a) for a in exc.args))
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return
