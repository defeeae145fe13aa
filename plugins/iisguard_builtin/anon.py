"""Built-in rule pack: IIS-ANON-* rules, the identity anonymous requests run as (RULES.md §3B, §3H)."""

from __future__ import annotations

from iisguard import Parameter, fail, hookimpl, not_applicable, not_reviewed, passed, rule, sids

from . import _common as c

PRIVILEGED_GROUP_PARAMS = [
    Parameter(
        "privileged_groups",
        list(sids.PRIVILEGED_LOCAL_GROUPS),
        "Local groups (SIDs or names) the anonymous identity must not belong to, directly or transitively",
    ),
    Parameter(
        "privileged_domain_rids",
        list(c.DOMAIN_ADMIN_RIDS),
        "Relative ids of domain groups that count as privileged (512 Domain Admins, 518, 519, 526, 527)",
    ),
]


def _anonymous_keys(loc: c.AnonLocation) -> list[str]:
    """The anonymous identity, plus IIS_IUSRS when it is the pool identity (WAS injects that group)."""
    ident = loc.identity
    assert ident is not None
    keys = [ident.key]
    if ident.type not in ("IUSR", "custom") and loc.pool and not loc.pool.get("manual_group_membership"):
        keys.append(sids.IIS_IUSRS)
    return keys


@rule(
    id="IIS-ANON-001",
    name="anon.privileged_group",
    title="Anonymous account is a member of a privileged group",
    severity="critical",
    category="anon",
    description="Anonymous authentication is enabled and the identity anonymous requests run as (IUSR, a "
    "custom account, or the pool identity when userName is empty) is, directly or through nested groups, "
    "a member of Administrators or another privileged group.",
    rationale="Every unauthenticated visitor then acts with that group's power on the server: reading and "
    "writing anything an administrator, backup operator or remote desktop user can.",
    remediation="Remove-LocalGroupMember -Group Administrators -Member <anonymous account>\n"
    'net localgroup "Backup Operators" <anonymous account> /delete\n'
    "appcmd set config -section:system.webServer/security/authentication/anonymousAuthentication /userName:IUSR",
    references=[c.STIG_218750, c.STIG_214461, c.STIG_6537, c.MS_BUILTIN],
    parameters=PRIVILEGED_GROUP_PARAMS,
    needs=("iis", "principals"),
)
def anon_privileged_group(snap, params):
    """Anonymous account is a member of a privileged group.

    Checks: at every site, application and configured folder where anonymous authentication is enabled,
    the effective anonymous identity (IUSR when userName is absent, the configured account when set, the
    application pool identity plus the IIS_IUSRS group WAS injects when userName="") against the
    `privileged_groups` (the STIG V-218750 list by SID: Administrators, Backup Operators, Certificate
    Service DCOM Access, Distributed COM Users, Event Log Readers, Network Configuration Operators,
    Performance Log/Monitor Users, Power Users, Print/Server/Account Operators, Remote Desktop Users,
    Replicator) and domain Tier-0 groups, transitively. On IIS 6 the metabase AnonymousUserName
    (IUSR_<machine>) is checked the same way. Membership that was not captured, or a domain account
    without Active Directory data, gives not_reviewed, never a pass.
    Why: anonymous requests run with that account's token; a privileged anonymous account hands the
    server to anyone who can reach the site.
    Bad: `<anonymousAuthentication userName="CONTOSO\\webanon"/>` where webanon is in Administrators.
    Good: `userName=""` (the pool identity) or IUSR, neither of them in any privileged group.
    Remediation: `Remove-LocalGroupMember -Group Administrators -Member webanon`, or switch anonymous to the
    pool identity: `appcmd set config "Site" -section:anonymousAuthentication /userName:"" /commit:apphost`.
    References: IIS 10.0 Site STIG V-218750 (CAT I); IIS 8.5 V-214461; IIS 7 V-6537; Microsoft, built-in IIS accounts.
    """
    groups = params["privileged_groups"]
    rids = params["privileged_domain_rids"]
    cache: dict[tuple[str, ...], c.Membership] = {}

    def membership(keys: list[str], name: str) -> c.Membership:
        tkey = tuple(keys)
        if tkey not in cache:
            cache[tkey] = c.privileged_membership(snap, keys, groups, rids, names={keys[0]: name})
        return cache[tkey]

    for loc in c.anonymous_locations(snap):
        if loc.anonymous is None:
            yield not_reviewed(
                loc.key, f"No anonymous authentication settings were captured for '{loc.path}'."
            )
            continue
        if not loc.enabled:
            yield not_applicable(
                loc.key, f"Anonymous authentication is disabled at '{loc.path}'.", at=loc.anonymous
            )
            continue
        ident = loc.identity
        if ident is None:
            yield not_reviewed(
                loc.key,
                f"Anonymous requests at '{loc.path}' run as the application pool identity, "
                "but the application's pool was not captured.",
                at=loc.anonymous,
            )
            continue
        if ident.key == sids.LOCAL_SYSTEM:
            yield fail(
                loc.key,
                f"Anonymous requests at '{loc.path}' run as LocalSystem (the pool identity of "
                f"'{(loc.pool or {}).get('name')}'), so any visitor acts with full control of the server; run "
                "the pool as ApplicationPoolIdentity.",
                at=loc.anonymous,
                identity=ident.name,
            )
            continue
        m = membership(_anonymous_keys(loc), ident.name)
        yield _judge(loc.key, f"at '{loc.path}'", ident.name, m, loc.anonymous)

    legacy = snap.iis.get("legacy") or {}
    user = legacy.get("anonymous_user")
    if user:
        key = snap.principals.key(user)
        yield _judge(
            c.principal_key(user), "(IIS 6 metabase AnonymousUserName)", user, membership([key], user), legacy
        )


def _judge(resource, where, name, m: c.Membership, at):
    if m.hits:
        return fail(
            resource,
            f"Anonymous requests {where} run as {name}, which is a member of {', '.join(m.hits)}, so every "
            "unauthenticated visitor holds that group's power; remove the account from the group or use "
            "a non-privileged anonymous identity.",
            at=at,
            identity=name,
            groups=list(m.hits),
        )
    if not m.judged:
        return not_reviewed(
            resource,
            f"Cannot tell whether {name} (anonymous {where}) is in a privileged group: "
            f"{c.membership_result_text(m)}.",
            at=at,
        )
    return passed(resource, f"Anonymous identity {name} {where} is in no privileged group.", at=at)


RULES: list = [anon_privileged_group]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-ANON-"], "description": "Built-in IIS-ANON-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES
