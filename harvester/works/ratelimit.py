"""A token bucket per service with an injectable clock, so request rates are kept without wall-clock tests."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping

__all__ = ["TokenBucket", "header_rate"]

log = logging.getLogger(__name__)


class TokenBucket:
    """Spaces request starts so that no more than ``rate`` a second (``burst`` at once) go out.

    Implemented as virtual scheduling (GCRA): each acquire reserves the earliest allowed start and
    then sleeps until it, so concurrent callers queue in order without a lock. ``clock`` and
    ``sleep`` are injectable so tests can check the schedule without waiting for it.
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0  # theoretical arrival time of the next request
        self._paused_until = 0.0

    def reserve(self) -> float:
        """Reserve the next start time and return it (clock units); no waiting."""
        now = self._clock()
        interval = 1.0 / self.rate
        tolerance = (self.burst - 1) * interval
        tat = max(self._tat, now)
        start = max(tat - tolerance, now, self._paused_until)
        self._tat = max(tat, start) + interval
        return start

    async def acquire(self) -> None:
        """Wait for our turn."""
        delay = self.reserve() - self._clock()
        if delay > 0:
            await self._sleep(delay)

    def slow_to(self, rate: float) -> None:
        """Lower the rate (a server said its limit is lower than ours); never raises it."""
        if 0 < rate < self.rate:
            log.info("rate lowered from %.3g/s to %.3g/s on the server's word", self.rate, rate)
            self.rate = rate

    def pause_until(self, when: float) -> None:
        """No request starts before ``when`` (clock units): a Retry-After."""
        self._paused_until = max(self._paused_until, when)


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def header_rate(headers: Mapping[str, str]) -> float | None:
    """Requests per second from X-Rate-Limit-Limit / X-Rate-Limit-Interval ("50", "1s"), or None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    limit, interval = lowered.get("x-rate-limit-limit"), lowered.get("x-rate-limit-interval")
    if not limit or not interval:
        return None
    match = _INTERVAL.match(interval)
    try:
        count = float(limit.strip())
    except ValueError:
        return None
    if not match or count <= 0:
        return None
    seconds = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return count / seconds if seconds > 0 else None
