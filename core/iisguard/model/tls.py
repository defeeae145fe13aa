"""TLS on the server: SCHANNEL protocols, ciphers, hashes and key exchanges, the cipher suite order,
and .NET Framework strong cryptography, from the captured registry (``model/registry.py``).

Every answer is True, False or None (unknown, so a rule says ``not_reviewed``), with where it came
from (``registry``: a captured value decided it; ``os_default``: the key was read and holds nothing,
so Windows' default for the captured OS build applies; ``unknown``). A value read under a key that
was not captured is never guessed.

Registry semantics (Microsoft, "Transport Layer Security (TLS) registry settings",
learn.microsoft.com/windows-server/security/tls/tls-registry-settings):

- ``SCHANNEL\\Protocols\\<protocol>\\{Server,Client}``: ``Enabled`` 0 disables the protocol, any other
  value enables it; ``DisabledByDefault`` 1 keeps it off unless an application asks for it by name
  (IIS and HTTP.sys ask for the system defaults, so for a web server it is off).
- ``SCHANNEL\\Ciphers\\<cipher>``, ``Hashes\\<hash>``, ``KeyExchangeAlgorithms\\<kex>``: ``Enabled`` 0
  disables, 0xffffffff (any non-zero value) enables.
- The cipher suite order: the Group Policy value ``HKLM\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\
  Configuration\\SSL\\00010002\\Functions`` (SSL Configuration Settings > SSL Cipher Suite Order); the
  local ``...\\Configuration\\Local\\SSL\\00010002`` key holds Windows' own list and configures nothing.
- .NET Framework: ``SchUseStrongCrypto`` and ``SystemDefaultTlsVersions`` (DWORD 1) under
  ``HKLM\\SOFTWARE\\[WOW6432Node\\]Microsoft\\.NETFramework\\v4.0.30319`` and ``v2.0.50727``
  ("Transport Layer Security (TLS) best practices with the .NET Framework",
  learn.microsoft.com/dotnet/framework/network-programming/tls).

Windows defaults per OS build when a protocol key is absent, from Microsoft's "Protocols in TLS/SSL
(Schannel SSP)" (learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-):
TLS 1.0 and 1.1 enabled on Windows Server 2012 through 2022; TLS 1.2 enabled since Windows Server
2012 (disabled on 2008 R2); TLS 1.3 supported and enabled since Windows Server 2022 / Windows 11,
not supported before; SSL 3.0 disabled and SSL 2.0 not supported since Windows 10 1607 / Windows
Server 2016. Builds that table does not settle (later than 20348, where Microsoft is turning TLS 1.0
and 1.1 off by default, and earlier than 9200) give None: a rule says ``not_reviewed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .registry import RegValue

if TYPE_CHECKING:
    from .snapshot import Snapshot

SCHANNEL = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
SUITE_ORDER_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002"
SUITE_ORDER_LOCAL = (
    "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Cryptography\\Configuration\\Local\\SSL\\00010002"
)
DOTNET_VERSIONS = ("v4.0.30319", "v2.0.50727")
DOTNET_VALUES = ("SchUseStrongCrypto", "SystemDefaultTlsVersions")

# Windows Server builds: 2012 9200, 2012 R2 9600, 2016 14393, 2019 17763, 2022 20348.
_FIRST_KNOWN, _LAST_KNOWN = 9200, 20348


def _protocol_default(protocol: str, build: int | None) -> bool | None:
    """Whether `protocol` is on when its key is absent, on this OS build (None when not documented here)."""
    if build is None:
        return None
    if protocol == "SSL 2.0":
        return False if build >= 14393 else None
    if protocol == "SSL 3.0":
        return False if build >= 14393 else (True if build >= _FIRST_KNOWN else None)
    if protocol == "TLS 1.3":
        return build >= 20348 if build <= _LAST_KNOWN else None
    if build < _FIRST_KNOWN or build > _LAST_KNOWN:
        return None
    return True  # TLS 1.0, 1.1, 1.2 on 2012 through 2022


def _cipher_default(cipher: str, build: int | None) -> bool | None:
    """Whether an SCHANNEL cipher is usable with no key, since Windows 10 / Server 2016 (None before).

    NULL, DES and RC2 suites are in no default list; RC4 suites left the default list in Windows 10 /
    Server 2016 ("TLS Cipher Suites in Windows Server 2016", Microsoft Security Advisory 2868725);
    AES and Triple DES suites are in it.
    """
    if build is None or build < 14393:
        return None
    name = cipher.casefold()
    if name.startswith(("null", "des ", "rc2", "rc4")):
        return False
    if name.startswith(("aes", "triple des")):
        return True
    return None


@dataclass(frozen=True)
class Setting:
    """An answer about a setting: `value` (True/False/None), where it came from, the values behind it."""

    value: bool | None
    source: str  # "registry" | "os_default" | "unknown"
    why: str
    evidence: tuple[RegValue, ...] = ()
    query: dict | None = None  # the query that read the key (for a default: where the absence shows)

    @property
    def at(self) -> dict | None:
        """The record of the deciding value, else of the query that found the key without it, or None."""
        return self.evidence[0].record if self.evidence else self.query


class Tls:
    """SCHANNEL and .NET TLS settings of one snapshot (``snap.tls``)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.registry = snap.registry
        build = str(((snap.data.get("host") or {}).get("os") or {}).get("build") or "").strip()
        self.os_build: int | None = int(build) if build.isdigit() else None

    # -- protocols ------------------------------------------------------------------------------
    def protocol(self, protocol: str, side: str = "Server") -> Setting:
        """Whether `protocol` ("TLS 1.0") is usable on `side` ("Server"/"Client") for an application
        asking for the system defaults, as IIS does."""
        key = f"{SCHANNEL}\\Protocols\\{protocol}\\{side}"
        if not self.registry.read(key):
            return Setting(
                None, "unknown", f"the SCHANNEL registry key of {protocol} ({side}) was not captured"
            )
        enabled = self.registry.value(key, "Enabled")
        by_default = self.registry.value(key, "DisabledByDefault")
        e, d = (enabled.as_int() if enabled else None), (by_default.as_int() if by_default else None)
        shown = tuple(v for v in (enabled, by_default) if v is not None)
        if e == 0:
            return Setting(False, "registry", f"{protocol} {side}: Enabled=0", shown)
        if d is not None and d != 0:
            return Setting(False, "registry", f"{protocol} {side}: DisabledByDefault={d}", shown)
        if e is not None:
            return Setting(True, "registry", f"{protocol} {side}: Enabled={_hex(e)}", shown)
        default = _protocol_default(protocol, self.os_build)
        if default is None:
            return Setting(
                None,
                "unknown",
                f"{protocol} {side} has no Enabled value and {self._os()} has no documented default",
                shown,
            )
        state = "enabled" if default else "disabled"
        return Setting(
            default,
            "os_default",
            f"{protocol} {side} has no Enabled value: {state} by default on {self._os()}",
            shown,
            self.registry.query_of(key),
        )

    def protocol_enabled(self, protocol: str, side: str = "Server") -> bool | None:
        """True/False/None: see :meth:`protocol`."""
        return self.protocol(protocol, side).value

    def explicitly_disabled(self, protocol: str, side: str = "Server") -> bool | None:
        """The STIG's reading: Enabled=0 and DisabledByDefault=1 both set (None when the key was not read)."""
        key = f"{SCHANNEL}\\Protocols\\{protocol}\\{side}"
        if not self.registry.read(key):
            return None
        e, d = self.registry.value(key, "Enabled"), self.registry.value(key, "DisabledByDefault")
        return bool(e and d and e.as_int() == 0 and (d.as_int() or 0) != 0)

    def explicitly_enabled(self, protocol: str, side: str = "Server") -> bool | None:
        """Enabled non-zero and DisabledByDefault=0 both set (the STIG's reading for TLS 1.2)."""
        key = f"{SCHANNEL}\\Protocols\\{protocol}\\{side}"
        if not self.registry.read(key):
            return None
        e, d = self.registry.value(key, "Enabled"), self.registry.value(key, "DisabledByDefault")
        return bool(e and d and (e.as_int() or 0) != 0 and d.as_int() == 0)

    # -- ciphers, hashes, key exchanges ----------------------------------------------------------
    def algorithm(self, kind: str, name: str) -> Setting:
        """`kind` is "Ciphers", "Hashes" or "KeyExchangeAlgorithms"; `name` as the key is named ("RC4 128/128")."""
        key = f"{SCHANNEL}\\{kind}\\{name}"
        if not self.registry.read(key):
            return Setting(None, "unknown", f"the SCHANNEL {kind} keys were not captured")
        enabled = self.registry.value(key, "Enabled")
        e = enabled.as_int() if enabled else None
        if e is not None:
            return Setting(
                e != 0, "registry", f"{kind}\\{name}: Enabled={_hex(e)}", (enabled,) if enabled else ()
            )
        default = _cipher_default(name, self.os_build) if kind == "Ciphers" else None
        if default is None:
            return Setting(
                None,
                "unknown",
                f"{kind}\\{name} has no Enabled value and {self._os()} has no documented default here",
            )
        state = "usable" if default else "not in the default cipher suites"
        return Setting(
            default,
            "os_default",
            f"{kind}\\{name} has no Enabled value: {state} by default on {self._os()}",
            (),
            self.registry.query_of(key),
        )

    def cipher_enabled(self, name: str) -> bool | None:
        return self.algorithm("Ciphers", name).value

    def suite_order(self) -> tuple[list[str] | None, str, RegValue | None]:
        """(the configured cipher suite order, "policy"/"local"/"default"/"unknown", the value).

        None as the list when no order is configured (Windows' built-in order) or nothing was read.
        """
        for key, source in ((SUITE_ORDER_POLICY, "policy"), (SUITE_ORDER_LOCAL, "local")):
            value = self.registry.value(key, "Functions")
            if value is not None and value.data:
                data = value.data
                suites = [
                    s.strip()
                    for s in (data if isinstance(data, list) else str(data).split(","))
                    if str(s).strip()
                ]
                return suites, source, value
        if self.registry.read(SUITE_ORDER_POLICY):
            return None, "default", None
        return None, "unknown", None

    # -- .NET Framework ------------------------------------------------------------------------
    def dotnet(self, version: str, name: str, *, wow64: bool = False) -> Setting:
        """A .NET Framework TLS value ("SchUseStrongCrypto") of `version` ("v4.0.30319"), 64-bit or WOW64 view.

        True when set to 1, False when set to 0 or absent from a key that was read (the framework then
        follows the application's target version, which for old targets means SSL 3.0/TLS 1.0), None
        when not read.
        """
        node = "WOW6432Node\\" if wow64 else ""
        key = f"HKLM\\SOFTWARE\\{node}Microsoft\\.NETFramework\\{version}"
        view = "32-bit" if wow64 else "64-bit"
        if not self.registry.read(key):
            return Setting(None, "unknown", f".NET {version} ({view}) registry key was not captured")
        value = self.registry.value(key, name)
        if value is None:
            return Setting(
                False,
                "os_default",
                f".NET {version} ({view}) has no {name} value",
                (),
                self.registry.query_of(key),
            )
        n = value.as_int()
        return Setting(n == 1, "registry", f".NET {version} ({view}) {name}={n}", (value,))

    def dotnet_installed(self, version: str, *, wow64: bool = False) -> bool | None:
        node = "WOW6432Node\\" if wow64 else ""
        return self.registry.exists(f"HKLM\\SOFTWARE\\{node}Microsoft\\.NETFramework\\{version}")

    def _os(self) -> str:
        return (
            f"OS build {self.os_build}" if self.os_build is not None else "an OS build that was not captured"
        )


def _hex(n: int) -> str:
    return f"0x{n:x}" if n > 9 else str(n)
