"""Classes found importing published captures kept outside the repository (issue 12, the fresh set):
icacls ACE lines whose indentation a write-up dropped, an author's cut under a console-wide user-rights
line, and `net user` group names cut by its 21-character column. Fixtures of our own in each shape."""

from __future__ import annotations

from pathlib import Path

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.model import names, sids

PASTES = Path(__file__).parent / "pastes"
PARSERS = registry.builtin_parsers()


def imported(name: str, data: bytes | None = None) -> dict:
    raw = data if data is not None else (PASTES / name).read_bytes()
    return build_snapshot([Artifact(source=Path(name), path=name, data=raw)], host="WEB07", parsers=PARSERS)


def test_ace_lines_without_indentation_belong_to_the_path_above():
    snap = imported("icacls_unindented_de.txt")
    acls = {a["path"]: a for a in snap["acls"]}
    assert list(acls) == ["C:\\inetpub\\wwwroot", "C:\\inetpub\\wwwroot\\App_Data"]
    root = [(e["principal"], e["rights"]) for e in acls["C:\\inetpub\\wwwroot"]["aces"]]
    assert root == [
        ("VORDEFINIERT\\IIS_IUSRS", ["RX"]),
        ("NT-AUTORITÄT\\SYSTEM", ["F"]),
        ("VORDEFINIERT\\Administratoren", ["F"]),
        ("ERSTELLER-BESITZER", ["F"]),
        ("WEB07\\deploy", ["M"]),
    ]  # the integrity label is no access rule
    data = [(e["principal"], e["rights"]) for e in acls["C:\\inetpub\\wwwroot\\App_Data"]["aces"]]
    assert data == [("WEB07\\deploy", ["F"]), ("IIS APPPOOL\\Kundenportal", ["M"])]
    warned = [w for w in snap["collection"]["warnings"] if w["artifact"] == "icacls_unindented_de.txt"]
    assert [w["line"] for w in warned] == [3] and "without their indentation" in warned[0]["message"]


def test_indented_listings_are_read_as_before():
    text = (PASTES / "icacls_unindented_de.txt").read_text().splitlines()
    fixed = [text[0], text[1], *(" " * 8 + t for t in text[2:7]), text[7], " " * 17 + text[8], *text[9:]]
    snap = imported("icacls_indented.txt", "\n".join(fixed).encode())
    assert [a["path"] for a in snap["acls"]] == ["C:\\inetpub\\wwwroot", "C:\\inetpub\\wwwroot\\App_Data"]
    assert not [w for w in snap["collection"]["warnings"] if "indentation" in w["message"]]


def test_an_author_cut_is_never_part_of_a_holder_list():
    snap = imported("rights_cut_markers.txt")
    logon = snap["user_rights"]["SeServiceLogonRight"]
    assert logon[-1] == "S-1-5-80-1234567890-1234567890-1234567890-1234567890-12345"  # not `...[...]`
    assert snap["user_rights"]["SeImpersonatePrivilege"][-1] == sids.IIS_IUSRS
    cut = [w for w in snap["collection"]["warnings"] if "author cut" in w["message"]]
    assert [w["line"] for w in cut] == [4] and "may be incomplete" in cut[0]["message"]


def test_group_names_cut_by_net_user_get_their_full_names():
    snap = imported("netuser_truncated_groups.txt")
    (op,) = [p for p in snap["principals"] if (p.get("name") or "").endswith("kiosk_op")]
    assert op["member_of"] == [
        "WEB07\\Hyper-V Administrators",
        sids.REMOTE_MANAGEMENT_USERS,
        sids.PERFORMANCE_MONITOR_USERS,
        sids.USERS,
    ] or op["member_of"] == [
        "WEB07\\Hyper-V Administrators",
        "BUILTIN\\Remote Management Users",
        "BUILTIN\\Performance Monitor Users",
        "BUILTIN\\Users",
    ]
    # only a name exactly as wide as the column, and only when one known group fits
    assert names.untruncated_group("Remote Desktop Users") == "Remote Desktop Users"
    assert names.untruncated_group("Network Configuratio") == "Network Configuratio"
    assert names.untruncated_group("Network Configuration") == "Network Configuration Operators"


def test_appcmd_summary_lines_are_named_for_what_they_lack():
    """`appcmd list site` / `list apppool` without /config print one line per object: no identity, no
    path. Not a capture of identities; the reason says which command gives one, also inside a paste."""
    from iisguard.capture.detect import APPCMD_SUMMARY

    text = (
        'SITE "Lieferanten" (id:4,bindings:https/*:443:lieferanten.beispiel.test,state:Started)\r\n'
        'SITE "Default Web Site" (id:1,bindings:http/*:80:,net.tcp/808:*,state:Stopped)\r\n'
        'APPPOOL "Lieferanten" (MgdVersion:v4.0,MgdMode:Integrated,state:Started)\r\n'
    )
    snap_or_error = None
    try:
        snap_or_error = imported("appcmd.txt", text.encode())
    except Exception as exc:  # noqa: BLE001 - nothing else in the file: the import names it and stops
        snap_or_error = str(exc)
    assert APPCMD_SUMMARY in str(snap_or_error)
    paste = "PS C:\\> whoami /priv\n\nPRIVILEGES INFORMATION\n----------------------\n\n" + (
        "Privilege Name                Description                    State\n"
        "============================= ============================== =======\n"
        "SeChangeNotifyPrivilege       Bypass traverse checking       Enabled\n"
        "PS C:\\> C:\\Windows\\System32\\inetsrv\\appcmd.exe list site\n" + text.replace("\r\n", "\n")
    )
    snap = imported("session.txt", paste.encode())
    assert snap["tokens"]
    (listed,) = snap["collection"]["unrecognized"]
    assert listed["reason"].startswith("lines 9-12 (C:\\Windows\\System32\\inetsrv\\appcmd.exe): appcmd list")
