"""Research-API responses (Europe PMC, ClinicalTrials.gov v2, PubMed E-utilities) to the same ParsedFeed feeds give.

Why this module exists: feedparser reads only RSS/Atom, but the sources that matter most for
hair-loss research are search APIs answering in JSON or in their own XML. They also carry facts
no feed has (PubMed publication types, a trial's phase, status, enrolment and posted results),
and DESIGN.md §5 lets that metadata beat words, so the adapters keep those facts in
``Entry.meta`` and, for trials, also state them in plain words at the top of the text where a
reader and a text scorer see them.

The module owns only the bytes-to-entries step for ``kind = europepmc | clinicaltrials | pubmed``
sources: no I/O. When an API needs a second request (PubMed: esearch finds ids, efetch returns
the records) ``parse`` returns a ``FollowUp`` and the pipeline fetches it with the same client.
Which step a body belongs to is decided by its content, never by its URL alone, because
redirects, proxies and test servers change URLs but not what the API sent.

Everything the APIs send is untrusted: XML is parsed without entity expansion, DTD loading or
network access, and every failure, from malformed bytes to an API error payload, surfaces as
one ``FeedParseError`` whose message names the API and what to check.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from harvester.identifiers import find_identifiers
from harvester.parse import Entry, FeedParseError, ParsedFeed
from harvester.sanitize import plain_text

__all__ = [
    "ADAPTERS",
    "Adapter",
    "ClinicalTrialsAdapter",
    "EuropePMCAdapter",
    "FollowUp",
    "PubMedAdapter",
    "efetch_url",
]

log = logging.getLogger(__name__)

#: efetch is asked with GET; a few hundred ids keep the URL well under server limits, and a
#: source that wants more should page its esearch (retmax/retstart) instead.
MAX_EFETCH_IDS = 200
#: Long author lists (consortia papers list hundreds) say nothing more to a reader after a few.
MAX_AUTHORS = 10
MAX_TITLE_CHARS = 500

_JSON_ACCEPT = "application/json;q=1.0, */*;q=0.1"
_XML_OR_JSON_ACCEPT = "application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


@dataclass(frozen=True)
class FollowUp:
    """A second request the API needs before it yields entries (PubMed: esearch ids -> efetch records)."""

    url: str


@runtime_checkable
class Adapter(Protocol):
    """What the pipeline needs from an API adapter: bytes in, entries (or the next URL) out."""

    name: str
    accept: str

    def parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp: ...


class _ApiAdapter:
    """Shared error boundary, so every adapter fails the same way: one FeedParseError, chained."""

    name: str = ""
    accept: str = _JSON_ACCEPT
    api: ClassVar[str] = ""
    #: What a user can do about a response we cannot read; ends every generic error message.
    fix: ClassVar[str] = "check the source URL in sources.toml"

    def parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp:
        """Parse one API response; any malformed or unexpected content raises FeedParseError."""
        try:
            result = self._parse(body or b"", url=url, headers=headers or {})
        except FeedParseError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, etree.LxmlError) as exc:
            # ValueError covers JSONDecodeError and UnicodeDecodeError; RecursionError deeply nested JSON.
            log.info("api=%s url=%s unreadable response error=%r", self.name, _redact(url), exc)
            raise FeedParseError(f"{self.api}: malformed response ({_one_line(exc)}); {self.fix}") from exc
        if isinstance(result, ParsedFeed):
            log.debug("api=%s url=%s entries=%d warning=%s", self.name, _redact(url), len(result.entries),
                      result.warning)
        else:
            log.debug("api=%s url=%s follow_up=%s", self.name, _redact(url), _redact(result.url))
        return result

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp:
        raise NotImplementedError

    def _error(self, problem: str, fix: str | None = None) -> FeedParseError:
        return FeedParseError(f"{self.api}: {problem}; {fix or self.fix}")

    def _json(self, body: bytes, headers: dict[str, str], fix: str | None = None) -> Any:
        """The decoded JSON body, or a clear error when the API sent something else (HTML error page, XML)."""
        kind = _sniff(body)
        if kind != "json":
            raise self._error(f"response is {_kind_words(kind, headers)}, not JSON", fix)
        return json.loads(body.decode("utf-8-sig"))


# --- Europe PMC -----------------------------------------------------------------------------


class EuropePMCAdapter(_ApiAdapter):
    """Europe PMC REST ``/search`` with ``format=json`` (best with ``resultType=core``, which has abstracts)."""

    name = "europepmc"
    api = "Europe PMC"
    accept = _JSON_ACCEPT
    fix = ("check the query URL in sources.toml "
           "(https://www.ebi.ac.uk/europepmc/webservices/rest/search?query=...&format=json&resultType=core)")

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed:
        data = self._json(body, headers, fix="add format=json to the query URL in sources.toml"
                          if _sniff(body) == "xml" else None)
        if not isinstance(data, dict):
            raise self._error(f"response is a JSON {type(data).__name__}, not a search result object")
        result_list = data.get("resultList")
        if not isinstance(result_list, dict):
            raise self._error(f"response has no resultList{_api_message(data)} (got keys: {_keys(data)})")
        results = result_list.get("result") or []
        if not isinstance(results, list):
            raise self._error("resultList.result is not a list")
        request = _dict(data.get("request"))
        query = plain_text(str(request.get("queryString") or ""), is_html=False, single_line=True)
        entries: list[Entry] = []
        skipped = 0
        lite = False
        for raw in results:
            entry = _europepmc_entry(raw) if isinstance(raw, dict) else None
            if entry is None:
                skipped += 1
                continue
            lite = lite or ("abstractText" not in raw and "journalTitle" in raw)
            entries.append(entry)
        warning = None
        if not results:
            warning = "search matched no articles"
        elif not entries:
            raise self._error(f"none of the {len(results)} results has an id and source")
        elif skipped:
            warning = f"skipped {skipped} of {len(results)} results without an id or source"
        elif lite:
            warning = "results have no abstracts (resultType=lite); add resultType=core to the query URL"
        return ParsedFeed(
            title=f"Europe PMC: {query}" if query else "Europe PMC search",
            link="https://europepmc.org/",
            entries=entries,
            warning=warning,
        )


_EPMC_SOURCE = re.compile(r"^[A-Z]{3}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_HEADING = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]\s*>", re.IGNORECASE | re.DOTALL)


def _europepmc_entry(raw: dict[str, Any]) -> Entry | None:
    """One search result; None when it lacks the id that makes its URL (it cannot be linked or deduplicated)."""
    source = str(raw.get("source") or "").strip().upper()
    rid = str(raw.get("id") or "").strip()
    if not _EPMC_SOURCE.match(source) or not _SAFE_ID.match(rid):
        return None
    url = f"https://europepmc.org/article/{source}/{rid}"
    title = _title(_html_text(_str(raw.get("title")), single_line=True), fallback=f"Europe PMC {source}/{rid}")
    abstract = _europepmc_abstract(_str(raw.get("abstractText")))
    journal_info = _dict(raw.get("journalInfo"))
    journal_obj = _dict(journal_info.get("journal"))
    journal = _clean_line(journal_obj.get("title") or raw.get("journalTitle"))
    pub_types = _europepmc_pub_types(raw)
    # Identifiers come from the record's own fields; a DOI or PMID inside an abstract is a cited
    # paper. NCT ids in an abstract are the trial the paper reports, so those are kept.
    doi_links = [u.get("url") for u in _list(_dict(raw.get("fullTextUrlList")).get("fullTextUrl"))
                 if isinstance(u, dict) and u.get("documentStyle") == "doi" and isinstance(u.get("url"), str)]
    doi, _, _ = find_identifiers(_clean_line(raw.get("doi")), *doi_links)
    _, _, ncts = find_identifiers(title, abstract)
    published = (
        _iso_date(raw.get("firstPublicationDate"))
        or _iso_date(raw.get("electronicPublicationDate"))
        or _iso_date(journal_info.get("printPublicationDate"))
        or _iso_date(raw.get("pubYear"))
    )
    meta: dict[str, Any] = {
        "publication_types": pub_types,
        "journal": journal or None,
        "europepmc_source": source,
        "pmcid": _clean_line(raw.get("pmcid")) or None,
        "preprint": source == "PPR" or any(t.lower() == "preprint" for t in pub_types),
        "retracted": _is_retracted(pub_types),
    }
    return Entry(
        guid=url,
        url=url,
        title=title,
        author=_author_string(_str(raw.get("authorString"))),
        published=published,
        updated=_iso_date(raw.get("dateOfRevision")),
        summary_html=_paragraphs_html(abstract),
        summary=abstract,
        text=abstract,
        doi=doi,
        pmid=_digits(raw.get("pmid")) or (rid if source == "MED" and rid.isdigit() else None),
        nct_ids=ncts,
        meta={k: v for k, v in meta.items() if v not in (None, "")},
    )


def _europepmc_abstract(value: str) -> str:
    """Plain abstract with Europe PMC's ``<h4>Background</h4>`` headings as "Background: ..." lines."""
    if not value:
        return ""

    def heading(match: re.Match[str]) -> str:
        label = _html_text(match.group(1), single_line=True).rstrip(" :.")
        return f"<p>{html.escape(label)}: " if label else "<p>"

    return _html_text(_HEADING.sub(heading, value))


