"""`iisguard diff OLD NEW`: what changed between two snapshots, in text and JSON."""

from __future__ import annotations

import json
import time

from iisguard.cli import main
from iisguard.engine import diff
from iisguard.model.snapshot import Snapshot

from .policy_support import snapshot_copy


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def image_42(d):
    """The changes a reviewer must see before reading any finding."""
    d["user_rights"]["SeDebugPrivilege"].append("BUILTIN\\IIS_IUSRS")
    d["iis"]["app_pools"][0]["identity"] = {"type": "LocalSystem"}
    d["iis"]["app_pools"].append(
        {
            "name": "Reports",
            "identity": {
                "type": "SpecificUser",
                "user": "CORP\\svc_rep",
                "password": {"present": True, "encrypted": False},
            },
        }
    )
    d["iis"]["app_pools"] = [p for p in d["iis"]["app_pools"] if p["name"] != "LegacyCRM"]
    d["iis"]["sites"][0]["applications"][1]["app_pool"] = "DefaultAppPool"
    d["iis"]["authentication"][0]["anonymous"]["user"] = ""
    d["acls"][0]["aces"].append(
        {
            "principal": "Everyone",
            "type": "allow",
            "rights": ["M"],
            "inherited": False,
            "inheritance": ["CI", "OI"],
        }
    )
    d["acls"][1]["aces"] = d["acls"][1]["aces"][:1]
    d["acls"][1]["owner"] = "WEB01\\svc_legacy"
    d["principals"][3]["member_of"].append("BUILTIN\\Administrators")
    d["principals"][3]["spns"] = ["HTTP/web01.corp.example"]
    d["principals"][3]["delegation"] = {"unconstrained": True, "constrained_to": ["cifs/fs01"]}
    d["principals"].append({"name": "WEB01\\backdoor", "kind": "local_user", "enabled": True})


def test_image_42_in_text(capsys, tmp_path):
    old = snapshot_copy(tmp_path, "41.json")
    new = snapshot_copy(tmp_path, "42.json", change=image_42)
    code, out, _ = run(capsys, "diff", old, new)
    assert code == 1
    expected = """\
Application pools and identities
  + Reports: new pool running as SpecificUser CORP\\svc_rep
  - LegacyCRM: pool removed (ran as NetworkService)
  ~ DefaultAppPool: identity ApplicationPoolIdentity -> LocalSystem

Applications and their pools
  ~ Default Web Site/shop: pool Shop -> DefaultAppPool

Anonymous authentication users
  ~ (server): anonymous enabled as IUSR -> enabled as the application pool identity

User rights and privileges
  + SeDebugPrivilege: granted to BUILTIN\\IIS_IUSRS

File system ACLs
  + C:\\inetpub\\wwwroot: ACE added: allow Everyone:(M) (OI)(CI)
  - C:\\sites\\shop: ACE removed: allow IIS APPPOOL\\Shop:(RX) (OI)(CI)
  ~ C:\\sites\\shop: owner BUILTIN\\Administrators -> WEB01\\svc_legacy

Accounts and groups
  + WEB01\\backdoor: new local_user

Group membership
  + BUILTIN\\Administrators: member WEB01\\svc_legacy added

Service principal names
  + WEB01\\svc_legacy: SPN HTTP/web01.corp.example

Kerberos delegation
  ~ WEB01\\svc_legacy: unconstrained (unset) -> true
  + WEB01\\svc_legacy: constrained_to + cifs/fs01

14 change(s)
"""
    assert out.split("\n", 1)[1].lstrip("\n") == expected


def test_json_and_area_filter(capsys, tmp_path):
    old = snapshot_copy(tmp_path, "41.json")
    new = snapshot_copy(tmp_path, "42.json", change=image_42)
    code, out, _ = run(
        capsys, "diff", old, new, "--format", "json", "--area", "user_rights", "--area", "app_pools"
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["format"] == "iisguard-diff" and doc["new"] == {"snapshot": str(new), "host": "WEB01"}
    assert doc["counts"] == {"app_pools": 3, "user_rights": 1}
    assert {
        "area": "user_rights",
        "subject": "SeDebugPrivilege",
        "change": "added",
        "detail": "granted to BUILTIN\\IIS_IUSRS",
        "before": None,
        "after": "BUILTIN\\IIS_IUSRS",
    } in doc["changes"]


def test_no_change_exits_0_and_names_or_sids_are_the_same_principal(capsys, tmp_path):
    old = snapshot_copy(tmp_path, "41.json")

    def by_name(d):
        # The same grants written with names instead of SIDs, and ACE principals given by SID.
        d["user_rights"]["SeImpersonatePrivilege"] = [
            "BUILTIN\\Administrators",
            "NT AUTHORITY\\SERVICE",
            "NT AUTHORITY\\LOCAL SERVICE",
            "NT AUTHORITY\\NETWORK SERVICE",
            "BUILTIN\\IIS_IUSRS",
        ]
        d["acls"][0]["aces"][1]["principal"] = "S-1-5-32-568"
        d["iis"]["app_pools"].reverse()

    same = snapshot_copy(tmp_path, "same.json", change=by_name)
    code, out, _ = run(capsys, "diff", old, same)
    assert (code, out.strip().splitlines()[-1]) == (0, "no changes")


def test_spns_from_setspn_queries_and_password_storage(capsys, tmp_path):
    old = snapshot_copy(tmp_path, "41.json")

    def change(d):
        d["spns"] = {"queries": [{"spn": "HTTP/shop.corp.example", "accounts": ["WEB01\\svc_legacy"]}]}
        d["iis"]["app_pools"][2]["identity"]["password"]["encrypted"] = False

    new = snapshot_copy(tmp_path, "42.json", change=change)
    _, out, _ = run(capsys, "diff", old, new)
    assert "  + WEB01\\svc_legacy: SPN HTTP/shop.corp.example" in out
    assert "  ~ Legacy32: stored password encrypted -> clear text" in out


def test_unreadable_snapshot_exits_2(capsys, tmp_path):
    old = snapshot_copy(tmp_path, "41.json")
    (tmp_path / "bad.json").write_text("{", "utf-8")
    code, _, err = run(capsys, "diff", old, tmp_path / "bad.json")
    assert code == 2 and "bad.json:1" in err and "not valid JSON" in err


def test_diff_is_linear_on_large_snapshots():
    def big(n, shift):
        pools = [{"name": f"P{i}", "identity": {"type": "ApplicationPoolIdentity"}} for i in range(n)]
        acls = [
            {
                "path": f"D:\\sites\\{i}",
                "aces": [{"principal": f"IIS APPPOOL\\P{i}", "type": "allow", "rights": ["RX"]}],
            }
            for i in range(n)
        ]
        principals = [
            {"name": f"CORP\\u{i}", "kind": "domain_user", "member_of": [f"CORP\\g{i % 50}"]}
            for i in range(n)
        ]
        rights = {"SeServiceLogonRight": [f"CORP\\u{i}" for i in range(shift, n)]}
        data = {
            "schema_version": "1.0",
            "host": {"name": "BIG"},
            "iis": {"app_pools": pools},
            "acls": acls,
            "principals": principals,
            "user_rights": rights,
        }
        return Snapshot(data)

    start = time.process_time()
    changes = diff.compare(big(10000, 0), big(10000, 1))
    seconds = time.process_time() - start
    assert [c.detail for c in changes] == ["no longer granted to CORP\\u0"]
    assert seconds < 10, seconds  # a quadratic comparison (10^8 steps) would take minutes
