"""The references an item makes: identifiers (DOI, PMID, PMCID, trial ids) and free-text citations found in its text, with what the text claims of each.

Pure: text in, ``Reference`` list out. The citation checker compares each ``Claimed`` with the
record the services hold, so this module reads, for every reference, the authors, journal,
year, title and study design its own line or sentence states, and nothing more.

Why it reads text line by line and sentence by sentence, with small hand-driven loops and no
broad regexes: reference lists are lines (numbered, bulleted, under a "References" heading),
running-text mentions live in one sentence, and an adversarial page must not stall the
harvester. Every regex here is linear (no nested unbounded repetition), the input is cut at
``[limits] max_chars`` and the output at ``max_references``.

Word lists (headings, design cues, journal-name cues, preprint prefixes) are data in
``references.toml``.

It is long because it is one reading: the identifier, list-line and mention parsers share the
unit splitter, the author and year patterns and the merge rules, and split apart they would
have to agree on all of them through a private interface.
"""

from __future__ import annotations

import datetime
import logging
import re
import tomllib
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from harvester.identifiers import DOI_CANDIDATE, normalize_doi

__all__ = ["Claimed", "Reference", "find_references", "journals_match"]

log = logging.getLogger(__name__)

KINDS = ("doi", "pmid", "pmcid", "nct", "isrctn", "eudract", "chictr", "actrn", "citation")
# One reference-list line describes one work: its best identifier stands for it.
_LINE_PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Claimed:
    """What the citing text says of the cited work (docs/citations.md)."""

    authors: tuple[str, ...] = ()
    journal: str | None = None
    year: int | None = None
    title: str | None = None
    design: str | None = None
    design_words: str | None = None

    def richness(self) -> int:
        """How many things the text says: the richer of two readings of one work is kept."""
        return sum(1 for v in (self.authors, self.journal, self.year, self.title, self.design) if v)


@dataclass(frozen=True)
class Reference:
    """One thing an item cites: an identifier or a free-text citation, where it was found and what is claimed of it."""

    kind: str
    value: str
    context: str
    claimed: Claimed
    preprint: bool = False
    listed: bool = False

    @property
    def work_key(self) -> str | None:
        """The ``works`` table key this reference resolves to; None for free text (its key is a query hash, the resolver's business)."""
        if self.kind == "citation":
            return None
        return f"{self.kind}:{self.value}"


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Lists:
    max_chars: int
    max_references: int
    max_list_line: int
    max_line: int
    context_chars: int
    value_chars: int
    headings: frozenset[str]
    inline_headings: frozenset[str]
    preprints: dict[str, re.Pattern[str]]
    design_order: tuple[str, ...]
    design: re.Pattern[str]  # one alternation, a named group per stage
    journal_cues: frozenset[str]
    journal_stops: frozenset[str]
    not_journal_last: frozenset[str]
    standalone_journals: frozenset[str]
    connectors: frozenset[str]
    no_split: frozenset[str]
    particles: frozenset[str]
    study_words: frozenset[str]


@cache
def _lists() -> _Lists:
    data = tomllib.loads(Path(__file__).with_name("references.toml").read_text(encoding="utf-8"))
    limits, design = data["limits"], data["design"]
    return _Lists(
        max_chars=int(limits["max_chars"]),
        max_references=int(limits["max_references"]),
        max_list_line=int(limits["max_list_line"]),
        max_line=int(limits["max_line"]),
        context_chars=int(limits["context_chars"]),
        value_chars=int(limits["value_chars"]),
        headings=frozenset(data["headings"]["words"]),
        inline_headings=frozenset(data["headings"]["inline"]),
        preprints={prefix: re.compile(rx, re.IGNORECASE) for prefix, rx in data["preprints"].items()},
        design_order=tuple(design["order"]),
        design=re.compile(
            "|".join(rf"\b(?P<{stage}>" + "|".join(design[stage]) + r")\b" for stage in design["order"]),
            re.IGNORECASE,
        ),
        journal_cues=frozenset(data["journal"]["cues"]),
        journal_stops=frozenset(data["journal"]["stops"]),
        not_journal_last=frozenset(data["journal"]["not_last"]),
        standalone_journals=frozenset(data["journal"]["standalone"]),
        connectors=frozenset(data["journal"]["connectors"]),
        no_split=frozenset(data["text"]["no_split"]),
        particles=frozenset(data["text"]["particles"]),
        study_words=frozenset(data["text"]["study_words"]),
    )


# ---------------------------------------------------------------------------- patterns

