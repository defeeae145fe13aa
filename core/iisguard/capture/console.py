"""What Windows console output has in common: prompts, echoed commands, tables, lists, wrapped lines.

Parsers of command output share these helpers so that every format tolerates the same mess: a
prompt and the echoed command before the output, fixed-width tables with dash separators,
`Format-List` records whose long values wrap onto indented lines, CSV rows, and localized words.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import redact
from ..model import jsonpos
from .base import _EOL, Artifact, Builder

# `C:\inetpub>icacls wwwroot`, `PS C:\> whoami /priv`, `[WEB01]: PS C:\Users\me\Documents> ...`, `PS>`,
# `PS /home/me>` (PowerShell on Linux), `*Evil-WinRM* PS C:\Program Files\App> ...` (evil-winrm's prompt).
_CMD_PROMPT = re.compile(r'^([A-Za-z]:\\[^<>|"*?\r\n]*)>(.*)$')
_PS_PROMPT = re.compile(
    r"^(?:\*Evil-WinRM\*\s*)?(?:\[([^\]\s]{1,64})\]:\s*)?PS(?:\s+([^>]*))?>(.*)$", re.IGNORECASE
)
# Commands whose output a capture holds, as a person types them (an echo line, `> cmd`, a script's echo).
COMMAND = re.compile(
    r"^(?:&\s*)?(?:[\w.%:~-]*\\)*(?:(?:icacls|whoami|setspn|net1?|secedit|findstr|appcmd|dsquery"
    r"|sc|reg|wmic|Select-String|sls|(?:Get|Format|ConvertTo|Export|Out|Import)-[A-Za-z]+)(?:\.exe)?"
    r"(?=\s|$)(?!\s*:)(?!\s*=)|(?:type|cat|gc)\s+\S*[.\\/])",
    re.IGNORECASE,
)
# A bare `> setspn.exe -L svc` (a prompt a write-up shortened) and a Unix shell's `user@host:~$ cmd` or
# Kali's `└─$ cmd`, seen around evil-winrm and impacket sessions.
_BARE_PROMPT = re.compile(r"^>\s*(\S.*)$")
_UNIX_PROMPT = re.compile(r"^(?:[\w.-]+@[\w.-]+:[^\s$#]*\s?[$#]|└─+(?:\S*)?[$#])\s+(\S.*)$")
_SID_TEXT = re.compile(r"(?<![\w-])\*?S-1-\d+(?:-\d+)+(?![\w-])", re.IGNORECASE)
DASH_LINE = re.compile(r"^\s*-{3,}(?:\s+-{3,})*\s*$|^\s*-{1,}(?:\s+-+)+\s*$")


@dataclass(frozen=True)
class Prompt:
    """A shell prompt line: the echoed command, the working folder, and the remote host if shown."""

    command: str
    cwd: str | None
    host: str | None


def prompt(line: str) -> Prompt | None:
    """The prompt on this line, or None when it is output."""
    text = line.strip("\ufeff").rstrip()
    m = _PS_PROMPT.match(text)
    if m:
        cwd = (m.group(2) or "").strip() or None
        if cwd and "::" in cwd:  # PS Microsoft.PowerShell.Core\FileSystem::\\srv\share>
            cwd = cwd.split("::", 1)[1]
        return Prompt(m.group(3).strip(), cwd, m.group(1))
    m = _CMD_PROMPT.match(text)
    if m:
        return Prompt(m.group(2).strip(), m.group(1), None)
    m = _BARE_PROMPT.match(text)
    if m and COMMAND.match(m.group(1)):
        return Prompt(m.group(1).strip(), None, None)
    m = _UNIX_PROMPT.match(text)
    if m:
        return Prompt(m.group(1).strip(), None, None)
    return None


def is_command(line: str) -> bool:
    """A line that is a command as typed (`icacls htdocs`, `whoami /priv`): an echo without its prompt."""
    text = line.strip()
    return bool(text) and bool(COMMAND.match(text)) and len(text) < 400


# What a script prints between commands: `===ACL===`, `----- whoami -----`, `### icacls ###`, `=== users`.
_MARKER = re.compile(
    r"^\s*(?:([=#*~+-])\1{2,}\s*(?P<a>[^\s=#*~+-][^=#*~]{0,78}?)\s*\1{3,}|(?:={3,}|#{3,})\s*(?P<b>[A-Za-z][^=#]{0,78}?))\s*$"
)


def marker(line: str) -> str | None:
    """The label of an echo marker line between commands, or None."""
    m = _MARKER.match(line)
    if not m:
        return None
    label = (m.group("a") or m.group("b") or "").strip()
    return label if any(c.isalpha() for c in label) else None


_BANNER = re.compile(
    r"^(?:Microsoft Windows \[Vers\S* [\d.]+\]|\(c\) .*Microsoft Corporation.*|Copyright \(C\) .*Microsoft Corporation.*"
    r"|Windows PowerShell|PowerShell \d+\.\d+\.\d+|Install the latest PowerShell.*|Try the new cross-platform PowerShell.*"
    r"|Loading personal and system profiles took \d+ms\."
    # evil-winrm's start-up lines (github.com/Hackplayers/evil-winrm, evil-winrm.rb print_message)
    r"|Evil-WinRM shell v[\d.]+|Info: Establishing connection to remote endpoint"
    r"|Warning: Remote path completions is disabled.*|Data: For more information, check Evil-WinRM GitHub.*)$",
    re.IGNORECASE,
)


def is_banner(line: str) -> bool:
    """Console start-up lines that precede a pasted capture (`Microsoft Windows [Version ...]`)."""
    return bool(_BANNER.match(line.strip()))


def note_prompt(p: Prompt, builder: Builder) -> None:
    """A remote prompt (`[WEB01]: PS C:\\>`) names the host the capture came from."""
    if p.host and not sids_like(p.host):
        builder.suggest_host(p.host.split(".")[0].upper(), evidence=True)


def sids_like(text: str) -> bool:
    return bool(_SID_TEXT.fullmatch(text.strip()))


def find_sid(text: str) -> re.Match[str] | None:
    return _SID_TEXT.search(text)


def command_args(command: str) -> list[str]:
    """Split an echoed command line into words, honouring double and single quotes."""
    out: list[str] = []
    for m in re.finditer(r'"([^"]*)"|\'([^\']*)\'|(\S+)', command):
        out.append(next(g for g in m.groups() if g is not None))
    return out


def numbered(artifact: Artifact) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without trailing whitespace); a leading BOM character is dropped."""
    first = artifact.first_line
    for no, line in enumerate(artifact.lines(), first):
        if no == first:
            line = line.lstrip("\ufeff")
        yield no, line.rstrip()


