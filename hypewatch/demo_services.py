"""The demo's stand-ins for Crossref, PubMed E-utilities and ClinicalTrials.gov, answering from bundled records.

The offline demo checks citations like a real deployment does, through the same resolver and
fetcher, so its sample server also answers the three services' requests, in their formats, from
``demo_data/services``: Crossref work records by DOI (404 "Resource not found." otherwise, as
Crossref answers), a bibliographic search that finds a record by a word of the query, esearch and
efetch for the PubMed records of the sample papers, and ClinicalTrials.gov v2 study records.
Every record describes a fictional paper or trial of the demo's sample feeds.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import parse_qs, unquote

__all__ = ["PREFIX", "answer", "service_urls"]

#: Where the sample server answers as the services: {base}/services/crossref, /services/eutils, /services/ctgov.
PREFIX = "/services/"
_JSON = "application/json; charset=utf-8"
_XML = "text/xml; charset=utf-8"
_EMPTY_SEARCH = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
                 "message": {"facets": {}, "total-results": 0, "items": [], "items-per-page": 5,
                             "query": {"start-index": 0, "search-terms": None}}}


def service_urls(base_url: str) -> dict[str, str]:
    """The settings that point the citations job at this server (crossref_url, eutils_url, clinicaltrials_url)."""
    return {"crossref_url": f"{base_url}{PREFIX}crossref", "eutils_url": f"{base_url}{PREFIX}eutils",
            "clinicaltrials_url": f"{base_url}{PREFIX}ctgov"}


def _root() -> Traversable:
    return resources.files(__package__).joinpath("demo_data", "services")


@lru_cache(maxsize=1)
def _index() -> dict[str, Any]:
    return json.loads(_root().joinpath("index.json").read_text(encoding="utf-8"))


def _file(*parts: str) -> bytes | None:
    entry = _root().joinpath(*parts)
    return entry.read_bytes() if entry.is_file() else None


def answer(path: str, query: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for a request to ``PREFIX...``, as the real service would answer it."""
    service, _, rest = path[len(PREFIX):].partition("/")
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    if service == "crossref":
        return _crossref(unquote(rest), params)
    if service == "eutils":
        return _eutils(rest, params)
    if service == "ctgov":
        match = re.fullmatch(r"studies/(NCT\d{8})", rest)
        body = _file("clinicaltrials", f"{match.group(1)}.json") if match else None
        if body is None:
            return 404, _JSON, json.dumps({"message": "Study not found"}).encode()
        return 200, _JSON, body
    return 404, "text/plain; charset=utf-8", b"Resource not found."


def _crossref(rest: str, params: dict[str, str]) -> tuple[int, str, bytes]:
    if rest == "works" and "query.bibliographic" in params:
        wanted = params["query.bibliographic"].casefold()
        for entry in _index().get("crossref_search", []):
            if entry["word"] in wanted:
                return 200, _JSON, _file(*entry["file"].split("/")) or b""
        return 200, _JSON, json.dumps(_EMPTY_SEARCH).encode()
    if rest.startswith("works/"):
        doi = rest[len("works/"):].lower()
        body = _file("crossref", doi.replace("/", "_") + ".json") if re.fullmatch(r"10\.\d{4,9}/[\w.()-]+", doi) else None
        if body is not None:
            return 200, _JSON, body
    return 404, "text/plain; charset=utf-8", b"Resource not found."


def _eutils(rest: str, params: dict[str, str]) -> tuple[int, str, bytes]:
    dois = _index().get("pubmed_dois", {})
    if rest == "esearch.fcgi":
        asked = [d.lower() for d in re.findall(r"10\.\d{4,9}/[^\s\"\[\]]+", params.get("term", ""))]
        ids = [dois[d] for d in asked if d in dois]
        listed = "".join(f"<Id>{i}</Id>" for i in ids)
        body = (f'<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult><Count>{len(ids)}</Count><RetMax>{len(ids)}'
                f"</RetMax><RetStart>0</RetStart><IdList>{listed}</IdList></eSearchResult>\n")
        return 200, _XML, body.encode()
    if rest == "efetch.fcgi":
        wanted = [i for i in params.get("id", "").split(",") if i.isdigit()]
        articles = "".join((_file("pubmed", f"{i}.xml") or b"").decode("utf-8") for i in wanted)
        body = f'<?xml version="1.0" ?>\n<PubmedArticleSet>{articles}</PubmedArticleSet>\n'
        return 200, _XML, body.encode()
    return 400, "text/plain; charset=utf-8", b"Unknown E-utility."
