"""SARIF 2.1.0 for GitHub code scanning, Azure DevOps and the VS Code SARIF viewer.

One run per host, named by ``automationDetails.id`` = ``iisguard/<HOST>/`` so uploads for different
hosts do not replace each other. Failures become results (waived ones carry a suppression,
baselined ones a ``baselineState``; a baseline failure fixed since is a ``kind: pass`` result with
baselineState ``absent``); other passes and not-applicable outcomes are not results. Rule
errors, not-reviewed rules, failed collection sections and report notices become
``toolExecutionNotifications``. Every result points at a real file relative to the working
directory (the captured artifact, else the snapshot) with a line, and carries a fingerprint made
from rule, host and resource only, so the same problem on the next image build is the same alert.

The document is built as plain JSON data, keys in the order the ``sarif-om`` object model gave
them (its attribute order) and without nulls: a large host has 29,000 results, and building the
object model and then converting it back took most of the reporter's time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

from ..engine.evaluate import HostResult, Notice, Report
from ..engine.findings import Finding, Outcome, Severity
from ..engine.rule import Rule
from ..hookspecs import hookimpl
from .base import (
    Location,
    Locator,
    by_rule,
    json_bytes,
    json_chunks,
    logical_name,
    one_line,
    placeholder,
    sort_key,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "iisguard/v1"
# GitHub code scanning rejects a run with more results than this, and a file with more runs.
MAX_RESULTS_PER_RUN = 25_000
MAX_RUNS_PER_FILE = 20

_FAIL, _ERROR, _NOT_REVIEWED = Outcome.FAIL, Outcome.ERROR, Outcome.NOT_REVIEWED
# From a table: `sarif_level` is a property (a member hashes by identity, at C speed).
_LEVELS = {s: s.sarif_level for s in Severity}


@dataclass
class SarifReporter:
    """Renders a report as a SARIF 2.1.0 log. `max_results` per run exists so tests can force a split."""

    name: str = "sarif"
    # A pass is a result only as a baseline's `absent`, and a scan with a baseline keeps pass details.
    lists_passes: ClassVar[bool] = False  # Reporter.lists_passes
    extension: str = ".sarif"
    description: str = "SARIF 2.1.0 for GitHub code scanning, Azure DevOps and SARIF viewers"
    max_results: int = MAX_RESULTS_PER_RUN
    # URIs are relative to this, the repository root (`--sarif-root`; default: the working directory).
    base: str | None = field(default=None, repr=False)

    def render(self, report: Report) -> str:
        return self.render_bytes(report).decode("utf-8")

    def render_bytes(self, report: Report) -> bytes:
        """The log as UTF-8, as orjson writes it."""
        return b"".join(self.render_chunks(report))

    def render_chunks(self, report: Report) -> Iterator[bytes | memoryview]:
        """The log as UTF-8 in pieces (what the CLI writes to a file): each run's results are made
        and encoded a batch at a time as they are written (`json_chunks`), never all held at once
        (29,000 results and 34 MB on a 5,000-site host)."""
        results: dict[str, Iterable[dict[str, Any]]] = {}
        document = self._document(report, results)
        pieces = json_chunks(document, results)
        if pieces is None:
            return iter([json_bytes(_filled(document, results))])
        return pieces

    def build(self, report: Report) -> dict[str, Any]:
        """The SARIF log as JSON data (``$schema`` and ``version`` first, for readers)."""
        results: dict[str, Iterable[dict[str, Any]]] = {}
        return _filled(self._document(report, results), results)

    def _document(self, report: Report, results: dict[str, Iterable[dict[str, Any]]]) -> dict[str, Any]:
        """The log with a `placeholder()` for each run's results, and in `results` what each stands for."""
        picked = [_pick(host) for host in report.hosts]
        # Confined: GitHub resolves URIs against the repository root and cannot follow `../`.
        locator = Locator((f for results, _ in picked for f in results), self.base, confine=True)
        runs: list[dict[str, Any]] = []
        used_ids: set[str] = set()
        for host, (found, needing) in zip(report.hosts, picked, strict=True):
            runs.extend(self._host_runs(report, host, found, needing, locator, used_ids, results))
        if len(runs) > MAX_RUNS_PER_FILE:
            warning = (
                f"this SARIF file holds {len(runs)} runs; GitHub code scanning accepts at most "
                f"{MAX_RUNS_PER_FILE} per upload: write one file per group of hosts"
            )
            for run in runs:
                invocation = run["invocations"][0]
                notes = invocation.pop("toolExecutionNotifications", [])
                invocation["toolExecutionNotifications"] = [*notes, _notification(warning, "warning")]
        return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs}

    def _host_runs(
        self,
        report: Report,
        host: HostResult,
        results: list[Finding],
        needing: list[Finding],
        locator: Locator,
        used_ids: set[str],
        pending: dict[str, Iterable[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        failures = sorted(results, key=sort_key)
        size = max(1, self.max_results)
        chunks: list[list[Finding]] = [failures[i : i + size] for i in range(0, len(failures), size)] or [[]]
        notifications = list(_notices_for(report, host, needing))
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
                    pending,
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
        pending: dict[str, Iterable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """One run; its results are made later (`pending[placeholder]`), once their lines are known."""
        # rules[] lists the rules this run refers to, in id order; ruleIndex points into it.
        wanted = sorted({f.rule_id for f in findings} | {n.rule_id for n in notes if n.rule_id})
        index = {rule_id: i for i, rule_id in enumerate(wanted)}
        descriptors = [_descriptor(report.rules.get(rule_id), rule_id) for rule_id in wanted]
        # Located now: whether the snapshot lies outside the base is known once its results are.
        locate = locator.locate
        located = [(f, locate(f)) for f in findings]
        results = placeholder()
        pending[results] = _results(located, index, report.rules)
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
        invocation: dict[str, Any] = {"executionSuccessful": successful}
        if report.finished_at:
            invocation["endTimeUtc"] = report.finished_at
        if report.started_at:
            invocation["startTimeUtc"] = report.started_at
        if notes:
            invocation["toolExecutionNotifications"] = [
                _notification(n.message, n.level, n.rule_id, index) for n in notes
            ]
        driver: dict[str, Any] = {"name": "iisguard"}
        if _information_uri() is not None:
            driver["informationUri"] = _information_uri()
        driver["rules"] = descriptors
        if report.tool_version is not None:
            driver["version"] = report.tool_version
        properties = {"host": host.host}
        snapshot = locator.relative(host.snapshot_path) if host.snapshot_path else None
        if snapshot is not None:
            properties["snapshot"] = snapshot
        return {
            "tool": {"driver": driver},
            "automationDetails": {"id": automation_id},
            "columnKind": "unicodeCodePoints",
            "invocations": [invocation],
            "properties": _plain(properties),
            "results": results,
        }


def _pick(host: HostResult) -> tuple[list[Finding], list[Finding]]:
    """A host's results (failures, and findings of the baseline fixed since: baselineState "absent")
    and its errored and not-reviewed findings (notifications): from its findings by rule, so only
    the passes of a scan with a baseline are looked at (a large host has 336,000 findings, 29,000
    of them results). Both are sorted by sort_key, which only a rule's own findings can tie on."""
    results: list[Finding] = []
    needing: list[Finding] = []
    grouped = by_rule(host)
    for others, passes in grouped.groups.values():
        for f in others:
            outcome = f.outcome
            if outcome is _FAIL:
                results.append(f)
                continue
            if outcome is _ERROR or outcome is _NOT_REVIEWED:
                needing.append(f)
            if f.baseline_state == "absent":
                results.append(f)
        if grouped.states:
            results += [f for f in passes if f.baseline_state == "absent"]
    return results, needing


@dataclass(frozen=True)
class _Note:
    message: str
    level: str
    rule_id: str | None = None


def _notices_for(report: Report, host: HostResult, needing: list[Finding]) -> Iterable[_Note]:
    """Notifications of one host; `needing` are its errored and not-reviewed findings."""
    # One notification per rule, not per resource: a rule can lack data for thousands of objects.
    grouped: dict[tuple[str, Outcome], list[Finding]] = {}
    for f in sorted(needing, key=sort_key):  # only these sorted: a large host has 336,000 findings
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
) -> dict[str, Any]:
    note: dict[str, Any] = {"message": {"text": _sentence(message)}}
    if rule_id is not None and index is not None and rule_id in index:
        note["associatedRule"] = {"id": rule_id, "index": index[rule_id]}
    note["level"] = level
    return note


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


def _descriptor(rule: Rule | None, rule_id: str) -> dict[str, Any]:
    if rule is None:  # a finding from a rule the report does not describe: say what we know
        return {
            "id": rule_id,
            "fullDescription": {"text": f"Rule {rule_id} (no metadata in this report)."},
            "name": _pascal(rule_id),
            "properties": {"tags": ["security"]},
            "shortDescription": {"text": rule_id},
        }
    properties: dict[str, Any] = {
        "tags": list(rule.all_tags),
        "security-severity": rule.severity.security_severity,
        "precision": "high",
    }
    if rule.category:
        properties["category"] = rule.category
    if rule.pack:
        properties["pack"] = rule.pack
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "defaultConfiguration": {"enabled": True, "level": rule.severity.sarif_level},
    }
    if rule.aliases:
        descriptor["deprecatedIds"] = list(rule.aliases)
    descriptor["fullDescription"] = {"text": _sentence(rule.description or rule.title)}
    descriptor["help"] = {"text": _help_text(rule), "markdown": _help_markdown(rule)}
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    descriptor["name"] = _pascal(rule.name or rule.id)
    descriptor["properties"] = _plain(properties)
    descriptor["shortDescription"] = {"text": _sentence(rule.title)}
    return descriptor


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


def _filled(document: dict[str, Any], results: dict[str, Iterable[dict[str, Any]]]) -> dict[str, Any]:
    """The log with each run's results in place of its placeholder."""
    for run in document["runs"]:
        run["results"] = list(results[run["results"]])
    return document


def _results(
    located: list[tuple[Finding, Location]], index: Mapping[str, int], rules: Mapping[str, Rule]
) -> Iterator[dict[str, Any]]:
    """A run's results, made as they are taken."""
    places: dict[tuple[str, int], Any] = {}
    for finding, loc in located:
        rule_id = finding.rule_id
        yield _result(finding, index[rule_id], rules.get(rule_id), loc, places)


def _result(
    finding: Finding, rule_index: int, rule: Rule | None, loc: Location, places: dict[tuple[str, int], Any]
) -> dict[str, Any]:
    """One result at `loc`; `places` holds the physicalLocation of each Location met, which the
    results on the same line share (every result of a compact snapshot is on its line 1)."""
    place = places.get((loc.uri, loc.line))
    if place is None:
        place = places[(loc.uri, loc.line)] = {
            "artifactLocation": {"uri": loc.uri},
            "region": {"startLine": loc.line},
        }
    message = finding.message or (rule.title if rule else finding.rule_id)
    waiver = finding.waiver
    if waiver is None and not finding.baseline_state and finding.outcome is _FAIL:
        # Most results (an active failure): one dict display, keys in the order below.
        return {
            "message": {"text": _sentence(message)},
            "kind": "fail",
            "level": _LEVELS[finding.severity],
            "locations": _locations(finding, place),
            "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
            "properties": {"host": finding.host, "resource": finding.resource},
            "ruleId": finding.rule_id,
            "ruleIndex": rule_index,
        }
    properties: dict[str, Any] = {"host": finding.host, "resource": finding.resource}
    suppressions = None
    if waiver is not None and waiver.expired:
        message = f"{_sentence(message)} The waiver owned by {waiver.owner} expired on {waiver.expires} ({waiver.reason})"
        properties["waiver"] = {
            "reason": waiver.reason,
            "owner": waiver.owner,
            "expires": waiver.expires,
            "expired": True,
        }
    elif waiver is not None:
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted"}
        if waiver.reason is not None:
            suppression["justification"] = waiver.reason
        suppression["properties"] = {"owner": waiver.owner, "expires": waiver.expires}
        suppressions = [suppression]
    failed = finding.outcome is _FAIL
    result: dict[str, Any] = {"message": {"text": _sentence(message)}}
    if finding.baseline_state:
        result["baselineState"] = finding.baseline_state
    result["kind"] = "fail" if failed else "pass"
    result["level"] = _LEVELS[finding.severity] if failed else "none"
    result["locations"] = _locations(finding, place)
    result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    result["properties"] = properties if waiver is None else _plain(properties)
    result["ruleId"] = finding.rule_id
    result["ruleIndex"] = rule_index
    if suppressions is not None:
        result["suppressions"] = _plain(suppressions)
    return result


def _locations(finding: Finding, place: Any) -> list[dict[str, Any]]:
    """A result's locations: the resource by its logical name, and the line that shows it."""
    return [
        {
            "logicalLocations": [{"fullyQualifiedName": logical_name(finding), "kind": "resource"}],
            "physicalLocation": place,
        }
    ]


def _sentence(text: str) -> str:
    """Messages are sentences: one line, ending with a period (SARIF2001)."""
    if type(text) is not str:
        text = str(text)
    if not one_line(text):
        text = " ".join(text.split())  # else it has no whitespace but single spaces between words
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


def _plain(value: Any) -> Any:
    """JSON data without nulls in objects, as SARIF wants them (a property a finding leaves unset is
    absent, not null); values JSON has no type for are written as their text."""
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        if all(type(v) is str for v in value.values()) and all(type(k) is str for k in value):
            return value  # the common case: host and resource
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


REPORTER = SarifReporter()


@hookimpl
def iisguard_register_reporters():
    return {"sarif": REPORTER}
