"""POOL / ANON / CRED behaviour the fixtures do not show well: principal resolution, anonymous identity
choice, allow-lists, AD-less accounts, and a default IIS 10 host staying quiet."""

from __future__ import annotations

import copy

import pytest

from iisguard.engine.evaluate import Selected, evaluate
from iisguard.engine.findings import Outcome
from iisguard.model import sids
from iisguard.model.snapshot import Snapshot, problems
from iisguard.testing import DEFAULT_BASE, deep_merge

SHOP_SID = sids.app_pool_sid("Shop")
ADMINS = {"name": "BUILTIN\\Administrators", "sid": sids.ADMINISTRATORS, "kind": "builtin"}


def run(rules, rule_id, fragment, **params):
    data = deep_merge(DEFAULT_BASE, fragment)
    assert not problems(data), [p.message for p in problems(data)]
    rule = rules[rule_id]
    sel = Selected(rule, rule.severity, rule.resolve_parameters(params))
    return {f.resource: f for f in evaluate(Snapshot(data), [sel], strict=True).findings}


def pools(*items):
    return {"iis": {"app_pools": [dict(p) for p in items]}}


# --- principals are compared by SID, whatever spelling the capture used ---------------------------
@pytest.mark.parametrize(
    "principals",
    [
        [dict(ADMINS, members=[{"sid": SHOP_SID}])],  # secedit / SDDL style: SID only
        [dict(ADMINS, members=[{"name": "IIS APPPOOL\\Shop"}])],  # net localgroup style: name only
        [
            dict(ADMINS, members=[]),
            {"name": "IIS APPPOOL\\Shop", "member_of": ["S-1-5-32-544"]},
        ],  # from the member
    ],
    ids=["member-by-sid", "member-by-name", "member_of-by-sid"],
)
def test_pool_identity_found_in_admins_however_it_is_spelled(builtin_rules, principals):
    found = run(
        builtin_rules,
        "IIS-POOL-002",
        {
            **pools({"name": "Shop", "identity": {"type": "ApplicationPoolIdentity"}}),
            "principals": principals,
        },
    )
    assert found["app_pools/Shop"].outcome is Outcome.FAIL
    assert "Administrators" in found["app_pools/Shop"].message


def test_secedit_sid_grant_reaches_the_named_pool(builtin_rules):
    fragment = {
        **pools({"name": "Shop", "identity": {"type": "ApplicationPoolIdentity"}}),
        "user_rights": {"SeDebugPrivilege": ["*" + SHOP_SID]},
        "principals": [dict(ADMINS, members=[])],
    }
    assert run(builtin_rules, "IIS-POOL-003", fragment)["app_pools/Shop"].outcome is Outcome.FAIL
    fragment["user_rights"] = {"SeDebugPrivilege": ["*S-1-5-32-544"]}
    assert run(builtin_rules, "IIS-POOL-003", fragment)["app_pools/Shop"].outcome is Outcome.PASS


def test_empty_captured_group_is_known_but_missing_members_is_not(builtin_rules):
    pool = pools({"name": "Shop", "identity": {"type": "ApplicationPoolIdentity"}})
    partial = {
        "collection": {
            "sections": [
                {"name": "iis", "status": "ok"},
                {"name": "principals", "status": "ok"},
                {"name": "local_accounts", "status": "partial"},
            ]
        }
    }
    groups = [dict(ADMINS, members=[])] + [
        {"sid": sid, "kind": "builtin", "members": []}
        for sid in sids.PRIVILEGED_LOCAL_GROUPS
        if sid != sids.ADMINISTRATORS
    ]
    known = run(builtin_rules, "IIS-POOL-002", {**pool, **partial, "principals": groups})
    assert known["app_pools/Shop"].outcome is Outcome.PASS
    unknown = run(builtin_rules, "IIS-POOL-002", {**pool, **partial, "principals": [ADMINS, *groups[1:]]})
    assert unknown["app_pools/Shop"].outcome is Outcome.NOT_REVIEWED
    assert "Administrators" in unknown["app_pools/Shop"].message


