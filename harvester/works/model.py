"""The Work record: one cited work as the services tell it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Work:
    """One record of a cited work (docs/citations.md)."""

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