def numbered_text(text: str) -> Iterator[tuple[int, str]]:
    """`numbered` for a text already read whole (Artifact.text): the same lines, the same numbers."""
    parts = _EOL.split(text) if text else []
    if parts and parts[-1] == "":
        parts.pop()  # the empty string after the final line ending, which Artifact.lines() does not yield
    for no, line in enumerate(parts, 1):
        yield no, (line.lstrip("\ufeff") if no == 1 else line).rstrip()


def clip(text: str, n: int = 100) -> str:
    """A skipped line shortened for a warning message: redacted, escaped, at most `n` characters."""
    return redact.quote(text, n)


def name_bonus(score: float, name: str, words: tuple[str, ...], bonus: float = 0.05) -> float:
    """A detect() score nudged up by `bonus` when the file name contains one of `words` (case-insensitive).

    The name only breaks ties between formats whose content already matched: a zero score stays zero.
    """
    folded = name.casefold()
    if score and any(w in folded for w in words):
        return min(1.0, score + bonus)
    return score


def csv_fields(line: str) -> list[str] | None:
    """The fields of one CSV row (`"a","b"` as PowerShell and whoami write it), or None."""
    text = line.strip()
    if not text.startswith('"'):
        return None
    try:
        rows = list(csv.reader([text]))
    except (csv.Error, ValueError):
        return None
    return rows[0] if len(rows) == 1 else None


# -- wrapped values ---------------------------------------------------------------------------------

