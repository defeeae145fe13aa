"""Bare service and group names in user rights, and unresolved names in every rule that reads holders.

A SQL Server reporting box's export (UTF-16, CRLF) names its services bare (`MSSQL$REPORTING`, as
LookupAccountSid names a service SID with the `NT SERVICE` domain dropped) and SQL setup's per-service
local groups (`SQLServerSQLAgentUser$DB07$REPORTING`). A bare name is resolved only where the snapshot
says what it is: a service in `services` (-> `NT SERVICE\\<name>`, S-1-5-80 SID), a captured local
group, a pool. `ReportSvc` and `SQLWriter` stay unresolved, and no rule passes or fails on them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iisguard import Outcome
from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.capture.importer import build_snapshot
from iisguard.model import sids
from iisguard.testing import Case, run_case

PASTES = Path(__file__).parent / "pastes"
PARSERS = registry.builtin_parsers()
RIGHTS, SERVICES, GROUPS = "rights_sql_reporting.inf", "services_sql_reporting.csv", "net_localgroup_db07.txt"
# `net localgroup <group>` of one per-service group: its only member is the service's virtual account
AGENT_GROUP = """Alias name     SQLServerSQLAgentUser$DB07$REPORTING
Comment        Members in the group have the required access and privileges to be assigned as the log on account for the associated instance of SQL Server Agent in SQL Server.

Members

