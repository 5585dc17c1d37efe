"""Claim strength on sentences we wrote: association, hedged and direct causal wording; the title and lead decide."""

from __future__ import annotations

import pytest

from scoring import score_item
from scoring.claims import assess_claims
from scoring.lexicon import load_lexicons
from scoring.model import CLAIM_STRENGTHS
from scoring.text import build_doc

_MATCHER = load_lexicons().matcher


CLAIM_CASES = [
    ("Baldness was associated with a higher risk of heart disease in the cohort.", "correlational"),
    ("Hair loss is linked to low vitamin D levels, researchers say.", "correlational"),
    ("The serum may improve hair density in women with thinning hair.", "conditional_causal"),
    ("These findings suggest the compound could reverse hair loss.", "conditional_causal"),
    ("The new gel regrows hair in eight weeks.", "direct_causal"),
    ("Minoxidil reduced hair shedding compared with placebo.", "direct_causal"),
    ("We enrolled 40 women with pattern hair loss between 2019 and 2021.", "no_claim"),
    ("The clinic is open from Monday to Friday.", "no_claim"),
]


@pytest.mark.parametrize("text,label", CLAIM_CASES, ids=[c[1] + ":" + c[0][:30] for c in CLAIM_CASES])
def test_claim_strength_of_sentences(text, label):
    assert assess_claims(build_doc("", text, _MATCHER)).label == label


def test_claim_strength_is_an_output_with_its_sentence_as_reason():
    s = score_item({"title": "Exosome therapy regrows hair", "text": "Book now."})
    assert s.claim_strength == "direct_causal"
    reasons = [r for r in s.reasons if r.dimension == "claim_strength"]
    assert reasons and reasons[0].snippet == "Exosome therapy regrows hair"
    assert s.to_dict()["claim_strength"] in CLAIM_STRENGTHS


def test_title_and_lead_decide_over_the_body():
    body = " ".join(["The clinic has parking for patients."] * 6) + " Some say it may even cause headaches."
    s = score_item({"title": "Stress linked to hair loss in a large study", "text": body})
    assert s.claim_strength == "correlational"


def test_causal_claims_rank_above_correlational_ones():
    direct = assess_claims(build_doc("", "Finasteride stops hair loss in most men.", _MATCHER)).score
    corr = assess_claims(build_doc("", "Finasteride use was associated with less hair loss.", _MATCHER)).score
    assert direct > corr


def test_direct_claim_from_mice_runs_past_the_evidence():
    s = score_item({"title": "New gel cures baldness",
                    "text": "The gel cured baldness in mice within three weeks, the team said."})
    assert s.evidence_stage == "animal"
    assert s.claim_strength == "direct_causal"
    assert s.hype in ("medium", "high")
