"""Localized words that Windows prints: states, yes/no, "never", and built-in principal names.

Words are compared by their ASCII skeleton (case-folded, non-ASCII letters dropped), so `Désactivé`
also matches when an OEM code page capture was decoded as `D‚sactiv‚` or `D�sactiv�`.
"""

from __future__ import annotations

import re
from typing import Any

# Built-in principals under their localized names: one table, in the model (re-exported for the parsers).
from ..model.names import BUILTIN_DOMAINS, LOCALIZED, MULTIWORD_DOMAINS, bare_names, sid_for  # noqa: F401


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
