"""PubMed E-utilities answers to Work records: efetch XML (a batch of PMIDs) and esearch (DOIs and PMCIDs
to PMIDs), and the merge that gives a Crossref record PubMed's publication types and MeSH."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import urlencode

from lxml import etree

from harvester.apis.base import parse_xml
from harvester.apis.fields import id_digits, is_retracted, unique
from harvester.apis.pubmed import MAX_EFETCH_IDS, _local, _pubmed_abstract, _pubmed_published, _text, _xml_error
from harvester.parse import FeedParseError

from .crossref import retraction_status
from .model import Work

__all__ = [
    "MAX_EFETCH_IDS",
    "MAX_ESEARCH_TERMS",
    "efetch_url",
    "esearch_term",
    "esearch_url",
    "merge",
    "parse_efetch",
    "parse_esearch",
]

log = logging.getLogger(__name__)

#: DOIs or PMCIDs OR-ed into one esearch term: short enough for a GET URL with long DOIs.
MAX_ESEARCH_TERMS = 20

# CommentsCorrections RefTypes that put a notice on this article (the ...In types) or make this
# article the notice (the ...Of / ...For types, prefixed "notice:" as in crossref.py).
_NOTICE_TYPES = {
    "RetractionIn": "retraction",
    "ExpressionOfConcernIn": "expression_of_concern",
    "ErratumIn": "erratum",
    "PartialRetractionIn": "partial_retraction",
    "RetractionOf": "notice:retraction",
    "ExpressionOfConcernFor": "notice:expression_of_concern",
    "ErratumFor": "notice:erratum",
    "PartialRetractionOf": "notice:partial_retraction",
}
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+?)\.?(?:\s|$)")


def _error(message: str) -> FeedParseError:
    return FeedParseError(message)


def parse_efetch(body: bytes) -> tuple[dict[str, Work], str | None]:
    """The articles of an efetch answer by PMID, or ({}, one-line error) when the answer is unusable."""
    try:
        root = parse_xml(body, _error)
    except FeedParseError as exc:
        return {}, f"PubMed sent unreadable XML ({str(exc)[:100]}); will retry later"
    if _local(root.tag) == "PubmedArticle":  # a lone article, as some tools save one record
        root = etree.Element("PubmedArticleSet")
        root.append(parse_xml(body, _error))
    if _local(root.tag) != "PubmedArticleSet":
        error = _xml_error(root)
        return {}, f"PubMed answered {error[:100] if error else f'<{_local(root.tag)}>'} instead of articles; will retry later"
    works: dict[str, Work] = {}
    for article in root:
        if isinstance(article.tag, str) and article.tag == "PubmedArticle":
            work = _article(article)
            if work is not None and work.pmid:
                works[work.pmid] = work
    return works, None


def parse_esearch(body: bytes) -> tuple[list[str], str | None]:
    """The PMIDs of an esearch answer (JSON or XML), or ([], one-line error)."""
    head = body.lstrip()[:1]
    if head == b"{":
        try:
            result = json.loads(body).get("esearchresult")
        except (ValueError, UnicodeDecodeError, AttributeError) as exc:
            return [], f"PubMed esearch sent unreadable JSON ({str(exc)[:80]}); will retry later"
        if not isinstance(result, dict) or not isinstance(result.get("idlist"), list):
            error = result.get("ERROR") if isinstance(result, dict) else None
            return [], f"PubMed esearch answered no idlist{': ' + str(error)[:100] if error else ''}; will retry later"
        ids = [str(i) for i in result["idlist"]]
    else:
        try:
            root = parse_xml(body, _error)
        except FeedParseError as exc:
            return [], f"PubMed esearch sent unreadable XML ({str(exc)[:100]}); will retry later"
        id_list = root.find("IdList")
        if id_list is None:
            return [], f"PubMed esearch answered no IdList ({_xml_error(root) or _local(root.tag)}); will retry later"
        ids = [_text(e) for e in id_list.findall("Id")]
    return unique(p for p in (id_digits(i) for i in ids) if p), None


def esearch_term(values: Iterable[str], field: str) -> str:
    """``"10.x/y"[doi] OR "10.x/z"[doi]``: several ids in one request (quotes stripped from the ids)."""
    return " OR ".join(f'"{v.replace(chr(34), "")}"[{field}]' for v in values)


def esearch_url(base: str, term: str, identity: dict[str, str]) -> str:
    """The esearch URL on ``base`` (…/entrez/eutils) with NCBI's ``tool``/``email`` (and ``api_key``) params."""
    query = urlencode([("db", "pubmed"), ("term", term), ("retmode", "json"), ("retmax", "200"), *identity.items()])
    return f"{base.rstrip('/')}/esearch.fcgi?{query}"


