"""The Work record (one cited work as the services tell it), its keys, and its row in the works table.

The shape is docs/citations.md's ``Work``; the fetch-state fields at the end are the works
table's own columns (when it was fetched, when it is due, validators for a conditional GET),
carried on the record so one value goes from the resolver to the database and back.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "JSON_FIELDS",
    "KEY_KINDS",
    "UNSUPPORTED_KINDS",
    "Work",
    "key_problem",
    "query_key",
    "row_to_work",
    "split_key",
    "work_to_row",
]

#: Key kinds the resolver knows; the last four are registries we do not query.
KEY_KINDS = ("doi", "pmid", "pmcid", "nct", "query", "isrctn", "eudract", "chictr", "actrn")
UNSUPPORTED_KINDS = frozenset({"isrctn", "eudract", "chictr", "actrn"})
JSON_FIELDS = ("authors", "pub_types", "mesh", "keywords", "notices", "trial", "candidates")

# What a well-formed id of each kind looks like; anything else is answered without a request.
_KEY_SHAPES = {
    "doi": re.compile(r"10\.\d{4,9}/[^\s\"<>]{1,300}"),
    "pmid": re.compile(r"[1-9]\d{0,8}"),
    "pmcid": re.compile(r"PMC\d{1,9}"),
    "nct": re.compile(r"NCT\d{8}"),
    "query": re.compile(r"[0-9a-f]{40}"),
    "isrctn": re.compile(r"ISRCTN\d{8}"),
    "eudract": re.compile(r"\d{4}-\d{6}-\d{2}"),
    "chictr": re.compile(r"ChiCTR[-A-Za-z0-9]{6,20}"),
    "actrn": re.compile(r"ACTRN\d{14}"),
}


@dataclass
class Work:
    """One record of a cited work (docs/citations.md), plus its fetch state in the works table."""

    key: str
    service: str
    state: str
    error: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    nct: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    journal: str | None = None
    journal_abbrev: str | None = None
    year: int | None = None
    published: str | None = None
    work_type: str | None = None
    preprint: bool = False
    abstract: str | None = None
    pub_types: list[str] = field(default_factory=list)
    mesh: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    retraction: str | None = None
    notices: list[dict] = field(default_factory=list)
    trial: dict | None = None
    url: str | None = None
    candidates: list[dict] = field(default_factory=list)
    # fetch state (the works table's columns; set by the resolver)
    fetched_at: str | None = None
    next_check_at: str | None = None
    errors: int = 0
    etag: str | None = None
    last_modified: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The record's bibliographic fields as a plain dict (a search candidate), fetch state left out."""
        data = asdict(self)
        for name in ("fetched_at", "next_check_at", "errors", "etag", "last_modified", "candidates"):
            data.pop(name, None)
        return data


_FIELDS = {f.name for f in fields(Work)}


def split_key(key: str) -> tuple[str, str]:
    """("doi", "10.x/y") for "doi:10.x/y"; ("", key) when the key has no known kind."""
    kind, sep, value = key.partition(":")
    if not sep or kind not in KEY_KINDS:
        return "", key
    return kind, value


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be asked of any service (a one-line reason), or None when it is well formed."""
    if not isinstance(key, str) or not key.strip():
        return "empty work key"
    kind, value = split_key(key)
    if not kind:
        return f"unknown kind of work key {key[:80]!r} (expected doi:, pmid:, pmcid:, nct:, query:, ...)"
    shape = _KEY_SHAPES[kind]
    if not shape.fullmatch(value):
        return f"malformed {kind} {value[:80]!r}: not a valid identifier, so no service was asked"
    return None


def query_key(citation: str) -> str:
    """"query:<sha1>" of a free-text citation, normalised (case, spaces, punctuation) so retellings share a key."""
    normal = " ".join(re.sub(r"[^\w]+", " ", citation.casefold()).split())
    return "query:" + hashlib.sha1(normal.encode("utf-8")).hexdigest()


def work_to_row(work: Work) -> dict[str, Any]:
    """The works-table row for ``work``: JSON columns as JSON text, booleans as 0/1.

    design, design_source and claim_strength are not here: the checker fills them, and an
    upsert of this row leaves them as they are.
    """
    row: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(work, name)
        if name in JSON_FIELDS:
            value = None if value is None else json.dumps(value, ensure_ascii=False)
        elif name == "preprint":
            value = int(bool(value))
        row[name] = value
    return row


def row_to_work(row: dict[str, Any]) -> Work:
    """A Work from a works-table row (JSON columns either still text or already decoded)."""
    values: dict[str, Any] = {}
    for name in _FIELDS:
        if name not in row:
            continue
        value = row[name]
        if name in JSON_FIELDS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if name in JSON_FIELDS and value is None and name != "trial":
            value = []
        if name == "preprint":
            value = bool(value)
        if name == "errors":
            value = int(value or 0)
        values[name] = value
    values.setdefault("service", "none")
    values.setdefault("state", "error")
    return Work(**values)
