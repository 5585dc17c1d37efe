"""The database's upkeep and summaries for the application: fetch-log pruning, WAL checkpoints, counts.

The service's maintenance job and the offline demo run these; like the rest of
`db` they take a sqlite-utils Database (or a path) and import nothing internal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

__all__ = [
    "checkpoint_wal",
    "item_breakdown",
    "marked_source_names",
    "prune_fetches",
]


def prune_fetches(db: Database, before: str) -> int:
    """Delete the fetch log (the `fetches` table) older than ``before``, an ISO timestamp; the rows deleted."""
    with db.atomic():
        return db.execute("DELETE FROM fetches WHERE started_at < ?", [before]).rowcount


def checkpoint_wal(db: Database) -> None:
    """Copy the write-ahead log into the database file and truncate it, so the WAL stays small."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def marked_source_names(path: str | Path, marker: str) -> set[str] | None:
    """The source names in the SQLite file at ``path`` if it has the table ``marker``, else None.

    The file is opened read-only (``mode=ro``): nothing is created, migrated or
    checkpointed, so it is safe on any file, and the sources are read only when
    the marker table is there. Raises ``sqlite3.DatabaseError`` when the file is
    not a readable SQLite database.
    """
    db = Database(sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True),
                  recursive_triggers=False, execute_plugins=False)
    try:
        tables = set(db.table_names())
        if marker not in tables:
            return None
        return {r["name"] for r in db.query("SELECT name FROM sources")} if "sources" in tables else set()
    finally:
        db.close()


def item_breakdown(db: Database) -> dict[str, Any]:
    """Item counts: all, relevant, per label (``unscored`` for none), per treatment and per full-text status."""

    def counts(column: str) -> dict[str, int]:
        rows = db.query(f"SELECT coalesce({column}, 'unscored') AS label, count(*) AS n FROM items GROUP BY 1")
        return {str(r["label"]): r["n"] for r in rows}

    treatments = db.query(
        "SELECT t.value AS treatment, count(*) AS n FROM items, json_each(items.treatments) AS t "
        "GROUP BY t.value ORDER BY count(*) DESC, t.value"
    )
    fulltext = db.query("SELECT fulltext_status, count(*) AS n FROM items WHERE fulltext_status IS NOT NULL "
                        "GROUP BY 1")
    return {
        "items": db["items"].count,
        "relevant": db["items"].count_where("relevant = 1"),
        "evidence_stage": counts("evidence_stage"),
        "claim_strength": counts("claim_strength"),
        "hype": counts("hype"),
        "commercial_interest": counts("commercial_interest"),
        "treatments": {r["treatment"]: r["n"] for r in treatments},
        "fulltext": {r["fulltext_status"]: r["n"] for r in fulltext},
    }
