"""The digest: one sanitised HTML entry per finished week (or day) of relevant items, in the `digests` table.

A digest is about what *arrived* in its period, so items are assigned by
``first_seen_at`` (when hypewatch learned of them), not by ``published``:
publishers backdate, omit or mangle publication dates, and an item published
last month but first seen today is news today. Using first_seen_at also makes
a finished period stable: nothing can arrive in it later. Each item still shows
its published date next to the day we saw it.

Periods are UTC: a week runs from Monday 00:00 to the next Monday 00:00, a day
from 00:00 to 24:00, the end always exclusive. Only finished periods that have
relevant, scored items get an entry. Building is idempotent: an entry's id is
its period ("weekly-2026-11-16"), re-running rewrites the same row, and
``updated_at`` moves only when the HTML changed, so feed readers see an entry
again only when there is something new in it.

The HTML is built from escaped text only (every title, summary, source name,
cue and URL from a feed is untrusted), links go only to http/https URLs, and
the result goes through nh3 with a small allowlist as a second guard. The
allowlist is a subset of what datasette-atom's own cleaner keeps, so the feed
shows the same markup the site stores.
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from sqlite_utils import Database

from harvester.sanitize import DIGEST, web_link
from scoring import labels
from db import digests as digest_store
from db.store import iso, utcnow

__all__ = [
    "ALLOWED_TAGS",
    "CITATION_FLAGS",
    "OUTRUNNING_GAPS",
    "DEFAULT_LOOKBACK",
    "MAX_PER_GROUP",
    "MAX_PER_SECTION",
    "PERIODS",
    "DigestResult",
    "build_digest_entries",
    "build_digests",
    "digest_id",
    "digest_title",
    "period_bounds",
    "render_digest",
]

log = logging.getLogger(__name__)

PERIODS = ("weekly", "daily")
#: On a first run, how many finished periods back the digest reaches.
DEFAULT_LOOKBACK = 12

#: The markup a digest may contain (the sanitiser's DIGEST policy; datasette-atom keeps all of these).
ALLOWED_TAGS: frozenset[str] = DIGEST.tags

# Strongest first; None is an item the scorer gave no stage.
STAGE_ORDER: tuple[str | None, ...] = (*reversed(labels.codes("evidence_stage")), None)
HUMAN_EVIDENCE = ("meta_analysis", "human_rct")

# The words come from the one label vocabulary (scoring/labels.toml).
STAGE_WORDS = {lab.code: lab.name for lab in labels.dimension("evidence_stage").labels}
STAGE_HEADINGS: dict[str | None, str] = {
    **{lab.code: lab.heading for lab in labels.dimension("evidence_stage").labels},
    None: "Evidence not classified",
}
#: The claims a digest names; ``no_claim`` (and an item scored before the label existed) says nothing.
CLAIM_WORDS = {lab.code: lab.name for lab in labels.dimension("claim_strength").labels if lab.code != "no_claim"}
COMMERCIAL_WORDS = {lab.code: lab.name for lab in labels.dimension("commercial_interest").labels}
HYPE_WORDS = {lab.code: lab.name for lab in labels.dimension("hype").labels}
DIMENSION_WORDS = {code: dim.name.lower() for code, dim in labels.vocabulary().items()}
#: The citation verdicts a reader is warned about, and the gaps where a telling outruns its paper (docs/citations.md).
CITATION_FLAGS = ("not_found", "mismatch", "off_topic", "retracted")
OUTRUNNING_GAPS = ("stage", "claim", "stage_claim")
VERDICT_WORDS = {lab.code: lab.name for lab in labels.dimension("citation_check").labels}
GAP_WORDS = {lab.code: lab.name for lab in labels.dimension("coverage_gap").labels}
#: Flagged citations shown per item in "Citations that do not hold up" (the item page lists every one).
MAX_PROBLEMS_PER_ITEM = 5

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")
_MAX_TITLE = 300
_MAX_CUE = 120
_MAX_SUMMARY = 280
#: A busy week must not make an entry no feed reader can open: the top sections show this many items,
#: each evidence-stage group of the rest this many; the others are counted and left to the site.
MAX_PER_SECTION = 30
MAX_PER_GROUP = 12


@dataclass(frozen=True)
class DigestResult:
    """What building one period did: status is new, updated, unchanged or removed (no items left)."""

    id: str
    period: str
    period_start: str
    item_count: int
    status: str


# -- periods -------------------------------------------------------------------------------------


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period {period!r}: use one of {', '.join(PERIODS)}")


def _step(period: str) -> timedelta:
    return timedelta(days=7) if period == "weekly" else timedelta(days=1)


def period_bounds(period: str, when: datetime) -> tuple[datetime, datetime]:
    """The UTC period containing ``when``: [start, end)."""
    _check_period(period)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    day = when.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    start = day - timedelta(days=day.weekday()) if period == "weekly" else day
    return start, start + _step(period)


def digest_id(period: str, start: datetime) -> str:
    return f"{period}-{start:%Y-%m-%d}"


def _day(dt: datetime) -> str:
    return f"{dt.day} {dt:%b %Y}"


def _span(start: datetime, end: datetime) -> str:
    """'16–22 Nov 2026', '30 Nov – 6 Dec 2026', '29 Dec 2025 – 4 Jan 2026' (end exclusive)."""
    last = end - timedelta(days=1)
    if last.date() == start.date():
        return _day(start)
    if (start.year, start.month) == (last.year, last.month):
        return f"{start.day}–{last.day} {last:%b %Y}"
    if start.year == last.year:
        return f"{start.day} {start:%b} – {_day(last)}"
    return f"{_day(start)} – {_day(last)}"


def digest_title(period: str, start: datetime, end: datetime) -> str:
    return f"hypewatch {period} digest: {_span(start, end)}"


def _parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


# -- rendering -----------------------------------------------------------------------------------


def _text(value: Any, limit: int | None = None) -> str:
    """Untrusted text as escaped HTML: control characters (invalid in XML) dropped, whitespace folded."""
    text = _WHITESPACE.sub(" ", _CONTROL.sub("", str(value or ""))).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return html.escape(text, quote=True)


def _link(url: Any) -> str | None:
    """The URL if it is an absolute http(s) link, else None (javascript:, data:, relative, garbage)."""
    return web_link(url)


def _words(mapping: dict[Any, str], value: Any, suffix: str = "") -> str:
    if value in mapping:
        return mapping[value]
    if value is None or value == "":
        return f"Unknown {suffix}".strip()
    return (str(value).replace("_", " ").capitalize() + (f" {suffix}" if suffix else "")).strip()


def label_words(item: dict[str, Any]) -> str:
    """'Animal study · Direct causal claim · Indirect commercial interest · High hype' (plain text, not yet escaped).

    The claim strength stands next to the evidence it rests on, and only when the item makes a claim:
    "no claim" on every explainer and announcement would only lengthen the line.
    """
    claim = item.get("claim_strength")
    return " · ".join([
        _words(STAGE_WORDS, item.get("evidence_stage"), "evidence"),
        *([_words(CLAIM_WORDS, claim, "claim")] if claim not in (None, "", "no_claim") else []),
        _words(COMMERCIAL_WORDS, item.get("commercial_interest"), "commercial interest"),
        _words(HYPE_WORDS, item.get("hype"), "hype"),
    ])


def _weight(reason: dict[str, Any]) -> float:
    try:
        return float(reason.get("weight") or 0)
    except (TypeError, ValueError):
        return 0.0


def top_reason(item: dict[str, Any], dimension: str) -> dict[str, Any] | None:
    """The heaviest reason with a cue for ``dimension`` that backs the item's label, else the heaviest with a cue."""
    reasons = [r for r in item.get("reasons") or [] if isinstance(r, dict) and r.get("cue")]
    ranked = sorted(reasons, key=_weight, reverse=True)
    for wanted in (
        lambda r: r.get("dimension") == dimension and r.get("label") == item.get(dimension),
        lambda r: r.get("dimension") == dimension,
        lambda r: True,
    ):
        for reason in ranked:
            if wanted(reason):
                return reason
    return None


