"""Declared vs observed: where a built server differs from what its build scripts say.

A *declared* snapshot (`collection.source: declared`, read from build scripts) says what the scripts
set up; an *observed* one (import, collect) says what the server runs. Every declared fact is looked
up on the server:

- `differs`: both sides state it and the values differ (a pool scripted as ApplicationPoolIdentity
  that runs as LocalSystem);
- `missing`: the server's capture holds the kind of data that would show it, and it is not there;
- `unverified`: the server's capture does not hold that data (a section absent or failed, a group
  whose members were not listed): the drift gate cannot tell, so it does not pass (exit 3);
- `unscripted`: the server has a fact nobody scripted. Reported only for the kinds of facts the
  scripts declare (no declared ACL on a path, no unscripted ACEs reported there; no declared SPN at
  all, no SPN reported), and never for what Windows or IIS set up on their own (the default pools and
  site, built-in accounts and their default group members, rights held by built-in principals,
  explicit ACEs of SYSTEM, Administrators, TrustedInstaller and CREATOR OWNER, computer accounts'
  SPNs, domain controllers' delegation): the scan rules judge those.

Principals of both sides are keyed by the observed snapshot's model (`Accounts.key`): its SIDs
resolve the names a script writes (`.\\svc_web`, `WEB01\\svc_web`, `svc_web`, `CORP\\svc_web`), and
an account the script qualifies with its own machine name counts as the server's local account.
Each side is indexed once, so the comparison is linear in the size of the two snapshots.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import jsonpos, rights, sids
from ..model.iis import auth_index, effective_auth
from ..model.snapshot import Snapshot, norm_name

DECLARED = "declared"
AREAS = {
    "app_pools": "Application pools and identities",
    "sites": "Sites, applications and content paths",
    "authentication": "Authentication",
    "principals": "Accounts and groups",
    "membership": "Group membership",
    "user_rights": "User rights and privileges",
    "acls": "File system ACLs",
    "spns": "Service principal names",
    "delegation": "Kerberos delegation",
}
KINDS = ("differs", "missing", "unscripted", "unverified")
POOL_FIELDS = ("enable_32bit", "load_user_profile", "managed_runtime_version", "pipeline_mode", "auto_start")
AUTH_SECTIONS = ("anonymous", "windows", "basic", "digest")
ACCOUNT_FIELDS = ("enabled", "password_never_expires", "password_required")
DELEGATION_FLAGS = ("unconstrained", "protocol_transition", "sensitive_not_delegated")
DELEGATION_LISTS = ("constrained_to", "rbcd_from")
DEFAULT_SITES = ("default web site",)
# Local accounts every Windows install has (RIDs 500 Administrator, 501 Guest, 503 DefaultAccount,
# 504 WDAGUtilityAccount: Microsoft, "Well-known SIDs" and "Local Accounts").
_DEFAULT_USER_RIDS = ("-500", "-501", "-503", "-504")
_DEFAULT_USER_NAMES = frozenset({"administrator", "guest", "defaultaccount", "wdagutilityaccount"})
# Members Windows puts in local groups itself (Microsoft, "Default local groups" / "Active Directory
# security groups"): the Administrator account and Domain Admins in Administrators, Domain Users,
# INTERACTIVE and Authenticated Users in Users, Guest and Domain Guests in Guests, IUSR in IIS_IUSRS.
_DEFAULT_MEMBERS: dict[str, tuple[str, ...]] = {
    sids.ADMINISTRATORS: ("-500", f"-{sids.RID_DOMAIN_ADMINS}"),
    sids.USERS: (f"-{sids.RID_DOMAIN_USERS}", sids.INTERACTIVE, sids.AUTHENTICATED_USERS),
    sids.GUESTS: ("-501", f"-{sids.RID_DOMAIN_GUESTS}"),
    sids.IIS_IUSRS: (sids.IUSR,),
}
# Explicit ACEs every Windows folder tree has: never "a grant nobody scripted".
_SYSTEM_TRUSTEES = frozenset(
    {sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.TRUSTED_INSTALLER, sids.CREATOR_OWNER}
)
_LOCAL_DOMAINS = frozenset({".", "localhost", "$env:computername", "%computername%"})


@dataclass(frozen=True)
class At:
    """Where a fact is: an object of one side (its `evidence`, else its line in the snapshot file),
    or a JSON pointer into that snapshot."""

    obj: Mapping[str, Any] | None = None
    pointer: str | None = None
    evidence: Mapping[str, Any] | None = None  # evidence kept apart from obj (user_rights_evidence)


@dataclass(frozen=True)
class Drift:
    area: str  # a key of AREAS
    subject: str  # the pool, site, location, account, group, right or path
    kind: str  # one of KINDS
    detail: str  # what a person reads
    declared: Any = None
    observed: Any = None
    declared_at: At | None = field(default=None, compare=False)
    observed_at: At | None = field(default=None, compare=False)


# -- sides and keys ----------------------------------------------------------------------------------


def is_declared(snap: Snapshot) -> bool:
    return (snap.data.get("collection") or {}).get("source") == DECLARED


class _Keys:
    """Principal keys for both sides from the observed snapshot's model, remembered per reference."""

    def __init__(self, declared: Snapshot, observed: Snapshot) -> None:
        self.accounts = observed.accounts
        self.declared_host = declared.host.casefold()
        self.observed = observed
        self._cache: dict[str, str] = {}

    def local(self, ref: str) -> str:
        """A declared reference with the script's machine name (`.`, its own host) as the server's."""
        domain, sep, account = ref.strip().rpartition("\\")
        if sep and (domain.casefold() in _LOCAL_DOMAINS or domain.casefold() == self.declared_host):
            return f"{self.observed.host}\\{account}"
        return ref.strip()

    def declared(self, ref: Any) -> str:
        text = str(ref or "")
        key = self._cache.get("d" + text)
        if key is None:
            key = self._cache["d" + text] = self.accounts.key(self.local(text))
        return key

    def observed_key(self, ref: Any) -> str:
        text = str(ref or "")
        key = self._cache.get("o" + text)
        if key is None:
            key = self._cache["o" + text] = self.accounts.key(text)
        return key

    def show(self, ref: Any) -> str:
        return self.accounts.display(str(ref or ""))

    def display(self, key: str, ref: str) -> str:
        """The server's name for a principal key, else the reference as written (the server's machine
        name for the script's own)."""
        if key.startswith("name:") and self.accounts.get(self.accounts.ref(key)) is None:
            shown = self.local(ref)
            # A bare name is the machine's account first (as Windows resolves it): shown qualified.
            plain = "\\" not in shown and "@" not in shown and not sids.is_sid(shown)
            return f"{self.observed.host}\\{shown}" if plain else shown
        shown = self.accounts.display(self.accounts.ref(key))
        return ref if sids.is_sid(shown) and not sids.is_sid(ref) else shown


