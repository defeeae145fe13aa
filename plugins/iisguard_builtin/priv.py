"""Built-in rule pack: IIS-PRIV-* rules, user rights and worker-token privileges (RULES.md §3D and §4).

User rights come from `user_rights` (right -> holders as SIDs or names, e.g. a secedit export);
holders are compared by principal key, so `*S-1-5-32-568`, `BUILTIN\\IIS_IUSRS` and `IIS_IUSRS`
are the same holder. Runtime tokens come from `tokens[]` (what `whoami /all` showed in a worker).
"""

from __future__ import annotations

from iisguard import (
    Parameter,
    accounts,
    fail,
    hookimpl,
    iis,
    not_applicable,
    not_reviewed,
    passed,
    rule,
    sids,
    userrights,
)
from iisguard import references as refs

REMOVE_RIGHT = (
    "Remove the right from the principal in the Group Policy or local policy that grants it "
    "(secpol.msc > Local Policies > User Rights Assignment), for example:\n"
    "secedit /export /cfg C:\\temp\\rights.inf /areas USER_RIGHTS   # delete the SID from the right's line\n"
    "secedit /configure /db C:\\temp\\rights.sdb /cfg C:\\temp\\rights.inf /areas USER_RIGHTS\n"
    'ntrights -u "<principal>" -r <Privilege>                     # Windows Resource Kit alternative\n'
    "gpresult /h gp.html                                            # find the GPO if it comes back"
)


@rule(
    id="IIS-PRIV-002",
    name="priv.dangerous_to_iis_principal",
    title="Dangerous privilege granted to an IIS principal",
    severity="critical",
    category="privileges",
    description=(
        "Fails when a privilege an attacker turns into SYSTEM (SeDebug, SeTcb, SeBackup, SeRestore, "
        "SeTakeOwnership, SeLoadDriver, SeCreateToken, SeManageVolume, SeSecurity, SeEnableDelegation, "
        "SeRelabel, SeTrustedCredManAccess) is granted to a principal IIS code runs as: a pool identity, "
        "IIS_IUSRS, IUSR, a custom anonymous, connect-as or impersonation user, or any IIS APPPOOL account, "
        "directly or through a group it belongs to."
    ),
    rationale=(
        "Code running in a worker process holds every privilege its identity is granted. None of these "
        "privileges is held by IIS workers on a default install; any one of them turns a web shell or an "
        "application bug into control of the whole server."
    ),
    remediation=REMOVE_RIGHT,
    references=[refs.PC_PRIVILEGE_EVERYONE, refs.MS_BPA, refs.KB981949, refs.MS_USER_RIGHTS],
    parameters=[
        Parameter(
            "privileges", list(userrights.DANGEROUS_PRIVILEGES), "Privileges no IIS principal may hold"
        ),
        Parameter(
            "ignore_principals",
            [],
            "IIS principals (SIDs or names) exempt from this rule, e.g. a documented vendor pool",
        ),
    ],
    needs=("user_rights",),
)
def dangerous_to_iis_principal(snap, params):
    """Checks: every holder of each privilege in `privileges` (user_rights, by SID or name); fails when
    the holder is an IIS principal (pool identities except LocalSystem, IIS_IUSRS, IUSR, custom
    anonymous / connect-as / impersonation users, any S-1-5-82-* account) or a group one of them is
    a member of (transitively; privileged groups such as Administrators, whose membership IIS-POOL-002,
    IIS-ANON-001 and IIS-HOST-002 report, are not followed). Passes each IIS principal that holds
    none of them; while a holder is a name the capture does not resolve, not reviewed instead.
    Why: a worker holds every privilege of its identity, and IIS_IUSRS is in every worker's token.
    SeDebugPrivilege opens LSASS, SeBackup/SeRestore bypass every ACL, SeTcb and SeCreateToken forge
    SYSTEM tokens (RULES.md §4). None of these is an IIS default.
    Bad: `SeDebugPrivilege = *S-1-5-32-544,*S-1-5-32-568` (IIS_IUSRS can debug any process).
    Good: `SeDebugPrivilege = *S-1-5-32-544` (Administrators only).
    """
    people = snap.iis_principals
    ignored = snap.accounts.keys(params["ignore_principals"])
    # Privileged-group membership is reported by IIS-POOL-002/IIS-ANON-001/IIS-HOST-002, not once per right here.
    reach = snap.privileges.reach(
        [p for k, p in people.items() if k not in ignored], skip_groups=sids.PRIVILEGED_LOCAL_GROUPS
    )
    hit: set[str] = set()
    for right, shown, key in snap.privileges.iter(params["privileges"]):
        reached = reach.get(key)
        if not reached:
            extra = iis.apppool_principal(key, shown)
            reached = [(extra, None)] if extra and key not in ignored else []
        if not reached:
            continue
        holder = snap.accounts.shown(shown)
        why = userrights.DANGEROUS_PRIVILEGES.get(right, "is an administrator-equivalent privilege")
        direct = [p for p, via in reached if via is None]
        through = [p for p, via in reached if via is not None]
        who = "; ".join(p.role for p in (direct or through)[:3])
        how = "is granted" if direct else "is granted to a group that contains it"
        hit.update(p.key for p, _ in reached)
        yield fail(
            f"user_rights/{right}/{shown}",
            f"{right} {how}: {holder} ({who}). A process with this privilege {why}, so a compromised web "
            f"application takes over the server. Remove {holder} from {right} in the policy that grants it.",
            **snap.privileges.location(right, shown),
        )
    # With no membership captured, a group granted one of these rights may contain an IIS principal.
    unjudged = snap.privileges.unjudged_group_holders(
        (shown for _, shown, _ in snap.privileges.iter(params["privileges"])),
        sids.PRIVILEGED_LOCAL_GROUPS,
    )
    group_holders = _group_holders(snap, (s for _, s, _ in snap.privileges.iter(params["privileges"])))
    unresolved = snap.privileges.unknown_note(params["privileges"])
    for key, person in people.items():
        if key in hit or key in ignored:
            continue
        unknown = _membership_unknown(snap, person, group_holders)
        if unknown:
            yield not_reviewed(
                f"principals/{person.name}",
                f"{person.name} holds none of the dangerous privileges directly, but they are granted to groups "
                f"and {unknown}",
            )
        elif unresolved:
            yield not_reviewed(
                f"principals/{person.name}",
                f"{person.name} holds none of the dangerous privileges through a resolved holder, but {unresolved}",
            )
        elif unjudged:
            yield not_reviewed(
                f"principals/{person.name}",
                f"{person.name} holds none of the dangerous privileges directly, but they are granted to "
                f"{', '.join(unjudged)} and no group membership was captured (net localgroup <group>, "
                "Get-LocalGroupMember)",
            )
        else:
            yield passed(f"principals/{person.name}", f"{person.name} holds none of the dangerous privileges")


