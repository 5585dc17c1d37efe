"""The published site, in-process with Datasette's client: pages, canned queries, feeds, SQL endpoint, safety."""

from __future__ import annotations

import asyncio
import html
import json
import re
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import feedparser
import pytest
from lxml import etree

from hypewatch.serve import CONFIG_DIR, DATABASE_NAME, ServeError, make_app
from hypewatch.site import data, feeds, labels, markup
from tests.sitedata import HOSTILE_ID, ITEMS, XSS_MARK, build_site_db

CANNED = ["latest", "human_evidence", "hype_alerts", "treatment_pipeline", "source_health"]
FEEDS = ["human_evidence_feed.atom", "hype_alerts_feed.atom", "treatment_feed.atom?treatment=minoxidil"]
ATOM = "{http://www.w3.org/2005/Atom}"


def run(coro):
    return asyncio.run(coro)


def fetch(ds, path: str):
    return run(ds.client.get(path))


def fetch_all(ds, paths):
    async def go():
        return [await ds.client.get(p) for p in paths]

    return run(go())


@pytest.fixture(scope="module")
def site_db(tmp_path_factory) -> Path:
    return build_site_db(tmp_path_factory.mktemp("site") / "site-fixture.db")


@pytest.fixture(scope="module")
def ds(site_db):
    return make_app(site_db)


@pytest.fixture(scope="module")
def demo_ds(tmp_path_factory):
    return make_app(build_site_db(tmp_path_factory.mktemp("demo") / "demo.db", demo=True))


@pytest.fixture(scope="module")
def empty_ds(tmp_path_factory):
    return make_app(build_site_db(tmp_path_factory.mktemp("empty") / "empty.db", items=[]))


# -- safety checker ----------------------------------------------------------------------------------------