def _europepmc_pub_types(raw: dict[str, Any]) -> list[str]:
    """Publication types from core (``pubTypeList.pubType``) or lite (``pubType``: "a; b") results."""
    holder = raw.get("pubTypeList")
    values: Any = holder.get("pubType") if isinstance(holder, dict) else raw.get("pubType")
    if isinstance(values, str):
        values = values.split(";")
    if not isinstance(values, list):
        return []
    return _unique(_clean_line(v) for v in values if isinstance(v, str))


# --- ClinicalTrials.gov API v2 ----------------------------------------------------------------


class ClinicalTrialsAdapter(_ApiAdapter):
    """ClinicalTrials.gov API v2 ``/api/v2/studies`` (a page of studies) or ``/api/v2/studies/NCT…`` (one)."""

    name = "clinicaltrials"
    api = "ClinicalTrials.gov"
    accept = _JSON_ACCEPT
    fix = ("check the query URL in sources.toml "
           "(https://clinicaltrials.gov/api/v2/studies?query.cond=...&sort=LastUpdatePostDate:desc)")

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed:
        data = self._json(body, headers)
        if not isinstance(data, dict):
            raise self._error(f"response is a JSON {type(data).__name__}, not a studies object")
        if "FullStudiesResponse" in data or "StudyFieldsResponse" in data:
            raise self._error(
                "this is the retired classic API (v1) format",
                "switch the source URL in sources.toml to https://clinicaltrials.gov/api/v2/studies?...",
            )
        if isinstance(data.get("studies"), list):
            studies = data["studies"]
        elif isinstance(data.get("protocolSection"), dict):
            studies = [data]
        else:
            raise self._error(f"response has neither studies nor protocolSection{_api_message(data)} "
                              f"(got keys: {_keys(data)})")
        entries: list[Entry] = []
        skipped = 0
        for study in studies:
            entry = _trial_entry(study) if isinstance(study, dict) else None
            if entry is None:
                skipped += 1
            else:
                entries.append(entry)
        warning = None
        if not studies:
            warning = "search matched no studies"
        elif not entries:
            raise self._error(f"none of the {len(studies)} studies has a valid NCT id")
        elif skipped:
            warning = f"skipped {skipped} of {len(studies)} studies without a valid NCT id"
        if data.get("nextPageToken"):
            # Only the first page is read; sort the query by LastUpdatePostDate so it holds the news.
            log.debug("api=clinicaltrials more pages available, reading the first only")
        return ParsedFeed(title="ClinicalTrials.gov", link="https://clinicaltrials.gov/", entries=entries,
                          warning=warning)


