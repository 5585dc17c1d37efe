"""`hypewatch sources check`: try each source once and say what came back, storing nothing.

Lets a user test a new sources.toml entry before the scheduler relies on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harvester.fetch import FEED_ACCEPT, Fetcher
from harvester.parse import FeedParseError
from harvester.pipeline import parse_response
from harvester.sources import Source


def check_sources(sources: list[Source], transport: Any = None) -> list[dict[str, Any]]:
    return asyncio.run(_check_all(sources, transport))


async def _check_all(sources: list[Source], transport: Any) -> list[dict[str, Any]]:
    async with Fetcher(transport=transport) as fetcher:
        return list(await asyncio.gather(*(_check_one(fetcher, s) for s in sources)))


async def _check_one(fetcher: Fetcher, source: Source) -> dict[str, Any]:
    result = await fetcher.get(source.url, allow_private=source.local, accept=FEED_ACCEPT)
    if result.error:
        return {"name": source.name, "ok": False, "message": result.error}
    try:
        parsed = await parse_response(fetcher, source.kind, result, allow_private=source.local)
    except FeedParseError as exc:
        return {"name": source.name, "ok": False, "message": str(exc)}
    parts = [f"HTTP {result.status}", f"{len(parsed.entries)} entries"]
    if parsed.title:
        parts.append(f"title {parsed.title!r}")
    if result.permanent_url:
        parts.append(f"moved permanently to {result.permanent_url}: update sources.toml")
    if parsed.warning:
        parts.append(f"warning: {parsed.warning}")
    return {"name": source.name, "ok": True, "message": ", ".join(parts)}
