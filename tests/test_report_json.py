"""The JSON reporter: stable, documented keys and counts that agree with the findings."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter

import pytest

from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Outcome
from iisguard.report import json as json_report
from iisguard.report.json import REPORTER

from .report_helpers import (
    PAYROLL_LINE,
    RULES,
    STARTED,
    TOOL_VERSION,
    assert_golden,
    build_report,
    finding,
    pointer_line,
)

TOP = [
    "format",
    "version",
    "tool",
    "generated_at",
    "summary",
    "hosts",
    "findings",
    "notices",
    "compliance",
    "shard",
]
SUMMARY = [
    "hosts",
    "rules",
    "profile",
    "outcomes",
    "failures",
    "failures_by_severity",
    "active_by_severity",
    "baseline",
    "fail_on",
    "exit_code",
    "passes_listed",
]
HOST = [
    "name",
    "snapshot",
    "collected_at",
    "source",
    "seconds",
    "sections",
    "outcomes",
    "execution_successful",
    "gaps",
]
FINDING = [
    "rule_id",
    "title",
    "severity",
    "pack",
    "outcome",
    "state",
    "host",
    "resource",
    "message",
    "location",
    "pointer",
    "fingerprint",
    "waiver",
    "baseline_state",
    "properties",
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def report(workdir):
    return build_report(workdir)


@pytest.fixture
def doc(report):
    return json.loads(REPORTER.render(report))


def test_stable_keys(doc):
    assert list(doc) == TOP
    assert doc["format"] == "iisguard-findings" and doc["version"] == 1
    assert doc["tool"] == {"name": "iisguard", "version": TOOL_VERSION}
    assert list(doc["summary"]) == SUMMARY
    assert all(list(h) == HOST for h in doc["hosts"])
    assert all(list(f) == FINDING for f in doc["findings"])
    assert all(list(f["location"]) == ["uri", "line"] for f in doc["findings"])
    assert all(list(n) == ["level", "kind", "message"] for n in doc["notices"])


def test_every_key_is_documented(doc):
    documented = set(re.findall(r"[a-z_]+", json_report.__doc__ or ""))
    keys = (
        set(TOP)
        | set(SUMMARY)
        | set(HOST)
        | set(FINDING)
        | {"uri", "line", "reason", "owner", "expires", "expired", "source"}
    )
    assert keys - documented == set()


def test_one_object_per_outcome_but_passes_with_counts_that_agree(doc, report):
    findings = list(report.findings())
    assert len(findings) == 12 and len(doc["findings"]) == 10  # the two passes are counted, not listed
    assert "pass" not in {f["outcome"] for f in doc["findings"]} and doc["summary"]["passes_listed"] is False
    outcomes = Counter(f.outcome.value for f in findings)
    assert doc["summary"]["outcomes"] == {o.value: outcomes.get(o.value, 0) for o in Outcome}
    assert doc["summary"]["outcomes"]["pass"] == 2
    assert doc["summary"]["failures"] == {"active": 4, "waived": 1, "baselined": 1}
    assert doc["summary"]["failures_by_severity"] == {
        "critical": 2,
        "high": 2,
        "medium": 1,
        "low": 1,
        "info": 0,
    }
    assert doc["summary"]["active_by_severity"] == {
        "critical": 1,
        "high": 1,
        "medium": 1,
        "low": 1,
        "info": 0,
    }
    assert doc["summary"]["baseline"] == {"new": 1, "unchanged": 1, "absent": 0}
    assert doc["summary"]["exit_code"] == report.exit_code() == 1
    assert doc["summary"]["fail_on"] == "medium"
    assert doc["summary"]["hosts"] == 2 and doc["summary"]["rules"] == len(RULES)
    for host, h in zip(doc["hosts"], report.hosts, strict=True):
        assert sum(host["outcomes"].values()) == len(h.findings)
        assert host["execution_successful"] is False


def test_failure_counts_without_waivers_or_baseline_count_every_failure_active(report):
    """Without waivers and baseline states the failures are counted by severity without being read
    one by one: the counts must be those of the findings."""
    for host in report.hosts:
        host.findings = [dataclasses.replace(f, waiver=None, baseline_state=None) for f in host.findings]
    summary = json.loads(REPORTER.render(report))["summary"]
    failed = [f for f in report.findings() if f.outcome is Outcome.FAIL]
    by_severity = Counter(f.severity.value for f in failed)
    assert summary["failures"] == {"active": len(failed), "waived": 0, "baselined": 0} and len(failed) == 6
    expected = {s: by_severity.get(s, 0) for s in ("critical", "high", "medium", "low", "info")}
    assert summary["failures_by_severity"] == summary["active_by_severity"] == expected


def test_fingerprints_are_the_findings_own(report):
    """Every listed finding carries its own fingerprint (rule, host and resource)."""
    listed = {
        (f["rule_id"], f["host"], f["resource"]): f["fingerprint"]
        for f in json.loads(json_report.JsonReporter(include_passes=True).render(report))["findings"]
    }
    assert listed == {(f.rule_id, f.host, f.resource): f.fingerprint for f in report.findings()}


def test_finding_fields(doc, report, workdir):
    by_key = {(f["host"], f["rule_id"], f["resource"]): f for f in doc["findings"]}
    payroll = by_key[("WEB01", "IIS-POOL-001", "Payroll")]
    assert payroll["location"] == {"uri": "scans/captures/web01/applicationHost.config", "line": PAYROLL_LINE}
    assert (
        payroll["severity"] == "critical"
        and payroll["state"] == "active"
        and payroll["baseline_state"] == "new"
    )
    assert payroll["title"] == "Application pool runs as LocalSystem" and payroll["pack"] == "pool"
    original = next(f for f in report.findings() if f.resource == "Payroll")
    assert payroll["fingerprint"] == original.fingerprint and payroll["pointer"] == "/iis/app_pools/1"

    legacy = by_key[("WEB01", "IIS-POOL-001", "Legacy")]
    assert legacy["state"] == "waived"
    assert legacy["waiver"] == {
        "reason": "vendor app needs SYSTEM until the 2026 upgrade",
        "owner": "ops@example.com",
        "expires": "2026-12-31",
        "expired": False,
        "source": "waivers.yaml",
    }
    expired = by_key[("WEB01", "IIS-ANON-002", "Default Web Site")]
    assert expired["state"] == "active" and expired["waiver"]["expired"] is True

    acl = by_key[("WEB01", "IIS-ACL-003", "C:\\inetpub\\wwwroot")]
    assert acl["location"] == {
        "uri": "scans/web01.json",
        "line": pointer_line(workdir / "scans/web01.json", "/acls/0"),
    }
    assert by_key[("WEB01", "IIS-ACL-003", "C:\\Data")]["state"] == "baselined"
    crash = by_key[("WEB01", "IIS-PRIV-004", "host")]
    assert crash["outcome"] == "error" and crash["state"] == "error" and crash["waiver"] is None
    assert ("WEB01", "IIS-POOL-001", "DefaultAppPool") not in by_key


def test_include_passes_lists_every_outcome(report, workdir):
    """`--include-passes`: one object per outcome, passes included, the same summary."""
    full = json.loads(dataclasses.replace(REPORTER, include_passes=True).render(report))
    default = json.loads(REPORTER.render(report))
    assert len(full["findings"]) == 12 and full["summary"]["passes_listed"] is True
    assert {k: v for k, v in full["summary"].items() if k != "passes_listed"} == {
        k: v for k, v in default["summary"].items() if k != "passes_listed"
    }
    outcomes = Counter(f["outcome"] for f in full["findings"])
    assert full["summary"]["outcomes"] == {o.value: outcomes.get(o.value, 0) for o in Outcome}
    by_key = {(f["host"], f["rule_id"], f["resource"]): f for f in full["findings"]}
    passed = by_key[("WEB01", "IIS-POOL-001", "DefaultAppPool")]
    assert (
        passed["outcome"] == "pass"
        and passed["location"]["uri"] == "scans/captures/web01/applicationHost.config"
    )
    # Everything else is the same object in both.
    assert [f for f in full["findings"] if f["outcome"] != "pass"] == default["findings"]


def test_scan_include_passes_flag(workdir):
    from iisguard.cli import main

    from .conftest import FIXTURES

    host = FIXTURES / "hosts" / "demo-misconfigured"
    assert main(["scan", str(host), "--fail-on", "never", "-f", "json:a.json"]) == 0
    assert main(["scan", str(host), "--fail-on", "never", "--include-passes", "-f", "json:b.json"]) == 0
    a, b = (json.loads((workdir / n).read_text()) for n in ("a.json", "b.json"))
    assert a["summary"]["outcomes"] == b["summary"]["outcomes"] and a["summary"]["outcomes"]["pass"] > 0
    assert len(b["findings"]) == sum(b["summary"]["outcomes"].values())
    assert len(a["findings"]) == len(b["findings"]) - b["summary"]["outcomes"]["pass"]


def test_hosts_and_notices(doc):
    web02 = doc["hosts"][1]
    assert web02["name"] == "WEB02" and web02["snapshot"] == "scans/web02.json" and web02["source"] == "winrm"
    assert {"name": "acls", "status": "failed", "message": "icacls output truncated"} in web02["sections"]
    assert [n["kind"] for n in doc["notices"]] == ["waiver-expired", "waiver-unused"]


def test_order_is_stable(report, doc):
    assert json.loads(REPORTER.render(report)) == doc
    keys = [(f["host"], f["rule_id"], f["resource"]) for f in doc["findings"]]
    hosts = [k[0] for k in keys]
    assert hosts == sorted(hosts) and keys[:2] == [
        ("WEB01", "IIS-ACL-003", "C:\\Data"),
        ("WEB01", "IIS-ACL-003", "C:\\inetpub\\wwwroot"),
    ]


def test_no_fail_on_and_clean_report(workdir):
    rep = Report(
        [HostResult("WEB01", None, [finding(outcome=Outcome.PASS)])], dict(RULES), "1", STARTED, fail_on=None
    )
    doc = json.loads(REPORTER.render(rep))
    assert doc["summary"]["fail_on"] is None and doc["summary"]["exit_code"] == 0
    assert doc["hosts"][0]["snapshot"] is None and doc["hosts"][0]["execution_successful"] is True
    assert doc["generated_at"]  # no finished_at: the time of rendering


def test_golden(report, workdir):
    assert_golden("report.json", REPORTER.render(report), workdir)


def test_listed_in_rule_then_resource_order_ties_as_found():
    """shards.ordered groups by rule and sorts each rule's findings by resource: the order of a stable
    sort by (rule, resource), which evaluation_order gives as indexes, also when a rule's findings
    come in several runs and two findings share rule and resource."""
    from iisguard.report import shards

    made = [
        finding("IIS-POOL-001", Outcome.FAIL, "b"),
        finding("IIS-ACL-003", Outcome.FAIL, "z"),
        finding("IIS-POOL-001", Outcome.NOT_REVIEWED, "a", message="first a"),
        finding("IIS-ACL-003", Outcome.PASS, "a"),
        finding("IIS-POOL-001", Outcome.ERROR, "a", message="second a"),
        finding("IIS-ANON-002", Outcome.FAIL, "m"),
    ]
    host = HostResult("WEB01", None, made)
    expected = [made[i] for i in shards.evaluation_order(host)]
    got = shards.ordered(made)
    assert [id(f) for f in got] == [id(f) for f in expected]
    assert [f.message for f in got if f.resource == "a" and f.rule_id == "IIS-POOL-001"] == [
        "first a",
        "second a",
    ]