# Console widths a paste is wrapped at: conhost's classic 80 columns and the 120 of Windows 10+ and
# Windows Terminal (a line one shorter than the width is also full: the cursor takes the last cell).
CONSOLE_WIDTHS = (79, 80, 119, 120)


def fills_width(line: str, widest: int = 0) -> bool:
    """Whether `line` filled the console it was printed in, so the next line may continue it.

    The console is 80 or 120 columns, or as wide as the widest line seen in the file so far
    (`widest`, at least 60: a narrower console is not a Windows default).
    """
    n = len(line.rstrip("\r\n"))
    return n in CONSOLE_WIDTHS or (widest >= 60 and n >= widest)


def join_wrapped(parts: Iterable[str]) -> str:
    """Join a value that the console wrapped onto several lines.

    PowerShell word-wraps: it breaks at a space (and drops it) and cuts a word only when the word
    alone is longer than a line. So a line that holds a space ended at a word boundary, and a line
    without one is a piece of a long word that the next line continues.
    """
    out = ""
    prev = ""
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        if not out:
            out = part
        elif " " in prev or prev.endswith(","):
            out += " " + part
        else:
            out += part
        prev = part
    return out


# -- Format-List records ------------------------------------------------------------------------------

_LIST_KEY = re.compile(r"^([A-Za-z][\w.\-]{0,80})\s*: ?(.*)$")


@dataclass
class ListField:
    key: str
    line: int
    parts: list[str] = field(default_factory=list)  # first line's value, then continuation lines

    @property
    def value(self) -> str:
        return join_wrapped(self.parts)


@dataclass
class ListRecord:
    line: int
    fields: list[ListField] = field(default_factory=list)

    def get(self, key: str) -> ListField | None:
        want = key.casefold()
        for f in self.fields:
            if f.key.casefold() == want:
                return f
        return None


def list_records(
    lines: Iterable[tuple[int, str]],
    *,
    on_other: Callable[[int, str], None] | None = None,
    starts_record: Callable[[str], bool] | None = None,
) -> Iterator[ListRecord]:
    """`Format-List` records: `Key : value` lines, indented continuation lines, blank lines between.

    `on_other(line_no, text)` receives lines that are neither (prompts are the caller's business);
    `starts_record(key)` may say that a key always begins a new record (Get-Acl's `Path`).
    """
    record: ListRecord | None = None
    for no, line in lines:
        if not line.strip():
            if record is not None and record.fields:
                yield record
            record = None
            continue
        if line[:1].isspace():
            if record is not None and record.fields:
                record.fields[-1].parts.append(line)
            elif on_other:
                on_other(no, line)
            continue
        m = _LIST_KEY.match(line)
        if not m:
            if on_other:
                on_other(no, line)
            continue
        key = m.group(1)
        if record is not None and record.fields and starts_record and starts_record(key):
            yield record
            record = None
        if record is None:
            record = ListRecord(no)
        record.fields.append(ListField(key, no, [m.group(2)]))
    if record is not None and record.fields:
        yield record


def brace_list(value: str) -> tuple[list[str], bool] | None:
    """`{a, b, c...}` as Format-List shows a collection: (items, truncated), or None when not a list."""
    text = value.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    inner = text[1:-1].strip()
    truncated = inner.endswith("...") or inner.endswith("\u2026")
    inner = inner.rstrip(".\u2026").rstrip() if truncated else inner
    if not inner:
        return [], truncated
    items = [i.strip() for i in re.split(r"(?<!\\),\s+", inner)]
    return [i for i in items if i], truncated


# -- fixed-width tables (Format-Table, net, whoami) -------------------------------------------------------


def dash_columns(line: str, char: str = "-") -> list[tuple[int, int]] | None:
    """Column spans (start, end) from a separator line such as `----  -------  ---` or `=== ===`."""
    if not line.strip() or set(line.strip()) - {char, " "}:
        return None
    return [(m.start(), m.end()) for m in re.finditer(re.escape(char) + "+", line)]


