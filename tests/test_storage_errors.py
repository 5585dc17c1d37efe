"""A database that refuses writes, an unwritable path, an absurd interval: one line each, never a traceback."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from db import batches, open_db
from harvester import writer
from harvester.pipeline import HarvestSettings, harvest
from hypewatch.cli import cli
from tests.conftest import configure
from tests.feeds import hair_items, rss

FEEDS = 5


@pytest.fixture
def full_disk(monkeypatch):
    """The writer's connection may not grow the file: SQLite's own "database or disk is full"."""
    def set_page_cache(db, mib):
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")

    monkeypatch.setattr(writer.batches, "set_page_cache", set_page_cache)


@pytest.fixture
def feeds(httpserver):
    for i in range(FEEDS):
        httpserver.expect_request(f"/f{i}").respond_with_data(rss(hair_items(20, prefix=f"https://e.org/{i}/")),
                                                              content_type="application/rss+xml")
    return [httpserver.url_for(f"/f{i}") for i in range(FEEDS)]


def test_full_disk_is_one_line_per_source_and_the_database_stays_intact(database, feeds, full_disk, caplog):
    configure(database, *({"name": f"f{i}", "url": url} for i, url in enumerate(feeds)))
    with caplog.at_level(logging.INFO):
        outcomes = harvest(database, include_not_due=True, settings=HarvestSettings(fulltext=False))
    assert len(outcomes) == FEEDS
    for o in outcomes:
        assert o.status == "failed" and "database or disk is full" in o.error and "free disk space" in o.error
        assert "\n" not in o.error
    assert not [r for r in caplog.records if r.exc_info], "no tracebacks"
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) <= FEEDS
    assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert database["items"].count == 0
    assert all(row["next_check_at"] for row in database["sources"].rows)  # still due: nothing was recorded


def sources_toml(tmp_path, urls, every="1h"):
    path = tmp_path / "sources.toml"
    path.write_text("".join(f'[[source]]\nname = "f{i}"\nurl = "{url}"\nevery = "{every}"\nlocal = true\n\n'
                            for i, url in enumerate(urls)), encoding="utf-8")
    return path


def test_harvest_command_on_a_full_disk_exits_with_one_message(tmp_path, feeds, full_disk):
    db = tmp_path / "h.db"
    open_db(db).close()
    res = CliRunner().invoke(cli, ["harvest", "--db", str(db), "--sources", str(sources_toml(tmp_path, feeds)),
                                   "--no-fulltext"])
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    assert res.output.count("Error:") == 1 and "free disk space" in res.output


@pytest.mark.parametrize("command", [["harvest", "--all"], ["run", "--no-serve"]])
def test_unwritable_database_path_is_a_configuration_error(tmp_path, command):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = CliRunner().invoke(cli, [*command, "--db", str(blocker / "h.db")])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "--db" in lines[0]


def test_absurd_interval_is_a_sources_error_not_an_overflow(tmp_path, feeds):
    toml = sources_toml(tmp_path, feeds[:1], every="10000000w")
    res = CliRunner().invoke(cli, ["harvest", "--db", str(tmp_path / "h.db"), "--sources", str(toml)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert f"{toml}:1: source 'f0': every = '10000000w'" in res.output and "366d" in res.output