class MarkupAudit(HTMLParser):
    """Collects what a browser would execute: script bodies, on* attributes, script-bearing URLs."""

    URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in self.URL_ATTRS and value is not None:
                scheme = re.sub(r"[\s\x00-\x1f]", "", html.unescape(value)).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>")
        if tag in ("script", "iframe", "object", "embed"):
            self._in_script = tag == "script"
            if tag != "script":
                self.problems.append(f"<{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and XSS_MARK in data:
            self.problems.append(f"script containing {XSS_MARK}")


def assert_inert_html(text: str, where: str) -> None:
    audit = MarkupAudit()
    audit.feed(text)
    audit.close()
    assert not audit.problems, f"{where}: {audit.problems}"
    assert f"<script>alert('{XSS_MARK}" not in text, where
    assert not re.search(r"<img[^>]*onerror", text, re.I), where


def test_the_markup_audit_catches_live_payloads():
    for live in ("<img src=x onerror=alert(1)>", f"<script>alert('{XSS_MARK}')</script>",
                 '<a href="javascript:alert(1)">x</a>', '<a href=" JaVa&#x53;cript:alert(1)">x</a>', "<iframe src=x>"):
        with pytest.raises(AssertionError):
            assert_inert_html(live, "self-test")
    assert_inert_html("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img onerror=x&gt;", "self-test")


def assert_valid_feed(body: bytes, where: str):
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, f"{where}: {parsed.get('bozo_exception')}"
    assert parsed.version == "atom10", where
    assert parsed.feed.get("title"), where
    return parsed


def assert_inert_feed(body: bytes, where: str) -> None:
    assert b"<script" not in body.lower(), where
    root = etree.fromstring(body)
    for link in root.iter(f"{ATOM}link"):
        assert urlsplit(link.get("href")).scheme in ("http", "https"), f"{where}: {link.get('href')}"
    for content in root.iter(f"{ATOM}content"):
        if content.get("type") == "html" and content.text:
            assert_inert_html(content.text, f"{where} content")


# -- configuration -------------------------------------------------------------------------------------------


def test_shipped_configuration_boots(site_db):
    """Exactly deploy/datasette: metadata.yaml, settings.json, the plugins and the templates all load."""
    assert (CONFIG_DIR / "metadata.yaml").is_file()
    app = make_app(site_db)
    plugins, settings, databases, home = fetch_all(
        app, ["/-/plugins.json", "/-/settings.json", "/-/databases.json", "/"])
    names = {p["name"] for p in plugins.json()}
    assert "hypewatch" in names and "datasette-atom" in names
    hooks = {h for p in plugins.json() if p["name"] == "hypewatch" for h in p["hooks"]}
    assert {"render_cell", "register_routes", "startup", "extra_template_vars", "prepare_connection"} <= hooks
    assert settings.json()["sql_time_limit_ms"] == 1000
    assert settings.json()["suggest_facets"] is False
    assert [d["name"] for d in databases.json()] == [DATABASE_NAME]
    assert home.status_code == 200 and "hypewatch collects hair-loss research news" in home.text
    metadata = fetch(app, "/-/metadata.json").json()
    queries = metadata["databases"]["hypewatch"]["queries"]
    assert set(CANNED) | {"human_evidence_feed", "hype_alerts_feed", "treatment_feed"} <= set(queries)
    assert metadata["license"] == "MIT"


SITE_PLUGINS = ("labels", "markup", "search", "cells", "charts", "pages", "feeds", "guard", "sandbox", "httpcache")


def test_site_plugins_are_entry_points_of_the_distribution(ds):
    """Each hypewatch.site plugin module is a `datasette` entry point: Datasette loads it however it starts."""
    import importlib
    from importlib.metadata import entry_points

    from datasette.plugins import pm

    declared = {ep.name: ep.value for ep in entry_points(group="datasette") if ep.dist.name == "hypewatch"}
    assert declared == {f"hypewatch_{name}": f"hypewatch.site.{name}" for name in SITE_PLUGINS}
    for name, module in declared.items():
        assert pm.get_plugin(name) is importlib.import_module(module), name
    listed = [p for p in fetch(ds, "/-/plugins.json").json() if p["name"] == "hypewatch"]
    assert len(listed) == len(SITE_PLUGINS) and all(p["hooks"] for p in listed)
    assert {h for p in listed for h in p["hooks"]} == {
        "asgi_wrapper", "filters_from_request", "register_facet_classes", "render_cell", "register_routes",
        "extra_css_urls", "prepare_jinja2_environment", "extra_template_vars", "prepare_connection",
        "register_output_renderer", "startup", "handle_exception"}
    assert not (CONFIG_DIR / "plugins").exists()  # deploy/datasette holds data only


def test_plain_datasette_command_on_the_config_dir_loads_the_plugins(tmp_path):
    """`datasette DIR` on a copy of deploy/datasette holding the database: routes, search, cells and feeds work."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(CONFIG_DIR, site)
    build_site_db(site / "hypewatch.db")

    def get(path: str) -> str:
        result = subprocess.run([sys.executable, "-m", "datasette", str(site), "--get", path],
                                capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, (path, result.stdout[-500:], result.stderr[-2000:])
        return result.stdout

    assert get("/-/charts").count("<svg") >= 4
    search = get("/hypewatch/items?_search=mice")
    assert "the 1,000 most recently harvested matches" in search and 'class="hw-badge' in search
    assert assert_valid_feed(get("/hypewatch/hype_alerts_feed.atom").encode(), "plain datasette").entries
    assert assert_valid_feed(get("/hypewatch/treatment_feed.atom?treatment=nope").encode(), "empty").entries == []


def test_the_feeds_use_their_own_renderer_and_leave_datasette_atom_unpatched(ds, site_db):
    """.atom is rendered by hypewatch.site.feeds (register_output_renderer); datasette_atom is not modified."""
    import datasette_atom

    assert ds.renderers["atom"] == (feeds.render_atom, datasette_atom.can_render_atom)
    # In a fresh interpreter: datasette_atom as imported, then every plugin loaded, started and a feed served.
    script = (
        "import asyncio, sys, datasette_atom\n"
        "before = dict(vars(datasette_atom))\n"
        "from hypewatch.serve import make_app\n"
        "ds = make_app(sys.argv[1])\n"
        "assert asyncio.run(ds.client.get('/hypewatch/hype_alerts_feed.atom')).status_code == 200\n"
        "after = vars(datasette_atom)\n"
        "print(sorted(k for k in before.keys() | after.keys() if before.get(k) is not after.get(k)))\n")
    result = subprocess.run([sys.executable, "-c", script, str(site_db)], capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_database_is_named_hypewatch_whatever_the_file(tmp_path):
    path = build_site_db(tmp_path / "some-other-name.sqlite", items=ITEMS[:2])
    app = make_app(path)
    assert fetch(app, "/hypewatch/items.json?_shape=objects").status_code == 200
    assert fetch(app, "/some-other-name/items.json").status_code == 404


def test_missing_database_or_config_is_a_clear_error(tmp_path):
    with pytest.raises(ServeError, match="no such database"):
        make_app(tmp_path / "nope.db")
    db = build_site_db(tmp_path / "x.db", items=[])
    with pytest.raises(ServeError, match="metadata.yaml"):
        make_app(db, config_dir=tmp_path)


def test_serve_command_is_registered():
    from click.testing import CliRunner

    from hypewatch.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--host" in result.output and "--db" in result.output


# -- pages -----------------------------------------------------------------------------------------------------


def test_home_page_explains_links_and_labels(ds):
    page = fetch(ds, "/")
    assert page.status_code == 200
    text = page.text
    for href in ("/hypewatch/latest", "/hypewatch/human_evidence", "/hypewatch/hype_alerts",
                 "/hypewatch/treatment_pipeline", "/hypewatch/source_health", "/-/charts", "/-/labels",
                 "/hypewatch/digest.atom", "/hypewatch/human_evidence_feed.atom", "/hypewatch/hype_alerts_feed.atom",
                 "/hypewatch/treatment_feed.atom?treatment=minoxidil", "/-/license", "/-/source"):
        assert f'href="{href}"' in text, href
    assert "Human RCT" in text and "Direct commercial interest" in text and "High hype" in text
    assert "Sample data" not in text
    assert "<svg" in text  # the evidence-over-time chart
    # the per-treatment pipeline: strongest stage, last 90 days, direct share
    assert 'href="/hypewatch/items?_treatment=minoxidil"' in text
    # every example query link runs
    examples = re.findall(r'href="(/hypewatch\?sql=[^"]+)"', text)
    assert len(examples) >= 4
    for response in fetch_all(ds, [html.unescape(e) for e in examples]):
        assert response.status_code == 200, response.text[:500]


def test_demo_database_is_labelled_on_every_page(demo_ds, ds):
    for path in ("/", "/hypewatch/items", f"/hypewatch/items/{HOSTILE_ID}", "/hypewatch/latest", "/-/charts"):
        assert "Sample data" in fetch(demo_ds, path).text, path
        assert "Sample data" not in fetch(ds, path).text, path


def test_items_table_has_facets_badges_and_newest_first(ds):
    data = fetch(ds, "/hypewatch/items.json?_shape=objects").json()
    facets = data["facet_results"]
    assert {"evidence_stage", "claim_strength", "commercial_interest", "hype", "source", "publisher",
            "treatments"} <= set(facets)
    assert facets["treatments"]["type"] == "item_treatments"
    published = [r["published"] for r in data["rows"]]
    assert published == sorted(published, reverse=True)
    page = fetch(ds, "/hypewatch/items")
    assert page.status_code == 200
    text = page.text
    for shown in ("Human RCT", "Meta-analysis", "Cells or tissue in the lab", "Animal study", "Human anecdote",
                  "Human study without control group",
                  "No study", "Direct commercial interest", "Indirect commercial interest", "No commercial interest",
                  "Low hype", "Medium hype", "High hype", "Not scored", "No claim", "Correlational claim",
                  "Conditional causal claim", "Direct causal claim"):
        assert shown in text, shown
    cells = re.findall(r'<td class="col-(?:evidence_stage|claim_strength|hype|commercial_interest) [^"]*"[^>]*>(.*?)</td>',
                       text, re.S)
    assert cells and all("hw-badge" in c for c in cells)
    assert len(re.findall(r'<td class="col-claim_strength ', text)) == len(data["rows"])
    assert not re.search(r">\s*(human_rct|meta_analysis|in_vitro|human_uncontrolled|no_claim|correlational"
                         r"|conditional_causal|direct_causal)\s*<", text)
    # titles link to the item page
    assert f'href="/hypewatch/items/{HOSTILE_ID}"' in text


def test_facet_filters_and_array_facet(ds):
    rows = fetch(ds, "/hypewatch/items.json?_shape=objects&evidence_stage=animal").json()["rows"]
    assert rows and {r["evidence_stage"] for r in rows} == {"animal"}
    rows = fetch(ds, "/hypewatch/items.json?_shape=objects&treatments__arraycontains=minoxidil").json()["rows"]
    assert len(rows) == 3 and all("minoxidil" in r["treatments"] for r in rows)
    page = fetch(ds, "/hypewatch/items?hype=high")
    assert page.status_code == 200 and "High hype" in page.text and "Low hype</span>" not in page.text


def test_claim_strength_is_a_facet_a_filter_and_a_documented_column(ds):
    expected = Counter(i["claim_strength"] for i in ITEMS if i.get("claim_strength"))
    assert set(expected) == {"no_claim", "correlational", "conditional_causal", "direct_causal"}  # the fixture has all
    facet = fetch(ds, "/hypewatch/items.json?_facet_size=max").json()["facet_results"]["claim_strength"]
    assert {v["value"]: v["count"] for v in facet["results"]} == dict(expected)
    rows = fetch(ds, "/hypewatch/items.json?_shape=objects&claim_strength=correlational").json()["rows"]
    assert [r["title"] for r in rows] == ["Ritlecitinib in alopecia areata: open-label extension to 96 weeks"]
    both = fetch(ds, "/hypewatch/items.json?_shape=objects&claim_strength=direct_causal&evidence_stage=animal").json()
    assert [r["title"] for r in both["rows"]] == ["Scientists CURE baldness in mice — human trials next year"]
    page = fetch(ds, "/hypewatch/items?claim_strength=direct_causal").text
    assert 'id="facet-claim_strength"' in page and "<strong>Claim strength" in page  # the facet, by its name
    assert re.search(r'<li class="hw-facet-selected">Direct causal claim &middot; ' + str(expected["direct_causal"]), page)
    assert re.search(r'data-column="claim_strength"[^>]*>\s*<a[^>]*>Claim strength', page)  # sortable heading
    whole = fetch(ds, "/hypewatch/items").text
    assert re.search(r'data-facet-value="conditional_causal">Conditional causal claim</a>', whole)
    metadata = fetch(ds, "/-/metadata.json").json()["databases"]["hypewatch"]
    items = metadata["tables"]["items"]
    assert "direct_causal" in items["columns"]["claim_strength"] and "claim strength" in items["description_html"]
    assert "claim_strength" in items["facets"] and "claim_strength" in items["sortable_columns"]
    for name in ("latest", "human_evidence", "hype_alerts"):
        row = fetch(ds, f"/hypewatch/{name}.json?_shape=objects").json()["rows"][0]
        assert row["claim_strength"] in expected, name
    # the SQL endpoint has the column, and hw_entry_html takes it as a ninth argument
    sql = ("select claim_strength, hw_entry_html(evidence_stage, commercial_interest, hype, treatments, summary, "
           "source, publisher, url, claim_strength) as html from items where claim_strength = 'conditional_causal'")
    rows = fetch(ds, "/hypewatch.json?_shape=objects&sql=" + quote(sql)).json()["rows"]
    assert len(rows) == 2 and all("Conditional causal claim" in r["html"] for r in rows)


def test_treatment_filter_and_facet_from_item_treatments(ds):
    """?_treatment= and the treatments facet read item_treatments; they agree with the JSON arrays."""
    data = fetch(ds, "/hypewatch/items.json?_shape=objects&_treatment=minoxidil&_size=max").json()
    assert len(data["rows"]) == 3 and all("minoxidil" in r["treatments"] for r in data["rows"])
    assert fetch(ds, "/hypewatch/items.json?_treatment=Minoxidil").json()["filtered_table_rows_count"] == 3
    both = fetch(ds, "/hypewatch/items.json?_shape=objects&_treatment=minoxidil&_treatment=finasteride").json()["rows"]
    assert all({"minoxidil", "finasteride"} <= set(json.loads(r["treatments"])) for r in both)
    assert fetch(ds, "/hypewatch/items.json?_treatment=no-such-thing").json()["filtered_table_rows_count"] == 0
    facet = fetch(ds, "/hypewatch/items.json?_treatment=minoxidil").json()["facet_results"]["treatments"]
    counts = {v["value"]: v["count"] for v in facet["results"]}
    assert counts["minoxidil"] == 3
    selected = [v for v in facet["results"] if v["selected"]]
    assert [v["value"] for v in selected] == ["minoxidil"] and "_treatment" not in selected[0]["toggle_url"]
    page = fetch(ds, "/hypewatch/items?_treatment=minoxidil")
    assert page.status_code == 200 and "treatment is minoxidil" in page.text
    assert 'id="facet-treatments"' in page.text


def test_search_is_capped_to_the_newest_matches(ds, site_db):
    """?_search= on items becomes the capped search: every match when few, the latest harvested N when many."""
    full = fetch(ds, "/hypewatch/items.json?_shape=objects&_search=mice").json()
    assert len(full["rows"]) == 2
    assert "the 1,000 most recently harvested matches" in full["human_description_en"]
    one = make_app(site_db)
    one._metadata_local["plugins"]["hypewatch"]["search_newest"] = 1
    rows = fetch(one, "/hypewatch/items.json?_shape=objects&_search=mice").json()["rows"]
    latest = fetch(ds, "/hypewatch.json?_shape=array&sql=" + quote(
        "select items.id from items_fts join items on items.rowid = items_fts.rowid "
        "where items_fts match 'mice' order by items_fts.rowid desc limit 1")).json()
    assert [r["id"] for r in rows] == [latest[0]["id"]]
    page = fetch(ds, "/hypewatch/items?_search=exosomes")
    assert 'value="exosomes"' in page.text  # the search box keeps the words
    assert fetch(ds, "/hypewatch/items.json?_search_title=exosomes").status_code == 200  # Datasette's own



def test_search_facets_count_only_the_matches_and_bad_raw_queries_fail_cleanly(ds):
    """The matches are found once and handed to the page, its count and its facets as rowids."""
    data = fetch(ds, "/hypewatch/items.json?_search=mice&_facet=evidence_stage").json()
    assert data["filtered_table_rows_count"] == 2
    counts = {v["value"]: v["count"] for v in data["facet_results"]["evidence_stage"]["results"]}
    assert sum(counts.values()) == 2
    none = fetch(ds, "/hypewatch/items.json?_search=zzzqqqnothing").json()
    assert none["filtered_table_rows_count"] == 0 and none["rows"] == []
    bad = fetch(ds, "/hypewatch/items.json?_search=%22unclosed&_searchmode=raw")
    # the page's own query reports the full-text syntax error, as Datasette's search does
    assert bad.status_code == 400 and bad.json()["error"] == "unterminated string"

def test_item_page_shows_reasons_with_cue_highlighted(ds, site_db):
    from db import store

    item_id = store.open_db(site_db).execute(
        "select id from items where title like 'Oral minoxidil%'").fetchone()[0]
    page = fetch(ds, f"/hypewatch/items/{item_id}")
    assert page.status_code == 200
    text = page.text
    assert "Why these labels" in text
    assert 'data-dimension="evidence_stage"' in text and 'data-dimension="hype"' in text
    assert "In this <mark>randomized, double-blind</mark>, placebo-controlled trial" in text
    assert 'href="https://doi.org/10.1000/jhs.2026.0142"' in text
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/39912345/"' in text
    assert re.search(r'<a class="hw-original" href="https://journal\.example\.org/articles/[0-9a-f]+"', text)
    assert "Human RCT" in text and "Low hype" in text
    badges = re.search(r'<p class="hw-badges">(.*?)</p>', text, re.S).group(1)
    assert badges.index("Human RCT") < badges.index("Direct causal claim") < badges.index("No commercial interest")
    assert 'class="hw-badge hw-claim-strength-direct-causal"' in badges
    # the claim strength's reasons, in their own section after the evidence stage's
    assert text.index('data-dimension="evidence_stage"') < text.index('data-dimension="claim_strength"') \
        < text.index('data-dimension="hype"')
    section = text[text.index('data-dimension="claim_strength"'):]
    section = section[:section.index("</section>")]
    assert "<h3>Claim strength</h3>" in section and "Direct causal claim" in section
    assert "low-dose oral minoxidil <mark>increased hair density</mark> at 24 weeks" in section
    nct = fetch(ds, "/hypewatch/items.json?_shape=objects&_search=Ritlecitinib").json()["rows"][0]
    assert 'href="https://clinicaltrials.gov/study/NCT04006457"' in fetch(ds, f"/hypewatch/items/{nct['id']}").text


def test_unscored_item_page(ds):
    row = fetch(ds, "/hypewatch/items.json?_shape=objects&_search=Unscored").json()["rows"][0]
    page = fetch(ds, f"/hypewatch/items/{row['id']}")
    assert page.status_code == 200 and "not been scored yet" in page.text


def test_canned_queries(ds):
    for name in CANNED:
        page = fetch(ds, f"/hypewatch/{name}")
        assert page.status_code == 200, name
    latest = fetch(ds, "/hypewatch/latest.json?_shape=objects").json()["rows"]
    assert "New heart-failure drug approved" not in [r["title"] for r in latest]  # off-topic left out
    assert [r["published"] for r in latest] == sorted((r["published"] for r in latest), reverse=True)
    human = fetch(ds, "/hypewatch/human_evidence.json?_shape=objects").json()["rows"]
    assert {r["evidence_stage"] for r in human} == {"human_rct", "meta_analysis"} and len(human) == 4
    alerts = fetch(ds, "/hypewatch/hype_alerts.json?_shape=objects").json()["rows"]
    assert {r["hype"] for r in alerts} == {"high"} and len(alerts) == 3
    pipeline = {r["treatment"]: r for r in fetch(ds, "/hypewatch/treatment_pipeline.json?_shape=objects").json()["rows"]}
    assert pipeline["minoxidil"]["strongest_evidence_stage"] == "human_rct"
    assert pipeline["minoxidil"]["items"] == 3 and pipeline["minoxidil"]["items_last_90_days"] == 3
    assert pipeline["minoxidil"]["direct_commercial_pct"] == 33
    assert pipeline["cerium nanoparticles"]["strongest_evidence_stage"] == "animal"
    assert pipeline["pyrilutamide"]["items_last_90_days"] == 0
    assert pipeline["minoxidil"]["latest_item"].startswith("Oral minoxidil")
    page = fetch(ds, "/hypewatch/treatment_pipeline").text
    assert "Meta-analysis" in page and 'class="hw-chip"' in page
    health = {r["name"]: r for r in fetch(ds, "/hypewatch/source_health.json?_shape=objects").json()["rows"]}
    assert health["Preprint Server: dermatology"]["error_count"] == 3
    assert list(health)[0] == "Preprint Server: dermatology"  # failing first
    assert health["Hair Loss Forum"]["items"] == 4


def test_feeds_are_valid_atom_with_stable_ids(ds):
    claims = {r["id"]: r["claim_strength"] for r in fetch(ds, "/hypewatch.json?_shape=objects&sql=" + quote(
        "select id, claim_strength from items")).json()["rows"]}
    names = {"no_claim": "No claim", "correlational": "Correlational claim",
             "conditional_causal": "Conditional causal claim", "direct_causal": "Direct causal claim"}
    for path in FEEDS:
        response = fetch(ds, f"/hypewatch/{path}")
        assert response.status_code == 200, path
        parsed = assert_valid_feed(response.content, path)
        assert parsed.entries, path
        again = assert_valid_feed(fetch(ds, f"/hypewatch/{path}").content, path)
        assert [e.id for e in parsed.entries] == [e.id for e in again.entries]
        assert all(re.fullmatch(r"tag:hypewatch,2026:item/[0-9a-f]{16}", e.id) for e in parsed.entries)
        assert all(urlsplit(e.link).scheme in ("http", "https") for e in parsed.entries)
        for entry in parsed.entries:  # every entry names its claim strength with its other labels
            assert f" · {names[claims[entry.id.rsplit('/', 1)[1]]]} · " in entry.content[0].value, (path, entry.id)
        assert_inert_feed(response.content, path)
    human = feedparser.parse(fetch(ds, "/hypewatch/human_evidence_feed.atom").content)
    assert len(human.entries) == 4 and human.feed.title == "hypewatch: human evidence (RCTs and meta-analyses)"
    first = human.entries[0]
    assert first.title.startswith("Oral minoxidil") and "Human RCT" in first.content[0].value
    assert first.link.startswith("https://journal.example.org/")
    minox = feedparser.parse(fetch(ds, "/hypewatch/treatment_feed.atom?treatment=minoxidil").content)
    assert len(minox.entries) == 3
    alerts = feedparser.parse(fetch(ds, "/hypewatch/hype_alerts_feed.atom").content)
    hostile = next(e for e in alerts.entries if e.id.endswith(HOSTILE_ID))
    # its javascript: URL is replaced by the item's page on the site
    assert hostile.link == f"http://localhost/hypewatch/items/{HOSTILE_ID}"
    mice = next(e for e in alerts.entries if e.title.startswith("Scientists CURE baldness"))
    assert "<strong>Animal study</strong> · Direct causal claim · No commercial interest · High hype" in mice.content[0].value


def test_empty_feeds_are_valid(ds, empty_ds):
    for app, path in [(ds, "treatment_feed.atom?treatment=no-such-treatment"), (ds, "treatment_feed.atom"),
                      (empty_ds, "human_evidence_feed.atom"), (empty_ds, "hype_alerts_feed.atom"),
                      (empty_ds, "treatment_feed.atom?treatment=minoxidil")]:
        response = fetch(app, f"/hypewatch/{path}")
        assert response.status_code == 200, (path, response.text[:300])
        parsed = assert_valid_feed(response.content, path)
        assert parsed.entries == []
    if "digest" in fetch(ds, "/-/metadata.json").json()["databases"]["hypewatch"].get("queries", {}):
        # the digest engineer's feed: with no digests built yet it is a valid, empty feed too
        response = fetch(ds, "/hypewatch/digest.atom")
        assert response.status_code == 200
        assert assert_valid_feed(response.content, "digest.atom").entries == []


def test_empty_database_pages(empty_ds):
    for path in ["/", "/hypewatch/items", "/-/charts", *[f"/hypewatch/{n}" for n in CANNED]]:
        assert fetch(empty_ds, path).status_code == 200, path


def test_home_and_charts_summaries_follow_the_data(tmp_path, monkeypatch):
    """Aggregates are cached (they scan every item) but recomputed once a harvest has committed."""
    path = build_site_db(tmp_path / "cache.db", items=[])
    app = make_app(path)
    before = fetch(app, "/").text
    assert "_treatment=minoxidil" not in before
    build_site_db(tmp_path / "other.db")  # same items as the shared fixture, copied in below
    from db import store

    src, dst = store.open_db(tmp_path / "other.db"), store.open_db(path)
    dst["sources"].insert_all(src["sources"].rows, replace=True)
    dst["items"].insert_all(src["items"].rows, replace=True)
    dst.conn.commit()
    assert fetch(app, "/").text == before  # within the fresh window: served from the cache
    monkeypatch.setattr(data, "SUMMARY_FRESH_S", 0)
    app._metadata_local["plugins"]["hypewatch"]["data_refresh_s"] = 0
    # the next requests get the previous summary while a thread computes the new one
    deadline = time.monotonic() + 20
    while 'href="/hypewatch/items?_treatment=minoxidil"' not in fetch(app, "/").text:
        assert time.monotonic() < deadline, "the home page's summary was not refreshed"
        time.sleep(0.1)
    fetch(app, "/-/charts")
    while "minoxidil" not in fetch(app, "/-/charts").text:
        assert time.monotonic() < deadline, "the charts were not refreshed"
        time.sleep(0.1)


def test_charts(ds):
    page = fetch(ds, "/-/charts")
    assert page.status_code == 200
    text = page.text
    for section in ("stages-over-time", "hype-by-publisher", "hype-by-source", "treatment-pipeline"):
        assert f'id="{section}"' in text
    assert text.count("<svg") >= 4
    assert ">Items per month by evidence stage</title>" in text
    assert re.search(r"<title>2026-\d\d: \d+ Human RCT items?</title>", text)
    assert "(strongest stage)" in text
    assert_inert_html(text, "charts")


def test_labels_license_and_source_pages(ds):
    labels = fetch(ds, "/-/labels")
    assert labels.status_code == 200
    for code in ("human_uncontrolled", "meta_analysis", "indirect", "medium",
                 "no_claim", "correlational", "conditional_causal", "direct_causal"):
        assert f"<code>{code}</code>" in labels.text
    claims = labels.text[labels.text.index('<h2 id="claim_strength">'):]
    claims = claims[:claims.index("<h2", 10)]
    for words in ("No claim", "Correlational claim", "Conditional causal claim", "Direct causal claim",
                  "is associated with", "linked to", "may improve", "could reverse", "regrows", "reduces hair loss",
                  "cures", "Sumner et al., BMJ 2014"):
        assert words in claims, words
    assert "exaggeration" in claims
    license_page = fetch(ds, "/-/license")
    assert license_page.status_code == 200 and "MIT License" in license_page.text
    assert fetch(ds, "/-/source").status_code == 200


# -- the SQL endpoint -------------------------------------------------------------------------------------------


def test_sql_endpoint_reads(ds):
    response = fetch(ds, "/hypewatch.json?_shape=objects&sql=" + quote("select count(*) as n from items"))
    assert response.status_code == 200 and response.json()["rows"] == [{"n": len(ITEMS)}]


@pytest.mark.parametrize("sql", [
    "insert into items (id, source, title, first_seen_at, fetched_at, content_hash) values ('x', 'y', 'z', '', '', '')",
    "update items set title = 'pwned'",
    "delete from items",
    "drop table items",
    "create table evil (x)",
    "attach database '/tmp/evil.db' as evil",
    "pragma query_only = 0",
    "pragma journal_mode = delete",
    "pragma writable_schema = 1",
    "select 1; delete from items",
    "with x as (select 1) delete from items",
    "vacuum",
])
def test_sql_endpoint_rejects_writes_attach_and_pragmas(ds, site_db, sql):
    response = fetch(ds, "/hypewatch.json?sql=" + quote(sql))
    assert response.status_code == 400, (sql, response.text[:300])
    from db import store

    db = store.open_db(site_db)
    assert db.execute("select count(*) from items").fetchone()[0] == len(ITEMS)
    assert "evil" not in db.table_names()


def test_sql_endpoint_stops_a_runaway_query(ds):
    sql = ("with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000000000) "
           "select count(*) from c")
    started = time.monotonic()
    response = fetch(ds, "/hypewatch.json?sql=" + quote(sql))
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert "interrupted" in response.text.lower() or "too long" in response.text.lower()
    assert elapsed < 5, elapsed  # sql_time_limit_ms is 1000


# -- untrusted content ---------------------------------------------------------------------------------------


def test_hostile_item_is_inert_everywhere(ds, demo_ds):
    pages = ["/", "/hypewatch/items", f"/hypewatch/items/{HOSTILE_ID}", "/hypewatch/items?_search=regrowth",
             "/hypewatch/items?hype=high", "/hypewatch/items?_nocol=text", "/-/charts", "/-/labels",
             "/hypewatch", "/hypewatch/sources", *[f"/hypewatch/{n}" for n in CANNED],
             "/hypewatch/hype_alerts_feed", "/hypewatch/treatment_feed?treatment=minoxidil",
             "/hypewatch?sql=" + quote("select * from items")]
    for app in (ds, demo_ds):
        for path in pages:
            response = fetch(app, path)
            assert response.status_code == 200, path
            assert_inert_html(response.text, path)
    item = fetch(ds, f"/hypewatch/items/{HOSTILE_ID}").text
    assert "&lt;script&gt;alert(&#39;hwxss-title&#39;)&lt;/script&gt;" in item  # shown, escaped
    assert "javascript:" not in re.sub(r"&[#\w]+;", "", "".join(re.findall(r'href="([^"]*)"', item)))
    assert "&lt;<mark>" not in item or "<mark>&lt;script&gt;</mark>" in item
    for path in FEEDS:
        body = fetch(ds, f"/hypewatch/{path}").content
        assert_inert_feed(body, path)
        assert_valid_feed(body, path)
    alerts = fetch(ds, "/hypewatch/hype_alerts_feed.atom").content
    assert XSS_MARK.encode() in alerts  # the hostile item is in the feed, as text


# -- helpers (the plugins' pure functions) --------------------------------------------------------------------


def test_highlight_escapes_before_marking():
    out = str(markup.highlight("Mice <b>grew</b> hair in MICE", "mice"))
    assert out == "<mark>Mice</mark> &lt;b&gt;grew&lt;/b&gt; hair in <mark>MICE</mark>"
    assert str(markup.highlight("a & b", "amp")) == "a &amp; b"
    assert str(markup.highlight("<script>x", "<script>")) == "<mark>&lt;script&gt;</mark>x"
    assert str(markup.highlight(None, None)) == ""


def test_only_http_urls_become_links():
    assert markup.safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
                "//evil.example", "/relative", "http://", "https://exa mple.org", None, 3):
        assert markup.safe_url(bad) is None, bad
    assert markup.doi_url("javascript:alert(1)") is None and markup.pmid_url("<script>") is None
    assert markup.nct_url("NCT0<script>") is None
    assert labels.label("evidence_stage", "human_rct") == "Human RCT"
    assert labels.label("hype", None) == "Not scored"
    assert "<img" not in str(labels.badge("hype", '"><img src=x onerror=alert(1)>'))


def test_feed_entry_html_is_escaped_text():
    out = feeds.entry_html("animal", "direct", "high", '["minoxidil", "<b>x</b>"]',
                           "<script>alert(1)</script>", "Src", "clinic", "javascript:alert(1)")
    assert "<script>" not in out and "&lt;script&gt;" in out and "javascript:" not in out
    assert "Animal" in out and "Direct commercial interest" in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "claim" not in out  # eight arguments, as before claim strength: no claim shown
    out = feeds.entry_html("animal", "direct", "high", "[]", "", "Src", "clinic", "https://example.org/a",
                           "direct_causal")
    assert "<strong>Animal study</strong> · Direct causal claim · Direct commercial interest · High hype" in out
    assert "&lt;b&gt;" in feeds.entry_html("animal", None, None, None, None, None, None, None, "<b>x</b>")
    out = feeds.entry_html(None, None, None, None, None, None, None, "https://example.org/a")
    assert '<a href="https://example.org/a">' in out and "Not scored" in out


def test_badge_colours_are_served_from_the_vocabulary(ds):
    css = fetch(ds, "/-/labels.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".hw-evidence-stage-human-rct { background: #2e7d32; color: #fff; }" in css.text
    page = fetch(ds, "/hypewatch/items")
    assert "/-/labels.css" in page.text and "/static/hypewatch.css" in page.text


def test_label_vocabulary_matches_the_scorer_and_the_stylesheet():
    """Every value the scorer can give has a display name, a chart colour and a badge style, all from the
    one vocabulary: the site serves the badge colours it generates from it."""
    from scoring.model import CLAIM_STRENGTHS, COMMERCIAL_LEVELS, EVIDENCE_STAGES, HYPE_LEVELS

    assert labels.CLAIM_ORDER == CLAIM_STRENGTHS
    assert (labels.EVIDENCE_ORDER, labels.COMMERCIAL_ORDER, labels.HYPE_ORDER) == (
        EVIDENCE_STAGES, COMMERCIAL_LEVELS, HYPE_LEVELS)
    css = labels.badge_css()
    static = (CONFIG_DIR / "static" / "hypewatch.css").read_text()
    for dimension, codes in (("evidence_stage", EVIDENCE_STAGES), ("claim_strength", CLAIM_STRENGTHS),
                             ("commercial_interest", COMMERCIAL_LEVELS), ("hype", HYPE_LEVELS)):
        assert set(labels.LABELS[dimension]) == set(codes), dimension
        assert set(labels.COLORS[dimension]) == set(codes), dimension
        assert dimension in labels.DIMENSION_NAMES and labels.BADGE_COLUMNS[dimension] == dimension
        for code in codes:
            css_class = f"hw-{dimension}-{code}".replace("_", "-")
            assert f".{css_class} {{" in css, css_class
            assert f".{css_class} {{" not in static, f"{css_class}: a second colour outside the vocabulary"
            assert f'class="hw-badge {css_class}"' in str(labels.badge(dimension, code))
    assert ".hw-relevant-1 {" in css and ".hw-relevant-0 {" in css
    assert set(labels.SHORT_LABELS["claim_strength"]) == set(CLAIM_STRENGTHS)
    assert labels.label("claim_strength", "conditional_causal") == "Conditional causal claim"
    assert labels.label("claim_strength", None) == "Not scored"
    reason = {"dimension": "claim_strength", "label": "direct_causal", "cue": "regrows", "snippet": "", "weight": 1}
    assert "hw-claim-strength-direct-causal" in str(labels.reason_label(reason))
