"""Stable identity of items (ids, canonical URLs, content hashes)."""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from harvester.parse import Entry

__all__ = [
    "TRACKING_PARAMS",
    "canonical_url",
    "content_hash",
    "item_id",
]

log = logging.getLogger(__name__)

#: Query parameters that only say how a reader arrived; removing them never changes the page.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url", "igshid", "igsh",
        "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking", "spm", "cmpid",
        "_ga", "_gl", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv",
        "rb_clickid", "s_cid", "sc_cid", "wt.mc_id", "ncid", "ito", "trk", "trkcampaign",
        "at_medium", "at_campaign", "soc_src", "soc_trk", "sr_share", "dicbo",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_")
# Feed-specific markers: bioRxiv/medRxiv add ?rss=1, PubMed adds fc/ff/v to every RSS link.
_TRACKING_VALUES = frozenset({("rss", "1"), ("rss", "yes")})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DOI_HOSTS = frozenset({"doi.org", "dx.doi.org", "www.doi.org", "www.dx.doi.org"})
_PUBMED_ARTICLE = re.compile(r"^/(\d{1,9})/?$")

# Ids with one of these schemes are unique on their own (Atom requires globally unique IRIs;
# a PMID or DOI names the same paper in every feed), so they are not scoped by source.
_GLOBAL_ID_SCHEMES = frozenset({"tag", "urn", "doi", "pmid", "pubmed", "info"})
_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def canonical_url(url: str) -> str:
    """One spelling per page, so the same article linked from two feeds is one item.

    Lower-cases scheme and host, drops the default port, the fragment and tracking parameters
    (others stay, in their order and original encoding, since some sites need them), and
    rewrites DOI resolver links to ``https://doi.org/<lower-case doi>``. Non-web strings
    (``urn:``, ``tag:``) come back stripped but otherwise unchanged.
    """
    text = re.sub(r"[\t\r\n]", "", url or "").strip()
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return text
        host = parts.hostname.lower().rstrip(".")
        port = parts.port
    except ValueError:  # bad port or IPv6 literal: keep what we were given
        return text
    if host in _DOI_HOSTS:
        doi = unquote(parts.path).lstrip("/")
        if doi.lower().startswith("10."):
            return "https://doi.org/" + doi.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    path = parts.path or "/"
    query = _strip_tracking(parts.query)
    if host == "pubmed.ncbi.nlm.nih.gov" and (m := _PUBMED_ARTICLE.match(path)):
        path, query = f"/{m.group(1)}/", ""  # PubMed RSS links carry per-feed fc/ff/v params
    return urlunsplit((scheme, netloc, path, query, ""))


def _strip_tracking(query: str) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        name = unquote(key.replace("+", " ")).strip().lower()
        if name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES) or (name, value.lower()) in _TRACKING_VALUES:
            continue
        kept.append(pair)
    return "&".join(kept)


def item_id(source: str, entry: Entry) -> str:
    """Id that stays the same across runs, so re-harvesting updates rather than duplicates.

    Order: guid, then canonical URL, then a hash of title and summary. A guid that is a web
    URL is canonicalised and shared across sources (same article, same id); a guid with a
    globally unique scheme (``tag:``, ``urn:``, ``doi:``, ``pubmed:``) is shared as-is; any
    other guid ("1234", "t3_abc") is only unique within its feed, so it is scoped by source,
    as is the title hash.
    """
    guid = (entry.guid or "").strip()
    if guid:
        scheme = _URI_SCHEME.match(guid)
        scheme_name = scheme.group(1).lower() if scheme else ""
        if scheme_name in _DEFAULT_PORTS and _is_web_url(guid):
            key = "url\x00" + canonical_url(guid)
        elif scheme_name in {"pmid", "pubmed"}:
            key = "pmid\x00" + guid.split(":", 1)[1].strip()
        elif scheme_name == "doi":
            key = "doi\x00" + guid.split(":", 1)[1].strip().lower()
        elif scheme_name in _GLOBAL_ID_SCHEMES:
            key = "guid\x00" + guid
        else:
            key = "guid\x00" + source + "\x00" + guid
    elif entry.url:
        key = "url\x00" + canonical_url(entry.url)
    else:
        key = "hash\x00" + source + "\x00" + (entry.title or "") + "\x00" + (entry.summary or "")
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _is_web_url(value: str) -> bool:
    """True when ``value`` is an absolute http(s) URL with a host (guids often only look like one)."""
    try:
        return bool(urlsplit(value.strip()).hostname)
    except ValueError:
        return False


def content_hash(entry: Entry) -> str:
    """Fingerprint of what a reader sees, so an edited item is noticed and re-scored."""
    parts = (entry.title or "", entry.summary or "", entry.text or "", entry.url or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