def _title_and_source(item: dict[str, Any]) -> tuple[str, str]:
    """The item's title (linked to the original when http(s)) as HTML, and its source with its publisher kind."""
    title = _text(item.get("title"), _MAX_TITLE) or "(untitled)"
    href = _link(item.get("url")) or _link(item.get("canonical_url"))
    source = _text(item.get("source")) + (f" ({_text(item['publisher'])})" if item.get("publisher") else "")
    return (f'<a href="{html.escape(href, quote=True)}">{title}</a>' if href else f"<strong>{title}</strong>"), source


def _render_item(item: dict[str, Any], why: str) -> str:
    head, source = _title_and_source(item)
    when = []
    seen = _parse_time(item.get("first_seen_at"))
    published = _parse_time(item.get("published"))
    if published:
        when.append(f"published {_day(published)}")
    if seen and (not published or published.date() != seen.date()):
        when.append(f"seen {_day(seen)}")
    meta = " · ".join(part for part in [source, *when] if part)
    labels = _text(label_words(item))
    if isinstance(item.get("hype_score"), int):
        labels += f" (hype score {item['hype_score']})"
    lines = [head, meta, f"<em>{labels}</em>"]
    summary = _text(item.get("summary"), _MAX_SUMMARY)
    if summary:
        lines.append(summary)
    treatments = [t for t in item.get("treatments") or [] if isinstance(t, str) and t.strip()]
    if treatments:
        lines.append("Treatments: " + _text(", ".join(treatments), 200))
    reason = top_reason(item, why)
    if reason:
        dimension = _words(DIMENSION_WORDS, reason.get("dimension"))
        lines.append(f"Why: “{_text(reason.get('cue'), _MAX_CUE)}” ({_text(dimension.lower())})")
    return "<li>" + "<br>".join(lines) + "</li>"


