"""icacls listings as captured: prompts, several paths, paths with spaces, /T, errors, languages, streaming."""

from __future__ import annotations

import tracemalloc

import pytest

from iisguard.capture.base import Artifact, Builder
from iisguard.capture.icacls import PARSERS
from iisguard.model import rights, sids


def summary(acl):
    """(principal, type, rights, inherited, inheritance) per ACE: what a reader writes down."""
    return [(a["principal"], a["type"], a["rights"], a["inherited"], a["inheritance"]) for a in acl["aces"]]


def test_default_wwwroot_after_a_cmd_prompt_and_banner(parse):
    r = parse("icacls", "icacls/wwwroot_cmd_prompt.txt")
    acl = r.acl("C:\\inetpub\\wwwroot")  # relative to the prompt's folder
    assert summary(acl)[:3] == [
        ("BUILTIN\\IIS_IUSRS", "allow", ["RX"], False, ["OI", "CI"]),
        ("NT SERVICE\\TrustedInstaller", "allow", ["F"], True, []),
        ("NT SERVICE\\TrustedInstaller", "allow", ["F"], True, ["OI", "CI", "IO"]),
    ]
    assert len(acl["aces"]) == 12
    users_io = acl["aces"][8]
    assert (users_io["principal"], users_io["rights"], users_io["inheritance"]) == (
        "BUILTIN\\Users",
        ["GR", "GE"],
        ["OI", "CI", "IO"],
    )
    assert users_io["sid"] == sids.USERS
    assert acl["aces"][9]["principal"] == "CREATOR OWNER" and acl["aces"][9]["sid"] == sids.CREATOR_OWNER
    assert acl["aces"][10]["sid"] == sids.ALL_APP_PACKAGES
    assert acl["evidence"] == {"artifact": "wwwroot_cmd_prompt.txt", "line": 5}
    assert [a["evidence"]["line"] for a in acl["aces"]] == list(range(5, 17))
    assert r.warnings == []
    assert r.status("acls") == "ok"


def test_several_paths_with_spaces_errors_and_summary(parse):
    r = parse("icacls", "icacls/multi_path_spaces_errors.txt")
    assert [a["path"] for a in r.data["acls"]] == [
        "C:\\inetpub\\wwwroot",
        "D:\\Web Sites\\Contoso Shop",
        "D:\\Web Sites\\Contoso Shop\\App_Data",
    ]
    shop = r.acl("D:\\Web Sites\\Contoso Shop")
    assert summary(shop) == [
        ("IIS APPPOOL\\Contoso Shop", "allow", ["RX"], False, ["OI", "CI"]),
        ("CORP\\Web Admins", "allow", ["M", "WO", "DC"], False, ["OI", "CI"]),
        ("NT AUTHORITY\\NETWORK", "deny", ["W", "D", "DC"], False, ["OI", "CI"]),
        ("S-1-5-21-1004336348-1177238915-682003330-1135", "allow", ["RX", "W"], False, ["OI", "CI"]),
        ("BUILTIN\\Administrators", "allow", ["F"], False, ["OI", "CI"]),
    ]
    assert shop["aces"][0]["sid"] == sids.app_pool_sid("Contoso Shop")
    assert shop["aces"][3]["sid"] == "S-1-5-21-1004336348-1177238915-682003330-1135"
    assert "sid" not in shop["aces"][1]  # a domain group's SID is not in the text
    # a single-ACE path with spaces: the principal was seen above, so the path ends before it
    assert summary(r.acl("D:\\Web Sites\\Contoso Shop\\App_Data")) == [
        ("IIS APPPOOL\\Contoso Shop", "allow", ["M"], False, ["OI", "CI"])
    ]
    assert r.acl("C:\\inetpub\\wwwroot")["aces"][1]["principal"] == "Everyone"
    assert [(w["line"], w["message"]) for w in r.warnings] == [
        (15, "icacls: D:\\Missing Folder: The system cannot find the file specified."),
        (16, "icacls: C:\\inetpub\\temp\\appPools: Access is denied."),
        (17, "icacls: failed to process 2 file(s); their ACLs are missing"),
    ]
    assert r.status("acls") == "partial"


def test_recursive_listing(parse):
    r = parse("icacls", "icacls/recursive_T.txt")
    assert [a["path"] for a in r.data["acls"]] == [
        "C:\\inetpub\\wwwroot",
        "C:\\inetpub\\wwwroot\\iisstart.htm",
        "C:\\inetpub\\wwwroot\\uploads",
        "C:\\inetpub\\wwwroot\\uploads\\read me.txt",
        "C:\\inetpub\\wwwroot\\web.config",
    ]
    unresolved = r.acl("C:\\inetpub\\wwwroot")["aces"][4]
    assert unresolved["principal"] == unresolved["sid"] == "S-1-5-21-3623811015-3361044348-30300820-1013"
    uploads = r.acl("C:\\inetpub\\wwwroot\\uploads")
    iusr = uploads["aces"][0]
    assert (iusr["principal"], iusr["sid"], iusr["rights"]) == ("NT AUTHORITY\\IUSR", sids.IUSR, ["W", "D"])
    assert rights.is_write_class(iusr["rights"])
    assert all(a["inherited"] for a in r.acl("C:\\inetpub\\wwwroot\\iisstart.htm")["aces"])
    assert summary(r.acl("C:\\inetpub\\wwwroot\\uploads\\read me.txt")) == [
        ("BUILTIN\\Administrators", "allow", ["F"], False, [])
    ]
    append = r.acl("C:\\inetpub\\wwwroot\\web.config")["aces"][2]
    assert (append["principal"], append["sid"], append["rights"]) == (
        "NT AUTHORITY\\Authenticated Users",
        sids.AUTHENTICATED_USERS,
        ["AD"],
    )
    assert rights.is_write_class(append["rights"])
    assert r.warnings == []


