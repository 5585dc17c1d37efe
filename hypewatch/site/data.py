"""What the pages and charts read: time-limited queries, the demo-data marker and the cache of whole-table aggregates.

No hooks: the plugin modules (pages, charts) share these.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from datasette.database import QueryInterrupted

from hypewatch.site import DATABASE

log = logging.getLogger(__name__)


async def fetch_rows(db, sql: str, params=None, limit_ms: int | None = None) -> list[dict[str, Any]] | None:
    """Rows as dicts, or None when the query was interrupted by the time limit."""
    try:
        result = await db.execute(sql, params or [], custom_time_limit=limit_ms)
    except QueryInterrupted:
        log.warning("query interrupted sql=%r", sql[:80])
        return None
    cols = [d[0] for d in result.description]
    return [dict(zip(cols, r)) for r in result.rows]


async def demo_note(datasette) -> str | None:
    """The sample-data note when the database was made by `hypewatch demo` (it has a demo_info table)."""
    try:
        db = datasette.get_database(DATABASE)
    except KeyError:
        return None
    if not await db.table_exists("demo_info"):
        return None
    rows = await fetch_rows(db, "select * from demo_info limit 1")
    note = rows[0].get("note") if rows else None
    return note or "This database holds sample data from `hypewatch demo`; none of it is news."


def _data_signature(datasette) -> tuple[Any, ...] | None:
    """Size and mtime of the database file and its WAL: they change when a harvest commits."""
    try:
        path = datasette.get_database(DATABASE).path
    except KeyError:
        return None
    if not path:
        return None
    sig: list[Any] = []
    for name in (path, path + "-wal"):
        try:
            st = os.stat(name)
            sig += [st.st_size, st.st_mtime_ns]
        except OSError:
            sig += [None, None]
    return tuple(sig)


SUMMARY_FRESH_S = 30      # within this, a cached summary is served even while harvests commit
SUMMARY_MAX_AGE_S = 600   # past this, recomputed even when the file looks unchanged


async def cached_summary(datasette, key: str, compute) -> Any:
    """The home page's and charts' aggregates, computed at most every 30 s and again only after data changed.

    They scan every item (counts, pipeline, charts): ~1 s at a million items, too slow to repeat for
    every visitor, and they change only when a harvest commits.
    """
    cache = datasette.__dict__.setdefault("_hypewatch_summaries", {})
    now = time.monotonic()
    signature = _data_signature(datasette)
    hit = cache.get(key)
    if hit is not None:
        at, sig, value = hit
        age = now - at
        if age < SUMMARY_FRESH_S or (sig == signature and signature is not None and age < SUMMARY_MAX_AGE_S):
            return value
    value = await compute(datasette)
    cache[key] = (now, signature, value)
    return value
