"""STIG checklists (ckl, cklb) and the Heimdall Data Format (hdf) against their consumers.

Where the formats come from (read, not copied):

- CKL: the checklists DISA STIG Viewer 2.17 writes, as kept by MITRE's Heimdall/SAF project for its
  checklist mapper tests (github.com/mitre/heimdall2, libs/hdf-converters/sample_jsons/
  checklist_mapper/sample_input_report/*.ckl): ``CHECKLIST`` > ``ASSET`` (ROLE, ASSET_TYPE, MARKING,
  HOST_NAME, HOST_IP, HOST_MAC, HOST_FQDN, TARGET_COMMENT, TECH_AREA, TARGET_KEY, WEB_OR_DATABASE,
  WEB_DB_SITE, WEB_DB_INSTANCE) and ``STIGS`` > ``iSTIG`` (one per STIG) > ``STIG_INFO`` (SI_DATA
  SID_NAME/SID_DATA pairs) and ``VULN`` (STIG_DATA VULN_ATTRIBUTE/ATTRIBUTE_DATA pairs from Vuln_Num
  to STIG_UUID, a CCI_REF each, then STATUS, FINDING_DETAILS, COMMENTS, SEVERITY_OVERRIDE,
  SEVERITY_JUSTIFICATION), STATUS one of Open, NotAFinding, Not_Applicable, Not_Reviewed.
- CKLB: STIG Viewer 3's JSON as DISA's JSON Schema for it defines it (SV3_CKLB_1_0_JSON_SCHEMA.json,
  see the CKLB section below: no released tool reads CKLB to check it) and as the same MITRE
  project's samples show it (converted-rhel8_sample_oneOfEachControlStatus.cklb).
- HDF: the ExecJSON v1.0 types of MITRE's inspecjs (the npm package the SAF CLI depends on), whose
  generated parser checks every field; the status of a control is what inspecjs computes from its
  results and impact (compat_impl/compat_inspec_1_0.js).

The consumers themselves run when installed (`.ci/install-tools.sh` puts MITRE's SAF CLI in
.tools/): `saf convert ckl2hdf` must read our CKL, `saf convert hdf2ckl` and `saf view summary` our
HDF, and the statuses they derive must be ours. With CI=true a missing SAF CLI fails these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from iisguard.cli import main
from iisguard.engine import compliance, frameworks
from iisguard.engine.findings import Outcome, Waiver
from iisguard.report.hdf import REPORTER as HDF
from iisguard.report.stig import CKL, CKLB

from .conftest import FIXTURES, ROOT
from .report_helpers import RULES, build_report, finding, single_host_report

MISCONFIGURED = FIXTURES / "hosts" / "demo-misconfigured"
TOOLS = ROOT / ".tools" / "node_modules"
SAF = TOOLS / ".bin" / "saf"
CKL_STATUS = {"fail": "Open", "pass": "NotAFinding", "not_applicable": "Not_Applicable"}
ASSET = [
    "ROLE",
    "ASSET_TYPE",
    "MARKING",
    "HOST_NAME",
    "HOST_IP",
    "HOST_MAC",
    "HOST_FQDN",
    "TARGET_COMMENT",
    "TECH_AREA",
    "TARGET_KEY",
    "WEB_OR_DATABASE",
    "WEB_DB_SITE",
    "WEB_DB_INSTANCE",
]
VULN_ATTRIBUTES = [
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
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo host scanned with the STIG profile into CKL, CKLB, HDF and JSON (with --framework)."""
    out = tmp_path_factory.mktemp("stig")
    cwd = os.getcwd()
    os.chdir(out)
    try:
        code = main(
            [
                "scan",
                str(MISCONFIGURED),
                "--profile",
                "stig-iis10",
                "--framework",
                "stig-iis10",
                "--fail-on",
                "never",
                *(
                    "-f",
                    "ckl:demo.ckl",
                    "-f",
                    "cklb:demo.cklb",
                    "-f",
                    "hdf:demo.hdf.json",
                    "-f",
                    "json:r.json",
                ),
            ]
        )
    finally:
        os.chdir(cwd)
    assert code == 0
    return out


