"""Built-in rule pack: IIS-POOL-* rules, the identities application pools run as (RULES.md §3A, §3H)."""

from __future__ import annotations

from iisguard import (
    Parameter,
    Pool,
    accounts,
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

# Microsoft documents that Exchange's pools run as LocalSystem (MS-BPA).
EXCHANGE_POOLS = ["MSExchange*"]


@rule(
    id="IIS-POOL-001",
    name="pool.localsystem",
    title="App pool runs as LocalSystem",
    severity="critical",
    category="pool",
    description="An application pool's worker process runs as LocalSystem (or, on IIS 6, the metabase "
    "AppPoolIdentityType is 0 or the server runs in IIS 5.0 isolation mode).",
    rationale="LocalSystem is the most powerful account on Windows: any code the site runs, and anyone who "
    "exploits it, owns the whole server and acts as the computer account on the network.",
    remediation="Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel.identityType -Value ApplicationPoolIdentity\n"
    "appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity\n"
    "IIS 6: cscript adsutil.vbs SET W3SVC/AppPools/<name>/AppPoolIdentityType 2 "
    "(then move to a dedicated account) and set IIs5IsolationModeEnabled to False",
    references=[refs.CIS_1_4, refs.STIG_218802, refs.STIG_13713, refs.MS_BPA, refs.MS_PROCMODEL],
    parameters=[
        Parameter(
            "allowed_pools", EXCHANGE_POOLS, "Pools allowed to run as LocalSystem (globs, case-insensitive)"
        ),
        Parameter(
            "include_idle_pools",
            False,
            "Also fail pools that are stopped and do not start automatically",
            type="bool",
        ),
    ],
    needs=("iis",),
)
def pool_localsystem(snap, params):
    """Checks: every application pool's effective identityType; on IIS 6, the metabase AppPoolIdentityType
    (0 = LocalSystem) of each pool and IIs5IsolationModeEnabled. Pools matching `allowed_pools`
    (Exchange by default) are not applicable; stopped pools that do not auto-start are not applicable
    unless `include_idle_pools`.
    Why: the worker process holds every privilege on the machine; a web shell or a deserialization bug
    in the site is then a full server compromise, and the machine account's network identity with it.
    In IIS 5.0 isolation mode in-process applications run inside inetinfo.exe as LocalSystem.
    Bad: `<add name="Payroll"><processModel identityType="LocalSystem"/></add>`; IIS 6
    `AppPoolIdentityType="0"`; `IIs5IsolationModeEnabled="TRUE"`.
    Good: `identityType="ApplicationPoolIdentity"` (the IIS 7.5+ default), or a dedicated gMSA.
    """
    allowed = params["allowed_pools"]
    for view in snap.pools:
        if view.type != "LocalSystem":
            yield passed(
                view.key,
                f"Application pool '{view.name}' runs as {view.type or 'its pool identity'}.",
                at=view.at,
            )
            continue
        match = names.matches_any(view.name, allowed)
        if match:
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as LocalSystem but is allow-listed "
                f"('{match}'), e.g. a product that documents it needs LocalSystem.",
                at=view.at,
            )
        elif not view.legacy and iis.is_idle(view.at) and not params["include_idle_pools"]:
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' is set to LocalSystem but is stopped and "
                "does not start automatically.",
                at=view.at,
            )
        else:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as LocalSystem ({view.source}), so code in its sites runs "
                "with full control of the server; set its identity to ApplicationPoolIdentity or a dedicated "
                "low-privilege account (gMSA).",
                at=view.at,
                identity_type=view.type,
            )
    legacy = snap.iis.get("legacy") or {}
    version = iis.iis_version(snap)
    if legacy.get("iis5_isolation_mode") or (legacy and version.startswith("5.")):
        why = "IIS 5.0 isolation mode is enabled" if legacy.get("iis5_isolation_mode") else f"IIS {version}"
        yield fail(
            "host",
            f"{why}: in-process applications run inside inetinfo.exe as LocalSystem and out-of-process ones as "
            "IWAM_<machine>; switch to worker process isolation mode with application pools that run as "
            "low-privilege identities.",
            at=legacy,
        )
    elif legacy.get("iis5_isolation_mode") is False:
        yield passed("host", "IIS runs in worker process isolation mode.", at=legacy)