def _ref(p: Mapping[str, Any]) -> str:
    return str(p.get("sid") or p.get("name") or "")


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return str(value)


def _captured(snap: Snapshot, section: str) -> bool:
    return snap.has_section(section)


class _Run:
    """One comparison: both snapshots, the keys, and the drift found so far."""

    def __init__(self, declared: Snapshot, observed: Snapshot) -> None:
        self.d = declared
        self.o = observed
        self.keys = _Keys(declared, observed)
        self.out: list[Drift] = []
        self.compared: Counter[str] = Counter()  # declared facts looked up on the server

    def add(
        self,
        area: str,
        subject: str,
        kind: str,
        detail: str,
        declared: Any = None,
        observed: Any = None,
        d_at: At | None = None,
        o_at: At | None = None,
    ) -> None:
        self.out.append(Drift(area, subject, kind, detail, declared, observed, d_at, o_at))

    def value(
        self,
        area: str,
        subject: str,
        name: str,
        declared: Any,
        observed: Any,
        d_at: At,
        o_at: At,
    ) -> None:
        """One declared value against the server's: nothing when equal or undeclared, else differs/unverified."""
        if declared is None:
            return
        self.compared[area] += 1
        if observed is None:
            self.add(
                area,
                subject,
                "unverified",
                f"{name}: scripted {_show(declared)}, not captured on the server",
                declared,
                None,
                d_at,
                o_at,
            )
        elif declared != observed:
            self.add(
                area,
                subject,
                "differs",
                f"{name}: scripted {_show(declared)}, server has {_show(observed)}",
                declared,
                observed,
                d_at,
                o_at,
            )

    def absent(
        self, area: str, subject: str, what: str, section: str, declared: Any, d_at: At, o_at: At
    ) -> None:
        """A declared object the server does not show: missing when its section was captured, else
        unverified, pointing at the observed snapshot's entry for that section."""
        self.compared[area] += 1
        if not _captured(self.o, section):
            listed = self.o.data.get("collection", {}).get("sections") or []
            index = next((i for i, e in enumerate(listed) if e.get("name") == section), None)
            o_at = At(pointer=f"/collection/sections/{index}" if index is not None else "/collection")
        if _captured(self.o, section):
            self.add(
                area,
                subject,
                "missing",
                f"{what} is scripted but not on the server",
                declared,
                None,
                d_at,
                o_at,
            )
        else:
            self.add(
                area,
                subject,
                "unverified",
                f"{what} is scripted; the server's capture has no {section} section to show it",
                declared,
                None,
                d_at,
                o_at,
            )


# -- app pools ---------------------------------------------------------------------------------------


def _identity(r: _Run, pool: Mapping[str, Any], *, declared: bool) -> str | None:
    ident = pool.get("identity")
    if not isinstance(ident, Mapping) or not ident.get("type"):
        return None
    kind = str(ident["type"])
    if kind != "SpecificUser":
        return kind
    user = ident.get("user")
    if not user:
        return None if declared else kind  # a user the script reads at run time: unknown, not compared
    key = r.keys.declared(user) if declared else r.keys.observed_key(user)
    return f"SpecificUser {r.keys.show(r.keys.accounts.ref(key))}"


