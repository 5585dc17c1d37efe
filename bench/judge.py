"""One evaluation report for the scorer: every labelled set that is present, text only.

    .venv/bin/python bench/judge.py [--shared ../shared] [--json]

For the hand-labelled sets (JSON lines with a gold label per dimension), scored from title and text alone (no address,
no publisher: as an item from a broad feed arrives; --with-url adds the address): accuracy,
within-one, macro-F1, per-class precision and recall and confusion per dimension, on relevant
items, for the whole set, its consumer pages, and the fixed held-out fifth that fitting never sees. For the study-design
abstracts: evidence stage under the mapping in their README (and trial protocols alone). For the
claim-strength sentences: macro-F1, confusion and the AUC of direct causal over correlational.
Then the cross-validated figures the fit recorded in scoring/weights.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import Scorer  # noqa: E402
from scoring.claims import assess_claims  # noqa: E402
from scoring.evaluate import classification_metrics, evaluate_records, format_report, load_records  # noqa: E402
from scoring.fit import is_held_out  # noqa: E402
from scoring.linear import WEIGHTS_PATH  # noqa: E402
from scoring.model import CLAIM_STRENGTHS, EVIDENCE_STAGES  # noqa: E402
from scoring.text import build_doc  # noqa: E402

CONSUMER = {"clinic", "shop", "blog", "forum", "review", "other", "company"}


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a positive outranks a negative (ties count half)."""
    if not pos or not neg:
        return float("nan")
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def summary_line(name: str, report: dict) -> str:
    d = report["dimensions"]
    return (f"{name:<34} n={report['n']:<5} evidence {d['evidence_stage']['accuracy']:.3f} "
            f"within-one {d['evidence_stage']['within_one']:.3f} commercial {d['commercial_interest']['accuracy']:.3f} "
            f"hype {d['hype']['accuracy']:.3f} relevance-F1 {d['relevant']['f1_relevant']:.3f}")


def judge_labelled(shared: Path, scorer: Scorer, out: list[str], full: dict, use_url: bool = False) -> None:
    for name in ("dev", "dev2"):
        path = shared / "eval" / f"{name}.jsonl"
        if not path.exists():
            continue
        records = load_records(path)
        rel_report = evaluate_records(records, scorer=scorer, use_url=use_url)  # relevance over every item
        relevant = [r for r in records if r.get("relevant")]
        parts = {
            f"{name} (relevant)": relevant,
            f"{name} consumer pages": [r for r in relevant if r.get("source_kind") in CONSUMER],
            f"{name} held-out fifth": [r for r in relevant if is_held_out(r.get("id"))],
        }
        for label, recs in parts.items():
            if not recs:
                continue
            report = evaluate_records(recs, scorer=scorer, use_url=use_url)
            report["dimensions"]["relevant"] = rel_report["dimensions"]["relevant"]
            out.append(summary_line(label, report))
            full[label] = report
        out.append("")
        out.append(format_report({**full[f"{name} (relevant)"], "file": f"{path} (relevant items)"}))


def judge_study_design(shared: Path, scorer: Scorer, out: list[str], full: dict) -> None:
    path = shared / "external" / "study-design" / "studytypeteller.dev.jsonl"
    if not path.exists():
        return
    recs = [r for r in load_records(path) if r.get("evidence_stage")]
    preds = [scorer.score({"title": r.get("title") or "", "text": r.get("text") or ""}).evidence_stage for r in recs]
    rank = {s: i for i, s in enumerate(EVIDENCE_STAGES)}
    for label, idx in (
        ("study design (all mapped)", range(len(recs))),
        ("study design, held-out fifth", [i for i, r in enumerate(recs) if is_held_out(r.get("id"))]),
        ("study design, trial protocols", [i for i, r in enumerate(recs) if r.get("study_type") == "Clinical-study-protocol"]),
    ):
        idx = list(idx)
        gold = [recs[i]["evidence_stage"] for i in idx]
        pred = [preds[i] for i in idx]
        m = classification_metrics(gold, pred, EVIDENCE_STAGES)
        within = sum(abs(rank[g] - rank[p]) <= 1 for g, p in zip(gold, pred)) / len(gold)
        out.append(f"{label:<34} n={len(idx):<5} accuracy {m['accuracy']:.3f} macro-F1 {m['macro_f1']:.3f} within-one {within:.3f}")
        full[label] = m
    m = full["study design (all mapped)"]
    out.append("  per class (precision / recall / support):")
    for lab in EVIDENCE_STAGES:
        pc = m["per_class"][lab]
        out.append(f"    {lab:<20} {pc['precision']:.3f} / {pc['recall']:.3f} / {pc['support']}")
    out.append("  confusion (rows gold, columns predicted): " + " ".join(s[:8] for s in EVIDENCE_STAGES))
    for g in EVIDENCE_STAGES:
        out.append(f"    {g:<20} " + " ".join(f"{m['confusion'][g][p]:>8}" for p in EVIDENCE_STAGES))


