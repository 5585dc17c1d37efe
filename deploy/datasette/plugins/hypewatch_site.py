"""hypewatch's Datasette plugin: label badges, item-page helpers, home-page data, SVG charts and safe Atom feeds.

Everything a reader sees comes from untrusted feeds, so every helper here
escapes first and only ever turns http(s) URLs into links. Charts are inline
SVG computed with SQL, so the site works offline with no JavaScript library.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
import time
from urllib.parse import quote, urlencode, urlsplit

from datasette import __version__ as datasette_version
from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import path_with_added_args, path_with_removed_args
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

log = logging.getLogger("hypewatch.site")

DATABASE = "hypewatch"

# -- labels -------------------------------------------------------------------------------------------

EVIDENCE_ORDER = ("none", "in_vitro", "animal", "human_anecdote", "human_uncontrolled", "human_rct", "meta_analysis")
COMMERCIAL_ORDER = ("none", "indirect", "direct")
CLAIM_ORDER = ("no_claim", "correlational", "conditional_causal", "direct_causal")
HYPE_ORDER = ("low", "medium", "high")

LABELS: dict[str, dict[Any, str]] = {
    "evidence_stage": {
        "none": "No study",
        "in_vitro": "Cells / in vitro",
        "animal": "Animal",
        "human_anecdote": "Human anecdote",
        "human_uncontrolled": "Human, uncontrolled",
        "human_rct": "Human RCT",
        "meta_analysis": "Meta-analysis",
    },
    "claim_strength": {
        "no_claim": "No claim",
        "correlational": "Correlational claim",
        "conditional_causal": "Conditional causal claim",
        "direct_causal": "Direct causal claim",
    },
    "commercial_interest": {
        "none": "No commercial interest",
        "indirect": "Indirect commercial interest",
        "direct": "Direct commercial interest",
    },
    "hype": {"low": "Low hype", "medium": "Medium hype", "high": "High hype"},
    "relevant": {1: "Hair loss", 0: "Off-topic", "1": "Hair loss", "0": "Off-topic", True: "Hair loss",
                 False: "Off-topic"},
}
SHORT_LABELS = {
    "claim_strength": {"no_claim": "None", "correlational": "Correlational", "conditional_causal": "Conditional",
                       "direct_causal": "Direct"},
    "commercial_interest": {"none": "None", "indirect": "Indirect", "direct": "Direct"},
    "hype": {"low": "Low", "medium": "Medium", "high": "High"},
}
DIMENSION_NAMES = {
    "relevant": "Relevance",
    "evidence_stage": "Evidence stage",
    "claim_strength": "Claim strength",
    "commercial_interest": "Commercial interest",
    "hype": "Hype",
    "treatments": "Treatments",
}
COLORS = {
    "evidence_stage": {
        "none": "#9aa0a6", "in_vitro": "#b39ddb", "animal": "#f6ad55", "human_anecdote": "#f48fb1",
        "human_uncontrolled": "#81c784", "human_rct": "#2e7d32", "meta_analysis": "#174e1c",
    },
    "claim_strength": {"no_claim": "#b0bec5", "correlational": "#80deea", "conditional_causal": "#26c6da",
                       "direct_causal": "#00838f"},
    "commercial_interest": {"none": "#b0bec5", "indirect": "#f9c74f", "direct": "#8e44ad"},
    "hype": {"low": "#4caf50", "medium": "#fb8c00", "high": "#d32f2f"},
}
#: Columns (also in canned queries) whose values are label codes shown as badges.
BADGE_COLUMNS = {
    "evidence_stage": "evidence_stage",
    "strongest_evidence_stage": "evidence_stage",
    "claim_strength": "claim_strength",
    "commercial_interest": "commercial_interest",
    "hype": "hype",
    "relevant": "relevant",
}

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_PMID = re.compile(r"^\d{1,9}$")
_NCT = re.compile(r"^NCT\d{8}$")


def label(dimension: str, value: Any) -> str:
    """Readable name of a label code ("human_rct" -> "Human RCT"); "Not scored" for NULL."""
    if value is None or value == "":
        return "Not scored"
    return LABELS.get(dimension, {}).get(value, str(value))


def badge(dimension: str, value: Any, short: bool = False) -> Markup:
    """A coloured badge for one label; the CSS class carries the colour (static/hypewatch.css)."""
    text = label(dimension, value)
    if short and value is not None:
        text = SHORT_LABELS.get(dimension, {}).get(value, text)
    code = "unscored" if value is None or value == "" else str(value)
    css = re.sub(r"[^a-z0-9_-]", "", f"{dimension}-{code}".lower().replace("_", "-"))
    title = f"{DIMENSION_NAMES.get(dimension, dimension)}: {label(dimension, value)}"
    return Markup('<span class="hw-badge hw-{}" title="{}">{}</span>').format(css, title, text)


def safe_url(url: Any) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else None: nothing else ever becomes a link."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ch in url for ch in "\r\n\t\x00 "):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


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


def reasons_by_dimension(value: Any) -> list[dict[str, Any]]:
    """Reasons grouped by dimension in reading order: [{dimension, name, reasons: [...]}]."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for reason in json_list(value):
        if isinstance(reason, dict):
            groups.setdefault(str(reason.get("dimension") or "other"), []).append(reason)
    order = list(DIMENSION_NAMES) + sorted(d for d in groups if d not in DIMENSION_NAMES)
    return [{"dimension": d, "name": DIMENSION_NAMES.get(d, d), "reasons": groups[d]} for d in order if d in groups]


