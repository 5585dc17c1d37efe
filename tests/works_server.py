"""A local stand-in for Crossref, E-utilities and ClinicalTrials.gov on 127.0.0.1, for tests and bench/resolve.py.

It answers from records we give it (Crossref work JSON by DOI, PubMed article XML by PMID, CT.gov
study JSON by NCT id), builds esearch/efetch answers the way NCBI does, records every request
with its arrival time, and can be told to misbehave on a path (429 with Retry-After, 500, a
truncated body, a slow answer, ETag/304).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Trouble:
    """How to misbehave on one path: ``times`` answers of ``status`` (with headers/body), or a delay."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"Internal Server Error"
    times: int = 1
    delay: float = 0.0


@dataclass
class Hit:
    service: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


class FakeServices:
    """Start with ``with FakeServices() as fake:``; base URLs are ``fake.crossref`` etc."""

    def __init__(self) -> None:
        self.crossref_works: dict[str, bytes] = {}     # lower-cased DOI -> /works/{doi} body
        self.crossref_alias: dict[str, str] = {}       # asked DOI -> DOI whose record is answered
        self.crossref_search: list[tuple[str, bytes]] = []  # (word in the query, work-list body)
        self.pubmed_articles: dict[str, str] = {}      # PMID -> <PubmedArticle> XML
        self.pubmed_dois: dict[str, str] = {}          # lower-cased DOI -> PMID
        self.pubmed_pmcids: dict[str, str] = {}        # PMCID -> PMID
        self.studies: dict[str, bytes] = {}            # NCT -> study JSON
        self.trouble: dict[str, list[Trouble]] = {}    # path prefix -> troubles, used in order
        self.etags: dict[str, str] = {}                # path -> ETag (answers 304 on If-None-Match)
        self.rate_headers: dict[str, str] = {}         # extra headers on every Crossref answer
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> FakeServices:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client closing a kept-alive connection is not news

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def crossref(self) -> str:
        return f"{self.base}/crossref"

    @property
    def eutils(self) -> str:
        return f"{self.base}/eutils"

    @property
    def clinicaltrials(self) -> str:
        return f"{self.base}/ctgov/api/v2"

    def count(self, service: str | None = None) -> int:
        with self._lock:
            return sum(1 for h in self.hits if service in (None, h.service))

    def times(self, service: str) -> list[float]:
        with self._lock:
            return sorted(h.at for h in self.hits if h.service == service)

    def max_in_window(self, service: str, window: float = 1.0) -> int:
        """The most requests to ``service`` that arrived within any ``window`` seconds (half-open)."""
        stamps = self.times(service)
        best, start = 0, 0
        for end, stamp in enumerate(stamps):
            while stamp - stamps[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- answers ----------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        service = path.split("/")[1] if path.count("/") >= 1 else ""
        service = {"ctgov": "clinicaltrials", "eutils": "pubmed"}.get(service, service)
        with self._lock:
            self.hits.append(Hit(service, path, parse_qs(parts.query),
                                 {k.lower(): v for k, v in request.headers.items()}, time.monotonic()))
            trouble = None
            for prefix, troubles in self.trouble.items():
                if path.startswith(prefix) and troubles:
                    trouble = troubles[0]
                    trouble.times -= 1
                    if trouble.times <= 0:
                        troubles.pop(0)
                    break
        if trouble is not None:
            if trouble.delay:
                time.sleep(trouble.delay)
            if trouble.status:
                return self._send(request, trouble.status, trouble.body, trouble.headers)
        etag = self.etags.get(path)
        if etag and request.headers.get("If-None-Match") == etag:
            return self._send(request, 304, b"", {"ETag": etag})
        status, body, headers = self._answer(service, path, parse_qs(parts.query))
        if etag and status == 200:
            headers["ETag"] = etag
        if service == "crossref":
            headers.update(self.rate_headers)
        self._send(request, status, body, headers)

    def _answer(self, service: str, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, dict[str, str]]:
        json_type = {"Content-Type": "application/json"}
        if service == "crossref" and path.startswith("/crossref/works/"):
            doi = path[len("/crossref/works/"):].lower()
            doi = self.crossref_alias.get(doi, doi)
            body = self.crossref_works.get(doi)
            return (200, body, json_type) if body is not None else (404, b"Resource not found.", {"Content-Type": "text/plain"})
        if service == "crossref" and path == "/crossref/works":
            text = (query.get("query.bibliographic") or [""])[0].lower()
            for word, body in self.crossref_search:
                if word.lower() in text:
                    return 200, body, json_type
            empty = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
                     "message": {"facets": {}, "total-results": 0, "items": [], "items-per-page": 5,
                                 "query": {"start-index": 0, "search-terms": text}}}
            return 200, json.dumps(empty).encode(), json_type
        if service == "pubmed" and path.endswith("/esearch.fcgi"):
            term = (query.get("term") or [""])[0]
            ids = []
            for value, field_name in re.findall(r'"([^"]+)"\[(\w+)\]', term):
                pmid = (self.pubmed_dois.get(value.lower()) if field_name == "doi"
                        else self.pubmed_pmcids.get(value.upper()))
                if pmid:
                    ids.append(pmid)
            body = {"header": {"type": "esearch", "version": "0.3"},
                    "esearchresult": {"count": str(len(ids)), "retmax": str(len(ids)), "retstart": "0",
                                      "idlist": ids, "translationset": [], "querytranslation": term}}
            return 200, json.dumps(body).encode(), json_type
        if service == "pubmed" and path.endswith("/efetch.fcgi"):
            ids = (query.get("id") or [""])[0].split(",")
            articles = "".join(self.pubmed_articles[i] for i in ids if i in self.pubmed_articles)
            body = ('<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
                    '1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">\n'
                    f"<PubmedArticleSet>{articles}</PubmedArticleSet>")
            return 200, body.encode(), {"Content-Type": "text/xml; charset=UTF-8"}
        if service == "clinicaltrials" and "/studies/" in path:
            nct = path.rsplit("/", 1)[-1].upper()
            body = self.studies.get(nct)
            if body is None:
                return 404, json.dumps({"message": f"Study {nct} not found"}).encode(), json_type
            return 200, body, json_type
        return 404, b"not here", {"Content-Type": "text/plain"}

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            request.send_response(status)
            for name, value in headers.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            if status != 304:
                request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


