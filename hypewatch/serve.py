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
from pathlib import Path
from typing import Any

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


def serve(db_path: str | Path, *, host: str = "127.0.0.1", port: int = 8001, workers: int = 1) -> None:
    """Run the site until interrupted (uvicorn), in ``workers`` processes sharing the port.

    One process runs Python on one core at a time (pages are rendered in Python): on a machine with
    more cores, one worker per core serves that many more requests per second. Each worker has its
    own caches and computes the home page's and charts' summaries before it takes requests.
    """
    import asyncio

    import uvicorn

    from hypewatch.site.data import warm_summaries

    if workers > 1:
        make_app(db_path)  # fail here, with the message, rather than in every worker
        os.environ[_WORKER_DB] = str(Path(db_path).resolve())
        log.info("serving db=%s url=http://%s:%s/ workers=%d", db_path, host, port, workers)
        uvicorn.run("hypewatch.serve:worker_app", factory=True, workers=workers, host=host, port=port,
                    log_level="warning")
        return
    ds = make_app(db_path)
    asyncio.run(ds.invoke_startup())
    warm_summaries(ds)  # the home page's and charts' aggregates are ready before the first visitor
    log.info("serving db=%s url=http://%s:%s/", db_path, host, port)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")


_WORKER_DB = "HYPEWATCH_SERVE_DB"


def worker_app() -> Any:
    """The ASGI app of one uvicorn worker process (``serve(workers=N)``): the database from the environment."""
    import threading

    from hypewatch.site.data import warm_summaries

    ds = make_app(os.environ[_WORKER_DB])
    # uvicorn calls this inside the worker's event loop: warm the summaries on a thread of their own
    warm = threading.Thread(target=warm_summaries, args=(ds,), name="hypewatch-warm")
    warm.start()
    warm.join()
    return ds.app()
