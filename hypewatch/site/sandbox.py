"""The public database connections: SQLite limits, an authorizer for dangerous functions and tables, a row budget.

Datasette's time limit cannot stop work inside one SQL function call (``zeroblob(1e9)``) nor the rows a
query hands to Python; these limits can. They apply to every connection Datasette opens on the
``hypewatch`` database (the site's own queries run under them too), not to Datasette's internal database.
"""

from __future__ import annotations

import sqlite3 as stdlib_sqlite3
import weakref

from datasette import hookimpl
from datasette.utils import sqlite3

from hypewatch.site import DATABASE

MAX_VALUE_BYTES = 8 * 2**20  # any string or blob, stored or computed (harvested texts are far smaller)
MAX_ROW_BYTES_PER_QUERY = 32 * 2**20  # the values one query hands to Datasette, summed over its rows
LIMITS = {
    "SQLITE_LIMIT_LENGTH": MAX_VALUE_BYTES,
    "SQLITE_LIMIT_SQL_LENGTH": 1_000_000,  # the search inlines up to search_newest rowids
    "SQLITE_LIMIT_COLUMN": 500,
    "SQLITE_LIMIT_EXPR_DEPTH": 200,
    "SQLITE_LIMIT_COMPOUND_SELECT": 100,
    "SQLITE_LIMIT_FUNCTION_ARG": 32,
    "SQLITE_LIMIT_ATTACHED": 0,
    "SQLITE_LIMIT_LIKE_PATTERN_LENGTH": 1000,
    "SQLITE_LIMIT_VARIABLE_NUMBER": 2000,
    "SQLITE_LIMIT_TRIGGER_DEPTH": 10,
    "SQLITE_LIMIT_WORKER_THREADS": 0,
}
#: Functions nobody reading the site needs, each a known way into the process or the file system.
DENIED_FUNCTIONS = frozenset({
    "fts3_tokenizer",  # leaks a pointer; with two arguments it installs one
    "load_extension", "readfile", "writefile", "edit", "fsdir", "zipfile", "sqlar_compress", "sqlar_uncompress",
    "rtreenode", "rtreedepth", "rtreecheck",  # parse any blob as an r-tree node
    "optimize",  # FTS3/4 maintenance
    "sqlite_log",
})
#: Virtual tables that show other connections' SQL (sqlite_stmt) or the file's layout (dbstat, sqlite_dbpage).
DENIED_TABLES = frozenset({"sqlite_stmt", "dbstat", "sqlite_dbpage", "sqlite_dbdata", "sqlite_dbptr"})
#: Columns read as NULL: the database file's absolute path.
HIDDEN_COLUMNS = frozenset({("pragma_database_list", "file")})


def authorize(action: int, arg1, arg2, database, source) -> int:
    """The authorizer: deny the functions, tables and ATTACH above, hide the path column, allow the rest."""
    if action == stdlib_sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return stdlib_sqlite3.SQLITE_DENY
    if action == stdlib_sqlite3.SQLITE_READ:
        if (arg1 or "").lower() in DENIED_TABLES:
            return stdlib_sqlite3.SQLITE_DENY
        if ((arg1 or "").lower(), (arg2 or "").lower()) in HIDDEN_COLUMNS:
            return stdlib_sqlite3.SQLITE_IGNORE
    if action in (stdlib_sqlite3.SQLITE_ATTACH, stdlib_sqlite3.SQLITE_DETACH):
        return stdlib_sqlite3.SQLITE_DENY
    return stdlib_sqlite3.SQLITE_OK


def budgeted_rows(limit: int = MAX_ROW_BYTES_PER_QUERY):
    """A row factory making sqlite3.Row objects that fails a query once its rows pass ``limit`` bytes of values."""
    state = {"cursor": None, "bytes": 0}

    def factory(cursor, values):
        current = state["cursor"]() if state["cursor"] is not None else None
        if current is not cursor:
            state.update(cursor=weakref.ref(cursor), bytes=0)
        state["bytes"] += sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in values)
        if state["bytes"] > limit:
            raise sqlite3.OperationalError(
                f"result too large: its rows hold more than {limit // 2**20} MB; "
                "ask for fewer rows or columns, or shorter values")
        return sqlite3.Row(cursor, values)

    return factory


def limit_connection(conn) -> None:
    """Apply the limits, the authorizer and the row budget to one connection."""
    for name, value in LIMITS.items():
        if hasattr(stdlib_sqlite3, name) and hasattr(conn, "setlimit"):
            conn.setlimit(getattr(stdlib_sqlite3, name), value)
    conn.set_authorizer(authorize)
    conn.row_factory = budgeted_rows()


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    """SQLite limits, the authorizer and the row budget on every connection to the published database."""
    if database == DATABASE:
        limit_connection(conn)