_WS = re.compile(r"\s+")
_YEAR = re.compile(r"(?<![\w$€£.,/-])(1[89]\d\d|20\d\d)(?![\w%]|[.,]\d)")
_LIST_MARK = re.compile(r"^\s*(?:\[\d{1,3}\]|\(\d{1,3}\)|\d{1,3}[.)](?!\d)|[-*•·▪●◦‣–—])\s*")
_HEADING_MARKS = re.compile(r"^[\s#*_>|]+|[\s#*_:|.]+$")
_INLINE_HEADING = re.compile(r"^\s*[#*_]*\s*([A-Za-z][A-Za-z ]{2,30}?)\s*[*_]*\s*:\s*(\S.*)$")
_INLINE_NUMBER = re.compile(r"(?:^|\s)(?:\[\d{1,3}\]|\d{1,3}\.)\s+(?=[A-Z])")
# Matches start only at a run's first mark, and runs are possessive: a 20,000-character "!!!!"
# was quadratic (each start re-read the run), 4 s a line.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"”’)\]]*+\s+")
_LAST_WORD = re.compile(r"(\S+)$")
# Vancouver volume/pages ("2019 Apr;18(2):512-520", "2017;6(10):1806", "12(3), 45–67", "2018;7:801")
_BIBLIO_NUMBERS = re.compile(
    r"(?:(?:1[89]|20)\d\d(?:\s+[A-Z][a-z]{2}(?:\s+\d{1,2})?)?\s*;\s*\d{1,4})"
    r"|(?:\b\d{1,4}\s*\(\s*[\w-]{1,12}\s*\)\s*[:,]\s*[eE]?\d{1,6})"
)
_YEAR_SEGMENT = re.compile(
    r"\(?\b((?:1[89]|20)\d\d)\)?(?:\s+[A-Z][a-z]{2}(?:\s+\d{1,2})?)?\s*(?:[;:]\s*\d|[;.]?\s*$|[.;,]\s+(?:doi|pmid|https?|epub)\b)",
    re.IGNORECASE,
)
_NAME_WORD = r"[^\W\d_][^\W\d_'’\-]*(?:[-'’][^\W\d_]+){0,3}"
_VANCOUVER_AUTHOR = re.compile(rf"({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}?)\s+([A-Z]{{1,4}}|[A-Z]\.(?:\s?-?[A-Z]\.){{0,3}})(?=[\s,.;]|$)")
_APA_AUTHOR = re.compile(rf"({_NAME_WORD}(?:[\s-]{_NAME_WORD}){{0,3}}?),\s+((?:[A-Z]\.\s?-?){{1,4}})")
_AUTHOR_SEP = re.compile(r"\s*(?:,\s*(?:&|and)\s+|,\s*|\band\s+|&\s*)")
_ET_AL = re.compile(r",?\s*et\.?\s+al\b\.?", re.IGNORECASE)
_APA_YEAR = re.compile(r"^\s*\((?:(1[89]\d\d|20\d\d)[a-z]?|n\.d\.)(?:,\s*[A-Za-z]+(?:\s+\d{1,2})?)?\)\.?\s*")
_QUOTED_TITLE = re.compile(r"\s*['‘\"“]([^'’\"”]{3,400})['’\"”]\s*[,.]?\s*")
_TITLE_END = re.compile(r"[.?!](?:\s+|$)")

_ET_AL_MENTION = re.compile(
    r"\b((?:(?:van|von|de|der|den|del|da|di|du|le|la)\s+){0,2}[A-Z][^\W\d_]*(?:[-'’][A-Z][^\W\d_]*)?)"
    r"(?:\s+[A-Z]{1,3})?,?\s+et\.?\s+al\b\.?"
)
_PUBLISHED_IN = re.compile(
    r"\b(?:published|reported|appeared|appearing|appears?|publishing|printed|described)\s+"
    r"(?:(?:online|recently|today|yesterday|(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:this|last)\s+(?:week|month|year))\s+)?in\s+"
    r"|\b(?:study|studies|paper|trial|review|analysis|research|article|report|letter|meta-analysis)\s+in\s+"
    r"|\bin\s+the\s+journal\s+",
    re.IGNORECASE,
)
_TITLED = re.compile(r"\b(?:titled|entitled|called)\s*[,:]?\s*[\"“‘']([^\"”’']{8,300})[\"”’']", re.IGNORECASE)
_FOOTNOTE = re.compile(r"(?<=[^\W\d_])\.?\d{1,3}$|(?<=\.)\d{1,3}$")
_CAPITALISED = re.compile(r"\b[^\W\d_]{4,}")
_JOURNAL_TOKEN = re.compile(r"[^\s,;:()\[\]\"“”]+")

