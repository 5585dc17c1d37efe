"""PubMed E-utilities to entries: esearch finds the ids (a FollowUp), efetch returns the records."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from harvester.identifiers import NCT_ID, find_identifiers
from harvester.parse import Entry, ParsedFeed
from harvester.sanitize import plain_text

from .base import ApiAdapter, FollowUp, api_message, keys_text, kind_words, parse_xml, sniff
from .fields import clean_line, clip_title, id_digits, is_retracted, join_authors, paragraphs_html, unique, utc_day

__all__ = ["MAX_EFETCH_IDS", "PubMedAdapter", "efetch_url"]

log = logging.getLogger(__name__)

#: efetch is asked with GET; a few hundred ids keep the URL well under server limits, and a
#: source that wants more should page its esearch (retmax/retstart) instead.
MAX_EFETCH_IDS = 200
_XML_OR_JSON_ACCEPT = "application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}


class PubMedAdapter(ApiAdapter):
    """PubMed via E-utilities: an esearch URL in sources.toml, then efetch for the records it found."""

    name = "pubmed"
    api = "PubMed"
    accept = _XML_OR_JSON_ACCEPT
    fix = ("check the esearch URL in sources.toml "
           "(https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi?db=pubmed&term=...&retmode=json)")

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp:
        kind = sniff(body)
        if kind == "json":
            return self._esearch_json(self._json(body, headers), url)
        if kind != "xml":
            raise self._error(f"response is {kind_words(kind, headers)}, not E-utilities JSON or XML")
        root = parse_xml(body, self._error)
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
            raise self._error(f"response has no esearchresult{api_message(data)} (got keys: {keys_text(data)})",
                              "check the esearch URL in sources.toml (retmode=json, and the api_key if one is set)")
        if result.get("ERROR"):
            raise self._error(f"esearch returned an error: {clean_line(result['ERROR'])[:200]}")
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
        clean = unique(i.strip() for i in ids if i.strip().isdigit())
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
    pmid = id_digits(_text(citation.find("PMID")))
    if not pmid:
        return None
    art = citation.find("Article")
    if art is None:
        art = citation  # BookDocument keeps the fields at its own level
    url = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
    raw_title = (_text(art.find("ArticleTitle")) or _text(art.find("VernacularTitle"))
                 or _text(art.find("Book/BookTitle")))
    title = clip_title(raw_title, fallback=f"PubMed {pmid}")
    abstract = _pubmed_abstract(art.find("Abstract"))
    journal = _text(art.find("Journal/Title")) or _text(art.find("Book/BookTitle"))
    pub_types = unique(_text(el) for el in art.findall("PublicationTypeList/PublicationType"))
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
        if NCT_ID.match(_text(acc).upper())
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
        "mesh_terms": unique(_text(d) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")),
        "retracted": is_retracted(pub_types) or bool(retraction_notices),
    }
    published = _pubmed_published(art, pubmed_data)
    return Entry(
        guid=f"pubmed:{pmid}",  # PubMed's own RSS uses this guid, so both routes give one item
        url=url,
        title=title,
        author=_pubmed_authors(art),
        published=published,
        updated=_xml_date(citation.find("DateRevised")),
        summary_html=paragraphs_html(abstract),
        summary=abstract,
        text=abstract,
        doi=doi,
        pmid=pmid,
        nct_ids=unique([*explicit_ncts, *found_ncts]),
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
    return join_authors(names)


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


def _text(el: etree._Element | None) -> str:
    """All text inside an element with inline markup (<i>, <sup>) dropped, whitespace collapsed."""
    if el is None:
        return ""
    return plain_text("".join(el.itertext()), is_html=False, single_line=True)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


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
    return utc_day(int(year), month, int(day) if day.isdigit() else 1)


def _medline_date(text: str) -> str | None:
    """MedlineDate free text ("2023 Jan-Feb", "2022 Dec-2023 Jan", "2023 Spring") at its first day."""
    match = re.match(r"\s*(\d{4})(?:\s+([A-Za-z]+))?(?:\s+(\d{1,2})\b)?", text or "")
    if not match:
        return None
    month = _month(match.group(2)) if match.group(2) else 1
    return utc_day(int(match.group(1)), month or 1, int(match.group(3)) if match.group(3) else 1)
