"""Which parser reads a source's responses: the one map from a source ``kind`` to its parser.

``feed`` sources go to feedparser (``harvester.parse``), the research APIs to their adapter in
``harvester.apis``. Every parser takes the body as bytes with the final URL and the response
headers, and gives a ``ParsedFeed``, or a ``FollowUp`` when the API needs a second request.
"""

from __future__ import annotations

from collections.abc import Callable

from .apis.base import Adapter, FollowUp
from .apis.clinicaltrials import ClinicalTrialsAdapter
from .apis.europepmc import EuropePMCAdapter
from .apis.pubmed import PubMedAdapter
from .entrycap import MAX_ENTRIES, keep_newest
from .parse import ParsedFeed, parse_feed

__all__ = ["ADAPTERS", "PARSERS", "Parser", "parse_body"]

Parser = Callable[..., ParsedFeed | FollowUp]  # (body, *, url, headers), and max_entries for feeds

#: The research APIs, by the ``kind`` sources.toml gives them.
ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter for adapter in (EuropePMCAdapter(), ClinicalTrialsAdapter(), PubMedAdapter())
}

#: Every kind of source (feed | europepmc | clinicaltrials | pubmed) and the parser of its responses.
PARSERS: dict[str, Parser] = {"feed": parse_feed, **{kind: adapter.parse for kind, adapter in ADAPTERS.items()}}


def parse_body(kind: str, body: bytes, *, url: str, headers: dict[str, str],
               max_entries: int = MAX_ENTRIES) -> ParsedFeed | FollowUp:
    """Parse one response of a ``kind`` source, keeping its newest ``max_entries`` entries
    (module level, so worker processes can run it)."""
    if kind == "feed":  # feedparser holds every entry: the cap must reach it, before it parses
        return PARSERS[kind](body, url=url, headers=headers, max_entries=max_entries)
    parsed = PARSERS[kind](body, url=url, headers=headers)
    if isinstance(parsed, ParsedFeed):
        parsed.entries, dropped = keep_newest(parsed.entries, max(1, max_entries))
        if dropped:
            note = f"{dropped:,} older records dropped: at most {max_entries:,} are kept per source (max_entries)"
            parsed.warning = f"{note}; {parsed.warning}" if parsed.warning else note
    return parsed
