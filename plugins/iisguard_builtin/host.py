"""Built-in rule pack: IIS-HOST-* rules, IIS_IUSRS, local accounts, admin tools and roles (RULES.md §3C).

Group membership comes from `principals[]`: a group's `members[]` and anyone's `member_of[]`, expanded
transitively by the PrincipalIndex. A membership that was not captured makes a rule `not_reviewed`,
never a pass.
"""

from __future__ import annotations

from iisguard import (
    Parameter,
    accounts,
    acls,
    fail,
    hookimpl,
    iis,
    names,
    not_applicable,
    not_reviewed,
    passed,
    rule,
    sids,
)
from iisguard import references as refs


def _expected_member(key: str, kind: str, iis_keys) -> str | None:
    """Why a member of IIS_IUSRS is expected there, or None."""
    if key == sids.IUSR:
        return "IUSR is a member by default"
    if sids.is_app_pool_sid(key):
        return "an application pool account"
    if key.startswith(sids.NT_SERVICE_PREFIX):
        return "a service account (NT SERVICE)"
    if key in (sids.LOCAL_SERVICE, sids.NETWORK_SERVICE):
        return "a built-in service identity"
    if kind in ("gmsa", "msa", "virtual"):
        return f"a {kind} service account"
    if key in iis_keys:
        return "an identity IIS runs as"
    return None


@rule(
    id="IIS-HOST-001",
    name="host.iis_iusrs_members",
    title="IIS_IUSRS has human or broad explicit members",
    severity="medium",
    category="host",
    description=(
        "Fails for each explicit member of BUILTIN\\IIS_IUSRS that is a broad group (Everyone, Users, "
        "Authenticated Users, Domain Users/Computers), an administrator, any other group, or a user account that "
        "is not an identity IIS runs as. IUSR, application pool accounts, service and managed service accounts, "
        "and the configured pool / anonymous / connect-as users are expected members."
    ),
    rationale=(
        "IIS_IUSRS holds 'Impersonate a client after authentication' and 'Log on as a batch job' and is granted "
        "read (and on some folders write) access to web content and IIS temp folders; a person or a broad group in "
        "it gets those rights and that access on every site of the host."
    ),
    remediation=(
        'net localgroup IIS_IUSRS "CORP\\jdoe" /delete\n'
        "Remove-LocalGroupMember -Group IIS_IUSRS -Member 'NT AUTHORITY\\Authenticated Users'\n"
        "Grant what a person needs on a specific folder instead (icacls), never through IIS_IUSRS."
    ),
    references=[refs.MS_BUILTIN, refs.KB981949, refs.PC_PRIVILEGE_EVERYONE],
    parameters=[
        Parameter(
            "allowed_members", [], "Further expected members (SIDs or names), e.g. a vendor's service account"
        ),
    ],
    needs=("principals",),
)
def iis_iusrs_members(snap, params):
    """Checks: the explicit members of IIS_IUSRS (S-1-5-32-568), from the group's `members[]` and
    anyone's `member_of[]`. Expected, passing: IUSR (a member by default), IIS APPPOOL\\* and
    NT SERVICE\\* accounts, LOCAL/NETWORK SERVICE, gMSA/MSA/virtual accounts, the configured pool,
    anonymous, connect-as and impersonation users, and `allowed_members`. Fails on broad groups,
    administrators (the member is Administrators or in it), other groups, and other user accounts.
    Not reviewed when the group's membership was not captured.
    Why: IIS_IUSRS holds SeImpersonate and batch logon and read access to all content (KB981949);
    a human or broad member gets all of it across every site (MS built-in accounts page).
    Bad: `net localgroup IIS_IUSRS` lists `NT AUTHORITY\\Authenticated Users` or `CORP\\jdoe`.
    Good: only `NT AUTHORITY\\IUSR` (and service accounts such as `CORP\\gmsa_web$`).
    """
    group_name = "BUILTIN\\IIS_IUSRS"
    known, members = snap.accounts.members(sids.IIS_IUSRS)
    if not known:
        yield not_reviewed(
            f"principals/{group_name}",
            "The members of IIS_IUSRS were not captured; capture them with: net localgroup IIS_IUSRS",
        )
        return
    if not members:
        yield passed(f"principals/{group_name}", "IIS_IUSRS has no explicit members")
        return
    iis_keys = set(iis.iis_principals(snap, include_local_system=True)) | snap.accounts.keys(
        params["allowed_members"]
    )
    # Members with the same direct groups share one groups_of set: judge each set once, not once per
    # member (20,000 members in a deep nest of groups: members x groups checks, #18 case 8).
    admin_in: dict[frozenset[str], bool] = {}
    for member in members:
        ref = member.get("sid") or member.get("name") or ""
        key = snap.accounts.key(ref)
        shown = member.get("name") or snap.accounts.shown(ref)
        kind = str(member.get("kind") or snap.accounts.kind(snap.accounts.ref(key)))
        resource = f"principals/{shown}"
        groups = snap.accounts.groups_of(snap.accounts.ref(key))
        if groups not in admin_in:
            admin_in[groups] = any(accounts.is_admin(g) for g in groups)
        if accounts.is_broad(key):
            problem = "a broad group: every account in it gets IIS_IUSRS's rights"
        elif accounts.is_admin(key) or admin_in[groups]:
            problem = "an administrator (or a member of Administrators)"
        elif _expected_member(key, kind, iis_keys):
            problem = None
        elif kind in ("local_group", "domain_group") or "group" in kind:
            problem = "a group, so everyone in it gets IIS_IUSRS's rights"
        else:
            problem = "an account IIS does not run as (a person or an unrelated service)"
        if problem:
            yield fail(
                resource,
                f"{shown} is a member of IIS_IUSRS and is {problem}. IIS_IUSRS holds SeImpersonatePrivilege, batch "
                f'logon and read access to every site\'s content; remove it: net localgroup IIS_IUSRS "{shown}" /delete',
                at=member,
            )
        else:
            why = _expected_member(key, kind, iis_keys) or "an identity IIS runs as"
            yield passed(resource, f"{shown} is an expected member of IIS_IUSRS ({why})")


