"""Citations and studies on the site at scale: adds citations, works and studies to a bench/site.py database, times the pages.

Usage:
    python bench/site.py --build-only --db /tmp/hypewatch-site-bench.db     # 1,000,000 items, once
    python bench/site_citations.py /tmp/hypewatch-site-bench.db              # add the rows (once), then measure

What it adds (fixed seed, through the m011 tables as the citing job and the study grouping write them):
4% of items cite 1-6 references with a realistic mix of verdicts (about a quarter of those items carry
a warned-about verdict), each reference a works row; 3% of items tell a study of 2-8 tellings with a
coverage gap each. Then it times, with Datasette's in-process client and the shipped configuration,
the item and study pages, the studies and citations tables with their facets, the items table
faceted by the new columns, and the two canned queries with their Atom feeds: median and p95 of n runs.
Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VERDICTS = ["ok"] * 50 + ["unverified"] * 15 + ["unchecked"] * 8 + ["corrected"] * 3 + ["concern"] * 2 + \
    ["not_found"] * 8 + ["mismatch"] * 6 + ["off_topic"] * 5 + ["retracted"] * 3
SEVERITY = ["unchecked", "unverified", "ok", "corrected", "concern", "off_topic", "mismatch", "not_found", "retracted"]
GAPS = ["none"] * 45 + ["claim"] * 20 + ["stage"] * 12 + ["stage_claim"] * 13 + ["unknown"] * 10
STAGES = ["in_vitro", "animal", "human_uncontrolled", "human_rct", "meta_analysis"]


def populate(path: Path, seed: int = 13) -> dict[str, int]:
    from db import open_db

    db = open_db(path)
    if db["citations"].count:
        return {"citations": db["citations"].count, "studies": db["studies"].count}
    rng = random.Random(seed)
    rows = db.execute("select rowid, id, published from items").fetchall()
    works, citations, item_updates, studies, tellings = {}, [], [], [], []
    for rowid, ident, published in rows:
        if rng.random() < 0.04:
            verdicts = [rng.choice(VERDICTS) for _ in range(rng.randint(1, 6))]
            for pos, verdict in enumerate(verdicts):
                doi = f"10.{rng.randint(1000, 9999)}/bench.{rowid}.{pos}"
                key = f"doi:{doi}"
                works[key] = {"key": key, "service": "crossref", "state": "found" if verdict != "not_found" else "not_found",
                              "doi": doi, "title": f"Work {rowid}-{pos} on hair follicle biology",
                              "authors": json.dumps(["Smith", "Lee"]), "journal": "Journal of Bench Dermatology",
                              "year": rng.randint(2005, 2026), "design": rng.choice(STAGES),
                              "retraction": "retracted" if verdict == "retracted" else None}
                citations.append({"id": f"{ident}-{pos}", "item_id": ident, "position": pos, "kind": "doi",
                                  "value": doi, "context": f"As shown (doi:{doi}), hair density rose.",
                                  "claimed": "{}", "work_key": key, "verdict": verdict,
                                  "flags": json.dumps([verdict]), "reasons": json.dumps([f"Bench reason for {verdict}."]),
                                  "checked_at": published})
            item_updates.append((max(verdicts, key=SEVERITY.index), None, None, ident))
    for rowid, ident, published in rows:
        if rng.random() < 0.03 / 5:  # a study of ~5 tellings per 0.6% of items: ~3% of items tell a study
            members = rng.sample(rows, rng.randint(2, 8))
            sid = f"study-{rowid}"
            gaps = []
            for other_rowid, other, other_published in members:
                gap = rng.choice(GAPS)
                gaps.append(gap)
                tellings.append({"study_id": sid, "item_id": other, "link": "shared_id", "link_reason": "bench",
                                 "role": "news", "published": other_published, "evidence_stage": "animal",
                                 "claim_strength": "direct_causal", "hype": "high", "gap": gap,
                                 "gap_reason": f"Bench gap {gap}."})
                item_updates.append((None, sid, gap, other))
            dates = sorted(m[2] or "" for m in members)
            studies.append({"id": sid, "title": f"Study {rowid}", "paper_key": None, "design": "animal",
                            "claim_strength": "conditional_causal", "first_seen": dates[0], "last_seen": dates[-1],
                            "tellings": len(members), "worst_gap": max(gaps, key=["unknown", "none", "claim", "stage",
                                                                                 "stage_claim"].index)})
    with db.conn:
        db["works"].insert_all(works.values(), replace=True, batch_size=5000)
        db["citations"].insert_all(citations, replace=True, batch_size=5000)
        db["studies"].insert_all(studies, replace=True, batch_size=5000)
        db["study_items"].insert_all(tellings, replace=True, batch_size=5000)
        for check, sid, gap, ident in item_updates:
            if check:
                db.execute("update items set citation_check = ? where id = ?", [check, ident])
            else:
                db.execute("update items set study_id = ?, coverage_gap = ? where id = ?", [sid, gap, ident])
    db.execute("analyze")
    counts = {"citations": len(citations), "works": len(works), "studies": len(studies), "tellings": len(tellings)}
    db.close()
    return counts


async def measure(path: Path, n: int) -> list[tuple[str, float, float, float]]:
    """(case, first request ms, median ms, p95 ms); each request has its own URL, so no whole answer is reused."""
    import sqlite3

    from hypewatch.serve import make_app

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cited = conn.execute("select item_id from citations order by verdict = 'mismatch' desc limit 1").fetchone()[0]
    study = conn.execute("select id from studies order by tellings desc limit 1").fetchone()[0]
    conn.close()
    ds = make_app(path)
    cases = [
        ("item page with citations", f"/hypewatch/items/{cited}"),
        ("study page (most tellings)", f"/hypewatch/studies/{study}"),
        ("studies table + facets", "/hypewatch/studies"),
        ("citations table + verdict facet", "/hypewatch/citations"),
        ("citations filtered verdict=off_topic", "/hypewatch/citations?verdict=off_topic"),
        ("items faceted citation_check=not_found", "/hypewatch/items?citation_check=not_found"),
        ("items faceted coverage_gap=stage_claim", "/hypewatch/items?coverage_gap=stage_claim"),
        ("citation_problems", "/hypewatch/citation_problems"),
        ("citation_problems_feed.atom", "/hypewatch/citation_problems_feed.atom"),
        ("coverage_gaps", "/hypewatch/coverage_gaps"),
        ("coverage_gaps_feed.atom", "/hypewatch/coverage_gaps_feed.atom"),
    ]
    results = []
    for name, url in cases:
        times = []
        for i in range(n + 2):
            start = time.perf_counter()
            response = await ds.client.get(url + ("&" if "?" in url else "?") + f"_bench={i}")
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, (url, response.status_code, response.text[:300])
            if i == 0:
                cold = elapsed  # counts and facets computed (later requests share them until the data changes)
            if i >= 2:
                times.append(elapsed)
        times.sort()
        results.append((f"{name} `{url}`", cold, statistics.median(times), times[int(0.95 * (len(times) - 1))]))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db")
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    path = Path(args.db)
    start = time.perf_counter()
    print("added:", populate(path), f"in {time.perf_counter() - start:.0f}s")
    print("| case | first ms | median ms | p95 ms |\n|---|---:|---:|---:|")
    for name, cold, median, p95 in asyncio.run(measure(path, args.n)):
        print(f"| {name} | {cold:.1f} | {median:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
