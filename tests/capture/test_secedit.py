"""secedit /export and GptTmpl.inf: [Privilege Rights] with *SIDs and names, UTF-16 LE."""

from __future__ import annotations

from iisguard.capture.base import Builder
from iisguard.capture.secedit import PARSERS
from iisguard.model import sids

POOL = sids.app_pool_sid("DefaultAppPool")


def test_secedit_export_in_utf16(parse, captures):
    assert (captures / "secedit/secedit_export_user_rights.inf").read_bytes()[:2] == b"\xff\xfe"
    r = parse("secedit", "secedit/secedit_export_user_rights.inf")
    ur = r.data["user_rights"]
    assert ur["SeImpersonatePrivilege"] == [
        sids.LOCAL_SERVICE,
        sids.NETWORK_SERVICE,
        sids.ADMINISTRATORS,
        sids.SERVICE,
        sids.IIS_IUSRS,
        "CORP\\svc_app",
    ]
    assert ur["SeAssignPrimaryTokenPrivilege"] == [sids.LOCAL_SERVICE, sids.NETWORK_SERVICE, POOL]
    assert ur["SeServiceLogonRight"] == ["S-1-5-80-0", "svc_web", "CORP\\svc_app", POOL]
    assert ur["SeTcbPrivilege"] == ["CORP\\svc_app"]
    assert ur["SeDenyNetworkLogonRight"] == ["Guest"]
    assert ur["SeDenyInteractiveLogonRight"] == []  # defined, held by nobody
    assert len(ur) == 20
    assert "MinimumPasswordLength" not in ur  # [System Access] is not this parser's business
    assert r.warnings == []
    assert r.status("user_rights") == "ok"
    # the SIDs become principals, named where the SID is well known
    assert r.principal(POOL)["kind"] == "virtual"
    assert r.principal(sids.IIS_IUSRS)["name"] == "BUILTIN\\IIS_IUSRS"
    assert r.principal("CORP\\svc_app")


def test_gpttmpl_merges_with_the_export(parse):
    b = Builder(host="T")
    parse("secedit", "secedit/secedit_export_user_rights.inf", builder=b)
    r = parse("secedit", "secedit/GptTmpl.inf", builder=b)
    logon = r.data["user_rights"]["SeServiceLogonRight"]
    assert logon[-1] == "S-1-5-21-1004336348-1177238915-682003330-1105"
    assert "svc_web" in logon  # both sources are kept: a grant in either one is a grant to check
    assert r.data["user_rights"]["SeDenyInteractiveLogonRight"] == [
        "S-1-5-21-1004336348-1177238915-682003330-1105",
        sids.GUESTS,
    ]


def test_lines_that_are_not_assignments_are_warned(parse):
    text = "[Privilege Rights]\nSeDebugPrivilege = *S-1-5-32-544\nthis is not an assignment\n"
    r = parse("secedit", text)
    assert r.data["user_rights"] == {"SeDebugPrivilege": [sids.ADMINISTRATORS]}
    assert [w["line"] for w in r.warnings] == [3]
    assert r.status("user_rights") == "partial"


def test_a_prompt_before_the_first_section_is_fine(parse):
    text = (
        "PS C:\\> Get-Content C:\\temp\\rights.inf\n[Privilege Rights]\nSeBackupPrivilege = *S-1-5-32-551\n"
    )
    r = parse("secedit", text)
    assert r.data["user_rights"] == {"SeBackupPrivilege": [sids.BACKUP_OPERATORS]}
    assert r.warnings == []


def test_no_privilege_rights_section(parse):
    r = parse("secedit", "[Unicode]\nUnicode=yes\n[System Access]\nMinimumPasswordAge = 1\n")
    assert "user_rights" not in r.data or r.data["user_rights"] == {}
    assert r.status("user_rights") == "partial"
    assert "no [Privilege Rights]" in r.messages[0]


def test_detect(captures):
    p = PARSERS[0]
    from iisguard.capture.base import Artifact

    a = Artifact(source=captures / "secedit/GptTmpl.inf", path="GptTmpl.inf")
    assert p.detect(a.head, "GptTmpl.inf") >= 0.95
    assert p.detect("SeShutdownPrivilege  Shut down the system  Disabled", "x.txt") == 0.0
