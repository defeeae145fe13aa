"""Who a worker process is: pool identities, the anonymous identity per location, effective authentication."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import sids

if TYPE_CHECKING:
    from .snapshot import Snapshot

BUILTIN_IDENTITY_SIDS = {
    "LocalSystem": sids.LOCAL_SYSTEM,
    "LocalService": sids.LOCAL_SERVICE,
    "NetworkService": sids.NETWORK_SERVICE,
}


@dataclass(frozen=True)
class Identity:
    key: str  # SID where knowable, else "name:<domain\\name>"
    name: str  # what a person reads
    type: str  # identityType, or "IUSR" / "custom" / "pool" for anonymous identities


def pool_identity(snap: Snapshot, pool: dict[str, Any]) -> Identity:
    ident = pool.get("identity") or {}
    kind = ident.get("type") or "ApplicationPoolIdentity"
    if kind == "ApplicationPoolIdentity":
        return Identity(sids.app_pool_sid(pool["name"]), f"IIS APPPOOL\\{pool['name']}", kind)
    if kind in BUILTIN_IDENTITY_SIDS:
        sid = BUILTIN_IDENTITY_SIDS[kind]
        return Identity(sid, sids.name_of(sid) or kind, kind)
    user = ident.get("user") or ""
    return Identity(ident.get("sid") or snap.principals.key(user), user, kind)


def worker_keys(snap: Snapshot, pool: dict[str, Any]) -> set[str]:
    """Principals whose grants reach this pool's worker: its identity, and IIS_IUSRS unless manualGroupMembership."""
    keys = {pool_identity(snap, pool).key}
    if not pool.get("manual_group_membership"):
        keys.add(sids.IIS_IUSRS)
    return keys


@dataclass(frozen=True)
class Location:
    site: dict[str, Any]
    app: dict[str, Any] | None
    path: str  # configuration path: "Site" or "Site/app"
    pool_name: str | None


def locations(snap: Snapshot) -> Iterator[Location]:
    """Every site and application, with its configuration path and effective pool."""
    for site in snap.sites:
        apps = site.get("applications") or []
        root_pool = next((a.get("app_pool") for a in apps if a.get("path") == "/"), None)
        yield Location(site, next((a for a in apps if a.get("path") == "/"), None), site["name"], root_pool)
        for app in apps:
            if app.get("path") not in (None, "", "/"):
                yield Location(site, app, f"{site['name']}{app['path']}".rstrip("/"), app.get("app_pool"))


def auth_index(snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {
        str(a.get("location", "")).casefold().rstrip("/"): a for a in snap.iis.get("authentication") or []
    }


def effective_auth(
    index: Mapping[str, Mapping[str, Any]], path: str, section: str | None = None
) -> Mapping[str, Any] | None:
    """The authentication entry in force at a configuration path: its own, else its nearest ancestor's.

    With `section` ("anonymous", "windows"...), the nearest entry that sets that section.
    """
    p = path.casefold().rstrip("/")
    while True:
        entry = index.get(p)
        if entry is not None and (section is None or isinstance(entry.get(section), Mapping)):
            return entry
        if not p:
            return None
        p = p.rsplit("/", 1)[0] if "/" in p else ""


def anonymous_identity(snap: Snapshot, anon: dict[str, Any], pool: dict[str, Any] | None) -> Identity | None:
    """IUSR, a custom user, or the pool identity (userName="") — None when anonymous is off or unknowable."""
    if not anon or not anon.get("enabled"):
        return None
    state = anon.get("user_state")
    user = anon.get("user")
    if state == "empty" or (state is None and user == ""):
        return pool_identity(snap, pool) if pool else None
    if user is None or state == "absent":
        user = "IUSR"
    key = snap.principals.key(user)
    return Identity(
        key, "NT AUTHORITY\\IUSR" if key == sids.IUSR else user, "IUSR" if key == sids.IUSR else "custom"
    )