-------------------------------------------------------------------------------
NT SERVICE\\SQLAgent$REPORTING
The command completed successfully.
"""
APPHOST = """<configuration><system.applicationHost><applicationPools>
<add name="Reports" />
</applicationPools><sites><site name="Reports" id="2"><application path="/" applicationPool="Reports">
<virtualDirectory path="/" physicalPath="E:\\Reports" /></application></site></sites>
</system.applicationHost></configuration>
"""


def art(name: str, data: bytes | None = None) -> Artifact:
    return Artifact(
        source=Path(name), path=name, data=data if data is not None else (PASTES / name).read_bytes()
    )


def imported(*names: str, extra: tuple[Artifact, ...] = ()) -> dict:
    return build_snapshot([*(art(n) for n in names), *extra], parsers=PARSERS)


def test_bare_service_names_resolve_only_against_captured_services():
    snap = imported(RIGHTS, SERVICES, GROUPS)
    assert snap["host"]["name"] == "DB07"
    ur = snap["user_rights"]
    assert ur["SeManageVolumePrivilege"] == [sids.ADMINISTRATORS, "NT SERVICE\\MSSQL$REPORTING"]
    assert ur["SeServiceLogonRight"] == [
        sids.ALL_SERVICES,
        "NT SERVICE\\MSSQL$REPORTING",
        "NT SERVICE\\SQLAgent$REPORTING",
        "NT SERVICE\\ReportServer$REPORTING",
        "SQLWriter",  # no such service was captured
    ]
    assert ur["SeAssignPrimaryTokenPrivilege"][-1] == "DB07\\SQLServerSQLAgentUser$DB07$REPORTING"
    by_name = {p.get("name"): p for p in snap["principals"]}
    assert by_name["NT SERVICE\\MSSQL$REPORTING"]["sid"] == sids.service_sid("MSSQL$REPORTING")
    assert by_name["DB07\\SQLServerSQLAgentUser$DB07$REPORTING"]["kind"] == "local_group"
    assert "MSSQL$REPORTING" not in by_name and "SQLServerSQLAgentUser$DB07$REPORTING" not in by_name
    unresolved = sorted(
        w["message"].split("'")[1]
        for w in snap["collection"]["warnings"]
        if "does not resolve" in w["message"]
    )
    assert unresolved == ["Guest", "ReportSvc", "SQLWriter"]
    # evidence stays parallel to the holders after the renames
    assert all(len(ur[r]) == len(snap["user_rights_evidence"][r]) for r in ur)


def test_without_the_services_capture_a_bare_service_name_stays_unresolved():
    snap = imported(RIGHTS)
    assert "MSSQL$REPORTING" in snap["user_rights"]["SeManageVolumePrivilege"]
    assert "SQLServerSQLAgentUser$DB07$REPORTING" in snap["user_rights"]["SeAssignPrimaryTokenPrivilege"]
    warned = " ".join(w["message"] for w in snap["collection"]["warnings"])
    assert "'MSSQL$REPORTING'" in warned and "'SQLServerSQLAgentUser$DB07$REPORTING'" in warned


def judge(builtin_rules, snap: dict, rule_id: str) -> dict[str, Outcome]:
    found = run_case(builtin_rules[rule_id], Case(rule_id, Path(f"{rule_id}.yaml"), snap))
    return {f.resource: f.outcome for f in found}


def test_the_per_service_group_is_judged_by_its_members(builtin_rules):
    snap = imported(RIGHTS, SERVICES, GROUPS)
    got = judge(builtin_rules, snap, "IIS-PRIV-001")
    agent = "user_rights/SeAssignPrimaryTokenPrivilege/DB07\\SQLServerSQLAgentUser$DB07$REPORTING"
    assert got[agent] is Outcome.NOT_REVIEWED  # its members were not captured
    assert got["user_rights/SeAssignPrimaryTokenPrivilege/NT SERVICE\\MSSQL$REPORTING"] is Outcome.PASS

    def grant(listing: str) -> Outcome:
        snap = imported(RIGHTS, SERVICES, GROUPS, extra=(art("agent.txt", listing.encode()),))
        got = judge(builtin_rules, snap, "IIS-PRIV-001")
        (outcome,) = [
            o
            for r, o in got.items()
            if r.startswith("user_rights/SeAssignPrimaryTokenPrivilege/") and "Agent" in r
        ]
        return outcome

    assert grant(AGENT_GROUP) is Outcome.PASS  # its only member is the agent's service account
    odd = AGENT_GROUP.replace(
        "NT SERVICE\\SQLAgent$REPORTING", "NT SERVICE\\SQLAgent$REPORTING\nDB07\\operator"
    )
    assert grant(odd) is Outcome.FAIL


# Every rule that reads user-rights holders: an unresolved holder is never a pass or a failure there.
RULES = ["IIS-PRIV-001", "IIS-PRIV-002", "IIS-PRIV-003", "IIS-PRIV-006", "IIS-POOL-003"]


@pytest.mark.parametrize("rule_id", RULES)
def test_an_unresolved_holder_is_never_a_pass_or_a_failure(builtin_rules, rule_id):
    apphost = art("applicationHost.config", APPHOST.encode())
    snap = imported(RIGHTS, SERVICES, GROUPS, extra=(apphost,))
    got = judge(builtin_rules, snap, rule_id)
    # where the unresolved ReportSvc (SeBackupPrivilege, SeInteractiveLogonRight) or SQLWriter could matter
    expected = {
        "IIS-PRIV-001": {},  # neither holds Impersonate/AssignPrimaryToken
        "IIS-PRIV-002": {"principals/IIS APPPOOL\\Reports": Outcome.NOT_REVIEWED},
        "IIS-PRIV-003": {"user_rights/SeBackupPrivilege": Outcome.NOT_REVIEWED},
        "IIS-PRIV-006": {"principals/IIS APPPOOL\\Reports": Outcome.NOT_REVIEWED},
        "IIS-POOL-003": {"app_pools/Reports": Outcome.NOT_REVIEWED},
    }[rule_id]
    for resource, outcome in expected.items():
        assert got[resource] is outcome, (resource, got)
    for resource, outcome in got.items():
        if "ReportSvc" in resource or "SQLWriter" in resource:
            assert outcome is Outcome.NOT_REVIEWED, (resource, outcome)
    # once ReportSvc is a captured account (a local user in no group), the same rules judge again
    known = imported(
        RIGHTS,
        SERVICES,
        GROUPS,
        extra=(
            apphost,
            art(
                "users.txt", b"User name                    ReportSvc\nLocal Group Memberships      *Users\n"
            ),
        ),
    )
    found = run_case(builtin_rules[rule_id], Case(rule_id, Path(f"{rule_id}.yaml"), known))
    for resource in expected:
        (f,) = [f for f in found if f.resource == resource]
        assert "ReportSvc" not in f.message and f.outcome is not Outcome.FAIL
        # IIS-POOL-003 still cannot see inside Administrators and Backup Operators (not captured here)
        assert f.outcome is (Outcome.NOT_REVIEWED if rule_id == "IIS-POOL-003" else Outcome.PASS)


def test_a_token_user_named_without_sid_is_not_reviewed(builtin_rules):
    snap = imported(RIGHTS)
    sections = [s for s in snap["collection"]["sections"] if s["name"] != "tokens"]
    snap["collection"]["sections"] = [*sections, {"name": "tokens", "status": "ok"}]
    snap["tokens"] = [{"identity": "WORKERX\\w3svc_7", "privileges": [], "groups": []}]
    got = judge(builtin_rules, snap, "IIS-PRIV-005")
    assert got["tokens/WORKERX\\w3svc_7"] is Outcome.NOT_REVIEWED
    snap["tokens"] = [
        {
            "identity": "IIS APPPOOL\\Reports",
            "user_sid": sids.app_pool_sid("Reports"),
            "privileges": [],
            "groups": [{"name": "KIOSK\\Betreiber"}],
        }
    ]
    got = judge(builtin_rules, snap, "IIS-PRIV-005")
    assert got["tokens/IIS APPPOOL\\Reports"] is Outcome.NOT_REVIEWED  # Betreiber may be Administrators
    # a localized name with lost letters is still matched where only one account fits: resolved, it fails
    snap["tokens"][0]["groups"].append({"name": "VORDEFINIERT\\Adm?n?str?t?ren"})
    assert judge(builtin_rules, snap, "IIS-PRIV-005")["tokens/IIS APPPOOL\\Reports"] is Outcome.FAIL
