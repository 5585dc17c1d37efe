"""The one label vocabulary: codes in order, display names, headings and colours, from labels.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Label", "Dimension", "vocabulary", "dimension", "codes", "name", "LABELS_PATH", "publishers"]

LABELS_PATH = Path(__file__).with_name("labels.toml")


@dataclass(frozen=True)
class Label:
    code: str
    name: str
    short: str
    heading: str
    colour: str
    meaning: str
    badge: tuple[str, str] = ("#eceff1", "#37474f")  # background, text


@dataclass(frozen=True)
class Dimension:
    code: str  # "evidence_stage"
    name: str  # "Evidence stage"
    labels: tuple[Label, ...]  # weakest first

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(label.code for label in self.labels)

    def get(self, code: str) -> Label | None:
        for label in self.labels:
            if label.code == code:
                return label
        return None


@lru_cache(maxsize=None)
def _load(path: Path = LABELS_PATH) -> tuple[dict[str, Dimension], tuple[str, ...]]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    dims: dict[str, Dimension] = {}
    for code, spec in data.get("dimension", {}).items():
        labels = []
        for v in spec.get("values", []):
            if "code" not in v or "name" not in v:
                raise ValueError(f"{path.name}: every value of {code} needs a code and a name, got {v!r}")
            labels.append(Label(
                code=str(v["code"]), name=v["name"], short=v.get("short", v["name"]),
                heading=v.get("heading", v["name"]), colour=v.get("colour", "#9aa0a6"), meaning=v.get("meaning", ""),
                badge=tuple(v.get("badge", ("#eceff1", "#37474f"))),
            ))
        dims[code] = Dimension(code, spec.get("name", code), tuple(labels))
    return dims, tuple(data.get("publishers", {}).get("codes", ()))


def vocabulary() -> dict[str, Dimension]:
    """Every label dimension by code, in the file's order."""
    return _load()[0]


def dimension(code: str) -> Dimension:
    try:
        return vocabulary()[code]
    except KeyError:
        raise KeyError(f"no label dimension {code!r} in labels.toml; add it there") from None


def codes(dim: str) -> tuple[str, ...]:
    """A dimension's codes, weakest first."""
    return dimension(dim).codes


def name(dim: str, code: object) -> str:
    """The display name of a code ("human_rct" -> "Human RCT"); the code itself when unknown."""
    label = dimension(dim).get(str(code).lower() if isinstance(code, bool) else str(code))
    return label.name if label else str(code)


def publishers() -> tuple[str, ...]:
    """The kinds of publisher a source can be."""
    return _load()[1]
