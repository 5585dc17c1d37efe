"""`hypewatch run`: the scheduler in this process and the site as a supervised child.

Two processes rather than threads: Datasette (uvicorn) owns its event loop and
signal handling, the scheduler owns the writes; a crash of one is visible to
the other and the site keeps serving the last committed data while a harvest
runs. SIGTERM/SIGINT stop the scheduler first (sources in flight are cancelled
at a network wait, never inside a transaction), then the site.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from typing import Any

from .scheduler import HarvestLock, Jobs, ServiceConfig, build_scheduler

log = logging.getLogger(__name__)


def site_command(db_path: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "harvester", "serve", "--db", db_path, "--host", host, "--port", str(port)]


def run_service(config: ServiceConfig, *, serve: bool = True, host: str = "127.0.0.1", port: int = 8001,
                echo: Any = print) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status."""
    lock = HarvestLock(config.db_path)
    lock.acquire()  # raises AlreadyRunning with a message that says what to do
    child: subprocess.Popen | None = None
    try:
        jobs = Jobs(config)
        scheduler = build_scheduler(jobs)
        stop_once = threading.Event()

        def stop(signum: int, _frame: Any) -> None:
            if stop_once.is_set():
                return
            stop_once.set()
            log.info("received %s: stopping (sources in flight are cancelled, nothing is half-written)",
                     signal.Signals(signum).name)
            jobs.stopping.set()
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if serve:
            child = subprocess.Popen(site_command(config.db_path, host, port))
            echo(f"Site: http://{host}:{port}/  (Datasette, pid {child.pid})")
        echo(f"Harvesting {len(config.sources)} sources into {config.db_path}: a tick every {config.tick}s, "
             f"digests at '{config.digest_cron}' UTC. Ctrl-C or SIGTERM stops.")
        scheduler.start()  # blocks until stop() shuts it down
        # The executor's worker threads are joined at exit: an in-flight tick
        # finishes its current writes (or was cancelled before them).
        return 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        lock.release()
