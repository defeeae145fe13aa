"""Compliance by control (engine/compliance.py): each framework item's status from its rules' findings."""

from __future__ import annotations

import json

import pytest

from iisguard.cli import main
from iisguard.engine import compliance, frameworks
from iisguard.engine.findings import Outcome, Waiver
from iisguard.engine.frameworks import Framework, Item

from .conftest import FIXTURES
from .report_helpers import RULES, build_report, finding, single_host_report

MISCONFIGURED = FIXTURES / "hosts" / "demo-misconfigured"


def fw(*items: Item) -> Framework:
    return Framework("test-fw", "Test framework", "v1", tuple(items), "<memory>")


def status_of(tmp_path, findings, item: Item, rules=None) -> compliance.Control:
    report = single_host_report(tmp_path, findings, rules=rules)
    (result,) = compliance.assess(report, fw(item)).items
    (control,) = result.hosts
    assert result.status == control.status  # one host: the item's status is the host's
    return control


POOL = Item("1.4", "Pool identity", ("IIS-POOL-001",))
POOL_AND_ACL = Item("4.8", "Pools and ACLs", ("IIS-POOL-001", "IIS-ACL-003"))


def test_a_failure_fails_the_control_and_says_which_rule(tmp_path):
    c = status_of(tmp_path, [finding(outcome=Outcome.PASS, resource="A"), finding(resource="Payroll")], POOL)
    assert c.status == "fail"
    assert c.reason == "1 resource failing: IIS-POOL-001 1"
    assert [f.resource for f in c.failures] == ["Payroll"] and not c.waived


def test_a_waived_failure_still_fails_the_control_marked_waived(tmp_path):
    waiver = Waiver("vendor", "ops", "2099-01-01")
    c = status_of(tmp_path, [finding(waiver=waiver)], POOL)
    assert (c.status, c.waived) == ("fail", True)
    assert "1 waived" in c.reason
    expired = Waiver("vendor", "ops", "2020-01-01", expired=True)
    c = status_of(tmp_path, [finding(waiver=waiver), finding(resource="B", waiver=expired)], POOL)
    assert (c.status, c.waived) == ("fail", False)


def test_a_failure_in_the_baseline_still_fails_the_control(tmp_path):
    c = status_of(tmp_path, [finding(baseline_state="unchanged")], POOL)
    assert c.status == "fail" and "1 in the baseline" in c.reason


def test_passes_only_pass(tmp_path):
    c = status_of(tmp_path, [finding(outcome=Outcome.PASS), finding(outcome=Outcome.NOT_APPLICABLE)], POOL)
    assert (c.status, c.reason) == ("pass", "1 resource pass: IIS-POOL-001 1")


def test_missing_data_or_a_crash_is_not_reviewed_never_pass(tmp_path):
    missing = finding("IIS-ACL-003", Outcome.NOT_REVIEWED, "host", "data not collected (acls failed)")
    c = status_of(tmp_path, [finding(outcome=Outcome.PASS), missing], POOL_AND_ACL)
    assert c.status == "not_reviewed"
    assert "lacked data on 1 resource: IIS-ACL-003 1 (data not collected (acls failed))" in c.reason
    crash = finding(outcome=Outcome.ERROR, resource="host", message="rule crashed: KeyError")
    c = status_of(tmp_path, [crash], POOL)
    assert c.status == "not_reviewed" and "errored" in c.reason


def test_a_mapped_rule_that_did_not_run_leaves_the_control_not_reviewed(tmp_path):
    rules = {k: v for k, v in RULES.items() if k != "IIS-ACL-003"}  # e.g. --skip-rule IIS-ACL-003
    c = status_of(tmp_path, [finding(outcome=Outcome.PASS)], POOL_AND_ACL, rules=rules)
    assert c.status == "not_reviewed"
    assert c.rules_not_run == ("IIS-ACL-003",)
    assert c.reason == "not run in this scan: IIS-ACL-003"
    # ... but a failure of the rules that ran is known: the control fails.
    assert status_of(tmp_path, [finding()], POOL_AND_ACL, rules=rules).status == "fail"


def test_nothing_to_check_is_not_applicable_and_no_rule_is_not_covered(tmp_path):
    na = finding(outcome=Outcome.NOT_APPLICABLE, resource="host")
    assert status_of(tmp_path, [na], POOL).status == "not_applicable"
    c = status_of(tmp_path, [finding()], Item("1.1", "Content partition", ()))
    assert (c.status, c.findings) == ("not_covered", ())