@rule(
    id="IIS-HOST-002",
    name="host.iis_identity_in_privileged_group",
    title="IIS_IUSRS, IUSR or IIS APPPOOL\\* is nested in a privileged group",
    severity="critical",
    category="host",
    description=(
        "Fails when IIS_IUSRS (S-1-5-32-568), IUSR (S-1-5-17) or any IIS APPPOOL account (S-1-5-82-*) is, directly "
        "or through nested groups, a member of Administrators, Backup/Server/Account/Print Operators, Power Users, "
        "Remote Desktop Users, Distributed COM Users, Event Log Readers, Performance Log/Monitor Users, Network "
        "Configuration Operators, Replicator, Certificate Service DCOM Access, or a domain admin group."
    ),
    rationale=(
        "These SIDs are in the token of every worker (IIS_IUSRS), of every anonymous request (IUSR) or of a pool's "
        "worker: nesting them in a privileged group makes every site an administrator, or hands it that group's "
        "rights."
    ),
    remediation=(
        'net localgroup Administrators "IIS_IUSRS" /delete\n'
        "Remove-LocalGroupMember -Group 'Administrators' -Member 'IIS APPPOOL\\DefaultAppPool'\n"
        "Check nested groups too: Get-LocalGroupMember -Group Administrators"
    ),
    references=[refs.STIG_218750, refs.STIG_13713, refs.MS_BUILTIN],
    parameters=[
        Parameter("extra_privileged_groups", [], "More groups (SIDs or names) to treat as privileged"),
    ],
    needs=("principals",),
)
def iis_identity_in_privileged_group(snap, params):
    """Checks: IIS_IUSRS, IUSR, the IIS APPPOOL account of every ApplicationPoolIdentity pool and any
    other S-1-5-82-* account the snapshot lists (as a principal or as a group member); fails when
    one is a transitive member of a privileged local group (Administrators, Backup Operators,
    Server/Account/Print Operators, Power Users, Remote Desktop Users, Distributed COM Users, Event
    Log Readers, Performance Log/Monitor Users, Network Configuration Operators, Replicator,
    Certificate Service DCOM Access), a domain admin group (RID 512/518/519/526/527) or
    `extra_privileged_groups`. Not reviewed when no group membership was captured, or when a
    privileged group's members were not (a capture of some groups only).
    Why: every worker carries IIS_IUSRS, every anonymous request runs as IUSR; nesting them in a
    privileged group makes every site privileged (STIG V-218750; IIS 6 STIG V-13713).
    Bad: `net localgroup Administrators` lists `BUILTIN\\IIS_IUSRS` or `IIS APPPOOL\\DefaultAppPool`.
    Good: none of these SIDs appears in any privileged group.
    """
    groups = accounts.privileged_groups(
        [
            *sids.PRIVILEGED_LOCAL_GROUPS,
            *accounts.privileged_groups(scope="domain"),
            *params["extra_privileged_groups"],
        ]
    )
    watch: dict[str, str] = {sids.IIS_IUSRS: "BUILTIN\\IIS_IUSRS", sids.IUSR: "NT AUTHORITY\\IUSR"}
    for view in snap.pools:  # snap.app_pools' identities, worked out once per snapshot
        ident = view.identity
        if not view.legacy and sids.is_app_pool_sid(ident.key):
            watch.setdefault(ident.key, ident.name)
    for p in snap.data.get("principals") or []:
        for ref, name in [(p.get("sid") or p.get("name"), p.get("name"))] + [
            (m.get("sid") or m.get("name"), m.get("name")) for m in p.get("members") or []
        ]:
            if ref:
                key = snap.accounts.key(ref)
                if sids.is_app_pool_sid(key):
                    watch.setdefault(key, name or ref)
    if not snap.accounts.membership_captured():
        for name in watch.values():
            yield not_reviewed(
                f"principals/{name}",
                "No local group membership was captured; capture it with: net localgroup Administrators (and the "
                "other privileged groups) or Get-LocalGroupMember",
            )
        return
    for key, name in watch.items():
        verdict = snap.accounts.membership(key, groups, judge_ad=False)
        if verdict.hits:
            names = ", ".join(verdict.hits)
            yield fail(
                f"principals/{name}",
                f"{name} is a member (directly or through nested groups) of {names}. Every worker or anonymous request "
                f"that carries this SID gets that group's power over the server; remove it from {names}.",
            )
        elif not verdict.judged:  # some privileged groups' members were not captured: cannot tell
            yield not_reviewed(
                f"principals/{name}",
                f"Cannot tell whether {name} is in a privileged group: {verdict.reason}.",
            )
        else:
            yield passed(f"principals/{name}", f"{name} is in no privileged group")


