"""References an item makes (ids and free-text citations): the Reference and Claimed records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claimed:
    """What the citing text says of the cited work."""

    authors: tuple[str, ...] = ()
    journal: str | None = None
    year: int | None = None
    title: str | None = None
    design: str | None = None
    design_words: str | None = None


@dataclass(frozen=True)
class Reference:
    """One reference found in an item: an id or a free-text citation, with where it was found."""

    kind: str
    value: str
    context: str
    claimed: Claimed
    preprint: bool = False
    listed: bool = False

    @property
    def work_key(self) -> str | None:
        """"doi:<value>", "pmid:<value>", ...; None for a free-text citation."""
        return None if self.kind == "citation" else f"{self.kind}:{self.value}"
