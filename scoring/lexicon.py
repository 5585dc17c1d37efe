"""Lexicons as data: load scoring/lexicons/*.toml, index cues for fast matching, derive SCORING_VERSION.

Longer than most modules because the matcher is the scorer's hot loop: the trie of literal
cue starts, the admitted cues per start and the scan that uses them are tuned together, and
are easier to keep correct side by side.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .regex_cache import RegexCache

__all__ = [
    "RULES_VERSION",
    "LEXICON_DIR",
    "Cue",
    "Hit",
    "Matcher",
    "Lexicons",
    "load_lexicons",
    "compute_version",
    "RULE_MODULES",
]

#: Bump whenever the rules in scoring/*.py change meaning (the lexicon bytes are hashed too).
RULES_VERSION = "2.0"

LEXICON_DIR = Path(__file__).parent / "lexicons"

# Closes a cue: after a word character the next must not be one ("mice" not "micellar");
# after punctuation ("dateline:", "100%") anything may follow.
_END = r"(?:(?<=\w)(?!\w)|(?<!\w))"
_META = set("()[]{}?*+|.^$\\")
# Overlapping cues collapse within a stage ("evidence.stage.animal"), a treatment, or a whole
# family of commercial or relevance cues ("book a consultation" swallows "consultation").
_FAMILY_GROUPS = ("commercial.", "relevance.")
# The category prefixes the rules ask Doc.category() for. A hit is filed under these as the
# document is built (about one list per hit instead of one per dot-prefix of its category);
# any other prefix is collected from the hits when first asked for (same lists, same order).
INDEXED_PREFIXES = frozenset((
    "treatment",
    "relevance.",
    "evidence.stage.",
    "evidence.context.registry_no_results",
    "evidence.context.registry_results",
    "evidence.context.registry_record",
    "commercial.direct.",
    "commercial.indirect.",
    "commercial.independent.",
    "hype.satire.",
    "hype.sceptic.",
    "hype.claim.",
    "hype.caveat.",
))


#: Every cue category met so far: Doc files hits under these as it is built.
CATEGORIES: set[str] = set()


@dataclass(frozen=True, slots=True)
class Cue:
    """One lexicon entry: a lower-case regex anchored at a word start, a category and a weight."""

    category: str  # e.g. "evidence.stage.animal", "hype.claim.cure", "treatment"
    pattern: str
    weight: float
    value: str = ""  # e.g. the canonical treatment name
    cap: int = field(default=0, compare=False)  # at most this many hits per text (0: all)
    # "hype.claim.cure" -> ("hype.", "hype.claim.", "hype.claim.cure"): the keys Doc indexes it by.
    prefixes: tuple[str, ...] = field(default=(), compare=False)
    # Overlapping hits with the same group collapse to one (see Matcher.find).
    group: str = field(default="", compare=False)
    # Its prefixes that Doc files hits under up front (INDEXED_PREFIXES); always derived.
    indexed: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.prefixes:
            parts = self.category.split(".")
            keys = tuple(".".join(parts[:i]) + "." for i in range(1, len(parts))) + (self.category,)
            object.__setattr__(self, "prefixes", keys)
        # Every full category is filed too: the features ask for families by their exact name.
        object.__setattr__(
            self, "indexed", tuple(k for k in self.prefixes if k in INDEXED_PREFIXES or k == self.category)
        )
        CATEGORIES.add(self.category)
        if not self.group:
            if self.value:
                group = "treatment:" + self.value
            elif self.category.startswith(_FAMILY_GROUPS):
                group = self.category.rsplit(".", 1)[0]
            else:
                group = self.category
            object.__setattr__(self, "group", group)


class Hit(NamedTuple):
    cue: Cue
    start: int
    end: int
    text: str  # the matched text (lower case)


# The ASCII characters for which c.isalnum() or c == "_" (a set lookup is cheaper than the call).
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_new_hit = tuple.__new__  # C-level construction of the Hit named tuple (hot path)


def _literal_end(pattern: str) -> int:
    """Index where the pattern's leading literal text ends."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt and not nxt.isalnum():
                i += 2
                continue
            return i
        if ch in _META:
            return i
        i += 1
    return i


