"""Europe PMC REST search results (``/search?format=json``) to entries."""

from __future__ import annotations

import html
import re
from typing import Any

from harvester.identifiers import find_identifiers
from harvester.parse import Entry, ParsedFeed
from harvester.sanitize import plain_text

from .base import JSON_ACCEPT, ApiAdapter, api_message, keys_text, sniff
from .fields import (
    as_dict,
    as_list,
    clean_line,
    clip_title,
    id_digits,
    is_retracted,
    iso_date,
    join_authors,
    paragraphs_html,
    unique,
)

__all__ = ["EuropePMCAdapter"]


class EuropePMCAdapter(ApiAdapter):
    """Europe PMC REST ``/search`` with ``format=json`` (best with ``resultType=core``, which has abstracts)."""

    name = "europepmc"
    api = "Europe PMC"
    accept = JSON_ACCEPT
    fix = ("check the query URL in sources.toml "
           "(https://www.ebi.ac.uk/europepmc/webservices/rest/search?query=...&format=json&resultType=core)")

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed:
        data = self._json(body, headers, fix="add format=json to the query URL in sources.toml"
                          if sniff(body) == "xml" else None)
        if not isinstance(data, dict):
            raise self._error(f"response is a JSON {type(data).__name__}, not a search result object")
        result_list = data.get("resultList")
        if not isinstance(result_list, dict):
            raise self._error(f"response has no resultList{api_message(data)} (got keys: {keys_text(data)})")
        results = result_list.get("result") or []
        if not isinstance(results, list):
            raise self._error("resultList.result is not a list")
        request = as_dict(data.get("request"))
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
    title = clip_title(_html_text(_str(raw.get("title")), single_line=True), fallback=f"Europe PMC {source}/{rid}")
    abstract = _europepmc_abstract(_str(raw.get("abstractText")))
    journal_info = as_dict(raw.get("journalInfo"))
    journal_obj = as_dict(journal_info.get("journal"))
    journal = clean_line(journal_obj.get("title") or raw.get("journalTitle"))
    pub_types = _europepmc_pub_types(raw)
    # Identifiers come from the record's own fields; a DOI or PMID inside an abstract is a cited
    # paper. NCT ids in an abstract are the trial the paper reports, so those are kept.
    doi_links = [u.get("url") for u in as_list(as_dict(raw.get("fullTextUrlList")).get("fullTextUrl"))
                 if isinstance(u, dict) and u.get("documentStyle") == "doi" and isinstance(u.get("url"), str)]
    doi, _, _ = find_identifiers(clean_line(raw.get("doi")), *doi_links)
    _, _, ncts = find_identifiers(title, abstract)
    published = (
        iso_date(raw.get("firstPublicationDate"))
        or iso_date(raw.get("electronicPublicationDate"))
        or iso_date(journal_info.get("printPublicationDate"))
        or iso_date(raw.get("pubYear"))
    )
    meta: dict[str, Any] = {
        "publication_types": pub_types,
        "journal": journal or None,
        "europepmc_source": source,
        "pmcid": clean_line(raw.get("pmcid")) or None,
        "preprint": source == "PPR" or any(t.lower() == "preprint" for t in pub_types),
        "retracted": is_retracted(pub_types),
    }
    return Entry(
        guid=url,
        url=url,
        title=title,
        author=_author_string(_str(raw.get("authorString"))),
        published=published,
        updated=iso_date(raw.get("dateOfRevision")),
        summary_html=paragraphs_html(abstract),
        summary=abstract,
        text=abstract,
        doi=doi,
        pmid=id_digits(raw.get("pmid")) or (rid if source == "MED" and rid.isdigit() else None),
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
    return unique(clean_line(v) for v in values if isinstance(v, str))


def _html_text(value: str, *, single_line: bool = False) -> str:
    """Plain text of an API string that may carry inline HTML (<i>, <sup>, <h4>)."""
    return plain_text(value, single_line=single_line) if value else ""


def _author_string(value: str) -> str | None:
    names = [n.strip() for n in plain_text(value, single_line=True).rstrip(".").split(",") if n.strip()]
    return join_authors(names)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