ADMIN_TOOLS = ["%windir%\\system32\\inetsrv\\InetMgr.exe", "%windir%\\system32\\inetsrv\\appcmd.exe"]


@rule(
    id="IIS-HOST-003",
    name="host.admin_tools_writable",
    title="IIS admin tools writable by non-web-managers",
    severity="medium",
    category="host",
    description=(
        "Fails when the ACL of InetMgr.exe or appcmd.exe (in %windir%\\system32\\inetsrv) grants write, modify, "
        "delete, change-permissions or take-ownership to anyone other than TrustedInstaller and the designated "
        "web managers. Read and execute for Administrators, SYSTEM, Users and the application-package groups is "
        "the default and passes."
    ),
    rationale=(
        "Whoever can replace the IIS management tools runs code as the next administrator who opens IIS Manager "
        "or runs appcmd, and can change what the tools show or do."
    ),
    remediation=(
        "Restore the component ACL (TrustedInstaller full control, everyone else read & execute):\n"
        'icacls "%windir%\\system32\\inetsrv\\InetMgr.exe" /setowner "NT SERVICE\\TrustedInstaller"\n'
        'icacls "%windir%\\system32\\inetsrv\\InetMgr.exe" /remove:g "BUILTIN\\Users" /grant:r "BUILTIN\\Users:(RX)"\n'
        "sfc /scanfile=%windir%\\system32\\inetsrv\\InetMgr.exe"
    ),
    references=[refs.STIG_218816, refs.STIG_214431, refs.KB981949],
    parameters=[
        Parameter("paths", ADMIN_TOOLS, "IIS management tools whose ACL is checked"),
        Parameter(
            "web_managers", [], "Principals (SIDs or names) designated as web managers who may write them"
        ),
    ],
    needs=("acls",),
)
def admin_tools_writable(snap, params):
    """Checks: the ACL of each file in `paths` (InetMgr.exe, appcmd.exe); fails on any allow ACE with
    a write-class right for a principal other than TrustedInstaller or `web_managers` (by SID).
    A file whose ACL was not captured is not_reviewed.
    Why: replacing the management tools runs code as the next administrator who uses them
    (STIG V-218816). On a default install they are component files owned by TrustedInstaller,
    with read & execute for Administrators, SYSTEM, Users and the application-package groups.
    Bad: `InetMgr.exe BUILTIN\\Users:(F)` or `BUILTIN\\Administrators:(F)`.
    Good: `NT SERVICE\\TrustedInstaller:(F)`, `BUILTIN\\Administrators:(RX)`, `BUILTIN\\Users:(RX)`.
    """
    allowed = {sids.TRUSTED_INSTALLER} | snap.accounts.keys(params["web_managers"])
    for path in params["paths"]:
        acl = snap.acl(path)
        if acl is None:
            yield not_reviewed(
                f"acls/{path}", f'The ACL of {path} was not captured; capture it with: icacls "{path}"'
            )
            continue
        bad = acls.write_aces(snap, acl, allowed)
        resource = f"acls/{acl['path']}"
        if bad:
            yield fail(
                resource,
                f"{acl['path']} is writable by {', '.join(acls.ace_text(a) for a in bad)}. Whoever can replace it runs code "
                "as the next administrator who manages IIS; leave write to TrustedInstaller (and named web managers) "
                "only.",
                at=bad[0],
            )
        else:
            yield passed(resource, f"Only TrustedInstaller or web managers can change {acl['path']}", at=acl)


