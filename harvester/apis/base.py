"""The API adapter contract and what every adapter shares: FollowUp, the error boundary, sniffing and safe XML.

feedparser reads only RSS/Atom, but the sources that matter most for hair-loss research are
search APIs answering in JSON or in their own XML. They also carry facts no feed has (PubMed
publication types, a trial's phase, status, enrolment and posted results), and the scorer lets
that metadata beat words, so the adapters keep those facts in ``Entry.meta`` and, for trials,
also state them in plain words at the top of the text where a reader and a text scorer see them.

An adapter owns only the bytes-to-entries step for its ``kind`` of source: no I/O. When an API
needs a second request (PubMed: esearch finds ids, efetch returns the records) ``parse`` returns
a ``FollowUp`` and the pipeline fetches it with the same client. Which step a body belongs to is
decided by its content, never by its URL alone, because redirects, proxies and test servers
change URLs but not what the API sent.

Everything the APIs send is untrusted: XML is parsed without entity expansion, DTD loading or
network access, and every failure, from malformed bytes to an API error payload, surfaces as
one ``FeedParseError`` whose message names the API and what to check.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from lxml import etree

from harvester.parse import FeedParseError, ParsedFeed

from .fields import clean_line

__all__ = [
    "JSON_ACCEPT",
    "Adapter",
    "ApiAdapter",
    "FollowUp",
    "api_message",
    "keys_text",
    "kind_words",
    "log_url",
    "one_line",
    "parse_xml",
    "sniff",
]

log = logging.getLogger(__name__)

JSON_ACCEPT = "application/json;q=1.0, */*;q=0.1"


@dataclass(frozen=True)
class FollowUp:
    """A second request the API needs before it yields entries (PubMed: esearch ids -> efetch records)."""

    url: str


@runtime_checkable
class Adapter(Protocol):
    """What the pipeline needs from an API adapter: bytes in, entries (or the next URL) out."""

    name: str
    accept: str

    def parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp: ...


class ApiAdapter:
    """Shared error boundary, so every adapter fails the same way: one FeedParseError, chained."""

    name: str = ""
    accept: str = JSON_ACCEPT
    api: ClassVar[str] = ""
    #: What a user can do about a response we cannot read; ends every generic error message.
    fix: ClassVar[str] = "check the source URL in sources.toml"

    def parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp:
        """Parse one API response; any malformed or unexpected content raises FeedParseError."""
        try:
            result = self._parse(body or b"", url=url, headers=headers or {})
        except FeedParseError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, etree.LxmlError) as exc:
            # ValueError covers JSONDecodeError and UnicodeDecodeError; RecursionError deeply nested JSON.
            log.info("api=%s url=%s unreadable response error=%r", self.name, log_url(url), exc)
            raise FeedParseError(f"{self.api}: malformed response ({one_line(exc)}); {self.fix}") from exc
        if isinstance(result, ParsedFeed):
            log.debug("api=%s url=%s entries=%d warning=%s", self.name, log_url(url), len(result.entries),
                      result.warning)
        else:
            log.debug("api=%s url=%s follow_up=%s", self.name, log_url(url), log_url(result.url))
        return result

    def _parse(self, body: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed | FollowUp:
        raise NotImplementedError

    def _error(self, problem: str, fix: str | None = None) -> FeedParseError:
        return FeedParseError(f"{self.api}: {problem}; {fix or self.fix}")

    def _json(self, body: bytes, headers: dict[str, str], fix: str | None = None) -> Any:
        """The decoded JSON body, or a clear error when the API sent something else (HTML error page, XML)."""
        kind = sniff(body)
        if kind != "json":
            raise self._error(f"response is {kind_words(kind, headers)}, not JSON", fix)
        return json.loads(body.decode("utf-8-sig"))


def parse_xml(body: bytes, error: Callable[[str], FeedParseError]) -> etree._Element:
    """Parse untrusted XML: no entity expansion, no DTD or network loads, no oversized nodes.

    Documents that declare entities are refused outright (as defusedxml does): no E-utilities
    response needs them, and an entity is how billion-laughs and XXE payloads get in.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        if "entity" in str(exc).lower() and b"<!ENTITY" in body:
            raise error("XML declares entities, refused for safety") from exc
        raise error(f"malformed XML ({one_line(exc)})") from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise error("XML declares entities, refused for safety")
    return root


def sniff(body: bytes) -> str:
    """What the body looks like from its first bytes: json, xml, html, empty or other."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "empty"
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<":
        if re.match(rb"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", head, re.DOTALL):
            return "html"
        return "xml"
    return "other"


def kind_words(kind: str, headers: dict[str, str]) -> str:
    """What a body of ``sniff``'s kind is, in words for an error message, with its content type."""
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), "")
    words = {"empty": "empty", "html": "an HTML page", "xml": "XML", "json": "JSON"}.get(kind, "plain text")
    return f"{words} ({content_type.split(';')[0].strip()})" if content_type and kind != "empty" else words


def api_message(data: dict[str, Any]) -> str:
    """An API's own error text ("error", "errMsg", ...) as ': text', so the user sees the API's words."""
    for key in ("error", "errMsg", "errorMessage", "message", "ERROR"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("msg")
        if isinstance(value, str) and value.strip():
            return f": {clean_line(value)[:200]}"
    return ""


def keys_text(data: dict[str, Any]) -> str:
    """The first keys of an unexpected JSON object, for an error message."""
    keys = [str(k)[:40] for k in list(data)[:8]]
    return ", ".join(keys) + (", ..." if len(data) > 8 else "") if keys else "none"


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and message, whitespace collapsed."""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def log_url(url: str) -> str:
    """URL for logs without the api_key value (or any other credential)."""
    from harvester.fetch import redact

    return redact(url) or url
