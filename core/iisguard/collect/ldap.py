"""AD facts over LDAP, from the machine running iisguard (the second hop avoided, not delegated).

For the accounts a host's snapshot names (its computer account, pool and service accounts from
the domain) and the domain controllers, the collector reads the attributes the capture script's AD
part reads (capture.ps1, Get-AccountFacts) - by allow-list: never `description` or any free text,
which in real directories carry passwords - and writes them as an AD capture folder in the
script's own layout (ad/account-*.json, ad/dc-*.json, ad/domain-controllers.json, ad/domain.json,
capture.yaml naming the host). `iisguard import SERVER-CAPTURE AD-CAPTURE` merges it: its `ad`
section replaces the server's "not collected".

ldap3 (pure Python) is an optional extra, `pip install 'iisguard[ldap]'`: only this path needs it.
TLS is required - LDAPS (ldaps://, port 636) or StartTLS on ldap:// (389) - with the server
certificate verified against the system CA store or --ca-bundle; a simple bind in clear text would
hand the password to the network, and DCs requiring LDAP signing refuse it anyway.
"""

from __future__ import annotations

import json
import os
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_bytes
from ..errors import CollectionError, UsageError
from ..model import names
from .credentials import Credentials

EXTRA = "pip install 'iisguard[ldap]'"
# What capture.ps1's Get-AccountFacts asks for, and nothing else.
ATTRIBUTES = (
    "sAMAccountName",
    "distinguishedName",
    "objectClass",
    "objectSid",
    "userAccountControl",
    "servicePrincipalName",
    "msDS-AllowedToDelegateTo",
    "msDS-AllowedToActOnBehalfOfOtherIdentity",
    "msDS-SupportedEncryptionTypes",
    "pwdLastSet",
    "lastLogonTimestamp",
    "adminCount",
    "memberOf",
    "dNSHostName",
    "primaryGroupID",
)
MULTI = frozenset({"objectClass", "servicePrincipalName", "memberOf", "msDS-AllowedToDelegateTo"})
INTEGERS = frozenset(
    {"userAccountControl", "msDS-SupportedEncryptionTypes", "pwdLastSet", "lastLogonTimestamp", "adminCount",
     "primaryGroupID"}
)  # fmt: skip
RODC_GROUP = 521  # primaryGroupID of a read-only domain controller's account
LOCAL_DOMAINS = frozenset({"nt authority", "builtin", "iis apppool", "nt service", "nt virtual machine", "."})


@dataclass(frozen=True)
class LdapTarget:
    """Where the directory is and how the connection is protected."""

    host: str
    port: int
    ldaps: bool
    ca_bundle: str | None = None
    verify: bool = True
    base_dn: str | None = None
    timeout: float = 30.0

    @property
    def label(self) -> str:
        return f"{'ldaps' if self.ldaps else 'ldap'}://{self.host}:{self.port}"


