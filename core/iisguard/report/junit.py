"""JUnit XML for Jenkins, GitLab and Azure DevOps: ``--format junit``.

Exactly one XML document: ``<testsuites>`` with one ``<testsuite>`` per host. Every outcome that
needs a look is a ``<testcase>`` of its own, per rule x resource: ``classname`` is
``iisguard.<pack>.<host>`` and ``name`` is ``<RULE-ID> <resource>``, stable and free of message
text. A failure is ``<failure type="<severity>">`` with the details and remediation as text; a
waived or baselined failure and a not-applicable rule are ``<skipped>``; a rule error or missing
data (not reviewed) is ``<error>``, and so is a collection section that failed.

A rule's passes on a host are folded into one passing test case, ``<RULE-ID> (passing
resources)``, whose ``resources_passed`` property and ``<system-out>`` say how many resources
passed (and name the first few): a 5,000-site host has 215,000 passes, and CI servers choke on a
test case each. The file has O(rules x hosts + findings needing a look) test cases; each suite's
``resources_passed`` property keeps the host's total, so counts and trends still add up.
"""

from __future__ import annotations

import heapq
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache

from ..engine.evaluate import HostResult, Report
from ..engine.findings import Finding, Outcome
from ..engine.rule import Rule
from ..hookspecs import hookimpl
from .base import Locator, escape_controls, state

_NOT_DOTTED = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class JunitReporter:
    name: str = "junit"
    extension: str = ".xml"
    description: str = "JUnit XML for Jenkins, GitLab and Azure DevOps"
    base: str | None = field(default=None, repr=False)  # evidence paths are relative to this (default: cwd)

    def render(self, report: Report) -> str:
        locator = Locator((f for f in report.findings() if f.outcome is Outcome.FAIL), self.base)
        root = ET.Element("testsuites", name="iisguard")
        totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        seconds = 0.0
        for i, host in enumerate(report.hosts):
            notices = [f"{n.level}: {n.message}" for n in report.notices] if i == 0 else []
            suite, counts = _suite(report, host, locator, notices)
            root.append(suite)
            for key in totals:
                totals[key] += counts[key]
            seconds += host.seconds
        for key, value in totals.items():
            root.set(key, str(value))
        root.set("time", f"{seconds:.3f}")
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(
    report: Report, host: HostResult, locator: Locator, notices: list[str]
) -> tuple[ET.Element, dict[str, int]]:
    suite = ET.Element("testsuite", name=_x(host.host))
    counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("snapshot", locator.relative(host.snapshot_path) if host.snapshot_path else None),
        ("source", host.source),
        ("collected_at", host.collected_at),
        ("fail_on", report.fail_on.value if report.fail_on else "never"),
        ("tool_version", report.tool_version),
    ):
        if value:
            ET.SubElement(properties, "property", name=key, value=_x(value))
    for section in host.failed_sections:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_classname("collection", host.host),
            name=_x(f"section {section.get('name')}"),
        )
        detail = str(section.get("message") or "no message")
        ET.SubElement(
            case, "error", message=_x(f"collection section failed: {detail}"), type="collection"
        ).text = _x(detail)
        counts["tests"] += 1
        counts["errors"] += 1
    for gap in host.gaps:
        case = ET.SubElement(
            suite, "testcase", classname=_classname("collection", host.host), name="collection"
        )
        ET.SubElement(case, "error", message=_x(gap), type="collection").text = _x(gap)
        counts["tests"] += 1
        counts["errors"] += 1
    passed_total = 0
    # By rule (in id order): its other outcomes by resource, then its passes folded into one case.
    # Only the first few passes are named, so passes are never sorted whole (215,000 on a large host).
    by_rule: dict[str, tuple[list[Finding], list[Finding]]] = {}
    for f in host.findings:
        others, passes = by_rule.get(f.rule_id) or by_rule.setdefault(f.rule_id, ([], []))
        (passes if f.outcome is Outcome.PASS else others).append(f)
    for rule_id in sorted(by_rule):
        others, passes = by_rule[rule_id]
        rule = report.rules.get(rule_id)
        for f in sorted(others, key=_resource):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_classname(f.pack or (rule.pack if rule else ""), host.host),
                name=_x(f"{f.rule_id} {f.resource}"),
            )
            counts["tests"] += 1
            kind = _outcome_element(case, f, rule, locator)
            if kind:
                counts[kind] += 1
        if passes:
            _folded_passes(
                suite, report, host, heapq.nsmallest(SHOWN_PASSES, passes, key=_resource), len(passes)
            )
            passed_total += len(passes)
            counts["tests"] += 1
    ET.SubElement(properties, "property", name="resources_passed", value=str(passed_total))
    if notices:
        ET.SubElement(suite, "system-out").text = _x("\n".join(notices))
    # Attributes in the order readers expect, counts first.
    for key, count in counts.items():
        suite.set(key, str(count))
    suite.set("time", f"{host.seconds:.3f}")
    suite.set("timestamp", (report.started_at or "").rstrip("Z"))
    suite.set("hostname", _x(host.host))
    return suite, counts