# -- record builders (our own records in the services' formats) ----------------------------------


def crossref_work(doi: str, title: str, authors: list[str], journal: str, year: int, **extra: Any) -> bytes:
    """A /works/{doi} answer in Crossref's envelope."""
    message = {
        "publisher": "Example Press", "DOI": doi, "type": "journal-article", "source": "Crossref",
        "title": [title], "prefix": doi.split("/")[0], "member": "9999",
        "author": [{"given": "A.", "family": f, "sequence": "first" if i == 0 else "additional", "affiliation": []}
                   for i, f in enumerate(authors)],
        "container-title": [journal], "issued": {"date-parts": [[year, 3, 1]]},
        "URL": f"http://dx.doi.org/{doi}", "relation": {}, "score": 1,
        **extra,
    }
    return json.dumps({"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": message}).encode()


def crossref_search(items: list[tuple[bytes, float]]) -> bytes:
    """A work-list answer from /works bodies and their scores."""
    listed = []
    for body, score in items:
        message = json.loads(body)["message"]
        listed.append({**message, "score": score})
    return json.dumps({"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
                       "message": {"facets": {}, "total-results": 1000, "items": listed, "items-per-page": 5,
                                   "query": {"start-index": 0, "search-terms": None}}}).encode()


def pubmed_article(pmid: str, title: str, authors: list[str], journal: str, abbrev: str, year: int, *,
                   doi: str | None = None, pmcid: str | None = None, pub_types: tuple[str, ...] = ("Journal Article",),
                   mesh: tuple[str, ...] = (), abstract: str = "", corrections: tuple[tuple[str, str], ...] = ()) -> str:
    """One <PubmedArticle> the way efetch writes it."""
    from html import escape

    author_xml = "".join(f'<Author ValidYN="Y"><LastName>{escape(a)}</LastName><Initials>A</Initials></Author>'
                         for a in authors)
    types = "".join(f'<PublicationType UI="D0">{escape(t)}</PublicationType>' for t in pub_types)
    mesh_xml = "".join(f'<MeshHeading><DescriptorName UI="D0" MajorTopicYN="N">{escape(m)}</DescriptorName></MeshHeading>'
                       for m in mesh)
    cc = "".join(f'<CommentsCorrections RefType="{r}"><RefSource>{escape(s)}</RefSource></CommentsCorrections>'
                 for r, s in corrections)
    ids = f'<ArticleId IdType="pubmed">{pmid}</ArticleId>'
    if pmcid:
        ids += f'<ArticleId IdType="pmc">{pmcid}</ArticleId>'
    if doi:
        ids += f'<ArticleId IdType="doi">{escape(doi)}</ArticleId>'
    elocation = f'<ELocationID EIdType="doi" ValidYN="Y">{escape(doi)}</ELocationID>' if doi else ""
    return (f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{pmid}</PMID>'
            f'<Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><PubDate><Year>{year}</Year>'
            f'<Month>Mar</Month></PubDate></JournalIssue><Title>{escape(journal)}</Title>'
            f'<ISOAbbreviation>{escape(abbrev)}</ISOAbbreviation></Journal><ArticleTitle>{escape(title)}.</ArticleTitle>'
            f'{elocation}<Abstract><AbstractText>{escape(abstract)}</AbstractText></Abstract>'
            f'<AuthorList CompleteYN="Y">{author_xml}</AuthorList><PublicationTypeList>{types}</PublicationTypeList>'
            f'</Article>{f"<CommentsCorrectionsList>{cc}</CommentsCorrectionsList>" if cc else ""}'
            f'<MeshHeadingList>{mesh_xml}</MeshHeadingList></MedlineCitation>'
            f'<PubmedData><ArticleIdList>{ids}</ArticleIdList></PubmedData></PubmedArticle>')


def study(nct: str, title: str, *, phase: str = "PHASE2", status: str = "COMPLETED", enrollment: int = 120,
          has_results: bool = True, conditions: tuple[str, ...] = ("Alopecia Areata",)) -> bytes:
    """A ClinicalTrials.gov v2 study record."""
    return json.dumps({
        "protocolSection": {
            "identificationModule": {"nctId": nct, "briefTitle": title},
            "statusModule": {"overallStatus": status, "startDateStruct": {"date": "2021-04-01"}},
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": "Example Pharma", "class": "INDUSTRY"}},
            "descriptionModule": {"briefSummary": f"A study of {title.lower()}."},
            "conditionsModule": {"conditions": list(conditions)},
            "designModule": {"studyType": "INTERVENTIONAL", "phases": [phase],
                             "designInfo": {"allocation": "RANDOMIZED"},
                             "enrollmentInfo": {"count": enrollment, "type": "ACTUAL"}},
            "armsInterventionsModule": {"interventions": [{"type": "DRUG", "name": "Baricitinib"}]},
        },
        "hasResults": has_results,
    }).encode()
