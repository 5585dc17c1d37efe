"""db/citations.py: an item's citations replaced in one transaction, its worst verdict, and the items due a check."""

from __future__ import annotations

import pytest

from db import open_db, save_harvest, sync_sources
from db.citations import citations_for, items_needing_citation_check, save_citations
from scoring import labels

SRC = {"name": "A", "url": "https://example.org/a.xml", "kind": "feed", "publisher": "news", "every": 3600, "filter": False, "local": False}
ORDER = labels.codes("citation_check")


def item(i, published):
    return {"id": f"id{i}", "source": "A", "title": f"Item {i}", "text": f"Text {i} doi:10.1/x{i}", "published": published,
            "first_seen_at": "2026-01-01T00:00:00Z", "fetched_at": "2026-01-01T00:00:00Z", "content_hash": f"h{i}"}


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "x.db")
    sync_sources(db, [SRC])
    save_harvest(db, "A", source_changes={}, new_items=[item(1, "2026-01-03T00:00:00Z"), item(2, "2026-01-05T00:00:00Z"),
                                                        item(3, None)], fetch={"started_at": "t", "status": "ok"})
    return db


def row(verdict, value="10.1/x", **extra):
    return {"kind": "doi", "value": value, "context": "ctx", "claimed": {"authors": ["Tawfik"], "year": 2018},
            "work_key": f"doi:{value}", "verdict": verdict, "flags": [verdict] if verdict not in ("ok", "unchecked") else [],
            "reasons": ["Crossref lists it."], "design": None, "on_topic": True, **extra}


def test_save_replaces_and_sets_the_worst_verdict(db):
    save_citations(db, "id1", [row("ok", "10.1/a"), row("retracted", "10.1/b"), row("off_topic", "10.1/c")], "v1", order=ORDER)
    assert db["items"].get("id1")["citation_check"] == "retracted"
    got = citations_for(db, ["id1", "id2"])
    assert [r["position"] for r in got["id1"]] == [0, 1, 2] and got["id2"] == []
    first = got["id1"][0]
    assert first["claimed"] == {"authors": ["Tawfik"], "year": 2018} and first["reasons"] == ["Crossref lists it."]
    assert first["on_topic"] is True and first["check_version"] == "v1" and first["checked_at"]
    save_citations(db, "id1", [row("mismatch", "10.1/d")], "v1", order=ORDER)
    assert [r["value"] for r in citations_for(db, ["id1"])["id1"]] == ["10.1/d"]
    assert db["items"].get("id1")["citation_check"] == "mismatch"
    save_citations(db, "id1", [], "v1", order=ORDER)
    assert db["items"].get("id1")["citation_check"] is None and citations_for(db, ["id1"])["id1"] == []


def test_save_is_one_transaction(db):
    save_citations(db, "id1", [row("ok")], "v1", order=ORDER)
    with pytest.raises(Exception):
        save_citations(db, "id1", [row("ok"), row("ok", design=object())], "v2", order=ORDER)
    assert [r["verdict"] for r in citations_for(db, ["id1"])["id1"]] == ["ok"]
    assert db["items"].get("id1")["citations_checked"] == "v1"


def test_items_needing_a_check_newest_first_and_by_version(db):
    due = items_needing_citation_check(db, "v1", 10)
    assert [r["id"] for r in due] == ["id2", "id1", "id3"]  # id3 has no date: its first-seen time counts
    assert {"id", "title", "text", "summary", "fulltext_status"} <= set(due[0])
    save_citations(db, "id2", [], "v1", order=ORDER)          # cites nothing: still done
    save_citations(db, "id1", [row("ok")], "v0", order=ORDER)  # done by another version: due again
    assert [r["id"] for r in items_needing_citation_check(db, "v1", 10) if r["id"] != "id3"] == ["id1"]
    assert len(items_needing_citation_check(db, "v1", 1)) == 1
