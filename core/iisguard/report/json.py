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
    findings      one object per rule x resource x host: every outcome but passes, which are only
                  listed with `--include-passes` (the counts in summary and hosts always include them);
                  a pass whose baseline_state is "absent" (a baselined failure now fixed) is always listed
    notices       report-wide messages: {"level": "error"|"warning"|"note", "kind", "message"}
    compliance    with `--framework NAME`, every item of that framework with its status, else null:
                  {"framework", "title", "version", "summary": {status: count}, "items": [...]}
    shard         with `scan --shard K/N`, what `iisguard merge` needs (iisguard.report.shards), else null

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
    passes_listed         true when findings[] lists passes too (`--include-passes`, and always with
                          `scan --shard`)

``hosts[]``::

    name, snapshot (path relative to the working directory), collected_at, source, seconds
    sections              [{"name", "status": "ok"|"partial"|"failed"|"absent", "message"}]
    outcomes              the outcome counts for this host
    execution_successful  false when a rule errored, a collection section failed, or `gaps` is not empty
    gaps                  why the host's result cannot be trusted: nothing collected, no rule could
                          judge anything, a required section (--require) absent or failed

``compliance.items[]`` (statuses and how they are derived: iisguard.engine.compliance)::

    id, title, note     the framework item (a CIS recommendation, a STIG V-ID); note or null
    procedural, gap     why no rule maps to it (a person decides / an open gap), or null
    rules               the rule ids the framework maps to it ([] when iisguard does not check it)
    status              "fail" | "not_reviewed" | "pass" | "not_applicable" | "procedural" |
                        "not_covered", the worst over the hosts
    reason              one line saying why
    hosts               [{"host", "status", "reason", "waived", "outcomes", "rules_not_run"}]

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

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter, countOf
from typing import Any

from ..engine import compliance
from ..engine.evaluate import HostResult, Report, now
from ..engine.findings import Finding, Outcome
from ..engine.rule import Rule
from ..hookspecs import hookimpl
from . import shards
from .base import SEVERITIES, Locator, by_rule, json_bytes, json_chunks, placeholder, state

FORMAT = "iisguard-findings"
VERSION = 1


@dataclass
class JsonReporter:
    name: str = "json"
    extension: str = ".json"
    description: str = "findings as JSON data for scripts (keys documented in iisguard.report.json)"
    base: str | None = field(default=None, repr=False)  # locations are relative to this (default: cwd)
    include_passes: bool = False  # `--include-passes`: list passes in findings[] too

    def render(self, report: Report) -> str:
        return self.render_bytes(report).decode("utf-8")

    def render_bytes(self, report: Report) -> bytes:
        """The document as UTF-8, as orjson writes it."""
        return b"".join(self.render_chunks(report))

    def render_chunks(self, report: Report) -> Iterator[bytes | memoryview]:
        """The document as UTF-8 in pieces (what the CLI writes to a file, never joined: 47 MB on a
        5,000-site host): the findings are made and encoded a batch at a time as they are written
        (`json_chunks`)."""
        tallies = [_Tally(host, self.passes(report)) for host in report.hosts]
        locator = Locator((f for t in tallies for f in t.listed), self.base)
        findings = placeholder()
        document = self._document(report, locator, tallies, findings)
        pieces = json_chunks(document, {findings: _finding_dicts(report, locator, tallies)})
        if pieces is None:
            document["findings"] = list(_finding_dicts(report, locator, tallies))
            return iter([json_bytes(document)])
        return pieces

    def build(self, report: Report) -> dict[str, Any]:
        tallies = [_Tally(host, self.passes(report)) for host in report.hosts]
        locator = Locator((f for t in tallies for f in t.listed), self.base)
        return self._document(report, locator, tallies, list(_finding_dicts(report, locator, tallies)))

    @property
    def lists_passes(self) -> bool:
        """Reporter.lists_passes: with `--include-passes` every pass is listed with its pointer and evidence."""
        return self.include_passes

    def passes(self, report: Report) -> bool:
        """Whether findings[] lists passes: with --include-passes, and always in a shard's report
        (`iisguard merge` rebuilds every finding from it)."""
        return self.include_passes or report.shard is not None

    def _document(
        self, report: Report, locator: Locator, tallies: list[_Tally], findings: Any
    ) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "tool": {"name": "iisguard", "version": report.tool_version},
            "generated_at": report.finished_at or now(),
            "summary": {**_summary(report, tallies), "passes_listed": self.passes(report)},
            "hosts": [_host(h, t, locator) for h, t in zip(report.hosts, tallies, strict=True)],
            "findings": findings,
            "notices": [
                {"level": n.level, "kind": n.kind or None, "message": n.message} for n in report.notices
            ],
            "compliance": compliance.assess(report, report.framework).as_dict() if report.framework else None,
            "shard": shards.section(report) if report.shard is not None else None,
        }


