"""Line numbers of JSON pointers in a JSON text, for error messages and SARIF regions.

Only used on the slow paths (an invalid file, a finding without captured evidence), so it is a plain
tokenizer: it walks the text once and records the line of every value whose pointer was asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\],:\n]')


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    return "".join("/" + escape(str(p)) for p in parts)


def lines_of(text: str, pointers: Iterable[str]) -> dict[str, int]:
    """Map each wanted pointer ("" is the root) to the 1-based line where its value starts."""
    wanted = set(pointers)
    found: dict[str, int] = {}
    if not wanted:
        return found
    line = 1
    # Each frame: [container kind, current key or index, pointer prefix]
    stack: list[list] = []
    expecting_key = False

    def current_pointer() -> str:
        if not stack:
            return ""
        kind, key, prefix = stack[-1]
        return prefix + "/" + escape(str(key))

    def value_starts() -> None:
        p = current_pointer()
        if p in wanted and p not in found:
            found[p] = line

    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok == "\n":
            line += 1
            continue
        c = tok[0]
        if c == '"':
            if stack and stack[-1][0] == "o" and expecting_key:
                stack[-1][1] = json.loads(tok)
                expecting_key = False
                value_starts()  # a key's line is its value's line, scalars included
            else:
                value_starts()
        elif c == ":":
            pass
        elif c in "{[":
            value_starts()
            prefix = current_pointer()
            stack.append(["o" if c == "{" else "a", 0 if c == "[" else None, prefix])
            expecting_key = c == "{"
        elif c in "}]":
            stack.pop()
            expecting_key = False
        elif c == ",":
            if stack and stack[-1][0] == "a":
                stack[-1][1] += 1
            else:
                expecting_key = True
        if len(found) == len(wanted):
            break
    # Scalars other than strings (numbers, true, null) are not tokens: fall back to the parent's line.
    for p in wanted - found.keys():
        parent = p
        while parent and parent not in found:
            parent = parent.rsplit("/", 1)[0]
        found[p] = found.get(parent, 1)
    return found
