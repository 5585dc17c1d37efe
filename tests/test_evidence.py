"""Evidence stage on sentences we wrote: designs, plans and negations, attribution, context."""

from __future__ import annotations

import pytest

from scoringcases import _score, _assert_cue

EVIDENCE_CASES = [
    # (title, text, expected stage, cue that must be among the reasons)
    ("Gel regrows hair in bald mice", "Researchers applied the gel to the backs of shaved mice for three weeks.", "animal", "mice"),
    ("Compound boosts follicle growth", "The team treated cultured dermal papilla cells with the compound and saw more proliferation in vitro.", "in_vitro", "in vitro"),
    ("Hair follicles grown in a dish", "Scientists grew skin organoids from mouse stem cells that sprouted hair in a petri dish.", "in_vitro", "organoids"),
    ("Topical drug works in rats", "Wistar rats with testosterone-induced alopecia grew more hair than controls.", "animal", "wistar"),
    ("Alopecia universalis treated with a JAK inhibitor: a case report", "We present a case of a 34-year-old woman whose hair regrew after six months.", "human_anecdote", "case report"),
    ("My PRP journey", "I started PRP last year after years of shedding. I have now had five sessions and it has worked for my hairline.", "human_anecdote", "it has worked"),
    ("Oral minoxidil in women: a retrospective study", "We reviewed charts of 150 women treated in daily practice.", "human_uncontrolled", "retrospective"),
    ("Pilot study of microneedling", "Twenty patients were treated in an open-label pilot study and hair density rose from baseline.", "human_uncontrolled", "open-label"),
    ("Phase 3 results for topical antiandrogen", "In two randomized, double-blind trials the drug beat placebo on hair counts at week 24.", "human_rct", "randomized"),
    ("3 months on topical fin", "I've been using topical fin for three months and my hairline seems to be filling in.", "human_anecdote", "i've been"),
    ("Laser cap trial", "Women were randomly assigned to an active device or a sham device; hair counts rose versus placebo-like sham.", "human_rct", "random"),
    ("Low-level laser therapy for pattern hair loss: a systematic review and meta-analysis", "We pooled eleven randomized controlled trials.", "meta_analysis", "meta-analysis"),
    ("Why hair loss happens", "Hair loss has many causes, from genes to stress, and dermatologists can help you find yours.", "none", ""),
]


@pytest.mark.parametrize("title,text,stage,cue", EVIDENCE_CASES, ids=[c[2] + ":" + c[0][:30] for c in EVIDENCE_CASES])
def test_evidence_stage(title, text, stage, cue):
    s = _score(title, text)
    assert s.evidence_stage == stage
    if cue:
        _assert_cue(s, "evidence_stage", cue)


PLANNED_CASES = [
    # planned, enrolling or negated studies are not evidence
    ("Company to start trial", "The company will begin a phase 2 trial of its hair loss drug next year, randomizing 200 patients to drug or placebo.", "will begin"),
    ("Trial recruiting", "A randomized placebo-controlled study of the supplement is recruiting women with thinning hair.", "recruiting"),
    ("Start-up plans study", "The start-up plans to run a double-blind trial of the serum in 2026.", "plans to"),
    ("Drug not yet tested", "The molecule has not yet been tested in humans, the authors cautioned.", "not yet been tested"),
    ("First patients dosed", "The first patients have been dosed in a randomized, placebo-controlled phase 2a trial of the topical drug for alopecia.", "first patients have been dosed"),
]


# A planned trial in a report of a smaller study: the plan is not the result (sentences written here).
PLANNED_NEXT_CASES = [
    ("Small study of microneedling", "Eighteen women used the device in an open-label pilot study and hair counts rose. We now need a randomised trial to know whether it works.", "human_uncontrolled", "open-label"),
    ("Pilot results", "In a single-arm pilot study of 20 men density rose; investigators plan a double-blind trial next year.", "human_uncontrolled", "single-arm"),
]


