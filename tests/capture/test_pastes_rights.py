"""Pasted user rights: secedit lines without their header (Select-String, findstr), console-wrapped,
and holders named instead of SIDs (bare pool names, NT SERVICE accounts, localized built-ins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.detect import detect
from iisguard.capture.importer import build_snapshot
from iisguard.model import sids

PASTES = Path(__file__).parent / "pastes"
PARSERS = registry.builtin_parsers()
APPHOST = """<configuration><system.applicationHost><applicationPools>
<add name="Ledger" /><add name="Webshop" />
</applicationPools></system.applicationHost></configuration>
"""


def artifact(name: str, data: bytes | None = None) -> Artifact:
    raw = data if data is not None else (PASTES / name).read_bytes()
    return Artifact(source=Path(name), path=name, data=raw)


def imported(*artifacts: Artifact, kind: str | None = None) -> dict:
    return build_snapshot(list(artifacts), host="LEDGER01", kind=kind, parsers=PARSERS)


@pytest.mark.parametrize("name", ["rights_select_string_120.txt", "rights_findstr_de_80.txt"])
def test_headerless_rights_lines_are_detected_as_secedit(name):
    found = detect(artifact(name), PARSERS)
    assert found.parser is not None and found.parser.kind == "secedit"


@pytest.mark.parametrize("kind", [None, "secedit"])
def test_select_string_lines_wrapped_at_120_columns(kind):
    snap = imported(artifact("rights_select_string_120.txt"), kind=kind)
    ur = snap["user_rights"]
    assert ur["SeAssignPrimaryTokenPrivilege"] == [
        sids.LOCAL_SERVICE,
        sids.NETWORK_SERVICE,
        "NT SERVICE\\MSSQL$LEDGER",
        "SQLServerSQLAgentUser$LEDGER01$LEDGER",
        "Ledger",  # no pool of that name was captured: it stays a name, reported as unresolved
        "IIS APPPOOL\\DefaultAppPool",  # a pool IIS creates by default
    ]
    assert ur["SeImpersonatePrivilege"][-4:] == [
        "IIS APPPOOL\\Classic .NET AppPool",
        "IIS APPPOOL\\.NET v4.5",
        "Ledger",
        "NT SERVICE\\MSSQL$LEDGER",
    ]
    assert ur["SeServiceLogonRight"] == [sids.ALL_SERVICES, "NT SERVICE\\MSSQL$LEDGER"]
    # evidence: the line each grant starts on in the pasted file
    ev = snap["user_rights_evidence"]
    assert {e["line"] for e in ev["SeAssignPrimaryTokenPrivilege"]} == {3}
    assert {e["line"] for e in ev["SeImpersonatePrivilege"]} == {5}
    by_name = {p.get("name"): p for p in snap["principals"]}
    assert by_name["NT SERVICE\\MSSQL$LEDGER"]["sid"] == sids.service_sid("MSSQL$LEDGER")
    assert by_name["IIS APPPOOL\\DefaultAppPool"]["sid"] == sids.app_pool_sid("DefaultAppPool")
    messages = [w["message"] for w in snap["collection"]["warnings"]]
    unresolved = [m for m in messages if "does not resolve to a SID" in m]
    assert len(unresolved) == 2 and any("'Ledger'" in m for m in unresolved)
    assert any("SQLServerSQLAgentUser$LEDGER01$LEDGER" in m for m in unresolved)
    assert not [m for m in messages if "skipped" in m]


def test_bare_pool_names_resolve_against_the_pools_of_the_snapshot():
    apphost = artifact("applicationHost.config", APPHOST.encode())
    for files in (
        [artifact("rights_select_string_120.txt"), apphost],
        [apphost, artifact("rights_select_string_120.txt")],
    ):
        snap = imported(*files)
        ur = snap["user_rights"]
        assert "IIS APPPOOL\\Ledger" in ur["SeAssignPrimaryTokenPrivilege"]
        assert "Ledger" not in ur["SeAssignPrimaryTokenPrivilege"]
        assert len(ur["SeAssignPrimaryTokenPrivilege"]) == len(
            snap["user_rights_evidence"]["SeAssignPrimaryTokenPrivilege"]
        )
        ledger = [p for p in snap["principals"] if p.get("sid") == sids.app_pool_sid("Ledger")]
        assert len(ledger) == 1 and ledger[0]["name"] == "IIS APPPOOL\\Ledger"
        assert not any(p.get("name") == "Ledger" for p in snap["principals"])
        unresolved = [w for w in snap["collection"]["warnings"] if "does not resolve" in w["message"]]
        assert len(unresolved) == 1 and unresolved[0]["line"] == 3


def test_findstr_lines_in_utf16_with_german_names_wrapped_at_80():
    assert (PASTES / "rights_findstr_de_80.txt").read_bytes()[:2] == b"\xff\xfe"
    snap = imported(
        artifact("rights_findstr_de_80.txt"), artifact("applicationHost.config", APPHOST.encode())
    )
    ur = snap["user_rights"]
    assert ur["SeBackupPrivilege"] == ["VORDEFINIERT\\Sicherungs-Operatoren", "VORDEFINIERT\\Administratoren"]
    assert ur["SeDebugPrivilege"] == ["VORDEFINIERT\\Administratoren", "IIS APPPOOL\\Webshop"]
    assert ur["SeImpersonatePrivilege"][-1] == "IIS APPPOOL\\Webshop"
    by_name = {p.get("name"): p for p in snap["principals"]}
    assert by_name["VORDEFINIERT\\Administratoren"]["sid"] == sids.ADMINISTRATORS
    assert by_name["VORDEFINIERT\\Sicherungs-Operatoren"]["sid"] == sids.BACKUP_OPERATORS
    assert [w for w in snap["collection"]["warnings"] if w["artifact"] == "rights_findstr_de_80.txt"] == []


def test_a_line_that_does_not_fill_the_console_is_not_joined():
    text = "SeDebugPrivilege = *S-1-5-32-544\nsomething else entirely\n"
    snap = imported(artifact("short.txt", text.encode()), kind="secedit")
    assert snap["user_rights"] == {"SeDebugPrivilege": [sids.ADMINISTRATORS]}
    assert [w["line"] for w in snap["collection"]["warnings"]] == [2]


def test_a_comma_at_the_end_continues_on_the_next_line_and_a_cut_at_a_space_keeps_it():
    text = "SeBatchLogonRight = *S-1-5-32-544,\n*S-1-5-32-551\n"
    snap = imported(artifact("comma.txt", text.encode()))
    assert snap["user_rights"]["SeBatchLogonRight"] == [sids.ADMINISTRATORS, sids.BACKUP_OPERATORS]
    # 80 columns cut `Classic .NET AppPool` at its space: the trimmed line is 79 wide
    line = (
        "SeServiceLogonRight = *S-1-5-20,"
        + "x" * (79 - len("SeServiceLogonRight = *S-1-5-20,") - len(",Classic"))
        + ",Classic"
    )
    assert len(line) == 79
    snap = imported(artifact("space.txt", (line + "\n.NET AppPool\n").encode()))
    assert snap["user_rights"]["SeServiceLogonRight"][-1] == "IIS APPPOOL\\Classic .NET AppPool"


def test_spns_verbatim_and_cut_lines_flagged():
    snap = imported(artifact("setspn_snip_realm.txt"))
    svc = next(p for p in snap["principals"] if (p.get("name") or "").endswith("svc_portal"))
    assert svc["spns"] == ["HTTP/portal.example.test@EXAMPLE.TEST", "HTTP/portal"]  # the realm suffix kept
    dc = next(p for p in snap["principals"] if "FS-NORTH-01" in (p.get("name") or ""))
    assert dc["spns"] == ["Dfsr-12F9A27C-BF97-4787-9364-D31B6C55EB04/FS-NORTH-01.example.test"]
    cut = [w for w in snap["collection"]["warnings"] if "looks cut short" in w["message"]]
    assert [w["line"] for w in cut] == [5, 10]
    assert "ldap/FS-NORTH-" in cut[0]["message"] and "ends in '-'" in cut[0]["message"]