@rule(
    id="IIS-POOL-004",
    name="pool.shared_builtin_identity",
    title="App pool uses a shared built-in identity (NetworkService/LocalService)",
    severity="medium",
    category="pool",
    description="An application pool runs as NetworkService or LocalService (IIS 6: AppPoolIdentityType 1 or 2).",
    rationale="These accounts are shared with Windows services and with every other pool using them: files, "
    "registry keys and rights granted to one are granted to all, so sites are not isolated. NetworkService "
    "also acts as the computer account on the network.",
    remediation="Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel.identityType -Value ApplicationPoolIdentity\n"
    "appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity",
    references=[refs.CIS_1_4, refs.MS_APID, refs.STIG_218802],
    parameters=[
        Parameter(
            "allowed_pools",
            ["WsusPool", "SharePoint Web Services Root"],
            "Pools allowed to run as NetworkService/LocalService (globs): vendor pools that ship that way",
        ),
    ],
    needs=("iis",),
)
def pool_shared_builtin(snap, params):
    """Checks: each pool's effective identityType (and the IIS 6 metabase AppPoolIdentityType, where 1 is
    LocalService and 2, the IIS 6 default, is NetworkService). Pools matching `allowed_pools` (WSUS's
    `WsusPool`, SharePoint's `SharePoint Web Services Root` by default) are not applicable.
    Why: NetworkService and LocalService are shared by OS services and all pools that use them, so an ACL
    or user right meant for one site reaches every other site and service running as that account, and a
    compromise of one site is a compromise of all of them (no isolation). IIS 7.0 defaulted to
    NetworkService; IIS 7.5+ uses a per-pool virtual account instead.
    Bad: `<processModel identityType="NetworkService"/>`; IIS 6 `AppPoolIdentityType="2"`.
    Good: `identityType="ApplicationPoolIdentity"`, with content ACLs granted to `IIS APPPOOL\\<pool>`.
    """
    allowed = params["allowed_pools"]
    for view in snap.pools:
        if view.type not in ("NetworkService", "LocalService"):
            yield passed(view.key, f"Application pool '{view.name}' runs as {view.type}.", at=view.at)
            continue
        match = names.matches_any(view.name, allowed)
        if match:
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as {view.type} and is allow-listed ('{match}').",
                at=view.at,
            )
            continue
        network = " and acts as the computer account on the network" if view.type == "NetworkService" else ""
        yield fail(
            view.key,
            f"Application pool '{view.name}' runs as {view.type} ({view.source}), an account shared with Windows "
            f"services and other pools{network}, so its sites are not isolated; set its identity to "
            "ApplicationPoolIdentity and grant file rights to IIS APPPOOL\\" + view.name + ".",
            at=view.at,
            identity_type=view.type,
        )


PRIVILEGED_GROUP_PARAMS = [
    Parameter(
        "privileged_groups",
        list(sids.PRIVILEGED_LOCAL_GROUPS),
        "Local groups (SIDs or names) a pool identity must not belong to, directly or transitively",
    ),
    Parameter(
        "privileged_domain_rids",
        [g.rid for g in accounts.PRIVILEGED_GROUPS if g.rid is not None],
        "Relative ids of domain groups that count as privileged (512 Domain Admins, 518, 519, 526, 527)",
    ),
]


def privileged_groups(params) -> tuple[accounts.PrivilegedGroup, ...]:
    """The entries of the one privileged-group table the rule's parameters select."""
    return accounts.privileged_groups([*params["privileged_groups"], *params["privileged_domain_rids"]])


@rule(
    id="IIS-POOL-002",
    name="pool.privileged_group",
    title="App pool identity is in a privileged local or domain group",
    severity="critical",
    category="pool",
    description="An application pool's identity (or IIS_IUSRS, which every worker carries) is, directly or "
    "through nested groups, a member of Administrators, another privileged local group, or a domain Tier-0 group.",
    rationale="The worker process then holds that group's rights: site code, and whoever exploits it, "
    "administers the server (or the domain).",
    remediation="Remove-LocalGroupMember -Group Administrators -Member <pool identity>\n"
    'net localgroup "Backup Operators" <pool identity> /delete\n'
    "Remove-ADGroupMember -Identity 'Domain Admins' -Members <account>",
    references=[refs.STIG_218802, refs.STIG_13713, refs.MS_BPA, refs.PC_SERVICE_DOMAIN_ADMIN],
    parameters=PRIVILEGED_GROUP_PARAMS,
    needs=("iis", "principals"),
)
def pool_privileged_group(snap, params):
    """Checks: for every pool, its identity (IIS APPPOOL\\<pool> by SID, NetworkService, LocalService or the
    configured account, however the capture spells it) and IIS_IUSRS (injected into the worker token
    unless manualGroupMembership) against `privileged_groups` (by SID) and domain groups whose RID is
    in `privileged_domain_rids`, transitively through members[] and member_of[]. LocalSystem pools are
    left to IIS-POOL-001. When a privileged group's members were not captured, or a domain account has
    no Active Directory data, the pool is not_reviewed, never passed.
    Why: a worker in Administrators or Backup Operators can read and change anything on the server; one
    in Domain Admins owns the domain. Web code must run with the least privilege that serves it.
    Bad: `net localgroup Administrators` lists `IIS APPPOOL\\Shop` or `CORP\\svc_web`; `IIS_IUSRS` nested
    in Backup Operators.
    Good: the pool identity is in no privileged group; IIS_IUSRS holds only its default rights.
    """
    groups = privileged_groups(params)
    for view in snap.pools:
        if view.type == "LocalSystem":
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as LocalSystem (see IIS-POOL-001).",
                at=view.at,
            )
            continue
        ident = view.identity
        if view.type == "SpecificUser" and not view.user:
            yield not_reviewed(view.key, f"Application pool '{view.name}' names no account.", at=view.at)
            continue
        m = snap.accounts.membership([view.user or ident.key, *view.worker[1:]], groups)
        if m.hits:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as {ident.name}, which is a member of {', '.join(m.hits)}, "
                "so its sites run with that group's power over the server; remove the account from the group "
                "and grant the pool only the rights it needs.",
                at=view.at,
                identity=ident.name,
                groups=list(m.hits),
            )
        elif not m.judged:
            yield not_reviewed(
                view.key,
                f"Cannot tell whether {ident.name} (pool '{view.name}') is in a privileged group: "
                f"{m.reason}.",
                at=view.at,
            )
        else:
            yield passed(
                view.key, f"Pool identity {ident.name} ('{view.name}') is in no privileged group.", at=view.at
            )


