"""Citations checked and studies followed, on the site: item and study pages, facets, canned queries, feeds, digest."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import yaml

from db import open_db
from hypewatch.digest import CITATION_FLAGS, OUTRUNNING_GAPS, build_digests, render_digest
from hypewatch.serve import CONFIG_DIR, make_app
from hypewatch.site import labels
from scoring import labels as vocabulary
from tests.sitedata import (CERIUM_STUDY, CLINIC_TITLE, HOSTILE_ID, MOUSE_NEWS_TITLE, MOUSE_RELEASE_TITLE,
                            PREPRINT_TITLE, RCT_TITLE, RITLECITINIB_STUDY, XSS_MARK, build_site_db, item_id)
from tests.test_site import assert_inert_feed, assert_inert_html, assert_valid_feed

FEEDS = ["citation_problems_feed.atom", "coverage_gaps_feed.atom"]
METADATA = yaml.safe_load((CONFIG_DIR / "metadata.yaml").read_text(encoding="utf-8"))


def fetch(ds, path: str):
    return asyncio.run(ds.client.get(path))


@pytest.fixture(scope="module")
def site_db(tmp_path_factory) -> Path:
    return build_site_db(tmp_path_factory.mktemp("cites") / "cites.db")


@pytest.fixture(scope="module")
def ds(site_db):
    return make_app(site_db)


@pytest.fixture(scope="module")
def empty_ds(tmp_path_factory):
    return make_app(build_site_db(tmp_path_factory.mktemp("cites-empty") / "empty.db", items=[]))


def section(text: str, start: str, end: str = "</section>") -> str:
    begin = text.index(start)
    return text[begin:text.index(end, begin)]


def name(dim: str, code: str) -> str:
    return vocabulary.dimension(dim).get(code).name


# -- the item page ------------------------------------------------------------------------------------------


def test_item_page_lists_citations_in_order_with_verdicts_reasons_and_works(ds):
    page = fetch(ds, f"/hypewatch/items/{item_id(CLINIC_TITLE)}")
    assert page.status_code == 200
    checked = section(page.text, '<section class="hw-citations-checked"')
    assert "<h2>Citations checked</h2>" in checked
    verdicts = re.findall(r'<li class="hw-citation" data-verdict="(\w+)">', checked)
    assert verdicts == ["mismatch", "off_topic", "not_found", "retracted"]  # position order
    for code in verdicts:  # each verdict shown by its name in the vocabulary, in its badge colour class
        css = f"hw-citation-check-{code.replace('_', '-')}"
        assert f'<span class="hw-badge {css}" title="Citation check: {name("citation_check", code)}">' in checked
    assert "Worst verdict:" in checked and "hw-citation-check-retracted" in checked.split("</p>")[0]
    items = checked.split('<li class="hw-citation"')[1:]
    mismatch, off_topic, not_found, retracted = items
    assert "PubMed lists it as Case Reports" in mismatch and "cited as Meta-analysis" in mismatch
    assert "<cite>Autologous adipose-derived stem cells for alopecia" in mismatch
    assert 'href="https://doi.org/10.5555/sctm.2018.0101"' in mismatch
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/29512345/"' in mismatch
    assert "Tawfik, Osman · Stem Cells Translational Medicine · 2018" in mismatch
    assert "bone regeneration" in off_topic and "hw-evidence-stage-animal" in off_topic
    assert "possibly invented" in not_found and "hw-work" not in not_found  # no work shown as if matched
    assert "free-text citation" in not_found
    assert "hw-citation-check-retracted" in retracted and "retraction notice" in retracted
    assert_inert_html(page.text, "clinic item")


def test_item_page_links_its_study_with_its_gap(ds):
    page = fetch(ds, f"/hypewatch/items/{item_id(MOUSE_NEWS_TITLE)}").text
    study = section(page, '<section class="hw-study-link"')
    assert f'href="/hypewatch/studies/{CERIUM_STUDY}"' in study and "one of 3 tellings" in study
    assert f'title="Coverage gap: {name("coverage_gap", "stage_claim")}"' in study
    assert "A &#39;cure&#39; headline on a mouse paper" in study
    assert "hw-citations-checked" not in page  # it cites nothing
    plain = fetch(ds, f"/hypewatch/items/{item_id(RCT_TITLE)}").text
    assert "hw-study-link" not in plain
    checked = section(plain, '<section class="hw-citations-checked"')
    assert re.findall(r'data-verdict="(\w+)"', checked) == ["ok", "unverified"]
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/39912345/"' in checked


def test_hostile_citations_and_tellings_are_inert(ds):
    for path in (f"/hypewatch/items/{HOSTILE_ID}", f"/hypewatch/studies/{CERIUM_STUDY}", "/hypewatch/citations",
                 "/hypewatch/citation_problems", "/hypewatch/coverage_gaps", "/hypewatch/study_items",
                 "/hypewatch/works", "/hypewatch/citation_problems_feed", "/hypewatch/coverage_gaps_feed"):
        response = fetch(ds, path)
        assert response.status_code == 200, path
        assert_inert_html(response.text, path)
    page = fetch(ds, f"/hypewatch/items/{HOSTILE_ID}").text
    assert "&lt;script&gt;alert(&#39;hwxss-reason&#39;)&lt;/script&gt;" in section(page, '<section class="hw-citations-checked"')
    assert "&lt;script&gt;alert(&#39;hwxss-work&#39;)" in page


# -- the study page and the studies table -----------------------------------------------------------------


def test_study_page_shows_paper_notices_and_every_telling_in_time_order(ds, site_db):
    page = fetch(ds, f"/hypewatch/studies/{CERIUM_STUDY}")
    assert page.status_code == 200
    text = page.text
    paper = section(text, '<section class="hw-paper"')
    for shown in ("<cite>Cerium oxide nanoparticles restore hair growth in a mouse model of alopecia</cite>",
                  "Okafor, Lindqvist, Mehta", "Nano Today", "<dd>2026</dd>", "from the scorer on the abstract",
                  "Correction: figure 2 · 2026-02-01", 'href="https://doi.org/10.1000/nano.2026.0007"',
                  'href="https://pubmed.ncbi.nlm.nih.gov/39800007/"', 'href="https://doi.org/10.1000/nano.2026.0107"'):
        assert shown in paper, shown
    assert f'title="Citation check: {name("citation_check", "corrected")}"' in paper
    assert "No trial registration is known" in section(text, '<section class="hw-trial"')
    tellings = section(text, '<section class="hw-tellings-section"')
    ids = re.findall(r'<a class="hw-title" href="/hypewatch/items/([0-9a-f]{16})"', tellings)
    published = dict(sqlite3.connect(site_db).execute(
        "select id, published from items where study_id = ?", [CERIUM_STUDY]).fetchall())
    assert ids == sorted(published, key=published.get)  # oldest telling first
    assert ids == [item_id(MOUSE_NEWS_TITLE), item_id(MOUSE_RELEASE_TITLE), HOSTILE_ID]
    assert re.findall(r'data-gap="(\w+)"', tellings) == ["stage_claim", "none", "claim"]
    first = tellings.split('<li class="hw-telling"')[1]
    for badge in ("hw-evidence-stage-animal", "hw-claim-strength-direct-causal", "hw-hype-high",
                  "hw-coverage-gap-stage-claim"):
        assert badge in first, badge
    assert 'title="publisher kind">news</span>' in first and "reverses baldness" in first
    assert_inert_html(text, "study page")


def test_study_page_shows_the_trial_record_and_the_papers_item(ds):
    text = fetch(ds, f"/hypewatch/studies/{RITLECITINIB_STUDY}").text
    trial = section(text, '<section class="hw-trial"')
    for shown in ("<dd>PHASE3</dd>", "<dd>Completed</dd>", "<dd>1052</dd>", "<dt>Results posted</dt><dd>Yes</dd>",
                  'href="https://clinicaltrials.gov/study/NCT04006457"', "Alopecia Areata"):
        assert shown in trial, shown
    paper = section(text, '<section class="hw-paper"')
    assert f'href="/hypewatch/items/{item_id(PREPRINT_TITLE)}"' in paper and "preprint" in paper


def test_a_missing_or_half_known_study_page_is_clear(ds, tmp_path):
    assert fetch(ds, "/hypewatch/studies/no-such-study").status_code == 404
    path = build_site_db(tmp_path / "half.db")
    db = open_db(path)
    db["studies"].insert({"id": "s-bare", "title": None, "paper_key": "doi:10.1/unresolved", "tellings": 0})
    db["studies"].insert({"id": "s/odd.id", "title": "Odd id", "tellings": 0})
    db["works"].update("nct:NCT04006457", {"trial": "{not json"})
    db["studies"].update(RITLECITINIB_STUDY, {"paper_key": None})
    db.conn.commit()
    db.close()
    app = make_app(path)
    bare = fetch(app, "/hypewatch/studies/s-bare")
    assert bare.status_code == 200 and "has not been looked up yet" in bare.text and "No item tells this study yet" in bare.text
    odd = fetch(app, "/hypewatch/studies/s~2Fodd~2Eid")
    assert odd.status_code == 200 and "<h1>Odd id</h1>" in odd.text
    broken = fetch(app, f"/hypewatch/studies/{RITLECITINIB_STUDY}")
    assert broken.status_code == 200 and "<dd>not given</dd>" in broken.text  # a malformed trial record reads empty


def test_studies_table_has_facets_links_and_badges(ds):
    data = fetch(ds, "/hypewatch/studies.json?_shape=objects").json()
    assert [r["id"] for r in data["rows"]] == [CERIUM_STUDY, RITLECITINIB_STUDY]  # latest telling first
    facets = data["facet_results"]
    assert {v["value"]: v["count"] for v in facets["worst_gap"]["results"]} == {"stage_claim": 1, "none": 1}
    assert {v["value"]: v["count"] for v in facets["design"]["results"]} == {"animal": 1, "human_uncontrolled": 1}
    page = fetch(ds, "/hypewatch/studies").text
    assert f'<a class="hw-title" href="/hypewatch/studies/{CERIUM_STUDY}">' in page
    assert re.search(r'data-facet-value="stage_claim">Outruns the paper</a>', page)
    assert "<strong>Worst gap" in page
    assert 'class="hw-badge hw-coverage-gap-stage-claim"' in page
    filtered = fetch(ds, "/hypewatch/studies.json?_shape=objects&worst_gap=stage_claim").json()["rows"]
    assert [r["id"] for r in filtered] == [CERIUM_STUDY]
    home, footer = fetch(ds, "/").text, fetch(ds, "/-/charts").text
    for href in ('href="/hypewatch/studies"', 'href="/hypewatch/citation_problems"', 'href="/hypewatch/coverage_gaps"',
                 'href="/hypewatch/citation_problems_feed.atom"', 'href="/hypewatch/coverage_gaps_feed.atom"'):
        assert href in home, href
    assert 'href="/hypewatch/studies"' in footer


# -- facets, tables, metadata, labels ----------------------------------------------------------------------


def test_items_facets_on_citation_check_and_coverage_gap(ds):
    facets = fetch(ds, "/hypewatch/items.json?_facet_size=max").json()["facet_results"]
    assert {v["value"]: v["count"] for v in facets["citation_check"]["results"]} == {
        "retracted": 1, "not_found": 1, "ok": 1}
    assert {v["value"]: v["count"] for v in facets["coverage_gap"]["results"]} == {
        "none": 2, "stage_claim": 1, "claim": 1}
    page = fetch(ds, "/hypewatch/items").text
    assert re.search(r'data-facet-value="retracted">Retracted</a>', page)
    assert re.search(r'data-facet-value="stage_claim">Outruns the paper</a>', page)
    rows = fetch(ds, "/hypewatch/items.json?_shape=objects&citation_check=retracted").json()["rows"]
    assert [r["title"] for r in rows] == [CLINIC_TITLE]
    full = fetch(ds, "/hypewatch/items?_nocol=text&coverage_gap=stage_claim").text
    assert 'class="hw-badge hw-coverage-gap-stage-claim"' in full
    assert f'href="/hypewatch/studies/{CERIUM_STUDY}"' in full  # study_id links to the study
    blank = fetch(ds, "/hypewatch/items?_nocol=text").text  # an item citing nothing: a dash, not "Not scored"
    cells = re.findall(r'<td class="col-citation_check [^"]*">(.*?)</td>', blank, re.S)
    assert cells and any("—" in c for c in cells) and not any("Not scored" in c for c in cells)


def test_citations_table_is_browsable_by_verdict(ds):
    data = fetch(ds, "/hypewatch/citations.json?_shape=objects&_size=max").json()
    counts = {v["value"]: v["count"] for v in data["facet_results"]["verdict"]["results"]}
    assert counts == {"mismatch": 1, "off_topic": 1, "not_found": 2, "retracted": 1, "ok": 1, "unverified": 1}
    page = fetch(ds, "/hypewatch/citations?verdict=off_topic").text
    assert 'class="hw-badge hw-citation-check-off-topic"' in page and "bone regeneration" in page
    assert f'href="/hypewatch/items/{item_id(CLINIC_TITLE)}"' in page  # the citing item links to its page
    assert not re.search(r">\s*(off_topic|not_found|stage_claim)\s*<", page)


def test_new_tables_and_columns_are_described():
    tables = METADATA["databases"]["hypewatch"]["tables"]
    items = tables["items"]
    assert {"citation_check", "coverage_gap"} <= {f for f in items["facets"] if isinstance(f, str)}
    for column in ("citation_check", "study_id", "coverage_gap"):
        assert items["columns"][column], column
    for table in ("citations", "works", "studies", "study_items"):
        assert tables[table]["title"] and (tables[table].get("description_html") or tables[table].get("description"))
    assert "verdict" in tables["citations"]["facets"]
    assert {"worst_gap", "design"} <= set(tables["studies"]["facets"])
    columns = {t: set(tables[t]["columns"]) for t in ("citations", "works", "studies", "study_items")}
    assert {"verdict", "reasons", "flags", "claimed", "context"} <= columns["citations"]
    assert {"retraction", "notices", "trial", "design_source"} <= columns["works"]
    assert {"worst_gap", "paper_key", "trial_key", "tellings"} <= columns["studies"]
    assert {"gap", "gap_reason", "link", "link_reason"} <= columns["study_items"]


def test_labels_page_explains_both_new_vocabularies(ds):
    page = fetch(ds, "/-/labels").text
    for dim in ("citation_check", "coverage_gap"):
        part = page[page.index(f'<h2 id="{dim}">'):]
        part = part[:part.index("<h2", 10)]
        for lab in vocabulary.dimension(dim).labels:
            assert f"<code>{lab.code}</code>" in part and lab.meaning.replace("'", "&#39;") in part, (dim, lab.code)
    warned = page[page.index('<h2 id="citation_check">'):page.index('<h2 id="coverage_gap">')]
    assert "false accusation is worse than a miss" in warned
    for code in CITATION_FLAGS:
        assert f'hw-citation-check-{code.replace("_", "-")}' in warned


def test_the_templates_spell_no_verdict_or_gap_code():
    """Verdicts and gaps reach the pages through the label helpers; a template never spells a code in quotes."""
    others = {code for dim, d in vocabulary.vocabulary().items() if dim not in ("citation_check", "coverage_gap")
              for code in d.codes}  # "none" is an evidence stage and a commercial interest too
    codes = (set(vocabulary.codes("citation_check")) | set(vocabulary.codes("coverage_gap"))) - others
    for template in ("row-hypewatch-items.html", "row-hypewatch-studies.html", "hypewatch_labels.html", "index.html"):
        text = (CONFIG_DIR / "templates" / template).read_text(encoding="utf-8")
        for code in codes:
            assert f'"{code}"' not in text and f"'{code}'" not in text, (template, code)
    assert labels.CITATION_FLAGS == CITATION_FLAGS and labels.OUTRUNNING_GAPS == OUTRUNNING_GAPS
    assert set(CITATION_FLAGS) <= set(vocabulary.codes("citation_check"))
    assert set(OUTRUNNING_GAPS) <= set(vocabulary.codes("coverage_gap"))
    for flag in CITATION_FLAGS:
        assert f"'{flag}'" in METADATA["databases"]["hypewatch"]["queries"]["citation_problems"]["sql"]


# -- canned queries and feeds ------------------------------------------------------------------------------


def test_citation_problems_query(ds):
    rows = fetch(ds, "/hypewatch/citation_problems.json?_shape=objects").json()["rows"]
    assert {r["verdict"] for r in rows} == set(CITATION_FLAGS)
    assert [r["id"] for r in rows] == [HOSTILE_ID] + [item_id(CLINIC_TITLE)] * 4  # newest first, positions in order
    clinic = [r for r in rows if r["id"] == item_id(CLINIC_TITLE)]
    assert [r["verdict"] for r in clinic] == ["mismatch", "off_topic", "not_found", "retracted"]
    assert clinic[1]["reason"].startswith("Cited for hair growth") and clinic[1]["cited_work"].startswith("Exosomes")
    page = fetch(ds, "/hypewatch/citation_problems").text
    assert 'class="hw-badge hw-citation-check-mismatch"' in page
    assert f'href="/hypewatch/items/{item_id(CLINIC_TITLE)}"' in page


def test_coverage_gaps_query(ds):
    rows = fetch(ds, "/hypewatch/coverage_gaps.json?_shape=objects").json()["rows"]
    assert [(r["id"], r["coverage_gap"]) for r in rows] == [(HOSTILE_ID, "claim"), (item_id(MOUSE_NEWS_TITLE), "stage_claim")]
    news = rows[1]
    assert (news["paper_design"], news["paper_claim_strength"], news["study_id"]) == (
        "animal", "conditional_causal", CERIUM_STUDY)
    assert news["study"].startswith("Cerium oxide") and news["paper_journal"] == "Nano Today"
    page = fetch(ds, "/hypewatch/coverage_gaps").text
    assert f'<a href="/hypewatch/studies/{CERIUM_STUDY}">Cerium oxide' in page
    assert 'class="hw-badge hw-coverage-gap-stage-claim"' in page and 'hw-evidence-stage-animal' in page


def test_feeds_are_valid_atom_with_stable_ids_and_site_links(ds):
    for path in FEEDS:
        response = fetch(ds, f"/hypewatch/{path}")
        assert response.status_code == 200, path
        parsed = assert_valid_feed(response.content, path)
        again = assert_valid_feed(fetch(ds, f"/hypewatch/{path}").content, path)
        assert parsed.entries and [e.id for e in parsed.entries] == [e.id for e in again.entries]
        assert all(urlsplit(e.link).scheme in ("http", "https") for e in parsed.entries)
        assert_inert_feed(response.content, path)
        assert XSS_MARK.encode() in response.content  # the hostile item is there, as text
    cites = feedparser.parse(fetch(ds, "/hypewatch/citation_problems_feed.atom").content)
    assert len(cites.entries) == 5 and all(re.fullmatch(r"tag:hypewatch,2026:citation/[0-9a-f]{16}", e.id)
                                           for e in cites.entries)
    off = next(e for e in cites.entries if e.title.startswith("Off topic: "))
    assert off.link == f"http://localhost/hypewatch/items/{item_id(CLINIC_TITLE)}#citations"
    assert "bone regeneration" in off.content[0].value and "Journal of Bone and Mineral Research" in off.content[0].value
    gaps = feedparser.parse(fetch(ds, "/hypewatch/coverage_gaps_feed.atom").content)
    assert [e.id for e in gaps.entries] == [f"tag:hypewatch,2026:telling/{CERIUM_STUDY}/{HOSTILE_ID}",
                                            f"tag:hypewatch,2026:telling/{CERIUM_STUDY}/{item_id(MOUSE_NEWS_TITLE)}"]
    news = gaps.entries[1]
    assert news.title == f"Outruns the paper: {MOUSE_NEWS_TITLE}"
    assert news.link == f"http://localhost/hypewatch/studies/{CERIUM_STUDY}"
    assert "This telling: Animal study · Direct causal claim · High hype" in news.content[0].value
    assert "The paper, <em>Cerium oxide" in news.content[0].value


def test_feeds_and_pages_without_any_citation_or_study(empty_ds):
    for path in FEEDS:
        response = fetch(empty_ds, f"/hypewatch/{path}")
        assert response.status_code == 200 and assert_valid_feed(response.content, path).entries == []
    for path in ("/hypewatch/studies", "/hypewatch/citations", "/hypewatch/citation_problems",
                 "/hypewatch/coverage_gaps", "/-/labels"):
        assert fetch(empty_ds, path).status_code == 200, path


def test_every_inline_script_of_the_new_pages_is_allowed_by_the_csp(ds):
    from tests.test_guard import _script_hash

    for path in (f"/hypewatch/studies/{CERIUM_STUDY}", "/hypewatch/studies", "/hypewatch/citations",
                 f"/hypewatch/items/{item_id(CLINIC_TITLE)}", "/hypewatch/citation_problems", "/hypewatch/coverage_gaps"):
        response = fetch(ds, path)
        csp = response.headers["content-security-policy"]
        for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S):
            assert _script_hash(body) in csp, (path, body[:80])


# -- speed at scale: the plans read the m011 indexes, never the whole items table ----------------------------


def _plan(conn, sql: str) -> list[str]:
    from hypewatch.site import feeds, markup

    conn.create_function("hw_label", 2, labels._sql_label)
    conn.create_function("hw_citation_html", 10, feeds.citation_entry_html)
    conn.create_function("hw_gap_html", 11, feeds.gap_entry_html)
    conn.create_function("hw_row_path", 2, markup._sql_row_path)
    return [row[3] for row in conn.execute("explain query plan " + sql)]


@pytest.mark.parametrize("name", ["citation_problems", "citation_problems_feed", "coverage_gaps", "coverage_gaps_feed"])
def test_canned_queries_start_from_the_label_index(site_db, name):
    plan = _plan(sqlite3.connect(site_db), METADATA["databases"]["hypewatch"]["queries"][name]["sql"])
    index = "items_citation_check" if name.startswith("citation") else "items_coverage_gap"
    assert plan[1].startswith(f"SEARCH items USING COVERING INDEX {index}"), plan
    assert not [step for step in plan if re.match(r"SCAN (items|i|c|citations|si|study_items)\b", step)], plan


def test_page_queries_are_keyed_by_indexes(site_db):
    conn = sqlite3.connect(site_db)
    plan = " | ".join(_plan(conn, "select * from citations c where c.item_id = 'x' order by c.position limit 200"))
    assert "citations_item" in plan and "TEMP B-TREE" not in plan
    plan = " | ".join(_plan(conn, "select * from study_items si left join items i on i.id = si.item_id "
                                  "where si.study_id = 'x'"))
    assert "SCAN" not in plan, plan


# -- the digest -------------------------------------------------------------------------------------------------


def test_digest_sections_for_citations_and_coverage(site_db, tmp_path):
    import shutil

    path = tmp_path / "digest.db"
    shutil.copy(site_db, path)
    db = open_db(path)
    build_digests(db, period="weekly", include_current=True, lookback=60)
    digests = {r["id"]: r for r in db.query("select id, html, counts from digests")}
    db.close()
    with_cites = [d for d in digests.values() if "<h2>Citations that do not hold up</h2>" in d["html"]]
    with_gaps = [d for d in digests.values() if "<h2>Coverage that outruns its paper</h2>" in d["html"]]
    assert len(with_cites) == 2 and len(with_gaps) == 2
    clinic = next(d["html"] for d in with_cites if CLINIC_TITLE in d["html"])
    cites = clinic[clinic.index("<h2>Citations that do not hold up</h2>"):]
    for verdict in ("Not the paper described", "Off topic", "Not found", "Retracted"):
        assert f"<strong>{verdict}</strong>" in cites, verdict
    assert "PubMed lists it as Case Reports" in cites and "<em>Exosomes from adipose stem cells" in cites
    assert "1 item citing work that does not hold up." in clinic
    news = next(d["html"] for d in with_gaps if MOUSE_NEWS_TITLE in d["html"])
    gap = news[news.index("<h2>Coverage that outruns its paper</h2>"):]
    assert "<strong>Outruns the paper</strong>: A 'cure' headline on a mouse paper" in gap
    assert "This telling: <em>Animal study · Direct causal claim · High hype</em>" in gap
    assert "Nano Today, 2026 — Animal study · Conditional causal claim" in gap
    assert news.index("<h2>Hype alerts</h2>") < news.index("<h2>Coverage that outruns its paper</h2>")
    for d in digests.values():
        assert_inert_html(d["html"], d["id"])


def test_render_digest_sections_are_escaped_capped_and_outside_the_item_order():
    from datetime import datetime, timezone

    start = datetime(2026, 11, 16, tzinfo=timezone.utc)
    problem = {"verdict": "not_found", "value": "<b>10.1/x</b>", "reasons": ["<script>x</script> no record"],
               "work_title": None, "work_journal": None, "work_year": None}
    items = [{"id": f"i{n}", "title": f"Item {n} <i>", "url": "javascript:alert(1)", "source": "S", "publisher": "blog",
              "first_seen_at": f"2026-11-17T00:00:{n:02d}Z", "evidence_stage": "animal", "claim_strength": "direct_causal",
              "hype": "high", "commercial_interest": "none", "reasons": [], "treatments": [],
              "citation_problems": [problem] * 7,
              "telling": {"gap": "stage", "gap_reason": "told as <em>human</em>", "paper_design": "animal"}}
             for n in range(40)]
    body, counts, order = render_digest(items, "weekly", start, start + timedelta(days=7))
    assert counts["citation_problems"] == 40 and counts["coverage_gaps"] == 40
    assert len(order) == len(set(order)) == 40  # each item once in the order, whatever sections it is in
    cites = body[body.index("<h2>Citations that do not hold up</h2>"):body.index("<h2>Coverage that outruns")]
    assert cites.count("<li>") == 30 and "…and 10 more, on the site." in cites
    assert cites.count("<strong>Not found</strong>") == 30 * 5 and "…and 2 more on the item's page." in cites
    assert "<script>" not in body and "&lt;script&gt;x&lt;/script&gt; no record" in body
    assert "told as &lt;em&gt;human&lt;/em&gt;" in body and "javascript:" not in body
    plain = [{**i, "citation_problems": [], "telling": None} for i in items[:2]]
    assert "Citations that do not" not in render_digest(plain, "weekly", start, start + timedelta(days=7))[0]


def test_counts_and_facets_filtered_by_a_sparse_column_read_its_index(ds):
    """Most items cite nothing and tell no study: a filter on citation_check or coverage_gap reads that index
    (SQLite's statistics would have it walk another label's index over every item), and falls back when the
    index cannot serve the WHERE (an OR written with _where)."""
    from hypewatch.site.database import narrow_aggregate

    facet = ('select "hype" as value, count(*) as count from (\n  select id from items where "citation_check" = :p0 '
             'and "evidence_stage" = :p1\n) where "hype" is not null group by "hype" order by count desc, value limit 13')
    assert "from items indexed by items_citation_check where" in narrow_aggregate(facet)
    assert narrow_aggregate('select count(*) from items where "coverage_gap" in (:p0, :p1)') == (
        'select count(*) from items indexed by items_coverage_gap where "coverage_gap" in (:p0, :p1)')
    assert "indexed by" not in narrow_aggregate('select count(*) from items where "citation_check" != :p0')
    data = fetch(ds, "/hypewatch/items.json?citation_check=not_found&_facet=hype").json()
    assert data["filtered_table_rows_count"] == 1
    assert {v["value"]: v["count"] for v in data["facet_results"]["hype"]["results"]} == {"high": 1}
    either = fetch(ds, "/hypewatch/items.json?_where=citation_check%3D%27ok%27+or+hype%3D%27high%27&_facet=hype")
    assert either.status_code == 200 and either.json()["filtered_table_rows_count"] == 4
