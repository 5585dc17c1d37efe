"""Shared fixtures: a fresh database file and helpers to configure sources against the local server."""

from __future__ import annotations

import pytest

from db import open_db, sync_sources


@pytest.fixture
def database(tmp_path):
    db = open_db(tmp_path / "hypewatch.db")
    yield db
    db.close()


def configure(db, *sources: dict) -> None:
    """Replace the configured sources (as sources.toml would) with these."""
    rows = []
    for src in sources:
        rows.append({"kind": "feed", "publisher": "news", "every": 3600, "filter": False, "local": False, **src})
    sync_sources(db, rows)


@pytest.fixture(scope="session")
def make_httpserver():
    """pytest-httpserver on 127.0.0.1, threaded so one slow handler cannot stall the others."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
