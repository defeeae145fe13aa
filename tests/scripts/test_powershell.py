"""PowerShell build scripts: each command form, values the script states and values it does not."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iisguard.capture import registry
from iisguard.capture.base import Artifact, Builder
from iisguard.capture.detect import detect
from iisguard.capture.importer import build_snapshot
from iisguard.capture.scripts import powershell

PARSERS = registry.builtin_parsers()


def _import(tmp_path: Path, text: str, name: str = "setup.ps1", encoding: str = "utf-8") -> dict[str, Any]:
    f = tmp_path / name
    f.write_bytes(text.encode(encoding))
    return build_snapshot([Artifact(source=f, path=name)], host="IMAGE", parsers=PARSERS)


def _pools(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in (data.get("iis") or {}).get("app_pools") or []}


@pytest.mark.parametrize(
    "script",
    [
        # the hashtable form, identityType as a number
        "Set-ItemProperty IIS:\\AppPools\\Web -Name processModel -Value @{userName='CORP\\svc';identityType=3}",
        # the dotted forms, one property at a time, identityType by name
        "Set-ItemProperty -Path 'IIS:\\AppPools\\Web' -Name processModel.identityType -Value SpecificUser\n"
        "Set-ItemProperty -Path 'IIS:\\AppPools\\Web' -Name processModel.userName -Value 'CORP\\svc'",
        # -Name:value parameters and a variable holding the path
        "$p = 'IIS:\\AppPools\\Web'\nSet-ItemProperty -Path:$p -Name:processModel -Value:@{identityType='SpecificUser'; userName='CORP\\svc'}",
        # splatting
        "$s = @{Path='IIS:\\AppPools\\Web'; Name='processModel'; Value=@{identityType=3; userName='CORP\\svc'}}\nSet-ItemProperty @s",
        # the configuration filter form
        "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter \"system.applicationHost/applicationPools/add[@name='Web']/processModel\" -Name identityType -Value SpecificUser\n"
        "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter \"system.applicationHost/applicationPools/add[@name='Web']/processModel\" -Name userName -Value 'CORP\\svc'",
        # appcmd inside PowerShell, by a variable and the call operator
        '$appcmd = "$env:windir\\system32\\inetsrv\\appcmd.exe"\n& $appcmd set apppool Web /processModel.identityType:SpecificUser /processModel.userName:CORP\\svc',
    ],
)
def test_pool_identity_forms(tmp_path: Path, script: str) -> None:
    data = _import(tmp_path, "Import-Module WebAdministration\n" + script + "\n")
    assert data["collection"]["source"] == "declared"
    assert _pools(data)["Web"]["identity"] == {"type": "SpecificUser", "user": "CORP\\svc"}
    assert not data["collection"]["warnings"]


def test_literal_passwords_are_found_and_never_kept(tmp_path: Path) -> None:
    script = """$pw = 'Lit-1-Secret'
$sec = ConvertTo-SecureString 'Lit-2-Secret' -AsPlainText -Force
$cred = New-Object System.Management.Automation.PSCredential ('CORP\\svc_api', $sec)
New-WebAppPool -Name Api
Set-ItemProperty IIS:\\AppPools\\Api -Name processModel -Value @{userName=$cred.UserName; password=$cred.GetNetworkCredential().Password; identityType=3}
Set-ItemProperty IIS:\\AppPools\\Web -Name processModel.password -Value $pw
Set-WebConfigurationProperty -Filter /system.webServer/security/authentication/anonymousAuthentication -PSPath IIS:\\ -Location 'Shop' -Name password -Value 'Lit-3-Secret'
New-LocalUser -Name svc_local -Password (ConvertTo-SecureString "Lit-4-Secret" -AsPlainText -Force)
"""
    data = _import(tmp_path, script)
    text = str(data)
    for n in range(1, 5):
        assert f"Lit-{n}-Secret" not in text
    where = sorted(s["evidence"]["line"] for s in data["declared"]["secrets"])
    assert where == [1, 2, 7, 8]  # each at the line holding the text, once
    api = _pools(data)["Api"]["identity"]
    # the credential's user is literal; its password is the literal of line 2 (recorded there)
    assert api == {"type": "SpecificUser", "user": "CORP\\svc_api", "password": {"present": True}}
    anon = data["iis"]["authentication"][0]
    assert anon["location"] == "Shop" and anon["anonymous"]["password"] == {"present": True}


def test_values_computed_at_run_time_are_unknown(tmp_path: Path) -> None:
    script = """param([string]$PoolName)
