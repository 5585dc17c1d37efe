"""Item rows: a source's entries as the rows of ``items``, and the worker job that parses a response into them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import store

from . import scores
from .apis.base import FollowUp
from .fulltext import needs_fulltext
from .identity import canonical_url, content_hash, item_id
from .entrycap import MAX_ENTRIES
from .parse import Entry
from .parsers import parse_body

__all__ = ["ParsedRows", "item_rows", "parse_rows"]


def item_rows(src: dict[str, Any], entries: list[Entry], now: datetime, min_chars: int) -> dict[str, dict[str, Any]]:
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


@dataclass
class ParsedRows:
    """What a worker sends back for one response: the feed's title and warning, and its item rows.

    Rows rather than entries, so each item crosses the process boundary once, as
    the columns it will be stored as (JSON columns already encoded).
    """

    title: str | None
    warning: str | None
    rows: dict[str, dict[str, Any]]
    scored: bool = False


def parse_rows(kind: str, body: bytes, *, url: str, headers: dict[str, str], src: dict[str, Any],
               now: datetime, min_chars: int, score: bool, max_entries: int = MAX_ENTRIES) -> ParsedRows | FollowUp:
    """Parse, build the item rows and, when asked, score them: one worker call per response.

    Module level so worker processes can run it. ``score`` is for sources that
    have never been harvested: all their items are new (or another source's), so
    scoring them here saves sending every text back to a worker a second time.
    """
    parsed = parse_body(kind, body, url=url, headers=headers, max_entries=max_entries)
    if isinstance(parsed, FollowUp):
        return parsed
    rows = item_rows(src, parsed.entries, now, min_chars)
    if score and rows:
        for row, labels in zip(rows.values(), scores.encoded_labels([scores.score_input(r) for r in rows.values()])):
            row.update(labels)
    # Encoded here rather than in the main process, which has the writes to do.
    rows = {key: store.encode_item(row) for key, row in rows.items()}
    return ParsedRows(parsed.title, parsed.warning, rows, scored=score)
