"""Effective IIS and ASP.NET settings per server, site, application and pool, with schema defaults.

`snap.setting(section, attribute, scope)` answers "what value does IIS apply here, and where was it
set?": the entry of `iis.settings` nearest to the scope (the capture resolved `<location>`,
`inheritInChildApplications`, web.config overrides and locks when it wrote them, see
`iisguard.capture.settings`), else the default IIS applies when nothing sets the attribute, else
"unknown" when the configuration that would say was not captured. Scopes are configuration paths
("" the server, "Default Web Site", "Default Web Site/app"); for `system.applicationHost/sites` the
site name, for `system.applicationHost/applicationPools` the pool name ("" is siteDefaults and
applicationPoolDefaults). Attributes of nested elements are written with slashes
(`requestLimits/maxUrl`, `processModel/idleTimeout`); collections are named the same way
(`fileExtensions`; "" for a section whose own children are the items, such as staticContent).

A value comes back as IIS wrote it (a string); `Setting.flag()`, `.number()`, `.seconds()` and
`.flags()` read it as the schema types it. Lookups walk up the path: O(depth) per question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..drafts import draft_of

if TYPE_CHECKING:
    from .snapshot import Snapshot

WEB_SERVER = "system.webServer"
SYSTEM_WEB = "system.web"
SITES = "system.applicationHost/sites"
POOLS = "system.applicationHost/applicationPools"
LOG = "system.applicationHost/log"
GLOBAL_MODULES = "system.webServer/globalModules"
REQUEST_FILTERING = "system.webServer/security/requestFiltering"
# Sections whose scopes are names (a site, a pool), not configuration paths.
NAMED_SECTIONS = (SITES, POOLS)

# What IIS 10 applies when nothing sets an attribute. Sources: %windir%\system32\inetsrv\config\schema\
# IIS_schema.xml (defaultValue= of each attribute), as documented per element in the IIS configuration
# reference (https://learn.microsoft.com/iis/configuration/); ASP.NET sections from ASPNET_schema.xml and
# the .NET Framework 4.x configuration reference (machine.config ships none of these set).
DEFAULTS: dict[str, dict[str, str]] = {
    REQUEST_FILTERING: {
        "allowDoubleEscaping": "false",
        "allowHighBitCharacters": "true",  # a STIG/CIS deviation from Microsoft's default (V-218756, CIS 4.4)
        "removeServerHeader": "false",  # IIS 10 version 1709 and later
        "requestLimits/maxAllowedContentLength": "30000000",
        "requestLimits/maxUrl": "4096",
        "requestLimits/maxQueryString": "2048",
        "fileExtensions/allowUnlisted": "true",
        "verbs/allowUnlisted": "true",
    },
    "system.webServer/directoryBrowse": {"enabled": "false"},
    "system.webServer/httpErrors": {"errorMode": "DetailedLocalOnly", "existingResponse": "Auto"},
    "system.webServer/httpLogging": {"dontLog": "false", "selectiveLogging": "LogAll"},
    "system.webServer/security/access": {"sslFlags": "None"},
    "system.webServer/security/isapiCgiRestriction": {
        "notListedIsapisAllowed": "false",
        "notListedCgisAllowed": "false",
    },
    "system.webServer/security/dynamicIpSecurity": {
        "denyByConcurrentRequests/enabled": "false",
        "denyByRequestRate/enabled": "false",
    },
    "system.webServer/handlers": {"accessPolicy": "Read"},
    "system.webServer/asp": {"session/keepSessionIdSecure": "true"},
    "system.webServer/webdav/authoring": {"enabled": "false"},
    "system.webServer/proxy": {"enabled": "false"},  # Application Request Routing, when installed
    "system.webServer/httpProtocol": {},
    "system.webServer/staticContent": {},
    "system.ftpServer/security/authentication": {"denyByFailure/enabled": "false"},
    "system.web/compilation": {"debug": "false"},
    "system.web/customErrors": {"mode": "RemoteOnly"},
    "system.web/trace": {"enabled": "false", "localOnly": "true"},
    "system.web/deployment": {"retail": "false"},
    "system.web/sessionState": {
        "mode": "InProc",
        "cookieless": "UseCookies",
        "timeout": "20",  # minutes
        "compressionEnabled": "false",
        "regenerateExpiredSessionId": "true",
    },
    "system.web/httpCookies": {"requireSSL": "false", "httpOnlyCookies": "false"},
    "system.web/authentication": {
        "mode": "Windows",
        "forms/requireSSL": "false",
        "forms/cookieless": "UseDeviceProfile",
        "forms/protection": "All",
    },
    "system.web/machineKey": {"validation": "HMACSHA256", "decryption": "Auto"},  # .NET 4.5 and later
    "system.web/trust": {"level": "Full"},
    "system.web/httpRuntime": {"enableVersionHeader": "true"},
    SITES: {
        "logFile/enabled": "true",
        "logFile/logFormat": "W3C",
        "logFile/period": "Daily",
        "logFile/logTargetW3C": "File",
        "logFile/directory": "%SystemDrive%\\inetpub\\logs\\LogFiles",
        # IIS 8.5 added TimeTaken and Referer to the IIS 7 default (WMI LogFile class: ClientIP, Date,
        # HttpStatus, HttpSubStatus, Method, ServerIP, ServerPort, Time, UriQuery, UriStem, UserAgent,
        # UserName, Win32Status).
        "logFile/logExtFileFlags": "Date, Time, ClientIP, UserName, ServerIP, Method, UriStem, UriQuery, "
        "HttpStatus, Win32Status, TimeTaken, ServerPort, UserAgent, Referer, HttpSubStatus",
        "limits/maxBandwidth": "4294967295",
        "limits/maxConnections": "4294967295",
        "limits/connectionTimeout": "00:02:00",
        "hsts/enabled": "false",
        "hsts/max-age": "0",
        "hsts/includeSubDomains": "false",
        "hsts/redirectHttpToHttps": "false",
        "ftpServer/security/ssl/controlChannelPolicy": "SslRequire",
        "ftpServer/security/ssl/dataChannelPolicy": "SslRequire",
    },
    POOLS: {
        "queueLength": "1000",
        "managedRuntimeVersion": "v4.0",
        "processModel/idleTimeout": "00:20:00",
        "recycling/periodicRestart/time": "1.05:00:00",
        "recycling/periodicRestart/requests": "0",
        "recycling/periodicRestart/memory": "0",
        "recycling/periodicRestart/privateMemory": "0",
        # IIS 10 changed this default to every configurable event (IIS configuration reference, <recycling>).
        "recycling/logEventOnRecycle": "Time, Requests, Schedule, Memory, IsapiUnhealthy, OnDemand, "
        "ConfigChange, PrivateMemory",
        "failure/rapidFailProtection": "true",
        "failure/rapidFailProtectionInterval": "00:05:00",
        "failure/rapidFailProtectionMaxCrashes": "5",
    },
    LOG: {
        "centralLogFileMode": "Site",
        "centralW3CLogFile/enabled": "true",
        "centralW3CLogFile/period": "Daily",
        "centralW3CLogFile/logExtFileFlags": "Date, Time, ClientIP, UserName, ServerIP, Method, UriStem, "
        "UriQuery, HttpStatus, Win32Status, TimeTaken, ServerPort, UserAgent, Referer, HttpSubStatus",
    },
    GLOBAL_MODULES: {},
}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")


@lru_cache(maxsize=4096)
def as_bool(value: str | None) -> bool | None:
    """ "true"/"1"/"yes"/"on" -> True, "false"/"0"/"no"/"off" -> False (any case), else None. Remembered
    per string, as `as_flags`: rules ask a flag of each of thousands of sites and pools."""
    if value is None:
        return None
    v = value.strip().casefold()
    return True if v in _TRUE else False if v in _FALSE else None


@lru_cache(maxsize=4096)
def as_int(value: str | None) -> int | None:
    """A whole number written as digits, else None. Remembered per string, as `as_bool`."""
    if value is None:
        return None
    v = value.strip()
    return int(v) if v.isdigit() else None


@lru_cache(maxsize=4096)
def as_seconds(value: str | None, *, minutes: bool = False) -> float | None:
    """A TimeSpan ("1.05:00:00", "00:20:00") in seconds; a bare number is minutes when `minutes`.

    Remembered per string, as `as_flags` (thousands of pools repeat the same few time-outs)."""
    if value is None:
        return None
    v = value.strip()
    if v.isdigit():
        return int(v) * (60 if minutes else 1)
    m = _SPAN.match(v)
    if not m:
        return None
    days, hours, mins, secs = (int(g) if g else 0 for g in m.groups())
    return float(((days * 24 + hours) * 60 + mins) * 60 + secs)


_FLAG_SEPARATOR = re.compile(r"[,|]")


@lru_cache(maxsize=4096)
def as_flags(value: str | None) -> frozenset[str]:
    """ "Ssl, SslNegotiateCert" -> {"ssl", "sslnegotiatecert"} (casefolded).

    Remembered per string: a host of thousands of sites repeats the same few flag lists (logExtFileFlags,
    sslFlags), and rules ask for each flag of them."""
    if not value:
        return _NO_FLAGS
    return frozenset(p.strip().casefold() for p in _FLAG_SEPARATOR.split(value) if p.strip())


_NO_FLAGS: frozenset[str] = frozenset()
_UNSEEN: Any = object()  # a cache's "not asked yet" (None is an answer)


@dataclass(frozen=True, slots=True)
class Setting:
    """One attribute's effective value at a scope.

    `source` is "configured" (a captured file sets it; `evidence` is that line), "default" (nothing
    sets it: the IIS schema default applies) or "unknown" (the configuration was not captured).
    """

    section: str
    attribute: str
    scope: str
    value: str | None
    source: str
    evidence: Mapping[str, Any] | None = None
    entry: Mapping[str, Any] | None = None  # the iis.settings[] entry in force (None: none)
    pointer: str | None = None  # JSON pointer of that entry
    fallback: Mapping[str, Any] | None = None  # an object that shows where the scope is defined

    @property
    def known(self) -> bool:
        return self.source != "unknown"

    @property
    def configured(self) -> bool:
        return self.source == "configured"

    @property
    def at(self) -> Mapping[str, Any] | None:
        """What a finding points at: the line that sets the value, else the section or scope that lacks it."""
        if self.evidence is not None:
            return {"evidence": self.evidence}
        if self.entry is not None:
            return self.entry
        return self.fallback

    @property
    def where(self) -> str:
        """ "(set on line 12 of web.config)" / "(not set: the IIS default)", for messages."""
        if self.evidence:
            return f"(set on line {self.evidence.get('line')} of {_file(self.evidence)})"
        return "(not set: the IIS default)" if self.source == "default" else "(not captured)"

    def flag(self) -> bool | None:
        return as_bool(self.value)

    def number(self) -> int | None:
        return as_int(self.value)

    def seconds(self, *, minutes: bool = False) -> float | None:
        # The keyword only when given: lru_cache builds a slower key for a call with keywords.
        return as_seconds(self.value, minutes=True) if minutes else as_seconds(self.value)

    def flags(self) -> frozenset[str]:
        return as_flags(self.value)


@dataclass(frozen=True)
class Item:
    """One item of a merged collection (a <mimeMap>, an <add fileExtension=...>)."""

    key: str
    attributes: Mapping[str, str]
    evidence: Mapping[str, Any] | None

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attributes.get(name, default)


@dataclass(frozen=True, slots=True)
class Collection:
    """A collection's effective items at a scope; `known` is False when the configuration was not captured."""

    section: str
    name: str
    scope: str
    items: tuple[Item, ...]
    known: bool
    entry: Mapping[str, Any] | None = None
    pointer: str | None = None
    fallback: Mapping[str, Any] | None = None

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    @property
    def at(self) -> Mapping[str, Any] | None:
        return self.entry if self.entry is not None else self.fallback


