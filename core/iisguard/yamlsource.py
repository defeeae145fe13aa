"""Read a YAML file into plain data plus the line of every value, for errors that name file and line.

The file is composed to YAML nodes (which carry their start marks) and the nodes are turned into
JSON-like data by hand, so each JSON pointer (`/waivers/1/expires`) maps to a line. Dates stay
strings (`2027-03-31` is not turned into a `date`): the policy loader parses them itself and can say
"bad date" with the line. Duplicate keys are an error rather than a silent "last one wins".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import PolicyError
from .model.jsonpos import escape

MAX_POLICY_BYTES = 8 * 1024 * 1024


class GuardedLoader(yaml.SafeLoader):
    """yaml.SafeLoader with the guards: what every YAML file from a user or a server is read with."""

    _guard_depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        return _guarded_compose(self, super().compose_node, parent, index)

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None:
            check_aliases(node)
        return node


class _Loader(GuardedLoader):
    """GuardedLoader without the implicit timestamp type: dates stay text until we parse them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Source:
    """A parsed YAML document: `data`, and `lines` from JSON pointer ("" is the root) to 1-based line."""

    path: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, pointer: str) -> int:
        """The line of a pointer, or of its nearest parent that has one."""
        p = pointer
        while p not in self.lines and p:
            p = p.rsplit("/", 1)[0]
        return self.lines.get(p, 1)

    def where(self, pointer: str) -> str:
        return f"{self.path}:{self.line(pointer)}"


def load(path: str | os.PathLike[str]) -> Source:
    """Parse one YAML file; every failure is a PolicyError naming the file and line."""
    p = Path(path)
    try:
        if p.is_dir():
            raise PolicyError("is a directory, not a policy file", where=str(p))
        if p.stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"file is over {MAX_POLICY_BYTES:,} bytes: not a policy", where=str(p))
        text = p.read_text("utf-8-sig")
    except FileNotFoundError:
        raise PolicyError("no such file", where=str(p)) from None
    except UnicodeDecodeError:
        raise PolicyError("not UTF-8 text", where=str(p)) from None
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror or exc}", where=str(p)) from None
    return parse(text, str(p))


def parse(text: str, path: str) -> Source:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        source = Source(path, None)
        if node is not None:
            source.data = _convert(loader, node, "", source.lines, path)
        return source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError(f"not valid YAML: {exc.problem or exc.context}", where=f"{path}:{line}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}", where=path) from None
    finally:
        loader.dispose()


def _convert(loader: _Loader, node: yaml.Node, pointer: str, lines: dict[str, int], path: str) -> Any:
    lines.setdefault(pointer, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise PolicyError(
                    "a mapping key must be plain text", where=f"{path}:{key_node.start_mark.line + 1}"
                )
            key = str(key) if not isinstance(key, bool) else str(key).lower()
            if key in out:
                raise PolicyError(f"duplicate key {key!r}", where=f"{path}:{key_node.start_mark.line + 1}")
            child = f"{pointer}/{escape(key)}"
            lines[child] = key_node.start_mark.line + 1
            out[key] = _convert(loader, value_node, child, lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, f"{pointer}/{i}", lines, path) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


# -- hostile YAML: alias bombs, recursive aliases, absurd nesting ----------------------------------
# A policy, hosts.yaml or capture.yaml may come from someone else: "billion laughs" turns 700 bytes
# into gigabytes, a recursive alias or 50,000 nested brackets into a RecursionError. Every YAML file
# iisguard reads is composed by a GuardedLoader, which refuses these with the line, before anything
# is built from the nodes.
MAX_DEPTH = 64  # nesting levels, counting the levels an alias brings in
MAX_ALIAS_VALUES = 100_000  # values aliases may add beyond those written in the file


def _bomb(problem: str, mark: Any) -> yaml.composer.ComposerError:
    return yaml.composer.ComposerError(None, None, problem, mark)


def _guarded_compose(loader: Any, compose: Any, parent: Any, index: Any) -> Any:
    """Composer.compose_node with the nesting depth counted (PyYAML's composer recurses per level)."""
    loader._guard_depth += 1
    try:
        if loader._guard_depth > MAX_DEPTH:
            raise _bomb(f"nested more than {MAX_DEPTH} levels deep", loader.peek_event().start_mark)
        return compose(parent, index)
    finally:
        loader._guard_depth -= 1


def check_aliases(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases are recursive, nest too deep, or expand past MAX_ALIAS_VALUES."""
    sizes: dict[int, int] = {}  # id(node) -> values it expands to; -1 while being visited (a cycle)
    unique = 0

    def visit(node: yaml.Node, depth: int) -> int:
        nonlocal unique
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            if known < 0:
                raise _bomb("an alias refers to a node that contains it (a recursive alias)", node.start_mark)
            return known
        if depth > MAX_DEPTH:
            raise _bomb(
                f"nested more than {MAX_DEPTH} levels deep once aliases are expanded", node.start_mark
            )
        sizes[key] = -1
        unique += 1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            size += visit(child, depth + 1)
            if size - unique > MAX_ALIAS_VALUES:
                raise _bomb(
                    f"aliases expand to more than {MAX_ALIAS_VALUES:,} values beyond the file's own "
                    "(an alias bomb?)",
                    child.start_mark,
                )
        sizes[key] = size
        return size

    visit(root, 1)


def safe_load(text: str) -> Any:
    """yaml.safe_load with the guards; errors are yaml.YAMLError with a problem_mark (file line)."""
    loader = GuardedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
