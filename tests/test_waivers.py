"""Waivers: which failures they cover, expiry (inclusive, UTC), unused ones, and what never gets waived."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from iisguard.engine import waivers
from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Finding, Outcome, Severity
from iisguard.engine.policy import WaiverSpec

from . import policy_support
from .policy_support import SNAPSHOT, day, write

cli = policy_support.cli  # the fixture

TODAY = date(2026, 6, 15)


def spec(rule="R-POOL-001", resource="*", hosts=("*",), expires=TODAY, source="org.yaml:7") -> WaiverSpec:
    return WaiverSpec(rule, resource, tuple(hosts), "vendor", "team", expires, source)


def report(*findings: Finding) -> Report:
    hosts: dict[str, HostResult] = {}
    for f in findings:
        hosts.setdefault(f.host, HostResult(f.host, None, [])).findings.append(f)
    return Report(hosts=list(hosts.values()), rules={}, tool_version="t", started_at="")


def finding(resource="app_pools/LegacyCRM", host="WEB01", outcome=Outcome.FAIL, rule="R-POOL-001") -> Finding:
    return Finding(rule, Severity.HIGH, outcome, host, resource, "m")


@pytest.mark.parametrize(
    ("pattern", "resource", "covered"),
    [
        ("Legacy*", "app_pools/LegacyCRM", True),  # the name after the collection
        ("app_pools/Legacy*", "app_pools/LegacyCRM", True),  # or the whole key
        ("legacy*", "app_pools/LEGACYcrm", True),  # case-insensitive, as Windows names are
        ("Legacy*", "app_pools/Shop", False),
        ("sites/*", "app_pools/LegacyCRM", False),
        ("Default Web Site/*", "applications/Default Web Site/shop", True),
        ("*", "host", True),
    ],
)
def test_resource_globs(pattern, resource, covered):
    assert spec(resource=pattern).covers("R-POOL-001", "WEB01", resource) is covered


def test_host_globs_and_rule():
    w = spec(hosts=("WEB0*", "app-??"))
    assert w.covers("R-POOL-001", "web01", "x")
    assert w.covers("R-POOL-001", "APP-12", "x")
    assert not w.covers("R-POOL-001", "DB01", "x")
    assert not w.covers("R-POOL-002", "WEB01", "x")


def test_a_waiver_is_valid_through_its_expiry_day():
    r = report(finding())
    waivers.apply(r, [spec(expires=TODAY)], TODAY)
    f = next(r.findings())
    assert f.waiver is not None and not f.waiver.expired and f.suppressed and not f.active_failure
    assert r.notices == []

    r = report(finding())
    waivers.apply(r, [spec(expires=TODAY - timedelta(days=1))], TODAY)
    f = next(r.findings())
    assert f.waiver is not None and f.waiver.expired and f.active_failure
    assert [n.kind for n in r.notices] == ["waiver-expired"]
    assert "expired on 2026-06-14" in r.notices[0].message and "org.yaml:7" in r.notices[0].message


def test_live_waiver_wins_over_expired_one_and_only_failures_are_waived():
    old, new = (
        spec(expires=TODAY - timedelta(days=3), source="a:1"),
        spec(expires=TODAY + timedelta(days=3), source="a:2"),
    )
    r = report(
        finding(), finding("app_pools/Other", outcome=Outcome.PASS), finding("host", outcome=Outcome.ERROR)
    )
    waivers.apply(r, [old, new], TODAY)
    fs = list(r.findings())
    assert fs[0].waiver is not None and fs[0].waiver.source == "a:2" and not fs[0].waiver.expired
    assert fs[1].waiver is None and fs[2].waiver is None  # passes and errors are never waived
    # The expired one is still reported as expired even though a live one took over.
    assert [n.kind for n in r.notices] == ["waiver-expired"]
    assert "matched nothing in this scan" in r.notices[0].message


def test_unused_waiver_says_whether_its_rule_ran():
    r = report(finding())
    r.rules = {}
    waivers.apply(r, [spec(resource="Nothing*"), spec(rule="R-OFF-001")], TODAY)
    messages = [n.message for n in r.notices]
    assert [n.kind for n in r.notices] == ["waiver-unused", "waiver-unused"]
    assert "R-OFF-001 did not run" in messages[1]


def test_one_waiver_covers_many_hosts(cli, tmp_path):
    import json

    other = json.loads(SNAPSHOT.read_text())
    other["host"]["name"] = "DB01"
    write(tmp_path / "db01.json", json.dumps(other))
    policy = write(
        tmp_path / "p.yaml",
        "apiVersion: iisguard/v1\nkind: Policy\nwaivers:\n"
        f"  - {{rule: TEST-POOL-001, resource: Shop, hosts: ['WEB*'], reason: r, owner: o, expires: {day(3)}}}\n",
    )
    r = cli("scan", SNAPSHOT, tmp_path / "db01.json", "--policy", policy, "-f", "json")
    shop = {f["host"]: f for f in r.json()["findings"] if f["resource"] == "app_pools/Shop"}
    assert shop["WEB01"]["state"] == "waived" and shop["DB01"]["state"] == "active"
    assert r.code == 1  # DB01's Shop still gates
