"""When to check a source next: configured interval, server hints and error backoff.

Kept pure (no I/O, ``now`` passed in) so the scheduling policy is testable to
the second and the pipeline stays the only place that knows about time.

Policy, that of a polite client:

* The configured ``every`` is a floor: nothing a server says makes us poll
  *more* often than the source's owner configured.
* Server hints (Cache-Control max-age, Expires, Retry-After on 429/503) can
  lengthen the interval, but only up to :data:`MAX_HINT` so a careless
  ``Expires: 2099`` can't silence a source.
* Consecutive errors back off exponentially up to :data:`MAX_BACKOFF`; a failing
  source is still retried daily, never abandoned.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = [
    "MAX_BACKOFF",
    "MAX_HINT",
    "MAX_INTERVAL",
    "next_check",
    "parse_interval",
    "retry_after_seconds",
]

logger = logging.getLogger(__name__)

MAX_HINT = 7 * 86400
"""Longest a server hint (max-age, Expires, Retry-After) may push the next check."""

MAX_BACKOFF = 86400
"""Longest error backoff: a failing source is still tried once a day."""

MAX_INTERVAL = 366 * 86400
"""Longest configurable interval (``every``, ticks): a year, far inside what dates can hold."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_WHOLE = re.compile(r"(?:\d+\s*[smhdw]\s*)+", re.IGNORECASE)


def parse_interval(text: str) -> int:
    """Seconds in an interval like ``"2h"``, ``"30m"`` or ``"1h30m"``.

    A bare number is rejected rather than guessed at: ``every = "60"`` could
    mean seconds or minutes, and a wrong guess means hammering or starving a
    source.
    """
    if not isinstance(text, str):
        raise ValueError(f"interval must be a string like '2h', got {text!r}")
    cleaned = text.strip()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(
            f"invalid interval {text!r}: use a number with a unit s, m, h, d or w, "
            f"e.g. '45s', '30m', '2h', '1d' or '1h30m'"
        )
    seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"invalid interval {text!r}: it must be longer than zero")
    if seconds > MAX_INTERVAL:
        raise ValueError(f"invalid interval {text!r}: it must be at most 366d (a year); use e.g. '52w'")
    return seconds


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (use datetime.now(UTC))")
    return now.astimezone(UTC)


def _lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def _http_date(value: str | None) -> datetime | None:
    """An HTTP-date as aware UTC, or None; HTTP dates are GMT even when unmarked."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def retry_after_seconds(headers: Mapping[str, str] | None, now: datetime) -> int | None:
    """Seconds the server asked us to wait (Retry-After, delta or HTTP-date), or None.

    A date in the past means "now" (0), not None: the server did answer, so
    the caller can tell "no hint" from "retry immediately".
    """
    value = _lower(headers).get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    when = _http_date(value)
    if when is None:
        logger.debug("ignoring unparsable Retry-After value=%r", value)
        return None
    return max(0, math.ceil((when - _utc(now)).total_seconds()))


def _freshness_seconds(headers: dict[str, str], now: datetime) -> int | None:
    """How long the response says it stays fresh (RFC 9111 §4.2.1), or None."""
    cache_control = headers.get("cache-control", "")
    directives: dict[str, str | None] = {}
    for part in cache_control.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip().strip('"') if arg else None
    max_age = directives.get("max-age")
    if max_age is not None and max_age.isdigit():
        age = headers.get("age", "").strip()
        return max(0, int(max_age) - (int(age) if age.isdigit() else 0))
    # Per RFC 9111, max-age overrides Expires; Expires is measured against the
    # server's own Date so that clock skew between us and it doesn't matter.
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    reference = _http_date(headers.get("date")) or now
    return max(0, int((expires - reference).total_seconds()))


def next_check(
    now: datetime,
    *,
    every: int,
    status: int | None,
    headers: Mapping[str, str] | None,
    error_count: int,
) -> datetime:
    """When to check the source next (aware UTC).

    ``error_count`` is the number of consecutive failures including this one;
    a fetch counts as failed when it is positive or when ``status`` is None
    or ≥ 400. Hints only lengthen the interval: ``every`` is always the floor.
    """
    if every <= 0:
        raise ValueError(f"every must be a positive number of seconds, got {every!r}")
    now = _utc(now)
    every = min(every, MAX_INTERVAL)  # a row written before intervals were bounded cannot overflow a date
    hdrs = _lower(headers)
    failed = error_count > 0 or status is None or status >= 400
    delay = every
    if failed:
        # Exponent capped so a huge count can't build an enormous integer.
        backoff = every * 2 ** min(max(error_count, 0), 32)
        delay = max(every, min(backoff, MAX_BACKOFF))
        if status in (429, 503):
            retry = retry_after_seconds(hdrs, now)
            if retry is not None:
                delay = max(delay, min(retry, MAX_HINT))
    else:
        fresh = _freshness_seconds(hdrs, now)
        if fresh is not None:
            delay = max(every, min(fresh, MAX_HINT))
    logger.debug(
        "next_check every=%d status=%s error_count=%d delay=%d", every, status, error_count, delay
    )
    return now + timedelta(seconds=delay)
