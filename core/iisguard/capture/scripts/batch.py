"""Batch build scripts (.cmd, .bat): appcmd, icacls, setspn, ntrights and net lines, read statically.

Lines are read as cmd.exe splits them: `^` continues a line, `rem` and `::` are comments, `&`, `&&`,
`||` and `|` separate commands, a parenthesised block's commands are read one by one, and `"..."`
quotes. `set NAME=value` assigns a literal that later `%NAME%` (and `!NAME!`) expand to; a variable
the script does not set (`%1`, `%PASSWORD%` from the environment) leaves the value unknown, except
the path variables the snapshot expands itself (`%SystemDrive%`, `%windir%`, ...). Every command is
read as if it ran once: `if` and `for` are not evaluated. `secedit /configure` applies a template
this reader does not open: recorded as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...hookspecs import hookimpl
from ...model import snapshot as snapmod
from ..base import Artifact, Builder
from . import commands, detect_script
from .declared import At, Declared, Text, Unresolved

# Variables Windows sets that iisguard expands in paths itself (model.snapshot.DEFAULT_ENVIRONMENT).
_PATH_VARS = {k.casefold() for k in snapmod.DEFAULT_ENVIRONMENT} | {"programfiles(x86)", "programw6432"}
_VAR = re.compile(r"%(\w[\w()]*)%|!(\w+)!|%~?[\dA-Za-z]*\d|%~dp0")
_SET = re.compile(r'^set\s+(?:/[a-z]\s+)?"?([^=\s"]+)=(.*?)"?\s*$', re.IGNORECASE)
_PREFIX = re.compile(r"^(?:@|call\s+|start\s+(?:/\w+\s+)*(?:\"[^\"]*\"\s+)?)+", re.IGNORECASE)
_CONTROL = re.compile(
    r"^(?:if\s+(?:not\s+)?(?:exist\s+\S+|errorlevel\s+\d+|defined\s+\S+|\"[^\"]*\"\s*==\s*\"[^\"]*\"|\S+\s*==\s*\S+)\s*"
    r"|for\s+.*?\s+do\s+|else\s*)",
    re.IGNORECASE,
)


def _logical_lines(artifact: Artifact) -> Iterator[tuple[int, str]]:
    """(first line number, text) with `^` continuations joined."""
    pending: list[str] = []
    first = 0
    for no, line in enumerate(artifact.lines(), artifact.first_line):
        if not pending:
            first = no
        stripped = line.rstrip()
        if stripped.endswith("^") and not stripped.endswith("^^"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        yield first, "".join(pending)
        pending = []
    if pending:
        yield first, "".join(pending)


def _split_commands(line: str) -> list[str]:
    """The commands on one line: split at unquoted `&`, `&&`, `||`, `|` and block parentheses."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
            current.append(ch)  # the quotes stay: _tokens() reads them
        elif ch == "^" and i + 1 < len(line) and not quoted:
            current.append(line[i + 1])
            i += 2
            continue
        elif not quoted and ch in "&|":
            out.append("".join(current))
            current = []
            while i + 1 < len(line) and line[i + 1] in "&|":
                i += 1
        elif not quoted and ch in "()" and _block_paren(current, line, i):
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    out.append("".join(current))
    return [c.strip() for c in out if c.strip()]


def _block_paren(current: list[str], line: str, i: int) -> bool:
    """A parenthesis that opens or closes a block, not one inside an argument (`Users:(OI)(CI)M`)."""
    before = line[i - 1] if i else " "
    after = line[i + 1] if i + 1 < len(line) else " "
    if line[i] == "(":
        return before.isspace() or not "".join(current).strip()
    return (
        after.isspace()
        or after in "&|"
        and (before.isspace() or before == ")")
        or i + 1 == len(line)
        and before.isspace()
    )


def _tokens(command: str) -> list[str]:
    """Arguments as a program receives them from cmd.exe: split at blanks outside quotes, quotes removed."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for ch in command:
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                out.append("".join(current))
                current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:
        out.append("".join(current))
    return out


class _Run:
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        self.a = artifact
        self.d = Declared.of(builder)
        self.b = builder
        self.vars: dict[str, Text] = {}
        self.unknown: dict[str, Unresolved] = {}  # variables the script sets to something computed

    def run(self) -> None:
        for no, line in _logical_lines(self.a):
            text = line.strip()
            if (
                not text
                or text.lstrip("@").casefold().startswith(("rem ", "rem\t", "::"))
                or text.casefold() in ("rem", "@rem")
            ):
                continue
            for command in _split_commands(text):
                self.command(no, command)

    def command(self, no: int, command: str) -> None:
        at = self.d.at(self.a, no)
        while True:  # `if exist X appcmd ...`, `for ... do icacls ...`, `@call ...`
            stripped = _PREFIX.sub("", _CONTROL.sub("", command, count=1)).strip()
            if stripped == command:
                break
            command = stripped
        m = _SET.match(command)
        if m:
            value = self.expand(m.group(2), at)
            name = m.group(1).casefold()
            if isinstance(value, str):
                self.vars[name] = value if isinstance(value, Text) else Text.of(value, at)
            else:
                self.vars.pop(name, None)
                self.unknown[name] = value
            return
        words = _tokens(command)
        if not words:
            return
        first = self.expand(words[0], at) if "%" in words[0] else words[0]  # `%APPCMD% set ...`
        program = commands.program(first) if isinstance(first, str) else ""
        if program == "secedit" and any(w.casefold() == "/configure" for w in words[1:]):
            self.d.unresolved(
                at,
                "user rights applied by secedit /configure",
                "a security template this reader does not open",
            )
            return
        handler = commands.PROGRAMS.get(program)
        if handler is None:
            return
        args = [self.expand(w, at) for w in words[1:]]
        handler(self.d, at, args)

    def expand(self, text: str, at: At) -> Any:
        """%NAME% and !NAME! replaced with what the script set; path variables kept for the snapshot."""
        missing: list[str] = []
        origin: list[At] = []
        first_missing: list[int] = []

        def sub(m: re.Match[str]) -> str:
            name = (m.group(1) or m.group(2) or "").casefold()
            if name in self.vars:
                value = self.vars[name]
                if value.at is not None:
                    origin.append(value.at)
                return str(value)
            if name and name in _PATH_VARS:
                return f"%{m.group(1) or m.group(2)}%"
            missing.append(m.group(0))
            first_missing.append(m.start())
            return m.group(0)

        out = _VAR.sub(sub, text)
        if missing:
            known = self.unknown.get(missing[0].strip("%!").casefold())
            reason = known.reason if known else f"{missing[0]} is not set to a literal value in the script"
            return Unresolved(reason, prefix=text[: first_missing[0]])
        # A value holding one variable remembers where that variable's text was written (`set PW=...`).
        return Text.of(out, origin[0] if len(origin) == 1 else at)


class BatchScriptParser:
    """A batch build script (.cmd, .bat): read statically into a declared snapshot."""

    kind = "batch_script"
    declared = True
    sections: tuple[str, ...] = ()

    def detect(self, head: str, name: str) -> float:
        return detect_script.batch(head, name)

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        _Run(artifact, builder).run()


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return [BatchScriptParser()]
