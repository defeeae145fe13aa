"""What the capture script now records for the Kerberos rules, read back by the parsers and rules.

- `lastLogonTimestamp` of each account -> principals[].last_logon (IIS-KRB-015 counts the password's
  age up to the last logon);
- each domain controller's own account, with its msDS-AllowedToActOnBehalfOfOtherIdentity (IIS-KRB-010 b);
- `tokenGroupNames` beside `tokenGroups`, so nested membership of DnsAdmins (no well-known SID) shows;
- `setspn -X` read to its closing count -> spns.duplicates_checked.
The JSON below is what the script's Get-AccountFacts + Save-Json write (ConvertTo-Json of @($record)).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from iisguard.capture.importer import import_paths
from iisguard.collect.script import capture_script
from iisguard.engine.findings import Outcome

DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
WEB_SID = f"{DOMAIN_SID}-1601"
DNSADMINS_SID = f"{DOMAIN_SID}-1101"
NESTED_SID = f"{DOMAIN_SID}-1450"

APPHOST = """<configuration><system.applicationHost>
  <applicationPools>
    <add name="Web"><processModel identityType="SpecificUser" userName="CORP\\svc_web" password="[enc:IISWASOnlyCngProvider:x:enc]" /></add>
    <add name="Plain" />
  </applicationPools>
  <sites><site name="Web" id="1">
    <application path="/" applicationPool="Web"><virtualDirectory path="/" physicalPath="D:\\Web" /></application>
    <application path="/plain" applicationPool="Plain"><virtualDirectory path="/" physicalPath="D:\\Plain" /></application>
    <bindings><binding protocol="http" bindingInformation="*:80:web.corp.example.com" /></bindings>
  </site></sites>
</system.applicationHost></configuration>
"""


def account(**fields) -> str:
    return json.dumps([fields], indent=4)


SVC_WEB = account(
    sAMAccountName="svc_web",
    distinguishedName="CN=svc_web,OU=Service Accounts,DC=corp,DC=example,DC=com",
    objectClass=["top", "person", "organizationalPerson", "user"],
    SID=f"{DOMAIN_SID}-1105",
    userAccountControl=66048,
    pwdLastSet=133500000000000000,
    lastLogonTimestamp=133560000000000000,
    memberOf=["CN=Web Operators,OU=Groups,DC=corp,DC=example,DC=com"],
    tokenGroups=[f"{DOMAIN_SID}-513", NESTED_SID, DNSADMINS_SID],
    tokenGroupNames=["CORP\\Domain Users", "CORP\\Web Operators", "CORP\\DnsAdmins"],
)
WEB_COMPUTER = account(
    sAMAccountName="WEB01$",
    distinguishedName="CN=WEB01,OU=Web Servers,DC=corp,DC=example,DC=com",
    objectClass=["top", "person", "organizationalPerson", "user", "computer"],
    SID=WEB_SID,
    userAccountControl=4096,
    pwdLastSet=133400000000000000,
    lastLogonTimestamp=133560000000000000,
    dNSHostName="web01.corp.example.com",
    primaryGroupID=515,
    tokenGroups=[f"{DOMAIN_SID}-515"],
    tokenGroupNames=["CORP\\Domain Computers"],
)
DC_ACCOUNT = account(
    sAMAccountName="DC01$",
    distinguishedName="CN=DC01,OU=Domain Controllers,DC=corp,DC=example,DC=com",
    objectClass=["top", "person", "organizationalPerson", "user", "computer"],
    SID=f"{DOMAIN_SID}-1000",
    userAccountControl=532480,
    pwdLastSet=133550000000000000,
    lastLogonTimestamp=133560000000000000,
    dNSHostName="dc01.corp.example.com",
    primaryGroupID=516,
    **{"msDS-AllowedToActOnBehalfOfOtherIdentity": [WEB_SID]},
)
DCS = json.dumps(
    [{"Name": "DC01", "HostName": "dc01.corp.example.com", "IsGlobalCatalog": True, "IsReadOnly": False}]
)
DUPLICATES = """PS C:\\> setspn -X
Checking domain DC=corp,DC=example,DC=com
Processing entry 0
HTTP/web.corp.example.com is registered on these accounts:
        CN=WEB01,OU=Web Servers,DC=corp,DC=example,DC=com
        CN=svc_web,OU=Service Accounts,DC=corp,DC=example,DC=com