def reason_label(reason: dict[str, Any]) -> Markup:
    dim = str(reason.get("dimension") or "")
    value = reason.get("label")
    if dim in ("evidence_stage", "claim_strength", "commercial_interest", "hype", "relevant"):
        return badge(dim, value)
    return Markup('<span class="hw-chip">{}</span>').format("" if value is None else value)


def item_path(datasette, item_id: Any) -> str:
    from datasette.utils import tilde_encode

    return datasette.urls.row(DATABASE, "items", tilde_encode(str(item_id)))


def treatment_filter_path(datasette, treatment: str) -> str:
    return datasette.urls.table(DATABASE, "items") + "?" + urlencode({"_treatment": treatment})


def treatment_feed_path(datasette, treatment: str) -> str:
    return datasette.urls.path(f"/{DATABASE}/treatment_feed.atom") + "?" + urlencode({"treatment": treatment})


# -- the items table at scale: treatments facet and filter, capped full-text search -----------------------
#
# Datasette's own ways answer these from the wide items rows: the array facet and treatments__arraycontains
# parse every row's JSON, and ?_search= materialises every match before sorting, counting and faceting
# (seconds, then "SQL interrupted", for a common word at a million items: bench/site.py). The site answers
# them from item_treatments (db migrations m004/m005) and from the newest matches of the FTS index.

SEARCH_NEWEST = 1000  # default for the plugin setting search_newest


def search_newest(datasette) -> int:
    try:
        return max(1, int(_site_config(datasette).get("search_newest") or SEARCH_NEWEST))
    except (TypeError, ValueError):
        return SEARCH_NEWEST


def _items_table_paths(datasette) -> re.Pattern[str]:
    return re.compile(re.escape(datasette.urls.table(DATABASE, "items")) + r"(\.[a-z]+)?$")


@hookimpl
def asgi_wrapper(datasette):
    """Send ?_search= on the items table to the capped search (?_q=), so the search box and the API stay fast.

    Datasette's search form and every link people already have use _search; renaming it in the
    query string before Datasette sees it keeps those URLs working. Column searches (_search_title=)
    are left to Datasette.
    """

    def wrap(app):
        async def items_search(scope, receive, send):
            query = scope.get("query_string") or b""
            if scope.get("type") == "http" and b"_search=" in query:
                if _items_table_paths(datasette).match(scope.get("path") or ""):
                    # The table form carries the current ?_q= as a hidden field: the newly typed words win.
                    parts = [b"_q=" + part[len(b"_search="):] if part.startswith(b"_search=") else part
                             for part in query.split(b"&") if not part.startswith(b"_q=")]
                    scope = dict(scope, query_string=b"&".join(parts))
            return await app(scope, receive, send)

        return items_search

    return wrap


@hookimpl
def filters_from_request(request, database, table, datasette):
    """?_treatment=NAME (repeatable: all of them) and ?_q=WORDS (the newest matches) on the items table."""
    if database != DATABASE or table != "items":
        return None
    wanted = [name for name in request.args.getlist("_treatment") if name.strip()]
    query = (request.args.get("_q") or "").strip()
    if not (wanted or query):
        return None
    clauses, params, described, context = [], {}, [], {}
    for i, name in enumerate(wanted):
        clauses.append(f"id in (select item_id from item_treatments where treatment = :hw_treatment_{i})")
        params[f"hw_treatment_{i}"] = name.strip().lower()
        described.append(f"treatment is {name.strip().lower()}")
    if not query:
        return FilterArguments(clauses, params=params, human_descriptions=described, extra_context=context)
    newest = search_newest(datasette)
    match = ":hw_q" if request.args.get("_searchmode") == "raw" else "escape_fts(:hw_q)"
    # FTS5 walks its doclist from the highest rowid (the latest harvested) and stops after `newest`:
    # the page, its count and its facets cost the same for "minoxidil" as for a rare word.
    subquery = f"select rowid from items_fts where items_fts match {match} order by rowid desc limit {newest}"
    described.append(f'search matches "{query}" (the {newest:,} most recently harvested matches at most)')
    context = {"search": query, "supports_search": True}

    async def with_matches():
        # The page runs its query, its count and one query per facet: match once, and hand them
        # the rowids (integers from SQLite, so safe to inline) instead of eight full-text searches.
        try:
            result = await datasette.get_database(DATABASE).execute(subquery, {"hw_q": query})
        except Exception:  # noqa: BLE001 - a bad raw query or the time limit: let the page report it
            clauses.append(f"rowid in ({subquery})")
            params["hw_q"] = query
        else:
            clauses.append("rowid in (" + ",".join(str(int(r[0])) for r in result.rows) + ")")
        return FilterArguments(clauses, params=params, human_descriptions=described, extra_context=context)

    return with_matches


