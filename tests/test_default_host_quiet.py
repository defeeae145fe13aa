"""The default-install proof: a fresh IIS 10 host scans clean at medium and above in the baseline profile.

RULES.md §1 lists what a default install looks like (ApplicationPoolIdentity pools, IUSR anonymous,
the KB981949 ACLs and user rights, IIS_IUSRS holding Impersonate and batch logon, a High-integrity
worker token). fixtures/hosts/iis10-default/ is built from real captures by the importer;
fixtures/hosts/iis10-default-hand/ is written by hand from the same sources and is always present.
"""

from __future__ import annotations

import copy

import pytest

import iisguard
from iisguard.engine.findings import Outcome, Severity
from iisguard.model import snapshot as snapmod

from .conftest import FIXTURES

HAND = FIXTURES / "hosts" / "iis10-default-hand" / "snapshot.json"
IMPORTED = FIXTURES / "hosts" / "iis10-default" / "snapshot.json"
DEFAULT_HOSTS = [p for p in (IMPORTED, HAND) if p.is_file()]

# Rules that must judge real data on the hand-written host (a pass), so that "no failure" cannot
# come from data the rules never looked at.
MUST_PASS_ON_HAND = [
    "IIS-ACL-001", "IIS-ACL-002", "IIS-ACL-003", "IIS-ACL-004", "IIS-ACL-007", "IIS-ACL-008",
    "IIS-ACL-009", "IIS-ACL-010", "IIS-HOST-001", "IIS-HOST-002", "IIS-HOST-003", "IIS-HOST-005",
    "IIS-PRIV-001", "IIS-PRIV-002", "IIS-PRIV-003", "IIS-PRIV-004", "IIS-PRIV-005", "IIS-PRIV-006",
    "IIS-POOL-001", "IIS-ANON-001",
]  # fmt: skip


def scan(plugins, data, profile="baseline"):
    snap = snapmod.Snapshot(data)
    return list(iisguard.scan(snap, plugins=plugins, profile=profile, strict=True).findings())


def loud(findings):
    return [
        f"{f.rule_id} [{f.severity.value}] {f.resource}: {f.message}"
        for f in findings
        if f.outcome is Outcome.FAIL and f.severity.rank >= Severity.MEDIUM.rank
    ]


def load(path):
    data, _ = snapmod.read_json(path)
    assert not snapmod.problems(data), f"{path} is not a valid snapshot"
    return data


@pytest.mark.parametrize("path", DEFAULT_HOSTS, ids=[p.parent.name for p in DEFAULT_HOSTS])
def test_default_host_has_no_failure_at_medium_or_above(builtin_plugins, path):
    findings = scan(builtin_plugins, load(path))
    assert not [f for f in findings if f.outcome is Outcome.ERROR]
    assert not loud(findings), "a default IIS 10 host must stay quiet:\n" + "\n".join(loud(findings))


def test_every_builtin_rule_ran_on_the_hand_written_host(builtin_plugins, builtin_rules):
    findings = scan(builtin_plugins, load(HAND))
    enabled = {r.id for r in builtin_rules.values() if r.default_enabled and r.id.startswith("IIS-")}
    assert {f.rule_id for f in findings} == enabled
    passed = {f.rule_id for f in findings if f.outcome is Outcome.PASS}
    assert not [r for r in MUST_PASS_ON_HAND if r not in passed], (
        "these rules judged nothing on the default host"
    )


@pytest.mark.parametrize(
    ("rule_id", "resource", "break_it"),
    [
        (
            "IIS-ACL-003",
            "acls/C:\\inetpub\\wwwroot",
            lambda d: next(a for a in d["acls"] if a["path"] == "C:\\inetpub\\wwwroot")["aces"].append(
                {"principal": "Everyone", "type": "allow", "rights": ["M"], "inheritance": ["OI", "CI"]}
            ),
        ),
        (
            "IIS-PRIV-002",
            "user_rights/SeDebugPrivilege/*S-1-5-32-568",
            lambda d: d["user_rights"]["SeDebugPrivilege"].append("*S-1-5-32-568"),
        ),
        (
            "IIS-HOST-002",
            "principals/BUILTIN\\IIS_IUSRS",
            lambda d: next(p for p in d["principals"] if p.get("sid") == "S-1-5-32-544")["members"].append(
                {"name": "BUILTIN\\IIS_IUSRS", "sid": "S-1-5-32-568"}
            ),
        ),
    ],
)
def test_the_proof_can_fail(builtin_plugins, rule_id, resource, break_it):
    data = copy.deepcopy(load(HAND))
    break_it(data)
    findings = scan(builtin_plugins, data)
    assert any(f.rule_id == rule_id and f.resource == resource for f in findings if f.outcome is Outcome.FAIL)
    assert loud(findings)


