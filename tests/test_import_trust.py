"""`iisguard import` fails closed: nothing recognized is exit 2, files are named for what they are,
a parser does not claim a file it mostly cannot read, several hosts are never merged into one,
`-o -` writes the snapshot to standard output, and the first warnings are shown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iisguard.cli import main
from iisguard.model import snapshot

from .conftest import FIXTURES, ROOT

DEMO = FIXTURES / "hosts" / "demo-misconfigured"
GOLDEN = ROOT / "tests" / "golden"


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def notes(path: Path) -> Path:
    """A change ticket that quotes two icacls lines: icacls scores it, but cannot read 40 of its lines."""
    lines = [
        r"C:\inetpub\wwwroot BUILTIN\Users:(OI)(CI)(RX)",
        r"                   NT AUTHORITY\SYSTEM:(OI)(CI)(F)",
    ]
    lines += [f"ticket line {i}: the web team asked for a change on the server" for i in range(40)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.mark.parametrize(
    ("source", "looks_like"),
    [
        (ROOT / "README.md", "lines 1-"),  # a paste of several "commands": each part named with its lines
        (GOLDEN / "report.sarif", "a SARIF log, not a capture"),
        (GOLDEN / "report.json", "an iisguard findings report (JSON), not a capture"),
        (GOLDEN / "report.junit.xml", "a JUnit report, not a capture"),
        (DEMO / "snapshot.json", "an iisguard snapshot: scan it directly"),
        (ROOT / "core" / "iisguard" / "policies" / "examples" / "acme-policy.yaml", "an iisguard policy"),
    ],
)
def test_nothing_recognized_is_exit_2_naming_each_file(capsys, tmp_path, monkeypatch, source, looks_like):
    monkeypatch.chdir(tmp_path)
    shutil.copy(source, tmp_path / source.name)
    code, out, err = run(capsys, "import", source.name, "-o", "x.json")
    assert code == 2
    assert "nothing imported" in err
    assert f"  {source.name}: {looks_like}" in err
    assert not (tmp_path / "x.json").exists()
    assert "Traceback" not in err and out == ""


def test_a_snapshot_or_sarif_is_not_read_as_whoami_or_icacls_beside_real_captures(capsys, tmp_path):
    cap = shutil.copytree(DEMO / "captures", tmp_path / "cap")
    shutil.copy(DEMO / "snapshot.json", cap / "old-snapshot.json")
    shutil.copy(GOLDEN / "report.sarif", cap / "last.sarif")
    code, _, err = run(capsys, "import", cap, "-o", tmp_path / "s.json")
    assert code == 0, err
    data = json.loads((tmp_path / "s.json").read_text("utf-8"))
    reasons = {u["path"]: u["reason"] for u in data["collection"]["unrecognized"]}
    assert reasons == {
        "cap/last.sarif": "a SARIF log, not a capture",
        "cap/old-snapshot.json": "an iisguard snapshot: scan it directly",
    }
    assert data["collection"]["warnings"] == []  # before: ~3,800 warnings from whoami and icacls


def test_a_parser_does_not_claim_a_file_it_mostly_cannot_read(capsys, tmp_path):
    cap = shutil.copytree(DEMO / "captures", tmp_path / "cap")
    notes(cap / "ticket.txt")
    code, _, err = run(capsys, "import", cap, "-o", tmp_path / "s.json")
    assert code == 0, err
    data = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert data["collection"]["unrecognized"] == [
        {
            "path": "cap/ticket.txt",
            "reason": "40 of its 42 lines could not be read as icacls output, the closest format; not imported",
        }
    ]
    assert not any(w["artifact"] == "cap/ticket.txt" for w in data["collection"]["warnings"])
    assert {"path": "cap/ticket.txt", "kind": "unrecognized"}.items() <= next(
        a for a in data["collection"]["artifacts"] if a["path"] == "cap/ticket.txt"
    ).items()
    # ... and the rest of the capture is imported as without the ticket.
    assert run(capsys, "import", DEMO / "captures", "-o", tmp_path / "plain.json")[0] == 0
    plain = json.loads((tmp_path / "plain.json").read_text("utf-8"))
    assert [a["path"] for a in data["acls"]] == [a["path"] for a in plain["acls"]]
    assert data["collection"]["sections"] == plain["collection"]["sections"]
    # A file read with --kind or named in capture.yaml is read as told, whatever it skips.
    code, _, err = run(
        capsys, "import", cap / "ticket.txt", "--kind", "icacls", "-o", tmp_path / "forced.json"
    )
    assert code == 0 and "40 warning(s)" in err


def test_captures_of_several_hosts_are_not_merged(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for host in ("farm-web01", "farm-web02"):
        shutil.copytree(FIXTURES / "hosts" / host / "captures", tmp_path / host)
    code, out, err = run(capsys, "import", "farm-web01", "farm-web02", "-o", "farm.json")
    assert code == 2
    assert "the captures are of 2 hosts: FARM-WEB01 (12 file(s)), FARM-WEB02 (12 file(s))" in err
    assert "-o DIR" in err and not Path("farm.json").exists()

    code, out, err = run(capsys, "import", "farm-web01", "farm-web02", "-o", "snaps/")
    assert code == 0, err
    assert sorted(p.name for p in Path("snaps").iterdir()) == ["FARM-WEB01.json", "FARM-WEB02.json"]
    for name in ("FARM-WEB01", "FARM-WEB02"):
        snap = snapshot.load(f"snaps/{name}.json")
        assert snap.data["host"]["name"] == name
        # Artifact paths are relative to the snapshot's folder, so captures and snapshots move together.
        assert all(a["path"].startswith(f"../{name.lower()}/") for a in snap.data["collection"]["artifacts"])
        assert f"-> snaps/{name}.json" in err
    # An existing folder works without the trailing slash; a second run does not read its own output.
    code, _, err = run(capsys, "import", ".", "-o", "snaps")
    assert code == 0, err
    assert sorted(p.name for p in Path("snaps").iterdir()) == ["FARM-WEB01.json", "FARM-WEB02.json"]

    code, _, err = run(capsys, "import", "farm-web01", "farm-web02", "-o", "snaps", "--host", "X")
    assert code == 2 and "--host names one host, but the captures are of 2" in err


def test_output_dash_writes_the_snapshot_to_stdout(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "import", DEMO / "captures", "-o", "-")
    assert code == 0, err
    assert not Path("-").exists()
    data = json.loads(out)
    assert snapshot.problems(data) == []
    committed = json.loads((DEMO / "snapshot.json").read_text("utf-8"))
    assert data["host"]["name"] == "WEB-LEGACY01"
    assert [a["path"] for a in data["acls"]] == [a["path"] for a in committed["acls"]]
    assert err.startswith("iisguard: imported WEB-LEGACY01:") and "-> standard output" in err


def test_import_shows_the_first_warnings_and_where_the_rest_are(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cap = tmp_path / "cap"
    cap.mkdir()
    body = "".join(f"Se{i}Nonsense  Not a privilege at all {i}\n" for i in range(8))
    (cap / "whoami-priv.txt").write_text(
        "PRIVILEGES INFORMATION\n----------------------\n\n"
        "Privilege Name                Description                    State\n"
        "============================= ============================== ========\n"
        "SeChangeNotifyPrivilege       Bypass traverse checking       Enabled\n"
        "SeImpersonatePrivilege        Impersonate a client           Enabled\n"
        "SeCreateGlobalPrivilege       Create global objects          Enabled\n"
        "SeIncreaseWorkingSetPrivilege Increase a process working set Disabled\n"
        "SeTimeZonePrivilege           Change the time zone           Disabled\n"
        "SeShutdownPrivilege           Shut down the system           Disabled\n"
        "SeUndockPrivilege             Remove computer from docking   Disabled\n"
        "SeAuditPrivilege              Generate security audits       Enabled\n"
        "SeBackupPrivilege             Back up files and directories  Disabled\n"
        "SeRestorePrivilege            Restore files and directories  Disabled\n"
        "SeDebugPrivilege              Debug programs                 Disabled\n" + body,
        "utf-8",
    )
    code, _, err = run(capsys, "import", "cap", "-o", "out/s.json")
    assert code == 0, err
    data = json.loads(Path("out/s.json").read_text("utf-8"))
    warnings = data["collection"]["warnings"]
    assert len(warnings) > 5, warnings
    lines = err.splitlines()
    assert lines[0].startswith("iisguard: imported") and f"{len(warnings)} warning(s)" in lines[0]
    for w, line in zip(warnings[:5], lines[1:6], strict=True):
        # file:line: what, with the path as seen from the working directory (not from out/).
        assert line == f"  cap/whoami-priv.txt:{w['line']}: {w['message']}"
    assert lines[6] == f"  ... {len(warnings) - 5} more warning(s) in collection.warnings of out/s.json"


# Pastes without a capture.yaml whose content names the machine: a `hostname` block, a remote prompt,
# systeminfo's Host Name, `net user`'s `User accounts for \\HOST` header.
KIOSK_PASTE = """C:\\Users\\op>hostname
KIOSK-07

