"""Text preparation: normalise, split title and body into weighted sentences, locate cue hits."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain
from operator import methodcaller

from .lexicon import CATEGORIES, INDEXED_PREFIXES, Hit, Matcher

__all__ = ["Sentence", "Sentences", "Doc", "build_doc", "position_weight"]

# Typographic characters mapped to plain ones before matching ("" deletes).
_REPLACE = (
    ("\u2018", "'"), ("\u2019", "'"), ("\u201b", "'"), ("\u2032", "'"),
    ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u00ab", '"'), ("\u00bb", '"'),
    ("\u2010", "-"), ("\u2011", "-"), ("\u2012", "-"), ("\u00ad", ""),
    ("\u00a0", " "), ("\u202f", " "), ("\u2009", " "), ("\u200b", ""),
)

# Sentence ends: ., ! or ? followed by space and a capital, digit or quote; or a line
# break (headings, bullets and paragraphs end there). Group 1 ends where the sentence does.
# One pattern per end character: a pattern that starts with a literal is found with a fast
# search, while one that starts with a character class ("[.!?\n]...") is tried at every
# character, which was a third of the cost of splitting. Their matches never overlap (none
# consumes another's first character), so merged by position they are exactly what the one
# pattern "[.!?\n](?:(?<=[.!?])<_AFTER_STOP>|(?<=\n)\s*)" would find.
_AFTER_STOP = r"([\"')\]]*)[ \t]+(?=[\"'(\[]?[A-Z0-9•\-\u00c0-\u00de\u0130\u0391-\u03a9\u0410-\u042f])"
_SENT_END_DOT = re.compile(r"\." + _AFTER_STOP)
_SENT_END_OTHER = (
    ("\n", re.compile(r"\n\s*")),
    ("!", re.compile(r"!" + _AFTER_STOP)),
    ("?", re.compile(r"\?" + _AFTER_STOP)),
)
_match_start = methodcaller("start")
# Common abbreviations that end with a period but do not end a sentence.
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof vs inc corp ltd co no fig al e.g i.e approx u.s st jr sr "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_SPACE = re.compile(r"[ \t\r\f\v]{2,}|[\t\r\f\v]")
SNIPPET_CHARS = 200
# Where a page's own text ends and its references, comments or author box begin.
_TAIL_MARK = re.compile(
    r"(?:references|bibliography|sources|citations|works cited|further reading|comments?|"
    r"\d+ (?:thoughts|comments|responses|replies) on|leave a (?:reply|comment)|about the author|"
    r"related (?:posts|articles|stories|reading)|you may also like|share this)\b"
)
TAIL_WEIGHT = 0.3
_LAST = (None,)


@dataclass(slots=True)
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


class Sentences:
    """The document's sentences, built on first access (most sentences carry no cue)."""

    __slots__ = ("_text", "_spans", "_titled", "_made")

    def __init__(self, text: str, spans: list[tuple[int, int, float]], titled: bool) -> None:
        self._text = text
        self._spans = spans
        self._titled = titled
        self._made: dict[int, Sentence] = {}

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: int) -> Sentence:
        s = self._made.get(index)
        if s is None:
            if index < 0:
                index += len(self._spans)
            start, end, weight = self._spans[index]
            s = Sentence(index, start, end, self._text[start:end], self._titled and index == 0, weight)
            self._made[index] = s
        return s

    def __iter__(self):
        return (self[i] for i in range(len(self._spans)))


@dataclass
class Doc:
    title: str
    text: str  # title + "\n" + body, normalised
    lower: str
    sentences: Sentences
    hits: list[Hit]
    _starts: list[int] = field(default_factory=list)
    by_sentence: dict[int, list[Hit]] = field(default_factory=dict)
    # by dot-prefix of the category: INDEXED_PREFIXES when built, others as asked for
    by_category: dict[str, list[Hit]] = field(default_factory=dict)
    _pos2sent: dict[int, Sentence] = field(default_factory=dict)  # hit start -> its sentence
    _sent_cache: dict[tuple[int, str], list[Hit]] = field(default_factory=dict)
    _sent_cats: dict[int, set[str]] = field(default_factory=dict)

    def sentence_of(self, pos: int) -> Sentence:
        sent = self._pos2sent.get(pos)
        if sent is None:
            sent = self.sentences[max(0, bisect.bisect_right(self._starts, pos) - 1)]
        return sent

    def cats_in(self, sent: Sentence, prefix: str) -> list[Hit]:
        key = (sent.index, prefix)
        out = self._sent_cache.get(key)
        if out is None:
            out = [h for h in self.by_sentence.get(sent.index, ()) if h.cue.category.startswith(prefix)]
            self._sent_cache[key] = out
        return out

    def has(self, sent: Sentence, prefix: str) -> bool:
        return bool(self.cats_in(sent, prefix))

    def categories_at(self, index: int) -> set[str]:
        """The categories of the cues found in sentence `index` (do not modify)."""
        return self._sent_cats.get(index, _NO_CATS)

    def category(self, prefix: str) -> list[Hit]:
        """Hits whose category is `prefix` or starts with it at a dot ("hype.claim."), in text order."""
        out = self.by_category.get(prefix)
        if out is None:
            if prefix in INDEXED_PREFIXES or prefix in CATEGORIES:  # filed as the document was built: there are none
                return _EMPTY
            out = self.by_category[prefix] = [h for h in self.hits if prefix in h[0].prefixes] or _EMPTY
        return out


_EMPTY: list[Hit] = []
_NO_CATS: frozenset[str] = frozenset()


