"""What the pages and charts read: time-limited queries, the demo-data marker and the kept-warm cache of whole-table aggregates.

No hooks: the plugin modules (pages, charts) share these.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
from typing import Any

from datasette.database import QueryInterrupted

from hypewatch.site import DATABASE
from hypewatch.site.database import run_long
from hypewatch.site.state import bump_generation, data_state

log = logging.getLogger(__name__)


#: Set while summaries are computed off the request path (warm_summaries, the refresh thread).
_BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("hypewatch_background", default=False)
#: The time limit of a summary's query off the request path: nobody waits for it, so it may take long.
BACKGROUND_LIMIT_MS = 60_000


async def fetch_rows(db, sql: str, params=None, limit_ms: int | None = None) -> list[dict[str, Any]] | None:
    """Rows as dicts, or None when the query was interrupted by the time limit (a long one off the request path)."""
    try:
        if _BACKGROUND.get():
            result = await db.execute_fn(functools.partial(run_long, sql, params or [], BACKGROUND_LIMIT_MS))
        else:
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


SUMMARY_FRESH_S = 60      # a summary is recomputed at most this often, however often harvests commit


async def cached_summary(datasette, key: str, compute) -> Any:
    """The home page's and charts' aggregates: computed once, then refreshed in the background after data changed.

    They scan every item (counts, pipeline, charts): seconds at a million items, too slow for any
    visitor to wait for. The first request computes them (``hypewatch serve`` does it before it
    listens: warm_summaries); after a harvest commits, requests keep getting the previous summary
    while a thread computes the new one, at most every SUMMARY_FRESH_S seconds.
    """
    cache = datasette.__dict__.setdefault("_hypewatch_summaries", {})
    state = data_state(datasette)
    hit = cache.get(key)
    if hit is None:
        value = await compute(datasette)
        cache[key] = (time.monotonic(), state.file, value)
        return value
    at, token, value = hit
    if token != state.file and time.monotonic() - at >= SUMMARY_FRESH_S:
        _refresh_in_background(datasette, cache, key, compute, state.file)
    return value


def _refresh_in_background(datasette, cache: dict, key: str, compute, token: str) -> None:
    running = datasette.__dict__.setdefault("_hypewatch_refreshing", set())
    if key in running:
        return
    running.add(key)

    def work() -> None:
        try:
            value = asyncio.run(_in_background(compute, datasette))
            cache[key] = (time.monotonic(), token, value)
            bump_generation(datasette)  # pages cached with the previous summary are outdated
        except Exception:  # noqa: BLE001 - keep serving the previous summary; the next change retries
            log.exception("summary refresh failed key=%s", key)
        finally:
            running.discard(key)

    threading.Thread(target=work, name=f"hypewatch-summary-{key}", daemon=True).start()


async def _in_background(compute, datasette) -> Any:
    _BACKGROUND.set(True)
    return await compute(datasette)


def warm_summaries(datasette) -> None:
    """Compute the home page's and charts' summaries now (before the site takes requests)."""
    from hypewatch.site.charts import charts_data
    from hypewatch.site.pages import home_data

    async def both() -> None:
        _BACKGROUND.set(True)
        await cached_summary(datasette, "home", home_data)
        await cached_summary(datasette, "charts", charts_data)

    asyncio.run(both())
