"""Load, validate and save snapshots, and the read-only view (with indexes) that rules use."""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import schemas
from ..atomic import file_kind
from ..errors import SnapshotError
from . import jsonpos

if TYPE_CHECKING:
    from .accounts import Accounts
    from .features import Features
    from .iis import ContentRoot, IisPrincipal, Locations, Pools
    from .kerberos import Kerberos
    from .registry import Registry
    from .settings import Setting, Settings
    from .tls import Tls
    from .userrights import UserRights

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://iisguard.dev/schema/snapshot-1.0.json"
SUPPORTED_VERSIONS = ("1.0",)
# Large shared-hosting snapshots run to a few hundred MB; above this a file is almost surely not a snapshot.
MAX_SNAPSHOT_BYTES = int(os.environ.get("IISGUARD_MAX_SNAPSHOT_BYTES", str(1024 * 1024 * 1024)))
# The sections a collection reports on (collection.sections[].name), and the data each one fills.
SECTION_KEYS = {
    "iis": "iis",
    "user_rights": "user_rights",
    "tokens": "tokens",
    "acls": "acls",
    "principals": "principals",
    "spns": "spns",
    "local_accounts": "principals",
    "services": "services",
    "ad": "ad",
    "web_configs": "aspnet",
    "registry": "registry",  # SCHANNEL, .NET strong crypto, HTTP.sys, WMSvc values (reg query)
    "features": "windows_features",  # installed roles and role services (Get-WindowsFeature)
}
SECTIONS: tuple[str, ...] = tuple(SECTION_KEYS)
# collection.source of a snapshot read from build scripts (capture/scripts/), not from a server.
DECLARED = "declared"


def schema() -> dict[str, Any]:
    """The snapshot JSON Schema shipped in the package."""
    return schemas.bundled(SCHEMA_ID)


@cache
def _fast_validator() -> Callable[[Any], bool]:
    """`is_valid(data)` at compiled speed (on a 145 MB snapshot jsonschema-rs takes 0.3 s, fastjsonschema 3 s)."""
    return schemas.compiled(schema())


