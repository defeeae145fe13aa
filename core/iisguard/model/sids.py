"""Well-known SIDs and the rule that gives virtual accounts (IIS APPPOOL, NT SERVICE) their SIDs."""

from __future__ import annotations

import hashlib
import re
import struct
from functools import lru_cache

SID_RE = re.compile(r"^\*?(S-1-\d+(?:-\d+)+)$", re.IGNORECASE)

EVERYONE = "S-1-1-0"
CREATOR_OWNER = "S-1-3-0"
ANONYMOUS_LOGON = "S-1-5-7"
AUTHENTICATED_USERS = "S-1-5-11"
IUSR = "S-1-5-17"
LOCAL_SYSTEM = "S-1-5-18"
LOCAL_SERVICE = "S-1-5-19"
NETWORK_SERVICE = "S-1-5-20"
SERVICE = "S-1-5-6"
INTERACTIVE = "S-1-5-4"
NETWORK = "S-1-5-2"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"
GUESTS = "S-1-5-32-546"
POWER_USERS = "S-1-5-32-547"
ACCOUNT_OPERATORS = "S-1-5-32-548"
SERVER_OPERATORS = "S-1-5-32-549"
PRINT_OPERATORS = "S-1-5-32-550"
BACKUP_OPERATORS = "S-1-5-32-551"
REPLICATOR = "S-1-5-32-552"
REMOTE_DESKTOP_USERS = "S-1-5-32-555"
NETWORK_CONFIGURATION_OPERATORS = "S-1-5-32-556"
PERFORMANCE_MONITOR_USERS = "S-1-5-32-558"
PERFORMANCE_LOG_USERS = "S-1-5-32-559"
DISTRIBUTED_COM_USERS = "S-1-5-32-562"
IIS_IUSRS = "S-1-5-32-568"
EVENT_LOG_READERS = "S-1-5-32-573"
CERTIFICATE_SERVICE_DCOM_ACCESS = "S-1-5-32-574"
REMOTE_MANAGEMENT_USERS = "S-1-5-32-580"
TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
ALL_APP_PACKAGES = "S-1-15-2-1"
ALL_RESTRICTED_APP_PACKAGES = "S-1-15-2-2"
ALL_SERVICES = "S-1-5-80-0"  # every service SID (secedit exports it in SeServiceLogonRight)
APPPOOL_PREFIX = "S-1-5-82-"
NT_SERVICE_PREFIX = "S-1-5-80-"

# Domain-relative RIDs (S-1-5-21-<domain>-RID).
RID_DOMAIN_ADMINS = 512
RID_DOMAIN_USERS = 513
RID_DOMAIN_GUESTS = 514
RID_DOMAIN_COMPUTERS = 515
RID_DOMAIN_CONTROLLERS = 516
RID_SCHEMA_ADMINS = 518
RID_ENTERPRISE_ADMINS = 519
RID_KEY_ADMINS = 526
RID_ENTERPRISE_KEY_ADMINS = 527
RID_ADMINISTRATOR = 500

# name (as Windows shows it, in English) -> SID. Lookup is case-insensitive and also by the bare name.
WELL_KNOWN: dict[str, str] = {
    "Everyone": EVERYONE,
    "CREATOR OWNER": CREATOR_OWNER,
    "CREATOR GROUP": "S-1-3-1",
    "NT AUTHORITY\\ANONYMOUS LOGON": ANONYMOUS_LOGON,
    "NT AUTHORITY\\Authenticated Users": AUTHENTICATED_USERS,
    "NT AUTHORITY\\IUSR": IUSR,
    "NT AUTHORITY\\SYSTEM": LOCAL_SYSTEM,
    "NT AUTHORITY\\LOCAL SERVICE": LOCAL_SERVICE,
    "NT AUTHORITY\\NETWORK SERVICE": NETWORK_SERVICE,
    "NT AUTHORITY\\SERVICE": SERVICE,
    "NT AUTHORITY\\INTERACTIVE": INTERACTIVE,
    "NT AUTHORITY\\NETWORK": NETWORK,
    "NT AUTHORITY\\BATCH": "S-1-5-3",
    "NT AUTHORITY\\This Organization": "S-1-5-15",
    "NT AUTHORITY\\Local account": "S-1-5-113",
    "NT AUTHORITY\\Local account and member of Administrators group": "S-1-5-114",
    "NT AUTHORITY\\REMOTE INTERACTIVE LOGON": "S-1-5-14",
    "BUILTIN\\Administrators": ADMINISTRATORS,
    "BUILTIN\\Users": USERS,
    "BUILTIN\\Guests": GUESTS,
    "BUILTIN\\Power Users": POWER_USERS,
    "BUILTIN\\Account Operators": ACCOUNT_OPERATORS,
    "BUILTIN\\Server Operators": SERVER_OPERATORS,
    "BUILTIN\\Print Operators": PRINT_OPERATORS,
    "BUILTIN\\Backup Operators": BACKUP_OPERATORS,
    "BUILTIN\\Replicator": REPLICATOR,
    "BUILTIN\\Remote Desktop Users": REMOTE_DESKTOP_USERS,
    "BUILTIN\\Network Configuration Operators": NETWORK_CONFIGURATION_OPERATORS,
    "BUILTIN\\Performance Monitor Users": PERFORMANCE_MONITOR_USERS,
    "BUILTIN\\Performance Log Users": PERFORMANCE_LOG_USERS,
    "BUILTIN\\Distributed COM Users": DISTRIBUTED_COM_USERS,
    "BUILTIN\\IIS_IUSRS": IIS_IUSRS,
    "BUILTIN\\Event Log Readers": EVENT_LOG_READERS,
    "BUILTIN\\Certificate Service DCOM Access": CERTIFICATE_SERVICE_DCOM_ACCESS,
    "BUILTIN\\Remote Management Users": REMOTE_MANAGEMENT_USERS,
    "NT SERVICE\\TrustedInstaller": TRUSTED_INSTALLER,
    "APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES": ALL_APP_PACKAGES,
    "APPLICATION PACKAGE AUTHORITY\\ALL RESTRICTED APPLICATION PACKAGES": ALL_RESTRICTED_APP_PACKAGES,
    "Mandatory Label\\High Mandatory Level": "S-1-16-12288",
    "Mandatory Label\\Medium Mandatory Level": "S-1-16-8192",
    "Mandatory Label\\System Mandatory Level": "S-1-16-16384",
}
NAME_OF: dict[str, str] = {sid: name for name, sid in WELL_KNOWN.items()}