class ItemTreatmentsFacet(Facet):
    """The treatments facet, counted from item_treatments' index instead of every item's JSON array.

    Configured in metadata.yaml as ``- item_treatments: treatments``; its links toggle ?_treatment=.
    """

    type = "item_treatments"

    async def suggest(self):
        return []

    async def facet_results(self):
        results, timed_out = [], []
        size = self.get_facet_size()
        selected_now = [v.strip().lower() for v in self.request.args.getlist("_treatment")]
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            if " where " in self.sql.lower():
                sql = (f"select treatment as value, count(*) as count from item_treatments "
                       f"where item_id in (select id from ({self.sql})) "
                       f"group by treatment order by count desc, value limit {size + 1}")
            else:  # the whole table: the covering index alone
                sql = (f"select treatment as value, count(*) as count from item_treatments "
                       f"group by treatment order by count desc, value limit {size + 1}")
            try:
                rows = await self.ds.execute(self.database, sql, self.params, truncate=False,
                                             custom_time_limit=self.ds.setting("facet_time_limit_ms"))
            except QueryInterrupted:
                timed_out.append(column)
                continue
            values = []
            for row in rows.rows[:size]:
                value = str(row["value"])
                selected = value in selected_now
                toggle = (path_with_removed_args(self.request, {"_treatment": value}) if selected
                          else path_with_added_args(self.request, {"_treatment": value}))
                values.append({"value": value, "label": value, "count": row["count"],
                               "toggle_url": self.ds.absolute_url(self.request, toggle), "selected": selected})
            results.append({"name": column, "type": self.type, "results": values,
                            "hideable": source_and_config["source"] != "metadata",
                            "toggle_url": self.ds.urls.path(path_with_removed_args(
                                self.request, {f"_facet_{self.type}": column})),
                            "truncated": len(rows) > size})
        return results, timed_out


@hookimpl
def register_facet_classes():
    return [ItemTreatmentsFacet]


class Helpers:
    """The `hw` object templates use: hw.badge(...), hw.highlight(...), hw.safe_url(...)."""

    EVIDENCE_ORDER = EVIDENCE_ORDER
    COMMERCIAL_ORDER = COMMERCIAL_ORDER
    CLAIM_ORDER = CLAIM_ORDER
    HYPE_ORDER = HYPE_ORDER
    LABELS = LABELS
    DIMENSION_NAMES = DIMENSION_NAMES

    def __init__(self, datasette):
        self.datasette = datasette

    label = staticmethod(label)
    badge = staticmethod(badge)
    safe_url = staticmethod(safe_url)
    external_link = staticmethod(external_link)
    doi_url = staticmethod(doi_url)
    pmid_url = staticmethod(pmid_url)
    nct_url = staticmethod(nct_url)
    json_list = staticmethod(json_list)
    highlight = staticmethod(highlight)
    reasons_by_dimension = staticmethod(reasons_by_dimension)
    reason_label = staticmethod(reason_label)

    def item_path(self, item_id: Any) -> str:
        return item_path(self.datasette, item_id)

    def row_path(self, table: str, pk: Any) -> str:
        from datasette.utils import tilde_encode

        return self.datasette.urls.row(DATABASE, table, tilde_encode(str(pk)))

    def treatment_filter_path(self, treatment: str) -> str:
        return treatment_filter_path(self.datasette, treatment)

    def treatment_feed_path(self, treatment: str) -> str:
        return treatment_feed_path(self.datasette, treatment)

    def facet_label(self, column: str, value: Any) -> str:
        if column in BADGE_COLUMNS:
            return label(BADGE_COLUMNS[column], value)
        return "-" if value is None or value == "" else str(value)


# -- SQL functions (available to canned queries and the SQL endpoint; pure) ------------------------------


