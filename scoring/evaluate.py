"""Evaluate the scorer against labelled JSON lines (title, text, url?, source_kind? and a gold label per dimension): metrics per dimension and a text report."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from .model import COMMERCIAL_LEVELS, EVIDENCE_STAGES, HYPE_LEVELS, PUBLISHERS
from .scorer import SCORING_VERSION, Scorer, score_item

__all__ = [
    "load_records",
    "classification_metrics",
    "set_metrics",
    "evaluate",
    "evaluate_records",
    "evaluate_file",
    "format_report",
    "SOURCE_KIND_TO_PUBLISHER",
]

#: Eval records carry `source_kind`; these map onto sources.toml publisher kinds.
SOURCE_KIND_TO_PUBLISHER = {
    "journal": "journal",
    "preprint": "preprint",
    "news": "news",
    "blog": "blog",
    "review": "blog",
    "forum": "forum",
    "clinic": "clinic",
    "shop": "company",
    "company": "company",
    "press_release": "press",
    "press": "press",
    "registry": "registry",
}

LABEL_DIMENSIONS = {
    "relevant": ("false", "true"),
    "evidence_stage": EVIDENCE_STAGES,
    "commercial_interest": COMMERCIAL_LEVELS,
    "hype": HYPE_LEVELS,
}


def load_records(path: str | Path) -> list[dict]:
    """Read a labelled JSONL file; ValueError names the line that is wrong."""
    records: list[dict] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: invalid JSON ({exc.msg}); fix or remove the line") from exc
            if not isinstance(rec, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object")
            records.append(rec)
    return records


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1 (over labels present in gold or pred), per-class P/R/F1/support, confusion."""
    labels = list(labels) + sorted({*gold, *pred} - set(labels))
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, pred):
        confusion[g][p] += 1
    per_class: dict[str, dict] = {}
    f1s = []
    for lab in labels:
        tp = confusion[lab][lab]
        support = sum(confusion[lab].values())
        predicted = sum(confusion[g][lab] for g in labels)
        precision = _ratio(tp, predicted)
        recall = _ratio(tp, support)
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[lab] = {"precision": precision, "recall": recall, "f1": f1, "support": support, "predicted": predicted}
        if support or predicted:
            f1s.append(f1)
    correct = sum(1 for g, p in zip(gold, pred) if g == p)
    return {
        "n": len(gold),
        "accuracy": _ratio(correct, len(gold)),
        "macro_f1": _ratio(sum(f1s), len(f1s)),
        "labels": labels,
        "per_class": per_class,
        "confusion": confusion,
    }


def set_metrics(gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]]) -> dict:
    """Treatments: exact-match rate, micro P/R/F1 over all names, mean per-item F1 (empty vs empty = 1)."""
    tp = fp = fn = exact = 0
    item_f1 = []
    for g, p in zip(gold, pred):
        g, p = set(g), set(p)
        t = len(g & p)
        tp += t
        fp += len(p - g)
        fn += len(g - p)
        exact += g == p
        if not g and not p:
            item_f1.append(1.0)
        else:
            item_f1.append(_ratio(2 * t, len(g) + len(p)))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "n": len(gold),
        "exact_match": _ratio(exact, len(gold)),
        "micro_precision": precision,
        "micro_recall": recall,
        "micro_f1": _ratio(2 * precision * recall, precision + recall),
        "mean_f1": _ratio(sum(item_f1), len(item_f1)),
    }


def _gold_label(rec: dict, dim: str) -> str:
    v = rec.get(dim)
    if dim == "relevant":
        return "true" if v else "false"
    return str(v)


