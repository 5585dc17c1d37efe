"""Cited works: Crossref, PubMed and ClinicalTrials.gov answers parsed into Work records, and the works table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from works_server import crossref_search, crossref_work, study

from db import works as works_db
from harvester.works import Work, row_to_work, work_to_row
from harvester.works.crossref import parse_search, parse_work
from harvester.works.model import key_problem, query_key
from harvester.works.pubmed import merge, parse_efetch, parse_esearch
from harvester.works.trials import parse_study, unsupported

FIXTURES = Path(__file__).parent / "fixtures" / "works"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- Crossref ---------------------------------------------------------------------------------


def test_crossref_work_reads_metadata_and_a_retraction_watch_retraction():
    work = parse_work(fixture("crossref-retracted.json"), "doi:10.1111/jocd.99001")
    assert work.state == "found" and work.service == "crossref"
    assert work.doi == "10.1111/jocd.99001"
    assert work.title == "Platelet-rich plasma for androgenetic alopecia: a randomized trial"
    assert work.authors == ["Moreno", "Chen"]
    assert (work.journal, work.journal_abbrev) == ("Journal of Cosmetic Dermatology", "J Cosmet Dermatol")
    assert (work.year, work.published) == (2019, "2019-01-09")
    assert work.abstract == ("Background\nAndrogenetic alopecia is the commonest form of hair loss.\n"
                             "Results\nHair density rose by 12% in the treated group.")
    assert work.keywords == ["Dermatology"]
    assert work.retraction == "retracted"
    kinds = {n["kind"]: n for n in work.notices}
    assert kinds["retraction"] == {"kind": "retraction", "doi": "10.1111/jocd.99777", "date": "2023-11-20",
                                   "source": "retraction-watch", "label": "Retraction"}
    assert kinds["correction"]["source"] == "publisher"


@pytest.mark.parametrize(("name", "status", "kind"), [
    ("crossref-concern.json", "concern", "expression_of_concern"),
    ("crossref-corrected.json", "corrected", "erratum"),
])
def test_crossref_concern_and_correction_notices(name, status, kind):
    work = parse_work(fixture(name), "doi:x")
    assert work.retraction == status
    assert [n["kind"] for n in work.notices] == [kind]


def test_a_retraction_notice_is_not_itself_retracted():
    work = parse_work(fixture("crossref-retraction-notice.json"), "doi:10.1111/jocd.99777")
    assert work.state == "found" and work.retraction is None
    assert work.notices == [{"kind": "notice:retraction", "doi": "10.1111/jocd.99001", "date": "2023-11-20",
                             "source": "publisher", "label": "Retraction"}]


def test_crossref_preprint_and_organisation_authors():
    work = parse_work(fixture("crossref-preprint.json"), "doi:10.1101/2024.01.05.574321")
    assert work.preprint and work.work_type == "posted-content"
    assert work.title == "Dermal papilla organoids regrow human hair follicles"
    corrected = parse_work(fixture("crossref-corrected.json"), "doi:x")
    assert corrected.authors == ["Singh", "LLLT Study Group"] and corrected.year == 2020
    assert corrected.published == "2020"


def test_crossref_search_gives_candidates_with_scores():
    body = crossref_search([(fixture("crossref-retracted.json"), 88.5),
                            (crossref_work("10.5555/b", "Other", ["Li"], "J Other", 2018), 12.0)])
    work = parse_search(body, "query:abc")
    assert work.state == "found" and work.doi is None
    assert [(c["key"], c["score"]) for c in work.candidates] == [("doi:10.1111/jocd.99001", 88.5), ("doi:10.5555/b", 12.0)]
    assert work.candidates[0]["authors"] == ["Moreno", "Chen"] and work.candidates[0]["retraction"] == "retracted"


def test_crossref_empty_search_is_not_found():
    body = json.dumps({"status": "ok", "message-type": "work-list", "message": {"items": [], "total-results": 0}})
    work = parse_search(body.encode(), "query:abc")
    assert work.state == "not_found" and "no work" in work.error


@pytest.mark.parametrize("body", [b'{"status":"ok","message-type":"work","mess', b"", b"<html>oops</html>", b"[1, 2]",
                                  b'{"status":"error","message":[{"type":"x"}]}', b'{"status":"ok","message":"x"}'])
def test_crossref_garbage_is_an_error_with_one_line(body):
    for parse in (parse_work, parse_search):
        work = parse(body, "doi:10.1/x")
        assert work.state == "error"
        assert work.error and "\n" not in work.error


# -- PubMed -----------------------------------------------------------------------------------


def test_efetch_reads_pub_types_mesh_and_notices():
    works, error = parse_efetch(fixture("pubmed-efetch-notices.xml"))
    assert error is None and set(works) == {"31000001", "32000002"}
    rct = works["31000001"]
    assert rct.key == "pmid:31000001" and rct.doi == "10.1111/jocd.99001" and rct.pmcid == "PMC6500001"
    assert rct.title == "Platelet-rich plasma for androgenetic alopecia: a randomized trial"
    assert (rct.journal_abbrev, rct.year, rct.authors) == ("J Cosmet Dermatol", 2019, ["Moreno", "Chen"])
    assert "Randomized Controlled Trial" in rct.pub_types and rct.mesh == ["Alopecia", "Humans", "Platelet-Rich Plasma"]
    assert rct.retraction == "retracted"
    assert {n["kind"] for n in rct.notices} == {"retraction", "erratum"}
    assert next(n for n in rct.notices if n["kind"] == "retraction")["doi"] == "10.1111/jocd.99777"
    assert works["32000002"].retraction == "concern"


def test_efetch_garbage_is_an_error():
    works, error = parse_efetch(b"<PubmedArticleSet><PubmedArticle><MedlineCit")
    assert works == {} and "unreadable XML" in error
    works, error = parse_efetch(b'<?xml version="1.0"?><eFetchResult><ERROR>Empty id list</ERROR></eFetchResult>')
    assert works == {} and "Empty id list" in error


def test_esearch_json_and_errors():
    body = json.dumps({"esearchresult": {"count": "2", "idlist": ["31000001", "x", "32000002"]}}).encode()
    assert parse_esearch(body) == (["31000001", "32000002"], None)
    assert parse_esearch(b'{"esearchresult": {"ERROR": "bad term"}}')[1].startswith("PubMed esearch answered no idlist")
    assert parse_esearch(b'{"esearchresult": {"idl')[1]


def test_merge_keeps_crossref_and_adds_pubmed():
    cr = parse_work(fixture("crossref-concern.json"), "doi:10.5555/skin.2021.0042")
    cr.abstract = None
    pm = parse_efetch(fixture("pubmed-efetch-notices.xml"))[0]["32000002"]
    merged = merge(cr, pm)
    assert merged.key == "doi:10.5555/skin.2021.0042" and merged.service == "crossref"
    assert merged.title == cr.title and merged.pmid == "32000002"
    assert merged.mesh == ["Hair", "Mice", "Exosomes"] and merged.pub_types == ["Journal Article"]
    # the same expression of concern from both services counts once
    assert [n["kind"] for n in merged.notices] == ["expression_of_concern"]
    assert merged.retraction == "concern"


# -- ClinicalTrials.gov -------------------------------------------------------------------------


def test_study_record_to_trial_work():
    work = parse_study(study("NCT01234567", "Baricitinib in alopecia areata", phase="PHASE3", enrollment=546),
                       "nct:NCT01234567")
    assert (work.state, work.service, work.work_type, work.nct) == ("found", "clinicaltrials", "trial", "NCT01234567")
    assert work.year == 2021 and work.keywords == ["Alopecia Areata"]
    assert work.trial["phase"] == "phase 3" and work.trial["enrollment"] == 546
    assert work.trial["has_results"] is True and work.trial["status"] == "completed"
    assert work.trial["sponsor"] == "Example Pharma"
    assert work.trial["interventions"] == [{"type": "drug", "name": "Baricitinib"}]


def test_a_single_arm_study_keeps_its_design():
    """Allocation "NA" (one arm) is the design of a cited trial: the checker needs it to see an RCT claim fail."""
    import json

    from harvester.citecheck import work_design

    record = json.loads(study("NCT01234567", "Exosome injections for hair loss"))
    record["protocolSection"]["designModule"]["designInfo"] = {"allocation": "NA", "interventionModel": "SINGLE_GROUP"}
    work = parse_study(json.dumps(record).encode(), "nct:NCT01234567")
    assert work.trial["allocation"] == "single_group"
    assert work_design(work) == ("human_uncontrolled", "trial record")
    assert parse_study(study("NCT01234567", "Baricitinib"), "nct:NCT01234567").trial["allocation"] == "randomized"


def test_study_garbage_and_other_registries():
    assert parse_study(b'{"protocolSection": {"identif', "nct:NCT01234567").state == "error"
    assert parse_study(b'{"studies": []}', "nct:NCT01234567").state == "error"
    work = unsupported("isrctn:ISRCTN12345678")
    assert work.state == "unsupported" and "ISRCTN" in work.error


# -- keys and rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "ok"), [
    ("doi:10.1111/jocd.12813", True), ("doi:10.1/x", False), ("doi:doi.org/10.1111/x", False),
    ("pmid:31234567", True), ("pmid:0123", False), ("pmid:12a", False), ("pmcid:PMC123", True),
    ("nct:NCT01234567", True), ("nct:NCT123", False), ("isrctn:ISRCTN12345678", True),
    ("eudract:2004-001234-12", True), ("query:" + "a" * 40, True), ("arxiv:1234", False), ("", False),
])
def test_malformed_keys_are_named(key, ok):
    assert (key_problem(key) is None) is ok


def test_query_key_normalises_the_citation():
    assert query_key("Tawfik MA et al.  Stem Cells Transl Med. 2018") == query_key("tawfik ma et al stem cells transl med 2018")
    assert query_key("a").startswith("query:") and len(query_key("a")) == 46


def test_row_round_trip():
    work = parse_work(fixture("crossref-retracted.json"), "doi:10.1111/jocd.99001")
    work.next_check_at, work.errors, work.etag = "2030-01-01T00:00:00Z", 0, '"v1"'
    row = work_to_row(work)
    assert isinstance(row["authors"], str) and row["preprint"] == 0
    assert row_to_work(row) == work


# -- db/works.py --------------------------------------------------------------------------------


def test_save_read_and_due(database):
    now = datetime(2025, 1, 10, tzinfo=UTC)
    fresh = parse_work(fixture("crossref-retracted.json"), "doi:10.1111/jocd.99001")
    fresh.next_check_at = "2025-02-01T00:00:00Z"
    due = Work(key="pmid:1", service="pubmed", state="error", error="HTTP 500", errors=2,
               next_check_at="2025-01-09T00:00:00Z")
    works_db.save_works(database, [work_to_row(fresh), work_to_row(due)])
    keys = ["doi:10.1111/jocd.99001", "pmid:1", "nct:NCT00000001"]
    assert works_db.works_needing_fetch(database, keys, now) == ["pmid:1", "nct:NCT00000001"]
    assert works_db.works_needing_fetch(database, keys, now + timedelta(days=40)) == keys
    cached = works_db.cached_works(database, keys)
    assert set(cached) == {"doi:10.1111/jocd.99001", "pmid:1"}
    assert cached["doi:10.1111/jocd.99001"]["authors"] == ["Moreno", "Chen"]
    assert cached["doi:10.1111/jocd.99001"]["notices"][1]["source"] == "retraction-watch"
    assert row_to_work(cached["doi:10.1111/jocd.99001"]) == fresh


def test_save_keeps_the_checkers_columns_and_is_one_transaction(database):
    work = Work(key="doi:10.5555/a", service="crossref", state="found", title="A")
    works_db.save_works(database, [work_to_row(work)])
    database.execute("UPDATE works SET design = 'rct', design_source = 'publication types'")
    work.title = "A, revised"
    works_db.save_works(database, [work_to_row(work)])
    row = works_db.cached_works(database, ["doi:10.5555/a"])["doi:10.5555/a"]
    assert (row["title"], row["design"], row["design_source"]) == ("A, revised", "rct", "publication types")
    with pytest.raises(Exception):
        works_db.save_works(database, [{"key": "doi:10.5555/b", "service": "crossref", "state": "found"},
                                       {"key": "doi:10.5555/c", "service": None, "state": "found"}])
    assert works_db.cached_works(database, ["doi:10.5555/b"]) == {}


def test_many_keys_and_bad_json(database):
    keys = [f"pmid:{i}" for i in range(1, 1201)]
    works_db.save_works(database, [{"key": k, "service": "pubmed", "state": "not_found",
                                    "next_check_at": "2999-01-01T00:00:00Z"} for k in keys])
    assert works_db.works_needing_fetch(database, keys, datetime(2025, 1, 1, tzinfo=UTC)) == []
    database.execute("UPDATE works SET mesh = '[broken' WHERE key = 'pmid:5'")
    assert works_db.cached_works(database, ["pmid:5"])["pmid:5"]["mesh"] is None
    assert len(works_db.cached_works(database, keys)) == 1200
