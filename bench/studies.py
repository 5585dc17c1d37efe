"""Benchmark same-study grouping on the labelled items: pairwise precision and recall, per link method.

Every pair of items is a decision: grouped together or not, against the fixture's `study` labels
(null = a study of its own). Items whose id hashes into the held-out part are never tuned on;
pairs touching them are reported apart. Usage:
    python bench/studies.py [--items tests/fixtures/studies/items.jsonl] [--works …/works.jsonl] [--verbose]
                            [--scale 80]   # also time group() on 80 copies of the set, 400 days apart
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harvester.studies import LINKS, group  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "studies"
HOLDOUT_BUCKETS = 4  # one item in four is held out


def held_out(item_id: str) -> bool:
    """The held-out part: chosen by a hash of the id, so it never depends on the labels."""
    return int(hashlib.sha1(item_id.encode("utf-8")).hexdigest(), 16) % HOLDOUT_BUCKETS == 0


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(items: list[dict[str, Any]], works: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Pairwise counts for all pairs, the tuning part and the held-out part, and per link method."""
    studies = group(items, works)
    predicted: dict[str, str] = {}
    link_of: dict[str, str] = {}
    for study in studies:
        for telling in study.tellings:
            predicted[telling.item_id] = study.id
            link_of[telling.item_id] = telling.link
    gold = {i["id"]: i.get("study") for i in items}
    parts = {name: {"tp": 0, "fp": 0, "fn": 0} for name in ("all", "tuning", "held_out")}
    per_link = {code: {"tp": 0, "fp": 0} for code in LINKS}
    mistakes: list[str] = []
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold = gold[a] is not None and gold[a] == gold[b]
        same_pred = a in predicted and predicted.get(a) == predicted.get(b)
        if not (same_gold or same_pred):
            continue
        part = "held_out" if held_out(a) or held_out(b) else "tuning"
        outcome = "tp" if same_gold and same_pred else ("fp" if same_pred else "fn")
        for name in ("all", part):
            parts[name][outcome] += 1
        if same_pred:
            for code in {link_of[a], link_of[b]}:
                per_link[code][outcome] += 1
        if outcome != "tp" and part == "tuning":  # held-out mistakes are not shown: never tuned on
            mistakes.append(f"{outcome} {a} ({gold[a]}, {link_of.get(a)}) ~ {b} ({gold[b]}, {link_of.get(b)})")
    return {"studies": studies, "parts": parts, "per_link": per_link, "mistakes": mistakes}


def _pr(counts: dict[str, int]) -> tuple[float, float]:
    tp, fp, fn = counts["tp"], counts.get("fp", 0), counts.get("fn", 0)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, default=FIXTURES / "items.jsonl")
    parser.add_argument("--works", type=Path, default=FIXTURES / "works.jsonl")
    parser.add_argument("--scale", type=int, default=0, help="time group() on this many copies of the set")
    parser.add_argument("--verbose", action="store_true", help="list every wrong pair of the tuning part, and every study")
    args = parser.parse_args(argv)
    items = load(args.items)
    works = {row["key"]: row for row in load(args.works)}
    started = time.perf_counter()
    result = evaluate(items, works)
    elapsed = time.perf_counter() - started
    labelled = {i.get("study") for i in items if i.get("study")}
    print(f"{len(items)} items, {len(labelled)} labelled studies, {len(works)} works; "
          f"{len(result['studies'])} studies found in {elapsed * 1000:.1f} ms")
    held = sum(held_out(i["id"]) for i in items)
    print(f"held-out part: {held} items (sha1(id) % {HOLDOUT_BUCKETS} == 0); pairs touching one are 'held_out'")
    for name, counts in result["parts"].items():
        p, r = _pr(counts)
        print(f"  {name:9s} pairs tp={counts['tp']:3d} fp={counts['fp']:2d} fn={counts['fn']:2d}  "
              f"precision={p:.3f} recall={r:.3f}")
    print("per link method (pairs with an item linked that way):")
    for code, counts in result["per_link"].items():
        p, _ = _pr({**counts, "fn": 0})
        print(f"  {code:20s} tp={counts['tp']:3d} fp={counts['fp']:2d}  precision={p:.3f}")
    if args.scale > 0:
        copies = []
        for k in range(args.scale):
            for i in items:
                day = datetime.fromisoformat(i["published"].replace("Z", "+00:00")) + timedelta(days=400 * k)
                copies.append({**i, "id": f"{i['id']}-{k}", "published": day.strftime("%Y-%m-%dT%H:%M:%SZ")})
        started = time.perf_counter()
        found = group(copies, works)
        print(f"scale: {len(copies)} items grouped into {len(found)} studies in {time.perf_counter() - started:.2f} s")
    if args.verbose:
        for line in result["mistakes"]:
            print("  " + line)
        for study in result["studies"]:
            print(f"{study.id} {study.title!r} paper={study.paper_key} trial={study.trial_key} worst_gap={study.worst_gap}")
            for t in study.tellings:
                print(f"    {t.item_id} {t.role:9s} {t.link:20s} {t.gap or '-':12s} {t.link_reason} | {t.gap_reason or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