def entry_html(evidence_stage, commercial_interest, hype, treatments, summary, source, publisher, url,
               claim_strength=None) -> str:
    """The HTML body of one feed entry: labels, treatments, the summary as escaped text, the original link.

    SQL: hw_entry_html(evidence_stage, commercial_interest, hype, treatments, summary, source, publisher, url
    [, claim_strength]); the claim strength, last so that eight-argument calls keep working, is shown
    after the evidence stage when it is known.
    """
    labels = [Markup("<strong>{}</strong>").format(label("evidence_stage", evidence_stage))]
    if claim_strength not in (None, ""):
        labels.append(Markup("{}").format(label("claim_strength", claim_strength)))
    labels += [Markup("{}").format(label("commercial_interest", commercial_interest)),
               Markup("{}").format(label("hype", hype))]
    parts = [Markup("<p>{}</p>").format(Markup(" · ").join(labels))]
    names = [str(t) for t in json_list(treatments)]
    if names:
        parts.append(Markup("<p>Treatments: {}</p>").format(", ".join(names)))
    if summary:
        text = str(summary)
        parts.append(Markup("<p>{}</p>").format(text if len(text) <= 1200 else text[:1200] + "…"))
    origin = " · ".join(str(x) for x in (source, publisher) if x)
    good = safe_url(url)
    if good:
        parts.append(Markup('<p>{} <a href="{}">Read the original</a></p>').format(origin, good))
    elif origin:
        parts.append(Markup("<p>{}</p>").format(origin))
    return str(Markup("\n").join(parts))


def _sql_label(dimension, value):
    return label(dimension, value)


def _sql_escape(value):
    return None if value is None else str(escape(value))


def _sql_safe_url(value):
    return safe_url(value)


@hookimpl
def prepare_connection(conn, database, datasette):
    conn.create_function("hw_entry_html", 8, entry_html, deterministic=True)
    conn.create_function("hw_entry_html", 9, entry_html, deterministic=True)
    conn.create_function("hw_label", 2, _sql_label, deterministic=True)
    conn.create_function("hw_escape", 1, _sql_escape, deterministic=True)
    conn.create_function("hw_safe_url", 1, _sql_safe_url, deterministic=True)


# -- cells ---------------------------------------------------------------------------------------------


def _get(row, key: str) -> Any:
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database != DATABASE:
        return None
    if column in BADGE_COLUMNS:
        if column == "relevant" and value is None:
            return badge("relevant", None)
        return badge(BADGE_COLUMNS[column], value)
    if column == "treatments" and isinstance(value, str) and value.startswith("["):
        names = [str(t) for t in json_list(value)]
        if not names:
            return Markup('<span class="hw-muted">—</span>')
        return Markup(" ").join(
            Markup('<a class="hw-chip" href="{}">{}</a>').format(treatment_filter_path(datasette, n), n)
            for n in names)
    if column == "treatment" and isinstance(value, str) and table is None:
        return Markup('<a class="hw-chip" href="{}">{}</a> <a class="hw-feed" href="{}" title="Atom feed">feed</a>').format(
            treatment_filter_path(datasette, value), value, treatment_feed_path(datasette, value))
    if column in ("title", "latest_item") and (table in (None, "items")):
        item_id = _get(row, "id") if column == "title" else _get(row, "latest_item_id")
        if item_id is not None and (table == "items" or column == "latest_item" or _get(row, "evidence_stage") is not None
                                    or _get(row, "hype") is not None):
            return Markup('<a class="hw-title" href="{}">{}</a>').format(
                item_path(datasette, item_id), value if value not in (None, "") else "(untitled)")
        return None
    if column in ("url", "canonical_url", "sample_server", "config_url", "atom_link"):
        if value is None:
            return None
        good = safe_url(value)
        if good is None:
            return Markup('<span class="hw-unsafe-url" title="not an http(s) link">{}</span>').format(value)
        host = urlsplit(good).netloc
        return Markup('<a href="{}" rel="nofollow noopener noreferrer" title="{}">{}</a>').format(good, good, host)
    if column == "doi" and doi_url(value):
        return external_link(doi_url(value), value)
    if column == "pmid" and pmid_url(value):
        return external_link(pmid_url(value), value)
    if column == "nct_ids" and isinstance(value, str):
        ids = [n for n in json_list(value) if nct_url(n)]
        return Markup(" ").join(external_link(nct_url(n), n) for n in ids)
    if column == "reasons" and isinstance(value, str) and value.startswith("["):
        groups = reasons_by_dimension(value)
        if not groups:
            return Markup('<span class="hw-muted">none</span>')
        return Markup(", ").join(
            Markup("{} ({})").format(g["name"], len(g["reasons"])) for g in groups)
    if column == "last_status" and table in (None, "sources", "fetches") or column == "status" and table == "fetches":
        if value in ("ok", "not_modified", "unchanged", "failed"):
            kind = "bad" if value == "failed" else "good"
            return Markup('<span class="hw-status hw-status-{}">{}</span>').format(kind, value.replace("_", " "))
    return None


# -- page assets and template variables ----------------------------------------------------------------


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/static/hypewatch.css")]


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.globals["hw"] = Helpers(datasette)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def home_vars():
        home = await cached_summary(datasette, "home", home_data)
        return {"hw_home": home, "hw_demo": home["demo"]}

    async def common_vars():
        return {"hw_demo": await demo_note(datasette)}

    if view_name == "index":
        return home_vars
    return common_vars