C:\\Users\\op>whoami /priv

PRIVILEGES INFORMATION
----------------------

Privilege Name                Description                    State
============================= ============================== ========
SeChangeNotifyPrivilege       Bypass traverse checking       Enabled
SeIncreaseWorkingSetPrivilege Increase a process working set Disabled
"""
PORTAL_PASTE = """[portal-02.corp.example]: PS C:\\inetpub> icacls wwwroot
wwwroot BUILTIN\\IIS_IUSRS:(OI)(CI)(RX)
        NT AUTHORITY\\SYSTEM:(OI)(CI)(F)

Successfully processed 1 files; Failed processing 0 files
"""
NET_USERS = """
User accounts for \\\\ARCHIV-01

-------------------------------------------------------------------------------
Administrator            Guest                    scan_reader
The command completed successfully.
"""


def test_pastes_naming_two_machines_are_not_merged(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("kiosk.txt").write_text(KIOSK_PASTE)
    Path("portal.txt").write_bytes(PORTAL_PASTE.replace("\n", "\r\n").encode("utf-16"))
    code, _, err = run(capsys, "import", "kiosk.txt", "portal.txt", "-o", "both.json")
    assert code == 2 and not Path("both.json").exists()
    assert "the captures name 2 hosts: KIOSK-07 (kiosk.txt); PORTAL-02 (portal.txt)" in err
    # -o DIR: one snapshot per machine, each with only its own file
    code, _, err = run(capsys, "import", "kiosk.txt", "portal.txt", "-o", "snaps/")
    assert code == 0, err
    assert sorted(p.name for p in Path("snaps").iterdir()) == ["KIOSK-07.json", "PORTAL-02.json"]
    kiosk = snapshot.load("snaps/KIOSK-07.json").data
    assert [a["path"] for a in kiosk["collection"]["artifacts"]] == ["../kiosk.txt"]
    assert kiosk["tokens"] and not kiosk.get("acls")
    assert not kiosk["collection"]["unrecognized"] and not kiosk["collection"]["warnings"]  # hostname: read
    portal = snapshot.load("snaps/PORTAL-02.json").data
    assert [a["path"] for a in portal["acls"]] == ["C:\\inetpub\\wwwroot"]
    # one machine named twice (hostname and net user's header) is one host
    Path("users.txt").write_text(NET_USERS.replace("ARCHIV-01", "KIOSK-07"))
    code, _, err = run(capsys, "import", "kiosk.txt", "users.txt", "-o", "one.json")
    assert code == 0, err
    assert snapshot.load("one.json").data["host"]["name"] == "KIOSK-07"


def test_a_file_naming_two_machines_or_none_stops_a_per_host_import(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("kiosk.txt").write_text(KIOSK_PASTE)
    Path("mixed.txt").write_text(PORTAL_PASTE + "\n[archiv-01]: PS C:\\> net user\n" + NET_USERS)
    code, _, err = run(capsys, "import", "kiosk.txt", "mixed.txt", "-o", "snaps/")
    assert code == 2
    assert "mixed.txt (PORTAL-02, ARCHIV-01) hold captures of several of them" in err
    Path("mixed.txt").write_text(PORTAL_PASTE)
    Path("plain.txt").write_text("SeDebugPrivilege = *S-1-5-32-544\n")
    code, _, err = run(capsys, "import", "kiosk.txt", "mixed.txt", "plain.txt", "-o", "snaps2/")
    assert code == 2 and "plain.txt name none of them" in err
    # --host says which machine: the content's names do not split it
    code, _, err = run(capsys, "import", "kiosk.txt", "mixed.txt", "-o", "x.json", "--host", "WEB09")
    assert code == 0, err