_PMID = (
    re.compile(r"pubmed\.ncbi\.nlm\.nih\.gov/(\d{1,9})(?!\d)", re.IGNORECASE),
    re.compile(r"ncbi\.nlm\.nih\.gov/pubmed/(\d{1,9})(?!\d)", re.IGNORECASE),
    re.compile(r"europepmc\.org/(?:abstract|article)/MED/(\d{1,9})(?!\d)", re.IGNORECASE),
    re.compile(r"\bPMID\s*:?\s*(\d{1,9})(?![\d.-]\d)", re.IGNORECASE),
    re.compile(r"\bPubMed(?:\s+ID)?\s*:\s*(\d{1,9})(?![\d.-]\d)", re.IGNORECASE),
)
_PMCID = re.compile(r"\bPMC\s?(\d{4,9})(?![\d])", re.IGNORECASE)
_NCT = re.compile(r"\bNCT\s?(\d{8})(?!\d)", re.IGNORECASE)
_ISRCTN = re.compile(r"\bISRCTN\s?(\d{8})(?!\d)", re.IGNORECASE)
_EUDRACT = re.compile(r"\b((?:19|20)\d\d)-(\d{6})-(\d{2})(?![\d-])")
_EUDRACT_CUE = re.compile(r"eudra\s?ct|clinicaltrialsregister\.eu|eu\s?ctr", re.IGNORECASE)
_CHICTR = re.compile(r"\bChiCTR(?:-([A-Z]{2,5})-(\d{8})|(\d{10}))(?!\d)", re.IGNORECASE)
_ACTRN = re.compile(r"\bACTRN\s?(\d{14})(?!\d)", re.IGNORECASE)
# A bare "10.2019/20" is a date range, not a DOI; a DOI this short needs a "doi" cue before it.
_WORTH_READING = re.compile(r"\d|\bin\b|et\.? al", re.IGNORECASE)
_MAX_DOI = 300  # characters; registered DOIs are far shorter
_SHORT_DOI = re.compile(r"^10\.\d{4}/\d{1,4}$")
_DOI_CUE = re.compile(r"(?:doi\s*:?\s*|doi\.org/|dx\.doi\.org/)$", re.IGNORECASE)


# ---------------------------------------------------------------------------- entry point


def find_references(
    title: str | None,
    text: str | None,
    fulltext: str | None = None,
    *,
    own_ids: Iterable[str] = (),
) -> list[Reference]:
    """Every reference in the item's title, text and full text, in reading order.

    One reference per work: a reference-list line gives one (its DOI if it has one, else its
    best identifier, else the line as a free-text citation); identical identifiers are merged
    (the first occurrence's place, the richest claim); a running-text mention of the same
    journal and year (or first author and year) as a listed reference is left to the list
    entry, which takes the mention's design claim when it has none. ``own_ids`` are the item's
    own identifiers ("doi:10.x/y", "pmid:123"): they are returned like any other when the text
    names them, and a DOI the text spells with trailing junk after one of them takes its form.
    Bad input (None, binary junk, megabytes) gives a short list or an empty one, never an error.
    """
    lists = _lists()
    own_dois = tuple(
        v for k, _, v in (str(i).partition(":") for i in own_ids if i) if k.strip().lower() == "doi" and v
    )
    found: list[Reference] = []
    budget = lists.max_chars
    for field in (title, text, fulltext):
        if not field or not isinstance(field, str) or budget <= 0:
            continue
        chunk = field[:budget]
        budget -= len(chunk)
        for ref in _scan(chunk, lists, own_dois):
            found.append(ref)
            if len(found) >= lists.max_references * 4:  # duplicates merge below; stop the raw count too
                break
    return _dedupe(found, lists)[: lists.max_references]


# ---------------------------------------------------------------------------- units


def _scan(text: str, lists: _Lists, own_dois: tuple[str, ...]) -> Iterator[Reference]:
    """References of one field: list lines whole, other lines sentence by sentence."""
    for unit, listed in _units(text, lists):
        yield from _unit_references(unit, listed, lists, own_dois)


def _units(text: str, lists: _Lists) -> Iterator[tuple[str, bool]]:
    """(text, listed) units: reference-list lines, and the sentences of every other line."""
    in_list = False
    misses = 0
    for raw in text.splitlines():
        line = raw[: lists.max_line].strip()
        if not line:
            continue
        heading = _heading(line, lists)
        if heading is not None:
            in_list, misses = True, 0
            if heading:  # "References: 1. Smith J ... 2. Lee K ..." on one line
                parts = _split_inline_list(heading)
                if all(_citation_like(p, loose=True, lists=lists) for p in parts):
                    for part in parts:
                        yield part, True
                    continue
                yield from ((s, False) for s in _sentences(heading, lists))
            continue
        marked = bool(_LIST_MARK.match(line))
        body = _LIST_MARK.sub("", line, count=1) if marked else line
        if _citation_like(body, loose=in_list or marked, lists=lists):
            misses = 0
            yield body, True
            continue
        if in_list:
            misses += 1
            if misses >= 3 or (len(line) < 60 and not _YEAR.search(line)):
                in_list = False
        yield from ((s, False) for s in _sentences(line, lists))


