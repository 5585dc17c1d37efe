"""Lexicons as data: SCORING_VERSION, custom lexicons, the matcher's word boundaries, overlaps and caps."""

from __future__ import annotations

import shutil

import pytest

import scoring
from scoring import SCORING_VERSION
from scoring.lexicon import LEXICON_DIR, compute_version, load_lexicons
from scoring.scorer import Scorer

def test_scoring_version_changes_with_lexicon(tmp_path):
    copy = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, copy)
    assert compute_version(copy) == SCORING_VERSION
    path = copy / "hype.toml"
    path.write_text(path.read_text() + "\n# a changed comment is a changed lexicon\n")
    changed = compute_version(copy)
    assert changed != SCORING_VERSION
    assert changed.split("+")[0] == SCORING_VERSION.split("+")[0]
    assert compute_version(LEXICON_DIR, rules_version="9.9") != SCORING_VERSION


def test_scorer_from_custom_lexicons(tmp_path):
    copy = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, copy)
    path = copy / "treatments.toml"
    path.write_text(path.read_text() + "\n[treatment.\"scalp massage\"]\nsynonyms = ['head massage']\n")
    scorer = Scorer(load_lexicons(copy))
    s = scorer.score({"title": "Head massage for hair loss", "text": "Daily head massage and minoxidil for thinning hair."})
    assert "scalp massage" in s.treatments
    assert s.scoring_version != SCORING_VERSION


def test_matcher_word_boundaries():
    from scoring.lexicon import Cue, Matcher

    m = Matcher()
    for i, pattern in enumerate(["mice", "in mice", "dateline:", "100%", "randomi[sz]\\w*", "(?:a |the )?dish", "\\d+-year-old"]):
        m.add(Cue(f"t.{i}", pattern, 1.0))
    m.compile()
    found = [h.text for h in m.find("micellar mice; in mice. dateline: x. 100% sure. randomised dish 45-year-old")]
    assert found == ["mice", "in mice", "mice", "dateline:", "100%", "randomised", "dish", "45-year-old"]


def test_matcher_overlaps_collapse_within_a_group():
    from scoring.lexicon import Cue, Matcher

    m = Matcher()
    m.add(Cue("t.a", "mice", 2.5))
    m.add(Cue("t.a", "in mice", 3.0))
    m.add(Cue("t.b", "mice", 1.0))
    m.compile()
    hits = m.find("it worked in mice.")
    assert sorted((h.cue.category, h.text) for h in hits) == [("t.a", "in mice"), ("t.b", "mice")]


def test_capped_cue_counts_matches_not_attempts():
    from scoring.lexicon import Cue, Matcher

    m = Matcher()
    m.add(Cue("t.a", r"more (?:\w+ )?research (?:is|are) needed", 3.0, cap=1))
    m.compile()
    hits = m.find("more money is needed. more research is needed. more research is needed.")
    assert [h.text for h in hits] == ["more research is needed"]  # the failed try did not use up the cap


def test_number_inside_a_cue_keeps_its_meaning():
    from scoring.lexicon import Cue, Matcher

    m = Matcher()
    m.add(Cue("t.a", r"week \d+ of", 1.0))
    m.compile()
    assert [h.text for h in m.find("week 123 of treatment, week 7 of rest")] == ["week 123 of", "week 7 of"]


def test_no_cue_starts_with_a_bare_common_word():
    """A cue whose literal start is just 'the ' would be tried at every 'the': keep lexicons fast."""
    matcher = load_lexicons().matcher
    common = {"the ", "a ", "an ", "and ", "of ", "to ", "in ", "is ", "are ", "was ", "for ", "on ", "with ", "it ", "that ", "this "}
    assert not common & set(matcher._by_prefix)


def test_bad_lexicon_entry_is_reported(tmp_path):
    copy = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, copy)
    (copy / "extra.toml").write_text("[x]\ncues = [['(capturing) group', 1.0]]\n")
    with pytest.raises(ValueError, match="capturing"):
        load_lexicons(copy)