# Other spellings seen in captures: secedit/SDDL aliases, icacls short names, IIS config names.
_ALIASES: dict[str, str] = {
    "system": LOCAL_SYSTEM,
    "localsystem": LOCAL_SYSTEM,
    "local system": LOCAL_SYSTEM,
    "localservice": LOCAL_SERVICE,
    "networkservice": NETWORK_SERVICE,
    "iusr": IUSR,
    "iis_iusrs": IIS_IUSRS,
    "anonymous logon": ANONYMOUS_LOGON,
    "trustedinstaller": TRUSTED_INSTALLER,
    "nt service\\all services": ALL_SERVICES,  # not SHA-1 of "ALL SERVICES": the service group's own SID
    "all application packages": ALL_APP_PACKAGES,
    "all restricted application packages": ALL_RESTRICTED_APP_PACKAGES,
}

# SDDL two-letter aliases -> SID (domain-relative ones need the domain SID and are left out).
SDDL_ALIASES: dict[str, str] = {
    "WD": EVERYONE,
    "CO": CREATOR_OWNER,
    "CG": "S-1-3-1",
    "AN": ANONYMOUS_LOGON,
    "AU": AUTHENTICATED_USERS,
    "SY": LOCAL_SYSTEM,
    "LS": LOCAL_SERVICE,
    "NS": NETWORK_SERVICE,
    "SU": SERVICE,
    "IU": INTERACTIVE,
    "NU": NETWORK,
    "BA": ADMINISTRATORS,
    "BU": USERS,
    "BG": GUESTS,
    "PU": POWER_USERS,
    "AO": ACCOUNT_OPERATORS,
    "SO": SERVER_OPERATORS,
    "PO": PRINT_OPERATORS,
    "BO": BACKUP_OPERATORS,
    "RE": REPLICATOR,
    "RD": REMOTE_DESKTOP_USERS,
    "NO": NETWORK_CONFIGURATION_OPERATORS,
    "MU": PERFORMANCE_MONITOR_USERS,
    "LU": PERFORMANCE_LOG_USERS,
    "IS": IIS_IUSRS,
    "ER": EVENT_LOG_READERS,
    "CD": CERTIFICATE_SERVICE_DCOM_ACCESS,
    "RM": REMOTE_MANAGEMENT_USERS,
    "AC": ALL_APP_PACKAGES,
    "RC": "S-1-5-12",
    "PS": "S-1-5-10",
    "OW": "S-1-3-4",
    "WR": "S-1-5-33",
    "HI": "S-1-16-12288",
    "ME": "S-1-16-8192",
    "LW": "S-1-16-4096",
    "SI": "S-1-16-16384",
    "RU": "S-1-5-32-554",
    "ED": "S-1-5-9",
    "MP": "S-1-16-8448",
    "CY": "S-1-5-32-569",
    "HA": "S-1-5-32-578",
    "AA": "S-1-5-32-579",
    "RA": "S-1-5-32-575",
    "ES": "S-1-5-32-576",
    "MS": "S-1-5-32-577",
    "UD": "S-1-5-84-0-0-0-0-0",
    "SS": "S-1-18-2",
    "AS": "S-1-18-1",
}

_BY_NAME: dict[str, str] = {}
for _name, _sid in WELL_KNOWN.items():
    _BY_NAME[_name.casefold()] = _sid
    _BY_NAME.setdefault(_name.rsplit("\\", 1)[-1].casefold(), _sid)
_BY_NAME.update(_ALIASES)

