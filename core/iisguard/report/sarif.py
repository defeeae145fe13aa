"""SARIF 2.1.0 for GitHub code scanning, Azure DevOps and the VS Code SARIF viewer.

One run per host, named by ``automationDetails.id`` = ``iisguard/<HOST>/`` so uploads for different
hosts do not replace each other. Failures become results (waived ones carry a suppression,
baselined ones a ``baselineState``; a baseline failure fixed since is a ``kind: pass`` result with
baselineState ``absent``); other passes and not-applicable outcomes are not results. Rule
errors, not-reviewed rules, failed collection sections and report notices become
``toolExecutionNotifications``. Every result points at a real file relative to the working
directory (the captured artifact, else the snapshot) with a line, and carries a fingerprint made
from rule, host and resource only, so the same problem on the next image build is the same alert.

The document is built with the ``sarif-om`` object model and serialized without nulls.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import attr
import sarif_om as om

from ..engine.evaluate import HostResult, Notice, Report
from ..engine.findings import Finding, Outcome
from ..engine.rule import Rule
from ..hookspecs import hookimpl
from .base import Locator, json_text, logical_name, sort_key

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "iisguard/v1"
# GitHub code scanning rejects a run with more results than this, and a file with more runs.
MAX_RESULTS_PER_RUN = 25_000
MAX_RUNS_PER_FILE = 20


@attr.s
class _Suppression:
    """A suppression as the final SARIF 2.1.0 schema has it: sarif-om 1.0.4 still calls `status` `state`."""

    kind = attr.ib(metadata={"schema_property_name": "kind"})
    status = attr.ib(default=None, metadata={"schema_property_name": "status"})
    justification = attr.ib(default=None, metadata={"schema_property_name": "justification"})
    properties = attr.ib(default=None, metadata={"schema_property_name": "properties"})


@dataclass
class SarifReporter:
    """Renders a report as a SARIF 2.1.0 log. `max_results` per run exists so tests can force a split."""

    name: str = "sarif"
    extension: str = ".sarif"
    description: str = "SARIF 2.1.0 for GitHub code scanning, Azure DevOps and SARIF viewers"
    max_results: int = MAX_RESULTS_PER_RUN
    # URIs are relative to this, the repository root (`--sarif-root`; default: the working directory).
    base: str | None = field(default=None, repr=False)

    def render(self, report: Report) -> str:
        log = to_json(self.build(report))
        # The header first, for readers.
        return json_text({"$schema": log.pop("$schema"), "version": log.pop("version"), **log})

    def build(self, report: Report) -> om.SarifLog:
        # Confined: GitHub resolves URIs against the repository root and cannot follow `../`.
        locator = Locator((f for f in report.findings() if _is_result(f)), self.base, confine=True)
        runs: list[om.Run] = []
        used_ids: set[str] = set()
        for host in report.hosts:
            runs.extend(self._host_runs(report, host, locator, used_ids))
        if len(runs) > MAX_RUNS_PER_FILE:
            warning = (
                f"this SARIF file holds {len(runs)} runs; GitHub code scanning accepts at most "
                f"{MAX_RUNS_PER_FILE} per upload: write one file per group of hosts"
            )
            for run in runs:
                invocation = run.invocations[0]
                invocation.tool_execution_notifications = [
                    *(invocation.tool_execution_notifications or []),
                    _notification(warning, "warning"),
                ]
        return om.SarifLog(runs=runs, version="2.1.0", schema_uri=SCHEMA_URI)

    def _host_runs(
        self, report: Report, host: HostResult, locator: Locator, used_ids: set[str]
    ) -> list[om.Run]:
        failures = sorted((f for f in host.findings if _is_result(f)), key=sort_key)
        size = max(1, self.max_results)
        chunks: list[list[Finding]] = [failures[i : i + size] for i in range(0, len(failures), size)] or [[]]
        notifications = list(_notices_for(report, host))
        split_notice = None
        if len(chunks) > 1:
            split_notice = (
                f"{host.host}: {len(failures)} results exceed {size} per run; split into {len(chunks)} runs "
                f"(automationDetails ids iisguard/{_id_part(host.host)}/, then /part-2/ and on). "
                "When the count falls, upload all parts again so stale parts do not keep alerts open"
            )
        successful = host.execution_successful
        runs = []
        for number, chunk in enumerate(chunks, start=1):
            run_notes = notifications if number == 1 else []
            if split_notice:
                run_notes = [*run_notes, _Note(split_notice, "warning")]
            runs.append(
                self._run(
                    report,
                    host,
                    chunk,
                    run_notes,
                    successful,
                    _automation_id(host.host, number, used_ids),
                    locator,
                )
            )
        return runs

    def _run(
        self,
        report: Report,
        host: HostResult,
        findings: Sequence[Finding],
        notes: Sequence[_Note],
        successful: bool,
        automation_id: str,
        locator: Locator,
    ) -> om.Run:
        # rules[] lists the rules this run refers to, in id order; ruleIndex points into it.
        wanted = sorted({f.rule_id for f in findings} | {n.rule_id for n in notes if n.rule_id})
        index = {rule_id: i for i, rule_id in enumerate(wanted)}
        descriptors = [_descriptor(report.rules.get(rule_id), rule_id) for rule_id in wanted]
        results = [_result(f, index[f.rule_id], report.rules.get(f.rule_id), locator) for f in findings]
        if host.snapshot_path in locator.outside:
            notes = [
                *notes,
                _Note(
                    f"{host.host}: the snapshot {host.snapshot_path} lies outside {locator.root}, so its "
                    "results point at absolute file URIs that code scanning cannot show in the repository; "
                    "keep captures under the repository or pass --sarif-root",
                    "warning",
                ),
            ]
        invocation = om.Invocation(
            execution_successful=successful,
            tool_execution_notifications=[_notification(n.message, n.level, n.rule_id, index) for n in notes]
            or None,
            start_time_utc=report.started_at or None,
            end_time_utc=report.finished_at or None,
        )
        driver = om.ToolComponent(
            name="iisguard",
            version=report.tool_version,
            information_uri=_information_uri(),
            rules=descriptors,
        )
        return om.Run(
            tool=om.Tool(driver=driver),
            automation_details=om.RunAutomationDetails(id=automation_id),
            invocations=[invocation],
            results=results,
            column_kind="unicodeCodePoints",
            properties={
                "host": host.host,
                "snapshot": locator.relative(host.snapshot_path) if host.snapshot_path else None,
            },
        )


@dataclass(frozen=True)
class _Note:
    message: str
    level: str
    rule_id: str | None = None


def _notices_for(report: Report, host: HostResult) -> Iterable[_Note]:
    # One notification per rule, not per resource: a rule can lack data for thousands of objects.
    grouped: dict[tuple[str, Outcome], list[Finding]] = {}
    needing = (f for f in host.findings if f.outcome is Outcome.ERROR or f.outcome is Outcome.NOT_REVIEWED)
    for f in sorted(needing, key=sort_key):  # only these sorted: a large host has 250,000 findings
        grouped.setdefault((f.rule_id, f.outcome), []).append(f)
    for (rule_id, outcome), findings in grouped.items():
        what = "errored" if outcome is Outcome.ERROR else "not reviewed"
        first = findings[0]
        if len(findings) == 1:
            where = f"({first.resource})"
        else:
            names = ", ".join(f.resource for f in findings[:3])
            where = f"for {len(findings)} resources ({names}{', ...' if len(findings) > 3 else ''})"
        level = "error" if outcome is Outcome.ERROR else "warning"
        yield _Note(f"{rule_id} {what} on {host.host} {where}: {first.message}", level, rule_id)
    for section in host.sections:
        status = section.get("status")
        if status in ("failed", "partial"):
            detail = f": {section['message']}" if section.get("message") else ""
            level = "error" if status == "failed" else "warning"
            yield _Note(f"{host.host}: collection section '{section.get('name')}' {status}{detail}", level)
    for gap in host.gaps:
        yield _Note(gap, "error")
    for notice in report.notices:
        yield _Note(notice.message, _level(notice))


def _level(notice: Notice) -> str:
    return notice.level if notice.level in ("error", "warning", "note") else "warning"


def _notification(
    message: str, level: str, rule_id: str | None = None, index: Mapping[str, int] | None = None
) -> om.Notification:
    rule_ref = None
    if rule_id is not None and index is not None and rule_id in index:
        rule_ref = om.ReportingDescriptorReference(id=rule_id, index=index[rule_id])
    return om.Notification(message=om.Message(text=_sentence(message)), level=level, associated_rule=rule_ref)


def _automation_id(host: str, part: int, used: set[str]) -> str:
    base = f"iisguard/{_id_part(host)}/"
    candidate = base if part == 1 else f"{base}part-{part}/"
    n = 2
    while candidate in used:  # the same host scanned twice in one report
        candidate = f"{base}{n}/" if part == 1 else f"{base}part-{part}-{n}/"
        n += 1
    used.add(candidate)
    return candidate


def _id_part(host: str) -> str:
    return host.replace("/", "_").replace(" ", "_") or "unknown"


def _descriptor(rule: Rule | None, rule_id: str) -> om.ReportingDescriptor:
    if rule is None:  # a finding from a rule the report does not describe: say what we know
        return om.ReportingDescriptor(
            id=rule_id,
            name=_pascal(rule_id),
            short_description=om.MultiformatMessageString(text=rule_id),
            full_description=om.MultiformatMessageString(
                text=f"Rule {rule_id} (no metadata in this report)."
            ),
            properties={"tags": ["security"]},
        )
    properties: dict[str, Any] = {
        "tags": list(rule.all_tags),
        "security-severity": rule.severity.security_severity,
        "precision": "high",
    }
    if rule.category:
        properties["category"] = rule.category
    if rule.pack:
        properties["pack"] = rule.pack
    return om.ReportingDescriptor(
        id=rule.id,
        name=_pascal(rule.name or rule.id),
        short_description=om.MultiformatMessageString(text=_sentence(rule.title)),
        full_description=om.MultiformatMessageString(text=_sentence(rule.description or rule.title)),
        help=om.MultiformatMessageString(text=_help_text(rule), markdown=_help_markdown(rule)),
        help_uri=rule.help_uri or None,
        default_configuration=om.ReportingConfiguration(level=rule.severity.sarif_level),
        deprecated_ids=list(rule.aliases) or None,
        properties=properties,
    )


def _pascal(name: str) -> str:
    """SARIF asks for a Pascal-case friendly name: `pool.runs-as-localsystem` -> `PoolRunsAsLocalsystem`."""
    words = "".join(c if c.isalnum() else " " for c in name).split()
    return "".join(w[:1].upper() + w[1:] for w in words) or name


def _help_text(rule: Rule) -> str:
    parts = [rule.title, rule.description]
    if rule.rationale:
        parts.append(f"Why it matters: {rule.rationale}")
    parts.append(f"Remediation:\n{rule.remediation}")
    refs = [
        f"- {r.id}{': ' + r.title if r.title else ''}{' ' + r.url if r.url else ''}" for r in rule.references
    ]
    if refs:
        parts.append("References:\n" + "\n".join(refs))
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _help_markdown(rule: Rule) -> str:
    parts = [f"**{rule.title}**", rule.description]
    if rule.rationale:
        parts.append(f"**Why it matters.** {rule.rationale}")
    remediation = rule.remediation.strip()
    # Commands must survive as typed (backslashes, asterisks), so plain text goes into a code block.
    block = remediation if "```" in remediation else f"```\n{remediation}\n```"
    parts.append(f"**Remediation**\n\n{block}")
    refs = []
    for r in rule.references:
        label = f"{r.id}: {r.title}" if r.title else r.id
        refs.append(f"- [{label}]({r.url})" if r.url else f"- {label}")
    if refs:
        parts.append("**References**\n\n" + "\n".join(refs))
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _is_result(finding: Finding) -> bool:
    """Failures, and failures of the baseline that are fixed now (baselineState "absent")."""
    return finding.outcome is Outcome.FAIL or finding.baseline_state == "absent"


def _result(finding: Finding, rule_index: int, rule: Rule | None, locator: Locator) -> om.Result:
    loc = locator.locate(finding)
    message = finding.message or (rule.title if rule else finding.rule_id)
    properties: dict[str, Any] = {"host": finding.host, "resource": finding.resource}
    suppressions = None
    waiver = finding.waiver
    if waiver is not None and waiver.expired:
        message = f"{_sentence(message)} The waiver owned by {waiver.owner} expired on {waiver.expires} ({waiver.reason})"
        properties["waiver"] = {
            "reason": waiver.reason,
            "owner": waiver.owner,
            "expires": waiver.expires,
            "expired": True,
        }
    elif waiver is not None:
        suppressions = [
            _Suppression(
                kind="external",
                status="accepted",
                justification=waiver.reason,
                properties={"owner": waiver.owner, "expires": waiver.expires},
            )
        ]
    return om.Result(
        rule_id=finding.rule_id,
        rule_index=rule_index,
        kind="fail" if finding.outcome is Outcome.FAIL else "pass",
        level=finding.severity.sarif_level if finding.outcome is Outcome.FAIL else "none",
        message=om.Message(text=_sentence(message)),
        locations=[
            om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=om.ArtifactLocation(uri=loc.uri),
                    region=om.Region(start_line=loc.line),
                ),
                logical_locations=[
                    om.LogicalLocation(fully_qualified_name=logical_name(finding), kind="resource")
                ],
            )
        ],
        partial_fingerprints={FINGERPRINT_KEY: finding.fingerprint},
        suppressions=suppressions,
        baseline_state=finding.baseline_state or None,
        properties=properties,
    )


def _sentence(text: str) -> str:
    """Messages are sentences: one line, ending with a period (SARIF2001)."""
    text = " ".join(str(text).split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


@functools.cache
def _information_uri() -> str | None:
    try:
        meta = metadata.metadata("iisguard")
    except metadata.PackageNotFoundError:
        return None
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository") and url.strip():
            return url.strip()
    home = meta.get_all("Home-page") or []
    return home[0] if home else None


# --- serialization -------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A sarif-om object tree as plain JSON data: camelCase keys, no nulls, no placeholder defaults."""
    if isinstance(value, (str, int, float, bool)):
        return value
    fields = _fields(type(value))
    if fields is not None:
        out: dict[str, Any] = {}
        for name, key, unset in fields:
            item = getattr(value, name)
            if item is None or (unset is not None and item == unset and not isinstance(item, bool)):
                continue
            out[key] = to_json(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return str(value)


_FIELDS: dict[type, list[tuple[str, str, Any]] | None] = {}


def _fields(cls: type) -> list[tuple[str, str, Any]] | None:
    """(attribute, JSON key, value meaning "not set") per attrs field of a sarif-om class, or None."""
    if cls in _FIELDS:
        return _FIELDS[cls]
    if not attr.has(cls):
        _FIELDS[cls] = None
        return None
    out = []
    for f in attr.fields(cls):
        if isinstance(f.default, attr.Factory) or f.name == "language":  # type: ignore[arg-type]
            continue  # newlineSequences, contents, language: sarif-om fills in the schema's own defaults
        unset = (
            f.default if f.default in (-1, -1.0) and not isinstance(f.default, bool) else None
        )  # -1 indexes
        out.append((f.name, f.metadata.get("schema_property_name", f.name), unset))
    _FIELDS[cls] = out
    return out


REPORTER = SarifReporter()


@hookimpl
def iisguard_register_reporters():
    return {"sarif": REPORTER}
