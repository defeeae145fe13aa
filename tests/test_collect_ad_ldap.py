"""AD over LDAP (ldap3) against a real LDAP server on loopback, merged into the host's snapshot (#13 item 1/2).

tests/ldap_server.py speaks LDAP v3 over TCP with TLS (LDAPS and StartTLS), as a DC does; the
collector's ldap3 client is not in MOCK mode. The directory holds a `description` with a password,
as real ones do: it must never be asked for, nor appear anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from iisguard.cli import main

from .ldap_server import Directory, LdapTestServer, closed_port, security_descriptor, sid_bytes
from .test_collect_ad_merge import _split
from .winrm_server import make_tls_files

DOMAIN = "S-1-5-21-3623811015-3361044348-30300820"
BASE = "DC=corp,DC=example,DC=com"
SECRET = "Summer2026!svc"
PASSWORD = "Ldap-bind-pass-9"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def directory() -> Directory:
    d = Directory(users={"CORP\\scanner": PASSWORD, "scanner@corp.example.com": PASSWORD})
    d.add(
        "",
        objectClass="top",
        defaultNamingContext=BASE,
        configurationNamingContext=f"CN=Configuration,{BASE}",
    )
    d.add(
        f"CN=CORP,CN=Partitions,CN=Configuration,{BASE}",
        objectClass=["top", "crossRef"], nCName=BASE, nETBIOSName="CORP", dnsRoot="corp.example.com",
    )  # fmt: skip
    d.add(
        f"CN=FARM-WEB01,OU=Web,{BASE}",
        objectClass=["top", "person", "user", "computer"], sAMAccountName="FARM-WEB01$",
        distinguishedName=f"CN=FARM-WEB01,OU=Web,{BASE}", objectSid=sid_bytes(f"{DOMAIN}-1601"),
        userAccountControl=0x81000, dNSHostName="farm-web01.corp.example.com", primaryGroupID=515,
        servicePrincipalName=["HOST/FARM-WEB01", "HOST/farm-web01.corp.example.com"], pwdLastSet=133500000000000000,
    )  # fmt: skip
    d.add(
        f"CN=svc_webfarm,OU=Service Accounts,OU=Tier1,{BASE}",
        objectClass=["top", "person", "organizationalPerson", "user"], sAMAccountName="svc_webfarm",
        distinguishedName=f"CN=svc_webfarm,OU=Service Accounts,OU=Tier1,{BASE}", objectSid=sid_bytes(f"{DOMAIN}-1108"),
        userAccountControl=0x1010200, servicePrincipalName=["HTTP/www.corp.example.com", "HTTP/farm-web01"],
        **{"msDS-AllowedToDelegateTo": ["cifs/dc01.corp.example.com", "cifs/DC01"]},
        memberOf=[f"CN=Web Servers,OU=Groups,{BASE}"], pwdLastSet=130000000000000000, adminCount=1,
        description=f"svc for the farm, password {SECRET}",
    )  # fmt: skip
    d.add(
        f"CN=DC01,OU=Domain Controllers,{BASE}",
        objectClass=["top", "computer"], sAMAccountName="DC01$", distinguishedName=f"CN=DC01,OU=Domain Controllers,{BASE}",
        objectSid=sid_bytes(f"{DOMAIN}-1000"), userAccountControl=0x82000, dNSHostName="dc01.corp.example.com",
        primaryGroupID=516, **{"msDS-AllowedToActOnBehalfOfOtherIdentity": security_descriptor([f"{DOMAIN}-1601"])},
    )  # fmt: skip
    return d


@pytest.fixture
def dc(tls):
    with LdapTestServer(directory(), str(tls.server_cert), str(tls.server_key)) as server:
        yield server


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, err


def _everything(folder: Path) -> str:
    return "".join(p.read_text("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("scheme", ["ldaps", "ldap"])
def test_ad_over_ldap_merged_at_import(dc, tls, tmp_path, capsys, monkeypatch, scheme):
    monkeypatch.setenv("IISGUARD_USERNAME", "CORP\\scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    server_capture, _ = _split(tmp_path)  # the server's capture, AD "not collected" (no delegation)
    port = dc.ldaps_port if scheme == "ldaps" else dc.ldap_port
    ad = tmp_path / "ldap-ad"
    code, err = _run(capsys, "collect-ad", str(server_capture), "--server", f"{scheme}://127.0.0.1:{port}",
                     "--ca-bundle", str(tls.ca_cert), "-o", str(ad))  # fmt: skip
    assert code == 0, err
    assert "2 account(s)" in err
    out = tmp_path / "merged.json"
    code, err = _run(capsys, "import", str(server_capture), str(ad), "-o", str(out))
    assert code == 0, err
    snapshot = json.loads(out.read_text("utf-8"))
    sections = {s["name"]: s for s in snapshot["collection"]["sections"]}
    assert sections["ad"]["status"] == "ok"
    by_name = {p["name"]: p for p in snapshot["principals"]}
    svc = by_name["CORP\\svc_webfarm"]
    assert svc["sid"] == f"{DOMAIN}-1108"
    assert svc["delegation"]["constrained_to"] == ["cifs/dc01.corp.example.com", "cifs/DC01"]
    assert svc["delegation"]["protocol_transition"] is True
    assert by_name["CORP\\FARM-WEB01$"]["delegation"]["unconstrained"] is True
    assert by_name["CORP\\DC01$"]["delegation"]["rbcd_from"] == [f"{DOMAIN}-1601"]
    assert snapshot["ad"]["domain_controllers"][0]["name"] == "DC01"
    # asked for and absent means unset, as with the script's records (manifest ad_requested)
    assert "msdssupportedencryptiontypes" in svc["ad_attributes"]  # asked for, so unset (not uncaptured)
    # never asked for, never kept
    asked = {a.casefold() for attrs in dc.directory.requested for a in attrs}
    assert "description" not in asked and "*" not in asked
    assert SECRET not in _everything(ad) and SECRET not in out.read_text("utf-8")
    assert dc.directory.binds == ["CORP\\scanner"]


def test_certificate_verified_by_default(dc, tls, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "CORP\\scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    other = make_tls_files(tmp_path / "other-ca")
    server_capture, _ = _split(tmp_path)
    code, err = _run(capsys, "collect-ad", str(server_capture), "--server", f"ldaps://127.0.0.1:{dc.ldaps_port}",
                     "--ca-bundle", str(other.ca_cert), "-o", str(tmp_path / "ldap-ad"))  # fmt: skip
    assert code == 3 and "certificate verification failed" in err
    assert not dc.directory.binds and not (tmp_path / "ldap-ad").exists()


def test_wrong_password_is_one_line(dc, tls, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "CORP\\scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", "not-it")
    server_capture, _ = _split(tmp_path)
    code, err = _run(capsys, "collect-ad", str(server_capture), "--server", f"ldaps://127.0.0.1:{dc.ldaps_port}",
                     "--ca-bundle", str(tls.ca_cert), "-o", str(tmp_path / "ldap-ad"))  # fmt: skip
    assert code == 3
    assert [line for line in err.splitlines() if line.strip()] == [
        f"iisguard: error: ldaps://127.0.0.1:{dc.ldaps_port}: bind rejected (invalidCredentials): wrong user "
        "name or password (DOMAIN\\user or user@domain)"
    ]
    assert "not-it" not in err


def test_nothing_listening(tls, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "CORP\\scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    server_capture, _ = _split(tmp_path)
    port = closed_port()
    code, err = _run(capsys, "collect-ad", str(server_capture), "--server", f"ldaps://127.0.0.1:{port}",
                     "--ca-bundle", str(tls.ca_cert), "-o", str(tmp_path / "ldap-ad"), "--timeout", "5")  # fmt: skip
    assert code == 3 and f"cannot connect (nothing answers on port {port}" in err


def test_without_the_extra_the_message_names_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ldap3", None)  # as if ldap3 were not installed
    server_capture, _ = _split(tmp_path)
    code, err = _run(capsys, "collect-ad", str(server_capture), "--server", "ldaps://dc01.corp.example.com",
                     "-o", str(tmp_path / "ldap-ad"))  # fmt: skip
    assert code == 2 and "pip install 'iisguard[ldap]'" in err


def test_plain_urls_are_refused():
    from iisguard.collect import ldap
    from iisguard.errors import UsageError

    with pytest.raises(UsageError, match="ldaps://DC or ldap://DC"):
        ldap.make_target("dc01.corp.example.com")
    assert ldap.make_target("ldap://dc01").port == 389 and not ldap.make_target("ldap://dc01").ldaps
    assert ldap.make_target("ldaps://dc01").port == 636


def test_the_attribute_list_is_the_scripts():
    """The same allow-list as capture.ps1's Get-AccountFacts, and no free-text attribute."""
    import re

    from iisguard.collect import ldap
    from iisguard.collect.script import capture_script

    block = re.search(r"^\$AdAttributes = @\((.*?)\)", capture_script(), re.S | re.M)
    assert block is not None
    script_props = re.findall(r"'([^']+)'", block.group(1))
    assert list(ldap.ATTRIBUTES) == script_props
    assert not {"description", "info", "comment"} & {a.casefold() for a in ldap.ATTRIBUTES}
