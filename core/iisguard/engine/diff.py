"""What changed between two snapshots of a host, for reviewers: identities, rights, ACLs, Kerberos.

Each side is indexed by key once (pools by name, ACLs by path, principals by SID or name), so the
comparison is linear in the size of the snapshots. Principals are compared by the key the model
gives them (their SID where one is knowable), so a right granted by name in one capture and by SID
in the other is not reported as a change.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..model.snapshot import Snapshot, norm_name

AREAS = {
    "app_pools": "Application pools and identities",
    "applications": "Applications and their pools",
    "anonymous": "Anonymous authentication users",
    "user_rights": "User rights and privileges",
    "acls": "File system ACLs",
    "principals": "Accounts and groups",
    "membership": "Group membership",
    "spns": "Service principal names",
    "delegation": "Kerberos delegation",
}
POOL_FIELDS = (
    "enable_32bit",
    "load_user_profile",
    "managed_runtime_version",
    "pipeline_mode",
    "auto_start",
    "state",
)
DELEGATION_FIELDS = ("unconstrained", "protocol_transition", "sensitive_not_delegated")
DELEGATION_LISTS = ("constrained_to", "rbcd_from")
_FLAG_ORDER = {"OI": "0", "CI": "1", "IO": "2", "NP": "3"}  # as icacls prints them


@dataclass(frozen=True)
class Change:
    area: str  # a key of AREAS
    subject: str  # the pool, location, right, path or account the change is about
    change: str  # added / removed / changed
    detail: str  # what a person reads
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every change, grouped by area in the order of AREAS."""
    changes: list[Change] = []
    for fn in (
        _pools,
        _applications,
        _anonymous,
        _user_rights,
        _acls,
        _principals,
        _membership,
        _spns,
        _delegation,
    ):
        changes.extend(fn(old, new))
    return changes


# -- helpers --------------------------------------------------------------------------------------


class _Names:
    """The model's principal key and display name, remembered per reference (they repeat a lot)."""

    def __init__(self, snap: Snapshot) -> None:
        self.index = snap.principals
        self.keys: dict[str | None, str] = {}
        self.shown: dict[str, str] = {}

    def key(self, ref: str | None) -> str:
        k = self.keys.get(ref)
        if k is None:
            k = self.keys[ref] = self.index.key(ref)
        return k

    def display(self, ref: str) -> str:
        d = self.shown.get(ref)
        if d is None:
            d = self.shown[ref] = self.index.display(ref)
        return d


_NAMES: weakref.WeakKeyDictionary[Snapshot, _Names] = weakref.WeakKeyDictionary()


def _names(snap: Snapshot) -> _Names:
    names = _NAMES.get(snap)
    if names is None:
        names = _NAMES[snap] = _Names(snap)
    return names


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return str(value)


def _keyed(items: Iterable[Mapping[str, Any]], key: Any) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for item in items:
        k = key(item)
        if k is not None:
            out.setdefault(k, item)
    return out


def _field_changes(
    area: str, subject: str, before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]
) -> Iterable[Change]:
    """A `changed` entry, `field old -> new`, for each of `fields` whose value differs."""
    for f in fields:
        if before.get(f) != after.get(f):
            yield Change(
                area,
                subject,
                "changed",
                f"{f} {_show(before.get(f))} -> {_show(after.get(f))}",
                before.get(f),
                after.get(f),
            )


def _set_changes(
    area: str, subject: str, before: Mapping[str, str], after: Mapping[str, str], added: str, removed: str
) -> Iterable[Change]:
    """Added and removed members of a set; each side maps a comparison key to its display name."""
    for k in sorted(after.keys() - before.keys(), key=lambda x: after[x].casefold()):
        yield Change(area, subject, "added", f"{added} {after[k]}", None, after[k])
    for k in sorted(before.keys() - after.keys(), key=lambda x: before[x].casefold()):
        yield Change(area, subject, "removed", f"{removed} {before[k]}", before[k], None)