_NCT_ID = re.compile(r"^NCT\d{8}$")
_MASKING_WORDS = {
    "NONE": "open-label",
    "SINGLE": "single-blind",
    "DOUBLE": "double-blind",
    "TRIPLE": "triple-blind",
    "QUADRUPLE": "quadruple-blind",
}
_STATUS_WORDS = {"ACTIVE_NOT_RECRUITING": "active, not recruiting", "UNKNOWN": "status unknown"}
_STUDY_TYPE_WORDS = {
    "INTERVENTIONAL": "interventional study",
    "OBSERVATIONAL": "observational study",
    "EXPANDED_ACCESS": "expanded access program",
}
# CT.gov v2 text fields are Markdown and escape its punctuation ("\\>=18 years").
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>=~|])")


def _trial_entry(study: dict[str, Any]) -> Entry | None:
    """One study record; None without a valid NCT id, which is both its URL and its identity."""
    proto = _dict(study.get("protocolSection"))
    ident = _dict(proto.get("identificationModule"))
    nct = _clean_line(ident.get("nctId")).upper()
    if not _NCT_ID.match(nct):
        return None
    status = _dict(proto.get("statusModule"))
    design = _dict(proto.get("designModule"))
    design_info = _dict(design.get("designInfo"))
    sponsors = _dict(proto.get("sponsorCollaboratorsModule"))
    lead = _dict(sponsors.get("leadSponsor"))
    description = _dict(proto.get("descriptionModule"))
    enrollment_info = _dict(design.get("enrollmentInfo"))
    references = _dict(proto.get("referencesModule")).get("references")

    url = f"https://clinicaltrials.gov/study/{nct}"
    brief_title = _trial_text(ident.get("briefTitle"), single_line=True)
    official_title = _trial_text(ident.get("officialTitle"), single_line=True)
    title = _title(brief_title or official_title, fallback=nct)
    phases = [p for p in (_enum(v) for v in _list(design.get("phases"))) if p]
    enrollment = enrollment_info.get("count")
    interventions = [
        {"type": _enum(i.get("type")).lower() or "other", "name": _clean_line(i.get("name"))}
        for i in _list(_dict(proto.get("armsInterventionsModule")).get("interventions"))
        if isinstance(i, dict) and _clean_line(i.get("name"))
    ]
    meta: dict[str, Any] = {
        "trial_status": _enum(status.get("overallStatus")).lower() or None,
        "trial_phase": _phase_words(phases),
        "trial_phases": phases,
        "has_results": study.get("hasResults") is True,
        "study_type": _enum(design.get("studyType")).lower() or None,
        "allocation": _allocation(design_info.get("allocation")),
        "masking": _enum(_dict(design_info.get("maskingInfo")).get("masking")).lower() or None,
        "enrollment": enrollment if isinstance(enrollment, int) and not isinstance(enrollment, bool) else None,
        "enrollment_type": _enum(enrollment_info.get("type")).lower() or None,
        "sponsor": _clean_line(lead.get("name")) or None,
        "sponsor_class": _enum(lead.get("class")).lower() or None,
        "interventions": interventions,
        "conditions": [_clean_line(c) for c in _list(_dict(proto.get("conditionsModule")).get("conditions"))
                       if isinstance(c, str) and c.strip()],
        "start_date": _iso_date(_dict(status.get("startDateStruct")).get("date")),
        "primary_completion_date": _iso_date(_dict(status.get("primaryCompletionDateStruct")).get("date")),
        "results_first_posted": _iso_date(_dict(status.get("resultsFirstPostDateStruct")).get("date")),
        "why_stopped": _clean_line(status.get("whyStopped")) or None,
        "result_pmids": [p for p in (_digits(r.get("pmid")) for r in _list(references)
                                     if isinstance(r, dict) and r.get("type") == "RESULT") if p],
    }
    meta = {k: v for k, v in meta.items() if v not in (None, "", [])}

    facts = _trial_facts(meta, design_info)
    brief = _trial_text(description.get("briefSummary"))
    detailed = _trial_text(description.get("detailedDescription"))
    summary = "\n".join(part for part in (facts, brief) if part)
    text = "\n".join(part for part in (
        facts, official_title if official_title and official_title != title else "", brief, detailed) if part)
    _, _, ncts = find_identifiers(brief, detailed)
    published = (
        _iso_date(_dict(status.get("studyFirstPostDateStruct")).get("date"))
        or _iso_date(status.get("studyFirstSubmitDate"))
        or meta.get("start_date")
    )
    return Entry(
        guid=url,
        url=url,
        title=title,
        author=meta.get("sponsor"),
        published=published,
        updated=_iso_date(_dict(status.get("lastUpdatePostDateStruct")).get("date")),
        summary_html=_paragraphs_html(summary),
        summary=summary,
        text=text,
        doi=None,  # a DOI in a trial description is a cited paper, not this record
        pmid=None,
        nct_ids=_unique([nct, *ncts]),
        meta=meta,
    )