def test_several_hosts_take_the_worst_status_and_keep_each_hosts(tmp_path):
    report = build_report(tmp_path)  # WEB01: POOL-001 fails; WEB02: POOL-001 passes, ACL-003 not reviewed
    result = compliance.assess(
        report, fw(POOL, Item("4.8", "ACL", ("IIS-ACL-003",)), Item("9", "Host", ("IIS-HOST-002",)))
    )
    pool, acl, host = result.items
    assert [(c.host, c.status) for c in pool.hosts] == [("WEB01", "fail"), ("WEB02", "pass")]
    assert pool.status == "fail" and pool.reason == "fail on 1 of 2 hosts: WEB01"
    assert acl.status == "fail"  # WEB02 not reviewed, WEB01 failing: fail wins
    # HOST-002 is not applicable on WEB01 and produced nothing on WEB02: not applicable on both.
    assert host.status == "not_applicable"
    assert result.summary() == {
        "fail": 2,
        "not_reviewed": 0,
        "pass": 0,
        "not_applicable": 1,
        "procedural": 0,
        "not_covered": 0,
    }
    assert [c.item.id for c in result.for_host("WEB02")] == ["1.4", "4.8", "9"]


def test_every_item_of_the_shipped_frameworks_gets_a_status(tmp_path):
    report = build_report(tmp_path)
    for name in ("cis-iis10", "stig-iis10"):
        mapping = frameworks.load(name)
        result = compliance.assess(report, name)
        assert [r.item.id for r in result.items] == [i.id for i in mapping.items]
        assert sum(result.summary().values()) == len(mapping.items)
        for r in result.items:
            assert r.status in compliance.STATUSES
            assert (r.status in ("not_covered", "procedural")) == (not r.item.rules)
            assert (r.status == "procedural") == bool(r.item.procedural)


def test_scan_framework_json_and_text(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["scan", str(MISCONFIGURED), "--fail-on", "never", "--profile", "stig-iis10"]
    assert main([*args, "--framework", "stig-iis10", "-f", "json:out.json", "-f", "text"]) == 0
    doc = json.loads((tmp_path / "out.json").read_text())["compliance"]
    items = {i["id"]: i for i in doc["items"]}
    assert doc["framework"] == "stig-iis10" and len(items) == len(frameworks.load("stig-iis10").items)
    # The demo host's pools run as LocalSystem: V-218802 (POOL-001 among its rules) fails.
    assert items["V-218802"]["status"] == "fail"
    assert items["V-218802"]["hosts"][0]["outcomes"]["fail"] >= 1
    assert (
        items["V-218795"]["status"] == "not_covered" and items["V-218795"]["rules"] == []
    )  # sample code: a gap
    assert items["V-218791"]["status"] == "procedural"  # log backups: a person reviews them
    # V-218785 (W3C fields) is judged from the captured applicationHost.config since issue #19
    assert items["V-218785"]["status"] == "pass" and items["V-218785"]["rules"] == ["IIS-CFG-042"]
    assert doc["summary"]["fail"] == sum(1 for i in items.values() if i["status"] == "fail")
    out = capsys.readouterr().out
    assert "COMPLIANCE: DISA Microsoft IIS 10.0 Server and Site STIG" in out
    assert any(line.split()[:2] == ["V-218802", "fail"] for line in out.splitlines())
    # Without --framework the key is there, null.
    assert main([*args, "-f", "json:plain.json"]) == 0
    assert json.loads((tmp_path / "plain.json").read_text())["compliance"] is None


def test_unknown_framework_is_exit_2(capsys):
    assert main(["scan", str(MISCONFIGURED), "--framework", "nist-800-53"]) == 2
    assert "unknown framework 'nist-800-53'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["cis-iis10", "stig-iis10"])
def test_a_fresh_install_fails_no_control_at_medium_or_above(name, capsys):
    """iis10-default stays quiet at medium and above, so any failing control fails on low notes only."""
    host = FIXTURES / "hosts" / "iis10-default"
    assert main(["scan", str(host), "--framework", name, "-f", "json", "--fail-on", "medium"]) == 0
    doc = json.loads(capsys.readouterr().out)
    severities = {}
    for f in doc["findings"]:
        if f["outcome"] == "fail":
            severities.setdefault(f["rule_id"], set()).add(f["severity"])
    for item in doc["compliance"]["items"]:
        if item["status"] == "fail":
            found = set().union(*(severities.get(r, set()) for r in item["rules"]))
            assert found <= {"low", "info"}, (item["id"], item["reason"])


def test_json_keys_are_documented(tmp_path):
    from iisguard.report import json as json_report

    report = build_report(tmp_path)
    doc = compliance.assess(report, "stig-iis10").as_dict()
    documented = set(json_report.__doc__.replace('"', " ").split())
    keys = set(doc) | set(doc["items"][0]) | set(doc["items"][0]["hosts"][0])
    assert {k for k in keys if k not in documented and f"{k}," not in documented} == set()
