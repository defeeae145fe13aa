"""Helpers shared by the built-in rule packs: resource keys, pool and anonymous views, membership.

References (CIS, STIG, Microsoft docs, PingCastle, BloodHound) live in `_references`.

Owned by the POOL/ANON/CRED packs; other packs may add small functions here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from iisguard import identities, sids

from ._principal_helpers import PRIVILEGED_DOMAIN_RIDS, ref_of

T = TypeVar("T")

# --- resource keys ---------------------------------------------------------------------------------
SERVER_LOCATION = "MACHINE/WEBROOT/APPHOST"  # the key used for server-level (location "") settings


def pool_key(name: str) -> str:
    return f"app_pools/{name}"


def location_key(path: str) -> str:
    return f"locations/{path.rstrip('/') or SERVER_LOCATION}"


def site_key(name: str) -> str:
    return f"sites/{name}"


def principal_key(name: str) -> str:
    return f"principals/{name}"


def aspnet_key(location: str) -> str:
    return f"aspnet/{location.rstrip('/') or SERVER_LOCATION}"


def vdir_key(site: str, app_path: str, vdir_path: str) -> str:
    app = "" if app_path in ("", "/") else "/" + app_path.strip("/")
    vdir = "" if vdir_path in ("", "/") else "/" + vdir_path.strip("/")
    return f"virtual_directories/{site}{app}{vdir or '/'}"


# --- derived views, built once per snapshot and shared by the rules that need them --------------


def derived(snap: Any, name: str, build: Callable[[], T]) -> T:
    """`build()` once per snapshot object: rules stay pure, and five ANON rules share one walk of 10k sites."""
    # On the snapshot object itself: in a WeakKeyDictionary the views (which hold the snapshot) kept
    # their key alive, so no scanned snapshot was ever freed and a fleet scan grew without bound.
    cache = snap.__dict__.setdefault("_iisguard_common_views", {})
    if name not in cache:
        cache[name] = build()
    return cast(T, cache[name])


# --- small facts -----------------------------------------------------------------------------------
def matches_any(name: str, patterns: Iterable[str]) -> str | None:
    """The first glob (case-insensitive) the name matches, else None."""
    folded = name.casefold()
    for pattern in patterns:
        if fnmatch.fnmatchcase(folded, str(pattern).casefold()):
            return str(pattern)
    return None


def is_idle(pool: Mapping[str, Any]) -> bool:
    """Stopped and not started automatically: the pool serves nothing until an administrator starts it."""
    return str(pool.get("state") or "").casefold() == "stopped" and pool.get("auto_start") is False


def iis_version(snap: Any) -> str:
    """The IIS version as captured ("10.0", "6.0"), or "" when unknown."""
    host_iis = (snap.data.get("host") or {}).get("iis") or {}
    return str(host_iis.get("version") or snap.iis.get("version") or "")


def iis_major(snap: Any) -> int | None:
    head = iis_version(snap).split(".", 1)[0]
    return int(head) if head.isdigit() else None


def reference_time(snap: Any) -> datetime | None:
    """When the snapshot was taken: ages are measured from here so a rule stays a pure function."""
    return parse_time((snap.data.get("collection") or {}).get("collected_at"))


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_managed_account_name(name: str) -> bool:
    """gMSA/MSA (and computer) accounts are always written DOMAIN\\name$."""
    return name.strip().endswith("$")


_LOCAL_DOMAINS = ("", ".", "builtin", "nt authority", "nt service", "iis apppool", "localhost")


def account_scope(snap: Any, name: str) -> str:
    """`local`, `domain` or `builtin` for an account name, from the principal's kind or its domain part."""
    if sids.well_known_sid(name):
        return "builtin"
    p = snap.principals.get(name)
    kind = (p or {}).get("kind")
    if kind in ("local_user", "local_group"):
        return "local"
    if kind in ("domain_user", "domain_group", "gmsa", "msa", "computer"):
        return "domain"
    if kind in ("builtin", "virtual"):
        return "builtin"
    text = name.strip()
    if "@" in text:
        return "domain"
    domain, sep, _ = text.rpartition("\\")
    if not sep or domain.casefold() in _LOCAL_DOMAINS or domain.casefold() == snap.host.casefold():
        return "local"
    return "domain"


def has_ad_data(snap: Any, name: str) -> bool:
    """Whether Active Directory facts were collected for this account (ad_collected, or named in ad.accounts)."""
    p = snap.principals.get(name)
    if p and p.get("ad_collected"):
        return True
    listed = {str(a).strip().casefold() for a in (snap.data.get("ad") or {}).get("accounts") or []}
    if not listed:
        return False
    names = {name.strip().casefold(), name.strip().rpartition("\\")[2].casefold()}
    if p:
        names |= {str(p.get("name") or "").casefold(), str(p.get("sid") or "").casefold()}
    return bool(names & listed)


# --- application pools, including IIS 6 metabase pools ---------------------------------------------
LEGACY_IDENTITY_TYPES = {0: "LocalSystem", 1: "LocalService", 2: "NetworkService", 3: "SpecificUser"}
LEGACY_DEFAULT_IDENTITY = 2  # IIS 6 metabase default for AppPoolIdentityType (NetworkService)
LEGACY_POOLS_NODE = "AppPools"  # /LM/W3SVC/AppPools: the defaults every IIS 6 pool inherits


@dataclass(frozen=True)
class PoolView:
    """An application pool as rules judge it: from applicationHost.config, or from an IIS 6 metabase."""

    name: str
    type: str
    user: str
    at: Mapping[str, Any]
    legacy: bool = False

    @property
    def key(self) -> str:
        return pool_key(self.name)

    @property
    def source(self) -> str:
        return "IIS 6 metabase AppPoolIdentityType" if self.legacy else "processModel.identityType"


def pool_views(snap: Any) -> list[PoolView]:
    """Every pool: applicationHost.config pools, then metabase pools not already listed by name."""
    return derived(snap, "pool_views", lambda: _pool_views(snap))


def _pool_views(snap: Any) -> list[PoolView]:
    views = []
    for pool in snap.app_pools:
        ident = pool.get("identity") or {}
        views.append(
            PoolView(
                pool["name"], ident.get("type") or "ApplicationPoolIdentity", ident.get("user") or "", pool
            )
        )
    legacy = snap.iis.get("legacy") or {}
    if not legacy:
        return views
    seen = {v.name.casefold() for v in views}
    default = legacy.get("app_pool_identity_type")
    legacy_pools = legacy.get("app_pools") or []
    for lp in legacy_pools:
        name = lp.get("name")
        if not name or name.casefold() in seen:
            continue
        code = lp.get("identity_type")
        code = code if code is not None else default if default is not None else LEGACY_DEFAULT_IDENTITY
        kind = LEGACY_IDENTITY_TYPES.get(code)
        if kind:
            user = (lp.get("wam_user") or legacy.get("wam_user") or "") if kind == "SpecificUser" else ""
            views.append(PoolView(name, kind, user, lp, legacy=True))
    if not legacy_pools and default is not None and default in LEGACY_IDENTITY_TYPES:
        kind = LEGACY_IDENTITY_TYPES[default]
        user = legacy.get("wam_user") or "" if kind == "SpecificUser" else ""
        views.append(PoolView(LEGACY_POOLS_NODE, kind, user, legacy, legacy=True))
    return views


def view_identity(snap: Any, view: PoolView) -> identities.Identity:
    """The identity a pool runs as, for applicationHost.config and IIS 6 metabase pools alike."""
    if not view.legacy:
        ident = identities.pool_identity(snap, dict(view.at))
        if (
            view.type == "SpecificUser"
            and "@" in view.user
            and not (view.at.get("identity") or {}).get("sid")
        ):
            return identities.Identity(snap.principals.key(account_ref(view.user)), view.user, view.type)
        return ident
    if view.type in identities.BUILTIN_IDENTITY_SIDS:
        sid = identities.BUILTIN_IDENTITY_SIDS[view.type]
        return identities.Identity(sid, sids.name_of(sid) or view.type, view.type)
    return identities.Identity(snap.principals.key(account_ref(view.user)), view.user, view.type)


def account_ref(name: str) -> str:
    """`user@corp.example` becomes `corp\\user` so it matches the DOMAIN\\name spelling; others unchanged."""
    text = name.strip()
    if "@" in text and "\\" not in text:
        user, _, domain = text.partition("@")
        return f"{domain.split('.', 1)[0]}\\{user}"
    return text


def pool_sites(snap: Any) -> dict[str, dict[str, list[str]]]:
    """Pool name (casefolded) -> site name -> application paths that run in it."""
    usage: dict[str, dict[str, list[str]]] = {}
    for site in snap.sites:
        for app in site.get("applications") or []:
            pool = app.get("app_pool")
            if pool:
                usage.setdefault(pool.casefold(), {}).setdefault(site["name"], []).append(
                    app.get("path") or "/"
                )
    return usage


# --- group membership ------------------------------------------------------------------------------
DOMAIN_ADMIN_RIDS = tuple(
    sorted(PRIVILEGED_DOMAIN_RIDS)
)  # Domain, Schema, Enterprise, (Enterprise) Key Admins
_DOMAIN_ADMIN_NAMES = {
    "domain admins",
    "schema admins",
    "enterprise admins",
    "key admins",
    "enterprise key admins",
}
GROUP_KINDS = ("local_group", "domain_group")


def membership_known(snap: Any, group: str) -> bool:
    """Whether 'not a member of this group' can be judged: its members were captured, or local groups
    were enumerated and this one does not exist on the host (e.g. Account Operators on a member server)."""
    index = snap.principals
    if index.members_known(group):
        return True
    return snap.section_status("local_accounts") == "ok" and index.get(group) is None


@dataclass(frozen=True)
class Membership:
    """Privileged groups a set of principals is in, and what could not be judged."""

    hits: tuple[
        str, ...
    ]  # "BUILTIN\\Administrators" or "BUILTIN\\Administrators (through BUILTIN\\IIS_IUSRS)"
    unknown: tuple[str, ...]  # privileged groups whose members were not captured
    needs_ad: tuple[str, ...]  # domain accounts whose domain group memberships were not collected

    @property
    def judged(self) -> bool:
        return not self.unknown and not self.needs_ad


def privileged_membership(
    snap: Any,
    keys: Sequence[str],
    groups: Iterable[str],
    domain_rids: Iterable[int] = DOMAIN_ADMIN_RIDS,
    *,
    names: Mapping[str, str] | None = None,
) -> Membership:
    """Which privileged groups (local groups by SID or name, domain groups by RID) the principals are in.

    `keys` are principal keys (SID or `name:…`); `names` maps a key to the account name used to look
    it up (so an AD-less domain account is noticed). Membership is transitive, through members[] and
    member_of[] alike.
    """
    return privileged_check(snap, groups, domain_rids)(keys, names)


def privileged_check(
    snap: Any, groups: Iterable[str], domain_rids: Iterable[int] = DOMAIN_ADMIN_RIDS
) -> Callable[[Sequence[str], Mapping[str, str] | None], Membership]:
    """A membership test for one group list, prepared once per snapshot (the group keys and which groups'
    members are unknown do not depend on the principal asked about)."""
    groups, rids = tuple(groups), frozenset(domain_rids)
    return derived(
        snap, f"privileged_check:{groups}:{sorted(rids)}", lambda: _PrivilegedCheck(snap, groups, rids)
    )


class _PrivilegedCheck:
    def __init__(self, snap: Any, groups: Sequence[str], rids: frozenset[int]) -> None:
        self.snap = snap
        index = snap.principals
        self.wanted = {index.key(g): g for g in groups}
        self.rids = rids
        self.unknown = tuple(
            index.display(ref_of(k)) for k, g in self.wanted.items() if not membership_known(snap, g)
        )

    def __call__(self, keys: Sequence[str], names: Mapping[str, str] | None = None) -> Membership:
        snap, index = self.snap, self.snap.principals
        hits: list[str] = []
        needs_ad: list[str] = []
        for key in keys:
            ref = ref_of(key)
            for g in sorted(index.groups_of(ref)):
                if g in self.wanted or _is_domain_admin_group(g, self.rids):
                    shown = index.display(ref_of(g))
                    hits.append(shown if key == keys[0] else f"{shown} (through {index.display(ref)})")
            name = (names or {}).get(key) or ref
            if (
                not sids.is_sid(name)
                and account_scope(snap, name) == "domain"
                and not has_ad_data(snap, name)
            ):
                needs_ad.append(name)
        return Membership(tuple(dict.fromkeys(hits)), self.unknown, tuple(needs_ad))


def _is_domain_admin_group(key: str, rids: frozenset[int]) -> bool:
    if key.startswith("name:"):
        domain, _, account = key[5:].rpartition("\\")
        return bool(domain) and domain not in _LOCAL_DOMAINS and account in _DOMAIN_ADMIN_NAMES
    rid = sids.domain_rid(key)
    return rid is not None and rid in rids


def membership_result_text(m: Membership) -> str:
    """Why membership could not be judged, for a not_reviewed message."""
    parts = []
    if m.unknown:
        shown = ", ".join(m.unknown[:4]) + (f" and {len(m.unknown) - 4} more" if len(m.unknown) > 4 else "")
        parts.append(f"members of {shown} were not captured")
    if m.needs_ad:
        parts.append(
            f"no Active Directory data for {', '.join(m.needs_ad)} (domain group memberships unknown)"
        )
    return "; ".join(parts)


# --- anonymous authentication per location ---------------------------------------------------------
AnonLocation = identities.Location


@dataclass(frozen=True)
class _OldAnonLocation:
    """The anonymous setting in force at a site, application or configured folder."""

    path: str  # configuration path: "Site", "Site/app", "Site/app/folder"
    site: str
    pool: Mapping[str, Any] | None
    anonymous: Mapping[str, Any] | None  # the effective <anonymousAuthentication> facts, None when unknown
    entry: Mapping[str, Any] | None  # the authentication[] entry that holds them
    identity: identities.Identity | None  # None when anonymous is off or cannot be resolved

    @property
    def key(self) -> str:
        return location_key(self.path)

    @property
    def enabled(self) -> bool:
        return bool(self.anonymous and self.anonymous.get("enabled"))


def anonymous_locations(snap: Any) -> list[AnonLocation]:
    """Every site and application, plus every deeper configured path, with its effective anonymous identity."""
    return derived(snap, "anonymous_locations", lambda: _anonymous_locations(snap))


def _anonymous_locations(snap: Any) -> list[AnonLocation]:
    return list(snap.locations)


def anonymous_at(
    snap: Any, index: Mapping[str, Mapping[str, Any]], path: str, site: str, pool_name: str | None
) -> AnonLocation:
    return snap.locations.at(path, site, pool_name)