async def _rows(db, sql: str, params=None, limit_ms: int | None = None) -> list[dict[str, Any]] | None:
    """Rows as dicts, or None when the query was interrupted by the time limit."""
    try:
        result = await db.execute(sql, params or [], custom_time_limit=limit_ms)
    except QueryInterrupted:
        log.warning("query interrupted sql=%r", sql[:80])
        return None
    cols = [d[0] for d in result.description]
    return [dict(zip(cols, r)) for r in result.rows]


async def demo_note(datasette) -> str | None:
    """The sample-data note when the database was made by `hypewatch demo` (it has a demo_info table)."""
    try:
        db = datasette.get_database(DATABASE)
    except KeyError:
        return None
    if not await db.table_exists("demo_info"):
        return None
    rows = await _rows(db, "select * from demo_info limit 1")
    note = rows[0].get("note") if rows else None
    return note or "This database holds sample data from `hypewatch demo`; none of it is news."


def pipeline_sql(datasette) -> str | None:
    """The treatment_pipeline canned query from metadata.yaml: one definition for the query and the home page."""
    try:
        return datasette.metadata(database=DATABASE)["queries"]["treatment_pipeline"]["sql"]
    except (KeyError, TypeError):
        return None


def _data_signature(datasette) -> tuple[Any, ...] | None:
    """Size and mtime of the database file and its WAL: they change when a harvest commits."""
    import os

    try:
        path = datasette.get_database(DATABASE).path
    except KeyError:
        return None
    if not path:
        return None
    sig: list[Any] = []
    for name in (path, path + "-wal"):
        try:
            st = os.stat(name)
            sig += [st.st_size, st.st_mtime_ns]
        except OSError:
            sig += [None, None]
    return tuple(sig)


SUMMARY_FRESH_S = 30      # within this, a cached summary is served even while harvests commit
SUMMARY_MAX_AGE_S = 600   # past this, recomputed even when the file looks unchanged


async def cached_summary(datasette, key: str, compute) -> Any:
    """The home page's and charts' aggregates, computed at most every 30 s and again only after data changed.

    They scan every item (counts, pipeline, charts): ~1 s at a million items, too slow to repeat for
    every visitor, and they change only when a harvest commits.
    """
    cache = datasette.__dict__.setdefault("_hypewatch_summaries", {})
    now = time.monotonic()
    signature = _data_signature(datasette)
    hit = cache.get(key)
    if hit is not None:
        at, sig, value = hit
        age = now - at
        if age < SUMMARY_FRESH_S or (sig == signature and signature is not None and age < SUMMARY_MAX_AGE_S):
            return value
    value = await compute(datasette)
    cache[key] = (now, signature, value)
    return value


async def home_data(datasette) -> dict[str, Any]:
    db = datasette.get_database(DATABASE)
    data: dict[str, Any] = {"demo": await demo_note(datasette)}
    counts = await _rows(db, """
        select count(*) as items,
               sum(relevant = 1) as relevant,
               sum(evidence_stage in ('human_rct', 'meta_analysis') and relevant is not 0) as human_evidence,
               sum(hype = 'high' and relevant is not 0) as high_hype,
               max(published) as newest
        from items""", limit_ms=3000)  # all from the covering index items_site_summary (m006)
    data["counts"] = counts[0] if counts else None
    sources = await _rows(db, """
        select count(*) as sources, sum(enabled) as enabled, sum(error_count > 0) as failing
        from sources""", limit_ms=1000)
    data["sources"] = sources[0] if sources else None
    data["sql_time_limit_ms"] = datasette.setting("sql_time_limit_ms")
    sql = pipeline_sql(datasette)
    data["pipeline"] = await _rows(db, f"select * from ({sql}) limit 12", limit_ms=3000) if sql else None
    data["latest"] = await _rows(db, """
        select id, title, source, publisher, coalesce(published, first_seen_at) as published,
               evidence_stage, commercial_interest, hype
        from items where relevant is not 0
        order by items.published desc limit 8""", limit_ms=1000)  # items.published: the index, not the alias
    data["stage_chart"] = await stages_over_time_svg(db, months=18)
    return data


# -- charts: inline SVG computed with SQL ----------------------------------------------------------------


def _nice_step(value: float, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5 × 10^k) so that ``ticks`` steps cover ``value``."""
    raw = max(1.0, value / ticks)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= raw:
            return int(step * magnitude)
    return int(10 * magnitude)


def _month_range(first: str, last: str) -> list[str]:
    """Every YYYY-MM from first to last inclusive, so empty months show as gaps."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last and len(out) < 600:
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


