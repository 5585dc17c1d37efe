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
    """Spaces request starts at least 1/``rate`` seconds apart (a bucket of one token).

    Starts are taken one at a time under a lock and measured on the clock when they happen (not
    reserved ahead), so an event loop that wakes late never releases a bunch of requests at once.
    ``clock`` and ``sleep`` are injectable so tests can check the schedule without waiting for it.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for our turn; returns when this request may start."""
        async with self._lock:
            while True:
                now = self._clock()
                ready = self._paused_until if self._last is None else max(self._last + 1.0 / self.rate,
                                                                          self._paused_until)
                if now >= ready:
                    self._last = now
                    return
                await self._sleep(ready - now)

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
