"""The published site: a Datasette instance on the database, configured by deploy/datasette.

``make_app`` builds the instance (tests use it in-process with ``ds.client``);
``serve`` runs it with uvicorn for ``hypewatch serve``. Whatever the file is
called, the database is published under the name ``hypewatch``, read-only
(Datasette opens it with ``mode=ro``) and with the time limits of
``deploy/datasette/settings.json``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from harvester.lifeline import die_with_parent
from hypewatch.site.slots import SLOTS_DIR_ENV

__all__ = ["CONFIG_DIR", "DATABASE_NAME", "ServeError", "make_app", "serve"]

log = logging.getLogger(__name__)

DATABASE_NAME = "hypewatch"
#: The shipped Datasette configuration directory (metadata.yaml, settings.json, templates/, static/).
CONFIG_DIR = Path(os.environ.get("HYPEWATCH_SITE_DIR") or Path(__file__).resolve().parent.parent / "deploy" / "datasette")


class ServeError(Exception):
    """The site cannot start (missing configuration directory or database); the message says what to do."""


def make_app(db_path: str | Path, *, config_dir: str | Path | None = None,
             settings: dict[str, Any] | None = None) -> Any:
    """A Datasette instance serving ``db_path`` as the ``hypewatch`` database with the shipped configuration.

    ``settings`` override individual entries of settings.json (tests use it for short time limits).
    """
    from datasette.app import Datasette

    from hypewatch.site.database import SiteDatabase

    config = Path(config_dir) if config_dir else CONFIG_DIR
    if not (config / "metadata.yaml").is_file():
        raise ServeError(f"{config}: no metadata.yaml there; set HYPEWATCH_SITE_DIR to the deploy/datasette "
                         "directory of a hypewatch checkout")
    path = Path(db_path).resolve()
    if not path.is_file():
        raise ServeError(f"{db_path}: no such database; run `hypewatch harvest` (or `hypewatch demo`) first, "
                         "or point --db at an existing file")
    merged = json.loads((config / "settings.json").read_text()) if (config / "settings.json").is_file() else {}
    merged.update(settings or {})
    ds = Datasette(files=[], config_dir=config.resolve(), settings=merged)
    # No files were given, so Datasette added an in-memory database: the site serves only ours.
    if "_memory" in ds.databases:
        ds.remove_database("_memory")
    ds.add_database(SiteDatabase(ds, path=str(path), is_mutable=True), name=DATABASE_NAME)
    return ds


def serve(db_path: str | Path, *, host: str = "127.0.0.1", port: int = 8001, workers: int = 1,
          forwarded_allow_ips: str = "127.0.0.1") -> None:
    """Run the site until interrupted (uvicorn), in ``workers`` processes sharing the port.

    One process runs Python on one core at a time (pages are rendered in Python): on a machine with
    more cores, one worker per core serves that many more requests per second. Each worker listens
    on its own socket bound with SO_REUSEPORT, so the kernel spreads connections evenly (with one
    shared socket, the first worker to wake accepted nearly every keep-alive connection), has its
    own caches and computes the home page's and charts' summaries before it takes requests.

    ``forwarded_allow_ips`` are the proxies whose X-Forwarded-For names the client (uvicorn's
    setting): the per-client limits count the address it gives. Behind a proxy on another host
    (compose's nginx), name that proxy, or "*" when only the proxy can reach the site.
    """
    import asyncio

    import uvicorn

    from hypewatch.site.data import warm_summaries

    if os.environ.get("HYPEWATCH_DIE_WITH_PARENT") == "1":
        die_with_parent()  # started by `hypewatch run`: never outlive it
    if workers > 1:
        _serve_workers(db_path, host, port, workers, forwarded_allow_ips)
        return
    ds = make_app(db_path)
    asyncio.run(ds.invoke_startup())
    warm_summaries(ds)  # the home page's and charts' aggregates are ready before the first visitor
    log.info("serving db=%s url=http://%s:%s/", db_path, host, port)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _serve_workers(db_path: str | Path, host: str, port: int, workers: int, forwarded_allow_ips: str) -> None:
    """Start ``workers`` processes on (host, port); stop them all on SIGTERM/Ctrl-C or when one of them exits."""
    import multiprocessing
    import signal
    import time

    make_app(db_path)  # fail here, with the message, rather than in every worker
    holder = _listen(host, port)  # resolves port 0, and keeps the port ours while the workers start
    port = holder.getsockname()[1]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(Path(db_path).resolve()), host, port, forwarded_allow_ips),
                         name=f"hypewatch-site-{i}")
             for i in range(workers)]
    # The workers share their per-client SQL slots through lock files here (see hypewatch.site.slots).
    slots_dir = tempfile.TemporaryDirectory(prefix="hypewatch-sql-slots-")
    previous_dir = os.environ.get(SLOTS_DIR_ENV)
    os.environ[SLOTS_DIR_ENV] = slots_dir.name
    try:
        for proc in procs:
            proc.start()
    finally:
        if previous_dir is None:
            os.environ.pop(SLOTS_DIR_ENV, None)
        else:
            os.environ[SLOTS_DIR_ENV] = previous_dir
    log.info("serving db=%s url=http://%s:%s/ workers=%d", db_path, host, port, workers)
    stopping = False

    def stop(signum=None, frame=None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping and all(proc.is_alive() for proc in procs):
            time.sleep(0.5)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        holder.close()
        slots_dir.cleanup()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not stopping:
        raise ServeError("a site worker process exited; see the messages above")


def _worker(db_path: str, host: str, port: int, forwarded_allow_ips: str = "127.0.0.1") -> None:
    """One worker process: its own SO_REUSEPORT socket, app and caches; warm, then serve."""
    die_with_parent()  # a worker never outlives the process that serves with it
    import asyncio

    import uvicorn

    from hypewatch.site.data import warm_summaries

    logging.basicConfig(level=logging.WARNING)
    ds = make_app(db_path)
    asyncio.run(ds.invoke_startup())
    warm_summaries(ds)
    sock = _listen(host, port)
    uvicorn.Server(uvicorn.Config(ds.app(), log_level="warning", proxy_headers=True,
                                  forwarded_allow_ips=forwarded_allow_ips)).run(sockets=[sock])
