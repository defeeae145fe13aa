"""Names of accounts as people and captures write them: localized built-in names, domains, globs, UPNs, DNs.

The localized names of built-in accounts and groups (`Jeder`, `VORDEFINIERT\\Administratoren`) live
here, next to the English table in `sids`, so the parsers and the account resolver read one table.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from . import sids

# Domains whose accounts are built in (language variants of BUILTIN, NT AUTHORITY, NT SERVICE).
BUILTIN_DOMAINS = frozenset(
    d.casefold()
    for d in (
        "BUILTIN",
        "VORDEFINIERT",
        "INGEBOUWD",
        "NT AUTHORITY",
        "NT-AUTORITÄT",
        "AUTORITE NT",
        "AUTORITÉ NT",
        "NT INSTANS",
        "ZARZĄDZANIE NT",
        "AUTORIDADE NT",
        "AUTORIDAD NT",
    )
)
# Domain prefixes that contain spaces (icacls puts a space between a path and a principal).
MULTIWORD_DOMAINS = (
    "NT AUTHORITY",
    "NT SERVICE",
    "IIS APPPOOL",
    "APPLICATION PACKAGE AUTHORITY",
    "Mandatory Label",
    "AUTORITE NT",
    "AUTORITÉ NT",
    "AUTORIDAD NT",
    "AUTORIDADE NT",
    "NT INSTANS",
    "ZARZĄDZANIE NT",
    "Font Driver Host",
    "Window Manager",
    "NT VIRTUAL MACHINE",
    "ZERTIFIZIERUNGSSTELLE FÜR ANWENDUNGSPAKETE",
    "AUTORITÉ DE PACKAGE D’APPLICATION",
    "AUTORITE DE PACKAGE D'APPLICATION",
)

LOCALIZED: dict[str, tuple[str, ...]] = {
    sids.EVERYONE: ("Jeder", "Tout le monde", "Todos", "Tutti", "Iedereen", "Wszyscy", "Alla", "Все"),
    sids.CREATOR_OWNER: (
        "ERSTELLER-BESITZER",
        "CREATEUR PROPRIETAIRE",
        "CRÉATEUR PROPRIÉTAIRE",
        "CREADOR PROPIETARIO",
        "MAKER EIGENAAR",
        "PROPRIETARIO CREATORE",
        "TWÓRCA-WŁAŚCICIEL",
        "PROPRIETÁRIO CRIADOR",
    ),
    "S-1-3-1": ("ERSTELLERGRUPPE", "GROUPE CRÉATEUR", "GRUPO CREADOR"),
    sids.ADMINISTRATORS: (
        "Administratoren",
        "Administrateurs",
        "Administradores",
        "Administratorzy",
        "Администраторы",
    ),
    sids.USERS: ("Benutzer", "Utilisateurs", "Usuarios", "Utenti", "Gebruikers", "Użytkownicy", "Usuários"),
    sids.GUESTS: ("Gäste", "Invités", "Invitados", "Gasten", "Goście", "Convidados"),
    sids.BACKUP_OPERATORS: (
        "Sicherungs-Operatoren",
        "Opérateurs de sauvegarde",
        "Operadores de copia de seguridad",
    ),
    sids.REMOTE_DESKTOP_USERS: (
        "Remotedesktopbenutzer",
        "Utilisateurs du Bureau à distance",
        "Usuarios de escritorio remoto",
    ),
    sids.POWER_USERS: ("Hauptbenutzer", "Utilisateurs avec pouvoir", "Usuarios avanzados"),
    sids.SERVER_OPERATORS: ("Server-Operatoren", "Opérateurs de serveur", "Operadores de servidores"),
    sids.PRINT_OPERATORS: ("Druck-Operatoren", "Opérateurs d’impression", "Opers. de impresión"),
    sids.ACCOUNT_OPERATORS: ("Konten-Operatoren", "Opérateurs de compte", "Opers. de cuentas"),
    sids.REMOTE_MANAGEMENT_USERS: ("Remoteverwaltungsbenutzer", "Utilisateurs de gestion à distance"),
    sids.LOCAL_SYSTEM: ("SYSTEM", "Système", "SISTEMA", "SYSTEEM", "СИСТЕМА"),
    sids.LOCAL_SERVICE: ("LOKALER DIENST", "SERVICE LOCAL", "SERVICIO LOCAL", "Servizio locale"),
    sids.NETWORK_SERVICE: ("NETZWERKDIENST", "SERVICE RÉSEAU", "SERVICIO DE RED", "Servizio di rete"),
    sids.AUTHENTICATED_USERS: (
        "Authentifizierte Benutzer",
        "Utilisateurs authentifiés",
        "Usuarios autentificados",
        "Usuarios autenticados",
        "Utenti autenticati",
        "Geverifieerde gebruikers",
    ),
    sids.INTERACTIVE: ("INTERAKTIV", "INTERACTIF", "INTERACTIVO"),
    sids.ANONYMOUS_LOGON: ("ANONYMOUS-ANMELDUNG", "ANONYMOUS LOGON"),
    sids.SERVICE: ("DIENST", "SERVICE", "SERVICIO"),
    sids.NETWORK: ("NETZWERK", "RÉSEAU", "RED"),
    sids.ALL_APP_PACKAGES: (
        "ALLE ANWENDUNGSPAKETE",
        "TOUS LES PACKAGES D’APPLICATION",
        "TODOS LOS PAQUETES DE APLICACIONES",
    ),
}
_LOCAL_BY_NAME: dict[str, str] = {}
for _sid, _names in LOCALIZED.items():
    for _n in _names:
        _LOCAL_BY_NAME.setdefault(_n.casefold(), _sid)


def sid_for(name: str | None) -> str | None:
    """The SID of a principal name when it is machine-independent: SIDs, well-known and virtual
    accounts (sids.well_known_sid) and the localized names of built-in accounts and groups.

    A localized name mangled by a code page (`AUTORITE NT\\Syst\u0160me`: cp850 read as cp1252) or with
    letters lost (`NT-AUTORIT?T\\SYSTEM`, U+FFFD) is matched tolerantly (see `_tolerant`).
    """
    if not name:
        return None
    text = name.strip().lstrip("*") if name.strip().startswith("*S-") else name.strip()
    sid = _exact(text)
    if sid is None and not text.isascii() or (sid is None and _LOST.search(text)):
        sid = _tolerant(text)
    return sid


def _exact(text: str) -> str | None:
    try:
        known = sids.well_known_sid(text)
    except ValueError:
        known = None
    if known:
        return known
    domain, sep, account = text.rpartition("\\")
    if sep and domain.casefold() not in BUILTIN_DOMAINS:
        return None
    sid = _LOCAL_BY_NAME.get((account if sep else text).casefold())
    if sid is None and sep:
        sid = sids.well_known_sid(account)  # VORDEFINIERT\IIS_IUSRS, NT-AUTORITÄT\IUSR
    if sid and not sep and not _bare_ok(sid):
        return None  # `RED` or `DIENST` alone may be anyone's account; only qualified names count
    return sid


# Letters a capture lost: `?` where the console had no glyph, U+FFFD where decoding failed.
_LOST = re.compile(r"[?\ufffd]+")
# (written with, read as): OEM output read as ANSI or Latin-1, and UTF-8 read as ANSI.
_MOJIBAKE = (
    ("cp1252", "cp850"),
    ("cp1252", "cp437"),
    ("latin-1", "cp850"),
    ("cp1252", "utf-8"),
    ("cp850", "cp1252"),
)


@lru_cache(maxsize=4096)
def _tolerant(text: str) -> str | None:
    """sid_for for a mangled name: undo a wrong code page, else let lost letters match any 1-3 letters."""
    for wrong, right in _MOJIBAKE:
        try:
            repaired = text.encode(wrong).decode(right)
        except (UnicodeError, LookupError):
            continue
        if repaired != text:
            sid = _exact(repaired)
            if sid:
                return sid
    if not _LOST.search(text):
        return None
    domain, sep, account = text.rpartition("\\")
    if sep and domain.casefold() not in BUILTIN_DOMAINS and not _wild_in(domain, BUILTIN_DOMAINS):
        return None
    names = {**{k.casefold(): v for k, v in sids.WELL_KNOWN.items()}, **_LOCAL_BY_NAME}
    bare = {k.rsplit("\\", 1)[-1]: v for k, v in names.items()}
    found = {sid for key, sid in bare.items() if _wild(account if sep else text).fullmatch(key)}
    if len(found) == 1:  # one candidate only: a lost letter never picks between two accounts
        sid = found.pop()
        return sid if sep or _bare_ok(sid) else None
    return None


@lru_cache(maxsize=4096)
def _wild(text: str) -> re.Pattern[str]:
    parts = _LOST.split(text.casefold())
    return re.compile(".{1,3}".join(re.escape(p) for p in parts))


def _wild_in(text: str, choices: Iterable[str]) -> bool:
    pattern = _wild(text)
    return any(pattern.fullmatch(c) for c in choices)


def _bare_ok(sid: str) -> bool:
    return sid.startswith(("S-1-1-", "S-1-3-", "S-1-5-32-"))


# `net user` prints each group of "Local Group Memberships" in a column 21 characters wide and cuts longer
# names there (`*Remote Management Use`, `*Hyper-V Administrator`, as published captures show).
NET_USER_GROUP_WIDTH = 21
# Local groups a Windows Server creates besides the BUILTIN aliases of sids.WELL_KNOWN (English names).
_LOCAL_GROUP_NAMES = (
    "Access Control Assistance Operators",
    "Cryptographic Operators",
    "Device Owners",
    "Hyper-V Administrators",
    "RDS Endpoint Servers",
    "RDS Management Servers",
    "RDS Remote Access Servers",
    "Storage Replica Administrators",
    "System Managed Accounts Group",
    "Windows Authorization Access Group",
    "Pre-Windows 2000 Compatible Access",
    "Incoming Forest Trust Builders",
    "Terminal Server License Servers",
    "OpenSSH Users",
)


def untruncated_group(name: str) -> str:
    """The full name of a group `net user` cut at its column width, when exactly one known group fits.

    `Remote Management Use` is `Remote Management Users`; a name shorter than the column, or one that
    several known groups (or none) start with, is returned as written.
    """
    text = name.strip()
    if len(text) != NET_USER_GROUP_WIDTH:
        return text
    known = {n.rsplit("\\", 1)[-1] for n in sids.WELL_KNOWN if n.casefold().startswith("builtin\\")}
    fits = {
        n
        for n in (*known, *_LOCAL_GROUP_NAMES)
        if len(n) > len(text) and n.casefold().startswith(text.casefold())
    }
    return fits.pop() if len(fits) == 1 else text


def bare_names() -> tuple[str, ...]:
    """Principal names Windows prints without a domain (`Everyone`, `CREATOR OWNER`, `Jeder`), longest first."""
    names = {n for n in sids.WELL_KNOWN if "\\" not in n}
    names |= {"OWNER RIGHTS", "CONSOLE LOGON", "LOCAL"}
    names |= {n for sid, group in LOCALIZED.items() if sid.startswith(("S-1-1-", "S-1-3-")) for n in group}
    return tuple(sorted(names, key=len, reverse=True))


# -- spellings of one account ---------------------------------------------------------------------------


def fold(text: str) -> str:
    return text.strip().casefold()


def is_upn(text: str) -> bool:
    """`user@corp.example.com` (and not `CORP\\user`)."""
    t = text.strip()
    return "@" in t and "\\" not in t and not t.startswith("@")


def upn_as_account(name: str) -> str:
    """`user@corp.example` becomes `corp\\user` so it matches the DOMAIN\\name spelling; others unchanged.

    A guess at the NetBIOS domain (the first DNS label); the resolver first looks the UPN up among
    the captured accounts and uses this only when none matches.
    """
    text = name.strip()
    if is_upn(text):
        user, _, domain = text.partition("@")
        return f"{domain.split('.', 1)[0]}\\{user}"
    return text


def is_dn(text: str) -> bool:
    t = text.strip()
    return t[:3].upper() in ("CN=", "OU=") and "=" in t[3:]


def dn_first_value(dn: str) -> str:
    """The value of a DN's first RDN as written (escaped commas kept): `CN=Domain Admins,...` -> `Domain Admins`."""
    out, i = [], 0
    text = dn.strip()
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == ",":
            break
        out.append(ch)
        i += 1
    value = "".join(out)
    return value.split("=", 1)[1].strip() if "=" in value else value.strip()


