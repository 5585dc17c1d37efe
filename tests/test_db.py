"""Storage: migrations, source sync that keeps state, one transaction per source."""

import sqlite3

import pytest
from sqlite_utils import Database

from db import DatabaseError, due_sources, known_items, list_sources, open_db, save_harvest, sync_sources

SRC = {"name": "A", "url": "https://example.org/a.xml", "kind": "feed", "publisher": "news",
       "every": 3600, "filter": False, "local": False}


def item(i, **extra):
    return {"id": f"id{i}", "source": "A", "title": f"Item {i}", "first_seen_at": "2026-01-01T00:00:00Z",
            "fetched_at": "2026-01-01T00:00:00Z", "content_hash": f"h{i}", "nct_ids": ["NCT01234567"], **extra}


def test_open_db_is_wal_with_foreign_keys_and_fts(tmp_path):
    db = open_db(tmp_path / "x.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db["items"].detect_fts() == "items_fts"
    assert {"sources", "items", "fetches"} <= set(db.table_names())
    open_db(tmp_path / "x.db")  # migrations are applied once


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot open as a hypewatch database"):
        open_db(path)


def test_sync_keeps_state_and_disables_removed(tmp_path):
    db = open_db(tmp_path / "x.db")
    assert sync_sources(db, [SRC])["added"] == ["A"]
    db["sources"].update("A", {"etag": '"v1"', "url": "https://moved.example/a.xml"})
    assert sync_sources(db, [SRC]) == {"added": [], "changed": [], "removed": [], "reenabled": []}
    row = list_sources(db)[0]
    assert row["etag"] == '"v1"' and row["url"] == "https://moved.example/a.xml"  # redirect kept
    sync_sources(db, [{**SRC, "url": "https://example.org/new.xml"}])
    row = list_sources(db)[0]
    assert row["url"] == "https://example.org/new.xml" and row["etag"] is None
    assert sync_sources(db, [])["removed"] == ["A"]
    assert list_sources(db)[0]["enabled"] == 0
    assert sync_sources(db, [SRC])["reenabled"] == ["A"]


def test_due_sources(tmp_path):
    db = open_db(tmp_path / "x.db")
    sync_sources(db, [SRC, {**SRC, "name": "B"}])
    db["sources"].update("B", {"next_check_at": "2999-01-01T00:00:00Z"})
    assert [s["name"] for s in due_sources(db)] == ["A"]
    assert [s["name"] for s in due_sources(db, include_not_due=True)] == ["A", "B"]


def test_save_harvest_is_atomic(tmp_path):
    db = open_db(tmp_path / "x.db")
    sync_sources(db, [SRC])
    with pytest.raises(sqlite3.IntegrityError):
        # the fetch row names an unknown source: the whole write must roll back
        save_harvest(db, "A", source_changes={"etag": "x"}, new_items=[item(1), item(2)],
                     fetch={"source": "nope", "started_at": "t", "status": "ok"})
    assert db["items"].count == 0
    assert list_sources(db)[0]["etag"] is None
    save_harvest(db, "A", source_changes={"etag": "x"}, new_items=[item(1)],
                 fetch={"started_at": "t", "status": "ok", "new_items": 1})
    save_harvest(db, "A", source_changes={}, new_items=[item(1)], fetch={"started_at": "t", "status": "ok"})
    assert db["items"].count == 1
    assert known_items(db, ["id1", "id9"]) == {"id1": ("h1", "A")}
    assert db.execute("select nct_ids from items").fetchone()[0] == '["NCT01234567"]'
    # full-text search follows inserts
    assert db.execute("select count(*) from items_fts where items_fts match 'item'").fetchone()[0] == 1


def test_incomplete_item_row_raises_instead_of_vanishing(tmp_path):
    db = open_db(tmp_path / "x.db")
    sync_sources(db, [SRC])
    bad = item(1, treatments=None)  # NOT NULL column given NULL
    with pytest.raises(sqlite3.IntegrityError):
        save_harvest(db, "A", source_changes={}, new_items=[bad], fetch={"started_at": "t", "status": "ok"})
    assert db["items"].count == 0 and db["fetches"].count == 0


def test_same_article_from_two_sources_is_stored_once(tmp_path):
    db = open_db(tmp_path / "x.db")
    sync_sources(db, [SRC, {**SRC, "name": "B"}])
    save_harvest(db, "A", source_changes={}, new_items=[item(1)], fetch={"started_at": "t", "status": "ok"})
    save_harvest(db, "B", source_changes={}, new_items=[item(1, source="B")], fetch={"started_at": "t", "status": "ok"})
    assert [r["source"] for r in db["items"].rows] == ["A"]


def test_item_treatments_follow_items(tmp_path):
    """m004/m005: the denormalised (treatment, item, labels) rows follow inserts, rescoring and deletes."""
    db = open_db(tmp_path / "x.db")
    sync_sources(db, [SRC])
    save_harvest(db, "A", source_changes={}, fetch={"started_at": "2026-01-01T00:00:00Z", "status": "ok"},
                 new_items=[item(1, treatments=["minoxidil", "finasteride"], published="2026-02-01T00:00:00Z",
                                 relevant=1, evidence_stage="animal", commercial_interest="none"),
                            item(2, treatments="not json"), item(3, treatments=[])])

    def rows():
        return sorted(db.execute("SELECT treatment, item_id, published, relevant, evidence_stage, commercial_interest "
                                 "FROM item_treatments").fetchall())

    assert rows() == [("finasteride", "id1", "2026-02-01T00:00:00Z", 1, "animal", "none"),
                      ("minoxidil", "id1", "2026-02-01T00:00:00Z", 1, "animal", "none")]
    db.execute("UPDATE items SET treatments = ?, evidence_stage = 'human_rct' WHERE id = 'id1'", ['["prp"]'])
    db.execute("UPDATE items SET treatments = ? WHERE id = 'id3'", ['["minoxidil", 5, "minoxidil"]'])
    # no published date: first seen stands in, as in every newest-first view
    assert rows() == [("minoxidil", "id3", "2026-01-01T00:00:00Z", None, None, None),
                      ("prp", "id1", "2026-02-01T00:00:00Z", 1, "human_rct", "none")]
    db.execute("UPDATE items SET relevant = 0, commercial_interest = 'direct' WHERE id = 'id1'")
    assert rows()[1][3:] == (0, "human_rct", "direct")
    db.execute("DELETE FROM items WHERE id = 'id3'")
    assert rows() == [("prp", "id1", "2026-02-01T00:00:00Z", 0, "human_rct", "direct")]


def test_item_treatments_rebuilt_from_existing_items(tmp_path):
    path = tmp_path / "x.db"
    db = open_db(path)
    sync_sources(db, [SRC])
    save_harvest(db, "A", source_changes={}, fetch={"started_at": "2026-01-01T00:00:00Z", "status": "ok"},
                 new_items=[item(1, treatments=["minoxidil"], evidence_stage="in_vitro")])
    db.execute("DELETE FROM item_treatments")
    db.conn.commit()
    from db.schema import m005_treatment_labels
    m005_treatment_labels(db)  # derived data: rebuilt from items, and safe to run again
    m005_treatment_labels(db)
    assert db.execute("SELECT treatment, item_id, evidence_stage FROM item_treatments").fetchall() == [
        ("minoxidil", "id1", "in_vitro")]


def test_treatment_pipeline_counts_read_a_covering_index(tmp_path):
    """m007: the pipeline chart's aggregate never reads the table or sorts (seconds at a million items)."""
    db = open_db(tmp_path / "x.db")
    plan = " ".join(str(r[-1]) for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT treatment, evidence_stage, count(*) FROM item_treatments "
        "WHERE relevant IS NOT 0 AND evidence_stage IS NOT NULL GROUP BY treatment, evidence_stage").fetchall())
    assert "COVERING INDEX item_treatments_stage" in plan
    assert "TEMP B-TREE" not in plan