def _heading(line: str, lists: _Lists) -> str | None:
    """None if ``line`` is not a reference-list heading; "" for a bare heading; the rest of the line after an inline one."""
    if len(line) <= 60:
        bare = _HEADING_MARKS.sub("", line).strip().lower()
        if bare in lists.headings:
            return ""
    m = _INLINE_HEADING.match(line[:400])
    if m and m.group(1).strip().lower() in lists.inline_headings:
        return line[m.start(2):]
    return None


def _split_inline_list(rest: str) -> list[str]:
    marks = [m.end() for m in _INLINE_NUMBER.finditer(rest)]
    if len(marks) < 2:
        return [rest.strip()]
    starts = [m.start() for m in _INLINE_NUMBER.finditer(rest)]
    return [rest[a:b].strip() for a, b in zip(marks, starts[1:] + [len(rest)], strict=True) if rest[a:b].strip()]


def _citation_like(line: str, *, loose: bool, lists: _Lists) -> bool:
    """Does ``line`` read as one bibliographic entry? ``loose`` inside a list or after a list mark."""
    if len(line) < 15 or len(line) > lists.max_list_line:
        return False
    has_id = _has_identifier(line)
    year = _YEAR.search(line)
    authors = bool(_authors_at_start(line, lists)[0])
    numbers = bool(_BIBLIO_NUMBERS.search(line))
    if loose:
        return has_id or bool(year and (authors or numbers))
    return bool(year and authors and (numbers or has_id))


def _has_identifier(text: str) -> bool:
    lowered = text.lower()
    return any(
        cue in lowered for cue in ("10.", "pmid", "pubmed", "pmc", "nct", "isrctn", "chictr", "actrn", "eudract")
    ) and bool(next(_identifiers(text, ()), None))


def _sentences(line: str, lists: _Lists) -> Iterator[str]:
    """The sentences of one line; a full stop after "al", an initial or a listed abbreviation does not end one."""
    start = 0
    for m in _SENTENCE_END.finditer(line):
        nxt = line[m.end() : m.end() + 1]
        if not nxt or not (nxt.isupper() or nxt in "\"“‘(["):
            continue
        if line[m.start()] == ".":
            word = _LAST_WORD.search(line, max(start, m.start() - 20), m.start())
            w = word.group(1).lower().lstrip("(\"“") if word else ""
            if w in lists.no_split or (len(w) == 1 and w.isalpha()):
                continue
        yield line[start : m.end()].strip()
        start = m.end()
    if start < len(line):
        yield line[start:].strip()


# ---------------------------------------------------------------------------- one unit


def _unit_references(unit: str, listed: bool, lists: _Lists, own_dois: tuple[str, ...]) -> Iterator[Reference]:
    if not listed and not _WORTH_READING.search(unit):
        return  # no digit, no "in", no "et al": no identifier, year or journal mention can be here
    context = _clip(unit, lists.context_chars)
    ids = list(_identifiers(unit, own_dois))
    if listed:
        claimed = _claimed_from_line(unit, lists)
        if ids:
            kind, value, preprint = min(ids, key=lambda i: _LINE_PRIORITY[i[0]])
            yield Reference(kind, value, context, claimed, preprint=preprint, listed=True)
        else:
            value = _clip(_strip_links(unit), lists.value_chars)
            yield Reference("citation", value, context, claimed, listed=True)
        return
    mentions = _mentions(unit, lists)
    if not ids and not mentions:
        return
    design = _design(unit, lists)
    if ids:
        claimed = mentions[0][1] if len(mentions) == 1 else Claimed(year=_only_year(unit))
        claimed = replace(claimed, design=design[0], design_words=design[1])
        for kind, value, preprint in ids:
            yield Reference(kind, value, context, claimed, preprint=preprint)
        return
    for written, claimed in mentions:
        claimed = replace(claimed, design=design[0], design_words=design[1])
        yield Reference("citation", _clip(written, lists.value_chars), context, claimed)


def _clip(text: str, limit: int) -> str:
    text = _WS.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _strip_links(line: str) -> str:
    return re.sub(r"\s*(?:Available (?:at|from):?\s*)?https?://\S+", "", line).strip() or line


# ---------------------------------------------------------------------------- identifiers


