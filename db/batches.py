"""Harvest writes in batches: many sources' ``save_harvest`` in one commit, and the connection settings of a pass.

A big pass writes hundreds of sources. Each source still writes whole or not at all
(``store.save_harvest``, a savepoint inside the shared transaction), but sharing the
commit means pages that several sources touch are written (and checkpointed) once.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from . import store

__all__ = ["database_file", "page_cache", "save_harvests", "set_page_cache"]

log = logging.getLogger(__name__)


def save_harvests(db: Database, harvests: Sequence[tuple[str, dict[str, Any]]]) -> list[Exception | None]:
    """Write ``(source, save_harvest keyword arguments)`` pairs in one transaction, in order.

    Returns each source's error, or None: a source whose writes fail is rolled back alone (its
    savepoint), the others are committed. If the shared transaction itself fails, each source
    is written in a transaction of its own, as it would be alone. One source, or a connection
    already inside a transaction, writes each source as ``save_harvest`` does on its own.
    """
    conn = db.conn
    if len(harvests) == 1 or conn.in_transaction:
        return [_save(db, source, kwargs) for source, kwargs in harvests]
    try:
        conn.execute("BEGIN")
        errors = []
        for source, kwargs in harvests:
            errors.append(_save(db, source, kwargs))  # a savepoint: a failing source rolls back alone
            if not conn.in_transaction:
                raise sqlite3.OperationalError("the shared transaction was rolled back")
        conn.execute("COMMIT")
        return errors
    except sqlite3.Error as exc:
        # Whatever went wrong with the shared transaction, each source gets its own, as it would alone.
        log.warning("batched write of %d sources failed (%s); writing them one by one", len(harvests), exc)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return [_save(db, source, kwargs) for source, kwargs in harvests]
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _save(db: Database, source: str, kwargs: dict[str, Any]) -> Exception | None:
    try:
        store.save_harvest(db, source, **kwargs)
    except Exception as exc:
        return exc
    return None


@contextlib.contextmanager
def page_cache(db: Database, mib: int) -> Iterator[None]:
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


def set_page_cache(db: Database, mib: int) -> None:
    """Size the page cache of a connection opened for a pass's writes (see ``page_cache``)."""
    db.execute(f"PRAGMA cache_size = {-mib * 1024}")


def database_file(db: Database) -> str | None:
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
