"""Registry captures -> ``registry`` {roots, keys, values}: ``reg query KEY [/s]``, ``Get-ItemProperty KEY``
(list format) and ``reg export`` / regedit ``.reg`` files.

What matters as much as the values is which keys were *read*: a value absent under a key that was
queried is absent on the server (Windows applies its default); under a key nobody queried it is
unknown. So every query is a root: the key named by the echoed command (``reg query "HKLM\\..." /s``)
or, without an echo, the first key the output shows; ``/s`` (or values under a subkey, or an export)
makes it recursive. ``ERROR: The system was unable to find the specified registry key`` (any
language: the line follows the command) and PowerShell's ``ItemNotFoundException`` record the key
as read and absent.

``reg query`` prints key lines (``HKEY_LOCAL_MACHINE\\...``) and value lines (four spaces, the name,
the type, the data); the type tokens and hive names are not localized, the name of the default value
is (``(Default)``, ``(Standard)``, ``(par défaut)``...). DWORD and QWORD data are hex (``0x1``).

No secret reaches the snapshot: a value whose name says it holds one (``DefaultPassword``, ``*Token``,
``ApiKey``) keeps its name and type with ``[iisguard:removed]`` as data, and string data goes through
``redact()`` (connection-string passwords, long base64 or hex runs).
"""

from __future__ import annotations

import re
from typing import Any

from ..hookspecs import hookimpl
from ..model.registry import key_id, norm_key
from ..redact import redact
from . import console
from .base import ArtifactRun, RunParser

_HIVE = r"(?:HKEY_LOCAL_MACHINE|HKEY_CURRENT_USER|HKEY_USERS|HKEY_CLASSES_ROOT|HKEY_CURRENT_CONFIG|HKLM|HKCU|HKU|HKCR|HKCC)"
_KEY_LINE = re.compile(rf"^(?P<key>{_HIVE}(?:\\[^\r\n]*)?)$", re.IGNORECASE)
_VALUE_LINE = re.compile(r"^\s{2,}(?P<name>.*?)\s{2,}(?P<type>REG_[A-Z_0-9]+)(?:\s{2,}(?P<data>.*))?\s*$")
_REG_QUERY = re.compile(r"(?i)^reg(?:\.exe)?\s+query\b")
_GET_ITEMPROPERTY = re.compile(r"(?i)^(?:Get-ItemProperty|gp|Get-ItemPropertyValue|gpv)\b")
_PS_KEY = re.compile(rf"(?i)((?:Registry::)?{_HIVE}:?\\[^'\"]*|{_HIVE}:?)")
_NOT_FOUND_PS = re.compile(rf"(?i)ObjectNotFound:\s*\((?P<key>(?:Registry::)?{_HIVE}:?\\.*?):String\)")
_REG_FILE_HEAD = re.compile(r"^(?:Windows Registry Editor Version 5\.00|REGEDIT4)\s*$")
_REG_FILE_KEY = re.compile(r"^\[(?P<del>-?)(?P<key>[^\]]+)\]\s*$")
_REG_FILE_VALUE = re.compile(r'^(?P<name>@|"(?:[^"\\]|\\.)*")\s*=\s*(?P<data>.*)$')
# The default value's name as reg query prints it, by language.
_DEFAULT_NAMES = {
    "(default)",
    "(standard)",
    "(par défaut)",
    "(predeterminado)",
    "(predefinito)",
    "(padrão)",
    "(по умолчанию)",
    "(既定)",
    "(默认)",
    "(預設)",
    "(기본값)",
    "(domyślna)",
    "(standaard)",
    "(varsayılan)",
}
_PS_META = {"pspath", "psparentpath", "pschildname", "psdrive", "psprovider"}
MAX_DATA_CHARS = 4096  # a REG_BINARY blob is kept as hex up to this many characters
# Value names that hold secrets (Winlogon's DefaultPassword, an application's ApiKey): their data is dropped.
_SECRET_NAME = re.compile(
    r"(?i)pass(?:word|wd|phrase)?|pwd|secret|token|credential|api[_-]?key|private[_-]?key"
)
REMOVED = "[iisguard:removed]"


