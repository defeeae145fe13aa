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

from ..errors import PolicyError
from ..model.jsonpos import escape

MAX_POLICY_BYTES = 8 * 1024 * 1024


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type: dates stay text until we parse them."""


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
