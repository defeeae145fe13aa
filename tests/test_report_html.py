"""The HTML reporter: escaping of untrusted names, its Content-Security-Policy, and the page in a real browser.

The browser tests load the report in Debian's chromium (installed by .ci/run) through Playwright:
the counts the page shows must equal the JSON report's, no request may leave the page (every
request is intercepted and recorded), planted scripts and event handlers must not run, the filters
and search must work without a server, and a screenshot is kept under out/ci-artifacts/. When
CI=true and chromium is missing the browser tests fail; elsewhere they skip and say why.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from iisguard.cli import main
from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Evidence, Outcome, Waiver
from iisguard.report.html import REPORTER, content_security_policy

from .conftest import FIXTURES, ROOT
from .report_helpers import RULES, STARTED, build_report, finding, single_host_report

CHROMIUM = os.environ.get("IISGUARD_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "out" / "ci-artifacts"
MISCONFIGURED = FIXTURES / "hosts" / "demo-misconfigured"
HOSTILE = '<script>window.__pwned=1</script>" onmouseover="window.__pwned=2" x="'


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


def hostile_report(root: Path) -> Report:
    """Planted markup in a host name, site and pool names, paths, account names, a waiver owner, a captured line."""
    captures = root / "captures"
    captures.mkdir(parents=True, exist_ok=True)
    (captures / f"app{HOSTILE[:8].replace('/', '_')}.config").write_text(
        f'<add name="{HOSTILE}">\n', encoding="utf-8"
    )
    artifact = f"captures/app{HOSTILE[:8].replace('/', '_')}.config"
    host = f"WEB{HOSTILE}"
    findings = [
        finding(host=host, resource=f"Site {HOSTILE}", message=f"Pool {HOSTILE} runs as CORP\\{HOSTILE}"),
        finding(
            "IIS-ACL-003",
            host=host,
            resource=f"C:\\inetpub\\{HOSTILE}",
            message=f"{HOSTILE} can write",
            evidence=Evidence(artifact, 1),
        ),
        finding(
            "IIS-ANON-002",
            host=host,
            resource=HOSTILE,
            message=HOSTILE,
            waiver=Waiver(HOSTILE, f"owner {HOSTILE}", "2030-01-01"),
        ),
        finding("IIS-KRB-001", Outcome.NOT_REVIEWED, "host", f"data not collected ({HOSTILE})", host=host),
    ]
    snapshot = root / "snap.json"
    snapshot.write_text("{}\n", encoding="utf-8")
    findings = [replace(f, snapshot_path=str(snapshot)) for f in findings]
    sections = [{"name": "acls", "status": "failed", "message": HOSTILE}]
    return Report([HostResult(host, str(snapshot), findings, sections=sections)], dict(RULES), "1", STARTED)


# --- without a browser --------------------------------------------------------------------------------


def test_planted_markup_is_text_not_markup(workdir):
    html = REPORTER.render(hostile_report(workdir))
    page = parse(html)
    assert len(page.scripts) == 1 and "__pwned" not in page.scripts[0]  # only our own script
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "x" not in attrs, (tag, attrs)  # the planted attribute never became one
    assert "<script>window.__pwned" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;&#34; onmouseover=&#34;window.__pwned=2" in html
    # The captured line itself is quoted as text too.
    assert html.count("&lt;add name=&#34;&lt;script&gt;") == 1


def test_csp_forbids_every_request_and_allows_only_our_own_style_and_script(workdir):
    html = REPORTER.render(build_report(workdir))
    page = parse(html)
    meta = [
        a
        for t, a in page.tags
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert len(meta) == 1
    csp = meta[0]["content"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("img-src", "connect-src", "font-src", "object-src", "frame-src", "base-uri", "form-action"):
        assert directives[name] == "'none'", name

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert directives["script-src"] == digest(page.scripts[0])
    assert directives["style-src"] == digest(page.styles[0])
    assert csp == content_security_policy(page.styles[0], page.scripts[0])
    # Nothing in the page names a resource to load: no src, no stylesheet link, no url() in the CSS.
    for tag, attrs in page.tags:
        assert "src" not in attrs and tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
    assert "url(" not in page.styles[0] and "@import" not in page.styles[0]


def test_summary_first_then_hosts_and_sections_apart(workdir):
    html = REPORTER.render(build_report(workdir))
    order = [
        html.index(marker)
        for marker in ('id="summary"', 'id="filters"', 'id="host-WEB01"', 'id="host-WEB02"')
    ]
    assert order == sorted(order)
    web01 = html[html.index('id="host-WEB01"') : html.index('id="host-WEB02"')]
    apart = web01[web01.index("Waived and baselined") :]
    assert "ops@example.com" in apart and "2026-12-31" in apart and "vendor app needs SYSTEM" in apart
    assert "baselined (unchanged)" in apart
    # Evidence: file:line and the captured line itself.
    assert "scans/captures/web01/applicationHost.config:6" in web01
    assert "&lt;add name=&#34;Payroll&#34;&gt;" in web01
    assert 'appcmd set apppool "Payroll"' not in web01  # escaped in the remediation block
    assert "appcmd set apppool &#34;Payroll&#34;" in web01
    assert 'href="https://www.cisecurity.org/benchmark/microsoft_iis"' in web01


def test_not_reviewed_is_one_line_per_host_and_missing_section(workdir):
    missing = {"missing_sections": {"acls": "failed"}}
    nr = [
        finding(rule_id, Outcome.NOT_REVIEWED, "host", "data not collected (acls failed)", properties=missing)
        for rule_id in ("IIS-ACL-003", "IIS-POOL-001", "IIS-PRIV-004")
    ]
    sections = [{"name": "acls", "status": "failed", "message": "icacls timed out"}]
    rep = Report([HostResult("WEB01", None, nr, sections=sections)], dict(RULES), "1", STARTED)
    html = REPORTER.render(rep)
    lines = re.findall(r'<li class="f nr"[^>]*>(.*?)</li>', html)
    assert lines == [
        "section acls failed (icacls timed out): 3 rule(s) not reviewed: IIS-ACL-003, IIS-POOL-001, IIS-PRIV-004"
    ]


def test_html_is_a_registered_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["scan", str(MISCONFIGURED), "--format", "html:r.html"]) == 1
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --- in headless chromium -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        reason = f"chromium not found at {CHROMIUM} (.ci/run installs Debian's chromium with apt-get)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true, so the browser tests must run")
        pytest.skip(reason)
    try:
        from playwright import sync_api
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is not installed (test extras); CI=true, so the browser tests must run")
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


class Page:
    """A report opened from disk, every request recorded and anything but the file itself refused."""

    def __init__(self, browser, path: Path) -> None:
        self.requests: list[str] = []
        self.console: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        # Generous: CI machines may be busy, and a full-page screenshot of a long report takes a while.
        self.context.set_default_timeout(180_000)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("dialog", lambda d: (self.console.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.route("**/*", self._route)
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)

    def _route(self, route):
        self.requests.append(route.request.url)
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def close(self) -> None:
        self.context.close()


def scan_demo(tmp_path: Path, *extra: str) -> tuple[Path, dict]:
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["scan", str(MISCONFIGURED), "--format", f"html:{html}", "--format", f"json:{js}", *extra])
    assert code == 1
    return html, json.loads(js.read_text(encoding="utf-8"))


def test_counts_in_the_browser_match_the_json_report(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    html, doc = scan_demo(tmp_path)
    view = Page(browser, html)
    try:
        page = view.page
        shown = {
            el.get_attribute("data-count"): int(el.inner_text())
            for el in page.query_selector_all("[data-count]")
        }
        summary = doc["summary"]
        for sev, n in summary["active_by_severity"].items():
            assert shown[f"active-{sev}"] == n, sev
        for outcome, n in summary["outcomes"].items():
            assert shown[outcome] == n, outcome
        for st, n in summary["failures"].items():
            assert shown[st] == n, st
        assert int(page.get_attribute("#gate", "data-exit-code")) == summary["exit_code"] == 1
        assert "FAILED" in page.inner_text("#gate")
        # Per host, the same numbers as the JSON report's hosts and findings.
        for host in doc["hosts"]:
            row = page.query_selector(f'#host-summary tr[data-host="{host["name"]}"]')
            cells = {
                c.get_attribute("data-host-count"): int(c.inner_text())
                for c in row.query_selector_all("td[data-host-count]")
            }
            mine = [f for f in doc["findings"] if f["host"] == host["name"]]
            for sev in summary["active_by_severity"]:
                assert cells[sev] == sum(
                    1 for f in mine if f["state"] == "active" and f["severity"] == sev
                ), sev
            assert cells["not_reviewed"] == host["outcomes"]["not_reviewed"]
            assert cells["error"] == host["outcomes"]["error"]
        # One row per active failure.
        active = [f for f in doc["findings"] if f["outcome"] == "fail" and f["state"] == "active"]
        assert len(page.query_selector_all("main tr.finding")) == len(active)
        assert page.inner_text("#filter-shown") == f"{len(active)} of {len(active)} active failure(s) shown"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "html-report.png"), full_page=True)
        assert (ARTIFACTS / "html-report.png").stat().st_size > 10_000
        assert view.requests == [view.url], view.requests
        assert not [m for m in view.console if "Content Security Policy" in m], view.console
    finally:
        view.close()


def test_compliance_by_control_in_the_browser_matches_the_json_report(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    html, doc = scan_demo(tmp_path, "--framework", "stig-iis10")
    view = Page(browser, html)
    try:
        page = view.page
        counts = {
            el.get_attribute("data-compliance"): int(el.inner_text())
            for el in page.query_selector_all("[data-compliance]")
        }
        assert counts == doc["compliance"]["summary"]
        rows = {
            el.get_attribute("data-item"): el.get_attribute("data-status")
            for el in page.query_selector_all("#compliance tr.control")
        }
        assert rows == {item["id"]: item["status"] for item in doc["compliance"]["items"]}
        assert "fail" in rows.values() and "not_covered" in rows.values()
        assert page.inner_text("#compliance h2").startswith("Compliance by control")
        page.locator("#compliance").screenshot(path=str(ARTIFACTS / "html-report-compliance.png"))
        assert view.requests == [view.url]
    finally:
        view.close()


def test_no_compliance_section_without_framework(workdir):
    assert 'id="compliance"' not in REPORTER.render(build_report(workdir))


def test_filters_and_search_work_without_a_server(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    html, doc = scan_demo(tmp_path)
    active = [f for f in doc["findings"] if f["outcome"] == "fail" and f["state"] == "active"]
    view = Page(browser, html)
    try:
        page = view.page
        assert page.is_visible("#filters")

        def visible_rows() -> int:
            return len([r for r in page.query_selector_all("main tr.finding") if r.is_visible()])

        for sev in ("critical", "high", "medium"):
            page.select_option("#filter-severity", sev)
            want = sum(1 for f in active if f["severity"] == sev)
            assert visible_rows() == want == int(page.get_attribute("#filter-shown", "data-shown")), sev
        page.select_option("#filter-severity", "")
        rule = active[0]["rule_id"]
        page.select_option("#filter-rule", rule)
        assert visible_rows() == sum(1 for f in active if f["rule_id"] == rule)
        page.select_option("#filter-rule", "")
        term = active[-1]["resource"].lower()
        page.fill("#filter-search", term)
        rows = [r for r in page.query_selector_all("main tr.finding") if r.is_visible()]
        assert rows and all(term in r.inner_text().lower() for r in rows)
        hidden = [r for r in page.query_selector_all("main tr.finding") if not r.is_visible()]
        assert all(term not in (r.text_content() or "").lower() for r in hidden)
        page.fill("#filter-search", "no such thing anywhere")
        assert visible_rows() == 0 and page.inner_text("#filter-shown").startswith("0 of ")
        page.fill("#filter-search", "")
        assert visible_rows() == len(active)
        assert view.requests == [view.url], view.requests
    finally:
        view.close()


def test_planted_script_and_handlers_do_not_run_in_the_browser(browser, workdir):
    path = workdir / "hostile.html"
    path.write_text(REPORTER.render(hostile_report(workdir)), encoding="utf-8")
    view = Page(browser, path)
    try:
        page = view.page
        for row in page.query_selector_all("main td, main li, h2"):
            if row.is_visible():
                row.hover()
        assert page.evaluate("() => window.__pwned === undefined")
        assert page.evaluate("() => document.querySelectorAll('script').length") == 1
        assert HOSTILE.split('"')[0] in page.inner_text("main")  # shown as text
        assert not [m for m in view.console if m.startswith("dialog")]
        assert view.requests == [view.url]
    finally:
        view.close()


def test_the_request_check_is_looking(browser, workdir):
    """A copy of the report with an external image and a script: the CSP blocks them and we see it."""
    html = REPORTER.render(build_report(workdir))
    tampered = html.replace(
        "<main>", '<main><img src="http://192.0.2.1/x.png"><script>window.__ran=1</script>', 1
    )
    path = workdir / "tampered.html"
    path.write_text(tampered, encoding="utf-8")
    view = Page(browser, path)
    try:
        assert view.page.evaluate("() => window.__ran === undefined")  # blocked by the script hash
        assert any("Content Security Policy" in m for m in view.console), view.console
    finally:
        view.close()
    # Without the CSP the same page does try to reach the network: the interception would see it.
    path.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", tampered), encoding="utf-8"
    )
    view = Page(browser, path)
    try:
        assert "http://192.0.2.1/x.png" in view.requests
    finally:
        view.close()


def test_chromium_dump_dom_reads_the_offline_page(tmp_path, monkeypatch):
    """The plain command line from the issue works too: chromium --headless --dump-dom, after the script ran."""
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium not found at {CHROMIUM}; CI=true, so this test must run")
        pytest.skip(f"chromium not found at {CHROMIUM} (.ci/run installs it)")
    monkeypatch.chdir(tmp_path)
    html, doc = scan_demo(tmp_path)
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,  # a busy CI machine
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    active = doc["summary"]["failures"]["active"]
    assert f'data-shown="{active}"' in dom  # the script ran and counted the rows
    assert re.search(rf'data-count="active"[^>]*>{active}<', dom)


def test_two_hosts_and_the_host_filter(browser, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    golden = FIXTURES / "hosts" / "farm-web01"
    code = main(
        ["scan", str(MISCONFIGURED), str(golden), "--format", f"html:{html}", "--format", f"json:{js}"]
    )
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert code == doc["summary"]["exit_code"] and len(doc["hosts"]) == 2
    view = Page(browser, html)
    try:
        page = view.page
        names = [h["name"] for h in doc["hosts"]]
        assert [s.get_attribute("data-host") for s in page.query_selector_all("main section.host")] == names
        for name in names:
            page.select_option("#filter-host", name)
            shown = [
                s.get_attribute("data-host")
                for s in page.query_selector_all("main section.host")
                if s.is_visible()
            ]
            assert shown == [name]
            rows = [r for r in page.query_selector_all("main tr.finding") if r.is_visible()]
            want = sum(1 for f in doc["findings"] if f["host"] == name and f["state"] == "active")
            assert len(rows) == want
        assert view.requests == [view.url]
    finally:
        view.close()


def test_a_rule_failing_on_many_resources_is_folded_and_still_counted_and_searchable(
    browser, tmp_path, monkeypatch
):
    """A large host fails one rule on thousands of folders: the first rows show, the rest are folded
    into a <details>, which every count includes and the search and filters open."""
    from iisguard.report.html import FIRST_ROWS

    monkeypatch.chdir(tmp_path)
    many = FIRST_ROWS + 25
    report = single_host_report(
        tmp_path,
        [finding(resource=f"Pool{i:03d}", message=f"Pool{i:03d} runs as LocalSystem.") for i in range(many)],
    )
    html = tmp_path / "r.html"
    html.write_text(REPORTER.render(report), encoding="utf-8")
    view = Page(browser, html)
    try:
        page = view.page
        rows = page.query_selector_all("main tr.finding")
        assert len(rows) == many
        assert page.inner_text("#filter-shown") == f"{many} of {many} active failure(s) shown"
        assert sum(1 for r in rows if r.is_visible()) == FIRST_ROWS
        assert page.inner_text("main details.more summary").startswith(
            f"{many - FIRST_ROWS} more IIS-POOL-001"
        )
        last = f"pool{many - 1:03d}"
        page.fill("#filter-search", last)  # a folded row: the search opens its fold
        visible = [r for r in page.query_selector_all("main tr.finding") if r.is_visible()]
        assert [r.inner_text().lower().split()[0] for r in visible] == [last]
        page.fill("#filter-search", "")  # cleared: the fold the search opened closes again
        assert sum(1 for r in page.query_selector_all("main tr.finding") if r.is_visible()) == FIRST_ROWS
        page.click("main details.more summary")  # and a click shows every row
        assert sum(1 for r in page.query_selector_all("main tr.finding") if r.is_visible()) == many
        assert view.requests == [view.url]
    finally:
        view.close()