def _pools(r: _Run) -> None:
    declared = {norm_name(str(p.get("name") or "")): p for p in r.d.app_pools if p.get("name")}
    if not declared:
        return
    first = At(next(iter(declared.values())))
    for dp in declared.values():
        name = str(dp["name"])
        op = r.o.pool(name)
        if op is None:
            r.absent("app_pools", name, f"pool {name}", "iis", name, At(dp), At(pointer="/iis"))
            continue
        if "identity.type" in (dp.get("unresolved") or ()):
            continue  # the identity type is computed when the script runs (the builder's default stands in)
        declared_identity = _identity(r, dp, declared=True)
        if declared_identity is None and (dp.get("identity") or {}).get("type") == "SpecificUser":
            # The account is computed when the script runs: only the identity type can be compared.
            observed_type = (op.get("identity") or {}).get("type")
            r.value("app_pools", name, "identity type", "SpecificUser", observed_type, At(dp), At(op))
        r.value(
            "app_pools", name, "identity", declared_identity, _identity(r, op, declared=False), At(dp), At(op)
        )
        for f in POOL_FIELDS:
            r.value("app_pools", name, f, dp.get(f), op.get(f), At(dp), At(op))
    defaults = {norm_name(p) for p in sids.DEFAULT_APP_POOLS}
    for op in r.o.app_pools:
        k = norm_name(str(op.get("name") or ""))
        if k and k not in declared and k not in defaults:
            r.add(
                "app_pools",
                str(op["name"]),
                "unscripted",
                f"pool running as {_identity(r, op, declared=False) or '?'} is on the server; no script creates it",
                None,
                _identity(r, op, declared=False),
                first,
                At(op),
            )


# -- sites ---------------------------------------------------------------------------------------------


def _apps(site: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(a.get("path") or "/").rstrip("/").casefold() or "/": a for a in site.get("applications") or []
    }