class _Tally:
    """What the report says of one host, read from its findings by rule (base.by_rule: a large host
    has 336,000, 88% passes): outcome and baseline counts, its failures, and (`listed`, with a
    listing) the findings findings[] lists, in their order."""

    def __init__(self, host: HostResult, listing: bool | None = None) -> None:
        """`listing`: None for counts only; True to list every finding, False all but passes."""
        findings = host.findings
        grouped = by_rule(host)  # walked once for every reporter of the scan
        others: list[Finding] = []  # every outcome but a pass, by rule
        for group, _ in grouped.groups.values():
            others += group
        self.failures: list[Finding] = [f for f in others if f.outcome is _FAIL]
        # list.count compares by identity first: five C-speed passes over the non-passes.
        outcomes = list(map(_outcome, others))
        self.outcomes: dict[Outcome, int] = {o: outcomes.count(o) for o in Outcome if o is not _PASS}
        self.outcomes[_PASS] = len(findings) - len(others)
        # Without --baseline no finding has a state.
        self.baseline = Counter(map(_baseline_state, findings)) if grouped.states else Counter()
        self.listed: list[Finding] = []
        if listing is None:
            return
        if listing:
            self.listed = shards.ordered(findings)
        elif self.baseline["absent"]:
            # A pass that fixed a baselined failure (baseline_state "absent") is listed too.
            kept = [f for f in findings if f.outcome is not _PASS or f.baseline_state == "absent"]
            self.listed = shards.ordered(kept)
        else:
            # shards.ordered keeps a rule's findings in the host's order, as `others` has them.
            self.listed = shards.ordered(others)

    def counts(self) -> dict[str, int]:
        """Outcome value -> count, every outcome present, in the order of Outcome."""
        return {o.value: self.outcomes[o] for o in Outcome}


_PASS, _FAIL = Outcome.PASS, Outcome.FAIL
_outcome = attrgetter("outcome")
_baseline_state = attrgetter("baseline_state")
_waiver = attrgetter("waiver")
_severity = attrgetter("severity")


def _finding_dicts(report: Report, locator: Locator, tallies: list[_Tally]) -> Iterator[dict[str, Any]]:
    rules = report.rules
    locate = locator.locate
    places: dict[tuple[str, int], dict[str, Any]] = {}  # findings on the same line share their "location"
    for tally in tallies:
        for f in tally.listed:
            loc = locate(f)
            place = places.get((loc.uri, loc.line))
            if place is None:
                place = places[(loc.uri, loc.line)] = {"uri": loc.uri, "line": loc.line}
            yield _finding(f, rules.get(f.rule_id), place)


def _summary(report: Report, tallies: list[_Tally] | None = None) -> dict[str, Any]:
    if tallies is None:
        tallies = [_Tally(host) for host in report.hosts]
    failures = {"active": 0, "waived": 0, "baselined": 0}
    by_severity = {s.value: 0 for s in SEVERITIES}
    active_by_severity = dict(by_severity)
    baseline = {"new": 0, "unchanged": 0, "absent": 0}
    for tally in tallies:
        for key in baseline:
            baseline[key] += tally.baseline[key]
        found = tally.failures
        if countOf(map(_waiver, found), None) == len(found) and not any(map(_baseline_state, found)):
            # Neither waived nor in a baseline: every failure is active, counted by severity at C speed.
            severities = list(map(_severity, found))
            failures["active"] += len(found)
            for s in SEVERITIES:
                n = countOf(severities, s)
                by_severity[s.value] += n
                active_by_severity[s.value] += n
            continue
        for f in found:
            failures[state(f)] += 1
            by_severity[f.severity.value] += 1
            if f.active_failure:
                active_by_severity[f.severity.value] += 1
    return {
        "hosts": len(report.hosts),
        "rules": len(report.rules),
        "profile": report.profile,
        "outcomes": {o.value: sum(t.outcomes[o] for t in tallies) for o in Outcome},
        "failures": failures,
        "failures_by_severity": by_severity,
        "active_by_severity": active_by_severity,
        "baseline": baseline,
        "fail_on": report.fail_on.value if report.fail_on else None,
        "exit_code": report.exit_code(),
    }


def _host(host: HostResult, tally: _Tally, locator: Locator) -> dict[str, Any]:
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
        "outcomes": tally.counts(),
        "execution_successful": host.execution_successful,
        "gaps": host.gaps,
    }


def _finding(f: Finding, rule: Rule | None, location: dict[str, Any]) -> dict[str, Any]:
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
    outcome = f.outcome
    properties = f.properties
    # Enum values by `_value_`: `.value` is a property, and a large host lists 59,000 findings.
    return {
        "rule_id": f.rule_id,
        "title": rule.title if rule else None,
        "severity": f.severity._value_,
        "pack": f.pack or (rule.pack if rule else None) or None,
        "outcome": outcome._value_,
        "state": state(f),
        "host": f.host,
        "resource": f.resource,
        "message": f.message,
        "location": location,
        "pointer": f.pointer,
        "fingerprint": f.fingerprint,
        "waiver": waiver,
        "baseline_state": f.baseline_state,
        "properties": dict(properties),
    }


REPORTER = JsonReporter()


@hookimpl
def iisguard_register_reporters():
    return {"json": REPORTER}
