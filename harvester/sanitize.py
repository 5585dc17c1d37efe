"""HTML from untrusted feeds and pages: the sanitised subset we store and publish, and plain text."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import nh3

__all__ = [
    "ALLOWED_TAGS",
    "MAX_NESTING",
    "Policy",
    "DIGEST",
    "FEED",
    "clean_html",
    "html_to_text",
    "plain_text",
    "safe_url",
    "web_link",
]

log = logging.getLogger(__name__)

#: Enough structure to read a summary; nothing that can run code, load resources or restyle the page.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {"p", "br", "a", "em", "strong", "ul", "ol", "li", "blockquote", "b", "i", "sup", "sub"}
)
_ATTRIBUTES = {"a": {"href"}}
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_PAGE_SCHEMES = frozenset({"http", "https"})

# Block-level boundaries become line breaks in plain text, otherwise "<p>a</p><p>b</p>" reads "ab".
_BLOCK_TAG = re.compile(
    r"<(?=/?\s*(?:p|div|br|li|h[1-6]|tr|blockquote|ul|ol|dl|dd|dt|table|section|article|"
    r"header|footer|aside|nav|pre|hr|figure|figcaption|main)\b)",
    re.IGNORECASE,
)
_CELL_TAG = re.compile(r"<(?=/?\s*t[dh]\b)", re.IGNORECASE)
_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
# C0 controls other than tab/newline, DEL and C1 controls: they break terminals and XML output.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ALL_WHITESPACE = re.compile(r"\s+")
_EMPTY_ANCHOR = re.compile(r"<a\b[^>]*>\s*</a>")

#: html5ever (inside nh3) takes quadratic time on deeply nested markup: 40,000 nested <div>s
#: cost 7 s, a 15 MiB hostile feed would cost hours. Deeper fragments take a linear path.
MAX_NESTING = 128
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
# Void elements never nest; these close themselves implicitly in real-world HTML.
_NON_NESTING = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
     "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot"}
)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ANY_TAG = re.compile(r"<[^>]*>|<!--.*?-->", re.DOTALL)


def safe_url(value: str | None, base: str | None = None, *, schemes: frozenset[str] = _PAGE_SCHEMES) -> str | None:
    """Resolve ``value`` against ``base`` and keep it only if it is a web link.

    Feeds put newlines and tabs inside ``<link>`` (bioRxiv does); browsers drop them, so do we.
    Anything that is not http(s) (``javascript:``, ``data:``, ``file:``) is refused rather than
    repaired, because a link we publish must never run code.
    """
    if not value:
        return None
    cleaned = re.sub(r"[\t\r\n]", "", value).strip()
    if not cleaned:
        return None
    try:
        absolute = urljoin(base, cleaned) if base else cleaned
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in schemes or (parts.scheme.lower() != "mailto" and not parts.hostname):
        return None
    return absolute


def web_link(url: object) -> str | None:
    """The one check for a link we publish: the URL itself when it is an absolute http(s) URL
    with a host and no whitespace or control characters, else None (javascript:, data:,
    relative paths, garbage). Nothing else ever becomes a link on the site, in a feed or in
    the digest."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _CONTROL.search(url) or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _PAGE_SCHEMES or not parts.netloc:
        return None
    return url


@dataclass(frozen=True)
class Policy:
    """One nh3 allow-list for HTML we publish: the tags, their attributes, the link schemes and
    the rel added to links. Every sanitiser call goes through one of the policies below."""

    tags: frozenset[str]
    attributes: tuple[tuple[str, frozenset[str]], ...]
    url_schemes: frozenset[str]
    link_rel: str = "noopener noreferrer"  # nh3's own default

    def clean(self, fragment: str) -> str:
        return nh3.clean(
            fragment, tags=set(self.tags), attributes={tag: set(attrs) for tag, attrs in self.attributes},
            url_schemes=set(self.url_schemes), link_rel=self.link_rel, strip_comments=True,
        )