def _trial_facts(meta: dict[str, Any], design_info: dict[str, Any]) -> str:
    """The record's design in plain words, e.g. "Randomized, double-blind, phase 2 interventional study, ..."

    Scorers and readers work on text; without this line a registry record of a completed phase 3
    trial with results reads like any other description of planned work.
    """
    adjectives: list[str] = []
    allocation = meta.get("allocation")
    if allocation == "randomized":
        adjectives.append("randomized")
    elif allocation == "non_randomized":
        adjectives.append("non-randomized")
    if meta.get("masking") in {w.lower() for w in _MASKING_WORDS}:
        adjectives.append(_MASKING_WORDS[meta["masking"].upper()])
    if meta.get("trial_phase"):
        adjectives.append(meta["trial_phase"])
    study_type = str(meta.get("study_type") or "")
    if study_type == "observational":
        perspective = _enum(design_info.get("timePerspective")).lower()
        if perspective and perspective != "other":
            adjectives.append(perspective.replace("_", "-"))
    kind = _STUDY_TYPE_WORDS.get(study_type.upper(), "study")
    model = _enum(design_info.get("observationalModel")).lower()
    if study_type == "observational" and model and model != "other":
        kind += f" ({model.replace('_', '-')})"
    head = (", ".join(adjectives) + " " + kind) if adjectives else kind
    parts = [head[:1].upper() + head[1:]]
    status = str(meta.get("trial_status") or "")
    if status:
        parts.append(_STATUS_WORDS.get(status.upper(), status.replace("_", " ")))
    if "enrollment" in meta:
        planned = meta.get("enrollment_type") == "estimated"
        parts.append(f"{meta['enrollment']} participants" + (" planned" if planned else ""))
    sentence = ", ".join(parts)
    if meta.get("sponsor"):
        industry = " (industry)" if meta.get("sponsor_class") == "industry" else ""
        sentence += f"; sponsor: {meta['sponsor']}{industry}"
    sentences = [sentence + "."]
    if meta.get("why_stopped"):
        sentences.append(f"Stopped: {meta['why_stopped'].rstrip('.')}.")
    if meta.get("interventions"):
        names = "; ".join(f"{i['type'].replace('_', ' ').capitalize()}: {i['name']}" for i in meta["interventions"])
        sentences.append(f"Interventions: {names}.")
    if meta.get("conditions"):
        sentences.append(f"Conditions: {', '.join(meta['conditions'])}.")
    if meta.get("has_results"):
        posted = meta.get("results_first_posted")
        sentences.append("Results posted on ClinicalTrials.gov" + (f" on {posted[:10]}." if posted else "."))
    else:
        sentences.append("No results posted.")
    return " ".join(sentences)