def make_target(
    url: str,
    *,
    ca_bundle: str | None = None,
    insecure_skip_verify: bool = False,
    base_dn: str | None = None,
    timeout: float = 30.0,
) -> LdapTarget:
    """ldaps://dc01[:636] or ldap://dc01[:389] (StartTLS); anything else is a UsageError."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("ldap", "ldaps"):
        raise UsageError(f"{url}: give the directory as ldaps://DC or ldap://DC (StartTLS)")
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        port_text = tail.lstrip(":")
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise UsageError(f"{url}: no host name")
    ldaps = scheme.lower() == "ldaps"
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise UsageError(f"{url}: the port must be a number from 1 to 65535")
    if ca_bundle and insecure_skip_verify:
        raise UsageError("--ca-bundle and --insecure-skip-verify contradict each other; choose one")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise UsageError(
            "no such file (expected the PEM certificate of the CA that issued the DC's certificate)",
            where=ca_bundle,
        )
    port = int(port_text) if port_text else (636 if ldaps else 389)
    return LdapTarget(host, port, ldaps, ca_bundle, not insecure_skip_verify, base_dn, timeout)


def _ldap3() -> Any:
    try:
        import ldap3
    except ImportError:
        raise UsageError(f"AD over LDAP needs the optional ldap3 package: {EXTRA}") from None
    return ldap3


# -- which accounts -----------------------------------------------------------------------------------
def accounts_for(snapshot: dict[str, Any]) -> tuple[str, list[str]]:
    """(host name, sAMAccountNames to look up): the host's computer account, then every domain account
    the snapshot names (pool identities, virtual directory users, services), as capture.ps1's
    Add-Account picks them."""
    host = str((snapshot.get("host") or {}).get("name") or "")
    if not host:
        raise UsageError("the snapshot names no host")
    out = [host.upper() + "$"]
    for principal in snapshot.get("principals") or []:
        name = str(principal.get("name") or "")
        if "\\" in name:
            domain, sam = name.split("\\", 1)
            if domain.casefold() in LOCAL_DOMAINS or domain.casefold() == host.casefold():
                continue
        elif "@" in name:
            sam = name.split("@", 1)[0]
        else:
            continue
        if principal.get("kind") in ("builtin", "virtual") or names.sid_for(name):
            continue
        if sam and sam.casefold() not in {a.casefold() for a in out}:
            out.append(sam)
    return host, out


# -- binary attributes ----------------------------------------------------------------------------------
def sid_from_bytes(data: bytes, at: int = 0) -> tuple[str, int]:
    """A binary SID (MS-DTYP 2.4.2.2) at `at`: its string form and its length in bytes."""
    revision, count = data[at], data[at + 1]
    authority = int.from_bytes(data[at + 2 : at + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, at + 8)
    return "-".join(["S", str(revision), str(authority), *map(str, subs)]), 8 + 4 * count


def allowed_sids(descriptor: bytes) -> list[str]:
    """The SIDs an ACCESS_ALLOWED ACE of a self-relative security descriptor's DACL names (what
    msDS-AllowedToActOnBehalfOfOtherIdentity means: who may act on behalf of users to this account)."""
    dacl_at = struct.unpack_from("<I", descriptor, 16)[0]
    if not dacl_at:
        return []
    count = struct.unpack_from("<H", descriptor, dacl_at + 4)[0]
    at, out = dacl_at + 8, []
    for _ in range(count):
        kind, _flags, size = struct.unpack_from("<BBH", descriptor, at)
        if kind == 0:  # ACCESS_ALLOWED_ACE_TYPE: mask, then the SID
            out.append(sid_from_bytes(descriptor, at + 8)[0])
        at += size
    return out


def record(raw: dict[str, list[bytes]]) -> dict[str, Any]:
    """One directory entry as capture.ps1's Get-AccountFacts writes it (its JSON keys and shapes)."""
    out: dict[str, Any] = {}
    lowered = {k.casefold(): v for k, v in raw.items()}
    for name in ATTRIBUTES:
        values = lowered.get(name.casefold())
        if not values:
            continue
        if name == "objectSid":
            out["SID"] = sid_from_bytes(values[0])[0]
        elif name == "msDS-AllowedToActOnBehalfOfOtherIdentity":
            out[name] = allowed_sids(values[0])
        elif name in MULTI:
            out[name] = [v.decode("utf-8", "replace") for v in values]
        elif name in INTEGERS:
            out[name] = int(values[0])
        else:
            out[name] = values[0].decode("utf-8", "replace")
    return out


# -- the directory ----------------------------------------------------------------------------------------
def _connect(target: LdapTarget, credentials: Credentials) -> Any:
    ldap3 = _ldap3()
    from ldap3.core.exceptions import LDAPException

    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if target.verify else ssl.CERT_NONE,
        ca_certs_file=target.ca_bundle,
    )
    server = ldap3.Server(
        target.host, port=target.port, use_ssl=target.ldaps, tls=tls, get_info=ldap3.NONE,
        connect_timeout=max(1, int(target.timeout)),
    )  # fmt: skip
    conn = ldap3.Connection(
        server, user=credentials.username, password=credentials.password, authentication=ldap3.SIMPLE,
        raise_exceptions=False, read_only=True, receive_timeout=max(1, int(target.timeout)), auto_referrals=False,
    )  # fmt: skip
    try:
        conn.open()
        if not target.ldaps and not conn.start_tls():
            raise CollectionError(
                f"StartTLS refused ({conn.result.get('description')}); use ldaps:// or enable LDAP over TLS on the DC",
                where=target.label,
            )
        if not conn.bind():
            raise CollectionError(_bind_failure(conn.result), where=target.label)
    except LDAPException as exc:
        raise CollectionError(_explain(exc, target), where=target.label) from None
    return conn


def _bind_failure(result: dict[str, Any]) -> str:
    code = result.get("result")
    if code == 49:
        return "bind rejected (invalidCredentials): wrong user name or password (DOMAIN\\user or user@domain)"
    if code == 8:
        return "bind refused (strongerAuthRequired): the DC requires an encrypted connection"
    return f"bind failed: {result.get('description')} ({code})"


def _explain(exc: BaseException, target: LdapTarget) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return (
            "certificate verification failed; pass --ca-bundle FILE with the CA that issued the DC's "
            "certificate (--insecure-skip-verify only for a lab)"
        )
    if "refused" in text.lower() or "socket connection error" in text.lower():
        return f"cannot connect (nothing answers on port {target.port}: {type(exc).__name__})"
    return f"LDAP error: {type(exc).__name__}: {text[:200]}"


