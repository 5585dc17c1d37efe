"""The site's front door: request limits, methods, hidden debug pages, ad-hoc SQL per client, response cap, headers.

An ASGI wrapper around all of Datasette (the outermost one): a request over a limit is answered here
with a short plain-text 4xx before Datasette parses it. The limits are the module constants below.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.utils.asgi import Response

from hypewatch.site import DATABASE
from hypewatch.site.headers import security_headers
from hypewatch.site.isolation import ADHOC, STREAM
from hypewatch.site.slots import ClientSlots

log = logging.getLogger(__name__)

MAX_PATH_BYTES = 2048  # the path, percent-encoded
MAX_QUERY_BYTES = 16384  # the query string, percent-encoded (room for a long SQL query)
MAX_PARAMS = 100  # query parameters (Datasette re-parses the query string once per parameter)
MAX_RESPONSE_BYTES = 16 * 2**20  # any answer but static files and a table's CSV stream
SQL_PER_CLIENT = 2  # ad-hoc SQL requests (?sql=, ?_where=) running at once per client address
METHODS = ("GET", "HEAD")  # a read-only site: Datasette needs no other
HIDDEN = re.compile(r"^/-/(threads|messages|allow-debug|patterns|actor|permissions|auth-token|logout)(\.json)?$")
STATIC = ("/-/static/", "/static/", "/-/static-plugins/")


class ResponseTooLarge(Exception):
    """Raised into the app's send() once its answer passed MAX_RESPONSE_BYTES: stops the work."""


def plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response.text(text + "\n", status=status, headers=headers or {})


