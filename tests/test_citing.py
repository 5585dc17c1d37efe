"""The citations job end to end: items harvested from a local feed, their references looked up in a
local stand-in for Crossref, PubMed and ClinicalTrials.gov, judged, and their studies grouped."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from harvester.citing import CHECK_VERSION, CitingSettings, check_citations
from harvester.pipeline import HarvestSettings, harvest
from harvester.works.resolver import ResolverSettings
from tests.conftest import configure
from tests.feeds import rss
from tests.works_server import FakeServices, crossref_search, crossref_work, pubmed_article

PAPER_DOI = "10.5555/jhr.2026.0412"
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)

CLINIC_TEXT = (
    "Our clinic offers adipose-derived stem cell therapy for hair loss. Book a consultation today. "
    "The evidence is strong: a systematic review and meta-analysis of randomized controlled trials found it "
    "restores hair density.\n\nReferences\n"
    "1. Krasnopolsky E, Paul T, Sandhu S, et al. Adipose-derived stem cell therapy for hair loss: a systematic "
    "review and meta-analysis of randomized controlled trials. J Cosmet Dermatol. 2019;18(2):512-520. "
    "doi: 10.1111/jocd.12813.\n"
    "2. Zhang J, Liu X, Li H, et al. Exosomes/tricalcium phosphate combination scaffolds can enhance bone "
    "regeneration by activating the PI3K/Akt signaling pathway. Stem Cells Transl Med. 2017;6(10):1806-1818.\n"
    "3. Ortega M, Lindqvist P. Stem cell secretome restores follicles in androgenetic alopecia. "
    "Dermatol Surg. 2020;46(4):455-463. doi: 10.5555/invented.2020.0001.\n"
)
PAPER_TEXT = ("Topical NBX-7, a WNT activator, induced anagen entry and hair regrowth in telogen-phase mice. "
              "Treated mice regrew hair within 14 days. NBX-7 may promote hair growth; studies in people are "
              f"needed. doi:{PAPER_DOI}")
RELEASE_TEXT = ("University scientists have found a treatment that reverses baldness. NBX-7 regrows hair and "
                f"could soon help millions of people. The study is published in the Journal of Hair Research "
                f"(DOI: {PAPER_DOI}).")


def _items() -> list[dict]:
    return [
        {"title": "Topical NBX-7 induces hair regrowth in telogen-phase mice", "link": "https://j.example/0412",
         "guid": "paper", "date": "2026-11-02T09:00:00+00:00", "summary": PAPER_TEXT},
        {"title": "Breakthrough: NBX-7 reverses baldness", "link": "https://uni.example/nbx7",
         "guid": "release", "date": "2026-11-03T09:00:00+00:00", "summary": RELEASE_TEXT},
        {"title": "Stem cell therapy for hair loss at our clinic", "link": "https://clinic.example/adsc",
         "guid": "clinic", "date": "2026-11-04T09:00:00+00:00", "summary": CLINIC_TEXT},
    ]


@pytest.fixture
def services():
    with FakeServices() as fake:
        fake.crossref_works[PAPER_DOI] = crossref_work(
            PAPER_DOI, "Topical NBX-7 induces hair regrowth in telogen-phase mice", ["Okafor", "Lind"],
            "Journal of Hair Research", 2026,
            abstract="<jats:p>NBX-7 may promote hair regrowth in mice.</jats:p>")
        fake.crossref_works["10.1111/jocd.12813"] = crossref_work(
            "10.1111/jocd.12813", "Adipose-derived stem cell therapy for hair loss: a case series",
            ["Krasnopolsky", "Paul", "Sandhu"], "Journal of Cosmetic Dermatology", 2019)
        fake.pubmed_dois["10.1111/jocd.12813"] = "30000001"
        fake.pubmed_articles["30000001"] = pubmed_article(
            "30000001", "Adipose-derived stem cell therapy for hair loss: a case series", ["Krasnopolsky", "Paul"],
            "Journal of Cosmetic Dermatology", "J Cosmet Dermatol", 2019, doi="10.1111/jocd.12813",
            pub_types=("Journal Article", "Case Reports"), mesh=("Alopecia", "Hair"))
        bone = crossref_work("10.5966/sctm.2017.0012", "Exosomes/tricalcium phosphate combination scaffolds can "
                             "enhance bone regeneration by activating the PI3K/Akt signaling pathway",
                             ["Zhang", "Liu", "Li"], "Stem Cells Translational Medicine", 2017,
                             subject=["Cell Biology", "Developmental Biology"])
        fake.crossref_search.append(("tricalcium", crossref_search([(bone, 88.0)])))
        yield fake


def _settings(fake: FakeServices, **overrides) -> CitingSettings:
    resolver = ResolverSettings(crossref_base=fake.crossref, eutils_base=fake.eutils,
                                clinicaltrials_base=fake.clinicaltrials, allow_private=True,
                                contact_email="team@example.org")
    return CitingSettings(resolver=resolver, **overrides)


def _harvest(httpserver, database) -> None:
    paper, release, clinic = _items()
    sources = []
    for name, publisher, item in (("Journal", "journal", paper), ("University", "press", release),
                                  ("Clinic", "clinic", clinic)):
        httpserver.expect_request(f"/{name}").respond_with_data(rss([item]), content_type="application/rss+xml")
        sources.append({"name": name, "url": httpserver.url_for(f"/{name}"), "publisher": publisher})
    configure(database, *sources)
    harvest(database, include_not_due=True, settings=HarvestSettings(fulltext=False))


def _verdicts(database) -> dict[str, str]:
    return {row["value"]: row["verdict"] for row in database.query("select value, verdict from citations")}


def test_a_clinic_pages_references_are_looked_up_and_judged(httpserver, database, services):
    _harvest(httpserver, database)
    outcome = check_citations(database, _settings(services), now=NOW)
    assert outcome.items == 3 and outcome.flagged >= 3
    verdicts = _verdicts(database)
    assert verdicts["10.1111/jocd.12813"] == "mismatch"  # a case series cited as a meta-analysis of RCTs
    assert verdicts["10.5555/invented.2020.0001"] == "not_found"  # Crossref answers 404
    [bone] = [v for k, v in verdicts.items() if "tricalcium" in k]
    assert bone == "off_topic"  # bone regeneration cited for hair growth
    [matched] = database.query("select * from works where key = 'doi:10.5966/sctm.2017.0012'")  # kept under its DOI
    assert matched["state"] == "found" and "bone" in matched["title"]
    assert verdicts[PAPER_DOI] == "ok"
    clinic = next(database.query("select citation_check, citations_checked from items where title like 'Stem cell%'"))
    assert clinic["citation_check"] == "not_found" and clinic["citations_checked"] == CHECK_VERSION
    reasons = json.loads(next(database.query(
        "select reasons from citations where value = '10.1111/jocd.12813'"))["reasons"])
    assert any("Case Reports" in r or "case" in r.lower() for r in reasons), reasons


def test_the_paper_and_its_release_are_one_study_with_the_releases_gap(httpserver, database, services):
    _harvest(httpserver, database)
    check_citations(database, _settings(services), now=NOW)
    [study] = list(database.query("select * from studies where paper_key = ?", [f"doi:{PAPER_DOI}"]))
    tellings = {row["item_id"]: row for row in database.query(
        "select s.*, i.title from study_items s join items i on i.id = s.item_id where s.study_id = ?", [study["id"]])}
    assert len(tellings) == 2 and study["paper_item"] in tellings  # the journal's own item is the paper
    release = next(t for t in tellings.values() if t["title"].startswith("Breakthrough"))
    assert release["gap"] in ("stage", "claim", "stage_claim") and release["gap_reason"]
    assert next(database.query("select coverage_gap from items where id = ?", [release["item_id"]]))["coverage_gap"] \
        == release["gap"]


def test_a_second_pass_asks_nothing_and_a_service_failure_is_never_an_accusation(httpserver, database, services):
    from tests.works_server import Trouble

    services.trouble["/crossref/works/10.1111"] = [Trouble(status=500, times=50)]
    _harvest(httpserver, database)
    check_citations(database, _settings(services), now=NOW)
    assert _verdicts(database)["10.1111/jocd.12813"] == "unchecked"  # a 500 is not "not found"
    asked = services.count()
    again = check_citations(database, _settings(services), now=NOW)  # nothing new, works fresh or backing off
    assert services.count() == asked and again.works_resolved == 0
    assert again.items >= 1  # the waiting citation was looked at again, without a request


def test_switched_off_it_does_nothing(httpserver, database, services):
    _harvest(httpserver, database)
    outcome = check_citations(database, _settings(services, enabled=False), now=NOW)
    assert outcome.skipped and services.count() == 0
    assert database["citations"].count == 0


def test_an_item_whose_text_changes_is_read_again(httpserver, database, services):
    _harvest(httpserver, database)
    check_citations(database, _settings(services), now=NOW)
    paper, release, clinic = _items()
    clinic["summary"] = CLINIC_TEXT.replace("3. Ortega", "3. Withdrawn reference. 4. Ortega")
    httpserver.clear()
    httpserver.expect_request("/Clinic").respond_with_data(rss([clinic]), content_type="application/rss+xml")
    harvest(database, names=["Clinic"], settings=HarvestSettings(fulltext=False))
    assert next(database.query("select citations_checked from items where title like 'Stem cell%'"))[
        "citations_checked"] is None
    again = check_citations(database, _settings(services), now=NOW)
    assert again.items == 1
