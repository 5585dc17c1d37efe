"""Reading fields out of untrusted API records: type-checked values, titles, authors, our own HTML, dates."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import Any

from db.store import iso

__all__ = [
    "MAX_AUTHORS",
    "MAX_TITLE_CHARS",
    "as_dict",
    "as_list",
    "clean_line",
    "clip_title",
    "id_digits",
    "is_retracted",
    "iso_date",
    "join_authors",
    "paragraphs_html",
    "unique",
    "utc_day",
]

log = logging.getLogger(__name__)

#: Long author lists (consortia papers list hundreds) say nothing more to a reader after a few.
MAX_AUTHORS = 10
MAX_TITLE_CHARS = 500


def paragraphs_html(text: str) -> str | None:
    """Our own HTML for a plain text: escaped lines in <p>, so no API markup is ever published."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines) or None


def clip_title(value: str, *, fallback: str) -> str:
    """A one-line title of at most MAX_TITLE_CHARS, or ``fallback`` when the record has none."""
    title = " ".join(value.split()).strip()
    return (title or fallback)[:MAX_TITLE_CHARS]


def join_authors(names: list[str]) -> str | None:
    """Author names as one string, cut after MAX_AUTHORS with "et al."; None without names."""
    if not names:
        return None
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + ", et al."
    return ", ".join(names)


def is_retracted(pub_types: list[str]) -> bool:
    """True for a retracted paper ("Retracted Publication"); a "Retraction of Publication" is the notice itself."""
    return any(t.lower() == "retracted publication" for t in pub_types)


def clean_line(value: Any) -> str:
    """A string with its whitespace collapsed to single spaces; '' for anything that is not a string."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def id_digits(value: Any) -> str | None:
    """A numeric id (PMID) as canonical digits: positive, at most 12 digits; None otherwise."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return str(int(text)) if text.isdigit() and len(text) <= 12 and int(text) > 0 else None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (records are untrusted)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def unique(values: Any) -> list[str]:
    """The non-empty values in first-seen order, each once."""
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


_ISO_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def utc_day(year: int, month: int = 1, day: int = 1) -> str | None:
    """Midnight UTC of a calendar day as "YYYY-MM-DDT00:00:00Z"; None for impossible dates."""
    try:
        moment = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return iso(moment) if year >= 1800 else None


def iso_date(value: Any) -> str | None:
    """API date text ("2024-05-01", "2024-05", "2024", or a full ISO timestamp) as UTC ISO-8601."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if match := _ISO_DATE.match(value):
        year, month, day = (int(g) if g else 1 for g in match.groups())
        return utc_day(year, month, day)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        log.debug("unreadable date value=%r", value[:40])
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)