def test_domain_account_needs_ad_data_before_it_can_pass(builtin_rules):
    pool = pools({"name": "Shop", "identity": {"type": "SpecificUser", "user": "CORP\\svc_web"}})
    principals = [dict(ADMINS, members=[{"name": "CORP\\Domain Admins"}])]
    without_ad = run(builtin_rules, "IIS-POOL-002", {**pool, "principals": principals})
    assert without_ad["app_pools/Shop"].outcome is Outcome.NOT_REVIEWED
    with_ad = principals + [
        {
            "name": "CORP\\svc_web",
            "kind": "domain_user",
            "ad_collected": True,
            "member_of": ["CORP\\Web Operators"],
        }
    ]
    # Only Administrators' members are listed: the other privileged groups are known not to exist only
    # because every local group was listed (a capture of one `net localgroup` alone leaves them unknown).
    listed = {"local_accounts": {"groups_listed": True}}
    assert (
        run(builtin_rules, "IIS-POOL-002", {**pool, **listed, "principals": with_ad})[
            "app_pools/Shop"
        ].outcome
        is Outcome.PASS
    )
    in_da = principals + [
        {
            "name": "CORP\\svc_web",
            "kind": "domain_user",
            "ad_collected": True,
            "member_of": ["CORP\\Domain Admins"],
        }
    ]
    found = run(builtin_rules, "IIS-POOL-002", {**pool, "principals": in_da})["app_pools/Shop"]
    assert found.outcome is Outcome.FAIL and "domain admins" in found.message.casefold()


# --- the anonymous identity: IUSR (absent), the pool identity (""), or a configured account ------
SITES = {
    "iis": {
        "app_pools": [{"name": "Shop", "identity": {"type": "ApplicationPoolIdentity"}}],
        "sites": [
            {"name": n, "applications": [{"path": "/", "app_pool": "Shop"}]}
            for n in ("Inherit", "Pool", "Custom")
        ],
        "authentication": [
            {"location": "", "anonymous": {"enabled": True, "user_state": "absent"}},
            {"location": "Pool", "anonymous": {"enabled": True, "user": "", "user_state": "empty"}},
            {
                "location": "Custom",
                "anonymous": {"enabled": True, "user": "FIXTURE\\anonweb", "user_state": "set"},
            },
        ],
    }
}


@pytest.mark.parametrize(
    ("admin_member", "failing"),
    [
        ({"sid": sids.IUSR}, {"Inherit"}),
        ({"name": "IIS APPPOOL\\Shop"}, {"Pool"}),
        ({"name": ".\\anonweb"}, {"Custom"}),
    ],
    ids=["iusr-in-admins", "pool-identity-in-admins", "custom-user-in-admins"],
)
def test_anonymous_identity_follows_the_effective_username(builtin_rules, admin_member, failing):
    fragment = {
        **SITES,
        "local_accounts": {"groups_listed": True},  # the other privileged groups do not exist on the host
        "principals": [
            dict(ADMINS, members=[admin_member]),
            {"name": "FIXTURE\\anonweb", "kind": "local_user"},
        ],
    }
    found = run(builtin_rules, "IIS-ANON-001", fragment)
    fails = {r.split("/", 1)[1] for r, f in found.items() if f.outcome is Outcome.FAIL}
    assert fails == failing
    assert {f.outcome for r, f in found.items() if r.split("/", 1)[1] not in failing} == {Outcome.PASS}


def test_only_a_configured_account_is_a_custom_anonymous_identity(builtin_rules):
    found = run(builtin_rules, "IIS-ANON-003", SITES)
    assert {r: f.outcome for r, f in found.items()} == {
        "locations/Inherit": Outcome.PASS,
        "locations/Pool": Outcome.PASS,
        "locations/Custom": Outcome.FAIL,
    }
    assert (
        run(builtin_rules, "IIS-ANON-003", SITES, allowed_accounts=["fixture\\anon*"])[
            "locations/Custom"
        ].outcome
        is Outcome.NOT_APPLICABLE
    )