def _identifiers(text: str, own_dois: tuple[str, ...]) -> Iterator[tuple[str, str, bool]]:
    """(kind, normalised value, preprint) for every identifier in ``text``, in text order per kind."""
    lowered = text.lower()
    if "10." in text:
        yield from _dois(text, own_dois)
    if "pubmed" in lowered or "pmid" in lowered or "europepmc" in lowered:
        for pattern in _PMID:
            for m in pattern.finditer(text):
                if int(m.group(1)) > 0:
                    yield "pmid", str(int(m.group(1))), False
    if "pmc" in lowered:
        for m in _PMCID.finditer(text):
            if int(m.group(1)) > 0:
                yield "pmcid", f"PMC{int(m.group(1))}", False
    if "nct" in lowered:
        for m in _NCT.finditer(text):
            yield "nct", f"NCT{m.group(1)}", False
    if "isrctn" in lowered:
        for m in _ISRCTN.finditer(text):
            yield "isrctn", f"ISRCTN{m.group(1)}", False
    if "chictr" in lowered:
        for m in _CHICTR.finditer(text):
            value = f"ChiCTR-{m.group(1).upper()}-{m.group(2)}" if m.group(1) else f"ChiCTR{m.group(3)}"
            yield "chictr", value, False
    if "actrn" in lowered:
        for m in _ACTRN.finditer(text):
            yield "actrn", f"ACTRN{m.group(1)}", False
    if _EUDRACT_CUE.search(text):
        for m in _EUDRACT.finditer(text):
            # The number must follow its registry's name (or URL) closely: "2004-001234-12" alone may be anything.
            if _EUDRACT_CUE.search(text, max(0, m.start() - 60), m.start()):
                yield "eudract", m.group(0), False


def _dois(text: str, own_dois: tuple[str, ...]) -> Iterator[tuple[str, str, bool]]:
    if "%2" in text:
        text = re.sub(r"%2[fF]", "/", text)
    start = text.find("10.")
    while start != -1:
        m = DOI_CANDIDATE.match(text, start)
        if not m:
            start = text.find("10.", start + 1)
            continue
        candidate = m.group(0)
        if len(candidate) > _MAX_DOI:  # junk: trimming a 20,000-character "/full/full/..." would be quadratic
            start = text.find("10.", m.end())
            continue
        if "%" in candidate:
            candidate = urllib.parse.unquote(candidate)
        doi = normalize_doi(candidate)
        if doi and _SHORT_DOI.match(doi) and not _DOI_CUE.search(text, max(0, start - 12), start):
            doi = None
        if doi:
            doi = _own_form(doi, own_dois)
            yield "doi", doi, _is_preprint(doi)
        start = text.find("10.", m.end())


def _own_form(doi: str, own_dois: tuple[str, ...]) -> str:
    """The item's own DOI when ``doi`` is it with junk glued on ("10.x/y.Epub"), so both are one work."""
    for own in own_dois:
        own = own.strip().lower()
        if own and doi != own and doi.startswith(own) and doi[len(own)] in "./)];,":
            return own
    return doi


def _is_preprint(doi: str) -> bool:
    prefix, _, suffix = doi.partition("/")
    pattern = _lists().preprints.get(prefix)
    return pattern is not None and bool(pattern.search(suffix))


# ---------------------------------------------------------------------------- reference-list lines


def _claimed_from_line(line: str, lists: _Lists) -> Claimed:
    """Authors, journal, year and title of one Vancouver/NLM, APA or looser reference-list line."""
    body = _strip_ids(line)
    authors, rest = _authors_at_start(body, lists)
    title = journal = None
    year: int | None = None
    apa = _APA_YEAR.match(rest) if authors else None
    quoted = _QUOTED_TITLE.match(rest[apa.end():]) if apa else None
    if apa and quoted:  # Harvard: Smith, J. and Lee, K. (2020) 'Title', Journal, 12(3), pp. 45-67.
        year = int(apa.group(1)) if apa.group(1) else None
        title = quoted.group(1)
        journal = re.split(r",\s*\d|\.\s|\.$|,\s*(?:vol|pp)\b|,", rest[apa.end() + quoted.end():], maxsplit=1)[0]
    elif apa:  # Smith, J., & Lee, K. (2020). Title. Journal, 12(3), 45-67.
        year = int(apa.group(1)) if apa.group(1) else None
        rest = rest[apa.end():]
        end = _TITLE_END.search(rest)
        if end:
            title, after = rest[: end.start() + 1], rest[end.end():]
            journal = re.split(r",\s*\d|\.\s|\.$|,\s*(?:vol|pp)\b", after, maxsplit=1)[0]
    else:  # Krasnopolsky E, Paul T, et al. Title. J Cosmet Dermatol. 2019 Apr;18(2):512-520.
        seg = _YEAR_SEGMENT.search(rest)
        if seg:
            year = int(seg.group(1))
            title, journal = _title_and_journal(rest[: seg.start()])
        else:
            end = _TITLE_END.search(rest)
            title = rest[: end.start() + 1] if end else None
    if year is None:
        year = _only_year(body)
    design = _design(line, lists)
    return Claimed(
        authors=authors,
        journal=_tidy(journal, 200),
        year=year,
        title=_tidy(title, 400),
        design=design[0],
        design_words=design[1],
    )


