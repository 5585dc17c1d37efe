"""Reads and writes the pipeline needs: dicts in, dicts out, one place for SQL.

Every write that belongs to one source's harvest goes through
``save_harvest`` so it lands in a single transaction: a crash leaves the
source exactly as it was before, never half-written.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .schema import migrations

log = logging.getLogger(__name__)

SOURCE_CONFIG_FIELDS = ("url", "kind", "publisher", "every", "filter", "local")
GONE_REASON = "HTTP 410 Gone"  # how a source disabled by a 410 starts its disabled_reason
ITEM_JSON_FIELDS = ("nct_ids", "meta", "treatments", "reasons")


# C0 controls but tab, newline and carriage return, and DEL: never meaningful in stored text,
# and a NUL cuts strings short in C tools and browsers that read the published data.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_value(value: Any) -> Any:
    """``value`` with control characters removed from every string in it (lists and dicts too)."""
    if isinstance(value, str):
        return _CONTROLS.sub("", value) if _CONTROLS.search(value) else value
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    return value


class DatabaseError(Exception):
    """The database file cannot be opened or is not a hypewatch database."""


def json_list(value: Any) -> list[Any]:
    """A JSON array column as a list: [] for NULL, bad JSON or anything that is not an array."""
    if isinstance(value, list):
        return value
    try:
        decoded = json.loads(value or "[]")
    except (TypeError, ValueError):
        return []
    return decoded if isinstance(decoded, list) else []


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    """One timestamp format everywhere, so string comparison is time order."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_db(path: str | Path) -> Database:
    """Open (creating if needed) a database in WAL mode with migrations applied.

    WAL lets Datasette read while the harvester writes.
    """
    path = str(path)
    try:
        conn = sqlite3.connect(path, timeout=30)
        db = Database(conn)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        if path != ":memory:":
            db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        if "unable to open" in str(exc) or "readonly" in str(exc):
            fix = "check that its directory exists and that the file and directory are writable, or point --db elsewhere"
        else:
            fix = "point --db at another file or move this one away"
        raise DatabaseError(f"{path}: cannot open as a hypewatch database ({exc}); {fix}") from exc
    return db


# -- sources ---------------------------------------------------------------


def sync_sources(db: Database, configured: Sequence[dict[str, Any]], now: datetime | None = None) -> dict[str, list[str]]:
    """Make the sources table follow sources.toml, keeping each source's state.

    Sources removed from the file are disabled, not deleted, so their items
    and history stay published.
    """
    now_s = iso(now or utcnow())
    existing = {row["name"]: row for row in db["sources"].rows}
    result: dict[str, list[str]] = {"added": [], "changed": [], "removed": [], "reenabled": []}
    with db.atomic():
        for src in configured:
            config = {k: clean_value(src[k]) for k in SOURCE_CONFIG_FIELDS if k in src}
            config["filter"] = int(bool(config.get("filter", 0)))
            config["local"] = int(bool(config.get("local", 0)))
            config["config_url"] = config["url"]
            row = existing.get(src["name"])
            if row is None:
                db["sources"].insert({"name": src["name"], **config, "added_at": now_s, "next_check_at": now_s})
                result["added"].append(src["name"])
                continue
            # `url` may have moved on after a permanent redirect; only a change
            # in the file itself resets it.
            config_url = config.pop("url")
            changes = {k: v for k, v in config.items() if row.get(k) != v}
            if "config_url" in changes:
                # A new URL is a new conversation with a server: forget validators.
                changes.update(url=config_url, etag=None, last_modified=None, body_hash=None,
                               next_check_at=now_s, error_count=0, last_error=None)
            reason = row["disabled_reason"] or ""
            # Back in the file, or gone (HTTP 410) and given a new URL there, as its message asks.
            if reason == "removed from sources file" or (reason.startswith(GONE_REASON) and "config_url" in changes):
                changes.update(enabled=1, disabled_reason=None)
                result["reenabled"].append(src["name"])
            if changes:
                db["sources"].update(src["name"], changes)
                if src["name"] not in result["reenabled"]:
                    result["changed"].append(src["name"])
        configured_names = {s["name"] for s in configured}
        for name, row in existing.items():
            if name not in configured_names and row["enabled"]:
                db["sources"].update(name, {"enabled": 0, "disabled_reason": "removed from sources file"})
                result["removed"].append(name)
    return result




def list_sources(db: Database) -> list[dict[str, Any]]:
    return list(db["sources"].rows_where(order_by="name"))