def _legend(x: int, y: int, dimension: str, order: Iterable[str]) -> list[Markup]:
    parts = []
    for code in order:
        parts.append(Markup('<rect x="{}" y="{}" width="12" height="12" rx="2" fill="{}"/>'
                            '<text x="{}" y="{}" class="hw-svg-small">{}</text>').format(
            x, y, COLORS[dimension][code], x + 16, y + 10, label(dimension, code)))
        x += 28 + int(6.2 * len(label(dimension, code)))
    return parts


def stacked_months_svg(rows: list[dict[str, Any]], *, width: int = 860, height: int = 300) -> Markup:
    """Items per month stacked by evidence stage. rows: month, evidence_stage, n."""
    seen = sorted({r["month"] for r in rows if r["month"] and re.match(r"^\d{4}-\d{2}$", r["month"])})
    months = _month_range(seen[0], seen[-1]) if seen else []
    if not months:
        return Markup('<p class="hw-muted">No dated items yet.</p>')
    per: dict[str, dict[str, int]] = {m: {} for m in months}
    for r in rows:
        if r["month"] in per:
            stage = r["evidence_stage"] if r["evidence_stage"] in EVIDENCE_ORDER else "none"
            per[r["month"]][stage] = per[r["month"]].get(stage, 0) + int(r["n"])
    step = _nice_step(max(sum(v.values()) for v in per.values()))
    top = step * 4
    left, right, top_pad, bottom = 44, 10, 40, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    band = plot_w / len(months)
    bar = max(2.0, band * 0.72)
    out = [Markup('<svg class="hw-chart" role="img" viewBox="0 0 {} {}" width="100%" '
                  'xmlns="http://www.w3.org/2000/svg" aria-labelledby="hw-stages-title">'
                  '<title id="hw-stages-title">Items per month by evidence stage</title>').format(width, height)]
    out += _legend(left, 8, "evidence_stage", EVIDENCE_ORDER)
    for i in range(5):
        value = step * i
        y = top_pad + plot_h - plot_h * i / 4
        out.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="hw-grid"/>'
                          '<text x="{}" y="{:.1f}" text-anchor="end" class="hw-svg-small">{}</text>').format(
            left, width - right, y, y, left - 6, y + 4, int(value)))
    label_every = max(1, round(len(months) / 12))
    for i, month in enumerate(months):
        x = left + i * band + (band - bar) / 2
        y = top_pad + plot_h
        for stage in EVIDENCE_ORDER:
            n = per[month].get(stage, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            out.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                              '<title>{}: {} {} item{}</title></rect>').format(
                x, y, bar, h, COLORS["evidence_stage"][stage], month, n, label("evidence_stage", stage),
                "" if n == 1 else "s"))
        if i % label_every == 0:
            out.append(Markup('<text x="{:.1f}" y="{}" text-anchor="middle" class="hw-svg-small">{}</text>').format(
                left + i * band + band / 2, height - bottom + 16, month))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def stacked_share_svg(rows: list[dict[str, Any]], *, group_title: str, width: int = 860) -> Markup:
    """100 % bars of hype per group. rows: grp, hype, n."""
    groups: dict[str, dict[str, int]] = {}
    for r in rows:
        grp = r["grp"] if r["grp"] not in (None, "") else "(unknown)"
        if r["hype"] in HYPE_ORDER:
            groups.setdefault(str(grp), {})
            groups[str(grp)][r["hype"]] = groups[str(grp)].get(r["hype"], 0) + int(r["n"])
    if not groups:
        return Markup('<p class="hw-muted">No scored items yet.</p>')
    names = sorted(groups, key=lambda g: (-groups[g].get("high", 0) / max(1, sum(groups[g].values())), g))
    row_h, left, top_pad, right = 26, 210, 34, 70
    height = top_pad + row_h * len(names) + 10
    plot_w = width - left - right
    out = [Markup('<svg class="hw-chart" role="img" viewBox="0 0 {} {}" width="100%" '
                  'xmlns="http://www.w3.org/2000/svg"><title>Hype by {}</title>').format(width, height, group_title)]
    out += _legend(left, 8, "hype", HYPE_ORDER)
    for i, name in enumerate(names):
        total = sum(groups[name].values())
        y = top_pad + i * row_h
        shown = name if len(name) <= 30 else name[:29] + "…"
        out.append(Markup('<text x="{}" y="{}" text-anchor="end" class="hw-svg-label">{}<title>{}</title></text>').format(
            left - 8, y + 15, shown, name))
        x = float(left)
        for code in HYPE_ORDER:
            n = groups[name].get(code, 0)
            if not n:
                continue
            w = plot_w * n / total
            out.append(Markup('<rect x="{:.1f}" y="{}" width="{:.1f}" height="18" fill="{}">'
                              '<title>{}: {} of {} ({:.0f}%)</title></rect>').format(
                x, y + 2, w, COLORS["hype"][code], name, n, total, 100 * n / total) )
            x += w
        high = groups[name].get("high", 0)
        out.append(Markup('<text x="{}" y="{}" class="hw-svg-small">{:.0f}% high · {}</text>').format(
            left + plot_w + 6, y + 15, 100 * high / total, total))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def pipeline_svg(rows: list[dict[str, Any]], *, width: int = 860) -> Markup:
    """Treatments × evidence stages: a dot per stage sized by item count; the strongest stage outlined.

    rows: treatment, evidence_stage, n.
    """
    data: dict[str, dict[str, int]] = {}
    for r in rows:
        stage = r["evidence_stage"] if r["evidence_stage"] in EVIDENCE_ORDER else None
        if stage:
            data.setdefault(str(r["treatment"]), {})[stage] = int(r["n"])
    if not data:
        return Markup('<p class="hw-muted">No treatments found yet.</p>')
    rank = {s: i for i, s in enumerate(EVIDENCE_ORDER)}
    names = sorted(data, key=lambda t: (-max(rank[s] for s in data[t]), -sum(data[t].values()), t))[:25]
    biggest = max(n for t in names for n in data[t].values())
    left, top_pad, row_h = 190, 58, 28
    col_w = (width - left - 10) / len(EVIDENCE_ORDER)
    height = top_pad + row_h * len(names) + 8
    out = [Markup('<svg class="hw-chart" role="img" viewBox="0 0 {} {}" width="100%" '
                  'xmlns="http://www.w3.org/2000/svg"><title>Treatment pipeline: items per evidence stage</title>'
                  ).format(width, height)]
    for j, stage in enumerate(EVIDENCE_ORDER):
        cx = left + col_w * j + col_w / 2
        out.append(Markup('<text x="{:.1f}" y="{}" text-anchor="middle" class="hw-svg-label">{}</text>').format(
            cx, 24 if j % 2 == 0 else 42, label("evidence_stage", stage)))
    for i, name in enumerate(names):
        y = top_pad + i * row_h + row_h / 2
        strongest = max(data[name], key=lambda s: rank[s])
        out.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="hw-grid"/>'
                          '<text x="{}" y="{:.1f}" text-anchor="end" class="hw-svg-label">{}</text>').format(
            left, width - 10, y, y, left - 8, y + 4, name if len(name) <= 26 else name[:25] + "…"))
        for stage, n in data[name].items():
            cx = left + col_w * rank[stage] + col_w / 2
            r = 3 + 9 * (n / biggest) ** 0.5
            ring = Markup(' stroke="#111" stroke-width="2"') if stage == strongest else Markup("")
            out.append(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}"{}><title>{}: {} item{} at {}{}'
                              '</title></circle>').format(
                cx, y, r, COLORS["evidence_stage"][stage], ring, name, n, "" if n == 1 else "s",
                label("evidence_stage", stage), " (strongest stage)" if stage == strongest else ""))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


