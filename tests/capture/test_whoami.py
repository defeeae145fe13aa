"""whoami /priv, /groups, /all as captured: tables, CSV, lists, localized states, wrapped rows, encodings."""

from __future__ import annotations

import pytest

from iisguard.capture.whoami import PARSERS
from iisguard.model import sids

APPPOOL_PRIVS = {
    "SeAssignPrimaryTokenPrivilege": False,
    "SeIncreaseQuotaPrivilege": False,
    "SeAuditPrivilege": False,
    "SeChangeNotifyPrivilege": True,
    "SeImpersonatePrivilege": True,
    "SeCreateGlobalPrivilege": True,
    "SeIncreaseWorkingSetPrivilege": False,
}


def privs(result, index=0):
    return {p["name"]: p["enabled"] for p in result.data["tokens"][index]["privileges"]}


def test_priv_table_after_a_powershell_prompt(parse):
    r = parse("whoami", "whoami/priv_apppool_en.txt")
    assert privs(r) == APPPOOL_PRIVS
    token = r.data["tokens"][0]
    assert token["identity"] is None  # nothing in the text says whose token it is
    assert token["source_artifact"] == "priv_apppool_en.txt"
    impersonate = next(p for p in token["privileges"] if p["name"] == "SeImpersonatePrivilege")
    assert impersonate["evidence"] == {"artifact": "priv_apppool_en.txt", "line": 12}
    assert r.warnings == []
    assert r.status("tokens") == "ok"


def test_identity_comes_from_the_manifest_hint(parse):
    r = parse("whoami", "whoami/priv_apppool_en.txt", hint={"token_identity": "IIS APPPOOL\\DefaultAppPool"})
    assert r.data["tokens"][0]["identity"] == "IIS APPPOOL\\DefaultAppPool"


def test_german_states_after_a_cmd_prompt(parse):
    r = parse("whoami", "whoami/priv_de.txt")
    p = privs(r)
    assert len(p) == 11
    assert p["SeDebugPrivilege"] is True
    assert p["SeImpersonatePrivilege"] is True
    assert p["SeShutdownPrivilege"] is False
    assert p["SeBackupPrivilege"] is False
    assert r.warnings == []


def test_french_rows_without_any_header(parse):
    r = parse("whoami", "whoami/priv_fr_noheader.txt")
    assert privs(r) == {
        "SeShutdownPrivilege": False,
        "SeChangeNotifyPrivilege": True,
        "SeUndockPrivilege": False,
        "SeIncreaseWorkingSetPrivilege": False,
        "SeTimeZonePrivilege": False,
    }


def test_spanish_csv(parse):
    r = parse("whoami", "whoami/priv_es_csv.txt")
    p = privs(r)
    assert p == {
        "SeIncreaseQuotaPrivilege": False,
        "SeSecurityPrivilege": False,
        "SeBackupPrivilege": False,
        "SeChangeNotifyPrivilege": True,
        "SeImpersonatePrivilege": True,
    }
    assert r.warnings == []


def test_list_format(parse):
    r = parse("whoami", "whoami/priv_list_en.txt")
    assert privs(r) == {"SeShutdownPrivilege": False, "SeChangeNotifyPrivilege": True, "SeTcbPrivilege": True}


def test_rows_wrapped_by_an_80_column_console(parse):
    r = parse("whoami", "whoami/priv_wrapped_80cols.txt")
    assert privs(r) == {
        "SeAssignPrimaryTokenPrivilege": False,
        "SeDelegateSessionUserImpersonatePrivilege": False,
        "SeImpersonatePrivilege": True,
        "SeChangeNotifyPrivilege": True,
    }
    # evidence points at the row's first line
    lines = {p["name"]: p["evidence"]["line"] for p in r.data["tokens"][0]["privileges"]}
    assert lines["SeImpersonatePrivilege"] == 14
    assert r.warnings == []