# --- vendor allow-lists --------------------------------------------------------------------------
def test_exchange_pools_are_allow_listed_until_the_list_is_emptied(builtin_rules):
    fragment = pools({"name": "msexchangeOWAAppPool", "identity": {"type": "LocalSystem"}})
    assert (
        run(builtin_rules, "IIS-POOL-001", fragment)["app_pools/msexchangeOWAAppPool"].outcome
        is Outcome.NOT_APPLICABLE
    )
    assert (
        run(builtin_rules, "IIS-POOL-001", fragment, allowed_pools=[])[
            "app_pools/msexchangeOWAAppPool"
        ].outcome
        is Outcome.FAIL
    )
    wsus = pools({"name": "WsusPool", "identity": {"type": "NetworkService"}})
    assert run(builtin_rules, "IIS-POOL-004", wsus)["app_pools/WsusPool"].outcome is Outcome.NOT_APPLICABLE


# --- a fresh IIS 10 install stays quiet ----------------------------------------------------------
DEFAULT_POOLS = ["DefaultAppPool", ".NET v4.5", ".NET v4.5 Classic"]
DEFAULT_HOST = {
    "iis": {
        "version": "10.0",
        "app_pools": [
            {
                "name": p,
                "identity": {"type": "ApplicationPoolIdentity"},
                "auto_start": True,
                "state": "Started",
                "manual_group_membership": False,
            }
            for p in DEFAULT_POOLS
        ],
        "sites": [
            {
                "name": "Default Web Site",
                "id": 1,
                "applications": [
                    {
                        "path": "/",
                        "app_pool": "DefaultAppPool",
                        "virtual_directories": [
                            {"path": "/", "physical_path": "%SystemDrive%\\inetpub\\wwwroot"}
                        ],
                    }
                ],
            }
        ],
        "authentication": [
            {
                "location": "",
                "anonymous": {"enabled": True, "user": "IUSR", "user_state": "set"},
                "windows": {"enabled": False},
                "basic": {"enabled": False},
            }
        ],
    },
    "user_rights": {
        "SeAssignPrimaryTokenPrivilege": ["*S-1-5-19", "*S-1-5-20"]
        + ["*" + sids.app_pool_sid(p) for p in DEFAULT_POOLS],
        "SeImpersonatePrivilege": ["*S-1-5-19", "*S-1-5-20", "*S-1-5-32-544", "*S-1-5-32-568", "*S-1-5-6"],
        "SeDebugPrivilege": ["*S-1-5-32-544"],
        "SeBackupPrivilege": ["*S-1-5-32-544", "*S-1-5-32-551"],
        "SeRestorePrivilege": ["*S-1-5-32-544", "*S-1-5-32-551"],
    },
    "acls": [
        {
            "path": "C:\\inetpub\\wwwroot",
            "aces": [
                {"principal": "NT AUTHORITY\\SYSTEM", "type": "allow", "rights": ["F"], "inherited": True},
                {"principal": "BUILTIN\\Administrators", "type": "allow", "rights": ["F"], "inherited": True},
                {"principal": "BUILTIN\\Users", "type": "allow", "rights": ["RX"], "inherited": True},
                {
                    "principal": "CREATOR OWNER",
                    "type": "allow",
                    "rights": ["F"],
                    "inherited": True,
                    "inheritance": ["OI", "CI", "IO"],
                },
                {
                    "principal": "NT SERVICE\\TrustedInstaller",
                    "type": "allow",
                    "rights": ["F"],
                    "inherited": True,
                },
                {"principal": "BUILTIN\\IIS_IUSRS", "type": "allow", "rights": ["RX"]},
            ],
        }
    ],
    "principals": [
        dict(ADMINS, members=[{"name": "FIXTURE\\Administrator"}]),
        {"name": "BUILTIN\\Backup Operators", "sid": "S-1-5-32-551", "kind": "builtin", "members": []},
        {"name": "BUILTIN\\Remote Desktop Users", "sid": "S-1-5-32-555", "kind": "builtin", "members": []},
        {
            "name": "BUILTIN\\IIS_IUSRS",
            "sid": "S-1-5-32-568",
            "kind": "builtin",
            "members": [{"name": "NT AUTHORITY\\IUSR"}],
        },
        {"name": "FIXTURE\\Administrator", "kind": "local_user", "enabled": True},
        {"name": "NT AUTHORITY\\IUSR", "sid": "S-1-5-17", "kind": "builtin"},
    ],
    "services": [
        {"name": "W3SVC", "start_name": "LocalSystem"},
        {"name": "WAS", "start_name": "LocalSystem"},
    ],
    "aspnet": [{"location": "MACHINE/WEBROOT", "authorization": [{"action": "allow", "users": ["*"]}]}],
}


