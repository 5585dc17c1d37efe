"""Reads and writes for the `digests` table and the items a digest period covers.

Dicts in, dicts out; timestamps are the ISO strings of ``store.iso`` so string
comparison is time order. The rendering lives in ``hypewatch.digest``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from .store import json_list

__all__ = [
    "DIGEST_ITEM_COLUMNS",
    "attach_checks",
    "delete_digest",
    "digest_items",
    "digest_period_starts",
    "get_digest",
    "latest_digest_start",
    "earliest_digest_start",
    "oldest_relevant_seen",
    "oldest_undigested_seen",
    "save_digest",
]

#: What a digest shows of an item; the long text stays out of memory.
DIGEST_ITEM_COLUMNS = (
    "id", "source", "publisher", "url", "canonical_url", "title", "summary", "published", "first_seen_at",
    "evidence_stage", "claim_strength", "commercial_interest", "hype", "hype_score", "treatments", "reasons",
    "citation_check", "study_id", "coverage_gap",
)
DIGEST_JSON_FIELDS = ("counts", "item_ids")


def digest_items(db: Database, start: str, end: str) -> list[dict[str, Any]]:
    """Relevant, scored items first seen in [start, end), oldest first, with JSON fields decoded."""
    sql = (f"SELECT {', '.join(DIGEST_ITEM_COLUMNS)} FROM items "
           "WHERE first_seen_at >= ? AND first_seen_at < ? AND relevant = 1 "
           "ORDER BY first_seen_at, id")
    items = list(db.query(sql, [start, end]))
    for item in items:
        item["treatments"] = [t for t in json_list(item["treatments"]) if isinstance(t, str)]
        item["reasons"] = [r for r in json_list(item["reasons"]) if isinstance(r, dict)]
    return items


#: At most this many flagged citations are read per item (a reference list can be long).
MAX_CITATIONS_PER_ITEM = 20


def attach_checks(db: Database, items: list[dict[str, Any]], flags: tuple[str, ...],
                  gaps: tuple[str, ...]) -> None:
    """Give each item whose worst citation verdict is in ``flags`` its ``citation_problems`` (flagged citations in
    position order, with the work each resolved to), and each whose coverage gap is in ``gaps`` its ``telling``
    (gap, reason, and the study's paper). Others get an empty list and None.

    Keyed by the m011 indexes (citations_item, study_items' primary key, works' and studies' keys), per item.
    """
    verdicts = ", ".join("?" for _ in flags) or "NULL"
    for item in items:
        item["citation_problems"] = []
        item["telling"] = None
        if flags and item.get("citation_check") in flags:
            rows = db.execute(
                f"SELECT c.verdict, c.kind, c.value, c.context, c.reasons, w.title, coalesce(w.journal, w.journal_abbrev), "
                f"w.year FROM citations c LEFT JOIN works w ON w.key = c.work_key "
                f"WHERE c.item_id = ? AND c.verdict IN ({verdicts}) ORDER BY c.position LIMIT ?",
                [item["id"], *flags, MAX_CITATIONS_PER_ITEM]).fetchall()
            item["citation_problems"] = [
                {"verdict": r[0], "kind": r[1], "value": r[2], "context": r[3],
                 "reasons": [str(x) for x in json_list(r[4]) if x not in (None, "")],
                 "work_title": r[5], "work_journal": r[6], "work_year": r[7]} for r in rows]
        if gaps and item.get("coverage_gap") in gaps and item.get("study_id"):
            row = db.execute(
                "SELECT si.gap, si.gap_reason, s.id, coalesce(w.title, s.title), s.design, s.claim_strength, "
                "coalesce(w.journal, w.journal_abbrev), w.year FROM study_items si JOIN studies s ON s.id = si.study_id "
                "LEFT JOIN works w ON w.key = s.paper_key WHERE si.study_id = ? AND si.item_id = ?",
                [item["study_id"], item["id"]]).fetchone()
            if row:
                item["telling"] = {"gap": row[0], "gap_reason": row[1], "study_id": row[2], "paper_title": row[3],
                                   "paper_design": row[4], "paper_claim_strength": row[5], "paper_journal": row[6],
                                   "paper_year": row[7]}


def oldest_relevant_seen(db: Database, before: str) -> str | None:
    """first_seen_at of the oldest relevant item seen before ``before``."""
    row = db.execute("SELECT min(first_seen_at) FROM items WHERE relevant = 1 AND first_seen_at < ?",
                     [before]).fetchone()
    return row[0] if row else None


def oldest_undigested_seen(db: Database, period: str, start: str, end: str) -> str | None:
    """first_seen_at of the oldest relevant item in [start, end) that no ``period`` digest lists."""
    sql = """
        SELECT min(i.first_seen_at) FROM items i
        WHERE i.relevant = 1 AND i.first_seen_at >= :start AND i.first_seen_at < :end
          AND i.id NOT IN (
              SELECT j.value FROM digests d, json_each(d.item_ids) j
              WHERE d.period = :period AND d.period_end > :start AND d.period_start < :end)
    """
    row = db.execute(sql, {"start": start, "end": end, "period": period}).fetchone()
    return row[0] if row else None


def latest_digest_start(db: Database, period: str) -> str | None:
    return db.execute("SELECT max(period_start) FROM digests WHERE period = ?", [period]).fetchone()[0]


def earliest_digest_start(db: Database, period: str) -> str | None:
    return db.execute("SELECT min(period_start) FROM digests WHERE period = ?", [period]).fetchone()[0]


def digest_period_starts(db: Database, period: str, start: str, end: str) -> list[str]:
    """period_start of the existing ``period`` digests starting in [start, end)."""
    cur = db.execute("SELECT period_start FROM digests WHERE period = ? AND period_start >= ? AND period_start < ? "
                     "ORDER BY period_start", [period, start, end])
    return [r[0] for r in cur.fetchall()]


def get_digest(db: Database, digest_id: str) -> dict[str, Any] | None:
    try:
        row = db["digests"].get(digest_id)
    except NotFoundError:
        return None
    for key in DIGEST_JSON_FIELDS:
        try:
            row[key] = json.loads(row[key]) if row[key] else ({} if key == "counts" else [])
        except ValueError:
            row[key] = {} if key == "counts" else []
    return row


def save_digest(db: Database, row: dict[str, Any]) -> str:
    """Insert or update one digest; returns "new", "updated" or "unchanged".

    ``updated_at`` moves only when the HTML changes, so a feed reader sees an
    entry again only when there is something new to read; ``created_at`` never moves.
    """
    encoded = {k: (json.dumps(v, ensure_ascii=False, sort_keys=True) if k in DIGEST_JSON_FIELDS
                   and not isinstance(v, str) else v) for k, v in row.items()}
    with db.atomic():
        existing = list(db.query("SELECT html, counts, item_ids, title, item_count FROM digests WHERE id = ?",
                                 [row["id"]]))
        if not existing:
            encoded.setdefault("created_at", encoded["updated_at"])
            db["digests"].insert(encoded)
            return "new"
        old = existing[0]
        changes = {k: encoded[k] for k in ("html", "counts", "item_ids", "title", "item_count")
                   if k in encoded and old[k] != encoded[k]}
        if not changes:
            return "unchanged"
        if "html" in changes:
            changes["updated_at"] = encoded["updated_at"]
        db["digests"].update(row["id"], changes)
        return "updated" if "html" in changes else "unchanged"


def delete_digest(db: Database, digest_id: str) -> bool:
    """Delete one digest; False when there was none with that id."""
    try:
        db["digests"].delete(digest_id)
    except NotFoundError:
        return False
    return True