def test_all_of_an_application_pool(parse):
    r = parse("whoami", "whoami/all_apppool_en.txt")
    token = r.data["tokens"][0]
    assert token["identity"] == "iis apppool\\defaultapppool"
    assert token["user_sid"] == sids.app_pool_sid("DefaultAppPool")
    assert token["integrity"] == "High"
    assert privs(r) == APPPOOL_PRIVS
    groups = {g["sid"]: g for g in token["groups"]}
    assert "S-1-16-12288" not in groups  # the label is the integrity level, not a group
    assert groups["S-1-5-32-568"]["name"] == "BUILTIN\\IIS_IUSRS"
    assert groups["S-1-5-32-568"]["type"] == "Alias"
    assert groups["S-1-5-32-568"]["enabled"] is True
    assert groups["S-1-5-11"]["name"] == "NT AUTHORITY\\Authenticated Users"
    assert groups["S-1-5-11"]["type"] == "Well-known group"
    assert groups["S-1-5-11"]["attributes"] == ["Mandatory group", "Enabled by default", "Enabled group"]
    assert groups["S-1-5-82-0"]["name"] == "S-1-5-82-0"  # the row has no name
    assert groups["S-1-5-82-0"]["type"] == "Unknown SID type"
    assert r.warnings == []  # the claims section's sentences are part of the format
    pool = r.principal(sids.app_pool_sid("DefaultAppPool"))
    assert pool["kind"] == "virtual"
    assert r.principal("S-1-5-32-568")["name"] == "BUILTIN\\IIS_IUSRS"


def test_all_of_a_filtered_admin_in_german(parse):
    r = parse("whoami", "whoami/all_domainuser_de_uac.txt")
    token = r.data["tokens"][0]
    assert token["identity"] == "corp\\j.mueller"
    assert token["user_sid"] == "S-1-5-21-1004336348-1177238915-682003330-1112"
    assert token["integrity"] == "Medium"
    groups = {g["name"]: g for g in token["groups"]}
    admins = groups["VORDEFINIERT\\Administratoren"]
    assert admins["sid"] == "S-1-5-32-544"
    assert admins["enabled"] is False
    assert admins["deny_only"] is True
    assert groups["NT-AUTORITÄT\\Authentifizierte Benutzer"]["type"] == "Bekannte Gruppe"
    assert groups["Jeder"]["enabled"] is True
    assert groups["CORP\\Webadmins"]["type"] == "Gruppe"
    assert r.principal("CORP\\Webadmins")["kind"] == "domain_group"
    assert privs(r)["SeChangeNotifyPrivilege"] is True
    assert privs(r)["SeShutdownPrivilege"] is False
    assert r.warnings == []


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t, u: u(t), id="utf16-le-bom"),
        pytest.param(lambda t, u: u(t, big_endian=True), id="utf16-be-bom"),
        pytest.param(lambda t, u: b"\xef\xbb\xbf" + t.encode("utf-8"), id="utf8-bom"),
        pytest.param(lambda t, u: t.replace("\r\n", "\n").encode("utf-8"), id="lf"),
        pytest.param(
            lambda t, u: "\r\n".join(x + "   " for x in t.splitlines()).encode(), id="trailing-spaces"
        ),
    ],
)
def test_encodings_and_line_ends(parse, captures, to_utf16, encode):
    text = (captures / "whoami/all_apppool_en.txt").read_text("utf-8")
    r = parse("whoami", encode(text, to_utf16))
    assert privs(r) == APPPOOL_PRIVS
    assert r.data["tokens"][0]["user_sid"] == sids.app_pool_sid("DefaultAppPool")
    assert r.warnings == []


def test_oem_code_page_capture_still_reads_french_states(parse, captures):
    """`whoami /priv > f.txt` in cmd writes the OEM code page: é becomes a byte that is not UTF-8."""
    raw = (captures / "whoami/priv_fr_noheader.txt").read_text("utf-8").encode("cp850", "replace")
    r = parse("whoami", raw)
    assert privs(r)["SeChangeNotifyPrivilege"] is True
    assert privs(r)["SeShutdownPrivilege"] is False


def test_unknown_state_word_is_a_warning_not_a_guess(parse):
    r = parse(
        "whoami",
        "SeChangeNotifyPrivilege  Bypass traverse checking  Maybe\nSeShutdownPrivilege  Shut down  Disabled\n",
    )
    assert privs(r) == {"SeShutdownPrivilege": False}
    assert any("SeChangeNotifyPrivilege" in m and "state" in m for m in r.messages)
    assert r.warnings[0]["line"] == 1


