"""Declarative rules from policy files (`custom_rules`), evaluated with a compiled CEL engine.

A custom rule names a collection of the snapshot (`resource: iis.app_pools`), a CEL expression that
is true when an item complies (`assert`), and a message. Expressions see:

- ``resource``: the item; ``key``: the name it has in findings; ``parent``: the enclosing item for
  nested collections (the site of ``iis.sites[].applications``); ``params``: the rule's parameters;
  ``snapshot``: the whole document; ``host``: the host name.
- Index functions for joins that stay linear: ``pool(name)``, ``acl(path)``, ``principal(ref)``
  (by SID or name), ``sid(ref)`` and ``in_group(member, group)`` (transitive). Each returns ``null``
  when the snapshot has no such object.

Speed: the Rust engine itself is fast; turning Python values into CEL values is what costs. So each
expression is analysed once and only the fields it reads are converted per item (``resource.a.b``
converts ``{"a": {"b": ...}}``). Reading a large collection through ``snapshot`` inside an
expression is linear per item (quadratic per rule): use the index functions for joins.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model.snapshot import SECTION_KEYS
from ..model.snapshot import schema as snapshot_schema
from .findings import Outcome, Result, Severity
from .rule import BUILTIN_ID, RULE_ID, SECTIONS, Parameter, Reference, Rule

if TYPE_CHECKING:
    from ..model.snapshot import Snapshot

VARIABLES = ("resource", "key", "parent", "params", "snapshot", "host")
HELPERS = ("pool", "acl", "principal", "sid", "in_group")
JOINABLE = ("pool", "acl", "principal", "sid")  # one-argument helpers that can be hoisted
HELPER_ITEMS = {"pool": "iis.app_pools", "acl": "acls", "principal": "principals"}
# Global (not method) functions of CEL, so that a misspelled one is caught at load time.
CEL_GLOBALS = frozenset(
    [
        "has",
        "size",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "matches",
        "max",
        "min",
    ]
)
MACROS = ("all", "exists", "exists_one", "map", "filter")
KEY_FIELDS = ("name", "path", "location", "principal", "spn", "right", "protocol", "identity")
# Snapshot key -> the section that fills it: model.snapshot.SECTION_KEYS read backwards, so that
# `principals` (filled by both principals and local_accounts) belongs to the principals section.
SECTION_OF = {key: section for section, key in reversed(SECTION_KEYS.items())}
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_STRING = re.compile(
    r"""[rRbB]{0,2}(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")""",
    re.S,
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NULL_TEST = re.compile(r"\s*[!=]=\s*null\b")
_ARG_PATH = re.compile(r"^\s*(resource|parent)((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)+)\s*$")
_FIELD = re.compile(r"\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_MACRO_VAR = re.compile(r"\.\s*(?:" + "|".join(MACROS) + r")\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


class RuleProblem(Exception):
    """A problem in a custom rule: `field` is the key of the rule it is about (for the line)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- the snapshot schema, to check resource paths and field names ---------------------------------


def _snapshot_schema() -> dict[str, Any]:
    return snapshot_schema()


def _deref(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = _snapshot_schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _is(node: Mapping[str, Any], kind: str) -> bool:
    t = node.get("type")
    return t == kind or (isinstance(t, list) and kind in t)


def collections() -> list[str]:
    """Every resource path a custom rule may name, for error messages and documentation."""
    out = ["host", "user_rights"]

    def walk(node: Mapping[str, Any], path: str, depth: int) -> None:
        node = _deref(node)
        for name, child in (node.get("properties") or {}).items():
            child = _deref(child)
            p = f"{path}.{name}" if path else name
            if _is(child, "array") and _is(_deref(child.get("items") or {}), "object"):
                out.append(p)
                if depth < 3:
                    walk(child["items"], p + "[]", depth + 1)
            elif _is(child, "object") and depth < 3 and path != "collection" and name != "collection":
                walk(child, p, depth + 1)

    walk(_snapshot_schema(), "", 0)
    return sorted(set(out))


@dataclass(frozen=True)
class Segment:
    name: str
    each: bool  # iterate over this list


def parse_resource(path: str) -> tuple[tuple[Segment, ...], Mapping[str, Any]]:
    """Segments of a resource path and the schema of one item; RuleProblem when the path is unknown."""
    if path == "host":
        return (Segment("host", False),), _deref(_snapshot_schema()["properties"]["host"])
    if path == "user_rights":
        schema = {
            "type": "object",
            "properties": {"right": {"type": "string"}, "principals": {"type": "array"}},
        }
        return (Segment("user_rights", True),), schema
    node: Mapping[str, Any] = _snapshot_schema()
    segments = []
    parts = path.split(".")
    for i, part in enumerate(parts):
        name, each = (part[:-2], True) if part.endswith("[]") else (part, False)
        child = (_deref(node).get("properties") or {}).get(name)
        if child is None:
            raise RuleProblem("resource", f"unknown resource {path!r} (known: {', '.join(collections())})")
        child = _deref(child)
        last = i == len(parts) - 1
        if _is(child, "array"):
            if not each and not last:
                raise RuleProblem(
                    "resource", f"{'.'.join(parts[: i + 1])} is a list: write {name}[] to step into it"
                )
            segments.append(Segment(name, True))
            node = _deref(child.get("items") or {})
        elif each:
            raise RuleProblem("resource", f"{'.'.join(parts[: i + 1])} is not a list, so it cannot take []")
        else:
            segments.append(Segment(name, False))
            node = child
    if not segments[-1].each:
        raise RuleProblem(
            "resource", f"resource {path!r} is not a collection (known: {', '.join(collections())})"
        )
    return tuple(segments), node


def _check_fields(schema: Mapping[str, Any], fields: Sequence[str], what: str, label: str) -> None:
    node = _deref(schema)
    for i, name in enumerate(fields):
        props = node.get("properties")
        if not props:  # a free-form object or a scalar: nothing more to check
            return
        if name not in props:
            known = ", ".join(sorted(props))
            raise RuleProblem(label, f"{what} has no field {'.'.join(fields[: i + 1])!r} (known: {known})")
        node = _deref(props[name])
        if _is(node, "array"):
            return  # .size(), .exists() and indexing are CEL's business


# -- analysing an expression ---------------------------------------------------------------------


@dataclass
class Usage:
    """What an expression reads: per variable or helper, the field paths (an empty path: all of it)."""

    paths: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    calls: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)

    def add(self, name: str, path: tuple[str, ...]) -> None:
        self.paths.setdefault(name, set()).add(path)

    def merge(self, other: Usage) -> None:
        for k, v in other.paths.items():
            self.paths.setdefault(k, set()).update(v)
        self.calls |= other.calls
        self.variables |= other.variables


def _blank_strings(src: str) -> str:
    """The source with string literals replaced by same-length blanks (keeps offsets)."""
    return _STRING.sub(lambda m: "'" + " " * (len(m.group()) - 2) + "'", src)


def _closing(text: str, start: int) -> int:
    """Index just after the bracket matching text[start]."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _field_chain(text: str, pos: int) -> tuple[tuple[str, ...], int]:
    """The `.a.b` chain starting at pos; a name followed by `(` is a method and ends the chain."""
    chain: list[str] = []
    while True:
        m = _FIELD.match(text, pos)
        if not m:
            return tuple(chain), pos
        after = m.end()
        rest = text[after:].lstrip()
        if rest.startswith("("):
            return tuple(chain), pos
        chain.append(m.group(1))
        pos = after


def analyse(src: str) -> Usage:
    """Which variables, fields and helper functions an expression uses (conservatively)."""
    text = _blank_strings(src)
    usage = Usage()
    bound = set(_MACRO_VAR.findall(text))
    for m in _IDENT.finditer(text):
        name = m.group()
        before = text[: m.start()].rstrip()
        if before.endswith(".") or (
            m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_")
        ):
            continue  # a field or method name, or the middle of a number like 1e5
        rest = text[m.end() :]
        if rest.lstrip().startswith("("):
            usage.calls.add(name)
            if name in HELPERS:
                open_at = m.end() + (len(rest) - len(rest.lstrip()))
                end = _closing(text, open_at)
                chain, _ = _field_chain(text, end)
                usage.paths.setdefault(name, set())
                if chain or not _NULL_TEST.match(text, end):  # `pool(x) == null` needs no fields at all
                    usage.add(name, chain)
            continue
        if name in ("true", "false", "null", "in"):
            continue
        if name in bound:
            if name in VARIABLES:  # shadowed in a macro somewhere: pass the whole value, to be safe
                usage.variables.add(name)
                usage.add(name, ())
            continue
        usage.variables.add(name)
        if name in ("resource", "parent", "snapshot", "params") or name.startswith("_join_"):
            chain, end = _field_chain(text, m.end())
            usage.paths.setdefault(name, set())
            if chain or not (name.startswith("_join_") and _NULL_TEST.match(text, end)):
                usage.add(name, chain)
    return usage


Plan = dict[str, "Plan | None"]


def plan(paths: set[tuple[str, ...]] | None) -> Plan | None:
    """A pruning plan for field paths: None keeps everything, else field -> plan for what is under it."""
    if paths is None or () in paths:
        return None
    groups: dict[str, set[tuple[str, ...]]] = {}
    for p in paths:
        groups.setdefault(p[0], set()).add(p[1:])
    return {k: plan(sub) for k, sub in groups.items()}


def cut(value: Any, how: Plan | None) -> Any:
    """Only the parts of `value` a plan keeps."""
    if how is None or not isinstance(value, dict):
        return value
    return {k: value[k] if sub is None else cut(value[k], sub) for k, sub in how.items() if k in value}


def prune(value: Any, paths: set[tuple[str, ...]] | None) -> Any:
    """Only the parts of `value` the paths read; `None` or an empty path keeps everything."""
    return cut(value, plan(paths))


# -- compiling a custom rule ---------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    """A helper call on a field of the item (`pool(resource.app_pool)`), resolved in Python per item."""

    helper: str
    base: str  # "resource" or "parent"
    path: tuple[str, ...]


def hoist(src: str, prefix: str) -> tuple[str, dict[str, Join]]:
    """The expression with each `helper(resource.a.b)` replaced by a variable, and what each variable is.

    Calling Python from CEL converts the result on every call, and expressions often call the same
    helper twice (`pool(x) == null || pool(x).identity...`); a variable is converted once per item,
    and only the fields the expression reads. An argument that is missing on the item gives null.
    """
    text = _blank_strings(src)
    spans: list[tuple[int, int, Join]] = []
    for m in _IDENT.finditer(text):
        name = m.group()
        if name not in JOINABLE or text[: m.start()].rstrip().endswith("."):
            continue
        rest = text[m.end() :]
        if not rest.lstrip().startswith("("):
            continue
        open_at = m.end() + (len(rest) - len(rest.lstrip()))
        end = _closing(text, open_at)
        arg = _ARG_PATH.match(text[open_at + 1 : end - 1])
        if arg:
            path = tuple(part.strip() for part in arg.group(2).split(".")[1:])
            spans.append((m.start(), end, Join(name, arg.group(1), path)))
    names: dict[Join, str] = {}
    for _, _, join in spans:
        names.setdefault(join, f"_join_{prefix}{len(names)}")
    out = src
    for start, end, join in reversed(spans):
        out = out[:start] + names[join] + out[end:]
    return out, {var: join for join, var in names.items()}


@dataclass
class Expr:
    source: str
    program: Any  # cel.Program, of the source after hoisting
    usage: Usage  # what the source reads, for checks
    run_usage: Usage  # what the hoisted program reads, for binding
    joins: dict[str, Join] = field(default_factory=dict)


def compile_expr(src: str, label: str, prefix: str = "") -> Expr:
    import cel

    try:
        program = cel.compile(src)
    except (ValueError, RuntimeError) as exc:
        msg = str(exc)
        if msg.startswith("Failed to parse expression"):
            msg = msg.split("': ", 1)[-1]
        msg = " ".join(line.strip() for line in msg.splitlines() if line.strip() and not line.startswith("|"))
        pos = re.match(r"ERROR: <input>:(\d+):(\d+): (.*)", msg)
        if pos:
            text = pos.group(3).split(" expecting {")[0]  # the token list ANTLR expected is noise to a person
            msg = f"{text} (expression line {pos.group(1)}, column {pos.group(2)})"
        raise RuleProblem(label, f"bad CEL in {label}: {msg}") from None
    check_cost(src, label)
    usage = analyse(src)
    unknown = sorted(v for v in usage.variables if v not in VARIABLES)
    if unknown:
        raise RuleProblem(
            label, f"bad CEL in {label}: unknown variable {unknown[0]!r} (CEL sees {', '.join(VARIABLES)})"
        )
    bad_calls = sorted(c for c in usage.calls if c not in HELPERS and c not in CEL_GLOBALS)
    if bad_calls:
        raise RuleProblem(
            label, f"bad CEL in {label}: unknown function {bad_calls[0]!r} (helpers: {', '.join(HELPERS)})"
        )
    hoisted, joins = hoist(src, prefix)
    if not joins:
        return Expr(src, program, usage, usage)
    return Expr(src, cel.compile(hoisted), usage, analyse(hoisted), joins)


# -- cost ----------------------------------------------------------------------------------------
# The CEL engine has no cost limit, and a rule runs once per item: comprehensions nested inside each
# other multiply. `snapshot.acls.all(a, snapshot.acls.exists(b, ...))` is N^2 per item, N^3 per rule
# (minutes on 150 ACLs). So nesting is checked when the rule is loaded (and by `policy check`), and
# a rule that still runs past CEL_SECONDS on one snapshot is stopped with an error.
MAX_NESTED_MACROS = 2
CEL_SECONDS = float(os.environ.get("IISGUARD_CEL_SECONDS", "60"))
_MACRO_CALL = re.compile(r"\.\s*(" + "|".join(MACROS) + r")\s*\(")


def _receiver_root(text: str) -> str:
    """The first identifier of the expression that ends `text` (`snapshot` in `snapshot.acls[0].aces`)."""
    i = len(text)
    while i > 0:
        c = text[i - 1]
        if c in ")]":
            depth = 0
            while i > 0:
                c = text[i - 1]
                depth += c in ")]"
                depth -= c in "(["
                i -= 1
                if depth == 0:
                    break
        elif c.isalnum() or c in "_. \t":
            i -= 1
        else:
            break
    m = _IDENT.match(text[i:].strip())
    return m.group() if m else ""


def check_cost(src: str, label: str) -> None:
    """Refuse comprehensions nested deeper than MAX_NESTED_MACROS, or two over snapshot-wide collections
    one inside the other: their cost grows as a power of the snapshot's size for every item."""
    text = _blank_strings(src)
    spans = []
    for m in _MACRO_CALL.finditer(text):
        close = _closing(text, m.end() - 1)
        spans.append((m.start(), close, _receiver_root(text[: m.start()]) == "snapshot", m.group(1)))
    for start, _close, _wide, macro in spans:
        around = [s for s in spans if s[0] <= start < s[1]]
        if len(around) > MAX_NESTED_MACROS:
            raise RuleProblem(
                label,
                f"CEL in {label} nests {len(around)} comprehensions ({', '.join(s[3] for s in around)}) inside "
                f"each other; at most {MAX_NESTED_MACROS} are allowed, since their cost multiplies for every item",
            )
        if sum(1 for s in around if s[2]) >= 2:
            raise RuleProblem(
                label,
                f"CEL in {label} runs `{macro}` over a snapshot collection inside another comprehension over a "
                "snapshot collection: the cost grows with the square of the snapshot for every item; "
                "use a lookup (acl(path), pool(name), principal(ref), in_group(member, group)) instead",
            )


@dataclass
class Compiled:
    """A custom rule ready to run: its expressions, where its items are, and how to name them."""

    rule_id: str
    segments: tuple[Segment, ...]
    key: tuple[str, ...] | None
    when: Expr | None
    check: Expr
    message: str
    usage: Usage
    joins: dict[str, Join] = field(default_factory=dict)


def build_rule(raw: Mapping[str, Any], *, pack: str, prefix: str | None) -> Rule:
    """A Rule from one `custom_rules` entry (already valid against the policy schema)."""
    rule_id = str(raw["id"])
    if not RULE_ID.match(rule_id):
        raise RuleProblem("id", f"rule id {rule_id!r} is not of the form PREFIX-AREA-NNN")
    if rule_id.startswith("IIS-") or BUILTIN_ID.match(rule_id):
        raise RuleProblem("id", f"rule id {rule_id!r}: the IIS- prefix is reserved for built-in rules")
    if prefix and not rule_id.startswith(prefix):
        raise RuleProblem("id", f"rule id {rule_id!r} is outside this policy's prefix {prefix!r}")
    segments, item_schema = parse_resource(str(raw["resource"]))
    parent_schema = _parent_schema(str(raw["resource"]))
    key = tuple(str(raw["key"]).split(".")) if raw.get("key") else None
    if key:
        _check_fields(item_schema, key, f"resource {raw['resource']}", "key")
    params = dict(raw.get("parameters") or {})
    when = compile_expr(str(raw["when"]), "when", "w") if raw.get("when") else None
    check = compile_expr(str(raw["assert"]), "assert", "a")
    usage = Usage()  # what running the programs needs bound
    usage.merge(check.run_usage)
    if when:
        usage.merge(when.run_usage)
    joins = {**check.joins, **(when.joins if when else {})}
    message = str(raw["message"])
    for name, path in _placeholders(message):
        if name not in ("key", "host", "resource", "parent", "params"):
            raise RuleProblem(
                "message", f"unknown placeholder {{{name}}} (use {{key}}, {{host}}, {{resource.field}})"
            )
        if name in ("resource", "parent", "params") and not path:
            raise RuleProblem("message", f"placeholder {{{name}}} needs a field: {{{name}.field}}")
    for label, expr in (("assert", check), ("when", when)):
        if expr is None:
            continue
        for path in expr.usage.paths.get("resource", ()):
            _check_fields(item_schema, path, f"resource {raw['resource']}", label)
        for path in expr.usage.paths.get("snapshot", ()):
            _check_fields(_snapshot_schema(), path, "the snapshot", label)
        for helper, items_path in HELPER_ITEMS.items():
            for path in expr.usage.paths.get(helper, ()):
                _check_fields(parse_resource(items_path)[1], path, f"{helper}(...)", label)
        for path in expr.usage.paths.get("params", ()):
            if path and path[0] not in params:
                raise RuleProblem(
                    label, f"unknown parameter {path[0]!r} (declared: {', '.join(params) or 'none'})"
                )
        if "parent" in expr.usage.variables and parent_schema is None:
            raise RuleProblem(label, f"`parent` is only set for nested resources; {raw['resource']} has none")
        for path in expr.usage.paths.get("parent", ()):
            if parent_schema is not None:
                _check_fields(parent_schema, path, "the parent", label)
    for name, path in _placeholders(message):
        if name == "resource":
            _check_fields(item_schema, path, f"resource {raw['resource']}", "message")
        elif name == "params" and path[0] not in params:
            raise RuleProblem("message", f"unknown parameter {path[0]!r} in the message")
        elif name == "parent":
            if parent_schema is None:
                raise RuleProblem("message", f"{{parent.…}}: {raw['resource']} is not nested")
            _check_fields(parent_schema, path, "the parent", "message")
    compiled = Compiled(rule_id, segments, key, when, check, message, usage, joins)
    needs = set(raw.get("needs") or ())
    if segments[0].name in SECTION_OF:
        needs.add(SECTION_OF[segments[0].name])
    for path in usage.paths.get("snapshot", ()):
        if path and path[0] in SECTION_OF:
            needs.add(SECTION_OF[path[0]])
    needs &= set(SECTIONS)
    parameters = tuple(
        Parameter(name, value, f"custom rule parameter {name}", type=_param_type(value))
        for name, value in params.items()
    )
    refs = tuple(
        Reference(str(r["id"]), str(r.get("url", "")), str(r.get("title", "")))
        for r in raw.get("references") or ()
    )
    title = str(raw["title"])
    return Rule(
        id=rule_id,
        name=str(raw.get("name") or rule_id.lower()),
        title=title,
        severity=Severity.parse(str(raw["severity"])),
        description=str(raw.get("description") or title),
        rationale=str(raw.get("rationale") or ""),
        remediation=str(raw["remediation"]),
        func=_make_func(compiled),
        category=str(raw.get("category") or "custom"),
        references=refs,
        tags=("custom", *(str(t) for t in raw.get("tags") or ())),
        parameters=parameters,
        needs=tuple(sorted(needs)),
        default_enabled=bool(raw.get("enabled", True)),
        doc=f"Custom rule from {pack}.\n\nassert: {check.source}"
        + (f"\nwhen: {when.source}" if when else ""),
        pack=pack,
    )


def _param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    return "list"


def _parent_schema(path: str) -> Mapping[str, Any] | None:
    if "[]." not in path:
        return None
    head = path.rsplit(".", 1)[0]
    try:
        return parse_resource(head[:-2])[1]
    except RuleProblem:
        return None


def _placeholders(message: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    for m in _PLACEHOLDER.finditer(message):
        if m.group(1) is None:
            continue
        parts = tuple(m.group(1).strip().split("."))
        yield parts[0], parts[1:]


# -- running -------------------------------------------------------------------------------------


@dataclass
class Item:
    """One item of a collection: `key` is its name (`{key}` in messages), `resource` the finding's key."""

    value: Any
    key: str
    parent: Any = None
    collection: str = ""

    @property
    def resource(self) -> str:
        return f"{self.collection}/{self.key}" if self.collection else self.key


def items(
    data: Mapping[str, Any], segments: Sequence[Segment], key: tuple[str, ...] | None
) -> Iterator[Item]:
    """Each item of the resource path with its key (nested keys are `parent/child`).

    Resource keys follow the built-in packs: the collection, a slash, the key (`app_pools/Shop`,
    `applications/Default Web Site/shop`), so waivers and baselines treat both kinds alike.
    """
    if segments[0].name == "user_rights":
        for right, holders in (data.get("user_rights") or {}).items():
            yield Item({"right": right, "principals": holders}, right, collection="user_rights")
        return
    if segments[0].name == "host":
        host = data.get("host") or {}
        yield Item(host, str(host.get("name") or "host"))
        return

    level: list[tuple[Any, str, Any]] = [(data, "", None)]  # (node, key so far, parent item)
    last = len(segments) - 1
    for depth, seg in enumerate(segments):
        deeper: list[tuple[Any, str, Any]] = []
        own_key = key if depth == last else None
        for node, prefix, parent in level:
            value = node.get(seg.name) if isinstance(node, dict) else None
            if not seg.each:
                if value is not None:
                    deeper.append((value, prefix, parent))
                continue
            for i, element in enumerate(value or ()):
                if not isinstance(element, dict):
                    continue
                own = _key_of(element, own_key) or f"#{i}"
                name = f"{prefix.rstrip('/')}/{own.lstrip('/')}" if prefix else own
                if depth == last:
                    yield Item(element, name, parent, seg.name)
                else:
                    deeper.append((element, name, element))
        level = deeper


def _key_of(element: Mapping[str, Any], key: tuple[str, ...] | None) -> str | None:
    if key:
        value = _get(element, key)
        return None if value is None else str(value)
    for name in KEY_FIELDS:
        value = element.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return None


def _get(value: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def render(message: str, item: Item, host: str, params: Mapping[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group()[0]
        parts = m.group(1).strip().split(".")
        head, path = parts[0], parts[1:]
        if head == "key":
            return item.key
        if head == "host":
            return host
        base = {"resource": item.value, "parent": item.parent, "params": params}.get(head)
        value = _get(base, path)
        if value is None:
            return "(none)"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    return _PLACEHOLDER.sub(sub, message)


class _Env:
    """The CEL environment for one rule on one snapshot: fixed parts once, per-item parts per call."""

    def __init__(self, snapshot: Snapshot, compiled: Compiled, params: Mapping[str, Any]) -> None:
        import cel

        self.usage = compiled.usage
        self.joins = compiled.joins
        self.lookup = _lookups(snapshot)
        used = self.usage.variables
        paths = self.usage.paths
        self.plans = {name: plan(p) for name, p in paths.items()}
        self.want = [v for v in ("resource", "parent", "key") if v in used]
        fixed: dict[str, Any] = {}
        if "params" in used:
            fixed["params"] = dict(params)
        if "host" in used:
            fixed["host"] = snapshot.host
        functions = {name: fn for name, fn in _helpers(snapshot, paths).items() if name in self.usage.calls}
        snap_view = prune(snapshot.data, paths.get("snapshot")) if "snapshot" in used else None
        # A large snapshot view is converted once into a Context and items come through a resolver;
        # a small one is cheaper to pass with each item.
        self.per_item_snapshot = snap_view is not None and _small(snap_view)
        self.snapshot_view = snap_view
        self.fixed = {**fixed, **functions}
        self.context = None
        if snap_view is not None and not self.per_item_snapshot:
            ctx = cel.Context(variables={**fixed, "snapshot": snap_view}, functions=functions)
            self.current: dict[str, Any] = {}
            ctx.set_variable_resolver(self.current.get)
            self.context = ctx

    def bindings(self, item: Item) -> Any:
        plans = self.plans
        values: dict[str, Any] = {}
        for name in self.want:
            if name == "key":
                values["key"] = item.key
            else:
                values[name] = cut(item.value if name == "resource" else item.parent, plans.get(name))
        for var, join in self.joins.items():
            arg = _get(item.value if join.base == "resource" else item.parent, join.path)
            found = self.lookup[join.helper](arg) if isinstance(arg, str) else None
            values[var] = cut(found, plans.get(var))
        if self.context is not None:
            self.current.clear()
            self.current.update(values)
            return self.context
        if self.per_item_snapshot:
            values["snapshot"] = self.snapshot_view
        return {**self.fixed, **values}


def _lookups(snapshot: Snapshot) -> dict[str, Callable[[str], Any]]:
    """The one-argument helpers as plain Python lookups (for hoisted calls)."""
    principals = snapshot.principals
    return {"pool": snapshot.pool, "acl": snapshot.acl, "principal": principals.get, "sid": principals.sid_of}


def _small(value: Any, budget: int = 64) -> bool:
    todo = [value]
    seen = 0
    while todo:
        v = todo.pop()
        seen += 1
        if seen > budget:
            return False
        if isinstance(v, Mapping):
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return True


def _helpers(snapshot: Snapshot, paths: Mapping[str, set[tuple[str, ...]]]) -> dict[str, Callable[..., Any]]:
    principals = snapshot.principals

    def in_group(member: str, group: str) -> bool:
        return principals.key(group) in principals.groups_of(member)

    return {
        "pool": lambda name: prune(snapshot.pool(name) if isinstance(name, str) else None, paths.get("pool")),
        "acl": lambda path: prune(snapshot.acl(path) if isinstance(path, str) else None, paths.get("acl")),
        "principal": lambda ref: prune(
            principals.get(ref) if isinstance(ref, str) else None, paths.get("principal")
        ),
        "sid": lambda ref: principals.sid_of(ref) if isinstance(ref, str) else None,
        "in_group": in_group,
    }


def _run(expr: Expr, bindings: Any) -> bool:
    value = expr.program.execute(bindings)
    if not isinstance(value, bool):
        raise TypeError(f"returned {type(value).__name__} {value!r}, not true or false")
    return value


def _error_text(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no field {exc.args[0]!r} (guard it with has())"
    text = str(exc).split(". Check")[0].split(" Check that")[0]
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, TypeError) else text


def _make_func(compiled: Compiled) -> Callable[[Snapshot, Mapping[str, Any]], Iterator[Result]]:
    def evaluate(snapshot: Snapshot, params: Mapping[str, Any]) -> Iterator[Result]:
        env = _Env(snapshot, compiled, params)
        host = snapshot.host
        deadline = time.monotonic() + CEL_SECONDS
        for item in items(snapshot.data, compiled.segments, compiled.key):
            if time.monotonic() > deadline:
                yield Result(
                    Outcome.ERROR,
                    item.resource,
                    f"{compiled.rule_id} stopped: evaluating it took more than {CEL_SECONDS:g} s on this "
                    "snapshot (IISGUARD_CEL_SECONDS); this and the remaining items were not evaluated",
                    None,
                )
                return
            at = item.value if isinstance(item.value, dict) else None
            resource = item.resource
            bindings = env.bindings(item)
            stage = "when"
            try:
                if compiled.when is not None and not _run(compiled.when, bindings):
                    yield Result(Outcome.NOT_APPLICABLE, resource, "`when` is false", at)
                    continue
                stage = "assert"
                ok = _run(compiled.check, bindings)
            except Exception as exc:  # noqa: BLE001 - one item's error does not hide the others
                text = f"{compiled.rule_id} {stage} failed on {resource}: {_error_text(exc)}"
                yield Result(Outcome.ERROR, resource, text, at)
                continue
            if ok:
                yield Result(Outcome.PASS, resource, "", at)
            else:
                yield Result(Outcome.FAIL, resource, render(compiled.message, item, host, params), at)

    return evaluate
