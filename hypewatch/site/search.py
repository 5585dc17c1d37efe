"""The items table at scale: capped full-text search, the ?_treatment= filter and the treatments facet.

Datasette's own ways answer these from the wide items rows: the array facet and treatments__arraycontains
parse every row's JSON, and ?_search= materialises every match before sorting, counting and faceting
(seconds, then "SQL interrupted", for a common word at a million items: bench/site.py). The site answers
them from item_treatments (db migrations m004/m005) and from the newest matches of the FTS index.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import path_with_added_args, path_with_removed_args, tilde_decode

from hypewatch.site import DATABASE, site_config

SEARCH_NEWEST = 1000  # default for the plugin setting search_newest
CSV_PAGE = 250  # rows per query of a streamed CSV of the items table
COMMON_TREATMENT = 2000  # items about a treatment from which its filter walks the items newest first


def search_newest(datasette) -> int:
    try:
        return max(1, int(site_config(datasette).get("search_newest") or SEARCH_NEWEST))
    except (TypeError, ValueError):
        return SEARCH_NEWEST


def _is_items_table(datasette, path: str) -> bool:
    """Whether Datasette routes ``path`` to the items table (any format), however its segments are encoded."""
    base = datasette.urls.table(DATABASE, "items")
    # Datasette tilde-decodes each segment (/hypewatch/~69tems is the items table); the server %-decoded them.
    decoded = "/".join(tilde_decode(part) if "~" in part else part for part in path.split("/"))
    return bool(re.fullmatch(re.escape(base) + r"(\.[a-z]+)?/?", decoded))


def items_query(pairs: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The items table's query arguments rewritten for the site's fast paths, or None when none applies.

    - ``_search`` (however %-encoded) becomes the capped search ``_q``; ``_search_title`` and
      ``_search_text`` become ``_q`` in that column (``_q_column``). The newly typed words win over a
      ``_q`` the form carried along.
    - ``_next`` pages get ``_nofacet=1``: Datasette would count facets over the rows *after* the
      cursor (wrong counts, and a scan of the whole table per facet).
    - a streamed CSV (``_stream``) reads 250-row pages instead of 50-row ones: few queries, each well
      inside the time limit on a busy machine (a 1,000-row page of a two-label filter read ~7,000 wide
      rows at a million items and was cut by the limit under load).
    """
    keys = {k for k, _ in pairs}
    searched = [(k, v) for k, v in pairs if k == "_search" or k in SEARCH_COLUMNS]
    out = [(k, v) for k, v in pairs if not (k == "_search" or k in SEARCH_COLUMNS)]
    if searched:
        out = [(k, v) for k, v in out if k not in ("_q", "_q_column")]
        key, value = searched[-1]
        out.append(("_q", value))
        if key != "_search":
            out.append(("_q_column", SEARCH_COLUMNS[key]))
    if "_next" in keys and "_nofacet" not in keys:
        out.append(("_nofacet", "1"))
    if "_stream" in keys and "_size" not in keys:
        out.append(("_size", str(CSV_PAGE)))
    return out if out != pairs else None


#: Column searches Datasette offers on the items table, answered by the capped search in that column.
SEARCH_COLUMNS = {"_search_title": "title", "_search_text": "text"}


@hookimpl
def asgi_wrapper(datasette):
    """Send the items table's searches to the capped search (?_q=), so the search box and the API stay fast.

    Datasette's search form and every link people already have use _search; renaming it in the
    query string before Datasette sees it keeps those URLs working. The query string is parsed the
    way Datasette parses it, so %5Fsearch, _%73earch and the like take the same path.
    """

    def wrap(app):
        async def items_search(scope, receive, send):
            query = scope.get("query_string") or b""
            if scope.get("type") == "http" and query and _is_items_table(datasette, scope.get("path") or ""):
                pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                rewritten = items_query(pairs)
                if rewritten is not None:
                    scope = dict(scope, query_string=urlencode(rewritten).encode("latin-1"))
            return await app(scope, receive, send)

        return items_search

    return wrap


# tryfirst: before Datasette's own filters (datasette.filters), so this filter's clauses and descriptions
# come first, and the treatments facet before Datasette's facets.
@hookimpl(tryfirst=True)
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
        params[f"hw_treatment_{i}"] = name.strip().lower()
        described.append(f"treatment is {name.strip().lower()}")

    async def treatment_clauses() -> None:
        # A rare treatment: look its items up by id and sort them. A common one (minoxidil: a quarter of
        # a million items at a million): walk the items newest first and keep the ones about it, which
        # stops after a page instead of sorting them all (`+id` keeps SQLite off the id lookups).
        db = datasette.get_database(DATABASE)
        for i in range(len(wanted)):
            items = await db.execute(
                f"select count(*) from (select 1 from item_treatments where treatment = :t limit {COMMON_TREATMENT})",
                {"t": params[f"hw_treatment_{i}"]})
            column = "+id" if items.rows[0][0] >= COMMON_TREATMENT else "id"
            clauses.append(f"{column} in (select item_id from item_treatments where treatment = :hw_treatment_{i})")

    if not query:
        async def with_treatments():
            await treatment_clauses()
            return FilterArguments(clauses, params=params, human_descriptions=described, extra_context=context)

        return with_treatments
    newest = search_newest(datasette)
    column = request.args.get("_q_column")
    if column in SEARCH_COLUMNS.values():  # FTS5 column filter: {title} : ( ... )
        raw = request.args.get("_searchmode") == "raw"
        match = f"'{{{column}}} : (' || {':hw_q' if raw else 'escape_fts(:hw_q)'} || ')'"
    else:
        match = ":hw_q" if request.args.get("_searchmode") == "raw" else "escape_fts(:hw_q)"
    # FTS5 walks its doclist from the highest rowid (the latest harvested) and stops after `newest`:
    # the page, its count and its facets cost the same for "minoxidil" as for a rare word.
    subquery = f"select rowid from items_fts where items_fts match {match} order by rowid desc limit {newest}"
    described.append(f'search matches "{query}" (the {newest:,} most recently harvested matches at most)')
    context = {"search": query, "supports_search": True}

    async def with_matches():
        await treatment_clauses()
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
            labels_only = _labels_only_where(self.sql)
            if labels_only:  # filters on labels item_treatments copies (m014): count its rows alone
                sql = (f"select treatment as value, count(*) as count from item_treatments where {labels_only} "
                       f"group by treatment order by count desc, value limit {size + 1}")
            elif " where " in self.sql.lower():
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


_ITEMS_WHERE = re.compile(r"^\s*select .+? from items where (.+)$", re.S | re.I)


def _labels_only_where(sql: str) -> str | None:
    """The WHERE clause of the table's query when it filters only on labels item_treatments copies."""
    from hypewatch.site.database import TREATMENT_COLUMNS, where_columns

    match = _ITEMS_WHERE.match(sql)
    if not match or "select" in match.group(1).lower():
        return None
    return f"({match.group(1)})" if where_columns(match.group(1)) <= TREATMENT_COLUMNS else None


@hookimpl(tryfirst=True)
def register_facet_classes():
    return [ItemTreatmentsFacet]

