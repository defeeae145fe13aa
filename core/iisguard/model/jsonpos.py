"""Line numbers of JSON pointers in a JSON text, for error messages and SARIF regions.

Reporters ask for the line of every finding's pointer in snapshots of a hundred MB and more, so
`lines_of` walks only down the paths to the wanted pointers and skips every other value whole.
A skipped object or array ends, in indented JSON, at the first later line that starts with its
closing bracket at its own indentation: that guess is checked by parsing the slice with orjson
(a slice that parses as one JSON value is exactly that value), and when the guess fails (compact
JSON, odd layouts) or orjson is missing, a tokenizer finds the end. Text that is not plain JSON
(a prompt before it, a truncated file) goes to the original token-by-token walk.

Time and memory stay linear in the text whatever its layout: a text on one line (``json.dumps``
without indent, ``jq -c``) has every pointer on line 1 and is not walked at all; the indentation
guess is only tried for a value that starts a short line, and after the first wrong guess the walk
stops guessing and uses the tokenizer, which reads each byte once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\],:\n]')


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    return "".join("/" + escape(str(p)) for p in parts)


def lines_of(
    text: str | bytes, pointers: Iterable[str], *, layout: dict[str, tuple[list[int], int]] | None = None
) -> dict[str, int]:
    """Map each wanted pointer ("" is the root) to the 1-based line where its value starts.

    A key's line is its value's line; an array element that is a number, `true`, `false` or `null`,
    and a pointer that is not in the document, get the line of their nearest ancestor that is (so
    the answer for one pointer does not depend on which others were asked for).

    `layout`, kept by the caller for one unchanged text, remembers where the elements of every array
    walked start: a later call for more pointers goes straight to them instead of skipping the
    elements before them again.
    """
    wanted = set(pointers)
    if not wanted:
        return {}
    every = set(wanted)
    for p in wanted:
        while p:
            p = p.rsplit("/", 1)[0]
            if p in every:
                break
            every.add(p)
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    newline = data.find(b"\n")
    if newline < 0 or _TRAILING_SPACE.match(data, newline):
        return dict.fromkeys(wanted, 1)  # one line: every value, found or not, is on line 1
    if layout is None:
        layout = getattr(text, "layout", None)
    try:
        found = _Walk(data, every, layout).run()
    except (_NotPlain, ValueError, IndexError):
        found = _lines_by_tokens(text if isinstance(text, str) else text.decode("utf-8", "replace"), every)
    return {p: _nearest(found, p) for p in wanted}


def file_lines_of(
    path: str | os.PathLike[str],
    pointers: Iterable[str],
    *,
    layout: dict[str, tuple[list[int], int]] | None = None,
) -> dict[str, int]:
    """`lines_of` the text of a file, which is read whole only when it spans several lines.

    A file on one line (a compact snapshot: 80 MB for a 5,000-site host) answers line 1 for every
    pointer after a scan for its first newline in fixed-size chunks, without a copy of the file in
    memory; `layout` (kept by the caller for one unchanged file) then remembers that, so later calls
    read nothing. Raises OSError when the file cannot be read.
    """
    wanted = set(pointers)
    if not wanted:
        return {}
    if on_one_line(path, layout):
        return dict.fromkeys(wanted, 1)
    with open(path, "rb") as f:
        data = f.read()
    return lines_of(data, wanted, layout=layout)


def on_one_line(path: str | os.PathLike[str], layout: dict[str, tuple[list[int], int]] | None = None) -> bool:
    """Whether the file is one line (a compact snapshot), where every pointer is on line 1: a scan for
    its first newline in fixed-size chunks, whose answer either way `layout` (kept by the caller for
    one unchanged file) remembers, for `file_lines_of` too. Raises OSError when the file cannot be read."""
    if layout is not None and _ONE_LINE in layout:
        return True
    if layout is not None and _SEVERAL_LINES in layout:
        return False
    one = _one_line(path)
    if layout is not None:
        layout[_ONE_LINE if one else _SEVERAL_LINES] = ([], 1)
    return one


# The `layout` entry of a one-line file: no pointer is spelt like this (every one but "" starts with "/").
_ONE_LINE = "#one-line"
_SEVERAL_LINES = "#several-lines"  # on_one_line's answer for any other file
_CHUNK = 1 << 20


def _one_line(path: str | os.PathLike[str]) -> bool:
    """Whether nothing but whitespace follows the file's first newline (as `lines_of` decides for a text)."""
    buf = bytearray(_CHUNK)
    after_newline = False
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            start = 0
            if not after_newline:
                start = buf.find(b"\n", 0, n)
                if start < 0:
                    continue
                after_newline = True
            if buf[start:n].strip(b" \t\r\n"):
                return False
    return True