def _group_holders(snap, holders, skip=()) -> tuple[accounts.PrivilegedGroup, ...]:
    """The groups among the holders of a right (as written), as entries membership() judges against."""
    skipped = set(skip)
    found = [h for h in holders if snap.accounts.is_group(h) and snap.accounts.key(h) not in skipped]
    return accounts.privileged_groups(found)


def _membership_unknown(snap, person, groups) -> str:
    """Why whether `person` is in one of `groups` cannot be told (a domain account without AD data), or ""."""
    if not groups:
        return ""
    accounts = snap.accounts
    # Only a domain account without AD data is left unknown (what Membership.needs_ad records): most of
    # a large host's IIS principals are pool identities, whose membership would be worked out to be dropped.
    if not accounts.is_domain(person.name) or accounts.has_ad_data(person.name):
        return ""
    m = accounts.membership(person.name, groups)
    return m.reason if m.answer == "unknown" and m.needs_ad else ""


IMPERSONATE_DEFAULT = [
    sids.ADMINISTRATORS,
    sids.SERVICE,
    sids.LOCAL_SERVICE,
    sids.NETWORK_SERVICE,
    sids.IIS_IUSRS,
]
ASSIGN_PRIMARY_DEFAULT = [sids.LOCAL_SERVICE, sids.NETWORK_SERVICE]


