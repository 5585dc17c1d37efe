"""SQLite storage for hypewatch: open_db and the reads and writes the pipeline needs.

Imports nothing from the other hypewatch packages, so it can be used alone
(and by Datasette plugins) without pulling in the harvester.
"""

from .store import (
    DatabaseError,
    count_items,
    count_outdated_scores,
    due_sources,
    iso,
    items_to_score,
    known_items,
    list_sources,
    open_db,
    save_harvest,
    save_scores,
    snapshot,
    source_health,
    sync_sources,
    utcnow,
)

__all__ = [
    "DatabaseError",
    "count_items",
    "count_outdated_scores",
    "due_sources",
    "iso",
    "items_to_score",
    "known_items",
    "list_sources",
    "open_db",
    "save_harvest",
    "save_scores",
    "snapshot",
    "source_health",
    "sync_sources",
    "utcnow",
]