def _allocation(value: Any) -> str | None:
    """"randomized" or "non_randomized"; None for single-arm studies (API value "NA") and when absent."""
    allocation = _enum(value)
    return allocation.lower() if allocation in ("RANDOMIZED", "NON_RANDOMIZED") else None


def _phase_words(phases: list[str]) -> str | None:
    """["PHASE2", "PHASE3"] -> "phase 2/3"; "EARLY_PHASE1" -> "early phase 1"; "NA" -> None (not a drug trial)."""
    numbers: list[str] = []
    early = False
    for phase in phases:
        match = re.fullmatch(r"(EARLY_)?PHASE(\d)", phase)
        if match:
            early = early or bool(match.group(1))
            numbers.append(match.group(2))
    if not numbers:
        return None
    return ("early phase " if early else "phase ") + "/".join(sorted(set(numbers)))


def _trial_text(value: Any, *, single_line: bool = False) -> str:
    if not isinstance(value, str):
        return ""
    return plain_text(_MARKDOWN_ESCAPE.sub(r"\1", value), is_html=False, single_line=single_line)


# --- PubMed E-utilities ---------------------------------------------------------------------


class PubMedAdapter(_ApiAdapter):
    """PubMed via E-utilities: an esearch URL in sources.toml, then efetch for the records it found."""

    name = "pubmed"
    api = "PubMed"
    accept = _XML_OR_JSON_ACCEPT
    fix = ("check the esearch URL in sources.toml "
           "(https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi?db=pubmed&term=...&retmode=json)")

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp:
        kind = _sniff(body)
        if kind == "json":
            return self._esearch_json(self._json(body, headers), url)
        if kind != "xml":
            raise self._error(f"response is {_kind_words(kind, headers)}, not E-utilities JSON or XML")
        root = _parse_xml(body, self._error)
        tag = _local(root.tag)
        if tag == "PubmedArticleSet":
            return self._efetch(root)
        if tag == "eSearchResult":
            return self._esearch_xml(root, url)
        error = _xml_error(root)
        if error:
            raise self._error(f"E-utilities returned an error: {error}")
        raise self._error(f"unexpected XML document <{tag}>, expected esearch results or a PubmedArticleSet")

    def _esearch_json(self, data: Any, url: str) -> ParsedFeed | FollowUp:
        if not isinstance(data, dict):
            raise self._error(f"response is a JSON {type(data).__name__}, not an esearch result")
        result = data.get("esearchresult")
        if not isinstance(result, dict):
            raise self._error(f"response has no esearchresult{_api_message(data)} (got keys: {_keys(data)})",
                              "check the esearch URL in sources.toml (retmode=json, and the api_key if one is set)")
        if result.get("ERROR"):
            raise self._error(f"esearch returned an error: {_clean_line(result['ERROR'])[:200]}")
        idlist = result.get("idlist")
        if not isinstance(idlist, list):
            raise self._error("esearchresult has no idlist (is usehistory=y set? leave it out)")
        return self._follow_up([str(i) for i in idlist], url)

    def _esearch_xml(self, root: etree._Element, url: str) -> ParsedFeed | FollowUp:
        error = _xml_error(root)
        if error:
            raise self._error(f"esearch returned an error: {error}")
        id_list = root.find("IdList")
        if id_list is None:
            raise self._error("esearch XML has no IdList (is usehistory=y set? leave it out)")
        return self._follow_up([_text(e) for e in id_list.findall("Id")], url)

    def _follow_up(self, ids: list[str], url: str) -> ParsedFeed | FollowUp:
        clean = _unique(i.strip() for i in ids if i.strip().isdigit())
        if len(clean) < len(ids):
            log.warning("api=pubmed ignored non-numeric ids count=%d", len(ids) - len(clean))
        if not clean:
            if ids:
                raise self._error("esearch returned no valid PMIDs")
            return ParsedFeed(title="PubMed", link="https://pubmed.ncbi.nlm.nih.gov/", entries=[],
                              warning="search matched no articles")
        if len(clean) > MAX_EFETCH_IDS:
            log.warning("api=pubmed esearch returned %d ids, fetching the first %d; lower retmax",
                        len(clean), MAX_EFETCH_IDS)
            clean = clean[:MAX_EFETCH_IDS]
        return FollowUp(url=efetch_url(url, clean))

    def _efetch(self, root: etree._Element) -> ParsedFeed:
        articles = [el for el in root if isinstance(el.tag, str) and el.tag in ("PubmedArticle", "PubmedBookArticle")]
        entries: list[Entry] = []
        skipped = 0
        for article in articles:
            entry = _pubmed_entry(article)
            if entry is None:
                skipped += 1
            else:
                entries.append(entry)
        warning = None
        if not articles:
            warning = "efetch returned no articles"
        elif not entries:
            raise self._error(f"none of the {len(articles)} articles has a PMID")
        elif skipped:
            warning = f"skipped {skipped} of {len(articles)} articles without a PMID"
        return ParsedFeed(title="PubMed", link="https://pubmed.ncbi.nlm.nih.gov/", entries=entries, warning=warning)