# Lookups build a Setting per question (140,000 on a large host) and a Collection per site or pool: the
# generated frozen __init__ sets each field through object.__setattr__ (~2 us); they are built as
# drafts instead (iisguard.drafts), the class called where the interpreter refuses that.
_new = object.__new__
_SETTING_DRAFT, _COLLECTION_DRAFT = draft_of(Setting), draft_of(Collection)


def _setting(
    section: str,
    attribute: str,
    scope: str,
    value: str | None,
    source: str,
    evidence: Mapping[str, Any] | None,
    entry: Mapping[str, Any] | None,
    pointer: str | None,
    fallback: Mapping[str, Any] | None,
) -> Setting:
    """Setting(...) with every field given, built as a draft (see above)."""
    if _SETTING_DRAFT is None:  # pragma: no cover
        return Setting(section, attribute, scope, value, source, evidence, entry, pointer, fallback)
    s: Any = _new(_SETTING_DRAFT)
    s.section = section
    s.attribute = attribute
    s.scope = scope
    s.value = value
    s.source = source
    s.evidence = evidence
    s.entry = entry
    s.pointer = pointer
    s.fallback = fallback
    s.__class__ = Setting
    return s  # typed Any: no typing.cast, a Python call per lookup


def _collection(
    section: str,
    name: str,
    scope: str,
    items: tuple[Item, ...],
    known: bool,
    entry: Mapping[str, Any] | None,
    pointer: str | None,
    fallback: Mapping[str, Any] | None,
) -> Collection:
    """Collection(...) with every field given, built as a draft (see above)."""
    if _COLLECTION_DRAFT is None:  # pragma: no cover
        return Collection(section, name, scope, items, known, entry, pointer, fallback)
    c: Any = _new(_COLLECTION_DRAFT)
    c.section = section
    c.name = name
    c.scope = scope
    c.items = items
    c.known = known
    c.entry = entry
    c.pointer = pointer
    c.fallback = fallback
    c.__class__ = Collection
    return c


