"""The `hypewatch` command: options, environment variables, summaries and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hypewatch.cli import cli
from tests.feeds import hair_items, rss


@pytest.fixture
def runner():
    return CliRunner()


def sources_file(tmp_path, server, *paths, extra=""):
    blocks = [f'[[source]]\nname = "{p.strip("/")}"\nurl = "{server.url_for(p)}"\npublisher = "news"\nevery = "1h"\nlocal = true\n{extra}'
              for p in paths]
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _commands(group, prefix=()):
    """Every registered command as its words ("sources", "check"), the groups included."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


def test_every_registered_command_is_listed_helped_and_documented(runner):
    """Iterates over what the CLI registers, so a new command without help or README entry fails."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    commands = list(_commands(cli))
    assert len(commands) >= 15
    for words, command in commands:
        parent = runner.invoke(cli, [*words[:-1], "--help"])
        assert parent.exit_code == 0 and words[-1] in parent.output, words
        own = runner.invoke(cli, [*words, "--help"])
        assert own.exit_code == 0, (words, own.output)
        assert (command.help or "").strip(), f"hypewatch {' '.join(words)} has no help text"
        assert f"hypewatch {' '.join(words)}" in readme, f"README does not document `hypewatch {' '.join(words)}`"


def test_console_script_is_installed():
    proc = subprocess.run([sys.executable, "-m", "hypewatch", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "harvest" in proc.stdout


def test_harvest_summary_and_exit_codes(runner, httpserver, tmp_path):
    httpserver.expect_request("/good").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    httpserver.expect_request("/bad").respond_with_data("nope", status=500)
    src = sources_file(tmp_path, httpserver, "/good", "/bad")
    db = tmp_path / "x.db"
    res = runner.invoke(cli, ["harvest", "--db", str(db), "--sources", str(src), "--no-fulltext"])
    assert res.exit_code == 0, res.output
    assert "good" in res.output and "FAILED" in res.output and "HTTP 500" in res.output
    assert "2 sources: 1 ok" in res.output and "2 new items" in res.output
    # nothing is due any more
    res = runner.invoke(cli, ["harvest", "--db", str(db), "--sources", str(src)])
    assert res.exit_code == 0 and "No source is due" in res.output
    # every source failed: exit status 1
    res = runner.invoke(cli, ["harvest", "--db", str(db), "--sources", str(src), "--source", "bad"])
    assert res.exit_code == 1
    res = runner.invoke(cli, ["status", "--db", str(db), "--sources", str(src)])
    assert res.exit_code == 0 and "errors in a row: 2" in res.output and "items=2" in res.output


def test_environment_variables(runner, httpserver, tmp_path):
    httpserver.expect_request("/good").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    src = sources_file(tmp_path, httpserver, "/good")
    db = tmp_path / "env.db"
    res = runner.invoke(cli, ["harvest", "--no-fulltext"], env={"HYPEWATCH_DB": str(db), "HYPEWATCH_SOURCES": str(src)})
    assert res.exit_code == 0, res.output
    assert db.exists()


def test_configuration_errors_exit_2_with_one_line(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "x"\nurl = "https://x.example/"\nkind = "podcast"\n', encoding="utf-8")
    res = runner.invoke(cli, ["harvest", "--db", str(tmp_path / "x.db"), "--sources", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}:1: source 'x': unknown kind 'podcast'" in res.output
    res = runner.invoke(cli, ["harvest", "--db", str(tmp_path / "x.db"), "--source", "nope"])
    assert res.exit_code == 2 and "no source named 'nope'" in res.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 50)
    res = runner.invoke(cli, ["status", "--db", str(junk)])
    assert res.exit_code == 2 and "cannot open as a hypewatch database" in res.output


def test_sources_list_check_and_opml(runner, httpserver, tmp_path):
    httpserver.expect_request("/good").respond_with_data(rss(hair_items(3), title="Good feed"),
                                                         content_type="application/rss+xml")
    httpserver.expect_request("/page").respond_with_data("<html><body>hi</body></html>", content_type="text/html")
    src = sources_file(tmp_path, httpserver, "/good", "/page")
    res = runner.invoke(cli, ["sources", "list", "--sources", str(src), "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 0 and "2 sources in" in res.output
    res = runner.invoke(cli, ["sources", "check", "--sources", str(src)])
    assert res.exit_code == 0
    assert "ok   good: HTTP 200, 3 entries, title 'Good feed'" in res.output
    assert "FAIL page:" in res.output and "1 of 2 sources ok" in res.output
    opml = tmp_path / "out.opml"
    assert runner.invoke(cli, ["sources", "export-opml", "--sources", str(src), "-o", str(opml)]).exit_code == 0
    assert opml.read_text().count("<outline") == 2
    other = tmp_path / "other.toml"
    other.write_text('[[source]]\nname = "good"\nurl = "' + httpserver.url_for("/good") + '"\nlocal = true\n', encoding="utf-8")
    res = runner.invoke(cli, ["sources", "import-opml", str(opml), "--sources", str(other)])
    assert res.exit_code == 0 and "1 new feeds" in res.output and "1 already present" in res.output
    assert "/page" in other.read_text()


def test_score_jsonl_contract(runner):
    lines = [
        json.dumps({"id": "a", "title": "Minoxidil regrows hair in mice", "text": "In mice, hair regrew."}),
        "not json",
        json.dumps({"id": "c", "title": "Meta-analysis of finasteride trials", "text": "A systematic review."}),
    ]
    res = runner.invoke(cli, ["score-jsonl"], input="\n".join(lines) + "\n")
    assert res.exit_code == 0
    out = [json.loads(line) for line in res.output.splitlines()]
    assert [o.get("id") for o in out] == ["a", None, "c"]
    assert "error" in out[1]
    assert out[0]["evidence_stage"] == "animal" and out[2]["evidence_stage"] == "meta_analysis"
    assert set(out[0]) >= {"relevant", "evidence_stage", "commercial_interest", "claim_strength", "hype",
                           "hype_score", "treatments", "reasons", "scoring_version"}


def test_score_and_rescore(runner, httpserver, tmp_path):
    httpserver.expect_request("/good").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    src = sources_file(tmp_path, httpserver, "/good")
    db = tmp_path / "x.db"
    runner.invoke(cli, ["harvest", "--db", str(db), "--sources", str(src), "--no-fulltext"])
    res = runner.invoke(cli, ["score", "--db", str(db)])
    assert res.exit_code == 0 and "Scored 0 items" in res.output
    res = runner.invoke(cli, ["score", "--db", str(db), "--rescore"])
    assert "Scored 2 items" in res.output
    from db import open_db

    conn = open_db(db)
    conn.execute("update items set scoring_version = 'old'")
    conn.conn.commit()
    assert "Scored 2 items" in runner.invoke(cli, ["score", "--db", str(db)]).output


def test_harvest_rescores_a_database_from_before_claim_strength(runner, httpserver, tmp_path, monkeypatch):
    """Items stored by an older scorer (and schema) get the claim strength from the automatic rescore."""
    import sqlite3

    from sqlite_utils import Database

    from db import save_harvest, sync_sources
    from db.schema import migrations
    from harvester import scores
    from scoring import SCORING_VERSION

    real = scores.score_item

    def score_item(item):  # a known claim strength, whatever the scorer makes of the text
        score = real(item)
        score.claim_strength = "conditional_causal"
        return score

    monkeypatch.setattr(scores, "score_item", score_item)
    httpserver.expect_request("/good").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    src = sources_file(tmp_path, httpserver, "/good")
    path = tmp_path / "x.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="m008_claim_strength")
    sync_sources(old, [{"name": "good", "url": httpserver.url_for("/good"), "kind": "feed", "publisher": "news",
                        "every": 3600}])
    save_harvest(old, "good", source_changes={}, fetch={"started_at": "2026-01-01T00:00:00Z", "status": "ok"},
                 new_items=[{"id": "stored", "source": "good", "title": "Minoxidil may regrow hair", "text": "In mice.",
                             "first_seen_at": "2026-01-01T00:00:00Z", "fetched_at": "2026-01-01T00:00:00Z",
                             "content_hash": "h", "relevant": 1, "evidence_stage": "animal", "hype": "low",
                             "commercial_interest": "none", "scoring_version": "before-claim-strength"}])
    old.close()
    res = runner.invoke(cli, ["harvest", "--db", str(path), "--sources", str(src), "--no-fulltext"])
    assert res.exit_code == 0, res.output
    assert f"Rescored 1 items with scorer {SCORING_VERSION}" in res.output
    from db import open_db

    db = open_db(path)
    rows = db.execute("SELECT id, claim_strength, scoring_version FROM items ORDER BY id = 'stored'").fetchall()
    assert [(r[1], r[2]) for r in rows] == [("conditional_causal", SCORING_VERSION)] * 2  # harvested, then stored
    # `hypewatch score --rescore` writes it too
    monkeypatch.setattr(scores, "score_item", real)
    db.execute("UPDATE items SET claim_strength = NULL")
    db.conn.commit()
    assert "Scored 2 items" in runner.invoke(cli, ["score", "--db", str(path), "--rescore"]).output
    assert db.execute("SELECT count(*) FROM items WHERE claim_strength IS NULL").fetchone()[0] == 0


def test_eval_command(runner, tmp_path):
    labelled = tmp_path / "l.jsonl"
    labelled.write_text(json.dumps({"id": "x", "title": "Hair regrowth in mice", "text": "In mice, hair regrew.",
                                    "relevant": True, "evidence_stage": "animal", "commercial_interest": "none",
                                    "hype": "low", "treatments": []}) + "\n", encoding="utf-8")
    res = runner.invoke(cli, ["eval", str(labelled)])
    assert res.exit_code == 0 and "evidence_stage" in res.output
