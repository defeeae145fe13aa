"""Compliance by control: each item of a framework (a CIS recommendation, a STIG V-ID) with a status.

The one place that turns a report's findings into per-control results. The text and JSON reports
(``iisguard scan --framework NAME``), the STIG checklists (``--format ckl``/``cklb``), the Heimdall
Data Format (``--format hdf``) and the HTML report all read :func:`assess`; none derives a status
on its own.

A control's status on one host, from the findings of the rules the framework maps to it
(``policies/frameworks/<name>.yaml``):

``fail``
    at least one mapped rule failed on a resource, whether the failure is active, waived or in
    the baseline (a waiver accepts a risk, it does not make the control pass; ``Control.waived``
    says when every failure is waived).
``not_reviewed``
    nothing failed but iisguard could not tell: a mapped rule was not run in this scan (disabled
    by the profile, ``--rule``/``--skip-rule``, or not loaded), errored, or lacked the data it
    needs. Fail closed: part of a control checked is not the control passed.
``pass``
    every mapped rule ran, none failed or lacked data, and at least one judged a resource.
``not_applicable``
    every mapped rule ran and found nothing on this host to check.
``procedural``
    no capture can decide the item (documentation, backups, a banner a person reads): the framework
    marks it ``procedural`` with the reason, which the reports carry (checklists: Not_Reviewed with
    the reason as comment). Never reported as a pass.
``not_covered``
    the framework maps no iisguard rule to the item and does not call it procedural (an open gap,
    named with ``gap:`` in the framework file): a manual review, never reported as a pass.

Across several hosts an item takes its worst status: fail, then not reviewed, then pass, then not
applicable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .findings import Finding, Outcome
from .frameworks import Framework, Item
from .frameworks import load as load_framework

if TYPE_CHECKING:
    from .evaluate import Report

PASS = "pass"
FAIL = "fail"
NOT_REVIEWED = "not_reviewed"
NOT_APPLICABLE = "not_applicable"
NOT_COVERED = "not_covered"
PROCEDURAL = "procedural"
STATUSES = (FAIL, NOT_REVIEWED, PASS, NOT_APPLICABLE, PROCEDURAL, NOT_COVERED)  # worst first
LABELS = {
    FAIL: "fail",
    NOT_REVIEWED: "not reviewed",
    PASS: "pass",
    NOT_APPLICABLE: "not applicable",
    PROCEDURAL: "procedural",
    NOT_COVERED: "not covered",
}
MANUAL = (PROCEDURAL, NOT_COVERED)  # no rule decides these: a person does
_WORST = {s: i for i, s in enumerate(STATUSES)}


@dataclass(frozen=True)
class Control:
    """One framework item on one host: its status, why, and the findings it was derived from."""

    item: Item
    host: str
    status: str
    reason: str
    findings: tuple[Finding, ...] = ()  # every finding of the mapped rules that ran, on this host
    rules_not_run: tuple[str, ...] = ()

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.FAIL]

    @property
    def problems(self) -> list[Finding]:
        """Findings that kept the control from being judged: rule errors and missing data."""
        return [f for f in self.findings if f.outcome in (Outcome.ERROR, Outcome.NOT_REVIEWED)]

    @property
    def passes(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.PASS]

    @property
    def waived(self) -> bool:
        """True when the control fails and every failure is waived (an accepted, expiring risk)."""
        fails = self.failures
        return bool(fails) and all(f.suppressed for f in fails)

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        for f in self.findings:
            out[f.outcome.value] += 1
        return out


@dataclass(frozen=True)
class ItemResult:
    """One framework item across the hosts of a report."""

    item: Item
    status: str
    hosts: tuple[Control, ...]

    @property
    def reason(self) -> str:
        if self.status in MANUAL:
            return self.hosts[0].reason if self.hosts else _manual(self.item)[1]
        if len(self.hosts) == 1:
            return self.hosts[0].reason
        at = [c.host for c in self.hosts if c.status == self.status]
        return f"{LABELS[self.status]} on {len(at)} of {len(self.hosts)} hosts: {', '.join(at)}"


@dataclass(frozen=True)
class Compliance:
    """Every item of a framework with its status, for the hosts of one report."""

    framework: Framework
    items: tuple[ItemResult, ...]
    hosts: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, int]:
        """Status -> number of items (each item counted once, with its worst status over the hosts)."""
        out = dict.fromkeys(STATUSES, 0)
        for r in self.items:
            out[r.status] += 1
        return out

    def for_host(self, host: str) -> list[Control]:
        """The items on one host, in framework order."""
        return [c for r in self.items for c in r.hosts if c.host == host]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``compliance`` in ``--format json``); keys documented in iisguard.report.json."""
        return {
            "framework": self.framework.name,
            "title": self.framework.title,
            "version": self.framework.version,
            "summary": self.summary(),
            "items": [
                {
                    "id": r.item.id,
                    "title": r.item.title,
                    "rules": list(r.item.rules),
                    "note": r.item.note or None,
                    "procedural": r.item.procedural or None,
                    "gap": r.item.gap or None,
                    "status": r.status,
                    "reason": r.reason,
                    "hosts": [
                        {
                            "host": c.host,
                            "status": c.status,
                            "reason": c.reason,
                            "waived": c.waived,
                            "outcomes": c.counts(),
                            "rules_not_run": list(c.rules_not_run),
                        }
                        for c in r.hosts
                    ],
                }
                for r in self.items
            ],
        }