def ckl_statuses(path: Path) -> dict[str, str]:
    out = {}
    for vuln in ET.parse(path).iter("VULN"):
        data = {d.findtext("VULN_ATTRIBUTE"): d.findtext("ATTRIBUTE_DATA") for d in vuln.iter("STIG_DATA")}
        assert data["Vuln_Num"] not in out, f"{data['Vuln_Num']} twice"
        out[data["Vuln_Num"]] = vuln.findtext("STATUS")
    return out


def expected_ckl(items) -> dict[str, str]:
    return {i["id"]: CKL_STATUS.get(i["status"], "Not_Reviewed") for i in items}


# --- CKL ------------------------------------------------------------------------------------------


def test_ckl_has_the_structure_stig_viewer_reads(demo):
    root = ET.parse(demo / "demo.ckl").getroot()
    assert root.tag == "CHECKLIST" and [c.tag for c in root] == ["ASSET", "STIGS"]
    asset = root.find("ASSET")
    assert [c.tag for c in asset] == ASSET
    assert asset.findtext("HOST_NAME") == "WEB-LEGACY01" and asset.findtext("ASSET_TYPE") == "Computing"
    istigs = root.findall("STIGS/iSTIG")
    stig_ids = [
        next(si.findtext("SID_DATA") for si in i.iter("SI_DATA") if si.findtext("SID_NAME") == "stigid")
        for i in istigs
    ]
    assert stig_ids == ["IIS_10-0_Server_STIG", "IIS_10-0_Site_STIG"]
    for istig in istigs:
        assert [c.tag for c in istig][0] == "STIG_INFO" and {c.tag for c in istig} == {"STIG_INFO", "VULN"}
        for vuln in istig.findall("VULN"):
            attrs = [d.findtext("VULN_ATTRIBUTE") for d in vuln.findall("STIG_DATA")]
            assert attrs[: len(VULN_ATTRIBUTES)] == VULN_ATTRIBUTES
            assert set(attrs[len(VULN_ATTRIBUTES) :]) <= {"CCI_REF"} and "CCI_REF" in attrs
            tail = [c.tag for c in vuln][len(attrs) :]
            assert tail == [
                "STATUS",
                "FINDING_DETAILS",
                "COMMENTS",
                "SEVERITY_OVERRIDE",
                "SEVERITY_JUSTIFICATION",
            ]
            assert vuln.findtext("STATUS") in ("Open", "NotAFinding", "Not_Applicable", "Not_Reviewed")


def test_ckl_carries_every_v_id_with_the_compliance_status(demo):
    stig = frameworks.load("stig-iis10")
    statuses = ckl_statuses(demo / "demo.ckl")
    assert list(statuses) == [i.id for i in stig.items]  # every V-ID, once, in order
    items = json.loads((demo / "r.json").read_text())["compliance"]["items"]
    assert statuses == expected_ckl(items)
    assert statuses["V-218802"] == "Open" and statuses["V-218791"] == "Not_Reviewed"
    # every status the host has is mapped (expected_ckl above); its one not-applicable item, V-218748, became a
    # pass when IIS-CFG-019 started judging the sites' host headers (issue #19)
    assert "NotAFinding" in statuses.values() and "Open" in statuses.values()


def test_ckl_finding_details_name_the_failing_resources_and_their_evidence(demo):
    vulns = {
        next(d.findtext("ATTRIBUTE_DATA") for d in v.iter("STIG_DATA")): v
        for v in ET.parse(demo / "demo.ckl").iter("VULN")
    }
    details = vulns["V-218802"].findtext("FINDING_DETAILS")
    assert details.startswith("iisguard ") and "IIS-POOL-001" in details
    assert "FAIL " in details and "applicationHost.config:" in details
    check = next(
        d.findtext("ATTRIBUTE_DATA")
        for d in vulns["V-218802"].iter("STIG_DATA")
        if d.findtext("VULN_ATTRIBUTE") == "Check_Content"
    )
    assert "- IIS-POOL-001: " in check
    ccis = [
        d.findtext("ATTRIBUTE_DATA")
        for d in vulns["V-218802"].iter("STIG_DATA")
        if d.findtext("VULN_ATTRIBUTE") == "CCI_REF"
    ]
    assert ccis == ["CCI-001082"]


