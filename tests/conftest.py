"""Shared fixtures: a fresh database file and helpers to configure sources against the local server."""

from __future__ import annotations

import os

import pytest

from db import open_db, sync_sources

#: The slow files: a fresh clone with pip install, a real browser, the service's processes, the
#: corpora of odd feeds and pages. `make test` runs them; `pytest -m "not slow"` skips them.
SLOW_FILES = {"test_make_demo.py", "test_browser.py", "test_service.py", "test_corpus.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


#: Variables that locate test material or caches rather than configure hypewatch.
_KEEP = {"HYPEWATCH_SHARED", "HYPEWATCH_CACHE_DIR"}


@pytest.fixture(autouse=True)
def _no_hypewatch_settings_from_the_shell(monkeypatch):
    """A HYPEWATCH_* setting in the developer's environment must not change what a test sees
    (subprocesses the tests start inherit the cleaned environment too)."""
    for name in list(os.environ):
        if name.startswith("HYPEWATCH_") and name not in _KEEP:
            monkeypatch.delenv(name)


@pytest.fixture
def database(tmp_path):
    db = open_db(tmp_path / "hypewatch.db")
    yield db
    db.close()


def configure(db, *sources: dict) -> None:
    """Replace the configured sources (as sources.toml would) with these.

    Local unless a test says otherwise: the tests' feeds are served on 127.0.0.1, which the
    address policy refuses to sources not marked local.
    """
    rows = []
    for src in sources:
        rows.append({"kind": "feed", "publisher": "news", "every": 3600, "filter": False, "local": True, **src})
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