_NOT_COVERED_REASON = "no iisguard rule checks this item: review it by hand"


def _manual(item: Item) -> tuple[str, str]:
    """(status, reason) of an item no rule maps to: procedural with its reason, else not covered."""
    if item.procedural:
        return PROCEDURAL, f"procedural, review by a person: {item.procedural}"
    if item.gap:
        return NOT_COVERED, f"not covered by iisguard yet ({item.gap}): review it by hand"
    return NOT_COVERED, _NOT_COVERED_REASON


def assess(report: Report, framework: Framework | str) -> Compliance:
    """The status of every item of `framework` (a name such as ``stig-iis10``, or a loaded mapping).

    Rules that ran are the report's selected rules (``report.rules``); a mapped rule outside them
    makes its items ``not_reviewed`` on every host, unless another mapped rule failed.
    """
    fw = load_framework(framework) if isinstance(framework, str) else framework
    ran = set(report.rules)
    wanted = fw.rule_ids()
    per_host: list[tuple[str, dict[str, list[Finding]]]] = []
    for host in report.hosts:
        by_rule: dict[str, list[Finding]] = {}
        for f in host.findings:
            if f.rule_id in wanted:
                by_rule.setdefault(f.rule_id, []).append(f)
        per_host.append((host.host, by_rule))
    items = []
    for item in fw.items:
        controls = tuple(control(item, host, by_rule, ran) for host, by_rule in per_host)
        if not item.rules:
            status = _manual(item)[0]
        elif not controls:
            status = NOT_REVIEWED
        else:
            status = min((c.status for c in controls), key=_WORST.__getitem__)
        items.append(ItemResult(item, status, controls))
    return Compliance(fw, tuple(items), tuple(h for h, _ in per_host))


def control(item: Item, host: str, by_rule: Mapping[str, Sequence[Finding]], ran: Iterable[str]) -> Control:
    """One item on one host from the findings of its rules there (`by_rule`: rule id -> findings)."""
    if not item.rules:
        return Control(item, host, *_manual(item))
    ran = set(ran)
    run = [r for r in item.rules if r in ran]
    not_run = tuple(r for r in item.rules if r not in ran)
    findings = tuple(f for r in run for f in by_rule.get(r, ()))
    outcomes = {o: [f for f in findings if f.outcome is o] for o in Outcome}
    fails = outcomes[Outcome.FAIL]
    if fails:
        reason = f"{_resources(len(fails))} failing: {_per_rule(fails)}"
        states = _failure_states(fails)
        if states:
            reason += f" ({states})"
        return Control(item, host, FAIL, reason, findings, not_run)
    gaps: list[str] = []
    if not_run:
        gaps.append(f"not run in this scan: {', '.join(not_run)}")
    for outcome, label in ((Outcome.ERROR, "errored"), (Outcome.NOT_REVIEWED, "lacked data")):
        hit = outcomes[outcome]
        if hit:
            gaps.append(f"{label} on {_resources(len(hit))}: {_per_rule(hit)} ({_first_message(hit)})")
    if gaps:
        return Control(item, host, NOT_REVIEWED, "; ".join(gaps), findings, not_run)
    passes = outcomes[Outcome.PASS]
    if passes:
        return Control(item, host, PASS, f"{_resources(len(passes))} pass: {_per_rule(passes)}", findings)
    return Control(item, host, NOT_APPLICABLE, f"nothing on this host to check ({', '.join(run)})", findings)


def _resources(n: int) -> str:
    return f"{n} resource{'s' if n != 1 else ''}"


def _per_rule(findings: Sequence[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule_id] = counts.get(f.rule_id, 0) + 1
    return ", ".join(f"{rule} {n}" for rule, n in counts.items())


def _failure_states(fails: Sequence[Finding]) -> str:
    waived = sum(1 for f in fails if f.suppressed)
    baselined = sum(1 for f in fails if not f.suppressed and not f.active_failure)
    parts = [f"{waived} waived"] if waived else []
    if baselined:
        parts.append(f"{baselined} in the baseline")
    return ", ".join(parts)


def _first_message(findings: Sequence[Finding]) -> str:
    return next((f.message for f in findings if f.message), "no message")
