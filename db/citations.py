"""The SQL for citations: an item's checked citations written in one transaction, read back, and the items due a check.

Imports nothing internal: the verdict order (labels.toml's citation_check codes, weakest first)
is passed in by the caller, so the worst verdict is ranked by the one vocabulary without db
reading it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

from .store import json_list

__all__ = ["CITATION_COLUMNS", "save_citations", "citations_for", "items_by_id", "items_needing_citation_check"]

log = logging.getLogger(__name__)

CITATION_COLUMNS = ("id", "item_id", "position", "kind", "value", "context", "claimed", "work_key", "verdict",
                    "flags", "reasons", "design", "on_topic", "checked_at", "check_version")
_JSON = ("claimed", "flags", "reasons")
_JSON_DEFAULTS: dict[str, Any] = {"claimed": {}, "flags": [], "reasons": []}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _worst(verdicts: Sequence[str | None], order: Sequence[str]) -> str | None:
    rank = {code: i for i, code in enumerate(order)}
    known = [v for v in verdicts if v in rank]
    return max(known, key=rank.__getitem__) if known else None


def _row(item_id: str, position: int, row: dict[str, Any], check_version: str, now: str) -> dict[str, Any]:
    out: dict[str, Any] = {c: row.get(c) for c in CITATION_COLUMNS}
    out.update(item_id=item_id, position=position, check_version=check_version)
    out["id"] = f"{item_id}#{position}"
    out["checked_at"] = row.get("checked_at") or now
    out["kind"] = str(row.get("kind") or "citation")
    out["value"] = str(row.get("value") or "")
    for column in _JSON:
        value = out[column]
        if value is None:
            value = _JSON_DEFAULTS[column]
        if not isinstance(value, str):
            value = json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)
        out[column] = value
    if out["on_topic"] is not None:
        out["on_topic"] = int(bool(out["on_topic"]))
    return out


def save_citations(db: Database, item_id: str, rows: list[dict[str, Any]], check_version: str, *,
                   order: Sequence[str]) -> None:
    """Replace ``item_id``'s citations with ``rows`` and set its citation_check to their worst
    verdict by ``order`` (weakest first; NULL when it cites nothing), in one transaction.

    Rows are numbered in the order given (``position``), each id is "<item_id>#<position>"; JSON
    columns (claimed, flags, reasons) may be given as Python values. The item is marked checked
    with ``check_version`` even when it cites nothing, so it is not looked at again.
    """
    now = _now()
    prepared = [_row(item_id, i, dict(r), check_version, now) for i, r in enumerate(rows)]
    worst = _worst([r["verdict"] for r in prepared], order)
    columns = ", ".join(f'"{c}"' for c in CITATION_COLUMNS)
    with db.atomic():
        db.conn.execute("DELETE FROM citations WHERE item_id = ?", [item_id])
        if prepared:
            db.conn.executemany(f"INSERT INTO citations ({columns}) VALUES ({', '.join('?' for _ in CITATION_COLUMNS)})",
                                [[r[c] for c in CITATION_COLUMNS] for r in prepared])
        db.conn.execute("UPDATE items SET citation_check = ?, citations_checked = ? WHERE id = ?",
                        [worst, check_version, item_id])


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for column in _JSON:
        try:
            row[column] = json.loads(row[column]) if row.get(column) else _JSON_DEFAULTS[column]
        except ValueError:
            log.warning("citation %s: %s is not JSON", row.get("id"), column)
            row[column] = _JSON_DEFAULTS[column]
    if row.get("on_topic") is not None:
        row["on_topic"] = bool(row["on_topic"])
    return row


def citations_for(db: Database, item_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each item's citations in position order (JSON columns decoded); an item citing nothing maps to []."""
    ids = list(dict.fromkeys(item_ids))
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        sql = (f"SELECT * FROM citations WHERE item_id IN ({', '.join('?' for _ in chunk)}) "
               "ORDER BY item_id, position")
        for row in db.query(sql, chunk):
            found[row["item_id"]].append(_decode(dict(row)))
    return found


_ITEM_COLUMNS = "id, title, summary, text, fulltext_status, doi, pmid, nct_ids, treatments, published"


def items_needing_citation_check(db: Database, check_version: str, limit: int = 100) -> list[dict[str, Any]]:
    """Items whose citations were never checked or were checked by another version, newest published
    first (undated ones last), with what finding references needs: id, title, summary, text,
    fulltext_status, doi, pmid, nct_ids, treatments, published.

    Never-checked items come first, from the index on citations_checked (a harvest's new items);
    items checked by older rules follow, so a change of rules works through the backlog pass by pass.
    """
    order = "ORDER BY published DESC LIMIT ?"  # the index (citations_checked, published) in order: no sort
    rows = [dict(r) for r in db.query(f"SELECT {_ITEM_COLUMNS} FROM items WHERE citations_checked IS NULL {order}",
                                      [int(limit)])]
    if len(rows) < limit:
        rows += [dict(r) for r in db.query(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE citations_checked IS NOT NULL AND citations_checked != ? {order}",
            [check_version, int(limit) - len(rows)])]
    return [_decode_item(row) for row in rows]


def items_by_id(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The items with these ids, with the same columns as items_needing_citation_check."""
    ids = list(dict.fromkeys(ids))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows += [dict(r) for r in db.query(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)]
    return [_decode_item(row) for row in rows]


def _decode_item(row: dict[str, Any]) -> dict[str, Any]:
    for column in ("nct_ids", "treatments"):
        row[column] = json_list(row[column])
    return row
