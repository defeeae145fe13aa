"""A pasted transcript cut into command blocks, each read by the parser that recognizes it.

People paste several commands into one file: `whoami /priv` and then `net user svc /domain`, an
evil-winrm session, a script that prints `===ACL===` between its commands. A block starts at a
prompt (any shell's: console.prompt), at a command echoed without one (`icacls htdocs`), or at a
marker line a script prints (`----- whoami -----`). Each block is detected on its own; neighbouring
blocks of the same kind are read together (so `whoami /user` and `whoami /groups` make one token,
and an icacls listing keeps its prompts' folders), and a block no parser claims is listed as
unrecognized with its line range.

Two streaming passes, both linear: the first finds the blocks and keeps only each block's head (for
detection); the second, run only when the file really holds more than one kind, hands each group of
blocks to its parser as an Artifact of its own whose lines keep their numbers in the pasted file
(Artifact.first_line), so evidence points into the original. Lines a parser must not see (markers,
a command echoed a second time under its prompt) are passed on as blank lines. A file of one kind is
read whole, exactly as before.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import console
from .base import HEAD_BYTES, Artifact
from .detect import detect

# A group bigger than this is written to a temporary file instead of being held in memory.
MEMORY_BYTES = 8 * 1024 * 1024
# Commands that print nothing worth reading: a block holding only one of them is not "unrecognized".
_QUIET = (
    *("cd", "chdir", "set-location", "sl", "cls", "clear", "clear-host", "pushd", "popd", "exit", "echo"),
    *("hostname", "hostname.exe"),  # its output names the machine (Block.hosts), nothing else
)


@dataclass
class Block:
    first: int  # line numbers in the pasted file, inclusive
    last: int
    command: str | None
    head: list[str] = field(default_factory=list)
    chars: int = 0
    content: bool = False  # holds output, not only prompts, markers and blank lines
    hosts: list[str] = field(
        default_factory=list
    )  # machines it names: a remote prompt, `hostname`, systeminfo


@dataclass
class Part:
    """A run of blocks one parser reads (or none recognized: `parser` None and a `reason`)."""

    first: int
    last: int
    parser: Any | None
    reason: str = ""
    artifact: Artifact | None = None
    commands: list[str] = field(default_factory=list)
    spill: str | None = None  # the temporary file holding a part too big for memory
    hosts: list[str] = field(default_factory=list)  # machines its blocks name (Block.hosts)


def worth_scanning(head: str) -> bool:
    """Whether the start of a file shows a prompt, an echoed command or a marker (a paste, not one output)."""
    return any(
        console.prompt(line) is not None or console.marker(line) or console.is_command(line)
        for line in head.splitlines()
    )


def scan(artifact: Artifact) -> tuple[list[Block], set[int]]:
    """The blocks of a pasted file and the lines to blank (markers, echoed duplicates): one streamed pass."""
    blocks: list[Block] = []
    blank: set[int] = set()
    current: Block | None = None
    last_command: str | None = None
    since_prompt = 0
    last = 0

    def start(no: int, command: str | None) -> Block:
        if current is not None:
            current.last = no - 1
        block = Block(no, no, command)
        blocks.append(block)
        return block

    for no, line in console.numbered(artifact):
        last = no
        since_prompt += 1
        p = console.prompt(line)
        if p is not None:
            current = start(no, p.command)
            last_command, since_prompt = p.command, 0
            if p.host and not console.sids_like(p.host):
                current.hosts.append(p.host.split(".")[0].upper())
        elif (label := console.marker(line)) is not None:
            current = start(no, label)
            blank.add(no)
            last_command = None
        elif console.is_command(line):
            if last_command and since_prompt <= 2 and _same_command(line, last_command):
                blank.add(no)  # cmd /c and some shells print the command again under its prompt
            elif current is not None and last_command == "" and since_prompt == 1:
                current.command = last_command = line.strip()  # typed on the line under an empty prompt
                since_prompt = 0
            else:
                current = start(no, line.strip())
                last_command, since_prompt = line.strip(), 0
        elif current is None:
            current = start(no, None)
            current.content = bool(line.strip()) and not console.is_banner(line)
        elif line.strip() and not console.is_banner(line):
            current.content = True
        if current is not None and current.chars < HEAD_BYTES:
            text = "" if no in blank else line
            current.head.append(text)
            current.chars += len(text) + 1
    if current is not None:
        current.last = last
    for block in blocks:
        named = _named_host(block)
        if named and named not in block.hosts:
            block.hosts.append(named)
    return blocks, blank


_HOSTNAME_OUTPUT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9.-]+)?$")
_SYSTEMINFO_HOST = re.compile(r"^\s*Host Name:\s+([A-Za-z0-9][A-Za-z0-9-]{0,62})\s*$")


def _named_host(block: Block) -> str | None:
    """The machine a `hostname` or `systeminfo` block prints (its first output line, its Host Name)."""
    word = (block.command or "").split(" ", 1)[0].casefold().removesuffix(".exe")
    if word == "hostname":
        for text in block.head[1:]:
            stripped = text.strip()
            if stripped and not _same_command(stripped, block.command or ""):
                m = _HOSTNAME_OUTPUT.match(stripped)
                return m.group(1).upper() if m else None
    elif word == "systeminfo":
        for text in block.head[1:]:
            m = _SYSTEMINFO_HOST.match(text)
            if m:
                return m.group(1).upper()
    return None


def _same_command(line: str, command: str) -> bool:
    return " ".join(line.split()).casefold() == " ".join(command.split()).casefold()


def plan(artifact: Artifact, parsers: list[Any]) -> list[Part] | None:
    """The parts of a paste with more than one kind of output; None when the file is read whole."""
    if not worth_scanning(artifact.head):
        return None
    blocks, blank = scan(artifact)
    if sum(1 for b in blocks if b.content) < 2:
        return None
    parts: list[Part] = []
    carry: list[str] = []  # hosts named before the first part (a `hostname` block first in the paste)
    for block in blocks:
        if not block.content:  # prompts, markers, banners: part of the run before (none before the first)
            if parts:
                parts[-1].last = block.last
                parts[-1].hosts.extend(h for h in block.hosts if h not in parts[-1].hosts)
            continue
        probe = Artifact(
            source=Path(artifact.path),
            path=artifact.path,
            hint=dict(artifact.hint),
            data="\n".join(block.head).encode("utf-8"),
            first_line=block.first,
        )
        found = detect(probe, parsers)
        block.head = []  # detected: its text is read again by the second pass, not held for every block
        first = block.first
        prev = parts[-1] if parts else None
        if prev is not None and prev.parser is found.parser and (found.parser is not None or prev.reason):
            prev.last = block.last
        elif found.parser is None and _quiet(block):
            if prev is not None:
                prev.last = block.last
                prev.hosts.extend(h for h in block.hosts if h not in prev.hosts)
            else:
                carry.extend(block.hosts)
            continue
        else:
            parts.append(Part(first, block.last, found.parser, "" if found.parser else found.reason))
            parts[-1].hosts.extend(carry)
            carry = []
        if block.command:
            parts[-1].commands.append(block.command)
        parts[-1].hosts.extend(h for h in block.hosts if h not in parts[-1].hosts)
    recognized = [p for p in parts if p.parser is not None]
    if parts and carry:  # a `hostname` block after the last part (or with no part after it)
        parts[-1].hosts.extend(h for h in carry if h not in parts[-1].hosts)
    # One part is read whole as before, unless quiet blocks around it named the machine (`hostname`).
    if (len(parts) < 2 and not any(p.hosts for p in parts)) or not recognized:
        return None
    _fill(artifact, parts, blank)
    return parts


def _quiet(block: Block) -> bool:
    word = (block.command or "").split(" ", 1)[0].casefold()
    return word in _QUIET or word.startswith("evil-winrm")


def _fill(artifact: Artifact, parts: list[Part], blank: set[int]) -> None:
    """Second pass: each recognized part's lines as an Artifact of its own (numbered as in the paste)."""
    wanted = [p for p in parts if p.parser is not None]
    it: Iterator[Part] = iter(wanted)
    part: Part | None = next(it, None)
    buf: list[str] = []
    size = 0
    spill: Any = None

    def close(p: Part) -> None:
        nonlocal buf, size, spill
        hint = dict(artifact.hint)
        if spill is not None:
            spill.write("".join(buf).encode("utf-8"))
            spill.close()
            p.artifact = Artifact(source=Path(spill.name), path=artifact.path, hint=hint, first_line=p.first)
            p.spill = spill.name
        else:
            data = "".join(buf).encode("utf-8")
            p.artifact = Artifact(source=Path(artifact.path), path=artifact.path, hint=hint, data=data)
            p.artifact.first_line = p.first
        buf, size, spill = [], 0, None

    for no, line in console.numbered(artifact):
        while part is not None and no > part.last:
            close(part)
            part = next(it, None)
        if part is None:
            break
        if no < part.first:
            continue
        text = "" if no in blank else line
        buf.append(text + "\n")
        size += len(text) + 1
        if size > MEMORY_BYTES:
            if spill is None:
                spill = tempfile.NamedTemporaryFile(prefix="iisguard-block-", delete=False)  # noqa: SIM115
            spill.write("".join(buf).encode("utf-8"))
            buf, size = [], 0
    if part is not None:
        close(part)


def cleanup(parts: list[Part]) -> None:
    """Remove the temporary files of parts too big to hold in memory."""
    for p in parts:
        if p.spill:
            with contextlib.suppress(OSError):
                os.unlink(p.spill)
