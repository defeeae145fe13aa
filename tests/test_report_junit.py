"""The JUnit reporter, read back the way CI servers read it (junitparser, Jenkins conventions)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Outcome, Waiver
from iisguard.report import base as report_base
from iisguard.report.junit import REPORTER

from .report_helpers import (
    RULES,
    STARTED,
    assert_golden,
    build_report,
    finding,
    record_made,
    single_host_report,
)

CLASSNAME = re.compile(r"^iisguard\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def report(workdir):
    return build_report(workdir)


@pytest.fixture
def xml(report):
    return REPORTER.render(report)


def expected_counts(host: HostResult) -> dict[str, int]:
    """What each suite must report, derived from the findings independently of the reporter."""
    passes = [f for f in host.findings if f.outcome is Outcome.PASS]
    counts = {
        # A rule's passes on a host are one test case; every other outcome is one per resource.
        "tests": len(host.findings)
        - len(passes)
        + len({f.rule_id for f in passes})
        + len(host.failed_sections),
        "failures": 0,
        "errors": len(host.failed_sections),
        "skipped": 0,
    }
    for f in host.findings:
        if f.outcome is Outcome.FAIL:
            counts["failures" if f.active_failure else "skipped"] += 1
        elif f.outcome in (Outcome.ERROR, Outcome.NOT_REVIEWED):
            counts["errors"] += 1
        elif f.outcome is Outcome.NOT_APPLICABLE:
            counts["skipped"] += 1
    return counts


def test_exactly_one_xml_document(xml):
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    assert xml.count("<?xml") == 1 and xml.count("<testsuites") == 1
    assert xml.rstrip().endswith("</testsuites>")
    ET.fromstring(xml.encode("utf-8"))  # raises on anything after the root element


def test_junitparser_counts_match_the_findings(xml, report):
    parsed = JUnitXml.fromstring(xml)
    suites = list(parsed)
    assert [s.name for s in suites] == ["WEB01", "WEB02"]
    for suite, host in zip(suites, report.hosts, strict=True):
        want = expected_counts(host)
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
            want["tests"],
            want["failures"],
            want["errors"],
            want["skipped"],
        )
        cases = list(suite)
        assert len(cases) == want["tests"]
        # The attributes agree with the elements actually present.
        kinds = [type(c.result[0]) if c.result else None for c in cases]
        assert kinds.count(Failure) == suite.failures
        assert kinds.count(Error) == suite.errors
        assert kinds.count(Skipped) == suite.skipped
        assert datetime.fromisoformat(suite.timestamp) == datetime(2026, 2, 3, 4, 5, 6)
        assert suite.time == host.seconds
    root = ET.fromstring(xml)
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(expected_counts(h)[key] for h in report.hosts)
    assert (suites[0].tests, suites[0].failures, suites[0].errors, suites[0].skipped) == (9, 3, 2, 3)


def test_one_testcase_per_rule_and_resource_with_stable_names(xml, report):
    for suite, host in zip(JUnitXml.fromstring(xml), report.hosts, strict=True):
        names = [c.name for c in suite]
        assert len(names) == len(set(names))
        expected = {f"{f.rule_id} {f.resource}" for f in host.findings if f.outcome is not Outcome.PASS}
        expected |= {f"{f.rule_id} (passing resources)" for f in host.findings if f.outcome is Outcome.PASS}
        expected |= {f"section {s['name']}" for s in host.failed_sections}
        assert set(names) == expected
        for case in suite:
            assert CLASSNAME.match(case.classname), case.classname
            assert case.classname.endswith("." + host.host)
    passes = [(s.name, c.name) for s in JUnitXml.fromstring(xml) for c in s if not c.result]
    assert passes == [
        ("WEB01", "IIS-POOL-001 (passing resources)"),
        ("WEB02", "IIS-POOL-001 (passing resources)"),
    ]


def test_passes_fold_into_one_testcase_per_rule_and_host_that_counts_them(tmp_path):
    """Issue 15: O(rules x hosts + failures) test cases, however many resources pass."""
    findings = [finding(outcome=Outcome.PASS, resource=f"pool{i:04d}") for i in range(1500)]
    findings += [finding(resource="Payroll"), finding("IIS-ACL-003", Outcome.PASS, "C:\\inetpub", pack="acl")]
    xml = REPORTER.render(single_host_report(tmp_path, findings))
    (suite,) = JUnitXml.fromstring(xml)
    by_name = {c.name: c for c in suite}
    assert sorted(by_name) == [
        "IIS-ACL-003 (passing resources)",
        "IIS-POOL-001 (passing resources)",
        "IIS-POOL-001 Payroll",
    ]
    assert (suite.tests, suite.failures) == (3, 1)
    root = ET.fromstring(xml)
    case = root.find(".//testcase[@name='IIS-POOL-001 (passing resources)']")
    assert case.find("properties/property[@name='resources_passed']").get("value") == "1500"
    out = case.findtext("system-out")
    assert out.startswith("1500 resources passed IIS-POOL-001 on WEB01: pool0000, pool0001,")
    assert out.endswith(", and 1480 more")
    # The suite keeps the host's total for trends.
    assert root.find(".//testsuite/properties/property[@name='resources_passed']").get("value") == "1501"


def test_names_do_not_change_with_messages(report):
    first = [(c.classname, c.name) for s in JUnitXml.fromstring(REPORTER.render(report)) for c in s]
    for host in report.hosts:
        host.findings = [replace(f, message="reworded " + f.message) for f in host.findings]
    second = [(c.classname, c.name) for s in JUnitXml.fromstring(REPORTER.render(report)) for c in s]
    assert first == second


def cases(xml):
    return {(s.name, c.name): c for s in JUnitXml.fromstring(xml) for c in s}


def test_failure_carries_severity_details_and_remediation(xml):
    case = cases(xml)[("WEB01", "IIS-POOL-001 Payroll")]
    (failure,) = case.result
    assert isinstance(failure, Failure)
    assert failure.type == "critical"
    assert failure.message.startswith("Application pool 'Payroll' runs as LocalSystem")
    assert 'appcmd set apppool "Payroll" /processModel.identityType:ApplicationPoolIdentity' in failure.text
    assert "Evidence: scans/captures/web01/applicationHost.config:6" in failure.text
    assert case.classname == "iisguard.pool.WEB01"


def test_waived_baselined_and_not_applicable_are_skipped(xml):
    found = cases(xml)
    (waived,) = found[("WEB01", "IIS-POOL-001 Legacy")].result
    assert isinstance(waived, Skipped)
    assert waived.message == "waived until 2026-12-31: vendor app needs SYSTEM until the 2026 upgrade"
    (baselined,) = found[("WEB01", "IIS-ACL-003 C:\\Data")].result
    assert isinstance(baselined, Skipped) and "baseline" in baselined.message
    (na,) = found[("WEB01", "IIS-HOST-002 host")].result
    assert isinstance(na, Skipped) and na.message.startswith("not applicable")


def test_expired_waiver_is_a_failure(xml):
    (result,) = cases(xml)[("WEB01", "IIS-ANON-002 Default Web Site")].result
    assert isinstance(result, Failure) and result.type == "medium"
    assert "expired on 2025-01-31" in result.text


def test_rule_error_not_reviewed_and_failed_section_are_errors(xml):
    found = cases(xml)
    (crash,) = found[("WEB01", "IIS-PRIV-004 host")].result
    assert isinstance(crash, Error) and "KeyError" in crash.message
    (nr,) = found[("WEB01", "IIS-KRB-001 host")].result
    assert isinstance(nr, Error) and nr.type == "not_reviewed"
    section = found[("WEB02", "section acls")]
    assert isinstance(section.result[0], Error) and "icacls output truncated" in section.result[0].message
    assert section.classname == "iisguard.collection.WEB02"


def test_control_characters_and_markup_survive_as_well_formed_xml(workdir):
    nasty = "Pool\x01\x1b[31m<&>\"'\ud800\ufffe"
    f = finding(
        resource=nasty, message="bad\x00message\x0bhere & <there>", host="web01.corp.example", pack="my.pack"
    )
    waived = finding(
        resource="Other",
        waiver=Waiver("reason with \x07 bell", "owner", "2030-01-01"),
        host="web01.corp.example",
    )
    rep = Report([HostResult("web01.corp.example", None, [f, waived])], dict(RULES), "1", STARTED)
    xml = REPORTER.render(rep)
    root = ET.fromstring(xml.encode("utf-8"))
    parsed = JUnitXml.fromstring(xml)
    (suite,) = list(parsed)
    names = sorted(c.name for c in suite)
    assert names[0] == "IIS-POOL-001 Other"
    assert names[1] == "IIS-POOL-001 Pool\\x01\\x1b[31m<&>\"'\\ud800\\ufffe"
    assert {c.classname for c in suite} == {
        "iisguard.my_pack.web01_corp_example",
        "iisguard.pool.web01_corp_example",
    }
    failure = root.find(".//failure")
    assert failure is not None and failure.get("message") == "bad\\x00message here & <there>"
    skipped = root.find(".//skipped")
    assert skipped is not None and "\\x07" in skipped.get("message")


def test_escape_controls_keeps_tabs_and_newlines():
    assert report_base.escape_controls("a\tb\r\nc\x1b") == "a\tb\nc\\x1b"


def test_empty_report_is_still_one_document():
    xml = REPORTER.render(Report([], {}, "1", STARTED))
    root = ET.fromstring(xml)
    assert root.tag == "testsuites" and root.get("tests") == "0" and len(root) == 0


def test_golden(xml, workdir):
    assert_golden("report.junit.xml", xml, workdir)


@pytest.mark.parametrize(
    "text",
    [
        "Pool runs as LocalSystem.",
        'Markup & <quotes> "here"',
        "double  spaces and a trailing space ",
        " leading space",
        "a\ttab",
        "a\r\nline end",
        "bidi \u202e and \x1b escape",
        "",
    ],
)
def test_failures_written_in_one_go_read_as_the_general_way(workdir, monkeypatch, text):
    """Active failures, not-reviewed and not-applicable findings of printable text are written without
    the general path (`_outcome_element`); the document is the same as that path writes."""
    from iisguard.report import junit

    findings = [
        finding(resource=f"Pool {text}", message=text),
        finding(resource="Plain", message=text, host="web<&>01"),
        finding(rule_id="IIS-KRB-001", outcome=Outcome.NOT_REVIEWED, resource="host", message=text),
        finding(rule_id="IIS-HOST-002", outcome=Outcome.NOT_APPLICABLE, resource="r & <s>", message=text),
    ]
    rep = Report([HostResult("web01", None, findings)], dict(RULES), "1", STARTED)
    fast = REPORTER.render(rep)
    for name in ("_active_failure", "_not_reviewed", "_not_applicable"):
        monkeypatch.setattr(junit, name, lambda *args: None)
    assert fast == REPORTER.render(rep)
    ET.fromstring(fast.encode("utf-8"))


def test_chunks_are_the_document_as_utf8_in_groups(report, monkeypatch):
    """What the CLI writes (`render_chunks`: groups of pieces encoded one at a time, never joined
    whole) is the document `render` gives, in UTF-8, whatever the group size."""
    from iisguard.report import junit

    text = REPORTER.render(report)
    for group in (1, 2, 7, 10**6):
        monkeypatch.setattr(junit, "_GROUP", group)
        chunks = list(REPORTER.render_chunks(report))
        assert b"".join(chunks) == text.encode("utf-8")
        assert len(chunks) > 1 or group == 10**6


def test_cases_are_made_as_the_chunks_are_taken(report, monkeypatch):
    """The counts of every start tag come first, from the outcomes alone, so the document is made
    as it is written: the head is out before any test case's text is made (a large host's JUnit
    file is 47 MB)."""
    from iisguard.report import junit

    monkeypatch.setattr(junit, "_GROUP", 1)
    for name in ("_active_failure", "_not_reviewed", "_not_applicable"):
        monkeypatch.setattr(junit, name, lambda *args: None)  # every case through _outcome_element
    made = record_made(monkeypatch, junit, "_outcome_element")
    chunks = REPORTER.render_chunks(report)
    head = next(chunks)
    assert head.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="iisguard" tests=')
    assert made == []
    rest = list(chunks)
    assert len(made) == sum(1 for h in report.hosts for f in h.findings if f.outcome is not Outcome.PASS)
    assert b"".join([head, *rest]) == REPORTER.render(report).encode("utf-8")
