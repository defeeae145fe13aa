"""SDDL strings, icacls /save files and Get-Acl | Format-List (wrapped Sddl, Access lines)."""

from __future__ import annotations

from iisguard.capture.sddl import PARSERS, parse_sd, resolve_account
from iisguard.model import sids

TI = sids.TRUSTED_INSTALLER
POOL = sids.app_pool_sid("DefaultAppPool")


def summary(acl):
    return [
        (a["principal"], a["type"], a["rights"], a.get("inherited"), a.get("inheritance"))
        for a in acl["aces"]
    ]


def test_get_acl_format_list_with_a_wrapped_sddl(parse):
    r = parse("sddl", "sddl/getacl_fl_wrapped.txt")
    acl = r.acl("C:\\inetpub\\wwwroot")  # the provider prefix is gone
    assert acl["owner"] == "NT SERVICE\\TrustedInstaller"
    assert acl["protected"] is True  # D:PAI
    assert summary(acl) == [
        ("CREATOR OWNER", "allow", ["F"], False, ["OI", "CI", "IO"]),
        ("NT AUTHORITY\\SYSTEM", "allow", ["F"], False, ["OI", "CI", "IO"]),
        ("NT AUTHORITY\\SYSTEM", "allow", ["F"], False, []),
        ("BUILTIN\\Administrators", "allow", ["F"], False, ["OI", "CI", "IO"]),
        ("BUILTIN\\Administrators", "allow", ["F"], False, []),
        ("BUILTIN\\Users", "allow", ["GR", "GE"], False, ["OI", "CI", "IO"]),
        ("BUILTIN\\Users", "allow", ["RX"], False, []),
        ("NT SERVICE\\TrustedInstaller", "allow", ["F"], False, ["CI", "IO"]),
        ("NT SERVICE\\TrustedInstaller", "allow", ["F"], False, []),
        ("APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES", "allow", ["RX"], False, []),
        (
            "APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES",
            "allow",
            ["GR", "GE"],
            False,
            ["OI", "CI", "IO"],
        ),
        ("BUILTIN\\IIS_IUSRS", "allow", ["RX"], False, ["OI", "CI"]),
        (POOL, "allow", ["M"], False, ["OI", "CI"]),  # the pool's SID was split across two lines
    ]
    assert acl["aces"][7]["sid"] == TI
    assert acl["aces"][0]["evidence"]["line"] == 21  # the Sddl line
    assert acl["evidence"]["line"] == 4  # the Path line
    uploads = r.acl("D:\\Web Sites\\Contoso Shop\\uploads")
    assert uploads["owner"] == "BUILTIN\\Administrators"
    assert summary(uploads)[:2] == [
        ("Everyone", "deny", ["DE"], False, ["OI", "CI"]),
        ("Everyone", "allow", ["M"], False, ["OI", "CI"]),
    ]
    assert r.warnings == [] and r.status("acls") == "ok"


def test_access_lines_without_sddl(parse):
    r = parse("sddl", "sddl/getacl_accesstostring.txt")
    acl = r.acl("C:\\inetpub\\logs")
    assert acl["owner"] == "NT AUTHORITY\\SYSTEM"
    assert "protected" not in acl  # Access lines do not show it
    assert [(a["principal"], a["type"], a["rights"]) for a in acl["aces"]] == [
        ("NT AUTHORITY\\SYSTEM", "allow", ["F"]),
        ("BUILTIN\\Administrators", "allow", ["F"]),
        ("BUILTIN\\Users", "allow", ["RX"]),
        ("BUILTIN\\Users", "allow", ["GR", "GE"]),  # -1610612736
        ("CORP\\svc_logship", "allow", ["RX", "W"]),  # Write, ReadAndExecute, Synchronize
    ]
    assert "inherited" not in acl["aces"][0]
    assert acl["aces"][2]["sid"] == sids.USERS
    assert [a["evidence"]["line"] for a in acl["aces"]] == [5, 6, 7, 8, 9]


def test_access_shown_as_objects_is_not_an_empty_acl(parse):
    r = parse("sddl", "sddl/getacl_select_access_objects.txt")
    assert r.data.get("acls", []) == []  # an ACL without ACEs would say nobody has access
    assert "lists objects, not rules" in r.messages[0]
    assert r.status("acls") == "partial"