BUILTIN_LOCAL_ACCOUNTS = ["Administrator", "Guest", "DefaultAccount", "WDAGUtilityAccount"]
BUILTIN_ACCOUNT_RIDS = {500, 501, 503, 504}


@rule(
    id="IIS-HOST-004",
    name="host.unexpected_local_accounts",
    title="Unexpected local accounts on the web server",
    severity="low",
    category="host",
    default_enabled=False,
    description=(
        "Notes each enabled local user account that is neither a built-in account (Administrator, Guest, "
        "DefaultAccount, WDAGUtilityAccount, by RID), nor an identity IIS runs as, nor on the organization's "
        "allow-list. Off in the baseline profile: without a tailored allow-list it is noisy."
    ),
    rationale=(
        "Every local account is a password that can be guessed, reused or left behind; a web server should carry "
        "only the accounts its role needs (STIG V-218796)."
    ),
    remediation=(
        "Disable or remove accounts the server does not need, or add them to allowed_accounts:\n"
        "Disable-LocalUser -Name <account>\n"
        "Remove-LocalUser -Name <account>\n"
        "net user <account> /active:no"
    ),
    references=[refs.STIG_218796, refs.STIG_218802],
    parameters=[
        Parameter(
            "allowed_accounts", BUILTIN_LOCAL_ACCOUNTS, "Local account names (globs) that are expected"
        ),
        Parameter(
            "allow_iis_identities",
            True,
            "Accounts IIS runs as (pool, anonymous, connect-as users) are expected",
            "bool",
        ),
    ],
    needs=("local_accounts",),
)
def unexpected_local_accounts(snap, params):
    """Checks: every principal of kind `local_user` whose `enabled` is not false; passes built-in
    accounts (RID 500/501/503/504 or a name in `allowed_accounts`), identities IIS runs as (when
    `allow_iis_identities`), fails the rest. Disabled accounts are not applicable.
    Why: each extra account is a credential to guess or reuse (STIG V-218796). MITRE's automated
    check hard-codes `Administrator, Guest, vagrant`; here the allow-list is a parameter.
    Bad: an enabled `FIXTURE\\olddev` account nobody documented.
    Good: only Administrator (enabled), Guest and DefaultAccount (disabled), and the pool's account.
    """
    iis_keys = (
        set(iis.iis_principals(snap, include_local_system=True)) if params["allow_iis_identities"] else set()
    )
    for p in snap.data.get("principals") or []:
        if p.get("kind") != "local_user":
            continue
        name = str(p.get("name") or p.get("sid"))
        resource = f"principals/{name}"
        if p.get("enabled") is False:
            yield not_applicable(resource, f"{name} is disabled", at=p)
            continue
        account = name.rsplit("\\", 1)[-1]
        sid = str(p.get("sid") or "")
        rid = sids.domain_rid(sid) if sid else None
        key = snap.accounts.key(p.get("sid") or name)
        if rid in BUILTIN_ACCOUNT_RIDS or names.matches_any(account, params["allowed_accounts"]):
            yield passed(resource, f"{name} is a built-in or allow-listed account", at=p)
        elif key in iis_keys:
            yield passed(resource, f"{name} is an identity IIS runs as", at=p)
        else:
            yield fail(
                resource,
                f"Local account {name} is enabled and is neither built in, an IIS identity nor on the allow-list. Remove "
                "or disable it if the server does not need it (Disable-LocalUser), or add it to allowed_accounts.",
                at=p,
            )