def _expand_once(pattern: str) -> list[str] | None:
    """Distribute the group right after the literal start: 'in (?:a|the) lab' -> 'in a lab', 'in the lab'."""
    i = _literal_end(pattern)
    if i and pattern.startswith("\\d+", i):
        return [pattern[:i] + digit + "\\d*" + pattern[i + 3 :] for digit in "0123456789"]
    if i and pattern.startswith("\\d", i) and pattern[i + 2 : i + 3] not in ("*", "+", "?", "{"):
        return [pattern[:i] + digit + pattern[i + 2 :] for digit in "0123456789"]
    if not pattern.startswith("(?:", i):
        return None
    depth, alts, cur = 0, [], []
    j = i + 3
    while j < len(pattern):
        ch = pattern[j]
        if ch == "\\":
            cur.append(pattern[j : j + 2])
            j += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch == "|" and depth == 0:
            alts.append("".join(cur))
            cur = []
            j += 1
            continue
        cur.append(ch)
        j += 1
    else:
        raise ValueError(f"lexicon cue {pattern!r}: unbalanced parenthesis")
    alts.append("".join(cur))
    rest = pattern[j + 1 :]
    if rest[:1] in ("*", "+", "{"):
        return None
    if rest.startswith("?"):
        if rest.startswith("??"):
            return None
        rest = rest[1:]
        alts.append("")
    return [pattern[:i] + alt + rest for alt in alts]


def _expand_leading_group(pattern: str, limit: int = 40) -> list[str]:
    """Spell out leading alternations so every pattern starts with as much literal text as
    possible ('(?:a |the )?dish' -> 'a dish', 'the dish', 'dish'): the index needs a literal
    start, and longer literal starts mean fewer regex tries."""
    done: list[str] = []
    todo = [pattern]
    while todo:
        p = todo.pop(0)
        more = _expand_once(p)
        if more is None or len(done) + len(todo) + len(more) > limit:
            if _literal_end(p) == 0 and p.startswith("(?:"):
                if more is None:
                    raise ValueError(f"lexicon cue {pattern!r}: cannot find a literal start")
                todo = more + todo  # a literal start is required whatever the count
                continue
            done.append(p)
        else:
            todo = more + todo
    return done


def _literal_prefix(pattern: str) -> str:
    """The literal characters a pattern must start with ('in mice' -> 'in mice', 'randomi[sz]' -> 'randomi')."""
    return _split_literal(pattern)[0]


def _split_literal(pattern: str) -> tuple[str, str | None]:
    """(the literal characters the pattern must start with, the rest of the pattern after them):
    'trials? of' -> ('trial', 's? of'); the rest is None when it cannot be matched on its own."""
    out: list[str] = []
    ends: list[int] = []  # ends[k]: the pattern index just after the k-th literal character
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt and not nxt.isalnum():
                out.append(nxt)
                i += 2
                ends.append(i)
                continue
            break
        if ch in _META:
            break
        out.append(ch)
        i += 1
        ends.append(i)
    if i < len(pattern) and pattern[i] in "?*{" and out:
        out.pop()  # the last literal is optional
        ends.pop()
    rest = pattern[ends[-1] if ends else 0 :]
    if rest[:1] in ("+", "?", "*", "{"):
        return "".join(out), None  # 'ab+c': no rest that can be matched after 'ab' on its own
    return "".join(out), rest


def _top_level_bar(pattern: str) -> bool:
    """Whether the pattern is an alternation at its top level ('a|b', not 'a(?:b|c)')."""
    depth = 0
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