def test_waivers_and_baselines_are_in_the_comments(tmp_path):
    waived = finding(waiver=Waiver("vendor app needs SYSTEM", "ops@example.com", "2026-12-31"))
    report = single_host_report(
        tmp_path, [waived, finding("IIS-ACL-003", resource="C:\\x", baseline_state="unchanged")]
    )
    root = ET.fromstring(CKL.render(report))
    vuln = next(v for v in root.iter("VULN") if v.find("STIG_DATA/ATTRIBUTE_DATA").text == "V-218802")
    assert vuln.findtext("STATUS") == "Open"  # a waiver accepts a risk; the item is still not met
    comments = vuln.findtext("COMMENTS")
    assert (
        "IIS-POOL-001 Payroll: waiver until 2026-12-31, owner ops@example.com: vendor app needs SYSTEM"
        in comments
    )
    assert "IIS-ACL-003 C:\\x: unchanged since the baseline" in comments
    assert "[waived]" in vuln.findtext("FINDING_DETAILS")


def test_a_checklist_is_for_one_host(tmp_path, capsys):
    with pytest.raises(Exception, match="describes one host and this scan has 2"):
        CKL.render(build_report(tmp_path))
    golden = FIXTURES / "hosts" / "demo-golden"
    code = main(["scan", str(MISCONFIGURED), str(golden), "-f", f"ckl:{tmp_path / 'x.ckl'}"])
    assert code == 2
    assert "one file per host with a {host} path" in capsys.readouterr().err
    assert not (tmp_path / "x.ckl").exists()


# --- several hosts: one file per host -------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Two hosts in one scan, each checklist and HDF in a file of its own ({host} paths and a folder)."""
    out = tmp_path_factory.mktemp("fleet")
    golden = FIXTURES / "hosts" / "demo-golden"
    code = main(
        [
            "scan",
            str(MISCONFIGURED),
            str(golden),
            "--profile",
            "stig-iis10",
            "--fail-on",
            "never",
            "-f",
            f"ckl:{out / 'ckl'}/",
            "-f",
            f"cklb:{out / 'cklb' / '{host}.cklb'}",
            "-f",
            f"hdf:{out / 'hdf' / '{host}.hdf.json'}",
        ]
    )
    assert code == 0
    return out


def test_several_hosts_write_one_checklist_and_hdf_per_host(fleet, demo):
    hosts = ["WEB-GOLDEN", "WEB-LEGACY01"]
    assert sorted(p.name for p in (fleet / "ckl").iterdir()) == [f"{h}.ckl" for h in hosts]
    assert sorted(p.name for p in (fleet / "cklb").iterdir()) == [f"{h}.cklb" for h in hosts]
    assert sorted(p.name for p in (fleet / "hdf").iterdir()) == [f"{h}.hdf.json" for h in hosts]
    for h in hosts:
        assert ET.parse(fleet / "ckl" / f"{h}.ckl").findtext("ASSET/HOST_NAME") == h
        assert json.loads((fleet / "cklb" / f"{h}.cklb").read_text())["target_data"]["host_name"] == h
    # each file is what a scan of that host alone writes
    assert ckl_statuses(fleet / "ckl" / "WEB-LEGACY01.ckl") == ckl_statuses(demo / "demo.ckl")
    assert ckl_statuses(fleet / "ckl" / "WEB-GOLDEN.ckl") != ckl_statuses(demo / "demo.ckl")


def test_per_host_file_names_are_safe_and_distinct(tmp_path):
    from iisguard.cli.scan import OutputSpec, host_files

    report = build_report(tmp_path)
    report.hosts[0].host = "../../etc/passwd"
    report.hosts[1].host = "..\\..\\etc/passwd"
    files = [p for _, p in host_files(OutputSpec("ckl", f"{tmp_path}/out/"), report, ".ckl")]
    assert files == [f"{tmp_path}/out/_.._etc_passwd.ckl", f"{tmp_path}/out/_.._etc_passwd-2.ckl"]
    assert all(Path(f).resolve().parent == (tmp_path / "out").resolve() for f in files)


def test_a_per_host_path_never_overwrites_an_input(tmp_path, capsys):
    snap = tmp_path / "WEB-LEGACY01.json"
    snap.write_bytes((MISCONFIGURED / "snapshot.json").read_bytes())
    code = main(["scan", str(snap), "-f", f"json:{tmp_path}/{{host}}.json"])
    assert code == 2
    assert "which this run reads" in capsys.readouterr().err
    assert snap.read_bytes() == (MISCONFIGURED / "snapshot.json").read_bytes()


