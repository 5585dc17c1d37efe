"""The public database connections: SQLite limits, an authorizer, linear-time text functions, a row budget.

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


# -- SQLite's instr(), replace() and trim(X, Y) compare every position with the whole second argument:
# instr(8 MB of 'a', 4 MB of 'a' || 'b') runs for minutes inside one call, out of the time limit's reach.
# These take their place on the public connections: the same answers, in linear time.


def _text(value) -> str:
    """A value as SQLite's text: blobs as UTF-8, reals in SQLite's own %!.15g spelling."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {True: "Inf", False: "-Inf"}[value > 0] if value == value else ""
        text = format(value, ".15g")
        mantissa, _, exponent = text.partition("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        return mantissa + ("e" + exponent if exponent else "")
    return str(value)


def _instr(haystack, needle):
    if haystack is None or needle is None:
        return None
    if isinstance(haystack, bytes) and isinstance(needle, bytes):
        return haystack.find(needle) + 1
    return _text(haystack).find(_text(needle)) + 1


def _replace(text, old, new):
    if text is None or old is None or new is None:
        return None
    if not _text(old):
        return _text(text) if isinstance(text, bytes) else text  # unchanged, as SQLite
    text, old, new = _text(text), _text(old), _text(new)
    if len(text) + text.count(old) * (len(new) - len(old)) > MAX_VALUE_BYTES:
        return " " * (MAX_VALUE_BYTES + 1)  # not the real answer: one over the limit, so SQLite says "too big"
    return text.replace(old, new)


def _trimmer(left: bool, right: bool):
    def trim(text, chars):
        if text is None or chars is None:
            return None
        text, chars = _text(text), _text(chars).split("\x00")[0]  # SQLite reads the set up to a NUL
        if len(chars) <= 64:  # str.strip tries each of them at each position
            return text.lstrip(chars) if not right else text.rstrip(chars) if not left else text.strip(chars)
        members, start, end = set(chars), 0, len(text)
        while left and start < end and text[start] in members:
            start += 1
        while right and end > start and text[end - 1] in members:
            end -= 1
        return text[start:end]

    return trim


LINEAR_FUNCTIONS = {("instr", 2): _instr, ("replace", 3): _replace, ("trim", 2): _trimmer(True, True),
                    ("ltrim", 2): _trimmer(True, False), ("rtrim", 2): _trimmer(False, True)}


def limit_connection(conn) -> None:
    """Apply the limits, the authorizer, the linear text functions and the row budget to one connection."""
    for name, value in LIMITS.items():
        if hasattr(stdlib_sqlite3, name) and hasattr(conn, "setlimit"):
            conn.setlimit(getattr(stdlib_sqlite3, name), value)
    conn.set_authorizer(authorize)
    for (name, arity), function in LINEAR_FUNCTIONS.items():
        conn.create_function(name, arity, function, deterministic=True)
    conn.row_factory = budgeted_rows()


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    """SQLite limits, the authorizer and the row budget on every connection to the published database."""
    if database == DATABASE:
        limit_connection(conn)