SHOWN_PASSES = 20


def _resource(f: Finding) -> str:
    return f.resource


def _folded_passes(
    suite: ET.Element, report: Report, host: HostResult, passes: list[Finding], total: int
) -> None:
    """One passing test case for all the `total` resources one rule passed on one host (`passes`:
    the first of them by resource, up to SHOWN_PASSES)."""
    f = passes[0]
    rule = report.rules.get(f.rule_id)
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_classname(f.pack or (rule.pack if rule else ""), host.host),
        name=f"{f.rule_id} (passing resources)",
    )
    ET.SubElement(ET.SubElement(case, "properties"), "property", name="resources_passed", value=str(total))
    names = ", ".join(p.resource for p in passes[:SHOWN_PASSES])
    more = f", and {total - SHOWN_PASSES} more" if total > SHOWN_PASSES else ""
    noun = "resource" if total == 1 else "resources"
    ET.SubElement(case, "system-out").text = _x(
        f"{total} {noun} passed {f.rule_id} on {host.host}: {names}{more}"
    )


def _outcome_element(case: ET.Element, f: Finding, rule: Rule | None, locator: Locator) -> str | None:
    """Add the child that says how this test case went; return which count it adds to."""
    if f.outcome is Outcome.PASS:
        return None
    if f.outcome is Outcome.NOT_APPLICABLE:
        ET.SubElement(
            case, "skipped", message=_x(f"not applicable: {f.message}" if f.message else "not applicable")
        )
        return "skipped"
    if f.outcome is Outcome.ERROR:
        ET.SubElement(case, "error", message=_x(f.message or "rule errored"), type="error").text = _x(
            f.message
        )
        return "errors"
    if f.outcome is Outcome.NOT_REVIEWED:
        el = ET.SubElement(case, "error", message=_x(f"not reviewed: {f.message}"), type="not_reviewed")
        el.text = _x(f"{f.rule_id} could not judge {f.resource} on {f.host}: {f.message}")
        return "errors"
    how = state(f)
    details = _details(f, rule, locator)
    if how == "waived" and f.waiver is not None:
        w = f.waiver
        el = ET.SubElement(case, "skipped", message=_x(f"waived until {w.expires}: {w.reason}"))
        el.text = _x(f"Waiver owner: {w.owner}\n\n{details}")
        return "skipped"
    if how == "baselined":
        el = ET.SubElement(case, "skipped", message=_x(f"in the baseline ({f.baseline_state}): {f.message}"))
        el.text = _x(details)
        return "skipped"
    el = ET.SubElement(
        case,
        "failure",
        message=_x(_one_line(f.message or (rule.title if rule else f.rule_id))),
        type=f.severity.value,
    )
    el.text = _x(details)
    return "failures"


def _details(f: Finding, rule: Rule | None, locator: Locator) -> str:
    loc = locator.locate(f)
    lines = [f.message, ""]
    if rule is not None:
        lines.append(f"Rule: {rule.id} {rule.title}")
    lines += [
        f"Severity: {f.severity.value}",
        f"Host: {f.host}",
        f"Resource: {f.resource}",
        f"Evidence: {loc.path}:{loc.line}",
    ]
    if f.waiver is not None and f.waiver.expired:
        lines.append(f"Waiver expired on {f.waiver.expires} (owner {f.waiver.owner}): {f.waiver.reason}")
    if f.baseline_state:
        lines.append(f"Baseline: {f.baseline_state}")
    if rule is not None and rule.remediation.strip():
        lines += ["", "Remediation:", rule.remediation.strip()]
    if rule is not None and rule.help_uri:
        lines += ["", f"See: {rule.help_uri}"]
    return "\n".join(lines)


@lru_cache(maxsize=1024)  # one per pack and host, asked once per finding
def _classname(pack: str, host: str) -> str:
    """`iisguard.<pack>.<host>`: dots separate the parts only, so CI trees group by pack, then host."""
    parts = ("iisguard", pack or "rules", host or "unknown")
    return ".".join(_NOT_DOTTED.sub("_", p).strip("_") or "_" for p in parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _x(text: str) -> str:
    """XML 1.0 forbids most control characters even as references: show them as escapes instead."""
    return escape_controls(str(text))


REPORTER = JunitReporter()


@hookimpl
def iisguard_register_reporters():
    return {"junit": REPORTER}