def test_strict_profiles_add_the_noisy_checks(builtin_plugins):
    data = load(HAND)
    stig = {
        (f.rule_id, f.resource)
        for f in scan(builtin_plugins, data, "stig-iis10")
        if f.outcome is Outcome.FAIL
    }
    cis = {
        (f.rule_id, f.resource) for f in scan(builtin_plugins, data, "cis-iis10") if f.outcome is Outcome.FAIL
    }
    # STIG V-218790: Users may read the default log folder; CIS 5.1: logs are at the default location.
    assert ("IIS-ACL-002", "acls/C:\\inetpub\\logs\\LogFiles") in stig
    assert ("IIS-ACL-002", "acls/C:\\inetpub\\logs\\LogFiles") in cis
    # CIS 1.6 (Level 1): the anonymous identity should be the pool identity, not IUSR.
    assert any(rule == "IIS-ANON-002" for rule, _ in cis)


SCHANNEL = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols"


def test_the_imported_default_host_judges_tls_and_features(builtin_plugins):
    """The default host's registry and feature captures (a fresh Windows Server 2022) are judged, not skipped.

    Windows Server 2022 still enables TLS 1.0 and 1.1 when no key says otherwise (Microsoft, "Protocols in
    TLS/SSL (Schannel SSP)"): IIS-TLS-002 reports that at low, which keeps the host quiet at medium and
    visible; an explicit Enabled=1 is high, and the stig-iis10 profile makes every TLS failure high.
    """
    data = load(IMPORTED)
    findings = scan(builtin_plugins, data)
    outcome = {(f.rule_id, f.resource): (f.outcome, f.severity) for f in findings}
    for rule_id, resource in [
        ("IIS-TLS-001", "registry/SCHANNEL/Protocols/SSL 2.0/Server"),
        ("IIS-TLS-001", "registry/SCHANNEL/Protocols/SSL 3.0/Server"),
        ("IIS-TLS-003", "registry/SCHANNEL/Protocols/TLS 1.2/Server"),
        ("IIS-TLS-004", "registry/SCHANNEL/Ciphers/RC4 128/128"),
        ("IIS-TLS-006", "registry/SCHANNEL/Ciphers/AES 256/256"),
        ("IIS-FEAT-001", "features/Web-DAV-Publishing"),
        ("IIS-FEAT-002", "features/Print-Internet"),
        ("IIS-FEAT-003", "features/SMTP-Server"),
        ("IIS-FEAT-006", "registry/ContentIndex/Catalogs"),
    ]:
        assert outcome[(rule_id, resource)][0] is Outcome.PASS, (
            rule_id,
            resource,
            outcome.get((rule_id, resource)),
        )
    assert outcome[("IIS-FEAT-004", "registry/WebManagement/Server")][0] is Outcome.NOT_APPLICABLE
    for protocol in ("TLS 1.0", "TLS 1.1"):
        assert outcome[("IIS-TLS-002", f"registry/SCHANNEL/Protocols/{protocol}/Server")] == (
            Outcome.FAIL,
            Severity.LOW,
        )
    # The host's roles come from its Get-WindowsFeature capture, and IIS-HOST-005 judges them.
    assert data["host"]["roles"][:2] == ["FileAndStorage-Services", "Web-Server"]
    assert outcome[("IIS-HOST-005", "host")][0] is Outcome.PASS
    # The STIG's reading: keys must exist, TLS 1.0/1.1 off; the strict profile fails it at high.
    stig = {
        (f.rule_id, f.resource): f
        for f in scan(builtin_plugins, data, "stig-iis10")
        if f.outcome is Outcome.FAIL
    }
    assert stig[("IIS-TLS-002", "registry/SCHANNEL/Protocols/TLS 1.0/Server")].severity is Severity.HIGH
    assert ("IIS-TLS-001", "registry/SCHANNEL/Protocols/SSL 3.0/Server") in stig


def test_tls_enabled_by_the_registry_is_loud(builtin_plugins):
    data = copy.deepcopy(load(IMPORTED))
    data["registry"]["values"] += [
        {"key": f"{SCHANNEL}\\SSL 3.0\\Server", "name": "Enabled", "type": "REG_DWORD", "data": 1},
        {"key": f"{SCHANNEL}\\TLS 1.0\\Server", "name": "Enabled", "type": "REG_DWORD", "data": 1},
    ]
    findings = scan(builtin_plugins, data)
    fails = {(f.rule_id, f.resource): f.severity for f in findings if f.outcome is Outcome.FAIL}
    assert fails[("IIS-TLS-001", "registry/SCHANNEL/Protocols/SSL 3.0/Server")] is Severity.HIGH
    assert fails[("IIS-TLS-002", "registry/SCHANNEL/Protocols/TLS 1.0/Server")] is Severity.HIGH
    assert loud(findings)
