"""#11 item 5: an AD attribute a capture did not carry is "not captured", never "empty".

A pasted `Get-ADUser svc -Properties ServicePrincipalName | ConvertTo-Json` says nothing about delegation,
account flags, encryption types, adminCount or group membership; the rules that judge those facts return
not_reviewed for it (they passed before: `userAccountControl` absent read as 0). Two captures do state
absent attributes as unset: a `-Properties *` dump (it lists every attribute with a value) and the
capture script's LDAP query, whose manifest names what it asked for (`ad_requested`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import iisguard
from iisguard.capture.importer import import_paths
from iisguard.collect.script import capture_script
from iisguard.engine.findings import Outcome

DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
APPHOST = """<configuration><system.applicationHost>
  <applicationPools>
    <add name="Shop"><processModel identityType="SpecificUser" userName="CONTOSO\\svc_shop" password="[enc:IISWASOnlyCngProvider:x:enc]" /></add>
  </applicationPools>
  <sites><site name="Shop" id="1">
    <application path="/" applicationPool="Shop"><virtualDirectory path="/" physicalPath="E:\\Shop" /></application>
    <bindings><binding protocol="http" bindingInformation="*:80:shop.contoso.test" /></bindings>
  </site></sites>
</system.applicationHost></configuration>
"""
DN = "CN=svc_shop,OU=Service,DC=contoso,DC=test"
# What `Get-ADUser svc_shop -Properties ServicePrincipalName | ConvertTo-Json` prints: the default set
# plus the one property asked for.
SPN_ONLY = {
    "DistinguishedName": DN,
    "Enabled": True,
    "GivenName": None,
    "Name": "svc_shop",
    "ObjectClass": "user",
    "ObjectGUID": "5b1c0d1e-8f0a-4c55-9d8e-0f6f3f2b7a10",
    "SamAccountName": "svc_shop",
    "ServicePrincipalName": ["HTTP/shop.contoso.test"],
    "SID": f"{DOMAIN_SID}-2201",
    "Surname": None,
    "UserPrincipalName": "svc_shop@contoso.test",
}
RULES = ("IIS-KRB-005", "IIS-KRB-007", "IIS-KRB-008", "IIS-KRB-009", "IIS-KRB-010", "IIS-KRB-014")


def script_attributes() -> list[str]:
    """The attributes the capture script asks LDAP for, read from the script itself."""
    listed = re.search(r"\$AdAttributes = @\((.*?)\)", capture_script(), re.S)
    assert listed, "capture.ps1 names its AD attributes in $AdAttributes"
    return re.findall(r"'([^']+)'", listed.group(1))


def import_host(folder: Path, record: dict, *, requested: list[str] | None = None) -> Path:
    extra = f", ad_requested: '{','.join(requested)}'" if requested else ""
    files = {
        "capture.yaml": (
            "host: SHOP01\ncollected_at: '2026-11-30T08:00:00Z'\n"
            "host_facts: {fqdn: shop01.contoso.test, domain: contoso.test, domain_joined: true}\n"
            "files:\n  - {path: iis/applicationHost.config, kind: applicationhost_config}\n"
            f"  - {{path: ad/svc_shop.json, kind: ad, netbios_domain: CONTOSO{extra}}}\n"
        ),
        "iis/applicationHost.config": APPHOST,
        "ad/svc_shop.json": json.dumps(record, indent=4),
    }
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    out = folder.parent / "snapshot.json"
    import_paths([str(folder)], output=str(out))
    return out


def outcomes(snapshot: Path, builtin_plugins, rules=RULES) -> dict[str, tuple[str, str]]:
    report = iisguard.scan(snapshot, plugins=builtin_plugins, rules=list(rules))
    return {
        f.rule_id: (f.outcome.value, f.message)
        for f in report.findings()
        if f.resource == "principals/CONTOSO\\svc_shop"
    }


def test_a_paste_without_the_attributes_is_not_reviewed_not_passed(tmp_path, builtin_plugins):
    got = outcomes(import_host(tmp_path / "cap", SPN_ONLY), builtin_plugins)
    assert set(got) == set(RULES), got
    for rule_id, (outcome, message) in got.items():
        assert outcome == Outcome.NOT_REVIEWED.value, (rule_id, outcome, message)
        assert "not in the captured AD output" in message, (rule_id, message)
    assert "userAccountControl" in got["IIS-KRB-007"][1]
    assert "adminCount and memberOf" in got["IIS-KRB-005"][1]


def test_the_scripts_ldap_record_states_unset_attributes(tmp_path, builtin_plugins):
    """LDAP returns only attributes with a value; the manifest names what was asked, so absent = unset."""
    record = {
        "sAMAccountName": "svc_shop",
        "distinguishedName": DN,
        "objectClass": ["top", "person", "organizationalPerson", "user"],
        "SID": f"{DOMAIN_SID}-2201",
        "userAccountControl": 66048,
        "servicePrincipalName": ["HTTP/shop.contoso.test"],
        "pwdLastSet": 133500000000000000,
    }
    snap = import_host(tmp_path / "cap", record, requested=script_attributes())
    got = outcomes(snap, builtin_plugins, (*RULES, "IIS-KRB-006"))
    assert {r: o for r, (o, _) in got.items() if r in RULES} == {r: "pass" for r in RULES}, got
    # msDS-SupportedEncryptionTypes was asked for and is unset: RC4 tickets, a finding (not "unknown").
    outcome, message = got["IIS-KRB-006"]
    assert outcome == "fail" and "no AES in msDS-SupportedEncryptionTypes (not set)" in message, got


def test_without_the_manifest_the_same_record_is_not_reviewed(tmp_path, builtin_plugins):
    record = {"sAMAccountName": "svc_shop", "distinguishedName": DN, "SID": f"{DOMAIN_SID}-2201",
              "objectClass": "user", "userAccountControl": 66048}  # fmt: skip
    got = outcomes(import_host(tmp_path / "cap", record), builtin_plugins)
    assert got["IIS-KRB-007"][0] == "pass"  # userAccountControl is there: the flags are known
    assert got["IIS-KRB-009"][0] == "not_reviewed"  # msDS-AllowedToDelegateTo is not
    assert got["IIS-KRB-005"][0] == "not_reviewed"


@pytest.mark.parametrize("count", [60, 20])
def test_a_properties_star_dump_states_unset_attributes(tmp_path, builtin_plugins, count):
    """`-Properties *` prints every attribute that has a value (over a hundred): no adminCount there means
    unset. A record with the marker but few keys is an explicit selection, read as a paste."""
    record = dict(SPN_ONLY, CanonicalName="contoso.test/Service/svc_shop", Created="/Date(1455200441000)/",
                  userAccountControl=66048, MemberOf=[], PrincipalsAllowedToDelegateToAccount=[])  # fmt: skip
    record.update({f"extendedProperty{i}": None for i in range(count - len(record))})
    got = outcomes(import_host(tmp_path / "cap", record), builtin_plugins)
    want = "pass" if count >= 40 else "not_reviewed"
    assert got["IIS-KRB-005"][0] == want, got
    assert got["IIS-KRB-009"][0] == want, got
