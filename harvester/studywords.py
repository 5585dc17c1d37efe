"""What same-study grouping reads of an item: its identifiers and dates normalised, and what its words name.

Also the thresholds and word lists of studies.toml. Profiles of an item's title and text (compound and gene names, institutions, authors named in
author contexts, journals named as where it was published, years) and title similarity, for
``harvester.studies`` to decide whether two texts tell one study. Pure.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["SETTINGS_PATH", "Settings", "settings", "Item", "read_item", "as_list", "day", "norm_doi", "norm_pmid",
           "norm_nct", "norm_key", "Profile", "profile", "content_words", "jaccard", "norm_journal", "family"]

SETTINGS_PATH = Path(__file__).with_name("studies.toml")

@dataclass(frozen=True)
class Settings:
    max_works: int
    reference_title_similarity: float
    window_days: int
    min_entities: int
    min_title_similarity_with_entities: float
    min_title_similarity: float
    min_entities_with_close_title: int
    min_entities_any_title: int
    preclinical: frozenset[str]
    title_stopwords: frozenset[str]
    caps_stopwords: frozenset[str]
    compounds: tuple[str, ...]
    treatments: tuple[str, ...]
    institutions: tuple[str, ...]


@lru_cache(maxsize=4)
def settings(path: Path = SETTINGS_PATH) -> Settings:
    """The thresholds and word lists of ``studies.toml``."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    ref, window, te, words = data["reference"], data["window"], data["title_entities"], data["words"]
    return Settings(
        max_works=int(ref["max_works"]),
        reference_title_similarity=float(ref["min_title_similarity"]),
        window_days=int(window["days"]),
        min_entities=int(te["min_entities"]),
        min_title_similarity_with_entities=float(te["min_title_similarity_with_entities"]),
        min_title_similarity=float(te["min_title_similarity"]),
        min_entities_with_close_title=int(te["min_entities_with_close_title"]),
        min_entities_any_title=int(te["min_entities_any_title"]),
        preclinical=frozenset(data["gap"]["preclinical"]),
        title_stopwords=frozenset(w.lower() for w in words["title_stopwords"]),
        caps_stopwords=frozenset(w.upper() for w in words["caps_stopwords"]),
        compounds=tuple(sorted({w.lower() for w in words["compounds"]}, key=len, reverse=True)),
        treatments=tuple(sorted({w.lower() for w in words["treatments"]}, key=len, reverse=True)),
        institutions=tuple(sorted({w.lower() for w in words["institutions"]}, key=len, reverse=True)),
    )




@dataclass
class Item:
    id: str
    title: str
    text: str
    published: str | None
    day: date | None
    publisher: str | None
    doi: str | None
    pmid: str | None
    ncts: list[str]
    cites: list[str]
    evidence_stage: str | None
    claim_strength: str | None
    hype: str | None
    author: str | None
    journal: str | None           # a journal item's own journal (meta), when known
    raw: Mapping[str, Any]


def as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return []
        return decoded if isinstance(decoded, list) else []
    return []


def as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def norm_doi(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    value = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value)
    return value if re.match(r"^10\.\d{4,9}/\S+$", value) else None


def norm_pmid(value: Any) -> str | None:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return str(int(text)) if text.isdigit() and int(text) > 0 else None