def evaluate_records(records: Sequence[dict], *, use_publisher: bool = False, scorer: Scorer | None = None,
                     use_url: bool = True) -> dict:
    """Score each record from its title and text (plus its address unless not use_url, and
    its source kind as publisher when use_publisher) and compare with its labels. Returns a
    JSON-serialisable report."""
    score = scorer.score if scorer is not None else score_item
    preds = []
    for rec in records:
        item = {"title": rec.get("title") or "", "text": rec.get("text") or ""}
        if use_url:
            item["url"] = rec.get("url")
        if use_publisher:
            pub = SOURCE_KIND_TO_PUBLISHER.get(str(rec.get("source_kind") or rec.get("publisher") or ""))
            if pub in PUBLISHERS:
                item["publisher"] = pub
        preds.append(score(item))
    dims: dict[str, dict] = {}
    mismatches: list[dict] = []
    for dim, labels in LABEL_DIMENSIONS.items():
        gold = [_gold_label(r, dim) for r in records]
        pred = [("true" if s.relevant else "false") if dim == "relevant" else getattr(s, dim) for s in preds]
        m = classification_metrics(gold, pred, labels)
        if dim == "relevant":
            m["f1_relevant"] = m["per_class"]["true"]["f1"]
        if dim == "evidence_stage":
            rank = {s: i for i, s in enumerate(EVIDENCE_STAGES)}
            near = sum(1 for g, p in zip(gold, pred) if g in rank and p in rank and abs(rank[g] - rank[p]) <= 1)
            m["within_one"] = _ratio(near, len(gold))
        dims[dim] = m
        for rec, g, p in zip(records, gold, pred):
            if g != p:
                mismatches.append({"id": rec.get("id"), "dimension": dim, "gold": g, "pred": p})
    dims["treatments"] = set_metrics([r.get("treatments") or [] for r in records], [s.treatments for s in preds])
    return {
        "n": len(records),
        "scoring_version": preds[0].scoring_version if preds else SCORING_VERSION,
        "use_publisher": use_publisher,
        "dimensions": dims,
        "mismatches": mismatches,
    }


evaluate = evaluate_records


def evaluate_file(path: str | Path, use_publisher: bool = False) -> dict:
    """Evaluate a labelled JSON-lines file; see evaluate_records."""
    report = evaluate_records(load_records(path), use_publisher=use_publisher)
    report["file"] = str(path)
    return report


def _pct(x: float) -> str:
    return f"{x:.3f}"


def format_report(report: dict, *, show_mismatches: bool = False) -> str:
    """Render an evaluate_* report as plain text: summary, then per dimension P/R/F1 and confusion."""
    dims = report["dimensions"]
    lines = [
        f"hypewatch eval: {report.get('file', '')} n={report['n']} scoring_version={report['scoring_version']}"
        f" publisher_hint={'yes' if report.get('use_publisher') else 'no'}",
        "",
        "summary",
    ]
    for dim in LABEL_DIMENSIONS:
        m = dims[dim]
        extra = ""
        if dim == "relevant":
            extra = f"  f1(relevant)={_pct(m['f1_relevant'])}"
        if dim == "evidence_stage":
            extra = f"  within-one-stage={_pct(m['within_one'])}"
        lines.append(f"  {dim:<20} accuracy={_pct(m['accuracy'])}  macro-F1={_pct(m['macro_f1'])}{extra}")
    t = dims["treatments"]
    lines.append(
        f"  {'treatments':<20} exact={_pct(t['exact_match'])}  micro-F1={_pct(t['micro_f1'])}"
        f"  (P={_pct(t['micro_precision'])} R={_pct(t['micro_recall'])})  mean-item-F1={_pct(t['mean_f1'])}"
    )
    for dim in LABEL_DIMENSIONS:
        m = dims[dim]
        labels = [lab for lab in m["labels"] if m["per_class"][lab]["support"] or m["per_class"][lab]["predicted"]]
        width = max(10, *(len(x) for x in labels)) + 1
        lines += ["", f"{dim}", f"  {'class':<{width}} {'prec':>6} {'recall':>6} {'f1':>6} {'support':>7}"]
        for lab in labels:
            pc = m["per_class"][lab]
            lines.append(
                f"  {lab:<{width}} {_pct(pc['precision']):>6} {_pct(pc['recall']):>6} {_pct(pc['f1']):>6} {pc['support']:>7}"
            )
        lines.append(f"  confusion (rows gold, columns predicted)")
        short = [lab[:8] for lab in labels]
        lines.append(f"  {'':<{width}} " + " ".join(f"{s:>8}" for s in short))
        for g in labels:
            lines.append(f"  {g:<{width}} " + " ".join(f"{m['confusion'][g][p]:>8}" for p in labels))
    if show_mismatches and report.get("mismatches"):
        lines += ["", "mismatches (id dimension gold -> predicted)"]
        for mm in report["mismatches"]:
            lines.append(f"  {mm['id']} {mm['dimension']}: {mm['gold']} -> {mm['pred']}")
    return "\n".join(lines) + "\n"