@rule(
    id="IIS-PRIV-001",
    name="priv.impersonate_beyond_expected",
    title="Impersonate / AssignPrimaryToken granted beyond the IIS-expected set",
    severity="medium",
    category="privileges",
    description=(
        "Fails when SeImpersonatePrivilege is held by anyone other than Administrators, SERVICE, LOCAL SERVICE, "
        "NETWORK SERVICE, IIS_IUSRS and application pool accounts, or SeAssignPrimaryTokenPrivilege by anyone "
        "other than LOCAL SERVICE, NETWORK SERVICE and application pool accounts (plus documented exceptions). "
        "IIS_IUSRS and IIS APPPOOL\\* holders are the IIS defaults and never fail."
    ),
    rationale=(
        "Together these two privileges are what 'Potato' attacks need to turn a coerced SYSTEM logon into a SYSTEM "
        "process. Windows and IIS grant them to service identities by design; any other holder widens that path."
    ),
    remediation=(
        "Remove the extra holder from the right in the GPO or local policy (secpol.msc > User Rights Assignment), "
        "or record it as a documented application requirement in this rule's parameters. Keep IIS_IUSRS in "
        "'Impersonate a client after authentication': removing it breaks IIS (0x80070542).\n" + REMOVE_RIGHT
    ),
    references=[refs.KB981949, refs.CIS_WIN_IMPERSONATE, refs.WIN_STIG_IMPERSONATE, refs.MS_DOCS_PR_9187],
    parameters=[
        Parameter(
            "impersonate_allowed", IMPERSONATE_DEFAULT, "Holders of SeImpersonatePrivilege that are expected"
        ),
        Parameter(
            "assign_primary_allowed",
            ASSIGN_PRIMARY_DEFAULT,
            "Holders of SeAssignPrimaryTokenPrivilege that are expected",
        ),
        Parameter(
            "documented_principals",
            [],
            "Application SIDs or names documented as needing these rights (a documented requirement is not a finding)",
        ),
        Parameter(
            "allow_service_sids",
            True,
            "Per-service virtual accounts (NT SERVICE\\*, S-1-5-80-*) are service identities and expected holders "
            "(SQL Server, for one, grants its service SID these rights)",
            "bool",
        ),
    ],
    needs=("user_rights",),
)
def impersonate_beyond_expected(snap, params):
    """Checks: each holder of SeImpersonatePrivilege and SeAssignPrimaryTokenPrivilege, by SID; a holder
    passes when it is in the expected set (Impersonate: Administrators, SERVICE, LOCAL SERVICE,
    NETWORK SERVICE, IIS_IUSRS; AssignPrimaryToken: LOCAL SERVICE, NETWORK SERVICE), is an
    application pool account (S-1-5-82-*), a per-service virtual account (NT SERVICE\\*, when
    `allow_service_sids`) or is in `documented_principals`; a local group (SQL Server's per-service
    groups) passes when its captured members are all such identities and is not reviewed when its
    members were not captured; a name the capture resolves to no SID and no known account is not
    reviewed; any other holder fails.
    A right nobody holds passes; one a partial capture does not state (a pasted fragment) is not reviewed.
    Why: these are the two halves of the Potato privilege escalation; IIS needs them for its own
    identities only (KB981949). Unlike a verbatim copy of the Windows STIG list, IIS_IUSRS and pool
    SIDs are expected here: removing IIS_IUSRS breaks IIS authentication (MS docs PR #9187).
    Bad: `SeImpersonatePrivilege = *S-1-5-32-544,*S-1-5-6,*S-1-5-19,*S-1-5-20,*S-1-5-32-568,*S-1-5-32-545`.
    Good: `SeAssignPrimaryTokenPrivilege = *S-1-5-19,*S-1-5-20,*S-1-5-82-3006700770-...` (DefaultAppPool).
    """
    documented = snap.accounts.keys(params["documented_principals"])
    expected = {
        "SeImpersonatePrivilege": snap.accounts.keys(params["impersonate_allowed"]) | documented,
        "SeAssignPrimaryTokenPrivilege": snap.accounts.keys(params["assign_primary_allowed"]) | documented,
    }
    index = snap.privileges
    for wanted, allowed in expected.items():
        right, shown_list = index.holders(wanted)
        if not shown_list and not index.stated(wanted):
            yield not_reviewed(
                f"user_rights/{right}", f"Cannot judge {right}: {index.unknown_note([wanted])}"
            )
            continue
        if not shown_list:
            yield passed(f"user_rights/{right}", f"No principal holds {right}")
            continue

        def expected(k: str, allowed: set[str] = allowed) -> bool:
            service = params["allow_service_sids"] and k.startswith(sids.NT_SERVICE_PREFIX)
            return k in allowed or sids.is_app_pool_sid(k) or service

        for shown in shown_list:
            key = snap.accounts.key(shown)
            resource = f"user_rights/{right}/{shown}"
            if expected(key):
                yield passed(resource, f"{snap.accounts.shown(shown)} is an expected holder of {right}")
                continue
            if snap.accounts.kind(shown) == "local_group":
                # SQL Server setup grants these rights to its per-service local groups
                # (SQLServerMSSQLUser$HOST$INSTANCE), whose only member is the service: judge the members.
                known, members = snap.accounts.members(shown)
                odd = [
                    snap.accounts.shown(str(m.get("sid") or m.get("name")))
                    for m in members
                    if not expected(snap.accounts.key(str(m.get("sid") or m.get("name") or "")))
                ]
                if not known:
                    yield not_reviewed(
                        resource,
                        f"{right} is granted to the local group {snap.accounts.shown(shown)}, whose members were "
                        f'not captured; capture them (net localgroup "{shown.rpartition(chr(92))[2]}") to judge it',
                    )
                    continue
                if not odd:
                    yield passed(
                        resource,
                        f"{snap.accounts.shown(shown)} holds {right} and has only service or IIS identities as members",
                    )
                    continue
            if not index.is_resolved(shown):
                # A name the capture could not resolve (a local group, an account of another host):
                # whether it is a service identity cannot be told, so it is neither passed nor failed.
                yield not_reviewed(
                    resource,
                    f"{right} is granted to {shown}, a name this capture does not resolve to a SID or a "
                    "known account; capture the accounts (Get-LocalUser, Get-LocalGroup, AD) or the export "
                    "with SIDs (secedit /export) to judge it",
                )
                continue
            why = userrights.POTATO_PRIVILEGES[wanted]
            yield fail(
                resource,
                f"{right} is granted to {snap.accounts.shown(shown)}, which is not a service or IIS identity. A process "
                f"that holds it {why}. Remove it in the policy that grants it, or list the principal in "
                "documented_principals if an application documents the need.",
                **snap.privileges.location(right, shown),
            )


