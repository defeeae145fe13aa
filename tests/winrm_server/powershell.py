"""How powershell.exe treats what the collector sends it: its command line and its standard input.

There is no Windows here, so this module reproduces, from public sources, the behaviours the
collector must survive (each one cited where it is implemented):

* `-Command -` reads standard input the way the interactive console reads typed lines
  (PowerShell's ConsoleHost `InputLoop`, src/Microsoft.PowerShell.ConsoleHost/host/msh/ConsoleHost.cs;
  PowerShell#3223, #15331, #21784; MicrosoftDocs/PowerShell-Docs#11098): a complete line runs at
  once; a line that leaves a block open starts "block mode", which only a blank (or whitespace-only)
  line ends, and then runs whatever was collected, complete or not; a block still open at end of
  input is dropped without a word; a parse error runs nothing of that statement, is written to
  stderr as plain text, and the process still exits 0.
* `-EncodedCommand` takes base64 of UTF-16LE text. A bootstrap that reads all of standard input
  and runs it as one script block (Ansible's `bootstrap_wrapper.ps1`) sees the script whole, blank
  lines and all; a parse error there is a terminating error (exit code 1), and the error stream is
  CLIXML, as powershell.exe writes it when its output is redirected without `-Command -` text mode.

The "script" is never executed: the test host recognises the capture script (by its text) and
answers with the output configured for it; everything else runs as nothing.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from functools import cache

_OPENERS = {"{": "}", "(": ")", "[": "]"}


def incomplete(text: str) -> bool:
    """True when `text` leaves a block, bracket, string or here-string open (PowerShell would prompt `>>`)."""
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if c == "<" and text.startswith("<#", i):
            end = text.find("#>", i + 2)
            if end < 0:
                return True
            i = end + 2
            continue
        if c == "@" and text[i + 1 : i + 2] in ("'", '"') and text[i + 2 : i + 3] in ("\n", "\r"):
            quote = text[i + 1]
            end = re.compile(rf"^{re.escape(quote)}@", re.M).search(text, i + 3)
            if end is None:
                return True
            i = end.end()
            continue
        if c in ("'", '"'):
            j = i + 1
            while j < n:
                if text[j] == "`" and c == '"':
                    j += 2
                    continue
                if text[j] == c:
                    if text[j + 1 : j + 2] == c:  # a doubled quote is an escaped one
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                return True
            i = j + 1
            continue
        if c == "`":
            if text[i + 1 :].strip() == "":
                return True  # a line continuation at the very end
            i += 2
            continue
        if c in _OPENERS:
            stack.append(_OPENERS[c])
        elif c in ("}", ")", "]"):
            if stack and stack[-1] == c:
                stack.pop()
            else:
                return False  # a stray closer is a parse error, not an open block
        i += 1
    return bool(stack)


@cache
def _parser():  # type: ignore[no-untyped-def]
    import tree_sitter_powershell
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_powershell.language()))


def parse_error(text: str) -> str | None:
    """The first parse error of a complete statement, as PowerShell would word it (roughly), or None."""
    if incomplete(text):
        return "Missing closing '}' in statement block or type definition."
    tree = _parser().parse(text.encode("utf-8"))
    if not tree.root_node.has_error:
        return None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            return f"At line:{row + 1} char:{col + 1}: Unexpected token in expression or statement."
        stack.extend(reversed(node.children))
    return "Unexpected token in expression or statement."


@dataclass
class Interpreted:
    """What powershell.exe made of its input: the statements it ran, and what it printed about them."""

    statements: list[str] = field(default_factory=list)  # run, in order (parsed without error)
    stderr: list[str] = field(default_factory=list)  # plain-text error lines
    dropped: str = ""  # an unfinished block still open at end of input


def read_command_stdin(stdin: str) -> Interpreted:
    """`powershell -Command -`: standard input read as the interactive console reads typed lines."""
    out = Interpreted()
    block: list[str] = []

    def execute(text: str) -> None:
        error = parse_error(text)
        if error is None:
            out.statements.append(text)
        else:
            out.stderr.append(error)

    for line in stdin.replace("\r\n", "\n").split("\n"):
        if block:
            if line.strip() == "":
                execute("\n".join(block))  # block mode ends at a blank line, complete or not
                block = []
            else:
                block.append(line)
            continue
        if line.strip() == "":
            continue
        if incomplete(line):
            block = [line]  # `>>`: block mode
        else:
            execute(line)
    if block:
        out.dropped = "\n".join(block)  # end of input in block mode: silently dropped
    return out


# What marks a bootstrap that reads all of standard input and runs it as one script block.
_READS_ALL_STDIN = re.compile(r"\[Console\]::In\.ReadToEnd\(\)|\$input\s*\|\s*Out-String", re.I)
_RUNS_IT_WHOLE = re.compile(r"\[ScriptBlock\]::Create\(", re.I)


def decode_encoded_command(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-16-le")
    except (ValueError, UnicodeDecodeError):
        return None


def is_stdin_bootstrap(command: str) -> bool:
    return bool(_READS_ALL_STDIN.search(command) and _RUNS_IT_WHOLE.search(command))


def split_arguments(arguments: str) -> list[str]:
    """cmd.exe-style splitting is not needed: the collector never quotes; whitespace is enough here."""
    return arguments.split()
