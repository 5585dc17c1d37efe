"""The evaluation report, and floors on the dev set and on our own labelled items."""

from __future__ import annotations

import json

import pytest

import scoring
from scoring import evaluate_file, format_report
from scoringcases import FIXTURES, DEV

def test_evaluate_fixture_file():
    report = evaluate_file(FIXTURES / "labelled.jsonl")
    dims = report["dimensions"]
    assert report["n"] == 4
    assert set(dims) == {"relevant", "evidence_stage", "commercial_interest", "hype", "treatments"}
    ev = dims["evidence_stage"]
    assert 0.0 <= ev["accuracy"] <= ev["within_one"] <= 1.0
    assert sum(sum(row.values()) for row in ev["confusion"].values()) == 4
    for dim in ("relevant", "evidence_stage", "commercial_interest", "hype"):
        m = dims[dim]
        assert set(m) >= {"accuracy", "macro_f1", "per_class", "confusion"}
        for pc in m["per_class"].values():
            assert set(pc) >= {"precision", "recall", "f1", "support"}
    assert dims["relevant"]["accuracy"] == 1.0
    assert dims["evidence_stage"]["accuracy"] == 1.0
    assert dims["treatments"]["exact_match"] == 1.0
    text = format_report(report)
    for word in ("evidence_stage", "within-one-stage", "macro-F1", "confusion", "human_rct", "treatments"):
        assert word in text
    json.dumps(report)


def test_evaluate_with_publisher_hint():
    report = evaluate_file(FIXTURES / "labelled.jsonl", use_publisher=True)
    assert report["use_publisher"] is True
    assert report["dimensions"]["commercial_interest"]["per_class"]["direct"]["recall"] == 1.0


def test_classification_metrics_by_hand():
    from scoring.evaluate import classification_metrics, set_metrics

    m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert m["accuracy"] == 0.75
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2, "predicted": 1}
    assert m["confusion"]["a"]["b"] == 1
    t = set_metrics([["x"], [], ["x", "y"]], [["x"], [], ["x"]])
    assert t["exact_match"] == pytest.approx(2 / 3)
    assert t["micro_precision"] == 1.0 and t["micro_recall"] == pytest.approx(2 / 3)


@pytest.mark.skipif(not DEV.exists(), reason="shared dev set not present (it is not part of the repository)")
def test_dev_set_floor():
    report = evaluate_file(DEV)
    d = report["dimensions"]
    assert d["evidence_stage"]["accuracy"] >= 0.78
    assert d["evidence_stage"]["within_one"] >= 0.85
    assert d["commercial_interest"]["accuracy"] >= 0.72
    assert d["hype"]["accuracy"] >= 0.72
    assert d["relevant"]["f1_relevant"] >= 0.95


def test_holdout_sets_stay_above_their_floors():
    """162 items we wrote and labelled ourselves (tests/fixtures/scoring/holdout*.jsonl), text alone.

    These items are part of the data the weights are fitted on (scoring/fit.py), so they are no
    longer blind: this guards against a refit or a rule change that stops learning them. The
    figures measured blind live in bench/judge.py's report.
    """
    from scoring.evaluate import evaluate_records, load_records

    records = []
    for name in ("holdout", "holdout2", "holdout3"):
        records += load_records(FIXTURES / f"{name}.jsonl")
    assert len(records) == 162
    dims = evaluate_records(records)["dimensions"]
    assert dims["relevant"]["f1_relevant"] >= 0.95
    assert dims["evidence_stage"]["accuracy"] >= 0.93
    assert dims["evidence_stage"]["within_one"] >= 0.95
    assert dims["commercial_interest"]["accuracy"] >= 0.88
    assert dims["hype"]["accuracy"] >= 0.78
    assert dims["treatments"]["micro_f1"] >= 0.79