@rule(
    id="IIS-PRIV-003",
    name="priv.dangerous_to_broad",
    title="Dangerous privilege granted to broad principals",
    severity="critical",
    category="privileges",
    description=(
        "Fails when an administrator-equivalent privilege (RULES.md §4, including SeImpersonate and "
        "SeAssignPrimaryToken) is granted to Everyone, Authenticated Users, Users, Guests, Anonymous Logon, "
        "or Domain Users / Computers / Guests."
    ),
    rationale=(
        "Every account on the host, every domain user or even anonymous callers then hold a privilege that leads "
        "to SYSTEM; IIS workers are members of Users and Authenticated Users, so web code inherits it too."
    ),
    remediation=REMOVE_RIGHT,
    references=[refs.PC_PRIVILEGE_EVERYONE, refs.KB981949, refs.MS_USER_RIGHTS],
    parameters=[
        Parameter(
            "privileges",
            [*userrights.DANGEROUS_PRIVILEGES, *userrights.POTATO_PRIVILEGES],
            "Privileges no broad principal may hold",
        ),
        Parameter("extra_broad_principals", [], "More principals (SIDs or names) to treat as broad"),
    ],
    needs=("user_rights",),
)
def dangerous_to_broad(snap, params):
    """Checks: every holder of each privilege in `privileges` (the §4 list plus SeImpersonate and
    SeAssignPrimaryToken); fails when the holder's SID is Everyone (S-1-1-0), Authenticated Users
    (S-1-5-11), Users (S-1-5-32-545), Guests, Anonymous Logon (S-1-5-7) or a Domain Users /
    Computers / Guests group (RID 513/515/514), or is in `extra_broad_principals`. Each privilege
    with no broad holder passes, unless a holder is a name the capture does not resolve (not reviewed).
    Why: a grant to a broad group is a grant to every logged-on user and to every IIS worker (which
    carry Users and Authenticated Users in their tokens); PingCastle P-PrivilegeEveryone.
    Bad: `SeDebugPrivilege = *S-1-5-32-544,*S-1-5-11`; `SeImpersonatePrivilege = ...,*S-1-1-0`.
    Good: `SeDebugPrivilege = *S-1-5-32-544`.
    """
    extra = snap.accounts.keys(params["extra_broad_principals"])
    index = snap.privileges
    for wanted in params["privileges"]:
        right, shown_list = index.holders(wanted)
        broad = [
            s for s in shown_list if accounts.is_broad(snap.accounts.key(s)) or snap.accounts.key(s) in extra
        ]
        for shown in broad:
            why = userrights.DANGEROUS_PRIVILEGES.get(right) or userrights.POTATO_PRIVILEGES.get(
                right, "leads to SYSTEM"
            )
            yield fail(
                f"user_rights/{right}/{shown}",
                f"{right} is granted to {snap.accounts.shown(shown)}, so every account in it (and every IIS worker, "
                f"whose token carries Users and Authenticated Users) holds a privilege that {why}. Remove "
                f"{snap.accounts.shown(shown)} from {right} in the policy that grants it.",
                **snap.privileges.location(right, shown),
            )
        unresolved = index.unknown_note([wanted])
        if not broad and unresolved:
            yield not_reviewed(
                f"user_rights/{right}", f"No resolved holder of {right} is broad, but {unresolved}"
            )
        elif not broad:
            yield passed(f"user_rights/{right}", f"No broad principal holds {right}")


