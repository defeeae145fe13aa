"""An organization policy end to end through `iisguard scan`: profiles, overrides, a CEL rule, waivers.

The policy below has a severity override, a parameter, a CEL rule, a valid waiver, an expired waiver
and an unused waiver; the test checks the exact findings, suppressions and notices in SARIF, JUnit,
JSON and text, and the exit code.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from . import policy_support
from .policy_support import SNAPSHOT, day, findings_by, write

cli = policy_support.cli  # the fixture

ORG_POLICY = """\
apiVersion: iisguard/v1
kind: Policy
name: acme
extends: baseline
rules:
  TEST-POOL-001:
    severity: high                                  # override
    parameters: {{allowed_identities: [NetworkService]}}  # parameter
custom_rules:
  - id: ORG-POOL-001
    title: Pools must not run 32-bit worker processes
    severity: low
    resource: iis.app_pools
    assert: "!resource.enable_32bit"
    message: "Pool {{key}} runs 32-bit worker processes"
    remediation: "Set-ItemProperty IIS:\\\\AppPools\\\\<name> -Name enable32BitAppOnWin64 -Value $false"
waivers:
  - rule: ORG-POOL-001
    resource: "Legacy*"
    hosts: ["WEB0*"]
    reason: "Vendor CRM needs 32-bit (SEC-1234)"
    owner: web-platform
    expires: {valid}
  - rule: TEST-POOL-001
    resource: Shop
    reason: "Migration to a dedicated account (SEC-99)"
    owner: shop-team
    expires: {expired}
  - rule: TEST-PRIV-001
    resource: "*"
    reason: "Debugging the payroll service (SEC-7)"
    owner: ops
    expires: {unused}