def _item_head(item: dict[str, Any]) -> str:
    """The item's title (linked to the original when http(s)), its source and when it was published."""
    published = _parse_time(item.get("published"))
    return " · ".join(part for part in [*_title_and_source(item), f"published {_day(published)}" if published else ""]
                      if part)


def _work_words(title: Any, journal: Any, year: Any) -> str:
    parts = [f"<em>{_text(title, _MAX_TITLE)}</em>"] if title else []
    parts += [_text(x, 200) for x in (journal, year) if x not in (None, "")]
    return ", ".join(parts)


def _render_citations(item: dict[str, Any]) -> str:
    """One item of "Citations that do not hold up": each flagged citation with its verdict, first reason and work."""
    lines = [_item_head(item)]
    problems = item.get("citation_problems") or []
    for problem in problems[:MAX_PROBLEMS_PER_ITEM]:
        line = (f"<strong>{_text(_words(VERDICT_WORDS, problem.get('verdict')))}</strong>: "
                f"{_text(problem.get('value'), _MAX_CUE * 2)}")
        reasons = problem.get("reasons") or []
        if reasons:
            line += f" — {_text(reasons[0], _MAX_SUMMARY)}"
        work = _work_words(problem.get("work_title"), problem.get("work_journal"), problem.get("work_year"))
        if work:
            line += f" (the cited work: {work})"
        lines.append(line)
    if len(problems) > MAX_PROBLEMS_PER_ITEM:
        lines.append(f"<em>…and {len(problems) - MAX_PROBLEMS_PER_ITEM} more on the item's page.</em>")
    return "<li>" + "<br>".join(lines) + "</li>"


def _render_gap(item: dict[str, Any]) -> str:
    """One item of "Coverage that outruns its paper": the gap and its reason, the telling's labels, the paper's."""
    telling = item.get("telling") or {}
    gap = f"<strong>{_text(_words(GAP_WORDS, telling.get('gap')))}</strong>"
    if telling.get("gap_reason"):
        gap += f": {_text(telling['gap_reason'], _MAX_SUMMARY)}"
    told = _text(" · ".join([_words(STAGE_WORDS, item.get("evidence_stage"), "evidence"),
                             _words(CLAIM_WORDS, item.get("claim_strength"), "claim"),
                             _words(HYPE_WORDS, item.get("hype"), "hype")]))
    paper_labels = [_words(STAGE_WORDS, telling.get("paper_design"), "evidence")]
    if telling.get("paper_claim_strength") not in (None, "", "no_claim"):
        paper_labels.append(_words(CLAIM_WORDS, telling.get("paper_claim_strength"), "claim"))
    work = _work_words(telling.get("paper_title"), telling.get("paper_journal"), telling.get("paper_year"))
    paper = f"The paper{': ' + work if work else ''} — {_text(' · '.join(paper_labels))}"
    return "<li>" + "<br>".join([_item_head(item), gap, f"This telling: <em>{told}</em>", paper]) + "</li>"