def _strip_ids(line: str) -> str:
    """The line without its trailing identifiers and links (they would read as the journal)."""
    cut = re.search(
        r"(?:[.;,]\s*|\s+)(?:doi\s*:|https?://|www\.|pmid\s*:|pmcid\s*:|pmc\d|epub\b|available (?:at|from))",
        line,
        re.IGNORECASE,
    )
    return line[: cut.start()].rstrip() + "." if cut and cut.start() > 10 else line


def _title_and_journal(text: str) -> tuple[str | None, str | None]:
    """Split "Title. Journal Abbrev" at the last sentence end; "J. Invest. Dermatol." stays whole."""
    text = text.strip().rstrip(".,;: ")
    segments = re.split(r"(?<=[.?!])\s+", text)
    if len(segments) == 1:
        return None, segments[0] or None
    journal = [segments.pop()]
    while len(segments) > 1 and " " not in segments[-1] and len(segments[-1]) <= 12 and segments[-1][:1].isupper():
        journal.insert(0, segments.pop())
    return " ".join(segments) or None, " ".join(journal) or None


def _tidy(text: str | None, limit: int) -> str | None:
    if not text:
        return None
    text = _WS.sub(" ", text).strip().strip(",;: ")
    text = text[:-1] if text.endswith(".") else text
    text = text.strip()
    return text[:limit] if len(text) >= 2 else None


def _authors_at_start(line: str, lists: _Lists) -> tuple[tuple[str, ...], str]:
    """Family names of the author list that opens ``line`` (Vancouver "Smith JA, Lee K, et al." or
    APA "Smith, J. A., & Lee, K."), and the rest of the line; ((), line) when it opens otherwise."""
    for pattern in (_APA_AUTHOR, _VANCOUVER_AUTHOR):
        names: list[str] = []
        pos = 0
        for _ in range(60):
            m = pattern.match(line, pos)
            if not m or not _family_ok(m.group(1), lists):
                break
            names.append(m.group(1).strip())
            pos = m.end()
            etal = _ET_AL.match(line, pos)
            if etal:
                pos = etal.end()
                break
            sep = _AUTHOR_SEP.match(line, pos)
            if not sep or sep.end() == pos:
                break
            pos = sep.end()
        if not names:
            continue
        # The list must end where the title starts: a full stop (or APA's "(2020)") and a space.
        tail = line[pos:]
        stop = re.match(r"\s*[.:]?\s+(?=\S)|\s*(?=\()", tail) if pattern is _APA_AUTHOR else re.match(r"\.?\s*[.:]\s*(?=\S)|\.\s*$|\s*(?=\((?:1[89]|20)\d\d)", tail)
        if pattern is _VANCOUVER_AUTHOR and not stop and line[pos - 1 : pos] == ".":
            stop = re.match(r"\s+(?=\S)", tail)
        if stop is None:
            continue
        if pattern is _APA_AUTHOR and not _APA_YEAR.match(tail[stop.end():] if not tail.lstrip().startswith("(") else tail):
            continue
        rest = tail[stop.end():] if pattern is _VANCOUVER_AUTHOR else tail.lstrip()
        return tuple(names), rest
    return (), line


def _family_ok(name: str, lists: _Lists) -> bool:
    words = name.split()
    if not words or len(name) > 60:
        return False
    last = words[-1]
    if not last[:1].isupper():
        return False
    return all(w[:1].isupper() or w.lower() in lists.particles for w in words)


# ---------------------------------------------------------------------------- running text


def _mentions(sentence: str, lists: _Lists) -> list[tuple[str, Claimed]]:
    """Citations named in one running-text sentence: (words as written, claim).

    A mention needs a journal ("published in the Journal of ...", "Stem Cells Transl Med. 2018")
    or a first author with a year ("Li et al. (2019)"); "a 2019 study" alone is too vague to look up.
    """
    if len(sentence) > 2000:
        sentence = sentence[:2000]
    hits: list[tuple[int, int, str | None, str | None]] = []  # start, end, author, journal
    for m in _ET_AL_MENTION.finditer(sentence) if "al" in sentence else ():
        family = m.group(1)
        if not _family_ok(family, lists) or family.lower() in lists.journal_stops:
            continue
        journal, end = _journal_after(sentence, m.end(), lists, abbreviated=True)
        hits.append((m.start(), max(m.end(), end), family, journal))
    long_words = _CAPITALISED.findall(sentence[:300])
    title_case = len(long_words) >= 4 and sum(w[0].isupper() for w in long_words) >= 0.7 * len(long_words)
    for m in _PUBLISHED_IN.finditer(sentence):
        pos = m.end()
        if title_case and not m.group(0).lower().startswith(("published", "reported", "appear", "print", "describ")):
            continue  # "Study in Real Clinical Practice": in a headline, "study in" is not enough
        after = sentence[pos:]
        skip = re.match(r"(?:[Tt]he\s+)?(?:(?:journal|magazine)\s+)?", after)  # "the journal Cells", not "the Journal of"
        explicit = "journal" in (m.group(0) + (skip.group(0) if skip else "")).lower()
        journal, end = _journal_after(
            sentence, pos + (skip.end() if skip else 0), lists, explicit=explicit, title_case=title_case
        )
        if not journal:
            continue
        if any(a <= pos <= b + 25 for a, b, _, _ in hits):  # "Li et al. (2019) in Int J Mol Sci": one mention
            hits = [(a, max(b, end), au, j or journal) if a <= pos <= b + 25 else (a, b, au, j) for a, b, au, j in hits]
            continue
        hits.append((_mention_start(sentence, m.start(), lists), end, None, journal))
    out: list[tuple[str, Claimed]] = []
    titled = _TITLED.search(sentence)
    for start, end, author, journal in sorted(hits):
        if not journal and not author:
            continue
        year = _year_near(sentence, start, end)
        if not journal and year is None:
            continue
        written = sentence[start:end].strip(" ,;.")
        if year is not None and str(year) not in written:
            at = _year_pos(sentence, year, start)
            written = _WS.sub(" ", sentence[min(start, at) : max(end, at + 4)]).strip(" ,;.")
        out.append((
            written,
            Claimed(
                authors=(author,) if author else (),
                journal=journal,
                year=year,
                title=titled.group(1).strip(" ,;.") if titled and len(hits) == 1 else None,
            ),
        ))
    return out