class Text(bytes):
    """A JSON text that carries the `layout` of `lines_of` for it (for callers that pass text only)."""

    layout: dict[str, tuple[list[int], int]]


def _nearest(found: dict[str, int], pointer: str) -> int:
    while pointer not in found:
        if not pointer:
            return 1
        pointer = pointer.rsplit("/", 1)[0]
    return found[pointer]


class _NotPlain(Exception):
    """The text is not one plain JSON value: use the tolerant token-by-token walk."""


_WS = re.compile(rb"[ \t\r\n]*")
_TRAILING_SPACE = re.compile(rb"[ \t\r\n]*\Z")
_INDENT = re.compile(rb"[ \t]*")
# The indentation guess is for values that start a line of an indented layout ("    \"aces\": ["):
# further along a line than this, the text is compact and the tokenizer is used.
_GUESS_WITHIN = 256
_SEPARATOR = re.compile(rb"[ \t\r\n]*([,\]])[ \t\r\n]*")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null")
# Everything up to the next bracket outside a string, strings whole: one match per bracket.
_TO_BRACKET = re.compile(rb'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+[\[\]{}]', re.DOTALL)
_OPENERS = (ord("{"), ord("["))
_CLOSER = {ord("{"): b"}", ord("["): b"]"}
_QUOTE, _OPEN_OBJECT, _OPEN_ARRAY = ord('"'), ord("{"), ord("[")


def _check_value() -> Any:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is optional (the `fast` extra)
        return None
    return orjson.loads


