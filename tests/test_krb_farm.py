"""The fixture web farm: its Kerberos defects are caught rule by rule, its fixed twin scans clean, and the
raw setspn / Get-AD* text in its captures imports into the facts the IIS-KRB rules read.

fixtures/hosts/farm-web01 and farm-web02 share the pool account CORP\\svc_webfarm. The defects:
HTTP/reports is on the pool account while Reports decrypts with the computer account (wrong account),
HTTP/www is on both the pool account and FARM-WEB02$ (duplicate), HTTP/hr exists nowhere (missing),
FARM-WEB01$ is trusted for unconstrained delegation, svc_webfarm may delegate to cifs/dc01 with protocol
transition, and svc_webfarm is kerberoastable (password from 2016, never expires, no AES).
farm-fixed-web01/02 are the same servers after the fix (gMSAs, SPNs moved, delegation removed).
"""

from __future__ import annotations

import copy
import json

import pytest

import iisguard
from iisguard.capture.importer import import_paths
from iisguard.engine.findings import Outcome
from iisguard.model import snapshot as snapmod

from .conftest import FIXTURES

HOSTS = FIXTURES / "hosts"
SVC = "principals/CORP\\svc_webfarm"
FARM_DEFECTS = {
    ("IIS-KRB-001", "spns/HTTP/hr.corp.example.com"),  # missing SPN
    ("IIS-KRB-002", "spns/HTTP/reports.corp.example.com"),  # on the pool account, HOST$ decrypts
    ("IIS-KRB-003", "spns/HTTP/www.corp.example.com"),  # svc_webfarm and FARM-WEB02$
    ("IIS-KRB-006", SVC),  # kerberoastable
    ("IIS-KRB-008", SVC),  # protocol transition
    ("IIS-KRB-009", SVC),  # delegation to cifs/dc01
    ("IIS-KRB-016", "locations/HR"),  # NTLM over HTTPS without extended protection (strict-profile rule)
    ("IIS-KRB-016", "locations/Intranet"),
}
EXPECTED = {
    "farm-web01": FARM_DEFECTS
    | {("IIS-KRB-007", "principals/CORP\\FARM-WEB01$")},  # unconstrained delegation
    "farm-web02": FARM_DEFECTS,
}
# Every rule that needs AD data, with the accounts it judges on the farm.
AD_RULES = (
    "IIS-KRB-005",
    "IIS-KRB-006",
    "IIS-KRB-007",
    "IIS-KRB-008",
    "IIS-KRB-009",
    "IIS-KRB-010",
    "IIS-KRB-014",
    "IIS-KRB-015",
)


@pytest.fixture(scope="module")
def krb_rules(builtin_rules):
    return {k: v for k, v in builtin_rules.items() if k.startswith("IIS-KRB-")}


def scan(data, plugins):
    """Every IIS-KRB rule (default_enabled ignored: --rule selects it), through the library entry point."""
    return list(
        iisguard.scan(snapmod.Snapshot(data), plugins=plugins, rules=["IIS-KRB-*"], strict=True).findings()
    )


def load(folder):
    return snapmod.load(HOSTS / folder / "snapshot.json").data


def failures(findings):
    return {(f.rule_id, f.resource) for f in findings if f.outcome is Outcome.FAIL}


def fresh_import(folder, monkeypatch):
    """Import the host's captures the way `iisguard import captures -o snapshot.json` does, in memory."""
    monkeypatch.chdir(HOSTS / folder)
    return import_paths(["captures"], output=None)


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_farm_is_caught_rule_by_rule(folder, builtin_plugins):
    findings = scan(load(folder), builtin_plugins)
    assert failures(findings) == EXPECTED[folder]
    unsure = [
        (f.rule_id, f.resource, f.outcome.value)
        for f in findings
        if f.outcome in (Outcome.ERROR, Outcome.NOT_REVIEWED)
    ]
    assert not unsure, "the farm carries every fact the rules need"