def _json_or_plain(path: str, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    if path.endswith(".json"):
        return Response.json({"ok": False, "error": text, "status": status}, status=status, headers=headers or {})
    return plain(status, text, headers)


def check_request(scope) -> Response | None:
    """The 4xx for a request over a limit or with a parameter Datasette would answer with a 500, else None."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    query = scope.get("query_string") or b""
    if scope["method"] not in METHODS:
        return plain(405, f"Method not allowed: this site answers {' and '.join(METHODS)} only.",
                     {"allow": ", ".join(METHODS)})
    if len(raw_path) > MAX_PATH_BYTES or len(query) > MAX_QUERY_BYTES:
        return plain(414, f"URI too long: at most {MAX_PATH_BYTES:,} bytes of path and "
                          f"{MAX_QUERY_BYTES:,} of query string.")
    if len([part for part in query.split(b"&") if part]) > MAX_PARAMS:
        return plain(400, f"Too many query parameters: at most {MAX_PARAMS}.")
    if b"%00" in query or b"\x00" in query or "\x00" in scope["path"] or b"%00" in raw_path:
        return plain(400, "Bad request: NUL characters are not allowed.")
    if HIDDEN.match(scope["path"]):
        return plain(404, "Not found.")
    args = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    for name, value in args:
        if name == "_timelimit" and not value.isdigit():
            return plain(400, "Bad request: _timelimit must be a whole number of milliseconds.")
        if name == "_through" and not _valid_through(value):
            return plain(400, 'Bad request: _through must be JSON like {"table": ..., "column": ..., "value": ...}.')
    return None


def _valid_through(value: str) -> bool:
    try:
        through = json.loads(value)
    except ValueError:
        return False
    return isinstance(through, dict) and all(isinstance(through.get(k), str) for k in ("table", "column", "value"))


def is_adhoc_sql(path: str, names: set[str]) -> bool:
    """The request runs SQL its sender wrote: the database's ?sql= (any format) or a table's ?_where=."""
    return "_where" in names or ("sql" in names and re.match(rf"^/{DATABASE}(\.\w+)?$", path) is not None)


def _with_headers(send, headers: list[tuple[bytes, bytes]]):
    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            present = {bytes(k).lower() for k, _ in message.get("headers", [])}
            message = dict(message, headers=[*message.get("headers", []),
                                             *[(k, v) for k, v in headers if k not in present]])
        await send(message)

    return send_with_headers


def _capped(send, path: str, empty_is_error: bool = False):
    """A send() that holds the answer until it is complete, and sends a 413 instead once it passes the cap.

    ``empty_is_error``: an empty 200 is a failed query (Datasette's CSV of a failed ?sql= is empty).
    """
    state = {"start": None, "chunks": [], "size": 0, "over": False}

    async def capped_send(message):
        if state["over"]:
            raise ResponseTooLarge
        if message["type"] == "http.response.start":
            state["start"] = message
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = message.get("body", b"")
        state["size"] += len(body)
        if state["size"] > MAX_RESPONSE_BYTES:
            state.update(over=True, chunks=[])
            await _json_or_plain(path, 413, f"Response too large: more than {MAX_RESPONSE_BYTES // 2**20} MB. "
                                            "Ask for fewer rows (_size=) or columns (_col=), a narrower query, "
                                            "or a table's CSV with _stream=on."
                                 ).asgi_send(send)
            raise ResponseTooLarge
        state["chunks"].append(body)
        if not message.get("more_body"):
            if empty_is_error and state["start"]["status"] == 200 and not b"".join(state["chunks"]).strip():
                await plain(400, "The query failed: ask for the same URL with .json instead of .csv to see why."
                            ).asgi_send(send)
                return
            await send(state["start"])
            await send({"type": "http.response.body", "body": b"".join(state["chunks"])})

    return capped_send


@hookimpl(trylast=True)  # applied last: the outermost wrapper, before any other plugin sees the request
def asgi_wrapper(datasette):
    def wrap(app):
        headers: list[tuple[bytes, bytes]] = []
        running: Counter[str] = Counter()  # this process's ad-hoc SQL per client, for the thread limit
        slots = ClientSlots.from_environment(SQL_PER_CLIENT)  # shared with the other worker processes

        async def guard(scope, receive, send):
            if scope.get("type") != "http":
                return await app(scope, receive, send)
            if not headers:
                headers.extend((k.encode(), v.encode()) for k, v in security_headers(datasette).items())
            send = _with_headers(send, headers)
            refused = check_request(scope)
            if refused is not None:
                return await refused.asgi_send(send)
            path = scope["path"]
            names = {name for name, _ in parse_qsl((scope.get("query_string") or b"").decode("latin-1"),
                                                   keep_blank_values=True)}
            client = (scope.get("client") or ("unknown",))[0]
            adhoc = is_adhoc_sql(path, names)
            streamed = "_stream" in names and "sql" not in names and path.endswith(".csv")  # a table's CSV stream
            held = None
            if adhoc or streamed:  # both hold a SQL thread for a while: limited per client
                if sum(running.values()) >= max(1, int(datasette.setting("num_sql_threads") or 1) - 1):
                    return await plain(503, "The SQL endpoint is busy; try again in a moment.",
                                       {"retry-after": "2"}).asgi_send(send)
                held = slots.acquire(client)
                if held is None:
                    return await plain(429, f"Too many SQL queries at once from your address: at most "
                                            f"{SQL_PER_CLIENT}. Wait for one to finish.",
                                       {"retry-after": "2"}).asgi_send(send)
                running[client] += 1
            token = ADHOC.set(adhoc)  # its queries run in a process that can be killed (isolation)
            stream_token = STREAM.set(streamed and not adhoc)  # its pages get a longer limit (database)
            try:
                if path.startswith(STATIC) or streamed:
                    await app(scope, receive, send)
                else:
                    failed_csv = "sql" in names and path.endswith(".csv") and scope["method"] == "GET"
                    await app(scope, receive, _capped(send, path, empty_is_error=failed_csv))
            except ResponseTooLarge:
                log.warning("response over %s bytes refused path=%s", MAX_RESPONSE_BYTES, path)
            finally:
                ADHOC.reset(token)
                STREAM.reset(stream_token)
                if held is not None:
                    slots.release(held)
                    running[client] -= 1
                    if running[client] <= 0:
                        del running[client]

        return guard

    return wrap


@hookimpl(tryfirst=True)
def handle_exception(datasette, request, exception):
    """Bad parameters Datasette reports as a 500 (?_sort=nosuchcol, ?title__in=[x, a too big value) are a 400."""
    from datasette.handle_exception import handle_exception as render
    from datasette.utils import sqlite3
    from datasette.views.base import DatasetteError

    if isinstance(exception, ResponseTooLarge):
        raise exception  # the 413 is sent: back to the guard, with no traceback in the log
    if isinstance(exception, DatasetteError) and exception.status == 500:
        exception.status = 400  # Datasette raises these only for parameters it cannot use
        return None
    if isinstance(exception, (json.JSONDecodeError, sqlite3.ProgrammingError, sqlite3.DataError)):
        return render(datasette, request, DatasetteError(str(exception), title="Bad request", status=400))
    return None


async def databases(datasette, request):
    """/-/databases.json without the database's filesystem path."""
    return Response.json([{k: v for k, v in d.items() if k != "path"} for d in datasette._connected_databases()])


@hookimpl
def register_routes(datasette):
    return [(r"^/-/databases(\.json)?$", databases)]
