"""The public domain model: one account resolver, scope, membership yes/no/unknown, pools, ACE rights."""

from __future__ import annotations

import copy

import pytest

import iisguard
from iisguard import Snapshot, accounts, rights, sids

BASE = {
    "schema_version": "1.0",
    "host": {"name": "WEB01"},
    "collection": {"source": "synthetic", "tool_version": "t", "collected_at": "2026-01-01T00:00:00Z"},
}
DOMAIN_SID = "S-1-5-21-1-2-3"


def snap(**data) -> Snapshot:
    return Snapshot({**copy.deepcopy(BASE), **data})


def test_public_api_exports_the_model():
    for name in ("accounts", "iis", "acls", "rights", "userrights", "kerberos", "names", "Accounts", "Pool"):
        assert hasattr(iisguard, name), name
    assert iisguard.identities is iisguard.iis  # the former name keeps working


def test_one_key_for_every_spelling_of_an_account():
    s = snap(
        host={"name": "WEB01", "domain": "corp.example"},
        principals=[
            {
                "name": "CORP\\svc_web",
                "sid": f"{DOMAIN_SID}-1105",
                "distinguished_name": "CN=svc_web,OU=Svc,DC=corp,DC=example",
            },
            {"name": "svc_web", "kind": "domain_user", "ad_collected": True},
        ],
    )
    a = s.accounts
    want = f"{DOMAIN_SID}-1105"
    assert a.key("CORP\\svc_web") == want
    assert a.key("svc_web@corp.example") == want
    assert a.key("CN=svc_web,OU=Svc,DC=corp,DC=example") == want
    assert a.key(f"*{want.lower()}") == want
    assert a.has_ad_data("CORP\\svc_web")  # the AD record, merged by sAMAccountName


@pytest.mark.parametrize(
    ("name", "sid"),
    [
        ("Jeder", sids.EVERYONE),
        ("VORDEFINIERT\\Administratoren", sids.ADMINISTRATORS),
        ("NT-AUTORITÄT\\IUSR", sids.IUSR),
        ("IIS APPPOOL\\DefaultAppPool", "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"),
    ],
)
def test_localized_and_virtual_names_resolve_to_their_sid(name, sid):
    assert snap().accounts.key(name) == sid


@pytest.mark.parametrize(
    ("name", "scope"),
    [
        ("localhost\\svc", "local"),
        (".\\svc", "local"),
        ("WEB01\\svc", "local"),
        ("svc", "local"),  # IIS resolves a bare userName on the machine first
        ("CORP\\svc", "domain"),
        ("svc@corp.example", "domain"),
        ("CN=svc,OU=x,DC=corp,DC=example", "domain"),
        ("NT VIRTUAL MACHINE\\1C4B2F", "virtual"),
        ("Font Driver Host\\UMFD-0", "virtual"),
        ("Window Manager\\DWM-1", "virtual"),
        ("IIS APPPOOL\\Shop", "iis_pool"),
        ("NT SERVICE\\W3SVC", "service"),
        ("NT AUTHORITY\\NETWORK SERVICE", "builtin"),
        ("BUILTIN\\IIS_IUSRS", "builtin"),
        ("Jeder", "builtin"),
    ],
)
def test_scope(name, scope):
    accts = snap().accounts
    assert accts.scope(name) == scope
    for _ in range(2):  # is_domain is remembered per name: the second answer comes from the memo
        assert accts.is_domain(name) is (scope == "domain" and not sids.is_sid(name))


@pytest.mark.parametrize("text", ["S-1-5-32-544", "s-1-5-32-544", "*S-1-5-32-544", " *s-1-5-32-544\n"])
def test_normalize_sid_upper_cases_and_drops_the_secedit_star(text):
    assert sids.normalize_sid(text) == "S-1-5-32-544"


@pytest.mark.parametrize(
    "text", ["", "S-1-", "**S-1-5-32-544", "Administrators", "S-1-5-32-544x", "S-1-5-3 2"]
)
def test_normalize_sid_refuses_what_is_not_a_sid(text):
    with pytest.raises(ValueError, match="not a SID"):
        sids.normalize_sid(text)


def _membership_snapshot(member_of, **extra):
    return snap(
        principals=[
            {"name": "WEB01\\svc", "kind": "local_user", "member_of": member_of},
            {"name": "BUILTIN\\Administrators", "sid": sids.ADMINISTRATORS, "members": []},
        ],
        **extra,
    )


@pytest.mark.parametrize(
    "group",
    [
        "Domain Admins",
        "CORP\\Domain Admins",
        f"{DOMAIN_SID}-512",
        "Domänen-Admins",
        "CN=Domain Admins,CN=Users,DC=corp,DC=example",
    ],
)
def test_domain_admins_however_it_is_written(group):
    m = _membership_snapshot([group], local_accounts={"groups_listed": True}).accounts.membership(
        "WEB01\\svc"
    )
    assert m.answer == "yes" and "Domain Admins" in m.groups