def efetch_url(esearch_url: str, pmids: list[str]) -> str:
    """The efetch URL for ``pmids`` on the same E-utilities host and path as ``esearch_url``.

    Only the identity parameters (api_key, tool, email) carry over: NCBI counts requests per
    key, and the search's own terms mean nothing to efetch.
    """
    parts = urlsplit(esearch_url)
    head = parts.path.rpartition("/")[0]  # .../eutils/esearch.fcgi -> .../eutils/efetch.fcgi
    path = f"{head}/efetch.fcgi"
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=False) if k in ("api_key", "tool", "email")]
    query = urlencode([("db", "pubmed"), ("id", ",".join(pmids)), ("retmode", "xml"), *kept], safe=",")
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def _pubmed_entry(article: etree._Element) -> Entry | None:
    """One PubmedArticle (or PubmedBookArticle); None without a PMID, which is its URL and identity."""
    citation = article.find("MedlineCitation")
    if citation is None:
        citation = article.find("BookDocument")
    if citation is None:
        return None
    pmid = _digits(_text(citation.find("PMID")))
    if not pmid:
        return None
    art = citation.find("Article")
    if art is None:
        art = citation  # BookDocument keeps the fields at its own level
    url = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
    raw_title = (_text(art.find("ArticleTitle")) or _text(art.find("VernacularTitle"))
                 or _text(art.find("Book/BookTitle")))
    title = _title(raw_title, fallback=f"PubMed {pmid}")
    abstract = _pubmed_abstract(art.find("Abstract"))
    journal = _text(art.find("Journal/Title")) or _text(art.find("Book/BookTitle"))
    pub_types = _unique(_text(el) for el in art.findall("PublicationTypeList/PublicationType"))
    pubmed_data = article.find("PubmedData")
    article_ids = pubmed_data.findall("ArticleIdList/ArticleId") if pubmed_data is not None else []
    article_ids += article.findall("BookDocument/ArticleIdList/ArticleId")
    ids_by_type = {el.get("IdType"): _text(el) for el in reversed(article_ids) if _text(el)}
    # Only this article's own ids: PubmedData/ReferenceList also holds the DOIs of every cited paper.
    doi_text = next((_text(el) for el in art.findall("ELocationID") if el.get("EIdType") == "doi" and _text(el)),
                    None) or ids_by_type.get("doi")
    doi, _, _ = find_identifiers(doi_text)
    explicit_ncts = [
        _text(acc).upper()
        for bank in art.findall("DataBankList/DataBank")
        if _text(bank.find("DataBankName")).lower().startswith("clinicaltrials")
        for acc in bank.findall("AccessionNumberList/AccessionNumber")
        if _NCT_ID.match(_text(acc).upper())
    ]
    # NCT ids in an abstract are the trial the paper reports ("registered at ClinicalTrials.gov: NCT...").
    _, _, found_ncts = find_identifiers(title, abstract)
    retraction_notices = [
        c for c in citation.findall("CommentsCorrectionsList/CommentsCorrections") if c.get("RefType") == "RetractionIn"
    ]
    meta: dict[str, Any] = {
        "publication_types": pub_types,
        "journal": journal or None,
        "pmcid": ids_by_type.get("pmc"),
        "mesh_terms": _unique(_text(d) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")),
        "retracted": _is_retracted(pub_types) or bool(retraction_notices),
    }
    published = _pubmed_published(art, pubmed_data)
    return Entry(
        guid=f"pubmed:{pmid}",  # PubMed's own RSS uses this guid, so both routes give one item
        url=url,
        title=title,
        author=_pubmed_authors(art),
        published=published,
        updated=_xml_date(citation.find("DateRevised")),
        summary_html=_paragraphs_html(abstract),
        summary=abstract,
        text=abstract,
        doi=doi,
        pmid=pmid,
        nct_ids=_unique([*explicit_ncts, *found_ncts]),
        meta={k: v for k, v in meta.items() if v not in (None, "", [])},
    )


def _pubmed_abstract(abstract: etree._Element | None) -> str:
    """Structured abstracts as "LABEL: text" lines, the way PubMed shows them."""
    if abstract is None:
        return ""
    lines = []
    for part in abstract.findall("AbstractText"):
        body = _text(part)
        if not body:
            continue
        label = (part.get("Label") or "").strip().rstrip(":")
        lines.append(f"{label}: {body}" if label else body)
    return "\n".join(lines)


def _pubmed_authors(art: etree._Element) -> str | None:
    names = []
    for author in art.findall("AuthorList/Author"):
        if author.get("ValidYN", "Y") != "Y":
            continue
        collective = _text(author.find("CollectiveName"))
        last = _text(author.find("LastName"))
        initials = _text(author.find("Initials")) or _text(author.find("ForeName"))[:1]
        name = collective or " ".join(p for p in (last, initials) if p)
        if name:
            names.append(name)
    return _join_authors(names)


def _pubmed_published(art: etree._Element, pubmed_data: etree._Element | None) -> str | None:
    """First publication: the electronic date when there is one, else the issue date, else when PubMed got it."""
    for date in art.findall("ArticleDate"):
        if value := _xml_date(date):
            return value
    pub_date = art.find("Journal/JournalIssue/PubDate")
    if value := _xml_date(pub_date):
        return value
    if pub_date is not None and (value := _medline_date(_text(pub_date.find("MedlineDate")))):
        return value
    if pubmed_data is not None:
        for status in ("pubmed", "entrez"):
            for date in pubmed_data.findall("History/PubMedPubDate"):
                if date.get("PubStatus") == status and (value := _xml_date(date)):
                    return value
    return None


def _xml_error(root: etree._Element) -> str:
    """The text of an E-utilities <ERROR> element anywhere in the document ('' when none)."""
    for el in root.iter("ERROR"):
        if text := _text(el):
            return text[:200]
    return ""


# --- shared helpers -------------------------------------------------------------------------


def _parse_xml(body: bytes, error: Callable[[str], FeedParseError]) -> etree._Element:
    """Parse untrusted XML: no entity expansion, no DTD or network loads, no oversized nodes.

    Documents that declare entities are refused outright (as defusedxml does): no E-utilities
    response needs them, and an entity is how billion-laughs and XXE payloads get in.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        if "entity" in str(exc).lower() and b"<!ENTITY" in body:
            raise error("XML declares entities, refused for safety") from exc
        raise error(f"malformed XML ({_one_line(exc)})") from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise error("XML declares entities, refused for safety")
    return root


def _sniff(body: bytes) -> str:
    """What the body looks like from its first bytes: json, xml, html, empty or other."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "empty"
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<":
        if re.match(rb"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", head, re.DOTALL):
            return "html"
        return "xml"
    return "other"


def _kind_words(kind: str, headers: dict[str, str]) -> str:
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), "")
    words = {"empty": "empty", "html": "an HTML page", "xml": "XML", "json": "JSON"}.get(kind, "plain text")
    return f"{words} ({content_type.split(';')[0].strip()})" if content_type and kind != "empty" else words