def test_two_accounts_in_one_file_are_two_tokens(parse, captures):
    a = (captures / "whoami/all_apppool_en.txt").read_text("utf-8")
    b = (captures / "whoami/all_domainuser_de_uac.txt").read_text("utf-8")
    r = parse("whoami", a + "\n" + b)
    tokens = r.data["tokens"]
    assert [t["identity"] for t in tokens] == ["iis apppool\\defaultapppool", "corp\\j.mueller"]
    assert len(tokens[0]["privileges"]) == 7 and len(tokens[1]["privileges"]) == 5


def test_groups_only_output_is_partial(parse):
    text = (
        "PS C:\\> whoami /groups\n\n"
        "Everyone       Well-known group S-1-1-0      Mandatory group, Enabled by default, Enabled group\n"
        "BUILTIN\\Users  Alias            S-1-5-32-545 Mandatory group, Enabled by default, Enabled group\n"
    )
    r = parse("whoami", text)
    token = r.data["tokens"][0]
    assert [g["sid"] for g in token["groups"]] == ["S-1-1-0", "S-1-5-32-545"]
    assert token["privileges"] == []
    assert r.status("tokens") == "partial"


def test_garbage_lines_are_warned_with_their_line(parse):
    r = parse(
        "whoami", "SeChangeNotifyPrivilege Bypass traverse checking Enabled\nthis is not whoami output\n"
    )
    assert privs(r) == {"SeChangeNotifyPrivilege": True}
    assert [w["line"] for w in r.warnings] == [2]


def test_nothing_readable_marks_the_section_partial(parse):
    r = parse("whoami", "hello\n")
    assert "tokens" not in r.data
    assert r.status("tokens") == "partial"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("whoami/priv_apppool_en.txt", 0.9),
        ("whoami/priv_list_en.txt", 0.9),
        ("whoami/priv_es_csv.txt", 0.9),
        ("whoami/all_domainuser_de_uac.txt", 0.9),
    ],
)
def test_detect(captures, fixture, expected):
    head = (captures / fixture).read_text("utf-8")
    assert PARSERS[0].detect(head, "capture.txt") >= expected
    assert PARSERS[0].detect("<configuration/>", "whoami.txt") == 0.0


def test_groups_as_a_list_and_all_as_csv(parse):
    listing = (
        "GROUP INFORMATION\n-----------------\n\n"
        "Group Name: Everyone\nType:       Well-known group\nSID:        S-1-1-0\n"
        "Attributes: Mandatory group, Enabled by default, Enabled group\n\n"
        "Group Name: BUILTIN\\Administrators\nType:       Alias\nSID:        S-1-5-32-544\n"
        "Attributes: Group used for deny only\n\n"
        "Group Name: Mandatory Label\\Medium Mandatory Level\nType:       Label\nSID:        S-1-16-8192\nAttributes:\n"
    )
    r = parse("whoami", listing)
    token = r.data["tokens"][0]
    assert [(g["name"], g["type"], g["enabled"]) for g in token["groups"]] == [
        ("Everyone", "Well-known group", True),
        ("BUILTIN\\Administrators", "Alias", False),
    ]
    assert token["groups"][1]["deny_only"] is True
    assert token["integrity"] == "Medium"
    csv = (
        'PS C:\\> whoami /all /fo csv\n"User Name","SID"\n"corp\\alice","S-1-5-21-1-2-3-1104"\n\n'
        '"Group Name","Type","SID","Attributes"\n'
        '"Everyone","Well-known group","S-1-1-0","Mandatory group, Enabled by default, Enabled group"\n'
        '"Mandatory Label\\High Mandatory Level","Label","S-1-16-12288",""\n\n'
        '"Privilege Name","Description","State"\n"SeDebugPrivilege","Debug programs","Enabled"\n'
    )
    r = parse("whoami", csv)
    token = r.data["tokens"][0]
    assert (token["identity"], token["user_sid"], token["integrity"]) == (
        "corp\\alice",
        "S-1-5-21-1-2-3-1104",
        "High",
    )
    assert [g["sid"] for g in token["groups"]] == ["S-1-1-0"]
    assert privs(r) == {"SeDebugPrivilege": True}
    assert r.warnings == []


def test_a_remote_prompt_names_the_host(parse):
    r = parse(
        "whoami", "[web01.corp.contoso.com]: PS C:\\> whoami /priv\nSeChangeNotifyPrivilege x Enabled\n"
    )
    assert r.builder.host_candidates == ["WEB01"]