def test_default_iis10_host_has_no_failure_at_medium_or_above(builtin_rules):
    data = deep_merge(DEFAULT_BASE, copy.deepcopy(DEFAULT_HOST))
    assert not problems(data)
    mine = [r for r in builtin_rules.values() if r.id.startswith(("IIS-POOL-", "IIS-ANON-", "IIS-CRED-"))]
    assert len(mine) == 29
    sel = [Selected(r, r.severity, r.default_parameters()) for r in mine]
    findings = evaluate(Snapshot(data), sel, strict=True).findings
    loud = [
        f"{f.rule_id} {f.resource}: {f.message}"
        for f in findings
        if f.outcome is Outcome.FAIL and builtin_rules[f.rule_id].default_enabled
    ]
    assert not loud, "\n".join(loud)
    # the noisy notes do fire on a default host, which is why they are off in the baseline profile
    noisy = {f.rule_id for f in findings if f.outcome is Outcome.FAIL}
    assert noisy == {"IIS-ANON-002", "IIS-ANON-008", "IIS-POOL-011"}
    assert all(not builtin_rules[r].default_enabled for r in noisy)


def test_clear_text_anonymous_password_escalates_to_high(builtin_rules):
    from iisguard.engine.evaluate import Selected, evaluate
    from iisguard.model.snapshot import Snapshot
    from iisguard.testing import DEFAULT_BASE, deep_merge

    rule = builtin_rules["IIS-CRED-003"]
    data = deep_merge(
        DEFAULT_BASE,
        {
            "iis": {
                "authentication": [
                    {
                        "location": "Clear",
                        "anonymous": {
                            "enabled": True,
                            "user": "WEB\\anon",
                            "user_state": "set",
                            "password": {"present": True, "encrypted": False, "provider": None},
                        },
                    },
                    {
                        "location": "Sealed",
                        "anonymous": {
                            "enabled": True,
                            "user": "WEB\\anon",
                            "user_state": "set",
                            "password": {"present": True, "encrypted": True, "provider": "IISCngProvider"},
                        },
                    },
                ]
            }
        },
    )
    found = evaluate(Snapshot(data), [Selected(rule, rule.severity, rule.default_parameters())]).findings
    severity = {f.resource: f.severity.value for f in found}
    assert severity == {"locations/Clear": "high", "locations/Sealed": "medium"}


def _anonymous_web_site(acls):
    """One site "Web" at D:\\Sites\\Web, its own pool, anonymous on as IUSR, with these ACLs."""
    from iisguard.testing import DEFAULT_BASE, deep_merge

    return deep_merge(
        DEFAULT_BASE,
        {
            "iis": {
                "app_pools": [{"name": "Web", "identity": {"type": "ApplicationPoolIdentity"}}],
                "sites": [
                    {
                        "name": "Web",
                        "applications": [
                            {
                                "path": "/",
                                "app_pool": "Web",
                                "virtual_directories": [{"path": "/", "physical_path": "D:\\Sites\\Web"}],
                            }
                        ],
                    }
                ],
                "authentication": [
                    {"location": "", "anonymous": {"enabled": True, "user": "IUSR", "user_state": "set"}}
                ],
            },
            "acls": acls,
        },
    )