def _trie_regex(
    prefixes: set[str], word_final: set[str] = frozenset(), checks: dict[str, list[str]] | None = None,
    compile_regex=re.compile,
) -> re.Pattern[str]:
    """Matches the character before a word start where a prefix begins; group 1 is the
    longest such prefix. Prefixes in `word_final` (those of plain-word cues only) must
    also end the word, so "fin" does not stop at every "finding". A prefix in `checks`
    (those of regex cues only) counts only where one of its cues' rest-of-pattern matches
    after it, so "about " does not stop at every "about" that no cue continues: the scan
    falls back to the longest shorter prefix instead, whose cues are all that could match."""
    checks = checks or {}
    trie: dict = {}
    for p in prefixes:
        node = trie
        for ch in p:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict, path: str) -> str:
        alts = [re.escape(ch) + emit(child, path + ch) for ch, child in sorted(node.items()) if ch]
        inner = "" if not alts else alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" not in node:
            return inner
        if path in word_final:
            end = "(?![a-z0-9_])"
            return "(?:" + inner + "|" + end + ")" if inner else end
        rests = checks.get(path)
        if rests:
            end = "(?=" + "|".join(rests) + ")"
            return "(?:" + inner + "|" + end + ")" if inner else end
        return "(?:" + inner + ")?" if inner else ""  # greedy: prefer the longer prefix

    # Anchored on the character before the word (the caller prepends a space): a plain
    # character class lets the regex engine skip through words at C speed.
    return compile_regex(r"[^a-z0-9_\u00c0-\u024f](?=(" + emit(trie, "") + "))")