async def stages_over_time_svg(db, months: int = 24) -> Markup:
    rows = await _rows(db, """
        select substr(published, 1, 7) as month, evidence_stage, count(*) as n
        from items
        where relevant is not 0 and evidence_stage is not null and published >= strftime('%Y-%m', 'now', :back) and published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 day')
        group by month, evidence_stage""", {"back": f"-{int(months)} months"}, limit_ms=3000)
    if rows is None:
        return Markup('<p class="hw-muted">This chart took too long to compute.</p>')
    return stacked_months_svg(rows)


async def charts_data(datasette) -> dict[str, Markup]:
    db = datasette.get_database(DATABASE)
    # `+column` keeps SQLite off the single-column label indexes (random reads into the wide rows) and on
    # the covering index items_site_summary (m006): one narrow scan, ~1 s at a million items.
    charts: dict[str, Markup] = {"stages": await stages_over_time_svg(db, months=24)}
    too_slow = Markup('<p class="hw-muted">This chart took too long to compute.</p>')
    by_publisher = await _rows(db, """
        select publisher as grp, hype, count(*) as n from items
        where +relevant is not 0 and +hype is not null group by +publisher, hype""", limit_ms=3000)
    charts["hype_publisher"] = too_slow if by_publisher is None else stacked_share_svg(by_publisher, group_title="publisher kind")
    by_source = await _rows(db, """
        with c as (select source, hype, count(*) as n from items
                   where +relevant is not 0 and +hype is not null group by +source, hype),
             top as (select source from c group by source order by sum(n) desc limit 20)
        select source as grp, hype, n from c where source in (select source from top)""", limit_ms=3000)
    charts["hype_source"] = too_slow if by_source is None else stacked_share_svg(by_source, group_title="source")
    pipeline = await _rows(db, """
        select treatment, evidence_stage, count(*) as n from item_treatments
        where relevant is not 0 and evidence_stage is not null
        group by treatment, evidence_stage""", limit_ms=3000)
    charts["pipeline"] = too_slow if pipeline is None else pipeline_svg(pipeline)
    return charts