TOKEN_BASELINE = [
    "SeAssignPrimaryTokenPrivilege",
    "SeIncreaseQuotaPrivilege",
    "SeAuditPrivilege",
    "SeChangeNotifyPrivilege",
    "SeImpersonatePrivilege",
    "SeCreateGlobalPrivilege",
    "SeIncreaseWorkingSetPrivilege",
]
WHOAMI_HINT = "run `whoami /all` inside the worker (e.g. from a diagnostic page) and import its output"


def _worker_tokens(snap, results_for_others):
    """(resource, token, pool identity name or None) for tokens that belong to application pool workers.

    A token whose identity is an application pool identity (or an IIS APPPOOL SID) is a worker's; a
    token without an identity is taken as a worker's (that is what token captures are for) and the
    message says so; with no pool configuration captured, a user named without a SID that the capture
    does not resolve gets `not_reviewed`; any other identity `not_applicable`, through `results_for_others`.
    """
    pools_by_key: dict[str, str] = {}
    for view in snap.pools:  # the identities worked out once per snapshot (snap.app_pools, then IIS 6 pools)
        if not view.legacy:
            pools_by_key.setdefault(view.identity.key, view.identity.name)
    out = []
    for i, token in enumerate(snap.tokens):
        who = token.get("identity") or token.get("user_sid")
        resource = f"tokens/{who or token.get('source_artifact') or i}"
        if not who:
            out.append((resource, token, None))
            continue
        key = token.get("user_sid") and sids.normalize_sid(token["user_sid"]) or snap.accounts.key(who)
        if key in pools_by_key or sids.is_app_pool_sid(key):
            out.append((resource, token, pools_by_key.get(key, who)))
        elif (
            not snap.pools.all
            and not token.get("user_sid")
            and not userrights.is_resolved(snap.accounts, str(who))
        ):  # no pool configuration says who the workers run as, and the capture cannot say who this is
            results_for_others.append(
                not_reviewed(
                    resource,
                    f"The token's user {who} is a name this capture does not resolve to a SID or a known "
                    "account, so whether it is an application pool worker cannot be told; capture `whoami /all` "
                    "(it prints the SID)",
                    at=token,
                )
            )
        else:
            results_for_others.append(
                not_applicable(resource, f"{who} is not an application pool identity on this host", at=token)
            )
    return out


def _missing_tokens(snap, seen):
    """not_reviewed for the identity of every pool that serves an application but has no captured token.

    A pool no application uses never starts a worker, so there is no token to capture for it.
    """
    pools = snap.pools
    reported = set(seen)
    for view in pools:
        if view.legacy or not pools.sites(view.name):  # sites whose applications run in the pool
            continue
        ident = view.identity
        if ident.key not in reported:
            reported.add(ident.key)
            yield not_reviewed(
                f"tokens/{ident.name}", f"No worker token was captured for {ident.name}; {WHOAMI_HINT}"
            )


def _token_key(snap, token):
    who = token.get("user_sid") or token.get("identity")
    return snap.accounts.key(who) if who else None


@rule(
    id="IIS-PRIV-004",
    name="priv.worker_token_extra_privileges",
    title="Runtime worker token has privileges beyond the baseline",
    severity="high",
    category="privileges",
    description=(
        "Fails when a captured application pool worker token (whoami /priv inside w3wp) holds any privilege, "
        "enabled or not, outside the IIS worker baseline: SeAssignPrimaryToken, SeIncreaseQuota, SeAudit, "
        "SeChangeNotify, SeImpersonate, SeCreateGlobal, SeIncreaseWorkingSet."
    ),
    rationale=(
        "The token is the ground truth of what web code can do, whatever the policy files say: a privilege "
        "present in it, even disabled, can be enabled by the process itself (AdjustTokenPrivileges)."
    ),
    remediation=(
        "Find where the extra privilege comes from (a user right granted to the pool identity, IIS_IUSRS, or a "
        "group it is in) and remove it: secpol.msc > User Rights Assignment, or\n"
        "secedit /export /cfg C:\\temp\\rights.inf /areas USER_RIGHTS\n"
        "Then recycle the pool so new workers get a clean token: appcmd recycle apppool /apppool.name:<pool>"
    ),
    references=[refs.KB981949, refs.PC_PRIVILEGE_EVERYONE, refs.MS_BPA],
    parameters=[
        Parameter("allowed_privileges", TOKEN_BASELINE, "Privileges a worker token may hold"),
    ],
    needs=("tokens",),
)
def worker_token_extra_privileges(snap, params):
    """Checks: every token in `tokens[]` that belongs to an application pool worker (identity is a pool
    identity or an IIS APPPOOL SID; a token with no identity is judged as a worker's); fails when it
    lists a privilege, enabled or disabled, outside `allowed_privileges`. Tokens of other identities
    are not applicable; pools that serve an application but have no captured token are not_reviewed.
    Why: what the token holds is what web code can use; a disabled privilege can be enabled by the
    process itself. The baseline is what `whoami /priv` shows in an `IIS APPPOOL\\X` worker on
    Windows Server (KB981949, RULES.md §1; confirm on your build).
    Bad: a worker token listing `SeDebugPrivilege  Debug programs  Disabled`.
    Good: SeAssignPrimaryToken, SeIncreaseQuota, SeAudit, SeChangeNotify, SeImpersonate,
    SeCreateGlobal, SeIncreaseWorkingSet only.
    """
    allowed = {p.casefold() for p in params["allowed_privileges"]}
    others: list = []
    workers = _worker_tokens(snap, others)
    yield from others
    if not snap.tokens:
        yield not_reviewed("host", f"No worker token was captured; {WHOAMI_HINT}")
        return
    seen = set()
    for resource, token, pool_name in workers:
        seen.add(_token_key(snap, token))
        extra = [
            p["name"]
            for p in token.get("privileges") or []
            if str(p.get("name", "")).casefold() not in allowed
        ]
        who = pool_name or "a worker process (the capture does not say which pool)"
        if extra:
            yield fail(
                resource,
                f"The token of {who} holds {', '.join(extra)}, beyond the IIS worker baseline. Web code running there "
                "can enable and use them; remove the user right that grants them and recycle the pool.",
                at=token,
            )
        else:
            yield passed(resource, f"The token of {who} holds only baseline privileges", at=token)
    yield from _missing_tokens(snap, seen)


