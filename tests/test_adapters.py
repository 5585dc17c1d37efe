"""API adapters: Europe PMC, ClinicalTrials.gov v2 and PubMed E-utilities responses to entries (no network)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from harvester.apis.base import Adapter, FollowUp
from harvester.apis.clinicaltrials import ClinicalTrialsAdapter, _phase_words
from harvester.apis.europepmc import EuropePMCAdapter
from harvester.apis.fields import MAX_AUTHORS, iso_date
from harvester.apis.pubmed import MAX_EFETCH_IDS, PubMedAdapter, _medline_date, efetch_url
from harvester.parse import Entry, FeedParseError, ParsedFeed
from harvester.parsers import ADAPTERS

FIXTURES = Path(__file__).parent / "fixtures" / "api"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

EPMC_URL = ("https://www.ebi.ac.uk/europepmc/webservices/rest/search?query=%22androgenetic%20alopecia%22"
            "&format=json&resultType=core&pageSize=4&sort=FIRST_PDATE%20desc")
CTGOV_URL = "https://clinicaltrials.gov/api/v2/studies?query.cond=androgenetic+alopecia&sort=LastUpdatePostDate:desc"
ESEARCH_URL = ("https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi?db=pubmed&term=androgenetic+alopecia"
               "&retmode=json&retmax=3&sort=pub_date&api_key=0123456789abcdef0123456789abcdef01&tool=hypewatch"
               "&email=ops%40hypewatch.example")
EFETCH_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?db=pubmed&id=39811507,39722148,39633091&retmode=xml"
JSON_HEADERS = {"content-type": "application/json;charset=UTF-8"}
XML_HEADERS = {"content-type": "text/xml; charset=UTF-8"}


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(kind: str, name_or_bytes: str | bytes, *, url: str = "https://api.example.org/x",
          headers: dict[str, str] | None = None) -> ParsedFeed | FollowUp:
    data = body(name_or_bytes) if isinstance(name_or_bytes, str) else name_or_bytes
    return ADAPTERS[kind].parse(data, url=url, headers=headers if headers is not None else JSON_HEADERS)


def feed(kind: str, name_or_bytes: str | bytes, **kwargs: object) -> ParsedFeed:
    result = parse(kind, name_or_bytes, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, ParsedFeed), result
    return result


def by_url(parsed: ParsedFeed) -> dict[str, Entry]:
    return {e.url: e for e in parsed.entries if e.url}


def parse_error(kind: str, name_or_bytes: str | bytes, **kwargs: object) -> FeedParseError:
    with pytest.raises(FeedParseError) as info:
        parse(kind, name_or_bytes, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    assert "Traceback" not in message
    return info.value


# --- registry -----------------------------------------------------------------------------


def test_registry_has_one_adapter_per_api_kind_of_sources_toml() -> None:
    assert set(ADAPTERS) == {"europepmc", "clinicaltrials", "pubmed"}
    assert isinstance(ADAPTERS["europepmc"], EuropePMCAdapter)
    assert isinstance(ADAPTERS["clinicaltrials"], ClinicalTrialsAdapter)
    assert isinstance(ADAPTERS["pubmed"], PubMedAdapter)
    for name, adapter in ADAPTERS.items():
        assert isinstance(adapter, Adapter)
        assert adapter.name == name
        assert "json" in adapter.accept


def test_every_kind_of_sources_toml_has_one_parser() -> None:
    from harvester.parse import parse_feed
    from harvester.parsers import PARSERS
    from harvester.sources import KINDS

    assert tuple(PARSERS) == KINDS
    assert PARSERS["feed"] is parse_feed
    assert all(PARSERS[kind] == adapter.parse for kind, adapter in ADAPTERS.items())


def test_every_entry_of_every_fixture_is_well_formed() -> None:
    """Shared invariants: UTC dates, http(s) URLs, our own escaped HTML only, plain-text titles."""
    parsed = [
        feed("europepmc", "europepmc_search_core.json"),
        feed("europepmc", "europepmc_search_lite.json"),
        feed("clinicaltrials", "clinicaltrials_v2_studies.json"),
        feed("clinicaltrials", "clinicaltrials_v2_single.json"),
        feed("pubmed", "pubmed_efetch.xml", headers=XML_HEADERS),
    ]
    entries = [e for p in parsed for e in p.entries]
    assert len(entries) == 12
    for entry in entries:
        assert entry.url and entry.url.startswith("https://")
        assert entry.guid
        assert entry.title and "<" not in entry.title and "  " not in entry.title
        for value in (entry.published, entry.updated):
            assert value is None or ISO_UTC.match(value), value
        assert entry.published, entry.url
        if entry.summary_html is not None:
            assert set(re.findall(r"</?([a-z0-9]+)", entry.summary_html)) == {"p"}
        for text in (entry.summary, entry.text):
            assert not re.search(r"<(?:i|b|sup|sub|h4|p)>", text)
        assert json.loads(json.dumps(entry.meta)) == entry.meta, "meta is stored as JSON"
        assert isinstance(entry.nct_ids, list)


# --- Europe PMC ---------------------------------------------------------------------------


def test_europepmc_rct_maps_every_field() -> None:
    parsed = feed("europepmc", "europepmc_search_core.json", url=EPMC_URL)
    assert parsed.title == 'Europe PMC: "androgenetic alopecia"'
    assert parsed.link == "https://europepmc.org/"
    assert parsed.warning is None
    assert [e.url for e in parsed.entries] == [
        "https://europepmc.org/article/MED/40112233",
        "https://europepmc.org/article/MED/39987654",
        "https://europepmc.org/article/PPR/PPR945120",
        "https://europepmc.org/article/MED/38870001",
    ]
    rct = parsed.entries[0]
    assert rct.guid == rct.url
    assert rct.title.startswith("Low-dose oral minoxidil versus topical minoxidil 5% in men")
    assert rct.author is not None and rct.author.startswith("Moreno-Vázquez L, Okafor CN, Lindqvist A")
    assert rct.author.endswith(", et al.") and rct.author.count(",") == MAX_AUTHORS
    assert rct.published == "2025-01-20T00:00:00Z"  # firstPublicationDate, not the print date
    assert rct.updated == "2025-04-02T00:00:00Z"
    assert rct.doi == "10.1111/jdv.20517"  # lower-cased
    assert rct.pmid == "40112233"
    assert rct.nct_ids == ["NCT05203185"]  # trial registration found in the abstract
    assert rct.meta == {
        "publication_types": ["Randomized Controlled Trial", "Journal Article"],
        "journal": "Journal of the European Academy of Dermatology and Venereology : JEADV",
        "europepmc_source": "MED",
        "preprint": False,
        "retracted": False,
    }


def test_europepmc_abstract_headings_become_labelled_plain_lines() -> None:
    rct = feed("europepmc", "europepmc_search_core.json").entries[0]
    lines = rct.summary.split("\n")
    assert [line.split(":")[0] for line in lines] == ["Background", "Objectives", "Methods", "Results", "Conclusions"]
    assert "2.5 mg oral minoxidil" in rct.summary  # &nbsp; decoded to a space
    assert "hairs/cm2" in rct.summary and "<sup>" not in rct.summary
    assert "p<0.05 for non-inferiority" in rct.text  # a bare "<" is text, not a tag
    assert rct.text == rct.summary
    assert rct.summary_html is not None
    assert rct.summary_html.startswith("<p>Background: Oral minoxidil")
    assert rct.summary_html.count("<p>") == 5
    assert "p&lt;0.05" in rct.summary_html and "<h4>" not in rct.summary_html


def test_europepmc_meta_analysis_keeps_publication_types_and_pmcid() -> None:
    meta_analysis = by_url(feed("europepmc", "europepmc_search_core.json"))[
        "https://europepmc.org/article/MED/39987654"]
    assert meta_analysis.meta["publication_types"] == [
        "Meta-Analysis", "Systematic Review", "review-article", "Journal Article"]
    assert meta_analysis.meta["pmcid"] == "PMC11876543"
    assert meta_analysis.author == "Kowalczyk A, Hassan M, Ferreira JL"  # trailing period dropped
    assert meta_analysis.published == "2025-01-15T00:00:00Z"
    assert meta_analysis.summary.startswith("Background: Platelet-rich plasma (PRP) injections")
    assert "(I2 = 87%)" in meta_analysis.summary
    assert meta_analysis.nct_ids == []


def test_europepmc_mouse_preprint() -> None:
    preprint = by_url(feed("europepmc", "europepmc_search_core.json"))["https://europepmc.org/article/PPR/PPR945120"]
    assert preprint.title == "Topical Wnt10b mRNA lipid nanoparticles restore anagen entry in DHT-treated C57BL/6 mice"
    assert preprint.pmid is None  # preprints have no PMID; the PPR id is not one
    assert preprint.doi == "10.1101/2025.01.09.632140"
    assert preprint.meta["preprint"] is True
    assert preprint.meta["europepmc_source"] == "PPR"
    assert preprint.meta["publication_types"] == ["Preprint"]
    assert "in mice" in preprint.text and "not been tested in humans" in preprint.text
    assert preprint.updated is None


def test_europepmc_record_without_abstract_or_dates_falls_back_to_pub_year() -> None:
    erratum = by_url(feed("europepmc", "europepmc_search_core.json"))["https://europepmc.org/article/MED/38870001"]
    assert erratum.published == "2024-01-01T00:00:00Z"
    assert erratum.summary == "" and erratum.text == "" and erratum.summary_html is None
    assert erratum.author is None
    assert erratum.doi is None
    assert erratum.meta["publication_types"] == ["Published Erratum"]


def test_europepmc_lite_results_work_but_warn_about_missing_abstracts() -> None:
    parsed = feed("europepmc", "europepmc_search_lite.json")
    (entry,) = parsed.entries
    assert entry.meta["publication_types"] == ["journal article", "clinical trial, phase iii"]
    assert entry.meta["journal"] == "JAMA Dermatol"
    assert entry.published == "2025-01-01T00:00:00Z"  # "2025-01": first of the month
    assert entry.doi == "10.1001/jamadermatol.2024.5521"
    assert parsed.warning is not None and "resultType=core" in parsed.warning


def test_europepmc_doi_from_full_text_links_when_the_field_is_missing() -> None:
    data = json.loads(body("europepmc_search_core.json"))
    del data["resultList"]["result"][0]["doi"]
    entry = feed("europepmc", json.dumps(data).encode()).entries[0]
    assert entry.doi == "10.1111/jdv.20517"


def test_europepmc_empty_search_is_not_an_error() -> None:
    parsed = feed("europepmc", "europepmc_search_empty.json")
    assert parsed.entries == []
    assert parsed.warning == "search matched no articles"


def test_europepmc_skips_results_without_an_id_but_keeps_the_rest() -> None:
    data = json.loads(body("europepmc_search_core.json"))
    data["resultList"]["result"][1].pop("id")
    data["resultList"]["result"][2]["source"] = "../../evil"
    data["resultList"]["result"].append("not an object")
    parsed = feed("europepmc", json.dumps(data).encode())
    assert len(parsed.entries) == 2
    assert parsed.warning == "skipped 3 of 5 results without an id or source"


def test_europepmc_error_payload_names_the_api_message_and_the_fix() -> None:
    error = parse_error("europepmc", "errors/europepmc_error.json")
    message = str(error)
    assert message.startswith("Europe PMC: response has no resultList: Syntax error in query: unbalanced parenthesis")
    assert "(got keys: version, hitCount, request, errorMessage)" in message
    assert "check the query URL in sources.toml" in message


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"[]", "Europe PMC: response is a JSON list, not a search result object"),
        (b'{"resultList": {"result": {"id": 1}}}', "Europe PMC: resultList.result is not a list"),
        (b'{"resultList": {"result": [{"title": "no id"}]}}', "Europe PMC: none of the 1 results has an id and source"),
        (b"", "Europe PMC: response is empty, not JSON"),
        (b"<responseWrapper><version>6.9</version></responseWrapper>", "add format=json to the query URL"),
    ],
)
def test_europepmc_unexpected_shapes(payload: bytes, expected: str) -> None:
    assert expected in str(parse_error("europepmc", payload))


def test_europepmc_html_error_page() -> None:
    message = str(parse_error("europepmc", "errors/gateway_error.html", headers={"Content-Type": "text/html"}))
    assert message.startswith("Europe PMC: response is an HTML page (text/html), not JSON;")


def test_malformed_json_is_one_chained_error() -> None:
    error = parse_error("europepmc", "errors/truncated.json")
    assert str(error).startswith("Europe PMC: malformed response (JSONDecodeError: Unterminated string")
    assert isinstance(error.__cause__, json.JSONDecodeError)


def test_json_with_byte_order_mark_is_read() -> None:
    parsed = feed("europepmc", b"\xef\xbb\xbf" + body("europepmc_search_empty.json"))
    assert parsed.warning == "search matched no articles"


# --- ClinicalTrials.gov v2 ----------------------------------------------------------------


def test_clinicaltrials_recruiting_phase2_trial() -> None:
    parsed = feed("clinicaltrials", "clinicaltrials_v2_studies.json", url=CTGOV_URL)
    assert parsed.title == "ClinicalTrials.gov"
    assert parsed.warning is None
    assert [e.nct_ids[0] for e in parsed.entries] == ["NCT06650111", "NCT04811222", "NCT06702333"]
    trial = parsed.entries[0]
    assert trial.url == "https://clinicaltrials.gov/study/NCT06650111"
    assert trial.guid == trial.url
    assert trial.title == "Topical CSB-204 Solution in Men With Androgenetic Alopecia"
    assert trial.author == "Capillis Biotherapeutics, Inc."
    assert trial.published == "2024-10-21T00:00:00Z"  # first posted
    assert trial.updated == "2025-02-05T00:00:00Z"  # last update posted
    assert trial.nct_ids == ["NCT06650111"]
    assert trial.doi is None and trial.pmid is None
    assert trial.meta == {
        "trial_status": "recruiting",
        "trial_phase": "phase 2",
        "trial_phases": ["PHASE2"],
        "has_results": False,
        "study_type": "interventional",
        "allocation": "randomized",
        "masking": "double",
        "enrollment": 120,
        "enrollment_type": "estimated",
        "sponsor": "Capillis Biotherapeutics, Inc.",
        "sponsor_class": "industry",
        "interventions": [{"type": "drug", "name": "CSB-204 topical solution"},
                          {"type": "drug", "name": "Vehicle solution"}],
        "conditions": ["Androgenetic Alopecia"],
        "start_date": "2024-11-18T00:00:00Z",
        "primary_completion_date": "2026-03-01T00:00:00Z",
    }


def test_clinicaltrials_text_states_what_the_record_is_in_plain_words() -> None:
    trial = feed("clinicaltrials", "clinicaltrials_v2_studies.json").entries[0]
    first_line = trial.text.split("\n")[0]
    assert first_line == (
        "Randomized, double-blind, phase 2 interventional study, recruiting, 120 participants planned; "
        "sponsor: Capillis Biotherapeutics, Inc. (industry). "
        "Interventions: Drug: CSB-204 topical solution; Drug: Vehicle solution. "
        "Conditions: Androgenetic Alopecia. No results posted."
    )
    assert trial.summary.split("\n") == [
        first_line,
        trial.summary.split("\n")[1],
    ] and trial.summary.split("\n")[1].startswith("The purpose of this study is to evaluate")
    # The full text adds the official title and the detailed description, Markdown escapes removed.
    assert "A Phase 2, Randomized, Double-Blind, Vehicle-Controlled" in trial.text
    assert "(Norwood-Hamilton >= III vertex)" in trial.text and "\\>" not in trial.text
    assert trial.summary_html is not None and trial.summary_html.startswith("<p>Randomized, double-blind, phase 2")


def test_clinicaltrials_completed_phase3_with_results() -> None:
    trial = by_url(feed("clinicaltrials", "clinicaltrials_v2_studies.json"))[
        "https://clinicaltrials.gov/study/NCT04811222"]
    assert trial.meta["trial_status"] == "completed"
    assert trial.meta["trial_phase"] == "phase 3"
    assert trial.meta["has_results"] is True
    assert trial.meta["results_first_posted"] == "2024-09-04T00:00:00Z"
    assert trial.meta["enrollment"] == 412 and trial.meta["enrollment_type"] == "actual"
    assert trial.meta["masking"] == "triple"
    assert trial.meta["sponsor_class"] == "other"
    assert trial.meta["result_pmids"] == ["39455667"]  # the results paper, not the background one
    assert trial.text.startswith(
        "Randomized, triple-blind, phase 3 interventional study, completed, 412 participants; "
        "sponsor: University Medical Center Groningen. ")
    assert "Results posted on ClinicalTrials.gov on 2024-09-04." in trial.summary
    assert "(industry)" not in trial.summary


def test_clinicaltrials_observational_registry() -> None:
    study = by_url(feed("clinicaltrials", "clinicaltrials_v2_studies.json"))[
        "https://clinicaltrials.gov/study/NCT06702333"]
    assert study.text.startswith(
        "Prospective observational study (cohort), not yet recruiting, 300 participants planned; "
        "sponsor: Seoul National University Hospital. Conditions: Alopecia Areata. No results posted.")
    assert "trial_phase" not in study.meta and "allocation" not in study.meta and "interventions" not in study.meta
    assert study.meta["study_type"] == "observational"
    assert study.meta["start_date"] == "2025-03-01T00:00:00Z"  # "2025-03": first of the month
    assert study.nct_ids == ["NCT06702333", "NCT03570749"]  # own id first, then trials it cites


def test_clinicaltrials_single_study_object() -> None:
    parsed = feed("clinicaltrials", "clinicaltrials_v2_single.json",
                  url="https://clinicaltrials.gov/api/v2/studies/NCT05990444")
    (study,) = parsed.entries
    assert study.url == "https://clinicaltrials.gov/study/NCT05990444"
    assert study.meta["trial_phase"] == "phase 1/2"
    assert study.meta["trial_status"] == "terminated"
    assert study.meta["why_stopped"] == "Sponsor decision (business reasons)."
    assert "allocation" not in study.meta  # "NA": single arm
    assert study.meta["masking"] == "none"
    assert study.meta["interventions"][0] == {"type": "biological", "name": "FL-DPC autologous dermal papilla cells"}
    assert study.text.startswith(
        "Open-label, phase 1/2 interventional study, terminated, 7 participants; sponsor: Follicle Labs GmbH "
        "(industry). Stopped: Sponsor decision (business reasons). Interventions: Biological: FL-DPC autologous "
        "dermal papilla cells; Procedure: Scalp punch biopsy.")


def test_clinicaltrials_empty_page_is_not_an_error() -> None:
    parsed = feed("clinicaltrials", "clinicaltrials_v2_empty.json")
    assert parsed.entries == [] and parsed.warning == "search matched no studies"


def test_clinicaltrials_skips_studies_without_valid_nct_id() -> None:
    data = json.loads(body("clinicaltrials_v2_studies.json"))
    data["studies"][0]["protocolSection"]["identificationModule"]["nctId"] = "NCT123"
    data["studies"][1]["protocolSection"] = ["not", "a", "module"]
    data["studies"].append(None)
    parsed = feed("clinicaltrials", json.dumps(data).encode())
    assert [e.nct_ids[0] for e in parsed.entries] == ["NCT06702333"]
    assert parsed.warning == "skipped 3 of 4 studies without a valid NCT id"


def test_clinicaltrials_wrongly_typed_fields_are_ignored_not_fatal() -> None:
    study = {"protocolSection": {
        "identificationModule": {"nctId": "nct06650111", "briefTitle": 42},
        "statusModule": {"overallStatus": None, "studyFirstPostDateStruct": {"date": "not a date"}},
        "designModule": {"phases": "PHASE2", "enrollmentInfo": {"count": "120"}, "designInfo": []},
        "armsInterventionsModule": {"interventions": [{"name": None}, "x"]},
        "conditionsModule": {"conditions": [None, "Alopecia"]},
    }, "hasResults": "no"}
    (entry,) = feed("clinicaltrials", json.dumps(study).encode()).entries
    assert entry.nct_ids == ["NCT06650111"]
    assert entry.title == "NCT06650111"
    assert entry.published is None
    assert entry.meta == {"has_results": False, "conditions": ["Alopecia"]}  # only JSON true means results


def test_clinicaltrials_retired_v1_api_says_to_switch_to_v2() -> None:
    message = str(parse_error("clinicaltrials", "errors/clinicaltrials_v1.json"))
    assert message.startswith("ClinicalTrials.gov: this is the retired classic API (v1) format;")
    assert "https://clinicaltrials.gov/api/v2/studies" in message


@pytest.mark.parametrize(
    ("payload", "headers", "expected"),
    [
        (b"unknown parameter 'query.xyz'", {"content-type": "text/plain"},
         "ClinicalTrials.gov: response is plain text (text/plain), not JSON"),
        (b'{"message": "Study not found", "code": 404}', {},
         "ClinicalTrials.gov: response has neither studies nor protocolSection: Study not found "
         "(got keys: message, code)"),
        (b'["NCT06650111"]', {}, "ClinicalTrials.gov: response is a JSON list, not a studies object"),
        (b'{"studies": [{"protocolSection": {}}]}', {}, "ClinicalTrials.gov: none of the 1 studies has a valid NCT id"),
        (b"[" * 100_000, {}, "ClinicalTrials.gov: malformed response"),
    ],
)
def test_clinicaltrials_unexpected_shapes(payload: bytes, headers: dict[str, str], expected: str) -> None:
    message = str(parse_error("clinicaltrials", payload, headers=headers))
    assert message.startswith(expected)
    assert "check the query URL in sources.toml" in message


def test_phase_words() -> None:
    assert _phase_words(["PHASE2", "PHASE3"]) == "phase 2/3"
    assert _phase_words(["EARLY_PHASE1"]) == "early phase 1"
    assert _phase_words(["PHASE4"]) == "phase 4"
    assert _phase_words(["NA"]) is None
    assert _phase_words([]) is None


# --- PubMed: esearch ----------------------------------------------------------------------


def test_pubmed_esearch_returns_follow_up_to_efetch_on_the_same_host() -> None:
    result = parse("pubmed", "pubmed_esearch.json", url=ESEARCH_URL)
    assert isinstance(result, FollowUp)
    parts = urlsplit(result.url)
    assert parts.scheme == "https" and parts.netloc == "eutils.ncbi.nlm.nih.gov"
    assert parts.path == "/entrez/eutils/efetch.fcgi"
    assert "id=39811507,39722148,39633091" in parts.query  # comma-joined, in search order
    query = parse_qs(parts.query)
    assert query == {
        "db": ["pubmed"],
        "id": ["39811507,39722148,39633091"],
        "retmode": ["xml"],
        "api_key": ["0123456789abcdef0123456789abcdef01"],
        "tool": ["hypewatch"],
        "email": ["ops@hypewatch.example"],
    }  # the search's own term/retmax/sort do not carry over


def test_efetch_url_keeps_a_local_prefix_and_needs_no_key() -> None:
    url = efetch_url("http://127.0.0.1:8765/mirror/entrez/eutils/esearch.fcgi?db=pubmed&term=hair", ["1", "22"])
    assert url == "http://127.0.0.1:8765/mirror/entrez/eutils/efetch.fcgi?db=pubmed&id=1,22&retmode=xml"


def test_pubmed_esearch_xml_also_works() -> None:
    result = parse("pubmed", "pubmed_esearch.xml", url=ESEARCH_URL, headers=XML_HEADERS)
    assert isinstance(result, FollowUp)
    assert parse_qs(urlsplit(result.url).query)["id"] == ["39811507,39722148"]


def test_pubmed_step_is_decided_by_content_not_url() -> None:
    # An esearch body at an efetch-looking URL is still a search; an efetch body at the search URL is records.
    assert isinstance(parse("pubmed", "pubmed_esearch.json", url=EFETCH_URL), FollowUp)
    assert isinstance(parse("pubmed", "pubmed_efetch.xml", url=ESEARCH_URL, headers={}), ParsedFeed)


def test_pubmed_empty_search_is_an_empty_feed_with_a_warning() -> None:
    result = parse("pubmed", "pubmed_esearch_empty.json", url=ESEARCH_URL)
    assert result == ParsedFeed(title="PubMed", link="https://pubmed.ncbi.nlm.nih.gov/", entries=[],
                                warning="search matched no articles")


def test_pubmed_esearch_ids_are_validated_and_capped() -> None:
    ids = ["1&db=pmc", *[str(40_000_000 + i) for i in range(MAX_EFETCH_IDS + 50)]]
    payload = json.dumps({"esearchresult": {"count": "999", "idlist": ids}}).encode()
    result = parse("pubmed", payload, url=ESEARCH_URL)
    assert isinstance(result, FollowUp)
    fetched = parse_qs(urlsplit(result.url).query)["id"][0].split(",")
    assert len(fetched) == MAX_EFETCH_IDS
    assert fetched[0] == "40000000" and all(i.isdigit() for i in fetched)
    assert parse_qs(urlsplit(result.url).query)["db"] == ["pubmed"]


def test_pubmed_esearch_error_payloads() -> None:
    message = str(parse_error("pubmed", "errors/esearch_error.json"))
    assert message.startswith('PubMed: esearch returned an error: Invalid query: unmatched quote in term "androgenetic')
    assert "check the esearch URL in sources.toml" in message

    message = str(parse_error("pubmed", "errors/eutils_api_key_error.json"))
    assert message.startswith("PubMed: response has no esearchresult: API key invalid")
    assert "d41d8cd98f00b204e9800998ecf8427e" not in message  # never echo a key

    message = str(parse_error("pubmed", b'{"esearchresult": {"count": "3"}}'))
    assert "esearchresult has no idlist" in message

    message = str(parse_error("pubmed", b'{"esearchresult": {"idlist": ["x", "y"]}}'))
    assert "esearch returned no valid PMIDs" in message


# --- PubMed: efetch -----------------------------------------------------------------------


def test_pubmed_efetch_rct_with_structured_abstract() -> None:
    parsed = feed("pubmed", "pubmed_efetch.xml", url=EFETCH_URL, headers=XML_HEADERS)
    assert parsed.title == "PubMed" and parsed.link == "https://pubmed.ncbi.nlm.nih.gov/"
    assert parsed.warning is None
    assert [e.pmid for e in parsed.entries] == ["39811507", "39722148", "39633091"]
    rct = parsed.entries[0]
    assert rct.url == "https://pubmed.ncbi.nlm.nih.gov/39811507/"
    assert rct.guid == "pubmed:39811507"  # the guid PubMed's own RSS uses
    assert rct.title == ("Low-dose oral minoxidil versus topical minoxidil 5% in men with androgenetic alopecia: "
                         "a randomized, double-blind, non-inferiority trial.")
    assert rct.published == "2025-01-14T00:00:00Z"  # electronic ArticleDate before the April issue
    assert rct.updated == "2025-02-11T00:00:00Z"  # DateRevised
    assert rct.doi == "10.1111/jdv.20517"  # ELocationID doi, not the pii
    assert rct.nct_ids == ["NCT05203185"]  # DataBank and abstract agree: once
    assert rct.meta == {
        "publication_types": ["Journal Article", "Randomized Controlled Trial"],
        "journal": "Journal of the European Academy of Dermatology and Venereology : JEADV",
        "retracted": False,
    }
    assert rct.summary.split("\n") == [
        "BACKGROUND: Oral minoxidil at low doses is increasingly prescribed off-label for androgenetic alopecia (AGA).",
        "OBJECTIVES: To compare 2.5 mg oral minoxidil daily with topical minoxidil 5% twice daily.",
        "METHODS: In this 24-week, double-blind, double-dummy trial, 180 men were randomized 1:1. The primary "
        "outcome was the change in terminal hair density (hairs/cm2).",
        "RESULTS: Terminal hair density increased by 14.2 hairs/cm2 with oral and 12.9 hairs/cm2 with topical "
        "minoxidil (P < 0.05 for non-inferiority).",
        "CONCLUSIONS: Low-dose oral minoxidil was non-inferior to topical minoxidil 5%. Registered at "
        "ClinicalTrials.gov (NCT05203185).",
    ]
    assert "©" not in rct.text  # CopyrightInformation is not abstract text
    assert rct.summary_html is not None and "(P &lt; 0.05 for non-inferiority)" in rct.summary_html
    # 13 authors, one marked invalid: the first ten valid ones, then "et al."
    assert rct.author == ("Moreno-Vázquez L, Okafor CN, Lindqvist A, Tanaka H, Ribeiro PS, Haddad R, O'Brien K, "
                          "Nakamura Y, Schulz M, Duarte F, et al.")
    assert "Petrova" not in rct.author


def test_pubmed_efetch_meta_analysis() -> None:
    meta_analysis = feed("pubmed", "pubmed_efetch.xml", headers=XML_HEADERS).entries[1]
    assert meta_analysis.title == ("Platelet-rich plasma for androgenetic alopecia: a systematic review and "
                                   "meta-analysis of randomized controlled trials.")  # <i> dropped, text kept
    assert meta_analysis.meta["publication_types"] == ["Journal Article", "Meta-Analysis", "Systematic Review"]
    assert meta_analysis.meta["pmcid"] == "PMC11712345"
    assert meta_analysis.meta["mesh_terms"] == ["Alopecia", "Humans", "Platelet-Rich Plasma"]
    assert meta_analysis.meta["journal"] == "Journal of the American Academy of Dermatology"
    assert meta_analysis.published == "2024-11-01T00:00:00Z"  # MedlineDate "2024 Nov-Dec"
    # Its own DOI from PubmedData, never a cited reference's or one mentioned in the abstract.
    assert meta_analysis.doi == "10.1016/j.jaad.2024.08.061"
    assert meta_analysis.pmid == "39722148"  # not the CommentIn PMID
    assert meta_analysis.author == "Kowalczyk A, Hair Research Evidence Collaboration"
    assert meta_analysis.summary.startswith("Platelet-rich plasma (PRP) injections are widely marketed")
    assert "(I2 = 87%)" in meta_analysis.summary


def test_pubmed_efetch_mouse_study() -> None:
    mouse = feed("pubmed", "pubmed_efetch.xml", headers=XML_HEADERS).entries[2]
    assert mouse.title == "Wnt10b mRNA lipid nanoparticles restore anagen entry in DHT-treated C57BL/6 mice."
    assert mouse.published == "2024-12-05T00:00:00Z"  # numeric PubDate month and day
    assert mouse.updated is None
    assert mouse.doi is None and mouse.nct_ids == []
    assert mouse.author == "Ishikawa R, Boateng E"  # initials from ForeName when Initials is missing
    assert "(P < 0.01)" in mouse.text and "(P &lt; 0.01)" in (mouse.summary_html or "")
    assert "mesh_terms" not in mouse.meta and "pmcid" not in mouse.meta


ARTICLE = """<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{pmid}</PMID>
<Article PubModel="Print"><Journal><JournalIssue><PubDate>{pubdate}</PubDate></JournalIssue>
<Title>Skin Appendage Disorders</Title></Journal>
<ArticleTitle>{title}</ArticleTitle>{extra}<PublicationTypeList>{types}</PublicationTypeList></Article>{citation_extra}</MedlineCitation>
<PubmedData><History>
<PubMedPubDate PubStatus="entrez"><Year>2023</Year><Month>6</Month><Day>2</Day></PubMedPubDate></History>
<ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>"""


def efetch(*articles: str) -> bytes:
    return ("<?xml version=\"1.0\" ?>\n<PubmedArticleSet>" + "".join(articles) + "</PubmedArticleSet>").encode()


def article(pmid: str = "37000001", *, pubdate: str = "<Year>2023</Year><Month>Jun</Month>",
            title: str = "Exosomes and hair growth", types: str = "Journal Article", extra: str = "",
            citation_extra: str = "") -> str:
    type_xml = "".join(f"<PublicationType>{t}</PublicationType>" for t in types.split("|"))
    return ARTICLE.format(pmid=pmid, pubdate=pubdate, title=title, types=type_xml, extra=extra,
                          citation_extra=citation_extra)


def test_pubmed_retracted_publication_is_flagged() -> None:
    by_type = article(types="Journal Article|Retracted Publication")
    notice = ('<CommentsCorrectionsList><CommentsCorrections RefType="RetractionIn">'
              "<RefSource>Skin Appendage Disord. 2024;10:1.</RefSource><PMID>38000009</PMID>"
              "</CommentsCorrections></CommentsCorrectionsList>")
    by_notice = article("37000002", citation_extra=notice)
    plain = article("37000003")
    entries = feed("pubmed", efetch(by_type, by_notice, plain)).entries
    assert [e.meta["retracted"] for e in entries] == [True, True, False]
    assert entries[1].pmid == "37000002"


@pytest.mark.parametrize(
    ("pubdate", "expected"),
    [
        ("<Year>2023</Year><Month>Jun</Month>", "2023-06-01T00:00:00Z"),
        ("<Year>2023</Year><Month>06</Month><Day>17</Day>", "2023-06-17T00:00:00Z"),
        ("<Year>2023</Year>", "2023-01-01T00:00:00Z"),
        ("<MedlineDate>2022 Dec-2023 Jan</MedlineDate>", "2022-12-01T00:00:00Z"),
        ("<MedlineDate>2023 Spring</MedlineDate>", "2023-03-01T00:00:00Z"),
        ("<Year>2023</Year><Month>Jun</Month><Day>31</Day>", "2023-06-02T00:00:00Z"),  # impossible: entrez date
        ("", "2023-06-02T00:00:00Z"),  # no PubDate: when PubMed received it
    ],
)
def test_pubmed_publication_dates(pubdate: str, expected: str) -> None:
    (entry,) = feed("pubmed", efetch(article(pubdate=pubdate))).entries
    assert entry.published == expected


def test_pubmed_title_with_markup_and_abstract_without_labels() -> None:
    extra = ("<Abstract><AbstractText>CD34<sup>+</sup> cells &amp; <i>in vitro</i> follicles.</AbstractText>"
             "<AbstractText Label=\"CONCLUSION:\">Promising <b>in mice</b>.</AbstractText></Abstract>")
    (entry,) = feed("pubmed", efetch(article(title="Dermal <i>papilla</i> cells<sup>1</sup>", extra=extra))).entries
    assert entry.title == "Dermal papilla cells1"
    assert entry.summary == "CD34+ cells & in vitro follicles.\nCONCLUSION: Promising in mice."
    assert entry.summary_html == "<p>CD34+ cells &amp; in vitro follicles.</p><p>CONCLUSION: Promising in mice.</p>"


def test_pubmed_article_without_pmid_is_skipped_with_a_warning() -> None:
    no_pmid = article().replace('<PMID Version="1">37000001</PMID>', "")
    parsed = feed("pubmed", efetch(no_pmid, article("37000004")))
    assert [e.pmid for e in parsed.entries] == ["37000004"]
    assert parsed.warning == "skipped 1 of 2 articles without a PMID"
    assert "none of the 1 articles has a PMID" in str(parse_error("pubmed", efetch(no_pmid)))


def test_pubmed_empty_article_set() -> None:
    parsed = feed("pubmed", b"<PubmedArticleSet></PubmedArticleSet>")
    assert parsed.entries == [] and parsed.warning == "efetch returned no articles"


def test_pubmed_book_article() -> None:
    book = ("<PubmedBookArticle><BookDocument><PMID Version=\"1\">36000005</PMID><Book><BookTitle>Alopecia Areata"
            "</BookTitle><PubDate><Year>2024</Year><Month>Jan</Month></PubDate></Book>"
            "<Abstract><AbstractText>Alopecia areata is an autoimmune disease.</AbstractText></Abstract>"
            "</BookDocument></PubmedBookArticle>")
    (entry,) = feed("pubmed", efetch(book)).entries
    assert entry.url == "https://pubmed.ncbi.nlm.nih.gov/36000005/"
    assert entry.title == "Alopecia Areata"
    assert entry.summary == "Alopecia areata is an autoimmune disease."


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("errors/efetch_error.xml", "PubMed: E-utilities returned an error: Empty id list - nothing todo;"),
        ("errors/truncated.xml", "PubMed: malformed XML ("),
        ("errors/gateway_error.html", "PubMed: response is an HTML page, not E-utilities JSON or XML;"),
        (b"<rss version=\"2.0\"><channel/></rss>", "PubMed: unexpected XML document <rss>"),
        (b"<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>",
         "PubMed: esearch returned an error: Invalid query"),
        (b"<eSearchResult><Count>0</Count></eSearchResult>", "PubMed: esearch XML has no IdList"),
        (b"   ", "PubMed: response is empty"),
        (b"Bad Request", "PubMed: response is plain text"),
    ],
)
def test_pubmed_errors(payload: str | bytes, expected: str) -> None:
    message = str(parse_error("pubmed", payload, headers={}))
    assert message.startswith(expected)
    assert "sources.toml" in message


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.monotonic()
    error = parse_error("pubmed", "errors/billion_laughs.xml", headers=XML_HEADERS)
    assert time.monotonic() - started < 2
    assert str(error).startswith("PubMed: XML declares entities, refused for safety;")


def test_external_entities_are_never_resolved() -> None:
    error = parse_error("pubmed", "errors/xxe.xml", headers=XML_HEADERS)
    assert "refused for safety" in str(error)
    assert "root:" not in str(error)


def test_a_doctype_with_only_an_external_dtd_is_fine() -> None:
    # Real efetch responses carry <!DOCTYPE PubmedArticleSet PUBLIC ... "https://dtd.nlm.nih.gov/...">;
    # the DTD is not loaded (no network) and not needed.
    assert len(feed("pubmed", "pubmed_efetch.xml").entries) == 3


# --- shared date handling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", "2024-05-01T00:00:00Z"),
        ("2024-05", "2024-05-01T00:00:00Z"),
        ("2024", "2024-01-01T00:00:00Z"),
        (2024, "2024-01-01T00:00:00Z"),
        ("2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00Z"),
        ("2024-05-01T12:30:00Z", "2024-05-01T12:30:00Z"),
        ("2024-02-30", None),
        ("2024-13", None),
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_iso_date(value: object, expected: str | None) -> None:
    assert iso_date(value) == expected


def test_medline_date() -> None:
    assert _medline_date("2023 Jan-Feb") == "2023-01-01T00:00:00Z"
    assert _medline_date("2021 Fall") == "2021-09-01T00:00:00Z"
    assert _medline_date("2019") == "2019-01-01T00:00:00Z"
    assert _medline_date("undated") is None
