"""Run selected rules over snapshots, each rule on its own, into findings and a report."""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..drafts import editable
from ..errors import PluginError, describe
from ..model.snapshot import DECLARED, SECTIONS, Snapshot
from .findings import _FINDING_DRAFT, Evidence, Finding, Outcome, Result, Severity, new_finding
from .rule import Rule

NOT_STATED = "not stated by the build scripts"
_PRIORITY = {
    Outcome.FAIL: 4,
    Outcome.ERROR: 3,
    Outcome.NOT_REVIEWED: 2,
    Outcome.PASS: 1,
    Outcome.NOT_APPLICABLE: 0,
}
# Read per finding: module names, not `Outcome.X` (EnumType.__getattr__'s slot, ~0.3 us on 3.11).
_FAIL, _PASS, _ERROR, _NOT_REVIEWED = Outcome.FAIL, Outcome.PASS, Outcome.ERROR, Outcome.NOT_REVIEWED


ByRule = dict[str, tuple[list[Finding], list[Finding]]]  # rule id -> (its other outcomes, its passes)


class _Walked:
    """What a host's findings tell, each part worked out once: each outcome's count, the failures in
    order, and (when asked: the reports) the findings by rule with whether any has a baseline state."""

    __slots__ = ("counts", "failures", "_findings", "_by_rule")

    def __init__(self, findings: list[Finding]) -> None:
        outcomes = [f.outcome for f in findings]  # the slot read in a list display, then counted at C speed
        self.counts: Counter[Outcome] = Counter(outcomes)
        self.failures = (
            [f for f, o in zip(findings, outcomes, strict=True) if o is _FAIL] if self.counts[_FAIL] else []
        )
        self._findings = findings  # the remembered copy (see _walk)
        self._by_rule: tuple[ByRule, bool] | None = None

    def by_rule(self) -> tuple[ByRule, bool]:
        found = self._by_rule
        if found is None:
            groups: ByRule = {}
            states = False
            last = None
            # One plain loop (groupby or a chain of map() passes costs more on 3.11); a rule's findings
            # mostly come in a run, so its lists are looked up when the rule changes.
            for f in self._findings:
                rule_id = f.rule_id
                if rule_id != last:
                    last = rule_id
                    group = groups.get(rule_id)
                    if group is None:
                        group = groups[rule_id] = ([], [])
                    others, passes = group
                if f.outcome is _PASS:
                    passes.append(f)
                else:
                    others.append(f)
                if f.baseline_state is not None:
                    states = True
            found = self._by_rule = (groups, states)
        return found


_LAST_WALK: tuple[list[Finding], _Walked] | None = None


def _walk(findings: list[Finding]) -> _Walked:
    """`_Walked` of a host's findings, remembered for the last list walked while it holds the same
    findings (compared at C speed, by identity first, as report.base.by_rule does): a large host has
    336,000 findings, and the exit code, the summary and the reports each asked them again."""
    global _LAST_WALK
    last = _LAST_WALK  # read once: another thread may replace it meanwhile
    if last is not None and last[0] == findings:
        return last[1]
    copy = list(findings)
    walked = _Walked(copy)
    _LAST_WALK = (copy, walked)
    return walked


def _any(findings: Iterable[Finding], outcome: Outcome) -> bool:
    """Whether a finding has `outcome`, stopping at the first. A plain loop: on 3.11 it reads the slot
    at about half the cost of `outcome in map(attrgetter("outcome"), findings)` (336,000 findings on a
    large host, asked several times per scan by the reports and the exit code)."""
    for f in findings:  # noqa: SIM110 - any(genexpr) resumes a generator per finding
        if f.outcome is outcome:
            return True
    return False


@dataclass(frozen=True)
class Selected:
    """A rule as it will run: effective severity and parameters after profiles and policies."""

    rule: Rule
    severity: Severity
    parameters: Mapping[str, Any]