def _data(kind: str, raw: str) -> Any:
    """reg query's data text as the snapshot keeps it."""
    text = raw.strip()
    if kind in ("REG_DWORD", "REG_QWORD", "REG_DWORD_BIG_ENDIAN"):
        try:
            return int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            return text
    if kind == "REG_MULTI_SZ":
        return [p for p in text.split("\\0") if p]
    return text[:MAX_DATA_CHARS]


class _Run(ArtifactRun):
    def __init__(self, artifact: Any, builder: Any) -> None:
        super().__init__(artifact, builder)
        reg = builder.data.setdefault("registry", {})
        self.roots: list[dict[str, Any]] = reg.setdefault("roots", [])
        self.keys: list[dict[str, Any]] = reg.setdefault("keys", [])
        self.values: list[dict[str, Any]] = reg.setdefault("values", [])
        self._root_ids = {key_id(r["key"]): r for r in self.roots}
        self._key_ids = {key_id(k["key"]) for k in self.keys}
        self.found = 0
        self.mode: str | None = None  # "query" | "ps" | "file" for the current command block
        self.queried: str | None = None  # the key an echoed command named
        self.recursive = False
        self.echoed = False  # the block's command was seen: its /s decides recursion
        self.root: dict[str, Any] | None = None  # the root of the current block
        self.current: str | None = None  # the key value lines belong to
        self.ps_fields: list[tuple[int, str, str]] = []

    # -- records --------------------------------------------------------------------------------
    def add_root(self, key: str, recursive: bool, line: int) -> dict[str, Any]:
        kid = key_id(key)
        root = self._root_ids.get(kid)
        if root is None:
            root = {"key": norm_key(key), "recursive": recursive, "evidence": self.b.evidence(self.a, line)}
            self._root_ids[kid] = root
            self.roots.append(root)
        elif recursive:
            root["recursive"] = True
        return root

    def add_key(self, key: str, line: int) -> None:
        kid = key_id(key)
        if kid not in self._key_ids:
            self._key_ids.add(kid)
            self.keys.append({"key": norm_key(key), "evidence": self.b.evidence(self.a, line)})

    def add_value(self, key: str, name: str, kind: str, data: Any, line: int) -> None:
        self.found += 1
        if _SECRET_NAME.search(name) and data not in ("", [], None, 0):
            data = REMOVED  # a pasted Winlogon DefaultPassword never reaches the snapshot
        elif isinstance(data, str):
            data = redact(data)  # connection strings, long base64/hex runs (keys, tokens)
        elif isinstance(data, list):
            data = [redact(str(d)) for d in data]
        self.values.append(
            {
                "key": norm_key(key),
                "name": name,
                "type": kind,
                "data": data,
                "evidence": self.b.evidence(self.a, line),
            }
        )

    # -- the file -------------------------------------------------------------------------------
    def run(self) -> None:
        for no, line in console.numbered(self.a):
            self.line(no, line)
        self.flush_ps()
        if not self.roots and not self.found:
            self.warn(None, "registry: no registry key or value found in this file")
            self.b.section("registry", "partial", f"nothing readable in {self.a.path}")
            return
        self.b.section("registry", "partial" if self.problems else "ok")

    def line(self, no: int, line: str) -> None:
        p = console.prompt(line)
        command = (
            p.command
            if p
            else (line.strip() if console.is_command(line) and not _KEY_LINE.match(line.strip()) else None)
        )
        if command is not None:
            if p is not None:
                console.note_prompt(p, self.b)
            self.start(no, command)
            return
        text = line.strip()
        if not text:
            if self.mode == "ps":
                self.flush_ps()
            return
        if _REG_FILE_HEAD.match(text):
            self.flush_ps()
            self.mode, self.root, self.current, self.recursive = "file", None, None, True
            return
        if self.mode == "file":
            self.file_line(no, text)
            return
        if self.mode == "ps" or (
            self.mode is None
            and (re.match(r"(?i)^PS(?:Path|ParentPath|ChildName|Drive|Provider)\s*:", text) or self.ps_fields)
        ):
            self.ps_line(no, line)
            return
        self.query_line(no, line)

    def start(self, no: int, command: str) -> None:
        """A command echoed: a new block; note the key it names and /s."""
        self.flush_ps()
        self.root, self.current = None, None
        words = console.command_args(command)
        self.echoed = False
        if _REG_QUERY.match(command):
            self.mode = "query"
            self.echoed = True
            self.recursive = any(w.lower() in ("/s", "-s") for w in words[2:])
            key = next((w for w in words[2:] if re.match(rf"(?i){_HIVE}(?:\\|$)", w)), None)
            self.queried = key
            if key:
                self.root = self.add_root(key, self.recursive, no)
        elif _GET_ITEMPROPERTY.match(command):
            self.mode = "ps"
            self.queried = None
            m = _PS_KEY.search(command[command.find(" ") :] if " " in command else "")
            if m and "*" not in m.group(1) and "?" not in m.group(1):
                self.queried = m.group(1)
                self.root = self.add_root(m.group(1), False, no)
        else:
            self.mode = None
            self.queried = None

    # -- reg query ------------------------------------------------------------------------------
    def query_line(self, no: int, line: str) -> None:
        text = line.strip()
        key = _KEY_LINE.match(text)
        if key and not line[:1].isspace():
            name = key.group("key")
            if self.root is None:
                self.root = self.add_root(name, self.recursive, no)
            self.add_key(name, no)
            self.current = name
            return
        value = _VALUE_LINE.match(line)
        if value and self.current is not None:
            name = value.group("name").strip()
            if name.casefold() in _DEFAULT_NAMES:
                name = ""
            kind = value.group("type").upper()
            self.add_value(self.current, name, kind, _data(kind, value.group("data") or ""), no)
            if not self.echoed and self.root is not None and key_id(self.current) != key_id(self.root["key"]):
                # Values under a subkey: the query went down (/s). Without /s, reg query lists only the
                # subkeys' names, so a listing without such values is taken as one key (fail closed).
                self.root["recursive"] = True
            return
        if (
            self.root is not None
            and self.current is None
            and re.search(r"(?i)\b(?:error|fehler|erreur|errore|ошибка)\b", text)
        ):
            return  # the queried key does not exist: read, and absent
        if re.match(r"(?i)^(?:end of search|fin de la recherche|suche beendet)\b", text):
            return
        self.warn(
            no, f"registry: skipped a line that is not reg query output: {console.clip(text)}", problem=True
        )

    # -- Get-ItemProperty ------------------------------------------------------------------------
    def ps_line(self, no: int, line: str) -> None:
        text = line.strip()
        missing = _NOT_FOUND_PS.search(text)
        if missing:
            self.add_root(missing.group("key"), False, no)
            return
        if text.startswith(("+ ", "~")) or re.search(
            r"(?i)^(?:Get-ItemProperty\w*|gpv?)\s*:|Cannot find path|CategoryInfo|FullyQualifiedErrorId|^At line:",
            text,
        ):
            return  # an error record: its position lines, its message (the missing key was noted above)
        if line[:1].isspace() and self.ps_fields:
            n, k, v = self.ps_fields[-1]
            self.ps_fields[-1] = (
                n,
                k,
                v + ("" if k.casefold() in ("pspath", "psparentpath") else " ") + text,
            )
            return
        m = re.match(r"^(?P<key>\(.*?\)|[^:]+?)\s*:(?: (?P<value>.*))?$", line)
        if m and not line[:1].isspace():
            self.ps_fields.append((no, m.group("key").strip(), (m.group("value") or "").strip()))
            return
        if re.search(
            r"(?i)Get-ItemProperty|Cannot find path|CategoryInfo|FullyQualifiedErrorId|At line:", text
        ):
            return  # the rest of an error record
        self.warn(
            no,
            f"registry: skipped a line that is not Get-ItemProperty output: {console.clip(text)}",
            problem=True,
        )

    def flush_ps(self) -> None:
        fields, self.ps_fields = self.ps_fields, []
        if not fields:
            return
        meta = {k.casefold(): (n, v) for n, k, v in fields if k.casefold() in _PS_META}
        key = None
        if "pspath" in meta:
            key = meta["pspath"][1]
        elif "psparentpath" in meta and "pschildname" in meta:
            key = meta["psparentpath"][1] + "\\" + meta["pschildname"][1]
        elif self.queried:
            key = self.queried
        if not key or not re.search(rf"(?i){_HIVE}", key):
            first = fields[0][0]
            self.warn(
                first,
                "registry: a Get-ItemProperty record without PSPath (capture it with Format-List *)",
                problem=True,
            )
            return
        line = meta.get("pspath", (fields[0][0], ""))[0]
        self.add_root(key, False, line)
        self.add_key(key, line)
        for n, k, v in fields:
            if k.casefold() in _PS_META:
                continue
            name = "" if k.casefold() in _DEFAULT_NAMES else k
            data: Any = v
            kind = ""
            if re.fullmatch(r"-?\d+", v):
                data, kind = int(v), ""
                if data < 0:  # PowerShell shows a DWORD over 0x7fffffff as a negative Int32
                    data += 1 << 32
            elif v.startswith("{") and v.endswith("}"):
                items = console.brace_list(v)
                data = items[0] if items else v
            self.add_value(key, name, kind, data, n)

    # -- .reg files -----------------------------------------------------------------------------
    def file_line(self, no: int, text: str) -> None:
        key = _REG_FILE_KEY.match(text)
        if key:
            name = key.group("key")
            if key.group("del"):
                self.current = None
                return
            if self.root is None:
                self.root = self.add_root(name, True, no)  # reg export writes the subtree
            self.add_key(name, no)
            self.current = name
            return
        value = _REG_FILE_VALUE.match(text)
        if value and self.current is not None:
            raw_name = value.group("name")
            name = "" if raw_name == "@" else raw_name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            raw = value.group("data").strip()
            if raw.lower().startswith("dword:"):
                self.add_value(self.current, name, "REG_DWORD", int(raw[6:], 16), no)
            elif raw.startswith('"'):
                self.add_value(
                    self.current, name, "REG_SZ", raw[1:-1].replace('\\"', '"').replace("\\\\", "\\"), no
                )
            elif raw.lower().startswith("hex"):
                self.add_value(self.current, name, _hex_type(raw), raw.split(":", 1)[1][:MAX_DATA_CHARS], no)
            else:
                self.warn(
                    no, f"registry: skipped a .reg value it cannot read: {console.clip(text)}", problem=True
                )
            return
        if text.endswith("\\") or text.startswith(
            ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f")
        ):
            return  # a hex(...) value continued on the next lines
        self.warn(
            no, f"registry: skipped a line that is not .reg content: {console.clip(text)}", problem=True
        )


