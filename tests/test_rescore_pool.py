"""Rescoring with worker processes gives the same rows as rescoring in-process."""

from __future__ import annotations

import json

from db import open_db, sync_sources
from harvester.pipeline import rescore


def _items(n: int) -> list[dict]:
    texts = [
        ("Gel regrows hair in bald mice", "Researchers applied the gel to shaved mice for three weeks."),
        ("Our clinic offers PRP", "Book a free consultation with our specialists today."),
        ("Minoxidil trial", "A randomised, placebo-controlled trial in 120 men reported more hair at 24 weeks."),
        ("Hair loss linked to stress", "A survey of 2,000 adults associated stress with hair shedding."),
    ]
    rows = []
    for i in range(n):
        title, text = texts[i % len(texts)]
        rows.append({"id": f"item-{i:05d}", "source": "s", "url": f"https://example.test/{i}", "title": title,
                     "text": text, "first_seen_at": "2026-01-01T00:00:00Z", "fetched_at": "2026-01-01T00:00:00Z",
                     "content_hash": str(i)})
    return rows


def _db(path, n):
    db = open_db(path)
    sync_sources(db, [{"name": "s", "url": "https://example.test/feed", "kind": "feed", "publisher": "news",
                       "every": 3600, "filter": False, "local": False}])
    db["items"].insert_all(_items(n))
    return db


def _labels(db):
    cols = "id, relevant, evidence_stage, commercial_interest, claim_strength, hype, hype_score, treatments, reasons, scoring_version"
    return [tuple(r) for r in db.execute(f"SELECT {cols} FROM items ORDER BY id").fetchall()]


def test_rescore_with_workers_matches_in_process(tmp_path):
    a = _db(tmp_path / "a.db", 230)
    b = _db(tmp_path / "b.db", 230)
    batches = []
    assert rescore(a, batch=50, workers=0) == 230
    assert rescore(b, batch=50, workers=2, on_batch=batches.append) == 230
    assert batches == [50, 50, 50, 50, 30]
    rows_a, rows_b = _labels(a), _labels(b)
    assert rows_a == rows_b
    assert all(r[9] for r in rows_b)  # every row carries the scorer version
    assert {json.loads(r[8])[0]["dimension"] for r in rows_b}  # reasons stored as JSON
    # nothing left to do, with or without workers
    assert rescore(b, workers=2) == 0