@dataclass
class HostResult:
    host: str
    snapshot_path: str | None
    findings: list[Finding]
    sections: list[dict[str, Any]] = field(default_factory=list)
    collected_at: str | None = None
    source: str | None = None
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)  # the snapshot's `host` object (fqdn, domain, os...)

    # Every section's status as Snapshot.section_status says (from collection.sections, else the data).
    section_status: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()  # sections this host must have (`--require`, a policy's `require:`)

    @property
    def failed_sections(self) -> list[dict[str, Any]]:
        return [s for s in self.sections if s.get("status") == "failed"]

    @property
    def gaps(self) -> list[str]:
        """Why this host's result cannot be trusted though every rule ran: a gate that read nothing
        must not pass. Nothing collected, no rule able to judge anything, a required section absent
        or failed. Each is a sentence naming the host."""
        out = []
        status = self.section_status or {str(s.get("name")): str(s.get("status")) for s in self.sections}
        if status and not any(v in ("ok", "partial") for v in status.values()):
            if self.source == DECLARED:
                out.append(
                    f"{self.host}: the build scripts state nothing iisguard judges (no app pool, site, "
                    "anonymous user, account, right, ACL or SPN)"
                )
            else:
                out.append(f"{self.host}: nothing was collected (no section is ok or partial)")
        elif self.findings and not _any(self.findings, _PASS) and not _any(self.findings, _FAIL):
            reviewed = _walk(self.findings).counts[_NOT_REVIEWED]
            if reviewed:
                out.append(
                    f"{self.host}: no rule could judge anything ({reviewed} not reviewed): "
                    "the data the rules need was not collected"
                )
        for name in self.required:
            state = status.get(name, "absent")
            if state not in ("ok", "partial"):
                out.append(f"{self.host}: required section {name} is {state}")
        return out

    def outcomes(self) -> Counter[Outcome]:
        """How many findings have each outcome."""
        return Counter(_walk(self.findings).counts)

    def by_rule(self) -> tuple[ByRule, bool]:
        """The findings by rule (rule id -> its other outcomes, its passes; rules in the order they
        first appear, each list in the host's order), and whether any finding has a baseline state:
        what the reports read. Worked out once while `findings` holds the same findings, with the
        counts; the lists are shared: do not change them."""
        return _walk(self.findings).by_rule()

    @property
    def execution_successful(self) -> bool:
        """No rule errored, no collection section failed, and nothing in `gaps` (SARIF executionSuccessful)."""
        return not (_walk(self.findings).counts[_ERROR] or self.failed_sections or self.gaps)


@dataclass
class Notice:
    """Something the report must say that is not a finding: an expired or unused waiver, a broken pack."""

    level: str  # "error" / "warning" / "note"
    message: str
    kind: str = ""


@dataclass
class Report:
    hosts: list[HostResult]
    rules: dict[str, Rule]  # effective rules (severity after overrides), every selected rule
    tool_version: str
    started_at: str
    finished_at: str = ""
    fail_on: Severity | None = Severity.MEDIUM
    notices: list[Notice] = field(default_factory=list)
    profile: str | None = None
    framework: str | None = None  # `--framework`: reports add compliance by control (engine/compliance.py)
    # `scan --shard K/N`: which shard this report is and what `iisguard merge` needs to finish it
    # (iisguard.pipeline.Shard); None for an ordinary scan.
    shard: Any = None

    def findings(self) -> Iterable[Finding]:
        for h in self.hosts:
            yield from h.findings

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        out["waived"] = 0
        for h in self.hosts:
            walked = _walk(h.findings)
            for outcome, n in walked.counts.items():
                out[outcome.value] += n
            out["waived"] += sum(1 for f in walked.failures if not f.active_failure)
        return out

    def gating_failures(self) -> list[Finding]:
        if self.fail_on is None:
            return []
        floor = self.fail_on.rank
        # Among the failures only (29,000 of a large host's 336,000 findings).
        return [
            f
            for h in self.hosts
            for f in _walk(h.findings).failures
            if f.active_failure and f.severity.rank >= floor
        ]

    @property
    def errored(self) -> bool:
        """A rule errored, a section failed, or a host's result cannot be trusted (HostResult.gaps)."""
        return not all(h.execution_successful for h in self.hosts)

    def exit_code(self) -> int:
        if self.gating_failures():
            return 1
        if self.errored:
            return 3
        return 0


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Step:
    """Where a scan is, for a progress display: host `index` of `total` (1-based) and, while its rules
    run, the rule pack (`pack_index` of `packs`). `done` marks a host finished (by a worker process)."""

    host: str
    index: int
    total: int
    pack: str = ""
    pack_index: int = 0
    packs: int = 0
    done: bool = False


