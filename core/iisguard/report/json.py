"""The findings as data for scripts: ``--format json``.

The keys below are stable: new keys may be added, existing ones keep their name and meaning while
``version`` stays 1. Every key is always present; an unknown value is ``null``.

Top level::

    format        "iisguard-findings"
    version       1
    tool          {"name": "iisguard", "version": "<tool version>"}
    generated_at  RFC 3339 UTC time the scan finished
    summary       see below
    hosts         one object per scanned snapshot, in scan order
    findings      one object per rule x resource x host (every outcome, passes included)
    notices       report-wide messages: {"level": "error"|"warning"|"note", "kind", "message"}

``summary``::

    hosts, rules          how many hosts were scanned and rules selected
    profile               the profile used, or null
    outcomes              {"fail", "pass", "error", "not_applicable", "not_reviewed"} -> count
    failures              {"active", "waived", "baselined"} -> count of fail outcomes in each state
    failures_by_severity  {"critical", "high", "medium", "low", "info"} -> count of fail outcomes
    active_by_severity    the same, counting active failures only (not waived, not baselined)
    baseline              {"new", "unchanged", "absent"} -> count of findings in each state (all 0 without --baseline)
    fail_on               the --fail-on severity, or null when failures never gate
    exit_code             what `iisguard scan` exits with for this report (0, 1 or 3)

``hosts[]``::

    name, snapshot (path relative to the working directory), collected_at, source, seconds
    sections              [{"name", "status": "ok"|"partial"|"failed"|"absent", "message"}]
    outcomes              the outcome counts for this host
    execution_successful  false when a rule errored or a collection section failed

``findings[]``::

    rule_id, title, severity ("critical".."info", after overrides), pack
    outcome         "fail" | "pass" | "error" | "not_applicable" | "not_reviewed"
    state           for failures "active" | "waived" | "baselined"; otherwise the outcome again
    host, resource  the host and the resource key the rule judged ("Payroll", "C:\\inetpub\\wwwroot", "host")
    message         what is wrong and what to do
    location        {"uri", "line"}: the captured artifact showing the evidence, else the snapshot file,
                    as a URI relative to the working directory, and a 1-based line
    pointer         JSON pointer of the object in the snapshot, or null
    fingerprint     stable id from rule, host and resource (never from text or lines)
    waiver          {"reason", "owner", "expires", "expired", "source"} or null
    baseline_state  "new" | "unchanged" | "absent" when a baseline was given, else null
    properties      extra facts the rule attached (an object, often empty)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..engine.evaluate import HostResult, Report, now
from ..engine.findings import Finding, Outcome
from ..plugins import hookimpl
from .base import SEVERITIES, Locator, json_text, state

FORMAT = "iisguard-findings"
VERSION = 1


@dataclass
class JsonReporter:
    name: str = "json"
    extension: str = ".json"
    description: str = "findings as JSON data for scripts (keys documented in iisguard.report.json)"
    base: str | None = field(default=None, repr=False)  # locations are relative to this (default: cwd)

    def render(self, report: Report) -> str:
        return json_text(self.build(report))

    def build(self, report: Report) -> dict[str, Any]:
        locator = Locator(report.findings(), self.base)
        findings = [
            _finding(f, report, locator)
            for host in report.hosts
            for f in sorted(host.findings, key=lambda f: (f.rule_id, f.resource))
        ]
        return {
            "format": FORMAT,
            "version": VERSION,
            "tool": {"name": "iisguard", "version": report.tool_version},
            "generated_at": report.finished_at or now(),
            "summary": _summary(report),
            "hosts": [_host(h, locator) for h in report.hosts],
            "findings": findings,
            "notices": [
                {"level": n.level, "kind": n.kind or None, "message": n.message} for n in report.notices
            ],
        }


def _outcomes(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {o.value: 0 for o in Outcome}
    for f in findings:
        counts[f.outcome.value] += 1
    return counts


def _summary(report: Report) -> dict[str, Any]:
    failures = {"active": 0, "waived": 0, "baselined": 0}
    by_severity = {s.value: 0 for s in SEVERITIES}
    active_by_severity = dict(by_severity)
    baseline = {"new": 0, "unchanged": 0, "absent": 0}
    for f in report.findings():
        if f.baseline_state in baseline:
            baseline[f.baseline_state] += 1
        if f.outcome is Outcome.FAIL:
            failures[state(f)] += 1
            by_severity[f.severity.value] += 1
            if f.active_failure:
                active_by_severity[f.severity.value] += 1
    return {
        "hosts": len(report.hosts),
        "rules": len(report.rules),
        "profile": report.profile,
        "outcomes": _outcomes(report.findings()),
        "failures": failures,
        "failures_by_severity": by_severity,
        "active_by_severity": active_by_severity,
        "baseline": baseline,
        "fail_on": report.fail_on.value if report.fail_on else None,
        "exit_code": report.exit_code(),
    }


def _host(host: HostResult, locator: Locator) -> dict[str, Any]:
    errored = any(f.outcome is Outcome.ERROR for f in host.findings) or bool(host.failed_sections)
    return {
        "name": host.host,
        "snapshot": locator.relative(host.snapshot_path) if host.snapshot_path else None,
        "collected_at": host.collected_at,
        "source": host.source,
        "seconds": round(host.seconds, 3),
        "sections": [
            {"name": s.get("name"), "status": s.get("status"), "message": s.get("message")}
            for s in host.sections
        ],
        "outcomes": _outcomes(host.findings),
        "execution_successful": not errored,
    }


def _finding(f: Finding, report: Report, locator: Locator) -> dict[str, Any]:
    rule = report.rules.get(f.rule_id)
    loc = locator.locate(f)
    waiver = None
    if f.waiver is not None:
        w = f.waiver
        waiver = {
            "reason": w.reason,
            "owner": w.owner,
            "expires": w.expires,
            "expired": w.expired,
            "source": w.source or None,
        }
    return {
        "rule_id": f.rule_id,
        "title": rule.title if rule else None,
        "severity": f.severity.value,
        "pack": f.pack or (rule.pack if rule else None) or None,
        "outcome": f.outcome.value,
        "state": state(f),
        "host": f.host,
        "resource": f.resource,
        "message": f.message,
        "location": {"uri": loc.uri, "line": loc.line},
        "pointer": f.pointer,
        "fingerprint": f.fingerprint,
        "waiver": waiver,
        "baseline_state": f.baseline_state,
        "properties": dict(f.properties),
    }


REPORTER = JsonReporter()


@hookimpl
def iisguard_register_reporters():
    return {"json": REPORTER}