def _search(
    conn: Any, target: LdapTarget, base: str, flt: str, attrs: list[str], scope: str
) -> list[dict[str, Any]]:
    ldap3 = _ldap3()
    ok = conn.search(base, flt, search_scope=getattr(ldap3, scope), attributes=attrs)
    if not ok and conn.result.get("result") not in (0, 32):  # 32: noSuchObject
        raise CollectionError(
            f"search under {base or 'the RootDSE'} failed: {conn.result.get('description')}",
            where=target.label,
        )
    return [e for e in conn.response or [] if e.get("type") == "searchResEntry"]


def capture(
    snapshot: dict[str, Any], target: LdapTarget, credentials: Credentials, out_dir: str | os.PathLike[str]
) -> dict[str, Any]:
    """Query the directory for the snapshot's accounts and write an AD capture folder; its manifest."""
    from ldap3.utils.conv import escape_filter_chars

    host, accounts = accounts_for(snapshot)
    conn = _connect(target, credentials)
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    out = Path(out_dir)

    def save(rel: str, value: Any, facts: dict[str, Any]) -> None:
        write_bytes(out / rel, json.dumps(value, indent=1).encode("utf-8"))
        files.append({"path": rel, "kind": "ad", **facts})

    try:
        base = target.base_dn
        if not base:
            root = _search(
                conn,
                target,
                "",
                "(objectClass=*)",
                ["defaultNamingContext", "configurationNamingContext"],
                "BASE",
            )
            attrs = root[0]["raw_attributes"] if root else {}
            found = attrs.get("defaultNamingContext") or []
            if not found:
                raise CollectionError(
                    "the RootDSE names no defaultNamingContext; pass --base-dn", where=target.label
                )
            base = found[0].decode("utf-8")
            config = (attrs.get("configurationNamingContext") or [b""])[0].decode("utf-8")
        else:
            config = ""
        # as the script's manifest says it: LDAP returns only attributes with a value, so an attribute
        # asked for and absent is unset (the ad parser's `ad_requested`), not uncaptured
        facts: dict[str, Any] = {"ad_requested": ",".join(ATTRIBUTES)}
        if config:
            part = _search(
                conn, target, "CN=Partitions," + config,
                f"(nCName={escape_filter_chars(base)})", ["nETBIOSName", "dnsRoot"], "SUBTREE",
            )  # fmt: skip
            if part:
                raw = part[0]["raw_attributes"]
                netbios = (raw.get("nETBIOSName") or [b""])[0].decode("utf-8")
                if netbios:
                    facts["netbios_domain"] = netbios
                    save(
                        "ad/domain.json",
                        {"NetBIOSName": netbios, "DNSRoot": (raw.get("dnsRoot") or [b""])[0].decode("utf-8")},
                        {},
                    )
        for sam in accounts:
            hits = _search(
                conn,
                target,
                base,
                f"(sAMAccountName={escape_filter_chars(sam)})",
                list(ATTRIBUTES),
                "SUBTREE",
            )
            if not hits:
                problems.append(f"account not found: {sam}")
                continue
            save(f"ad/account-{_safe(sam)}.json", [record(hits[0]["raw_attributes"])], facts)
        dcs = _search(
            conn,
            target,
            "OU=Domain Controllers," + base,
            "(objectClass=computer)",
            list(ATTRIBUTES),
            "SUBTREE",
        )
        listing = []
        for hit in dcs:
            rec = record(hit["raw_attributes"])
            name = str(rec.get("sAMAccountName", "")).rstrip("$")
            listing.append({"Name": name, "HostName": rec.get("dNSHostName", ""), "IsReadOnly": rec.get("primaryGroupID") == RODC_GROUP,
                            "ComputerObjectDN": rec.get("distinguishedName", "")})  # fmt: skip
            save(f"ad/dc-{_safe(name)}.json", [rec], facts)
        if listing:
            save("ad/domain-controllers.json", listing, facts)
        else:
            problems.append("no domain controller found under OU=Domain Controllers")
    finally:
        conn.unbind()
    section = {"name": "ad", "status": "partial" if problems else "ok"}
    if problems:
        section["message"] = "; ".join(problems)
    manifest = {
        "host": host,
        "tool": "iisguard collect-ad (LDAP)",
        "files": files,
        "sections": [section],
    }
    write_bytes(out / "capture.yaml", json.dumps(manifest, indent=1).encode("utf-8"))
    return manifest


def _safe(name: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in '\\/:*?"<>|%' or ord(c) < 32 else c for c in name)