def _mention_start(sentence: str, pos: int, lists: _Lists) -> int:
    """Back from "published in" to the study word that opens the mention ("A 2019 study published in")."""
    window_start = max(0, pos - 60)
    best = pos
    for m in re.finditer(r"\b[\w-]+\b", sentence[window_start:pos]):
        if m.group(0).lower() in lists.study_words or _YEAR.fullmatch(m.group(0)):
            best = min(best, window_start + m.start())
    return best


def _journal_after(
    sentence: str, pos: int, lists: _Lists, *, abbreviated: bool = False, explicit: bool = False, title_case: bool = False
) -> tuple[str | None, int]:
    """The journal name that starts at ``pos`` (capitalised words and connectors), and where it ends.

    Accepted only when a word of it is a journal cue ("Journal", "Dermatol", "JAMA") or the text
    said "the journal": "published in China" is no citation. ``abbreviated`` (after "et al.")
    takes the NLM form that ends in a full stop and a year ("Stem Cells Transl Med. 2018").
    """
    if abbreviated:
        # "Li et al. (2019) in ...", and "Smith et al. (J Cosmet Dermatol, 2020)": the journal may open a bracket
        m = re.match(r"[,.]?\s*(?:\((?:1[89]|20)\d\d\)\s*)?(?:\((?=[A-Z]))?(?:in\s+(?:the\s+)?)?", sentence[pos:])
        pos += m.end() if m else 0
    words: list[tuple[str, int]] = []  # (word, end)
    prev_end = pos
    for i, tok in enumerate(_JOURNAL_TOKEN.finditer(sentence, pos)):
        if i >= 14:
            break
        gap = sentence[prev_end : tok.start()]
        if gap.strip() or (words and not gap) or "\n" in gap:  # punctuation between words ends the name
            break
        word = tok.group(0)
        footnote = _FOOTNOTE.search(word)  # "Dermatology.1": the name ends at a footnote mark
        if footnote:
            word = word[: footnote.start()]
        bare = word.rstrip(".")
        lower = bare.lower()
        if not bare or _YEAR.fullmatch(bare) or lower in lists.journal_stops:
            break
        if lower in lists.connectors:
            if not words:
                break
        elif not (bare[0].isupper() or lower in ("elife", "mbio", "npj", "iscience")):
            break
        words.append((word, tok.start() + len(word)))
        prev_end = tok.end()
        if footnote or (word.endswith(".") and not abbreviated and len(bare) > 5):
            break
    if title_case:  # "Study in Nature Finds Gray Hair": a headline's capitals run on past the name
        while words and words[-1][0].rstrip(".").lower() not in lists.journal_cues:
            words.pop()
    while words and words[-1][0].rstrip(".").lower() in lists.connectors:
        words.pop()
    if not words:
        return None, pos
    lowered = [w.rstrip(".").lower() for w, _ in words]
    cue = any(w in lists.journal_cues for w in lowered)
    if not cue and (abbreviated or not explicit):
        return None, pos
    if lowered[-1] in lists.not_journal_last:  # "Dove Medical Press", "Harvard Medical School"
        return None, pos
    if len(lowered) == 1 and not explicit and lowered[0] not in lists.standalone_journals:
        return None, pos  # "an article in Journal": one generic word names no journal
    return " ".join(w for w, _ in words).rstrip("."), words[-1][1]