def _api_message(data: dict[str, Any]) -> str:
    """An API's own error text ("error", "errMsg", ...) as ': text', so the user sees the API's words."""
    for key in ("error", "errMsg", "errorMessage", "message", "ERROR"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("msg")
        if isinstance(value, str) and value.strip():
            return f": {_clean_line(value)[:200]}"
    return ""


def _keys(data: dict[str, Any]) -> str:
    keys = [str(k)[:40] for k in list(data)[:8]]
    return ", ".join(keys) + (", ..." if len(data) > 8 else "") if keys else "none"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _redact(url: str) -> str:
    """URL for logs without the api_key value (or any other credential)."""
    from harvester.fetch import redact

    return redact(url) or url


def _html_text(value: str, *, single_line: bool = False) -> str:
    """Plain text of an API string that may carry inline HTML (<i>, <sup>, <h4>)."""
    return plain_text(value, single_line=single_line) if value else ""


def _paragraphs_html(text: str) -> str | None:
    """Our own HTML for a plain text: escaped lines in <p>, so no API markup is ever published."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines) or None


def _title(value: str, *, fallback: str) -> str:
    title = " ".join(value.split()).strip()
    return (title or fallback)[:MAX_TITLE_CHARS]


def _author_string(value: str) -> str | None:
    names = [n.strip() for n in plain_text(value, single_line=True).rstrip(".").split(",") if n.strip()]
    return _join_authors(names)


def _join_authors(names: list[str]) -> str | None:
    if not names:
        return None
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + ", et al."
    return ", ".join(names)


def _is_retracted(pub_types: list[str]) -> bool:
    """True for a retracted paper ("Retracted Publication"); a "Retraction of Publication" is the notice itself."""
    return any(t.lower() == "retracted publication" for t in pub_types)


def _text(el: etree._Element | None) -> str:
    """All text inside an element with inline markup (<i>, <sup>) dropped, whitespace collapsed."""
    if el is None:
        return ""
    return plain_text("".join(el.itertext()), is_html=False, single_line=True)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _clean_line(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _enum(value: Any) -> str:
    return value.strip().upper() if isinstance(value, str) else ""


def _digits(value: Any) -> str | None:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return str(int(text)) if text.isdigit() and len(text) <= 12 and int(text) > 0 else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _unique(values: Any) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_ISO_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def _utc_day(year: int, month: int = 1, day: int = 1) -> str | None:
    """Midnight UTC of a calendar day as "YYYY-MM-DDT00:00:00Z"; None for impossible dates."""
    try:
        moment = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if year >= 1800 else None


def _iso_date(value: Any) -> str | None:
    """API date text ("2024-05-01", "2024-05", "2024", or a full ISO timestamp) as UTC ISO-8601."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if match := _ISO_DATE.match(value):
        year, month, day = (int(g) if g else 1 for g in match.groups())
        return _utc_day(year, month, day)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        log.debug("unreadable date value=%r", value[:40])
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return _MONTHS.get(text[:3]) or _SEASONS.get(text)


def _xml_date(el: etree._Element | None) -> str | None:
    """<Year>/<Month>/<Day> children (month as number or name) as UTC ISO-8601."""
    if el is None:
        return None
    year = _text(el.find("Year"))
    if not year.isdigit():
        return None
    month = _month(_text(el.find("Month"))) if _text(el.find("Month")) else 1
    day = _text(el.find("Day"))
    if month is None:
        return None
    return _utc_day(int(year), month, int(day) if day.isdigit() else 1)


def _medline_date(text: str) -> str | None:
    """MedlineDate free text ("2023 Jan-Feb", "2022 Dec-2023 Jan", "2023 Spring") at its first day."""
    match = re.match(r"\s*(\d{4})(?:\s+([A-Za-z]+))?(?:\s+(\d{1,2})\b)?", text or "")
    if not match:
        return None
    month = _month(match.group(2)) if match.group(2) else 1
    return _utc_day(int(match.group(1)), month or 1, int(match.group(3)) if match.group(3) else 1)


ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter for adapter in (EuropePMCAdapter(), ClinicalTrialsAdapter(), PubMedAdapter())
}
