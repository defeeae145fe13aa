"""`iisguard diff DECLARED OBSERVED`: where a built server drifts from what its build scripts say.

The observed side is the demo host (fixtures/hosts/demo-misconfigured: Payroll runs as LocalSystem,
helpdesk sits in IIS_IUSRS, ...); the declared side is what the image's build scripts would state,
written here as the declared builder writes it (every object with its script evidence).
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from iisguard.cli import main
from iisguard.engine import drift
from iisguard.model.snapshot import Snapshot

from .conftest import FIXTURES

OBSERVED = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"
HOST = "WEB-LEGACY01"


def ev(line: int, artifact: str = "build/iis.ps1") -> dict:
    return {"artifact": artifact, "line": line}


def declared_doc(**data) -> dict:
    doc = {
        "schema_version": "1.0",
        "host": {"name": "BUILD"},  # the scripts' own idea of the machine: not the server's name
        "collection": {
            "source": "declared",
            "tool_version": "0",
            "collected_at": "2026-12-01T00:00:00Z",
            "artifacts": [],
            "sections": [],
            "warnings": [],
        },
    }
    doc.update(data)
    return doc


def scripts() -> dict:
    """What the demo host's build scripts say: mostly right, with the drift the tests look for."""
    return declared_doc(
        iis={
            "app_pools": [
                {"name": "Payroll", "identity": {"type": "ApplicationPoolIdentity"}, "evidence": ev(12)},
                {
                    "name": "public",
                    "identity": {"type": "SpecificUser", "user": ".\\webapp"},
                    "evidence": ev(14),
                },
                {"name": "Intranet", "identity": {"type": "ApplicationPoolIdentity"}, "evidence": ev(16)},
            ],
            "sites": [
                {
                    "name": "Payroll",
                    "bindings": [],
                    "applications": [
                        {
                            "path": "/",
                            "app_pool": "Payroll",
                            "virtual_directories": [{"path": "/", "physical_path": "d:\\sites\\payroll\\"}],
                        }
                    ],
                    "evidence": ev(20),
                }
            ],
            "authentication": [
                {
                    "location": "Public",
                    "anonymous": {"enabled": True, "user": "", "user_state": "empty"},
                    "evidence": ev(30),
                }
            ],
        },
        principals=[
            {
                "name": "BUILD\\webapp",
                "kind": "local_user",
                "password_never_expires": False,
                "evidence": ev(40),
            },
            {"name": "webapp", "kind": "unknown", "member_of": ["S-1-5-32-568"], "evidence": ev(41)},
        ],
        user_rights={"SeServiceLogonRight": ["BUILD\\webapp"]},
        user_rights_evidence={"SeServiceLogonRight": [ev(50)]},
        acls=[
            {
                "path": "D:\\Sites\\Payroll",
                "aces": [
                    {
                        "principal": "IIS APPPOOL\\Payroll",
                        "type": "allow",
                        "rights": ["RX"],
                        "inherited": False,
                        "inheritance": ["OI", "CI"],
                        "evidence": ev(7, "build/acl.cmd"),
                    }
                ],
                "evidence": ev(7, "build/acl.cmd"),
            }
        ],
    )


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A working folder holding the observed snapshot (observed/snapshot.json); paths print from there."""
    (tmp_path / "observed").mkdir()
    (tmp_path / "observed" / "snapshot.json").write_bytes(OBSERVED.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, doc) -> str:
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    return str(path.name if path.parent.samefile(".") else path)


def observed_doc() -> dict:
    return json.loads(OBSERVED.read_text("utf-8"))


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_drift_in_text_with_both_evidences(capsys, here):
    write(here / "declared.json", scripts())
    code, out, err = run(capsys, "diff", "declared.json", "observed/snapshot.json")
    assert code == 1, err
    body = out.split("\n", 1)[1]
    assert out.startswith(
        f"iisguard diff: declared declared.json (BUILD) vs observed observed/snapshot.json ({HOST})"
    )
    cap = "observed/captures"
    expected = f"""
