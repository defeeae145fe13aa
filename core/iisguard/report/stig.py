"""DISA STIG checklists: ``--format ckl`` (STIG Viewer 2 XML) and ``--format cklb`` (STIG Viewer 3 JSON).

One checklist per host, one VULN (CKLB: rule) per V-ID of the ``stig-iis10`` framework, grouped by
the STIG it belongs to (IIS 10.0 Server, IIS 10.0 Site). Each status comes from
:mod:`iisguard.engine.compliance`:

====================  ==================  ===================
compliance            CKL ``STATUS``      CKLB ``status``
====================  ==================  ===================
fail                  Open                open
pass                  NotAFinding         not_a_finding
not applicable        Not_Applicable      not_applicable
not reviewed          Not_Reviewed        not_reviewed
procedural            Not_Reviewed        not_reviewed
not covered           Not_Reviewed        not_reviewed
====================  ==================  ===================

A procedural item (no capture can decide it) carries the framework's reason in ``COMMENTS``.

``FINDING_DETAILS`` lists what the mapped rules found (each failing resource with its evidence
``file:line``, passes counted per rule, what kept the item from being reviewed); ``COMMENTS``
carries waivers (owner, expiry, reason), baseline states and the mapping's note. ``ASSET`` holds
the host name, FQDN and role from the snapshot. DISA's identifiers (rule id, STIG id, SRG, CCIs)
come from the framework mapping (``iisguard/policies/frameworks/stig-iis10.yaml``); the STIG's own
discussion and check text are not redistributed: the check text names the iisguard rules instead.

The element names and order follow the checklists STIG Viewer 2.17 writes (MITRE's SAF CLI reads
them in the tests); the CKLB document follows DISA's JSON Schema for STIG Viewer 3 checklists
(SV3_CKLB_1_0_JSON_SCHEMA.json 1.0), which accepts no key it does not define (see
tests/test_report_stig.py). For several hosts, a ``{host}`` path writes one checklist per host.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..engine import compliance
from ..engine.compliance import Control
from ..engine.evaluate import HostResult, Report
from ..engine.findings import Finding, Outcome
from ..engine.frameworks import Benchmark, Framework
from ..errors import UsageError
from ..plugins import hookimpl
from .base import Locator, escape_controls, json_text, state

FRAMEWORK = "stig-iis10"
CKL_STATUS = {
    compliance.FAIL: "Open",
    compliance.PASS: "NotAFinding",
    compliance.NOT_APPLICABLE: "Not_Applicable",
    compliance.NOT_REVIEWED: "Not_Reviewed",
    compliance.PROCEDURAL: "Not_Reviewed",
    compliance.NOT_COVERED: "Not_Reviewed",
}
CKLB_STATUS = {
    compliance.FAIL: "open",
    compliance.PASS: "not_a_finding",
    compliance.NOT_APPLICABLE: "not_applicable",
    compliance.NOT_REVIEWED: "not_reviewed",
    compliance.PROCEDURAL: "not_reviewed",
    compliance.NOT_COVERED: "not_reviewed",
}
# The seeds of the checklist's identifiers: the same scan of the same host gives the same UUIDs.
_NAMESPACE = uuid.UUID("6f1c5a8e-2b1d-4d8e-9a7c-3e5f1b2c4d6a")


@dataclass(frozen=True)
class Vuln:
    """What a checklist says about one V-ID on one host; the CKL and CKLB writers share it."""

    control: Control
    benchmark: Benchmark
    status: str  # a compliance status
    details: str
    comments: str
    check: str
    fix: str


def host_vulns(report: Report, base: str | None = None) -> tuple[HostResult, Framework, list[Vuln]]:
    """The one host of `report` and a Vuln per V-ID of stig-iis10, in the framework's order."""
    if len(report.hosts) != 1:
        raise UsageError(
            f"a STIG checklist describes one host and this scan has {len(report.hosts)}: "
            "write one file per host with a {host} path (--format 'ckl:reports/{host}.ckl') or a folder "
            "(--format ckl:reports/)"
        )
    host = report.hosts[0]
    result = compliance.assess(report, FRAMEWORK)
    fw = result.framework
    benchmarks = {b.id: b for b in fw.benchmarks}
    locator = Locator((f for f in host.findings if f.outcome is Outcome.FAIL), base)
    vulns = []
    for control in result.for_host(host.host):
        item = control.item
        bench = benchmarks.get(item.benchmark) or Benchmark(item.benchmark or fw.name, fw.title, fw.version)
        vulns.append(
            Vuln(
                control,
                bench,
                control.status,
                _details(report, control, locator),
                _comments(control),
                _check(report, control),
                _fix(report, control),
            )
        )
    return host, fw, vulns