def _check_sections(items: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(heading, kind, items) for the two sections about citations and studies, when the period has any."""
    cited = _newest_first([i for i in items if i.get("citation_problems")])
    outrunning = _newest_first([i for i in items if (i.get("telling") or {}).get("gap") in OUTRUNNING_GAPS])
    sections = []
    if cited:
        sections.append(("Citations that do not hold up", "citations", cited))
    if outrunning:
        sections.append(("Coverage that outruns its paper", "gap", outrunning))
    return sections


def _newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i.get("first_seen_at") or "", i.get("id") or ""), reverse=True)


def _sections(items: list[dict[str, Any]]) -> list[tuple[str, str, list[tuple[str | None, list[dict[str, Any]]]]]]:
    """(heading, reason dimension, [(subheading, items)]) in reading order; each item appears once."""
    human = [i for i in items if i.get("evidence_stage") in HUMAN_EVIDENCE]
    alerts = [i for i in items if i.get("hype") == "high" and i.get("evidence_stage") not in HUMAN_EVIDENCE]
    shown = {id(i) for i in human + alerts}
    rest = [i for i in items if id(i) not in shown]
    sections = []
    if human:
        ordered = sorted(_newest_first(human), key=lambda i: HUMAN_EVIDENCE.index(i["evidence_stage"]))
        sections.append(("New human evidence", "evidence_stage", [(None, ordered)]))
    if alerts:
        ordered = sorted(_newest_first(alerts), key=lambda i: -(i.get("hype_score") or 0)
                         if isinstance(i.get("hype_score"), int) else 0)
        sections.append(("Hype alerts", "hype", [(None, ordered)]))
    if rest:
        groups = []
        for stage in STAGE_ORDER:
            members = [i for i in rest if (i.get("evidence_stage") if i.get("evidence_stage") in STAGE_WORDS
                                           else None) == stage]
            if members:
                groups.append((STAGE_HEADINGS[stage], _newest_first(members)))
        heading = "Everything else, by evidence" if sections else "By evidence"
        sections.append((heading, "evidence_stage", groups))
    return sections


def _render_check_sections(checks: list[tuple[str, str, list[dict[str, Any]]]]) -> list[str]:
    """The citation and coverage sections' HTML; their items also stay in the main sections (not in ``order``)."""
    parts = []
    for heading, kind, members in checks:
        parts.append(f"<h2>{_text(heading)}</h2>")
        render = _render_citations if kind == "citations" else _render_gap
        parts.append("<ul>" + "".join(render(i) for i in members[:MAX_PER_SECTION]) + "</ul>")
        if len(members) > MAX_PER_SECTION:
            parts.append(f"<p><em>…and {len(members) - MAX_PER_SECTION} more, on the site.</em></p>")
    return parts


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def sanitize(fragment: str) -> str:
    """The second guard: only the digest's own markup survives, links only to http(s)."""
    return DIGEST.clean(fragment)


def render_digest(items: list[dict[str, Any]], period: str, start: datetime,
                  end: datetime) -> tuple[str, dict[str, Any], list[str]]:
    """(sanitised HTML, counts, item ids: those shown in reading order, then those left out) for one period."""
    sections = _sections(items)
    counts: dict[str, Any] = {
        dim: dict(sorted(Counter(str(i.get(dim)) for i in items).items()))
        for dim in ("evidence_stage", "claim_strength", "commercial_interest", "hype")
    }
    n_human = sum(1 for i in items if i.get("evidence_stage") in HUMAN_EVIDENCE)
    n_alerts = sum(1 for i in items if i.get("hype") == "high")
    counts.update(items=len(items), human_evidence=n_human, hype_alerts=n_alerts)
    parts = [
        f"<p>{_plural(len(items), 'relevant item')} first seen {_text(_span(start, end))} (UTC): "
        f"{n_human} with new human evidence, {n_alerts} with high hype.</p>"
    ]
    checks = _check_sections(items)
    counts.update({"citation_problems": sum(len(s[2]) for s in checks if s[1] == "citations"),
                   "coverage_gaps": sum(len(s[2]) for s in checks if s[1] == "gap")})
    if counts["citation_problems"] or counts["coverage_gaps"]:
        said = [f"{_plural(counts['citation_problems'], 'item')} citing work that does not hold up"
                if counts["citation_problems"] else "",
                f"{_plural(counts['coverage_gaps'], 'telling')} claiming more than its paper"
                if counts["coverage_gaps"] else ""]
        parts.append(f"<p>{_text(', '.join(x for x in said if x)).capitalize()}.</p>")
    order: list[str] = []
    left_out: list[str] = []
    for heading, why, groups in sections:
        if why == "evidence_stage" and groups and groups[0][0] is not None:  # the by-evidence rest comes last
            parts.extend(_render_check_sections(checks))
            checks = []
        parts.append(f"<h2>{_text(heading)}</h2>")
        for subheading, members in groups:
            cap = MAX_PER_GROUP if subheading else MAX_PER_SECTION
            if subheading:
                parts.append(f"<h3>{_text(subheading)}</h3>")
            shown, rest = members[:cap], members[cap:]
            parts.append("<ul>" + "".join(_render_item(i, why) for i in shown) + "</ul>")
            if rest:
                parts.append(f"<p><em>…and {len(rest)} more, on the site.</em></p>")
            order.extend(str(i["id"]) for i in shown)
            left_out.extend(str(i["id"]) for i in rest)
    parts.extend(_render_check_sections(checks))  # when nothing went "by evidence"
    order.extend(left_out)  # every item the digest covers, shown ones first
    parts.append("<p><em>Labels are hypewatch's automatic reading of each item: how strong the evidence it "
                 "presents is, who gains if you believe it, and how far its claims run past the evidence. "
                 "Read the original before relying on any of them.</em></p>")
    return sanitize("\n".join(parts)), counts, order


# -- building ------------------------------------------------------------------------------------


def _first_start(db: Database, period: str, until: datetime, *, since: datetime | None,
                 rebuild: bool, lookback: int) -> datetime | None:
    """Where this run starts; None when there is nothing to build."""
    if since is not None:
        return period_bounds(period, since)[0]
    if rebuild:
        candidates = [digest_store.oldest_relevant_seen(db, iso(until)),
                      digest_store.earliest_digest_start(db, period)]
        found = [t for t in (_parse_time(c) for c in candidates) if t]
        return period_bounds(period, min(found))[0] if found else None
    earliest = _parse_time(digest_store.earliest_digest_start(db, period))
    floor = earliest if earliest is not None else until - lookback * _step(period)
    candidates = []
    latest = _parse_time(digest_store.latest_digest_start(db, period))
    if latest is not None:
        candidates.append(latest)  # always re-check the newest entry: items scored late land there
    undigested = _parse_time(digest_store.oldest_undigested_seen(db, period, iso(floor), iso(until)))
    if undigested is not None:
        candidates.append(period_bounds(period, undigested)[0])
    if not candidates:
        return None
    return max(floor, min(candidates))


def build_digest_entries(db: Database, *, period: str = "weekly", now: datetime | None = None,
                         since: datetime | None = None, rebuild: bool = False,
                         lookback: int = DEFAULT_LOOKBACK, include_current: bool = False) -> list[DigestResult]:
    """Build or refresh the digest of every finished period in this run's window, oldest first.

    The window: from ``since`` when given; every period since the oldest
    relevant item with ``rebuild`` (after a rescore, say); otherwise from the
    oldest item no digest lists yet (and the newest existing entry), reaching
    back at most ``lookback`` periods on a first run and never before the
    first entry afterwards. The period containing ``now`` is built only with
    ``include_current`` (the offline demo, previews): its entry keeps its id and
    is rebuilt by later runs until the period ends.
    """
    _check_period(period)
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    current, next_start = period_bounds(period, now)
    until = next_start if include_current else current
    start = _first_start(db, period, until, since=since, rebuild=rebuild, lookback=lookback)
    if start is None:
        log.info("digest nothing to build period=%s before=%s", period, iso(until))
        return []
    stamp = iso(now)
    existing = set(digest_store.digest_period_starts(db, period, iso(start), iso(until)))
    results: list[DigestResult] = []
    step = _step(period)
    cursor = start
    while cursor < until:
        end = cursor + step
        ident = digest_id(period, cursor)
        items = digest_store.digest_items(db, iso(cursor), iso(end))
        digest_store.attach_checks(db, items, CITATION_FLAGS, OUTRUNNING_GAPS)
        if items:
            body, counts, order = render_digest(items, period, cursor, end)
            status = digest_store.save_digest(db, {
                "id": ident, "period": period, "period_start": iso(cursor), "period_end": iso(end),
                "title": digest_title(period, cursor, end), "html": body, "item_count": len(items),
                "counts": counts, "item_ids": order, "created_at": stamp, "updated_at": stamp,
            })
            results.append(DigestResult(ident, period, iso(cursor), len(items), status))
            log.info("digest built id=%s items=%d status=%s", ident, len(items), status)
        elif iso(cursor) in existing and digest_store.delete_digest(db, ident):
            results.append(DigestResult(ident, period, iso(cursor), 0, "removed"))
            log.info("digest removed id=%s reason=no relevant items", ident)
        cursor = end
    return results


def build_digests(db: Database, *, period: str = "weekly", now: datetime | None = None,
                  since: datetime | None = None, rebuild: bool = False,
                  lookback: int = DEFAULT_LOOKBACK, include_current: bool = False) -> list[str]:
    """Build the digests of finished periods (see ``build_digest_entries``); the ids built, oldest first.

    Ids of entries that were re-checked and found unchanged are included;
    removed ones (their period has no relevant item left) are not.
    """
    return [r.id for r in build_digest_entries(db, period=period, now=now, since=since, rebuild=rebuild,
                                               lookback=lookback, include_current=include_current)
            if r.status != "removed"]
