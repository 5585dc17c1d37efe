"""Lexicons as data: load scoring/lexicons/*.toml, index cues for fast matching, derive SCORING_VERSION."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "RULES_VERSION",
    "LEXICON_DIR",
    "Cue",
    "Hit",
    "Matcher",
    "Lexicons",
    "load_lexicons",
    "compute_version",
]

#: Bump whenever the rules in scoring/*.py change meaning (the lexicon bytes are hashed too).
RULES_VERSION = "1.0"

LEXICON_DIR = Path(__file__).parent / "lexicons"

_LEADING_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+")
_DIGIT_KEY = "#digit"


@dataclass(frozen=True)
class Cue:
    """One lexicon entry: a lower-case regex anchored at a word start, a category and a weight."""

    category: str  # e.g. "stage.animal", "hype.claim", "treatment"
    pattern: str
    weight: float
    value: str = ""  # e.g. the canonical treatment name


@dataclass(frozen=True)
class Hit:
    cue: Cue
    start: int
    end: int
    text: str  # the matched text (lower case)


def _expand_leading_group(pattern: str) -> list[str]:
    """'(?:a|the )?dish' -> ['a dish', 'the dish', 'dish']: the index needs a literal start."""
    if not pattern.startswith("(?:"):
        return [pattern]
    depth, alts, cur = 0, [], []
    i = 3
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            cur.append(pattern[i : i + 2])
            i += 2
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
            i += 1
            continue
        cur.append(ch)
        i += 1
    else:
        raise ValueError(f"lexicon cue {pattern!r}: unbalanced parenthesis")
    alts.append("".join(cur))
    rest = pattern[i + 1 :]
    if rest.startswith("?"):
        rest = rest[1:]
        alts.append("")
    out: list[str] = []
    for alt in alts:
        out.extend(_expand_leading_group(alt + rest))
    return out


@dataclass
class Matcher:
    """Word-start index over many cue regexes: each token is looked up by its first
    three letters and only the few candidate regexes are tried, anchored at the token.
    This keeps scoring linear in the text length whatever the lexicon size."""

    _index: dict[str, list[tuple[re.Pattern[str], Cue]]] = field(default_factory=dict)

    def add(self, cue: Cue) -> None:
        for pattern in _expand_leading_group(cue.pattern.strip().lower()):
            self._add(cue, pattern)

    def _add(self, cue: Cue, pattern: str) -> None:
        if pattern.startswith("\\d"):
            self._insert(_DIGIT_KEY, pattern, cue)
            return
        lead = _LEADING_WORD.match(pattern)
        if lead is None:
            raise ValueError(f"lexicon cue {cue.pattern!r} ({cue.category}) must start with a letter or digit")
        word = lead.group(0)
        rest = pattern[lead.end():]
        if len(word) < 3 and rest[:1].isalnum():
            raise ValueError(f"lexicon cue {cue.pattern!r}: leading word must be complete or ≥3 characters")
        # A regex metacharacter right after a short leading word (e.g. "in[a-z]") would break the index.
        if len(word) < 3 and rest and rest[0] not in " -'\\(":
            raise ValueError(f"lexicon cue {cue.pattern!r}: unsupported character after short leading word")
        keys = {word[:3]}
        if rest[:1] in {"?", "*", "{"}:
            # a quantifier on the last letter: the token may also end before it ("ads?" matches "ad")
            keys.add(word[:-1][:3])
        for key in keys:
            if key:
                self._insert(key, pattern, cue)

    def _insert(self, key: str, pattern: str, cue: Cue) -> None:
        compiled = re.compile(pattern + (r"\b" if not pattern.endswith((r"\b", "$")) else ""))
        if compiled.groups:
            raise ValueError(f"lexicon cue {cue.pattern!r}: use (?:...) instead of capturing groups")
        self._index.setdefault(key, []).append((compiled, cue))

    def find(self, text: str) -> list[Hit]:
        """All cue matches in lower-case `text`, at word starts, in order of position."""
        hits: list[Hit] = []
        index = self._index
        for tok in _TOKEN.finditer(text):
            start = tok.start()
            if start and text[start - 1].isalnum():
                continue  # not a word start (e.g. after an accented letter)
            word = tok.group(0)
            cands = index.get(word[:3])
            if word[0].isdigit():
                cands = (cands or []) + index.get(_DIGIT_KEY, [])
            if not cands:
                continue
            for regex, cue in cands:
                m = regex.match(text, start)
                if m is not None:
                    hits.append(Hit(cue, start, m.end(), m.group(0)))
        return hits


@dataclass
class Lexicons:
    data: dict[str, dict]
    matcher: Matcher
    version: str


def _iter_cues(name: str, table: dict, prefix: str = ""):
    """Walk a lexicon table: every list of [pattern, weight] pairs becomes cues named by its path."""
    for key, val in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(val, dict):
            yield from _iter_cues(name, val, path)
        elif isinstance(val, list) and val and all(isinstance(x, list) for x in val):
            for entry in val:
                if len(entry) != 2 or not isinstance(entry[0], str) or not isinstance(entry[1], (int, float)):
                    raise ValueError(f"lexicons/{name}.toml {path}: entries must be [pattern, weight], got {entry!r}")
                yield Cue(f"{name}.{path}", entry[0], float(entry[1]))


def compute_version(directory: Path = LEXICON_DIR, rules_version: str = RULES_VERSION) -> str:
    """'<rules>+<sha256[:10]>' over the rules version and every lexicon file's name and bytes."""
    h = hashlib.sha256(rules_version.encode())
    for path in sorted(directory.glob("*.toml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{rules_version}+{h.hexdigest()[:10]}"


def load_lexicons(directory: Path = LEXICON_DIR) -> Lexicons:
    data: dict[str, dict] = {}
    matcher = Matcher()
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            table = tomllib.load(fh)
        name = path.stem
        data[name] = table
        if name == "treatments":
            for canonical, spec in table.get("treatment", {}).items():
                for syn in spec.get("synonyms", []):
                    matcher.add(Cue("treatment", syn, float(spec.get("weight", 1.0)), canonical))
                matcher.add(Cue("treatment", re.escape(canonical), float(spec.get("weight", 1.0)), canonical))
            continue
        for cue in _iter_cues(name, table):
            matcher.add(cue)
    return Lexicons(data=data, matcher=matcher, version=compute_version(directory))
