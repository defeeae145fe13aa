"""Import -> scan -> SARIF on the demo host's raw captures: each starter rule names the capture line.

fixtures/hosts/demo-misconfigured/captures is what the capture script writes for a misconfigured
server (plus a hand-captured worker token). Importing it and scanning the snapshot must give SARIF
results whose location is the capture file (relative to the working directory) and whose
startLine is the line a person would point at.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iisguard.capture.base import sniff_encoding
from iisguard.cli import main

from .conftest import FIXTURES

DEMO = FIXTURES / "hosts" / "demo-misconfigured"

# rule -> what the named line must contain, for each failing resource (substrings of that line)
EXPECTED_LINES = {
    "IIS-POOL-001": {"app_pools/Payroll": ['<add name="Payroll"']},
    "IIS-POOL-004": {"app_pools/LegacyReports": ['<add name="LegacyReports"']},
    "IIS-ANON-001": {
        "locations/Public": ['<anonymousAuthentication userName="WEB-LEGACY01\\anonweb"'],
        "locations/Public/reports": ['<anonymousAuthentication userName="WEB-LEGACY01\\anonweb"'],
    },
    "IIS-PRIV-002": {"user_rights/SeDebugPrivilege/S-1-5-32-568": ["SeDebugPrivilege =", "*S-1-5-32-568"]},
    "IIS-ACL-003": {
        "acls/D:\\Sites\\Public": ["Everyone:(OI)(CI)(M)"],
        "acls/D:\\Sites\\Reports": ["BUILTIN\\Users:(OI)(CI)(RX,W)"],
    },
    "IIS-CRED-001": {"app_pools/Public": ['<add name="Public"']},
}


def _line(path: Path, number: int) -> str:
    raw = path.read_bytes()
    codec, bom = sniff_encoding(raw[:65536])
    return raw[bom:].decode(codec).splitlines()[number - 1]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The demo captures imported into a temporary copy (working directory: the copy's root)."""
    root = tmp_path_factory.mktemp("e2e")
    shutil.copytree(DEMO / "captures", root / "captures")
    return root


def _scan_sarif(root: Path, monkeypatch) -> dict:
    monkeypatch.chdir(root)
    assert main(["import", "captures", "-o", "out/snapshot.json", "--strict"]) == 0
    assert main(["scan", "out/snapshot.json", "--format", "sarif:report.sarif"]) == 1
    return json.loads((root / "report.sarif").read_text(encoding="utf-8"))


def test_sarif_names_the_capture_line_of_each_starter_rule(imported, monkeypatch):
    sarif = _scan_sarif(imported, monkeypatch)
    results = [r for run in sarif["runs"] for r in run["results"] if r.get("kind", "fail") == "fail"]
    for rule_id, wanted in EXPECTED_LINES.items():
        by_resource = {r["properties"]["resource"]: r for r in results if r["ruleId"] == rule_id}
        assert by_resource, f"{rule_id} did not fail on the demo host"
        assert set(wanted) <= set(by_resource), (rule_id, sorted(by_resource))
        for resource, substrings in wanted.items():
            location = by_resource[resource]["locations"][0]["physicalLocation"]
            uri = location["artifactLocation"]["uri"]
            assert uri.startswith("captures/"), f"{rule_id} {resource} points at {uri}, not at a capture file"
            path = imported / uri
            assert path.is_file(), uri
            text = _line(path, location["region"]["startLine"])
            for s in substrings:
                assert s in text, f"{rule_id} {resource}: {uri}:{location['region']['startLine']} is {text!r}"


@pytest.mark.parametrize("host", ["demo-misconfigured", "demo-golden"])
def test_committed_demo_snapshot_is_the_import_of_its_captures(tmp_path, host):
    """snapshot.json is exactly what `iisguard import captures -o snapshot.json` writes (tool version aside)."""
    folder = FIXTURES / "hosts" / host
    shutil.copytree(folder / "captures", tmp_path / "captures")
    out = tmp_path / "snapshot.json"
    assert main(["import", str(tmp_path / "captures"), "-o", str(out), "--strict"]) == 0
    fresh = json.loads(out.read_text(encoding="utf-8"))
    committed = json.loads((folder / "snapshot.json").read_text(encoding="utf-8"))
    for data in (fresh, committed):
        data["collection"]["tool_version"] = "x"
    assert fresh == committed, (
        f"re-import: iisguard import fixtures/hosts/{host}/captures -o fixtures/hosts/{host}/snapshot.json"
    )
    assert committed["collection"]["source"] == "import"
    assert not committed["collection"]["warnings"] and not committed["collection"]["unrecognized"]


def test_user_rights_evidence_is_parallel_to_the_holders():
    snap = json.loads((DEMO / "snapshot.json").read_text(encoding="utf-8"))
    rights, where = snap["user_rights"], snap["user_rights_evidence"]
    assert rights.keys() == where.keys()
    inf = DEMO / "snapshot.json"
    for right, holders in rights.items():
        assert len(where[right]) == len(holders), right
        for holder, ev in zip(holders, where[right], strict=True):
            line = _line(inf.parent / ev["artifact"], ev["line"])
            # a bare name the export wrote (`Guest`) is the captured account it names (`HOST\\Guest`)
            written = "*" + holder if holder.startswith("S-1-") else holder
            assert line.startswith(f"{right} = ") and (written in line or holder.rpartition("\\")[2] in line)
