"""NTFS ACLs as rules judge them: each ACE's principal key, what it grants, and allow-listed folders.

ACL rules judge "nothing broader than the baseline": allow ACEs that grant a write-class right to a
principal outside an allowed set, compared by principal key (SID where known). Paths are compared
with `Snapshot.path_key`, so `%SystemDrive%\\inetpub` and `C:\\inetpub` match.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import iis, rights, sids

if TYPE_CHECKING:
    from .snapshot import Snapshot

# Who may hold any right on IIS system folders (KB981949).
ADMIN_SIDS = frozenset({sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.TRUSTED_INSTALLER})


def ace_key(snap: Snapshot, ace: Mapping[str, Any]) -> str:
    """The ACE's principal key: its SID, else the key its principal's name resolves to."""
    sid, principal = ace.get("sid"), ace.get("principal")
    known = _ace_keys(snap)
    try:
        return known[principal if sid is None else (sid, principal)]
    except KeyError:
        found = known[principal if sid is None else (sid, principal)] = _ace_key(snap, sid, principal)
        return found
    except TypeError:  # a value that cannot be a dictionary key (the schema allows only strings)
        return _ace_key(snap, sid, principal)


def _ace_key(snap: Snapshot, sid: Any, principal: Any) -> str:
    if sid and sids.is_sid(str(sid)):
        return sids.normalize_sid(str(sid))
    return snap.accounts.key(str(principal or ""))


def _ace_keys(snap: Snapshot) -> dict[Any, str]:
    """principal (without a SID) or (sid, principal) -> principal key, per snapshot: 100,000 ACLs
    name a few thousand principals."""
    memo = snap._memo.get("ace_key")
    if memo is None:
        memo = snap._memo["ace_key"] = {}
    return memo


def grants_write(ace: Mapping[str, Any]) -> bool:
    """An ACE whose rights let the holder write, delete, or change permissions/owner."""
    return rights.is_write_class(ace.get("rights") or [])


def access(ace: Mapping[str, Any]) -> str:
    """`full`, `modify`, `write`, `read` or `none` for an ACE's rights."""
    return rights.access_level(ace.get("rights") or [])


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


def write_grants(snap: Snapshot, acl: Mapping[str, Any] | None) -> tuple[tuple[Mapping[str, Any], str], ...]:
    """The allow ACEs of an ACL that grant a write-class right, each with its principal key, in ACL
    order. Remembered per snapshot: five rules ask it of every content folder's ACL, and the per-ACE
    work (rights, principal keys) was most of their time on a large host. Once `write_grants_by_path`
    is built, an ACL of `Snapshot.acls_by_path` is answered from it."""
    if acl is None:
        return ()
    memo = snap._memo
    by_path = memo.get("write_grants_by_path")
    if by_path is not None:
        path = acl.get("path")
        if isinstance(path, str):
            key = snap.path_key(path)
            if snap.acls_by_path.get(key) is acl:
                return by_path[key]
    known = memo.get("write_grants")  # id(acl) -> (acl, its grants): the ACL kept alive with its id
    if known is None:
        known = memo["write_grants"] = {}
    hit = known.get(id(acl))
    if hit is not None and hit[0] is acl:
        return hit[1]
    found = _write_grants(snap, ((None, acl),), {})[None]
    known[id(acl)] = (acl, found)
    return found


Grants = tuple[tuple[Mapping[str, Any], str], ...]


def write_grants_by_path(snap: Snapshot) -> Mapping[str, Grants]:
    """`write_grants` of every ACL in `Snapshot.acls_by_path`, by the same path key; worked out in one
    pass and remembered per snapshot. For rules that walk thousands of captured folders: a lookup
    here costs a tenth of a call to `write_grants` (100,000 ACLs on a large host). Do not modify."""
    found = snap._memo.get("write_grants_by_path")
    if found is None:
        explicit: dict[str, Grants] = {}
        found = snap._memo["write_grants_by_path"] = _write_grants(snap, snap.acls_by_path.items(), explicit)
        snap._memo["explicit_write_grants_by_path"] = explicit
    return found


def explicit_write_grants_by_path(snap: Snapshot) -> Mapping[str, Grants]:
    """The grants of `write_grants_by_path` that are not inherited (ACEs without `inherited: true`),
    only for the paths that have one, in the same order; worked out in the same pass and remembered.
    For rules looking for a grant set on a folder itself among thousands of captured folders (on a
    large host about one in fifteen has one). Do not modify."""
    found = snap._memo.get("explicit_write_grants_by_path")
    if found is None:
        write_grants_by_path(snap)
        found = snap._memo["explicit_write_grants_by_path"]
    return found


