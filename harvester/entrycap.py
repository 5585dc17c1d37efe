"""The cap on entries per feed: the newest kept, and a document cut before the parser if it is far longer.

feedparser holds every entry of a document in memory (700,000 guid-only items took 3 GB), so a
feed is read no further than twice the cap: the bytes are cut before the entry after that and
closed again. Of what was read, the newest ``max_entries`` entries are kept (undated ones last).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .parse import Entry, ParsedFeed

__all__ = ["MAX_ENTRIES", "capped", "cut_entries", "join_warnings", "keep_newest"]

MAX_ENTRIES = 1000  # entries kept per feed (the max_entries setting); twice as many are read at most

_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(item|entry)[\s/>]")


def cut_entries(body: bytes, limit: int) -> tuple[bytes, int | None]:
    """The document cut before its entry number ``limit + 1``, closed again, and the entry count; or
    the body untouched and None when it has no more than ``limit`` entries (counted in C first)."""
    if body.count(b"item") + body.count(b"entry") <= limit:
        return body, None
    starts = _ENTRY_START.finditer(body)
    cut = None
    for number, match in enumerate(starts, 1):
        if number == limit + 1:
            cut = match
            break
    if cut is None:
        return body, None
    total = limit + 1 + sum(1 for _ in starts)
    if cut.group(1) == b"entry":
        closing = b"</feed>"
    elif b"rdf:RDF" in body[:4096]:
        closing = b"</rdf:RDF>"
    else:
        closing = b"</channel></rss>"
    return body[:cut.start()] + closing, total


def keep_newest(entries: list[Entry], limit: int) -> tuple[list[Entry], int]:
    """The newest ``limit`` entries (undated ones last) in feed order, and how many were dropped."""
    if len(entries) <= limit:
        return entries, 0
    by_date = sorted(range(len(entries)), key=lambda i: entries[i].published or entries[i].updated or "",
                     reverse=True)
    kept = sorted(by_date[:limit])
    return [entries[i] for i in kept], len(entries) - limit


def capped(parsed: ParsedFeed, limit: int) -> ParsedFeed:
    """``parsed`` with only its newest ``limit`` entries, the cut said in its warning."""
    parsed.entries, dropped = keep_newest(parsed.entries, limit)
    if dropped:
        parsed.warning = join_warnings(
            f"{dropped:,} older or undated entries dropped: at most {limit:,} are kept per feed (max_entries)",
            parsed.warning)
    return parsed


def join_warnings(first: str, second: str | None) -> str:
    """Two warnings as one line."""
    return f"{first}; {second}" if second else first
