"""Scorer rules on short sentences we wrote, the score-jsonl contract, SCORING_VERSION and evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import scoring
from scoring import (
    COMMERCIAL_LEVELS,
    EVIDENCE_STAGES,
    HYPE_LEVELS,
    SCORING_VERSION,
    Reason,
    Score,
    evaluate_file,
    format_report,
    score_item,
    score_lines,
)
from scoring.lexicon import LEXICON_DIR, compute_version, load_lexicons
from scoring.scorer import Scorer

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


def _score(title: str, text: str = "", **extra) -> Score:
    return score_item({"title": title, "text": text, **extra})


def _cues(score: Score, dimension: str) -> list[str]:
    return [r.cue for r in score.reasons if r.dimension == dimension]


def _assert_cue(score: Score, dimension: str, cue: str) -> None:
    cues = _cues(score, dimension)
    assert any(cue in c for c in cues), f"{cue!r} not among {dimension} reasons {cues}"


# --- evidence stage -------------------------------------------------------------------------

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


# --- commercial interest --------------------------------------------------------------------

COMMERCIAL_CASES = [
    ("PRP at our clinic", "Our clinic has treated thousands of patients. Book a consultation with our surgeons today.", "direct", "book a consultation"),
    ("Hair serum", "Add to cart now and enjoy free shipping on every bottle of our serum.", "direct", "add to cart"),
    ("Laser helmet", "We offer the latest laser helmet for home use. Contact us for details.", "direct", "we offer"),
    ("Company reports topline data", "Acme Therapeutics (NASDAQ: ACME) today announced topline results. This press release contains forward-looking statements.", "direct", "forward-looking statements"),
    ("Hair drug developer shares jump", "The drugmaker said in a press release that shares rose after the company announced positive results; the CEO said sales could be large.", "indirect", "press release"),
    ("Biotech reports hair data", "BOSTON--(BUSINESS WIRE)--A biotech developing a topical hair loss drug reported data from its study.", "direct", "business wire"),
    ("University finds hair follicle switch", "Researchers at the university found a protein that wakes dormant follicles in mice, the university news office said. Story Source: Materials provided by the university. Note: content may be edited for style and length.", "indirect", "materials provided by"),
    ("Research news", "Dermatologists at a public hospital reviewed the evidence on hair loss treatments; none of the authors reported conflicts.", "none", ""),
]


@pytest.mark.parametrize("title,text,label,cue", COMMERCIAL_CASES, ids=[c[2] + ":" + c[0] for c in COMMERCIAL_CASES])
def test_commercial_interest(title, text, label, cue):
    s = _score(title, text)
    assert s.commercial_interest == label
    if cue:
        _assert_cue(s, "commercial_interest", cue)


def test_price_with_offer_is_direct():
    s = _score("Minoxidil foam", "Buy now: three months of minoxidil foam for $39.99. Order today and save.")
    assert s.commercial_interest == "direct"
    _assert_cue(s, "commercial_interest", "$39.99")


def test_price_in_a_debunking_piece_is_not_commercial():
    s = _score(
        "Be sceptical of hair tonics",
        "The ads promise thick hair for three payments of $19.99. Snake-oil sellers have made such unverified claims for a century; be sceptical.",
    )
    assert s.commercial_interest == "none"


def test_publisher_is_one_signal():
    text = "Platelet-rich plasma is injected into the scalp to stimulate hair follicles."
    assert _score("PRP explained", text).commercial_interest == "none"
    s = _score("PRP explained", text, publisher="clinic")
    assert s.commercial_interest == "direct"
    _assert_cue(s, "commercial_interest", "publisher: clinic")


# --- hype ------------------------------------------------------------------------------------

HYPE_CASES = [
    ("A cure for baldness is here", "Scientists have found a cure for baldness that reverses hair loss in mice, a breakthrough that could help millions soon.", "high", "cure"),
    ("Miracle serum regrows hair", "This miracle formula is clinically proven to regrow your hair in just 4 weeks, guaranteed.", "high", "guarantee"),
    ("Gel grows hair in mice", "In mice, a gel increased hair growth. The work is preliminary, has not been tested in humans, and more research is needed.", "low", "more research is needed"),
    ("Trial of topical drug in hair loss", "In a randomized placebo-controlled trial of 300 men, hair counts rose modestly compared with placebo; limitations include the short follow-up.", "low", "limitations"),
    ("Stem cell discovery in hair follicles", "Researchers identified stem cells that drive hair regrowth in mice, a finding that could one day help people with hair loss. Human studies are years away.", "medium", "help people with hair loss"),
    ("Promising hope for balding men", "A breakthrough study in mice offers new hope for balding men, though larger studies are needed before anyone can say it works in people.", "medium", "breakthrough"),
]


@pytest.mark.parametrize("title,text,label,cue", HYPE_CASES, ids=[c[2] + ":" + c[0] for c in HYPE_CASES])
def test_hype(title, text, label, cue):
    s = _score(title, text)
    assert s.hype == label
    assert 0 <= s.hype_score <= 100
    _assert_cue(s, "hype", cue)


def test_testimonial_as_proof_raises_hype():
    s = _score(
        "My hair came back",
        "I tried every shampoo. Then I started the laser cap and it worked! My hair is thicker than ever, it changed my life.",
    )
    assert s.evidence_stage == "human_anecdote"
    assert s.hype in ("medium", "high")
    _assert_cue(s, "hype", "changed my life")


def test_denied_claim_is_not_hype():
    s = _score("JAK inhibitors in alopecia areata", "The pills do not cure alopecia areata and a cure remains elusive, dermatologists say.")
    assert s.hype == "low"


def test_hype_score_orders_labels():
    low = _score("Mouse study", "In mice the compound increased hair growth; more research is needed.")
    high = _score("Baldness cured!", "A miracle breakthrough cure reverses baldness, guaranteed, and will soon be available to everyone.")
    assert low.hype_score < high.hype_score


SATIRE_CASES = [
    ("Funny story: scientists cure baldness with glue", "Funny story written by our staff. Researchers claim a 100% cure for baldness: glue carpet to your head."),
    ("Baldness solved forever", "This satirical column reveals a miracle cure for baldness: simply wear a hat for the rest of your life."),
]


@pytest.mark.parametrize("title,text", SATIRE_CASES, ids=[c[0] for c in SATIRE_CASES])
def test_satire(title, text):
    s = _score(title, text)
    assert (s.relevant, s.evidence_stage, s.hype, s.commercial_interest) == (True, "none", "high", "none")
    assert any(r.dimension == "hype" and r.label == "high" for r in s.reasons)


# --- relevance and treatments ----------------------------------------------------------------

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


# --- Score shape and reasons -----------------------------------------------------------------


def test_score_to_dict_shape():
    s = _score("Gel regrows hair in bald mice", "Researchers found the gel regrew hair in mice within three weeks.")
    d = s.to_dict()
    assert list(d) == [
        "relevant", "evidence_stage", "commercial_interest", "hype", "hype_score", "treatments", "reasons", "scoring_version",
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
            "id", "relevant", "evidence_stage", "commercial_interest", "hype", "hype_score", "treatments", "reasons", "scoring_version",
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


# --- SCORING_VERSION ----------------------------------------------------------------------------


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


# --- evaluation ----------------------------------------------------------------------------------


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
