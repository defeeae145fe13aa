"""Untrusted XML in, a small element tree with line numbers out.

Parsing goes through defusedxml's expat parser with DTDs forbidden: every XML bomb (entity expansion,
external entities, parameter entities) needs a DTD, so refusing the DTD refuses them all. ElementTree
elements carry no line numbers, so a target records expat's CurrentLineNumber at each start tag.
Comments are dropped (real applicationHost.config files hold commented-out `<location>` examples).

A paste cut off before its closing tags keeps what was read: expat reports a cut only when the input
ends, after every complete element has reached the tree, so the tree is kept with a note "truncated
after line N" (the last line where an element ended). DTDs and entities are refused before that.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from ..errors import CaptureError, LimitError
from .base import Artifact, Builder

# Real configuration files nest about a dozen levels; anything this deep is hostile or broken.
MAX_DEPTH = 256
# Elements in one XML file. The large benchmark host's applicationHost.config (5,000 sites and pools)
# has about 41,000; every element becomes a Node here and most become snapshot objects (a one-line
# `<add name="p1" />` is 20 bytes of input and about 1 KB of snapshot), so a file past this count is
# refused before it can take gigabytes (issue #18: 11 MB of one-line pools took 2.2 GB). See README.
MAX_ELEMENTS = int(os.environ.get("IISGUARD_MAX_XML_ELEMENTS", "250000"))
FRAGMENT = "#fragment"
_JUNK_AFTER_ROOT = 9  # expat XML_ERROR_JUNK_AFTER_DOC_ELEMENT
_TAG_MISMATCH = 7  # expat XML_ERROR_TAG_MISMATCH
_INVALID_TOKEN = 4  # expat XML_ERROR_INVALID_TOKEN
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.DOTALL)


@dataclass(eq=False, slots=True)
class Node:
    """One element: local tag name (namespace dropped), attributes, 1-based line of its start tag.

    Slots and interned names: a file holds up to MAX_ELEMENTS of these, so each costs what it must.
    """

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def child(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def find(self, *tags: str) -> Node | None:
        """The first descendant along a path of tags, e.g. find("security", "authentication")."""
        node: Node | None = self
        for tag in tags:
            node = node.child(tag) if node is not None else None
        return node

    def iter(self) -> Iterator[Node]:
        """This element and every descendant, in document order (iterative: no recursion limit)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


class _Target:
    """ElementTree parser target that builds Nodes and stamps each with the line expat is on."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.parser: Any = None
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.last_end_line = 0  # where the most recent top-level element closed
        self.last_line = 0  # where the most recent element closed
        self.truncated: int | None = None  # the input ended inside an element: the last complete line
        self.count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        line = int(self.parser.CurrentLineNumber) if self.parser is not None else 0
        if len(self.stack) >= MAX_DEPTH:
            raise CaptureError(
                f"XML nested deeper than {MAX_DEPTH} elements; refused", where=f"{self.where}:{line}"
            )
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise LimitError(
                f"more than {MAX_ELEMENTS:,} XML elements in one file; refused (a real applicationHost.config "
                "of 5,000 sites has about 41,000; raise IISGUARD_MAX_XML_ELEMENTS to import a larger one)",
                where=f"{self.where}:{line}",
            )
        # expat hands each element a fresh dict: keep it; intern names, which repeat on every element.
        intern = sys.intern
        node = Node(intern(tag.rsplit("}", 1)[-1]), {intern(k): v for k, v in attrs.items()}, line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()
        if self.parser is not None:
            self.last_line = int(self.parser.CurrentLineNumber)
            if len(self.stack) == 1:
                self.last_end_line = self.last_line

    def data(self, text: str) -> None:
        pass

    def close(self) -> Node | None:
        return self.root


def _parse(text: str, where: str, *, wrapper: bool = False) -> tuple[Node, _Target]:
    """Parse; with `wrapper`, `text` opens a synthetic root that it never closes (see parse_text)."""
    target = _Target(where)
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    target.parser = parser.parser
    try:
        parser.feed(text)
        try:
            parser.close()
        except SyntaxError:
            # The input ended inside an element or a tag: a cut paste. Every element that started is in
            # the tree already (with complete attributes); keep it. Only the wrapper left open is no cut.
            if target.root is None:
                raise
            if not (wrapper and len(target.stack) == 1):
                target.truncated = target.last_line or target.root.line
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        line = int(parser.parser.CurrentLineNumber or 1)
        what = {
            DTDForbidden: "declares a DTD (<!DOCTYPE ...>)",
            EntitiesForbidden: "declares an entity",
            ExternalReferenceForbidden: "references an external entity",
        }[type(exc)]
        raise CaptureError(
            f"refused: the XML {what}; DTDs and entities allow expansion bombs and reading other files, "
            "so iisguard never processes them (IIS configuration files have none)",
            where=f"{where}:{line}",
        ) from None
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        code = getattr(exc, "code", None)
        line = (getattr(exc, "position", None) or (1, 0))[0]
        reason = str(exc).split(": line ", 1)[0]
        error = CaptureError(f"not well-formed XML ({reason})", where=f"{where}:{line}")
        error.xml_code = code  # type: ignore[attr-defined]
        raise error from None
    except (UnicodeError, ValueError) as exc:
        raise CaptureError(f"cannot read as XML ({type(exc).__name__})", where=where) from None
    if target.root is None:
        raise CaptureError("no XML element found", where=where)
    return target.root, target


def _blank(text: str) -> str:
    """Same length and line breaks, no content: keeps expat's line numbers right after an edit."""
    return re.sub(r"[^\r\n]", " ", text)


