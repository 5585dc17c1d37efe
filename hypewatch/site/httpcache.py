"""HTTP caching for the whole site: ETag, Last-Modified and 304s from the data's state, and repeats served from memory.

Every page, JSON answer and feed depends only on the URL and the database, and the database
changes only when a harvest commits (``hypewatch.site.state``). So a successful anonymous GET is
kept in memory until the state changes, and answered again without touching SQLite:

- ``ETag: W/"<state>.<body hash>"`` and ``Last-Modified`` (the database file's last change); a
  request with a matching ``If-None-Match`` (or an ``If-Modified-Since`` not older than the last
  change) gets ``304 Not Modified`` with no body, so browsers and a reverse proxy revalidate for free;
- ``Cache-Control: public, max-age=<default_cache_ttl>`` where Datasette set none;
- concurrent requests for the same URL wait for the first one's answer instead of all computing it.

Not cached: other methods, requests with cookies or credentials, answers other than 200, answers
that set cookies, and bodies over ``response_cache_entry_kb`` (a streamed CSV passes straight
through). Memory: ``response_cache_mb`` in all (plugin settings in metadata.yaml).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from datasette import hookimpl

from hypewatch.site import site_config
from hypewatch.site.state import data_state

__all__ = ["ResponseCache"]

CACHE_MB = 64
ENTRY_KB = 2048
#: Headers the cache sets itself; a stored answer's own copies are dropped.
_OWN = {b"etag", b"last-modified", b"content-length"}


@dataclass
class Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str


class ResponseCache:
    """Answers by (host, path, query string) for one data state; least recently used out first."""

    def __init__(self, max_bytes: int, max_entry: int):
        self.max_bytes, self.max_entry = max_bytes, max_entry
        self.entries: OrderedDict[Any, Entry] = OrderedDict()
        self.size = 0
        self.state: str | None = None
        self.inflight: dict[Any, asyncio.Event] = {}

    def for_state(self, token: str) -> None:
        if token != self.state:
            self.entries.clear()
            self.size, self.state = 0, token

    def get(self, key) -> Entry | None:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key, entry: Entry) -> None:
        if len(entry.body) > self.max_entry:
            return
        old = self.entries.pop(key, None)
        self.size -= len(old.body) if old else 0
        self.entries[key] = entry
        self.size += len(entry.body)
        while self.size > self.max_bytes and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped.body)


def _setting(datasette, name: str, default: int) -> int:
    try:
        return max(0, int(site_config(datasette).get(name, default)))
    except (TypeError, ValueError):
        return default


def _cache(datasette) -> ResponseCache:
    cache = datasette.__dict__.get("_hypewatch_responses")
    if cache is None:
        cache = ResponseCache(_setting(datasette, "response_cache_mb", CACHE_MB) * 2**20,
                              _setting(datasette, "response_cache_entry_kb", ENTRY_KB) * 2**10)
        datasette.__dict__["_hypewatch_responses"] = cache
    return cache


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value
    return None


def _cacheable_request(scope) -> bool:
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return False
    if _header(scope, b"cookie") is not None or _header(scope, b"authorization") is not None:
        return False
    return b"_trace" not in (scope.get("query_string") or b"")


def _not_modified(scope, etag: str, modified: float) -> bool:
    match = _header(scope, b"if-none-match")
    if match is not None:
        tags = {t.strip() for t in match.decode("latin-1").split(",")}
        return "*" in tags or etag in tags or etag.removeprefix("W/") in tags
    since = _header(scope, b"if-modified-since")
    if since is not None:
        try:
            return int(modified) <= parsedate_to_datetime(since.decode("latin-1")).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


async def _send_entry(send, scope, entry: Entry, modified: float, ttl: int) -> None:
    validators = [(b"etag", entry.etag.encode()), (b"last-modified", formatdate(modified, usegmt=True).encode())]
    headers = [(k, v) for k, v in entry.headers if k.lower() not in _OWN]
    if not any(k.lower() == b"cache-control" for k, _ in headers):
        headers.append((b"cache-control", f"public, max-age={ttl}".encode()))
    if _not_modified(scope, entry.etag, modified):
        keep = [(k, v) for k, v in headers if k.lower() in (b"cache-control", b"vary", b"content-location")]
        await send({"type": "http.response.start", "status": 304, "headers": validators + keep})
        await send({"type": "http.response.body", "body": b""})
        return
    headers += validators + [(b"content-length", str(len(entry.body)).encode())]
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})


async def _render(app, scope, receive, send, cache: ResponseCache, token: str) -> Entry | None:
    """Run the app; keep its answer when it is cacheable, else pass it through as it comes."""
    start: dict[str, Any] | None = None
    chunks: list[bytes] = []
    size = 0
    passing = False

    async def capture(message):
        nonlocal start, size, passing
        if passing:
            return await send(message)
        if message["type"] == "http.response.start":
            start = message
            cookie = any(k.lower() == b"set-cookie" for k, _ in message.get("headers") or ())
            if message["status"] != 200 or cookie:
                passing = True
                return await send(message)
            return None
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > cache.max_entry and message.get("more_body"):
                passing = True  # too big to keep (a streamed CSV): send what we have and go on streaming
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                chunks.clear()
            return None
        return await send(message)

    await app(scope, receive, capture)
    if passing or start is None:
        return None
    body = b"".join(chunks)
    digest = hashlib.sha1(body).hexdigest()[:12]
    return Entry(start["status"], list(start.get("headers") or []), body, f'W/"{token}.{digest}"')


@hookimpl(trylast=True)
def asgi_wrapper(datasette):
    """Answer repeats from memory with validators, and 304 to conditional requests (module docstring)."""

    def wrap(app):
        async def http_cache(scope, receive, send):
            if not _cacheable_request(scope):
                return await app(scope, receive, send)
            cache = _cache(datasette)
            state = data_state(datasette)
            cache.for_state(state.token)
            ttl = int(datasette.setting("default_cache_ttl") or 0)
            key = (_header(scope, b"host"), scope.get("scheme"), scope.get("root_path", ""), scope.get("path"),
                   scope.get("query_string"))
            entry = cache.get(key)
            if entry is None and key in cache.inflight:  # someone is computing this very answer: share it
                try:
                    await asyncio.wait_for(cache.inflight[key].wait(), timeout=30)
                except (asyncio.TimeoutError, RuntimeError, KeyError):
                    pass
                entry = cache.get(key)
            if entry is None:
                owner = key not in cache.inflight
                event = cache.inflight.setdefault(key, asyncio.Event())
                try:
                    entry = await _render(app, scope, receive, send, cache, state.token)
                    if entry is None:
                        return None
                    if cache.state == state.token:
                        cache.put(key, entry)
                finally:
                    if owner:
                        cache.inflight.pop(key, None)
                        event.set()
            await _send_entry(send, scope, entry, state.modified, ttl)

        return http_cache

    return wrap


def cached_entries(datasette) -> int:
    """How many answers are cached (for tests and the load benchmark)."""
    return len(_cache(datasette).entries)