DANGEROUS_RIGHTS = [
    "SeTcbPrivilege",
    "SeDebugPrivilege",
    "SeLoadDriverPrivilege",
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeTakeOwnershipPrivilege",
    "SeCreateTokenPrivilege",
    "SeManageVolumePrivilege",
    "SeSecurityPrivilege",
    "SeEnableDelegationPrivilege",
    "SeRelabelPrivilege",
    "SeTrustedCredManAccessPrivilege",
]
# Groups every service worker token carries whatever the group listings say.
IMPLICIT_WORKER_GROUPS = (sids.EVERYONE, sids.AUTHENTICATED_USERS, sids.USERS, sids.SERVICE)


@rule(
    id="IIS-POOL-003",
    name="pool.admin_equivalent_privilege",
    title="App pool identity (or IIS_IUSRS, or IIS APPPOOL\\*) holds admin-equivalent privileges",
    severity="critical",
    category="pool",
    description="A privilege that amounts to administrator (SeTcb, SeDebug, SeBackup, SeRestore, "
    "SeTakeOwnership, SeLoadDriver, SeCreateToken, SeManageVolume, SeSecurity, SeEnableDelegation, SeRelabel, "
    "SeTrustedCredManAccess) is granted to a pool's identity, to IIS_IUSRS, or to a group the worker is in.",
    rationale="Each of these lets code in the worker take over the machine: read LSASS or the SAM, overwrite "
    "system binaries, load a kernel driver or forge tokens.",
    remediation="secpol.msc > Local Policies > User Rights Assignment: remove the IIS identity from the right\n"
    'ntrights -u "IIS APPPOOL\\<pool>" -r SeDebugPrivilege\n'
    "secedit /configure /db secedit.sdb /cfg fixed.inf /areas USER_RIGHTS (or the GPO that grants it)",
    references=[
        refs.MS_BPA,
        refs.PC_PRIVILEGE_EVERYONE,
        refs.PC_TRUSTED_CRED_MAN_ACCESS,
        refs.KB981949,
    ],
    parameters=[
        Parameter(
            "dangerous_rights", DANGEROUS_RIGHTS, "User rights that count as admin-equivalent (RULES.md §4)"
        ),
    ],
    needs=("iis", "user_rights"),
)
def pool_admin_equivalent_privilege(snap, params):
    """Checks: for every pool, the principals whose user rights reach its worker token: the identity (by SID,
    so a secedit `*S-1-5-82-…` entry matches `IIS APPPOOL\\Shop`), IIS_IUSRS unless manualGroupMembership,
    Everyone / Authenticated Users / Users / SERVICE, and every group the identity is known to be in
    (transitively). Any `dangerous_rights` granted to one of them fails. A right held by a group whose
    members were not captured, or by a name the capture does not resolve, gives not_reviewed. LocalSystem pools are left to IIS-POOL-001.
    Why: these privileges are equivalent to administrator (RULES.md §4): SeDebug opens LSASS, SeBackup and
    SeRestore bypass every ACL, SeLoadDriver loads kernel code, SeTcb and SeCreateToken forge tokens.
    SeImpersonate and SeAssignPrimaryToken are IIS defaults and are not judged here (see IIS-PRIV-001).
    Bad: `SeDebugPrivilege = *S-1-5-32-544,*S-1-5-32-568` (IIS_IUSRS: every pool gets it).
    Good: the KB981949 defaults: pools hold SeAssignPrimaryToken, SeIncreaseQuota, SeAudit, SeServiceLogon;
    IIS_IUSRS holds SeImpersonate and SeBatchLogon.
    """
    index = snap.accounts
    holders: dict[str, dict[str, str]] = {}  # right -> holder key -> holder as written
    for right in params["dangerous_rights"]:
        for ref in snap.user_rights.get(right) or []:
            holders.setdefault(right, {})[index.key(str(ref))] = str(ref)
    # Position of each holder in its right's list, so a pool's few reachable keys are looked up here
    # instead of every pool scanning every holder (secedit can list thousands of pool SIDs).
    position = {right: {k: i for i, k in enumerate(by_key)} for right, by_key in holders.items()}
    holder_keys = {k for by_key in holders.values() for k in by_key}

    def group_unknown(key: str) -> bool:
        ref = snap.accounts.ref(key)
        return index.is_group(ref) and not index.group_enumerated(ref)

    unknown_groups = [k for k in holder_keys if group_unknown(k)]
    # A name the capture does not resolve may be the pool's identity or a group it is in.
    unresolved = snap.privileges.unknown_note(params["dangerous_rights"])

    # Thousands of pools reach the same groups (IIS_IUSRS, Users, Everyone...): their names and the
    # groups they are in are asked of the model once per key.
    shown: dict[str, str] = {}
    groups: dict[str, frozenset[str]] = {}

    def display(key: str) -> str:
        name = shown.get(key)
        if name is None:
            name = shown[key] = index.display(snap.accounts.ref(key))
        return name

    implicit = {key: index.display(key) for key in IMPLICIT_WORKER_GROUPS}

    def groups_of(key: str) -> frozenset[str]:
        found = groups.get(key)
        if found is None:
            found = groups[key] = index.groups_of(snap.accounts.ref(key))
        return found

    shared_by: dict[tuple[str, ...], frozenset[str]] = {}

    def reached_by(extra: tuple[str, ...]) -> frozenset[str]:
        """The keys a token reaches through `extra` (IIS_IUSRS, or nothing) and the implicit groups."""
        reached = shared_by.get(extra)
        if reached is None:
            keys = {*extra, *implicit}
            reached = shared_by[extra] = frozenset(keys.union(*[groups_of(k) for k in keys]))
        return reached

    for view in snap.pools:
        if view.legacy:
            continue
        if view.type == "LocalSystem":
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as LocalSystem (see IIS-POOL-001).",
                at=view.at,
            )
            continue
        ident = view.identity
        # What the token reaches besides the identity and its groups is the same for thousands of pools;
        # how each key is reached is spelled out only for a pool that reaches a holder.
        shared = reached_by(view.worker[1:])
        own = groups_of(ident.key)
        found = []
        if ident.key in holder_keys or not (holder_keys.isdisjoint(shared) and holder_keys.isdisjoint(own)):
            reach = {ident.key: ident.name}
            for key in view.worker[1:]:
                reach[key] = "IIS_IUSRS (in every worker token)"
            for key, name in implicit.items():
                if key not in reach:
                    reach[key] = name
            for key in list(reach):
                for group in groups_of(key):
                    if group not in reach:
                        reach[group] = f"{display(group)} (a group {reach[key]} is in)"
            for right, at in position.items():
                keys = sorted((k for k in reach if k in at), key=at.__getitem__)
                found.extend(f"{right} (through {reach[k]})" for k in keys)
        if found:
            yield fail(
                view.key,
                f"Application pool '{view.name}' ({ident.name}) holds {', '.join(found)}, which is equivalent to "
                "administrator on this server; remove the grant from Local Security Policy or the GPO that sets it.",
                at=view.at,
                identity=ident.name,
                privileges=found,
            )
            continue
        unknown = sorted(
            display(k) for k in unknown_groups if k != ident.key and k not in shared and k not in own
        )
        if unknown:
            yield not_reviewed(
                view.key,
                f"Admin-equivalent rights are granted to {', '.join(unknown)}, whose members were not captured, "
                f"so whether pool '{view.name}' holds them cannot be told.",
                at=view.at,
            )
        elif unresolved:
            yield not_reviewed(
                view.key,
                f"Pool '{view.name}' holds no admin-equivalent privilege, but they are {unresolved}",
                at=view.at,
            )
        else:
            yield passed(
                view.key, f"Application pool '{view.name}' holds no admin-equivalent privilege.", at=view.at
            )