@contextmanager
def gc_paused() -> Iterator[None]:
    """Large JSON documents allocate millions of containers; the cyclic GC would rescan them all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _loads(raw: bytes) -> Any:
    try:
        import orjson

        return orjson.loads(raw)
    except ImportError:  # pragma: no cover - orjson is optional
        return json.loads(raw)


def read_json(path: str | os.PathLike[str], *, limit: int = MAX_SNAPSHOT_BYTES) -> tuple[Any, bytes]:
    """Read and parse a JSON file, turning every failure into a SnapshotError naming the file."""
    p = Path(path)
    try:
        st = p.stat()
        size = st.st_size
        if p.is_dir():
            raise SnapshotError("is a directory, not a snapshot file", where=str(p))
        if not stat.S_ISREG(st.st_mode):
            # A FIFO would block the scan forever and /dev/zero never ends: refused before any read.
            raise SnapshotError(f"not a regular file ({file_kind(st.st_mode)}); refused", where=str(p))
        if size > limit:
            raise SnapshotError(
                f"file is {size:,} bytes, over the {limit:,}-byte limit for a snapshot "
                "(set IISGUARD_MAX_SNAPSHOT_BYTES to raise it)",
                where=str(p),
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SnapshotError("no such file", where=str(p)) from None
    except OSError as exc:
        raise SnapshotError(f"cannot read: {exc.strerror or exc}", where=str(p)) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    with gc_paused():
        try:
            data = _loads(raw)
        except ValueError as exc:
            line, col = _json_error_position(raw, exc)
            raise SnapshotError(f"not valid JSON ({_short(exc)})", where=f"{p}:{line}:{col}") from None
    return data, raw


def _short(exc: Exception) -> str:
    return str(exc).split(": line")[0].split(" (line")[0]


def _json_error_position(raw: bytes, exc: ValueError) -> tuple[int, int]:
    # orjson and json both raise JSONDecodeError subclasses with lineno/colno; recompute with json to be sure.
    if isinstance(exc, json.JSONDecodeError) and exc.lineno:
        return exc.lineno, exc.colno
    try:
        json.loads(raw.decode("utf-8", "replace"))
    except json.JSONDecodeError as e:
        return e.lineno, e.colno
    return 1, 1


class ValidationProblem:
    __slots__ = ("pointer", "message", "line")

    def __init__(self, pointer: str, message: str, line: int) -> None:
        self.pointer, self.message, self.line = pointer, message, line

    def format(self, path: str) -> str:
        return f"{path}:{self.line}: {self.pointer or '/'}: {self.message}"


def check_version(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise SnapshotError(
            f"a snapshot is a JSON object, this file holds a {type(data).__name__}", where=where
        )
    version = data.get("schema_version")
    if version is None:
        raise SnapshotError("no schema_version: this is not an iisguard snapshot", where=where)
    if (
        isinstance(version, (int, float))
        and not isinstance(version, bool)
        and str(version) in SUPPORTED_VERSIONS
    ):
        raise SnapshotError(
            f'schema_version must be the string "{version}", not the number {version} (write "schema_version": "{version}")',
            where=where,
        )
    if version not in SUPPORTED_VERSIONS:
        raise SnapshotError(
            f"schema_version {version!r} is not supported (this iisguard reads {', '.join(SUPPORTED_VERSIONS)})",
            where=where,
        )


def problems(data: Any, text: str | None = None) -> list[ValidationProblem]:
    """Every schema violation, with its JSON pointer and (when the text is given) its line."""
    if _fast_validator()(data):
        return []
    validator = schemas.validator(schema(), formats=True)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(x) for x in e.absolute_path])
    pointers = [jsonpos.pointer(*e.absolute_path) for e in errors]
    lines = jsonpos.lines_of(text, pointers) if text is not None else {}
    return [ValidationProblem(p, _plain(e), lines.get(p, 1)) for p, e in zip(pointers, errors, strict=True)]


def warnings(data: Mapping[str, Any], text: str | None = None) -> list[ValidationProblem]:
    """What the schema allows but cannot be right (`iisguard validate` prints them as warnings): an
    application whose pool the snapshot does not have, a `sid` that is not a SID (S-1-BOGUS)."""
    from . import sids

    found: list[tuple[str, str]] = []
    iis: Mapping[str, Any] = data["iis"] if isinstance(data.get("iis"), Mapping) else {}
    pools = iis.get("app_pools")
    if isinstance(pools, list) and pools:
        names = {str(p.get("name", "")).casefold() for p in pools if isinstance(p, Mapping)}
        for i, site in enumerate(iis.get("sites") or []):
            for j, app in enumerate(site.get("applications") or [] if isinstance(site, Mapping) else []):
                pool = app.get("app_pool") if isinstance(app, Mapping) else None
                if isinstance(pool, str) and pool.casefold() not in names:
                    where = f"{site.get('name', '')}{app.get('path') or '/'}"
                    found.append(
                        (jsonpos.pointer("iis", "sites", i, "applications", j, "app_pool"),
                         f"application '{where}' uses application pool '{pool}', which is not in iis.app_pools")
                    )  # fmt: skip
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:  # every "sid" anywhere (principals, pool identities, ACEs, user rights)
        value, at = stack.pop()
        if isinstance(value, Mapping):
            for k, v in value.items():
                if k == "sid" and isinstance(v, str) and v and not sids.is_sid(v):
                    found.append((jsonpos.pointer(*at, k), f"{v!r} is not a SID (S-1-<authority>-<numbers>)"))
                elif isinstance(v, (Mapping, list)):
                    stack.append((v, (*at, k)))
        elif isinstance(value, list):
            stack.extend((v, (*at, i)) for i, v in enumerate(value) if isinstance(v, (Mapping, list)))
    found.sort(key=lambda f: f[0])
    lines = jsonpos.lines_of(text, [p for p, _ in found]) if text is not None and found else {}
    return [ValidationProblem(p, m, lines.get(p, 1)) for p, m in found]


def item_problems(key: str, item: Any, index: int) -> list[ValidationProblem]:
    """Schema problems of item `index` of the top-level array `key` (for items streamed to a file)."""
    if _item_validator(key)(item):
        return []
    validator = schemas.validator(_item_schema(key), formats=True)
    return [
        ValidationProblem(jsonpos.pointer(key, index, *e.absolute_path), _plain(e), 1)
        for e in validator.iter_errors(item)
    ]


@cache
def _item_schema(key: str) -> dict[str, Any]:
    full = schema()
    return {"$schema": full["$schema"], "$defs": full.get("$defs", {}), **full["properties"][key]["items"]}


@cache
def _item_validator(key: str) -> Callable[[Any], bool]:
    return schemas.compiled(_item_schema(key))


def _plain(error: Any) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field(s)")
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    return _unquoted(error.message, error.instance)


def _unquoted(message: str, instance: Any) -> str:
    """The message without the offending value: a password pasted where {present, ...} belongs
    must not be printed back. Strings, objects and arrays are described, never shown."""
    if isinstance(instance, str):
        what = f"a string of {len(instance)} character(s)"
    elif isinstance(instance, dict):
        what = f"an object with {len(instance)} field(s)"
    elif isinstance(instance, list):
        what = f"an array of {len(instance)} item(s)"
    else:
        return str(message)
    return str(message).replace(repr(instance), what)


_FROZEN_BEFORE = False  # whether load() ran in this process (and froze what was alive then)


def load(path: str | os.PathLike[str], *, validate: bool = True) -> Snapshot:
    """Read a snapshot file; every problem is a SnapshotError naming the file (and line)."""
    where = str(path)
    # A snapshot scanned before this one (a fleet) may be cyclic garbage by now: collect it before
    # the freeze below, which would otherwise keep it forever (cheap: frozen objects are not walked).
    # Before the first one there is none: a collection would only walk every object of the program
    # (10-20 ms).
    global _FROZEN_BEFORE
    if _FROZEN_BEFORE:
        gc.collect()
    _FROZEN_BEFORE = True
    data, raw = read_json(path)
    check_version(data, where)
    if validate:
        found = problems(data, None)
        if found:
            text = raw.decode("utf-8", "replace")
            lines = jsonpos.lines_of(text, [p.pointer for p in found])
            first = found[0]
            more = (
                f" (and {len(found) - 1} more problem(s); run `iisguard validate {where}`)"
                if len(found) > 1
                else ""
            )
            raise SnapshotError(
                f"{first.pointer or '/'}: {first.message}{more}",
                where=f"{where}:{lines.get(first.pointer, 1)}",
            )
    # The snapshot's millions of containers hold no cycles: move them out of the cyclic GC's view, or
    # every later collection rescans them all (seconds per scan).
    gc.freeze()
    return Snapshot(data, path=where)


def dumps(data: Mapping[str, Any]) -> str:
    # orjson writes the same bytes as json.dumps(indent=2) ~25x faster (a 5,000-site snapshot: 1 s, not 26 s).
    try:
        import orjson

        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode("utf-8")
    except (ImportError, TypeError):  # orjson absent, or a value it does not serialise (huge ints)
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def save(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write `data` atomically, byte for byte as `dumps` would, without ever holding the whole text.

    A snapshot's bytes are 30-50 times the captures they come from (a 20-byte one-line application
    pool is about 1 KB of JSON): serializing it whole, then decoding and encoding it again, tripled
    the import's peak memory at the end (issue #18, case 7). Each large array item is serialized on
    its own (see `_encode`).
    """
    from ..atomic import write_chunks

    write_chunks(path, itertools.chain(_encode(data, 0), (b"\n",)))


