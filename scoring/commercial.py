"""Commercial interest: who gains if the reader believes the item (none, indirect, direct)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Reason
from .text import Doc

__all__ = ["CommercialResult", "assess_commercial", "PUBLISHER_PRIOR"]

# Publisher kind (sources.toml `publisher`) as one signal among others: (direct, indirect) points.
PUBLISHER_PRIOR = {
    "clinic": (5.0, 0.0),
    "company": (5.0, 0.0),
    "press": (0.0, 3.0),
}
DIRECT_AT = 4.0
INDIRECT_AT = 2.5
# Each distinct cue counts at most this many times.
MAX_REPEAT = 2

_PRICE_AMOUNT = r"\s?\d[\d,]*(?:\.\d{2})?(?![\d,])(?!\s*(?:million|billion|bn|m\b|k\b))"
_PRICE = re.compile(r"[$€£]" + _PRICE_AMOUNT)
# The same for a text whose only currency sign is "$": a pattern that starts with a literal
# is searched for at C speed, one that starts with a character class is tried at every character.
_PRICE_DOLLAR = re.compile(r"\$" + _PRICE_AMOUNT)
_PRICE_WORDS = re.compile(r"\b\d[\d,]*(?:\.\d{2})?\s?(?:usd|eur|gbp|dollars|euros|pounds)\b")
_MARKS = re.compile(r"[™®]|\((?:tm|r)\)", re.I)

# The page address's general shape (never particular sites): (direct, indirect) points.
# Shop and product paths, clinic-like host names, service paths, press-release paths.
_URL_HOST = re.compile(r"^(?:[a-z]+://)?([^/?#]+)")
_URL_SHOP_PATH = re.compile(r"/(?:shop|store|stores|products?|cart|checkout|buy|order)(?:/|\.|$|\?)")
_URL_SERVICE_PATH = re.compile(
    r"/(?:treatments?|services?|procedures?|pricing|prices|book(?:ing)?|appointments?|our-clinic|consultation)(?:/|\.|$|\?)"
)
_URL_PRESS_PATH = re.compile(r"/(?:press-releases?|news-releases?|pressreleases?|newsreleases?|releases?|press-room|newsroom)(?:/|\.|$|\?|-)")
_URL_HOST_CLINIC = re.compile(
    r"clinic(?!al)|surgery|surgical|cosmetic|aesthetic|medspa|transplant|restoration|dermatolog|derm\b|trichology|"
    r"(?:stem)?celltherap|wellness|medical(?!news|press|xpress)|pharmacy"
)
# Hosts and paths of journals, news and institutions: no shop or clinic even if a word matches.
_URL_NOT_SELLER_HOST = re.compile(
    r"journal|news|pmc|pubmed|ncbi|doi|\.edu\b|\.ac\.|\.gov\b|practice|magazine|times|wiki|trials?\b|"
    r"^(?:www\.)?ij[a-z]|academic|research|scholar|univ|institut|springer|wiley|elsevier|sciencedirect|"
    r"karger|thieme|mdpi|frontiersin|tandfonline|sagepub|biomedcentral|plos|jamanetwork|nejm|bmj|lww"
)
# An institution's own news pages (a university or institute press office): institutional promotion.
_URL_INSTITUTION_HOST = re.compile(r"\.edu\b|\.ac\.[a-z]{2}\b|univ|institut|hospital|medical-?cent|school")
_URL_NEWS_PATH = re.compile(r"/(?:news|press|media|stories|newsroom)(?:/|-|$)")
_URL_NOT_SELLER_PATH = re.compile(r"journal|/pmc|/doi/|/abstract|/pubmed")
URL_SHOP = 4.0
URL_SERVICE = 2.0
URL_CLINIC_HOST = 3.0
URL_PRESS = 2.5
URL_SELLER_INDIRECT = 1.0
META_SPONSOR = 3.0


def split_url(url: str) -> tuple[str, str] | None:
    """(host, path) of an address, lower case, without credentials, port, query or fragment."""
    u = url.strip().lower()
    m = _URL_HOST.match(u)
    if not m:
        return None
    path = u[m.end():].split("#", 1)[0].split("?", 1)[0]
    return m.group(1).split("@")[-1].split(":")[0], path


def url_signals(url: str | None) -> list[tuple[str, float, str]]:
    """(label, points, why) from the address's general shape: shop/product/service/press
    paths and clinic-like host names. Empty for no address."""
    if not url or not isinstance(url, str):
        return []
    parts = split_url(url)
    if parts is None:
        return []
    host, path = parts
    not_seller = _URL_NOT_SELLER_HOST.search(host) is not None or _URL_NOT_SELLER_PATH.search(path) is not None
    out: list[tuple[str, float, str]] = []
    if _URL_PRESS_PATH.search(path):
        out.append(("indirect", URL_PRESS, "address: press-release path"))
    elif _URL_INSTITUTION_HOST.search(host) and (_URL_NEWS_PATH.search(path) or host.startswith(("news.", "press.", "media."))):
        out.append(("indirect", URL_PRESS, "address: an institution's news pages"))
    if not_seller:
        return out
    if _URL_SHOP_PATH.search(path):
        out.append(("direct", URL_SHOP, "address: shop or product page"))
    elif _URL_SERVICE_PATH.search(path):
        out.append(("direct", URL_SERVICE, "address: service or treatment page"))
    hm = _URL_HOST_CLINIC.search(host)
    if hm:
        out.append(("direct", URL_CLINIC_HOST, f"address: clinic-like site name ({hm.group(0)})"))
    return out


_find_usd = re.compile("usd").search
_find_dollars = re.compile("dollars").search
_find_gbp = re.compile("gbp").search
_find_eur = re.compile("eur").search


def _has_currency_word(low: str) -> bool:
    """'usd', 'dollars', 'euros', 'eur ' or 'gbp' in low. The regex engine's search for a
    literal is faster than `in` here, and one pass for "eur" rules out "euros" and "eur "."""
    return (
        _find_usd(low) is not None
        or _find_dollars(low) is not None
        or _find_gbp(low) is not None
        or (_find_eur(low) is not None and ("euros" in low or "eur " in low))
    )


def _paren_mark(low: str) -> bool:
    """'(tm)' in low or '(r)' in low, in one pass over the (few) opening parentheses."""
    i = low.find("(")
    while i >= 0:
        if low.startswith("tm)", i + 1) or low.startswith("r)", i + 1):
            return True
        i = low.find("(", i + 1)
    return False


@dataclass
class CommercialResult:
    label: str
    direct: float
    indirect: float
    independent: float
    reasons: list[Reason] = field(default_factory=list)
    # the trial-registry record names an industry sponsor: at least indirect, whatever decides
    sponsor_reason: Reason | None = None


def _sum(doc: Doc, prefix: str) -> tuple[float, list[tuple[float, object]]]:
    total = 0.0
    counts: dict[str, int] = {}
    used: list[tuple[float, object]] = []
    for h in doc.category(prefix):
        n = counts.get(h.text, 0)
        if n >= MAX_REPEAT:
            continue
        counts[h.text] = n + 1
        w = h.cue.weight * (1.0 if n == 0 else 0.5)
        total += w
        used.append((w, h))
    return total, used


def assess_commercial(
    doc: Doc,
    *,
    publisher: str | None = None,
    satire: bool = False,
    url: str | None = None,
    meta: dict | None = None,
) -> CommercialResult:
    direct, d_hits = _sum(doc, "commercial.direct.")
    indirect, i_hits = _sum(doc, "commercial.indirect.")
    independent, _ = _sum(doc, "commercial.independent.")
    reasons: list[Reason] = []
    extra: list[Reason] = []

    text = doc.text
    if "€" in text or "£" in text:
        prices = list(_PRICE.finditer(text))
    elif "$" in text:
        prices = list(_PRICE_DOLLAR.finditer(text))
    else:
        prices = []
    low = doc.lower
    if _has_currency_word(low):
        prices += list(_PRICE_WORDS.finditer(doc.lower))
    if prices:
        # A price sells only alongside an offer; quoted in a debunking piece it does not.
        w = min(len(prices), 3) * 1.0
        if independent >= 3:
            w *= 0.3
        direct += w
        m = prices[0]
        extra.append(Reason("commercial_interest", "direct", m.group(0).strip(), doc.sentence_of(m.start()).snippet(), w))
    marks = _MARKS.findall(text) if ("™" in text or "®" in text or _paren_mark(low)) else []
    if marks:
        w = min(len(marks), 3) * 0.5
        direct += w
        pos = _MARKS.search(doc.text).start()
        extra.append(Reason("commercial_interest", "direct", "trademark sign", doc.sentence_of(pos).snippet(), w))

    seller_site = 0.0
    for lab, pts, why in url_signals(url):
        if lab == "direct":
            direct += pts
            seller_site = URL_SELLER_INDIRECT  # a seller's site writing about what it may not sell
        else:
            indirect += pts
        extra.append(Reason("commercial_interest", lab, why, url[:200] if url else "", pts))

    if publisher in PUBLISHER_PRIOR:
        pd, pi = PUBLISHER_PRIOR[publisher]
        direct += pd
        indirect += pi
        lab = "direct" if pd else "indirect"
        extra.append(Reason("commercial_interest", lab, f"publisher: {publisher}", "", pd or pi))

    # Independent comment dilutes coverage built on an announcement.
    indirect_eff = indirect - 0.5 * independent
    if satire:
        label = "none"
    elif direct >= DIRECT_AT:
        label = "direct"
    elif indirect_eff + 0.5 * direct >= INDIRECT_AT:
        label = "indirect"
    elif seller_site:
        label = "indirect"  # a clinic's or shop's own site: promotional even when critical
    else:
        label = "none"

    sponsor = str((meta or {}).get("sponsor_class") or "").lower()
    sponsor_reason = None
    if sponsor == "industry" and not satire:
        # A trial run by the maker of what it tests: at least indirect interest.
        name = (meta or {}).get("sponsor")
        cue = "trial sponsor: industry" + (f" ({name})" if isinstance(name, str) and name else "")
        sponsor_reason = Reason("commercial_interest", "indirect", cue[:120], "", META_SPONSOR)
        extra.append(sponsor_reason)
        if label == "none":
            label = "indirect"

    if label != "none":
        pool = d_hits if label == "direct" else i_hits + d_hits
        for w, h in sorted(pool, key=lambda t: -t[0])[:4]:
            lab = "direct" if h.cue.category.startswith("commercial.direct") else "indirect"
            reasons.append(Reason("commercial_interest", lab, h.text, doc.sentence_of(h.start).snippet(), w))
        reasons.extend(r for r in extra if r.weight > 0)
    elif satire:
        reasons.append(Reason("commercial_interest", "none", "satire", doc.sentences[0].snippet(), 0.0))
    else:
        for h in doc.category("commercial.independent.")[:2]:
            reasons.append(Reason("commercial_interest", "none", h.text, doc.sentence_of(h.start).snippet(), h.cue.weight))
    return CommercialResult(label, direct, indirect, independent, reasons, sponsor_reason)