def due_sources(db: Database, now: datetime | None = None, *, include_not_due: bool = False,
                names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The enabled sources whose next check has come, earliest first."""
    where = ["enabled = 1"]
    params: list[Any] = []
    if not include_not_due:
        where.append("(next_check_at IS NULL OR next_check_at <= ?)")
        params.append(iso(now or utcnow()))
    if names is not None:
        names = list(names)
        where.append(f"name IN ({', '.join('?' for _ in names)})")
        params.extend(names)
    return list(db["sources"].rows_where(" AND ".join(where), params, order_by="next_check_at, name"))




# -- items ------------------------------------------------------------------


def known_items(db: Database, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(content hash, source) of the items that already exist, to tell new from updated.

    The source matters because ids from URLs are global: an article carried by
    two feeds belongs to the one that brought it first.
    """
    found: dict[str, tuple[str, str]] = {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        sql = f"SELECT id, content_hash, source FROM items WHERE id IN ({', '.join('?' for _ in chunk)})"
        found.update((row[0], (row[1], row[2])) for row in db.execute(sql, chunk).fetchall())
    return found


def encode_item(row: dict[str, Any]) -> dict[str, Any]:
    """The row as stored: JSON columns encoded (strings are taken as encoded already), booleans as 0/1.

    The harvest's worker processes call it too, so a row crosses to the writer as strings.
    """
    out = {key: clean_value(value) for key, value in row.items()}
    for key in ITEM_JSON_FIELDS:
        if key in out and not isinstance(out[key], str) and out[key] is not None:
            out[key] = json.dumps(out[key], ensure_ascii=False)
    if isinstance(out.get("relevant"), bool):
        out["relevant"] = int(out["relevant"])
    return out


def save_harvest(db: Database, source: str, *, source_changes: dict[str, Any],
                 new_items: Sequence[dict[str, Any]] = (), updated_items: Sequence[dict[str, Any]] = (),
                 fetch: dict[str, Any]) -> int:
    """Write one source's harvest (items, state, fetch log) in one transaction.

    Updated items keep their first_seen_at; re-running with the same items
    changes nothing but the fetch log, so harvesting is idempotent.
    Returns the fetch row id.
    """
    with db.atomic():
        if new_items:
            _insert_new_items(db, [encode_item(i) for i in new_items])
        for item in updated_items:
            row = encode_item(item)
            row.pop("first_seen_at", None)
            row["citations_checked"] = None  # its text changed: what it cites is read again
            _update(db, "items", "id", row.pop("id"), row)
        if source_changes:
            _update(db, "sources", "name", source, source_changes)
        return _insert(db, "fetches", {"source": source, **fetch})


# Plain SQL for the per-source writes: sqlite-utils' update() and insert()
# inspect the table on every call, which cost more than the writes themselves
# when a pass covers a thousand sources. Column names come from our code only.

def _update(db: Database, table: str, key: str, value: Any, changes: dict[str, Any]) -> None:
    assignments = ", ".join(f'"{column}" = ?' for column in changes)
    db.conn.execute(f'UPDATE "{table}" SET {assignments} WHERE "{key}" = ?',
                    [*map(clean_value, changes.values()), value])


def _insert(db: Database, table: str, row: dict[str, Any]) -> int:
    columns = ", ".join(f'"{column}"' for column in row)
    cursor = db.conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" for _ in row)})',
                             [clean_value(v) for v in row.values()])
    return cursor.lastrowid


def _insert_new_items(db: Database, rows: list[dict[str, Any]]) -> None:
    """Insert items, skipping only ids that already exist.

    Two sources in one pass can carry the same article (ids from URLs are
    global), so a duplicate id is expected and skipped. Unlike INSERT OR
    IGNORE, ON CONFLICT(id) skips nothing else: a row breaking another
    constraint raises and rolls the source back instead of vanishing.
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    sql = (f"INSERT INTO items ({', '.join(chr(34) + c + chr(34) for c in columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT(id) DO NOTHING")
    db.conn.executemany(sql, [[clean_value(row.get(c)) for c in columns] for row in rows])






def items_to_score(db: Database, version: str, *, rescore: bool = False, limit: int = 1000,
                   after_id: str = "") -> list[dict[str, Any]]:
    """A batch of items whose stored score is missing or from another scorer version."""
    where = "id > ?" if rescore else "id > ? AND (scoring_version IS NULL OR scoring_version != ?)"
    params: list[Any] = [after_id] if rescore else [after_id, version]
    sql = (f"SELECT id, title, text, summary, url, publisher, meta "
           f"FROM items WHERE {where} ORDER BY id LIMIT {int(limit)}")
    return list(db.query(sql, params))


def save_scores(db: Database, scores: Iterable[dict[str, Any]]) -> int:
    """Store score dicts (id plus the label columns) in one transaction."""
    n = 0
    with db.atomic():
        for row in scores:
            row = encode_item(row)
            _update(db, "items", "id", row.pop("id"), row)
            n += 1
    return n


def count_items(db: Database) -> int:
    return db["items"].count


def count_outdated_scores(db: Database, version: str) -> int:
    return db.execute(
        "SELECT count(*) FROM items WHERE scoring_version IS NULL OR scoring_version != ?", [version]
    ).fetchone()[0]


def source_health(db: Database) -> list[dict[str, Any]]:
    """Per-source state plus item counts, for `hypewatch status`."""
    sql = """
        SELECT s.name, s.url, s.kind, s.publisher, s.enabled, s.disabled_reason,
               s.last_status, s.last_http_status, s.last_checked_at, s.last_success_at,
               s.next_check_at, s.error_count, s.last_error, s.last_warning,
               (SELECT count(*) FROM items i WHERE i.source = s.name) AS items
        FROM sources s ORDER BY s.name
    """
    return list(db.query(sql))


def snapshot(db: Database, out_path: str | Path) -> dict[str, Any]:
    """A consistent, compact, read-only copy of the database for site replicas.

    VACUUM INTO reads one transaction's view, so the harvester may keep
    writing; the copy has no WAL and can be served with `datasette -i`.
    """
    out = Path(out_path)
    if out.exists():
        raise FileExistsError(f"{out} exists; remove it or choose another path (snapshots never overwrite)")
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    db.execute("VACUUM INTO ?", [str(tmp)])
    conn = sqlite3.connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        conn.close()
    tmp.rename(out)
    return {"path": str(out), "items": items, "bytes": out.stat().st_size}
