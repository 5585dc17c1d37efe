"""Text preparation: normalise, split title and body into weighted sentences, locate cue hits."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .lexicon import Hit, Matcher

__all__ = ["Sentence", "Doc", "build_doc", "position_weight"]

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u00ad": "",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200b": "",
    }
)

# Sentence ends: ., ! or ? followed by space and a capital/digit/quote, or any line break
# (feeds and pages put headings, bullets and paragraphs on their own lines).
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9•\-])|\s*\n\s*")
_SPACE = re.compile(r"[ \t\r\f\v]+")
# Common abbreviations that end with a period but do not end a sentence.
_ABBREV = re.compile(r"(?:\b(?:dr|mr|mrs|ms|prof|vs|inc|corp|ltd|co|no|fig|et al|e\.g|i\.e|approx|u\.s|st|jr|sr)\.)$", re.I)

SNIPPET_CHARS = 200


@dataclass
class Sentence:
    index: int  # 0 is the title (when there is one)
    start: int  # offsets into Doc.lower
    end: int
    text: str  # original case, whitespace-normalised
    is_title: bool
    weight: float

    def snippet(self) -> str:
        t = self.text.strip()
        if len(t) <= SNIPPET_CHARS:
            return t
        cut = t[: SNIPPET_CHARS - 1]
        sp = cut.rfind(" ")
        if sp > SNIPPET_CHARS * 0.6:
            cut = cut[:sp]
        return cut + "…"


@dataclass
class Doc:
    title: str
    text: str  # title + "\n" + body, normalised
    lower: str
    sentences: list[Sentence]
    hits: list[Hit]
    _starts: list[int] = field(default_factory=list)
    by_sentence: dict[int, list[Hit]] = field(default_factory=dict)
    by_category: dict[str, list[Hit]] = field(default_factory=dict)

    def sentence_of(self, pos: int) -> Sentence:
        return self.sentences[max(0, bisect.bisect_right(self._starts, pos) - 1)]

    def cats_in(self, sent: Sentence, prefix: str) -> list[Hit]:
        return [h for h in self.by_sentence.get(sent.index, ()) if h.cue.category.startswith(prefix)]

    def has(self, sent: Sentence, prefix: str) -> bool:
        return any(h.cue.category.startswith(prefix) for h in self.by_sentence.get(sent.index, ()))

    def category(self, prefix: str) -> list[Hit]:
        out: list[Hit] = []
        for cat, hits in self.by_category.items():
            if cat.startswith(prefix):
                out.extend(hits)
        out.sort(key=lambda h: h.start)
        return out


def position_weight(body_index: int) -> float:
    """Weight of the n-th body sentence (0-based): the opening counts more than the rest."""
    if body_index < 3:
        return 1.5
    if body_index < 8:
        return 1.2
    if body_index < 25:
        return 1.0
    return 0.8


def normalise(s: str) -> str:
    return s.translate(_TRANSLATE)


def _split(body: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENT_END.finditer(body):
        end = m.start()
        if "\n" not in m.group(0) and _ABBREV.search(body, max(pos, end - 8), end):
            continue
        if end > pos:
            spans.append((pos, end))
        pos = m.end()
    if pos < len(body):
        spans.append((pos, len(body)))
    return spans


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """Drop a hit contained in a longer hit of the same category ("mice" inside "in mice")."""
    out: list[Hit] = []
    last_end: dict[str, int] = {}
    for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start), -h.cue.weight)):
        cat = h.cue.category if h.cue.category != "treatment" else "treatment:" + h.cue.value
        if last_end.get(cat, -1) >= h.end:
            continue
        last_end[cat] = max(last_end.get(cat, -1), h.end)
        out.append(h)
    return out


def build_doc(title: str, body: str, matcher: Matcher) -> Doc:
    title = _SPACE.sub(" ", normalise(title or "")).strip()
    body = normalise(body or "")
    body = _SPACE.sub(" ", body).strip()
    # Pages often repeat the title as the body's first line: drop the repeat.
    if title and body[: len(title) + 2].strip().lower().startswith(title.lower()):
        body = body[len(title):].lstrip(" \n:-")
    text = (title + "\n" + body) if title else body
    lower = text.lower()
    sentences: list[Sentence] = []
    offset = 0
    if title:
        sentences.append(Sentence(0, 0, len(title), title, True, 2.0))
        offset = len(title) + 1
    bi = 0
    for a, b in _split(body):
        seg = body[a:b]
        if not seg.strip(" -•*|>#"):
            continue
        sentences.append(
            Sentence(len(sentences), offset + a, offset + b, seg, False, position_weight(bi))
        )
        bi += 1
    if not sentences:
        sentences.append(Sentence(0, 0, len(text), text, False, 1.0))
    hits = _dedupe(matcher.find(lower))
    doc = Doc(title=title, text=text, lower=lower, sentences=sentences, hits=hits)
    doc._starts = [s.start for s in sentences]
    for h in hits:
        s = doc.sentence_of(h.start)
        doc.by_sentence.setdefault(s.index, []).append(h)
        doc.by_category.setdefault(h.cue.category, []).append(h)
    return doc