def parse_text(text: str, where: str, *, fragments: bool = False) -> tuple[Node, list[tuple[int, str]]]:
    """Parse XML text; returns the root and notes `(line, message)` about text that was skipped.

    Leading lines before the first `<` (a console prompt, an echoed command) are skipped. With
    `fragments`, several top-level elements (a pasted section or two) are read under a synthetic root
    whose tag is FRAGMENT, and text after the document element is ignored with a note.
    """
    notes: list[tuple[int, str]] = []
    text = text.lstrip("\ufeff")
    first = text.find("<")
    if first > 0 and text[:first].strip():
        cut = text.rfind("\n", 0, first) + 1
        skipped = text[:cut].count("\n") + (0 if not text[cut:first].strip() else 1)
        notes.append((1, f"skipped {skipped} line(s) before the XML starts"))
        text = _blank(text[:cut]) + text[cut:]
    # We feed decoded text, so the declaration's encoding is moot; expat also rejects one that is not
    # at the very start (after a skipped prompt, or inside the fragment wrapper): blank it.
    decl = _XML_DECL.match(text)
    if decl:
        text = _blank(decl.group(0)) + text[decl.end() :]
    try:
        root, target = _parse(text, where)
        _note_cut(target, notes)
        return root, notes
    except CaptureError as exc:
        code = getattr(exc, "xml_code", None)
        # An end tag right after the first element (a paste that starts inside a section) is an invalid token.
        if not fragments or (code != _JUNK_AFTER_ROOT and not (code == _INVALID_TOKEN and _unopened(text))):
            raise
    # Several top-level elements, or trailing text: parse again inside a wrapper on the same line.
    reopened = False
    try:
        root, target = _parse(f"<{FRAGMENT[1:]}>{text}", where, wrapper=True)
    except CaptureError as exc:
        # A paste that starts inside a section (`<add .../>` ... `</applicationPools>`): its elements
        # are read inside the sections whose end tags it holds, opened on its first line.
        opened = _unopened(text) if getattr(exc, "xml_code", None) == _TAG_MISMATCH else []
        if not opened:
            raise
        start = text.find("<")
        prefix = "".join(f"<{tag}>" for tag in reversed(opened))
        root, target = _parse(f"<{FRAGMENT[1:]}>{text[:start]}{prefix}{text[start:]}", where, wrapper=True)
        reopened = True
        notes.append(
            (
                text.count("\n", 0, start) + 1,
                f"the paste starts inside <{opened[-1]}> (end tags without their start tags: "
                f"{', '.join(f'</{t}>' for t in opened)}): what follows is read inside them, a part "
                "cut at the start is not guessed",
            )
        )
    root.tag = FRAGMENT
    _note_cut(target, notes)
    if len(root.children) == 1:
        if not reopened:
            notes.append((target.last_end_line, "ignored text after the end of the XML document"))
        return root.children[0], notes
    return root, notes


_TOKEN = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![^>]*>|<(/?)([A-Za-z_][\w.:-]*)(?:\s(?:[^>\"']|\"[^\"]*\"|'[^']*')*?)?(/?)>",
    re.S,
)


def _unopened(text: str) -> list[str]:
    """End tags at the top level of a paste whose start tags are missing (a cut at its start), innermost first."""
    stack: list[str] = []
    missing: list[str] = []
    for m in _TOKEN.finditer(text):
        closing, tag, empty = m.group(1), m.group(2), m.group(3)
        if tag is None or empty:
            continue
        if not closing:
            stack.append(tag)
        elif stack and stack[-1] == tag:
            stack.pop()
        elif not stack:
            missing.append(tag)
        else:
            return []  # a real mismatch inside the paste: not a cut at its start
    return missing


def _note_cut(target: _Target, notes: list[tuple[int, str]]) -> None:
    if target.truncated is not None:
        notes.append(
            (
                target.truncated,
                f"truncated after line {target.truncated}: the XML ends inside an element; "
                "every element read up to there is kept, anything after the cut is missing",
            )
        )


def load(artifact: Artifact, builder: Builder, text: str | None = None) -> Node:
    """Parse an artifact's whole text (size-limited by Artifact.text; or `text`, already read), fragments allowed.

    What parsing had to step over (text after the document, several top-level elements) is reported
    to the builder as warnings on their lines.
    """
    root, notes = parse_text(artifact.text() if text is None else text, artifact.path, fragments=True)
    for line, message in notes:
        builder.warn(artifact, line, message)
        if message.startswith("truncated after line"):
            builder.truncated.add(artifact.path)
    return root
