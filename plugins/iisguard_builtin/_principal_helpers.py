"""Who counts as an IIS principal on a host, who holds a user right, and what group data was captured.

Shared by the HOST, PRIV and ACL packs. Everything here is built once per rule run (dicts keyed by
principal key: the SID where knowable, else `name:<domain\\name>`), so rules stay linear.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from iisguard import Snapshot, identities, sids

# Privileges an attacker turns into SYSTEM or domain compromise (RULES.md §4, "not default" rows),
# with the reason a message gives.
DANGEROUS_PRIVILEGES: dict[str, str] = {
    "SeTcbPrivilege": "acts as part of the operating system (can build tokens with any groups, i.e. SYSTEM)",
    "SeDebugPrivilege": "opens any process, including LSASS (credential theft) and SYSTEM services (code injection)",
    "SeLoadDriverPrivilege": "loads kernel drivers (a vulnerable signed driver gives kernel code execution)",
    "SeBackupPrivilege": "reads any file or registry key regardless of ACLs (SAM, SECURITY and SYSTEM hives)",
    "SeRestorePrivilege": "writes any file or registry key regardless of ACLs (replace service binaries)",
    "SeTakeOwnershipPrivilege": "takes ownership of any object and then rewrites its ACL",
    "SeCreateTokenPrivilege": "forges access tokens with any SIDs and privileges",
    "SeManageVolumePrivilege": "performs volume maintenance, which is abusable to take over system files",
    "SeSecurityPrivilege": "reads and clears the Security event log and changes audit settings",
    "SeEnableDelegationPrivilege": "marks accounts as trusted for delegation (a path to domain compromise)",
    "SeRelabelPrivilege": "changes integrity labels of objects it does not own",
    "SeTrustedCredManAccessPrivilege": "reads Credential Manager as a trusted caller",
}
# The two "Potato" halves: expected for service identities, dangerous for broad principals.
POTATO_PRIVILEGES: dict[str, str] = {
    "SeImpersonatePrivilege": "impersonates any token it captures; with a coerced SYSTEM logon this gives SYSTEM (Potato attacks)",
    "SeAssignPrimaryTokenPrivilege": "starts processes with a captured token (the other half of Potato attacks)",
}

# Groups whose membership makes a principal an administrator of the host (or of the domain).
ADMIN_GROUP_SIDS = frozenset({sids.ADMINISTRATORS})
ADMIN_DOMAIN_RIDS = frozenset({sids.RID_DOMAIN_ADMINS, sids.RID_ENTERPRISE_ADMINS, sids.RID_SCHEMA_ADMINS})
PRIVILEGED_DOMAIN_RIDS = ADMIN_DOMAIN_RIDS | {sids.RID_KEY_ADMINS, sids.RID_ENTERPRISE_KEY_ADMINS}
BROAD_NAMES = frozenset({"domain users", "domain computers", "domain guests"})


@dataclass(frozen=True)
class IisPrincipal:
    """A principal whose grants reach IIS code: `role` says how, for messages."""

    key: str
    name: str
    role: str


def iis_principals(snap: Snapshot, *, include_local_system: bool = False) -> dict[str, IisPrincipal]:
    """Every principal IIS code runs as, keyed by principal key.

    Pool identities (LocalSystem only when asked: IIS-POOL-001 reports it), IIS_IUSRS (injected into
    every worker unless manualGroupMembership), IUSR, custom anonymous users, connect-as users of
    virtual directories, ASP.NET impersonation users, and any IIS APPPOOL\\* account the snapshot names.
    """
    found: dict[str, IisPrincipal] = {}

    def add(key: str, name: str, role: str) -> None:
        if key and key not in found:
            found[key] = IisPrincipal(key, name, role)

    add(sids.IIS_IUSRS, "BUILTIN\\IIS_IUSRS", "IIS_IUSRS, whose SID is in every application pool worker")
    add(sids.IUSR, "NT AUTHORITY\\IUSR", "IUSR, the default anonymous identity")
    for pool in snap.app_pools:
        ident = identities.pool_identity(snap, pool)
        if ident.key == sids.LOCAL_SYSTEM and not include_local_system:
            continue
        add(ident.key, ident.name, f"identity of application pool '{pool['name']}'")
    principals = snap.principals
    for auth in snap.iis.get("authentication") or []:
        anon = auth.get("anonymous") or {}
        user = anon.get("user")
        if user and anon.get("user_state") != "empty":
            where = auth.get("location") or "server level"
            add(principals.key(user), user, f"anonymous user at '{where}'")
    for site in snap.sites:
        for app in site.get("applications") or []:
            for vdir in app.get("virtual_directories") or []:
                if vdir.get("user"):
                    add(
                        principals.key(vdir["user"]),
                        vdir["user"],
                        f"connect-as user of a virtual directory of '{site['name']}'",
                    )
    for entry in snap.data.get("aspnet") or []:
        user = (entry.get("identity") or {}).get("user")
        if user:
            add(principals.key(user), user, f"ASP.NET impersonation user at '{entry.get('location', '')}'")
    for p in snap.data.get("principals") or []:
        sid = str(p.get("sid") or "").upper()
        if sids.is_app_pool_sid(sid):
            add(sid, str(p.get("name") or sid), "an IIS APPPOOL virtual account")
    return found


def apppool_principal(key: str, shown: str) -> IisPrincipal | None:
    """An IIS APPPOOL\\* SID that no pool in the configuration explains is still an IIS principal."""
    if sids.is_app_pool_sid(key):
        return IisPrincipal(key, shown, "an IIS APPPOOL virtual account")
    return None


def reach_index(
    snap: Snapshot, people: Iterable[IisPrincipal], skip_groups: Iterable[str] = ()
) -> dict[str, list[tuple[IisPrincipal, str | None]]]:
    """holder key -> [(IIS principal, group it is reached through or None)], through transitive membership.

    Groups in `skip_groups` are not followed: membership of Administrators or Backup Operators is a
    finding of its own (IIS-POOL-002, IIS-ANON-001, IIS-HOST-002), not one per right those groups hold.
    """
    skip = set(skip_groups)
    index: dict[str, list[tuple[IisPrincipal, str | None]]] = {}
    for person in people:
        index.setdefault(person.key, []).append((person, None))
        for group in snap.principals.groups_of(ref_of(person.key)):
            if group not in skip:
                index.setdefault(group, []).append((person, group))
    return index


def rights_index(snap: Snapshot) -> dict[str, tuple[str, list[str]]]:
    """casefolded right name -> (name as captured, holders as shown)."""
    return {
        str(name).casefold(): (str(name), list(holders or [])) for name, holders in snap.user_rights.items()
    }


def holders(index: Mapping[str, tuple[str, list[str]]], right: str) -> tuple[str, list[str]]:
    return index.get(right.casefold(), (right, []))


def right_location(snap: Snapshot, right: str, shown: str) -> dict[str, Any]:
    """fail() keywords that locate the grant of `right` (as captured) to `shown`.

    The holder's JSON pointer in the snapshot, and the captured line that granted it where the
    import recorded one (`user_rights_evidence`, parallel to the right's list), so SARIF names the
    INF line rather than the snapshot.
    """
    granted = snap.user_rights.get(right) or []
    if shown not in granted:
        return {}
    i = granted.index(shown)
    token = right.replace("~", "~0").replace("/", "~1")
    out: dict[str, Any] = {"pointer": f"/user_rights/{token}/{i}"}
    lines = (snap.data.get("user_rights_evidence") or {}).get(right) or []
    if len(lines) == len(granted) and isinstance(lines[i], dict):
        out["at"] = {"evidence": lines[i]}
    return out


def display(snap: Snapshot, ref: str) -> str:
    """A readable name for a SID or name, keeping what the capture showed when they differ."""
    bare = ref.strip().lstrip("*")
    name = str(snap.principals.display(bare))
    return name if name.casefold() == bare.casefold() else f"{name} ({bare})"


def key_of(snap: Snapshot, ref: str) -> str:
    return str(snap.principals.key(ref))


def ref_of(key: str) -> str:
    """A principal key turned back into a reference the PrincipalIndex accepts."""
    return key[5:] if key.startswith("name:") else key


def is_broad(snap: Snapshot, ref_or_key: str) -> bool:
    """Everyone, Authenticated Users, Users, Guests, Anonymous, Domain Users/Computers/Guests."""
    key = key_of(snap, ref_or_key) if not ref_or_key.startswith("name:") else ref_or_key
    if key in sids.BROAD_PRINCIPALS:
        return True
    rid = sids.domain_rid(key) if key.startswith("S-") else None
    if rid in sids.BROAD_DOMAIN_RIDS:
        return True
    account = key.rsplit("\\", 1)[-1] if key.startswith("name:") else ""
    return account in BROAD_NAMES


def is_admin_key(key: str) -> bool:
    if key in ADMIN_GROUP_SIDS or key == sids.LOCAL_SYSTEM:
        return True
    rid = sids.domain_rid(key) if key.startswith("S-") else None
    return rid in ADMIN_DOMAIN_RIDS


def privileged_group_keys(extra: Iterable[str] = ()) -> frozenset[str]:
    return frozenset(sids.PRIVILEGED_LOCAL_GROUPS) | frozenset(extra)


def is_privileged_group(key: str, local: frozenset[str]) -> bool:
    if key in local:
        return True
    rid = sids.domain_rid(key) if key.startswith("S-") else None
    return rid in PRIVILEGED_DOMAIN_RIDS


def membership_captured(snap: Snapshot) -> bool:
    """Whether any group membership was captured (a `members` list on a group, or `member_of` on anyone)."""
    return any("members" in p or "member_of" in p for p in snap.data.get("principals") or [])


def unjudged_group_holders(snap: Snapshot, holders: Iterable[str], skip: Iterable[str] = ()) -> list[str]:
    """Groups among `holders` (as shown) that an IIS principal might be in, when no membership was captured.

    Empty when any group membership was captured. Otherwise the groups (local or domain groups, and
    BUILTIN\\* aliases) not in `skip`: a rule cannot say an IIS principal lacks a right such a group holds.
    """
    if membership_captured(snap):
        return []
    skipped = set(skip)
    out: dict[str, str] = {}
    for shown in holders:
        key = key_of(snap, shown)
        if key in skipped or key in out:
            continue
        kind = (snap.principals.get(ref_of(key)) or {}).get("kind")
        if kind in ("local_group", "domain_group") or key.startswith("S-1-5-32-"):
            out[key] = display(snap, shown)
    return sorted(out.values())


def group_members(snap: Snapshot, group_sid: str) -> tuple[bool, list[dict[str, Any]]]:
    """(known, members) of a local group: members listed on the group, plus principals naming it in member_of."""
    principals = snap.principals
    group = principals.get(group_sid)
    known = bool(group) and "members" in group
    seen: dict[str, dict[str, Any]] = {}
    for m in (group or {}).get("members") or []:
        ref = m.get("sid") or m.get("name") or ""
        if ref:
            seen.setdefault(principals.key(ref), m)
    for p in snap.data.get("principals") or []:
        for g in p.get("member_of") or []:
            if principals.key(g) == group_sid:
                known = True
                ref = p.get("sid") or p.get("name") or ""
                if ref:
                    seen.setdefault(
                        principals.key(ref),
                        {"name": p.get("name"), "sid": p.get("sid"), "kind": p.get("kind")},
                    )
    return known, list(seen.values())


def globs_match(value: str, patterns: Iterable[str]) -> bool:
    import fnmatch

    v = value.casefold()
    return any(fnmatch.fnmatchcase(v, str(p).casefold()) for p in patterns)


def keys_of(snap: Snapshot, refs: Iterable[str]) -> set[str]:
    """Principal keys for a parameter list of SIDs or names."""
    return {key_of(snap, str(r)) for r in refs if str(r).strip()}


def iter_rights(snap: Snapshot, wanted: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """(right as captured, holder as shown, holder key) for each holder of each wanted right."""
    index = rights_index(snap)
    for right in wanted:
        name, shown_list = holders(index, right)
        for shown in shown_list:
            yield name, shown, key_of(snap, shown)