def test_membership_path_names_the_nested_group():
    s = snap(
        principals=[
            {"name": "WEB01\\svc", "kind": "local_user", "member_of": ["WEB01\\Web Admins"]},
            {
                "name": "WEB01\\Web Admins",
                "kind": "local_group",
                "member_of": ["VORDEFINIERT\\Administratoren"],
            },
        ],
        local_accounts={"groups_listed": True},
    )
    m = s.accounts.membership("WEB01\\svc")
    assert m.answer == "yes"
    assert m.hits == ("BUILTIN\\Administrators (through WEB01\\Web Admins)",)


def test_membership_of_an_account_with_its_token_groups_names_each_path():
    """The groups after the first principal (IIS_IUSRS with a pool identity) are named in the path, and
    what each one adds is the same whichever account it is asked with (worked out once, reused)."""
    s = snap(
        principals=[
            {"name": "WEB01\\svc", "kind": "local_user", "member_of": ["WEB01\\Web Admins"]},
            {"name": "WEB01\\other", "kind": "local_user"},
            {"name": "WEB01\\Web Admins", "kind": "local_group", "member_of": ["BUILTIN\\Administrators"]},
            {"name": "BUILTIN\\IIS_IUSRS", "kind": "builtin", "member_of": ["BUILTIN\\Backup Operators"]},
        ],
        local_accounts={"groups_listed": True},
    )
    first = s.accounts.membership(["WEB01\\svc", "BUILTIN\\IIS_IUSRS"])
    assert first.hits == (
        "BUILTIN\\Administrators (through WEB01\\Web Admins)",
        "BUILTIN\\Backup Operators (through BUILTIN\\IIS_IUSRS)",
    )
    second = s.accounts.membership(["WEB01\\other", "BUILTIN\\IIS_IUSRS"])
    assert second.hits == ("BUILTIN\\Backup Operators (through BUILTIN\\IIS_IUSRS)",)
    # Asked first, the same group is the account itself: no path.
    assert s.accounts.membership(["BUILTIN\\IIS_IUSRS"]).hits == ("BUILTIN\\Backup Operators",)
    assert s.accounts.membership(["WEB01\\other"]).answer == "no"


def test_groups_not_listed_make_membership_unknown_not_no():
    # Only `net localgroup Administrators` was captured: Backup Operators' members are unknown.
    s = _membership_snapshot([])
    m = s.accounts.membership("WEB01\\svc")
    assert m.answer == "unknown"
    assert "BUILTIN\\Backup Operators" in m.unknown and "members of" in m.reason
    listed = _membership_snapshot([], local_accounts={"groups_listed": True}).accounts.membership(
        "WEB01\\svc"
    )
    assert listed.answer == "no"


def test_a_domain_account_without_ad_data_is_unknown():
    s = _membership_snapshot([], local_accounts={"groups_listed": True})
    m = s.accounts.membership("CORP\\svc_web")
    assert m.answer == "unknown" and m.needs_ad == ("CORP\\svc_web",)


def test_one_table_of_privileged_groups():
    by_label = {g.label: g for g in accounts.PRIVILEGED_GROUPS}
    assert by_label["BUILTIN\\Administrators"].sid == sids.ADMINISTRATORS
    assert by_label["Domain Admins"].rid == 512
    assert accounts.group_of("Administratoren") is by_label["BUILTIN\\Administrators"]
    assert accounts.group_of(f"{DOMAIN_SID}-519") is by_label["Enterprise Admins"]
    assert accounts.privileged_groups([512, "S-1-5-32-551"]) == (
        by_label["Domain Admins"],
        by_label["BUILTIN\\Backup Operators"],
    )


def test_pools_iis7_and_iis6_with_identity_and_worker():
    s = snap(
        iis={
            "app_pools": [
                {"name": "Shop"},
                {
                    "name": "Api",
                    "identity": {"type": "SpecificUser", "user": "svc@corp.example"},
                    "manual_group_membership": True,
                },
            ],
            "legacy": {"app_pools": [{"name": "Old", "identity_type": 0}], "wam_user": "WEB01\\IWAM_WEB01"},
        }
    )
    shop, api, old = s.pools
    assert shop.identity.key == sids.app_pool_sid("Shop") and shop.worker == (
        shop.identity.key,
        sids.IIS_IUSRS,
    )
    assert api.identity.key == "name:corp\\svc" and api.worker == (api.identity.key,)
    assert old.legacy and old.type == "LocalSystem" and old.identity.key == sids.LOCAL_SYSTEM
    assert s.pools.get("shop") is shop


def test_locations_carry_effective_anonymous_identity():
    s = snap(
        iis={
            "app_pools": [{"name": "Shop"}],
            "sites": [{"name": "Shop", "applications": [{"path": "/", "app_pool": "Shop"}]}],
            "authentication": [
                {"location": "", "anonymous": {"enabled": True, "user": "IUSR"}},
                {
                    "location": "Shop/upload",
                    "anonymous": {"enabled": True, "user": "", "user_state": "empty"},
                },
            ],
        }
    )
    site, upload = s.locations.all
    assert site.identity.key == sids.IUSR and site.key == "locations/Shop"
    assert upload.configured and upload.anonymous_is_pool_identity
    assert upload.anonymous_keys == (sids.app_pool_sid("Shop"), sids.IIS_IUSRS)