def test_text_from_the_server_is_inert(tmp_path):
    hostile = 'WEB01<script>alert(1)</script>"\x1b[31m&'
    f = finding(message='pool "<b>x</b>" & \x07bell', host=hostile)
    report = single_host_report(tmp_path, [f])
    report.hosts[0].host = hostile
    text = CKL.render(report)
    root = ET.fromstring(text)  # still one well-formed document
    assert root.findtext("ASSET/HOST_NAME") == 'WEB01<script>alert(1)</script>"\\x1b[31m&'
    assert "\x1b" not in text and "\x07" not in text
    doc = json.loads(CKLB.render(report))
    assert doc["target_data"]["host_name"] == 'WEB01<script>alert(1)</script>"\\x1b[31m&'


# --- CKLB -----------------------------------------------------------------------------------------


def test_cklb_has_the_structure_of_stig_viewer_3_and_the_same_statuses(demo):
    doc = json.loads((demo / "demo.cklb").read_text())
    assert {"title", "id", "active", "mode", "has_path", "target_data", "stigs", "cklb_version"} <= set(doc)
    assert doc["cklb_version"] == "1.0" and doc["target_data"]["host_name"] == "WEB-LEGACY01"
    assert [s["stig_id"] for s in doc["stigs"]] == ["IIS_10-0_Server_STIG", "IIS_10-0_Site_STIG"]
    rule_keys = {
        "group_id", "severity", "group_title", "rule_id_src", "rule_id", "rule_version", "rule_title",
        "discussion", "check_content", "fix_text", "ccis", "stig_ref", "uuid", "comments",
        "finding_details", "status", "overrides", "legacy_ids", "check_content_ref", "weight",
    }  # fmt: skip
    cklb = {}
    for stig in doc["stigs"]:
        assert stig["size"] == len(stig["rules"])
        for r in stig["rules"]:
            assert rule_keys <= set(r)
            assert r["rule_id_src"] == r["rule_id"] + "_rule"
            cklb[r["group_id"]] = r["status"]
    words = {
        "Open": "open",
        "NotAFinding": "not_a_finding",
        "Not_Applicable": "not_applicable",
        "Not_Reviewed": "not_reviewed",
    }
    assert cklb == {k: words[v] for k, v in ckl_statuses(demo / "demo.ckl").items()}


# --- HDF ------------------------------------------------------------------------------------------


def test_hdf_controls_carry_stig_tags_and_heimdall_would_derive_our_status(demo):
    doc = json.loads((demo / "demo.hdf.json").read_text())
    (profile,) = doc["profiles"]
    items = {i["id"]: i for i in json.loads((demo / "r.json").read_text())["compliance"]["items"]}
    assert [c["id"] for c in profile["controls"]] == list(items)
    for c in profile["controls"]:
        statuses = [r["status"] for r in c["results"]]
        # inspecjs: error -> Profile Error; impact 0 -> Not Applicable; failed; passed; skipped -> Not Reviewed
        heimdall = (
            "error" if "error" in statuses or not statuses
            else "not_applicable" if c["impact"] == 0
            else "fail" if "failed" in statuses
            else "pass" if "passed" in statuses
            else "not_reviewed"
        )  # fmt: skip
        ours = items[c["id"]]["status"]
        assert heimdall == ("not_reviewed" if ours in ("not_covered", "procedural") else ours), c["id"]
    v = next(c for c in profile["controls"] if c["id"] == "V-218802")
    assert v["tags"]["gid"] == "V-218802" and v["tags"]["rid"] == "SV-218802r961095_rule"
    assert v["tags"]["nist"] == ["SC-2"] and v["tags"]["cci"] == ["CCI-001082"] and v["impact"] == 0.7


def test_hdf_waiver_data_for_a_waived_control(tmp_path):
    waived = finding(waiver=Waiver("vendor app", "ops", "2026-12-31"))
    doc = HDF.build(single_host_report(tmp_path, [waived, finding(outcome=Outcome.PASS, resource="A")]))
    c = next(c for c in doc["profiles"][0]["controls"] if c["id"] == "V-218802")
    assert c["waiver_data"] == {
        "justification": "vendor app",
        "expiration_date": "2026-12-31",
        "run": True,
        "skipped_due_to_waiver": False,
        "message": "waived by ops",
    }
    assert [r["status"] for r in c["results"]] == ["failed", "passed"]


