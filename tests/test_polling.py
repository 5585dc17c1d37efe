"""Tests for harvester.polling: intervals, server hints and backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from harvester.polling import (
    MAX_BACKOFF,
    MAX_HINT,
    next_check,
    parse_interval,
    retry_after_seconds,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_HTTP = "Wed, 01 May 2024 12:00:00 GMT"
HOUR = 3600
DAY = 86400


def delay(**kwargs) -> float:
    kwargs.setdefault("every", HOUR)
    kwargs.setdefault("status", 200)
    kwargs.setdefault("headers", {})
    kwargs.setdefault("error_count", 0)
    when = next_check(NOW, **kwargs)
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0)
    return (when - NOW).total_seconds()


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("45s", 45),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1d12h", 129600),
        (" 2H ", 7200),
        ("90m", 5400),
    ],
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "3600", "2 hours", "h", "-1h", "1.5h", "2x", "1h-", "0m", "0h0m"])
def test_parse_interval_rejects_with_a_helpful_message(text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_interval(text)
    message = str(excinfo.value)
    assert repr(text) in message
    assert "'2h'" in message or "longer than zero" in message


def test_parse_interval_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="string"):
        parse_interval(7200)  # type: ignore[arg-type]


# --- success: the interval and cache hints --------------------------------------


def test_plain_success_uses_every() -> None:
    assert delay() == HOUR
    assert delay(status=304) == HOUR


def test_max_age_lengthens() -> None:
    assert delay(headers={"Cache-Control": "public, max-age=7200"}) == 7200


def test_max_age_minus_age_header() -> None:
    assert delay(headers={"cache-control": "max-age=10800", "age": "3600"}) == 7200


def test_hints_never_shorten() -> None:
    assert delay(headers={"cache-control": "max-age=60"}) == HOUR
    assert delay(headers={"cache-control": "no-cache, max-age=0"}) == HOUR
    assert delay(headers={"expires": "Wed, 01 May 2024 11:00:00 GMT", "date": NOW_HTTP}) == HOUR
    assert delay(headers={"expires": "0"}) == HOUR


def test_expires_relative_to_server_date() -> None:
    # The server's clock is 10 minutes behind ours; Expires - Date is what counts.
    headers = {"date": "Wed, 01 May 2024 11:50:00 GMT", "expires": "Wed, 01 May 2024 14:50:00 GMT"}
    assert delay(headers=headers) == 3 * HOUR


def test_expires_without_date_uses_now() -> None:
    assert delay(headers={"Expires": "Wed, 01 May 2024 15:00:00 GMT"}) == 3 * HOUR


def test_max_age_wins_over_expires() -> None:
    headers = {"cache-control": "max-age=7200", "expires": "Thu, 02 May 2024 12:00:00 GMT", "date": NOW_HTTP}
    assert delay(headers=headers) == 7200


def test_server_hints_are_capped() -> None:
    assert delay(headers={"cache-control": "max-age=99999999"}) == MAX_HINT == 7 * DAY
    assert delay(headers={"expires": "Fri, 01 Jan 2100 00:00:00 GMT", "date": NOW_HTTP}) == MAX_HINT


def test_every_longer_than_the_cap_is_kept() -> None:
    assert delay(every=14 * DAY, headers={"cache-control": "max-age=99999999"}) == 14 * DAY


def test_garbage_hints_are_ignored() -> None:
    headers = {"cache-control": "max-age=soon", "expires": "tomorrow-ish", "date": "??"}
    assert delay(headers=headers) == HOUR


# --- failures: backoff and Retry-After ----------------------------------------------


@pytest.mark.parametrize(
    "error_count, expected",
    [(1, 2 * HOUR), (2, 4 * HOUR), (3, 8 * HOUR), (4, 16 * HOUR), (5, DAY), (50, DAY), (10_000, DAY)],
)
def test_error_backoff_grows_and_is_capped_at_a_day(error_count: int, expected: int) -> None:
    assert delay(status=500, error_count=error_count) == expected
    assert delay(status=None, error_count=error_count) == expected


def test_backoff_cap_never_shortens_every() -> None:
    assert delay(every=2 * DAY, status=500, error_count=3) == 2 * DAY
    assert MAX_BACKOFF == DAY


def test_cache_hints_ignored_on_errors() -> None:
    assert delay(status=500, error_count=1, headers={"cache-control": "max-age=604800"}) == 2 * HOUR


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_lengthens(status: int) -> None:
    assert delay(status=status, error_count=1, headers={"Retry-After": "36000"}) == 36000


def test_retry_after_shorter_than_backoff_keeps_backoff() -> None:
    assert delay(status=429, error_count=3, headers={"retry-after": "60"}) == 8 * HOUR


def test_retry_after_as_http_date() -> None:
    headers = {"retry-after": "Thu, 02 May 2024 00:00:00 GMT"}
    assert delay(status=503, error_count=1, headers=headers) == 12 * HOUR


def test_retry_after_is_capped() -> None:
    assert delay(status=429, error_count=1, headers={"retry-after": "99999999"}) == MAX_HINT


def test_retry_after_only_counts_for_429_and_503() -> None:
    assert delay(status=500, error_count=1, headers={"retry-after": "36000"}) == 2 * HOUR


# --- retry_after_seconds ------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("120", 120),
        (" 0 ", 0),
        ("Wed, 01 May 2024 12:05:00 GMT", 300),
        ("Wednesday, 01-May-24 12:05:00 GMT", 300),  # obsolete RFC 850 form
        ("Wed May  1 12:05:00 2024", 300),  # asctime form, implicitly GMT
        ("Wed, 01 May 2024 11:00:00 GMT", 0),  # in the past: retry now
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_seconds(value: str, expected: int | None) -> None:
    assert retry_after_seconds({"Retry-After": value}, NOW) == expected


def test_retry_after_missing() -> None:
    assert retry_after_seconds({}, NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_retry_after_date_with_non_utc_now() -> None:
    paris = timezone(timedelta(hours=2))
    now = datetime(2024, 5, 1, 14, 0, 0, tzinfo=paris)  # == NOW
    assert retry_after_seconds({"retry-after": "Wed, 01 May 2024 12:05:00 GMT"}, now) == 300


# --- time zones ---------------------------------------------------------------------


def test_result_is_utc_even_for_other_zones() -> None:
    now = datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    when = next_check(now, every=HOUR, status=200, headers={}, error_count=0)
    assert when == NOW + timedelta(hours=1)
    assert when.tzinfo == UTC


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_check(datetime(2024, 5, 1, 12), every=HOUR, status=200, headers={}, error_count=0)


def test_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every"):
        next_check(NOW, every=0, status=200, headers={}, error_count=0)


def test_an_interval_too_long_for_dates_is_refused_or_clamped() -> None:
    from harvester.polling import MAX_INTERVAL

    with pytest.raises(ValueError, match="at most 366d"):
        parse_interval("10000000w")
    assert parse_interval("52w") == 52 * 7 * 86400
    now = datetime(2026, 1, 1, tzinfo=UTC)
    # A row stored before intervals were bounded: clamped, never an OverflowError.
    for failures in (0, 3):
        when = next_check(now, every=10_000_000 * 7 * 86400, status=200, headers={}, error_count=failures)
        assert when <= now + timedelta(seconds=MAX_INTERVAL)
