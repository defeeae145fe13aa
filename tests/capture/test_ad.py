"""Get-AD* output as Format-List text and ConvertTo-Json, and the promise that descriptions stay out."""

from __future__ import annotations

import json

import pytest

from iisguard.capture.ad import PARSERS
from iisguard.capture.base import Builder

DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
SECRETS = ("Winter2019!Shop", "Spring2021#Api", "Autumn2022!", "Sommer2021", "rotate after go-live")


def test_format_list_user_with_wrapped_and_truncated_lists(parse):
    r = parse("ad", "ad/getaduser_getadcomputer_fl.txt")
    svc = r.principal("CORP\\svc_web")
    assert svc["sid"] == f"{DOMAIN_SID}-1105"
    assert svc["kind"] == "domain_user" and svc["object_class"] == "user"
    assert svc["distinguished_name"] == "CN=svc_web,OU=Service Accounts,DC=corp,DC=contoso,DC=com"
    assert svc["enabled"] is True
    assert svc["password_never_expires"] is True
    assert svc["password_required"] is True
    assert svc["password_last_set"] == "2020-05-20T15:14:14Z"  # pwdLastSet (UTC), not the local display
    assert svc["admin_count"] == 1
    assert svc["user_account_control"] == 16843264
    assert svc["supported_encryption_types"] == 0
    assert svc["member_of"] == [
        "CORP\\IIS Operators",
        "CORP\\Web Shop Service Accounts",
        "CORP\\Domain Admins",
    ]
    assert svc["spns"] == [
        "HTTP/web01.corp.contoso.com",
        "HTTP/web01",
        "HTTP/shop.contoso.com",
        "HTTP/shop.contoso.com:8443",
    ]
    assert svc["delegation"] == {
        "unconstrained": False,
        "protocol_transition": True,
        "sensitive_not_delegated": False,
        "constrained_to": ["MSSQLSvc/sql01.corp.contoso.com:1433", "MSSQLSvc/sql01"],
        "rbcd_from": [],
    }
    assert svc["ad_collected"] is True
    assert svc["evidence"]["line"] == 4
    web01 = r.principal("CORP\\WEB01$")
    assert web01["kind"] == "computer"
    assert web01["delegation"]["unconstrained"] is True
    assert web01["delegation"]["rbcd_from"] == ["CORP\\APP01"]
    # two lists end in "...": incomplete, said so, and the section is partial
    truncated = [w for w in r.warnings if "shortened" in w["message"]]
    assert [w["line"] for w in truncated] == [39, 60]
    assert r.status("ad") == "partial"
    assert r.data["ad"]["collected"] is True
    assert r.data["ad"]["accounts"] == ["CORP\\svc_web", "CORP\\WEB01$"]


def test_json_from_windows_powershell(parse):
    r = parse("ad", "ad/getaduser_serviceaccount_ps51.json")
    app = r.principal("CORP\\svc_app")
    assert app["sid"] == f"{DOMAIN_SID}-1106"  # from the nested SID object
    assert app["password_required"] is False  # PasswordNotRequired (and uac bit 0x20)
    assert app["password_never_expires"] is False
    assert app["password_last_set"] == "2020-05-20T15:14:14Z"
    assert app["supported_encryption_types"] == 24
    assert app["member_of"] == ["CORP\\IIS Operators"]
    assert app["evidence"]["line"] == 3  # where the object starts, after the prompt line
    assert "account_expires" not in app  # 0: never
    gmsa = r.principal("CORP\\gmsa_web$")
    assert gmsa["kind"] == "gmsa"
    assert gmsa["spns"] == ["HTTP/portal.contoso.com", "HTTP/portal"]
    assert gmsa["delegation"]["rbcd_from"] == [f"{DOMAIN_SID}-1110"]  # from the SDDL of the RBCD attribute
    assert r.warnings == [] and r.status("ad") == "ok"


def test_domain_controller_account(parse):
    r = parse("ad", "ad/getadcomputer_dc_single.json")
    dc = r.principal("CORP\\DC01$")
    assert dc["kind"] == "computer" and dc["delegation"]["unconstrained"] is True
    assert r.data["ad"]["domain_controllers"] == [
        {"name": "DC01", "fqdn": "dc01.corp.contoso.com", "sid": f"{DOMAIN_SID}-1000"}
    ]


