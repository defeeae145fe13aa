"""IIS objects as rules judge them: pools (IIS 7+ and IIS 6), locations, content roots, resource keys.

Built once per snapshot and reached through it: `snap.pools`, `snap.locations`, `snap.content_roots`,
`snap.iis_principals`. Everything is resolved with `snap.accounts`, so a pool identity written
`svc@corp.example`, `CORP\\svc` or by SID has one key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import sids

if TYPE_CHECKING:
    from .snapshot import Snapshot

# --- resource keys: how findings name IIS objects --------------------------------------------------
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


def acl_key(path: str) -> str:
    return f"acls/{path}"


def vdir_key(site: str, app_path: str, vdir_path: str) -> str:
    app = "" if app_path in ("", "/") else "/" + app_path.strip("/")
    vdir = "" if vdir_path in ("", "/") else "/" + vdir_path.strip("/")
    return f"virtual_directories/{site}{app}{vdir or '/'}"


# --- small facts -----------------------------------------------------------------------------------
def parse_time(value: Any) -> datetime | None:
    """RFC 3339 text as the snapshot stores it (UTC when no zone is given); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def is_idle(pool: Mapping[str, Any]) -> bool:
    """Stopped and not started automatically: the pool serves nothing until an administrator starts it."""
    return str(pool.get("state") or "").casefold() == "stopped" and pool.get("auto_start") is False


# --- identities ------------------------------------------------------------------------------------
BUILTIN_IDENTITY_SIDS = {
    "LocalSystem": sids.LOCAL_SYSTEM,
    "LocalService": sids.LOCAL_SERVICE,
    "NetworkService": sids.NETWORK_SERVICE,
}
# Built-in pool identities that reach the network as the computer account (MS-APID); LocalService is anonymous.
MACHINE_IDENTITIES = frozenset({"ApplicationPoolIdentity", "NetworkService", "LocalSystem"})


@dataclass(frozen=True)
class Identity:
    """An account IIS runs code as: `key` is its principal key (SID where knowable)."""

    key: str
    name: str  # what a person reads
    type: str  # identityType, or "IUSR" / "custom" for anonymous identities


LEGACY_IDENTITY_TYPES = {0: "LocalSystem", 1: "LocalService", 2: "NetworkService", 3: "SpecificUser"}
LEGACY_DEFAULT_IDENTITY = 2  # IIS 6 metabase default for AppPoolIdentityType (NetworkService)
LEGACY_POOLS_NODE = "AppPools"  # /LM/W3SVC/AppPools: the defaults every IIS 6 pool inherits


@dataclass(frozen=True)
class Pool:
    """An application pool: from applicationHost.config (IIS 7+) or from an IIS 6 metabase.

    `identity` is the effective identity; `worker` the principals whose grants reach its worker
    process token (the identity, and IIS_IUSRS unless manualGroupMembership; IIS 6 workers carry
    IIS_WPG, which the metabase does not list, so only the identity).
    """

    name: str
    type: str  # effective identityType
    user: str  # the configured account for SpecificUser, else ""
    at: Mapping[str, Any]  # the snapshot object (app_pools[] entry, or the metabase pool)
    identity: Identity
    legacy: bool = False

    @property
    def key(self) -> str:
        return pool_key(self.name)

    @property
    def source(self) -> str:
        return "IIS 6 metabase AppPoolIdentityType" if self.legacy else "processModel.identityType"

    @property
    def manual_group_membership(self) -> bool:
        return not self.legacy and bool(self.at.get("manual_group_membership"))

    @property
    def worker(self) -> tuple[str, ...]:
        """Principal keys in the worker token: the identity first, then IIS_IUSRS unless manualGroupMembership."""
        if self.legacy or self.manual_group_membership:
            return (self.identity.key,)
        return (self.identity.key, sids.IIS_IUSRS)

    @property
    def idle(self) -> bool:
        return not self.legacy and is_idle(self.at)

    @property
    def machine_account_on_network(self) -> bool:
        """ApplicationPoolIdentity, NetworkService and LocalSystem act as DOMAIN\\HOST$ on the network."""
        return self.type in MACHINE_IDENTITIES