#: The digest's own markup: headings, paragraphs, lists, links to web pages.
DIGEST = Policy(
    tags=frozenset({"h2", "h3", "p", "ul", "li", "a", "strong", "em", "br"}),
    attributes=(("a", frozenset({"href"})),),
    url_schemes=_PAGE_SCHEMES,
    link_rel="noopener noreferrer nofollow",
)
#: Atom entries: the tags and attributes datasette-atom allows, links to web pages and mail only.
FEED = Policy(
    tags=frozenset({"a", "abbr", "acronym", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "strong",
                    "ul", "pre", "p", "h1", "h2", "h3", "h4", "h5", "h6", "img"}),
    attributes=(("a", frozenset({"href", "title"})), ("img", frozenset({"alt", "src"}))),
    url_schemes=_LINK_SCHEMES,
)


def clean_html(fragment: str | None, base_url: str | None = None) -> str:
    """Reduce untrusted HTML to ``ALLOWED_TAGS``; safe to publish as-is.

    Relative links are made absolute against ``base_url`` so the stored HTML still works when
    shown on another site (our Datasette pages); links get ``rel="nofollow noopener"`` because
    we do not vouch for them.
    """
    if not fragment:
        return ""

    if _too_deep(fragment):
        paragraphs = _fast_text(fragment).split("\n")
        return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in paragraphs if line)

    def _filter(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            return safe_url(value, base_url, schemes=_LINK_SCHEMES)
        return value

    cleaned = nh3.clean(
        _CONTROL.sub("", fragment),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
        attribute_filter=_filter,
        link_rel="nofollow noopener",
        url_schemes=set(_LINK_SCHEMES),
        strip_comments=True,
    )
    # An anchor left empty (its <img> removed) is an invisible link: drop it.
    return _EMPTY_ANCHOR.sub("", cleaned).strip()


def html_to_text(fragment: str | None) -> str:
    """Readable plain text of an HTML fragment: scripts and styles dropped, one line per block.

    Line breaks are kept between blocks because the scorer works per sentence and a heading
    glued to the next paragraph makes a nonsense sentence.
    """
    if not fragment:
        return ""
    if _too_deep(fragment):
        return _fast_text(fragment)
    marked = _CELL_TAG.sub(" <", _BLOCK_TAG.sub("\n<", _CONTROL.sub("", fragment)))
    stripped = nh3.clean(marked, tags=set(), strip_comments=True)
    return _tidy(html.unescape(stripped))


def _too_deep(fragment: str) -> bool:
    if fragment.count("<") <= MAX_NESTING:
        return False
    depth = 0
    for match in _TAG_TOKEN.finditer(fragment):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _NON_NESTING:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > MAX_NESTING:
                log.warning("html nested deeper than %d levels: using the plain-text fallback", MAX_NESTING)
                return True
    return False


def _fast_text(fragment: str) -> str:
    """Linear-time tag stripping for pathological markup; cruder, but never stalls a harvest."""
    marked = _BLOCK_TAG.sub("\n<", _CONTROL.sub("", fragment))
    return _tidy(html.unescape(_ANY_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", marked))))


def plain_text(value: str | None, *, is_html: bool | None = None, single_line: bool = False) -> str:
    """Plain text from a feed field that may or may not be HTML.

    Feeds mislabel their fields constantly (escaped HTML in RSS titles, double-escaped
    entities), so when ``is_html`` is None we look at the value itself.
    """
    if not value:
        return ""
    if is_html is None:
        is_html = bool(_LOOKS_LIKE_MARKUP.search(value))
    text = html_to_text(value) if is_html else _tidy(_CONTROL.sub("", value))
    if single_line:
        text = _ALL_WHITESPACE.sub(" ", text).strip()
    return text


def _tidy(text: str) -> str:
    """Collapse whitespace inside lines and drop blank lines (str.split is far faster than regexes here)."""
    lines = (" ".join(line.split()) for line in text.replace("\u00a0", " ").splitlines())
    return "\n".join(line for line in lines if line)