def test_claim_strength_column_is_added_to_an_existing_database_and_indexed(tmp_path):
    """m008: items.claim_strength on a database made before it; its facet and filter read an index, not the rows."""
    from db.schema import migrations

    path = tmp_path / "x.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="m008_claim_strength")
    assert "claim_strength" not in old["items"].columns_dict
    sync_sources(old, [SRC])
    save_harvest(old, "A", source_changes={}, fetch={"started_at": "t", "status": "ok"},
                 new_items=[item(1, evidence_stage="animal", hype="high", scoring_version="old")])
    old.close()

    db = open_db(path)
    assert db["items"].columns_dict["claim_strength"] is str
    # stored labels are kept; the new one is unknown until the item is rescored
    assert db.execute("SELECT evidence_stage, hype, claim_strength FROM items").fetchall() == [("animal", "high", None)]
    save_harvest(db, "A", source_changes={}, fetch={"started_at": "t", "status": "ok"},
                 new_items=[item(2, claim_strength="direct_causal")])
    assert db.execute("SELECT id, claim_strength FROM items ORDER BY id").fetchall() == [
        ("id1", None), ("id2", "direct_causal")]
    open_db(path)  # applied once

    def plan(sql):
        return " ".join(str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())

    columns = ", ".join(db["items"].columns_dict)
    # Datasette's facet SQL over the whole table: counted from the index alone
    facet = plan(f"select claim_strength as value, count(*) as count from (select {columns} from items) "
                 f"where claim_strength is not null group by claim_strength order by count desc, value limit 13")
    assert "COVERING INDEX items_site_claim_published" in facet
    # ?claim_strength= newest first: read in index order, no sort
    listing = plan(f"select {columns} from items where claim_strength = 'direct_causal' order by published desc limit 51")
    assert "INDEX items_site_claim_published" in listing and "TEMP B-TREE" not in listing
