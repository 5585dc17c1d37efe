"""Helpers shared by the scorer's test files: score a written sentence, read its reasons."""

from __future__ import annotations

from pathlib import Path

from scoring import Score, score_item

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
NEUTRAL_TEXT = "Finasteride lowers DHT and can slow hair loss in men; it takes months to show an effect."
DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


def _score(title: str, text: str = "", **extra) -> Score:
    return score_item({"title": title, "text": text, **extra})


def _cues(score: Score, dimension: str) -> list[str]:
    return [r.cue for r in score.reasons if r.dimension == dimension]


def _assert_cue(score: Score, dimension: str, cue: str) -> None:
    cues = _cues(score, dimension)
    assert any(cue in c for c in cues), f"{cue!r} not among {dimension} reasons {cues}"
