"""Ad-hoc SQL slots per client address, shared by every process serving the site.

With ``hypewatch serve --workers N`` each worker is its own process, so a count kept in one
process's memory would let a client run N times the limit. The slots are lock files instead:
a request holds an exclusive ``flock`` on one of its client's files while it runs, the kernel
sees every worker's locks, and a lock dies with the process holding it (a crashed worker leaks
nothing). Client addresses are hashed into a fixed number of buckets, so the directory never
grows with the number of visitors; two addresses sharing a bucket share its slots, which is rare
and only ever makes the limit stricter.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ClientSlots", "SLOTS_DIR_ENV"]

#: Set by ``serve --workers`` for its worker processes: the directory of their shared lock files.
SLOTS_DIR_ENV = "HYPEWATCH_SQL_SLOTS_DIR"
BUCKETS = 4096


@dataclass
class ClientSlots:
    """At most ``per_client`` ad-hoc SQL requests at once per client address, across processes when
    ``directory`` is given (lock files there), else within this process."""

    per_client: int
    directory: Path | None = None
    _local: Counter = field(default_factory=Counter)

    @classmethod
    def from_environment(cls, per_client: int) -> "ClientSlots":
        directory = os.environ.get(SLOTS_DIR_ENV)
        return cls(per_client, Path(directory) if directory else None)

    def acquire(self, client: str) -> object | None:
        """A held slot for ``client`` (pass it to ``release``), or None when all of its slots are taken."""
        if self.directory is None:
            if self._local[client] >= self.per_client:
                return None
            self._local[client] += 1
            return client
        bucket = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=4).digest(), "big") % BUCKETS
        for slot in range(self.per_client):
            fd = os.open(self.directory / f"{bucket}-{slot}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    def release(self, held: object) -> None:
        """Give back a slot from ``acquire``."""
        if isinstance(held, int):
            os.close(held)  # closing the descriptor drops its lock
            return
        self._local[held] -= 1
        if self._local[held] <= 0:
            del self._local[held]