$cred = Get-Credential
$path = Get-Content .\\path.txt
foreach ($p in @('A', 'B')) { New-WebAppPool -Name $p }
New-WebAppPool -Name $PoolName
New-WebAppPool -Name Known
Set-ItemProperty IIS:\\AppPools\\Known -Name processModel -Value @{userName=$cred.UserName; password=$cred.Password; identityType=3}
New-Website -Name Shop -PhysicalPath $path -ApplicationPool Known
"""
    data = _import(tmp_path, script)
    assert set(_pools(data)) == {"Known"}  # nothing invented for $p or $PoolName
    known = _pools(data)["Known"]
    assert known["identity"] == {"type": "SpecificUser", "password": {"present": True}}
    assert known["unresolved"] == ["identity.user"]
    unresolved = {(u["what"], u["evidence"]["line"]) for u in data["declared"]["unresolved"]}
    assert ("New-WebAppPool -Name", 4) in unresolved and ("New-WebAppPool -Name", 5) in unresolved
    assert ("application pool 'Known' userName", 7) in unresolved
    assert ("physical path of 'Shop/'", 8) in unresolved
    vdir = data["iis"]["sites"][0]["applications"][0]["virtual_directories"][0]
    assert "physical_path" not in vdir and vdir["unresolved"] == ["physical_path"]


def test_accounts_groups_rights_spns_delegation(tmp_path: Path) -> None:
    script = """New-LocalUser -Name 'svc_local' -NoPassword -Disabled
Add-LocalGroupMember -Group 'Administrators' -Member 'svc_local', 'CORP\\web-admins'
Set-ADUser -Identity svc_web -PasswordNeverExpires $true -ServicePrincipalNames @{Add='HTTP/web.corp.example'}
Set-ADAccountControl -Identity svc_web -TrustedToAuthForDelegation $true
Grant-CPrivilege -Identity 'CORP\\svc_web' -Privilege SeServiceLogonRight
setspn -S HTTP/web01 CORP\\svc_web
icacls C:\\inetpub\\wwwroot /grant:r "IIS APPPOOL\\Web:(OI)(CI)RX" /grant "*S-1-5-32-545:(OI)(CI)(W,D)" /deny Guests:F
"""
    data = _import(tmp_path, script)
    by_name = {p["name"]: p for p in data["principals"]}
    assert by_name["svc_local"]["enabled"] is False and by_name["svc_local"]["password_required"] is False
    assert by_name["svc_local"]["member_of"] == ["S-1-5-32-544"]
    assert by_name["CORP\\web-admins"]["member_of"] == ["S-1-5-32-544"]
    assert by_name["svc_web"]["password_never_expires"] is True
    assert by_name["svc_web"]["delegation"] == {"protocol_transition": True}
    assert by_name["svc_web"]["spns"] == ["HTTP/web.corp.example"]
    assert by_name["CORP\\svc_web"]["spns"] == ["HTTP/web01"]
    assert data["user_rights"] == {"SeServiceLogonRight": ["CORP\\svc_web"]}
    aces = data["acls"][0]["aces"]
    assert [
        (a["principal"], a["type"], a["rights"], a["inheritance"], a["evidence"]["line"]) for a in aces
    ] == [
        ("IIS APPPOOL\\Web", "allow", ["RX"], ["OI", "CI"], 7),
        ("S-1-5-32-545", "allow", ["W", "D"], ["OI", "CI"], 7),
        ("Guests", "deny", ["F"], [], 7),
    ]


def test_commands_inside_script_blocks_are_read(tmp_path: Path) -> None:
    script = """Get-ChildItem D:\\sites | ForEach-Object { New-WebAppPool -Name Fixed }