def _file(evidence: Mapping[str, Any]) -> str:
    return str(evidence.get("artifact") or "?").replace("\\", "/").rsplit("/", 1)[-1]


# A (section, scope)'s attributes, defaults, entry, pointer and fallback (see Settings._resolve).
_Resolved = tuple[
    Mapping[str, Any], Mapping[str, str], "Mapping[str, Any] | None", "str | None", "Mapping[str, Any] | None"
]


class Settings:
    """The index over `iis.settings`, built once per snapshot (`snap.settings`)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        iis = snap.iis
        self.entries: list[dict[str, Any]] = iis.get("settings") or []
        self.sources: Mapping[str, Any] = iis.get("settings_sources") or {}
        self._index: dict[str, dict[str, int]] = {}  # section -> location key -> entry number
        self._scopes: dict[str, list[str]] = {}
        for i, e in enumerate(self.entries):
            section = str(e.get("section") or "")
            location = str(e.get("location") or "")
            self._index.setdefault(section, {})[location.casefold().strip("/")] = i
            self._scopes.setdefault(section, []).append(location)
        self._sites = {str(s.get("name") or "").casefold(): s for s in snap.sites}
        self._aspnet = {str(p).casefold() for p in self.sources.get("aspnet_paths") or ()}
        # Rules ask every section of the same few thousand scopes: each scope's site and pool and
        # whether a section was captured are worked out once.
        self._site_of: dict[str, Mapping[str, Any] | None] = {}
        self._pool_of: dict[str, Mapping[str, Any] | None] = {}
        self._pointers: dict[int, str] = {}
        self._inheriting: dict[str, list[str]] = {}
        self._site_names: list[tuple[str, str]] | None = None  # (name, casefolded) of every site
        self._items: dict[tuple[str, str], tuple[Item, ...]] = {}  # (pointer, collection) -> items
        self._resolved: dict[str, dict[str, _Resolved]] = {}  # section -> scope -> see _resolve
        self._captured: dict[str, bool] = {}
        self._collections: dict[tuple[str, str, str], Collection] = {}
        self._judged: dict[str, tuple[str, ...]] = {}  # section -> scopes()

    # -- what was captured ---------------------------------------------------------------------
    def captured(self, section: str) -> bool:
        """Whether the files that hold this section were read, so that an absent attribute is the default."""
        known = self._captured.get(section)
        if known is None:
            known = self._captured[section] = self._read(section)
        return known

    def _read(self, section: str) -> bool:
        if section.startswith(SYSTEM_WEB + "/"):
            # ASP.NET settings live in web.config files: with the web_configs section collected, an
            # application without a captured web.config has none (the capture script saves every one).
            return self.snap.section_status("web_configs") == "ok" and bool(self.sources)
        whole = self.sources.get("applicationhost")
        if whole == "whole":
            return True
        return whole == "fragment" and section in (self.sources.get("sections") or ())

    # -- lookups -------------------------------------------------------------------------------
    def entry(self, section: str, scope: str = "") -> tuple[int, dict[str, Any]] | None:
        """The iis.settings entry in force at a scope (its index and itself), or None."""
        index = self._index.get(section)
        if index:
            key = scope.strip("/").casefold()
            while True:  # the scope's key, then each ancestor's, ending with the server ("")
                i = index.get(key)
                if i is not None:
                    return i, self.entries[i]
                if not key:
                    return None
                key = key.rpartition("/")[0]
        return None

    def _fallback(self, section: str, scope: str) -> Mapping[str, Any] | None:
        # Looked up with a marker, not a KeyError: the first question of each of 10,000 scopes misses.
        if section == POOLS:
            pool = self._pool_of.get(scope, _UNSEEN)
            if pool is _UNSEEN:
                pool = self._pool_of[scope] = self.snap.pool(scope)
            return pool
        site = self._site_of.get(scope, _UNSEEN)
        if site is _UNSEEN:
            site = self._site_of[scope] = self._sites.get(scope.strip("/").split("/", 1)[0].casefold())
        return site

    def get(self, section: str, attribute: str, scope: str = "") -> Setting:
        """The effective value of one attribute at a scope (see the module docstring)."""
        # .get, not a KeyError: a large host's first question of each (section, scope) misses (28,000).
        by_scope = self._resolved.get(section)
        found = None if by_scope is None else by_scope.get(scope)
        attributes, defaults, entry, pointer, fallback = found or self._resolve(section, scope)
        attr = attributes.get(attribute)
        if attr is not None:
            return _setting(
                section, attribute, scope, attr.get("value"), "configured", attr.get("evidence"),
                entry, pointer, fallback,
            )  # fmt: skip
        default = defaults.get(attribute)
        if default is not None:
            return _setting(section, attribute, scope, default, "default", None, entry, pointer, fallback)
        return _setting(section, attribute, scope, None, "unknown", None, entry, pointer, fallback)

    def lookup(
        self, section: str, attribute: str, scope: str = ""
    ) -> tuple[str | None, str, Mapping[str, Any] | None, Mapping[str, Any] | None, str | None]:
        """`get`'s `(value, source, evidence, at, pointer)` without building the Setting.

        For a rule that judges thousands of scopes by a few distinct values: it compares these and asks
        `get` only for a value it has not judged yet (a Setting per question is most of such a loop)."""
        by_scope = self._resolved.get(section)
        found = None if by_scope is None else by_scope.get(scope)
        attributes, defaults, entry, pointer, fallback = found or self._resolve(section, scope)
        attr = attributes.get(attribute)
        if (
            attr is not None
        ):  # as get(): the attribute set, else the default, else unknown; `at` as Setting.at
            evidence = attr.get("evidence")
            if evidence is not None:
                return attr.get("value"), "configured", evidence, {"evidence": evidence}, pointer
            return attr.get("value"), "configured", None, entry if entry is not None else fallback, pointer
        default = defaults.get(attribute)
        return (
            default,
            "unknown" if default is None else "default",
            None,
            entry if entry is not None else fallback,
            pointer,
        )

    def _resolve(self, section: str, scope: str) -> _Resolved:
        """What `get` needs of a (section, scope), worked out once: rules ask several attributes of each
        of a large host's thousands of sites and pools, and several rules ask the same section."""
        found = self.entry(section, scope)
        if found is None:
            attributes: Mapping[str, Any] = {}
            entry, pointer = None, None
        else:
            i, entry = found
            attributes, pointer = entry.get("attributes") or {}, self._pointer(i)
        # Defaults apply only where the files that would set the attribute were read.
        defaults = DEFAULTS.get(section, {}) if self.captured(section) else {}
        resolved = (attributes, defaults, entry, pointer, self._fallback(section, scope))
        self._resolved.setdefault(section, {})[scope] = resolved
        return resolved

    def _pointer(self, i: int) -> str:
        """ "/iis/settings/<i>", one string per entry however many lookups land on it."""
        pointer = self._pointers.get(i)
        if pointer is None:
            pointer = self._pointers[i] = f"/iis/settings/{i}"
        return pointer

    def items(self, section: str, collection: str = "", scope: str = "") -> Collection:
        """The effective items of a collection at a scope (one Collection per question: several rules ask
        the same collection of every site)."""
        key = (section, collection, scope)
        found = self._collections.get(key)
        if found is None:
            found = self._collections[key] = self._collection(section, collection, scope)
        return found

    def _collection(self, section: str, collection: str, scope: str) -> Collection:
        by_scope = self._resolved.get(section)
        found = None if by_scope is None else by_scope.get(scope)
        _, _, entry, pointer, fallback = found or self._resolve(section, scope)
        if entry is None or pointer is None:
            # No entry: the collection is empty as far as the captured files say (the schema's
            # collections have no default items), if those files were read at all.
            return _collection(section, collection, scope, (), self.captured(section), None, None, fallback)
        raw = (entry.get("collections") or {}).get(collection)
        if not raw:
            items: tuple[Item, ...] = ()
        else:
            # Built once per entry: the server's customHeaders or mimeMaps are asked of every site.
            items = self._items.get((pointer, collection))  # type: ignore[assignment]
            if items is None:
                items = self._items[(pointer, collection)] = tuple(
                    Item(str(r.get("key", "")), r.get("attributes") or {}, r.get("evidence")) for r in raw
                )
        return _collection(section, collection, scope, items, True, entry, pointer, fallback)

    def configured_scopes(self, section: str) -> list[str]:
        """Locations with an entry for the section (where its value differs from the parent's)."""
        return list(self._scopes.get(section, ()))

    def scopes(self, section: str) -> list[str]:
        """The scopes a rule judges: the server (""; siteDefaults for the sites section), then every site,
        application or configured path whose value for the section differs from its parent's. A site
        that sets nothing inherits the server's value and is judged with it (`inheriting`), so a host
        of thousands of identical sites gets one result, not thousands. Every pool for applicationPools.
        """
        found = self._judged.get(section)
        if found is None:
            found = self._judged[section] = tuple(self._judged_scopes(section))
        return list(found)

    def _judged_scopes(self, section: str) -> list[str]:
        # Worked out once per section (some twenty rules ask for the sites section's 5,000 scopes).
        if section == POOLS:
            return [p["name"] for p in self.snap.app_pools]
        out = [""]
        seen = {""}
        for location in self._scopes.get(section, ()):
            if location.casefold() not in seen:
                seen.add(location.casefold())
                out.append(location)
        return out

    def inheriting(self, section: str) -> list[str]:
        """The sites with no value of their own for the section: the server's value is theirs."""
        sites = self._inheriting.get(section)
        if sites is None:
            if self._site_names is None:
                self._site_names = [
                    (str(s.get("name")), str(s.get("name") or "").casefold()) for s in self.snap.sites
                ]
            own = {loc.casefold().split("/", 1)[0] for loc in self._scopes.get(section, ()) if loc}
            sites = self._inheriting[section] = [name for name, key in self._site_names if key not in own]
        return list(sites)