found 1 group of duplicate SPNs.
"""
MANIFEST = """host: WEB01
collected_at: "2024-04-10T08:00:00Z"
host_facts: {fqdn: web01.corp.example.com, domain: corp.example.com, domain_joined: true}
files:
  - {path: iis/applicationHost.config, kind: applicationhost_config}
  - {path: ad/account-svc_web.json, kind: ad, netbios_domain: CORP}
  - {path: ad/account-WEB01%24.json, kind: ad, netbios_domain: CORP}
  - {path: ad/domain-controllers.json, kind: ad, netbios_domain: CORP}
  - {path: ad/dc-DC01.json, kind: ad, netbios_domain: CORP}
  - {path: spns/duplicates.txt, kind: setspn}
"""


def capture(folder: Path, duplicates: str = DUPLICATES) -> dict:
    files = {
        "capture.yaml": MANIFEST,
        "iis/applicationHost.config": APPHOST,
        "ad/account-svc_web.json": SVC_WEB,
        "ad/account-WEB01%24.json": WEB_COMPUTER,
        "ad/domain-controllers.json": DCS,
        "ad/dc-DC01.json": DC_ACCOUNT,
        "spns/duplicates.txt": duplicates,
    }
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return import_paths([str(folder)], output=str(folder.parent / "snapshot.json"), strict=True)


def by_name(snap: dict, name: str) -> dict:
    return next(p for p in snap["principals"] if p.get("name") == name)


def scan(tmp_path: Path, builtin_plugins, rule_id: str) -> list:
    import iisguard

    report = iisguard.scan(tmp_path / "snapshot.json", plugins=builtin_plugins, rules=[rule_id])
    return list(report.findings())


def test_last_logon_and_group_names_and_dc_accounts_are_read(tmp_path):
    snap = capture(tmp_path / "captures")
    svc = by_name(snap, "CORP\\svc_web")
    assert svc["last_logon"] == "2024-03-27T08:00:00Z"
    assert svc["member_of"][:1] == ["CORP\\Web Operators"] and DNSADMINS_SID in svc["member_of"]
    dns = by_name(snap, "CORP\\DnsAdmins")
    assert (dns["sid"], dns["kind"]) == (DNSADMINS_SID, "domain_group")
    dc = by_name(snap, "CORP\\DC01$")
    assert dc["delegation"]["rbcd_from"] == [WEB_SID]
    assert snap["spns"]["duplicates_checked"] is True


def test_dnsadmins_through_token_group_names_fails_krb_005(tmp_path, builtin_plugins):
    capture(tmp_path / "captures")
    findings = [f for f in scan(tmp_path, builtin_plugins, "IIS-KRB-005") if f.outcome is Outcome.FAIL]
    assert len(findings) == 1 and "DnsAdmins" in findings[0].message


def test_dc_trusting_the_web_server_fails_krb_010(tmp_path, builtin_plugins):
    capture(tmp_path / "captures")
    failed = [f for f in scan(tmp_path, builtin_plugins, "IIS-KRB-010") if f.outcome is Outcome.FAIL]
    assert any("domain controller(s) CORP\\DC01$" in f.message for f in failed), [f.message for f in failed]


def test_krb_015_counts_password_age_up_to_the_last_logon(tmp_path, builtin_plugins):
    capture(tmp_path / "captures")
    (finding,) = [f for f in scan(tmp_path, builtin_plugins, "IIS-KRB-015") if f.resource.endswith("WEB01$")]
    assert finding.outcome is Outcome.FAIL and "before its last logon" in finding.message


def test_duplicates_checked_only_when_setspn_x_finished(tmp_path):
    cut = DUPLICATES.replace("found 1 group of duplicate SPNs.\n", "")
    snap = json.loads(json.dumps(capture(tmp_path / "cut", duplicates=cut)))
    assert "duplicates_checked" not in snap["spns"]
    mismatch = DUPLICATES.replace("found 1 group", "found 2 group")
    (tmp_path / "mismatch").mkdir()
    try:
        snap = capture(tmp_path / "mismatch", duplicates=mismatch)
    except Exception as exc:  # --strict: the count mismatch is a warning
        assert "warning" in str(exc)
    else:
        raise AssertionError("a truncated -X listing must be reported")


def test_the_script_asks_for_what_the_parsers_now_read():
    script = capture_script()
    props = re.search(r"\$AdAttributes = @\((.*?)\)", script, re.S).group(1)
    assert "'lastLogonTimestamp'" in props and "'msDS-AllowedToActOnBehalfOfOtherIdentity'" in props
    assert (
        "$out['tokenGroupNames']" in script and "Translate([System.Security.Principal.NTAccount])" in script
    )
    assert "Get-AccountFacts ([string]$dc.Name + '$')" in script and "'ad/dc-'" in script
    assert re.search(r"Save-CommandOutput 'spns/duplicates.txt' 'setspn' 'setspn.exe' @\('-X'\)", script)
