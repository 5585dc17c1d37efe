"""The project's only HTTP client: polite, capped, and safe to point at untrusted URLs.

Everything that leaves the machine goes through :class:`Fetcher` so that the
politeness rules (User-Agent, conditional GET, per-host limits) and the safety
rules (size caps, decoded-size caps, redirect limits, private-address refusal)
are enforced in one place instead of at every call site.

Why one long module: each redirect hop runs the same interlocking checks (scheme, host
resolution and pinning, per-host slots, the deadline, size caps while streaming, bounded
decoding), and every one of them must hold for every hop. Kept together they can be read
as one security boundary, and tests can replace its single DNS seam (``_resolve``).

Design choices worth knowing:

* ``Fetcher.get`` never raises for anything the network or a remote server can
  do to us; it returns a :class:`FetchResult` with ``error``/``error_kind``
  set. Exceptions escaping it are programming errors.
* Content type is *not* checked here: the same client fetches feeds and
  article pages, and servers mislabel feeds constantly. The parser is the
  authority; :func:`looks_like_feed` is a cheap sniffing helper for callers
  that want an early, clearer ``content_type`` error.
* Bodies are read raw (``aiter_raw``) and decoded by us with
  ``zlib.decompressobj(...).decompress(data, max_length)`` so that a gzip bomb
  can never expand past ``FetchLimits.max_decoded`` in memory.
* With ``allow_private=False`` every hop's host is resolved and refused if any
  address is not globally routable. Plain-http hops are then *pinned* to the
  checked address (the Host header keeps the name) so a DNS answer that
  changes between our check and httpx's connect (DNS rebinding) cannot reach
  an internal service. https hops are not pinned: certificate verification
  already prevents a rebound name from talking to an internal host, and
  pinning would mix TLS identities in the connection pool.
"""

from __future__ import annotations

import asyncio
import http
import ipaddress
import logging
import re
import socket
import time
import zlib
from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

__all__ = [
    "FEED_ACCEPT",
    "USER_AGENT",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "looks_like_feed",
]

logger = logging.getLogger(__name__)

USER_AGENT = (
    "hypewatch/0.1 (+https://github.com/hypewatch/hypewatch; research-news aggregator)"
)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, application/json;q=0.8, "
    "text/xml;q=0.8, */*;q=0.5"
)
# Only what we can decode ourselves under a size cap; "br" would need a decoder
# we do not ship, and advertising it would invite bodies we must reject.
ACCEPT_ENCODING = "gzip, deflate"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_STATUSES = frozenset({301, 308})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """Caps that keep one hostile or broken server from costing us more than a slot.

    ``deadline`` bounds the whole fetch: httpx timeouts are per
    network operation, so a server dripping one byte every few seconds would
    otherwise hold a connection slot indefinitely. It bounds the total time a
    single ``get`` may spend holding slots, across all redirect hops.
    """

    max_bytes: int = 15 * 2**20
    max_decoded: int = 30 * 2**20
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = 5
    deadline: float = 120.0


@dataclass
class FetchResult:
    """Everything the pipeline needs to record a fetch and schedule the next one.

    ``elapsed`` counts only time spent holding a connection slot (all hops),
    not time queued behind other fetches, so it measures the server, not us.
    ``error_kind`` "decoding" means the server declared a Content-Encoding whose
    body is corrupt or unsupported.
    """

    url: str
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes | None
    elapsed: float
    permanent_url: str | None = None
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        """True for a usable outcome (a body or a 304), so callers need not re-derive it."""
        return self.error is None


_SECRET_PARAMS = re.compile(  # a secret word, alone or after a prefix ending in _ or - (client_secret, auth_token)
    r"(?i)(?<![\w-])((?:[\w-]*[_-])?(?:api[_-]?key|apikey|key|token|auth|password|passwd|secret|signature|sig"
    r"|session[_-]?id|sessid|jwt)=)[^&#\s'\"]+")
_USERINFO = re.compile(r"(?i)\b(https?://)[^/@\s'\"]+@")


def redact(text: str | None) -> str | None:
    """Text (a URL, an error message) with credentials in URLs replaced by ***.

    Error messages and the URLs in them are stored on the source and published on the
    site's source-health pages: an API key or a password in a source URL must not leak there.
    """
    if not text:
        return text
    return _USERINFO.sub(r"\1***@", _SECRET_PARAMS.sub(r"\1***", text))