def judge_claims(shared: Path, scorer: Scorer, out: list[str], full: dict) -> None:
    base = shared / "external" / "claim-strength"
    sets = []
    if (base / "yu2019-pubmed.jsonl").exists():
        sets.append(("claims: Yu 2019 abstract conclusions", [
            (r["text"], r["claim_strength"]) for r in load_records(base / "yu2019-pubmed.jsonl")]))
    if (base / "insciout.train.jsonl").exists():
        recs = load_records(base / "insciout.train.jsonl")
        for side in ("press_release", "abstract"):
            sets.append((f"claims: InSciOut {side.replace('_', ' ')}s", [
                (r["text"], CLAIM_STRENGTHS[r["strength"]]) for r in recs if r["side"] == side]))
    matcher = scorer.lexicons.matcher
    for label, pairs in sets:
        results = [assess_claims(build_doc("", text, matcher)) for text, _ in pairs]
        gold = [g for _, g in pairs]
        pred = [c.label for c in results]
        m = classification_metrics(gold, pred, CLAIM_STRENGTHS)
        direct = [c.score for c, g in zip(results, gold) if g == "direct_causal"]
        corr = [c.score for c, g in zip(results, gold) if g == "correlational"]
        m["auc_direct_vs_correlational"] = auc(direct, corr)
        out.append(f"{label:<34} n={len(pairs):<5} accuracy {m['accuracy']:.3f} macro-F1 {m['macro_f1']:.3f} "
                   f"AUC(direct>correlational) {m['auc_direct_vs_correlational']:.3f}")
        out.append("    confusion: " + "; ".join(
            f"{g}: " + " ".join(str(m['confusion'][g][p]) for p in CLAIM_STRENGTHS) for g in CLAIM_STRENGTHS))
        full[label] = m


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--with-url", action="store_true", help="give the scorer each labelled item's address too")
    args = parser.parse_args()
    scorer = Scorer()
    out: list[str] = [f"scoring_version {scorer.version}", ""]
    full: dict = {}
    out.append("hand-labelled sets, " + ("title, text and address" if args.with_url else "title and text only"))
    judge_labelled(args.shared, scorer, out, full, use_url=args.with_url)
    out.append("")
    judge_study_design(args.shared, scorer, out, full)
    out.append("")
    judge_claims(args.shared, scorer, out, full)
    if WEIGHTS_PATH.exists():
        report = json.loads(WEIGHTS_PATH.read_text())["report"]
        out += ["", "fitted models (scoring/weights.json): C, cross-validated and held-out accuracy, relevant items"]
        for dim, cv in report["cv"].items():
            out.append(f"  {dim:<20} C={report['C'][dim]}")
            for s, fig in cv.items():
                ho = report["held_out_accuracy"].get(dim, {}).get(s, {})
                out.append(f"    {s:<16} cv {fig['accuracy']:.3f} (n={fig['n']})"
                           + (f" within-one {fig['within_one']:.3f}" if "within_one" in fig else "")
                           + (f" | held-out {ho['accuracy']:.3f} (n={ho['n']})" if ho else ""))
    if args.json:
        print(json.dumps(full, indent=1, default=str))
    else:
        print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
