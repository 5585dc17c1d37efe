"""The one label vocabulary: every code the scorer can output has a name, a colour and a meaning."""

from __future__ import annotations

import re

import pytest

from scoring import labels
from scoring.model import CLAIM_STRENGTHS, COMMERCIAL_LEVELS, EVIDENCE_STAGES, HYPE_LEVELS, PUBLISHERS

HEX = re.compile(r"^#[0-9a-f]{6}$")


def test_scorer_orders_are_the_vocabulary():
    assert EVIDENCE_STAGES == ("none", "in_vitro", "animal", "human_anecdote", "human_uncontrolled", "human_rct",
                               "meta_analysis")
    assert COMMERCIAL_LEVELS == ("none", "indirect", "direct")
    assert HYPE_LEVELS == ("low", "medium", "high")
    assert CLAIM_STRENGTHS == ("no_claim", "correlational", "conditional_causal", "direct_causal")
    assert "clinic" in PUBLISHERS and "registry" in PUBLISHERS


@pytest.mark.parametrize("dim", ["relevant", "evidence_stage", "commercial_interest", "claim_strength", "hype"])
def test_every_code_has_words_and_a_colour(dim):
    d = labels.dimension(dim)
    assert d.labels, dim
    names = [label.name for label in d.labels]
    assert len(set(names)) == len(names), f"{dim}: two codes share a display name"
    assert len(set(d.codes)) == len(d.codes)
    for label in d.labels:
        assert label.name and label.short and label.heading and label.meaning, (dim, label.code)
        assert HEX.match(label.colour), (dim, label.code, label.colour)


def test_names_and_unknown_codes():
    assert labels.name("evidence_stage", "human_rct") == "Human RCT"
    assert labels.name("relevant", True) == "Hair loss"
    assert labels.name("hype", "unheard-of") == "unheard-of"
    with pytest.raises(KeyError, match="labels.toml"):
        labels.dimension("nonsense")


def test_a_bad_vocabulary_file_is_reported(tmp_path):
    bad = tmp_path / "labels.toml"
    bad.write_text('[dimension.hype]\nname = "Hype"\nvalues = [{ code = "low" }]\n')
    with pytest.raises(ValueError, match="needs a code and a name"):
        labels._load(bad)


def test_metadata_and_templates_use_only_vocabulary_codes_in_its_order():
    """Datasette's metadata and the templates may spell label codes in SQL and markup; every code
    they spell must be in the vocabulary, and the canned queries' stage ranks follow its order."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    known = {code for dim in labels.vocabulary().values() for code in dim.codes}
    stage_like = re.compile(r"'((?:human|meta|in|no|direct|conditional)_[a-z_]+)'")
    texts = [(root / "deploy" / "datasette" / "metadata.yaml").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (root / "deploy" / "datasette" / "templates").glob("*.html")]
    for text in texts:
        for code in stage_like.findall(text):
            assert code in known, f"{code!r} is not in labels.toml"
    metadata = texts[0]
    for rank, code in enumerate(labels.codes("evidence_stage")):
        assert f"'{code}' then {rank}" in metadata or f"when {rank} then '{code}'" in metadata, (code, rank)
