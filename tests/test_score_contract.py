"""The Score and score-jsonl contracts: shape, reasons, determinism, bad lines."""

from __future__ import annotations

import json

import pytest

import scoring
from scoring import COMMERCIAL_LEVELS, EVIDENCE_STAGES, HYPE_LEVELS, SCORING_VERSION, Reason, Score, evaluate_file, format_report, score_item, score_lines
from scoringcases import _score

def test_score_to_dict_shape():
    s = _score("Gel regrows hair in bald mice", "Researchers found the gel regrew hair in mice within three weeks.")
    d = s.to_dict()
    assert list(d) == [
        "relevant", "evidence_stage", "commercial_interest", "claim_strength", "hype", "hype_score", "treatments",
        "reasons", "scoring_version",
    ]
    assert d["evidence_stage"] in EVIDENCE_STAGES
    assert d["commercial_interest"] in COMMERCIAL_LEVELS
    assert d["hype"] in HYPE_LEVELS
    assert isinstance(d["hype_score"], int)
    assert d["scoring_version"] == SCORING_VERSION
    assert d["reasons"], "every score carries reasons"
    for r in d["reasons"]:
        assert set(r) == {"dimension", "label", "cue", "snippet", "weight"}
        assert len(r["snippet"]) <= 201
    json.dumps(d)


@pytest.mark.parametrize(
    "title,text",
    [("Weather today", "It will rain tomorrow."), ("Gel regrows hair in bald mice", "A cure, researchers say.")],
)
def test_every_label_has_a_reason(title, text):
    s = _score(title, text)
    dims = {r.dimension for r in s.reasons}
    assert {"relevant", "evidence_stage", "commercial_interest", "hype"} <= dims
    for r in s.reasons:
        if r.dimension == "evidence_stage" and r.weight >= 0:
            assert r.label in (s.evidence_stage, "none")


def test_snippet_is_the_sentence_with_the_cue():
    s = _score("Hair study", "Background sentence about hair. The compound regrew hair in mice within three weeks. Another sentence.")
    r = next(r for r in s.reasons if r.dimension == "evidence_stage")
    assert r.snippet == "The compound regrew hair in mice within three weeks."


def test_long_snippet_is_trimmed():
    long = "The compound regrew hair in mice " + "and did many other things " * 20 + "in the end."
    s = _score("Hair study", long)
    r = next(r for r in s.reasons if r.dimension == "evidence_stage")
    assert len(r.snippet) <= 200 and r.snippet.endswith("…")


def test_public_api():
    for name in ["SCORING_VERSION", "Score", "Reason", "score_item", "score_lines", "evaluate_file", "format_report"]:
        assert name in scoring.__all__
    assert isinstance(Reason("hype", "low", "x", "y", 1.0).to_dict(), dict)


def test_deterministic():
    item = {"title": "Breakthrough: bald mice regrow hair", "text": "A cure could be years away, researchers said."}
    assert score_item(item).to_dict() == score_item(dict(item)).to_dict()


def test_text_only_title_only_and_odd_inputs():
    assert _score("", "Minoxidil helps many men with pattern hair loss.").relevant
    assert _score("Minoxidil helps men with pattern hair loss").relevant
    s = score_item({"title": "x", "text": "", "publisher": "not-a-kind"})
    assert s.evidence_stage == "none"


# --- score-jsonl contract ---------------------------------------------------------------------


def test_score_lines_order_and_shape():
    items = [
        {"id": "a", "title": "Gel regrows hair in mice", "text": "In mice, hair grew back."},
        {"id": 2, "title": "Finasteride results", "text": "A randomized placebo-controlled trial in men.", "publisher": "journal"},
        {"id": "c", "title": "", "text": "We offer PRP for hair loss. Book a consultation.", "url": "https://example.org/x"},
    ]
    out = [json.loads(line) for line in score_lines(json.dumps(i) for i in items)]
    assert [o["id"] for o in out] == ["a", 2, "c"]
    for o in out:
        assert set(o) == {
            "id", "relevant", "evidence_stage", "commercial_interest", "claim_strength", "hype", "hype_score", "treatments", "reasons", "scoring_version",
        }
    assert out[0]["evidence_stage"] == "animal"
    assert out[2]["commercial_interest"] == "direct"


@pytest.mark.parametrize(
    "line,expect_id,fragment",
    [
        ("{not json", None, "invalid JSON"),
        ("[1, 2]", None, "JSON object"),
        ('{"id": "x"}', "x", "missing title and text"),
        ('{"id": "y", "title": "  ", "text": ""}', "y", "missing title and text"),
        ('{"id": "z", "title": 5, "text": "hair"}', "z", "title must be a string"),
        ("", None, "empty line"),
    ],
)
def test_score_lines_bad_line_gets_error_and_run_goes_on(line, expect_id, fragment):
    good = json.dumps({"id": "ok", "title": "Minoxidil for hair loss", "text": "It helps."})
    out = list(score_lines([good, line, good]))
    assert len(out) == 3
    err = json.loads(out[1])
    assert set(err) == {"id", "error"}
    assert err["id"] == expect_id
    assert fragment in err["error"]
    assert json.loads(out[0])["id"] == json.loads(out[2])["id"] == "ok"


def test_score_lines_accepts_bytes_and_newlines():
    line = (json.dumps({"id": "b", "title": "Hair loss", "text": "Alopecia."}) + "\n").encode()
    (out,) = list(score_lines([line]))
    assert json.loads(out)["id"] == "b"
    assert "\n" not in out