def cut_columns(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """Cells of a fixed-width row: each column runs from its start to the next column's start."""
    cells = []
    for i, (start, _end) in enumerate(spans):
        stop = spans[i + 1][0] if i + 1 < len(spans) else len(line)
        cells.append(line[start:stop].strip())
    return cells


def table_rows(lines: list[tuple[int, str]]) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """A Format-Table block: (headers, [(line, cells)]) when line 2 is a dash separator under line 1."""
    for i in range(len(lines) - 1):
        spans = dash_columns(lines[i + 1][1])
        if spans and lines[i][1].strip():
            header = lines[i][1]
            headers = cut_columns(header, spans)
            rows = [(no, cut_columns(text, spans)) for no, text in lines[i + 2 :] if text.strip()]
            return headers, rows
    return None


# -- JSON ---------------------------------------------------------------------------------------------------


# An author's cut on a line of its own inside pasted JSON: `...`, `…`, `<snip>`, `[...]`, `// …`, `# snip`.
_JSON_CUT = re.compile(
    r"(?im)^[ \t]*(?://+|#+)?[ \t]*(?:\.{3,}|…+|<\s*snip\s*>|\[\s*(?:snip|\.{3}|…)\s*\]|snip(?:ped)?)[ \t]*,?[ \t]*\r?$"
)
_DANGLING_COMMA = re.compile(r",(\s*[\]}])")


def is_cut(line: str) -> bool:
    """A line that is only an author's cut: `...`, `…`, `<SNIP>`, `[...]`, `// …`, `# snip`."""
    return bool(_JSON_CUT.match(line))


def json_documents(
    text: str, first_line: int = 1, notes: list[tuple[int, str]] | None = None
) -> Iterator[tuple[int, Any, str]]:
    """JSON values in a text that may start with a prompt or hold several ConvertTo-Json outputs.

    Yields (line of the value's start, value, the value's own text); `first_line` is the number of
    the text's first line. An author's cut (`...`, `<snip>`, `// …` on a line of its own) is read past,
    and an array that still cannot be read keeps the complete objects before and after the damage;
    both are reported in `notes` as (line, message). Raises ValueError with a line number when a value
    that starts cannot be read at all.
    """
    if _JSON_CUT.search(text):
        text = _blank_cuts(text, first_line, notes)
    decoder = json.JSONDecoder()
    pos = 0
    n = len(text)
    line, counted = (
        first_line,
        0,
    )  # newlines are counted from the previous value on: linear in many small values
    start_of_value = re.compile(r"(?m)^[ \t\ufeff]*([\[{])")  # at a line start: a prompt may hold braces
    while pos < n:
        m = start_of_value.search(text, pos)
        if not m:
            return
        start = m.start(1)
        line += text.count("\n", counted, start)
        counted = start
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            if notes is None:
                raise ValueError(f"line {exc.lineno + first_line - 1}: not valid JSON ({exc.msg})") from None
            if text[start] == "{":
                found = _salvage_object(text, start, first_line, notes)
                if found is None:
                    raise ValueError(
                        f"line {exc.lineno + first_line - 1}: not valid JSON ({exc.msg})"
                    ) from None
                yield line, found[0], found[1]
                pos = found[2]
                continue
            notes.append(
                (
                    exc.lineno + first_line - 1,
                    f"not valid JSON here ({exc.msg}): kept the complete objects before and after it",
                )
            )
            yield from _salvage(text, start, first_line)
            return
        yield line, value, text[start:end]
        pos = end


def _blank_cuts(text: str, first_line: int, notes: list[tuple[int, str]] | None) -> str:
    """Cut-marker lines blanked (same line count) and the comma they leave before `]`/`}` dropped."""

    def blank(m: re.Match[str]) -> str:
        if notes is not None:
            no = text.count("\n", 0, m.start()) + first_line
            notes.append((no, "the author cut the JSON here; read the complete objects around the cut"))
        return " " * len(m.group(0))

    return _DANGLING_COMMA.sub(r" \1", _JSON_CUT.sub(blank, text))


_WS = re.compile(r"[ \t\r\n,]*")
_COLON = re.compile(r"\s*:\s*")
_NEXT_MEMBER_INLINE = re.compile(r',\s*(?="(?:[^"\\\n]|\\.)*"\s*:)')


def _salvage_object(
    text: str, start: int, first_line: int, notes: list[tuple[int, str]]
) -> tuple[dict[str, Any], str, int] | None:
    """The complete members of a damaged top-level object: (members, their JSON, where reading stopped).

    Members are read one by one; a member that cannot be read (an author's cut inside it, `"Name": "x", ...`
    written inline, a value cut short) is dropped with a note naming its line, and reading goes on at the
    next member: the next line indented as the object's first member (ConvertTo-Json's layout), or the next
    `, "key":` on one-line JSON. None when not one member could be read.
    """
    decoder = json.JSONDecoder()
    n = len(text)
    first = re.compile(r'"').search(text, start + 1)
    if first is None:
        return None
    line_start = text.rfind("\n", 0, first.start()) + 1
    multiline = "\n" in text[start : first.start()]
    indent = first.start() - line_start
    member = re.compile(rf'(?m)^[ \t]{{{indent}}}(?=")') if multiline else _NEXT_MEMBER_INLINE
    members: dict[str, Any] = {}
    pos = start + 1
    end, closed = n, False
    while pos < n:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            break
        if text[pos] == "}":
            end, closed = pos + 1, True
            break
        try:
            key, after = decoder.raw_decode(text, pos)
            colon = _COLON.match(text, after)
            if not isinstance(key, str) or colon is None:
                raise ValueError
            value, pos = decoder.raw_decode(text, colon.end())
            members[key] = value
        except ValueError:
            no = text.count("\n", 0, pos) + first_line
            notes.append(
                (no, "not valid JSON here: kept the complete members of the object before and after it")
            )
            nxt = member.search(text, pos + 1)
            if nxt is None:
                break
            pos = nxt.end()
    if not closed:
        last = text.rstrip()
        notes.append(
            (
                last.count("\n") + first_line,
                "the object is cut off before its closing brace: kept its complete members",
            )
        )
    if not members:
        return None
    return members, json.dumps(members), end


def _salvage(text: str, start: int, first_line: int) -> Iterator[tuple[int, Any, str]]:
    """The complete objects of a damaged array, each as a value of its own, in order.

    Items are the `{` at the indentation of the array's first item (ConvertTo-Json's layout), so a
    nested object of a damaged item is never taken for an item; one-line JSON takes any `{`.
    """
    decoder = json.JSONDecoder()
    first = re.compile(r"\{").search(text, start + 1)
    if not first:
        return
    indent = first.start() - (text.rfind("\n", 0, first.start()) + 1)
    item = (
        re.compile(rf"(?m)^[ \t]{{{indent}}}\{{")
        if "\n" in text[start : first.start()]
        else re.compile(r"\{")
    )
    pos = first.start() - indent  # the first item's line start, where the item pattern matches
    while True:
        m = item.search(text, pos)
        if not m:
            return
        at = text.index("{", m.start())
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            pos = at + 1
            continue
        yield text.count("\n", 0, at) + first_line, value, text[at:end]
        pos = end


def json_items(start: int, value: Any, text: str) -> Iterator[tuple[int, Any]]:
    """(line, item) for each element of a JSON list, or for the value itself when it is not a list.

    Takes what json_documents yields: the line the value starts on, the value, and its own text.
    """
    items = value if isinstance(value, list) else [value]
    pointers = [jsonpos.pointer(i) for i in range(len(items))] if isinstance(value, list) else [""]
    lines = jsonpos.lines_of(text, pointers)
    for item, ptr in zip(items, pointers, strict=True):
        yield start + lines.get(ptr, 1) - 1, item


def ci_get(obj: dict[str, Any], *keys: str) -> Any:
    """A value by key, ignoring case and dashes (`msDS-AllowedToDelegateTo` = `msdsallowedtodelegateto`)."""
    norm = {_keynorm(k): v for k, v in obj.items()}
    for key in keys:
        k = _keynorm(key)
        if k in norm:
            return norm[k]
    return None


def _keynorm(key: str) -> str:
    return key.replace("-", "").replace("_", "").casefold()


def keynorm(key: str) -> str:
    return _keynorm(key)