@rule(
    id="IIS-POOL-005",
    name="pool.shared_specific_user",
    title="Same SpecificUser account used by several pools on one host",
    severity="medium",
    category="pool",
    description="Two or more application pools on the host run as the same configured account.",
    rationale="Pools sharing an account share every file, registry and network permission granted to it, so "
    "a compromise of one site reaches the others: the pools are not isolated.",
    remediation="appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity\n"
    "Set-ItemProperty IIS:\\AppPools\\<name> -Name processModel -Value @{userName='CORP\\svc_<site>$';identityType=3}",
    references=[refs.CIS_1_4, refs.MS_APID],
    parameters=[
        Parameter(
            "allowed_accounts",
            [],
            "Accounts allowed to run several pools (globs), e.g. a SharePoint farm account",
        ),
    ],
    needs=("iis",),
)
def pool_shared_specific_user(snap, params):
    """Checks: SpecificUser pools (and IIS 6 pools with AppPoolIdentityType 3) grouped by the account's
    principal key (SID where known, so `CORP\\svc_web`, `svc_web@corp.example` and its SID agree). Every
    pool whose account also runs another pool fails, unless the account matches `allowed_accounts`.
    Sharing an account across hosts of a farm is fine and not judged (this rule is per host).
    Why: CIS asks for a unique least-privilege principal per pool; a shared account makes every ACL and
    right for one site valid for the others.
    Bad: pools `Shop` and `Api` both `userName="CORP\\svc_web"`.
    Good: one gMSA or ApplicationPoolIdentity per pool.
    """
    by_account: dict[str, list[Pool]] = {}
    for view in snap.pools:
        if view.type == "SpecificUser" and view.user:
            by_account.setdefault(view.identity.key, []).append(view)
    for views in by_account.values():
        user = views[0].user
        allowed = names.matches_any(user, params["allowed_accounts"])
        for view in views:
            others = [v.name for v in views if v is not view]
            if not others:
                yield passed(
                    view.key,
                    f"Application pool '{view.name}' is the only pool running as {user}.",
                    at=view.at,
                )
            elif allowed:
                yield not_applicable(
                    view.key, f"{user} runs several pools but is allow-listed ('{allowed}').", at=view.at
                )
            else:
                yield fail(
                    view.key,
                    f"Application pool '{view.name}' runs as {view.user}, the same account as pool(s) "
                    f"{', '.join(repr(o) for o in others)}, so the sites are not isolated from each other; give "
                    "each pool its own identity.",
                    at=view.at,
                    account=view.user,
                    shared_with=others,
                )