def test_hdf_framework_follows_framework_option(tmp_path):
    report = single_host_report(tmp_path, [finding()], rules=dict(RULES))
    report.framework = "cis-iis10"
    doc = HDF.build(report)
    ids = [c["id"] for c in doc["profiles"][0]["controls"]]
    assert ids == [i.id for i in frameworks.load("cis-iis10").items]
    c = next(c for c in doc["profiles"][0]["controls"] if c["id"] == "1.4")
    assert c["tags"]["severity"] == "high"  # IIS-POOL-001 is critical: Heimdall's top category
    assert compliance.assess(report, "cis-iis10").items[3].status == "fail"


# --- the consumers: MITRE's SAF CLI and inspecjs ---------------------------------------------------


def saf() -> Path:
    if SAF.exists():
        return SAF
    reason = f"MITRE SAF CLI not installed at {SAF}: run .ci/install-tools.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def run_saf(*args: str | Path, cwd: Path) -> str:
    proc = subprocess.run([str(saf()), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"saf {' '.join(map(str, args))}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def summary(path: Path, cwd: Path) -> dict[str, int]:
    (doc,) = json.loads(run_saf("view", "summary", "-i", path, "-f", "json", "-s", cwd=cwd))
    return {k: doc[k]["total"] for k in ("passed", "failed", "skipped", "error", "no_impact")}


@pytest.fixture(scope="module")
def hdf_summary(demo):
    return summary(Path("demo.hdf.json"), demo)


def test_saf_reads_the_hdf_and_agrees_on_every_status(demo, hdf_summary):
    run_saf("convert", "hdf2ckl", "-i", "demo.hdf.json", "-o", "from-hdf.ckl", cwd=demo)
    assert ckl_statuses(demo / "from-hdf.ckl") == ckl_statuses(demo / "demo.ckl")
    counts = json.loads((demo / "r.json").read_text())["compliance"]["summary"]
    assert hdf_summary == {
        "passed": counts["pass"],
        "failed": counts["fail"],
        "skipped": counts["not_reviewed"] + counts["not_covered"] + counts["procedural"],
        "error": 0,
        "no_impact": counts["not_applicable"],
    }


def test_saf_reads_the_ckl(demo, hdf_summary):
    run_saf("convert", "ckl2hdf", "-i", "demo.ckl", "-o", "from-ckl.json", cwd=demo)
    assert summary(Path("from-ckl.json"), demo) == hdf_summary


def test_inspecjs_parses_the_hdf_strictly(demo):
    saf()  # inspecjs comes with the SAF CLI
    node = shutil.which("node")
    assert node, "node is needed to run inspecjs"
    parser = TOOLS / "inspecjs" / "lib" / "generated_parsers" / "v_1_0" / "exec-json.js"
    script = (
        f"const p = require({json.dumps(str(parser))});"
        "const doc = p.Convert.toExecJSON(require('fs').readFileSync(process.argv[1], 'utf8'));"
        "console.log(doc.profiles[0].controls.length);"
    )
    proc = subprocess.run([node, "-e", script, str(demo / "demo.hdf.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == len(frameworks.load("stig-iis10").items)


def test_saf_reads_each_host_file(fleet):
    for host in ("WEB-GOLDEN", "WEB-LEGACY01"):
        run_saf("convert", "hdf2ckl", "-i", f"hdf/{host}.hdf.json", "-o", f"{host}.from-hdf.ckl", cwd=fleet)
        assert ckl_statuses(fleet / f"{host}.from-hdf.ckl") == ckl_statuses(fleet / "ckl" / f"{host}.ckl")
        run_saf("convert", "ckl2hdf", "-i", f"ckl/{host}.ckl", "-o", f"{host}.from-ckl.json", cwd=fleet)
        assert summary(Path(f"{host}.from-ckl.json"), fleet) == summary(Path(f"hdf/{host}.hdf.json"), fleet)


# --- CKLB against DISA's schema ---------------------------------------------------------------------
# No released tool reads CKLB to check it: MITRE's SAF CLI (1.5.3, the newest on npm) and
# hdf-converters (2.14.0) convert CKL only; CKLB support is an open request there (mitre/heimdall2
# issues #5603 and #7271). The strongest public description is DISA's own JSON Schema for STIG
# Viewer 3 checklists, SV3_CKLB_1_0_JSON_SCHEMA.json (version 1.0, 2024-01-09, published with STIG
# Viewer 3 on cyber.mil; the schema #7271 and MITRE's CKLB converter design cite). Its constraints,
# restated here (read in a public copy, github.com/nealfennimore/stigui data/schema/): the objects
# accept no other keys, the statuses and severities are enumerations, identifiers are UUIDs.

_S = {"type": "string"}
_S_OR_NULL = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _S}
CKLB_RULE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **dict.fromkeys(
            [
                "uuid",
                "stig_uuid",
                "group_id",
                "group_id_src",
                "rule_id",
                "rule_id_src",
                "weight",
                "classification",
                "rule_version",
                "rule_title",
                "fix_text",
                "group_title",
                "false_positives",
                "false_negatives",
                "discussion",
                "documentable",
                "mitigations",
                "potential_impacts",
                "third_party_tools",
                "mitigation_control",
                "responsibility",
                "security_override_guidance",
                "ia_controls",
                "createdAt",
                "updatedAt",
                "comments",
                "finding_details",
                "STIGUuid",
            ],
            _S,
        ),
        **dict.fromkeys(["target_key", "stig_ref", "reference_identifier", "check_content"], _S_OR_NULL),
        "severity": {"type": "string", "enum": ["unknown", "low", "medium", "high"]},
        "status": {"type": "string", "enum": ["not_reviewed", "not_applicable", "open", "not_a_finding"]},
        "check_content_ref": {"type": ["object", "null"], "properties": {"name": _S, "href": _S}},
        "legacy_ids": _STRINGS,
        "ccis": _STRINGS,
        "group_tree": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": _S, "title": _S, "description": _S}},
        },
        "overrides": {
            "additionalProperties": False,
            "patternProperties": {
                "^[a-zA-Z_]+$": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"reason": _S},
                    "patternProperties": {"^[a-zA-Z_]+$": _S},
                }
            },
        },
    },
}
CKLB_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2019-09/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "id"],
    "properties": {
        "title": _S,
        "cklb_version": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "format": "uuid"},
        "active": {"type": "boolean"},
        "mode": {"type": "number"},
        "has_path": {"type": "boolean"},
        "target_data": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **dict.fromkeys(
                    [
                        "target_type",
                        "host_name",
                        "ip_address",
                        "mac_address",
                        "fqdn",
                        "comments",
                        "role",
                        "technology_area",
                        "web_db_site",
                        "web_db_instance",
                    ],
                    _S,
                ),
                "is_web_database": {"type": "boolean"},
            },
        },
        "stigs": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["stig_name", "display_name", "stig_id", "release_info", "uuid", "size"],
                "properties": {
                    **dict.fromkeys(["stig_name", "display_name", "stig_id", "release_info"], _S),
                    "uuid": {"type": "string", "format": "uuid"},
                    "reference_identifier": _S_OR_NULL,
                    "size": {"type": "integer"},
                    "rules": {"type": "array", "items": CKLB_RULE},
                },
            },
        },
    },
}


def cklb_problems(doc) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft201909Validator(CKLB_SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_the_schema_check_rejects_what_stig_viewer_3_would(demo):
    doc = json.loads((demo / "demo.cklb").read_text())
    bad = json.loads(json.dumps(doc))
    bad["stigs"][0]["version"] = "3"  # a key the schema does not define
    bad["stigs"][0]["rules"][0]["status"] = "fail"
    bad["id"] = "not-a-uuid"
    problems = cklb_problems(bad)
    assert len(problems) == 3, problems


def test_cklb_is_valid_against_disa_schema(demo, fleet):
    for path in [demo / "demo.cklb", *sorted((fleet / "cklb").iterdir())]:
        doc = json.loads(path.read_text())
        assert cklb_problems(doc) == [], path.name
        rules = [r for s in doc["stigs"] for r in s["rules"]]
        # every rule belongs to its STIG and has its own identifier
        assert all(r["stig_uuid"] == s["uuid"] for s in doc["stigs"] for r in s["rules"])
        assert len({r["uuid"] for r in rules}) == len(rules)
        assert len(rules) == len(frameworks.load("stig-iis10").items)
