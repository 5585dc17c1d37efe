"""The works table's reads and writes: which works are due, the cached records, and saving a pass.

Plain dicts in and out (the harvester maps them to its Work records), JSON columns decoded on
the way out; nothing internal is imported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

__all__ = ["WORK_JSON_FIELDS", "cached_works", "save_works", "works_needing_fetch"]

log = logging.getLogger(__name__)

WORK_JSON_FIELDS = ("authors", "pub_types", "mesh", "keywords", "notices", "trial", "candidates")
# SQLite's default limit on bound parameters is 999 in older builds; stay well under it.
_CHUNK = 500


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunks(keys: Sequence[str]) -> Iterable[list[str]]:
    unique = list(dict.fromkeys(k for k in keys if isinstance(k, str)))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start:start + _CHUNK]


def works_needing_fetch(db: Database, keys: Sequence[str], now: datetime) -> list[str]:
    """The keys (in the order given) with no works row yet, or whose row is due (next_check_at <= now or unset)."""
    now_s = _iso(now)
    fresh: set[str] = set()
    for chunk in _chunks(keys):
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"SELECT key FROM works WHERE key IN ({marks}) AND next_check_at IS NOT NULL AND next_check_at > ?",
            [*chunk, now_s],
        ).fetchall()
        fresh.update(r[0] for r in rows)
    return [k for k in dict.fromkeys(keys) if isinstance(k, str) and k not in fresh]


def cached_works(db: Database, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The works rows for ``keys`` by key, JSON columns decoded (an unreadable one becomes None)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        marks = ", ".join("?" for _ in chunk)
        cursor = db.execute(f"SELECT * FROM works WHERE key IN ({marks})", chunk)
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            for name in WORK_JSON_FIELDS:
                if isinstance(row.get(name), str):
                    try:
                        row[name] = json.loads(row[name])
                    except ValueError:
                        log.warning("works: unreadable JSON in %s of %s; read as empty", name, row["key"])
                        row[name] = None
            found[row["key"]] = row
    return found


def save_works(db: Database, works: list[dict[str, Any]]) -> None:
    """Upsert works rows in one transaction. JSON columns may be given as values or as JSON text;
    columns a row leaves out (the checker's design, design_source, claim_strength) keep their values."""
    if not works:
        return
    columns = set(db["works"].columns_dict)
    rows = []
    for work in works:
        row = {k: v for k, v in work.items() if k in columns}
        for name in WORK_JSON_FIELDS:
            if name in row and row[name] is not None and not isinstance(row[name], str):
                row[name] = json.dumps(row[name], ensure_ascii=False)
        if "preprint" in row and row["preprint"] is not None:
            row["preprint"] = int(bool(row["preprint"]))
        rows.append(row)
    with db.atomic():
        for row in rows:
            db["works"].upsert(row, pk="key")