def efetch_url(base: str, pmids: list[str], identity: dict[str, str]) -> str:
    """The efetch URL for up to MAX_EFETCH_IDS PMIDs on ``base``."""
    query = urlencode([("db", "pubmed"), ("id", ",".join(pmids[:MAX_EFETCH_IDS])), ("retmode", "xml"),
                       *identity.items()], safe=",")
    return f"{base.rstrip('/')}/efetch.fcgi?{query}"


def merge(crossref: Work, pubmed: Work) -> Work:
    """The Crossref record with what PubMed adds: PMID, PMCID, publication types, MeSH, keywords, its
    abstract when Crossref has none, and PubMed's retraction and correction notices.

    Crossref stays the authority for existence, title, authors and its own notices.
    """
    notices = list(crossref.notices)
    known = {(n.get("kind"), n.get("doi")) for n in notices}
    for notice in pubmed.notices:
        # The same notice from both services counts once (same kind and DOI); PubMed's bibliographic
        # notices often carry no DOI, so they are added unless Crossref already has that kind.
        if (notice.get("kind"), notice.get("doi")) in known or (
                not notice.get("doi") and any(k == notice.get("kind") for k, _ in known)):
            continue
        notices.append(notice)
    return replace(
        crossref,
        pmid=crossref.pmid or pubmed.pmid,
        pmcid=crossref.pmcid or pubmed.pmcid,
        abstract=crossref.abstract or pubmed.abstract,
        journal_abbrev=crossref.journal_abbrev or pubmed.journal_abbrev,
        pub_types=list(pubmed.pub_types),
        mesh=list(pubmed.mesh),
        keywords=unique([*crossref.keywords, *pubmed.keywords]),
        notices=notices,
        retraction=retraction_status(notices),
    )


def _article(article: etree._Element) -> Work | None:
    citation = article.find("MedlineCitation")
    if citation is None:
        return None
    pmid = id_digits(_text(citation.find("PMID")))
    art = citation.find("Article")
    if not pmid or art is None:
        return None
    pubmed_data = article.find("PubmedData")
    ids = {el.get("IdType"): _text(el) for el in reversed(pubmed_data.findall("ArticleIdList/ArticleId"))
           if _text(el)} if pubmed_data is not None else {}
    doi = next((_text(el) for el in art.findall("ELocationID") if el.get("EIdType") == "doi" and _text(el)),
               None) or ids.get("doi")
    pub_types = unique(_text(el) for el in art.findall("PublicationTypeList/PublicationType"))
    notices = _notices(citation)
    if is_retracted(pub_types) and not any(n["kind"] == "retraction" for n in notices):
        notices.append({"kind": "retraction", "doi": None, "date": None, "source": "pubmed",
                        "label": "Retracted Publication"})
    published = _pubmed_published(art, pubmed_data)
    issue_year = _text(art.find("Journal/JournalIssue/PubDate/Year"))
    year = int(issue_year) if issue_year.isdigit() else (int(published[:4]) if published else None)
    title = _text(art.find("ArticleTitle")) or _text(art.find("VernacularTitle"))
    return Work(
        key=f"pmid:{pmid}",
        service="pubmed",
        state="found",
        doi=doi.strip().lower() if doi else None,
        pmid=pmid,
        pmcid=(ids.get("pmc") or "").upper() or None,
        title=title.rstrip(".").strip() or None,
        authors=_authors(art),
        journal=_text(art.find("Journal/Title")) or None,
        journal_abbrev=_text(art.find("Journal/ISOAbbreviation")) or _text(citation.find("MedlineJournalInfo/MedlineTA")) or None,
        year=year,
        published=published[:10] if published else None,
        work_type="journal-article",
        abstract=_pubmed_abstract(art.find("Abstract")) or None,
        pub_types=pub_types,
        mesh=unique(_text(d) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")),
        keywords=unique(_text(k) for k in citation.findall("KeywordList/Keyword")),
        retraction=retraction_status(notices),
        notices=notices,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
    )


def _notices(citation: etree._Element) -> list[dict]:
    notices = []
    for item in citation.findall("CommentsCorrectionsList/CommentsCorrections"):
        kind = _NOTICE_TYPES.get(item.get("RefType") or "")
        if kind is None:
            continue
        source_text = _text(item.find("RefSource"))
        match = _DOI_IN_TEXT.search(source_text + " ")
        notices.append({
            "kind": kind,
            "doi": match.group(1).lower() if match else None,
            "date": None,
            "source": "pubmed",
            "label": " ".join(p for p in (source_text, f"PMID {_text(item.find('PMID'))}" if _text(item.find("PMID")) else "") if p),
        })
    return notices


def _authors(art: etree._Element) -> list[str]:
    names = []
    for author in art.findall("AuthorList/Author"):
        if author.get("ValidYN", "Y") != "Y":
            continue
        name = _text(author.find("LastName")) or _text(author.find("CollectiveName"))
        if name:
            names.append(name)
    return names[:100]