@rule(
    id="IIS-POOL-006",
    name="pool.serves_several_sites",
    title="An app pool serves more than one site",
    severity="medium",
    category="pool",
    description="Applications of two or more different sites run in the same application pool.",
    rationale="Sites in one pool share a worker process and an identity: a flaw in one site reads and "
    "changes the other's files, sessions and secrets.",
    remediation="New-WebAppPool -Name <site>\n"
    "Set-ItemProperty 'IIS:\\Sites\\<site>' -Name applicationPool -Value <site>\n"
    'appcmd set app "<site>/" /applicationPool:<site>',
    references=[refs.CIS_1_5, refs.STIG_218771, refs.STIG_214484],
    parameters=[
        Parameter(
            "allowed_pools",
            ["MSExchange*", "SharePoint*", "SecurityTokenServiceApplicationPool"],
            "Pools allowed to serve several sites (globs): products the STIG marks not applicable",
        ),
    ],
    needs=("iis",),
)
def pool_serves_several_sites(snap, params):
    """Checks: for every pool, the distinct sites whose applications (root or nested) reference it. Two or
    more sites fail; pools matching `allowed_pools` (Exchange and SharePoint, where the STIG is not
    applicable) and pools that serve no site are not applicable.
    Why: CIS 1.5 and STIG V-218771 require a unique pool per site, because the pool is the unit of
    process and identity isolation in IIS.
    Bad: `Default Web Site` and `Intranet` both use `DefaultAppPool`.
    Good: each site has its own pool (`Shop` -> pool `Shop`, `Intranet` -> pool `Intranet`).
    """
    pools = snap.pools
    for pool in snap.app_pools:
        name = pool["name"]
        key = iis.pool_key(name)
        sites = sorted(pools.sites(name))
        if not sites:
            yield not_applicable(key, f"Application pool '{name}' serves no site.", at=pool)
        elif len(sites) == 1:
            yield passed(key, f"Application pool '{name}' serves only site '{sites[0]}'.", at=pool)
        elif allowed := names.matches_any(name, params["allowed_pools"]):
            yield not_applicable(
                key,
                f"Application pool '{pool['name']}' serves several sites but is allow-listed ('{allowed}').",
                at=pool,
            )
        else:
            yield fail(
                key,
                f"Application pool '{pool['name']}' serves {len(sites)} sites ({', '.join(sites)}), so they share "
                "one process and identity and a flaw in one exposes the others; give each site its own pool.",
                at=pool,
                sites=sites,
            )


MANAGED_CLASSES = ("msds-groupmanagedserviceaccount", "msds-managedserviceaccount", "computer")


@rule(
    id="IIS-POOL-007",
    name="pool.plain_domain_user",
    title="SpecificUser is a plain domain user and not a gMSA or virtual account",
    severity="low",
    category="pool",
    description="An application pool runs as an ordinary domain user account (IIS 6: AppPoolIdentityType 3 "
    "with a domain WAMUserName) instead of a group managed service account or ApplicationPoolIdentity.",
    rationale="A user account's password is chosen, stored and rotated by people (and usually never expires); "
    "a gMSA's is 120 random characters rotated by the domain, and it cannot log on interactively.",
    remediation="New-ADServiceAccount -Name svc_web -DNSHostName web.corp.example "
    "-PrincipalsAllowedToRetrieveManagedPassword WebServers\n"
    "Install-ADServiceAccount svc_web\n"
    "appcmd set apppool <name> /processModel.identityType:SpecificUser /processModel.userName:CORP\\svc_web$ "
    '/processModel.password:""',
    references=[refs.MS_GMSA, refs.PC_PWD_NEVER_EXPIRES, refs.PC_NO_SERVICE_POLICY],
    needs=("iis",),
)
def pool_plain_domain_user(snap, params):
    """Checks: SpecificUser pools (and IIS 6 pools with AppPoolIdentityType 3) whose account is a domain
    account. With Active Directory data, objectClass/kind decide (gMSA, MSA and computer objects pass).
    Without it the name decides: managed service accounts are always written `DOMAIN\\name$`, so a domain
    account without the trailing `$` is a user object. Local accounts are left to IIS-POOL-008.
    Why: PingCastle's service-account advice: human-managed passwords are weak, shared and rarely rotated;
    a gMSA removes the stored password altogether (no processModel password, nothing in LSA secrets).
    Bad: `userName="CORP\\svc_web" password="[enc:…:enc]"`.
    Good: `userName="CORP\\svc_web$"` with an empty password (a gMSA), or ApplicationPoolIdentity.
    """
    for view in snap.pools:
        if view.type != "SpecificUser":
            continue
        if not view.user:
            yield not_reviewed(
                view.key, f"Application pool '{view.name}' is SpecificUser but names no account.", at=view.at
            )
            continue
        scope = snap.accounts.scope(view.user)
        if scope != "domain":
            yield not_applicable(
                view.key,
                f"Application pool '{view.name}' runs as {scope} account {view.user} (see IIS-POOL-008).",
                at=view.at,
            )
            continue
        p = snap.accounts.get(view.user) or {}
        kind = p.get("kind")
        klass = str(p.get("object_class") or "").casefold()
        managed = kind in ("gmsa", "msa", "computer") or klass in MANAGED_CLASSES
        if snap.accounts.has_ad_data(view.user) and (klass or kind):
            plain = not managed and (klass in ("user", "inetorgperson") or kind == "domain_user")
            basis = "its Active Directory object class"
        else:
            plain = not managed and not names.is_managed_account_name(view.user)
            basis = "its name, which has no trailing $; no Active Directory data"
        if plain:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as {view.user}, a plain domain user (judged from {basis}) "
                "whose password is set and rotated by people; use a group managed service account (gMSA) instead.",
                at=view.at,
                account=view.user,
            )
        else:
            yield passed(
                view.key, f"Application pool '{view.name}' runs as managed account {view.user}.", at=view.at
            )