def _year_near(sentence: str, start: int, end: int) -> int | None:
    """The year closest to the mention's span, within 60 characters of it."""
    best: tuple[int, int] | None = None
    for m in _YEAR.finditer(sentence):
        year = int(m.group(1))
        if year > datetime.date.today().year + 1:
            continue
        dist = 0 if start <= m.start() < end else min(abs(m.start() - end), abs(start - m.end()))
        if dist <= 60 and (best is None or dist < best[0]):
            best = (dist, year)
    return best[1] if best else None


def _year_pos(sentence: str, year: int, start: int) -> int:
    """Where the mention's year is written: the last time before the mention, else the first after."""
    before = sentence.rfind(str(year), 0, start)
    return before if before != -1 else sentence.find(str(year), start)


def _only_year(text: str) -> int | None:
    years = {int(m.group(1)) for m in _YEAR.finditer(text[:2000])}
    years = {y for y in years if y <= datetime.date.today().year + 1}
    return years.pop() if len(years) == 1 else None


def _design(text: str, lists: _Lists) -> tuple[str | None, str | None]:
    """The strongest study design the text claims, and its words ("systematic review and meta-analysis")."""
    best: tuple[int, str, str] | None = None  # (rank, stage, words): one pass over the text, not one per stage
    for m in lists.design.finditer(text[:3000]):
        stage = m.lastgroup
        assert stage is not None
        rank = lists.design_order.index(stage)
        if best is None or rank < best[0]:
            best = (rank, stage, m.group(0))
            if rank == 0:
                break
    return (best[1], _WS.sub(" ", best[2])) if best else (None, None)


# ---------------------------------------------------------------------------- merging


def journals_match(a: str | None, b: str | None) -> bool:
    """Whether two spellings name one journal: "Journal of Cosmetic Dermatology" and "J Cosmet Dermatol",
    "British Journal of Dermatology" and "Br J Dermatol" (each abbreviated word's letters in order, first letter equal)."""
    if not a or not b:
        return False
    wa, wb = _journal_words(a), _journal_words(b)
    if not wa or len(wa) != len(wb):
        return False
    return all(_abbreviates(x, y) or _abbreviates(y, x) for x, y in zip(wa, wb, strict=True))


def _journal_words(name: str) -> list[str]:
    words = re.findall(r"[^\W_]+|&", name.lower())
    return [w for w in words if w not in ("of", "the", "and", "&", "for", "in", "on", "de")]


def _abbreviates(short: str, full: str) -> bool:
    if short == full:
        return True
    if not short or short[0] != full[0] or len(short) > len(full):
        return False
    it = iter(full)
    return all(ch in it for ch in short)


def _dedupe(refs: list[Reference], lists: _Lists) -> list[Reference]:
    """One reference per work; see :func:`find_references` for the rules."""
    by_key: dict[str, int] = {}
    out: list[Reference | None] = []
    for ref in refs:
        key = ref.work_key or "citation:" + re.sub(r"[^a-z0-9]+", "", ref.value.lower())
        if key in by_key:
            i = by_key[key]
            kept = out[i]
            assert kept is not None
            if ref.claimed.richness() > kept.claimed.richness():
                out[i] = replace(kept, claimed=ref.claimed, context=ref.context, listed=kept.listed or ref.listed)
            elif ref.listed and not kept.listed:
                out[i] = replace(kept, listed=True)
            continue
        by_key[key] = len(out)
        out.append(ref)
    listed = [i for i, r in enumerate(out) if r is not None and r.listed]
    seen_mentions: list[Claimed] = []
    for i, ref in enumerate(out):
        if ref is None or ref.listed or ref.kind != "citation":
            continue
        target = next((j for j in listed if _same_work(out[j].claimed, ref.claimed)), None)  # type: ignore[union-attr]
        if target is not None:
            listed_ref = out[target]
            assert listed_ref is not None
            if ref.claimed.design and not listed_ref.claimed.design:
                out[target] = replace(
                    listed_ref,
                    claimed=replace(listed_ref.claimed, design=ref.claimed.design, design_words=ref.claimed.design_words),
                )
            out[i] = None
        elif any(_same_work(c, ref.claimed) for c in seen_mentions):
            out[i] = None  # the same mention again (the full text repeats the summary)
        else:
            seen_mentions.append(ref.claimed)
    return [r for r in out if r is not None]


def _same_work(listed: Claimed, mention: Claimed) -> bool:
    """A running-text mention names a listed work: same year and the same journal or first author."""
    if listed.year is None or mention.year != listed.year:
        return False
    if mention.journal and listed.journal and journals_match(mention.journal, listed.journal):
        return True
    if mention.authors and listed.authors:
        return mention.authors[0].lower() == listed.authors[0].lower() and not (
            mention.journal and listed.journal and not journals_match(mention.journal, listed.journal)
        )
    return False
