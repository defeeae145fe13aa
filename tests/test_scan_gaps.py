"""A gate that read nothing does not pass: nothing collected, nothing judged, a required section missing.

Before, the snapshot of `iisguard import README.md` scanned to "0 failed, 0 passed, 56 not reviewed;
exit 0" with SARIF executionSuccessful true.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from iisguard.cli import main
from iisguard.model import snapshot

from .conftest import FIXTURES

GOLDEN_HOST = FIXTURES / "hosts" / "demo-golden" / "snapshot.json"


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def empty_snapshot(path: Path, name: str = "EMPTY01", **sections: str) -> Path:
    """A valid snapshot in which every section is absent unless given."""
    data = {
        "schema_version": "1.0",
        "host": {"name": name},
        "collection": {
            "source": "import",
            "tool_version": "0.1.0",
            "collected_at": "2026-11-30T10:00:00Z",
            "artifacts": [],
            "sections": [
                {"name": s, "status": sections.get(s, "absent"), "message": "not captured"}
                for s in snapshot.SECTIONS
            ],
            "warnings": [],
            "unrecognized": [],
        },
    }
    if sections.get("services") == "ok":
        data["services"] = [{"name": "W3SVC", "account": "LocalSystem", "start": "auto", "state": "running"}]
    assert snapshot.problems(data) == [], snapshot.problems(data)
    path.write_text(json.dumps(data), "utf-8")
    return path


def test_a_host_with_nothing_collected_exits_3_with_a_line_and_unsuccessful_sarif(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    empty = empty_snapshot(tmp_path / "empty.json")
    code, _, err = run(
        capsys, "scan", empty, GOLDEN_HOST, "-f", "sarif:r.sarif", "-f", "junit:r.xml", "-f", "json:r.json"
    )
    assert code == 3
    assert err.splitlines() == ["iisguard: EMPTY01: nothing was collected (no section is ok or partial)"]
    runs = {r["automationDetails"]["id"]: r for r in json.loads(Path("r.sarif").read_text("utf-8"))["runs"]}
    assert runs["iisguard/EMPTY01/"]["invocations"][0]["executionSuccessful"] is False
    assert runs["iisguard/WEB-GOLDEN/"]["invocations"][0]["executionSuccessful"] is True
    notes = [
        n["message"]["text"]
        for n in runs["iisguard/EMPTY01/"]["invocations"][0]["toolExecutionNotifications"]
    ]
    assert "EMPTY01: nothing was collected (no section is ok or partial)." in notes
    hosts = {h["name"]: h for h in json.loads(Path("r.json").read_text("utf-8"))["hosts"]}
    assert hosts["EMPTY01"]["execution_successful"] is False and hosts["EMPTY01"]["gaps"]
    assert hosts["WEB-GOLDEN"]["gaps"] == []
    suite = next(s for s in ET.parse("r.xml").getroot() if s.get("name") == "EMPTY01")
    assert any(
        e.get("message") == "EMPTY01: nothing was collected (no section is ok or partial)"
        for e in suite.iter("error")
    )
    # Not even --fail-on never lets it pass: it is not a finding, the result cannot be trusted.
    assert run(capsys, "scan", empty, "--fail-on", "never")[0] == 3


def test_a_host_where_no_rule_could_judge_anything_exits_3(capsys, tmp_path):
    only_services = empty_snapshot(tmp_path / "svc.json", "SVC01", services="ok")
    code, _, err = run(
        capsys, "scan", only_services, "--rule", "IIS-POOL-00*", "-f", "sarif:" + str(tmp_path / "r.sarif")
    )
    assert code == 3
    assert "iisguard: SVC01: no rule could judge anything (" in err
    run_ = json.loads((tmp_path / "r.sarif").read_text("utf-8"))["runs"][0]
    assert run_["invocations"][0]["executionSuccessful"] is False


def test_require_makes_a_missing_section_a_gate(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The golden image passes as it is: no failure, every section it has is ok.
    assert run(capsys, "scan", GOLDEN_HOST)[0] == 0
    code, _, err = run(
        capsys, "scan", GOLDEN_HOST, "--require", "acls,iis", "--require", "ad", "--fail-on", "never"
    )
    assert code == 3
    assert err.splitlines() == ["iisguard: WEB-GOLDEN: required section ad is absent"]
    assert run(capsys, "scan", GOLDEN_HOST, "--require", "acls,iis,user_rights")[0] == 0

    with pytest.raises(SystemExit) as usage:
        main(["scan", str(GOLDEN_HOST), "--require", "acl"])
    assert usage.value.code == 2 and "unknown section 'acl'" in capsys.readouterr().err

    # The same demand in a policy (and so in a profile, which is the same format).
    Path("iisguard.yaml").write_text(
        "apiVersion: iisguard/v1\nkind: Policy\nextends: baseline\nrequire: [acls, ad]\n", "utf-8"
    )
    code, _, err = run(capsys, "scan", GOLDEN_HOST, "-f", "sarif:r.sarif")
    assert code == 3 and "WEB-GOLDEN: required section ad is absent" in err
    invocation = json.loads(Path("r.sarif").read_text("utf-8"))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    Path("bad.yaml").write_text("apiVersion: iisguard/v1\nkind: Policy\nrequire: [acls, adx]\n", "utf-8")
    code, _, err = run(capsys, "policy", "check", "bad.yaml")
    assert code == 2 and "bad.yaml:3: require.1: 'adx' is not one of iis, user_rights" in err


def test_a_failed_required_section_gates(capsys, tmp_path):
    failed = empty_snapshot(tmp_path / "f.json", "F01", services="ok", acls="failed")
    code, _, err = run(capsys, "scan", failed, "--require", "acls", "--rule", "IIS-POOL-009")
    assert code == 3
    assert "iisguard: F01: required section acls is failed" in err