def _write_grants(
    snap: Snapshot, acl_items: Iterable[tuple[Any, Mapping[str, Any]]], explicit: dict[Any, Grants]
) -> dict[Any, Grants]:
    """`write_grants` of each (key, ACL) by its key, in one loop (the call per ACL was a third of the
    cost); `explicit` gets the grants that are not inherited, by the same key, for ACLs that have one."""
    # `allow_aces`, `grants_write` and `ace_key` inlined, with what they answer remembered: this runs
    # for each of 500,000 ACEs on a large host, which repeat a few rights lists and principals.
    keys = _ace_keys(snap)
    writes = snap._memo.get("writes")
    if writes is None:
        writes = snap._memo["writes"] = {}
    out: dict[Any, Grants] = {}
    for path, acl in acl_items:
        found = []
        own = None  # the grants that are not inherited, gathered in the same loop
        for ace in acl.get("aces") or ():
            # Subscripts, not .get(): the fields the schema requires, read at a third of the cost. The
            # rights first: 2 ACEs in 5 on a large host grant no write, and need nothing else read.
            try:
                codes = ace["rights"]
                try:
                    (code,) = codes  # one code (nearly every ACE): the code itself, else the tuple of them
                except ValueError:
                    code = tuple(codes)
                try:
                    write = writes[code]
                except KeyError:
                    write = writes[code] = bool(codes) and rights.is_write_class(codes)
                if not write or ace["type"] != "allow":
                    continue
                principal = ace["principal"]
                ref = principal if "sid" not in ace else (ace["sid"], principal)
                try:
                    key = keys[ref]
                except KeyError:
                    key = keys[ref] = _ace_key(snap, ace.get("sid"), principal)
            except (KeyError, TypeError):  # not what the schema says, or a value that cannot be a
                judged = _grant_key(snap, ace)  # dictionary key (an unvalidated snapshot): no caches
                if judged is None:
                    continue
                key = judged
            grant = (ace, key)
            found.append(grant)
            if not ace.get("inherited"):
                if own is None:
                    own = [grant]
                else:
                    own.append(grant)
        if found:
            out[path] = tuple(found)
            if own is not None:
                explicit[path] = tuple(own)
        else:
            out[path] = ()
    return out


ContentFolder = tuple[str, str, Mapping[str, Any], Grants, str]


def content_folder_grants(snap: Snapshot) -> Sequence[ContentFolder]:
    """(path key, content root key, ACL, `write_grants`, the ACL's `path` as captured) of every folder
    and file of `iis.content_folders`, in the same order (`Snapshot.acls_by_path`'s ACL for a path
    captured twice); worked out once per snapshot, in one walk alongside `acls_by_path`. For rules
    judging each of the 90,000 captured paths below the content roots of a large host: their lookups
    by path key in three 100,000-entry dicts, and reading each ACL's path again (each a cache miss),
    were a third of their time. Do not modify."""
    found: Sequence[ContentFolder] | None = snap._memo.get("content_folder_grants")
    if found is None:
        folders = iis.content_folders(snap)
        out: list[ContentFolder] = []
        pending = iter(folders.items())
        want, root = next(pending, (None, ""))
        # `content_folders` and `write_grants_by_path` follow `acls_by_path`'s order: one pass over the
        # three, the folders picked out as they come (no lookup by key).
        for (key, acl), grants in zip(
            snap.acls_by_path.items(), write_grants_by_path(snap).values(), strict=True
        ):
            if key == want:
                out.append((key, root, acl, grants, acl["path"]))
                want, root = next(pending, (None, ""))
        if len(out) != len(folders):  # not in step (cannot happen while the three are built as they are)
            by_path, grants_of = snap.acls_by_path, write_grants_by_path(snap)
            out = [
                (key, root, by_path[key], grants_of[key], by_path[key]["path"])
                for key, root in folders.items()
            ]
        found = snap._memo["content_folder_grants"] = tuple(out)
    return found


def _grant_key(snap: Snapshot, ace: Mapping[str, Any]) -> str | None:
    """The principal key of an allow ACE granting a write-class right, else None (no cache: for ACEs
    that are not what the schema says)."""
    if ace.get("type", "allow") != "allow" or not ace.get("rights") or not grants_write(ace):
        return None
    return _ace_key(snap, ace.get("sid"), ace.get("principal"))


