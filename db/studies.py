"""Reads and writes for the `studies` and `study_items` tables and the items' study_id and coverage_gap.

Dicts in, dicts out (a study as ``harvester.studies.Study.as_dict()`` gives it); imports nothing
internal. A pass writes its studies in one transaction, so the site never shows a study with half
its tellings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from .store import json_list

__all__ = ["GROUPING_COLUMNS", "items_for_grouping", "save_studies", "study", "works_for_grouping"]

#: The items columns grouping reads; the long text is cut (names and journals sit near the top).
GROUPING_COLUMNS = (
    "id", "title", "substr(text, 1, 4000) AS text", "url", "COALESCE(published, first_seen_at) AS published",
    "source", "publisher", "author", "doi", "pmid", "nct_ids", "meta", "evidence_stage", "claim_strength", "hype",
)
STUDY_COLUMNS = ("id", "title", "paper_key", "trial_key", "paper_item", "design", "claim_strength", "retraction",
                 "first_seen", "last_seen", "tellings", "worst_gap")
TELLING_COLUMNS = ("item_id", "link", "link_reason", "role", "published", "evidence_stage", "claim_strength", "hype",
                   "gap", "gap_reason")
WORK_JSON = ("authors", "pub_types", "mesh", "keywords", "notices", "trial", "candidates")
_CHUNK = 500  # SQLite's variable limit is 999 on old builds


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def save_studies(db: Database, studies: Sequence[Mapping[str, Any]], *, scope: Iterable[str] = ()) -> None:
    """Upsert ``studies`` and replace their tellings, in one transaction.

    Linked items get their study_id and coverage_gap; an item that was in one of these studies
    (or, with ``scope``, any item the pass looked at) and is in none of them now is taken out of
    its old study and cleared. A study left with no tellings is deleted.
    """
    new_members: dict[str, tuple[str, str | None]] = {}
    rows: list[dict[str, Any]] = []
    tellings: list[tuple[str, list[Mapping[str, Any]]]] = []
    for study in studies:
        study_id = study.get("id")
        if not isinstance(study_id, str) or not study_id:
            raise ValueError(f"a study needs an id, got {study.get('id')!r}")
        its = [t for t in study.get("tellings") or [] if isinstance(t, Mapping) and t.get("item_id")]
        row = {c: study.get(c) for c in STUDY_COLUMNS}
        row["tellings"] = len(its)
        rows.append(row)
        tellings.append((study_id, its))
        for t in its:
            new_members[str(t["item_id"])] = (study_id, t.get("gap"))
    ids = [r["id"] for r in rows]
    conn = db.conn
    with db.atomic():
        previous: dict[str, str] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" for _ in chunk)
            for item_id, study_id in conn.execute(
                    f"SELECT item_id, study_id FROM study_items WHERE study_id IN ({marks})", list(chunk)):
                previous[item_id] = study_id
        scoped = [i for i in dict.fromkeys(scope) if i not in new_members]
        for chunk in _chunks(scoped):
            marks = ",".join("?" for _ in chunk)
            for item_id, study_id in conn.execute(
                    f"SELECT item_id, study_id FROM study_items WHERE item_id IN ({marks})", list(chunk)):
                previous.setdefault(item_id, study_id)
        # Items moving into these studies leave the studies they were in.
        moved: list[tuple[str, str]] = []
        members = list(new_members)
        for chunk in _chunks(members):
            marks = ",".join("?" for _ in chunk)
            moved += list(conn.execute(
                f"SELECT item_id, study_id FROM study_items WHERE item_id IN ({marks})", list(chunk)))
        touched = {study_id for _, study_id in moved} | set(previous.values())
        for item_id, study_id in moved:
            if new_members[item_id][0] != study_id:
                conn.execute("DELETE FROM study_items WHERE study_id = ? AND item_id = ?", [study_id, item_id])
        for chunk in _chunks(ids):
            marks = ",".join("?" for _ in chunk)
            conn.execute(f"DELETE FROM study_items WHERE study_id IN ({marks})", list(chunk))
        gone = [i for i in previous if i not in new_members]
        for item_id in gone:
            conn.execute("DELETE FROM study_items WHERE item_id = ? AND study_id = ?", [item_id, previous[item_id]])
        conn.executemany(
            "UPDATE items SET study_id = NULL, coverage_gap = NULL WHERE id = ?", [[i] for i in gone])
        columns = ", ".join(STUDY_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in STUDY_COLUMNS if c != "id")
        conn.executemany(
            f"INSERT INTO studies ({columns}) VALUES ({', '.join('?' for _ in STUDY_COLUMNS)}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}",
            [[row[c] for c in STUDY_COLUMNS] for row in rows])
        conn.executemany(
            f"INSERT INTO study_items (study_id, {', '.join(TELLING_COLUMNS)}) "
            f"VALUES (?, {', '.join('?' for _ in TELLING_COLUMNS)})",
            [[study_id, *(t.get(c) for c in TELLING_COLUMNS)] for study_id, its in tellings for t in its])
        conn.executemany(
            "UPDATE items SET study_id = ?, coverage_gap = ? WHERE id = ?",
            [[study_id, gap, item_id] for item_id, (study_id, gap) in new_members.items()])
        # Studies that lost tellings to this pass: recount, and drop the empty ones.
        for study_id in touched - set(ids):
            left = conn.execute("SELECT count(*) FROM study_items WHERE study_id = ?", [study_id]).fetchone()[0]
            if left:
                conn.execute("UPDATE studies SET tellings = ? WHERE id = ?", [left, study_id])
            else:
                conn.execute("DELETE FROM studies WHERE id = ?", [study_id])


def items_for_grouping(db: Database, since: str | None, *, limit: int = 5000) -> list[dict[str, Any]]:
    """The relevant items published (or first seen) since ``since``, newest first, at most ``limit``.

    Each carries ``cites``: the work keys its citations resolved to, in the order they appear.
    Unscored items are included (a DOI links them before the scorer has run).
    """
    where = "COALESCE(relevant, 1) = 1"
    params: list[Any] = []
    if since:
        where += " AND COALESCE(published, first_seen_at) >= ?"
        params.append(since)
    sql = (f"SELECT {', '.join(GROUPING_COLUMNS)} FROM items WHERE {where} "
           f"ORDER BY COALESCE(published, first_seen_at) DESC, id LIMIT {max(0, int(limit))}")
    items = [dict(row) for row in db.query(sql, params)]
    by_id = {item["id"]: item for item in items}
    for item in items:
        item["nct_ids"] = json_list(item.get("nct_ids"))
        item["cites"] = []
    if "citations" in db.table_names():
        ids = list(by_id)
        for chunk in _chunks(ids):
            marks = ",".join("?" for _ in chunk)
            for item_id, work_key in db.execute(
                    f"SELECT item_id, work_key FROM citations WHERE item_id IN ({marks}) AND work_key IS NOT NULL "
                    f"ORDER BY item_id, position", list(chunk)).fetchall():
                cites = by_id[item_id]["cites"]
                if work_key not in cites:
                    cites.append(work_key)
    return items


def works_for_grouping(db: Database, items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The cached works the items name (own DOI/PMID/trial ids and cites), JSON fields decoded, by key.

    Works found under a DOI that carry a PMID (or the reverse) are looked up under both, so one
    work named two ways is found either way.
    """
    keys: list[str] = []
    for item in items:
        if item.get("doi"):
            keys.append(f"doi:{str(item['doi']).lower()}")
        if item.get("pmid"):
            keys.append(f"pmid:{item['pmid']}")
        keys += [f"nct:{n}" for n in json_list(item.get("nct_ids"))]
        keys += [k for k in item.get("cites") or [] if isinstance(k, str)]
    keys = list(dict.fromkeys(keys))
    works: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        marks = ",".join("?" for _ in chunk)
        for row in db.query(f"SELECT * FROM works WHERE key IN ({marks})", list(chunk)):
            works[row["key"]] = _decode_work(row)
    dois = [k[4:] for k in keys if k.startswith("doi:") and k not in works]
    pmids = [k[5:] for k in keys if k.startswith("pmid:") and k not in works]
    for column, values in (("doi", dois), ("pmid", pmids)):
        for chunk in _chunks(values):
            marks = ",".join("?" for _ in chunk)
            for row in db.query(f"SELECT * FROM works WHERE {column} IN ({marks}) AND state = 'found'", list(chunk)):
                works.setdefault(f"{column}:{row[column]}", _decode_work(row))
    return works


def study(db: Database, id: str) -> dict[str, Any] | None:
    """One study with its tellings in time order (each with its item's title, url and source), or None.

    ``tellings`` is the list; the table's count of them is ``telling_count``.
    """
    row = next(db.query("SELECT * FROM studies WHERE id = ?", [id]), None)
    if row is None:
        return None
    row = dict(row)
    row["telling_count"] = row["tellings"]
    row["tellings"] = [dict(t) for t in db.query(
        "SELECT s.*, i.title, i.url, i.source FROM study_items s LEFT JOIN items i ON i.id = s.item_id "
        "WHERE s.study_id = ? ORDER BY s.published IS NULL, s.published, s.item_id", [id])]
    return row


def _decode_work(row: Mapping[str, Any]) -> dict[str, Any]:
    work = dict(row)
    for column in WORK_JSON:
        value = work.get(column)
        if isinstance(value, str):
            try:
                work[column] = json.loads(value)
            except ValueError:
                work[column] = None
    return work