def dn_cn(dn: str) -> str:
    """The first RDN's value, casefolded, for comparisons."""
    return fold(dn_first_value(dn))


def bare(name: str) -> str:
    """The account part, casefolded: `CORP\\svc`, `svc@corp.example.com`, `CN=svc,OU=…` -> `svc`."""
    if is_dn(name):
        return dn_cn(name)
    n = fold(name)
    if "\\" in n:
        n = n.rsplit("\\", 1)[1]
    elif "@" in n:
        n = n.split("@", 1)[0]
    return n


def matches_any(name: str, patterns: Iterable[str]) -> str | None:
    """The first glob (case-insensitive) the name matches, else None."""
    if not patterns:
        return None
    folded = name.casefold()
    try:
        any_match, compiled = _compiled_globs(tuple(patterns))
    except TypeError:  # a pattern that is not hashable: compiled on the spot
        any_match, compiled = _compile_globs(tuple(patterns))
    if any_match(folded) is None:  # one match for all the globs: most names match none
        return None
    for pattern, match in compiled:
        if match(folded) is not None:
            return pattern
    return None


Globs = tuple[Callable[[str], Any], tuple[tuple[str, Callable[[str], Any]], ...]]


@lru_cache(maxsize=256)
def _compiled_globs(patterns: tuple[Any, ...]) -> Globs:
    """Each glob as written (str) with its case-folded pattern compiled once (a rule asks per account),
    and one expression matching where any of them does."""
    return _compile_globs(patterns)


def _compile_globs(patterns: tuple[Any, ...]) -> Globs:
    translated = [fnmatch.translate(str(p).casefold()) for p in patterns]
    each = tuple((str(p), re.compile(t).match) for p, t in zip(patterns, translated, strict=True))
    return re.compile("|".join(translated)).match, each


def is_managed_account_name(name: str) -> bool:
    """gMSA/MSA (and computer) accounts are always written DOMAIN\\name$."""
    return name.strip().endswith("$")