# Containers opened piece by piece when writing: the top-level object and the objects in it (iis,
# collection), and the arrays down to iis.app_pools / iis.sites. Below that, one item (a pool, a site,
# an ACL, a principal) is serialized whole: the largest single piece held at once.
_STREAM_DICTS = 2
_STREAM_LISTS = 3


def _encode(value: Any, level: int) -> Iterator[bytes]:
    """`value` at nesting `level` as orjson's OPT_INDENT_2 writes it there, in pieces."""
    pad = b"\n" + b"  " * level
    if isinstance(value, dict) and value and level < _STREAM_DICTS:
        sep = b"{"
        for k, v in value.items():
            yield sep + pad + b"  " + _dump(k) + b": "
            sep = b","
            yield from _encode(v, level + 1)
        yield pad + b"}"
    elif isinstance(value, list) and value and level < _STREAM_LISTS:
        sep = b"["
        for item in value:
            yield sep + pad + b"  "
            sep = b","
            yield from _encode(item, level + 1)
        yield pad + b"]"
    else:
        text = _dump(value)
        yield text.replace(b"\n", pad) if level else text  # newlines inside JSON strings are escaped


def save_streamed(
    data: Mapping[str, Any], path: str | os.PathLike[str], key: str, items: Iterable[Any]
) -> None:
    """Write `data` as `save` does, with the array `data[key]` given by `items`, streamed one by one.

    For an import whose ACLs do not fit in memory: the bytes are those `save` writes for the same
    content, and one item at a time is serialized.
    """
    from ..atomic import write_chunks

    write_chunks(path, _chunks(data, key, items))


def _chunks(data: Mapping[str, Any], key: str, items: Iterable[Any]) -> Iterator[bytes]:
    sep = b"{\n"
    for k, value in data.items():
        yield sep + b"  " + _dump(k) + b": "
        sep = b",\n"
        if k != key:
            yield _dump(value).replace(b"\n", b"\n  ")  # newlines inside JSON strings are escaped
            continue
        opened = False
        for item in items:
            yield (b",\n    " if opened else b"[\n    ") + _dump(item).replace(b"\n", b"\n    ")
            opened = True
        yield b"\n  ]" if opened else b"[]"
    yield b"\n}\n" if sep == b",\n" else b"{}\n"


