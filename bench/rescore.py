"""Benchmark rescoring stored items (what runs when SCORING_VERSION changes), extrapolated to 1,000,000.

Builds a database of N items (3-6 KB articles composed from the sentences bench/score.py uses),
then times `harvester.scores.rescore(rescore_all=True)` with worker processes (the default
for large rescoring) and in one process. Prints items/s and the time 1,000,000 items would take.
    python bench/rescore.py [--items 20000] [--db /tmp/rescore-bench.db]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from db import open_db, sync_sources  # noqa: E402
from harvester import scores  # noqa: E402
from score import make_article  # noqa: E402


def build(path: Path, n: int, seed: int = 1) -> None:
    db = open_db(path)
    sync_sources(db, [{"name": "bench", "url": "https://example.test/feed", "kind": "feed", "publisher": "news",
                       "every": 3600, "filter": False, "local": False}])
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        art = make_article(rng)
        rows.append({"id": f"b{i:08d}", "source": "bench", "url": f"https://example.test/{i}", "title": art["title"],
                     "text": art["text"], "first_seen_at": "2026-01-01T00:00:00Z",
                     "fetched_at": "2026-01-01T00:00:00Z", "content_hash": str(i)})
        if len(rows) == 5000:
            db["items"].insert_all(rows)
            rows = []
    if rows:
        db["items"].insert_all(rows)
    db.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "rescore.db"
        if not path.exists():
            build(path, args.items)
        db = open_db(path)
        n = db.execute("select count(*) from items").fetchone()[0]
        for label, workers in (("worker processes (default)", None), ("one process", 0)):
            t0 = time.perf_counter()
            done = scores.rescore(db, rescore_all=True, workers=workers)
            t = time.perf_counter() - t0
            print(f"rescore {done} items, {label}: {t:.1f} s = {done / t:,.0f} items/s; "
                  f"1,000,000 items: {1_000_000 / (done / t) / 60:.1f} min (target < 20 min)")
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