def keys_ending(snap: Snapshot, suffix: str) -> list[str]:
    """The keys of `Snapshot.acls_by_path` that end with `suffix` (a path key's spelling: lower case,
    backslashes), in that order. One search of all keys at once (`_keys_text`): rules looking for a
    few folders by name among 100,000 captured paths spent a Python test on each."""
    text = _keys_text(snap) if suffix and "\n" not in suffix else None
    if text is None:
        return [key for key in snap.acls_by_path if key.endswith(suffix)]
    found = []
    needle = suffix + "\n"
    at = text.find(needle)
    while at >= 0:
        end = at + len(suffix)
        found.append(text[text.rfind("\n", 0, at) + 1 : end])
        at = text.find(needle, end + 1)
    return found


def keys_below(snap: Snapshot, folder: str) -> list[str]:
    """The keys of `Snapshot.acls_by_path` strictly below the folder whose path key is `folder`, in
    that order; one search of all keys at once, as `keys_ending`."""
    text = _keys_text(snap) if "\n" not in folder else None
    below = folder + "\\"
    if text is None:
        return [key for key in snap.acls_by_path if key.startswith(below)]
    found = []
    needle = "\n" + below
    at = text.find(needle)
    while at >= 0:
        end = text.find("\n", at + 1)
        found.append(text[at + 1 : end])
        at = text.find(needle, end)
    return found


def _keys_text(snap: Snapshot) -> str | None:
    """Every key of `Snapshot.acls_by_path`, each between two newlines, remembered per snapshot; None
    when a key holds a newline itself (then callers test each key)."""
    memo = snap._memo.get("keys_text")
    if memo is None:
        keys = snap.acls_by_path
        text = "\n".join(keys)
        ok = not keys or text.count("\n") == len(keys) - 1
        memo = snap._memo["keys_text"] = {"text": f"\n{text}\n" if ok else None}
    return memo["text"]


def write_aces(
    snap: Snapshot, acl: Mapping[str, Any] | None, allowed: Iterable[str], *, creator_owner_ok: bool = True
) -> list[Mapping[str, Any]]:
    """Allow ACEs granting a write-class right to a principal whose key is not in `allowed`."""
    ok = set(allowed)
    if creator_owner_ok:
        ok.add(sids.CREATOR_OWNER)
    return [ace for ace, key in write_grants(snap, acl) if key not in ok]


def under_patterns(rel: str, patterns: Iterable[str]) -> bool:
    """Whether a path relative to a content root lies in one of the allow-listed folders (globs)."""
    return folder_matcher(patterns)(rel)


def folder_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """`under_patterns` with the globs compiled once: a function of the relative path that remembers
    its answers (for a rule judging thousands of folders, which share their parent folders)."""
    match = _globs(tuple(str(p) for p in patterns))
    if match is None:
        return _never
    known: dict[str, bool] = {}

    def under(rel: str) -> bool:  # rel or one of its parent folders matches
        found = known.get(rel)
        if found is not None:
            return found
        chain = [rel]  # rel and the parents not judged yet, deepest first
        while True:
            head, sep, _ = chain[-1].rpartition("\\")
            if not sep:
                found = False
                break
            above = known.get(head)
            if above is not None:
                found = above
                break
            chain.append(head)
        for path in reversed(chain):
            found = known[path] = found or match(path) is not None
        return found

    def matcher(rel: str) -> bool:
        if not rel:  # the content root itself (`under` may know "" as the parent of `\\x`)
            return False
        found = known.get(rel)
        return under(rel) if found is None else found

    return matcher


def _never(rel: str) -> bool:
    return False


@lru_cache(maxsize=256)
def _globs(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None] | None:
    """One compiled expression for the allow-listed folders (fnmatchcase of any), None for none."""
    pats = [p.replace("/", "\\").strip("\\").casefold() for p in patterns]
    if not pats:
        return None
    return re.compile("|".join(fnmatch.translate(p) for p in pats)).match


def worker_keys_of(snap: Snapshot, pools: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """principal key -> what it is, for every principal whose grants reach these pools' workers (not SYSTEM)."""
    out: dict[str, str] = {}
    for at in pools:
        pool = snap.pools.get(at.get("name"))
        if pool is None:
            continue
        if (
            pool.identity.key != sids.LOCAL_SYSTEM
        ):  # SYSTEM can write everything anyway; IIS-POOL-001 reports it
            out.setdefault(pool.identity.key, f"the identity of pool '{pool.name}' ({pool.identity.name})")
        if sids.IIS_IUSRS in pool.worker:
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