def _dump(value: Any) -> bytes:
    """One value as `dumps` writes it at the top level (indent 2)."""
    try:
        import orjson

        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except (ImportError, TypeError):
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def find_snapshot_files(paths: Iterable[str]) -> list[str]:
    """Expand directories (recursively) to the *.json files in them, in a stable order.

    A folder holding capture.yaml is a capture folder (raw `ConvertTo-Json` output, not snapshots)
    and is skipped, so a host folder with its captures beside its snapshot scans as that snapshot.
    """
    out: list[str] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found: list[Path] = []
            for folder, dirs, files in os.walk(p):
                if "capture.yaml" in files and Path(folder) != p:
                    dirs.clear()
                    continue
                found.extend(Path(folder) / f for f in files if f.endswith(".json"))
            out.extend(str(f) for f in sorted(found) if f.is_file())
        else:
            out.append(item)
    return out


def norm_name(name: str) -> str:
    return name.strip().casefold()


def norm_path(path: str) -> str:
    """Case-insensitive, backslash, no trailing separator, environment variables kept as written."""
    p = path.strip().replace("/", "\\").rstrip("\\")
    if p.startswith("\\\\?\\"):
        p = p[4:]
    return p.casefold()


# Where a default Windows install keeps these; a snapshot's `host.environment` overrides them.
DEFAULT_ENVIRONMENT: dict[str, str] = {
    "systemdrive": "C:",
    "systemroot": "%SystemDrive%\\Windows",
    "windir": "%SystemRoot%",
    "programfiles": "%SystemDrive%\\Program Files",
    "programfiles(x86)": "%SystemDrive%\\Program Files (x86)",
    "programdata": "%SystemDrive%\\ProgramData",
    "allusersprofile": "%ProgramData%",
    "public": "%SystemDrive%\\Users\\Public",
}
_ENV_VAR = re.compile(r"%([^%\\/]+)%")


def environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The default environment with a host's own values on top, keys case-folded, values fully expanded."""
    raw = dict(DEFAULT_ENVIRONMENT)
    raw.update({str(k).casefold(): str(v) for k, v in (overrides or {}).items() if v})
    out: dict[str, str] = {}
    for key, value in raw.items():
        for _ in range(5):  # values refer to each other (%windir% -> %SystemRoot% -> %SystemDrive%)
            expanded = _ENV_VAR.sub(lambda m: raw.get(m.group(1).casefold(), m.group(0)), value)
            if expanded == value:
                break
            value = expanded
        out[key] = value
    return out


_DEFAULT_ENV = environment()


def expand_path(path: str, env: Mapping[str, str] | None = None) -> str:
    """Expand %SystemDrive%, %windir%, … (case-insensitively); unknown variables stay as written.

    `env` is the result of `environment()`; without it, a default install's values are used.
    """
    values = _DEFAULT_ENV if env is None else env
    return _ENV_VAR.sub(lambda m: values.get(m.group(1).casefold(), m.group(0)), path)


def canon_path(path: str, env: Mapping[str, str] | None = None) -> str:
    """The one way to compare Windows paths: variables expanded, then `norm_path`.

    `%SystemDrive%\\inetpub\\wwwroot`, `C:\\inetpub\\wwwroot\\` and `c:/INETPUB/wwwroot` give the same key.
    """
    # A path without `%` has no variable to expand (skips the regex: 100,000 ACL paths on a large host).
    return norm_path(expand_path(path, env) if "%" in path else path)


