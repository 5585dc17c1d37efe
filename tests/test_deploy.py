"""Deployment files: checked statically here; the image is built only where a Docker engine runs."""

from __future__ import annotations

import configparser
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hypewatch.cli import cli

DEPLOY = Path(__file__).parent.parent / "deploy"


def test_dockerfile_is_slim_non_root_with_healthcheck_and_volume():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1] != "USER root"
    assert "HEALTHCHECK" in text and 'VOLUME ["/data"]' in text
    for path in ("hypewatch", "harvester", "scoring", "db", "deploy/datasette"):
        assert f"COPY {path} " in text
    assert "pip install" in text  # the site's Datasette plugins are entry points of the installed distribution


def test_compose_shares_one_volume_between_harvester_and_site():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"harvester", "site"}
    assert "--no-serve" in services["harvester"]["command"]
    assert services["site"]["command"][:2] == ["hypewatch", "serve"]
    volumes = {s: services[s]["volumes"][0].split(":")[0] for s in services}
    assert volumes["harvester"] == volumes["site"] in compose["volumes"]


@pytest.mark.parametrize("unit", ["hypewatch-harvester.service", "hypewatch-site.service"])
def test_systemd_units(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["User"] == "hypewatch" and service["ExecStart"].startswith("/opt/hypewatch/.venv/bin/hypewatch ")
    assert parser["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode,
                    reason="no Docker engine on this machine; the files are checked statically above")
def test_image_builds():
    subprocess.run(["docker", "build", "-f", "deploy/Dockerfile", "-t", "hypewatch-test", "."],
                   cwd=DEPLOY.parent, check=True, timeout=900)


def test_snapshot_is_consistent_and_never_overwrites(tmp_path):
    from db import open_db, save_harvest, sync_sources

    db = open_db(tmp_path / "live.db")
    sync_sources(db, [{"name": "A", "url": "https://e.org/f", "kind": "feed", "publisher": "news", "every": 60}])
    save_harvest(db, "A", source_changes={}, new_items=[{"id": "i1", "source": "A", "title": "t", "first_seen_at": "x",
                                                         "fetched_at": "x", "content_hash": "h"}],
                 fetch={"started_at": "x", "status": "ok"})
    runner = CliRunner()
    out = tmp_path / "snap.db"
    res = runner.invoke(cli, ["snapshot", "--db", str(tmp_path / "live.db"), str(out)])
    assert res.exit_code == 0 and "1 items" in res.output
    conn = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"
    assert conn.execute("select count(*) from items_fts where items_fts match 't'").fetchone()[0] == 1
    res = runner.invoke(cli, ["snapshot", "--db", str(tmp_path / "live.db"), str(out)])
    assert res.exit_code == 1 and "exists" in res.output