def evaluate(
    snapshot: Snapshot,
    selected: Sequence[Selected],
    *,
    strict: bool = False,
    on_pack: Callable[[str, int, int], None] | None = None,
    workers: int = 1,
    pass_details: bool = True,
) -> HostResult:
    """One outcome per rule × resource for one snapshot. A crashing rule becomes `error` unless strict.

    `on_pack(pack, index, count)` is called as each rule pack starts (for a progress display).
    With `workers` > 1 the rules are shared out among that many forked processes where the platform
    forks (engine/split.py); the findings are the same, in the same order.
    With `pass_details` False a pass's finding carries no pointer and no evidence: for reports that
    only count passes (a large host has 277,000 of them, and finding where each stands in the
    snapshot was a tenth of the scan).
    """
    start = time.perf_counter()
    host = snapshot.host
    packs = list(dict.fromkeys(sel.rule.pack for sel in selected)) if on_pack else []
    current = None

    def starting(sel: Selected) -> None:
        nonlocal current
        if on_pack is not None and sel.rule.pack != current:
            current = sel.rule.pack
            on_pack(current, packs.index(current) + 1, len(packs))

    findings: list[Finding] = []
    if workers > 1:
        from .split import findings_by_rule  # split imports this module

        for found in findings_by_rule(
            snapshot, selected, strict=strict, workers=workers, on_rule=starting, pass_details=pass_details
        ):
            findings.extend(found)
    else:
        located: list[tuple[Finding, Mapping[str, Any]]] = []  # findings whose pointer is looked up last
        for sel in selected:
            starting(sel)
            findings.extend(_run_rule(snapshot, sel, host, strict, located, pass_details))
        _point(snapshot, located)
    coll = snapshot.data.get("collection") or {}
    return HostResult(
        host=host,
        snapshot_path=snapshot.path,
        findings=findings,
        sections=list(coll.get("sections") or []),
        section_status={name: snapshot.section_status(name) for name in SECTIONS},
        collected_at=coll.get("collected_at"),
        source=coll.get("source"),
        seconds=time.perf_counter() - start,
        info=dict(snapshot.data.get("host") or {}),
    )


def _point(snapshot: Snapshot, located: list[tuple[Finding, Mapping[str, Any]]]) -> None:
    """Give each finding the JSON pointer of the object it is about, all of a host's in one walk."""
    found = snapshot.locate({id(at) for _, at in located})
    for finding, at in located:
        hit = found.get(id(at))
        if hit is not None:
            # Not yet published (evaluate() has not returned): set in place, not rebuilt (240,000
            # findings on a large host).
            _set_pointer(finding, hit[0])
    located.clear()


def _run_rule(
    snapshot: Snapshot,
    sel: Selected,
    host: str,
    strict: bool,
    located: list[tuple[Finding, Mapping[str, Any]]],
    pass_details: bool = True,
) -> list[Finding]:
    """The findings of one rule (one per resource, the most telling outcome). A finding whose pointer is
    still to be found is listed in `located` with its object (found later for all rules at once).
    Without `pass_details`, passes get neither pointer nor evidence (see evaluate)."""
    rule = sel.rule
    missing = [s for s in rule.needs if not snapshot.has_section(s)]
    if missing:
        statuses = {s: snapshot.section_status(s) for s in missing}
        states = ", ".join(f"{s} {status}" for s, status in statuses.items())
        if snapshot.declared:  # the build scripts do not say: nothing to judge, not a gap in a capture
            result = Result(Outcome.NOT_APPLICABLE, "host", f"{NOT_STATED} ({', '.join(missing)})")
            return [_finding(snapshot, sel, host, result, located)]
        # `missing_sections` lets reports group not-reviewed rules by the section that was missing.
        result = Result(
            Outcome.NOT_REVIEWED,
            "host",
            f"data not collected ({states})",
            properties={"missing_sections": statuses},
        )
        return [_finding(snapshot, sel, host, result, located)]
    by_resource: dict[str, Result] = {}
    # A declared snapshot states only what its scripts state: a fact a rule finds unknown there is one
    # the scripts do not state (not_applicable), not one a collection missed (not_reviewed).
    declared = snapshot.declared
    priority, first = _PRIORITY, by_resource.setdefault
    mark = len(located)
    try:
        for result in rule.evaluate(snapshot, sel.parameters):
            if not isinstance(result, Result):
                raise TypeError(f"rule yielded {type(result).__name__}, not a Result")
            if declared:
                result = _declared(result)
            # One dict operation for a resource met first (a rule yields most resources once).
            old = first(result.resource, result)
            if old is not result and priority[result.outcome] > priority[old.outcome]:
                by_resource[result.resource] = result
        # Inside the try: a result the engine cannot turn into a finding (an `at` that is not an
        # object, an unknown escalated severity) is this rule's error, as a crash while it ran is.
        found = _findings(snapshot, sel, host, by_resource.values(), located, pass_details)
    except SystemExit as exc:
        # Not a rule error among others: the pack tried to end the process (a green gate if let through).
        raise PluginError(
            f"rule pack {rule.pack or '?'}: rule {rule.id} on host {host}: {describe(exc)}; the pack is broken"
        ) from None
    except Exception as exc:
        if strict:
            exc.add_note(f"in rule {rule.id} on host {host}")
            raise
        tb = traceback.extract_tb(exc.__traceback__)
        origin = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
        message = f"rule crashed: {type(exc).__name__}: {exc}{origin}"
        del located[mark:]  # objects of findings that will not be reported
        return [_finding(snapshot, sel, host, Result(Outcome.ERROR, "host", message), located)]
    if not found:
        return [
            _finding(
                snapshot,
                sel,
                host,
                Result(Outcome.NOT_APPLICABLE, "host", "nothing on this host to check"),
                located,
            )
        ]
    return found