def test_german_principals_and_summary(parse):
    r = parse("icacls", "icacls/wwwroot_de.txt")
    acl = r.acl("C:\\inetpub\\wwwroot")
    by_principal = {a["principal"]: a for a in acl["aces"]}
    assert by_principal["VORDEFINIERT\\IIS_IUSRS"]["sid"] == sids.IIS_IUSRS
    assert by_principal["VORDEFINIERT\\Administratoren"]["sid"] == sids.ADMINISTRATORS
    assert by_principal["NT-AUTORITÄT\\SYSTEM"]["sid"] == sids.LOCAL_SYSTEM
    assert by_principal["ERSTELLER-BESITZER"]["sid"] == sids.CREATOR_OWNER
    everyone = by_principal["Jeder"]
    assert (everyone["sid"], everyone["rights"], everyone["inherited"]) == (sids.EVERYONE, ["W"], False)
    assert r.warnings == [] and r.status("acls") == "ok"


def test_french_deny_and_spaces_in_path(parse):
    r = parse("icacls", "icacls/intranet_fr.txt")
    acl = r.acl("D:\\Sites Web\\Intranet")
    assert [a.get("sid") for a in acl["aces"]] == [
        sids.LOCAL_SYSTEM,
        sids.ADMINISTRATORS,
        sids.USERS,
        sids.AUTHENTICATED_USERS,
        sids.CREATOR_OWNER,
        sids.EVERYONE,
    ]
    deny = acl["aces"][-1]
    assert (deny["principal"], deny["type"], deny["rights"]) == ("Tout le monde", "deny", ["WDAC", "WO"])
    assert r.status("acls") == "ok"


def test_spanish_failures_make_the_section_partial(parse):
    r = parse("icacls", "icacls/portal_es_errors.txt")
    assert summary(r.acl("E:\\Datos Web\\Portal Clientes")) == [
        ("BUILTIN\\Usuarios", "allow", ["F"], False, ["OI", "CI"])
    ]
    assert r.acl("E:\\Datos Web\\Portal Clientes")["aces"][0]["sid"] == sids.USERS
    assert r.messages == [
        "icacls: E:\\Logs: Acceso denegado.",
        "icacls: failed to process 1 file(s); their ACLs are missing",
    ]
    assert r.status("acls") == "partial"


@pytest.mark.parametrize(
    ("line", "path", "principal"),
    [
        ("C:\\My Dir\\file.txt Everyone:(R)", "C:\\My Dir\\file.txt", "Everyone"),
        ("C:\\Program Files\\Shop App CORP\\svc web:(F)", "C:\\Program Files\\Shop App", "CORP\\svc web"),
        ("D:\\ BUILTIN\\Users:(RX)", "D:\\", "BUILTIN\\Users"),
        ("C:\\data\\a b\\c d *S-1-5-21-1-2-3-1001:(OI)(CI)(F)", "C:\\data\\a b\\c d", "S-1-5-21-1-2-3-1001"),
        (
            "C:\\Web Root\\site NT AUTHORITY\\Authenticated Users:(M)",
            "C:\\Web Root\\site",
            "NT AUTHORITY\\Authenticated Users",
        ),
        ("E:\\Données\\Tout Tout le monde:(R)", "E:\\Données\\Tout", "Tout le monde"),
        ("C:\\x\\CREATOR OWNER CREATOR OWNER:(OI)(CI)(IO)(F)", "C:\\x\\CREATOR OWNER", "CREATOR OWNER"),
    ],
)
def test_single_ace_paths_split_by_what_the_principal_looks_like(parse, line, path, principal):
    r = parse("icacls", line + "\n\nSuccessfully processed 1 files; Failed processing 0 files\n")
    acl = r.data["acls"][0]
    assert (acl["path"], acl["aces"][0]["principal"]) == (path, principal)


def test_utf16_capture_from_windows_powershell(parse, captures, to_utf16):
    text = (captures / "icacls/multi_path_spaces_errors.txt").read_text("utf-8")
    r = parse("icacls", to_utf16(text))
    assert len(r.data["acls"]) == 3
    assert r.acl("D:\\Web Sites\\Contoso Shop")["aces"][1]["rights"] == ["M", "WO", "DC"]


