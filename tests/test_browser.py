"""The site in a real browser: Playwright drives Debian's Chromium against `hypewatch serve` (issue 4).

A fixture database (tests/sitedata.py, with the hostile item) is served by the real command in a
subprocess on 127.0.0.1; each test opens a fresh browser context that records console errors, page
errors, dialogs (alert/confirm/prompt) and requests leaving the site. Screenshots of the home page and
an item page go to tests/artifacts/ (gitignored) for review.

Needs /usr/bin/chromium (`sudo apt-get install chromium`; `make test` installs it when run as root).
Without it the module is skipped, unless the CI environment variable is set: then every test fails.
No browser is ever downloaded (no `playwright install`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sitedata import (CERIUM_STUDY, CLINIC_TITLE, HOSTILE_ID, MOUSE_NEWS_TITLE, XSS_MARK, build_site_db,
                            item_id)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

MISSING: str | None = None
if not os.access(CHROMIUM, os.X_OK):
    MISSING = (f"the browser test needs Debian's Chromium at {CHROMIUM}: install it with "
               "`sudo apt-get install chromium` (`make test` does so when run as root)")
else:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        MISSING = "the browser test needs Playwright for Python: pip install -e '.[test]' (never `playwright install`)"
if MISSING and not IN_CI:
    pytest.skip(MISSING, allow_module_level=True)

SERVER_START_TIMEOUT = 30.0  # seconds for `hypewatch serve` to answer
PAGE_TIMEOUT_MS = 10_000

# The pages the hostile item shows up on: its own page, the items list (plain, searched, faceted),
# the feed queries as HTML pages, and the Atom feeds themselves.
HOSTILE_PAGES = [
    f"/hypewatch/items/{HOSTILE_ID}",
    "/hypewatch/items",
    "/hypewatch/items?_search=regrowth",
    "/hypewatch/items?hype=high",
    "/hypewatch/items?_nocol=content_hash",
    "/hypewatch/hype_alerts",
    "/hypewatch/hype_alerts_feed",
    "/hypewatch/hype_alerts_feed.atom",
    "/hypewatch/treatment_feed.atom?treatment=minoxidil",
    "/hypewatch/digest.atom",
    f"/hypewatch/studies/{CERIUM_STUDY}",
    "/hypewatch/citation_problems",
    "/hypewatch/coverage_gaps",
    "/hypewatch/citation_problems_feed.atom",
    "/hypewatch/coverage_gaps_feed.atom",
]

#: Every element with an on* attribute, and every URL-bearing attribute with a script scheme.
DOM_AUDIT_JS = """() => {
  const bad = [];
  const urlAttrs = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'srcdoc']);
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = (attr.value || '').replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(`<${el.tagName.toLowerCase()} ${name}=${attr.value}>`);
      if (urlAttrs.has(name) && /^(javascript|vbscript|data:text\\/html)/.test(value))
        bad.push(`<${el.tagName.toLowerCase()} ${name}=${attr.value}>`);
    }
    const tag = el.tagName.toLowerCase();
    if (['iframe', 'object', 'embed'].includes(tag)) bad.push(`<${tag}>`);
    if (tag === 'script' && (el.textContent || '').includes('%s')) bad.push('<script> with the payload');
  }
  return bad;
}""" % XSS_MARK

#: Wraps the dialog functions so a payload that calls them also leaves a mark the page can be asked about,
#: and records every Content-Security-Policy violation in window.__csp.
PWNED_TRAP_JS = """(() => {
  window.__pwned = undefined;
  window.__csp = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${(e.sample || '').slice(0, 60)}`));
  for (const name of ['alert', 'confirm', 'prompt']) {
    const original = window[name];
    window[name] = function (...args) { window.__pwned = String(args[0]); return original.apply(this, args); };
  }
})();"""


# -- the server --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hypewatch_command() -> list[str]:
    script = Path(sys.executable).with_name("hypewatch")
    if script.is_file():
        return [str(script)]
    found = shutil.which("hypewatch")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from hypewatch.cli import main; sys.exit(main())"]


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`hypewatch serve` exited with {proc.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"`hypewatch serve` did not answer {url} within {SERVER_START_TIMEOUT:.0f} s:\n"
                f"{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    """Base URL of `hypewatch serve` running on a fresh fixture database."""
    if MISSING:
        pytest.fail(MISSING + " (CI is set, so this is a failure, not a skip)", pytrace=False)
    tmp = tmp_path_factory.mktemp("browser")
    db_path = build_site_db(tmp / "browser-site.db")
    log = tmp / "serve.log"
    for attempt in range(3):  # the free port can be taken between probing and binding
        port = _free_port()
        with log.open("w") as out:
            proc = subprocess.Popen([*_hypewatch_command(), "serve", "--db", str(db_path), "--host", "127.0.0.1",
                                     "--port", str(port)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(proc, base + "/", log)
            break
        except pytest.fail.Exception:
            proc.kill()
            proc.wait(10)
            if attempt == 2 or "address already in use" not in log.read_text().lower():
                raise
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# -- the browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page and what it did: console errors, uncaught exceptions, dialogs, requests off the site."""

    page: object
    base: str
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)

    def goto(self, path: str):
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.status == 200, (path, response and response.status)
        return response

    def assert_clean(self, where: str) -> None:
        assert not self.errors, f"{where}: console/page errors {self.errors}"
        assert not self.dialogs, f"{where}: dialogs opened {self.dialogs}"
        assert not self.offsite, f"{where}: requests off the site (must work offline) {self.offsite}"


@pytest.fixture
def web(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    page.add_init_script(PWNED_TRAP_JS)
    watched = Watched(page, site)
    host = urlsplit(site).netloc

    def on_console(msg):
        if msg.type == "error":
            watched.errors.append(f"console: {msg.text} ({page.url})")

    def on_dialog(dialog):
        watched.dialogs.append(f"{dialog.type}: {dialog.message} ({page.url})")
        dialog.dismiss()

    def on_request(request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != host:
            watched.offsite.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"pageerror: {exc} ({page.url})"))
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    try:
        yield watched
    finally:
        context.close()


def _rows(page) -> int:
    return page.locator("table.rows-and-columns tbody tr").count()


# -- tests -------------------------------------------------------------------------------------------------


def test_home_page_renders_without_errors_and_links_the_views(web):
    web.goto("/")
    page = web.page
    assert page.locator("h1", has_text="hypewatch").first.is_visible()
    assert "hypewatch collects hair-loss research news" in page.locator(".hw-lede").inner_text()
    for href in ("/hypewatch/latest", "/hypewatch/human_evidence", "/hypewatch/hype_alerts",
                 "/hypewatch/treatment_pipeline", "/hypewatch/source_health", "/hypewatch/items", "/-/charts",
                 "/-/labels", "/hypewatch/digest.atom", "/hypewatch/human_evidence_feed.atom",
                 "/hypewatch/hype_alerts_feed.atom"):
        link = page.locator(f'a[href="{href}"]').first
        assert link.count() and link.is_visible(), href
    # the stylesheet was applied (badges are styled, not bare text)
    assert page.evaluate("() => [...document.styleSheets].some(s => (s.href || '').includes('hypewatch.css'))")
    badge = page.locator(".hw-lede .hw-badge").first
    assert badge.is_visible()
    assert badge.evaluate("el => getComputedStyle(el).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    # a card leads to its view, which renders with rows
    page.locator('a.hw-card[href="/hypewatch/human_evidence"]').click()
    page.wait_for_url("**/hypewatch/human_evidence")
    assert _rows(page) == 4
    web.assert_clean("home page and human evidence view")


def test_clicking_a_facet_value_filters_the_items_table(web):
    web.goto("/hypewatch/items")
    page = web.page
    before = _rows(page)
    assert before >= 10
    facet = page.locator('#facet-evidence_stage a[data-facet-value="animal"]')
    assert facet.inner_text().strip() == "Animal study"  # readable name, not the code
    facet.click()
    page.wait_for_url(re.compile(r"[?&]evidence_stage=animal(&|$)"))
    assert parse_qs(urlsplit(page.url).query)["evidence_stage"] == ["animal"]
    after = _rows(page)
    assert 0 < after < before and after == 2
    stages = page.locator("table.rows-and-columns tbody td.col-evidence_stage").all_inner_texts()
    assert stages and all(s.strip() == "Animal study" for s in stages), stages
    assert page.locator("#facet-evidence_stage .hw-facet-selected").inner_text().startswith("Animal study")
    # the array facet on treatments narrows further, and the selected value can be removed again
    page.locator('#facet-treatments a[data-facet-value="cerium nanoparticles"]').click()
    page.wait_for_url(re.compile(r"_treatment="))
    assert _rows(page) == 2
    page.locator("#facet-evidence_stage .hw-facet-selected a.cross").click()
    page.wait_for_url(lambda url: "evidence_stage=" not in url)
    assert _rows(page) == 2  # both cerium items are animal studies; still filtered by treatment
    web.assert_clean("facets")


def test_claim_strength_facet_column_and_labels_page(web):
    web.goto("/hypewatch/items")
    page = web.page
    heading = page.locator('table.rows-and-columns th[data-column="claim_strength"]')
    assert heading.inner_text().strip() == "Claim strength"
    facet = page.locator('#facet-claim_strength a[data-facet-value="conditional_causal"]')
    assert facet.inner_text().strip() == "Conditional causal claim"
    facet.click()
    page.wait_for_url(re.compile(r"[?&]claim_strength=conditional_causal(&|$)"))
    cells = page.locator("table.rows-and-columns tbody td.col-claim_strength .hw-badge")
    assert cells.count() == _rows(page) == 2
    assert all(t.strip() == "Conditional causal claim" for t in cells.all_inner_texts())
    assert cells.first.evaluate("el => getComputedStyle(el).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    web.goto("/-/labels")
    section = page.locator("h2#claim_strength")
    assert section.is_visible() and section.inner_text() == "Claim strength"
    table = page.locator("h2#claim_strength ~ table.hw-defs").first
    assert table.locator(".hw-badge").all_inner_texts() == [
        "No claim", "Correlational claim", "Conditional causal claim", "Direct causal claim"]
    web.assert_clean("claim strength")


def test_full_text_search_from_the_home_page(web):
    web.goto("/")
    page = web.page
    page.fill("#hw-q", "exosomes")
    page.press("#hw-q", "Enter")
    page.wait_for_url(re.compile(r"/hypewatch/items\?.*_search=exosomes"))
    titles = page.locator("table.rows-and-columns tbody td.col-title").all_inner_texts()
    assert len(titles) == 1 and "Exosomes from dermal papilla cells" in titles[0], titles
    # and Datasette's own search box on the table page
    page.fill("#_search", "meta-analysis")
    page.press("#_search", "Enter")
    page.wait_for_url(re.compile(r"_(search|q)=meta-analysis"))  # the filter form redirects to ?_q=
    titles = page.locator("table.rows-and-columns tbody td.col-title").all_inner_texts()
    assert len(titles) == 1 and titles[0].startswith("Finasteride and dutasteride"), titles
    web.assert_clean("search")


def test_item_page_shows_labels_and_reasons(web):
    web.goto("/hypewatch/items?_search=" + "oral minoxidil".replace(" ", "+"))
    page = web.page
    page.locator("table.rows-and-columns tbody td.col-title a", has_text="Oral minoxidil").click()
    page.wait_for_url(re.compile(r"/hypewatch/items/[0-9a-f]{16}$"))
    assert page.locator("h1").inner_text().startswith("Oral minoxidil versus topical minoxidil")
    badges = page.locator(".hw-badges").inner_text()
    assert "Human RCT" in badges and "Low hype" in badges and "No commercial interest" in badges, badges
    assert "Direct causal claim" in badges, badges
    assert page.locator("h2", has_text="Why these labels").is_visible()
    evidence = page.locator('.hw-reasons[data-dimension="evidence_stage"]')
    assert evidence.is_visible()
    mark = evidence.locator(".hw-snippet mark")
    assert mark.count() == 1 and mark.inner_text() == "randomized, double-blind"
    assert mark.is_visible()
    assert page.locator('.hw-reasons[data-dimension="hype"] mark').inner_text() == "compared with"
    claim = page.locator('.hw-reasons[data-dimension="claim_strength"]')
    assert claim.locator("h3").inner_text() == "Claim strength"
    assert claim.locator(".hw-snippet mark").inner_text() == "increased hair density"
    original = page.locator("a.hw-original")
    assert original.is_visible() and original.get_attribute("href").startswith("https://journal.example.org/")
    assert page.locator('.hw-links a[href="https://doi.org/10.1000/jhs.2026.0142"]').is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "item.png"), full_page=True)
    web.assert_clean("item page")


def _svg_sizes(page, selector: str) -> list[dict]:
    return page.locator(selector).evaluate_all(
        """els => els.map(svg => {
             const box = svg.getBoundingClientRect();
             const marks = [...svg.querySelectorAll('rect, circle, path, polyline, line')]
               .map(el => el.getBoundingClientRect()).filter(b => b.width > 0 && b.height > 0).length;
             return {width: box.width, height: box.height, marks};
           })""")


def test_charts_render(web):
    web.goto("/")
    page = web.page
    home = _svg_sizes(page, "main svg, .content svg, section svg")
    assert home and any(s["width"] > 100 and s["height"] > 50 and s["marks"] >= 3 for s in home), home
    web.goto("/-/charts")
    for section in ("stages-over-time", "hype-by-publisher", "hype-by-source", "treatment-pipeline"):
        sizes = _svg_sizes(page, f"#{section} svg")
        assert sizes, section
        assert all(s["width"] > 100 and s["height"] > 50 and s["marks"] >= 3 for s in sizes), (section, sizes)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "charts.png"), full_page=True)
    web.assert_clean("charts")


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_hostile_item_executes_nothing(web, path):
    response = web.goto(path)
    page = web.page
    # give any deferred payload (img onerror after a failed load, timers) a moment to fire
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)
    if path.endswith(".atom") or ".atom?" in path:
        assert "xml" in (response.headers.get("content-type") or ""), response.headers
    else:
        # the payload is on the page, shown as text
        assert XSS_MARK in page.content(), f"{path}: the hostile item is not on the page"
    found = {"dialogs": web.dialogs, "window.__pwned": page.evaluate("() => window.__pwned"),
             "errors": web.errors, "live markup": page.evaluate(DOM_AUDIT_JS), "off-site requests": web.offsite}
    problems = {what: seen for what, seen in found.items() if seen}
    assert not problems, f"{path}: the hostile item ran or left live markup: {problems}"


def test_hostile_item_page_shows_the_payload_as_text(web):
    web.goto(f"/hypewatch/items/{HOSTILE_ID}")
    page = web.page
    page.wait_for_load_state("networkidle")
    title = page.locator("h1").inner_text()
    assert f"<script>alert('{XSS_MARK}-title')</script>" in title, title
    assert page.locator("h1 script, h1 img, .hw-summary script, .hw-summary a, .hw-summary svg").count() == 0
    assert page.locator("a.hw-original").count() == 0  # javascript: URL is not linked
    assert "not an http(s) URL" in page.locator(".hw-links").inner_text()
    # the cue "<script>" is highlighted as text
    assert "<script>" in page.locator('.hw-reasons[data-dimension="hype"] mark').first.inner_text()
    # a link that is clicked does nothing either: every link on the page goes to http(s) or the site
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(a => a.href)")
    assert all(urlsplit(h).scheme in ("http", "https") for h in hrefs), [h for h in hrefs if "http" not in h[:5]]
    assert page.evaluate("() => window.__pwned") is None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hostile-item.png"), full_page=True)
    web.assert_clean("hostile item page")


#: The main pages, the SQL editor and an error page: each must run under the site's CSP without a violation.
CSP_PAGES = ["/", "/hypewatch", "/hypewatch/items", "/hypewatch/items?_search=minoxidil&_facet=source",
             f"/hypewatch/items/{HOSTILE_ID}", "/hypewatch/latest", "/hypewatch/treatment_pipeline", "/-/charts",
             "/-/labels", "/hypewatch?sql=select+id%2C+title+from+items+limit+3",
             "/hypewatch/studies", f"/hypewatch/studies/{CERIUM_STUDY}", "/hypewatch/citations?verdict=off_topic",
             "/hypewatch/citation_problems", "/hypewatch/coverage_gaps", "/hypewatch/items?coverage_gap=stage_claim"]


def test_pages_run_under_the_content_security_policy(web):
    page = web.page
    for path in CSP_PAGES:
        response = web.goto(path)
        csp = response.headers.get("content-security-policy") or ""
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => window.__csp") == [], path
    # the SQL editor's inline script ran (allowed by its hash): CodeMirror replaced the textarea
    web.goto("/hypewatch")
    page.wait_for_load_state("networkidle")
    assert page.locator(".CodeMirror").count() == 1
    assert page.evaluate("() => window.__csp") == []
    response = web.page.goto(web.base + "/hypewatch/nosuchtable")
    assert response.status == 404 and page.evaluate("() => window.__csp") == []
    web.errors[:] = [e for e in web.errors if "404" not in e]  # the 404 itself is logged by the browser
    web.assert_clean("pages under the CSP")


def test_citations_checked_and_a_study_told_several_ways(web):
    """From the home page to the studies, a study's tellings, an item's citations and back, under the CSP."""
    web.goto("/")
    page = web.page
    page.locator('a.hw-card[href="/hypewatch/studies"]').click()
    page.wait_for_url("**/hypewatch/studies")
    assert _rows(page) == 2
    facet = page.locator('#facet-worst_gap a[data-facet-value="stage_claim"]')
    assert facet.inner_text().strip() == "Outruns the paper"
    facet.click()
    page.wait_for_url(re.compile(r"[?&]worst_gap=stage_claim(&|$)"))
    assert _rows(page) == 1
    page.locator("table.rows-and-columns tbody td.col-title a").first.click()
    page.wait_for_url(f"**/hypewatch/studies/{CERIUM_STUDY}")
    assert page.locator("h1").inner_text().startswith("Cerium oxide nanoparticles")
    paper = page.locator("section.hw-paper")
    assert "Nano Today" in paper.inner_text() and "Corrected since" in paper.inner_text()
    tellings = page.locator("li.hw-telling")
    assert tellings.count() == 3
    first = tellings.first
    assert first.get_attribute("data-gap") == "stage_claim"
    gap = first.locator(".hw-badge.hw-coverage-gap-stage-claim")
    assert gap.is_visible() and gap.inner_text() == "Outruns the paper"
    assert gap.evaluate("el => getComputedStyle(el).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "reverses baldness" in first.locator(".hw-gap-reason").inner_text()
    assert page.evaluate("() => window.__csp") == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "study.png"), full_page=True)
    first.locator("a.hw-title").click()
    page.wait_for_url(f"**/hypewatch/items/{item_id(MOUSE_NEWS_TITLE)}")
    assert "Outruns the paper" in page.locator("section.hw-study-link").inner_text()
    web.goto(f"/hypewatch/items/{item_id(CLINIC_TITLE)}")
    citations = page.locator("li.hw-citation")
    assert [citations.nth(i).get_attribute("data-verdict") for i in range(citations.count())] == [
        "mismatch", "off_topic", "not_found", "retracted"]
    assert citations.nth(1).locator(".hw-badge").first.inner_text() == "Off topic"
    assert "bone regeneration" in citations.nth(1).inner_text()
    assert citations.nth(0).locator('a[href="https://doi.org/10.5555/sctm.2018.0101"]').is_visible()
    page.screenshot(path=str(ARTIFACTS / "citations.png"), full_page=True)
    web.goto("/hypewatch/citation_problems")
    assert _rows(page) == 5
    assert page.evaluate("() => window.__csp") == []
    web.assert_clean("citations and studies")