"""


def org_policy(tmp_path):
    text = ORG_POLICY.format(valid=day(30), expired=day(-1), unused=day(10))
    return write(tmp_path / "acme.yaml", text)


def test_org_policy_in_every_format(cli, tmp_path):
    policy = org_policy(tmp_path)
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        policy,
        "--include-passes",
        "-f",
        "json:out.json",
        "-f",
        "sarif:out.sarif",
        "-f",
        "junit:out.xml",
        "-f",
        "text",
    )
    # Shop runs as LocalSystem: TEST-POOL-001 is high now and its waiver expired, so the scan gates.
    assert r.code == 1, r.err

    doc = json.loads((tmp_path / "out.json").read_text())
    got = {k: (f["outcome"], f["severity"], f["state"]) for k, f in findings_by(doc).items()}
    assert got == {
        ("TEST-POOL-001", "app_pools/DefaultAppPool"): ("pass", "high", "pass"),
        ("TEST-POOL-001", "app_pools/LegacyCRM"): (
            "pass",
            "high",
            "pass",
        ),  # NetworkService allowed by the parameter
        ("TEST-POOL-001", "app_pools/Legacy32"): ("pass", "high", "pass"),
        ("TEST-POOL-001", "app_pools/Shop"): ("fail", "high", "active"),  # expired waiver: gates again
        ("ORG-POOL-001", "app_pools/DefaultAppPool"): ("pass", "low", "pass"),
        ("ORG-POOL-001", "app_pools/LegacyCRM"): ("fail", "low", "waived"),
        ("ORG-POOL-001", "app_pools/Legacy32"): ("fail", "low", "waived"),
        ("ORG-POOL-001", "app_pools/Shop"): ("pass", "low", "pass"),
        ("TEST-PRIV-001", "user_rights/SeDebugPrivilege"): ("pass", "high", "pass"),
    }  # TEST-ANON-001 is off by default; TEST-NOISE-001 is disabled by the baseline profile
    f = findings_by(doc)
    shop = f[("TEST-POOL-001", "app_pools/Shop")]
    assert shop["waiver"]["expired"] is True and shop["waiver"]["owner"] == "shop-team"
    crm = f[("ORG-POOL-001", "app_pools/LegacyCRM")]
    assert crm["waiver"] == {
        "reason": "Vendor CRM needs 32-bit (SEC-1234)",
        "owner": "web-platform",
        "expires": day(30),
        "expired": False,
        "source": f"{tmp_path / 'acme.yaml'}:18",
    }
    assert crm["message"] == "Pool LegacyCRM runs 32-bit worker processes"
    assert crm["pack"] == "policy:acme.yaml"
    notices = {n["kind"]: n for n in doc["notices"]}
    assert set(notices) == {"waiver-expired", "waiver-unused"}
    assert f"expired on {day(-1)}" in notices["waiver-expired"]["message"]
    assert "1 failure(s) it covered gate again" in notices["waiver-expired"]["message"]
    assert "TEST-PRIV-001" in notices["waiver-unused"]["message"]
    assert doc["summary"]["profile"] == "baseline"
    assert doc["summary"]["exit_code"] == 1

    sarif = json.loads((tmp_path / "out.sarif").read_text())
    run = sarif["runs"][0]
    results = {(x["ruleId"], x["properties"]["resource"]): x for x in run["results"]}
    assert set(results) == {
        ("TEST-POOL-001", "app_pools/Shop"),
        ("ORG-POOL-001", "app_pools/LegacyCRM"),
        ("ORG-POOL-001", "app_pools/Legacy32"),
    }
    assert results[("ORG-POOL-001", "app_pools/LegacyCRM")]["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "Vendor CRM needs 32-bit (SEC-1234)",
            "properties": {"owner": "web-platform", "expires": day(30)},
        }
    ]
    shop_result = results[("TEST-POOL-001", "app_pools/Shop")]
    assert "suppressions" not in shop_result
    assert f"expired on {day(-1)}" in shop_result["message"]["text"]
    assert shop_result["level"] == "error"  # high after the override
    rules = {d["id"]: d for d in run["tool"]["driver"]["rules"]}
    assert rules["ORG-POOL-001"]["shortDescription"]["text"].startswith(
        "Pools must not run 32-bit worker processes"
    )
    notes = [n["message"]["text"] for n in run["invocations"][0].get("toolExecutionNotifications", [])]
    assert any("expired on" in n for n in notes) and any("is unused" in n for n in notes)

    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert (
        cases["ORG-POOL-001 app_pools/LegacyCRM"]
        .find("skipped")
        .get("message")
        .startswith(f"waived until {day(30)}")
    )
    assert cases["TEST-POOL-001 app_pools/Shop"].find("failure") is not None
    # Shop passes ORG-POOL-001: counted in the rule's one passing test case.
    assert "ORG-POOL-001 app_pools/Shop" not in cases
    folded = cases["ORG-POOL-001 (passing resources)"]
    assert folded.find("failure") is None and "app_pools/Shop" in folded.findtext("system-out")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "6",
        "1",
        "2",
    )  # 9 before passes were folded

    assert "[waived until" in r.out and "web-platform" in r.out
    assert f"[waiver expired {day(-1)}]" in r.out
    assert "is unused" in r.out and "expired on" in r.out


def test_no_waivers_shows_everything(cli, tmp_path):
    policy = org_policy(tmp_path)
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        policy,
        "--no-waivers",
        "--include-passes",
        "-f",
        "json",
        "--fail-on",
        "low",
    )
    assert r.code == 1
    doc = r.json()
    assert all(f["waiver"] is None for f in doc["findings"])
    assert doc["summary"]["failures"] == {"active": 3, "waived": 0, "baselined": 0}
    assert [n["kind"] for n in doc["notices"]] == ["waiver"]  # "3 waiver(s) ignored"


def test_waived_failures_do_not_gate(cli, tmp_path):
    # Without the expired waiver and with Shop fixed, only waived failures and a low one remain.
    policy = org_policy(tmp_path)
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        policy,
        "--skip-rule",
        "TEST-POOL-001",
        "--include-passes",
        "-f",
        "json",
        "--fail-on",
        "low",
    )
    assert r.code == 0, r.json()["summary"]
    assert r.json()["summary"]["failures"] == {"active": 0, "waived": 2, "baselined": 0}


def test_default_profile_is_baseline_and_profiles_select_rules(cli):
    base = cli("scan", SNAPSHOT, "--include-passes", "-f", "json", "--fail-on", "never")
    assert base.code == 0
    ids = {f["rule_id"] for f in base.json()["findings"]}
    assert ids == {"TEST-POOL-001", "TEST-PRIV-001"}  # ANON off by default, NOISE disabled by baseline
    assert base.json()["summary"]["profile"] == "baseline"

    strict = cli(
        "scan", SNAPSHOT, "--profile", "strict", "--include-passes", "-f", "json", "--fail-on", "never"
    ).json()
    by_rule = {f["rule_id"]: f for f in strict["findings"]}
    assert set(by_rule) == {"TEST-POOL-001", "TEST-PRIV-001", "TEST-ANON-001"}  # framework:test-fw
    assert by_rule["TEST-ANON-001"]["severity"] == "critical"
    assert strict["summary"]["profile"] == "strict"


def test_profile_by_path_and_unknown_profile(cli, tmp_path):
    own = write(tmp_path / "mine.yaml", "apiVersion: iisguard/v1\nkind: Profile\nenable: [TEST-NOISE-001]\n")
    r = cli("scan", SNAPSHOT, "--profile", own, "--include-passes", "-f", "json", "--fail-on", "never")
    assert "TEST-NOISE-001" in {f["rule_id"] for f in r.json()["findings"]}
    bad = cli("scan", SNAPSHOT, "--profile", "nope")
    assert bad.code == 2
    assert "unknown profile 'nope' (available: baseline, strict)" in bad.err


def test_later_policies_override_earlier_ones(cli, tmp_path):
    first = write(
        tmp_path / "first.yaml",
        "apiVersion: iisguard/v1\nkind: Policy\nrules:\n  TEST-POOL-001: {severity: low, enabled: true}\n",
    )
    second = write(
        tmp_path / "second.yaml",
        "apiVersion: iisguard/v1\nkind: Policy\nrules:\n  TEST-POOL-001: {severity: critical}\n"
        "  TEST-PRIV-001: {enabled: false}\n",
    )
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        first,
        "--policy",
        second,
        "--include-passes",
        "-f",
        "json",
        "--fail-on",
        "never",
    )
    sev = {f["rule_id"]: f["severity"] for f in r.json()["findings"]}
    assert sev == {"TEST-POOL-001": "critical"}
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        second,
        "--policy",
        first,
        "--include-passes",
        "-f",
        "json",
        "--fail-on",
        "never",
    )
    sev = {f["rule_id"]: f["severity"] for f in r.json()["findings"]}
    assert sev == {"TEST-POOL-001": "low"}


def test_iisguard_yaml_in_working_directory_is_used(cli, tmp_path):
    write(
        tmp_path / "iisguard.yaml",
        "apiVersion: iisguard/v1\nkind: Policy\nrules:\n  TEST-POOL-001: {enabled: false}\n",
    )
    r = cli("scan", SNAPSHOT, "--include-passes", "-f", "json", "--fail-on", "never")
    doc = r.json()
    assert {f["rule_id"] for f in doc["findings"]} == {"TEST-PRIV-001"}
    assert any("iisguard.yaml" in n["message"] for n in doc["notices"])
    # An explicit --policy replaces the automatic one.
    other = write(tmp_path / "other.yaml", "apiVersion: iisguard/v1\nkind: Policy\n")
    doc = cli(
        "scan", SNAPSHOT, "--policy", other, "--include-passes", "-f", "json", "--fail-on", "never"
    ).json()
    assert {f["rule_id"] for f in doc["findings"]} == {"TEST-POOL-001", "TEST-PRIV-001"}


def test_custom_rules_appear_in_rules_selection(cli, tmp_path):
    policy = org_policy(tmp_path)
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        policy,
        "--rule",
        "ORG-*",
        "--include-passes",
        "-f",
        "json",
        "--fail-on",
        "never",
    )
    assert {f["rule_id"] for f in r.json()["findings"]} == {"ORG-POOL-001"}
    r = cli(
        "scan",
        SNAPSHOT,
        "--policy",
        policy,
        "--skip-rule",
        "ORG-POOL-001",
        "-f",
        "json",
        "--fail-on",
        "never",
    )
    assert "ORG-POOL-001" not in {f["rule_id"] for f in r.json()["findings"]}


def test_shipped_example_policy_and_profiles_are_valid(capsys):
    """The example policy and the profiles shipped in the package pass `policy check` with the real packs."""
    from iisguard.cli import main
    from iisguard.engine.frameworks import shipped_policies_dir

    root = shipped_policies_dir()
    files = [root / "examples" / "acme-policy.yaml", *sorted((root / "profiles").glob("*.yaml"))]
    code = main(["policy", "check", *map(str, files)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "acme-policy.yaml: 3 custom rule(s), 4 override(s), 2 waiver(s)" in out.out
