"""IIS-POOL-002, IIS-ANON-001, IIS-KRB-005 and IIS-PRIV-006 agree on group membership (issue 14).

One domain account, CORP\\svc_web, is the identity of pool Shop and the anonymous user of site Shop;
a logon right is granted to Domain Admins and to Print Operators. However its membership is written
(direct, nested, by SID, by the bare name an AD export without the NetBIOS name gives, by a localized
name), the four rules say "member"; when its AD data is missing they all say not_reviewed; when it
is in no privileged group they all pass. They all ask `snap.accounts.membership()`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from iisguard import Outcome
from iisguard.testing import DEFAULT_BASE, Case, deep_merge, run_case

DOMAIN = "S-1-5-21-1-2-3"
ACCOUNT = "CORP\\svc_web"
RULES = {
    "IIS-POOL-002": "app_pools/Shop",
    "IIS-ANON-001": "locations/Shop",
    "IIS-KRB-005": f"principals/{ACCOUNT}",
    "IIS-PRIV-006": f"principals/{ACCOUNT}",
}


def snapshot(member_of: list[str], *, ad: bool = True, extra: list[dict] | None = None) -> dict:
    account = {"name": ACCOUNT, "sid": f"{DOMAIN}-1105", "kind": "domain_user", "member_of": member_of}
    if ad:
        account.update(ad_collected=True, object_class="user", admin_count=0)
    fragment = {
        "host": {"name": "WEB01", "domain": "corp.example", "domain_joined": True},
        "collection": {
            "sections": [
                {"name": s, "status": "ok"}
                for s in ("iis", "principals", "local_accounts", "user_rights", "ad")
            ]
        },
        "ad": {"collected": True, "domain": "corp.example"},
        "local_accounts": {"groups_listed": True},
        "iis": {
            "app_pools": [{"name": "Shop", "identity": {"type": "SpecificUser", "user": ACCOUNT}}],
            "sites": [{"name": "Shop", "applications": [{"path": "/", "app_pool": "Shop"}]}],
            "authentication": [
                {"location": "", "anonymous": {"enabled": True, "user": ACCOUNT, "user_state": "set"}}
            ],
        },
        "user_rights": {"SeRemoteInteractiveLogonRight": ["CORP\\Domain Admins", "*S-1-5-32-550"]},
        "principals": [
            {"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544", "kind": "builtin", "members": []},
            {"name": "BUILTIN\\Print Operators", "sid": "S-1-5-32-550", "kind": "builtin", "members": []},
            account,
            *(extra or []),
        ],
    }
    return deep_merge(copy.deepcopy(DEFAULT_BASE), fragment)


NESTED = [
    {
        "name": "CORP\\Web Admins",
        "kind": "domain_group",
        "ad_collected": True,
        "member_of": ["CORP\\Domain Admins"],
    }
]
MEMBER = {
    "direct": snapshot(["CORP\\Domain Admins"]),
    "nested": snapshot(["CORP\\Web Admins"], extra=NESTED),
    "by SID": snapshot([f"{DOMAIN}-512"]),
    "by bare name": snapshot(["Domain Admins"]),
    "by DN": snapshot(["CN=Domain Admins,CN=Users,DC=corp,DC=example"]),
    "by localized name": snapshot(["CORP\\Domänen-Admins"]),
    "localized local group": snapshot(["VORDEFINIERT\\Druck-Operatoren"]),
}


def outcomes(builtin_rules, snap: dict) -> dict[str, Outcome]:
    out = {}
    for rule_id, resource in RULES.items():
        case = Case(rule_id, Path(f"{rule_id}.yaml"), snap)
        findings = run_case(builtin_rules[rule_id], case)
        found = {f.resource: f.outcome for f in findings}
        out[rule_id] = found.get(resource)
        # IIS-PRIV-006 fails per grant (user_rights/<right>/<holder>), naming who it reaches.
        if any(f.outcome is Outcome.FAIL and ACCOUNT in f.message for f in findings):
            out[rule_id] = Outcome.FAIL
    return out


@pytest.mark.parametrize("style", list(MEMBER))
def test_every_rule_sees_the_membership(builtin_rules, style):
    assert outcomes(builtin_rules, MEMBER[style]) == dict.fromkeys(RULES, Outcome.FAIL)


def test_every_rule_passes_an_account_in_no_privileged_group(builtin_rules):
    assert outcomes(builtin_rules, snapshot(["CORP\\Web Operators"])) == dict.fromkeys(RULES, Outcome.PASS)


def test_every_rule_says_not_reviewed_when_membership_is_unknown(builtin_rules):
    # No AD data for the account: its domain group memberships are unknown.
    assert outcomes(builtin_rules, snapshot([], ad=False)) == dict.fromkeys(RULES, Outcome.NOT_REVIEWED)