def _integrity(token) -> str:
    """'system', 'high', 'medium', 'low' or '' from token.integrity or the Mandatory Label group."""
    text = str(token.get("integrity") or "")
    if not text:
        for g in token.get("groups") or []:
            name = str(g.get("name") or "")
            sid = str(g.get("sid") or "")
            if sid.startswith("S-1-16-") or name.casefold().startswith("mandatory label\\"):
                text = {"S-1-16-16384": "system", "S-1-16-12288": "high", "S-1-16-8192": "medium"}.get(
                    sid, name
                )
                break
    low = text.casefold()
    for level in ("system", "high", "medium", "low", "untrusted"):
        if level in low:
            return level
    return ""


def _enabled_admin_group(snap, token) -> bool:
    for g in token.get("groups") or []:
        ref = g.get("sid") or g.get("name")
        if not ref or snap.accounts.key(ref) != sids.ADMINISTRATORS:
            continue
        attrs = " ".join(g.get("attributes") or []).casefold()
        if g.get("enabled") is False or "deny only" in attrs:
            continue
        return True
    return False


@rule(
    id="IIS-PRIV-005",
    name="priv.worker_token_elevated",
    title="Runtime worker token is elevated",
    severity="critical",
    category="privileges",
    description=(
        "Fails when a captured application pool worker token runs as SYSTEM (user SID S-1-5-18), carries "
        "Administrators (S-1-5-32-544) as an enabled group, or runs at an integrity level in "
        "`elevated_integrity` (System by default)."
    ),
    rationale=(
        "Such a worker is an administrator of the server: any code the site runs, a web shell included, owns the "
        "machine. High integrity alone is normal for service-logon workers (whoami /groups inside an "
        "IIS APPPOOL worker shows Mandatory Label\\High Mandatory Level), so it does not fail by default."
    ),
    remediation=(
        "Run the pool as ApplicationPoolIdentity and take its identity out of Administrators:\n"
        "appcmd set apppool <pool> /processModel.identityType:ApplicationPoolIdentity\n"
        'net localgroup Administrators "<pool user>" /delete\n'
        "appcmd recycle apppool /apppool.name:<pool>"
    ),
    references=[
        refs.MS_BPA,
        refs.KB981949,
        refs.STIG_13713,
    ],
    parameters=[
        Parameter(
            "elevated_integrity",
            ["System"],
            "Integrity levels that count as elevated (add 'High' only for hosts whose workers run at Medium)",
        ),
    ],
    needs=("tokens",),
)
def worker_token_elevated(snap, params):
    """Checks: every application pool worker token in `tokens[]` (as for IIS-PRIV-004): fails when the
    user is SYSTEM (S-1-5-18), when BUILTIN\\Administrators is an enabled group (a deny-only
    Administrators group, as in a filtered token, is not), or when the integrity level (token
    integrity, else the Mandatory Label group) is in `elevated_integrity`. Pools with no captured
    token (among those serving an application) are not_reviewed, and so is a token that is not
    elevated by what was resolved but lists a group without a SID under an unresolved name.
    Why: the worker is then an administrator of the host (MS BPA; IIS 6 STIG V-13713). RULES.md
    listed High integrity too, but captured `IIS APPPOOL\\X` tokens show High Mandatory Level on a
    default install, so High is only flagged when configured.
    Bad: `whoami /groups` in w3wp lists `BUILTIN\\Administrators ... Enabled group` or
    `Mandatory Label\\System Mandatory Level`.
    Good: user `IIS APPPOOL\\DefaultAppPool`, groups Users, SERVICE, IIS_IUSRS, High Mandatory Level.
    """
    elevated = {str(level).casefold() for level in params["elevated_integrity"]}
    others: list = []
    workers = _worker_tokens(snap, others)
    yield from others
    if not snap.tokens:
        yield not_reviewed("host", f"No worker token was captured; {WHOAMI_HINT}")
        return
    seen = set()
    for resource, token, pool_name in workers:
        key = _token_key(snap, token)
        seen.add(key)
        who = pool_name or "a worker process (the capture does not say which pool)"
        reasons = []
        if key == sids.LOCAL_SYSTEM:
            reasons.append("it runs as NT AUTHORITY\\SYSTEM")
        if _enabled_admin_group(snap, token):
            reasons.append("BUILTIN\\Administrators is an enabled group in it")
        level = _integrity(token)
        if level and level in elevated:
            reasons.append(f"it runs at {level.capitalize()} integrity")
        unresolved = userrights.token_unresolved(snap, token)
        if reasons:
            yield fail(
                resource,
                f"The token of {who} is elevated: {'; '.join(reasons)}. Any code the site runs is an administrator "
                "of the server; run the pool as ApplicationPoolIdentity and remove its identity from Administrators.",
                at=token,
            )
        elif unresolved:
            yield not_reviewed(
                resource,
                f"The token of {who} is not elevated by what the capture resolves, but it lists "
                f"{', '.join(unresolved[:5])} without a SID and under a name this capture does not resolve "
                "(one may be Administrators); capture `whoami /groups` with its SID column",
                at=token,
            )
        else:
            yield passed(resource, f"The token of {who} is not elevated", at=token)
    yield from _missing_tokens(snap, seen)


