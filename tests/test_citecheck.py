"""Citation verdicts: each rule on its own, and the labelled set's precision and recall (bench/citations.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from harvester.citecheck import Verdict, check, work_design, worst
from harvester.references import Claimed, Reference
from harvester.works.model import Work
from scoring import labels

ROOT = Path(__file__).resolve().parents[1]
HAIR_ITEM = {"item_title": "PRP for hair loss: what the trials say",
             "item_text": "Platelet-rich plasma is injected into the scalp to slow hair loss in androgenetic alopecia."}
HAIR_ABSTRACT = ("Thirty women with female pattern hair loss received platelet-rich plasma or saline injections into the "
                 "scalp. Hair density increased more with platelet-rich plasma at six months in this randomized trial.")
BONE_ABSTRACT = ("Large bone defects remain a clinical challenge. Exosomes from umbilical cord mesenchymal stem cells "
                 "enhanced osteogenic differentiation and accelerated bone regeneration in a rat calvarial defect model, "
                 "with more new bone on micro-CT at eight weeks.")


def bench():
    spec = importlib.util.spec_from_file_location("bench_citations", ROOT / "bench" / "citations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_citations", module)
    spec.loader.exec_module(module)
    return module


def ref(kind="doi", value="10.1111/jocd.12468", context="", listed=False, **claimed) -> Reference:
    claimed = {k: tuple(v) if k == "authors" else v for k, v in claimed.items()}
    return Reference(kind=kind, value=value, context=context or value, claimed=Claimed(**claimed), listed=listed)


def work(**kw) -> Work:
    base = dict(key="doi:10.1111/jocd.12468", service="crossref", state="found", doi="10.1111/jocd.12468",
                title="Platelet-rich plasma injection on female pattern hair loss: a randomized placebo-controlled study",
                authors=["Tawfik", "Osman"], journal="Journal of Cosmetic Dermatology", journal_abbrev="J Cosmet Dermatol",
                year=2018, abstract=HAIR_ABSTRACT)
    base.update(kw)
    return Work(**base)


# -- the order ------------------------------------------------------------------------------


def test_worst_follows_labels_order():
    order = labels.codes("citation_check")
    assert worst(order) == order[-1] == "retracted"
    assert worst(["ok", "mismatch", "off_topic"]) == "mismatch"
    assert worst(["corrected", "concern"]) == "concern"
    assert worst([]) is None and worst(["nonsense", None]) is None


# -- not looked up, service errors, unsupported registries ------------------------------------


def test_not_looked_up_and_service_errors_are_unchecked_never_not_found():
    assert check(ref(), None).code == "unchecked"
    v = check(ref(), Work(key="doi:10.1111/jocd.12468", service="crossref", state="error", error="HTTP 500 from Crossref"))
    assert v.code == "unchecked" and "Crossref" in v.reasons[0] and "HTTP 500" in v.reasons[0]
    specific = ref("citation", "Smith R. Hair. J Cosmet Dermatol. 2020", authors=["Smith"], journal="J Cosmet Dermatol", year=2020)
    assert check(specific, Work(key="query:x", service="crossref", state="error", error="timeout")).code == "unchecked"


def test_registries_we_do_not_query_are_unverified():
    assert check(ref("isrctn", "ISRCTN12345678"), None).code == "unverified"
    assert check(ref("chictr", "ChiCTR2000034567"), Work(key="chictr:ChiCTR2000034567", service="none", state="unsupported")).code == "unverified"


def test_an_unknown_state_or_junk_never_raises():
    assert check(ref(), Work(key="doi:x", service="crossref", state="weird")).code == "unchecked"
    v = check(ref("citation", "Tawfik A. J Cosmet Dermatol 2018", authors=["Tawfik"], journal="J Cosmet Dermatol", year=2018),
              Work(key="query:x", service="crossref", state="found", candidates=[{"title": None, "year": "n/a"}, "junk", {}]))
    assert isinstance(v, Verdict) and v.code in labels.codes("citation_check")


# -- not found ------------------------------------------------------------------------------


def test_an_id_the_service_denies_is_not_found_with_the_service_named():
    v = check(ref(value="10.1111/jocd.99999"), Work(key="doi:10.1111/jocd.99999", service="crossref", state="not_found"))
    assert v.code == "not_found" and v.flags == ("not_found",)
    assert "Crossref has no record of 10.1111/jocd.99999" in v.reasons[0]
    v = check(ref("pmid", "99887766"), Work(key="pmid:99887766", service="pubmed", state="not_found"))
    assert v.code == "not_found" and "PubMed" in v.reasons[0] and "PMID 99887766" in v.reasons[0]


def test_a_key_no_service_was_asked_about_is_not_an_accusation():
    v = check(ref(value="10.1111/bad id"), Work(key="doi:10.1111/bad id", service="none", state="not_found", error="malformed doi"))
    assert v.code == "unverified"


# -- mismatch -------------------------------------------------------------------------------


def test_two_disagreements_make_a_mismatch_one_does_not():
    two = ref(authors=["Gentile"], journal="J Cosmet Dermatol", year=2014)
    v = check(two, work(), **HAIR_ITEM)
    assert v.code == "mismatch" and "first author and year disagree" in v.reasons[0]
    assert "Tawfik et al." in v.reasons[0] and "Gentile" in v.reasons[0]
    one = ref(authors=["Gentile"], journal="J Cosmet Dermatol", year=2018)
    assert check(one, work(), **HAIR_ITEM).code == "ok"


def test_a_full_title_sharing_no_words_is_enough():
    far = ref(title="Chemical peels for melasma in darker skin types compared")
    assert check(far, work(), **HAIR_ITEM).code == "mismatch"
    short = ref(title="Chemical peels")  # too short to say
    assert check(short, work(), **HAIR_ITEM).code == "ok"


@pytest.mark.parametrize("claimed, journal, abbrev", [
    ("J Cosmet Dermatol", "Journal of Cosmetic Dermatology", None),
    ("Journal of Cosmetic Dermatology", "Journal of Cosmetic Dermatology", "J Cosmet Dermatol"),
    ("JAAD", "Journal of the American Academy of Dermatology", None),
    ("Dermatol Surg", "Dermatologic surgery", None),
    ("New England Journal of Medicine", "The New England journal of medicine", "N Engl J Med"),
    ("Jpn J Dermatol", "Japanese Journal of Dermatology", None),
    ("Biochim Biophys Acta", "Biochimica et biophysica acta. Molecular cell research", None),
])
def test_journal_names_and_abbreviations_agree(claimed, journal, abbrev):
    # with the author disagreeing, a journal that did not agree would make two disagreements
    r = ref(authors=["Someone"], journal=claimed, year=2018)
    assert check(r, work(journal=journal, journal_abbrev=abbrev), **HAIR_ITEM).code == "ok"


def test_different_journals_disagree():
    r = ref(authors=["Someone"], journal="Br J Dermatol", year=2018)
    assert check(r, work(), **HAIR_ITEM).code == "mismatch"


def test_year_off_by_one_and_transliterated_or_accented_names_agree():
    assert check(ref(authors=["Tawfeek"], journal="Hair Res", year=2017), work(), **HAIR_ITEM).code == "ok"
    assert check(ref(authors=["Muller"], journal="Hair Res", year=2019), work(authors=["Müller"]), **HAIR_ITEM).code == "ok"
    assert check(ref(authors=["Tawfik"], journal="Hair Res", year=2016), work(), **HAIR_ITEM).code == "mismatch"


def test_a_preprint_cited_by_its_later_journal_is_not_a_mismatch():
    pre = work(journal="bioRxiv", journal_abbrev=None, work_type="posted-content", preprint=True, year=2023)
    v = check(ref(authors=["Tawfik"], journal="J Invest Dermatol", year=2024), pre, **HAIR_ITEM)
    assert v.code == "ok" and any("preprint" in r for r in v.reasons)


# -- design ---------------------------------------------------------------------------------


def test_design_from_publication_types_the_strongest_wins():
    assert work_design(work(pub_types=["Journal Article", "Review", "Meta-Analysis"])) == ("meta_analysis", "publication types")
    assert work_design(work(pub_types=["Comparative Study", "Randomized Controlled Trial"])) == ("human_rct", "publication types")
    assert work_design(work(pub_types=["Case Reports"])) == ("human_anecdote", "publication types")
    assert work_design(work(trial={"allocation": "RANDOMIZED"}, abstract=None)) == ("human_rct", "trial record")
    assert work_design(work(abstract=None)) == (None, None)
    assert work_design(work())[1] == "scorer on the abstract"


def test_a_design_stronger_than_the_publication_types_is_a_mismatch():
    r = ref("pmid", "36543210", design="meta_analysis", design_words="a meta-analysis of randomized controlled trials")
    v = check(r, work(service="pubmed", pmid="36543210", pub_types=["Case Reports"]), **HAIR_ITEM)
    assert v.code == "mismatch" and v.design == "human_anecdote" and v.design_source == "publication types"
    assert "Case Reports" in v.reasons[-1] and "a meta-analysis of randomized controlled trials" in v.reasons[-1]
    weaker_claim = ref("pmid", "36543210", design="human_rct")
    assert check(weaker_claim, work(service="pubmed", pub_types=["Meta-Analysis"]), **HAIR_ITEM).code == "ok"


def test_the_scorer_on_the_abstract_never_accuses():
    r = ref(design="meta_analysis", design_words="a meta-analysis")
    v = check(r, work(abstract="We describe one patient whose hair regrew after a serum applied for months to the scalp, "
                               "photographed before and after treatment at our clinic; no adverse events occurred at all. The case "
                               "suggests the serum deserves study, though a single patient proves nothing about it."), **HAIR_ITEM)
    assert v.code == "ok" and v.design_source == "scorer on the abstract"


# -- topic ----------------------------------------------------------------------------------


def test_a_work_with_no_hair_term_cited_for_hair_is_off_topic():
    bone = work(title="Exosomes accelerate bone regeneration", abstract=BONE_ABSTRACT, authors=["Wang"])
    v = check(ref(context="Exosomes have been shown to stimulate hair growth [4]."), bone, **HAIR_ITEM, treatments=["exosomes"])
    assert v.code == "off_topic" and v.on_topic is False
    assert "never mentions hair" in v.reasons[-1] and "title and abstract" in v.reasons[-1]


def test_not_off_topic_when_the_item_is_not_about_hair():
    bone = work(title="Exosomes accelerate bone regeneration", abstract=BONE_ABSTRACT)
    v = check(ref(context="Stem cell exosomes sped up bone healing."), bone,
              item_title="Stem cell therapies in 2024", item_text="Bone, cartilage and heart repair.")
    assert v.code == "ok" and v.on_topic is None


def test_cited_for_the_treatment_named_is_on_topic():
    knee = work(title="Platelet-rich plasma for knee osteoarthritis", abstract="Platelet-rich plasma injections into the knee "
                "joint improved pain and function in osteoarthritis over twelve months compared with hyaluronic acid, in a "
                "randomized trial of 120 patients; growth factors released from platelets may explain the effect.")
    r = ref(context="Platelet-rich plasma releases growth factors such as PDGF (Bennell 2020).")
    assert check(r, knee, **HAIR_ITEM, treatments=["platelet-rich plasma"]).code == "ok"
    # the same work as a reference-list line of a hair item: the line is not a claim about the treatment
    listed = ref(context="Bennell D. Platelet-rich plasma for knee osteoarthritis. 2020.", listed=True)
    assert check(listed, knee, **HAIR_ITEM, treatments=["platelet-rich plasma"]).code == "off_topic"


def test_title_only_records_are_judged_conservatively():
    osteo = work(title="Osteogenic differentiation of adipose-derived stem cells on scaffolds", abstract=None)
    assert check(ref(context="Fat stem cells regrow hair (Bianchi 2018)."), osteo, **HAIR_ITEM).code == "off_topic"
    vague = work(title="Adipose-derived stem cells: current clinical applications", abstract=None)
    assert check(ref(context="Fat stem cells regrow hair (Fischer 2019)."), vague, **HAIR_ITEM).code == "ok"
    skin = work(title="Wound-induced regeneration of skin in adult bone marrow models", abstract=None)
    assert check(ref(context="Fat stem cells regrow hair."), skin, **HAIR_ITEM).code == "ok"


def test_mesh_or_keywords_with_a_hair_term_make_it_on_topic():
    w = work(title="Janus kinase inhibition in autoimmune disease", abstract=BONE_ABSTRACT, mesh=["Alopecia Areata", "Humans"])
    v = check(ref(context="JAK inhibitors regrow hair."), w, **HAIR_ITEM)
    assert v.code == "ok" and v.on_topic is True


# -- notices --------------------------------------------------------------------------------


def test_retraction_concern_and_correction():
    notice = {"kind": "retraction", "doi": "10.1155/2023/9876543", "date": "2023-04-22", "source": "retraction-watch"}
    v = check(ref(), work(retraction="retracted", notices=[notice]), **HAIR_ITEM)
    assert v.code == "retracted" and "retraction-watch" in v.reasons[-1] and "10.1155/2023/9876543" in v.reasons[-1]
    v = check(ref("pmid", "29876543"), work(service="pubmed", pmid="29876543", pub_types=["Journal Article", "Retracted Publication"]), **HAIR_ITEM)
    assert v.code == "retracted" and "Retracted Publication" in v.reasons[-1]
    assert check(ref(), work(notices=[{"kind": "expression_of_concern"}]), **HAIR_ITEM).code == "concern"
    v = check(ref(), work(retraction="corrected"), **HAIR_ITEM)
    assert v.code == "corrected" and v.flags == ("corrected",)
    both = check(ref(authors=["Kim"], journal="Br J Dermatol", year=2010), work(retraction="retracted"), **HAIR_ITEM)
    assert both.code == "retracted" and set(both.flags) == {"mismatch", "retracted"}


# -- free text ------------------------------------------------------------------------------


def cand(doi, title, authors, journal, year, score):
    return {"doi": doi, "title": title, "authors": authors, "journal": journal, "year": year, "score": score}


def test_free_text_picks_the_credible_candidate_not_the_top_score():
    w = Work(key="query:x", service="crossref", state="found", candidates=[
        cand("10.1111/jocd.13999", "Fractional laser in acne scars", ["Kim"], "Journal of Cosmetic Dermatology", 2018, 61.0),
        cand("10.1111/jocd.12468", "PRP on female pattern hair loss", ["Tawfik", "Osman"], "Journal of Cosmetic Dermatology", 2018, 58.0),
    ])
    r = ref("citation", "Tawfik AA et al. J Cosmet Dermatol. 2018", authors=["Tawfik"], journal="J Cosmet Dermatol", year=2018)
    v = check(r, w, **HAIR_ITEM)
    assert v.code == "ok" and v.matched_key == "doi:10.1111/jocd.12468"
    assert "matches" in v.reasons[0] and "first author, journal and year agree" in v.reasons[0]


def test_a_specific_citation_with_only_near_misses_is_not_found():
    w = Work(key="query:x", service="crossref", state="found", candidates=[
        cand("10.1111/jocd.13301", "Botulinum toxin for masseter hypertrophy", ["Lee"], "Journal of Cosmetic Dermatology", 2020, 55.0)])
    r = ref("citation", "Smith R. Exosomes for hair. J Cosmet Dermatol. 2020", authors=["Smith"], journal="J Cosmet Dermatol", year=2020,
            title="Stem cell exosomes for hair regrowth")
    v = check(r, w, **HAIR_ITEM)
    assert v.code == "not_found" and "closest" in v.reasons[0] and "Lee" in v.reasons[0]
    empty = Work(key="query:x", service="crossref", state="not_found")
    assert check(r, empty, **HAIR_ITEM).code == "not_found"


def test_a_vague_mention_is_unverified_never_not_found():
    w = Work(key="query:x", service="crossref", state="found", candidates=[
        cand("10.1111/jocd.12999", "Hair loss after COVID-19", ["Garcia"], "Journal of Cosmetic Dermatology", 2019, 20.0)])
    vague = ref("citation", "a 2019 study published in the Journal of Cosmetic Dermatology", journal="Journal of Cosmetic Dermatology", year=2019)
    assert check(vague, w, **HAIR_ITEM).code == "unverified"
    author_year = ref("citation", "Smith et al., 2019", authors=["Smith"], year=2019)
    assert check(author_year, Work(key="query:y", service="crossref", state="not_found"), **HAIR_ITEM).code == "unverified"


# -- the labelled set -----------------------------------------------------------------------


def test_the_labelled_set_is_big_enough_and_well_formed():
    b = bench()
    cases = b.load_cases()
    assert len(cases) >= 60
    codes = set(labels.codes("citation_check"))
    held = [c for c in cases if b.held_out(c["id"])]
    assert 0.2 <= len(held) / len(cases) <= 0.45
    for c in cases:
        assert c["expected"]["code"] in codes and set(c["expected"]["flags"]) <= codes
        for r in c["responses"]:
            assert r["file"] is None or (b.CASES.parent / "responses" / r["file"]).is_file()
    flagged = {f for c in cases for f in c["expected"]["flags"]}
    assert {"not_found", "mismatch", "off_topic", "retracted", "concern", "corrected"} <= flagged


def test_flag_precision_and_recall_on_both_parts():
    """The real path (extraction, the resolver against a local stand-in, the checker) and the checker alone."""
    b = bench()
    results = b.evaluate(b.load_cases(), b.CASES.parent / "responses")
    for mode in b.MODES:
        parts = results.figures[mode]
        for name in ("tuning", "held-out", "all"):
            f = parts[name]
            assert f.precision() >= 0.95, (mode, name, b.report(results, verbose=True))
            assert f.precision("any") >= 0.95, (mode, name)
        assert parts["all"].recall() >= 0.80 and parts["all"].recall("any") >= 0.80, b.report(results, verbose=True)
        assert parts["held-out"].recall() >= 0.80, b.report(results, verbose=True)
    extraction = results.extraction["all"]
    assert extraction.same_id / extraction.n >= 0.85, b.report(results, verbose=True)


