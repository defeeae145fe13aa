"""Built-in rule pack: IIS-ANON-* rules, the identity anonymous requests run as (RULES.md §3B, §3H)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from operator import itemgetter
from typing import Any

from iisguard import (
    Location,
    Membership,
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

PRIVILEGED_GROUP_PARAMS = [
    Parameter(
        "privileged_groups",
        list(sids.PRIVILEGED_LOCAL_GROUPS),
        "Local groups (SIDs or names) the anonymous identity must not belong to, directly or transitively",
    ),
    Parameter(
        "privileged_domain_rids",
        [g.rid for g in accounts.PRIVILEGED_GROUPS if g.rid is not None],
        "Relative ids of domain groups that count as privileged (512 Domain Admins, 518, 519, 526, 527)",
    ),
]


def _anonymous_refs(loc: Location) -> list[str]:
    """The anonymous identity (as configured), plus IIS_IUSRS when it is the pool identity (WAS injects that group)."""
    ident = loc.identity
    assert ident is not None
    first = ident.name if ident.type == "custom" else ident.key
    return [first, *loc.anonymous_keys[1:]]


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
    references=[refs.STIG_218750, refs.STIG_214461, refs.STIG_6537, refs.MS_BUILTIN],
    parameters=PRIVILEGED_GROUP_PARAMS,
    needs=("iis", "principals"),
)
def anon_privileged_group(snap, params):
    """Checks: at every site, application and configured folder where anonymous authentication is enabled,
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
    """
    groups = accounts.privileged_groups([*params["privileged_groups"], *params["privileged_domain_rids"]])

    def membership(refs: list[str]) -> Membership:
        return snap.accounts.membership(refs, groups)  # answered once per distinct identity

    for loc in snap.locations:
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
        m = membership(_anonymous_refs(loc))
        yield _judge(loc.key, f"at '{loc.path}'", ident.name, m, loc.anonymous)

    legacy = snap.iis.get("legacy") or {}
    user = legacy.get("anonymous_user")
    if user:
        yield _judge(
            iis.principal_key(user), "(IIS 6 metabase AnonymousUserName)", user, membership([user]), legacy
        )


def _judge(resource, where, name, m: Membership, at):
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
            f"Cannot tell whether {name} (anonymous {where}) is in a privileged group: {m.reason}.",
            at=at,
        )
    return passed(resource, f"Anonymous identity {name} {where} is in no privileged group.", at=at)


def _is_pool_identity(loc: Location) -> bool:
    return loc.identity is not None and loc.identity.type not in ("IUSR", "custom")


def _undecided(loc: Location):
    """not_reviewed / not_applicable for a location whose anonymous identity cannot be judged, else None."""
    if loc.anonymous is None:
        return not_reviewed(loc.key, f"No anonymous authentication settings were captured for '{loc.path}'.")
    if not loc.enabled:
        return not_applicable(
            loc.key, f"Anonymous authentication is disabled at '{loc.path}'.", at=loc.anonymous
        )
    if loc.identity is None:
        return not_reviewed(
            loc.key,
            f"Anonymous requests at '{loc.path}' run as the application pool identity, but the pool was not captured.",
            at=loc.anonymous,
        )
    return None


@rule(
    id="IIS-ANON-002",
    name="anon.not_pool_identity",
    title="Anonymous identity is not the app pool identity",
    severity="low",
    category="anon",
    description="Anonymous authentication runs requests as IUSR or a configured account instead of the "
    'application pool identity (userName="").',
    rationale="With IUSR, every site's anonymous requests share one identity, so content ACLs for it cannot "
    "separate sites; with the pool identity, each site's anonymous requests are confined to its own pool's SID.",
    remediation="appcmd set config -section:system.webServer/security/authentication/anonymousAuthentication "
    '/userName:"" /commit:apphost\n'
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/authentication/"
    "anonymousAuthentication -Name userName -Value ''",
    references=[refs.CIS_1_6, refs.MS_APASANON],
    needs=("iis",),
    default_enabled=False,
)
def anon_not_pool_identity(snap, params):
    """Checks: at every site, application and configured folder with anonymous authentication enabled,
    whether the effective userName is empty (the pool identity). An absent userName inherits IUSR and
    fails, as does any configured account. Off in the baseline profile: IUSR is the install default
    everywhere; on in the CIS profile.
    Why: CIS 1.6 recommends the pool identity as anonymous identity so that anonymous access to one site's
    content can be restricted to that site's pool SID; IUSR is shared by all sites (MS-APASANON).
    Bad: `<anonymousAuthentication enabled="true" userName="IUSR"/>` (the default).
    Good: `<anonymousAuthentication enabled="true" userName=""/>`.
    """
    for loc in snap.locations:
        undecided = _undecided(loc)
        if undecided is not None:
            yield undecided
        elif _is_pool_identity(loc):
            yield passed(
                loc.key, f"Anonymous requests at '{loc.path}' run as the pool identity.", at=loc.anonymous
            )
        else:
            yield fail(
                loc.key,
                f"Anonymous requests at '{loc.path}' run as {loc.identity.name}, an identity shared across sites, "
                'so content ACLs cannot isolate this site; set anonymous userName to "" (the pool identity).',
                at=loc.anonymous,
                identity=loc.identity.name,
            )


@rule(
    id="IIS-ANON-003",
    name="anon.custom_account",
    title="Anonymous identity is a domain or custom account with network credentials",
    severity="medium",
    category="anon",
    description="Anonymous authentication runs requests as a configured local or domain account rather than "
    "IUSR or the pool identity.",
    rationale="Such an account has a password stored in configuration and can authenticate to other machines, "
    "so every anonymous visitor's requests carry real network credentials.",
    remediation='appcmd set config "<site>" -section:system.webServer/security/authentication/'
    'anonymousAuthentication /userName:"" /password:"" /commit:apphost\n'
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>' -Filter "
    "system.webServer/security/authentication/anonymousAuthentication -Name userName -Value 'IUSR'",
    references=[refs.MS_BUILTIN, refs.CIS_2_8, refs.MS_ANON],
    parameters=[Parameter("allowed_accounts", [], "Anonymous accounts allowed by policy (globs)")],
    needs=("iis",),
)
def anon_custom_account(snap, params):
    """Checks: at every location with anonymous authentication enabled, whether the effective anonymous
    identity is a configured account (userName set to something other than IUSR, compared by SID, so
    `IUSR`, `NT AUTHORITY\\IUSR` and `S-1-5-17` are all IUSR). Built-in accounts and the pool identity pass;
    accounts matching `allowed_accounts` are not applicable.
    Why: IUSR has no password and acts anonymously on the network (MS-BUILTIN); a custom account needs a
    stored password (CIS 2.8) and gives anonymous visitors that account's network access.
    Bad: `<anonymousAuthentication userName="CORP\\webanon" password="[enc:…:enc]"/>`.
    Good: `userName="IUSR"` or `userName=""`.
    """
    for loc in snap.locations:
        undecided = _undecided(loc)
        if undecided is not None:
            yield undecided
            continue
        ident = loc.identity
        if ident.type != "custom" or snap.accounts.scope(ident.name) == "builtin":
            yield passed(
                loc.key, f"Anonymous requests at '{loc.path}' run as {ident.name}.", at=loc.anonymous
            )
            continue
        allowed = names.matches_any(ident.name, params["allowed_accounts"])
        if allowed:
            yield not_applicable(
                loc.key, f"Anonymous account {ident.name} is allow-listed ('{allowed}').", at=loc.anonymous
            )
            continue
        scope = snap.accounts.scope(ident.name)
        yield fail(
            loc.key,
            f"Anonymous requests at '{loc.path}' run as {scope} account {ident.name}, whose password is stored in "
            "configuration and which can authenticate on the network; use IUSR or the pool identity "
            '(userName="") instead.',
            at=loc.anonymous,
            identity=ident.name,
        )


STRONGER_AUTH = (
    ("windows", "Windows"),
    ("basic", "Basic"),
    ("digest", "Digest"),
    ("client_certificate", "client certificate mapping"),
)


@rule(
    id="IIS-ANON-004",
    name="anon.mixed_with_stronger_auth",
    title="Anonymous enabled where stronger auth is also configured, or on paths declared sensitive",
    severity="low",
    category="anon",
    description="At one location anonymous authentication is enabled together with Windows, Basic, Digest or "
    "client-certificate authentication, or at a path the organization declares sensitive.",
    rationale="IIS serves a request anonymously whenever anonymous is enabled; the other methods are only "
    "used when anonymous access is denied, so the stronger method is likely not protecting what was intended.",
    remediation='appcmd set config "<site>/<path>" -section:system.webServer/security/authentication/'
    "anonymousAuthentication /enabled:false /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Location '<site>/<path>' -Filter "
    "system.webServer/security/authentication/anonymousAuthentication -Name enabled -Value False",
    references=[refs.CIS_2_2, refs.MS_ANON],
    parameters=[
        Parameter(
            "sensitive_paths",
            [],
            "Configuration paths (globs, e.g. 'Shop/admin*') that must not allow anonymous",
        ),
    ],
    needs=("iis",),
)
def anon_mixed_with_stronger_auth(snap, params):
    """Checks: at every site, application and configured folder, the effective anonymous, Windows, Basic,
    Digest and client-certificate-mapping settings (each read from the nearest configuration path that
    sets it). Fails when anonymous is enabled together with any of the others, or when anonymous is
    enabled at a path matching `sensitive_paths`.
    Why: CIS 2.2 asks that sensitive features be restricted to authenticated principals; with anonymous
    enabled IIS never challenges, so Windows or Basic authentication configured alongside it gives a
    false sense of protection (MS-ANON).
    Bad: `Shop/admin` with `anonymousAuthentication enabled="true"` and `windowsAuthentication enabled="true"`.
    Good: `Shop/admin` with anonymous disabled and Windows authentication enabled.
    """
    locations = snap.locations
    index = locations.index  # iis.auth_index(snap), built once with the locations
    sensitive = params["sensitive_paths"]
    for loc in locations:
        if loc.anonymous is None:
            yield not_reviewed(
                loc.key, f"No anonymous authentication settings were captured for '{loc.path}'."
            )
            continue
        if not loc.enabled:
            yield passed(loc.key, f"Anonymous authentication is disabled at '{loc.path}'.", at=loc.anonymous)
            continue
        also = []
        for section, label in STRONGER_AUTH:
            entry = iis.effective_auth(index, loc.path, section)
            if entry and entry[section].get("enabled"):
                also.append(label)
        marked = names.matches_any(loc.path, sensitive)
        if also or marked:
            why = (
                f"together with {', '.join(also)} authentication, which IIS then never asks for"
                if also
                else f"although the path is declared sensitive ('{marked}')"
            )
            yield fail(
                loc.key,
                f"Anonymous authentication is enabled at '{loc.path}' {why}; disable anonymous there so only "
                "authenticated users reach it.",
                at=loc.anonymous,
                also_enabled=also,
            )
        else:
            yield passed(
                loc.key, f"Only anonymous authentication is enabled at '{loc.path}'.", at=loc.anonymous
            )


@rule(
    id="IIS-ANON-005",
    name="anon.can_write_content",
    title="Anonymous identity can write or modify web content",
    severity="critical",
    category="anon",
    description="An allow ACE on a content folder (a virtual directory's physical path or a captured folder "
    "below it) grants write, modify, delete, change-permissions or take-ownership to the anonymous identity "
    "(IUSR, the custom account or the pool identity), to a group it is in, or to Everyone / Anonymous Logon.",
    rationale="Anyone on the network can then plant or change content the server executes: a web shell is one "
    "upload away.",
    remediation='icacls "<folder>" /remove:g IUSR /remove:g Everyone /remove:g "ANONYMOUS LOGON"\n'
    'icacls "<folder>" /grant "IIS APPPOOL\\<pool>:(OI)(CI)RX"',
    references=[refs.STIG_218750, refs.STIG_218780, refs.CIS_4_8, refs.KB981949],
    parameters=[
        Parameter(
            "allowed_writable_paths",
            [],
            "Folders anonymous users may write (globs on the path relative to the content root, e.g. 'uploads')",
        ),
    ],
    needs=("iis", "acls"),
)
def anon_can_write_content(snap, params):
    """Checks: for every virtual directory's physical path (compared with %SystemDrive% and friends expanded)
    and every captured ACL below one, the anonymous identity in force at that configuration path (IUSR, a
    custom account, or the pool identity plus IIS_IUSRS when userName=""), the groups it is known to be
    in, Everyone and ANONYMOUS LOGON: any allow ACE granting a write-class right (F, M, W, D, WD, AD, DC,
    WDAC, WO, GA, GW) to one of them fails, unless the folder matches `allowed_writable_paths`. A content
    root whose ACL was not captured is not_reviewed.
    Why: the default wwwroot grants IUSR nothing and IIS_IUSRS only read; write access for the anonymous
    identity lets unauthenticated users change what the site serves and executes (STIG V-218750,
    V-218780).
    Bad: `icacls D:\\Sites\\Public` shows `Everyone:(OI)(CI)(M)` or `NT AUTHORITY\\IUSR:(OI)(CI)(W)`.
    Good: `IIS APPPOOL\\Public:(OI)(CI)(RX)`, administrators and SYSTEM full, nothing writable by anonymous.
    """
    allowed = params["allowed_writable_paths"]
    roots: dict[
        str, list[tuple[str, str, str | None, str]]
    ] = {}  # path key -> (config path, site, pool, path)
    for site in snap.sites:
        for app in site.get("applications") or []:
            app_path = str(app.get("path") or "/").rstrip("/")
            for vdir in app.get("virtual_directories") or []:
                phys = vdir.get("physical_path_expanded") or vdir.get("physical_path")
                if not phys:
                    continue
                vpath = str(vdir.get("path") or "/").rstrip("/")
                config = f"{site['name']}{app_path}{vpath}"
                roots.setdefault(snap.path_key(phys), []).append(
                    (config, site["name"], app.get("app_pool"), phys)
                )
    root_acls = {k: snap.acl(v[0][3]) for k, v in roots.items()}  # content root key -> its ACL
    # (path key, its content root's key or None for a root itself, its ACL, its write grants or None,
    # the ACL's path) for every root and every captured path below one (`roots` has content_roots'
    # keys, which content_folders leaves out).
    entries: list[tuple[str, str | None, Mapping[str, Any] | None, acls.Grants | None, str | None]]
    if len(snap.acls_by_path) == len(snap.acls):  # no path captured twice: `acls_by_path` holds each
        grants_by_path = acls.write_grants_by_path(snap)
        entries = [(k, None, acl, grants_by_path.get(k), acl and acl["path"]) for k, acl in root_acls.items()]
        entries += acls.content_folder_grants(snap)  # no lookup by key for each of 90,000 paths
    else:  # a path captured twice: the first ACL captured is the one judged
        first: dict[str, Mapping[str, Any]] = {}
        path_key = snap.path_key
        for acl in snap.acls:
            first.setdefault(path_key(acl["path"]), acl)
        entries = [(k, None, acl, None, acl and acl["path"]) for k, acl in root_acls.items()]
        entries += [
            (k, root, first[k], None, first[k]["path"]) for k, root in iis.content_folders(snap).items()
        ]
    entries.sort(key=itemgetter(0))  # parents before their children (each path key once)

    locations = snap.locations
    auth = locations.index
    # What reaches anonymous requests depends only on the authentication entry in force and the pool.
    by_entry: dict[tuple[int, str | None], dict[str, str] | None] = {}

    def anonymous_keys(config: str, site: str, pool_name: str | None) -> dict[str, str] | None:
        entry = iis.effective_auth(auth, config, "anonymous")
        if entry is not None and (id(entry), pool_name) in by_entry:
            return by_entry[id(entry), pool_name]
        loc = locations.get(config)  # a site or application: its settings are already worked out
        if loc is None or loc.pool_name != pool_name or loc.site != site or loc.entry is not entry:
            loc = locations.at(config, site, pool_name)
        found = iis.anonymous_principals(snap, loc)
        if entry is not None and loc.entry is entry:
            by_entry[id(entry), pool_name] = found
        return found

    def reach_of(uses, sub: str) -> dict[str, str]:
        if len(uses) == 1:  # one use: its principals as they are (shared, read only)
            config, site, pool_name, _ = uses[0]
            return anonymous_keys(config + sub, site, pool_name) or {}
        reach: dict[str, str] = {}
        for config, site, pool_name, _ in uses:
            found = anonymous_keys(config + sub, site, pool_name)
            if found:
                reach.update({k: v for k, v in found.items() if k not in reach})
        return reach

    # A folder below a content root has the authentication in force at the root unless an entry is
    # configured deeper: then what reaches anonymous requests is worked out once per root.
    same_below: dict[str, dict[str, str] | None] = {}

    def reach_at(root: str, uses, rel: str) -> dict[str, str]:
        reach = same_below.get(root)
        if reach is not None:
            return reach
        if root not in same_below and any(locations.configured_below(u[0]) for u in uses):
            same_below[root] = None
        if root in same_below:
            return reach_of(uses, "/" + rel.replace("\\", "/") if rel else "")
        reach = same_below[root] = reach_of(uses, "")
        return reach

    allowed_here = acls.folder_matcher(allowed) if allowed else None

    failing: dict[str, list] = {}  # path key -> [resource, message, acl, aces, folded count]
    for key, root, acl, grants, shown in entries:
        sub = root is not None  # a folder below a content root, not the root itself
        if root is None:
            root = key
            if acl is None:
                uses = roots[root]
                shown = uses[0][3]
                yield not_reviewed(
                    f"acls/{shown}", f"The ACL of content folder {shown} ({uses[0][0]}) was not captured."
                )
                continue
        if sub and allowed_here is not None and allowed_here(iis.relative(key, root)):
            yield not_applicable(f"acls/{shown}", f"{shown} is an allow-listed writable folder.", at=acl)
            continue
        reach = same_below.get(root)
        if reach is None:
            reach = reach_at(root, roots[root], iis.relative(key, root) if sub else "")
        if not reach:
            yield not_applicable(
                f"acls/{shown}", f"Anonymous authentication is off wherever {shown} is served.", at=acl
            )
            continue
        if grants is None:  # a path captured twice
            grants = acls.write_grants(snap, acl)
        for _, k in grants:
            if k in reach:
                break
        else:
            yield passed(f"acls/{shown}", f"Anonymous users cannot write {shown}.", at=acl)
            continue
        offending = [(ace, k) for ace, k in grants if k in reach]
        # A file or folder that only inherits a grant already reported on a parent is that parent's
        # finding, counted there: a /T listing must not turn one bad ACE into thousands of results.
        parent = (
            _failing_ancestor(key, failing) if sub and all(a.get("inherited") for a, _ in offending) else None
        )
        if parent is not None:
            failing[parent][4] += 1
            continue
        bad = [f"{acls.ace_text(ace)} ({reach[k]})" for ace, k in offending]
        failing[key] = [f"acls/{shown}", shown, acl, bad, 0]
    for resource, shown, acl, bad, folded in failing.values():
        below = f" ({folded} captured file(s) and folder(s) below inherit it)" if folded else ""
        yield fail(
            resource,
            f"Content folder {shown} grants write access to the anonymous identity: {'; '.join(bad)}{below}, so "
            "unauthenticated users can change what the site serves; remove these ACEs and grant the pool "
            "identity read only.",
            at=acl,
            aces=bad,
            inherited_below=folded,
        )


def _failing_ancestor(key: str, failing: dict[str, list]) -> str | None:
    """The nearest parent path (already judged) that fails, walking up one component at a time."""
    path = key
    while "\\" in path:
        path = path.rsplit("\\", 1)[0]
        if path in failing:
            return path
    return None


@rule(
    id="IIS-ANON-006",
    name="anon.shared_across_pools",
    title="One anonymous identity shared by sites in different pools",
    severity="low",
    category="anon",
    description="Two or more sites in different application pools serve anonymous requests as the same "
    "identity (IUSR or one custom account).",
    rationale="Content ACLs for that identity then open every such site's files to anonymous requests of the "
    "others, which breaks the isolation the separate pools were meant to give.",
    remediation='appcmd set config "<site>" -section:system.webServer/security/authentication/'
    'anonymousAuthentication /userName:"" /commit:apphost',
    references=[refs.CIS_1_6, refs.MS_APASANON],
    needs=("iis",),
    default_enabled=False,
)
def anon_shared_across_pools(snap, params):
    """Checks: each site's root location: when anonymous is enabled with IUSR or a custom account (not the
    pool identity), sites are grouped by that identity's SID; a site fails when another site in a
    different pool uses the same identity. Off in the baseline profile: IUSR on every site is the default.
    Why: CIS 1.6's rationale: IUSR is one SID for every site, so any folder IUSR can read on one site it can
    read on all; the pool identity as anonymous identity keeps each site to its own pool SID.
    Bad: `Shop` (pool Shop) and `Api` (pool Api) both with anonymous userName IUSR.
    Good: both with `userName=""`, each anonymous request running as its own pool's identity.
    """
    roots = [loc for loc in snap.locations if loc.path == loc.site]
    shared: dict[str, set[str]] = {}
    for loc in roots:
        if loc.enabled and loc.identity is not None and not _is_pool_identity(loc):
            shared.setdefault(loc.identity.key, set()).add(str((loc.pool or {}).get("name") or "").casefold())
    for loc in roots:
        key = iis.site_key(loc.site)
        undecided = _undecided(loc)
        if undecided is not None:
            yield replace_resource(undecided, key)
        elif _is_pool_identity(loc):
            yield passed(
                key, f"Site '{loc.site}' serves anonymous requests as its pool identity.", at=loc.anonymous
            )
        elif len(shared[loc.identity.key]) > 1:
            yield fail(
                key,
                f"Site '{loc.site}' serves anonymous requests as {loc.identity.name}, the same identity as sites in "
                f"{len(shared[loc.identity.key]) - 1} other pool(s), so anonymous content ACLs cross site "
                'boundaries; set anonymous userName to "" (the pool identity).',
                at=loc.anonymous,
                identity=loc.identity.name,
            )
        else:
            yield passed(
                key,
                f"No site in another pool shares anonymous identity {loc.identity.name}.",
                at=loc.anonymous,
            )


def replace_resource(result, resource):
    """The same outcome and message for another resource key."""
    return replace(result, resource=resource)


LEGACY_ACCOUNT_PATTERNS = ("IUSR_*", "IWAM_*", "ASPNET", "IIS_WPG")


@rule(
    id="IIS-ANON-007",
    name="anon.iis6_accounts_left",
    title="Leftover IIS 6-era accounts on IIS 7+",
    severity="medium",
    category="anon",
    description="On IIS 7 or later, a local IUSR_<host>, IWAM_<host>, ASPNET or IIS_WPG account or group "
    "exists (or the metabase-compatibility configuration still names one) without the IIS 6 FTP service "
    "that needs IUSR_<host>.",
    rationale="These accounts have passwords, are no longer used by IIS 7+, and are exactly the stale accounts "
    "STIG V-218796 asks to remove.",
    remediation="Remove-LocalUser -Name IUSR_<host>\n"
    "net user IWAM_<host> /delete\n"
    "net localgroup IIS_WPG /delete",
    references=[refs.STIG_218796, refs.STIG_214411, refs.KB981949, refs.MS_IIS6ACCT],
    parameters=[Parameter("allowed_accounts", [], "Legacy accounts kept on purpose (globs)")],
    needs=("iis", "local_accounts"),
)
def anon_iis6_accounts_left(snap, params):
    """Checks: on IIS 7 or later, local accounts and groups named IUSR_*, IWAM_*, ASPNET or IIS_WPG, and the
    IIS 6 metabase AnonymousUserName / WAMUserName when the compatibility configuration still names such
    an account. IUSR_<host> is not applicable while the IIS 6 FTP service (MSFTPSVC) is installed, which
    creates it (KB981949). Accounts matching `allowed_accounts` are not applicable. IIS 6 and earlier
    hosts are not applicable (these are their own accounts).
    Why: since IIS 7 anonymous requests use the built-in IUSR (S-1-5-17, no password) and workers use pool
    identities; the old accounts keep passwords nobody rotates and memberships nobody reviews.
    Bad: `net user` lists `IUSR_WEB01` and `IWAM_WEB01` on Windows Server 2019.
    Good: only IUSR (built-in) and per-pool virtual accounts.
    """
    major = iis.iis_major(snap)
    if major is None:
        yield not_reviewed("host", "The IIS version was not captured.")
        return
    if major < 7:
        yield not_applicable("host", f"IIS {iis.iis_version(snap)} uses these accounts itself.")
        return
    ftp6 = any(str(s.get("name") or "").casefold() == "msftpsvc" for s in snap.data.get("services") or [])
    found: dict[str, tuple[str, dict]] = {}
    for p in snap.data.get("principals") or []:
        name = str(p.get("name") or "")
        account = name.rpartition("\\")[2]
        if not account or not names.matches_any(account, LEGACY_ACCOUNT_PATTERNS):
            continue
        if snap.accounts.scope(name) != "local" and p.get("kind") not in ("local_user", "local_group"):
            continue
        found.setdefault(account.casefold(), (name, p))
    legacy = snap.iis.get("legacy") or {}
    for field in ("anonymous_user", "wam_user"):
        name = legacy.get(field)
        if name and names.matches_any(name.rpartition("\\")[2], LEGACY_ACCOUNT_PATTERNS):
            found.setdefault(name.rpartition("\\")[2].casefold(), (name, legacy))
    if not found:
        yield passed("host", "No IIS 6-era accounts (IUSR_*, IWAM_*, ASPNET, IIS_WPG) are present.")
        return
    for name, at in found.values():
        key = iis.principal_key(name)
        account = name.rpartition("\\")[2]
        allowed = names.matches_any(account, params["allowed_accounts"])
        if allowed:
            yield not_applicable(key, f"{name} is allow-listed ('{allowed}').", at=at)
        elif ftp6 and account.casefold().startswith("iusr_"):
            yield not_applicable(
                key, f"{name} is used by the IIS 6 FTP service (MSFTPSVC) installed on this host.", at=at
            )
        else:
            yield fail(
                key,
                f"IIS 6-era account {name} exists on IIS {iis.iis_version(snap)}, which no longer uses it; its password "
                "and memberships go unreviewed, so remove it (Remove-LocalUser / net localgroup /delete).",
                at=at,
                account=name,
            )


SERVER_LEVEL_LOCATIONS = ("", "machine", "machine/webroot", "machine/webroot/apphost", "apphost", "root")


@rule(
    id="IIS-ANON-008",
    name="anon.no_global_authorization_rule",
    title="No global .NET authorization rule restricting anonymous",
    severity="medium",
    category="anon",
    description="The server-level (root web.config / applicationHost) ASP.NET authorization rules do not deny "
    "anonymous users before allowing everyone.",
    rationale="Without a global rule, any ASP.NET content that forgets its own authorization is readable by "
    "anonymous users; STIG V-218825 asks for 'Allow All Users' and 'Deny Anonymous Users' at server level.",
    remediation="Add-WebConfigurationProperty -PSPath 'MACHINE/WEBROOT' -Filter system.web/authorization "
    "-Name '.' -AtIndex 0 -Value @{users='?'} -Type deny\n"
    '(root web.config: <authorization><deny users="?"/><allow users="*"/></authorization>)',
    references=[refs.STIG_218825, refs.CIS_2_1],
    parameters=[
        Parameter(
            "public_facing",
            False,
            "The server intentionally serves anonymous users (STIG: not applicable)",
            type="bool",
        ),
        Parameter(
            "vendor_pools",
            ["MSExchange*", "SharePoint*", "WsusPool"],
            "Pools whose presence marks an Exchange, SharePoint or WSUS server (STIG: not applicable)",
        ),
    ],
    needs=("iis", "web_configs"),
    default_enabled=False,
)
def anon_no_global_authorization_rule(snap, params):
    """Checks: the `aspnet[]` entry for the server level (location "", MACHINE/WEBROOT or APPHOST): reading
    its authorization rules in order as ASP.NET does, the first rule that applies to anonymous users
    (`users` contains `?` or `*`, no roles, no verbs) must be a deny. Not applicable when `public_facing`
    is set, or on Exchange, SharePoint or WSUS servers (recognised by `vendor_pools`), as the STIG says.
    Off in the baseline profile: the .NET default is allow `*`.
    Why: a global deny of anonymous makes every ASP.NET application authenticated unless it opts out,
    instead of public unless it opts in.
    Bad: root web.config `<authorization><allow users="*"/></authorization>` (the default).
    Good: `<authorization><deny users="?"/><allow users="*"/></authorization>`.
    """
    if params["public_facing"]:
        yield not_applicable("host", "The server is declared public-facing (parameter public_facing).")
        return
    vendor = next(
        (p["name"] for p in snap.app_pools if names.matches_any(p["name"], params["vendor_pools"])), None
    )
    if vendor:
        yield not_applicable(
            "host",
            f"Application pool '{vendor}' marks an Exchange, SharePoint or WSUS server, "
            "where the STIG does not apply this rule.",
        )
        return
    roots = [
        a
        for a in snap.data.get("aspnet") or []
        if str(a.get("location") or "").strip("/").casefold() in SERVER_LEVEL_LOCATIONS
    ]
    if not roots:
        yield not_reviewed("host", "The server-level web.config (authorization rules) was not captured.")
        return
    for entry in roots:
        key = iis.aspnet_key(str(entry.get("location") or ""))
        first = next((r for r in entry.get("authorization") or [] if _applies_to_anonymous(r)), None)
        if first is not None and first.get("action") == "deny":
            yield passed(key, "The server-level authorization rules deny anonymous users first.", at=first)
        else:
            what = (
                "allows anonymous users first"
                if first is not None
                else "has no rule for anonymous users (the .NET default allows them)"
            )
            yield fail(
                key,
                f"The server-level ASP.NET authorization {what}, so any application without its own rules is "
                'open to anonymous users; add <deny users="?"/> before <allow users="*"/> in the root web.config.',
                at=first or entry,
            )


def _applies_to_anonymous(r) -> bool:
    users = {str(u).strip() for u in r.get("users") or []}
    return bool(users & {"?", "*"}) and not r.get("roles") and not r.get("verbs")


RULES: list = [
    anon_privileged_group,
    anon_not_pool_identity,
    anon_custom_account,
    anon_mixed_with_stronger_auth,
    anon_can_write_content,
    anon_shared_across_pools,
    anon_iis6_accounts_left,
    anon_no_global_authorization_rule,
]


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-ANON-"], "description": "Built-in IIS-ANON-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES
