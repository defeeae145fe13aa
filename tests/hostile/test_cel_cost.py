"""Issue #18, case 11: CEL evaluation cost is bounded. Comprehensions over snapshot collections nested
inside each other (minutes on 150 ACLs) are refused when the policy is loaded, by `policy check` and
by `scan`, naming the rule and the line; a rule that still runs too long is stopped with an error."""

from __future__ import annotations

import pytest

from ..conftest import FIXTURES
from .conftest import one_error_line, run

SNAPSHOT = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"
POLICY = """\
apiVersion: iisguard/v1
kind: Policy
prefix: ACME-
custom_rules:
  - id: ACME-ACL-001
    title: Nested comprehensions
    severity: low
    resource: acls
    key: path
    assert: "{expr}"
    message: "{{key}}"
    remediation: none
"""
EXPENSIVE = [
    "snapshot.acls.all(a, snapshot.acls.exists(b, b.path == a.path))",
    "snapshot.acls.exists(a, a.aces.exists(e, e.rights.exists(r, r == 'F')))",
]


@pytest.mark.parametrize("expr", EXPENSIVE)
@pytest.mark.parametrize("command", ["policy-check", "scan"])
def test_nested_comprehensions_are_refused_with_rule_and_line(tmp_path, capsys, expr, command):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(expr=expr))
    args = (
        ["policy", "check", policy] if command == "policy-check" else ["scan", SNAPSHOT, "--policy", policy]
    )
    code, out, err = run(capsys, *args)
    assert code == 2
    text = err if command == "scan" else out + err
    line = one_error_line(text) if command == "scan" else text
    assert f"{policy}:10" in line and "ACME-ACL-001" in line and "comprehension" in line, text


def test_a_lookup_instead_of_a_nested_comprehension_is_accepted(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(expr="resource.aces.all(e, e.rights.exists(r, r != 'F'))"))
    code, out, err = run(capsys, "policy", "check", policy)
    assert code == 0, out + err


def test_a_rule_running_past_its_time_budget_is_stopped(tmp_path, capsys, monkeypatch):
    from iisguard.engine import cel_rules

    monkeypatch.setattr(cel_rules, "CEL_SECONDS", 0.0)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(expr="size(resource.aces) >= 0"))
    code, out, _ = run(capsys, "scan", SNAPSHOT, "--policy", policy, "--rule", "ACME-*", "--format", "json")
    assert code == 3
    import json

    findings = [f for f in json.loads(out)["findings"] if f["rule_id"] == "ACME-ACL-001"]
    assert (
        len(findings) == 1
        and findings[0]["outcome"] == "error"
        and "IISGUARD_CEL_SECONDS" in findings[0]["message"]
    )