def _root_path(snap: Snapshot, app: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    for vdir in app.get("virtual_directories") or []:
        if str(vdir.get("path") or "/") == "/" and vdir.get("physical_path"):
            return snap.path_key(str(vdir.get("physical_path_expanded") or vdir["physical_path"])), vdir
    return None, None


def _bindings(site: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for b in site.get("bindings") or []:
        text = f"{b.get('protocol') or '?'} {b.get('binding_information') or ''}".strip()
        out[text.casefold()] = text
    return out


def _sites(r: _Run) -> None:
    declared = {norm_name(str(s.get("name") or "")): s for s in r.d.sites if s.get("name")}
    if not declared:
        return
    observed = {norm_name(str(s.get("name") or "")): s for s in r.o.sites if s.get("name")}
    first = At(next(iter(declared.values())))
    for k, ds in declared.items():
        name = str(ds["name"])
        os_ = observed.get(k)
        if os_ is None:
            r.absent("sites", name, f"site {name}", "iis", name, At(ds), At(pointer="/iis"))
            continue
        dbind, obind = _bindings(ds), _bindings(os_)
        for b in sorted(dbind.keys() - obind.keys()):
            r.compared["sites"] += 1
            r.add(
                "sites",
                name,
                "missing",
                f"binding {dbind[b]} is scripted but not on the server",
                dbind[b],
                None,
                At(ds),
                At(os_),
            )
        if dbind:
            for b in sorted(obind.keys() - dbind.keys()):
                r.add(
                    "sites",
                    name,
                    "unscripted",
                    f"binding {obind[b]} is on the server; no script adds it",
                    None,
                    obind[b],
                    At(ds),
                    At(os_),
                )
        oapps = _apps(os_)
        for path, dapp in _apps(ds).items():
            shown = name if path == "/" else f"{name}{dapp.get('path')}"
            oapp = oapps.get(path)
            if oapp is None:
                r.absent("sites", shown, f"application {shown}", "iis", shown, At(dapp), At(os_))
                continue
            dpool, opool = dapp.get("app_pool"), oapp.get("app_pool")
            if dpool and opool and norm_name(str(dpool)) == norm_name(str(opool)):
                r.compared["sites"] += 1  # pool names compare case-insensitively, as IIS does
            else:
                r.value("sites", shown, "pool", dpool or None, opool or None, At(dapp), At(oapp))
            dpath, dvdir = _root_path(r.d, dapp)
            opath, ovdir = _root_path(r.o, oapp)
            if dpath is not None and dvdir is not None:
                o_at = At(ovdir) if ovdir is not None else At(oapp)
                if dpath == opath:  # Windows paths: case, separators and %variables% do not matter
                    r.compared["sites"] += 1
                else:
                    shown_o = (ovdir or {}).get("physical_path") if opath is not None else None
                    r.value("sites", shown, "physical path", dvdir["physical_path"], shown_o, At(dvdir), o_at)
        dapps = _apps(ds)
        if len(dapps) > 1 or any(p != "/" for p in dapps):
            for path, oapp in oapps.items():
                if path not in dapps:
                    shown = name if path == "/" else f"{name}{oapp.get('path')}"
                    r.add(
                        "sites",
                        shown,
                        "unscripted",
                        "application is on the server; no script creates it",
                        None,
                        shown,
                        At(ds),
                        At(oapp),
                    )
    for k, os_ in observed.items():
        if k not in declared and k not in DEFAULT_SITES:
            r.add(
                "sites",
                str(os_["name"]),
                "unscripted",
                "site is on the server; no script creates it",
                None,
                str(os_["name"]),
                first,
                At(os_),
            )


# -- authentication ------------------------------------------------------------------------------------


def _anon_user(r: _Run, anon: Mapping[str, Any], *, declared: bool) -> str | None:
    if anon.get("enabled") is False:
        return None
    state, user = anon.get("user_state"), anon.get("user")
    if state == "empty" or (state is None and user == ""):
        return "the application pool identity"
    if user is None:
        return None
    key = r.keys.declared(user) if declared else r.keys.observed_key(user)
    return r.keys.show(r.keys.accounts.ref(key))


def _authentication(r: _Run) -> None:
    index = auth_index(r.o)
    for entry in r.d.iis.get("authentication") or []:
        loc = str(entry.get("location") or "")
        shown = loc or "(server)"
        for section in AUTH_SECTIONS:
            dsec = entry.get(section)
            if not isinstance(dsec, Mapping):
                continue
            oentry = effective_auth(index, loc, section) if _captured(r.o, "iis") else None
            osec = (oentry or {}).get(section) if oentry else None
            o_at = At(oentry) if oentry is not None else At(pointer="/iis")
            if isinstance(osec, Mapping) and isinstance(osec.get("evidence"), Mapping):
                o_at = At(osec)
            if osec is None and _captured(r.o, "iis") and section != "anonymous":
                osec = {"enabled": False}  # IIS default: only anonymous is on unless configured
            enabled = dsec.get("enabled")
            r.value(
                "authentication",
                shown,
                f"{section} enabled",
                enabled,
                (osec or {}).get("enabled") if osec is not None else None,
                At(entry),
                o_at,
            )
            if section == "anonymous" and enabled is not False and osec is not None and osec.get("enabled"):
                r.value(
                    "authentication",
                    shown,
                    "anonymous user",
                    _anon_user(r, dsec, declared=True),
                    _anon_user(r, osec, declared=False),
                    At(entry),
                    o_at,
                )


# -- accounts and groups ---------------------------------------------------------------------------------

_LOCAL_KINDS = ("local_user", "local_group")


def _is_default_account(p: Mapping[str, Any]) -> bool:
    sid = str(p.get("sid") or "")
    if sid.startswith("S-1-5-21-") and sid.endswith(_DEFAULT_USER_RIDS):
        return True
    return str(p.get("name") or "").rpartition("\\")[2].casefold() in _DEFAULT_USER_NAMES


def _accounts(r: _Run) -> None:
    declared_keys: dict[str, Mapping[str, Any]] = {}
    kinds: dict[str, Mapping[str, Any]] = {}  # kind -> the first account of that kind the scripts create
    for p in r.d.data.get("principals") or []:
        kind = p.get("kind")
        facts = any(p.get(f) is not None for f in ACCOUNT_FIELDS)
        if kind not in _LOCAL_KINDS and not (facts and kind in ("domain_user", "gmsa", "msa", "computer")):
            continue  # a name a script only refers to (an ACE trustee, a right's holder)
        key = r.keys.declared(_ref(p))
        declared_keys.setdefault(key, p)
        kinds.setdefault(str(kind), p)
        name = r.keys.display(key, r.keys.local(str(p.get("name") or p.get("sid"))))
        op = r.keys.accounts.get(r.keys.accounts.ref(key)) or r.keys.accounts.get(r.keys.local(name))
        if op is None:
            section = "local_accounts" if kind in _LOCAL_KINDS else "ad"
            r.absent(
                "principals",
                name,
                f"{str(kind).replace('_', ' ')} {name}",
                section,
                name,
                At(p),
                At(pointer="/principals"),
            )
            continue
        for f in ACCOUNT_FIELDS:
            r.value("principals", name, f.replace("_", " "), p.get(f), op.get(f), At(p), At(op))
    for op in r.o.data.get("principals") or []:
        kind = op.get("kind")
        if kind not in kinds or kind not in _LOCAL_KINDS or _is_default_account(op):
            continue
        if r.keys.accounts.scope(_ref(op)) != "local":
            continue
        if r.keys.observed_key(_ref(op)) not in declared_keys:
            name = str(op.get("name") or op.get("sid"))
            r.add(
                "principals",
                name,
                "unscripted",
                f"{str(kind).replace('_', ' ')} is on the server; no script creates it",
                None,
                name,
                At(kinds[str(kind)]),
                At(op),
            )


def _edges(r: _Run, snap: Snapshot, key: Any) -> dict[tuple[str, str], tuple[str, str, Mapping[str, Any]]]:
    """(member key, group key) -> (member shown, group shown, the principal that states the edge)."""
    out: dict[tuple[str, str], tuple[str, str, Mapping[str, Any]]] = {}

    def add(member: str, group: str, p: Mapping[str, Any]) -> None:
        k = (key(member), key(group))
        if k not in out:
            out[k] = (r.keys.display(k[0], member), r.keys.display(k[1], group), p)

    for p in snap.data.get("principals") or []:
        me = _ref(p)
        for g in p.get("member_of") or []:
            add(me, str(g), p)
        for m in p.get("members") or []:
            ref = str(m.get("sid") or m.get("name") or "")
            if ref:
                add(ref, me, p)
    return out


def _members_known(r: _Run, group_key: str) -> Mapping[str, Any] | None:
    """The observed group principal when its members were listed, else None."""
    p = r.keys.accounts.get(r.keys.accounts.ref(group_key))
    return p if p is not None and isinstance(p.get("members"), list) else None


def _is_default_member(group_key: str, member_key: str) -> bool:
    return any(
        member_key == d
        or (d.startswith("-") and member_key.startswith("S-1-5-21-") and member_key.endswith(d))
        for d in _DEFAULT_MEMBERS.get(group_key, ())
    )


def _membership(r: _Run) -> None:
    declared = _edges(r, r.d, r.keys.declared)
    if not declared:
        return
    observed = _edges(r, r.o, r.keys.observed_key)
    groups: dict[str, Mapping[str, Any]] = {}
    for (member, group), (m_shown, g_shown, p) in declared.items():
        groups.setdefault(group, p)
        r.compared["membership"] += 1
        if (member, group) in observed:
            continue
        listed = _members_known(r, group)
        if listed is not None:
            r.add(
                "membership",
                g_shown,
                "missing",
                f"member {m_shown} is scripted but not in the group on the server",
                m_shown,
                None,
                At(p),
                At(listed),
            )
        else:
            r.add(
                "membership",
                g_shown,
                "unverified",
                f"member {m_shown} is scripted; the server's capture does not list the group's members",
                m_shown,
                None,
                At(p),
                At(pointer="/principals"),
            )
    for (member, group), (m_shown, g_shown, p) in observed.items():
        if group in groups and (member, group) not in declared and not _is_default_member(group, member):
            r.add(
                "membership",
                g_shown,
                "unscripted",
                f"member {m_shown} is in the group on the server; no script adds it",
                None,
                m_shown,
                At(groups[group]),
                At(p),
            )


# -- user rights -------------------------------------------------------------------------------------------


# Rights IIS grants each pool identity itself (a fresh IIS 10 install, fixtures/hosts/iis10-default, holds
# its three default pools' SIDs in exactly these): a pool identity holding one is IIS's doing, not a script's.
IIS_POOL_RIGHTS = frozenset(
    r.casefold()
    for r in (
        "SeAssignPrimaryTokenPrivilege",
        "SeAuditPrivilege",
        "SeIncreaseQuotaPrivilege",
        "SeServiceLogonRight",
    )
)


def _holder_scripted(r: _Run, right: str, ref: str) -> bool:
    """Whether a holder of a right is one a script grants: a local or domain account, or a pool identity
    in a right IIS does not grant pools itself (built-in principals and service SIDs are Windows')."""
    scope = r.keys.accounts.scope(ref)
    if _is_default_account({"sid": r.keys.accounts.sid_of(ref), "name": r.keys.show(ref)}):
        return False  # Guest in the deny-logon rights, Administrator: Windows' own grants
    if scope == "iis_pool":
        return right.casefold() not in IIS_POOL_RIGHTS
    return scope in ("local", "domain")


def _user_rights(r: _Run) -> None:
    drights = r.d.user_rights
    if not drights:
        return
    d_ev = r.d.data.get("user_rights_evidence") or {}
    o_ev = r.o.data.get("user_rights_evidence") or {}
    orights = {str(k).casefold(): (str(k), v) for k, v in r.o.user_rights.items()}
    declared_holders: dict[str, set[str]] = {}
    for right, holders in drights.items():
        evs = d_ev.get(right) or []
        found = orights.get(str(right).casefold())
        okeys: dict[str, int] = {}
        if found is not None:
            for i, h in enumerate(found[1] or []):
                okeys.setdefault(r.keys.observed_key(h), i)
        mine = declared_holders.setdefault(str(right).casefold(), set())
        for i, holder in enumerate(holders or []):
            key = r.keys.declared(holder)
            mine.add(key)
            d_at = At(
                evidence=evs[i] if i < len(evs) else None, pointer=f"/user_rights/{jsonpos.escape(right)}/{i}"
            )
            if key in okeys:
                r.compared["user_rights"] += 1
                continue
            o_at = At(pointer=f"/user_rights/{jsonpos.escape(found[0])}" if found else "/user_rights")
            shown = r.keys.display(key, r.keys.local(str(holder)))
            if _captured(r.o, "user_rights"):
                r.compared["user_rights"] += 1
                r.add(
                    "user_rights",
                    str(right),
                    "missing",
                    f"granted to {shown} by the scripts, not on the server",
                    shown,
                    None,
                    d_at,
                    o_at,
                )
            else:
                r.absent("user_rights", str(right), f"the grant to {shown}", "user_rights", shown, d_at, o_at)
    first_ev = next((evs[0] for evs in d_ev.values() if isinstance(evs, list) and evs), None)
    first = At(evidence=first_ev, pointer="/user_rights")
    for folded, (right, holders) in sorted(orights.items()):
        mine = declared_holders.get(folded, set())
        evs = o_ev.get(right) or []
        d_right = next((k for k in drights if str(k).casefold() == folded), None)
        for i, holder in enumerate(holders or []):
            key = r.keys.observed_key(holder)
            if key in mine or not _holder_scripted(r, right, str(holder)):
                continue
            shown = r.keys.show(holder)
            r.add(
                "user_rights",
                right,
                "unscripted",
                f"granted to {shown} on the server; no script grants it",
                None,
                shown,
                _right_at(d_ev, d_right) if d_right else first,
                At(
                    evidence=evs[i] if i < len(evs) else None,
                    pointer=f"/user_rights/{jsonpos.escape(right)}/{i}",
                ),
            )


def _right_at(evidence: Mapping[str, Any], right: str) -> At:
    evs = evidence.get(right)
    first = evs[0] if isinstance(evs, list) and evs else None
    return At(evidence=first, pointer=f"/user_rights/{jsonpos.escape(right)}")


# -- ACLs ----------------------------------------------------------------------------------------------------


def _mask(ace: Mapping[str, Any]) -> int:
    return rights.mask_from_codes(str(c) for c in ace.get("rights") or ())


def _ace_text(r: _Run, ace: Mapping[str, Any]) -> str:
    who = r.keys.show(ace.get("sid") or ace.get("principal"))
    codes = ",".join(str(c) for c in ace.get("rights") or ())
    flags = "".join(f"({f})" for f in ace.get("inheritance") or ())
    deny = "deny " if ace.get("type") == "deny" else ""
    return f"{deny}{who}:{flags}({codes})"


def _acls(r: _Run) -> None:
    if not r.d.acls:
        return
    for dacl in r.d.acls:
        path = str(dacl.get("path") or "")
        if not path:
            continue
        oacl = r.o.acl(path)
        if oacl is None:  # a capture lists the paths it was pointed at: one it did not read is not absent
            r.compared["acls"] += 1
            r.add(
                "acls",
                path,
                "unverified",
                f"the scripts set the ACL of {path}; the server's capture has no ACL for it",
                path,
                None,
                At(dacl),
                At(pointer="/acls"),
            )
            continue
        explicit: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for ace in oacl.get("aces") or []:
            if not ace.get("inherited"):
                key = r.keys.observed_key(ace.get("sid") or ace.get("principal"))
                explicit.setdefault((key, str(ace.get("type") or "allow")), []).append(ace)
        declared: set[tuple[str, str]] = set()
        for ace in dacl.get("aces") or []:
            trustee = (
                r.keys.declared(ace.get("sid") or ace.get("principal")),
                str(ace.get("type") or "allow"),
            )
            declared.add(trustee)
            r.compared["acls"] += 1
            same = explicit.get(trustee) or []
            if any(_mask(o) == _mask(ace) for o in same):
                continue
            if same:
                r.add(
                    "acls",
                    path,
                    "differs",
                    f"ACE {_ace_text(r, ace)} is scripted; the server has {', '.join(_ace_text(r, o) for o in same)}",
                    _ace_text(r, ace),
                    [_ace_text(r, o) for o in same],
                    At(ace),
                    At(same[0]),
                )
            else:
                r.add(
                    "acls",
                    path,
                    "missing",
                    f"ACE {_ace_text(r, ace)} is scripted but not on the server",
                    _ace_text(r, ace),
                    None,
                    At(ace),
                    At(oacl),
                )
        if dacl.get("protected") is not None:
            r.value(
                "acls",
                path,
                "inheritance blocked",
                dacl.get("protected"),
                oacl.get("protected"),
                At(dacl),
                At(oacl),
            )
        for trustee, aces in explicit.items():
            if trustee in declared or trustee[0] in _SYSTEM_TRUSTEES:
                continue
            for ace in aces:
                r.add(
                    "acls",
                    path,
                    "unscripted",
                    f"ACE {_ace_text(r, ace)} is on the server; no script grants it",
                    None,
                    _ace_text(r, ace),
                    At(dacl),
                    At(ace),
                )


# -- Kerberos ----------------------------------------------------------------------------------------------


def _spn_index(r: _Run) -> dict[str, tuple[str, dict[str, str], Mapping[str, Any] | None]]:
    """Observed account key -> (shown, SPNs by casefolded value, the principal holding them)."""
    out: dict[str, tuple[str, dict[str, str], Mapping[str, Any] | None]] = {}

    def add(ref: str, spn: str, p: Mapping[str, Any] | None) -> None:
        key = r.keys.observed_key(ref)
        entry = out.setdefault(key, (r.keys.show(ref), {}, p))
        entry[1].setdefault(spn.casefold(), spn)

    for p in r.o.data.get("principals") or []:
        for spn in p.get("spns") or []:
            add(_ref(p), str(spn), p)
    for q in (r.o.data.get("spns") or {}).get("queries") or []:
        for account in q.get("accounts") or []:
            add(str(account), str(q.get("spn")), None)
    return out


def _is_computer(r: _Run, ref: str, p: Mapping[str, Any] | None) -> bool:
    acct = r.keys.accounts.account(ref)
    if acct is not None and acct.kind == "computer":
        return True
    return (p or {}).get("kind") == "computer" or (
        ref.endswith("$")
        and (p or {}).get("kind") not in ("gmsa", "msa")
        and ref.rpartition("\\")[2].casefold().rstrip("$") == r.o.host.casefold()
    )


def _spns(r: _Run) -> None:
    declared: dict[str, tuple[str, dict[str, str], Mapping[str, Any]]] = {}
    for p in r.d.data.get("principals") or []:
        for spn in p.get("spns") or []:
            key = r.keys.declared(_ref(p))
            declared.setdefault(key, (str(p.get("name") or _ref(p)), {}, p))[1].setdefault(
                str(spn).casefold(), str(spn)
            )
    if not declared:
        return
    observed = _spn_index(r)
    first = At(next(iter(declared.values()))[2])
    for key, (shown, spns, p) in declared.items():
        have = observed.get(key)
        for folded, spn in sorted(spns.items()):
            if have is not None and folded in have[1]:
                r.compared["spns"] += 1
                continue
            o_at = At(have[2]) if have is not None and have[2] is not None else At(pointer="/spns")
            r.absent("spns", shown, f"SPN {spn}", "spns", spn, At(p), o_at)
    for key, (shown, spns, p) in observed.items():
        if _is_computer(r, shown, p):
            continue
        mine = declared.get(key)
        for folded, spn in sorted(spns.items()):
            if mine is None or folded not in mine[1]:
                r.add(
                    "spns",
                    shown,
                    "unscripted",
                    f"SPN {spn} is registered on the server's account; no script sets it",
                    None,
                    spn,
                    At(mine[2]) if mine else first,
                    At(p) if p is not None else At(pointer="/spns"),
                )


def _delegation(r: _Run) -> None:
    declared: dict[str, Mapping[str, Any]] = {}
    for p in r.d.data.get("principals") or []:
        if isinstance(p.get("delegation"), Mapping) and p["delegation"]:
            declared.setdefault(r.keys.declared(_ref(p)), p)
    if not declared:
        return
    for key, p in declared.items():
        shown = str(p.get("name") or _ref(p))
        acct = r.keys.accounts.account(r.keys.accounts.ref(key)) or r.keys.accounts.account(
            r.keys.local(shown)
        )
        known = acct is not None and (
            acct.ad or any(isinstance(m.get("delegation"), Mapping) for m in acct.members)
        )
        d = p["delegation"]
        o_at = At(acct.at) if acct is not None else At(pointer="/principals")
        for f in DELEGATION_FLAGS:
            if d.get(f) is None:
                continue
            observed: Any = None
            if known and acct is not None:
                observed = {
                    "unconstrained": acct.unconstrained,
                    "protocol_transition": acct.protocol_transition,
                }.get(f, acct.delegation(f))
                observed = bool(observed) if f != "sensitive_not_delegated" or observed is not None else None
            r.value("delegation", shown, f, d.get(f), observed, At(p), o_at)
        for f in DELEGATION_LISTS:
            if d.get(f) is None:
                continue
            want = {str(v).casefold(): str(v) for v in d.get(f) or []}
            have = {str(v).casefold(): str(v) for v in (acct.delegation(f) if known and acct else [])}
            for v in sorted(want.keys() - have.keys()):
                if known:
                    r.compared["delegation"] += 1
                    r.add(
                        "delegation",
                        shown,
                        "missing",
                        f"{f} {want[v]} is scripted but not on the server",
                        want[v],
                        None,
                        At(p),
                        o_at,
                    )
                else:
                    r.absent("delegation", shown, f"{f} {want[v]}", "ad", want[v], At(p), o_at)
            r.compared["delegation"] += len(want.keys() & have.keys())
            for v in sorted(have.keys() - want.keys()):
                r.add(
                    "delegation",
                    shown,
                    "unscripted",
                    f"{f} {have[v]} is on the server; no script sets it",
                    None,
                    have[v],
                    At(p),
                    o_at,
                )
    first = At(next(iter(declared.values())))
    seen: set[int] = set()
    for op in r.o.data.get("principals") or []:
        acct = r.keys.accounts.directory.of(op)
        if acct is None or id(acct) in seen:
            continue
        seen.add(id(acct))
        if acct.is_dc or r.keys.observed_key(_ref(acct.at)) in declared:
            continue
        flags = [f for f in ("unconstrained", "protocol_transition") if getattr(acct, f)]
        flags += [f"constrained_to {v}" for v in acct.delegation("constrained_to")]
        for flag in flags:
            r.add(
                "delegation",
                acct.name,
                "unscripted",
                f"{flag} is set on the server; no script sets it",
                None,
                flag,
                first,
                At(acct.at),
            )


# -- entry point -----------------------------------------------------------------------------------------------


@dataclass
class Result:
    declared: Snapshot
    observed: Snapshot
    drift: list[Drift]
    compared_by_area: dict[str, int]  # declared facts looked up on the server, per area

    @property
    def compared(self) -> int:
        return sum(self.compared_by_area.values())

    def only(self, areas: Iterable[str]) -> None:
        """Keep the drift (and the count of facts compared) of these areas only."""
        keep = set(areas)
        self.drift = [d for d in self.drift if d.area in keep]
        self.compared_by_area = {a: n for a, n in self.compared_by_area.items() if a in keep}

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for d in self.drift:
            out[d.kind] += 1
        return out

    def exit_code(self) -> int:
        """0 the server matches its scripts, 1 drift, 3 nothing to compare or something unverified."""
        if any(d.kind != "unverified" for d in self.drift):
            return 1
        if self.compared == 0 or any(d.kind == "unverified" for d in self.drift):
            return 3
        return 0


def compare(declared: Snapshot, observed: Snapshot) -> Result:
    """Every drift between what the scripts declare and what the server shows, grouped by area."""
    r = _Run(declared, observed)
    for fn in (
        _pools,
        _sites,
        _authentication,
        _accounts,
        _membership,
        _user_rights,
        _acls,
        _spns,
        _delegation,
    ):
        fn(r)
    order = {a: i for i, a in enumerate(AREAS)}
    kinds = {k: i for i, k in enumerate(KINDS)}
    drift = sorted(r.out, key=lambda d: (order[d.area], kinds[d.kind], d.subject.casefold()))
    return Result(declared, observed, drift, dict(r.compared))


# -- where: evidence file and line -------------------------------------------------------------------------


class _Locator:
    """`file:line` for an At of one snapshot: the object's evidence (a script or captured file, as seen
    from the working directory), else the object's line in the snapshot file itself."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.folder = Path(snap.path).parent if snap.path else Path(".")
        self.pending: dict[str, int] = {}

    def evidence(self, at: At) -> Mapping[str, Any] | None:
        ev = at.evidence if at.evidence is not None else (at.obj or {}).get("evidence")
        return ev if isinstance(ev, Mapping) and ev.get("artifact") else None

    def pointer(self, at: At) -> str:
        if at.pointer is not None and at.obj is None:
            return at.pointer
        found = self.snap.pointer_of(at.obj) if at.obj is not None else None
        return found if found is not None else (at.pointer or "")

    def lines(self, pointers: set[str]) -> dict[str, int]:
        if not pointers or not self.snap.path:
            return {}
        try:
            text = Path(self.snap.path).read_bytes()
        except OSError:
            return {}
        return jsonpos.lines_of(text, pointers)

    def file(self, artifact: str) -> str:
        return shown_path(self.folder / artifact.replace("\\", "/"))


def shown_path(target: Path) -> str:
    """A path as seen from the working directory; absolute when it lies outside it."""
    absolute = os.path.normpath(target.absolute())
    try:
        rel = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return absolute
    return absolute if rel.split(os.sep, 1)[0] == ".." else rel


def locate(result: Result) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Per drift item, (declared, observed) locations as {file, line} (None where no fact of that side
    stands behind it, as for the scripts' side of an unscripted ACE on a path no script names)."""
    sides = (_Locator(result.declared), _Locator(result.observed))
    wanted: tuple[set[str], set[str]] = (set(), set())
    for d in result.drift:
        for i, at in enumerate((d.declared_at, d.observed_at)):
            if at is not None and sides[i].evidence(at) is None:
                wanted[i].add(sides[i].pointer(at))
    lines = (sides[0].lines(wanted[0]), sides[1].lines(wanted[1]))
    out: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for d in result.drift:
        pair: list[dict[str, Any] | None] = []
        for i, at in enumerate((d.declared_at, d.observed_at)):
            if at is None:
                pair.append(None)
                continue
            ev = sides[i].evidence(at)
            if ev is not None:
                line = ev.get("line")
                pair.append(
                    {
                        "file": sides[i].file(str(ev["artifact"])),
                        "line": line if isinstance(line, int) else None,
                    }
                )
            else:
                snap = sides[i].snap
                path = shown_path(Path(snap.path)) if snap.path else "snapshot.json"
                pair.append({"file": path, "line": lines[i].get(sides[i].pointer(at), 1)})
        out.append((pair[0], pair[1]))
    return out


def _where(loc: Mapping[str, Any] | None) -> str:
    if loc is None:
        return "-"
    return f"{loc['file']}:{loc['line']}" if loc.get("line") else str(loc["file"])


def render_text(result: Result) -> str:
    d, o = result.declared, result.observed
    lines = [f"iisguard diff: declared {d.path} ({d.host}) vs observed {o.path} ({o.host})"]
    marks = {"differs": "~", "missing": "-", "unscripted": "+", "unverified": "?"}
    where = locate(result)
    for area, title in AREAS.items():
        group = [(x, w) for x, w in zip(result.drift, where, strict=True) if x.area == area]
        if not group:
            continue
        lines.append(f"\n{title}")
        for x, (dw, ow) in group:
            lines.append(f"  {marks[x.kind]} {x.subject}: {x.detail}")
            lines.append(f"      script {_where(dw)}  server {_where(ow)}")
    c = result.counts()
    summary = ", ".join(f"{c[k]} {k}" for k in KINDS if c[k])
    if result.drift:
        lines.append(
            f"\n{len(result.drift)} drift item(s): {summary}; {result.compared} scripted fact(s) compared"
        )
    elif result.compared:
        lines.append(
            f"\nno drift: the server matches its scripts ({result.compared} scripted fact(s) compared)"
        )
    else:
        lines.append("\nnothing to compare: the declared snapshot states no fact drift can check")
    return "\n".join(lines) + "\n"


def as_json(result: Result) -> dict[str, Any]:
    where = locate(result)
    return {
        "format": "iisguard-drift",
        "version": 1,
        "declared": {"snapshot": result.declared.path, "host": result.declared.host},
        "observed": {"snapshot": result.observed.path, "host": result.observed.host},
        "compared": result.compared,
        "counts": result.counts(),
        "exit_code": result.exit_code(),
        "drift": [
            {
                "area": x.area,
                "subject": x.subject,
                "kind": x.kind,
                "detail": x.detail,
                "declared": x.declared,
                "observed": x.observed,
                "declared_at": dw,
                "observed_at": ow,
            }
            for x, (dw, ow) in zip(result.drift, where, strict=True)
        ],
    }