class _Walk:
    """Down the paths to the wanted pointers, over bytes; every other value is skipped whole."""

    def __init__(
        self, data: bytes, wanted: set[str], layout: dict[str, tuple[list[int], int]] | None = None
    ) -> None:
        self.data = data
        self.layout = layout  # array pointer -> (where each element starts, where the array ends)
        self.view = memoryview(data)
        self.found: dict[str, int] = {}
        self.mark, self.mark_line = 0, 1  # positions only move forward: count newlines since the last one
        self.tree: dict[Any, Any] = {}  # pointer tokens -> subtree; key None holds the pointer when wanted
        for p in wanted:
            node = self.tree
            if p:
                for token in p.split("/")[1:]:
                    node = node.setdefault(token, {})
            node[None] = p
        self.parse = _check_value()  # None once a guess was wrong: the layout is not indented
        # (indentation of a value's line, its bracket) -> the text that ends it in an indented layout
        self.ends: dict[tuple[bytes, int], bytes] = {}

    def run(self) -> dict[str, int]:
        pos = self.space(0)
        if pos >= len(self.data):
            raise _NotPlain
        if self.data[pos] in (_QUOTE, _OPEN_OBJECT, _OPEN_ARRAY) and None in self.tree:
            self.record(self.tree[None], pos)
        pos = self.value(pos, self.tree, "")
        if self.space(pos) != len(self.data):
            raise _NotPlain
        return self.found

    def line(self, pos: int) -> int:
        self.mark_line += self.data.count(b"\n", self.mark, pos)
        self.mark = pos
        return self.mark_line

    def record(self, pointer: str, pos: int) -> None:
        if pointer not in self.found:
            self.found[pointer] = self.line(pos)

    def space(self, pos: int) -> int:
        m = _WS.match(self.data, pos)
        return m.end() if m else pos

    def value(self, pos: int, node: dict[Any, Any], pointer: str) -> int:
        """Walk the value at `pos` (no leading space); return the position after it."""
        first = self.data[pos] if pos < len(self.data) else -1
        if len(node) > (None in node):  # wanted pointers below this one
            if first == _OPEN_OBJECT:
                return self.object(pos, node, pointer)
            if first == _OPEN_ARRAY:
                return self.array(pos, node, pointer)
        return self.skip(pos)

    def object(self, pos: int, node: dict[Any, Any], pointer: str) -> int:
        data = self.data
        pos = self.space(pos + 1)
        if data[pos : pos + 1] == b"}":
            return pos + 1
        while True:
            m = _STRING.match(data, pos)
            if m is None:
                raise _NotPlain
            raw = m.group()
            key = escape(raw[1:-1].decode("utf-8") if b"\\" not in raw else json.loads(raw))
            child = node.get(key)
            if child is not None and None in child:
                self.record(child[None], pos)
            pos = self.space(m.end())
            if data[pos : pos + 1] != b":":
                raise _NotPlain
            pos = self.space(pos + 1)
            pos = self.value(pos, child, f"{pointer}/{key}") if child is not None else self.skip(pos)
            pos = self.space(pos)
            c = data[pos : pos + 1]
            if c == b"}":
                return pos + 1
            if c != b",":
                raise _NotPlain
            pos = self.space(pos + 1)

    def array(self, pos: int, node: dict[Any, Any], pointer: str) -> int:
        data = self.data
        indexes = sorted(int(k) for k in node if k is not None and k.isdigit() and str(int(k)) == k)
        known = self.layout.get(pointer) if self.layout is not None else None
        if known is not None:  # walked before: straight to the elements wanted now
            starts, end = known
            for index in indexes:
                if index >= len(starts):
                    break
                child, at = node[str(index)], starts[index]
                if None in child and data[at] in (_QUOTE, _OPEN_OBJECT, _OPEN_ARRAY):
                    self.record(child[None], at)
                if len(child) > (None in child):  # only to look inside: where it ends is known
                    self.value(at, child, f"{pointer}/{index}")
            return end
        pos = self.space(pos + 1)
        starts = []
        if data[pos : pos + 1] == b"]":
            end = pos + 1
        else:
            last = indexes[-1] if indexes else -1
            index = 0
            while True:
                starts.append(pos)
                child = node.get(str(index)) if index <= last else None
                if child is not None:
                    if None in child and data[pos] in (_QUOTE, _OPEN_OBJECT, _OPEN_ARRAY):
                        self.record(child[None], pos)
                    pos = self.value(pos, child, f"{pointer}/{index}")
                else:
                    pos = self.skip(pos)
                m = _SEPARATOR.match(data, pos)
                if m is None:
                    raise _NotPlain
                if m.group(1) == b"]":
                    end = m.end()
                    break
                pos = m.end()
                index += 1
        if self.layout is not None:
            self.layout[pointer] = (starts, end)
        return end

    def skip(self, pos: int) -> int:
        """The position after the value at `pos`, without looking inside it when the layout tells."""
        data = self.data
        first = data[pos] if pos < len(data) else -1
        if first == _QUOTE:
            m = _STRING.match(data, pos)
        elif first in _CLOSER:
            if self.parse is not None:
                start = data.rfind(b"\n", max(0, pos - _GUESS_WITHIN), pos) + 1
                if start:  # the value starts a short line: it ends on a line with that line's indentation
                    indent = data[start : _INDENT.match(data, start, pos).end()]  # type: ignore[union-attr]
                    ends = self.ends.get((indent, first))
                    if ends is None:
                        ends = self.ends[(indent, first)] = b"\n" + indent + _CLOSER[first]
                    end = data.find(ends, pos)
                    if end >= 0:
                        end += len(ends)
                        try:
                            self.parse(self.view[pos:end])
                            return end
                        except ValueError:
                            pass
                    # Not where an indented layout would end it: stop guessing (each wrong guess
                    # may read to the end of the text) and find ends token by token from now on.
                    self.parse = None
            return self.skip_tokens(pos)
        else:
            m = _SCALAR.match(data, pos)
        if m is None:
            raise _NotPlain
        return m.end()

    def skip_tokens(self, pos: int) -> int:
        """The position after the object or array at `pos`, reading each byte once."""
        data, match, depth = self.data, _TO_BRACKET.match, 0
        while True:
            m = match(data, pos)
            if m is None:
                raise _NotPlain
            pos = m.end()
            depth += 1 if data[pos - 1] in _OPENERS else -1
            if depth == 0:
                return pos


def _lines_by_tokens(text: str, wanted: set[str]) -> dict[str, int]:
    """The tolerant walk: every token in order (for text around or inside the JSON that is not JSON)."""
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
    return found  # numbers, true and null are not tokens: lines_of gives them their parent's line