def position_weight(body_index: int) -> float:
    """Weight of the n-th body sentence (0-based): the opening counts more than the rest."""
    if body_index < 3:
        return 1.5
    if body_index < 8:
        return 1.2
    if body_index < 25:
        return 1.0
    return 0.8


_POSITION_WEIGHTS = tuple(position_weight(i) for i in range(25))


def normalise(s: str) -> str:
    """Straighten quotes and hyphens, drop soft hyphens and zero-width spaces; collapse
    runs of spaces and tabs (line breaks are kept: they end sentences)."""
    if not s.isascii():
        for old, new in _REPLACE:
            if old in s:
                s = s.replace(old, new)
    if "  " in s or "\t" in s or "\r" in s or "\f" in s or "\v" in s:
        s = _SPACE.sub(" ", s)
    return s


def _sentence_ends(body: str):
    """The matches of the sentence-end patterns in `body`, in text order."""
    found = [_SENT_END_DOT.finditer(body)]
    for char, pattern in _SENT_END_OTHER:
        if char in body:
            found.append(pattern.finditer(body))
    if len(found) == 1:
        return found[0]
    ends = [m for it in found for m in it]
    ends.sort(key=_match_start)
    return ends


def _weighted_sentences(body: str, offset: int, spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Split `body` into sentences and append (start + offset, end + offset, weight) to
    `spans`. One loop both splits and weighs (a separate weighting loop walked every
    sentence again). Sentences under 80 characters are checked for being bare bullets
    (dropped) and for the mark where a page's own text ends (references, comments:
    TAIL_WEIGHT from there on)."""
    append = spans.append
    pos = 0
    bi = 0
    tail = 1.0
    weights = _POSITION_WEIGHTS
    abbreviations = _ABBREVIATIONS
    tail_mark = _TAIL_MARK.match
    n = len(body)
    for m in chain(_sentence_ends(body), _LAST):  # (None: the text's end)
        if m is None:
            if pos >= n:
                break
            end = nxt = n
        else:
            start = m.start()
            c = body[start]
            if c == "\n":
                end = start - 1 if start and body[start - 1] == " " else start
            else:
                if c == ".":
                    lo = start - 6 if start - 6 > pos else pos
                    sp = body.rfind(" ", lo, start)
                    if body[sp + 1 if sp >= 0 else lo : start].lower() in abbreviations:
                        continue
                end = m.end(1)
            nxt = m.end()
            if end <= pos:
                pos = nxt
                continue
        if end - pos < 80:
            seg = body[pos:end]
            if not seg.strip(" -•*|>#"):
                pos = nxt
                continue
            if tail == 1.0 and tail_mark(seg.lower().lstrip(" -•*#")):
                tail = TAIL_WEIGHT  # references, comments, author box: not the item's own voice
        append((offset + pos, offset + end, (weights[bi] if bi < 25 else 0.8) * tail))
        bi += 1
        pos = nxt
    return spans


def build_doc(title: str, body: str, matcher: Matcher) -> Doc:
    """Normalise, split into weighted sentences (title first) and find every cue."""
    title = normalise(title or "").strip()
    body = normalise(body or "").strip()
    # Pages often repeat the title as the body's first line: drop the repeat.
    if title and body[: len(title) + 2].strip().lower().startswith(title.lower()):
        body = body[len(title):].lstrip(" \n:-")
    text = (title + "\n" + body) if title else body
    lower = text.lower()
    if len(lower) != len(text):  # a few characters lengthen when lower-cased ("İ"): keep offsets aligned
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    spans: list[tuple[int, int, float]] = []
    offset = 0
    if title:
        spans.append((0, len(title), 2.0))
        offset = len(title) + 1
    _weighted_sentences(body, offset, spans)
    if not spans:
        spans.append((0, len(text), 1.0))
    sentences = Sentences(text, spans, bool(title))
    hits = matcher.find(lower)
    doc = Doc(title=title, text=text, lower=lower, sentences=sentences, hits=hits)
    doc._starts = starts = [sp[0] for sp in spans]
    by_sentence: defaultdict[int, list[Hit]] = defaultdict(list)
    by_category: defaultdict[str, list[Hit]] = defaultdict(list)
    sent_cats: defaultdict[int, set[str]] = defaultdict(set)
    pos2sent = doc._pos2sent
    si, last = 0, len(starts) - 1
    nxt = starts[1] if last > 0 else len(lower) + 1
    cur_hits = cur_cats = cur_sent = None
    made = sentences._made
    titled = bool(title)
    for h in hits:  # hits and sentences are both in text order: walk them together
        start = h[1]
        if start >= nxt:
            while si < last and starts[si + 1] <= start:
                si += 1
            nxt = starts[si + 1] if si < last else len(lower) + 1
            cur_hits = None
        cue = h[0]
        if cur_hits is None:
            cur_hits = by_sentence[si]
            cur_cats = sent_cats[si]
            cur_sent = made.get(si)
            if cur_sent is None:  # (Sentences.__getitem__, inlined)
                a, b, w = spans[si]
                cur_sent = made[si] = Sentence(si, a, b, text[a:b], titled and si == 0, w)
        pos2sent[start] = cur_sent
        cur_hits.append(h)
        cur_cats.add(cue.category)
        for key in cue.indexed:
            by_category[key].append(h)
    # plain dicts from here on: lookups of absent keys must not create entries
    doc.by_sentence = dict(by_sentence)
    doc.by_category = dict(by_category)
    doc._sent_cats = dict(sent_cats)
    return doc