def _principal_map(snap: Snapshot, refs: Iterable[Any]) -> dict[str, str]:
    index = _names(snap)
    return {index.key(str(r)): index.display(str(r)) for r in refs if r}


def _identity(pool: Mapping[str, Any]) -> str:
    ident = pool.get("identity") or {}
    kind = str(ident.get("type") or "?")
    return f"{kind} {ident['user']}" if kind == "SpecificUser" and ident.get("user") else kind


def _password(holder: Mapping[str, Any] | None) -> str | None:
    secret = (holder or {}).get("password")
    if not isinstance(secret, Mapping) or not secret.get("present"):
        return None
    return "encrypted" if secret.get("encrypted") else "clear text"


# -- areas ----------------------------------------------------------------------------------------


def _pools(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a = _keyed(old.app_pools, lambda p: norm_name(str(p.get("name") or "")) or None)
    b = _keyed(new.app_pools, lambda p: norm_name(str(p.get("name") or "")) or None)
    for k in sorted(b.keys() - a.keys()):
        p = b[k]
        yield Change(
            "app_pools", str(p["name"]), "added", f"new pool running as {_identity(p)}", None, _identity(p)
        )
    for k in sorted(a.keys() - b.keys()):
        p = a[k]
        yield Change(
            "app_pools",
            str(p["name"]),
            "removed",
            f"pool removed (ran as {_identity(p)})",
            _identity(p),
            None,
        )
    for k in sorted(a.keys() & b.keys()):
        pa, pb = a[k], b[k]
        name = str(pb["name"])
        if _identity(pa) != _identity(pb):
            yield Change(
                "app_pools",
                name,
                "changed",
                f"identity {_identity(pa)} -> {_identity(pb)}",
                _identity(pa),
                _identity(pb),
            )
        wa, wb = _password(pa.get("identity")), _password(pb.get("identity"))
        if wa != wb:
            yield Change("app_pools", name, "changed", f"stored password {_show(wa)} -> {_show(wb)}", wa, wb)
        yield from _field_changes("app_pools", name, pa, pb, POOL_FIELDS)


def _apps(snap: Snapshot) -> dict[str, tuple[str, Mapping[str, Any]]]:
    out: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for site in snap.sites:
        for app in site.get("applications") or []:
            shown = f"{site.get('name')}{'' if str(app.get('path', '/')) == '/' else app.get('path')}"
            out.setdefault(norm_name(shown), (shown, app))
    return out


def _applications(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = _apps(old), _apps(new)
    for k in sorted(b.keys() - a.keys()):
        shown, app = b[k]
        yield Change(
            "applications",
            shown,
            "added",
            f"new application in pool {app.get('app_pool')}",
            None,
            app.get("app_pool"),
        )
    for k in sorted(a.keys() - b.keys()):
        shown, app = a[k]
        yield Change("applications", shown, "removed", "application removed", app.get("app_pool"), None)
    for k in sorted(a.keys() & b.keys()):
        pa, pb = a[k][1].get("app_pool"), b[k][1].get("app_pool")
        if norm_name(str(pa or "")) != norm_name(str(pb or "")):
            yield Change("applications", b[k][0], "changed", f"pool {_show(pa)} -> {_show(pb)}", pa, pb)


def _anon_user(entry: Mapping[str, Any] | None) -> str | None:
    anon = (entry or {}).get("anonymous")
    if not isinstance(anon, Mapping):
        return None
    if anon.get("enabled") is False:
        return "disabled"
    user = anon.get("user")
    who = "the application pool identity" if user == "" else str(user or "IUSR")
    return f"enabled as {who}"


def _anonymous(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    def index(snap: Snapshot) -> dict[str, Mapping[str, Any]]:
        return _keyed(snap.iis.get("authentication") or [], lambda e: norm_name(str(e.get("location", ""))))

    a, b = index(old), index(new)
    for k in sorted(a.keys() | b.keys()):
        ua, ub = _anon_user(a.get(k)), _anon_user(b.get(k))
        if ua != ub:
            loc = str((b.get(k) or a.get(k) or {}).get("location", "")) or "(server)"
            yield Change(
                "anonymous",
                loc,
                "changed" if ua and ub else ("added" if ub else "removed"),
                f"anonymous {_show(ua)} -> {_show(ub)}",
                ua,
                ub,
            )


def _user_rights(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = old.user_rights, new.user_rights
    for right in sorted(a.keys() | b.keys()):
        yield from _set_changes(
            "user_rights",
            right,
            _principal_map(old, a.get(right) or []),
            _principal_map(new, b.get(right) or []),
            "granted to",
            "no longer granted to",
        )


def _ace(snap: Snapshot, ace: Mapping[str, Any]) -> tuple[tuple[Any, ...], str]:
    principal = str(ace.get("sid") or ace.get("principal") or "")
    rights = tuple(sorted(str(r) for r in ace.get("rights") or ()))
    flags = tuple(sorted((str(f) for f in ace.get("inheritance") or ()), key=lambda f: _FLAG_ORDER.get(f, f)))
    key = (_names(snap).key(principal), ace.get("type"), rights, bool(ace.get("inherited")), flags)
    inherited = " inherited" if ace.get("inherited") else ""
    shown = f"{ace.get('type', 'allow')} {_names(snap).display(str(ace.get('principal') or principal))}:({','.join(rights)})"
    return key, shown + (f" {''.join(f'({f})' for f in flags)}" if flags else "") + inherited


def _acls(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = old.acls_by_path, new.acls_by_path
    for k in sorted(a.keys() | b.keys()):
        before, after = a.get(k), b.get(k)
        path = str((after or before or {}).get("path"))
        if before is None or after is None:
            kind = "added" if before is None else "removed"
            acl = after if after is not None else before
            assert acl is not None
            yield Change("acls", path, kind, f"ACL {kind} ({len(acl.get('aces') or [])} ACEs)", None, None)
            if after is None:
                continue
        ea = dict(_ace(old, ace) for ace in (before or {}).get("aces") or [])
        eb = dict(_ace(new, ace) for ace in after.get("aces") or [])
        before_aces = {str(k2): v for k2, v in ea.items()}
        after_aces = {str(k2): v for k2, v in eb.items()}
        yield from _set_changes("acls", path, before_aces, after_aces, "ACE added:", "ACE removed:")
        if before is not None:
            yield from _field_changes("acls", path, before, after, ("owner", "protected"))


def _principals_by_key(snap: Snapshot) -> dict[str, Mapping[str, Any]]:
    index = _names(snap)
    return _keyed(snap.data.get("principals") or [], lambda p: index.key(p.get("sid") or p.get("name")))


def _principal_name(snap: Snapshot, p: Mapping[str, Any]) -> str:
    return str(p.get("name") or _names(snap).display(str(p.get("sid"))))


def _principals(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = _principals_by_key(old), _principals_by_key(new)
    for k in sorted(b.keys() - a.keys()):
        p = b[k]
        yield Change(
            "principals",
            _principal_name(new, p),
            "added",
            f"new {p.get('kind', 'principal')}",
            None,
            p.get("kind"),
        )
    for k in sorted(a.keys() - b.keys()):
        p = a[k]
        yield Change(
            "principals",
            _principal_name(old, p),
            "removed",
            f"{p.get('kind', 'principal')} removed",
            p.get("kind"),
            None,
        )
    for k in sorted(a.keys() & b.keys()):
        pa, pb = a[k], b[k]
        if pa.get("enabled") != pb.get("enabled") and pb.get("enabled") is not None:
            yield Change(
                "principals",
                _principal_name(new, pb),
                "changed",
                f"enabled {_show(pa.get('enabled'))} -> {_show(pb.get('enabled'))}",
                pa.get("enabled"),
                pb.get("enabled"),
            )


def _edges(snap: Snapshot) -> dict[str, tuple[str, str]]:
    """(member, group) pairs from both directions of the data, keyed for comparison."""
    index = _names(snap)
    out: dict[str, tuple[str, str]] = {}
    for p in snap.data.get("principals") or []:
        me = str(p.get("sid") or p.get("name") or "")
        for g in p.get("member_of") or []:
            out[f"{index.key(me)}\x1f{index.key(str(g))}"] = (index.display(me), index.display(str(g)))
        for m in p.get("members") or []:
            ref = str(m.get("sid") or m.get("name") or "")
            if ref:
                out[f"{index.key(ref)}\x1f{index.key(me)}"] = (index.display(ref), index.display(me))
    return out


def _membership(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = _edges(old), _edges(new)
    for k in sorted(b.keys() - a.keys(), key=lambda x: b[x]):
        member, group = b[k]
        yield Change("membership", group, "added", f"member {member} added", None, member)
    for k in sorted(a.keys() - b.keys(), key=lambda x: a[x]):
        member, group = a[k]
        yield Change("membership", group, "removed", f"member {member} removed", member, None)


def _spn_index(snap: Snapshot) -> dict[str, tuple[str, dict[str, str]]]:
    index = _names(snap)
    out: dict[str, tuple[str, dict[str, str]]] = {}

    def add(account: str, spn: str) -> None:
        entry = out.setdefault(index.key(account), (index.display(account), {}))
        entry[1][spn.casefold()] = spn

    for p in snap.data.get("principals") or []:
        for spn in p.get("spns") or []:
            add(str(p.get("sid") or p.get("name")), str(spn))
    for q in (snap.data.get("spns") or {}).get("queries") or []:
        for account in q.get("accounts") or []:
            add(str(account), str(q.get("spn")))
    return out


def _spns(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = _spn_index(old), _spn_index(new)
    for k in sorted(a.keys() | b.keys()):
        name = (b.get(k) or a.get(k) or ("?", {}))[0]
        yield from _set_changes(
            "spns", name, (a.get(k) or ("", {}))[1], (b.get(k) or ("", {}))[1], "SPN", "SPN removed:"
        )


def _delegation(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    a, b = _principals_by_key(old), _principals_by_key(new)
    for k in sorted(a.keys() | b.keys()):
        da = (a.get(k) or {}).get("delegation") or {}
        db = (b.get(k) or {}).get("delegation") or {}
        if not da and not db:
            continue
        name = _principal_name(new, b[k]) if k in b else _principal_name(old, a[k])
        yield from _field_changes("delegation", name, da, db, DELEGATION_FIELDS)
        for f in DELEGATION_LISTS:
            before = {str(v).casefold(): str(v) for v in da.get(f) or []}
            after = {str(v).casefold(): str(v) for v in db.get(f) or []}
            yield from _set_changes("delegation", name, before, after, f"{f} +", f"{f} -")


# -- output ---------------------------------------------------------------------------------------


def render_text(old: Snapshot, new: Snapshot, changes: list[Change]) -> str:
    lines = [f"iisguard diff {old.path} ({old.host}) -> {new.path} ({new.host})"]
    marks = {"added": "+", "removed": "-", "changed": "~"}
    for area, title in AREAS.items():
        group = [c for c in changes if c.area == area]
        if not group:
            continue
        lines.append(f"\n{title}")
        for c in group:
            lines.append(f"  {marks[c.change]} {c.subject}: {c.detail}")
    lines.append(f"\n{len(changes)} change(s)" if changes else "\nno changes")
    return "\n".join(lines) + "\n"


def as_json(old: Snapshot, new: Snapshot, changes: list[Change]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.area] = counts.get(c.area, 0) + 1
    return {
        "format": "iisguard-diff",
        "version": 1,
        "old": {"snapshot": old.path, "host": old.host},
        "new": {"snapshot": new.path, "host": new.host},
        "counts": counts,
        "changes": [c.as_dict() for c in changes],
    }