def test_stderr_merged_by_powershell(parse):
    text = (
        "PS C:\\> icacls C:\\inetpub\\wwwroot\\secret 2>&1\n"
        "icacls.exe : C:\\inetpub\\wwwroot\\secret: Access is denied.\n"
        "At line:1 char:1\n"
        "+ icacls C:\\inetpub\\wwwroot\\secret 2>&1\n"
        "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
        "    + CategoryInfo          : NotSpecified: (C:\\inetpub\\...ccess is denied.:String) [], RemoteException\n"
        "    + FullyQualifiedErrorId : NativeCommandError\n"
        "\n"
        "Successfully processed 0 files; Failed processing 1 files\n"
    )
    r = parse("icacls", text)
    assert r.messages[0] == "icacls: C:\\inetpub\\wwwroot\\secret: Access is denied."
    assert r.status("acls") == "partial"
    assert "acls" not in r.data or r.data["acls"] == []


def test_a_path_wrapped_by_the_console_is_joined(parse):
    long_dir = "C:\\inetpub\\wwwroot\\" + "a" * 70
    first, rest = long_dir[:80], long_dir[80:]
    text = f"{first}\n{rest}\\b.txt NT AUTHORITY\\SYSTEM:(I)(F)\n{' ' * (len(long_dir) + 7)}BUILTIN\\Users:(I)(RX)\n"
    r = parse("icacls", text)
    acl = r.acl(long_dir + "\\b.txt")
    assert [a["principal"] for a in acl["aces"]] == ["NT AUTHORITY\\SYSTEM", "BUILTIN\\Users"]


def test_integrity_labels_are_not_access_rules(parse):
    text = "C:\\x NT AUTHORITY\\SYSTEM:(F)\n     Mandatory Label\\Low Mandatory Level:(OI)(CI)(NW)\n"
    r = parse("icacls", text)
    assert [a["principal"] for a in r.acl("C:\\x")["aces"]] == ["NT AUTHORITY\\SYSTEM"]
    assert r.warnings == []


def test_unreadable_lines_are_warnings(parse):
    text = "C:\\x NT AUTHORITY\\SYSTEM:(F)\n     BUILTIN\\Users:(I)(\n\njust some words here\n"
    r = parse("icacls", text)
    assert [a["principal"] for a in r.acl("C:\\x")["aces"]] == ["NT AUTHORITY\\SYSTEM"]
    assert [w["line"] for w in r.warnings] == [2, 4]


def _listing(files: int) -> bytes:
    aces = [
        "BUILTIN\\IIS_IUSRS:(I)(RX)",
        "NT AUTHORITY\\SYSTEM:(I)(F)",
        "BUILTIN\\Administrators:(I)(F)",
        "BUILTIN\\Users:(I)(RX)",
    ]
    out = ["C:\\>icacls C:\\inetpub\\wwwroot /T /C"]
    for i in range(files):
        path = f"C:\\inetpub\\wwwroot\\site {i // 100}\\file {i}.aspx"
        out.append(f"{path} {aces[0]}")
        out += [" " * (len(path) + 1) + a for a in aces[1:]]
    out += ["", f"Successfully processed {files} files; Failed processing 0 files"]
    return ("\r\n".join(out) + "\r\n").encode("utf-16-le")


class _Sink(list):
    """A list that spills: it keeps nothing, and checks every ACL is complete when appended."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def append(self, acl):  # noqa: D401
        assert len(acl["aces"]) == 4, acl
        self.count += 1


def test_large_recursive_listing_streams_in_bounded_memory(tmp_path):
    files = 12_000  # a 7 MB UTF-16 file with 48 000 ACE lines
    path = tmp_path / "icacls-T.txt"
    path.write_bytes(_listing(files))
    b = Builder(host="T")
    b.data["acls"] = _Sink()
    artifact = Artifact(source=path, path="icacls-T.txt")
    tracemalloc.start()
    try:
        PARSERS[0].parse(artifact, b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert b.data["acls"].count == files
    assert b.warnings == []
    # read in 1 MB chunks: the peak is a few chunks and caches, whatever the file size
    assert peak < 6 * 1024 * 1024, peak  # about 4 MB: 1 MB chunks, their decoded text, caches
    assert path.stat().st_size > 6 * 1024 * 1024


def test_detect():
    p = PARSERS[0]
    assert p.detect("C:\\x NT AUTHORITY\\SYSTEM:(F)\n    BUILTIN\\Users:(I)(RX)\n", "x.txt") >= 0.9
    assert p.detect("PRIVILEGES INFORMATION\nSeShutdownPrivilege x Disabled", "acl.txt") == 0.0


def test_an_admin_share_names_the_host(parse):
    r = parse("icacls", "\\\\WEB01\\c$\\inetpub\\wwwroot NT AUTHORITY\\SYSTEM:(OI)(CI)(F)\n")
    assert r.builder.host_candidates == ["WEB01"]
    r = parse("icacls", "\\\\fileserver\\content\\shop NT AUTHORITY\\SYSTEM:(OI)(CI)(F)\n")
    assert r.builder.host_candidates == []  # a content share is another machine