def test_plain_sddl_lines(parse):
    r = parse("sddl", "sddl/plain_lines.txt")
    wwwroot = r.acl("C:\\inetpub\\wwwroot")  # path<TAB>sddl
    assert wwwroot["owner"] == "BUILTIN\\Administrators" and wwwroot["protected"] is True
    assert [a["principal"] for a in wwwroot["aces"]] == [
        "NT AUTHORITY\\SYSTEM",
        "BUILTIN\\Administrators",
        "BUILTIN\\IIS_IUSRS",
        "BUILTIN\\Users",
    ]
    temp = r.acl("C:\\inetpub\\temp")  # path: sddl
    assert temp["protected"] is False
    assert summary(temp) == [
        ("NT AUTHORITY\\SYSTEM", "allow", ["F"], True, ["OI", "CI"]),
        ("BUILTIN\\Administrators", "allow", ["F"], True, ["OI", "CI"]),
        ("CREATOR OWNER", "allow", ["F"], True, ["OI", "CI", "IO"]),
        ("Domain Users", "allow", ["M"], False, ["OI", "CI"]),  # DU: domain-relative, no SID
        ("Administrator", "allow", ["F"], False, []),  # LA
    ]
    assert "sid" not in temp["aces"][3]
    anonymous = r.acl("plain_lines.txt:3")  # no path: named after the file and line, with a warning
    assert anonymous["aces"][1]["principal"] == "NT AUTHORITY\\ANONYMOUS LOGON"
    assert anonymous["aces"][1]["rights"] == ["W", "RC"]  # FILE_GENERIC_WRITE
    null_dacl = r.acl("plain_lines.txt:4")
    assert summary(null_dacl) == [("Everyone", "allow", ["F"], False, [])]
    assert any("null DACL" in m for m in r.messages)
    assert any(w["line"] == 5 and "not a readable security descriptor" in w["message"] for w in r.warnings)
    assert r.status("acls") == "partial"


def test_icacls_save_file(parse, to_utf16):
    text = (
        "wwwroot\r\n"
        "D:PAI(A;OICI;0x1200a9;;;IS)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)\r\n"
        "wwwroot\\iisstart.htm\r\n"
        "D:AI(A;ID;0x1200a9;;;IS)(A;ID;FA;;;SY)(A;ID;FA;;;BA)\r\n"
    )
    r = parse("sddl", to_utf16(text, bom=False), hint={})
    assert [a["path"] for a in r.data["acls"]] == ["wwwroot", "wwwroot\\iisstart.htm"]
    assert r.acl("wwwroot")["protected"] is True
    assert all(a["inherited"] for a in r.acl("wwwroot\\iisstart.htm")["aces"])
    assert r.acl("wwwroot")["evidence"]["line"] == 1 and r.acl("wwwroot")["aces"][0]["evidence"]["line"] == 2
    assert r.warnings == []


def test_hint_names_the_path_of_a_bare_descriptor(parse):
    r = parse("sddl", "O:BAG:SYD:PAI(A;;FA;;;BA)\n", hint={"acl_path": "C:\\inetpub\\wwwroot"})
    assert r.acl("C:\\inetpub\\wwwroot")["aces"][0]["principal"] == "BUILTIN\\Administrators"
    assert r.warnings == []


def test_parse_sd_components_and_conditional_aces():
    sd = parse_sd('O:DGG:DGD:(A;;FA;;;DG)(XA;;FX;;;S-1-1-0;(@User.Title=="PM" && (@User.Dept=="x")))')
    assert sd is not None
    assert sd.owner == "DG"
    assert [(a.type, a.account) for a in sd.aces] == [("allow", "DG"), ("allow", "S-1-1-0")]
    assert parse_sd("not sddl") is None
    assert parse_sd("D:(A;;FA;;;SY") is None  # unbalanced
    bad = parse_sd("D:(A;ZZ;FA;;;SY)(A;;QQ;;;SY)(AU;SA;FA;;;WD)")
    assert bad is not None and bad.aces == [] and len(bad.problems) == 3


def test_resolve_account():
    assert resolve_account("BU") == ("BUILTIN\\Users", sids.USERS)
    assert resolve_account("IS") == ("BUILTIN\\IIS_IUSRS", sids.IIS_IUSRS)
    assert resolve_account("LA") == ("Administrator", None)
    assert resolve_account("DA") == ("Domain Admins", None)
    assert resolve_account("s-1-5-17") == ("NT AUTHORITY\\IUSR", sids.IUSR)
    assert resolve_account(POOL) == (POOL, POOL)


def test_detect(captures):
    p = PARSERS[0]
    assert p.detect((captures / "sddl/getacl_fl_wrapped.txt").read_text("utf-8"), "x.txt") >= 0.9
    assert p.detect((captures / "sddl/plain_lines.txt").read_text("utf-8"), "x.txt") >= 0.8
    assert p.detect("C:\\x NT AUTHORITY\\SYSTEM:(F)\n", "x.txt") == 0.0