def _hex_type(raw: str) -> str:
    m = re.match(r"(?i)hex\((\w+)\)", raw)
    return (
        {"2": "REG_EXPAND_SZ", "7": "REG_MULTI_SZ", "b": "REG_QWORD"}.get(m.group(1).lower(), "REG_BINARY")
        if m
        else "REG_BINARY"
    )


class RegistryParser(RunParser):
    kind = "registry"
    sections = ("registry",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        if re.search(r"(?m)^\s*(?:Windows Registry Editor Version 5\.00|REGEDIT4)\s*$", head[:4096]):
            score = 0.95
        elif re.search(rf"(?im)^{_HIVE}\\\S", head) and re.search(
            r"(?m)^\s{2,}\S.*?\s{2,}REG_[A-Z_]+\b", head
        ):
            score = 0.9
        elif re.search(r"(?im)^(?:[^\n>]{0,200}>\s*)?reg(?:\.exe)?\s+query\s+\"?HK", head):
            score = 0.8
        elif re.search(r"(?im)^PSPath\s*:\s*Microsoft\.PowerShell\.Core\\Registry::", head) or re.search(
            r"(?im)^(?:[^\n>]{0,200}>\s*)?Get-ItemProperty\b.*\bHK(?:LM|CU|EY_)", head
        ):
            score = 0.85
        return console.name_bonus(score, name, ("reg", "schannel", "tls"))


PARSERS = [RegistryParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS
