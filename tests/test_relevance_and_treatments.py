"""Relevance (is it about hair loss) and treatment names from synonyms."""

from __future__ import annotations

import pytest

from scoringcases import _score

RELEVANCE_CASES = [
    ("New hope for alopecia areata", "A JAK inhibitor regrew scalp hair in patients with alopecia areata.", True),
    ("Finasteride side effects", "Men taking finasteride for male pattern baldness reported few side effects.", True),
    ("Drug lowers blood sugar in diabetic mice", "A protein restored insulin sensitivity in mice with type 2 diabetes.", False),
    ("Psoriasis drug approved", "Regulators approved an injection for moderate-to-severe plaque psoriasis in adults.", False),
]


@pytest.mark.parametrize("title,text,relevant", RELEVANCE_CASES, ids=[c[0] for c in RELEVANCE_CASES])
def test_relevance(title, text, relevant):
    s = _score(title, text)
    assert s.relevant is relevant
    if not relevant:
        assert s.treatments == []


TREATMENT_CASES = [
    ("Minox or finasteride?", "Most men start with minox before trying Propecia.", ["finasteride", "minoxidil"]),
    ("LDOM for women", "Low-dose oral minoxidil (LDOM) helped women with female pattern hair loss.", ["minoxidil"]),
    ("Olumiant for alopecia areata", "Baricitinib was the first JAK inhibitor approved for severe alopecia areata.", ["baricitinib", "jak inhibitors"]),
    ("Litfulo approved for teens with alopecia", "Ritlecitinib is a once-daily pill.", ["jak inhibitors", "ritlecitinib"]),
    ("Leqselvi launched for alopecia areata", "Deuruxolitinib tablets are now on sale.", ["deuruxolitinib", "jak inhibitors"]),
    ("Breezula phase 3 data in hair loss", "Clascoterone solution met its endpoints in male pattern hair loss.", ["clascoterone"]),
    ("KX-826 for hair loss", "Pyrilutamide is a topical antiandrogen for androgenetic alopecia.", ["pyrilutamide"]),
    ("Laser cap for hair loss", "LLLT devices use red light to stimulate hair follicles.", ["low-level laser therapy"]),
    ("FUE or FUT?", "Choosing a hair transplant method for a receding hairline.", ["hair transplant"]),
    ("Fat-derived stem cells for hair loss", "Adipose-derived stem cells (ADSCs) were injected into the balding scalp.", ["adipose-derived stem cells", "stem cells"]),
    ("iPS cells and hair regeneration", "Induced pluripotent stem cells could make new hair follicles for baldness.", ["ips cells", "stem cells"]),
    ("Microneedling plus minoxidil for hair loss", "Dermarolling once a week boosted hair counts.", ["microneedling", "minoxidil"]),
    ("PRP and exosomes for thinning hair", "Platelet-rich plasma and exosome injections are popular scalp treatments.", ["exosomes", "prp"]),
    ("Cerium nanoparticles regrow hair in mice", "A microneedle patch delivered ceria nanoparticles to balding mice.", ["cerium nanoparticles", "microneedling"]),
    ("Hair cloning for baldness", "Cloned hair follicles could end the donor shortage for hair loss patients.", ["hair cloning"]),
]


@pytest.mark.parametrize("title,text,expected", TREATMENT_CASES, ids=[c[0] for c in TREATMENT_CASES])
def test_treatment_synonyms(title, text, expected):
    s = _score(title, text)
    assert s.relevant
    assert s.treatments == expected
    assert s.treatments == sorted(s.treatments)
    for name in expected:
        assert any(r.dimension == "treatments" and r.label == name for r in s.reasons)