@pytest.mark.parametrize(
    ("codes", "level"),
    [
        (["F"], "full"),
        (["GA"], "full"),
        (["M"], "modify"),
        (["RX", "W"], "write"),
        (["WD"], "write"),
        (["RX"], "read"),
        (["N"], "none"),
    ],
)
def test_ace_access_levels(codes, level):
    assert rights.access_level(codes) == level
    assert rights.grants_write(codes) == (level in ("full", "modify", "write"))


def test_a_local_account_recorded_by_its_bare_name_is_the_hosts():
    """A build script's `New-LocalUser reports` is recorded as `reports`; a pool's `.\\reports` is it."""
    s = snap(host={"name": "WEB01"}, principals=[{"name": "reports", "kind": "local_user"}])
    a = s.accounts
    assert a.key(".\\reports") == a.key("WEB01\\reports") == a.key("reports")
    assert snap(host={"name": "WEB01"}, principals=[]).accounts.key("reports") != a.key(".\\reports")


def test_kerberos_identities_share_the_user_part_but_not_the_objects():
    # The domain accounts IIS uses are worked out once for both lists; the computer account joining one
    # of them (a pool that runs as WEB01$) marks that entry in the computer list only.
    s = snap(
        iis={
            "app_pools": [
                {"name": "Shop", "identity": {"type": "SpecificUser", "user": "CORP\\svc_web"}},
                {"name": "Box", "identity": {"type": "SpecificUser", "user": "CORP\\WEB01$"}},
                {"name": "Net", "identity": {"type": "NetworkService"}},
            ]
        },
        principals=[
            {
                "name": "CORP\\svc_web",
                "sid": f"{DOMAIN_SID}-1105",
                "kind": "domain_user",
                "ad_collected": True,
            },
            {"name": "CORP\\WEB01$", "sid": f"{DOMAIN_SID}-1000", "kind": "computer", "ad_collected": True},
        ],
    )
    users = s.kerberos.identities(computer=False)
    both = s.kerberos.identities(computer=True)
    alone = s.kerberos.identities(computer=True, users=False)
    assert [(i.name, i.computer) for i in users] == [("CORP\\svc_web", False), ("CORP\\WEB01$", False)]
    assert [(i.name, i.computer) for i in both] == [("CORP\\svc_web", False), ("CORP\\WEB01$", True)]
    assert both[1].roles[0].startswith("computer account") and "pool 'Net'" in both[1].roles[0]
    assert both[1].roles[1:] == users[1].roles == ["identity of application pool 'Box'"]
    assert all(a is not b for a, b in zip(users, both, strict=True))
    assert [(i.name, i.computer) for i in alone] == [("CORP\\WEB01$", True)]
    assert s.kerberos.identities(computer=False) is users  # remembered


def test_kerberos_windows_locations_and_domain_controllers_found_once():
    # Several KRB rules walk the Windows-authentication locations and every Tier0 asks for the DC
    # accounts: both are worked out once per snapshot and handed out in the same order each time.
    from pathlib import Path

    from iisguard import kerberos
    from iisguard.model import snapshot as snapmod

    root = Path(__file__).resolve().parents[1]
    farm = snapmod.load(root / "fixtures/hosts/farm-web01/snapshot.json")
    first = list(kerberos.windows_locations(farm))
    assert [w.loc.path for w in first] and first == farm.kerberos.windows
    assert all(a is b for a, b in zip(first, kerberos.windows_locations(farm), strict=True))
    assert all(w.windows.get("enabled") is True for w in first)
    s = snap(
        principals=[
            {"name": "CORP\\DC1$", "sid": f"{DOMAIN_SID}-1001", "user_account_control": 0x82000},
            {"name": "CORP\\WEB01$", "sid": f"{DOMAIN_SID}-1002", "user_account_control": 0x1000},
        ]
    )
    assert [a.name for a in s.kerberos.dc_accounts] == ["CORP\\DC1$"]
    tier0 = kerberos.Tier0(s)
    assert tier0.dc_known and tier0.classify("dc1") == "domain controller" and tier0.classify("web01") is None
    assert tier0.dc_accounts == s.kerberos.dc_accounts and tier0.dc_accounts is not s.kerberos.dc_accounts


def test_privileged_group_names_are_folded_once():
    group = accounts.PrivilegedGroup("BUILTIN\\Administrators", ("Administrators", "Administratoren"))
    assert group.folded == frozenset({"administrators", "administratoren"})
    assert group.folded is group.folded  # remembered: membership asks it per group and principal
    assert group == accounts.PrivilegedGroup("BUILTIN\\Administrators", ("Administrators", "Administratoren"))