class Snapshot:
    """A loaded snapshot: the raw data plus indexes by SID, name and path, built once on first use."""

    def __init__(self, data: dict[str, Any], path: str | None = None) -> None:
        self.data = data
        self.path = path

    def release(self) -> None:
        """Forget the indexes and the domain model built on this snapshot (rebuilt if asked again).

        They refer back to the snapshot, a cycle that only the cyclic collector would break: the
        engine releases each snapshot it loaded once its rules ran, so the document is freed at once.
        """
        kept = {"data": self.data, "path": self.path}
        vars(self).clear()
        vars(self).update(kept)

    # --- basic facts ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return str(self.data.get("host", {}).get("name") or "unknown")

    @property
    def iis(self) -> dict[str, Any]:
        return self.data.get("iis") or {}

    @property
    def app_pools(self) -> list[dict[str, Any]]:
        return self.iis.get("app_pools") or []

    @property
    def sites(self) -> list[dict[str, Any]]:
        return self.iis.get("sites") or []

    @property
    def acls(self) -> list[dict[str, Any]]:
        return self.data.get("acls") or []

    @property
    def user_rights(self) -> dict[str, list[str]]:
        return self.data.get("user_rights") or {}

    @property
    def tokens(self) -> list[dict[str, Any]]:
        return self.data.get("tokens") or []

    @property
    def declared(self) -> bool:
        """Read from build scripts (collection.source `declared`): it states only what the scripts state,
        so a fact it lacks is not stated, not uncollected (rules on it are not_applicable)."""
        return (self.data.get("collection") or {}).get("source") == DECLARED

    def section_status(self, name: str) -> str:
        """`ok`, `partial`, `failed` or `absent`; from collection.sections, else from the data present."""
        for section in self.data.get("collection", {}).get("sections") or []:
            if section.get("name") == name:
                return str(section.get("status"))
        if name == "local_accounts":  # stops at the first local account instead of listing them all
            local = ("local_user", "local_group")
            return (
                "ok" if any(p.get("kind") in local for p in self.data.get("principals") or []) else "absent"
            )
        return "ok" if self.data.get(SECTION_KEYS.get(name, name)) else "absent"

    def has_section(self, name: str) -> bool:
        return self.section_status(name) in ("ok", "partial")

    # --- indexes -------------------------------------------------------------------------------
    @cached_property
    def pools_by_name(self) -> dict[str, dict[str, Any]]:
        return {norm_name(p["name"]): p for p in self.app_pools}

    def pool(self, name: str | None) -> dict[str, Any] | None:
        return self.pools_by_name.get(norm_name(name)) if name else None

    @cached_property
    def environment(self) -> dict[str, str]:
        """%SystemDrive%, %windir%, … for this host: `host.environment` where captured, else a default install's."""
        return environment((self.data.get("host") or {}).get("environment"))

    def path_key(self, path: str) -> str:
        """Comparable key for a Windows path on this host (see `canon_path`)."""
        key = self._path_keys.get(path)  # not try/except: a miss is common (each ACL's path once)
        if key is None:
            key = self._path_keys[path] = canon_path(path, self.environment)
        return key

    @cached_property
    def _path_keys(self) -> dict[str, str]:
        return {}

    @cached_property
    def acls_by_path(self) -> dict[str, dict[str, Any]]:
        """ACLs keyed by `path_key`, so `%SystemDrive%\\inetpub` finds the ACL captured for `C:\\inetpub`."""
        keys, env, out = self._path_keys, self.environment, {}
        for acl in self.acls:  # path_key inlined: 100,000 ACLs on a large host
            path = acl["path"]
            key = keys.get(path)
            if key is None:
                if "%" in path:
                    key = canon_path(path, env)
                else:  # norm_path's steps, inline (two calls per ACL less; tests/test_snapshot_model.py)
                    p = path.strip().replace("/", "\\").rstrip("\\")
                    key = (p[4:] if p.startswith("\\\\?\\") else p).casefold()
                keys[path] = key
            out[key] = acl
        return out

    def acl(self, path: str | None) -> dict[str, Any] | None:
        return self.acls_by_path.get(self.path_key(path)) if path else None

    # --- the domain model, built once per snapshot (see model/accounts, iis, userrights, kerberos) ---
    @cached_property
    def accounts(self) -> Accounts:
        """Every principal, resolved by SID, DOMAIN\\name, UPN, DN or localized name; group membership."""
        from .accounts import Accounts

        return Accounts(self)

    @property
    def principals(self) -> Accounts:
        """The former name of `accounts`."""
        return self.accounts

    @cached_property
    def pools(self) -> Pools:
        """Every application pool (IIS 7+ and IIS 6), with its effective identity and worker principals."""
        from .iis import Pools

        return Pools(self)

    @cached_property
    def locations(self) -> Locations:
        """Sites, applications and configured paths, with effective authentication and anonymous identity."""
        from .iis import Locations

        return Locations(self)

    @cached_property
    def content_roots(self) -> dict[str, ContentRoot]:
        """Folders IIS serves content from, keyed by `path_key`, with the sites and pools using them."""
        from .iis import content_roots

        return content_roots(self)

    @cached_property
    def iis_principals(self) -> dict[str, IisPrincipal]:
        """Principals IIS code runs as (pool identities but LocalSystem, IIS_IUSRS, IUSR, custom users...)."""
        from .iis import iis_principals

        return iis_principals(self)

    @cached_property
    def settings(self) -> Settings:
        """Effective IIS and ASP.NET settings per server, site, application and pool, with schema defaults."""
        from .settings import Settings

        return Settings(self)

    def setting(self, section: str, attribute: str, scope: str = "") -> Setting:
        """The effective value of one setting at a scope: `snap.setting("system.webServer/directoryBrowse",
        "enabled", "Default Web Site")` (see `iisguard.settings`)."""
        return self.settings.get(section, attribute, scope)

    @cached_property
    def privileges(self) -> UserRights:
        """User rights by name (case-insensitive), with holders by key and through groups."""
        from .userrights import UserRights

        return UserRights(self)

    @cached_property
    def kerberos(self) -> Kerberos:
        """Domain identities IIS uses, the ticket-decrypting identity, SPN holders."""
        from .kerberos import Kerberos

        return Kerberos(self)

    @cached_property
    def registry(self) -> Registry:
        """Captured registry values by key and name, and which keys were read (model/registry.py)."""
        from .registry import Registry

        return Registry(self)

    @cached_property
    def tls(self) -> Tls:
        """SCHANNEL protocols and ciphers, cipher suite order, .NET strong crypto (model/tls.py)."""
        from .tls import Tls

        return Tls(self)

    @cached_property
    def features(self) -> Features:
        """Installed Windows roles, role services and features (model/features.py)."""
        from .features import Features

        return Features(self)

    @cached_property
    def collected_at(self) -> datetime | None:
        """When the snapshot was taken: ages are measured from here so a rule stays a pure function."""
        from .iis import parse_time

        return parse_time((self.data.get("collection") or {}).get("collected_at"))

    @cached_property
    def _memo(self) -> dict[str, Any]:
        """Per-snapshot caches of model lookups the rules repeat (acls.write_grants, iis.content_root_of)."""
        return {}

    @cached_property
    def _pointers(self) -> _PointerIndex:
        return _PointerIndex(self.data)

    def prepare(self, sections: Iterable[str]) -> None:
        """Build now the indexes that rules over these sections share, rather than when a rule first
        asks: before forking workers (engine/split.py), which would each build their own (on a
        5,000-site host about 1 s: ACLs by path and their write grants, pools, locations)."""
        wanted = set(sections)
        if "acls" in wanted:
            from .acls import write_grants_by_path

            write_grants_by_path(self)  # with acls_by_path
        if "iis" in wanted:
            self.pools, self.locations, self.content_roots, self.settings  # noqa: B018
        if "principals" in wanted:
            self.accounts  # noqa: B018

    def pointer_of(self, obj: Mapping[str, Any] | None) -> str | None:
        """The JSON pointer of one object of the document (inside an array), else None."""
        if obj is None:
            return None
        if obj is self.data:
            return ""
        return self._pointers.find(obj)

    def pointers_of(self, objects: Iterable[Mapping[str, Any] | None]) -> dict[int, str]:
        """JSON pointers of many objects at once, as ``{id(object): pointer}`` for those in the document.

        What :meth:`pointer_of` answers for each, in one breadth-first walk that indexes nothing
        it was not asked for and stops once every object is found (the engine asks this for all
        of a host's findings: on a 5,000-site host, 1.8 s to index 665,000 objects for
        `pointer_of`, against one pass over the arrays here). The objects must stay alive while
        this runs (their ids are the keys).
        """
        return {
            key: pointer
            for key, (pointer, _) in self.locate({id(o) for o in objects if o is not None}).items()
        }

    def locate(self, ids: set[int]) -> dict[int, tuple[str, Any]]:
        """``{id: (pointer, object)}`` for the objects of the document with these ids (pointers_of's walk).

        The arrays a snapshot is known to hold (OBJECT_ARRAYS) are searched first, at C speed per
        array, with the members of their objects (an `anonymous` inside an authentication entry has
        no pointer); the document is walked only for what is still not found there (on a 5,000-site
        host nothing: 126,000 objects in 0.2 s rather than a 1.2 s walk). A document is a tree, so
        where an object is found first is where it is.

        For ids taken in a process forked from this one (engine/split.py): an object of the document
        has the same id there, and keeps it, since nothing frees the document while rules run.
        """
        wanted = set(ids)
        found: dict[int, tuple[str, Any]] = {}
        data = self.data
        if id(data) in wanted:
            found[id(data)] = ("", data)
            wanted.discard(id(data))
        if wanted and isinstance(data, dict):
            wanted.difference_update(map(id, data.values()))  # the sections: members, no pointer
            for pattern, elements in _SEARCHES:
                if not wanted:
                    break
                _in_arrays(data, pattern, 0, "", wanted, found, elements)
            for pattern in _MEMBERS_ORDER:
                if not wanted:
                    break
                _members(data, pattern, 0, wanted)
        if wanted:
            found.update(self._walk(wanted))
        return found

    def _walk(self, wanted: set[int]) -> dict[int, tuple[str, Any]]:
        """locate() for objects anywhere in the document: breadth first, stopping once all are found."""
        found: dict[int, tuple[str, Any]] = {}
        frontier: list[tuple[Any, str]] = [(self.data, "")]
        text = _dumps()
        while frontier and wanted:
            below: list[tuple[Any, str]] = []
            push = below.append
            hits: dict[int, tuple[str, Any]] = {}
            members: list[int] = []  # wanted objects met as a member of an object: no pointer, no more search
            for value, prefix in frontier:
                if isinstance(value, dict):
                    for k, v in value.items():
                        if isinstance(v, dict):
                            if id(v) in wanted:
                                members.append(id(v))
                            push((v, prefix + "/" + (jsonpos.escape(k) if "~" in k or "/" in k else k)))
                        elif isinstance(v, list) and v and _holds_objects(v):
                            push((v, prefix + "/" + (jsonpos.escape(k) if "~" in k or "/" in k else k)))
                    continue
                if not wanted.isdisjoint(map(id, value)):
                    for i, v in enumerate(value):  # the last of an object listed twice, as pointer_of
                        if id(v) in wanted and isinstance(v, dict):
                            hits[id(v)] = (f"{prefix}/{i}", v)
                if _flat(value, text):
                    continue
                for i, v in enumerate(value):
                    if isinstance(v, dict):
                        push((v, f"{prefix}/{i}"))
            for key, hit in hits.items():
                found[key] = hit
                wanted.discard(key)
            wanted.difference_update(members)  # a document is a tree: an object is in one place
            frontier = below
        return found