def test_domain_and_controller_listing_name_the_netbios_domain(parse):
    r = parse("ad", "ad/getaddomain_dcs_fl.txt")
    assert r.data["ad"]["domain"] == "corp.contoso.com"
    assert [d["name"] for d in r.data["ad"]["domain_controllers"]] == ["DC01", "RODC01"]
    assert r.principal("CONTOSO\\RODC01$")["kind"] == "computer"  # NetBIOSName, not the DN's first label


def test_netbios_hint(parse):
    r = parse("ad", "ad/getaduser_serviceaccount_ps51.json", hint={"netbios_domain": "CONTOSO"})
    assert r.principal("CONTOSO\\svc_app")["sid"] == f"{DOMAIN_SID}-1106"


def test_utf16_format_list(parse, captures, to_utf16):
    r = parse("ad", to_utf16((captures / "ad/getaduser_getadcomputer_fl.txt").read_text("utf-8")))
    assert r.principal("CORP\\svc_web")["admin_count"] == 1


def test_unreadable_rbcd_value_is_a_warning(parse):
    obj = {
        "DistinguishedName": "CN=WEB02,OU=Servers,DC=corp,DC=contoso,DC=com",
        "SamAccountName": "WEB02$",
        "ObjectClass": "computer",
        "msDS-AllowedToActOnBehalfOfOtherIdentity": "System.DirectoryServices.ActiveDirectorySecurity",
    }
    r = parse("ad", json.dumps(obj))
    assert "not readable SDDL" in r.messages[0]
    assert r.principal("CORP\\WEB02$")["delegation"]["rbcd_from"] == []
    assert r.status("ad") == "partial"


def test_broken_json_is_a_warning(parse):
    r = parse("ad", '[{"DistinguishedName": "CN=x,DC=corp", "SamAccountName": ')
    assert "not valid JSON" in r.messages[0]


def _all_secret_captures(parse, captures) -> Builder:
    b = Builder(host="WEB01")
    for fixture in sorted((captures / "ad").iterdir()):
        parse("ad", fixture, builder=b)
    for fixture in sorted((captures / "local_accounts").iterdir()):
        parse("local_accounts", fixture, builder=b)
    return b


def test_descriptions_and_comments_never_reach_the_snapshot(parse, captures):
    text = "\n".join(p.read_text("utf-8") for p in (captures / "ad").iterdir())
    text += "\n".join(p.read_text("utf-8") for p in (captures / "local_accounts").iterdir())
    assert all(s in text for s in SECRETS)  # the captures do hold them
    b = _all_secret_captures(parse, captures)
    out = json.dumps(b.finish(source="import", tool_version="t", collected_at="2024-01-01T00:00:00Z"))
    for secret in SECRETS:
        assert secret not in out


@pytest.mark.parametrize("position", ["first", "last", "wrapped", "json"])
def test_a_description_anywhere_stays_out(parse, position):
    secret = "Pa55w0rd-Kerberoast-me"
    if position == "json":
        text = json.dumps(
            [
                {
                    "SamAccountName": "svc_x",
                    "DistinguishedName": "CN=svc_x,DC=corp,DC=com",
                    "Description": secret,
                    "info": {"nested": secret},
                    "comment": [secret],
                }
            ]
        )
    else:
        fields = [
            "DistinguishedName : CN=svc_x,DC=corp,DC=com",
            "SamAccountName    : svc_x",
            "servicePrincipalName : {HTTP/x}",
        ]
        if position == "first":
            fields.insert(0, f"Description       : {secret}")
        elif position == "last":
            fields.append(f"Description       : {secret}")
        else:
            fields.insert(1, "Description       : the account for the x app; its password is")
            fields.insert(2, f"                    {secret} until rotated")
        text = "PS C:\\> Get-ADUser svc_x -Properties * | fl\n\n" + "\n".join(fields) + "\n"
    r = parse("ad", text)
    assert r.principal("CORP\\svc_x")
    assert secret not in json.dumps(r.snapshot)


def test_detect(captures):
    p = PARSERS[0]
    for f in (
        "getaduser_getadcomputer_fl.txt",
        "getaduser_serviceaccount_ps51.json",
        "getaddomain_dcs_fl.txt",
    ):
        assert p.detect((captures / "ad" / f).read_text("utf-8"), "x.txt") >= 0.8
    assert p.detect('{"Name": "W3SVC", "StartName": "LocalSystem"}', "x.json") == 0.0