def norm_nct(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().upper()
    return value if re.fullmatch(r"NCT\d{8}", value) else None


def norm_key(key: Any) -> str | None:
    """A work key in its one spelling ("doi:10.x/y", "pmid:123", "nct:NCT01234567"), or None."""
    if not isinstance(key, str) or ":" not in key:
        return None
    kind, _, value = key.partition(":")
    kind = kind.strip().lower()
    if kind == "doi":
        doi = norm_doi(value)
        return f"doi:{doi}" if doi else None
    if kind == "pmid":
        pmid = norm_pmid(value)
        return f"pmid:{pmid}" if pmid else None
    if kind == "nct":
        nct = norm_nct(value)
        return f"nct:{nct}" if nct else None
    return None


def read_item(raw: Mapping[str, Any]) -> Item | None:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id:
        return None
    ncts = [n for n in (norm_nct(v) for v in as_list(raw.get("nct_ids", raw.get("nct")))) if n]
    cites = [k for k in (norm_key(c) for c in as_list(raw.get("cites"))) if k]
    published = raw.get("published") if isinstance(raw.get("published"), str) else None
    meta = as_dict(raw.get("meta"))
    journal = raw.get("journal") if isinstance(raw.get("journal"), str) else meta.get("journal")

    def text_of(key: str) -> str:
        value = raw.get(key)
        return value if isinstance(value, str) else ""

    def code(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) and value else None

    return Item(
        id=item_id, title=text_of("title"), text=text_of("text") or text_of("summary"), published=published,
        day=day(published), publisher=code("publisher"), doi=norm_doi(raw.get("doi")),
        pmid=norm_pmid(raw.get("pmid")), ncts=list(dict.fromkeys(ncts)), cites=list(dict.fromkeys(cites)),
        evidence_stage=code("evidence_stage"), claim_strength=code("claim_strength"), hype=code("hype"),
        author=code("author"), journal=journal if isinstance(journal, str) and journal else None, raw=raw,
    )


_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Z])[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b")
_CAPS = re.compile(r"\b[A-Z]{3,}[0-9]*\b")
_INSTITUTION = re.compile(
    r"\b(?:University of (?:[A-Z][\w'-]+)(?: (?:[A-Z][\w'-]+|at|of))*(?<! at)(?<! of)"
    r"|(?:[A-Z][\w'-]+ ){1,3}(?:University|Institute|Hospital|Medical Center|Medical School|School of Medicine|College))\b"
)
_AUTHOR_PATTERNS = (
    re.compile(r"\b(?:Dr|Prof|Professor)\.?\s+(?:[A-Z][\w.'-]*\s+){0,2}?([A-Z][a-zA-Z'-]+)\b(?!\s+[A-Z][a-z])"),
    re.compile(r"\bled by\s+(?:(?:Dr|Prof|Professor)\.?\s+)?(?:[A-Z][\w.'-]*\s+){0,2}?([A-Z][a-zA-Z'-]+)\b(?!\s+[A-Z][a-z])"),
    re.compile(r"\b([A-Z][a-zA-Z'-]+)\s+(?:[A-Z]{1,3}\s+)?et al\b"),
    re.compile(r"\b(?:first|lead|senior|corresponding) author,?\s+(?:(?:Dr|Prof|Professor)\.?\s+)?"
               r"(?:[A-Z][\w.'-]*\s+){0,2}?([A-Z][a-zA-Z'-]+)\b(?!\s+[A-Z][a-z])"),
    re.compile(r"\b([A-Z][a-zA-Z'-]+) and (?:her|his|their) (?:colleagues|team|co-authors)\b"),
)
_NOT_NAMES = frozenset({"The", "This", "That", "University", "School", "Medicine", "Institute", "Hospital",
                        "Center", "Centre", "College", "Department", "And", "Of", "In", "At"})
_JOURNAL_MENTION = re.compile(
    r"\b(?i:published|appear(?:s|ed|ing)?|reported|described|presented|paper|study|article|report|analysis|trial)"
    r"\s+(?:online\s+)?(?:\w+\s+){0,2}?in\s+"
    r"(?i:the\s+)?(?i:journal\s+)?((?:[A-Z][\w&.-]*)(?:\s+(?:of|and|&|for|in|the|[A-Z][\w&.-]*))*)"
)
_TRAILING_CONNECTORS = re.compile(r"(?:\s+(?:of|and|&|for|in|the))+$")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


def content_words(text: str, stop: frozenset[str]) -> set[str]:
    words = set()
    for w in _WORD.findall(text.lower()):
        w = w.strip("'-")
        if len(w) < 2 or w in stop:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        words.add(w)
    return words


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def norm_journal(name: str | None) -> str:
    if not name:
        return ""
    name = name.lower().replace("&", " and ")
    name = re.sub(r"[^a-z0-9 ]+", " ", name)
    words = [w for w in name.split() if w != "the"]
    return " ".join(words)


def family(name: Any) -> str:
    """A family name in its comparison form: "Li J" / "Li, J." / "Li" -> "li"."""
    if not isinstance(name, str):
        return ""
    name = name.strip().split(",")[0].strip()
    parts = name.split()
    if len(parts) > 1 and re.fullmatch(r"[A-Z]{1,3}\.?", parts[-1]):
        parts = parts[:-1]
    return " ".join(parts).lower()


@dataclass
class Profile:
    words: set[str]                # title content words
    compounds: set[str]            # compound/gene names and investigational codes
    institutions: set[str]
    authors: set[str]              # family names named in author contexts
    treatments: set[str]           # common treatments (weak)
    journals: set[str]             # normalised journal names the text names
    years: set[int]

    @property
    def specific(self) -> set[str]:
        return ({f"c:{c}" for c in self.compounds} | {f"i:{i}" for i in self.institutions}
                | {f"a:{a}" for a in self.authors} | {f"j:{j}" for j in self.journals})


def _phrases(text_lower: str, phrases: Iterable[str]) -> set[str]:
    found = set()
    for phrase in phrases:
        if phrase in text_lower and re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text_lower):
            found.add(phrase)
    return found


def profile(title: str, text: str, cfg: Settings, *, authors: Iterable[str] = (), journal: str | None = None,
             year: int | None = None) -> Profile:
    whole = f"{title}\n{text}"
    lower = whole.lower()
    compounds = _phrases(lower, cfg.compounds)
    # "exosome" inside "exosomes", "cerium" inside "cerium oxide": keep the longest phrase only.
    compounds = {c for c in compounds if not any(c != o and c in o for o in compounds)}
    for m in _CODE.finditer(whole):
        token = m.group(0)
        if token.upper() not in cfg.caps_stopwords and not _YEAR.fullmatch(token) and len(token) >= 3:
            compounds.add(token.lower())
    for m in _CAPS.finditer(whole):
        token = m.group(0)
        if token.upper() not in cfg.caps_stopwords:
            compounds.add(token.lower())
    institutions = _phrases(lower, cfg.institutions)
    for m in _INSTITUTION.finditer(whole):
        institutions.add(re.sub(r"^the ", "", m.group(0).lower()))
    institutions = {i for i in institutions if not any(i != o and i in o for o in institutions)}
    named = set()
    for pattern in _AUTHOR_PATTERNS:
        for m in pattern.finditer(whole):
            if m.group(1) not in _NOT_NAMES:
                named.add(m.group(1).lower())
    named |= {a for a in (family(x) for x in authors) if a}
    journals = {norm_journal(_TRAILING_CONNECTORS.sub("", m.group(1).split(". ")[0].rstrip(".")))
                for m in _JOURNAL_MENTION.finditer(whole)}
    if journal:
        journals.add(norm_journal(journal))
    years = {int(y) for y in _YEAR.findall(whole)}
    if year:
        years.add(year)
    return Profile(
        words=content_words(title, cfg.title_stopwords), compounds=compounds, institutions=institutions,
        authors=named, treatments=_phrases(lower, cfg.treatments), journals={j for j in journals if j}, years=years,
    )