# The arrays of objects a snapshot holds (SNAPSHOT.md), `*` standing for each element of an array,
# searched by locate() before any walk; the ACEs last, they are most of a large snapshot's objects.
OBJECT_ARRAYS: tuple[tuple[str, ...], ...] = (
    ("iis", "app_pools"),
    ("iis", "sites"),
    ("iis", "sites", "*", "bindings"),
    ("iis", "sites", "*", "applications"),
    ("iis", "sites", "*", "applications", "*", "virtual_directories"),
    ("iis", "authentication"),
    ("iis", "settings"),
    ("aspnet",),
    ("aspnet", "*", "authorization"),
    ("principals",),
    ("principals", "*", "members"),
    ("tokens",),
    ("tokens", "*", "groups"),
    ("tokens", "*", "privileges"),
    ("services",),
    ("scheduled_tasks",),
    ("spns", "queries"),
    ("spns", "duplicates"),
    ("acls",),
    ("acls", "*", "aces"),
)


def _searches(patterns: tuple[tuple[str, ...], ...]) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The patterns as locate() searches them, each with whether the elements holding its last arrays
    are searched in the same loop: an array followed by its elements' arrays (the ACLs, then their
    ACEs) is one pass over the elements, not two (100,000 ACLs on a large host)."""
    out: list[tuple[tuple[str, ...], bool]] = []
    for pattern in patterns:
        if out and not out[-1][1] and pattern[-2:-1] == ("*",) and pattern[:-2] == out[-1][0]:
            out[-1] = (pattern, True)
        else:
            out.append((pattern, False))
    return tuple(out)


_SEARCHES = _searches(OBJECT_ARRAYS)
# The members the built-in rules point at are an authentication entry's (`anonymous`: IIS-ANON) and a
# web.config entry's (`identity`): their arrays are searched for members first (a search that finds
# none walks every element's members: on a large host 25 ms for the arrays before them).
_MEMBERS_ORDER = (("iis", "authentication"), ("aspnet",)) + tuple(
    p for p in OBJECT_ARRAYS if p not in (("iis", "authentication"), ("aspnet",))
)


def _step(part: str) -> str:
    return "/" + (jsonpos.escape(part) if "~" in part or "/" in part else part)


def _in_arrays(
    value: Any,
    pattern: tuple[str, ...],
    k: int,
    prefix: str,
    wanted: set[int],
    found: dict[int, tuple[str, Any]],
    elements: bool = False,
) -> None:
    """Find wanted objects among the elements of the arrays `pattern` names below `value` (at `prefix`);
    with `elements`, among the elements holding those arrays too (the pattern ends in `*` and a key)."""
    if k == len(pattern):
        if isinstance(value, list) and not wanted.isdisjoint(map(id, value)):
            _hits(value, prefix, wanted, found)
        return
    part = pattern[k]
    if part == "*":
        if not isinstance(value, list):
            return
        if k + 2 == len(pattern):  # each element's array (an ACL's ACEs): one tight loop, no call per element
            key = pattern[k + 1]
            for i, v in enumerate(value):
                if isinstance(v, dict):
                    if elements and id(v) in wanted:  # as _hits: the first place of an object listed twice
                        found[id(v)] = (f"{prefix}/{i}", v)
                        wanted.discard(id(v))
                    array = v.get(key)
                    if isinstance(array, list) and not wanted.isdisjoint(map(id, array)):
                        _hits(array, f"{prefix}/{i}{_step(key)}", wanted, found)
            return
        for i, v in enumerate(value):
            if wanted:
                _in_arrays(v, pattern, k + 1, f"{prefix}/{i}", wanted, found, elements)
    elif isinstance(value, dict):
        v = value.get(part)
        if v is not None:
            _in_arrays(v, pattern, k + 1, prefix + _step(part), wanted, found, elements)


def _hits(array: list[Any], prefix: str, wanted: set[int], found: dict[int, tuple[str, Any]]) -> None:
    for i, v in enumerate(array):
        if id(v) in wanted and isinstance(v, dict):
            found[id(v)] = (f"{prefix}/{i}", v)
            wanted.discard(id(v))


def _members(value: Any, pattern: tuple[str, ...], k: int, wanted: set[int]) -> None:
    """Drop from `wanted` the objects that are members of the elements of the arrays `pattern` names:
    not inside an array, they have no pointer (and, a document being a tree, are nowhere else)."""
    if k == len(pattern):
        if isinstance(value, list):
            for v in value:
                if isinstance(v, dict) and not wanted.isdisjoint(map(id, v.values())):
                    wanted.difference_update(map(id, v.values()))
        return
    part = pattern[k]
    if part == "*":
        if isinstance(value, list):
            for v in value:
                if wanted:
                    _members(v, pattern, k + 1, wanted)
    elif isinstance(value, dict):
        v = value.get(part)
        if v is not None:
            _members(v, pattern, k + 1, wanted)


def _dumps() -> Callable[[Any], bytes] | None:
    try:
        import orjson

        return orjson.dumps
    except ImportError:  # pragma: no cover - orjson is optional
        return None


def _flat(array: list[Any], text: Callable[[Any], bytes] | None) -> bool:
    """Whether no object inside a short array's objects holds another object (then it is not walked):
    orjson counts the braces of its text, and any `{` inside a string only means walking it after all."""
    if text is None or len(array) > 64:
        return False
    try:
        braces = text(array).count(b"{")
    except Exception:  # noqa: BLE001 - a value orjson does not write: walk it
        return False
    objects = list(map(type, array)).count(dict)
    if objects != len(array):
        objects = sum(1 for v in array if isinstance(v, dict))
    return braces == objects


def _holds_objects(array: list[Any]) -> bool:
    """Whether a list holds an object or a list (one that may hold objects); lists of text do not."""
    return isinstance(array[0], (dict, list)) or any(isinstance(v, (dict, list)) for v in array)


class _PointerIndex:
    """id(object) -> JSON pointer for every object inside an array, so findings can point at it.

    Built breadth-first, one depth at a time, only as deep as the objects asked for (ACLs, then
    ACEs). A short array whose objects hold no further objects (an ACL's ACEs: their rights and
    flags are most of a large snapshot's containers) is indexed without walking into them: orjson
    counts the braces of its text, and any `{` inside a string only means walking it after all.
    Pointers are spelled out only for the objects asked for.
    """

    def __init__(self, data: Any) -> None:
        self.index: dict[int, int] = {}  # id(element) -> number of the array holding it
        self.arrays: list[tuple[list[Any], str]] = []  # (array, its pointer)
        self.positions: dict[int, dict[int, int]] = {}  # number of a long array -> id(element) -> index
        self.frontier: list[tuple[Any, str]] = [(data, "")]
        self.text = _dumps()

    def find(self, obj: Any) -> str | None:
        while True:
            number = self.index.get(id(obj))
            if number is not None and isinstance(obj, dict):
                return self._pointer(number, obj)
            if not self.frontier:
                return None
            self._deepen()

    def _pointer(self, number: int, obj: Any) -> str:
        array, prefix = self.arrays[number]
        if len(array) <= 16:
            i = next(i for i in range(len(array) - 1, -1, -1) if array[i] is obj)  # the last, as a walk finds
        else:
            if number not in self.positions:
                self.positions[number] = dict(zip(map(id, array), range(len(array)), strict=True))
            i = self.positions[number][id(obj)]
        return f"{prefix}/{i}"

    def _deepen(self) -> None:
        index, arrays = self.index, self.arrays
        below: list[tuple[Any, str]] = []
        push = below.append
        for value, prefix in self.frontier:
            if isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, dict) or (isinstance(v, list) and v and _holds_objects(v)):
                        push((v, prefix + "/" + (jsonpos.escape(k) if "~" in k or "/" in k else k)))
                continue
            if not value:
                continue
            objects = [v for v in value if isinstance(v, dict)]
            if not objects:
                continue  # only objects are ever asked for: a list of rights or flags is not indexed
            # An object that is not in the document (a rule's own dict) walks the whole snapshot once;
            # indexing only objects keeps that walk to one entry per object, not per value.
            index.update(dict.fromkeys(map(id, objects), len(arrays)))
            arrays.append((value, prefix))
            if self._flat(value):
                continue
            for i, v in enumerate(value):
                if isinstance(v, dict):
                    push((v, f"{prefix}/{i}"))
        self.frontier = below

    def _flat(self, array: list[Any]) -> bool:
        """Whether no object inside the array's objects holds another object (short arrays only)."""
        return _flat(array, self.text)