def _details(report: Report, c: Control, locator: Locator) -> str:
    lines = [
        f"iisguard {report.tool_version}, {report.started_at}: {compliance.LABELS[c.status]}: {c.reason}"
    ]
    by_rule: dict[str, list[Finding]] = {}
    for f in c.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    for rule_id, findings in by_rule.items():
        rule = report.rules.get(rule_id)
        lines += ["", f"{rule_id} {rule.title if rule else ''}".rstrip()]
        passes = 0
        for f in sorted(findings, key=lambda f: f.resource):
            if f.outcome is Outcome.PASS:
                passes += 1
            elif f.outcome is Outcome.FAIL:
                loc = locator.locate(f)
                mark = {"waived": " [waived]", "baselined": " [in the baseline]"}.get(state(f), "")
                lines.append(f"  FAIL {f.resource}: {f.message} ({loc.path}:{loc.line}){mark}")
            elif f.outcome is Outcome.NOT_APPLICABLE:
                continue
            else:
                label = "ERROR" if f.outcome is Outcome.ERROR else "NOT REVIEWED"
                lines.append(f"  {label} {f.resource}: {f.message}")
        if passes:
            lines.append(f"  {passes} resource{'s' if passes != 1 else ''} pass")
    if c.rules_not_run:
        lines += ["", f"Not run in this scan: {', '.join(c.rules_not_run)}"]
    return _x("\n".join(lines))


def _comments(c: Control) -> str:
    lines = []
    for f in c.failures:
        if f.waiver is not None:
            w = f.waiver
            how = "expired" if w.expired else "until"
            lines.append(f"{f.rule_id} {f.resource}: waiver {how} {w.expires}, owner {w.owner}: {w.reason}")
        elif f.baseline_state:
            lines.append(f"{f.rule_id} {f.resource}: {f.baseline_state} since the baseline")
    if c.item.procedural:
        lines.append(f"Procedural (review by a person): {c.item.procedural}")
    if c.item.note:
        lines.append(f"iisguard mapping note: {c.item.note}")
    return _x("\n".join(lines))


def _check(report: Report, c: Control) -> str:
    if not c.item.rules and c.item.procedural:
        return _x(
            f"Procedural, not decided by a capture ({c.item.procedural}): review it as the STIG describes."
        )
    if not c.item.rules:
        return "Not checked by iisguard: review this item by hand as the STIG describes."
    lines = ["Checked by iisguard with these rules (iisguard rules show ID):"]
    for rule_id in c.item.rules:
        rule = report.rules.get(rule_id)
        lines.append(f"- {rule_id}: {rule.title}" if rule else f"- {rule_id} (not run in this scan)")
    return _x("\n".join(lines))


def _fix(report: Report, c: Control) -> str:
    parts = []
    for rule_id in dict.fromkeys(f.rule_id for f in c.failures):
        rule = report.rules.get(rule_id)
        if rule is not None and rule.remediation.strip():
            parts.append(f"{rule_id}:\n{rule.remediation.strip()}")
    return _x("\n\n".join(parts))


def _x(text: str) -> str:
    """No control characters from a server in the XML or JSON (XML 1.0 forbids most of them)."""
    return escape_controls(text)


def _role(info: dict[str, Any]) -> str:
    """STIG Viewer's roles: None, Workstation, Member Server, Domain Controller."""
    if info.get("is_domain_controller"):
        return "Domain Controller"
    if info.get("domain_joined"):
        return "Member Server"
    return "None"


def _host_comment(host: HostResult) -> str:
    raw_os = host.info.get("os")
    os_: dict[str, Any] = raw_os if isinstance(raw_os, dict) else {}
    parts = [str(os_.get("caption") or ""), str(os_.get("version") or "")]
    text = " ".join(p for p in parts if p)
    source = f"collected {host.collected_at or 'at an unknown time'} by {host.source or 'unknown means'}"
    return _x(f"{text}; {source}" if text else source)


