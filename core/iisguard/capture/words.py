"""Localized words that Windows prints: states, yes/no, "never", and built-in principal names.

Words are compared by their ASCII skeleton (case-folded, non-ASCII letters dropped), so `Désactivé`
also matches when an OEM code page capture was decoded as `D‚sactiv‚` or `D�sactiv�`.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import sids


def skeleton(word: str) -> str:
    """Case-folded ASCII letters and digits only: `Désactivé` -> `dsactiv`."""
    return re.sub(r"[^a-z0-9 ]", "", word.casefold()).strip()


def _skeletons(*words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words)


# whoami /priv: the state column.
ENABLED = _skeletons(
    "Enabled",
    "Aktiviert",
    "Activé",
    "Habilitado",
    "Habilitada",
    "Abilitato",
    "Ingeschakeld",
    "Ativado",
    "Włączone",
    "Povoleno",
    "Engedélyezve",
    "Aktiverad",
    "Aktiveret",
    "Aktivert",
    "Etkin",
    "Включен",
)
DISABLED = _skeletons(
    "Disabled",
    "Deaktiviert",
    "Désactivé",
    "Deshabilitado",
    "Deshabilitada",
    "Disabilitato",
    "Uitgeschakeld",
    "Desativado",
    "Desabilitado",
    "Wyłączone",
    "Zakázáno",
    "Letiltva",
    "Inaktiverad",
    "Deaktiveret",
    "Deaktivert",
    "Отключен",
    "Devre dışı",
)
# Words that are only skeleton-distinct in the non-Latin alphabets: compared as written.
_ENABLED_EXACT = frozenset({"включен", "有効", "已启用", "已啟用", "사용"})
_DISABLED_EXACT = frozenset({"отключен", "無効", "已禁用", "已停用", "사용 안 함"})


def state_of(text: str) -> bool | None:
    """True/False for an enabled/disabled word at the end of `text`, else None."""
    words = text.strip().split()
    if not words:
        return None
    for n in (3, 2, 1):  # multi-word states first ("Devre dışı", "사용 안 함")
        if len(words) < n:
            continue
        tail = " ".join(words[-n:])
        if tail.casefold() in _DISABLED_EXACT:
            return False
        if tail.casefold() in _ENABLED_EXACT:
            return True
        sk = skeleton(tail)
        if not sk:
            continue
        if sk in DISABLED:
            return False
        if sk in ENABLED:
            return True
    return None


YES = _skeletons("Yes", "True", "Ja", "Oui", "Sí", "Si", "Sì", "Sim", "Tak", "Ano", "Igen", "Да", "Evet")
NO = _skeletons("No", "False", "Nein", "Non", "Nee", "Não", "Nie", "Ne", "Nem", "Nej", "Нет", "Hayır")
_YES_EXACT = frozenset({"да", "はい", "是"})
_NO_EXACT = frozenset({"нет", "いいえ", "否"})


def as_bool(value: Any) -> bool | None:
    """A JSON boolean as it is, a localized yes/no word as a boolean, anything else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return yes_no(value)
    return None


def yes_no(text: str | None) -> bool | None:
    if text is None:
        return None
    t = text.strip()
    if t.casefold() in _YES_EXACT:
        return True
    if t.casefold() in _NO_EXACT:
        return False
    sk = skeleton(t)
    if sk in YES:
        return True
    if sk in NO:
        return False
    return None


NEVER = _skeletons("Never", "Nie", "Jamais", "Nunca", "Mai", "Nooit", "Nigdy", "Aldrig", "Никогда")


def is_never(text: str | None) -> bool:
    return bool(text) and skeleton(text or "") in NEVER


# "The command completed successfully." as `net` prints it.
COMPLETED = _skeletons(
    "The command completed successfully.",
    "Der Befehl wurde erfolgreich ausgeführt.",
    "La commande s'est terminée correctement.",
    "Se ha completado el comando correctamente.",
    "El comando se completó correctamente.",
    "Esecuzione comando riuscita.",
    "De opdracht is voltooid.",
    "Comando concluído com êxito.",
    "O comando foi concluído com êxito.",
    "Polecenie zostało wykonane pomyślnie.",
)


# -- built-in principals under their localized names ------------------------------------------------------

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

_LOCALIZED: dict[str, tuple[str, ...]] = {
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
    sids.ADMINISTRATORS: ("Administratoren", "Administrateurs", "Administradores", "Administratorzy"),
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
    sids.REMOTE_MANAGEMENT_USERS: ("Remoteverwaltungsbenutzer", "Utilisateurs de gestion à distance"),
    sids.LOCAL_SYSTEM: ("SYSTEM", "Système", "SISTEMA", "SYSTEEM"),
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
for _sid, _names in _LOCALIZED.items():
    for _n in _names:
        _LOCAL_BY_NAME.setdefault(_n.casefold(), _sid)


def sid_for(name: str | None) -> str | None:
    """The SID of a principal name when it is machine-independent: SIDs, well-known and virtual
    accounts (sids.well_known_sid) and the localized names of built-in accounts and groups."""
    if not name:
        return None
    text = name.strip().lstrip("*") if name.strip().startswith("*S-") else name.strip()
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


def _bare_ok(sid: str) -> bool:
    return sid.startswith(("S-1-1-", "S-1-3-", "S-1-5-32-"))


def bare_names() -> tuple[str, ...]:
    """Principal names Windows prints without a domain (`Everyone`, `CREATOR OWNER`, `Jeder`), longest first."""
    names = {n for n in sids.WELL_KNOWN if "\\" not in n}
    names |= {"OWNER RIGHTS", "CONSOLE LOGON", "LOCAL"}
    names |= {n for sid, group in _LOCALIZED.items() if sid.startswith(("S-1-1-", "S-1-3-")) for n in group}
    return tuple(sorted(names, key=len, reverse=True))
