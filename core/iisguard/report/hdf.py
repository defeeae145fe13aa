"""MITRE Heimdall Data Format (HDF) JSON: ``--format hdf``, for Heimdall and the SAF CLI.

One HDF execution per host (the format has one ``platform``): a profile named after the framework
(``--framework``, default ``stig-iis10``) whose controls are the framework's items, tagged with
DISA's identifiers (``gid``, ``rid``, ``stig_id``, ``gtitle``, ``severity``, ``cci``, ``nist``) so
Heimdall files them under NIST SP 800-53 and ``saf convert hdf2ckl`` writes a STIG checklist.

Each control's results are chosen so that Heimdall computes the status iisguard derived
(:mod:`iisguard.engine.compliance`), as inspecjs does (failed beats passed beats skipped; impact
0 is Not Applicable):

- fail: a ``failed`` result per failing resource (message, evidence ``file:line``), then one
  ``passed`` result per rule counting its passing resources; ``waiver_data`` when every failure is
  waived (``run: true``: the control ran and still fails, as an InSpec waiver that runs);
- pass: one ``passed`` result per rule counting its passing resources;
- not reviewed: a ``skipped`` result per gap (a mapped rule not run, errored or lacking data);
- not applicable: impact 0.0 and a ``skipped`` result saying there was nothing to check;
- procedural: a ``skipped`` result with the framework's reason (a person decides; Not Reviewed);
- not covered: a ``skipped`` result saying iisguard does not check the item (Not Reviewed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..engine import compliance
from ..engine.compliance import Control
from ..engine.evaluate import Report
from ..engine.findings import Finding, Outcome, Severity
from ..errors import UsageError
from ..plugins import hookimpl
from .base import Locator, escape_controls, json_text, state

DEFAULT_FRAMEWORK = "stig-iis10"
IMPACT = {"critical": 0.9, "high": 0.7, "medium": 0.5, "low": 0.3, "info": 0.0}


@dataclass
class HdfReporter:
    name: str = "hdf"
    lists_passes: ClassVar[bool] = False  # passes only counted (Reporter.lists_passes)
    extension: str = ".json"
    description: str = "MITRE Heimdall Data Format (HDF) JSON of one host, one control per framework item"
    base: str | None = field(default=None, repr=False)

    def render(self, report: Report) -> str:
        return json_text(self.build(report))

    def build(self, report: Report) -> dict[str, Any]:
        if len(report.hosts) != 1:
            raise UsageError(
                f"an HDF file describes one host (one platform) and this scan has {len(report.hosts)}: "
                "write one file per host with a {host} path (--format 'hdf:reports/{host}.hdf.json') or a "
                "folder (--format hdf:reports/)"
            )
        host = report.hosts[0]
        result = compliance.assess(report, report.framework or DEFAULT_FRAMEWORK)
        fw = result.framework
        locator = Locator((f for f in host.findings if f.outcome is Outcome.FAIL), self.base)
        started = _rfc3339(report.started_at)
        source = f"iisguard/policies/frameworks/{Path(fw.path).name}"
        controls = [self._control(report, c, locator, started, source) for c in result.for_host(host.host)]
        raw_os = host.info.get("os")
        os_info: dict[str, Any] = raw_os if isinstance(raw_os, dict) else {}
        try:
            digest = hashlib.sha256(Path(fw.path).read_bytes()).hexdigest()
        except OSError:
            digest = hashlib.sha256(fw.name.encode()).hexdigest()
        return {
            "platform": {
                "name": _x(str(os_info.get("caption") or "windows")),
                "release": _x(str(os_info.get("version") or "unknown")),
                "target_id": _x(host.host),
            },
            "version": report.tool_version,
            "statistics": {"duration": round(host.seconds, 3)},
            "profiles": [
                {
                    "name": f"iisguard-{fw.name}",
                    "title": f"{fw.title} (iisguard)",
                    "version": fw.version,
                    "maintainer": "iisguard",
                    "summary": f"{fw.title} ({fw.version}) by control, from the iisguard rules mapped to each item",
                    "license": None,
                    "copyright": None,
                    "copyright_email": None,
                    "supports": [{"platform-family": "windows"}],
                    "attributes": [],
                    "depends": [],
                    "groups": [
                        {"id": c.item.id, "title": c.item.title, "controls": [c.item.id]}
                        for c in result.for_host(host.host)
                    ],
                    "sha256": digest,
                    "status": "loaded",
                    "status_message": "",
                    "controls": controls,
                }
            ],
        }

    def _control(
        self, report: Report, c: Control, locator: Locator, started: str, source: str
    ) -> dict[str, Any]:
        item = c.item
        severity = item.severity or _severity(report, c)
        tags: dict[str, Any] = {"severity": severity}
        for key, value in (
            ("gid", item.id),
            ("rid", item.rule_id),
            ("stig_id", item.stig_id),
            ("gtitle", item.group),
            ("cci", list(item.cci)),
            ("nist", list(item.nist)),
        ):
            if value:
                tags[key] = value
        tags["iisguard_rules"] = list(item.rules)
        tags["iisguard_status"] = c.status
        check = (
            "Checked by iisguard with the rules " + ", ".join(item.rules)
            if item.rules
            else "Not checked by iisguard: review this item by hand."
        )
        control: dict[str, Any] = {
            "id": item.id,
            "title": item.title,
            "desc": _x(item.note or item.title),
            "descriptions": [
                {"label": "default", "data": _x(item.note or item.title)},
                {"label": "check", "data": _x(check)},
            ],
            "impact": 0.0 if c.status == compliance.NOT_APPLICABLE else IMPACT.get(severity, 0.5),
            "refs": [],
            "tags": tags,
            "code": None,
            "source_location": {"ref": source, "line": None},
            "results": _results(report, c, locator, started),
        }
        if c.waived:
            waivers = [f.waiver for f in c.failures if f.waiver is not None]
            control["waiver_data"] = {
                "justification": _x("; ".join(dict.fromkeys(w.reason for w in waivers))),
                "expiration_date": min(w.expires for w in waivers),
                "run": True,
                "skipped_due_to_waiver": False,
                "message": _x("waived by " + ", ".join(dict.fromkeys(w.owner for w in waivers))),
            }
        return control


def _severity(report: Report, c: Control) -> str:
    """An item without a STIG category (CIS) takes the highest default severity of its rules."""
    ranks = [report.rules[r].severity for r in c.item.rules if r in report.rules]
    top = max(ranks, key=lambda s: s.rank) if ranks else Severity.MEDIUM
    return "high" if top is Severity.CRITICAL else top.value if top is not Severity.INFO else "low"


def _results(report: Report, c: Control, locator: Locator, started: str) -> list[dict[str, Any]]:
    def result(status: str, desc: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "code_desc": _x(desc), "start_time": started, "run_time": 0.0, **extra}

    if c.status == compliance.PROCEDURAL:
        return [result("skipped", "Procedural: reviewed by a person", skip_message=_x(c.reason))]
    if c.status == compliance.NOT_COVERED:
        return [result("skipped", "Not checked by iisguard", skip_message=c.reason)]
    if c.status == compliance.NOT_APPLICABLE:
        return [result("skipped", f"{', '.join(c.item.rules)}: nothing to check", skip_message=_x(c.reason))]
    out: list[dict[str, Any]] = []
    if c.status == compliance.NOT_REVIEWED:
        for rule_id in c.rules_not_run:
            out.append(
                result("skipped", f"{rule_id} not run", skip_message=f"{rule_id} was not run in this scan")
            )
        for f in c.problems:
            what = "errored" if f.outcome is Outcome.ERROR else "not reviewed"
            out.append(
                result("skipped", f"{f.rule_id} {f.resource} {what}", skip_message=_x(f.message or what))
            )
        return out
    for f in c.failures:
        out.append(_failed(f, locator, result))
    passes: dict[str, int] = {}
    for f in c.passes:
        passes[f.rule_id] = passes.get(f.rule_id, 0) + 1
    for rule_id, n in passes.items():
        out.append(result("passed", f"{rule_id}: {n} resource{'s' if n != 1 else ''} pass"))
    if c.status == compliance.FAIL:
        for f in c.problems:
            out.append(
                result("skipped", f"{f.rule_id} {f.resource} not reviewed", skip_message=_x(f.message))
            )
    return out


def _failed(f: Finding, locator: Locator, result: Any) -> dict[str, Any]:
    loc = locator.locate(f)
    message = f"{f.message} ({loc.path}:{loc.line})"
    how = state(f)
    if how == "waived" and f.waiver is not None:
        message += f" [waived until {f.waiver.expires} by {f.waiver.owner}: {f.waiver.reason}]"
    elif how == "baselined":
        message += f" [in the baseline: {f.baseline_state}]"
    return result(
        "failed",
        f"{f.rule_id} {f.resource}",
        message=_x(message),
        resource=_x(f.rule_id),
        resource_id=_x(f.resource),
    )


def _rfc3339(stamp: str) -> str:
    return stamp or "1970-01-01T00:00:00Z"


def _x(text: str) -> str:
    return escape_controls(text)


REPORTER = HdfReporter()


@hookimpl
def iisguard_register_reporters():
    return {"hdf": REPORTER}
