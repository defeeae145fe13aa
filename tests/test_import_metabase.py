"""IIS 6 metabase.xml import: accounts, isolation, pool identities, whether secrets are stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot

DATA = Path(__file__).parent / "data" / "import" / "metabase.xml"
PARSERS = registry.builtin_parsers()


def build(text: str, name: str = "MetaBase.xml") -> dict[str, Any]:
    artifact = Artifact(source=Path(name), path=name, data=text.encode("utf-8"))
    return build_snapshot([artifact], parsers=PARSERS)


def line(needle: str) -> int:
    return next(i for i, text in enumerate(DATA.read_text().splitlines(), 1) if needle in text)


@pytest.fixture(scope="module")
def snap() -> dict[str, Any]:
    return build(DATA.read_text())


def test_service_level_accounts_and_isolation(snap: dict[str, Any]) -> None:
    legacy = snap["iis"]["legacy"]
    assert snap["collection"]["artifacts"][0]["kind"] == "metabase_xml"
    assert legacy["anonymous_user"] == "IUSR_WEB6" and legacy["wam_user"] == "IWAM_WEB6"
    assert legacy["iis5_isolation_mode"] is False
    assert legacy["app_pool_identity_type"] == 2
    assert legacy["evidence"] == {"artifact": "MetaBase.xml", "line": line("<IIsWebService")}
    assert snap["iis"]["version"] == "6.0" and snap["host"]["iis"]["version"] == "6.0"


def test_secrets_are_present_encrypted_and_never_copied(snap: dict[str, Any]) -> None:
    legacy = snap["iis"]["legacy"]
    for field in ("anonymous_password", "wam_password", "unc_password"):
        assert legacy[field] == {"present": True, "encrypted": True, "provider": None}
    assert legacy["secret_evidence"]["line"] == line("AnonymousUserPass=")
    text = json.dumps(snap)
    for blob in ("8a6b2c1d0e9f", "11aa22bb33cc", "99887766554433", "5566778899aabb", "1293e4a0d2c3"):
        assert blob not in text


def test_pools_inherit_the_identity_type(snap: dict[str, Any]) -> None:
    pools = {p["name"]: p for p in snap["iis"]["legacy"]["app_pools"]}
    assert pools["DefaultAppPool"]["identity_type"] == 2 and pools["DefaultAppPool"]["wam_user"] is None
    assert pools["Payroll"]["identity_type"] == 3 and pools["Payroll"]["wam_user"] == "CORP\\svc_payroll"
    assert pools["Batch"]["identity_type"] == 0
    assert pools["Payroll"]["evidence"]["line"] == line("AppPools/Payroll")


def test_applications_with_isolation_and_inherited_pool(snap: dict[str, Any]) -> None:
    apps = {a["path"]: a for a in snap["iis"]["legacy"]["applications"]}
    assert (
        apps["/LM/W3SVC/1/ROOT"]["isolation"] == 2
        and apps["/LM/W3SVC/1/ROOT"]["app_pool"] == "DefaultAppPool"
    )
    assert apps["/LM/W3SVC/1/ROOT/Payroll"]["app_pool"] == "Payroll"
    assert apps["/LM/W3SVC/1/ROOT/Legacy"]["isolation"] == 0  # in-process
    assert apps["/LM/W3SVC/1/ROOT/Legacy"]["evidence"]["line"] == line('AppIsolated="0"')


def test_host_name_from_the_per_host_accounts_and_principals(snap: dict[str, Any]) -> None:
    assert snap["host"]["name"] == "WEB6"
    names = {p["name"] for p in snap["principals"]}
    assert {"IUSR_WEB6", "IWAM_WEB6", "CORP\\svc_payroll"} <= names


def test_isolation_mode_and_missing_secrets() -> None:
    text = DATA.read_text().replace('IIs5IsolationModeEnabled="FALSE"', 'IIs5IsolationModeEnabled="TRUE"')
    text = "\n".join(line for line in text.splitlines() if "Pass=" not in line and "UNCPassword" not in line)
    legacy = build(text)["iis"]["legacy"]
    assert legacy["iis5_isolation_mode"] is True
    assert legacy["anonymous_password"] == {"present": False}
    assert legacy["unc_password"] == {"present": False}


VDIRS = Path(__file__).parent / "data" / "import" / "metabase_vdirs.xml"


def test_auth_flags_text_and_numeric_reach_authentication() -> None:
    snap = build(VDIRS.read_text(), "archiv-metabase.xml")
    auth = {a["location"]: a for a in snap["iis"]["authentication"]}
    assert set(auth) == {"", "Archiv", "Archiv/Scans"}
    assert auth[""]["anonymous"]["enabled"] is True and auth[""]["windows"]["enabled"] is False
    assert auth["Archiv"]["anonymous"]["enabled"] is True  # AuthFlags="5": anonymous + NTLM
    assert auth["Archiv"]["windows"] == {
        "enabled": True,
        "use_kernel_mode": False,  # IIS 6 authenticates in the worker process
        "providers": ["NTLM"],
        "evidence": {"artifact": "archiv-metabase.xml", "line": 17},
    }
    scans = auth["Archiv/Scans"]
    assert scans["anonymous"]["enabled"] is False
    assert (scans["basic"]["enabled"], scans["digest"]["enabled"], scans["windows"]["enabled"]) == (
        True,
        True,
        False,
    )
    assert scans["windows"]["providers"] == ["NTLM"]  # inherited from the site's root


def test_per_vdir_anonymous_accounts_and_every_secret() -> None:
    snap = build(VDIRS.read_text(), "archiv-metabase.xml")
    legacy = snap["iis"]["legacy"]
    assert legacy["anonymous_users"] == [
        {
            "location": "Archiv/Scans",
            "user": "ARCHIV\\scan_reader",
            "password": {"present": True, "encrypted": True, "provider": None},
            "evidence": {"artifact": "archiv-metabase.xml", "line": 23},
        }
    ]
    assert snap["iis"]["authentication"][2]["anonymous"]["user"] == "ARCHIV\\scan_reader"
    secrets = [(s["property"], s["location"], s["password"]["encrypted"]) for s in legacy["secrets"]]
    assert secrets == [
        ("AnonymousUserPass", "/LM/W3SVC", True),
        ("AnonymousUserPass", "/LM/W3SVC/2/ROOT/Scans", True),
        ("UNCPassword", "/LM/W3SVC/2/ROOT/Scans", True),
        ("UNCPassword", "/LM/W3SVC/2/ROOT/Alt", False),
    ]
    text = json.dumps(snap)
    for blob in ("00aa11bb22cc", "1f2e3d4c5b6a", "c0ffee00", "plaintext-in-a-hand-edited-metabase"):
        assert blob not in text
    assert any(p.get("name") == "ARCHIV\\scan_reader" for p in snap["principals"])


INTRA6 = Path(__file__).parent / "data" / "import" / "metabase_intra6.xml"
ADMINS = Path(__file__).parent / "data" / "import" / "intra6_net_localgroup_admins.txt"


def build_files(*paths: Path) -> dict[str, Any]:
    artifacts = [Artifact(source=p, path=p.name, data=p.read_bytes()) for p in paths]
    return build_snapshot(artifacts, parsers=PARSERS)


def test_iis6_sites_applications_and_virtual_directories() -> None:
    """CRLF, lower-case `root`, a two-line ServerBindings, SecureBindings without a host, a vdir that is
    no application (it belongs to the nearest one), a plain IIsWebDirectory (no vdir)."""
    snap = build_files(INTRA6)
    sites = {s["name"]: s for s in snap["iis"]["sites"]}
    assert list(sites) == ["Standardwebsite", "Kiosk", "Reports"]
    assert [s["id"] for s in sites.values()] == [1, 3, 7]
    kiosk = sites["Kiosk"]
    assert [(b["protocol"], b["ip"], b["port"], b["host"]) for b in kiosk["bindings"]] == [
        ("http", "10.1.2.3", 80, "kiosk.intra.example"),
        ("http", "10.1.2.3", 8080, ""),
    ]
    assert [(b["protocol"], b["port"], b["host"]) for b in sites["Reports"]["bindings"]] == [
        ("http", 80, "reports.intra.example"),
        ("https", 443, ""),
    ]
    assert [(a["path"], a["app_pool"]) for a in kiosk["applications"]] == [("/", "KioskPool")]
    assert sites["Standardwebsite"]["applications"][0]["app_pool"] == "DefaultAppPool"  # the default
    (root,) = sites["Reports"]["applications"]
    assert root["app_pool"] == "RptPool"
    vdirs = {v["path"]: v for v in root["virtual_directories"]}
    assert set(vdirs) == {"/", "/Archive"}  # `public` is an IIsWebDirectory: a folder, not a vdir
    assert vdirs["/"]["physical_path"] == "E:\\Reports"
    assert vdirs["/Archive"]["user"] == "INTRA\\rpt_share"
    assert vdirs["/Archive"]["password"] == {"present": True, "encrypted": True, "provider": None}
    assert vdirs["/Archive"]["evidence"]["line"] == next(
        i for i, t in enumerate(INTRA6.read_text().splitlines(), 1) if "nas01" in t
    )
    assert "deadbeef" not in json.dumps(snap)


def test_iis5_isolation_mode_applications_have_no_pool() -> None:
    text = INTRA6.read_text().replace('IIs5IsolationModeEnabled="FALSE"', 'IIs5IsolationModeEnabled="TRUE"')
    snap = build(text)
    assert {a["app_pool"] for s in snap["iis"]["sites"] for a in s["applications"]} == {None}


def test_iis6_sites_are_judged_by_the_rules_that_judge_iis7_sites(builtin_rules) -> None:
    from iisguard import Outcome
    from iisguard.testing import Case, run_case

    snap = build_files(INTRA6, ADMINS)

    def outcome(rule_id: str, resource: str) -> Any:
        found = run_case(builtin_rules[rule_id], Case(rule_id, Path(f"{rule_id}.yaml"), snap))
        return {f.resource: f.outcome for f in found}.get(resource)

    # the kiosk site's own anonymous account (a vdir-level AnonymousUserName) is a local administrator
    assert outcome("IIS-ANON-001", "locations/Kiosk") is Outcome.FAIL
    # the Archive vdir reaches its share with a stored connect-as password
    assert outcome("IIS-CRED-004", "virtual_directories/Reports/Archive") is Outcome.FAIL
    # an IIsWebDirectory that turns anonymous on again is a location of its own
    assert outcome("IIS-ANON-003", "locations/Reports/public") is Outcome.FAIL
    # kernel-mode authentication came with IIS 7
    assert outcome("IIS-KRB-004", "locations/Reports") is Outcome.NOT_APPLICABLE
    # pool RptPool runs as a domain user: it decrypts the Kerberos tickets of Reports, in the worker
    windows = next(a for a in snap["iis"]["authentication"] if a["location"] == "Reports")["windows"]
    assert windows["enabled"] is True and windows["use_kernel_mode"] is False
