"""`scan --baseline PREVIOUS.sarif`: known failures do not gate, new ones do, fixed ones are `absent`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from iisguard.engine import baseline
from iisguard.engine.findings import fingerprint

from . import policy_support
from .policy_support import day, snapshot_copy, write

cli = policy_support.cli  # the fixture


def test_own_baseline_gates_on_nothing_and_one_new_problem_gates_alone(cli, tmp_path):
    snap = snapshot_copy(tmp_path)
    first = cli("scan", snap, "-f", "sarif:previous.sarif")
    assert first.code == 1  # Shop runs as LocalSystem, LegacyCRM as NetworkService (TEST-POOL-001, medium)

    again = cli("scan", snap, "--baseline", "previous.sarif", "-f", "json")
    assert again.code == 0, again.out
    states = {
        (f["rule_id"], f["resource"]): f["baseline_state"]
        for f in again.json()["findings"]
        if f["outcome"] == "fail"
    }
    assert states == {
        ("TEST-POOL-001", "app_pools/Shop"): "unchanged",
        ("TEST-POOL-001", "app_pools/LegacyCRM"): "unchanged",
    }

    # Image 42 adds one misconfiguration: a second LocalSystem pool. Same rule, another resource.
    snapshot_copy(
        tmp_path,
        change=lambda d: d["iis"]["app_pools"].append(
            {"name": "Reports", "identity": {"type": "LocalSystem"}}
        ),
    )
    r = cli(
        "scan",
        snap,
        "--baseline",
        "previous.sarif",
        "-f",
        "json:out.json",
        "-f",
        "sarif:out.sarif",
        "-f",
        "junit:out.xml",
        "-f",
        "text",
    )
    assert r.code == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    gating = [(f["rule_id"], f["resource"]) for f in doc["findings"] if f["state"] == "active"]
    assert gating == [("TEST-POOL-001", "app_pools/Reports")]
    assert doc["summary"]["baseline"] == {"new": 1, "unchanged": 2, "absent": 0}
    assert any(
        n["kind"] == "baseline" and "1 new, 2 unchanged, 0 absent" in n["message"] for n in doc["notices"]
    )

    sarif = json.loads((tmp_path / "out.sarif").read_text())
    by_resource = {x["properties"]["resource"]: x for x in sarif["runs"][0]["results"]}
    assert by_resource["app_pools/Reports"]["baselineState"] == "new"
    assert by_resource["app_pools/Shop"]["baselineState"] == "unchanged"
    assert by_resource["app_pools/Reports"]["partialFingerprints"]["iisguard/v1"] == fingerprint(
        "TEST-POOL-001", "WEB01", "app_pools/Reports"
    )

    cases = {c.get("name"): c for c in ET.parse(tmp_path / "out.xml").getroot().iter("testcase")}
    assert cases["TEST-POOL-001 app_pools/Reports"].find("failure") is not None
    assert cases["TEST-POOL-001 app_pools/Shop"].find("skipped") is not None

    assert "[baselined: unchanged]" in r.out


def test_fixed_problems_are_absent(cli, tmp_path):
    snap = snapshot_copy(tmp_path)
    cli("scan", snap, "-f", "sarif:previous.sarif")

    def fix_and_remove(d):
        d["iis"]["app_pools"] = [p for p in d["iis"]["app_pools"] if p["name"] != "Shop"]

    # Shop is gone altogether: an `absent` finding (outcome pass) says it was fixed.
    snapshot_copy(tmp_path, change=fix_and_remove)
    r = cli("scan", snap, "--baseline", "previous.sarif", "-f", "json", "--fail-on", "never")
    doc = r.json()
    gone = [f for f in doc["findings"] if f["baseline_state"] == "absent"]
    assert [(f["rule_id"], f["resource"], f["outcome"]) for f in gone] == [
        ("TEST-POOL-001", "app_pools/Shop", "pass")
    ]
    assert "fixed since the baseline" in gone[0]["message"]
    assert doc["summary"]["baseline"] == {"new": 0, "unchanged": 1, "absent": 1}
    # SARIF carries it as a `pass` result with baselineState absent, so viewers can close the alert.
    cli("scan", snap, "--baseline", "previous.sarif", "-f", "sarif:now.sarif", "--fail-on", "never")
    results = json.loads((tmp_path / "now.sarif").read_text())["runs"][0]["results"]
    fixed = [r for r in results if r.get("baselineState") == "absent"]
    assert [(r["ruleId"], r["kind"], r["level"]) for r in fixed] == [("TEST-POOL-001", "pass", "none")]

    # Shop fixed in place: its current pass finding carries `absent`.
    snapshot_copy(
        tmp_path, change=lambda d: d["iis"]["app_pools"][3]["identity"].update(type="ApplicationPoolIdentity")
    )
    r = cli("scan", snap, "--baseline", "previous.sarif", "-f", "json", "-f", "text:out.txt")
    assert r.code == 0  # LegacyCRM is unchanged, Shop fixed
    shop = [
        f
        for f in r.json()["findings"]
        if f["resource"] == "app_pools/Shop" and f["rule_id"] == "TEST-POOL-001"
    ]
    assert [(f["outcome"], f["baseline_state"]) for f in shop] == [("pass", "absent")]
    assert "1 fixed since the baseline" in (tmp_path / "out.txt").read_text()


def test_baseline_from_another_host_or_rule_adds_nothing(cli, tmp_path):
    snap = snapshot_copy(tmp_path)
    cli("scan", snap, "-f", "sarif:previous.sarif")
    other = snapshot_copy(tmp_path, "db01.json", change=lambda d: d["host"].update(name="DB01"))
    r = cli("scan", other, "--baseline", "previous.sarif", "-f", "json")
    doc = r.json()
    assert r.code == 1  # DB01's Shop is new: a problem on another host never hides behind WEB01's
    assert doc["summary"]["baseline"] == {"new": 2, "unchanged": 0, "absent": 0}
    # A rule that does not run this time is not "fixed".
    r = cli("scan", snap, "--baseline", "previous.sarif", "--skip-rule", "TEST-POOL-001", "-f", "json")
    assert r.json()["summary"]["baseline"] == {"new": 0, "unchanged": 0, "absent": 0}


def test_waived_results_are_not_part_of_the_baseline(cli, tmp_path):
    snap = snapshot_copy(tmp_path)
    policy = write(
        tmp_path / "p.yaml",
        "apiVersion: iisguard/v1\nkind: Policy\nwaivers:\n"
        f"  - {{rule: TEST-POOL-001, resource: '*', reason: r, owner: o, expires: {day(3)}}}\n",
    )
    assert cli("scan", snap, "--policy", policy, "-f", "sarif:previous.sarif").code == 0
    prev = baseline.load(tmp_path / "previous.sarif")
    assert prev.known == {}
    # When the waiver goes away (or expires), the failure is new and gates: baselines never outlive waivers.
    r = cli("scan", snap, "--baseline", "previous.sarif", "-f", "json")
    assert r.code == 1 and r.json()["summary"]["baseline"]["new"] == 2


def test_bad_baseline_files_exit_2(cli, tmp_path):
    snap = snapshot_copy(tmp_path)
    write(tmp_path / "x.sarif", "{not json")
    write(tmp_path / "y.sarif", json.dumps({"version": "2.1.0"}))
    for name, words in (
        ("missing.sarif", "no such file"),
        ("x.sarif", "not JSON"),
        ("y.sarif", "not a SARIF log"),
    ):
        r = cli("scan", snap, "--baseline", tmp_path / name)
        assert r.code == 2 and name in r.err and words in r.err, r.err
