"""The fitted weights: the linear and ordinal runtime, reasons with contributions, a refit end to end, the regex cache."""

from __future__ import annotations

import json

import pytest

from scoring import score_item
from scoring.linear import LinearModel, load_models
from scoringcases import FIXTURES


def test_linear_model_prediction_and_contributions():
    m = LinearModel.from_dict({"classes": ["a", "b"], "weights": {"x": [0.0, 2.0], "y": [1.0, 0.0]}, "intercept": [0.0, 0.0]})
    p = m.predict({"x": 1.0, "y": 0.5})
    assert p.label == "b"
    assert p.probabilities["b"] > p.probabilities["a"]
    assert p.contributions["x"] == pytest.approx(2.0)
    assert p.contributions["y"] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="refit"):
        LinearModel.from_dict({"classes": ["a", "b"], "weights": {"x": [1.0]}, "intercept": [0, 0]})


def test_shipped_weights_cover_every_fitted_dimension():
    models = load_models()
    assert set(models) == {"evidence_stage", "commercial_interest", "hype"}
    assert models["evidence_stage"].classes[0] == "none"


def test_fitted_reasons_name_cues_with_their_contributions():
    s = score_item({"title": "Topical gel regrows hair in bald mice",
                    "text": "Researchers applied the gel to shaved mice for three weeks."})
    ev = [r for r in s.reasons if r.dimension == "evidence_stage"]
    assert ev and ev[0].label == "animal" and ev[0].weight > 0
    assert any("mice" in r.cue for r in ev)


def test_refit_on_written_data_writes_loadable_weights(tmp_path):
    pytest.importorskip("sklearn")
    from scoring.fit import fit

    shared = tmp_path / "shared"
    (shared / "eval").mkdir(parents=True)
    # our own labelled fixtures stand in for the dev sets
    records = []
    for name in ("holdout", "holdout2", "holdout3"):
        records += [json.loads(l) for l in (FIXTURES / f"{name}.jsonl").read_text().splitlines() if l.strip()]
    (shared / "eval" / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = tmp_path / "weights.json"
    data = fit(shared, out, log=lambda *a: None, c_grid=(0.3,), repeats=1)
    assert out.exists()
    models = load_models(out)
    assert set(models) == {"evidence_stage", "commercial_interest", "hype"}
    cv = data["report"]["cv"]["evidence_stage"]["dev"]
    assert 0.5 <= cv["accuracy"] <= 1.0
    assert data["report"]["held_out"]["dev"] > 0


def test_regex_cache_round_trip_and_fallbacks(tmp_path, monkeypatch):
    import re

    from scoring.regex_cache import RegexCache

    monkeypatch.setenv("HYPEWATCH_CACHE_DIR", str(tmp_path))
    patterns = [r"in (?:mice|rats)\b", r"phase (?:1|2|3)\w* (?:\w+ ){0,3}results", r"(?=(ab|a))"]
    first = RegexCache("test-version")
    compiled = [first.compile(p) for p in patterns]
    first.save()
    assert first.path.exists()
    second = RegexCache("test-version")
    assert set(second.entries) == set(patterns)  # read back from disk, not compiled again
    texts = ["grew hair in mice", "phase 2b topline results", "abc", "in ratsx"]
    for p, c in zip(patterns, compiled):
        again = second.compile(p)
        assert not second.dirty
        for t in texts:
            assert [m.span() for m in again.finditer(t)] == [m.span() for m in re.finditer(p, t)] == [m.span() for m in c.finditer(t)]
    # a newer version replaces the older file; a damaged file is ignored, never fatal
    newer = RegexCache("test-version-2")
    newer.compile(patterns[0])
    newer.save()
    assert not first.path.exists() and newer.path.exists()
    newer.path.write_bytes(b"not marshal data")
    broken = RegexCache("test-version-2")
    assert broken.entries == {}
    assert broken.compile(patterns[0]).search("in mice")
    with pytest.raises(re.error):
        broken.compile("unbalanced (")


def test_regex_cache_can_be_switched_off(tmp_path, monkeypatch):
    from scoring.regex_cache import RegexCache

    monkeypatch.setenv("HYPEWATCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HYPEWATCH_REGEX_CACHE", "0")
    cache = RegexCache("v")
    assert cache.compile("a+").match("aa")
    cache.save()
    assert not list(tmp_path.iterdir())