class Pools:
    """Every pool: applicationHost.config pools, then IIS 6 metabase pools not already listed by name."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.all: list[Pool] = _pools(snap)
        self._by_name = {p.name.casefold(): p for p in reversed(self.all)}
        self._sites: dict[str, dict[str, list[str]]] | None = None

    def __iter__(self) -> Iterator[Pool]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def get(self, name: str | None) -> Pool | None:
        return self._by_name.get(name.casefold()) if name else None

    def sites(self, name: str) -> dict[str, list[str]]:
        """Site name -> application paths that run in the pool."""
        if self._sites is None:
            usage: dict[str, dict[str, list[str]]] = {}
            for site in self.snap.sites:
                for app in site.get("applications") or []:
                    pool = app.get("app_pool")
                    if pool:
                        usage.setdefault(pool.casefold(), {}).setdefault(site["name"], []).append(
                            app.get("path") or "/"
                        )
            self._sites = usage
        return self._sites.get(name.casefold(), {})


def pool_identity(snap: Snapshot, pool: Mapping[str, Any]) -> Identity:
    """The identity an applicationHost.config pool runs as. Remembered per snapshot and pool object:
    pools, locations, IIS principals and rules ask it of each of 5,000 pools (a SHA-1 each)."""
    memo = snap._memo.get("pool_identity")
    if memo is None:
        memo = snap._memo["pool_identity"] = {}
    known = memo.get(id(pool))
    if known is not None and known[0] is pool:
        return known[1]
    found = _pool_identity(snap, pool)
    memo[id(pool)] = (pool, found)  # the pool kept alive with it, so no other object takes its id
    return found


def _pool_identity(snap: Snapshot, pool: Mapping[str, Any]) -> Identity:
    ident = pool.get("identity") or {}
    kind = ident.get("type") or "ApplicationPoolIdentity"
    if kind == "ApplicationPoolIdentity":
        return Identity(sids.app_pool_sid(pool["name"]), f"IIS APPPOOL\\{pool['name']}", kind)
    if kind in BUILTIN_IDENTITY_SIDS:
        sid = BUILTIN_IDENTITY_SIDS[kind]
        return Identity(sid, sids.name_of(sid) or kind, kind)
    user = ident.get("user") or ""
    return Identity(ident.get("sid") or snap.accounts.key(user), user, kind)


def _pools(snap: Snapshot) -> list[Pool]:
    out = []
    for pool in snap.app_pools:
        ident = pool.get("identity") or {}
        kind = ident.get("type") or "ApplicationPoolIdentity"
        out.append(Pool(pool["name"], kind, ident.get("user") or "", pool, pool_identity(snap, pool)))
    legacy = snap.iis.get("legacy") or {}
    if not legacy:
        return out
    seen = {p.name.casefold() for p in out}
    default = legacy.get("app_pool_identity_type")
    legacy_pools = legacy.get("app_pools") or []

    def make(name: str, code: int, at: Mapping[str, Any], user: str) -> Pool:
        kind = LEGACY_IDENTITY_TYPES[code]
        if kind in BUILTIN_IDENTITY_SIDS:
            sid = BUILTIN_IDENTITY_SIDS[kind]
            ident = Identity(sid, sids.name_of(sid) or kind, kind)
        else:
            ident = Identity(snap.accounts.key(user), user, kind)
        return Pool(name, kind, user if kind == "SpecificUser" else "", at, ident, legacy=True)

    for lp in legacy_pools:
        name = lp.get("name")
        if not name or name.casefold() in seen:
            continue
        code = lp.get("identity_type")
        code = code if code is not None else default if default is not None else LEGACY_DEFAULT_IDENTITY
        if code in LEGACY_IDENTITY_TYPES:
            out.append(make(name, code, lp, lp.get("wam_user") or legacy.get("wam_user") or ""))
    if not legacy_pools and default is not None and default in LEGACY_IDENTITY_TYPES:
        out.append(make(LEGACY_POOLS_NODE, default, legacy, legacy.get("wam_user") or ""))
    return out


# --- locations: sites, applications and configured paths, with effective authentication ------------


def auth_index(snap: Snapshot) -> dict[str, dict[str, Any]]:
    """authentication[] entries keyed by their casefolded configuration path."""
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
        if entry is not None:
            if section is None:
                return entry
            found = entry.get(section)
            # `type is dict` first: isinstance of the Mapping ABC runs a Python-level __instancecheck__.
            if type(found) is dict or isinstance(found, Mapping):
                return entry
        if not p:
            return None
        p = p.rsplit("/", 1)[0] if "/" in p else ""


@dataclass(frozen=True)
class Location:
    """A site, application or deeper configured path, with the settings in force there.

    `anonymous` is the effective `<anonymousAuthentication>` (None when unknown), `identity` the
    account anonymous requests run as (None when anonymous is off or the pool is unknown).
    """

    path: str  # configuration path: "Site", "Site/app", "Site/app/folder"
    site: str
    pool: Mapping[str, Any] | None
    anonymous: Mapping[str, Any] | None
    entry: Mapping[str, Any] | None  # the authentication[] entry that holds `anonymous`
    identity: Identity | None
    app: Mapping[str, Any] | None = None  # the application, for site and application locations
    configured: bool = False  # a deeper path that only an authentication entry names
    pool_name: str | None = None
    site_config: Mapping[str, Any] | None = None  # the sites[] entry (bindings, applications)
    _index: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def key(self) -> str:
        return location_key(self.path)

    @property
    def enabled(self) -> bool:
        return bool(self.anonymous and self.anonymous.get("enabled"))

    @property
    def anonymous_is_pool_identity(self) -> bool:
        return self.identity is not None and self.identity.type not in ("IUSR", "custom")

    @property
    def anonymous_keys(self) -> tuple[str, ...]:
        """The anonymous identity, plus IIS_IUSRS when it is the pool identity (WAS injects that group)."""
        if self.identity is None:
            return ()
        if self.anonymous_is_pool_identity and self.pool and not self.pool.get("manual_group_membership"):
            return (self.identity.key, sids.IIS_IUSRS)
        return (self.identity.key,)

    def auth(self, section: str) -> Mapping[str, Any] | None:
        """The effective settings of an authentication section (windows, basic, …) at this location."""
        entry = effective_auth(self._index, self.path, section)
        return entry[section] if entry is not None else None


def anonymous_identity(
    snap: Snapshot, anon: Mapping[str, Any], pool: Mapping[str, Any] | None
) -> Identity | None:
    """IUSR, a custom user, or the pool identity (userName="") — None when anonymous is off or unknowable."""
    if not anon or not anon.get("enabled"):
        return None
    state = anon.get("user_state")
    user = anon.get("user")
    if state == "empty" or (state is None and user == ""):
        return pool_identity(snap, pool) if pool else None
    if user is None or state == "absent":
        user = "IUSR"
    key = snap.accounts.key(user)
    return Identity(
        key, "NT AUTHORITY\\IUSR" if key == sids.IUSR else user, "IUSR" if key == sids.IUSR else "custom"
    )


def anonymous_principals(snap: Snapshot, loc: Location) -> dict[str, str] | None:
    """Principal key -> who it is, for every principal whose grants reach anonymous requests at `loc`:
    the anonymous identity (with IIS_IUSRS when it is the pool identity), each group it is known to
    be in, Everyone and ANONYMOUS LOGON. None when anonymous is off there or its identity is unknown.

    Remembered per snapshot by identity (and pool, for the pool identity): thousands of folders
    share a handful of anonymous identities. The answer is shared: do not change it.
    """
    ident = loc.identity
    if not loc.enabled or ident is None:
        return None
    memo = snap._memo.setdefault("anonymous_principals", {})
    cache_key = (ident.key, ident.name, loc.pool_name if loc.anonymous_is_pool_identity else None)
    found = memo.get(cache_key)
    if found is None:
        accounts = snap.accounts
        found = {k: ident.name for k in loc.anonymous_keys}
        for k in list(found):
            for g in accounts.groups_of(accounts.ref(k)):
                found.setdefault(g, f"{accounts.display(accounts.ref(g))} (a group {found[k]} is in)")
        found.setdefault(sids.EVERYONE, "Everyone")
        found.setdefault(sids.ANONYMOUS_LOGON, "ANONYMOUS LOGON")
        memo[cache_key] = found
    return found


class Locations:
    """Every site and application, plus every deeper configured path, with effective settings."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.index = auth_index(snap)
        self._above: set[str] | None = None
        self.all: list[Location] = []
        self._by_path: dict[str, Location] = {}
        app_pools: dict[str, str | None] = {}
        self._app_pools = app_pools
        self._sites = {s["name"].casefold(): s for s in snap.sites}
        for site in snap.sites:
            apps = site.get("applications") or []
            root = next((a for a in apps if a.get("path") == "/"), None)
            self._add(self.at(site["name"], site["name"], (root or {}).get("app_pool"), app=root))
            for app in apps:
                if app.get("path") not in (None, "", "/"):
                    path = f"{site['name']}{app['path']}".rstrip("/")
                    self._add(self.at(path, site["name"], app.get("app_pool"), app=app))
        self.apps = list(self.all)  # sites and applications only
        site_names = {k: s["name"] for k, s in self._sites.items()}
        for entry in snap.iis.get("authentication") or []:
            path = str(entry.get("location") or "").rstrip("/")
            if not path or path.casefold() in self._by_path:
                continue
            site_name = site_names.get(path.split("/", 1)[0].casefold())
            if site_name is None:
                continue
            self._add(self.at(path, site_name, self._nearest_pool(path), configured=True))

    def configured_below(self, path: str) -> bool:
        """Whether an authentication[] entry is set at a configuration path strictly below `path`.

        When none is, every folder below `path` has the settings in force at `path` itself: rules
        that judge thousands of captured folders ask once per site instead of once per folder.
        """
        above = self._above
        if above is None:
            above = set()
            for p in self.index:  # every ancestor of every entry, walked as `effective_auth` walks up
                while p:
                    p = p.rsplit("/", 1)[0] if "/" in p else ""
                    if p in above:
                        break
                    above.add(p)
            self._above = above
        return path.casefold().rstrip("/") in above

    def _add(self, loc: Location) -> None:
        if not loc.configured:
            self._app_pools[loc.path.casefold()] = loc.pool_name
        self._by_path[loc.path.casefold()] = loc
        self.all.append(loc)

    def _nearest_pool(self, path: str) -> str | None:
        p = path.casefold()
        while p:
            if p in self._app_pools:
                return self._app_pools[p]
            p = p.rsplit("/", 1)[0] if "/" in p else ""
        return None

    def __iter__(self) -> Iterator[Location]:
        return iter(self.all)

    def get(self, path: str) -> Location | None:
        return self._by_path.get(path.casefold().rstrip("/"))

    def at(
        self,
        path: str,
        site: str,
        pool_name: str | None,
        *,
        app: Mapping[str, Any] | None = None,
        configured: bool = False,
    ) -> Location:
        """The settings in force at any configuration path (a folder below an application, too)."""
        entry = effective_auth(self.index, path, "anonymous")
        anon = entry.get("anonymous") if entry else None
        pool = self.snap.pool(pool_name)
        ident = anonymous_identity(self.snap, anon, pool) if anon else None
        site_config = self._sites.get(site.casefold())
        return Location(
            path, site, pool, anon, entry, ident, app, configured, pool_name, site_config, self.index
        )


