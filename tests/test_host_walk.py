"""A host's outcome counts and failures come from one walk of its findings, remembered while its list
holds the same findings: the exit code, the summary and every report ask them (a large host has
336,000 findings). A list changed in any way is walked again."""

from __future__ import annotations

from dataclasses import replace

from iisguard.engine.evaluate import HostResult, Report
from iisguard.engine.findings import Outcome, Severity, Waiver

from .report_helpers import RULES, STARTED, finding


def host(*findings) -> HostResult:
    return HostResult("WEB01", None, list(findings), sections=[{"name": "iis", "status": "ok"}])


def test_answers_follow_the_list_whatever_changes_in_it():
    bad = finding(resource="Payroll")
    good = finding(resource="Shop", outcome=Outcome.PASS)
    h = host(bad, good)
    report = Report([h], dict(RULES), "1", STARTED, fail_on=Severity.LOW)
    assert h.execution_successful and report.exit_code() == 1
    assert report.gating_failures() == [bad] and h.outcomes()[Outcome.FAIL] == 1

    # Replaced in place (same list, same length): an error now, and the failure waived.
    waived = replace(bad, waiver=Waiver("accepted", "ops", "2999-01-01"))
    h.findings[0] = waived
    assert report.gating_failures() == [] and report.counts()["waived"] == 1
    h.findings[1] = finding(resource="Shop", outcome=Outcome.ERROR, message="rule crashed")
    assert not h.execution_successful and report.exit_code() == 3
    assert h.outcomes() == {Outcome.FAIL: 1, Outcome.ERROR: 1}

    # Appended, and a new list.
    h.findings.append(bad)
    assert report.gating_failures() == [bad]
    h.findings = [good]
    assert h.execution_successful and report.exit_code() == 0 and report.gating_failures() == []


def test_hosts_asked_in_turn_each_get_their_own_answer():
    one = host(finding(resource="A"), finding(resource="B", outcome=Outcome.PASS))
    two = host(finding(resource="C", outcome=Outcome.ERROR))
    report = Report([one, two], dict(RULES), "1", STARTED, fail_on=Severity.LOW)
    for _ in range(2):
        assert one.execution_successful and not two.execution_successful
        assert [f.resource for f in report.gating_failures()] == ["A"]
        assert report.counts()["error"] == 1 and report.counts()["fail"] == 1


def test_outcomes_handed_out_are_copies():
    h = host(finding())
    h.outcomes()[Outcome.FAIL] = 99
    assert h.outcomes()[Outcome.FAIL] == 1


def test_findings_by_rule_follow_the_list_too():
    """The reports' grouping (report.base.by_rule) comes from the same remembered walk."""
    from iisguard.report.base import by_rule

    a, b = finding(resource="A"), finding(resource="B", outcome=Outcome.PASS)
    c = finding(rule_id="IIS-KRB-001", resource="C")
    h = host(a, b, c)
    assert by_rule(h).groups == {"IIS-POOL-001": ([a], [b]), "IIS-KRB-001": ([c], [])}
    assert not by_rule(h).states
    h.findings[1] = replace(b, baseline_state="absent")
    grouped = by_rule(h)
    assert grouped.states and grouped.groups["IIS-POOL-001"][1] == [h.findings[1]]