# Groups whose members hold administrative or near-administrative power on the host (RULES.md IIS-POOL-002).
PRIVILEGED_LOCAL_GROUPS: tuple[str, ...] = (
    ADMINISTRATORS,
    BACKUP_OPERATORS,
    SERVER_OPERATORS,
    ACCOUNT_OPERATORS,
    PRINT_OPERATORS,
    POWER_USERS,
    REMOTE_DESKTOP_USERS,
    DISTRIBUTED_COM_USERS,
    EVENT_LOG_READERS,
    PERFORMANCE_LOG_USERS,
    PERFORMANCE_MONITOR_USERS,
    NETWORK_CONFIGURATION_OPERATORS,
    REPLICATOR,
    CERTIFICATE_SERVICE_DCOM_ACCESS,
)
# Principals that reach (nearly) everyone: a grant to them is a grant to the world.
BROAD_PRINCIPALS: tuple[str, ...] = (EVERYONE, AUTHENTICATED_USERS, USERS, ANONYMOUS_LOGON, "S-1-5-32-546")
BROAD_DOMAIN_RIDS: tuple[int, ...] = (RID_DOMAIN_USERS, RID_DOMAIN_COMPUTERS, RID_DOMAIN_GUESTS)


@lru_cache(maxsize=1 << 16)  # pure, and asked the same few names again and again
def is_sid(value: str) -> bool:
    return bool(SID_RE.match(value.strip()))


def normalize_sid(value: str) -> str:
    """`*S-1-5-32-544` (secedit) and `s-1-5-32-544` become `S-1-5-32-544`."""
    if not is_sid(value):  # remembered: callers have usually just asked it of the same value
        raise ValueError(f"not a SID: {value!r}")
    return value.strip().removeprefix("*").upper()  # what SID_RE's group holds


def domain_rid(sid: str) -> int | None:
    """The RID of a domain (or machine) SID S-1-5-21-a-b-c-RID, else None."""
    parts = sid.split("-")
    if len(parts) == 8 and parts[2] == "5" and parts[3] == "21":
        return int(parts[7])
    return None


_FIVE_UINT32 = struct.Struct("<5I").unpack


def virtual_account_sid(authority: int, name: str, *, upper: bool) -> str:
    """S-1-5-<authority>- followed by SHA-1 of the name (UTF-16LE) as five little-endian 32-bit integers."""
    return _virtual_sid(authority, name, upper)


@lru_cache(maxsize=1 << 16)  # pure, and asked the same few names again and again
def _virtual_sid(authority: int, name: str, upper: bool) -> str:
    # Positional, so that the cache key is cheap: a large host asks a pool SID of each pool several times.
    text = name.upper() if upper else name.lower()
    # One format of the unpacked integers: half the cost of joining a generator's strings.
    return "S-1-5-{}-{}-{}-{}-{}-{}".format(
        authority,
        *_FIVE_UINT32(hashlib.sha1(text.encode("utf-16-le")).digest()),
    )


def app_pool_sid(pool: str) -> str:
    """The SID of `IIS APPPOOL\\<pool>`: the same on every machine, so secedit SIDs map back to pools."""
    return _virtual_sid(82, pool, False)


def service_sid(service: str) -> str:
    """The SID of `NT SERVICE\\<service>`: S-1-5-80- and SHA-1 of the upper-cased name in UTF-16LE.

    The same construction as app_pool_sid (which lower-cases); `sc showsid MSSQLSERVER` prints
    S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003, which this returns
    (Microsoft, "Service SIDs" in "Service Security and Access Rights"; `sc.exe showsid`).
    """
    return _virtual_sid(80, service, True)


# The pools an IIS install creates (IIS 7.5-10 with .NET 2.0/3.5 and 4.x features, IIS 7's ASP.NET v4.0 pools):
# a user-rights export names them bare (`...,Classic .NET AppPool,DefaultAppPool`).
DEFAULT_APP_POOLS: tuple[str, ...] = (
    "DefaultAppPool",
    "Classic .NET AppPool",
    ".NET v2.0",
    ".NET v2.0 Classic",
    ".NET v4.5",
    ".NET v4.5 Classic",
    "ASP.NET v4.0",
    "ASP.NET v4.0 Classic",
)


@lru_cache(maxsize=1 << 16)  # pure, and asked the same few names again and again
def well_known_sid(name: str) -> str | None:
    """SID of a well-known or virtual account by name, or None when the name is not machine-independent."""
    text = name.strip()
    if is_sid(text):
        return normalize_sid(text)
    folded = text.casefold()
    if folded in _BY_NAME:
        return _BY_NAME[folded]
    domain, _, account = text.rpartition("\\")
    if domain.casefold() == "iis apppool" and account:
        return app_pool_sid(account)
    if domain.casefold() == "nt service" and account:
        return service_sid(account)
    return None


def name_of(sid: str) -> str | None:
    return NAME_OF.get(sid)


def is_app_pool_sid(sid: str) -> bool:
    return sid.startswith(APPPOOL_PREFIX)