@pytest.mark.parametrize("title,text,stage,cue", PLANNED_NEXT_CASES, ids=[c[0] for c in PLANNED_NEXT_CASES])
def test_a_trial_that_is_needed_is_not_a_result(title, text, stage, cue):
    s = _score(title, text)
    assert s.evidence_stage == stage
    _assert_cue(s, "evidence_stage", cue)


# First-person experience reports are anecdotes (sentences written here).
ANECDOTE_CASES = [
    ("Month 5 update on dutasteride", "I'm 29 and switched from finasteride in spring. My derm prescribed 0.5mg. Crown is fuller, temples the same. Obviously n=1.", "human_anecdote", "n=1"),
    ("Week 12 on topical minoxidil - progress pics", "Shedding stopped around week 8. In my case the hairline filled in a little. This is just my experience.", "human_anecdote", "week 12 on"),
    ("Eight months on microneedling", "Eight months into weekly microneedling and my barber noticed the difference before I did.", "human_anecdote", "eight months into"),
]


@pytest.mark.parametrize("title,text,stage,cue", ANECDOTE_CASES, ids=[c[0] for c in ANECDOTE_CASES])
def test_first_person_experience_is_an_anecdote(title, text, stage, cue):
    s = _score(title, text)
    assert s.evidence_stage == stage
    _assert_cue(s, "evidence_stage", cue)


@pytest.mark.parametrize("title,text,cue", PLANNED_CASES, ids=[c[0] for c in PLANNED_CASES])
def test_plans_and_negations_are_not_evidence(title, text, cue):
    s = _score(title, text)
    assert s.evidence_stage == "none"
    _assert_cue(s, "evidence_stage", cue)


def test_registry_record_without_results_is_not_evidence():
    text = "A randomized, double-blind, placebo-controlled trial of a topical drug in men with androgenetic alopecia. Enrollment: 200 participants."
    assert _score("Topical drug for hair loss", text, publisher="registry").evidence_stage == "none"
    s = _score("Topical drug for hair loss", text + " Results posted: hair counts rose versus placebo.", publisher="registry")
    assert s.evidence_stage == "human_rct"


def test_pubmed_publication_type_is_metadata():
    s = _score("Scalp cooling and hair loss", "Abstract text about chemotherapy-induced alopecia. Publication types: Journal Article, Randomized Controlled Trial.")
    assert s.evidence_stage == "human_rct"
    _assert_cue(s, "evidence_stage", "publication types")


def test_attribution_binds_result_to_mice_not_humans():
    s = _score(
        "New molecule regrows hair",
        "The molecule restored hair growth in mice with alopecia. Finasteride, by contrast, was previously studied in randomized trials in men.",
    )
    assert s.evidence_stage == "animal"


def test_plan_binds_within_its_clause():
    s = _score(
        "Pill regrows hair in alopecia areata",
        "Twelve of 30 patients who took the pill regained most of their hair. "
        "There was no control group, and larger placebo-controlled trials are needed.",
    )
    assert s.evidence_stage == "human_uncontrolled"
    _assert_cue(s, "evidence_stage", "no control group")


def test_headline_study_design_wins_over_background():
    s = _score(
        "Case report: tofacitinib in alopecia totalis",
        "Several small open-label studies have reported regrowth with JAK inhibitors. We describe a 29-year-old man treated for one year.",
    )
    assert s.evidence_stage == "human_anecdote"


def test_reference_list_is_not_the_items_evidence():
    s = _score(
        "Fat-derived stem cells for hair loss",
        "Stem cells from fat may help thinning hair, clinics say.\n"
        "References\n"
        "Smith J, Lee K, et al. Stem cell therapy for alopecia: a systematic review and meta-analysis. J Hair Sci. 2020.",
    )
    assert s.evidence_stage == "none"


def test_comment_section_does_not_drive_the_labels():
    s = _score(
        "Gel regrows hair in mice",
        "A gel regrew hair in mice within three weeks; it has not been tested in humans.\n"
        "12 thoughts on this post\n"
        "This is a miracle cure for baldness! It will end baldness forever!",
    )
    assert s.evidence_stage == "animal"
    assert s.hype in ("low", "medium")
