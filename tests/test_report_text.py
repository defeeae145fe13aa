"""The text reporter: what a person at a terminal reads."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Outcome, Waiver
from iisguard.report.text import REPORTER

from .report_helpers import RULES, STARTED, TOOL_VERSION, assert_golden, build_report, finding

ESC = "\x1b"
ESCAPES = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def report(workdir):
    return build_report(workdir)


@pytest.fixture
def text(report):
    return REPORTER.render(report)


def test_grouped_by_severity_then_rule(text):
    lines = text.splitlines()
    headers = [line for line in lines if line and not line.startswith(" ") and line.split(" ")[0].isupper()]
    assert headers == [
        "CRITICAL (2)",
        "HIGH (2)",
        "MEDIUM (1)",
        "LOW (1)",
        "ERRORS (1)",
        "NOT REVIEWED (2)",
        "COLLECTION",
        "NOTICES",
    ]
    critical = lines.index("CRITICAL (2)")
    assert lines[critical + 1] == "  IIS-POOL-001  Application pool runs as LocalSystem"
    assert lines.index("  IIS-ACL-003  Content folder is writable by the pool") > lines.index("HIGH (2)")


def test_one_line_per_failing_resource_with_location(text):
    failing = [line for line in text.splitlines() if line.startswith("    WEB")]
    assert len(failing) == 6
    assert (
        "    WEB01 Payroll: Application pool 'Payroll' runs as LocalSystem, which owns the machine; "
        "use ApplicationPoolIdentity (scans/captures/web01/applicationHost.config:6) [new]"
    ) in failing


def test_waived_and_baselined_are_marked(text):
    assert (
        "    WEB01 Legacy: Application pool 'Legacy' runs as LocalSystem. "
        "(scans/captures/web01/applicationHost.config:9) "
        "[waived until 2026-12-31 by ops@example.com: vendor app needs SYSTEM until the 2026 upgrade]"
    ) in text.splitlines()
    assert "WEB01 C:\\Data: IIS_IUSRS can write to C:\\Data. (scans/web01.json:" in text
    assert "[baselined: unchanged]" in text
    assert "[waiver expired 2025-01-31]" in text


def test_passes_and_not_applicable_are_counted_not_listed(text):
    assert "DefaultAppPool" not in text and "IIS-HOST-002" not in text
    assert text.splitlines()[-1] == (
        "Summary: 6 failed (4 active, 1 waived, 1 baselined), 2 passed, 1 not applicable, "
        "1 error(s), 2 not reviewed; exit 1 (fail-on medium)"
    )
    assert text.splitlines()[0] == f"iisguard {TOOL_VERSION}: 2 host(s), 7 rule(s), profile baseline"


def test_remediation_once_per_failing_rule(text):
    assert text.count("Remediation:") == 4  # POOL-001, ACL-003, ANON-002, ACME-POOL-001
    assert text.count('appcmd set apppool "Payroll" /processModel.identityType:ApplicationPoolIdentity') == 1
    assert "    See https://www.cisecurity.org/benchmark/microsoft_iis" in text


def test_rule_with_only_waived_failures_gets_no_remediation(workdir):
    waived = finding(waiver=Waiver("accepted risk", "ops", "2030-01-01"))
    text = REPORTER.render(Report([HostResult("WEB01", None, [waived])], dict(RULES), "1", STARTED))
    assert "[waived until 2030-01-01 by ops: accepted risk]" in text
    assert "Remediation:" not in text
    assert "exit 0" in text


def test_errors_not_reviewed_collection_and_notices(text):
    lines = text.splitlines()
    assert "  IIS-PRIV-004 WEB01 host: rule crashed: KeyError: 'sid' at priv.py:42" in lines
    assert "  WEB01 IIS-KRB-001: 1 resource(s) not reviewed: data not collected (ad absent)" in lines
    assert "  WEB02: section acls failed: icacls output truncated" in lines
    assert "  warning: waiver for IIS-ANON-002 on WEB01 (Default Web Site) expired on 2025-01-31" in lines


def test_colour_only_when_asked(report, text):
    assert ESC not in text
    coloured = REPORTER.render_terminal(report)
    assert ESC in coloured and coloured == REPORTER.render(report, color=True)
    waived = next(line for line in coloured.splitlines() if "Legacy" in line)
    assert waived.startswith("    \x1b[2m") and waived.endswith("\x1b[0m")
    assert "\x1b[1;31mCRITICAL (2)\x1b[0m" in coloured


def test_terminal_escapes_in_data_are_neutralised(workdir):
    hostile = finding(resource="Pool\x1b[2J", message="owned\x1b]0;title\x07 now\r\nnext line")
    text = REPORTER.render(Report([HostResult("WEB01", None, [hostile])], dict(RULES), "1", STARTED))
    assert ESC not in text and "\x07" not in text
    assert (
        "    WEB01 Pool\\x1b[2J: owned\\x1b]0;title\\x07 now next line (snapshot.json:1)" in text.splitlines()
    )


def test_fixed_since_the_baseline_is_counted(workdir):
    fixed = finding(
        outcome=Outcome.PASS, resource="Gone", message="fixed since the baseline", baseline_state="absent"
    )
    text = REPORTER.render(Report([HostResult("WEB01", None, [fixed])], dict(RULES), "1", STARTED))
    assert (
        "1 passed, 0 not applicable, 0 error(s), 0 not reviewed, 1 fixed since the baseline; exit 0" in text
    )
    assert "Gone" not in text


def test_clean_report(workdir):
    rep = Report([HostResult("WEB01", None, [finding(outcome=Outcome.PASS)])], dict(RULES), "1", STARTED)
    text = REPORTER.render(rep)
    assert text.splitlines()[-1] == (
        "Summary: 0 failed, 1 passed, 0 not applicable, 0 error(s), 0 not reviewed; exit 0 (fail-on medium)"
    )


def test_golden(text, workdir):
    assert_golden("report.txt", text, workdir)


# --- summary first and last, --quiet, --compact, the terminal's width ---------------------------------


def test_summary_first_and_last(text):
    lines = text.splitlines()
    assert lines[1] == lines[-1] and lines[1].startswith("Summary: 6 failed")
    assert lines[2] == "  Active failures by severity: 1 critical, 1 high, 1 medium, 1 low, 0 info"
    # Several hosts: one line each, before the details.
    assert lines[3:5] == [
        "  WEB01: 1 critical, 1 high, 1 medium; 1 not reviewed",
        "  WEB02: 1 low; 1 not reviewed; sections failed: acls",
    ]
    assert lines.index("CRITICAL (2)") > 5


def test_quiet_keeps_active_failures_only_one_line_each(report):
    quiet = replace(REPORTER, quiet=True).render(report)
    lines = quiet.splitlines()
    assert lines[1] == lines[-1] and lines[-1].startswith("Summary:")
    failing = [line for line in lines if line.startswith("    ")]
    assert len(failing) == 4  # 6 failures, less one waived and one baselined
    assert "Legacy" not in quiet and "C:\\Data" not in quiet
    assert (
        "    IIS-POOL-001 WEB01 Payroll: Application pool 'Payroll' runs as LocalSystem, which owns the machine; "
        in quiet
    )
    for absent in ("Remediation:", "NOT REVIEWED", "ERRORS", "COLLECTION", "NOTICES", "See https://"):
        assert absent not in quiet, absent


def test_compact_is_one_line_per_finding_without_remediation(report):
    compact = replace(REPORTER, compact=True).render(report)
    lines = compact.splitlines()
    failing = [line for line in lines if line.startswith("    ")]
    assert len(failing) == 6  # waived and baselined stay, marked
    assert any("[waived until 2026-12-31 by ops@example.com" in line for line in failing)
    assert "Remediation:" not in compact and "See https://" not in compact
    assert "NOT REVIEWED (2)" in lines and "COLLECTION" in lines  # the other sections stay


def test_width_wraps_the_default_and_cuts_compact_lines(report):
    wide = REPORTER.render(report)
    assert max(len(line) for line in wide.splitlines()) > 100  # whole lines without a terminal
    for width in (60, 100):
        wrapped = replace(REPORTER, width=width).render(report)
        assert max(len(line) for line in wrapped.splitlines()) <= width
        # Wrapping loses no word: the text is the same once the lines are joined again.
        assert " ".join(wrapped.split()) == " ".join(wide.split())
        cut = replace(REPORTER, compact=True, width=width).render(report)
        assert max(len(line) for line in cut.splitlines()) <= width
        assert len(cut.splitlines()) == len(replace(REPORTER, compact=True).render(report).splitlines())
    coloured = replace(REPORTER, width=60).render_terminal(report)
    plain = [ESCAPES.sub("", line) for line in coloured.splitlines()]
    assert max(len(line) for line in plain) <= 60


def test_not_reviewed_hosts_are_one_line_per_host_and_cause(workdir):
    """Four unreachable hosts: every section failed for one reason, so one line per host, not one per rule."""
    hosts = []
    sections = ["iis", "acls", "user_rights", "principals"]
    for n in range(4):
        findings = [
            finding(
                rule_id,
                Outcome.NOT_REVIEWED,
                "host",
                "data not collected (…)",
                host=f"WEB0{n}",
                properties={"missing_sections": {s: "failed" for s in sections[: 1 + i % 4]}},
            )
            for i, rule_id in enumerate(sorted(RULES))
        ]
        failed = [{"name": s, "status": "failed", "message": "connection refused"} for s in sections]
        hosts.append(HostResult(f"WEB0{n}", None, findings, sections=failed))
    text = REPORTER.render(Report(hosts, dict(RULES), "1", STARTED))
    block = text.split("NOT REVIEWED (28)\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(block) == 4, block
    assert block[0] == (
        "  WEB00 sections acls, iis, principals, user_rights failed (connection refused): "
        "7 rule(s) not reviewed: ACME-POOL-001, IIS-ACL-003, IIS-ANON-002, IIS-HOST-002, IIS-KRB-001, "
        "IIS-POOL-001, … (+1)"
    )
    collection = text.split("COLLECTION\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert collection == [
        f"  WEB0{n}: sections iis, acls, user_rights, principals failed: connection refused" for n in range(4)
    ]
    assert "  WEB00: no active failure; 7 not reviewed; 4 sections failed" in text.splitlines()