@dataclass
class Matcher:
    """Finds every lexicon cue in a text in one pass. Each cue regex starts with literal
    text (group alternatives are spelled out, numbers indexed by leading digit); a single
    trie regex over those literal starts finds, at C speed, the word starts where some cue
    may match, and only the cues admitted by the longest matching start are tried there.
    Plain-text cues need no regex at all. Cost grows with the text, hardly with the lexicon."""

    _index: dict[str, list[tuple[str, str, Cue, re.Pattern[str]]]] = field(default_factory=dict)
    _trie: re.Pattern[str] | None = None
    _by_prefix: dict[str, list[tuple[re.Pattern[str] | None, Cue, str, int, bool]]] = field(default_factory=dict)
    _fast: dict[str, tuple] = field(default_factory=dict)
    _n_keys: int = 0  # how many cues _fast numbers (the size of find's per-cue match counts)
    # compiles a pattern (scoring/regex_cache.py keeps the compiled form across processes)
    compile_regex: object = field(default=re.compile, repr=False)

    def add(self, cue: Cue) -> None:
        for pattern in _expand_leading_group(cue.pattern.strip().lower()):
            if pattern.startswith("\\d"):
                # a number: index it under each leading digit like any other literal start
                plus = pattern.startswith("\\d+")
                for digit in "0123456789":
                    self._add(cue, digit + ("\\d*" + pattern[3:] if plus else pattern[2:]))
            else:
                self._add(cue, pattern)

    def _add(self, cue: Cue, pattern: str) -> None:
        prefix = _literal_prefix(pattern)
        if not prefix or not (prefix[0].isalnum()):
            raise ValueError(
                f"lexicon cue {cue.pattern!r} ({cue.category}) must start with a letter or digit "
                "(or a group of alternatives that each do)"
            )
        self._insert(prefix, pattern, cue)

    def _insert(self, prefix: str, pattern: str, cue: Cue) -> None:
        full = pattern + ("" if pattern.endswith((r"\b", "$")) else _END)
        compiled = self.compile_regex(full)
        if compiled.groups:
            raise ValueError(f"lexicon cue {cue.pattern!r}: use (?:...) instead of capturing groups")
        self._index.setdefault(prefix, []).append((pattern, full, cue, compiled))
        self._trie = None

    def compile(self) -> None:
        """A trie regex over the cues' literal prefixes, and per prefix the cues it admits.
        Cues that are plain text need no regex at all once the trie has matched them."""
        by_prefix: dict[str, list[tuple[re.Pattern[str] | None, Cue, str, int, bool]]] = {}
        seen: set[tuple[str, Cue]] = set()
        for entries in self._index.values():
            for pattern, full, cue, compiled in entries:
                if (full, cue) in seen:
                    continue
                seen.add((full, cue))
                prefix = _literal_prefix(pattern)
                target = by_prefix.setdefault(prefix, [])
                if _literal_end(pattern) == len(pattern):
                    word_end = prefix[-1].isalnum() or prefix[-1] == "_"
                    target.append((None, cue, prefix, len(prefix), word_end))
                else:
                    target.append((compiled, cue, "", 0, False))
        # A position whose longest matching literal prefix is P admits every cue whose prefix is a prefix of P.
        self._by_prefix = {
            p: [item for k in range(1, len(p) + 1) for item in by_prefix.get(p[:k], ())] for p in by_prefix
        }
        word_final = {
            p for p, items in by_prefix.items() if all(regex is None and word_end for regex, _, _, _, word_end in items)
        }
        # Where every cue of a prefix needs a regex, the scan itself checks that one of them
        # can match there (most such places match none: "about" without "about 40 patients").
        checks: dict[str, list[str]] = {}
        for p, items in by_prefix.items():
            if all(regex is not None for regex, _, _, _, _ in items):
                rests: list[str] = []
                for regex, *_ in items:
                    lit, rest = _split_literal(regex.pattern)
                    if lit != p or rest is None or _top_level_bar(regex.pattern):
                        break
                    rests.append(rest)
                else:
                    checks[p] = list(dict.fromkeys(rests))
        self._trie = _trie_regex(set(by_prefix), word_final, checks, self.compile_regex)
        # The hot loop's view: each admitted cue with its cap, group and weight unpacked, and
        # for a prefix that admits several cues needing a regex, one combined regex that says
        # at C speed whether any of them can match here (most such places match none).
        keys: dict[int, int] = {}
        fast: dict[str, tuple] = {}
        for p, items in self._by_prefix.items():
            entries = []
            for regex, cue, lit, n, word_end in items:
                if regex is None and n < len(p):
                    # A plain cue shorter than the scanned prefix: the character after it is
                    # known here (p[n]), so its word-end test is decided once, not per match.
                    if word_end and (p[n].isalnum() or p[n] == "_"):
                        continue  # "hair" inside the prefix "hairs": never a match here
                    word_end = False
                entries.append(
                    (regex, cue, lit, n, word_end, cue.cap, keys.setdefault(id(cue), len(keys)), cue.group, cue.weight)
                )
            any_of = None
            # (a prefix the scan checks has a cue that matches wherever the scan stops)
            if len(items) > 1 and p not in checks and all(regex is not None for regex, *_ in items):
                any_of = self.compile_regex("|".join(f"(?:{regex.pattern})" for regex, *_ in items)).match
            fast[p] = (any_of, tuple(entries))
        self._fast = fast
        self._n_keys = len(keys)

    def find(self, text: str) -> list[Hit]:
        """All cue matches in lower-case `text`, at word starts, in order of position.
        Overlapping hits of one group ("mice" inside "in mice", "consultation" inside "book a
        consultation") collapse to one: the heavier cue wins, the longer on a tie."""
        if self._trie is None:
            self.compile()
        hits: list[Hit] = []
        append = hits.append
        by_prefix = self._fast
        size = len(text)
        capped = [0] * self._n_keys  # matches so far per capped cue (by its key)
        last: dict[str, int] = {}
        new_hit = _new_hit
        hit_type = Hit
        word_chars = _ASCII_WORD
        # One C-level scan finds each word start where a cue's literal prefix occurs (the
        # longest such prefix is captured); only the cues that prefix admits are tried there.
        # re.split gives [gap, prefix, gap, prefix, ..., gap] without a Match object per place;
        # each place consumed the one character before its word, so positions follow from the
        # gap lengths (start = the word's index in `text`; one space was prepended).
        start = -1
        parts = iter(self._trie.split(" " + text))
        for gap, prefix in zip(parts, parts):
            start += len(gap) + 1
            any_of, entries = by_prefix[prefix]
            if any_of is not None and any_of(text, start) is None:
                continue
            for regex, cue, lit, n, word_end, cap, key, group, weight in entries:
                if cap:
                    count = capped[key]
                    if count >= cap:
                        continue
                if regex is None:
                    end = start + n
                    if word_end and end < size:
                        c = text[end]
                        if c in word_chars or (c > "\x7f" and c.isalnum()):
                            continue
                    hit = new_hit(hit_type, (cue, start, end, lit))
                else:
                    m = regex.match(text, start)
                    if m is None:
                        continue
                    end = m.end()
                    hit = new_hit(hit_type, (cue, start, end, m.group()))
                if cap:  # a capped cue counts its matches, not the places it was tried
                    capped[key] = count + 1
                i = last.get(group)
                if i is not None:
                    kept = hits[i]
                    if start < kept[2]:  # overlaps the kept hit of its group
                        kw = kept[0].weight
                        if weight > kw or (weight == kw and end - start > kept[2] - kept[1]):
                            hits[i] = hit
                        continue
                last[group] = len(hits)
                append(hit)
        return hits


