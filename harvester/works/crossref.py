"""Crossref REST answers to Work records: ``/works/{doi}`` (one work, with its update notices) and
``/works?query.bibliographic=`` (candidates for a free-text citation)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from harvester.apis.fields import as_dict, as_list, clean_line, unique
from harvester.sanitize import html_to_text

from .model import Work

__all__ = ["NOTICE_KINDS", "parse_search", "parse_work", "retraction_status", "work_from_message"]

log = logging.getLogger(__name__)

#: Crossref update types (``updated-by``/``update-to`` "type") and what each says of the updated work.
#: Only these say "retracted": a partial retraction leaves the rest standing, so it counts as a correction,
#: and unknown types say nothing (a false accusation is worse than a miss).
NOTICE_KINDS = {
    "retraction": "retracted",
    "withdrawal": "retracted",
    "removal": "retracted",
    "expression_of_concern": "concern",
    "expression-of-concern": "concern",
    "partial_retraction": "corrected",
    "correction": "corrected",
    "corrigendum": "corrected",
    "erratum": "corrected",
    "addendum": "corrected",
    "clarification": "corrected",
}
_SEVERITY = {"retracted": 3, "concern": 2, "corrected": 1}
_JATS_TAGS = {"p": "p", "title": "h4", "sec": "div", "italic": "i", "bold": "b", "list": "ul", "list-item": "li"}
_JATS = re.compile(r"<(/?)jats:([\w-]+)[^>]*>")


def parse_work(body: bytes, key: str) -> Work:
    """A ``/works/{doi}`` response as a Work: found with its metadata and notices, or error with one line why."""
    data, problem = _load(body)
    if problem:
        return _error(key, problem)
    message = data.get("message")
    if data.get("message-type") not in (None, "work") or not isinstance(message, dict):
        return _error(key, f"Crossref answered a {str(data.get('message-type'))[:40]!r} message, not a work")
    work = work_from_message(message, key)
    if not work.doi:
        return _error(key, "Crossref's work record has no DOI")
    return work


def parse_search(body: bytes, key: str) -> Work:
    """A ``/works?query.bibliographic=`` response as a Work: found with ``candidates`` (best first, each with
    Crossref's relevance ``score``), not_found when the search returned nothing."""
    data, problem = _load(body)
    if problem:
        return _error(key, problem)
    message = as_dict(data.get("message"))
    items = message.get("items")
    if data.get("message-type") not in (None, "work-list") or not isinstance(items, list):
        return _error(key, "Crossref's search answer has no list of works (message.items)")
    candidates = []
    for item in items:
        if not isinstance(item, dict):
            continue
        found = work_from_message(item, key)
        if not found.doi:
            continue
        candidate = found.as_dict()
        candidate["key"] = f"doi:{found.doi}"
        score = item.get("score")
        candidate["score"] = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None
        candidates.append(candidate)
    if not candidates:
        return Work(key=key, service="crossref", state="not_found",
                    error="Crossref's bibliographic search found no work for this citation")
    return Work(key=key, service="crossref", state="found", candidates=candidates)


def work_from_message(message: dict[str, Any], key: str) -> Work:
    """One Crossref work object (a ``message`` or a search item) as a Work (state found)."""
    doi = clean_line(message.get("DOI")).lower() or None
    work_type = clean_line(message.get("type")) or None
    subtype = clean_line(message.get("subtype")) or None
    relation = as_dict(message.get("relation"))
    notices = _notices(message.get("updated-by"), updates_this=True)
    # A notice record (Crossref's own retraction or correction notice) points at the work it updates.
    notices += _notices(message.get("update-to"), updates_this=False)
    year, published = _issued(message)
    return Work(
        key=key,
        service="crossref",
        state="found",
        doi=doi,
        title=_first_text(message.get("title")) or None,
        authors=_authors(message.get("author")),
        journal=_first_text(message.get("container-title")) or None,
        journal_abbrev=_first_text(message.get("short-container-title")) or None,
        year=year,
        published=published,
        work_type=work_type,
        preprint=(work_type == "posted-content" and subtype in (None, "preprint")) or "is-preprint-of" in relation,
        abstract=_abstract(message.get("abstract")),
        keywords=unique(clean_line(s) for s in as_list(message.get("subject"))),
        retraction=retraction_status(notices),
        notices=notices,
        url=f"https://doi.org/{doi}" if doi else None,
    )


def retraction_status(notices: list[dict[str, Any]]) -> str | None:
    """The worst of "retracted", "concern", "corrected" that the notices say of this work (notices about
    another work, kind "notice:...", say nothing of this one)."""
    worst = None
    for notice in notices:
        status = NOTICE_KINDS.get(str(notice.get("kind")))
        if status and _SEVERITY[status] > _SEVERITY.get(worst or "", 0):
            worst = status
    return worst


def _notices(entries: Any, *, updates_this: bool) -> list[dict[str, Any]]:
    """``updated-by`` (notices that update this work) or ``update-to`` (the works this notice updates).

    Kinds of update-to entries are prefixed "notice:" so that citing a retraction notice is never read
    as citing a retracted work.
    """
    notices = []
    for entry in as_list(entries):
        if not isinstance(entry, dict):
            continue
        kind = clean_line(entry.get("type")).lower().replace(" ", "_")
        if not kind:
            continue
        notices.append({
            "kind": kind if updates_this else f"notice:{kind}",
            "doi": clean_line(entry.get("DOI")).lower() or None,
            "date": _date(as_dict(entry.get("updated")))[1],
            "source": clean_line(entry.get("source")) or "publisher",
            "label": clean_line(entry.get("label")) or kind.replace("_", " ").capitalize(),
        })
    return notices


def _load(body: bytes) -> tuple[dict[str, Any], str | None]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return {}, f"Crossref sent unreadable JSON ({str(exc)[:80]}); will retry later"
    if not isinstance(data, dict):
        return {}, f"Crossref sent a JSON {type(data).__name__}, not a message; will retry later"
    if data.get("status") not in (None, "ok"):
        return {}, f"Crossref answered status {str(data.get('status'))[:40]!r}; will retry later"
    return data, None


def _error(key: str, message: str) -> Work:
    return Work(key=key, service="crossref", state="error", error=message)


def _first_text(values: Any) -> str:
    for value in as_list(values) if isinstance(values, list) else [values]:
        if isinstance(value, str) and value.strip():
            return html_to_text(value).replace("\n", " ").strip() if "<" in value else clean_line(value)
    return ""


def _authors(entries: Any) -> list[str]:
    """Family names in the order given (organisations by their name); first-sequence author first."""
    people = [a for a in as_list(entries) if isinstance(a, dict)]
    people.sort(key=lambda a: 0 if a.get("sequence") == "first" else 1)  # stable: keeps the rest in order
    names = [clean_line(a.get("family")) or clean_line(a.get("name")) for a in people]
    return [n for n in names if n][:100]


def _date(value: dict[str, Any]) -> tuple[int | None, str | None]:
    """(year, ISO date as precise as given: "2014", "2014-04", "2014-04-04") of a Crossref date object."""
    parts = as_list(value.get("date-parts"))
    first = as_list(parts[0]) if parts else []
    numbers = [p for p in first if isinstance(p, int) and not isinstance(p, bool)]
    if not numbers:
        stamp = clean_line(value.get("date-time"))
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})", stamp)
        return (int(match.group(1)), match.group(0)) if match else (None, None)
    year = numbers[0]
    if not 1000 <= year <= 2999:
        return None, None
    text = f"{year:04d}" + "".join(f"-{n:02d}" for n in numbers[1:3] if 1 <= n <= 31)
    return year, text


def _issued(message: dict[str, Any]) -> tuple[int | None, str | None]:
    for field in ("issued", "published", "published-online", "published-print", "posted", "created"):
        year, published = _date(as_dict(message.get(field)))
        if year:
            return year, published
    return None, None


def _abstract(value: Any) -> str | None:
    """A JATS abstract (``<jats:p>`` ...) as plain text, one paragraph a line, a leading "Abstract" heading dropped."""
    if not isinstance(value, str) or not value.strip():
        return None
    html = _JATS.sub(lambda m: f"<{m.group(1)}{_JATS_TAGS.get(m.group(2), 'span')}>", value)
    lines = html_to_text(html).split("\n")
    if lines and lines[0].strip().rstrip(":").lower() == "abstract":
        lines = lines[1:]
    text = "\n".join(line for line in lines if line.strip())
    return text[:20000] or None