@rule(
    id="IIS-POOL-008",
    name="pool.local_account_password_hygiene",
    title="SpecificUser local (SAM) account: weak password hygiene",
    severity="medium",
    category="pool",
    description="A pool runs as a local account whose password never expires, is older than the policy, is "
    "not required, or which is disabled while the pool starts automatically.",
    rationale="A pool account's password is a standing credential for the server; if it never changes, a "
    "password leaked years ago still works.",
    remediation="Set-LocalUser -Name <account> -PasswordNeverExpires $false\n"
    "net user <account> /passwordreq:yes\n"
    "Set-LocalUser -Name <account> -Password (Read-Host -AsSecureString); "
    "appcmd set apppool <name> /processModel.password:<new password>",
    references=[refs.STIG_218823, refs.STIG_218796],
    parameters=[
        Parameter(
            "max_password_age_days", 365, "Oldest acceptable password, in days before the capture", type="int"
        ),
    ],
    needs=("iis", "local_accounts"),
)
def pool_local_account_hygiene(snap, params):
    """Checks: for SpecificUser pools whose account is local (`.\\svc`, `HOST\\svc`, or a principal of kind
    local_user): password_never_expires, password_last_set older than `max_password_age_days` before the
    capture time, password_required false, and enabled false while the pool starts automatically. An
    account missing from the capture, or whose expiry and last-set facts were not captured, is
    not_reviewed. Domain accounts are judged by the KRB rules.
    Why: STIG V-218823 (CAT I) requires passwords of accounts used by IIS to be changed from defaults and
    managed; a never-expiring local service password is the classic lateral-movement credential.
    Bad: `net user svc_web` shows "Password expires Never", "Password last set 2015-06-01".
    Good: password set within the policy, expiring, required (or use ApplicationPoolIdentity: no password).
    """
    now = snap.collected_at
    max_age = params["max_password_age_days"]
    for view in snap.pools:
        if view.type != "SpecificUser" or not view.user:
            continue
        ref = view.user
        if snap.accounts.scope(ref) != "local":
            continue
        p = snap.accounts.get(ref)
        if p is None:
            yield not_reviewed(
                view.key, f"Local account {view.user} (pool '{view.name}') was not captured.", at=view.at
            )
            continue
        problems = []
        if p.get("password_never_expires") is True:
            problems.append("its password never expires")
        last = iis.parse_time(p.get("password_last_set"))
        if last and now and (now - last).days > max_age:
            problems.append(
                f"its password was last set {(now - last).days} days before the capture (policy {max_age})"
            )
        if p.get("password_required") is False:
            problems.append("no password is required")
        if p.get("enabled") is False and not (not view.legacy and iis.is_idle(view.at)):
            problems.append("the account is disabled while the pool starts automatically")
        if problems:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as local account {view.user}: {'; '.join(problems)}; rotate "
                "the password under an expiring policy or switch the pool to ApplicationPoolIdentity.",
                at=view.at,
                account=view.user,
                problems=problems,
            )
        elif p.get("password_never_expires") is None or last is None or now is None:
            yield not_reviewed(
                view.key,
                f"Password expiry or last-set date of {view.user} (pool '{view.name}') was not captured.",
                at=view.at,
            )
        else:
            yield passed(
                view.key,
                f"Local account {view.user} (pool '{view.name}') has an expiring, recent password.",
                at=view.at,
            )