class _FetchError(Exception):
    """Internal: carries a one-line message and an error_kind to the result builder."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class _Hop:
    """The outcome of one request in a redirect chain."""

    url: httpx.URL
    status: int
    headers: dict[str, str]
    body: bytes | None = None
    location: str | None = None
    raw_bytes: int = 0


@dataclass
class _State:
    """Mutable per-``get`` bookkeeping shared by the hops."""

    budget: float
    network_time: float = 0.0
    hops: list[_Hop] = field(default_factory=list)
    current: _Hop | None = None  # the response being handled, for error reports
    url: httpx.URL | None = None  # the hop being attempted


class Fetcher:
    """Async HTTP client with global and per-host concurrency limits; use as ``async with``."""

    def __init__(
        self,
        *,
        user_agent: str = USER_AGENT,
        limits: FetchLimits = FetchLimits(),
        concurrency: int = 16,
        per_host: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self.user_agent = user_agent
        self.limits = limits
        self.per_host = per_host
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            # Our semaphores already bound concurrency, so waiting for the pool
            # only happens in odd cases; don't let it wait forever.
            pool=limits.connect_timeout,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            # Stateless by design: no cookie from one site or run leaks into the
            # next request, and every fetch is reproducible from its URL alone.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections; needed when not used as a context manager."""
        await self._client.aclose()

    def _host_semaphore(self, host: str) -> asyncio.Semaphore:
        # Created lazily: the set of hosts is only known as URLs (and redirects) arrive.
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.per_host)
        return sem

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private: bool,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """Fetch ``url``; problems come back in the result, never as exceptions.

        ``allow_private`` is the source's ``local``, with no default so that no caller forgets it:
        when false, every hop (redirects included) to a private, loopback, link-local or reserved
        address is refused.

        ``etag``/``last_modified`` are the validators stored from the previous
        fetch; a 304 answer yields ``not_modified=True`` and no body.
        """
        state = _State(budget=self.limits.deadline)
        headers = {"Accept": accept}
        # Validators come from earlier server headers; one with characters that
        # can't go on the wire again would fail the request, so drop it instead.
        if etag and _header_safe(etag):
            headers["If-None-Match"] = etag
        if last_modified and _header_safe(last_modified):
            headers["If-Modified-Since"] = last_modified
        try:
            result = await self._follow(url, headers, allow_private, state)
        except _FetchError as exc:
            last = state.current
            result = FetchResult(
                url=url,
                final_url=str(state.url) if state.url is not None else url,
                status=last.status if last else None,
                headers=last.headers if last else {},
                body=None,
                elapsed=state.network_time,
                error=redact(exc.message),
                error_kind=exc.kind,
            )
        logger.log(
            logging.INFO if result.error else logging.DEBUG,
            "fetch url=%s final_url=%s status=%s elapsed=%.3f bytes=%s error_kind=%s error=%s",
            redact(url),
            redact(result.final_url),
            result.status,
            result.elapsed,
            len(result.body) if result.body is not None else 0,
            result.error_kind,
            result.error,
        )
        return result

    async def _follow(
        self, url: str, headers: dict[str, str], allow_private: bool, state: _State
    ) -> FetchResult:
        """Walk the redirect chain by hand so each hop is checked, counted and capped."""
        current = _parse_url(url)
        seen = {str(current)}
        while True:
            state.url, state.current = current, None
            hop = await self._hop(current, headers, allow_private, state)
            state.hops.append(hop)
            if hop.status in _REDIRECT_STATUSES and hop.location is not None:
                redirects = len(state.hops)
                if redirects > self.limits.max_redirects:
                    raise _FetchError(
                        "redirects",
                        f"too many redirects (more than {self.limits.max_redirects}) "
                        f"starting at {url}; update the source URL to the final address",
                    )
                try:
                    target = current.join(hop.location)
                except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
                    raise _FetchError(
                        "redirects",
                        f"{current.host} redirected to an invalid URL {hop.location!r}: {exc}",
                    ) from None
                target = target.copy_with(fragment=None)
                if str(target) in seen:
                    chain = " -> ".join([*(str(h.url) for h in state.hops), str(target)])
                    raise _FetchError("redirects", f"redirect loop: {chain}")
                seen.add(str(target))
                _check_scheme(target)
                current = target
                continue
            return self._finish(url, hop, state)

    def _finish(self, url: str, hop: _Hop, state: _State) -> FetchResult:
        """Turn the last hop into a result: 304, HTTP error or body."""
        redirects = state.hops[:-1]
        permanent = None
        if redirects and all(h.status in _PERMANENT_STATUSES for h in redirects):
            permanent = str(hop.url)
        if hop.status == 304:
            return FetchResult(
                url=url,
                final_url=str(hop.url),
                status=304,
                headers=hop.headers,
                body=None,
                elapsed=state.network_time,
                permanent_url=permanent,
                not_modified=True,
            )
        if hop.status >= 300:
            # Any status left here that isn't 2xx (4xx, 5xx, a 3xx without
            # Location, 300) is not a document we can use. The caller keeps
            # status and headers: Retry-After and 410 decide scheduling.
            return FetchResult(
                url=url,
                final_url=str(hop.url),
                status=hop.status,
                headers=hop.headers,
                body=None,
                elapsed=state.network_time,
                error=redact(_http_message(hop.status, hop.url, hop.headers)),
                error_kind="http",
            )
        return FetchResult(
            url=url,
            final_url=str(hop.url),
            status=hop.status,
            headers=hop.headers,
            body=hop.body,
            elapsed=state.network_time,
            permanent_url=permanent,
        )

    async def _hop(
        self, url: httpx.URL, headers: dict[str, str], allow_private: bool, state: _State
    ) -> _Hop:
        """One request under the per-host and global slots and the remaining deadline."""
        host = url.host
        # Per-host first, global second: a task waiting for a busy host then
        # doesn't sit on a global slot other hosts could use.
        async with self._host_semaphore(host), self._global:
            started = time.perf_counter()
            deadline = asyncio.timeout(max(state.budget, 0.001))
            try:
                async with deadline:
                    return await self._request(url, headers, allow_private, state)
            except TimeoutError:
                if deadline.expired():
                    raise _FetchError(
                        "timeout",
                        f"{host} took longer than {self.limits.deadline:g}s overall "
                        f"(slow or stalled transfer); will retry later",
                    ) from None
                raise _FetchError("timeout", f"timed out talking to {host}; will retry later") from None
            except httpx.TimeoutException as exc:
                raise _FetchError("timeout", self._timeout_message(host, exc)) from None
            except httpx.HTTPError as exc:  # transport and protocol failures
                raise _FetchError("network", _network_message(host, exc)) from None
            except OSError as exc:  # DNS (gaierror), TLS and socket errors not wrapped by httpx
                raise _FetchError("network", _network_message(host, exc)) from None
            except (httpx.InvalidURL, UnicodeError) as exc:
                raise _FetchError("blocked", f"refusing {str(url)[:200]!r}: invalid URL ({exc})") from None
            finally:
                spent = time.perf_counter() - started
                state.budget -= spent
                state.network_time += spent

    def _timeout_message(self, host: str, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return (
                f"could not connect to {host} within {self.limits.connect_timeout:g}s; "
                f"the site may be down or blocking us, will retry later"
            )
        if isinstance(exc, httpx.PoolTimeout):
            return f"no free connection to {host} in time; lower concurrency if this repeats"
        return (
            f"{host} sent nothing for {self.limits.read_timeout:g}s; "
            f"the server is overloaded or stuck, will retry later"
        )

    async def _request(
        self, url: httpx.URL, headers: dict[str, str], allow_private: bool, state: _State
    ) -> _Hop:
        _check_scheme(url)
        send_url = url
        hop_headers = dict(headers)
        if not allow_private:
            address = await _checked_address(url)
            if url.scheme == "http":
                # Pin to the address we checked (see module docstring).
                hop_headers["Host"] = _host_header(url)
                send_url = url.copy_with(host=address)
        request = self._client.build_request("GET", send_url, headers=hop_headers)
        response = await self._client.send(request, stream=True)
        try:
            resp_headers = {k.lower(): v for k, v in response.headers.items()}
            hop = _Hop(url=url, status=response.status_code, headers=resp_headers)
            state.current = hop  # so a failure while reading still reports status/headers
            if response.status_code in _REDIRECT_STATUSES:
                hop.location = response.headers.get("location")
                return hop
            if response.status_code < 200 or response.status_code >= 300:
                return hop
            hop.body, hop.raw_bytes = await self._read_body(url, response)
            return hop
        finally:
            await response.aclose()

    async def _read_body(self, url: httpx.URL, response: httpx.Response) -> tuple[bytes, int]:
        """Stream the body with the raw cap, decoding under the decoded-size cap."""
        limits = self.limits
        length = response.headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > limits.max_bytes:
            raise _FetchError(
                "too_large",
                f"{url.host} announced {int(length):,} bytes (Content-Length), more than the "
                f"{limits.max_bytes:,}-byte cap; raise FetchLimits.max_bytes if this source is trusted",
            )
        decoder = _Decoder(response.headers.get("content-encoding", ""), limits.max_decoded, url.host)
        raw = 0
        parts: list[bytes] = []
        async for chunk in response.aiter_raw(_CHUNK):
            raw += len(chunk)
            if raw > limits.max_bytes:
                raise _FetchError(
                    "too_large",
                    f"body from {url.host} exceeded the {limits.max_bytes:,}-byte cap; "
                    f"stopped reading (raise FetchLimits.max_bytes if this source is trusted)",
                )
            parts.append(decoder.feed(chunk))
        parts.append(decoder.finish())
        return b"".join(parts), raw


class _Decoder:
    """Incremental Content-Encoding decoder whose output can never exceed ``max_decoded``."""

    def __init__(self, content_encoding: str, max_decoded: int, host: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise _FetchError(
                    "decoding",
                    f"{host} sent Content-Encoding {coding!r}, which we did not ask for "
                    f"and cannot decode",
                )
        if len(codings) > 1:
            # Stacked encodings are legal but never seen from feed servers; they
            # would need a chain of capped decoders for no practical gain.
            raise _FetchError(
                "decoding", f"{host} sent stacked Content-Encoding {content_encoding!r}; not supported"
            )
        self.coding = codings[0] if codings else None
        self.max_decoded = max_decoded
        self.host = host
        self.total = 0
        self._obj: Any = None
        self._pending = b""  # deflate: bytes held until we know zlib vs raw

    def _new_obj(self, raw_deflate: bool = False) -> Any:
        if self.coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def _too_large(self) -> _FetchError:
        return _FetchError(
            "too_large",
            f"body from {self.host} decodes to more than the {self.max_decoded:,}-byte "
            f"decoded size cap (FetchLimits.max_decoded); possible compression bomb, stopped",
        )

    def _emit(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.max_decoded:
            raise self._too_large()
        return data

    def _decompress(self, data: bytes) -> bytes:
        """Decompress ``data`` fully but never produce more than the remaining allowance."""
        out: list[bytes] = []
        while data:
            if self._obj.eof:
                # Concatenated gzip members are valid gzip; anything else after
                # the end of the stream is trailing garbage we ignore.
                if self.coding in ("gzip", "x-gzip") and data[:2] == b"\x1f\x8b":
                    self._obj = self._new_obj()
                else:
                    logger.debug("ignoring %d bytes after compressed stream host=%s", len(data), self.host)
                    break
            allowance = self.max_decoded - self.total + 1
            try:
                chunk = self._obj.decompress(data, allowance)
            except zlib.error as exc:
                raise self._corrupt(exc) from None
            out.append(self._emit(chunk))
            data = self._obj.unconsumed_tail or (self._obj.unused_data if self._obj.eof else b"")
            if self._obj.eof and not data:
                break
        return b"".join(out)

    def _corrupt(self, exc: zlib.error) -> _FetchError:
        return _FetchError(
            "decoding",
            f"{self.host} said the body is {self.coding}-encoded but it is not valid "
            f"{self.coding} data ({exc}); the server is misconfigured",
        )

    def feed(self, chunk: bytes) -> bytes:
        if self.coding is None:
            return self._emit(chunk)
        if self._obj is None:
            if self.coding == "deflate":
                # "deflate" should be zlib-wrapped (RFC 9110) but some servers send
                # raw deflate; decide from the first two bytes (zlib header check).
                self._pending += chunk
                if len(self._pending) < 2:
                    return b""
                head = self._pending[:2]
                zlib_wrapped = head[0] & 0x0F == 8 and int.from_bytes(head, "big") % 31 == 0
                self._obj = self._new_obj(raw_deflate=not zlib_wrapped)
                chunk, self._pending = self._pending, b""
            else:
                self._obj = self._new_obj()
        return self._decompress(chunk)

    def finish(self) -> bytes:
        if self.coding is None:
            return b""
        if self._obj is None:
            if not self._pending:
                return b""  # empty body: nothing to decode
            raise self._corrupt(zlib.error("body too short"))
        try:
            # All input went through capped decompress() calls that returned
            # less than their allowance, so little or nothing is left here.
            tail = self._obj.flush()
        except zlib.error as exc:
            raise self._corrupt(exc) from None
        out = self._emit(tail)
        if not self._obj.eof:
            raise _FetchError(
                "decoding",
                f"{self.coding} body from {self.host} ended early (truncated transfer); "
                f"will retry later",
            )
        return out


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as exc:
        raise _FetchError("blocked", f"refusing {url!r}: not a valid URL ({exc}); fix the source URL") from None
    _check_scheme(parsed)
    return parsed.copy_with(fragment=None)


def _check_scheme(url: httpx.URL) -> None:
    if url.scheme not in ("http", "https"):
        raise _FetchError(
            "blocked",
            f"refusing {str(url)[:200]!r}: only http and https URLs are fetched",
        )
    if not url.host:
        raise _FetchError("blocked", f"refusing {str(url)[:200]!r}: the URL has no host")
    if url.port is not None and not 0 < url.port < 65536:
        raise _FetchError("blocked", f"refusing {str(url)[:200]!r}: port {url.port} is out of range")


def _header_safe(value: str) -> bool:
    return value.isascii() and "\r" not in value and "\n" not in value


def _host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = 443 if url.scheme == "https" else 80
    if url.port is not None and url.port != default_port:
        host = f"{host}:{url.port}"
    return host


def _forbidden_reason(address: str) -> str | None:
    """Why ``address`` must not be contacted for untrusted URLs, or None if it's public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10 carrier-grade NAT, documentation ranges
        return "non-global"
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


async def _resolve(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to (a seam tests replace to fake DNS)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _checked_address(url: httpx.URL) -> str:
    """Resolve the hop's host and return an address to use, refusing any non-public answer.

    Refusing when *any* address is private (not just the first) stops a host
    from listing a public and an internal address and letting the connect
    race decide.
    """
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    numeric = _numeric_ipv4(host)
    try:
        addresses = [host] if _is_ip(host) else [numeric] if numeric else await _resolve(host, port)
    except socket.gaierror as exc:
        raise _FetchError(
            "network", f"could not resolve {host} ({exc.strerror or exc}); check the URL's host name"
        ) from None
    except UnicodeError as exc:
        raise _FetchError("blocked", f"refusing {host!r}: invalid host name ({exc})") from None
    if not addresses:
        raise _FetchError("network", f"could not resolve {host}; check the URL's host name")
    for address in addresses:
        reason = _forbidden_reason(address)
        if reason is not None:
            raise _FetchError(
                "blocked",
                f"refusing {host}: it resolves to {reason} address {address}; "
                f"mark the source as local if this is intended",
            )
    return addresses[0]


_NUMERIC_HOST = re.compile(r"(?i)(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?")


def _numeric_ipv4(host: str) -> str | None:
    """The IPv4 address a numeric host spells the way inet_aton reads it ("2130706433", "0x7f.1",
    "0177.0.0.1", "127.1"), or None; checked before any DNS so no resolver can reinterpret it."""
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _http_message(status: int, url: httpx.URL, headers: Mapping[str, str]) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    message = f"HTTP {status} {phrase}".rstrip() + f" from {url.host}"
    if status in _REDIRECT_STATUSES:
        message += " without a Location header"
    elif status == 410:
        message += "; the feed is gone, remove or replace the source"
    elif status in (401, 403):
        message += "; the server refuses us, check the URL or whether it needs a login"
    elif status == 404:
        message += "; check the URL, the feed may have moved"
    elif status in (429, 503) and "retry-after" in headers:
        message += f" (Retry-After: {headers['retry-after']})"
    return message


def _network_message(host: str, exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = detail[:200]
    if isinstance(exc, socket.gaierror) or _caused_by(exc, socket.gaierror):
        return f"could not resolve {host}: {detail}; check the URL's host name"
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        if "certificate" in detail.lower() or "ssl" in detail.lower():
            return f"TLS error talking to {host}: {detail}; the site's certificate is not valid"
        return f"could not connect to {host}: {detail}; check the URL and whether the site is up"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{host} broke the HTTP protocol or closed the connection early: {detail}; will retry later"
    return f"network error talking to {host}: {detail}; will retry later"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen = 0
    cause = exc.__cause__ or exc.__context__
    while cause is not None and seen < 10:
        if isinstance(cause, kind):
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False


_FEED_TYPES = ("xml", "rss", "atom", "rdf", "json")
_FEED_STARTS = (b"<?xml", b"<rss", b"<feed", b"<rdf:rdf", b"{")


def looks_like_feed(headers: Mapping[str, str], body: bytes | None) -> bool:
    """Cheap guess whether a response is a feed, for an early ``content_type`` error.

    Deliberately forgiving: servers label feeds text/html or text/plain all the
    time, so the body's first bytes decide when the header is not conclusive.
    Only a clear HTML page (or an empty body) is rejected; the parser remains
    the real judge.
    """
    if not body:
        return False
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    content_type = ""
    for key, value in headers.items():
        if key.lower() == "content-type":
            content_type = value.split(";", 1)[0].strip().lower()
    if any(t in content_type for t in _FEED_TYPES):
        return True
    if head.startswith(b"<!--") or head.startswith(b"<?xml"):
        return True
    return head.startswith(_FEED_STARTS)