async def charts_page(datasette, request):
    charts = await cached_summary(datasette, "charts", charts_data)
    return Response.html(await datasette.render_template(
        "hypewatch_charts.html", {"charts": charts, "hw_demo": await demo_note(datasette)}, request=request))


async def labels_page(datasette, request):
    return Response.html(await datasette.render_template(
        "hypewatch_labels.html", {"hw_demo": await demo_note(datasette)}, request=request))


def _site_config(datasette) -> dict[str, Any]:
    return datasette.plugin_config("hypewatch") or {}


async def license_page(datasette, request):
    """The MIT licence of hypewatch's code and published data (the repository's LICENSE file)."""
    path = datasette.config_dir and (datasette.config_dir / ".." / ".." / "LICENSE")
    text = path.read_text() if path and path.is_file() else "MIT License (see the LICENSE file of hypewatch)."
    return Response.text(text)


async def source_page(datasette, request):
    """Where the code lives: the configured repository URL, else this page saying how to get it."""
    url = safe_url(_site_config(datasette).get("source_url"))
    if url:
        return Response.redirect(url)
    return Response.html(await datasette.render_template(
        "hypewatch_source.html", {"hw_demo": await demo_note(datasette)}, request=request))


@hookimpl
def register_routes(datasette):
    return [
        (r"^/-/charts$", charts_page),
        (r"^/-/labels$", labels_page),
        (r"^/-/license$", license_page),
        (r"^/-/source$", source_page),
    ]


# -- Atom: empty feeds are valid, links are http(s) ---------------------------------------------------------


def _feed_title(datasette, request, sql, table, database, query_name, data) -> str:
    title = request.args.get("_feed_title", sql)
    if table:
        title += "/" + table
    if data.get("human_description_en"):
        title += ": " + data["human_description_en"]
    if query_name:
        try:
            title = datasette.metadata(database=database)["queries"][query_name]["title"]
        except (KeyError, TypeError):
            pass
    return title


def _empty_feed(datasette, request, sql, table, database, query_name, data) -> Response:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.generator(generator="Datasette", version=datasette_version, uri="https://github.com/simonw/datasette")
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    # An empty feed has no newest entry; "now" is when this (empty) answer was true.
    fg.updated(datetime.now(timezone.utc).replace(microsecond=0))
    fg.title(_feed_title(datasette, request, sql, table, database, query_name, data))
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)


def safe_atom_renderer(render):
    """Wrap datasette-atom's renderer: a valid empty feed for no rows; every entry link absolute http(s)."""

    def render_atom(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
        if "atom_id" in columns and "atom_updated" in columns and "atom_title" in columns:
            if not rows:
                return _empty_feed(datasette, request, sql, table, database, query_name, data)
            if "atom_link" in columns:
                fixed = []
                for row in rows:
                    row = dict(zip(columns, row))
                    link = row["atom_link"]
                    if isinstance(link, str) and link.startswith("/") and not link.startswith("//"):
                        link = datasette.absolute_url(request, link)
                    row["atom_link"] = safe_url(link) or request.url
                    fixed.append(row)
                rows = fixed
        return render(datasette=datasette, request=request, sql=sql, columns=columns, rows=rows,
                      database=database, table=table, query_name=query_name, view_name=view_name, data=data)

    render_atom.hypewatch_wrapped = True  # type: ignore[attr-defined]
    return render_atom


# datasette-atom cleans each entry's HTML with bleach (html5lib, pure Python): ~60 ms per digest entry, seconds
# for digest.atom's 50 entries (bench/site.py). nh3 (ammonia, Rust) with the same tag/attribute allowlist and
# only http(s)/mailto links is ~75x faster; datasette-atom looks its module-level `clean` up on every call.
ATOM_TAGS = frozenset({"a", "abbr", "acronym", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "strong",
                       "ul", "pre", "p", "h1", "h2", "h3", "h4", "h5", "h6", "img"})


def nh3_atom_clean(html: Any) -> str:
    import nh3

    return nh3.clean(str(html or ""), tags=set(ATOM_TAGS), attributes={"a": {"href", "title"}, "img": {"alt", "src"}},
                     url_schemes={"http", "https", "mailto"})


@hookimpl
def startup(datasette):
    current = datasette.renderers.get("atom")
    if current is None:
        log.warning("datasette-atom is not installed: the .atom feeds will not work")
        return
    import datasette_atom

    if callable(getattr(datasette_atom, "clean", None)):
        datasette_atom.clean = nh3_atom_clean
    render, can_render = current
    if not getattr(render, "hypewatch_wrapped", False):
        datasette.renderers["atom"] = (safe_atom_renderer(render), can_render)