@rule(
    id="IIS-POOL-009",
    name="pool.credential_reused_by_service",
    title="App pool credential reused by Windows services or scheduled tasks",
    severity="low",
    category="pool",
    description="The account a pool runs as is also the logon account of a Windows service or scheduled task "
    "on the host.",
    rationale="Service and task passwords are kept in LSA secrets, where anyone with administrator rights can "
    "read them in clear; reusing the pool account widens where its secret lives and what it can do.",
    remediation='sc.exe config <service> obj= "NT SERVICE\\<service>"\n'
    "Set-ScheduledTask -TaskName <task> -Principal (New-ScheduledTaskPrincipal -UserId 'NT AUTHORITY\\LOCAL SERVICE')\n"
    "or give the pool its own account: appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity",
    references=[refs.PC_SERVICE_DOMAIN_ADMIN, refs.STIG_218802],
    needs=("iis", "services"),
)
def pool_credential_reused(snap, params):
    """Checks: for every SpecificUser pool with a password-bearing account (not a gMSA, `name$`), whether a
    service's logon account (`services[].start_name`) or a scheduled task's run-as account
    (`scheduled_tasks[].run_as`) is the same principal, compared by key (`.\\svc`, `HOST\\svc`,
    `svc@corp.example` and `CORP\\svc` are matched through the principal index).
    Why: PingCastle P-ServiceDomainAdmin explains that service passwords sit in LSA secrets and are
    dumpable by any local administrator; the same account in IIS and a service also mixes two workloads'
    privileges.
    Bad: pool `Shop` as `CORP\\svc_web`, and service `ReportSync` logs on as `CORP\\svc_web`.
    Good: the service runs as its own virtual account (`NT SERVICE\\ReportSync`) or a gMSA.
    """
    index = snap.accounts
    users: dict[str, list[str]] = {}
    for svc in snap.data.get("services") or []:
        if svc.get("start_name"):
            users.setdefault(index.key(svc["start_name"]), []).append(f"service '{svc['name']}'")
    tasks_read = snap.has_section("scheduled_tasks")
    for task in snap.data.get("scheduled_tasks") or []:
        if task.get("run_as"):
            users.setdefault(index.key(task["run_as"]), []).append(f"scheduled task '{task['name']}'")
    for view in snap.pools:
        if view.type != "SpecificUser" or not view.user:
            continue
        if names.is_managed_account_name(view.user):
            yield not_applicable(
                view.key, f"{view.user} is a managed service account; no password is stored.", at=view.at
            )
            continue
        used_by = users.get(view.identity.key)
        if used_by:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as {view.user}, which is also the logon account of "
                f"{', '.join(used_by)}, so its password is also kept in LSA secrets; give the service or task its "
                "own account (a virtual service account or gMSA).",
                at=view.at,
                account=view.user,
                used_by=used_by,
            )
        else:
            # Say only what was read: no capture source fills scheduled_tasks yet (hand-built snapshots do).
            what = (
                "service or scheduled task" if tasks_read else "service (scheduled tasks were not captured)"
            )
            yield passed(view.key, f"No {what} logs on as {view.user}.", at=view.at)


@rule(
    id="IIS-POOL-010",
    name="pool.manual_group_membership",
    title="manualGroupMembership=true",
    severity="low",
    category="pool",
    description="A pool sets processModel manualGroupMembership=true, so WAS does not put IIS_IUSRS into its "
    "worker token.",
    rationale="Informational: ACLs and rights then have to name the pool's own SID. If the identity was also "
    "added to IIS_IUSRS by hand, the setting gives no isolation benefit at all.",
    remediation="appcmd set apppool <name> /processModel.manualGroupMembership:false\n"
    "or, to keep it: Remove-LocalGroupMember -Group IIS_IUSRS -Member <pool identity>",
    references=[refs.MS_BUILTIN, refs.MS_IDENT, refs.MS_PROCMODEL],
    needs=("iis",),
)
def pool_manual_group_membership(snap, params):
    """Checks: each pool's processModel.manualGroupMembership. True fails as a note, and says so when the
    identity is nevertheless a member of IIS_IUSRS (directly or nested), which defeats the setting.
    Why: with the default (false) the IIS_IUSRS SID is injected into every worker, so grants to IIS_IUSRS
    reach all pools; with true, only grants to the pool SID apply, which administrators must know when
    writing ACLs. Adding the identity to IIS_IUSRS anyway undoes the isolation it was meant to buy.
    Bad: `<processModel manualGroupMembership="true"/>` and `IIS APPPOOL\\Shop` in IIS_IUSRS.
    Good: the default `manualGroupMembership="false"`, or true with ACLs naming `IIS APPPOOL\\Shop`.
    """
    for pool in snap.app_pools:
        key = iis.pool_key(pool["name"])
        if not pool.get("manual_group_membership"):
            yield passed(
                key, f"Application pool '{pool['name']}' uses the default group membership.", at=pool
            )
            continue
        ident = iis.pool_identity(snap, pool)
        in_group = sids.IIS_IUSRS in snap.accounts.groups_of(snap.accounts.ref(ident.key))
        extra = (
            f", yet {ident.name} is a member of IIS_IUSRS, so the setting isolates nothing; remove it from the group"
            if in_group
            else "; ACLs and user rights must name its own SID"
        )
        yield fail(
            key,
            f"Application pool '{pool['name']}' sets manualGroupMembership=true (IIS_IUSRS is not injected){extra}.",
            at=pool,
            also_in_iis_iusrs=in_group,
        )


