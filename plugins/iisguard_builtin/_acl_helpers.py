"""NTFS helpers for the ACL and HOST packs: write-class rights, ACE principals by SID, content roots.

ACL rules judge "nothing broader than the baseline": they look for allow ACEs that grant a
write-class right to a principal outside an allowed set, compared by principal key (SID where
known). A missing ACE, an extra deny ACE or any other narrowing never fails (RULES.md §5.1).
Paths are compared with `Snapshot.path_key`, so `%SystemDrive%\\inetpub` and `C:\\inetpub` match.
"""

from __future__ import annotations

import fnmatch
import hashlib
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from iisguard import Snapshot, identities, sids
from iisguard import rights as _rights

is_write_class = _rights.is_write_class

# Who may hold any right on IIS system folders (KB981949).
ADMIN_SIDS = frozenset({sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.TRUSTED_INSTALLER})


def ace_key(snap: Snapshot, ace: Mapping[str, Any]) -> str:
    """The ACE's principal key: its SID, else the SID the principal's name resolves to, else a name key."""
    sid = ace.get("sid")
    if sid and sids.is_sid(str(sid)):
        return sids.normalize_sid(str(sid))
    return str(snap.principals.key(str(ace.get("principal") or "")))


def allow_aces(acl: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    for ace in (acl or {}).get("aces") or []:
        if ace.get("type", "allow") == "allow":
            yield ace


def inherit_only(ace: Mapping[str, Any]) -> bool:
    return "IO" in (ace.get("inheritance") or [])


def ace_text(ace: Mapping[str, Any]) -> str:
    """An ACE the way icacls prints it: `Everyone:(OI)(CI)(M)`."""
    flags = "".join(f"({f})" for f in ace.get("inheritance") or [])
    inherited = "(I)" if ace.get("inherited") else ""
    who = str(ace.get("principal") or ace.get("sid") or "")
    if sids.is_sid(who):  # SDDL and secedit captures name well-known principals by SID
        who = sids.name_of(sids.normalize_sid(who)) or who
    return f"{who}:{inherited}{flags}({','.join(ace.get('rights') or [])})"


def write_aces(
    snap: Snapshot, acl: Mapping[str, Any] | None, allowed: Iterable[str], *, creator_owner_ok: bool = True
) -> list[Mapping[str, Any]]:
    """Allow ACEs granting a write-class right to a principal whose key is not in `allowed`."""
    ok = set(allowed)
    out = []
    for ace in allow_aces(acl):
        if not is_write_class(ace.get("rights") or []):
            continue
        key = ace_key(snap, ace)
        if key in ok or (creator_owner_ok and key == sids.CREATOR_OWNER):
            continue
        out.append(ace)
    return out


@dataclass
class ContentRoot:
    """A folder IIS serves content from, with every site/application/virtual directory that uses it."""

    path: str  # as written in the configuration (first use)
    key: str  # Snapshot.path_key
    acl: dict[str, Any] | None
    uses: list[str] = field(default_factory=list)  # "Site/app/vdir" paths
    pools: list[dict[str, Any]] = field(default_factory=list)
    app_roots: bool = False  # true when it is the root folder of an application

    @property
    def resource(self) -> str:
        return f"acls/{self.acl['path'] if self.acl else self.path}"


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
                root.uses.append(f"{site['name']}{app_path}{'' if vpath == '/' else vpath}")
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


def relative(key: str, root_key: str) -> str:
    return key[len(root_key) :].lstrip("\\")


def under_patterns(rel: str, patterns: Iterable[str]) -> bool:
    """Whether a path relative to a content root lies in one of the allow-listed folders (globs)."""
    parts = rel.split("\\") if rel else []
    pats = [str(p).replace("/", "\\").strip("\\").casefold() for p in patterns]
    for i in range(1, len(parts) + 1):
        prefix = "\\".join(parts[:i])
        if any(fnmatch.fnmatchcase(prefix, p) for p in pats):
            return True
    return False


def worker_keys_of(snap: Snapshot, pools: Iterable[dict[str, Any]]) -> dict[str, str]:
    """principal key -> what it is, for every principal whose grants reach these pools' workers (not SYSTEM)."""
    out: dict[str, str] = {}
    for pool in pools:
        ident = identities.pool_identity(snap, pool)
        if (
            ident.key != sids.LOCAL_SYSTEM
        ):  # SYSTEM can write everything anyway; IIS-POOL-001 reports the pool
            out.setdefault(ident.key, f"the identity of pool '{pool['name']}' ({ident.name})")
        if not pool.get("manual_group_membership"):
            out.setdefault(sids.IIS_IUSRS, "IIS_IUSRS (in every worker's token)")
    return out


def key_file_prefixes(container: str) -> tuple[str, str]:
    """File-name prefixes (before `_<MachineGuid>`) of a machine key container: (CryptoAPI, CNG).

    CryptoAPI keeps `iisWasKey` in Crypto\\RSA\\MachineKeys\\76944fb3…_<guid>, CNG keeps `IISCngWasKey`
    in Crypto\\Keys\\597367cc…_<guid>: the MD5 of the lower-cased name plus a NUL (ANSI for
    CryptoAPI, UTF-16LE for CNG), printed as four little-endian 32-bit words.
    """
    name = container.casefold() + "\0"

    def words(data: bytes) -> str:
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        return "".join(f"{w:08x}" for w in struct.unpack("<4I", digest))

    return words(name.encode("latin-1", "replace")), words(name.encode("utf-16-le"))


def leaf(path: str) -> str:
    return path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
