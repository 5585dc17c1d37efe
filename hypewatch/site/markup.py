"""Safe markup and links: escaping, http(s)-only links, highlighted cues, identifier links and the site's own paths.

Everything a reader sees comes from untrusted feeds, so every helper here
escapes first and only ever turns http(s) URLs into links.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from datasette import hookimpl
from markupsafe import Markup, escape

from harvester.sanitize import web_link
from hypewatch.site import DATABASE

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_PMID = re.compile(r"^\d{1,9}$")
_NCT = re.compile(r"^NCT\d{8}$")


def safe_url(url: Any) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else None: nothing else ever becomes a link."""
    return web_link(url)


def external_link(url: Any, text: Any = None) -> Markup:
    """A link to an outside page (rel=nofollow noopener), or the escaped text when the URL is not http(s)."""
    good = safe_url(url)
    shown = text if text is not None else url
    if good is None:
        return Markup("{}").format("" if shown is None else shown)
    return Markup('<a href="{}" rel="nofollow noopener noreferrer">{}</a>').format(good, shown)


def doi_url(doi: Any) -> str | None:
    return f"https://doi.org/{quote(doi, safe='/:;()._-')}" if isinstance(doi, str) and _DOI.match(doi) else None


def pmid_url(pmid: Any) -> str | None:
    pmid = str(pmid) if isinstance(pmid, int) else pmid
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if isinstance(pmid, str) and _PMID.match(pmid) else None


def nct_url(nct: Any) -> str | None:
    return f"https://clinicaltrials.gov/study/{nct}" if isinstance(nct, str) and _NCT.match(nct) else None


def json_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if not isinstance(value, str) or not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


def highlight(snippet: Any, cue: Any) -> Markup:
    """The snippet escaped, with each occurrence of the cue wrapped in <mark> (matched on the raw text)."""
    snippet = "" if snippet is None else str(snippet)
    cue = "" if cue is None else str(cue).strip()
    if not cue:
        return Markup("{}").format(snippet)
    out = Markup("")
    pos = 0
    for match in re.finditer(re.escape(cue), snippet, flags=re.IGNORECASE):
        out += escape(snippet[pos:match.start()]) + Markup("<mark>{}</mark>").format(match.group(0))
        pos = match.end()
    return out + escape(snippet[pos:])


# -- the site's own pages ------------------------------------------------------------------------------


def item_path(datasette, item_id: Any) -> str:
    from datasette.utils import tilde_encode

    return datasette.urls.row(DATABASE, "items", tilde_encode(str(item_id)))


def row_path(datasette, table: str, pk: Any) -> str:
    """The site path of one row of a table (its primary key tilde-encoded): a study, a citation, a work."""
    from datasette.utils import tilde_encode

    return datasette.urls.row(DATABASE, table, tilde_encode(str(pk)))


def treatment_filter_path(datasette, treatment: str) -> str:
    return datasette.urls.table(DATABASE, "items") + "?" + urlencode({"_treatment": treatment})


def treatment_feed_path(datasette, treatment: str) -> str:
    return datasette.urls.path(f"/{DATABASE}/treatment_feed.atom") + "?" + urlencode({"treatment": treatment})


# -- SQL functions (available to canned queries and the SQL endpoint; pure) ------------------------------


def _sql_escape(value):
    return None if value is None else str(escape(value))


def _sql_safe_url(value):
    return safe_url(value)


def _sql_row_path(table, pk):
    """The site path of a row, its key tilde-encoded as Datasette's URLs want (ids may hold '/', '.', ':')."""
    from datasette.utils import tilde_encode

    if table is None or pk is None:
        return None
    return f"/{DATABASE}/{tilde_encode(str(table))}/{tilde_encode(str(pk))}"


@hookimpl
def prepare_connection(conn, database, datasette):
    """SQL: hw_escape(text) is HTML-escaped text; hw_safe_url(url) is the URL when it is http(s), else NULL;
    hw_row_path(table, pk) is a row's path on this site (feeds link to item and study pages with it)."""
    conn.create_function("hw_escape", 1, _sql_escape, deterministic=True)
    conn.create_function("hw_safe_url", 1, _sql_safe_url, deterministic=True)
    conn.create_function("hw_row_path", 2, _sql_row_path, deterministic=True)