@rule(
    id="IIS-POOL-011",
    name="pool.unused_started",
    title="Started app pools with no applications",
    severity="low",
    category="pool",
    description="A pool that is started (or starts automatically) serves no application.",
    rationale="An unused pool is attack surface and an identity nobody reviews; IIS creates several by default "
    "(DefaultAppPool, .NET v4.5, .NET v4.5 Classic).",
    remediation="Remove-WebAppPool -Name <name>\n"
    "appcmd delete apppool <name>\n"
    "or keep it stopped: appcmd set apppool <name> /autoStart:false",
    references=[refs.CIS_1_5],
    parameters=[Parameter("allowed_pools", [], "Pools allowed to run without applications (globs)")],
    needs=("iis",),
    default_enabled=False,
)
def pool_unused_started(snap, params):
    """Checks: every pool that is Started or autoStart (the default) and that no application of any site
    references. Pools matching `allowed_pools` are not applicable; stopped pools that do not auto-start
    pass. Off in the baseline profile: IIS creates such pools on every install. A declared snapshot
    (build scripts) is not judged: scripts state the pools they create, not everything that uses them.
    Why: CIS 1.5's rationale: stop what is not used; a leftover pool keeps an identity, rights and a
    configuration that nobody reviews.
    Bad: `.NET v4.5` and `.NET v4.5 Classic` started with no application.
    Good: only pools that serve applications are started.
    """
    if snap.declared:  # build scripts state the pools they create, not everything that will use them
        return
    for pool in snap.app_pools:
        key = iis.pool_key(pool["name"])
        if snap.pools.sites(pool["name"]):
            yield passed(key, f"Application pool '{pool['name']}' serves applications.", at=pool)
        elif iis.is_idle(pool):
            yield passed(key, f"Application pool '{pool['name']}' serves nothing but is stopped.", at=pool)
        elif names.matches_any(pool["name"], params["allowed_pools"]):
            yield not_applicable(key, f"Application pool '{pool['name']}' is allow-listed.", at=pool)
        else:
            yield fail(
                key,
                f"Application pool '{pool['name']}' is started but serves no application; remove it or "
                "set autoStart to false and stop it.",
                at=pool,
            )


@rule(
    id="IIS-POOL-012",
    name="pool.identity_unresolved",
    title="App pool identity cannot be resolved or is disabled",
    severity="low",
    category="pool",
    description="A SpecificUser pool names an account that does not exist, is disabled or has expired.",
    rationale="A pool whose account is gone fails to start or falls back to errors; a stale account left "
    "configured is an unreviewed credential that someone may re-enable or re-create.",
    remediation="appcmd set apppool <name> /processModel.identityType:ApplicationPoolIdentity\n"
    "Enable-LocalUser <account> / Enable-ADAccount <account> (if it is still needed)\n"
    "Remove-WebAppPool -Name <name> (if the pool is obsolete)",
    references=[refs.STIG_218796, refs.PC_INACTIVE],
    needs=("iis", "principals"),
)
def pool_identity_unresolved(snap, params):
    """Checks: for SpecificUser pools (and IIS 6 AppPoolIdentityType 3), the configured account: no account
    named at all; a local account missing although local accounts were
    enumerated (`local_accounts` section ok); enabled=false; account_expires before the capture. An
    account the capture did not resolve otherwise (a domain account without AD data) is not_reviewed.
    Why: STIG V-218796 asks for no stale accounts on the web server; PingCastle S-Inactive flags unused
    accounts. A configured but dead identity hides a broken or forgotten pool.
    Bad: pool `Reports` as `CORP\\svc_old`, disabled in AD since the application was retired.
    Good: the account exists and is enabled, or the pool was removed.
    """
    now = snap.collected_at
    # Build scripts state the accounts they create, never every account of the image: a declared
    # snapshot has not enumerated local accounts, so an account it does not name is unknown, not absent.
    enumerated = snap.section_status("local_accounts") == "ok" and not snap.declared
    for view in snap.pools:
        if view.type != "SpecificUser":
            continue
        if not view.user:
            yield fail(
                view.key,
                f"Application pool '{view.name}' is set to SpecificUser but names no account, so it "
                "cannot start; set an account or use ApplicationPoolIdentity.",
                at=view.at,
            )
            continue
        ref = view.user
        p = snap.accounts.get(ref)
        if p is None or (p.get("kind") in (None, "unknown") and not p.get("sid")):
            if enumerated and snap.accounts.scope(ref) == "local":
                yield fail(
                    view.key,
                    f"Application pool '{view.name}' runs as {view.user}, but no such local account exists on the "
                    "host (local accounts were enumerated); remove the pool or give it a live identity.",
                    at=view.at,
                    account=view.user,
                )
            else:
                yield not_reviewed(
                    view.key,
                    f"Account {view.user} (pool '{view.name}') was not resolved by the capture.",
                    at=view.at,
                )
            continue
        expires = iis.parse_time(p.get("account_expires"))
        if p.get("enabled") is False:
            problem = "is disabled"
        elif expires and now and expires < now:
            problem = f"expired on {expires.date().isoformat()}"
        else:
            problem = ""
        if problem:
            yield fail(
                view.key,
                f"Application pool '{view.name}' runs as {view.user}, which {problem}; remove the "
                "pool or give it a live identity.",
                at=view.at,
                account=view.user,
            )
        elif p.get("enabled") is True:
            yield passed(
                view.key, f"Account {view.user} (pool '{view.name}') exists and is enabled.", at=view.at
            )
        else:
            yield not_reviewed(
                view.key, f"Whether {view.user} (pool '{view.name}') is enabled was not captured.", at=view.at
            )


RULES: list = [
    pool_localsystem,
    pool_privileged_group,
    pool_admin_equivalent_privilege,
    pool_shared_builtin,
    pool_shared_specific_user,
    pool_serves_several_sites,
    pool_plain_domain_user,
    pool_local_account_hygiene,
    pool_credential_reused,
    pool_manual_group_membership,
    pool_unused_started,
    pool_identity_unresolved,
]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-POOL-"], "description": "Built-in IIS-POOL-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES
