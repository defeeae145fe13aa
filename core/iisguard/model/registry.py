"""Registry values the capture read (`reg query`, `Get-ItemProperty`), and what was read at all.

The snapshot keeps raw facts: ``registry.roots`` (each key that was queried, and whether its subkeys
were too: ``reg query KEY /s``) and ``registry.values`` (key, name, type, data, evidence). This index
answers the question every rule on a registry setting asks first: was the value *read*? A value
absent under a key that was queried is absent on the server (Windows then applies its default); a
value under a key nobody queried is unknown, and a rule says ``not_reviewed``.

Keys are compared case-insensitively with the hive abbreviated (``HKEY_LOCAL_MACHINE`` is ``HKLM``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .snapshot import Snapshot

HIVES = {
    "hkey_local_machine": "HKLM",
    "hklm": "HKLM",
    "hkey_current_user": "HKCU",
    "hkcu": "HKCU",
    "hkey_users": "HKU",
    "hku": "HKU",
    "hkey_classes_root": "HKCR",
    "hkcr": "HKCR",
    "hkey_current_config": "HKCC",
    "hkcc": "HKCC",
}


def norm_key(key: str) -> str:
    """`HKEY_LOCAL_MACHINE\\System\\...` and `HKLM:\\SYSTEM\\...` -> `HKLM\\System\\...` (case kept)."""
    text = key.strip().strip("[]").replace("/", "\\")
    if text.lower().startswith("microsoft.powershell.core\\registry::"):
        text = text.split("::", 1)[1]
    head, _, rest = text.partition("\\")
    hive = HIVES.get(head.rstrip(":").lower())
    if hive is None:
        return text.rstrip("\\")
    rest = "\\".join(p for p in rest.split("\\") if p)
    return f"{hive}\\{rest}" if rest else hive


def key_id(key: str) -> str:
    """The comparable form of a key (normalized, case-folded)."""
    return norm_key(key).casefold()


@dataclass(frozen=True)
class RegValue:
    """One captured value: its key, name (``""`` is the key's default value), type, data, and the record."""

    key: str
    name: str
    type: str
    data: Any
    record: dict[str, Any]

    def as_int(self) -> int | None:
        """REG_DWORD/REG_QWORD data (or a decimal/hex string) as an int, else None."""
        if isinstance(self.data, bool):
            return None
        if isinstance(self.data, int):
            return self.data
        if isinstance(self.data, str):
            text = self.data.strip()
            try:
                return int(text, 16) if text.lower().startswith("0x") else int(text)
            except ValueError:
                return None
        return None


class Registry:
    """The captured registry values of a snapshot, by key and name; which keys were read."""

    def __init__(self, snap: Snapshot) -> None:
        data = snap.data.get("registry") or {}
        records = [r for r in data.get("roots") or [] if r.get("key")]
        self.roots: list[tuple[str, bool]] = [
            (key_id(str(r["key"])), bool(r.get("recursive"))) for r in records
        ]
        self._root_records = records
        self._values: dict[str, dict[str, RegValue]] = {}
        self._names: dict[str, str] = {}  # key id -> the key as recorded
        for record in data.get("values") or []:
            key = norm_key(str(record.get("key") or ""))
            self._names.setdefault(key.casefold(), key)
            name = str(record.get("name") or "")
            value = RegValue(key, name, str(record.get("type") or ""), record.get("data"), record)
            self._values.setdefault(key.casefold(), {})[name.casefold()] = value
        self._keys = set(self._values)  # a root queried without output (not found) is read, not present
        for record in data.get("keys") or []:
            key = norm_key(str(record.get("key") or ""))
            self._keys.add(key.casefold())
            self._names.setdefault(key.casefold(), key)

    @property
    def captured(self) -> bool:
        """Whether any registry key was read at all."""
        return bool(self.roots)

    def read(self, key: str) -> bool:
        """Whether the values of `key` were read: it was queried, or lies under a key queried with /s."""
        kid = key_id(key)
        return any(
            kid == root or (recursive and kid.startswith(root + "\\")) for root, recursive in self.roots
        )

    def query_of(self, key: str) -> dict[str, Any] | None:
        """The root record (the query, with its evidence) under which `key` was read, or None."""
        kid = key_id(key)
        for (root, recursive), record in zip(self.roots, self._root_records, strict=True):
            if kid == root or (recursive and kid.startswith(root + "\\")):
                return record
        return None

    def exists(self, key: str) -> bool | None:
        """Whether `key` exists on the server: None when it was not read."""
        kid = key_id(key)
        if kid in self._keys:
            return True
        return False if self.read(key) else None

    def value(self, key: str, name: str) -> RegValue | None:
        """The captured value, or None (absent on the server when `read(key)`, unknown otherwise)."""
        return self._values.get(key_id(key), {}).get(name.casefold())

    def values(self, key: str) -> list[RegValue]:
        """Every captured value of `key` (not of its subkeys)."""
        return list(self._values.get(key_id(key), {}).values())

    def subkeys(self, key: str) -> list[str]:
        """Keys captured directly under `key` (as recorded)."""
        prefix = key_id(key) + "\\"
        out: dict[str, str] = {}
        for k in self._keys:
            if k.startswith(prefix):
                child = k[len(prefix) :].split("\\", 1)[0]
                shown = self._names.get(prefix + child, "")
                out.setdefault(child, shown.rsplit("\\", 1)[-1] if shown else child)
        return sorted(out.values(), key=str.casefold)
