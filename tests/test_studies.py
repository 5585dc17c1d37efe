"""Studies: same-study grouping on the labelled set (targets), each link method, stable ids, gap rules, the db round trip."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from db import open_db, sync_sources
from db.studies import items_for_grouping, save_studies, study, works_for_grouping
from harvester.studies import Study, Telling, gap, group, settings
from scoring import labels

FIXTURES = Path(__file__).parent / "fixtures" / "studies"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


ITEMS = load("items.jsonl")
WORKS = {row["key"]: row for row in load("works.jsonl")}


def pairwise(items: list[dict], studies: list[Study]) -> tuple[float, float]:
    predicted = {t.item_id: s.id for s in studies for t in s.tellings}
    gold = {i["id"]: i["study"] for i in items}
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold = gold[a] is not None and gold[a] == gold[b]
        same_pred = a in predicted and predicted.get(a) == predicted.get(b)
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    return tp / (tp + fp), tp / (tp + fn)


def item(id: str, publisher: str, title: str, text: str = "", published: str = "2024-05-01T00:00:00Z", **extra) -> dict:
    return {"id": id, "publisher": publisher, "title": title, "text": text, "published": published, **extra}


def by_item(studies: list[Study]) -> dict[str, Study]:
    return {t.item_id: s for s in studies for t in s.tellings}


# -- the labelled set -------------------------------------------------------------------------


def test_labelled_set_is_big_and_varied_enough():
    assert len(ITEMS) >= 40
    kinds = {i["publisher"] for i in ITEMS}
    assert {"journal", "press", "news", "blog", "clinic", "forum"} <= kinds
    studies = {i["study"] for i in ITEMS if i["study"]}
    assert len(studies) >= 12
    assert sum(1 for i in ITEMS if i["study"] is None) >= 5  # distractors that tell no study


def test_grouping_meets_the_targets_on_the_labelled_set():
    precision, recall = pairwise(ITEMS, group(ITEMS, WORKS))
    assert precision >= 0.95, precision
    assert recall >= 0.85, recall


def test_grouping_does_not_depend_on_input_order():
    expected = {(s.id, tuple(t.item_id for t in s.tellings)) for s in group(ITEMS, WORKS)}
    shuffled = ITEMS[:]
    random.Random(7).shuffle(shuffled)
    assert {(s.id, tuple(t.item_id for t in s.tellings)) for s in group(shuffled, WORKS)} == expected


def test_distractors_stay_out():
    found = by_item(group(ITEMS, WORKS))
    gold = {i["id"]: i["study"] for i in ITEMS}
    # same journal and year, other study; same first author, other study; a reference list
    for item_id, label in gold.items():
        if item_id in found:
            members = [t.item_id for t in found[item_id].tellings]
            assert {gold[m] for m in members} == {label}, (item_id, members)


# -- links ------------------------------------------------------------------------------------


DOI = "10.1000/paper.1"
WORK = {"state": "found", "doi": DOI, "pmid": "123456", "title": "Topical XY-101 regrows hair in aged mice",
        "authors": ["Okonkwo", "Berg"], "journal": "Nature Aging", "journal_abbrev": "Nat Aging", "year": 2024,
        "published": "2024-05-01", "design": "animal", "claim_strength": "conditional_causal"}


def test_shared_doi_links_a_release_to_its_paper():
    studies = group([
        item("p", "journal", WORK["title"], doi=DOI, evidence_stage="animal", claim_strength="conditional_causal"),
        item("r", "press", "Scientists find a way to regrow hair", f"Read the paper: https://doi.org/{DOI}",
             doi=DOI, cites=[f"doi:{DOI}"], evidence_stage="animal", claim_strength="direct_causal"),
    ])
    [s] = studies
    assert s.paper_key == f"doi:{DOI}" and s.paper_item == "p"
    links = {t.item_id: (t.link, t.link_reason) for t in s.tellings}
    assert links["p"][0] == "doi" and "own DOI" in links["p"][1]
    assert links["r"][0] == "doi" and "reports the paper" in links["r"][1]


def test_pmid_and_doi_of_one_work_unify_through_the_works_row():
    studies = group([
        item("p", "journal", WORK["title"], doi=DOI),
        item("f", "forum", "New paper", "https://pubmed.ncbi.nlm.nih.gov/123456/", pmid="123456",
             cites=["pmid:123456"]),
    ], {f"doi:{DOI}": WORK})
    [s] = studies
    assert {t.item_id for t in s.tellings} == {"p", "f"}
    forum = next(t for t in s.tellings if t.item_id == "f")
    assert forum.link == "pmid" and DOI in forum.link_reason
    # without the works row they are two works: no study of two tellings
    assert all(len(s.tellings) == 1 for s in group([item("p", "journal", "A", doi=DOI),
                                                    item("f", "forum", "B", pmid="123456")]))


def test_a_trial_id_joins_the_paper_whose_record_names_it():
    work = {**WORK, "nct": "NCT01234567"}
    studies = group([
        item("p", "journal", WORK["title"], doi=DOI),
        item("t", "registry", "A trial of XY-101", "NCT01234567", nct_ids=["NCT01234567"]),
        item("c", "company", "XY-101 trial results", "Our trial NCT01234567 succeeded.", nct_ids='["NCT01234567"]'),
    ], {f"doi:{DOI}": work})
    [s] = studies
    assert s.trial_key == "nct:NCT01234567" and s.paper_key == f"doi:{DOI}"
    company = next(t for t in s.tellings if t.item_id == "c")
    assert company.link == "nct" and "paper's record names" in company.link_reason


def test_several_trial_ids_are_a_list_not_a_telling():
    studies = group([
        item("t", "registry", "Trial", nct_ids=["NCT01234567"]),
        item("n", "news", "Five JAK trials to watch", nct_ids=["NCT01234567", "NCT07654321"]),
    ])
    assert studies == []


def test_journal_first_author_and_year_named_in_the_text():
    studies = group([
        item("p", "journal", WORK["title"], doi=DOI),
        item("n", "news", "Old mice grow hair again",
             "The study, published in Nature Aging, was led by Dr. Ada Okonkwo in 2024.", published="2024-05-03T00:00:00Z"),
        item("x", "news", "Another mouse study",
             "A study published in Nature Aging, led by Dr. Tim Berg in 2024, looked at skin.", published="2024-05-03T00:00:00Z"),
    ], {f"doi:{DOI}": WORK})
    found = by_item(studies)
    assert found["n"].paper_key == f"doi:{DOI}"
    telling = next(t for t in found["n"].tellings if t.item_id == "n")
    assert telling.link == "journal_author_year" and "Okonkwo" in telling.link_reason
    assert "x" not in found  # same journal and year, not the first author


def test_title_and_entities_within_the_window_only():
    a = item("a", "news", "XY-101 gel regrows hair in old mice at Karolinska",
             "Researchers at Karolinska tested XY-101 on aged mice.")
    b = item("b", "blog", "XY-101: aged mice regrow hair",
             "The Karolinska team's XY-101 gel worked in aged mice.", published="2024-05-20T00:00:00Z")
    late = {**b, "id": "late", "published": "2024-12-20T00:00:00Z"}
    [s] = group([a, b])
    assert [t.link for t in s.tellings] == ["title_entities", "title_entities"]
    assert group([a, late]) == []


def test_different_compounds_or_different_papers_never_merge():
    a = item("a", "news", "XY-101 gel regrows hair in old mice at Karolinska", "Karolinska tested XY-101 in mice.")
    b = item("b", "news", "ZQ-202 gel regrows hair in old mice at Karolinska", "Karolinska tested ZQ-202 in mice.")
    assert group([a, b]) == []
    # two papers with their own DOIs stay two studies however alike their coverage is
    p1 = item("p1", "journal", "XY-101 regrows hair in mice", "Karolinska, XY-101.", doi="10.1000/a")
    p2 = item("p2", "journal", "XY-101 regrows hair in mice again", "Karolinska, XY-101.", doi="10.1000/b")
    n1 = item("n1", "news", "XY-101 regrows hair", "Karolinska XY-101", doi="10.1000/a")
    n2 = item("n2", "news", "XY-101 regrows hair", "Karolinska XY-101", doi="10.1000/b")
    assert sorted(sorted(t.item_id for t in s.tellings) for s in group([p1, p2, n1, n2])) == [["n1", "p1"], ["n2", "p2"]]


def test_a_reference_list_is_not_a_report_of_its_first_reference():
    refs = [f"doi:10.1000/ref.{n}" for n in range(4)]
    clinic = item("c", "clinic", "Exosome therapy", " ".join(refs), doi="10.1000/ref.0", cites=refs)
    paper = item("p", "journal", "Stem cell secretome for hair", doi="10.1000/ref.0")
    assert group([clinic, paper]) == []
    few = {**clinic, "cites": refs[:2]}
    assert len(group([few, paper])) == 1


def test_one_telling_is_a_study_only_with_a_resolved_paper():
    news = item("n", "news", "Botox for hair loss", f"DOI: {DOI}", doi=DOI, cites=[f"doi:{DOI}"])
    assert group([news]) == []
    assert group([news], {f"doi:{DOI}": {**WORK, "state": "not_found"}}) == []
    [s] = group([news], {f"doi:{DOI}": {**WORK, "retraction": "retracted"}})
    assert s.retraction == "retracted" and s.design == "animal" and s.paper_item is None
    assert s.tellings[0].gap == "unknown"  # the story is not scored yet: it cannot be set beside the paper
    [s] = group([{**news, "evidence_stage": "animal", "claim_strength": "conditional_causal"}], {f"doi:{DOI}": WORK})
    assert s.tellings[0].gap == "none"


def test_bad_rows_are_skipped_not_fatal():
    rows = [None, "x", {}, {"id": ""}, {"id": 5}, {"id": "a", "published": "not a date", "nct_ids": "{oops",
                                                   "cites": "nope", "doi": "not-a-doi", "publisher": "news"},
            {"id": "b", "title": None, "text": 7, "cites": ["doi:", "pmid:abc", 3, "nct:NCT1"]}]
    assert group(rows, {"doi:bad": "row", "nonsense": {}}) == []


# -- ids ----------------------------------------------------------------------------------------


def test_study_ids_are_stable_hashes_of_the_strongest_key():
    p = item("p", "journal", WORK["title"], doi=DOI)
    r = item("r", "press", "Release", doi=DOI, published="2024-05-02T00:00:00Z")
    [first] = group([p, r])
    later = item("n", "news", "Story", doi=DOI, published="2024-06-01T00:00:00Z")
    [second] = group([later, r, p])
    assert first.id == second.id
    trial_only = group([item("t", "registry", "T", nct_ids=["NCT01234567"]),
                        item("c", "company", "C", nct_ids=["NCT01234567"])])
    assert trial_only[0].id != first.id and trial_only[0].paper_key is None
    keyless = [item("a", "news", "XY-101 gel regrows hair in old mice at Karolinska", "Karolinska XY-101 mice"),
               item("b", "blog", "XY-101: aged mice regrow hair", "Karolinska XY-101 mice",
                    published="2024-05-10T00:00:00Z")]
    ids = {group(keyless)[0].id, group(keyless[::-1])[0].id,
           group([*keyless, item("c", "forum", "XY-101 Karolinska mice regrow", "XY-101 Karolinska",
                                 published="2024-05-12T00:00:00Z")])[0].id}
    assert len(ids) == 1  # the first item's id: later tellings do not change it


# -- gaps ---------------------------------------------------------------------------------------


def telling(stage, claim, hype="low", role="press"):
    return Telling(item_id="x", link="doi", link_reason="", role=role, published=None, evidence_stage=stage,
                   claim_strength=claim, hype=hype)


@pytest.mark.parametrize(("paper", "told", "expected"), [
    (("animal", "conditional_causal"), ("animal", "conditional_causal", "low"), "none"),
    (("animal", "conditional_causal"), ("animal", "correlational", "low"), "none"),
    (("human_rct", "conditional_causal"), ("human_rct", "direct_causal", "low"), "claim"),
    (("animal", "direct_causal"), ("human_rct", "direct_causal", "low"), "stage"),
    (("animal", "conditional_causal"), ("human_rct", "direct_causal", "low"), "stage_claim"),
    (("animal", "conditional_causal"), ("animal", "direct_causal", "medium"), "stage_claim"),  # "regrows" on mice
    (("in_vitro", "conditional_causal"), ("none", "conditional_causal", "high"), "stage_claim"),  # "cure" headline
    (("animal", "direct_causal"), ("animal", "direct_causal", "low"), "none"),  # faithful to a plain mouse result
    (("human_rct", "direct_causal"), ("human_rct", "direct_causal", "high"), "none"),  # hype alone is no gap on an RCT
    (("human_rct", "correlational"), ("none", "no_claim", "low"), "none"),  # no study presented is not "weaker"
    (("animal", "correlational"), ("none", "correlational", "low"), "none"),
    ((None, "conditional_causal"), ("animal", "direct_causal", "high"), "unknown"),
    (("animal", None), ("animal", "direct_causal", "high"), "unknown"),
    (("none", "no_claim"), ("animal", "direct_causal", "low"), "unknown"),  # the paper is not judged a study
    (("animal", "conditional_causal"), (None, None, None), "unknown"),  # the telling is not scored yet
])
def test_gap_rules(paper, told, expected):
    code, reason = gap(telling(*told), *paper)
    assert code == expected, reason
    assert code in labels.codes("coverage_gap")
    assert reason.endswith(".") and "None" not in reason


def test_gap_reason_is_a_plain_sentence():
    code, reason = gap(telling("animal", "direct_causal", "low", role="press"), "human_rct", "conditional_causal")
    assert code == "claim"
    assert reason == "The release says 'direct causal claim' where the paper's abstract makes a 'conditional causal claim'."


def test_study_gaps_use_the_paper_item_first_then_the_work_and_take_the_worst():
    work = {**WORK, "design": "human_rct", "claim_strength": "direct_causal"}
    items = [
        item("p", "journal", WORK["title"], doi=DOI, evidence_stage="animal", claim_strength="conditional_causal"),
        item("r", "press", "R", doi=DOI, evidence_stage="animal", claim_strength="conditional_causal", hype="low"),
        item("n", "news", "N", doi=DOI, evidence_stage="animal", claim_strength="direct_causal", hype="high"),
    ]
    [s] = group(items, {f"doi:{DOI}": work})
    assert (s.design, s.claim_strength) == ("animal", "conditional_causal")  # the paper's own item wins
    gaps = {t.item_id: t.gap for t in s.tellings}
    assert gaps == {"p": None, "r": "none", "n": "stage_claim"}
    assert s.worst_gap == "stage_claim"
    # without the paper's item, the work row's design and claim are the paper's
    [s2] = group(items[1:], {f"doi:{DOI}": work})
    assert (s2.design, s2.claim_strength, s2.paper_item) == ("human_rct", "direct_causal", None)
    assert "record" in s2.tellings[0].gap_reason


def test_thresholds_and_word_lists_are_data():
    cfg = settings()
    assert cfg.window_days > 0 and 0 < cfg.min_title_similarity <= 1
    assert "scube3" in cfg.compounds and "FDA" in cfg.caps_stopwords


# -- the database -------------------------------------------------------------------------------


def _store(db, items: list[dict], works: dict[str, dict]) -> None:
    sync_sources(db, [{"name": name, "url": f"https://example.org/{n}", "kind": "feed", "publisher": "news",
                       "every": 3600, "filter": False, "local": False}
                      for n, name in enumerate(sorted({i["source"] for i in items}))])
    rows = []
    for i in items:
        rows.append({k: i.get(k) for k in ("id", "source", "publisher", "title", "text", "published", "doi", "pmid",
                                           "author", "evidence_stage", "claim_strength", "hype")}
                    | {"nct_ids": json.dumps(i.get("nct_ids") or []), "first_seen_at": i["published"],
                       "fetched_at": i["published"], "content_hash": i["id"], "relevant": 1,
                       "meta": json.dumps({"journal": i.get("journal")})})
    db["items"].insert_all(rows)
    db["citations"].insert_all([{"id": f"{i['id']}:{n}", "item_id": i["id"], "position": n, "kind": k.split(":")[0],
                                 "value": k.split(":", 1)[1], "work_key": k}
                                for i in items for n, k in enumerate(i.get("cites") or [])])
    db["works"].insert_all([{**w, "authors": json.dumps(w.get("authors") or []),
                             "trial": json.dumps(w["trial"]) if w.get("trial") else None} for w in works.values()],
                           alter=False)


def test_database_round_trip_on_a_real_file(tmp_path):
    db = open_db(tmp_path / "hypewatch.db")
    _store(db, ITEMS, WORKS)
    rows = items_for_grouping(db, None)
    assert len(rows) == len(ITEMS) and all("cites" in r for r in rows)
    works = works_for_grouping(db, rows)
    from_db = group(rows, works)
    direct = group(ITEMS, WORKS)
    assert [(s.id, [t.item_id for t in s.tellings]) for s in from_db] == \
           [(s.id, [t.item_id for t in s.tellings]) for s in direct]
    save_studies(db, [s.as_dict() for s in from_db])
    assert db["studies"].count == len(from_db)
    linked = {r["id"]: (r["study_id"], r["coverage_gap"]) for r in db.query(
        "SELECT id, study_id, coverage_gap FROM items WHERE study_id IS NOT NULL")}
    assert linked == {t.item_id: (s.id, t.gap) for s in from_db for t in s.tellings}
    some = from_db[0]
    got = study(db, some.id)
    assert got["telling_count"] == len(some.tellings)
    assert [t["item_id"] for t in got["tellings"]] == [t.item_id for t in some.tellings]
    assert got["tellings"][0]["title"] and got["worst_gap"] == some.worst_gap
    assert study(db, "no-such-study") is None
    # saving again changes nothing
    save_studies(db, [s.as_dict() for s in from_db])
    assert db["study_items"].count == sum(len(s.tellings) for s in from_db)
    db.close()


def test_items_leaving_a_study_are_cleared_and_empty_studies_go(tmp_path):
    db = open_db(tmp_path / "hypewatch.db")
    _store(db, ITEMS, WORKS)
    studies = group(ITEMS, WORKS)
    save_studies(db, [s.as_dict() for s in studies])
    big = max(studies, key=lambda s: len(s.tellings))
    dropped = big.tellings[-1].item_id
    smaller = big.as_dict()
    smaller["tellings"] = smaller["tellings"][:-1]
    save_studies(db, [smaller])
    assert db.execute("SELECT study_id, coverage_gap FROM items WHERE id = ?", [dropped]).fetchone() == (None, None)
    assert db.execute("SELECT tellings FROM studies WHERE id = ?", [big.id]).fetchone()[0] == len(big.tellings) - 1
    # an item moving to another study leaves its old one; a study left empty is deleted
    pair = next(s for s in studies if len(s.tellings) == 2)
    moved = {**pair.as_dict(), "id": "study-moved"}
    save_studies(db, [moved])
    assert db.execute("SELECT count(*) FROM studies WHERE id = ?", [pair.id]).fetchone()[0] == 0
    assert {r[0] for r in db.execute("SELECT study_id FROM items WHERE id IN (?, ?)",
                                     [t.item_id for t in pair.tellings])} == {"study-moved"}
    # a pass that looked at items and found no study for them clears them
    save_studies(db, [], scope=[t.item_id for t in pair.tellings])
    assert db.execute("SELECT count(*) FROM studies WHERE id = 'study-moved'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM items WHERE study_id = 'study-moved'").fetchone()[0] == 0
    with pytest.raises(ValueError):
        save_studies(db, [{"title": "no id"}])
    db.close()


def test_items_for_grouping_is_bounded_and_filtered(tmp_path):
    db = open_db(tmp_path / "hypewatch.db")
    _store(db, ITEMS, WORKS)
    db.execute("UPDATE items SET relevant = 0 WHERE id = 'item-01'")
    rows = items_for_grouping(db, "2025-01-01T00:00:00Z", limit=5)
    assert len(rows) == 5 and all(r["published"] >= "2025-01-01" for r in rows)
    assert "item-01" not in {r["id"] for r in items_for_grouping(db, None)}
    assert items_for_grouping(db, None, limit=0) == []
    db.close()
