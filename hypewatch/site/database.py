"""The published database: items pages in a stable order, and counts and facets cached until the data changes.

``make_app`` (hypewatch/serve.py) publishes the file through :class:`SiteDatabase`, a Datasette
``Database`` with two changes to what it executes:

- a page of the items table sorted by one column gets the primary key as tie-break (``order by
  published desc`` becomes ``order by published desc, id``). Datasette's next pages order by
  (column, id) and resume after the last row's pair; a first page with ties in another order lost
  or repeated rows at the page boundary. With the tie-break the first page reads the keyset index
  (m009) like the others.
- the canned queries named in the plugin setting ``summary_queries`` (whole-table summaries we
  wrote, such as the treatment pipeline) run with a longer time limit, once per data state;
- a count or facet filtered by a sparse column of m011 (citation_check, coverage_gap, study_id) reads
  that column's index (SPARSE_INDEXES);
- aggregates (``select count(*) ...`` and facets' ``group by``) are answered from a cache while the
  database file is unchanged: every page of a view, and every visitor, share one count and one set
  of facet counts. After a harvest's commit they are counted again once they are older than
  ``aggregate_max_age_s`` (a harvest may commit every few seconds).
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections import OrderedDict
from typing import Any

from datasette.database import Database, QueryInterrupted, Results
from datasette.utils import sqlite_timelimit

from hypewatch.site import DATABASE, site_config
from hypewatch.site.isolation import ADHOC, STREAM, QueryProcesses
from hypewatch.site.state import data_state

__all__ = ["SiteDatabase"]

# Datasette's table-page SQL: "select ... from items [where ...] order by <col>[ desc] limit N"
_ONE_COLUMN_ORDER = re.compile(
    r"^(select .+ from items (?:where .+ )?order by (?:\[?[a-z_]+\]?|\"[a-z_]+\")(?: desc)?) (limit \d+(?: offset \d+)?)$",
    re.S | re.I)
_AGGREGATE = re.compile(r"^\s*select (count\(\*\)|\S+ as value, count\(\*\) as count) ", re.I)
CACHE_ENTRIES = 2000
#: Default for the plugin setting sql_processes: query processes per site process for visitors' own SQL.
SQL_PROCESSES = 2


#: The columns of the covering index items_site_summary (m006, widened by m013).
SUMMARY_COLUMNS = {"published", "relevant", "evidence_stage", "hype", "commercial_interest", "publisher", "source",
                   "claim_strength", "citation_check", "coverage_gap"}
_FACET = re.compile(r'^\s*select "?(\w+)"? as value, count\(\*\) as count from \(\s*select .+? from items where (.+?)\s*\)\s*where\s',
                    re.S | re.I)
_COUNT = re.compile(r"^\s*select count\(\*\) from items where (.+?)\s*$", re.S | re.I)
_WORDS = re.compile(r"'(?:[^']|'')*'|:\w+|\"(\w+)\"|\[(\w+)\]|\b([a-z_]\w*)\b", re.I)
_SQL_WORDS = {"and", "or", "not", "is", "null", "in", "like", "glob", "between", "escape", "collate", "nocase", "lower",
              "upper", "trim", "coalesce", "date", "datetime"}


#: Sparse columns (m011): most items have none, so SQLite's statistics (an average over the NULLs too) make a
#: filter on one look broad, and it walks another label's index over every item instead. A filter on one
#: (= or IN, which its index can always serve) reads that index.
SPARSE_INDEXES = {"citation_check": "items_citation_check", "coverage_gap": "items_coverage_gap",
                  "study_id": "items_study"}
_SPARSE_FILTER = re.compile(r'(?:^|[\s(])(?:"|\[)?(citation_check|coverage_gap|study_id)(?:"|\])?\s*(?:=|in\s*\()', re.I)


def _sparse_index(where: str) -> str | None:
    """The index of the sparse column a WHERE clause filters by equality or IN, if any."""
    match = _SPARSE_FILTER.search(where)
    return SPARSE_INDEXES[match.group(1).lower()] if match else None


def narrow_aggregate(sql: str) -> str:
    """An aggregate over the items table, made to read only what it needs.

    - A facet whose filters and column are all label columns counts from the covering index
      items_site_summary (one narrow scan, ~0.1 s at a million items) instead of reading the wide
      rows behind a label index (seconds for a broad filter such as hype=low).
    - A count or facet filtered by a common treatment looks the items up by id (``+id in`` is the
      page query's newest-first walk, which only pays when it stops after one page).
    """
    sql = sql.replace("+id in (select item_id from item_treatments", "id in (select item_id from item_treatments")
    in_treatment = _in_one_treatment(sql)
    if in_treatment:
        return in_treatment
    match = _FACET.match(sql)
    if match:  # a sparse filter's own index reads its few rows; else the covering index, one narrow scan
        names = where_columns(match.group(2))
        index = _sparse_index(match.group(2))
        if index is None and match.group(1).lower() in SUMMARY_COLUMNS and names and names <= SUMMARY_COLUMNS:
            index = "items_site_summary"
        if index:
            start = match.start(2)
            head = sql[:start]
            sql = head[: head.rindex(" from items where ")] + f" from items indexed by {index} where " + sql[start:]
        return sql
    match = _COUNT.match(sql)
    if match:  # one label has its own index; two or more, read together, only the covering one
        names = where_columns(match.group(1))
        if _sparse_index(match.group(1)):
            sql = f"select count(*) from items indexed by {_sparse_index(match.group(1))} where " + match.group(1)
        elif len(names) >= 2 and names <= SUMMARY_COLUMNS:
            sql = "select count(*) from items indexed by items_site_summary where " + match.group(1)
    return sql


#: The item columns item_treatments copies (m014): a treatment's facets and count read it alone.
TREATMENT_COLUMNS = {"published", "relevant", "evidence_stage", "commercial_interest", "hype", "claim_strength",
                     "publisher", "source", "citation_check", "coverage_gap"}
_TREATMENT_CLAUSE = re.compile(r"(^|\s+and\s+)id in \(select item_id from item_treatments where treatment = (:\w+)\)"
                               r"(?=\s+and\s+|$)", re.I)


def _one_treatment(where: str) -> tuple[str, str | None] | None:
    """(the treatment's parameter, the other clauses or None) when ``where`` is one treatment's ids and-ed
    with filters on columns item_treatments copies; None for anything else (left to SQLite as it is)."""
    where = where.strip()
    clauses = list(_TREATMENT_CLAUSE.finditer(where))
    if len(clauses) != 1:
        return None
    clause = clauses[0]
    rest = (where[:clause.start()] + where[clause.end():]).strip()
    rest = re.sub(r"^and\s+", "", rest, flags=re.I).strip() or None
    if rest is not None and not where_columns(rest) <= TREATMENT_COLUMNS:
        return None
    return clause.group(2), rest
_FACET_TAIL = re.compile(r"^\s*where (\w+) is not null\s+group by \w+\s+(order by count desc, value limit \d+)\s*$",
                         re.S | re.I)


def _in_one_treatment(sql: str) -> str | None:
    """A facet or count of the items of one treatment (plus label filters), counted from item_treatments.

    One row per (treatment, item) holds every label the page facets on, so a common treatment's
    facets read its rows in the primary key's order instead of a quarter of the wide items rows.
    """
    match = _FACET.match(sql)
    if match:
        treatment = _one_treatment(match.group(2))
        tail = _FACET_TAIL.match(sql[match.end() - len("where "):])
        column = match.group(1).lower()
        if treatment and tail and column in TREATMENT_COLUMNS and tail.group(1).lower() == column:
            parameter, rest = treatment
            return (f"select {column} as value, count(*) as count from item_treatments "
                    f"where treatment = {parameter}{f' and ({rest})' if rest else ''} "
                    f"and {column} is not null group by {column} {tail.group(2)}")
        return None
    match = _COUNT.match(sql)
    if match:
        treatment = _one_treatment(match.group(1))
        if treatment:
            parameter, rest = treatment
            return f"select count(*) from item_treatments where treatment = {parameter}{f' and ({rest})' if rest else ''}"
    return None


def where_columns(where: str) -> set[str]:
    """The column names a WHERE clause mentions (quoted or bare), without keywords, parameters and strings."""
    return {(a or b or c).lower() for a, b, c in _WORDS.findall(where) if a or b or c} - _SQL_WORDS


class SiteDatabase(Database):
    """Datasette's Database with the items tie-break and the aggregate cache (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._aggregates: OrderedDict[Any, Any] = OrderedDict()
        self._query_processes: QueryProcesses | None = None

    async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None,
                      log_sql_errors=True):
        if ADHOC.get():  # a visitor's own SQL: in a process that can be killed (hypewatch.site.isolation)
            return await self._in_query_process(sql, params, truncate, custom_time_limit, page_size)
        if " ".join(sql.split()) in self._summary_queries():
            return await self._summary_query(sql, params)
        match = _ONE_COLUMN_ORDER.match(sql.strip())
        if match and not match.group(1).lower().endswith((", id", ", id desc")):
            sql = f"{match.group(1)}, id {match.group(2)}"
        if not _AGGREGATE.match(sql):
            if STREAM.get():  # a page of a table's CSV stream: a cut stream is a half-answer
                return await self.execute_fn(functools.partial(
                    run_rows, sql, params or {}, STREAM_PAGE_LIMIT_MS, self._max_rows(page_size) if truncate else None))
            return await super().execute(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        original, sql = sql, narrow_aggregate(sql)
        try:
            key = (sql, tuple(sorted((params or {}).items())) if isinstance(params, dict) else tuple(params or ()),
                   truncate, page_size)
            hash(key)
        except TypeError:
            return await super().execute(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        state = data_state(self.ds)
        hit = self._aggregates.get(key)
        if hit is not None and (hit[0] == state or time.monotonic() - hit[2] < aggregate_max_age(self.ds)):
            self._aggregates.move_to_end(key)
            return hit[1]
        try:
            results = await super().execute(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        except sqlite3.OperationalError as e:  # an index we named cannot serve this WHERE (an OR around the filter)
            if sql == original or "no query solution" not in str(e):
                raise
            results = await super().execute(original, params, truncate, custom_time_limit, page_size, log_sql_errors)
        self._aggregates[key] = (state, results, time.monotonic())
        while len(self._aggregates) > CACHE_ENTRIES:
            self._aggregates.popitem(last=False)
        return results

    async def _in_query_process(self, sql, params, truncate, custom_time_limit, page_size) -> Results:
        """Datasette's execute (time limit, truncation, errors), run by the query processes."""
        if self._query_processes is None:
            size = int(site_config(self.ds).get("sql_processes", SQL_PROCESSES))
            self._query_processes = QueryProcesses(self.path, size)
        time_limit_ms = self.ds.sql_time_limit_ms
        if custom_time_limit and custom_time_limit < time_limit_ms:
            time_limit_ms = custom_time_limit
        return await self._query_processes.execute(sql, params, truncate=truncate, max_rows=self._max_rows(page_size),
                                                   time_limit_ms=time_limit_ms)

    def _max_rows(self, page_size) -> int:
        """Datasette's truncation: max_returned_rows, one more when it equals the page size."""
        max_rows = self.ds.max_returned_rows
        return max_rows + 1 if max_rows == (page_size or self.ds.page_size) else max_rows

    def _summary_queries(self) -> set[str]:
        """The canned queries named in the plugin setting summary_queries, whitespace-normalised."""
        names = (site_config(self.ds).get("summary_queries") or [])
        queries = (self.ds.metadata(database=DATABASE) or {}).get("queries") or {}
        return {" ".join(str(queries[n].get("sql", "")).split()) for n in names if isinstance(queries.get(n), dict)}

    async def _summary_query(self, sql, params):
        """A whole-table summary we wrote (not a visitor's SQL): a longer time limit, the answer cached per state."""
        key = ("summary", sql, tuple(sorted((params or {}).items())) if isinstance(params, dict) else ())
        state = data_state(self.ds)
        hit = self._aggregates.get(key)
        if hit is not None and (hit[0] == state or time.monotonic() - hit[2] < aggregate_max_age(self.ds)):
            return hit[1]
        results = await self.execute_fn(functools.partial(run_long, sql, params or {}, SUMMARY_LIMIT_MS))
        self._aggregates[key] = (state, results, time.monotonic())
        return results


#: Default for the plugin setting aggregate_max_age_s.
AGGREGATE_MAX_AGE_S = 120.0


def aggregate_max_age(datasette) -> float:
    """How long a count or facet may be reused after a harvest committed (plugin setting aggregate_max_age_s).

    While a harvest commits every few seconds, counting every view again after each commit would
    keep the machine busy counting; a count that lags the newest items by a minute or two does not
    mislead anyone, and the rows themselves are always read fresh.
    """
    try:
        return max(0.0, float(site_config(datasette).get("aggregate_max_age_s", AGGREGATE_MAX_AGE_S)))
    except (TypeError, ValueError):
        return AGGREGATE_MAX_AGE_S


#: The time limit of the summary canned queries (summary_queries): they scan a table once per harvest.
SUMMARY_LIMIT_MS = 10_000


#: The time limit of each page of a table's streamed CSV. A page reads 250 rows by the keyset index
#: in milliseconds; on a machine loaded by other work one took over the 1 s limit, and the stream
#: ended with the error inside the CSV. Streams count against the per-client limit (guard).
STREAM_PAGE_LIMIT_MS = 5_000


def run_rows(sql: str, params, limit_ms: int, max_rows: int | None, conn) -> Results:
    """Datasette's execute with our own time limit: at most ``max_rows`` rows (truncated) when given."""
    with sqlite_timelimit(conn, limit_ms):
        try:
            cursor = conn.execute(sql, params)
            if max_rows is None:
                return Results(cursor.fetchall(), False, cursor.description)
            rows = cursor.fetchmany(max_rows + 1)
            return Results(rows[:max_rows], len(rows) > max_rows, cursor.description)
        except sqlite3.OperationalError as e:
            if e.args == ("interrupted",):
                raise QueryInterrupted(e, sql, params) from None
            raise


def run_long(sql: str, params, limit_ms: int, conn) -> Results:
    """Execute with a time limit of our own (Datasette's caps every query at sql_time_limit_ms)."""
    with sqlite_timelimit(conn, limit_ms):
        try:
            cursor = conn.execute(sql, params)
            return Results(cursor.fetchall(), False, cursor.description)
        except sqlite3.OperationalError as e:
            if e.args == ("interrupted",):
                raise QueryInterrupted(e, sql, params) from None
            raise