# --- content roots ---------------------------------------------------------------------------------


@dataclass
class ContentRoot:
    """A folder IIS serves content from, with every site/application/virtual directory that uses it."""

    path: str  # as written in the configuration (first use)
    key: str  # Snapshot.path_key
    acl: dict[str, Any] | None
    uses: list[str] = field(default_factory=list)  # "Site/app/vdir" paths
    pools: list[dict[str, Any]] = field(default_factory=list)
    app_roots: bool = False  # true when it is the root folder of an application
    served: list[tuple[str, str, str | None]] = field(default_factory=list)  # (config path, site, pool name)

    @property
    def resource(self) -> str:
        return acl_key(self.acl["path"] if self.acl else self.path)


def content_roots(snap: Snapshot) -> dict[str, ContentRoot]:
    """Every physical path of every virtual directory, deduplicated by path key, in configuration order."""
    roots: dict[str, ContentRoot] = {}
    for site in snap.sites:
        for app in site.get("applications") or []:
            pool = snap.pool(app.get("app_pool"))
            for vdir in app.get("virtual_directories") or []:
                path = vdir.get("physical_path_expanded") or vdir.get("physical_path")
                if not path:
                    continue
                key = snap.path_key(path)
                root = roots.get(key)
                if root is None:
                    root = roots[key] = ContentRoot(vdir.get("physical_path") or path, key, snap.acl(path))
                    if root.acl is None and vdir.get("physical_path"):
                        root.acl = snap.acl(vdir["physical_path"])
                app_path = str(app.get("path") or "/").rstrip("/")
                vpath = str(vdir.get("path") or "/")
                use = f"{site['name']}{app_path}{'' if vpath == '/' else vpath}"
                root.uses.append(use)
                root.served.append(
                    (f"{site['name']}{app_path}{vpath.rstrip('/')}", site["name"], app.get("app_pool"))
                )
                if vpath == "/":
                    root.app_roots = True
                if pool is not None and all(pool is not p for p in root.pools):
                    root.pools.append(pool)
    return roots


