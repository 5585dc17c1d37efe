"""Structured facts beat words: publication types, registry records, trial sponsors."""

from __future__ import annotations

import pytest

from scoringcases import _score, _assert_cue

DESIGN_TEXT = "Randomized, double-blind, placebo-controlled, parallel assignment. Participants apply the gel or vehicle once daily for 24 weeks."
META_CASES = [
    # (title, text, meta, expected stage, cue that must be among the reasons)
    ("Topical gel in male pattern hair loss", DESIGN_TEXT, {"trial_status": "recruiting", "has_results": False, "allocation": "randomized"}, "none", "registry record without results (status: recruiting)"),
    ("Topical gel in male pattern hair loss", DESIGN_TEXT, {"trial_status": "completed", "has_results": False, "allocation": "randomized"}, "none", "registry record without results (status: completed)"),
    ("Topical gel in male pattern hair loss", DESIGN_TEXT, {"trial_status": "completed", "has_results": True, "allocation": "randomized"}, "human_rct", "registry record with results: randomized"),
    ("Laser cap in women", "Single group assignment; all participants wear the cap.", {"trial_status": "completed", "has_results": True, "allocation": "non_randomized"}, "human_uncontrolled", "registry record with results: non-randomized"),
    ("Laser cap in women", "Single group assignment; all participants wear the cap.", {"trial_status": "completed", "has_results": True}, "human_uncontrolled", "registry record with results"),
    ("Scalp cooling and hair loss", "Women receiving chemotherapy used a cooling cap; hair was preserved more often than without it.", {"publication_types": ["Journal Article", "Randomized Controlled Trial"]}, "human_rct", "publication type: Randomized Controlled Trial"),
    ("PRP for hair loss", "We pooled the results of published studies of platelet-rich plasma.", {"publication_types": ["Journal Article", "Meta-Analysis", "Systematic Review"]}, "meta_analysis", "publication type: Meta-Analysis"),
    ("Oral minoxidil outcomes", "Hair density improved in the patients treated.", {"publication_types": ["Systematic Review"]}, "meta_analysis", "publication type: Systematic Review"),
    ("Regrowth on a JAK inhibitor", "Two patients with alopecia universalis regrew hair in a randomized fashion of dosing.", {"publication_types": ["Case Reports"]}, "human_anecdote", "publication type: Case Reports"),
    ("Microneedling with minoxidil", "Thirty women were treated and hair counts rose.", {"publication_types": ["Clinical Trial"]}, "human_uncontrolled", "publication type: Clinical Trial"),
    ("Topical drug and hair growth", "In a randomized controlled trial hair counts rose versus placebo.", {"publication_types": ["Journal Article", "Retracted Publication"], "retracted": True}, "none", "publication type: Retracted Publication"),
    ("WNT activators regrow hair in mice: a review", "This review summarises studies in mouse models of hair regrowth.", {"publication_types": ["Review", "Systematic Review"]}, "animal", "headline bound to animal"),
]


@pytest.mark.parametrize("title,text,meta,stage,cue", META_CASES, ids=[c[3] + ":" + c[4][:40] for c in META_CASES])
def test_metadata_beats_words(title, text, meta, stage, cue):
    s = _score(title, text, meta=meta)
    assert s.evidence_stage == stage
    _assert_cue(s, "evidence_stage", cue)


def test_clinical_trial_type_is_a_floor_under_the_text():
    rct = "In this randomized, double-blind, placebo-controlled trial, hair counts rose versus placebo."
    s = _score("Topical drug in hair loss", rct, meta={"publication_types": ["Clinical Trial", "Journal Article"]})
    assert s.evidence_stage == "human_rct"
    _assert_cue(s, "evidence_stage", "publication type: Clinical Trial (at least human uncontrolled)")
    _assert_cue(s, "evidence_stage", "randomized")


def test_meta_without_known_fields_leaves_text_in_charge():
    text = "In a randomized, double-blind trial hair counts rose versus placebo at week 24."
    assert _score("Phase 2 results", text, meta={"journal": "X"}).evidence_stage == "human_rct"
    assert _score("Phase 2 results", text, meta="not a dict").evidence_stage == "human_rct"  # type: ignore[arg-type]
    assert _score("Phase 2 results", text, meta={"publication_types": ["Review"]}).evidence_stage == "human_rct"


def test_industry_sponsor_is_at_least_indirect():
    meta = {"trial_status": "recruiting", "has_results": False, "sponsor": "Acme Dermatology Inc.", "sponsor_class": "industry"}
    s = _score("A study of a topical gel in hair loss", DESIGN_TEXT, meta=meta)
    assert s.commercial_interest in ("indirect", "direct")
    _assert_cue(s, "commercial_interest", "trial sponsor: industry")
    other = _score("A study of a topical gel in hair loss", DESIGN_TEXT, meta={**meta, "sponsor_class": "other"})
    assert other.commercial_interest == "none"


def test_industry_sponsor_named_in_registry_text_is_indirect():
    text = "Status: Recruiting. Sponsor: Acme Follicle Therapeutics, Inc. Estimated enrollment: 120. " + DESIGN_TEXT
    s = _score("A study of a topical gel in hair loss", text)
    assert (s.evidence_stage, s.commercial_interest) == ("none", "indirect")
    _assert_cue(s, "commercial_interest", "sponsor: acme follicle therapeutics")


REGISTRY_TEXT_CASES = [
    # Registry records in plain text (no publisher, no metadata): no results posted -> none.
    ("Gel in hair loss", "Status: Recruiting. Estimated enrollment: 240 participants. " + DESIGN_TEXT + " Results: none posted.", "none", "registry record without results"),
    ("Laser cap in women", "Status: Completed. Actual enrollment: 96. Study type: Interventional. " + DESIGN_TEXT + " No results posted.", "none", "registry record without results"),
]


@pytest.mark.parametrize("title,text,stage,cue", REGISTRY_TEXT_CASES, ids=[c[0] for c in REGISTRY_TEXT_CASES])
def test_registry_text_without_results(title, text, stage, cue):
    for publisher in (None, "registry"):
        s = _score(title, text, publisher=publisher)
        assert s.evidence_stage == stage
        _assert_cue(s, "evidence_stage", cue)