def _declared(result: Result) -> Result:
    """A result on a declared snapshot: about an object whose account or path the script computes at run
    time, not_reviewed (stated, but unknown); a fact the rule found unknown otherwise, not_applicable."""
    unresolved = result.at.get("unresolved") if isinstance(result.at, Mapping) else None
    if unresolved and result.outcome in (Outcome.PASS, Outcome.FAIL, Outcome.NOT_REVIEWED):
        fields = ", ".join(str(f) for f in unresolved)
        return replace(
            result,
            outcome=Outcome.NOT_REVIEWED,
            message=f"{result.message} (not judged: the script computes {fields} at run time)",
        )
    if result.outcome is Outcome.NOT_REVIEWED:
        return replace(result, outcome=Outcome.NOT_APPLICABLE, message=f"{NOT_STATED}: {result.message}")
    return result


def _finding(
    snapshot: Snapshot,
    sel: Selected,
    host: str,
    result: Result,
    located: list[tuple[Finding, Mapping[str, Any]]],
) -> Finding:
    return _findings(snapshot, sel, host, (result,), located)[0]


_set_pointer = Finding.__dict__["pointer"].__set__  # the slot's own setter (Finding is frozen)


def _findings(
    snapshot: Snapshot,
    sel: Selected,
    host: str,
    results: Iterable[Result],
    located: list[tuple[Finding, Mapping[str, Any]]],
    pass_details: bool = True,
) -> list[Finding]:
    """A rule's results as findings (a large host: 336,000 of them, so one tight loop). A result
    about an object (`at`) without a pointer is listed in `located`: _point finds all of a host's at
    once. A fact that is not an object names its pointer (`at` may still lend it its evidence).
    Without `pass_details` a pass keeps neither (see evaluate)."""
    rule_id, pack, path, severity = sel.rule.id, sel.rule.pack, snapshot.path, sel.severity
    evidence_of, dict_type, mapping = Evidence, dict, Mapping
    finding_class: type = Finding
    new, draft = object.__new__, _FINDING_DRAFT
    mark = len(located)
    if draft is None:  # an interpreter that refuses drafts (tests/test_findings_builder.py): rebuilt below
        draft = finding_class = _EDITABLE_FINDING
    out: list[Finding] = []
    add, locate = out.append, located.append
    for result in results:
        evidence = None
        at, pointer = result.at, result.pointer
        if not pass_details and result.outcome is _PASS:
            at = pointer = None
        if at is not None:
            ev = at.get("evidence")
            if ev and (type(ev) is dict_type or isinstance(ev, mapping)):  # the ABC check only for others
                artifact = ev.get("artifact")
                if artifact:
                    evidence = evidence_of(
                        artifact if type(artifact) is str else str(artifact), ev.get("line")
                    )
        properties = result.properties
        # The draft's stores here, not in a call with eleven arguments (~800 instructions a finding)
        f: Any = new(draft)
        if properties:
            escalate = properties.get("severity")
            if escalate:
                # A rule may raise one finding above its default ("warning, error if unencrypted").
                f.severity = max(severity, Severity.parse(escalate), key=lambda s: s.rank)
            else:
                f.severity = severity
            f.properties = dict(properties)
        else:
            f.severity = severity
            f.properties = {}
        f.rule_id = rule_id
        f.outcome = result.outcome
        f.host = host
        f.resource = result.resource
        f.message = result.message
        f.pack = pack
        f.pointer = pointer
        f.evidence = evidence
        f.snapshot_path = path
        f.waiver = f.baseline_state = f.location = None
        f.__class__ = finding_class
        if pointer is None and at is not None:
            locate((f, at))
        add(f)
    if finding_class is not Finding:  # see above
        rebuilt = {id(f): new_finding(*(getattr(f, name) for name in _BUILT)) for f in out}
        located[mark:] = [(rebuilt[id(f)], at) for f, at in located[mark:]]
        return list(rebuilt.values())
    return out


# Where drafts are refused (iisguard.drafts): the editable class _findings fills, and the fields it fills
# that new_finding takes.
_EDITABLE_FINDING = editable(Finding)
_BUILT: tuple[str, ...] = ("rule_id", "severity", "outcome", "host", "resource", "message", "pack")
_BUILT += ("pointer", "evidence", "snapshot_path", "properties")


def effective_rules(selected: Sequence[Selected]) -> dict[str, Rule]:
    return {s.rule.id: replace(s.rule, severity=s.severity) for s in selected}
