"""Shard reports: what `scan --shard K/N` adds to its JSON report, and how `iisguard merge` reads it.

A shard report is an ordinary JSON report (``--format json``) with every finding, passes included,
and one more top-level key, ``shard``::

    index, count        K and N
    total               snapshot files in the whole scan
    order               each host's position in the whole scan (the merged report's host order)
    started_at          when the shard's scan started
    profile, policies, today, rules, skip_rules
                        the choice of rules, which merge rebuilds from the installed packs
    rules_dirs, skip_broken_plugins
                        how the packs were loaded
    waivers, baseline   what merge applies to the whole fleet (waivers on or off; the baseline path)
    framework           --framework, or null
    rule_ids            the rules that ran (merge checks its own choice gives the same)
    hosts               per host: "snapshot_path" (as the scan was given it), "sections" (as
                        collected), "required" (sections --require / a policy demands) and
                        "findings_order", the position in
                        the host's evaluation order of each of its findings as listed in ``findings``
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..engine.evaluate import HostResult, Notice, Report
from ..engine.findings import Finding, Outcome, Severity
from ..errors import UsageError

ORDER = attrgetter("rule_id", "resource")  # the key of evaluation_order (a sort is stable)


def ordered(findings: list[Finding]) -> list[Finding]:
    """The findings sorted by ORDER, ties in their order: grouped by rule, each rule's sorted by
    resource (no key tuple per finding: 59,000 of them on a large host's JSON report)."""
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        group = by_rule.get(f.rule_id)
        if group is None:
            group = by_rule[f.rule_id] = []
        group.append(f)
    out: list[Finding] = []
    for rule_id in sorted(by_rule):
        group = by_rule[rule_id]
        group.sort(key=_RESOURCE)
        out += group
    return out


_RESOURCE = attrgetter("resource")


def evaluation_order(host: HostResult) -> list[int]:
    """Indexes of the host's findings in the order the JSON report lists them (rule, resource)."""
    findings = host.findings
    keys = list(map(ORDER, findings))
    return sorted(range(len(findings)), key=keys.__getitem__)


def section(report: Report) -> dict[str, Any]:
    """The ``shard`` key of a shard's JSON report."""
    s = report.shard
    choice = s.choice
    return {
        "index": s.index,
        "count": s.count,
        "total": s.total,
        "order": list(s.order),
        "started_at": report.started_at,
        "profile": choice.profile,
        "policies": list(choice.policies),
        "today": choice.today.isoformat() if choice.today else None,
        "rules": list(choice.only),
        "skip_rules": list(choice.skip),
        "rules_dirs": list(s.rules_dirs),
        "skip_broken_plugins": s.skip_broken_plugins,
        "waivers": s.waivers,
        "baseline": s.baseline,
        "framework": s.framework,
        "rule_ids": sorted(report.rules),
        "hosts": [
            {
                "snapshot_path": h.snapshot_path,
                "sections": h.sections,
                "required": list(h.required),
                "findings_order": evaluation_order(h),
            }
            for h in report.hosts
        ],
    }


@dataclass
class ShardReport:
    """One shard's report read back: its hosts with their findings, and what merge needs."""

    path: str
    tool_version: str
    started_at: str
    finished_at: str
    fail_on: Severity | None
    data: dict[str, Any]  # the ``shard`` section
    hosts: list[tuple[int, HostResult]]  # (position in the whole scan, host)
    notices: list[Notice]

    @property
    def index(self) -> int:
        return int(self.data["index"])

    @property
    def count(self) -> int:
        return int(self.data["count"])

    def today(self) -> date | None:
        value = self.data.get("today")
        return date.fromisoformat(value) if value else None


def read(path: str | os.PathLike[str]) -> ShardReport:
    """Read one shard report; a file that is not one is a UsageError naming it."""
    where = str(path)
    try:
        doc = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read: {exc.strerror or exc}", where=where) from None
    except ValueError as exc:
        raise UsageError(f"not a JSON report: {exc}", where=where) from None
    if not isinstance(doc, dict) or doc.get("format") != "iisguard-findings":
        raise UsageError("not an iisguard JSON report (--format json)", where=where)
    data = doc.get("shard")
    if not isinstance(data, dict):
        raise UsageError(
            "a JSON report without a 'shard' section: write shard reports with "
            "`iisguard scan --shard K/N --format json:FILE`",
            where=where,
        )
    try:
        return _parse(where, doc, data)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UsageError(f"a damaged shard report ({type(exc).__name__}: {exc})", where=where) from None


def _parse(where: str, doc: dict[str, Any], data: dict[str, Any]) -> ShardReport:
    by_host: dict[int, list[dict[str, Any]]] = {}
    names = [h["name"] for h in doc["hosts"]]
    position = {name: i for i, name in enumerate(names)}
    for f in doc["findings"]:
        by_host.setdefault(position[f["host"]], []).append(f)
    hosts: list[tuple[int, HostResult]] = []
    for i, (h, extra) in enumerate(zip(doc["hosts"], data["hosts"], strict=True)):
        listed = by_host.get(i, [])
        order = extra["findings_order"]
        if len(order) != len(listed):
            raise ValueError(f"host {h['name']}: {len(listed)} findings, {len(order)} positions")
        findings: list[Finding | None] = [None] * len(listed)
        snapshot = extra.get("snapshot_path", h.get("snapshot"))  # as the shard's scan was given it
        for slot, f in zip(order, listed, strict=True):
            findings[slot] = _finding(f, snapshot)
        hosts.append(
            (
                int(data["order"][i]),
                HostResult(
                    host=h["name"],
                    snapshot_path=snapshot,
                    findings=[f for f in findings if f is not None],
                    sections=list(extra["sections"]),
                    collected_at=h.get("collected_at"),
                    source=h.get("source"),
                    seconds=float(h.get("seconds") or 0.0),
                    required=tuple(extra.get("required") or ()),
                ),
            )
        )
    fail_on = doc["summary"].get("fail_on")
    return ShardReport(
        path=where,
        tool_version=doc["tool"]["version"],
        started_at=data.get("started_at") or doc["generated_at"],
        finished_at=doc["generated_at"],
        fail_on=Severity.parse(fail_on) if fail_on else None,
        data=data,
        hosts=hosts,
        notices=[Notice(n["level"], n["message"], n.get("kind") or "") for n in doc.get("notices") or []],
    )


def _finding(f: dict[str, Any], snapshot: str | None) -> Finding:
    loc = f.get("location") or {}
    return Finding(
        rule_id=f["rule_id"],
        severity=Severity.parse(f["severity"]),
        outcome=Outcome(f["outcome"]),
        host=f["host"],
        resource=f["resource"],
        message=f.get("message") or "",
        pack=f.get("pack") or "",
        pointer=f.get("pointer"),
        snapshot_path=snapshot,
        properties=dict(f.get("properties") or {}),
        location=(unquote(loc["uri"]), int(loc["line"])) if loc.get("uri") else None,
    )
