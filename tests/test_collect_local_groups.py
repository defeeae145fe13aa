"""Local group membership by SID, on a host whose display language iisguard has no words for (#13 item 3).

The test host (tests/winrm_server/localgroups.py) is a Turkish Windows Server: `net localgroup`
prints "Yöneticiler", which no table maps to S-1-5-32-544. The capture script reads members with
their SIDs (Get-LocalGroupMember; ADSI for a group holding an orphaned SID, PowerShell#2996), so
membership maps to SIDs whatever the language, and the snapshot records the source.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iisguard.cli import main
from iisguard.collect.script import capture_script

from .winrm_server import HostConfig, WinRMTestServer, make_tls_files
from .winrm_server.localgroups import Group, Member

ROOT = Path(__file__).resolve().parents[1]
PRIMARY = ROOT / "fixtures" / "hosts" / "iis10-default" / "captures"
PASSWORD = "Yerel-gruplar-1"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
GROUPS = [
    Group(
        "Yöneticiler",
        "S-1-5-32-544",
        [
            Member("IIS10-DEFAULT\\Administrator", f"{DOMAIN_SID}-500"),
            Member("IIS10-DEFAULT\\svc_deploy", f"{DOMAIN_SID}-1001"),
        ],
    ),
    Group("Kullanıcılar", "S-1-5-32-545", [Member("NT AUTHORITY\\INTERACTIVE", "S-1-5-4", "Group")]),
    Group(
        "Uzak Masaüstü Kullanıcıları",
        "S-1-5-32-555",
        [
            Member(None, "S-1-5-21-1111111111-2222222222-3333333333-1105"),
            Member("IIS10-DEFAULT\\ops", f"{DOMAIN_SID}-1002"),
        ],
    ),
]


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _collect(tmp_path, tls, monkeypatch, capsys, script: str) -> dict:
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as server:
        port = server.add_host(
            HostConfig(name="IIS10-DEFAULT", expect_script=script, capture=PRIMARY, local_groups=GROUPS)
        )
        out = tmp_path / "snap.json"
        code = main(["collect", f"127.0.0.1:{port}", "--ca-bundle", str(tls.ca_cert), "-o", str(out)])
        _, err = capsys.readouterr()
        assert code == 0, err
    return json.loads(out.read_text("utf-8"))


def _members(snapshot: dict, group_sid: str) -> set[str]:
    return {
        m.get("sid")
        for p in snapshot.get("principals", [])
        if p.get("sid") == group_sid
        for m in p.get("members") or []
        if m.get("sid")
    }


def test_membership_maps_to_sids_in_any_language(tmp_path, tls, monkeypatch, capsys):
    snapshot = _collect(tmp_path, tls, monkeypatch, capsys, capture_script())
    assert _members(snapshot, "S-1-5-32-544") >= {f"{DOMAIN_SID}-500", f"{DOMAIN_SID}-1001"}
    assert f"{DOMAIN_SID}-1002" in _members(snapshot, "S-1-5-32-555")
    assert "S-1-5-21-1111111111-2222222222-3333333333-1105" in _members(snapshot, "S-1-5-32-555")
    assert snapshot["collection"]["session"]["local_groups_source"] == "Get-LocalGroupMember, adsi"


def test_the_text_an_older_script_read_does_not(tmp_path, tls, monkeypatch, capsys):
    """What the test host gives a script that reads `net localgroup NAME` (the script before): names only."""
    old = capture_script().replace("Get-LocalGroupMember -SID", "Get-LocalGroupMember -Name")
    monkeypatch.setattr("iisguard.collect.script.capture_script", lambda: old)  # what collect sends
    snapshot = _collect(tmp_path, tls, monkeypatch, capsys, old)
    assert not _members(snapshot, "S-1-5-32-544")


def test_the_script_falls_back_in_order():
    script = capture_script()
    begin = script.index("# ---- [i13] local group membership by SID (begin)")
    part = script[begin : script.index("# ---- [i13] local group membership by SID (end)")]
    order = [
        part.index(s)
        for s in ("Get-LocalGroupMember -SID", "WinNT://./", "'net.exe' @('localgroup', $group)")
    ]
    assert order == sorted(order)
    assert "$Capture.Session['local_groups_source']" in part