def test_farm_findings_name_the_right_account_and_point_at_the_capture(builtin_plugins):
    by_key = {(f.rule_id, f.resource): f for f in scan(load("farm-web01"), builtin_plugins)}
    wrong = by_key[("IIS-KRB-002", "spns/HTTP/reports.corp.example.com")]
    assert (
        "registered on CORP\\svc_webfarm" in wrong.message
        and "needs it on CORP\\FARM-WEB01$" in wrong.message
    )
    dup = by_key[("IIS-KRB-003", "spns/HTTP/www.corp.example.com")]
    assert "CORP\\FARM-WEB02$" in dup.message and "CORP\\svc_webfarm" in dup.message
    to_dc = by_key[("IIS-KRB-009", SVC)]
    assert "cifs/dc01.corp.example.com (domain controller dc01.corp.example.com)" in to_dc.message
    assert "protocol transition" in to_dc.message
    roast = by_key[("IIS-KRB-006", SVC)]
    assert (
        "password last set 3657 days ago (about 10 years)" in roast.message
        and "never expires" in roast.message
    )
    assert "no AES" in roast.message
    missing = by_key[("IIS-KRB-001", "spns/HTTP/hr.corp.example.com")]
    assert missing.evidence is not None and missing.evidence.artifact == "captures/iis/applicationHost.config"
    # Passing resources: the host's own names resolve through HOST/ on the computer account (sPNMappings).
    own = by_key[("IIS-KRB-002", "spns/HTTP/farm-web01.corp.example.com")]
    assert own.outcome is Outcome.PASS and "HOST/farm-web01.corp.example.com" in own.message


@pytest.mark.parametrize("folder", ["farm-fixed-web01", "farm-fixed-web02"])
def test_fixed_twin_scans_clean(folder, krb_rules, builtin_plugins):
    findings = scan(load(folder), builtin_plugins)
    bad = [
        (f.rule_id, f.resource, f.outcome.value, f.message)
        for f in findings
        if f.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.NOT_REVIEWED)
    ]
    assert not bad
    judged = {f.rule_id for f in findings if f.outcome is Outcome.PASS}
    assert judged == set(krb_rules) - {"IIS-KRB-006"}  # gMSAs are not kerberoastable: not applicable
    # Each farm defect's resource is judged again, and passes.
    passes = {(f.rule_id, f.resource) for f in findings if f.outcome is Outcome.PASS}
    for rule_id, resource in FARM_DEFECTS:
        if resource != SVC:
            assert (rule_id, resource) in passes


def test_without_ad_data_the_ad_rules_never_pass(builtin_plugins):
    data = copy.deepcopy(load("farm-web01"))
    data["ad"]["collected"] = False
    findings = [f for f in scan(data, builtin_plugins) if f.rule_id in AD_RULES]
    assert findings
    assert {f.outcome for f in findings} == {Outcome.NOT_REVIEWED}
    # Without setspn answers the SPN rules cannot clear a name either.
    data = copy.deepcopy(load("farm-fixed-web01"))
    del data["spns"]
    for p in data["principals"]:
        p.pop("spns", None)
    findings = [
        f for f in scan(data, builtin_plugins) if f.rule_id in ("IIS-KRB-001", "IIS-KRB-002", "IIS-KRB-003")
    ]
    assert findings and {f.outcome for f in findings} == {Outcome.NOT_REVIEWED}


def test_one_account_described_by_several_captures_counts_once(builtin_plugins):
    """The pool config names CORP\\svc_webfarm, setspn -L its DN, Get-ADUser its SID and sAMAccountName: if the
    importer leaves three principals, the rules still see one account (no phantom duplicate SPN, same findings)."""
    data = copy.deepcopy(load("farm-web01"))
    whole = next(p for p in data["principals"] if p.get("name") == "CORP\\svc_webfarm")
    data["principals"].remove(whole)
    ad_facts = {
        k: v for k, v in whole.items() if k not in ("name", "spns", "distinguished_name", "evidence", "kind")
    }
    data["principals"] += [
        {"name": "CORP\\svc_webfarm", "kind": "unknown"},
        {"name": "svc_webfarm", "kind": "domain_user", **ad_facts},
        {
            "name": "CORP\\svc_webfarm (setspn)",
            "distinguished_name": whole["distinguished_name"],
            "spns": whole["spns"],
            "sid": whole["sid"],
        },
    ]
    assert failures(scan(data, builtin_plugins)) == EXPECTED["farm-web01"]


# --- the raw captures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["farm-web01", "farm-web02", "farm-fixed-web01", "farm-fixed-web02"])
def test_committed_snapshots_are_what_the_importer_makes_of_the_captures(folder, monkeypatch):
    """snapshot.json is `iisguard import captures -o snapshot.json`: the facts the rules read cannot drift from
    captures/ (after a parser change, regenerate it with that command)."""
    fresh = fresh_import(folder, monkeypatch)
    committed = load(folder)
    for key in ("host", "iis", "principals", "spns", "ad"):
        assert committed.get(key) == fresh.get(key), (
            f"{folder}/snapshot.json: {key} differs from a fresh import"
        )