def parent_key(key: str) -> str | None:
    """The path key of the containing folder, or None at a drive or share root."""
    if "\\" not in key:
        return None
    return key.rsplit("\\", 1)[0] or None


def root_of(key: str, roots: Mapping[str, Any]) -> str | None:
    """The nearest ancestor (or the path itself) that is a key of `roots`; walks up the path, O(depth)."""
    current: str | None = key
    while current:
        if current in roots:
            return current
        current = parent_key(current)
    return None


def content_root_of(snap: Snapshot, key: str) -> str | None:
    """`root_of(key, snap.content_roots)`, remembered per snapshot for the key and every folder above
    it: rules ask it of each of 100,000 captured paths, which share their parent folders."""
    memo = snap._memo.setdefault("content_root_of", {})
    roots = snap.content_roots
    walked = []
    current: str | None = key
    found = None
    while current:
        if current in memo:
            found = memo[current]
            break
        if current in roots:
            found = current
            break
        walked.append(current)
        current = parent_key(current)
    for path in walked:
        memo[path] = found
    return found


def content_folders(snap: Snapshot) -> dict[str, str]:
    """Path key -> content root key, for every captured ACL below a content root (its nearest one) that
    is not itself a content root, in `snap.acls_by_path` order. Built once per snapshot."""
    memo = snap._memo.get("content_folders")
    if memo is None:
        memo = snap._memo["content_folders"] = {}
        roots = snap.content_roots
        known = snap._memo.setdefault("content_root_of", {})
        grouped: dict[str, list[str]] = {}  # content_folders_of, gathered in the same walk
        for key in snap.acls_by_path:
            if key in roots:
                continue
            parent, sep, _ = key.rpartition("\\")  # parent_key and content_root_of, inlined for their
            if not parent:  # commonest answers: 100,000 keys, most of them in a folder already walked
                continue
            root = parent if parent in roots else known.get(parent, _UNKNOWN)
            if root is _UNKNOWN:  # content_root_of(snap, parent), its walk inlined (40,000 parents)
                walked = [parent]
                above = parent
                while True:
                    above, sep, _ = above.rpartition("\\")
                    if not sep or not above:
                        root = None
                        break
                    if above in roots:
                        root = above
                        break
                    root = known.get(above, _UNKNOWN)
                    if root is not _UNKNOWN:
                        break
                    walked.append(above)
                for path in walked:
                    known[path] = root
            if root is not None:
                memo[key] = root
                below = grouped.get(root)
                if below is None:
                    grouped[root] = [key]
                else:
                    below.append(key)
        snap._memo["content_folders_of"] = {root: tuple(keys) for root, keys in grouped.items()}
    return memo