def test_inherited_write_grants_below_a_failing_folder_are_one_finding(builtin_rules):
    """A /T listing of a tree under a bad root must not turn one ACE into a result per file."""
    from iisguard.engine.evaluate import Selected, evaluate
    from iisguard.model.snapshot import Snapshot

    def ace(who, rights, inherited):
        return {
            "principal": who,
            "type": "allow",
            "rights": rights,
            "inherited": inherited,
            "inheritance": [],
        }

    files = [
        {"path": f"D:\\Sites\\Web\\page{i}.aspx", "aces": [ace("Everyone", ["M"], True)]} for i in range(3)
    ]
    explicit = {
        "path": "D:\\Sites\\Web\\upload.aspx",
        "aces": [ace("Everyone", ["M"], True), ace("NT AUTHORITY\\IUSR", ["W"], False)],
    }
    data = _anonymous_web_site(
        [{"path": "D:\\Sites\\Web", "aces": [ace("Everyone", ["M"], False)]}, *files, explicit]
    )
    rule = builtin_rules["IIS-ANON-005"]
    found = evaluate(Snapshot(data), [Selected(rule, rule.severity, rule.default_parameters())]).findings
    fails = {f.resource: f.message for f in found if f.outcome.value == "fail"}
    assert sorted(fails) == ["acls/D:\\Sites\\Web", "acls/D:\\Sites\\Web\\upload.aspx"]
    assert "3 captured file(s) and folder(s) below inherit it" in fails["acls/D:\\Sites\\Web"]


def test_anon_write_judges_the_first_acl_of_a_folder_captured_twice(builtin_rules):
    """Two captures of one folder (two spellings of one path): IIS-ANON-005 judges the first, as it
    always has, whether or not the snapshot holds such duplicates (the rule has a faster path without)."""
    from iisguard.engine.evaluate import Selected, evaluate
    from iisguard.model.snapshot import Snapshot

    def ace(who, rights):
        return {"principal": who, "type": "allow", "rights": rights, "inherited": False, "inheritance": []}

    def scan(acls):
        data = _anonymous_web_site([{"path": "D:\\Sites\\Web", "aces": [ace("SYSTEM", ["F"])]}, *acls])
        rule = builtin_rules["IIS-ANON-005"]
        found = evaluate(Snapshot(data), [Selected(rule, rule.severity, rule.default_parameters())]).findings
        return {f.resource: f.outcome.value for f in found}

    writable = {"path": "D:\\Sites\\Web\\files", "aces": [ace("Everyone", ["M"])]}
    readable = {"path": "d:/sites/web/files/", "aces": [ace("Everyone", ["RX"])]}
    assert scan([writable])["acls/D:\\Sites\\Web\\files"] == "fail"
    assert scan([writable, readable])["acls/D:\\Sites\\Web\\files"] == "fail"
    assert scan([readable, writable])["acls/d:/sites/web/files/"] == "pass"
    assert scan([readable])["acls/d:/sites/web/files/"] == "pass"


def test_admin_equivalent_right_through_a_group_only_some_pools_are_in(builtin_rules):
    # IIS-POOL-003 works out what thousands of pools reach in common once: a pool whose own identity is
    # in a group holding a right still fails through that group, the others pass, and a right held by a
    # group whose members were not captured leaves every pool outside it not reviewed.
    ops = {"name": "HOST\\WebOps", "sid": "S-1-5-21-1-2-3-1010", "kind": "local_group"}
    fragment = {
        **pools(
            {"name": "Shop", "identity": {"type": "ApplicationPoolIdentity"}},
            {"name": "Blog", "identity": {"type": "ApplicationPoolIdentity"}},
        ),
        "user_rights": {"SeBackupPrivilege": ["*" + ops["sid"]]},
        "principals": [dict(ADMINS, members=[]), dict(ops, members=[{"sid": SHOP_SID}])],
    }
    found = run(builtin_rules, "IIS-POOL-003", fragment)
    assert found["app_pools/Shop"].outcome is Outcome.FAIL
    assert "holds SeBackupPrivilege (through HOST\\WebOps (a group IIS APPPOOL\\Shop is in))" in (
        found["app_pools/Shop"].message
    )
    assert found["app_pools/Blog"].outcome is Outcome.PASS
    fragment["principals"] = [dict(ADMINS, members=[]), {k: v for k, v in ops.items()}]
    found = run(builtin_rules, "IIS-POOL-003", fragment)
    assert found["app_pools/Blog"].outcome is Outcome.NOT_REVIEWED
    assert "granted to HOST\\WebOps, whose members were not captured" in found["app_pools/Blog"].message
