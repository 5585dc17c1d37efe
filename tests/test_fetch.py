"""Tests for harvester.fetch against a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from harvester import fetch
from harvester.fetch import (
    ACCEPT_ENCODING,
    FEED_ACCEPT,
    USER_AGENT,
    Fetcher,
    FetchLimits,
    FetchResult,
    looks_like_feed,
)

FIXTURES = Path(__file__).parent / "fixtures" / "fetch"
FEED = (FIXTURES / "feed.xml").read_bytes()


def get(url: str, *, limits: FetchLimits | None = None, transport=None, **kwargs) -> FetchResult:
    async def main() -> FetchResult:
        async with Fetcher(limits=limits or FetchLimits(), transport=transport) as fetcher:
            # The test servers are on 127.0.0.1: allowed unless a test says otherwise.
            return await fetcher.get(url, **{"allow_private": True, **kwargs})

    return asyncio.run(main())


@pytest.fixture(scope="module")
def _loopback_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def httpserver(_loopback_server: HTTPServer) -> Iterator[HTTPServer]:
    """Shadows the plugin's fixture: its default host is "localhost", which may
    be ::1, while these tests want a known 127.0.0.1 address."""
    yield _loopback_server
    _loopback_server.clear()


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A server that handles requests in parallel, for the concurrency tests."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


# --- plain responses ---------------------------------------------------------


def test_200_returns_body_and_sends_polite_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml", headers={"ETag": '"v1"'}
    )
    result = get(httpserver.url_for("/feed.xml"))

    assert result.error is None and result.error_kind is None and result.ok
    assert result.status == 200
    assert result.body == FEED
    assert result.final_url == result.url == httpserver.url_for("/feed.xml")
    assert result.headers["etag"] == '"v1"'
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.permanent_url is None and not result.not_modified
    assert result.elapsed > 0
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"] == USER_AGENT
    assert "hypewatch" in USER_AGENT and "+https://" in USER_AGENT
    assert request.headers["Accept"] == FEED_ACCEPT
    assert request.headers["Accept-Encoding"] == ACCEPT_ENCODING == "gzip, deflate"
    assert "If-None-Match" not in request.headers


def test_conditional_get_sends_validators_and_handles_304(httpserver: HTTPServer) -> None:
    etag = '"abc-123"'
    last_modified = "Wed, 01 May 2024 12:00:00 GMT"
    httpserver.expect_request(
        "/feed.xml", headers={"If-None-Match": etag, "If-Modified-Since": last_modified}
    ).respond_with_data("", status=304, headers={"ETag": etag})

    result = get(httpserver.url_for("/feed.xml"), etag=etag, last_modified=last_modified)

    assert result.not_modified is True
    assert result.status == 304
    assert result.body is None
    assert result.error is None and result.error_kind is None
    assert result.headers["etag"] == etag
    request = httpserver.log[0][0]
    assert request.headers["If-None-Match"] == etag
    assert request.headers["If-Modified-Since"] == last_modified


def test_unsendable_validator_is_dropped_not_fatal(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)
    result = get(httpserver.url_for("/feed.xml"), etag='"caf\u00e9"')
    assert result.body == FEED
    assert "If-None-Match" not in httpserver.log[0][0].headers


def test_429_keeps_status_and_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    result = get(httpserver.url_for("/feed.xml"))

    assert result.error_kind == "http"
    assert result.status == 429
    assert result.headers["retry-after"] == "120"
    assert result.body is None
    assert result.error is not None
    assert result.error.startswith("HTTP 429 Too Many Requests from 127.0.0.1")


def test_500_is_an_http_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("oops", status=500)
    result = get(httpserver.url_for("/feed.xml"))

    assert result.error_kind == "http"
    assert result.status == 500
    assert result.error == "HTTP 500 Internal Server Error from 127.0.0.1"
    assert result.body is None


def test_410_gone_tells_the_user_what_to_do(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("gone", status=410)
    result = get(httpserver.url_for("/feed.xml"))

    assert result.error_kind == "http"
    assert result.status == 410
    assert result.error is not None
    assert result.error.startswith("HTTP 410 Gone from 127.0.0.1")
    assert "remove or replace the source" in result.error


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = get(f"http://127.0.0.1:{port}/feed.xml")

    assert result.error_kind == "network"
    assert result.status is None and result.body is None
    assert result.error is not None and "could not connect to 127.0.0.1" in result.error
    assert "\n" not in result.error


# --- timeouts ----------------------------------------------------------------


def test_read_timeout(httpserver: HTTPServer) -> None:
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(10)  # released by the test as soon as the client gave up
        return Response(FEED)

    httpserver.expect_request("/slow").respond_with_handler(stall)
    limits = FetchLimits(read_timeout=0.5, connect_timeout=2)
    try:
        started = time.perf_counter()
        result = get(httpserver.url_for("/slow"), limits=limits)
        took = time.perf_counter() - started
    finally:
        release.set()

    assert result.error_kind == "timeout"
    assert result.error is not None and "sent nothing for 0.5s" in result.error
    assert result.body is None
    assert took < 5


def test_overall_deadline_stops_a_slow_drip(httpserver: HTTPServer) -> None:
    stop = threading.Event()

    def drip() -> Iterator[bytes]:
        yield b"<rss>"
        while not stop.wait(0.05):  # a byte every 50 ms: never a read timeout
            yield b" "

    httpserver.expect_request("/drip").respond_with_handler(lambda request: Response(drip()))
    limits = FetchLimits(read_timeout=5, deadline=0.6)
    try:
        started = time.perf_counter()
        result = get(httpserver.url_for("/drip"), limits=limits)
        took = time.perf_counter() - started
    finally:
        stop.set()

    assert result.error_kind == "timeout"
    assert result.error is not None and "0.6s overall" in result.error
    assert result.status == 200  # the response had started
    assert took < 4


# --- size caps and decoding --------------------------------------------------


def test_oversized_body_rejected_from_content_length(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    result = get(httpserver.url_for("/big"), limits=FetchLimits(max_bytes=1000))

    assert result.error_kind == "too_large"
    assert result.error is not None and "Content-Length" in result.error
    assert result.status == 200
    assert result.body is None


def test_oversized_body_without_length_is_stopped_while_streaming(httpserver: HTTPServer) -> None:
    sent = []

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # up to 10 MB, far more than the cap
            sent.append(1)
            yield b"y" * 1000

    def handler(request: Request) -> Response:
        response = Response(endless())
        assert "Content-Length" not in response.headers
        return response

    httpserver.expect_request("/stream").respond_with_handler(handler)
    result = get(httpserver.url_for("/stream"), limits=FetchLimits(max_bytes=10_000))

    assert result.error_kind == "too_large"
    assert result.error is not None and "exceeded the 10,000-byte cap" in result.error
    assert result.body is None


def test_gzip_bomb_stops_at_decoded_cap_with_bounded_memory(httpserver: HTTPServer) -> None:
    # 50 MiB expanded vs a 16 MiB threshold: tracemalloc counts every thread, so
    # leave room for other tests' background threads without losing the point.
    bomb = gzip.compress(b"\0" * (50 * 2**20), compresslevel=9)
    assert len(bomb) < 100_000
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    limits = FetchLimits(max_decoded=2**20)

    async def main() -> tuple[FetchResult, int]:
        async with Fetcher(limits=limits) as fetcher:  # client setup (TLS CAs) not measured
            was_tracing = tracemalloc.is_tracing()  # e.g. PYTHONTRACEMALLOC or a plugin
            if not was_tracing:
                tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                baseline = tracemalloc.get_traced_memory()[0]
                result = await fetcher.get(httpserver.url_for("/bomb"), allow_private=True)
                return result, tracemalloc.get_traced_memory()[1] - baseline
            finally:
                if not was_tracing:
                    tracemalloc.stop()

    result, peak = asyncio.run(main())

    assert result.error_kind == "too_large"
    assert result.error is not None and "decoded size cap" in result.error
    assert result.body is None
    # Had the body been expanded, 50 MiB would have been allocated at least once.
    assert peak < 16 * 2**20, peak


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as RFC 9110 says
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("gzip", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),  # 2 members
    ],
)
def test_compressed_bodies_are_decoded(httpserver: HTTPServer, encoding: str, encode) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        encode(FEED), headers={"Content-Encoding": encoding}
    )
    result = get(httpserver.url_for("/feed.xml"))

    assert result.error is None
    assert result.body == FEED


def test_large_gzip_body_within_caps_decodes(httpserver: HTTPServer) -> None:
    body = FEED * 2000  # ~1 MB, many chunks on the wire and out of zlib
    httpserver.expect_request("/feed.xml").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}
    )
    result = get(httpserver.url_for("/feed.xml"), limits=FetchLimits(max_decoded=len(body)))
    assert result.error is None
    assert result.body == body


def test_gzip_label_on_plain_body_is_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, headers={"Content-Encoding": "gzip"}
    )
    result = get(httpserver.url_for("/feed.xml"))

    assert result.error_kind == "decoding"
    assert result.error is not None
    assert "not valid gzip data" in result.error and "misconfigured" in result.error
    assert result.status == 200 and result.body is None


def test_truncated_gzip_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        gzip.compress(FEED)[:-20], headers={"Content-Encoding": "gzip"}
    )
    result = get(httpserver.url_for("/feed.xml"))
    assert result.error_kind == "decoding"
    assert result.error is not None and "ended early" in result.error


def test_unrequested_encoding_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        b"\x0b\x02\x80", headers={"Content-Encoding": "br"}
    )
    result = get(httpserver.url_for("/feed.xml"))
    assert result.error_kind == "decoding"
    assert result.error is not None and "'br'" in result.error


# --- redirects -----------------------------------------------------------------


def redirect(httpserver: HTTPServer, path: str, location: str, status: int = 301) -> None:
    httpserver.expect_request(path).respond_with_data(
        "", status=status, headers={"Location": location}
    )


def test_redirect_loop_is_detected(httpserver: HTTPServer) -> None:
    redirect(httpserver, "/a", "/b", 302)
    redirect(httpserver, "/b", "/a", 302)
    result = get(httpserver.url_for("/a"))

    assert result.error_kind == "redirects"
    assert result.error is not None and result.error.startswith("redirect loop:")
    assert len(httpserver.log) == 2  # stopped before asking /a again


def test_credentials_never_reach_error_messages(httpserver: HTTPServer) -> None:
    """Errors are stored on the source and published on the site: API keys in URLs are masked."""
    redirect(httpserver, "/a", "/b?api_key=SECRET1&term=hair", 302)
    redirect(httpserver, "/b", "/a?token=SECRET2", 302)
    redirect(httpserver, "/a", "/b?api_key=SECRET1&term=hair", 302)
    result = get(httpserver.url_for("/a") + "?api_key=SECRET0")
    assert result.error_kind == "redirects" and "api_key=***" in (result.error or "")
    assert "SECRET" not in (result.error or "")
    httpserver.expect_request("/gone").respond_with_data("", status=500)
    failed = get(httpserver.url_for("/gone").replace("http://", "http://user:pw@") + "?key=SECRET3")
    assert failed.error_kind == "http" and "SECRET3" not in (failed.error or "") and "pw@" not in (failed.error or "")


def test_redaction_leaves_ordinary_parameters() -> None:
    from harvester.fetch import redact

    assert redact("https://x.org/f?keyword=hair&monkey=1&key=s") == "https://x.org/f?keyword=hair&monkey=1&key=***"
    assert redact(None) is None


def test_too_many_redirects(httpserver: HTTPServer) -> None:
    for i in range(6):
        redirect(httpserver, f"/r{i}", f"/r{i + 1}", 302)
    httpserver.expect_request("/r6").respond_with_data(FEED)
    result = get(httpserver.url_for("/r0"), limits=FetchLimits(max_redirects=3))

    assert result.error_kind == "redirects"
    assert result.error is not None and "more than 3" in result.error
    assert len(httpserver.log) == 4


def test_chain_of_permanent_redirects_sets_permanent_url(httpserver: HTTPServer) -> None:
    redirect(httpserver, "/old", "/older-new", 301)
    redirect(httpserver, "/older-new", "/feed.xml", 308)
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)
    result = get(httpserver.url_for("/old"))

    assert result.error is None
    assert result.body == FEED
    assert result.url == httpserver.url_for("/old")
    assert result.final_url == httpserver.url_for("/feed.xml")
    assert result.permanent_url == httpserver.url_for("/feed.xml")


def test_a_temporary_redirect_in_the_chain_keeps_the_url(httpserver: HTTPServer) -> None:
    redirect(httpserver, "/old", "/temp", 301)
    redirect(httpserver, "/temp", "/feed.xml", 302)
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)
    result = get(httpserver.url_for("/old"))

    assert result.body == FEED
    assert result.final_url == httpserver.url_for("/feed.xml")
    assert result.permanent_url is None


def test_permanent_redirect_to_an_error_does_not_move_the_source(httpserver: HTTPServer) -> None:
    redirect(httpserver, "/old", "/missing", 301)
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    result = get(httpserver.url_for("/old"))
    assert result.error_kind == "http" and result.status == 404
    assert result.permanent_url is None


def test_relative_redirects_are_resolved(httpserver: HTTPServer) -> None:
    redirect(httpserver, "/a/b/start", "next", 302)  # same directory
    redirect(httpserver, "/a/b/next", "../up", 302)  # parent
    redirect(httpserver, "/a/up", "/feed.xml?x=1", 302)  # absolute path
    httpserver.expect_request("/feed.xml", query_string="x=1").respond_with_data(FEED)
    result = get(httpserver.url_for("/a/b/start"))

    assert result.error is None
    assert result.body == FEED
    assert result.final_url == httpserver.url_for("/feed.xml?x=1")
    assert [r.path for r, _ in httpserver.log] == ["/a/b/start", "/a/b/next", "/a/up", "/feed.xml"]


def test_redirect_without_location_is_an_http_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("", status=302)
    result = get(httpserver.url_for("/feed.xml"))
    assert result.error_kind == "http"
    assert result.error is not None and "without a Location header" in result.error


# --- schemes and private addresses -----------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)", "http://", "not a url"],
)
def test_non_http_urls_are_refused(url: str) -> None:
    result = get(url)
    assert result.error_kind == "blocked"
    assert result.error is not None and "refusing" in result.error
    assert result.status is None and result.body is None


def test_redirect_to_non_http_scheme_is_refused(httpserver: HTTPServer) -> None:
    redirect(httpserver, "/feed.xml", "file:///etc/passwd", 302)
    result = get(httpserver.url_for("/feed.xml"))
    assert result.error_kind == "blocked"
    assert result.error is not None and "only http and https" in result.error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_hosts_are_refused_when_not_allowed(httpserver: HTTPServer, host: str) -> None:
    httpserver.expect_request("/secret").respond_with_data("internal")
    url = f"http://{host}:{httpserver.port}/secret"

    result = get(url, allow_private=False)

    assert result.error_kind == "blocked"
    assert result.error is not None and "loopback address" in result.error
    assert len(httpserver.log) == 0
    assert get(url, allow_private=True).body == b"internal"  # allowed for local sources


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost:1/feed.xml",
        "http://2130706433:1/",  # 127.0.0.1 as one number
        "http://0x7f000001:1/",  # ... in hex
        "http://127.1:1/",  # ... abbreviated
        "http://[::ffff:127.0.0.1]:1/",
        "http://user:pw@127.0.0.1:1/",
    ],
)
def test_obfuscated_loopback_urls_are_refused(url: str) -> None:
    result = get(url, allow_private=False)
    assert result.error_kind == "blocked"
    assert result.error is not None and "loopback" in result.error


def test_out_of_range_port_is_refused_not_raised() -> None:
    result = get("http://127.0.0.1:99999/")
    assert result.error_kind == "blocked"
    assert result.error is not None and "out of range" in result.error


@pytest.mark.parametrize(
    "address, reason",
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata endpoint
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.0.0.1", "private"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classification(address: str, reason: str | None) -> None:
    assert fetch._forbidden_reason(address) == reason


def test_refused_if_any_resolved_address_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    monkeypatch.setattr(fetch, "_resolve", fake_resolve)
    result = get("http://mixed.example/feed.xml", allow_private=False)
    assert result.error_kind == "blocked"
    assert result.error is not None and "10.0.0.5" in result.error


def test_redirect_to_loopback_is_refused(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public feed item redirecting to an internal address must not reach it."""
    httpserver.expect_request("/secret").respond_with_data("internal")
    target = f"http://127.0.0.1:{httpserver.port}/secret"

    async def fake_resolve(host: str, port: int) -> list[str]:
        assert host == "public.example"
        return ["93.184.216.34"]

    seen: list[httpx.Request] = []

    def public_site(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": target})

    monkeypatch.setattr(fetch, "_resolve", fake_resolve)
    result = get(
        "http://public.example/article",
        allow_private=False,
        transport=httpx.MockTransport(public_site),
    )

    assert result.error_kind == "blocked"
    assert result.error is not None and "127.0.0.1" in result.error
    assert len(httpserver.log) == 0
    # The allowed hop was pinned to the checked address, with the name in Host.
    assert seen[0].url.host == "93.184.216.34"
    assert seen[0].headers["Host"] == "public.example"


def test_plain_http_is_pinned_to_the_checked_address(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding guard: we connect to the address we checked, not a fresh lookup."""
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)

    async def fake_resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]  # the name only exists in our fake DNS

    monkeypatch.setattr(fetch, "_resolve", fake_resolve)
    monkeypatch.setattr(fetch, "_forbidden_reason", lambda address: None)
    url = f"http://feeds.example:{httpserver.port}/feed.xml"
    result = get(url, allow_private=False)

    assert result.error is None
    assert result.body == FEED
    assert result.final_url == url
    assert httpserver.log[0][0].headers["Host"] == f"feeds.example:{httpserver.port}"


# --- concurrency ---------------------------------------------------------------


class ConcurrencyProbe:
    """A handler that records how many requests it is serving at once.

    Each request is held until more than ``limit`` are in flight (which proves
    the limit broken at once) or a short hold expires, so requests that the
    client allows to overlap really do overlap.
    """

    def __init__(self, limit: int, hold: float = 0.3) -> None:
        self.limit = limit
        self.hold = hold
        self.current = 0
        self.peak = 0
        self.cond = threading.Condition()

    def __call__(self, request: Request) -> Response:
        with self.cond:
            self.current += 1
            self.peak = max(self.peak, self.current)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.current > self.limit, timeout=self.hold)
            self.current -= 1
        return Response(FEED)


def get_many(urls: list[str], **fetcher_kwargs) -> list[FetchResult]:
    async def main() -> list[FetchResult]:
        async with Fetcher(**fetcher_kwargs) as fetcher:
            return list(await asyncio.gather(*(fetcher.get(u, allow_private=True) for u in urls)))

    return asyncio.run(main())


def test_per_host_limit_is_enforced(threaded_server: HTTPServer) -> None:
    probe = ConcurrencyProbe(limit=2)
    threaded_server.expect_request("/feed.xml").respond_with_handler(probe)
    urls = [threaded_server.url_for(f"/feed.xml?n={i}") for i in range(5)]

    results = get_many(urls, concurrency=16, per_host=2)

    assert all(r.body == FEED for r in results)
    assert probe.peak == 2


def test_global_limit_is_enforced(threaded_server: HTTPServer) -> None:
    probe = ConcurrencyProbe(limit=1)
    threaded_server.expect_request("/feed.xml").respond_with_handler(probe)
    port = threaded_server.port
    urls = [f"http://{host}:{port}/feed.xml" for host in ("127.0.0.1", "localhost")] * 2

    results = get_many(urls, concurrency=1, per_host=4)

    assert all(r.body == FEED for r in results)
    assert probe.peak == 1


def test_per_host_limit_does_not_hold_back_other_hosts(threaded_server: HTTPServer) -> None:
    probe = ConcurrencyProbe(limit=2)
    threaded_server.expect_request("/feed.xml").respond_with_handler(probe)
    port = threaded_server.port

    results = get_many(
        [f"http://127.0.0.1:{port}/feed.xml", f"http://localhost:{port}/feed.xml"],
        concurrency=4,
        per_host=1,
    )

    assert all(r.body == FEED for r in results)
    assert probe.peak == 2


def test_one_bad_url_does_not_affect_the_others(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)
    httpserver.expect_request("/broken").respond_with_data(
        FEED, headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/error").respond_with_data("", status=500)
    urls = [
        "ftp://example.org/x",
        httpserver.url_for("/broken"),
        httpserver.url_for("/error"),
        httpserver.url_for("/feed.xml"),
    ]
    results = get_many(urls)

    assert [r.error_kind for r in results] == ["blocked", "decoding", "http", None]
    assert results[-1].body == FEED


# --- content sniffing --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, body, expected",
    [
        ("application/rss+xml", FEED, True),
        ("text/html; charset=utf-8", FEED, True),  # mislabelled feed: body decides
        ("text/plain", b"\xef\xbb\xbf  <feed xmlns='http://www.w3.org/2005/Atom'/>", True),
        ("application/feed+json", b'{"version": "https://jsonfeed.org/version/1.1"}', True),
        ("text/html", b"<!DOCTYPE html><html><body>Log in</body></html>", False),
        ("application/xml", b"<!doctype html><html></html>", False),
        ("text/html", b"", False),
        ("text/plain", b"just some words", False),
    ],
)
def test_looks_like_feed(content_type: str, body: bytes, expected: bool) -> None:
    assert looks_like_feed({"Content-Type": content_type}, body) is expected


def test_cookies_are_not_kept_between_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/set").respond_with_data(FEED, headers={"Set-Cookie": "session=abc; Path=/"})
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)

    async def main() -> None:
        async with Fetcher() as fetcher:
            await fetcher.get(httpserver.url_for("/set"), allow_private=True)
            await fetcher.get(httpserver.url_for("/feed.xml"), allow_private=True)

    asyncio.run(main())
    assert "Cookie" not in httpserver.log[1][0].headers


@pytest.mark.parametrize("name", ["client_secret", "auth_token", "access_key", "private_token", "sessionid", "jwt",
                                  "CLIENT-SECRET", "Auth_Token", "ACCESS_KEY", "Private-Token", "SessionId", "JWT"])
def test_redaction_covers_more_credential_names(name: str) -> None:
    from harvester.fetch import redact

    assert redact(f"https://x.org/f?term=hair&{name}=S3CRET&page=2") == f"https://x.org/f?term=hair&{name}=***&page=2"
    assert redact(f"error at https://x.org/f#{name}=S3CRET") == f"error at https://x.org/f#{name}=***"