_UNKNOWN: Any = object()


def content_folders_of(snap: Snapshot, root_key: str) -> tuple[str, ...]:
    """The path keys of `content_folders` whose nearest content root is `root_key`, in the same order."""
    memo = snap._memo.get("content_folders_of")
    if memo is None:
        content_folders(snap)
        memo = snap._memo["content_folders_of"]
    return memo.get(root_key, ())


def relative(key: str, root_key: str) -> str:
    return key[len(root_key) :].lstrip("\\")


def leaf(path: str) -> str:
    return path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]


# --- who IIS code runs as --------------------------------------------------------------------------


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

    Remembered per snapshot (with and without LocalSystem): rules ask it of a 5,000-pool host several
    times. The answer is shared: do not change it.
    """
    memo = snap._memo.get("iis_principals")
    if memo is None:  # both answers in one walk: the engine's rules ask for both on a large host
        without, with_system = _iis_principals(snap)
        memo = snap._memo["iis_principals"] = {False: without, True: with_system}
    return memo[bool(include_local_system)]


def _iis_principals(snap: Snapshot) -> tuple[dict[str, IisPrincipal], dict[str, IisPrincipal]]:
    """(without LocalSystem, with it): each as if worked out on its own, in one walk."""
    without: dict[str, IisPrincipal] = {}
    with_system: dict[str, IisPrincipal] = {}

    def add(key: str, name: str, role: str) -> None:
        if key:
            found = without.get(key)
            if found is None:
                found = without[key] = IisPrincipal(key, name, role)
            if key not in with_system:  # `with_system` holds every key of `without`: `found` is new
                with_system[key] = found

    def known(key: str) -> bool:  # in both answers already: the role need not be written out
        return key in without and key in with_system

    add(sids.IIS_IUSRS, "BUILTIN\\IIS_IUSRS", "IIS_IUSRS, whose SID is in every application pool worker")
    add(sids.IUSR, "NT AUTHORITY\\IUSR", "IUSR, the default anonymous identity")
    for pool in snap.app_pools:
        ident = pool_identity(snap, pool)
        if known(ident.key):
            continue
        if ident.key == sids.LOCAL_SYSTEM:  # only when asked: IIS-POOL-001 reports it
            if ident.key not in with_system:
                with_system[ident.key] = IisPrincipal(
                    ident.key, ident.name, f"identity of application pool '{pool['name']}'"
                )
            continue
        add(ident.key, ident.name, f"identity of application pool '{pool['name']}'")
    accounts = snap.accounts
    for auth in snap.iis.get("authentication") or []:
        anon = auth.get("anonymous") or {}
        user = anon.get("user")
        if user and anon.get("user_state") != "empty":
            key = accounts.key(user)
            if not known(key):  # 5,000 sites name IUSR: no role written for each
                add(key, user, f"anonymous user at '{auth.get('location') or 'server level'}'")
    for site in snap.sites:
        for app in site.get("applications") or []:
            for vdir in app.get("virtual_directories") or []:
                if vdir.get("user"):
                    key = accounts.key(vdir["user"])
                    if not known(key):
                        add(key, vdir["user"], f"connect-as user of a virtual directory of '{site['name']}'")
    for entry in snap.data.get("aspnet") or []:
        user = (entry.get("identity") or {}).get("user")
        if user:
            key = accounts.key(user)
            if not known(key):
                add(key, user, f"ASP.NET impersonation user at '{entry.get('location', '')}'")
    for p in snap.data.get("principals") or []:
        sid = str(p.get("sid") or "").upper()
        if sids.is_app_pool_sid(sid) and not known(sid):
            add(sid, str(p.get("name") or sid), "an IIS APPPOOL virtual account")
    return without, with_system


def apppool_principal(key: str, shown: str) -> IisPrincipal | None:
    """An IIS APPPOOL\\* SID that no pool in the configuration explains is still an IIS principal."""
    if sids.is_app_pool_sid(key):
        return IisPrincipal(key, shown, "an IIS APPPOOL virtual account")
    return None


def iis_version(snap: Snapshot) -> str:
    """The IIS version as captured ("10.0", "6.0"), or "" when unknown."""
    host_iis = (snap.data.get("host") or {}).get("iis") or {}
    return str(host_iis.get("version") or snap.iis.get("version") or "")


def iis_major(snap: Snapshot) -> int | None:
    head = iis_version(snap).split(".", 1)[0]
    return int(head) if head.isdigit() else None