Application pools and identities
  ~ Payroll: identity: scripted ApplicationPoolIdentity, server has LocalSystem
      script build/iis.ps1:12  server {cap}/iis/applicationHost.config:134
  - Intranet: pool Intranet is scripted but not on the server
      script build/iis.ps1:16  server observed/snapshot.json:"""
    assert body.startswith(expected), body
    for line in (
        "  + LegacyReports: pool running as NetworkService is on the server; no script creates it\n"
        f"      script build/iis.ps1:12  server {cap}/iis/applicationHost.config:137",
        "  + Public: site is on the server; no script creates it\n"
        f"      script build/iis.ps1:20  server {cap}/iis/applicationHost.config:181",
        f"  ~ Public: anonymous user: scripted the application pool identity, server has {HOST}\\anonweb\n"
        f"      script build/iis.ps1:30  server {cap}/iis/applicationHost.config:536",
        f"  ~ {HOST}\\webapp: password never expires: scripted false, server has true",
        f"  + BUILTIN\\IIS_IUSRS: member {HOST}\\helpdesk is in the group on the server; no script adds it\n"
        f"      script build/iis.ps1:41  server {cap}/local_accounts/net-localgroup-IIS_IUSRS.txt:2",
        f"  - SeServiceLogonRight: granted to {HOST}\\webapp by the scripts, not on the server\n"
        "      script build/iis.ps1:50  server observed/snapshot.json:",
    ):
        assert line in out, line
    # The account written `.\webapp`, `BUILD\webapp` and `webapp` is the server's WEB-LEGACY01\webapp
    # (so pool `public` as `.\webapp` is the server's Public, no drift), and the group written by SID
    # is shown by its name.
    assert "Public: identity" not in out
    assert (
        f"  - BUILTIN\\IIS_IUSRS: member {HOST}\\webapp is scripted but not in the group on the server\n"
        f"      script build/iis.ps1:41  server {cap}/local_accounts/net-localgroup-IIS_IUSRS.txt:2"
    ) in out
    # Windows' own: the default pools and site, Guest in the deny-logon rights, Administrator in
    # Administrators, SYSTEM and Administrators on the content folder, pool SIDs in IIS's rights.
    for quiet in (
        "DefaultAppPool",
        "Default Web Site",
        "Guest",
        "Administrator",
        "NT AUTHORITY\\SYSTEM",
        "S-1-5-82",
    ):
        assert quiet not in out, quiet
    assert out.rstrip().endswith("scripted fact(s) compared")


def test_order_does_not_matter_and_json_carries_both_locations(capsys, here):
    write(here / "declared.json", scripts())
    _, text1, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json")
    _, text2, _ = run(capsys, "diff", "observed/snapshot.json", "declared.json")
    assert text1 == text2
    code, out, _ = run(capsys, "diff", "observed/snapshot.json", "declared.json", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["format"] == "iisguard-drift" and doc["exit_code"] == 1
    assert doc["declared"] == {"snapshot": "declared.json", "host": "BUILD"}
    assert sum(doc["counts"].values()) == len(doc["drift"])
    payroll = next(d for d in doc["drift"] if d["area"] == "app_pools" and d["subject"] == "Payroll")
    assert payroll == {
        "area": "app_pools",
        "subject": "Payroll",
        "kind": "differs",
        "detail": "identity: scripted ApplicationPoolIdentity, server has LocalSystem",
        "declared": "ApplicationPoolIdentity",
        "observed": "LocalSystem",
        "declared_at": {"file": "build/iis.ps1", "line": 12},
        "observed_at": {"file": "observed/captures/iis/applicationHost.config", "line": 134},
    }
    # Every item names both sides.
    assert all(d["declared_at"] and d["observed_at"] for d in doc["drift"])


def test_matching_server_exits_0(capsys, here):
    doc = declared_doc(
        iis={
            "app_pools": [
                {"name": "Payroll", "identity": {"type": "LocalSystem"}, "evidence": ev(3)},
                {"name": "LegacyReports", "identity": {"type": "NetworkService"}, "evidence": ev(4)},
                {"name": "Public", "identity": {"type": "SpecificUser", "user": "webapp"}, "evidence": ev(5)},
            ]
        },
        # helpdesk by its SID, into IIS_IUSRS by name (IUSR, also there, is Windows' own member)
        principals=[{"name": "S-1-5-21-1402386795-2737291042-3386532710-1004", "member_of": ["IIS_IUSRS"]}],
    )
    write(here / "declared.json", doc)
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json")
    assert code == 0, out
    assert out.rstrip().endswith("no drift: the server matches its scripts (4 scripted fact(s) compared)")


def test_only_the_kinds_of_facts_the_scripts_declare(capsys, here):
    # Scripts that create pools only: the server's accounts, rights, ACLs and memberships are not drift.
    doc = declared_doc(
        iis={"app_pools": [{"name": "Payroll", "identity": {"type": "LocalSystem"}, "evidence": ev(3)}]}
    )
    write(here / "declared.json", doc)
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json", "--format", "json")
    assert code == 1
    items = json.loads(out)["drift"]
    assert {(d["area"], d["kind"], d["subject"]) for d in items} == {
        ("app_pools", "unscripted", "LegacyReports"),
        ("app_pools", "unscripted", "Public"),
    }


def test_what_the_capture_cannot_show_is_unverified_and_exits_3(capsys, here):
    observed = observed_doc()
    del observed["user_rights"], observed["user_rights_evidence"]
    observed["collection"]["sections"] = [
        s for s in observed["collection"]["sections"] if s["name"] != "user_rights"
    ] + [{"name": "user_rights", "status": "failed", "message": "secedit timed out"}]
    write(here / "observed" / "snapshot.json", observed)
    doc = declared_doc(
        user_rights={"SeServiceLogonRight": ["WEB-LEGACY01\\webapp"]},
        user_rights_evidence={"SeServiceLogonRight": [ev(9)]},
        acls=[
            {
                "path": "E:\\NotCaptured",
                "aces": [{"principal": "Users", "type": "allow", "rights": ["R"], "evidence": ev(10)}],
                "evidence": ev(10),
            }
        ],
    )
    write(here / "declared.json", doc)
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json")
    assert code == 3, out
    assert (
        "  ? SeServiceLogonRight: the grant to WEB-LEGACY01\\webapp is scripted; the server's capture has no "
        "user_rights section to show it" in out
    )
    assert (
        "  ? E:\\NotCaptured: the scripts set the ACL of E:\\NotCaptured; the server's capture has no ACL for it"
        in out
    )
    # A declared snapshot that states nothing drift can check does not pass either.
    write(here / "declared.json", declared_doc())
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json")
    assert code == 3
    assert "nothing to compare" in out


def test_acl_grants_differ_missing_and_unscripted(capsys, here):
    observed = observed_doc()
    acl = next(a for a in observed["acls"] if a["path"] == "D:\\Sites\\Payroll")
    acl["aces"][2]["rights"] = ["M"]  # IIS APPPOOL\Payroll: scripted RX, server M
    acl["aces"].append(
        {
            "principal": "Everyone",
            "sid": "S-1-1-0",
            "type": "allow",
            "rights": ["M"],
            "inherited": False,
            "inheritance": ["OI", "CI"],
            "evidence": {"artifact": "captures/acls/017-Payroll.txt", "line": 9},
        }
    )
    acl["aces"].append(
        {
            "principal": "BUILTIN\\Users",
            "type": "allow",
            "rights": ["RX"],
            "inherited": True,
            "inheritance": [],
        }
    )
    write(here / "observed" / "snapshot.json", observed)
    doc = scripts()
    doc["acls"][0]["aces"].append(
        {
            "principal": "CORP\\svc_deploy",
            "type": "allow",
            "rights": ["M"],
            "inherited": False,
            "inheritance": [],
            "evidence": ev(8, "build/acl.cmd"),
        }
    )
    write(here / "declared.json", doc)
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json", "--area", "acls")
    assert code == 1
    assert out.split("File system ACLs\n", 1)[1] == (
        "  ~ D:\\Sites\\Payroll: ACE IIS APPPOOL\\Payroll:(OI)(CI)(RX) is scripted; the server has "
        "IIS APPPOOL\\Payroll:(OI)(CI)(M)\n"
        "      script build/acl.cmd:7  server observed/captures/acls/017-Payroll.txt:4\n"
        "  - D:\\Sites\\Payroll: ACE CORP\\svc_deploy:(M) is scripted but not on the server\n"
        "      script build/acl.cmd:8  server observed/captures/acls/017-Payroll.txt:2\n"
        "  + D:\\Sites\\Payroll: ACE Everyone:(OI)(CI)(M) is on the server; no script grants it\n"
        "      script build/acl.cmd:7  server observed/captures/acls/017-Payroll.txt:9\n"
        "\n3 drift item(s): 1 differs, 1 missing, 1 unscripted; 2 scripted fact(s) compared\n"
    )


def test_spns_and_delegation(capsys, here):
    observed = observed_doc()
    observed["principals"] += [
        {
            "name": "CORP\\svc_web",
            "kind": "domain_user",
            "sid": "S-1-5-21-1-2-3-1105",
            "ad_collected": True,
            "spns": ["HTTP/web01.corp.example", "HTTP/web02.corp.example"],
            "delegation": {"unconstrained": True, "constrained_to": []},
            "evidence": {"artifact": "captures/ad/svc_web.json", "line": 3},
        },
        {
            "name": "CORP\\svc_other",
            "kind": "domain_user",
            "ad_collected": True,
            "delegation": {"constrained_to": ["cifs/fs01.corp.example"]},
            "evidence": {"artifact": "captures/ad/svc_other.json", "line": 5},
        },
        {"name": "CORP\\WEB-LEGACY01$", "kind": "computer", "spns": ["HOST/WEB-LEGACY01"]},
    ]
    write(here / "observed" / "snapshot.json", observed)
    doc = declared_doc(
        principals=[
            {
                "name": "svc_web@corp.example",
                "kind": "domain_user",
                "spns": ["http/WEB01.corp.example"],
                "delegation": {"unconstrained": False},
                "evidence": ev(60, "build/ad.ps1"),
            }
        ]
    )
    write(here / "declared.json", doc)
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json", "--format", "json")
    assert code == 1
    got = {(d["area"], d["kind"], d["subject"], d["detail"]) for d in json.loads(out)["drift"]}
    assert got == {
        (
            "spns",
            "unscripted",
            "CORP\\svc_web",
            "SPN HTTP/web02.corp.example is registered on the server's account; no script sets it",
        ),
        ("delegation", "differs", "svc_web@corp.example", "unconstrained: scripted false, server has true"),
        (
            "delegation",
            "unscripted",
            "CORP\\svc_other",
            "constrained_to cifs/fs01.corp.example is set on the server; no script sets it",
        ),
    }


def test_area_filter_and_a_changes_only_area_is_refused(capsys, here):
    write(here / "declared.json", scripts())
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json", "--area", "app_pools")
    assert code == 1 and "Application pools" in out and "User rights" not in out
    code, _, err = run(capsys, "diff", "declared.json", "observed/snapshot.json", "--area", "applications")
    assert code == 2 and "--area applications" in err and "Traceback" not in err


def _synthetic(n: int) -> tuple[Snapshot, Snapshot]:
    observed = {"schema_version": "1.0", "host": {"name": "WEB01"}, "collection": {"source": "import"}}
    pools = [{"name": f"pool{i}", "identity": {"type": "ApplicationPoolIdentity"}} for i in range(n)]
    acls = [
        {
            "path": f"D:\\Sites\\s{i}",
            "aces": [{"principal": f"IIS APPPOOL\\pool{i}", "type": "allow", "rights": ["RX"]}],
        }
        for i in range(n)
    ]
    users = [{"name": f"WEB01\\u{i}", "kind": "local_user", "enabled": True} for i in range(n)]
    observed.update(
        iis={"app_pools": pools},
        acls=acls,
        principals=users,
        user_rights={"SeBatchLogonRight": [u["name"] for u in users]},
    )
    declared = copy.deepcopy(observed)
    declared["host"]["name"] = "BUILD"
    declared["collection"]["source"] = "declared"
    for p in declared["iis"]["app_pools"][::2]:
        p["identity"]["type"] = "LocalSystem"
    for u in declared["principals"]:
        u["name"] = ".\\" + u["name"].split("\\")[1]
    return Snapshot(declared), Snapshot(observed)


def test_linear_in_the_size_of_the_snapshots():
    def seconds(n: int) -> float:
        best = float("inf")
        for _ in range(3):
            declared, observed = _synthetic(n)
            start = time.process_time()
            result = drift.compare(declared, observed)
            best = min(best, time.process_time() - start)
            assert result.counts()["differs"] == (n + 1) // 2
        return best

    small, large = seconds(1500), seconds(6000)
    # 4x the objects: linear is ~4x, quadratic 16x.
    assert large / small < 8, (small, large)


def test_imported_ansible_role_against_the_captured_server(capsys, here):
    """End to end: the fixture role imported as a declared snapshot, compared with the captured host."""
    import shutil

    shutil.copytree(FIXTURES / "scripts" / "ansible", here / "build")
    code, _, err = run(capsys, "import", "build", "-o", "declared.json")
    assert code == 0, err
    code, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json")
    assert code == 1
    tasks = "build/roles/iis_web/tasks/main.yml"
    # The pool's account is a Jinja lookup: unknown, so only its identity type is compared.
    assert (
        "  ~ Payroll: identity type: scripted SpecificUser, server has LocalSystem\n"
        f"      script {tasks}:13  server observed/captures/iis/applicationHost.config:134"
    ) in out
    assert (
        f"  - BUILTIN\\IIS_IUSRS: member {HOST}\\reports is scripted but not in the group on the server"
        in out
    )
    # The server was not asked about SPNs: unverified, pointing at the capture's word for that section.
    observed = observed_doc()
    index = next(i for i, s in enumerate(observed["collection"]["sections"]) if s["name"] == "spns")
    name_line = next(
        n for n, text in enumerate(OBSERVED.read_text("utf-8").splitlines(), 1) if '"name": "spns"' in text
    )
    line = name_line - 1  # the section entry's opening brace, the line above its name
    assert OBSERVED.read_text("utf-8").splitlines()[line - 1].strip() == "{" and index >= 0
    assert (
        "  ? svc_payroll: SPN HTTP/payroll.corp.example is scripted; the server's capture has no spns section "
        f"to show it\n      script {tasks}:85  server observed/snapshot.json:{line}"
    ) in out


def test_sites_compare_like_iis_and_show_what_was_written(capsys, here):
    doc = scripts()
    # Scripted in another case and with a trailing backslash: the same pool and folder, no drift.
    write(here / "declared.json", doc)
    _, out, _ = run(capsys, "diff", "declared.json", "observed/snapshot.json", "--area", "sites")
    assert "Payroll: pool" not in out and "physical path" not in out
    doc["iis"]["sites"][0]["applications"][0]["virtual_directories"][0]["physical_path"] = "E:\\Web\\Payroll"
    doc["iis"]["sites"][0]["applications"][0]["app_pool"] = "PayrollV2"
    # A pool whose identity type the script computes at run time is not compared (the builder's
    # default stands in for it, marked unresolved).
    doc["iis"]["app_pools"][0]["unresolved"] = ["identity.type"]
    write(here / "declared.json", doc)
    _, out, _ = run(
        capsys, "diff", "declared.json", "observed/snapshot.json", "--area", "sites", "--area", "app_pools"
    )
    assert "  ~ Payroll: pool: scripted PayrollV2, server has Payroll" in out
    assert "  ~ Payroll: physical path: scripted E:\\Web\\Payroll, server has D:\\Sites\\Payroll" in out
    assert "Payroll: identity" not in out