CONFLICTING_ROLES = [
    "AD-Domain-Services",
    "ADCS-Cert-Authority",
    "ADFS-Federation",
    "ADLDS",
    "ADRMS",
    "DHCP",
    "DNS",
    "Fax",
    "Hyper-V",
    "NPAS",
    "Print-Services",
    "Remote-Desktop-Services",
    "RemoteAccess",
    "VolumeActivation",
    "WDS",
]


@rule(
    id="IIS-HOST-005",
    name="host.iis_on_dc_or_multirole",
    title="IIS on a domain controller or multi-role host",
    severity="high",
    category="host",
    description=(
        "Fails when the IIS host is a domain controller, or carries a server role that should not share a host "
        "with a web server (DNS, DHCP, AD CS, AD FS, Hyper-V, Remote Desktop Services, …; tunable)."
    ),
    rationale=(
        "NetworkService and ApplicationPoolIdentity act on the network as the machine account: on a DC that is "
        "the DC's own account, so web code acts as a domain controller. Any other role widens what a compromised "
        "site reaches (STIG V-218817)."
    ),
    remediation=(
        "Move the web sites to a dedicated member server, or remove the other role:\n"
        "Uninstall-WindowsFeature -Name <role>\n"
        "Get-WindowsFeature | Where-Object Installed   # review what else the host carries"
    ),
    references=[refs.STIG_218817, refs.MS_APID],
    parameters=[
        Parameter(
            "conflicting_roles",
            CONFLICTING_ROLES,
            "Windows roles (feature names, globs) that must not share the host",
        ),
    ],
)
def iis_on_dc_or_multirole(snap, params):
    """Checks: `host.is_domain_controller` (or an AD-Domain-Services role) and `host.roles` against
    `conflicting_roles` (case-insensitive globs over feature names). Not applicable when
    `host.iis.installed` is false; not reviewed when neither the DC flag nor the roles were captured.
    Why: built-in pool identities act as the machine account on the network, which on a DC is the
    DC itself (MS Application Pool Identities); STIG V-218817 requires a dedicated web server.
    Bad: `host.is_domain_controller: true`, or roles `[Web-Server, DNS, DHCP]`.
    Good: roles `[Web-Server, FileAndStorage-Services]` on a member server.
    """
    host = snap.data.get("host") or {}
    if (host.get("iis") or {}).get("installed") is False:
        yield not_applicable("host", "IIS is not installed on this host")
        return
    is_dc = host.get("is_domain_controller")
    roles = host.get("roles")
    if is_dc is None and roles is None:
        yield not_reviewed(
            "host",
            "Neither the domain-controller flag nor the installed roles were captured (Get-WindowsFeature)",
        )
        return
    roles = [str(r) for r in roles or []]
    reasons = []
    if is_dc or any(r.casefold() == "ad-domain-services" for r in roles):
        reasons.append(
            "it is a domain controller, so pool identities that act as the machine account act as the DC"
        )
    other = [
        r
        for r in roles
        if names.matches_any(r, params["conflicting_roles"]) and r.casefold() != "ad-domain-services"
    ]
    if other:
        reasons.append(f"it also carries the role(s) {', '.join(other)}")
    if reasons:
        yield fail(
            "host",
            f"IIS runs on {snap.host}, but {'; and '.join(reasons)}. A compromised site then reaches those services; "
            "move the sites to a dedicated member server or remove the other roles.",
            at=host,
        )
    else:
        yield passed("host", "IIS runs on a dedicated member server", at=host)


RULES = [
    iis_iusrs_members,
    iis_identity_in_privileged_group,
    admin_tools_writable,
    unexpected_local_accounts,
    iis_on_dc_or_multirole,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-HOST-"],
        "description": "Built-in IIS-HOST-* rules: IIS_IUSRS, local accounts, roles",
    }


@hookimpl
def iisguard_register_rules():
    return RULES
