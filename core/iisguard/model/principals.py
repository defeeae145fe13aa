"""Resolve principals by SID or name, and answer group membership transitively."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import sids

if TYPE_CHECKING:
    from .snapshot import Snapshot


def _norm(name: str) -> str:
    return name.strip().casefold()


class PrincipalIndex:
    """Every principal of a snapshot, indexed by SID and by normalized name.

    A reference is either a SID (`S-1-…`, `*S-1-…`) or a name (`DOMAIN\\name`, `.\\name`, `name`).
    `key()` gives one comparable key per principal: its SID where one can be known, else `name:<domain\\name>`.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.host = snapshot.host.casefold()
        self.by_sid: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, dict[str, Any]] = {}
        for p in snapshot.data.get("principals") or []:
            sid = p.get("sid")
            if sid:
                self.by_sid[sid.upper()] = p
            name = p.get("name")
            if name:
                for variant in self._variants(name):
                    self.by_name.setdefault(variant, p)
        self._groups_cache: dict[str, frozenset[str]] = {}
        # Rules resolve the same few references (one per ACE of 100,000 ACLs) again and again.
        self._get_cache: dict[str, dict[str, Any] | None] = {}
        self._sid_cache: dict[str, str | None] = {}
        self._key_cache: dict[str, str] = {}
        self._members_of_group: dict[str, set[str]] | None = None
        self._parents_index: dict[str, set[str]] | None = None

    def _variants(self, name: str) -> Iterable[str]:
        n = _norm(name)
        yield n
        domain, sep, account = n.rpartition("\\")
        if sep and domain in (".", self.host, "builtin", "nt authority"):
            yield account
        if not sep:
            yield f"{self.host}\\{n}"

    def get(self, ref: str | None) -> dict[str, Any] | None:
        if not ref:
            return None
        try:
            return self._get_cache[ref]
        except KeyError:
            found = self._get_cache[ref] = self._get(ref)
            return found

    def _get(self, ref: str) -> dict[str, Any] | None:
        if sids.is_sid(ref):
            return self.by_sid.get(sids.normalize_sid(ref))
        for variant in self._variants(ref):
            if variant in self.by_name:
                return self.by_name[variant]
        sid = sids.well_known_sid(ref)
        return self.by_sid.get(sid) if sid else None

    def sid_of(self, ref: str | None) -> str | None:
        """The SID for a reference, from the snapshot or the well-known table; None when unknowable."""
        if not ref:
            return None
        try:
            return self._sid_cache[ref]
        except KeyError:
            found = self._sid_cache[ref] = self._sid_of(ref)
            return found

    def _sid_of(self, ref: str) -> str | None:
        if sids.is_sid(ref):
            return sids.normalize_sid(ref)
        known = sids.well_known_sid(ref)
        if known:
            return known
        p = self.get(ref)
        return p.get("sid") if p else None

    def key(self, ref: str | None) -> str:
        ref = ref or ""
        try:
            return self._key_cache[ref]
        except KeyError:
            found = self._key_cache[ref] = self._key(ref)
            return found

    def _key(self, ref: str) -> str:
        sid = self.sid_of(ref)
        if sid:
            return sid
        p = self.get(ref)
        name = (p or {}).get("name") or ref or ""
        domain, sep, account = _norm(name).rpartition("\\")
        if sep and domain in (".", self.host):
            return f"name:{self.host}\\{account}"
        return f"name:{_norm(name)}"

    def display(self, ref: str) -> str:
        """A name a person recognises for a reference (SIDs become names where known)."""
        p = self.get(ref)
        if p and p.get("name"):
            return str(p["name"])
        if sids.is_sid(ref):
            return sids.name_of(sids.normalize_sid(ref)) or ref
        return ref

    def kind(self, ref: str | None) -> str:
        p = self.get(ref)
        if p and p.get("kind"):
            return str(p["kind"])
        sid = self.sid_of(ref)
        if sid and (sid in sids.NAME_OF):
            return "builtin"
        if sid and sid.startswith((sids.APPPOOL_PREFIX, sids.NT_SERVICE_PREFIX)):
            return "virtual"
        return "unknown"

    def _group_members(self) -> dict[str, set[str]]:
        # group key -> member keys, from both directions of the data (members[] and member_of[]).
        if self._members_of_group is None:
            index: dict[str, set[str]] = {}
            seen = {id(p): p for p in [*self.by_sid.values(), *self.by_name.values()]}
            for p in seen.values():
                pk = self.key(p.get("sid") or p.get("name"))
                if isinstance(p.get("members"), list):
                    index.setdefault(pk, set())  # a captured empty group is known to have no members
                for m in p.get("members") or []:
                    mk = self.key(m.get("sid") or m.get("name"))
                    index.setdefault(pk, set()).add(mk)
                for g in p.get("member_of") or []:
                    index.setdefault(self.key(g), set()).add(pk)
            self._members_of_group = index
        return self._members_of_group

    def _parents(self) -> dict[str, set[str]]:
        if self._parents_index is None:
            parents: dict[str, set[str]] = {}
            for group, members in self._group_members().items():
                for m in members:
                    parents.setdefault(m, set()).add(group)
            self._parents_index = parents
        return self._parents_index

    def groups_of(self, ref: str) -> frozenset[str]:
        """Keys of every group the principal is in, transitively (cycles are tolerated)."""
        start = self.key(ref)
        cached = self._groups_cache.get(start)
        if cached is not None:
            return cached
        parents = self._parents()
        out: set[str] = set()
        todo = [start]
        while todo:
            for g in parents.get(todo.pop(), ()):
                if g not in out:
                    out.add(g)
                    todo.append(g)
        result = frozenset(out)
        self._groups_cache[start] = result
        return result

    def members_known(self, group_ref: str) -> bool:
        """Whether the snapshot lists the members of a group (so 'not a member' can be judged)."""
        return self.key(group_ref) in self._group_members()