LOGON_RIGHTS = {
    "SeInteractiveLogonRight": ("SeDenyInteractiveLogonRight", "log on locally"),
    "SeRemoteInteractiveLogonRight": ("SeDenyRemoteInteractiveLogonRight", "log on through Remote Desktop"),
}


@rule(
    id="IIS-PRIV-006",
    name="priv.interactive_logon_for_iis_identity",
    title="Interactive/RDP logon rights for IIS service identities",
    severity="medium",
    category="privileges",
    description=(
        "Fails when an IIS identity (a pool account, IIS_IUSRS, IUSR, a custom anonymous, connect-as or "
        "impersonation user) holds 'Allow log on locally' or 'Allow log on through Remote Desktop Services', "
        "directly or through a group other than the broad default holders (Users, Authenticated Users, "
        "INTERACTIVE, Everyone), and is not denied the same logon."
    ),
    rationale=(
        "A service identity that can log on interactively gives a stolen password (a pool password decrypted "
        "from applicationHost.config, a connect-as account) a desktop on the server; non-admin shell access must "
        "be documented (STIG V-218802)."
    ),
    remediation=(
        "Remove the identity (or the group that carries it, e.g. Remote Desktop Users) from the right, or deny it:\n"
        'net localgroup "Remote Desktop Users" "CORP\\svc_web" /delete\n'
        "secpol.msc > User Rights Assignment > Deny log on locally / Deny log on through Remote Desktop Services\n"
        "secedit /export /cfg C:\\temp\\rights.inf /areas USER_RIGHTS"
    ),
    references=[
        refs.STIG_218802,
        refs.BH_CAN_RDP,
        refs.MS_USER_RIGHTS,
    ],
    parameters=[
        Parameter(
            "ignore_via_groups",
            [
                sids.USERS,
                sids.AUTHENTICATED_USERS,
                sids.INTERACTIVE,
                sids.EVERYONE,
                sids.ADMINISTRATORS,
                sids.BACKUP_OPERATORS,
            ],
            "Groups whose holding of the right is not attributed to IIS identities: every account is in the broad "
            "ones, and Administrators / Backup Operators membership is reported by IIS-POOL-002, IIS-ANON-001 and "
            "IIS-HOST-002",
        ),
    ],
    needs=("user_rights",),
)
def interactive_logon_for_iis_identity(snap, params):
    """Checks: holders of SeInteractiveLogonRight and SeRemoteInteractiveLogonRight; fails when an IIS
    principal holds one directly, or through a group it is a member of (transitively) other than
    `ignore_via_groups` (Users, Authenticated Users, INTERACTIVE, Everyone hold "log on locally" by
    default on member servers; Administrators and Backup Operators membership is reported by
    IIS-POOL-002, IIS-ANON-001 and IIS-HOST-002), unless the principal or one of its groups holds the matching deny
    right. Passes every IIS principal with no such right. A name the capture does not resolve among
    the holders (or the deny holders, for a failure) makes the outcome not reviewed.
    Why: service identities never need a desktop; with one, a leaked pool or connect-as password is
    an interactive foothold (STIG V-218802; BloodHound CanRDP).
    Bad: `SeRemoteInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-555` with `CORP\\svc_web` in Remote
    Desktop Users; `SeInteractiveLogonRight = ...,*S-1-5-32-568`.
    Good: `SeInteractiveLogonRight = *S-1-5-32-544,*S-1-5-32-551,*S-1-5-32-545` (the defaults).
    """
    people = snap.iis_principals
    ignored_groups = snap.accounts.keys(params["ignore_via_groups"])
    reach = snap.privileges.reach(people.values())
    index = snap.privileges
    hit: set[str] = set()
    for wanted, (deny_right, verb) in LOGON_RIGHTS.items():
        right, shown_list = index.holders(wanted)
        denied = {snap.accounts.key(s) for s in index.holders(deny_right)[1]}
        for shown in shown_list:
            key = snap.accounts.key(shown)
            if key in ignored_groups:
                continue
            reached = reach.get(key) or []
            extra = iis.apppool_principal(key, shown)
            if not reached and extra:
                reached = [(extra, None)]
            blocked = []
            for person, via in reached:
                groups = snap.accounts.groups_of(snap.accounts.ref(person.key))
                if person.key in denied or denied & set(groups):
                    continue
                blocked.append((person, via))
            if not blocked:
                continue
            hit.update(p.key for p, _ in blocked)
            undecided = index.unknown_note([deny_right])
            if undecided:  # a deny holder the capture cannot name may be one of them, or a group of theirs
                yield not_reviewed(
                    f"user_rights/{right}/{shown}",
                    f"{right} is granted to {snap.accounts.shown(shown)}, which reaches IIS identities, but "
                    f"{undecided}",
                )
                continue
            names = "; ".join(
                f"{p.name} ({p.role}{'' if via is None else ', through ' + snap.accounts.shown(snap.accounts.ref(via))})"
                for p, via in blocked[:3]
            )
            yield fail(
                f"user_rights/{right}/{shown}",
                f"{right} is granted to {snap.accounts.shown(shown)}, so IIS identities can {verb}: {names}. A leaked "
                "service password then gives a desktop on the server; remove them from the right or the group, "
                f"or add them to {deny_right}.",
                **snap.privileges.location(right, shown),
            )
    # With no membership captured, a group holding a logon right (Remote Desktop Users by default) may
    # contain an IIS principal: that is not a pass.
    unjudged = snap.privileges.unjudged_group_holders(
        (s for wanted in LOGON_RIGHTS for s in index.holders(wanted)[1]), ignored_groups
    )
    group_holders = _group_holders(
        snap, (s for wanted in LOGON_RIGHTS for s in index.holders(wanted)[1]), ignored_groups
    )
    unresolved = index.unknown_note(LOGON_RIGHTS)
    for key, person in people.items():
        if key in hit:
            continue
        unknown = _membership_unknown(snap, person, group_holders)
        if unknown:
            yield not_reviewed(
                f"principals/{person.name}",
                f"{person.name} holds no interactive or RDP logon right directly, but groups do and {unknown}",
            )
        elif unresolved:
            yield not_reviewed(
                f"principals/{person.name}",
                f"{person.name} holds no interactive or RDP logon right through a resolved holder, but {unresolved}",
            )
        elif unjudged:
            yield not_reviewed(
                f"principals/{person.name}",
                f"{person.name} holds no interactive or RDP logon right directly, but {', '.join(unjudged)} "
                "does and no group membership was captured (net localgroup <group>, Get-LocalGroupMember)",
            )
        else:
            yield passed(
                f"principals/{person.name}", f"{person.name} cannot log on interactively or over RDP"
            )


RULES = [
    impersonate_beyond_expected,
    dangerous_to_iis_principal,
    dangerous_to_broad,
    worker_token_extra_privileges,
    worker_token_elevated,
    interactive_logon_for_iis_identity,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-PRIV-"],
        "description": "Built-in IIS-PRIV-* rules: user rights and worker tokens",
    }


@hookimpl
def iisguard_register_rules():
    return RULES