Invoke-Command -ComputerName localhost -ScriptBlock {
    icacls D:\\sites /grant "Everyone:(OI)(CI)F"
}
function Set-Pool {
    param($n)
    New-WebAppPool -Name 'InFunction'
}
"""
    data = _import(tmp_path, script)
    assert not data["collection"]["warnings"]
    assert set(_pools(data)) == {"Fixed", "InFunction"}
    assert data["acls"][0]["aces"][0]["evidence"]["line"] == 3


def test_syntax_errors_are_warnings_at_their_line(tmp_path: Path) -> None:
    script = "New-WebAppPool -Name Good\nif ($x { New-WebAppPool -Name Broken\n$pw = 'Hidden-Secret-9'\n"
    data = _import(tmp_path, script)
    warnings = data["collection"]["warnings"]
    assert warnings and all(w["artifact"] == "setup.ps1" and w["line"] for w in warnings)
    assert warnings[0]["line"] == 2
    assert "Good" in _pools(data)
    assert "Hidden-Secret-9" not in str(data)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-16-be"])
def test_any_encoding_and_line_ending(tmp_path: Path, encoding: str) -> None:
    script = "Import-Module WebAdministration\r\nNew-WebAppPool -Name 'Ünicode'\r\nSet-ItemProperty IIS:\\AppPools\\Ünicode -Name processModel.identityType -Value 2\r\n"
    data = _import(tmp_path, script, encoding=encoding)
    pool = _pools(data)["Ünicode"]
    assert pool["identity"] == {"type": "NetworkService"}
    assert pool["evidence"]["line"] == 3


def test_detection_tells_a_script_from_a_transcript() -> None:
    ps = powershell.PowerShellScriptParser()
    script = "$ErrorActionPreference = 'Stop'\nicacls C:\\inetpub /grant Users:RX\nNew-WebAppPool -Name X\n"
    transcript = "PS C:\\> icacls C:\\inetpub\nC:\\inetpub BUILTIN\\Users:(OI)(CI)(RX)\nSuccessfully processed 1 files; Failed processing 0 files\n"
    assert ps.detect(script, "x.txt") >= 0.97
    assert ps.detect(transcript, "x.ps1") == 0.0
    probe = Artifact(source=Path("x.txt"), path="x.txt", data=transcript.encode())
    assert detect(probe, PARSERS).parser.kind == "icacls"
    probe = Artifact(source=Path("x.txt"), path="x.txt", data=script.encode())
    assert detect(probe, PARSERS).parser.kind == "powershell_script"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(alphabet=st.sampled_from(list("$@{}()[]'\";=,.-/\\:`|&#<>\n abcIISNew-WebAppPool")), max_size=300)
)
def test_any_text_parses_or_warns_never_raises(text: str) -> None:
    builder = Builder("IMAGE")
    artifact = Artifact(source=Path("f.ps1"), path="f.ps1", data=text.encode("utf-8"))
    powershell.PowerShellScriptParser().parse(artifact, builder)


def test_utf16_bom_is_read(tmp_path: Path) -> None:
    f = tmp_path / "bom.ps1"
    f.write_bytes(codecs.BOM_UTF16_LE + "New-WebAppPool -Name Bom\n".encode("utf-16-le"))
    data = build_snapshot([Artifact(source=f, path="bom.ps1")], host="IMAGE", parsers=PARSERS)
    assert "Bom" in _pools(data)


def test_grants_on_a_declared_content_root_fire_the_server_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """icacls /grant Users:W and IIS_IUSRS:M on a site's folder are IIS-ACL-003 and IIS-ACL-004, as on a
    captured server (no IIS-SCRIPT-002 duplicate)."""
    import json

    from iisguard.cli import main

    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "shop.ps1").write_text(
        "New-WebAppPool -Name Shop\n"
        "New-Website -Name Shop -PhysicalPath D:\\sites\\shop -ApplicationPool Shop\n"
        'icacls D:\\sites\\shop /grant "IIS_IUSRS:(OI)(CI)M"\n'
        'icacls D:\\sites\\shop /grant "Users:(OI)(CI)W"\n'
    )
    report = tmp_path / "r.json"
    monkeypatch.chdir(tmp_path)  # the JSON report's paths start from the working directory
    code = main(
        [
            "scan",
            "--scripts",
            str(tmp_path / "build"),
            "--sarif-root",
            str(tmp_path),
            "--format",
            f"json:{report}",
        ]
    )
    assert code == 1
    fails = {
        (f["rule_id"], f["location"]["uri"], f["location"]["line"])
        for f in json.loads(report.read_text())["findings"]
        if f["outcome"] == "fail"
    }
    # New-Website without -HostHeader binds *:80: (IIS-CFG-019, low; the declared binding has no line of its own)
    assert fails == {
        ("IIS-ACL-003", "build/shop.ps1", 4),
        ("IIS-ACL-004", "build/shop.ps1", 3),
        ("IIS-CFG-019", "iisguard-scripts.json", 1),
    }


def test_a_literal_password_to_any_cmdlet_is_a_secret(tmp_path: Path) -> None:
    script = (
        "Invoke-Sqlcmd -ServerInstance db01 -Username sa -Password 'Any-Cmdlet-Secret-1' -Query 'SELECT 1'\n"
        "Set-LocalUser -Name svc_local -Password (ConvertTo-SecureString 'Any-Cmdlet-Secret-2' -AsPlainText -Force)\n"
        "Invoke-Sqlcmd -ServerInstance db01 -Username sa -Password $env:SQL_PASSWORD\n"
    )
    data = _import(tmp_path, script)
    assert "Any-Cmdlet-Secret" not in str(data)
    secrets = sorted((s["evidence"]["line"], s["context"]) for s in data["declared"]["secrets"])
    assert secrets == [
        (1, "-password given to Invoke-Sqlcmd"),
        (2, "password given to ConvertTo-SecureString -AsPlainText"),
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        "$x = " + "(" * 3000 + "1" + ")" * 3000,
        "Write-Output " + "(" * 3000 + "1" + ")" * 3000,
        "{" * 3000 + "}" * 3000,
        "$h = " + "@{a=" * 2000 + "1" + "}" * 2000,
    ],
)
def test_hostile_nesting_is_a_warning_and_the_rest_is_read(tmp_path: Path, hostile: str) -> None:
    data = _import(tmp_path, "New-WebAppPool -Name Before\n" + hostile + "\nNew-WebAppPool -Name After\n")
    assert set(_pools(data)) == {"Before", "After"}
    warnings = data["collection"]["warnings"]
    assert warnings and all(w["line"] == 2 for w in warnings)
    assert not any("parser failed" in w["message"] for w in warnings)