def test_setspn_text_imports_into_spn_facts(monkeypatch):
    data = fresh_import("farm-web01", monkeypatch)
    spns = data["spns"]
    queries = {q["spn"]: q["accounts"] for q in spns["queries"]}
    assert queries["HTTP/hr.corp.example.com"] == []  # "No such SPN found." after an LDAP error preamble
    assert sorted(queries["HTTP/www.corp.example.com"]) == ["CORP\\FARM-WEB02$", "CORP\\svc_webfarm"]
    assert queries["HTTP/reports.corp.example.com"] == ["CORP\\svc_webfarm"]
    assert queries["HTTP/farm-web01"] == [] and queries["HTTP/farm-web01.corp.example.com"] == []
    assert [(d["spn"], sorted(d["accounts"])) for d in spns["duplicates"]] == [
        ("HTTP/www.corp.example.com", ["CORP\\FARM-WEB02$", "CORP\\svc_webfarm"])
    ]
    by_name = {p["name"]: p for p in data["principals"] if p.get("name")}
    assert sorted(by_name["CORP\\svc_webfarm"]["spns"]) == [
        "HTTP/reports",
        "HTTP/reports.corp.example.com",
        "HTTP/www",
        "HTTP/www.corp.example.com",
    ]
    computer = by_name["CORP\\FARM-WEB01$"]
    assert computer["kind"] == "computer" and len(computer["spns"]) == 8
    assert "HOST/farm-web01.corp.example.com" in computer["spns"]


@pytest.mark.parametrize("folder", ["farm-web01", "farm-web02"])
def test_no_secret_from_the_captures_reaches_a_snapshot(folder, monkeypatch):
    config = (HOSTS / folder / "captures/iis/applicationHost.config").read_text("utf-8")
    blob = config.split("[enc:IISWASOnlyCngProvider:", 1)[1].split(":enc]", 1)[0]
    for data in (load(folder), fresh_import(folder, monkeypatch)):
        text = json.dumps(data)
        assert "Summer2016!" not in text  # the Description field of Get-ADUser carries a password
        assert blob[:24] not in text and "[enc:" not in text


def test_get_ad_text_imports_into_account_facts(monkeypatch):
    """Get-ADUser (JSON), Get-ADComputer (Format-List with truncated lists) and Get-ADDomainController text
    become the uac bits, delegation, pwdLastSet and DC list the rules read."""
    data = fresh_import("farm-web01", monkeypatch)
    assert data["ad"]["collected"] is True
    assert {(dc["name"], dc["fqdn"]) for dc in data["ad"]["domain_controllers"]} == {
        ("DC01", "dc01.corp.example.com"),
        ("DC02", "dc02.corp.example.com"),
    }
    by_name = {p["name"]: p for p in data["principals"] if p.get("name")}
    svc = by_name["CORP\\svc_webfarm"]
    assert svc["ad_collected"] is True and svc["object_class"] == "user"
    assert svc["sid"] == "S-1-5-21-3623811015-3361044348-30300820-1108"
    assert svc["user_account_control"] == 0x1010200  # NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | TRUSTED_TO_AUTH
    assert svc["password_last_set"] == "2016-02-11T14:22:05Z"
    assert svc.get("supported_encryption_types") is None  # not set: RC4 tickets
    assert svc["delegation"]["protocol_transition"] is True and svc["delegation"]["unconstrained"] is False
    assert svc["delegation"]["constrained_to"] == ["cifs/dc01.corp.example.com", "cifs/DC01"]
    computer = by_name["CORP\\FARM-WEB01$"]
    assert computer["ad_collected"] is True and computer["kind"] == "computer"
    assert computer["user_account_control"] == 0x81000  # WORKSTATION_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION
    assert computer["delegation"]["unconstrained"] is True
    assert computer["password_last_set"] == "2026-01-28T03:12:40Z"
    # Format-List cut the SPN list at four ("..."); setspn -L completed it, and the import says so.
    assert len(computer["spns"]) == 8
    assert any("shortened" in w["message"] for w in data["collection"]["warnings"])
    # The fixed twin's gMSAs.
    fixed = {
        p["name"]: p for p in fresh_import("farm-fixed-web01", monkeypatch)["principals"] if p.get("name")
    }
    gmsa = fixed["CORP\\gmsa_webfarm$"]
    assert gmsa["kind"] == "gmsa" and gmsa["supported_encryption_types"] == 28
    assert gmsa["delegation"]["protocol_transition"] is False