def _ident(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _stig_ref(b: Benchmark) -> str:
    return f"{b.title} :: Version {b.version}, {b.release}" if b.version else b.title


def _by_benchmark(vulns: list[Vuln]) -> dict[str, list[Vuln]]:
    groups: dict[str, list[Vuln]] = {}
    for v in vulns:
        groups.setdefault(v.benchmark.id, []).append(v)
    return groups


# --- STIG Viewer 2: .ckl XML ---------------------------------------------------------------------

# STIG_DATA attributes of a VULN, in the order STIG Viewer 2 writes them.
_ATTRIBUTES = (
    "Vuln_Num",
    "Severity",
    "Group_Title",
    "Rule_ID",
    "Rule_Ver",
    "Rule_Title",
    "Vuln_Discuss",
    "IA_Controls",
    "Check_Content",
    "Fix_Text",
    "False_Positives",
    "False_Negatives",
    "Documentable",
    "Mitigations",
    "Potential_Impact",
    "Third_Party_Tools",
    "Mitigation_Control",
    "Responsibility",
    "Security_Override_Guidance",
    "Check_Content_Ref",
    "Weight",
    "Class",
    "STIGRef",
    "TargetKey",
    "STIG_UUID",
)


@dataclass
class CklReporter:
    name: str = "ckl"
    lists_passes: ClassVar[bool] = False  # passes only counted (Reporter.lists_passes)
    extension: str = ".ckl"
    description: str = "DISA STIG Viewer 2 checklist (.ckl XML) of one host, one VULN per STIG V-ID"
    base: str | None = field(default=None, repr=False)

    def render(self, report: Report) -> str:
        host, fw, vulns = host_vulns(report, self.base)
        root = ET.Element("CHECKLIST")
        asset = ET.SubElement(root, "ASSET")
        for tag, value in (
            ("ROLE", _role(host.info)),
            ("ASSET_TYPE", "Computing"),
            ("MARKING", "CUI"),
            ("HOST_NAME", _x(host.host)),
            ("HOST_IP", ""),
            ("HOST_MAC", ""),
            ("HOST_FQDN", _x(str(host.info.get("fqdn") or ""))),
            ("TARGET_COMMENT", _host_comment(host)),
            ("TECH_AREA", "Web Review"),
            ("TARGET_KEY", ""),
            ("WEB_OR_DATABASE", "false"),
            ("WEB_DB_SITE", ""),
            ("WEB_DB_INSTANCE", ""),
        ):
            ET.SubElement(asset, tag).text = value
        stigs = ET.SubElement(root, "STIGS")
        for bench_id, group in _by_benchmark(vulns).items():
            bench = group[0].benchmark
            istig = ET.SubElement(stigs, "iSTIG")
            info = ET.SubElement(istig, "STIG_INFO")
            stig_uuid = _ident(host.host, bench_id)
            for sid_name, sid_data in (
                ("version", bench.version),
                ("classification", "UNCLASSIFIED"),
                ("customname", None),
                ("stigid", bench_id),
                ("description", f"{bench.title}: results of iisguard {report.tool_version} ({fw.name})"),
                ("filename", bench.filename),
                ("releaseinfo", bench.release),
                ("title", bench.title),
                ("uuid", stig_uuid),
                ("notice", "terms-of-use"),
                ("source", "STIG.DOD.MIL"),
            ):
                si = ET.SubElement(info, "SI_DATA")
                ET.SubElement(si, "SID_NAME").text = sid_name
                if sid_data is not None:
                    ET.SubElement(si, "SID_DATA").text = sid_data
            for v in group:
                self._vuln(istig, v, _stig_ref(bench), stig_uuid)
        ET.indent(root, space="\t")
        body = ET.tostring(root, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<!--iisguard {report.tool_version}-->\n{body}\n'

    @staticmethod
    def _vuln(istig: ET.Element, v: Vuln, stig_ref: str, stig_uuid: str) -> None:
        item = v.control.item
        values = {
            "Vuln_Num": item.id,
            "Severity": item.severity or "medium",
            "Group_Title": item.group,
            "Rule_ID": item.rule_id,
            "Rule_Ver": item.stig_id,
            "Rule_Title": item.title,
            "Check_Content": v.check,
            "Fix_Text": v.fix,
            "Documentable": "false",
            "Check_Content_Ref": "M",
            "Weight": "10.0",
            "Class": "Unclass",
            "STIGRef": stig_ref,
            "STIG_UUID": stig_uuid,
        }
        vuln = ET.SubElement(istig, "VULN")
        for attribute in _ATTRIBUTES:
            data = ET.SubElement(vuln, "STIG_DATA")
            ET.SubElement(data, "VULN_ATTRIBUTE").text = attribute
            ET.SubElement(data, "ATTRIBUTE_DATA").text = values.get(attribute, "")
        for cci in item.cci:
            data = ET.SubElement(vuln, "STIG_DATA")
            ET.SubElement(data, "VULN_ATTRIBUTE").text = "CCI_REF"
            ET.SubElement(data, "ATTRIBUTE_DATA").text = cci
        ET.SubElement(vuln, "STATUS").text = CKL_STATUS[v.status]
        ET.SubElement(vuln, "FINDING_DETAILS").text = v.details
        ET.SubElement(vuln, "COMMENTS").text = v.comments
        ET.SubElement(vuln, "SEVERITY_OVERRIDE").text = ""
        ET.SubElement(vuln, "SEVERITY_JUSTIFICATION").text = ""


# --- STIG Viewer 3: .cklb JSON -------------------------------------------------------------------


@dataclass
class CklbReporter:
    name: str = "cklb"
    lists_passes: ClassVar[bool] = False  # passes only counted (Reporter.lists_passes)
    extension: str = ".cklb"
    description: str = "DISA STIG Viewer 3 checklist (.cklb JSON) of one host, one rule per STIG V-ID"
    base: str | None = field(default=None, repr=False)

    def render(self, report: Report) -> str:
        host, fw, vulns = host_vulns(report, self.base)
        stigs = []
        for bench_id, group in _by_benchmark(vulns).items():
            bench = group[0].benchmark
            stig_uuid = _ident(host.host, bench_id)
            stigs.append(
                {
                    "stig_name": bench.title,
                    "display_name": bench.title,
                    "stig_id": bench_id,
                    "release_info": bench.release,
                    "uuid": stig_uuid,
                    "reference_identifier": "",
                    "size": len(group),
                    "rules": [self._rule(v, _stig_ref(bench), stig_uuid, host.host) for v in group],
                }
            )
        doc = {
            "title": _x(f"{host.host} {fw.name}"),
            "id": _ident(host.host, fw.name),
            "active": True,
            "mode": 2,
            "has_path": False,
            "target_data": {
                "target_type": "Computing",
                "host_name": _x(host.host),
                "ip_address": "",
                "mac_address": "",
                "fqdn": _x(str(host.info.get("fqdn") or "")),
                "comments": _host_comment(host),
                "role": _role(host.info),
                "is_web_database": False,
                "technology_area": "Web Review",
                "web_db_site": "",
                "web_db_instance": "",
            },
            "stigs": stigs,
            "cklb_version": "1.0",
        }
        return json_text(doc)

    @staticmethod
    def _rule(v: Vuln, stig_ref: str, stig_uuid: str, host: str) -> dict[str, Any]:
        item = v.control.item
        rule_id = item.rule_id.removesuffix("_rule")
        return {
            "uuid": _ident(host, item.id),
            "stig_uuid": stig_uuid,
            "target_key": "",
            "stig_ref": stig_ref,
            "group_id": item.id,
            "group_id_src": item.id,
            "rule_id": rule_id,
            "rule_id_src": item.rule_id,
            "weight": "10.0",
            "classification": "Unclass",
            "severity": item.severity or "medium",
            "rule_version": item.stig_id,
            "group_title": item.group,
            "rule_title": item.title,
            "fix_text": v.fix,
            "false_positives": "",
            "false_negatives": "",
            "discussion": "",
            "check_content": v.check,
            "documentable": "false",
            "mitigations": "",
            "potential_impacts": "",
            "third_party_tools": "",
            "mitigation_control": "",
            "responsibility": "",
            "security_override_guidance": "",
            "ia_controls": "",
            "check_content_ref": {"href": "", "name": "M"},
            "legacy_ids": [],
            "ccis": list(item.cci),
            "group_tree": [
                {"id": item.id, "title": item.group, "description": "<GroupDescription></GroupDescription>"}
            ],
            "status": CKLB_STATUS[v.status],
            "overrides": {},
            "comments": v.comments,
            "finding_details": v.details,
        }


CKL = CklReporter()
CKLB = CklbReporter()


@hookimpl
def iisguard_register_reporters():
    return {"ckl": CKL, "cklb": CKLB}