@dataclass
class Lexicons:
    data: dict[str, dict]
    matcher: Matcher
    version: str


def _iter_cues(name: str, table: dict, prefix: str = "", cap: int = 0):
    """Walk a lexicon table: every list of [pattern, weight] pairs becomes cues named by its path."""
    for key, val in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(val, dict):
            yield from _iter_cues(name, val, path, cap)
        elif isinstance(val, list) and val and all(isinstance(x, list) for x in val):
            for entry in val:
                if len(entry) != 2 or not isinstance(entry[0], str) or not isinstance(entry[1], (int, float)):
                    raise ValueError(f"lexicons/{name}.toml {path}: entries must be [pattern, weight], got {entry!r}")
                yield Cue(f"{name}.{path}", entry[0], float(entry[1]), cap=cap)


#: The modules whose code is the rules: their source is hashed into SCORING_VERSION too,
#: so a rule change re-scores stored items even if RULES_VERSION is not bumped.
RULE_MODULES = (
    "lexicon", "text", "evidence", "commercial", "claims", "hype", "relevance", "treatments", "scorer", "model",
    "features", "linear",
)


def compute_version(directory: Path = LEXICON_DIR, rules_version: str = RULES_VERSION) -> str:
    """'<rules>+<sha256[:10]>' over the rules version, the rule modules' source, every
    lexicon file's name and bytes and the fitted weights: it changes whenever rules,
    lexicons or weights change."""
    h = hashlib.sha256(rules_version.encode() + b"\0")
    here = Path(__file__).parent
    for name in RULE_MODULES:
        path = here / f"{name}.py"
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    for path in sorted(directory.glob("*.toml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    # the fitted weights are rules too; the label vocabulary's codes and order are outputs
    for data in ("weights.json", "labels.toml"):
        path = here / data
        if path.exists():
            h.update(data.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{rules_version}+{h.hexdigest()[:10]}"


def load_lexicons(directory: Path = LEXICON_DIR) -> Lexicons:
    version = compute_version(directory)
    cache = RegexCache(version)
    data: dict[str, dict] = {}
    matcher = Matcher(compile_regex=cache.compile)
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            table = tomllib.load(fh)
        name = path.stem
        data[name] = table
        cap = table.get("max_hits_per_cue", 0)
        if not isinstance(cap, int) or cap < 0:
            raise ValueError(f"lexicons/{name}.toml: max_hits_per_cue must be a non-negative integer")
        if name == "treatments":
            for canonical, spec in table.get("treatment", {}).items():
                weight = float(spec.get("weight", 1.0))
                for syn in spec.get("synonyms", []):
                    matcher.add(Cue("treatment", syn, weight, canonical, cap=cap))
                matcher.add(Cue("treatment", re.escape(canonical), weight, canonical, cap=cap))
            continue
        for cue in _iter_cues(name, table, cap=cap):
            matcher.add(cue)
    matcher.compile()  # build the trie now: lexicon errors surface at load, not mid-run
    cache.save()
    return Lexicons(data=data, matcher=matcher, version=version)
