"""Broken policies: each one exits 2 naming the file and the line, through `scan` and `policy check`."""

from __future__ import annotations

import json
import textwrap

import pytest

from . import policy_support
from .policy_support import SNAPSHOT, day, write

cli = policy_support.cli  # the fixture

HEAD = "apiVersion: iisguard/v1\nkind: Policy\n"
CEL_RULE = """\
custom_rules:
  - id: ORG-POOL-001
    title: t
    severity: low
    resource: {resource}
    assert: {assert_}
    message: "Pool {{key}}"
    remediation: "Set-ItemProperty x"
"""


def cel(assert_: str = '"!resource.enable_32bit"', resource: str = "iis.app_pools", extra: str = "") -> str:
    return HEAD + CEL_RULE.format(assert_=assert_, resource=resource) + textwrap.indent(extra, "    ")


def waiver(expires: str = "", **fields: str) -> str:
    lines = {"rule": "TEST-POOL-001", "resource": "Shop", "reason": "because", "owner": "me", **fields}
    body = "".join(f"    {k}: {v}\n" for k, v in lines.items())
    return HEAD + "waivers:\n  - " + body.lstrip() + (f"    expires: {expires}\n" if expires else "")


# (policy text, line of the problem, words the message must contain)
CASES = {
    "bad CEL": (cel('"!resource.enable_32bit &&"'), 8, ["bad CEL in assert", "Syntax error", "column"]),
    "unknown CEL variable": (cel('"!resorce.enable_32bit"'), 8, ["unknown variable 'resorce'"]),
    "unknown CEL function": (cel("\"lower(resource.name) == 'x'\""), 8, ["unknown function 'lower'"]),
    "unknown field in CEL": (
        cel('"!resource.enable32bit"'),
        8,
        ["has no field 'enable32bit'", "enable_32bit"],
    ),
    "unknown resource": (cel(resource="iis.pools"), 7, ["unknown resource 'iis.pools'", "iis.app_pools"]),
    "list without []": (cel(resource="iis.sites.applications"), 7, ["write sites[]"]),
    "unknown placeholder": (
        HEAD
        + CEL_RULE.format(assert_="'true'", resource="iis.app_pools").replace("Pool {key}", "Pool {name}"),
        9,
        ["unknown placeholder {name}"],
    ),
    "unknown parameter in CEL": (
        cel('"resource.name in params.allowed"'),
        8,
        ["unknown parameter 'allowed'"],
    ),
    "IIS- prefix for a custom rule": (
        cel().replace("ORG-POOL-001", "IIS-POOL-099"),
        4,
        ["reserved for built-in"],
    ),
    "two prefixes": (
        cel() + "  - {id: ORH-POOL-002, title: t, severity: low, resource: iis.app_pools, assert: 'true', "
        "message: m, remediation: r}\n",
        11,
        ["outside this policy's prefix 'ORG-'"],
    ),
    "custom id taken by a pack": (
        cel().replace("ORG-POOL-001", "TEST-POOL-001"),
        4,
        ["already defined by testpack"],
    ),
    "unknown rule id": (
        HEAD + "rules:\n  TEST-POOL-999: {severity: high}\n",
        4,
        ["unknown rule id 'TEST-POOL-999'"],
    ),
    "not a rule id": (HEAD + "rules:\n  pools: {severity: high}\n", 4, ["'pools' is not a rule id"]),
    "unknown parameter": (
        HEAD + "rules:\n  TEST-POOL-001:\n    parameters:\n      allowed: [x]\n",
        6,
        ["TEST-POOL-001 has no parameter 'allowed'", "allowed_identities"],
    ),
    "bad parameter type": (
        HEAD + "rules:\n  TEST-POOL-001:\n    parameters:\n      allowed_identities: NetworkService\n",
        6,
        ["expects a list"],
    ),
    "bad severity": (
        HEAD + "rules:\n  TEST-POOL-001: {severity: urgent}\n",
        4,
        ["'urgent' is not one of critical"],
    ),
    "unknown key": (HEAD + "colour: blue\n", 3, ["unknown key 'colour'"]),
    "unknown key in a waiver": (waiver(day(5), ticket="SEC-1"), 8, ["unknown key 'ticket' in waivers.0"]),
    "missing expiry": (waiver(), 4, ["'expires' is required"]),
    "missing reason": (waiver(day(5)).replace("    reason: because\n", ""), 4, ["'reason' is required"]),
    "missing owner": (waiver(day(5)).replace("    owner: me\n", ""), 4, ["'owner' is required"]),
    "empty owner": (waiver(day(5), owner='" "'), 7, ["owner is empty"]),
    "bad date": (waiver("2027-02-30"), 8, ["bad date '2027-02-30'"]),
    "not a date": (waiver("next-year"), 8, ["bad date 'next-year'"]),
    "horizon over the default": (waiver(day(400)), 8, ["beyond the 365-day maximum"]),
    "horizon over the policy's maximum": (
        waiver(day(40)).replace("kind: Policy\n", "kind: Policy\nwaiver_max_days: 30\n"),
        9,
        ["beyond the 30-day maximum"],
    ),
    "waiver for an unknown rule": (waiver(day(5), rule="TEST-POOL-998"), 4, ["waiver for unknown rule id"]),
    "wrong apiVersion": (HEAD.replace("v1", "v2"), 1, ["expected 'iisguard/v1'"]),
    "not a mapping": ("- a\n- b\n", 1, ["a policy is a YAML mapping"]),
    "YAML syntax": (HEAD + "rules: {TEST-POOL-001: [\n", 4, ["not valid YAML"]),
    "duplicate key": (
        HEAD + "rules:\n  TEST-POOL-001: {}\n  TEST-POOL-001: {}\n",
        5,
        ["duplicate key 'TEST-POOL-001'"],
    ),
    "unknown selector": (
        HEAD + "enable: [TEST-POOL-*, TEST-NOPE-001]\n",
        3,
        ["unknown rule id 'TEST-NOPE-001'"],
    ),
    "glob that matches nothing": (HEAD + "disable: ['NOPE-*']\n", 3, ["'NOPE-*' matches no rule"]),
    "unknown framework": (HEAD + "enable: ['framework:nist']\n", 3, ["unknown framework 'nist'"]),
    "extends an unknown profile": (
        HEAD + "extends: basline\n",
        3,
        ["extends 'basline': no such profile", "baseline"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_broken_policy_exits_2_with_file_and_line(cli, tmp_path, name):
    text, line, words = CASES[name]
    path = write(tmp_path / "org.yaml", text)
    for argv in (["scan", SNAPSHOT, "--policy", path], ["policy", "check", path]):
        r = cli(*argv)
        assert r.code == 2, (argv, r.out, r.err)
        assert f"{path}:{line}: " in r.err, r.err
        for w in words:
            assert w in r.err, r.err
        assert "Traceback" not in r.err


def test_cycle_in_extends(cli, tmp_path):
    a = write(tmp_path / "a.yaml", HEAD + "extends: b.yaml\n")
    write(tmp_path / "b.yaml", HEAD + "extends: c.yaml\n")
    write(tmp_path / "c.yaml", "apiVersion: iisguard/v1\nkind: Profile\nextends: ./a.yaml\n")
    for argv in (["scan", SNAPSHOT, "--policy", a], ["policy", "check", a]):
        r = cli(*argv)
        assert r.code == 2
        assert f"{tmp_path / 'c.yaml'}:3: cycle in extends: a.yaml -> b.yaml -> c.yaml -> a.yaml" in r.err, (
            r.err
        )


def test_self_extension_is_a_cycle(cli, tmp_path):
    a = write(tmp_path / "a.yaml", HEAD + "extends: a.yaml\n")
    r = cli("policy", "check", a)
    assert r.code == 2 and f"{a}:3: cycle in extends: a.yaml -> a.yaml" in r.err


def test_chains_are_allowed_and_problems_in_a_base_name_the_base(cli, tmp_path):
    write(tmp_path / "base.yaml", HEAD + "waiver_max_days: 10\n")
    write(tmp_path / "team.yaml", HEAD + "extends: base.yaml\nrules:\n  TEST-POOL-001: {severity: high}\n")
    leaf = write(tmp_path / "leaf.yaml", HEAD + "extends: team.yaml\n" + waiver(day(5)).split("\n", 2)[2])
    r = cli("policy", "check", leaf)
    assert r.code == 0, r.err
    assert "1 override(s), 1 waiver(s)" in r.out
    # The inherited 10-day maximum applies to the leaf's waivers.
    too_long = write(
        tmp_path / "leaf2.yaml", HEAD + "extends: team.yaml\n" + waiver(day(11)).split("\n", 2)[2]
    )
    r = cli("policy", "check", too_long)
    assert r.code == 2 and "beyond the 10-day maximum" in r.err
    write(tmp_path / "base.yaml", HEAD + "rules:\n  TEST-POOL-777: {}\n")
    r = cli("scan", SNAPSHOT, "--policy", leaf)
    assert r.code == 2 and f"{tmp_path / 'base.yaml'}:4: unknown rule id 'TEST-POOL-777'" in r.err


def test_every_problem_of_a_file_is_listed(cli, tmp_path):
    text = HEAD + "rules:\n  TEST-POOL-999: {}\n" + waiver("2027-13-01").split("\n", 2)[2]
    path = write(tmp_path / "org.yaml", text)
    r = cli("policy", "check", path)
    assert r.code == 2
    assert f"{path}:4: unknown rule id" in r.err and f"{path}:10: bad date" in r.err
    r = cli("scan", SNAPSHOT, "--policy", path)
    assert r.code == 2 and "(2 problems)" in r.err


def test_policy_check_passes_good_files_and_reports_json(cli, tmp_path):
    good = write(
        tmp_path / "good.yaml",
        cel()
        + "waivers:\n  - {rule: ORG-POOL-001, resource: x, reason: r, owner: o, expires: "
        + day(1)
        + "}\n",
    )
    bad = write(tmp_path / "bad.yaml", HEAD + "rules:\n  TEST-POOL-999: {}\n")
    r = cli("policy", "check", good)
    assert r.code == 0 and r.out.startswith(f"ok   {good}: 1 custom rule(s), 0 override(s), 1 waiver(s)")
    r = cli("policy", "check", good, bad, "--format", "json")
    assert r.code == 2
    doc = json.loads(r.out)
    assert [f["ok"] for f in doc["files"]] == [True, False]
    assert doc["files"][1]["problems"] == [
        {"where": f"{bad}:4", "message": "unknown rule id 'TEST-POOL-999' (see `iisguard rules list`)"}
    ]


def test_missing_policy_file(cli, tmp_path):
    r = cli("scan", SNAPSHOT, "--policy", tmp_path / "nope.yaml")
    assert r.code == 2 and f"{tmp_path / 'nope.yaml'}" in r.err and "no such file" in r.err


def test_shipped_schema_is_valid_and_documents_every_key():
    import jsonschema

    from iisguard.engine import policy

    schema = policy.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {
        "apiVersion", "kind", "name", "description", "extends", "enable", "disable", "rules",
        "prefix", "custom_rules", "waivers", "waiver_max_days", "require",
    }  # fmt: skip
