"""Reading and validating sources.toml, and OPML import/export.

A mistake in the sources file is the commonest configuration error, so every
problem is reported as one line naming the file, the line and the fix.
"""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from scoring.labels import publishers

from .polling import parse_interval

BUNDLED_SOURCES = Path(__file__).with_name("sources.toml")
KINDS = ("feed", "europepmc", "clinicaltrials", "pubmed")
PUBLISHERS = publishers()  # the kinds of publisher, from the one label vocabulary
KNOWN_KEYS = {"name", "url", "kind", "publisher", "every", "filter", "local", "notes"}


class SourcesError(Exception):
    """sources.toml (or an OPML file) is not usable; the message says where and why."""


@dataclass
class Source:
    name: str
    url: str
    kind: str = "feed"
    publisher: str = "news"
    every: int = 3600
    filter: bool = False
    local: bool = False
    notes: str | None = None

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("notes")
        return row


def _block_lines(text: str) -> list[int]:
    """Line numbers of each [[source]] header, to point errors at the right block."""
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*source\s*\]\]", line)]


def load_sources(path: str | Path) -> list[Source]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError(f"{path}: no such file; pass --sources with the path of your sources.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path}: cannot read ({exc})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 3, column 7)"; keep it, name the file first.
        msg = str(exc)
        m = re.search(r"at line (\d+), column (\d+)", msg)
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise SourcesError(f"{where}: invalid TOML: {msg}") from exc
    unknown_top = set(data) - {"source"}
    if unknown_top:
        raise SourcesError(f"{path}: unknown top-level key {sorted(unknown_top)[0]!r}; sources are [[source]] tables")
    blocks = data.get("source", [])
    if not isinstance(blocks, list) or not blocks:
        raise SourcesError(f"{path}: no [[source]] entries; add at least one (see the README)")
    lines = _block_lines(text)
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, block in enumerate(blocks):
        line = lines[index] if index < len(lines) else 0
        where = f"{path}:{line}" if line else f"{path}: source #{index + 1}"
        sources.append(_validate(block, where))
        name = sources[-1].name
        if name in seen:
            raise SourcesError(f"{where}: duplicate source name {name!r} (first at line {seen[name]}); names must be unique")
        seen[name] = line
    return sources


def _validate(block: dict[str, Any], where: str) -> Source:
    unknown = set(block) - KNOWN_KEYS
    if unknown:
        raise SourcesError(f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(KNOWN_KEYS))}")
    for key in ("name", "url"):
        if not isinstance(block.get(key), str) or not block[key].strip():
            raise SourcesError(f"{where}: missing {key!r}; every source needs a name and a url")
    name = block["name"].strip()
    url = block["url"].strip()
    if not re.match(r"https?://[^\s/]+", url):
        raise SourcesError(f"{where}: source {name!r}: url {url!r} is not an http(s) URL")
    kind = block.get("kind", "feed")
    if kind not in KINDS:
        raise SourcesError(f"{where}: source {name!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    publisher = block.get("publisher", "news")
    if publisher not in PUBLISHERS:
        raise SourcesError(f"{where}: source {name!r}: unknown publisher {publisher!r}; use one of {', '.join(PUBLISHERS)}")
    every_raw = block.get("every", "1h")
    try:
        every = parse_interval(str(every_raw))
    except ValueError as exc:
        raise SourcesError(f"{where}: source {name!r}: every = {every_raw!r}: {exc}") from None
    for flag in ("filter", "local"):
        if flag in block and not isinstance(block[flag], bool):
            raise SourcesError(f"{where}: source {name!r}: {flag} must be true or false")
    return Source(name=name, url=url, kind=kind, publisher=publisher, every=every,
                  filter=block.get("filter", False), local=block.get("local", False), notes=block.get("notes"))


# -- OPML -------------------------------------------------------------------


def read_opml(path: str | Path, *, publisher: str = "blog", every: int = 3600) -> list[Source]:
    """Feeds of an OPML subscription list (nested outlines flattened)."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        raise SourcesError(f"{path}: not a readable OPML file ({exc})") from exc
    found: list[Source] = []
    for outline in tree.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        name = (outline.get("title") or outline.get("text") or url).strip()
        found.append(Source(name=name, url=url, publisher=publisher, every=every))
    if not found:
        raise SourcesError(f"{path}: no <outline xmlUrl=...> feeds found; is this an OPML subscription list?")
    return found


def write_opml(sources: list[Source], title: str = "hypewatch sources") -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             f"  <head><title>{_esc(title)}</title></head>", "  <body>"]
    for s in sources:
        if s.kind != "feed":
            continue
        lines.append(f'    <outline type="rss" text={quoteattr(s.name)} title={quoteattr(s.name)} '
                     f'xmlUrl={quoteattr(s.url)} category={quoteattr(s.publisher)}/>')
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def to_toml(sources: list[Source]) -> str:
    """Render sources as [[source]] blocks (used by import-opml to append)."""
    out = []
    for s in sources:
        out.append("[[source]]")
        out.append(f"name = {_toml_str(s.name)}")
        out.append(f"url = {_toml_str(s.url)}")
        out.append(f'kind = "{s.kind}"')
        out.append(f'publisher = "{s.publisher}"')
        out.append(f'every = "{format_interval(s.every)}"')
        out.append(f"filter = {'true' if s.filter else 'false'}")
        out.append("")
    return "\n".join(out)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
