"""PowerShell build scripts, read with a real parser (tree-sitter-powershell), never run.

What is read: commands anywhere in the script (functions, loops and branches are read as if every
command ran once; conditions and loops are not evaluated), their parameters (named, positional,
`-Name:value`, splatting with `@params`), hashtables, and variables assigned a literal value earlier in
the same script (`$pool = 'Payroll'`, `"$env:SystemDrive\\inetpub\\$site"`). A value the script
computes at run time (`Get-Credential`, `Get-Content`, a vault lookup, a loop variable, a function
parameter) is recorded as unknown, never guessed.

Commands: New-WebAppPool, New-Item IIS:\\AppPools\\X and IIS:\\Sites\\X, Set-ItemProperty IIS:\\AppPools\\X
(processModel as a hashtable or processModel.identityType/userName/password), Set-ItemProperty
IIS:\\Sites\\X (applicationPool, physicalPath), New-Website, New-WebApplication, New-WebVirtualDirectory,
Set-WebConfigurationProperty / Set-WebConfiguration (anonymousAuthentication userName, password,
enabled; applicationPools/add[@name='X']/processModel), New-LocalUser, Set-LocalUser,
Add-LocalGroupMember, New-ADUser, Set-ADUser, Set-ADComputer, Set-ADServiceAccount,
Set-ADAccountControl, Carbon's Grant-CPrivilege, ConvertTo-SecureString -AsPlainText, PSCredential,
and the programs of scripts.commands (appcmd, icacls, setspn, ntrights, net).

tree-sitter and its PowerShell grammar are the optional extra ``iisguard[scripts]``; without them an
import of a PowerShell script stops with a message naming the extra.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ...errors import MissingExtra
from ...hookspecs import hookimpl
from ..base import Artifact, Builder
from . import commands, detect_script
from .declared import LITERAL, At, Declared, Literal, Secret, Text, Unresolved

EXTRA = "scripts"
MAX_SCRIPT_BYTES = 16 * 1024 * 1024  # a build script is source code; anything bigger is not one
MAX_DEPTH = 100  # nesting levels read (real scripts nest a handful; Python's stack allows ~300 here)


@lru_cache(maxsize=1)
def _parser() -> Any:
    try:
        import tree_sitter_powershell
        from tree_sitter import Language, Parser
    except ImportError:
        raise MissingExtra(
            f"reading PowerShell build scripts needs the '{EXTRA}' extra (tree-sitter and "
            f"tree-sitter-powershell): pip install 'iisguard[{EXTRA}]'"
        ) from None
    return Parser(Language(tree_sitter_powershell.language()))


@dataclass(frozen=True)
class Credential:
    """A PSCredential the script builds: its user and where its password comes from."""

    user: str | Unresolved | None
    password: Secret


# Parameters that are switches (take no value) per cmdlet, casefolded; every cmdlet has the common ones.
_COMMON_SWITCHES = {"force", "passthru", "whatif", "confirm", "verbose", "debug", "recurse"}
_SWITCHES = {
    "convertto-securestring": {"asplaintext"},
    "new-localuser": {
        "passwordneverexpires",
        "accountneverexpires",
        "disabled",
        "nopassword",
        "usermaynotchangepassword",
    },
    "new-website": {"ssl", "id"},
}
# Wrappers with one meaningful child: looked through when evaluating an expression.
_WRAPPERS = {
    "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
    "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
    "array_literal_expression", "unary_expression", "expression_with_unary_operator",
    "argument_expression", "logical_argument_expression", "bitwise_argument_expression",
    "comparison_argument_expression", "additive_argument_expression", "multiplicative_argument_expression",
    "format_argument_expression", "range_argument_expression", "left_assignment_expression",
}  # fmt: skip
_RUNTIME = {
    "get-credential": "Get-Credential (asks at run time)",
    "get-content": "a file read at run time (Get-Content)",
    "import-clixml": "a file read at run time (Import-Clixml)",
    "get-secret": "a vault lookup (Get-Secret)",
    "get-azkeyvaultsecret": "a vault lookup (Get-AzKeyVaultSecret)",
    "read-host": "a prompt at run time (Read-Host)",
}
_ENV_VAR = re.compile(r"\$(?:\{env:([A-Za-z_][\w()]*)\}|env:([A-Za-z_]\w*))", re.IGNORECASE)
_VAR = re.compile(r"\$(?:\{([^}]+)\}|([A-Za-z_][\w:]*))")


class _Run:
    """One script: variables in source order, commands as they come."""

    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        self.a = artifact
        self.b = builder
        self.d = Declared.of(builder)
        self.vars: dict[str, Any] = {}
        self.source = b""
        self.depth = 0
        self.too_deep = False

    def run(self) -> None:
        self.a.check_size(MAX_SCRIPT_BYTES)
        text = self.a.text(MAX_SCRIPT_BYTES)
        self.source = text.encode("utf-8")
        tree = _parser().parse(self.source)
        self.errors(tree.root_node)
        self.walk(tree.root_node)

    # -- syntax errors -----------------------------------------------------------------------
    def errors(self, root: Any) -> None:
        """One warning per syntax error, at its line: the statement around it is read only up to it."""
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if not node.has_error:
                continue
            if node.is_error or node.is_missing:
                line = node.start_point[0] + 1
                if line not in seen:
                    seen.add(line)
                    self.b.warn(
                        self.a,
                        line,
                        "PowerShell: syntax the parser cannot read here; the statement is read up to this "
                        "point and what follows in it is skipped",
                    )
                continue
            stack.extend(node.children)

    # -- traversal -----------------------------------------------------------------------------
    def at(self, node: Any) -> At:
        return self.d.at(self.a, node.start_point[0] + 1)

    def walk(self, node: Any) -> None:
        if self.deeper(node):
            return
        try:
            self._walk(node)
        finally:
            self.depth -= 1

    def deeper(self, node: Any) -> bool:
        """One level deeper; past MAX_DEPTH the rest of that branch is skipped with one warning (a
        hostile script nests thousands of levels; recursion would lose the whole file)."""
        self.depth += 1
        if self.depth <= MAX_DEPTH:
            return False
        self.depth -= 1
        if not self.too_deep:
            self.too_deep = True
            self.b.warn(
                self.a,
                node.start_point[0] + 1,
                f"PowerShell: nested more than {MAX_DEPTH} levels deep; not read",
            )
        return True

    def _walk(self, node: Any) -> None:
        for child in node.children:
            if child.is_error:
                continue
            if child.type == "assignment_expression":
                self.assign(child)
            elif child.type == "command":
                self.command(child)
            else:
                self.walk(child)

    def assign(self, node: Any) -> None:
        left, right = node.children[0], node.children[-1]
        value = self.value(right)
        target = _unwrap(left)
        if target.type == "variable":
            self.vars[_var_name(target.text.decode("utf-8", "replace"))] = value
        elif target.type == "cast_expression" and target.children and target.children[-1].type == "variable":
            self.vars[_var_name(target.children[-1].text.decode("utf-8", "replace"))] = value
        elif target.type in ("member_access", "element_access"):
            base = target.children[0]
            key = (
                target.children[-1]
                if target.type == "member_access"
                else (target.children[2] if len(target.children) > 2 else None)
            )
            holder = (
                self.vars.get(_var_name(base.text.decode("utf-8", "replace")))
                if base.type == "variable"
                else None
            )
            if isinstance(holder, dict) and key is not None:
                k = self.value(key)
                if isinstance(k, str):
                    holder[k.strip("'\"").casefold()] = value

    # -- values --------------------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        """What an expression is, as far as the script states it literally."""
        if self.deeper(node):
            return Unresolved(f"an expression nested more than {MAX_DEPTH} levels deep")
        try:
            return self._value(node)
        finally:
            self.depth -= 1

    def _value(self, node: Any) -> Any:
        node = _unwrap(node)
        kind = node.type
        if kind == "string_literal":
            return self.string(node, self.at(node))
        if kind in _LEAVES:
            text = node.text.decode("utf-8", "replace")
            if kind == "variable":
                return self.variable(text)
            if kind == "generic_token":
                return self.expand(text, self.at(node), expandable=True)
            return Text.of(text, self.at(node))
        if kind == "hash_literal_expression":
            return self.hashtable(node)
        if kind == "array_literal_expression" or (kind == "array_expression"):
            items = [self.value(c) for c in node.named_children]
            return items
        if kind == "parenthesized_expression" or kind == "sub_expression":
            inner = [c for c in node.named_children]
            return self.value(inner[0]) if len(inner) == 1 else Unresolved(f"the expression {_head(node)}")
        if kind == "command":
            return self.command(node)
        if kind == "member_access":
            return self.member(node)
        if kind == "invokation_expression":
            return self.invocation(node)
        if kind == "cast_expression" and node.named_children:
            return self.value(node.named_children[-1])
        if any(c.type == "," for c in node.children):  # a comma list: `'a', 'b'`
            return [self.value(c) for c in node.named_children]
        return Unresolved(f"the expression {_head(node)}, computed at run time")

    def string(self, node: Any, at: At) -> Any:
        text = node.text.decode("utf-8", "replace")
        inner = node.children[0] if node.children else node
        if inner.type in ("verbatim_string_characters", "verbatim_here_string_characters"):
            body = text[1:-1] if inner.type == "verbatim_string_characters" else _here_body(text)
            return Text.of(body.replace("''", "'"), at)
        body = text[1:-1] if not text.startswith("@") else _here_body(text)
        return self.expand(body, at, expandable=True)

    def expand(self, body: str, at: At, *, expandable: bool) -> Any:
        """A double-quoted string or bare word: `$env:X` becomes `%X%` (the snapshot expands those),
        a variable holding a literal string its text; anything else leaves the whole value unknown."""
        if "$(" in body:
            return Unresolved(f"{_clip(body)} holds a subexpression computed at run time")
        body = _ENV_VAR.sub(lambda m: f"%{m.group(1) or m.group(2)}%", body)
        missing: list[tuple[str, int]] = []

        def sub(m: re.Match[str]) -> str:
            name = (m.group(1) or m.group(2)).casefold()
            value = self.vars.get(name)
            if isinstance(value, str):
                return value
            missing.append((m.group(0), m.start()))
            return m.group(0)

        out = _VAR.sub(sub, body) if expandable else body
        if missing:
            word, start = missing[0]
            first = self.variable(word)
            reason = first.reason if isinstance(first, Unresolved) else f"{word} is not a literal string"
            return Unresolved(reason, prefix=body[:start])
        return Text.of(out.replace("`", "") if "`" in out else out, at)

    def variable(self, text: str) -> Any:
        name = _var_name(text)
        if name in ("true", "false"):
            return name == "true"
        if name == "null":
            return None
        if name.startswith("env:"):
            return f"%{text.split(':', 1)[1].strip('{}')}%"
        if name in self.vars:
            return self.vars[name]
        return Unresolved(f"${name} is not assigned a literal value in the script")

    def hashtable(self, node: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in _descendants(node, "hash_entry", stop={"hash_literal_expression"}):
            key = next((c for c in entry.children if c.type == "key_expression"), None)
            value = next((c for c in entry.children if c.type in ("pipeline", "statement", "command")), None)
            if key is None:
                continue
            k = self.value(key)
            name = k.strip("'\"") if isinstance(k, str) else key.text.decode("utf-8", "replace").strip("'\"")
            out[name.casefold()] = self.value(value) if value is not None else None
        return out

    def member(self, node: Any) -> Any:
        base = self.value(node.children[0])
        name = node.children[-1].text.decode("utf-8", "replace").casefold()
        if isinstance(base, Credential):
            return (
                base.user if name == "username" else base.password if name == "password" else Unresolved(name)
            )
        if isinstance(base, dict):
            return base.get(name, Unresolved(f"{name} is not in the hashtable"))
        if isinstance(base, Unresolved):
            return base
        return Unresolved(f"{_head(node)} is computed at run time")

    def invocation(self, node: Any) -> Any:
        text = node.text[:400].decode("utf-8", "replace")
        args = next((c for c in node.children if c.type == "argument_list"), None)
        values = (
            [self.value(c) for c in _descendants(args, "argument_expression")] if args is not None else []
        )
        first = node.children[0]
        if first.type == "type_literal" and re.search(r"pscredential\]", first.text.decode().casefold()):
            return self.credential(values)
        if "getnetworkcredential" in text.casefold():
            base = self.value(first)
            if isinstance(base, Credential):
                return base.password
        return Unresolved(f"{_clip(text)} is computed at run time")

    def credential(self, values: list[Any]) -> Credential:
        user = values[0] if values and isinstance(values[0], (str, Unresolved)) else None
        return Credential(user, _secret(values[1]) if len(values) > 1 else None)

    # -- commands ------------------------------------------------------------------------------
    def arguments(self, node: Any) -> list[tuple[str | None, Any, Any]]:
        """(parameter name or None, value node or None, the parameter node) in order; values evaluated later."""
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        if elements is None:
            return []
        # Elements not separated by blank space are one argument (`-section:x`, `/name:"a b"`).
        groups: list[list[Any]] = []
        joined = True
        for child in elements.children:
            if child.is_error:
                break  # the statement is unreliable from here (warned in errors())
            if child.type == "command_argument_sep":
                joined = child.text.strip() == ":"
                if joined and groups:
                    groups[-1].append(child)
                continue
            if joined and groups:
                groups[-1].append(child)
            else:
                groups.append([child])
            joined = False
        return [(None, g, None) for g in groups]

    def command(self, node: Any) -> Any:
        name_node = next((c for c in node.children if c.type in ("command_name", "command_name_expr")), None)
        if name_node is None:
            return Unresolved("a command")
        raw = name_node.text.decode("utf-8", "replace")
        if name_node.type == "command_name_expr":  # `& $appcmd ...`, `& "$env:windir\...\appcmd.exe" ...`
            inner = name_node
            while inner.named_child_count == 1 and inner.type in ("command_name_expr", "path_command_name"):
                inner = inner.named_children[0]
            value = self.value(inner) if inner is not name_node else raw
            raw = value if isinstance(value, str) else raw
        name = raw.strip("\"'").casefold()
        at = self.at(node)
        groups = [g for _, g, _ in self.arguments(node)]
        for block in _script_blocks(node):  # read as if it ran once, like a loop's body
            self.walk(block)
        program = commands.program(name)
        if program in commands.PROGRAMS:
            args = [self.native(g) for g in groups]
            commands.PROGRAMS[program](self.d, at, args)
            return Unresolved(f"the output of {program}")
        handler = _CMDLETS.get(name)
        params, positional = self.parameters(name, groups)
        # Parameters and values are evaluated (so nested commands run) whether or not the cmdlet is known.
        result = handler(self, at, params, positional) if handler is not None else None
        self.password_parameters(raw, at, params)
        if handler is not None:
            return result
        if name in _RUNTIME:
            return Unresolved(_RUNTIME[name])
        return Unresolved(f"the output of {raw}")

    def password_parameters(self, cmdlet: str, at: At, params: dict[str, Any]) -> None:
        """`-Password 'x'` / `-AccountPassword 'x'` to any cmdlet, known or not: a literal secret (where,
        never what). A cmdlet's own reader records it first, with its context; one entry per line."""
        for key in _PASSWORD_PARAMETERS:
            value = params.get(key)
            if isinstance(value, str) and value and not _ENV_ONLY.fullmatch(value):
                self.d.literal_secret(getattr(value, "at", None) or at, f"-{key} given to {cmdlet}")
            elif isinstance(value, Literal):
                self.d.literal_secret(value.at or at, f"-{key} given to {cmdlet}")

    def native(self, group: list[Any]) -> Any:
        """One argument to a program, as the program receives it (PowerShell removes the quotes)."""
        parts: list[str] = []
        for node in group:
            if node.type == "command_argument_sep":
                parts.append(":")
                continue
            if node.type == "command_parameter":
                parts.append(node.text.decode("utf-8", "replace"))
                continue
            value = self.value(node)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = ",".join(value)
            if isinstance(value, bool):
                value = "$" + str(value).casefold()
            if not isinstance(value, str):
                reason = value.reason if isinstance(value, Unresolved) else "a value computed at run time"
                return Unresolved(reason, prefix="".join(parts))
            parts.append(value)
        if len(parts) == 1 and group[0].type != "command_parameter":
            return parts[0] if isinstance(parts[0], Text) else Text.of(parts[0], self.at(group[0]))
        return Text.of("".join(parts), getattr(parts[-1], "at", None) or self.at(group[0]))

    def parameters(self, cmdlet: str, groups: list[list[Any]]) -> tuple[dict[str, Any], list[Any]]:
        switches = _COMMON_SWITCHES | _SWITCHES.get(cmdlet, set())
        params: dict[str, Any] = {}
        positional: list[Any] = []
        pending: str | None = None
        for group in groups:
            head = group[0]
            if head.type == "command_parameter":
                if pending is not None:
                    params[pending] = True
                pname = head.text.decode("utf-8", "replace").lstrip("-").rstrip(":").casefold()
                rest = [n for n in group[1:] if n.type != "command_argument_sep"]
                if rest:  # -Name:value
                    params[pname] = self.value(rest[0])
                    pending = None
                elif pname in switches:
                    params[pname] = True
                    pending = None
                else:
                    pending = pname
                continue
            value = self.value(head) if len(group) == 1 else self.native(group)
            inner = _unwrap(head)
            if inner.type == "variable" and inner.text.startswith(b"@"):  # splatting
                if isinstance(value, dict):
                    params.update(value)
                elif isinstance(value, Unresolved):
                    params.setdefault("__splat__", value)
                continue
            if pending is not None:
                params[pending] = value
                pending = None
            else:
                positional.append(value)
        if pending is not None:
            params[pending] = True
        return params, positional


# -- cmdlets --------------------------------------------------------------------------------------


def _get(params: dict[str, Any], positional: list[Any], *names: str, index: int | None = None) -> Any:
    for n in names:
        if n in params:
            return params[n]
    if index is not None and len(positional) > index:
        return positional[index]
    return params.get("__splat__")


def _name(run: _Run, at: At, value: Any, what: str) -> str | None:
    """A name the command needs literally; an unknown one is recorded and the command skipped."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and value:
        return value
    reason = value.reason if isinstance(value, Unresolved) else "not given"
    run.d.unresolved(at, what, reason)
    return None


def _text_or_unknown(value: Any) -> str | Unresolved | None:
    if value is None or isinstance(value, (str, Unresolved)):
        return value
    if isinstance(value, bool):
        return str(value)
    return Unresolved("not a literal text")


def _secret(value: Any) -> Secret:
    if value is None or value is False:
        return None
    if isinstance(value, Literal):
        return value
    if isinstance(value, Unresolved):
        return value
    if isinstance(value, Credential):
        return value.password
    if isinstance(value, str) and _ENV_ONLY.fullmatch(value):
        return Unresolved(f"the environment variable {value.strip('%')}, read at run time")
    if isinstance(value, str):
        origin = getattr(value, "at", None)
        return Literal(origin) if origin is not None else LITERAL
    return Unresolved("a value computed at run time")


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lstrip("$").casefold())
    return None


_IIS_PATH = re.compile(r"^IIS:\\+(AppPools|Sites)\\+(.+?)\\*$", re.IGNORECASE)


def _iis_path(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return None
    m = _IIS_PATH.match(value.strip().replace("/", "\\"))
    return (m.group(1).casefold(), m.group(2)) if m else None


def convertto_securestring(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    value = _get(params, positional, "string", index=0)
    if not params.get("asplaintext"):
        return Unresolved(
            "an encrypted string decrypted at run time (ConvertTo-SecureString without -AsPlainText)"
        )
    if isinstance(value, str):
        where = getattr(value, "at", None) or at
        run.d.literal_secret(where, "password given to ConvertTo-SecureString -AsPlainText")
        return Literal(where)
    return value if isinstance(value, Unresolved) else Unresolved("a value computed at run time")


def new_object(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    type_name = _get(params, positional, "typename", index=0)
    if isinstance(type_name, str) and type_name.casefold().endswith("pscredential"):
        args = _get(params, positional[1:], "argumentlist", index=0)
        values = args if isinstance(args, list) else [args]
        return run.credential(values)
    return Unresolved(f"a {type_name} object" if isinstance(type_name, str) else "an object")


def new_webapppool(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    name = _name(run, at, _get(params, positional, "name", index=0), "New-WebAppPool -Name")
    if name:
        run.d.app_pool(name, at)
    return Unresolved("a pool object")


def new_item(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    target = _iis_path(_get(params, positional, "path", index=0))
    if target is None:
        return Unresolved("an item")
    where, name = target
    if where == "apppools" and "\\" not in name:
        run.d.app_pool(name, at)
    elif where == "sites" and "\\" not in name:
        run.d.site(
            name,
            at,
            physical_path=_text_or_unknown(params.get("physicalpath")),
            bindings=_ps_bindings(params.get("bindings")),
        )
    elif where == "sites":
        site, _, rest = name.partition("\\")
        item_type = str(params.get("type") or "").casefold()
        phys = _text_or_unknown(params.get("physicalpath"))
        if item_type == "application":
            run.d.application(
                site,
                rest.replace("\\", "/"),
                at,
                physical_path=phys,
                app_pool=_text_or_unknown(params.get("applicationpool")),
            )
        elif item_type == "virtualdirectory" and phys is not None:
            app, _, vdir = rest.replace("\\", "/").rpartition("/")
            run.d.virtual_directory(site, app or "/", vdir, at, physical_path=phys)
    return Unresolved("an item")


def _ps_bindings(value: Any) -> list[dict[str, Any]] | None:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("bindinginformation"), str):
            out.extend(commands._bindings(f"{item.get('protocol') or 'http'}/{item['bindinginformation']}"))
    return out or None


def set_itemproperty(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    target = _iis_path(_get(params, positional, "path", "literalpath", index=0))
    prop = _get(params, positional, "name", index=1)
    value = _get(params, positional, "value", index=2)
    if target is None or not isinstance(prop, str):
        if target is not None:
            run.d.unresolved(at, "Set-ItemProperty -Name", getattr(prop, "reason", "not given"))
        return None
    where, name = target
    prop = prop.casefold()
    if where == "apppools":
        _pool_property(run, at, name, prop, value)
    elif where == "sites":
        site, _, rest = name.partition("\\")
        app = "/" + rest.replace("\\", "/") if rest else "/"
        if prop == "applicationpool":
            run.d.application(site, app, at, app_pool=_text_or_unknown(value))
        elif prop == "physicalpath":
            run.d.application(site, app, at, physical_path=_text_or_unknown(value))
    return None


_POOL_SETTINGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "managedruntimeversion": ("managed_runtime_version", str),
    "managedpipelinemode": ("pipeline_mode", str),
    "autostart": ("auto_start", _bool),
    "enable32bitapponwin64": ("enable_32bit", _bool),
    "processmodel.loaduserprofile": ("load_user_profile", _bool),
    "startmode": ("start_mode", str),
}


def _pool_property(run: _Run, at: At, pool: str, prop: str, value: Any) -> None:
    if prop == "processmodel":
        if isinstance(value, dict):
            _process_model(run, at, pool, value)
        else:
            run.d.unresolved(
                at, f"application pool '{pool}' processModel", getattr(value, "reason", "not a hashtable")
            )
    elif prop.startswith("processmodel.") and prop.split(".", 1)[1] in (
        "identitytype",
        "username",
        "password",
    ):
        _process_model(run, at, pool, {prop.split(".", 1)[1]: value})
    elif prop in _POOL_SETTINGS:
        field_name, conv = _POOL_SETTINGS[prop]
        if isinstance(value, (str, bool)):
            run.d.pool_settings(
                pool, at, **{field_name: conv(value) if not isinstance(value, bool) else value}
            )


def _process_model(run: _Run, at: At, pool: str, model: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {}
    if "identitytype" in model:
        kwargs["identity_type"] = _text_or_unknown(model["identitytype"])
    if "username" in model:
        kwargs["user"] = _text_or_unknown(model["username"])
    if "password" in model:
        kwargs["password"] = _secret(model["password"])
    if kwargs:
        run.d.pool_identity(pool, at, **kwargs)


_POOL_FILTER = re.compile(
    r"applicationPools/add\[@name=['\"]([^'\"]+)['\"]\](?:/processModel)?", re.IGNORECASE
)


def set_webconfigurationproperty(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    flt = _get(params, positional, "filter", index=0)
    prop = _get(params, positional, "name", index=1)
    value = _get(params, positional, "value", index=2)
    if not isinstance(flt, str):
        return None
    section = flt.strip().rstrip("/").casefold()
    pool = _POOL_FILTER.search(flt)
    values = value if isinstance(value, dict) else {prop.casefold(): value} if isinstance(prop, str) else {}
    if section.endswith("anonymousauthentication"):
        location = _location(params)
        if "username" in values or "password" in values or "enabled" in values:
            run.d.anonymous(
                location,
                at,
                enabled=_bool(values.get("enabled")) if "enabled" in values else None,
                user=_text_or_unknown(values["username"]) if "username" in values else None,
                password=_secret(values.get("password")) if "password" in values else None,
            )
    elif pool:
        if prop is not None and isinstance(prop, str) and prop.casefold().startswith("processmodel."):
            values = {prop.casefold().split(".", 1)[1]: value}
        _process_model(run, at, pool.group(1), values)
    return None


def _location(params: dict[str, Any]) -> str:
    location = params.get("location")
    if isinstance(location, str):
        return location.strip("/")
    ps_path = params.get("pspath")
    if isinstance(ps_path, str):
        p = ps_path.replace("/", "\\")
        m = re.match(r"^IIS:\\+Sites\\+(.+)$", p, re.IGNORECASE)
        if m:
            return m.group(1).replace("\\", "/").strip("/")
        m = re.match(r"^MACHINE\\WEBROOT\\APPHOST\\(.+)$", p, re.IGNORECASE)
        if m:
            return m.group(1).replace("\\", "/").strip("/")
    return ""


def new_website(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    name = _name(run, at, _get(params, positional, "name", index=0), "New-Website -Name")
    if name:
        host = params.get("hostheader")
        port = params.get("port")
        info = f"{params.get('ipaddress') or '*'}:{port if isinstance(port, str) else 80}:{host if isinstance(host, str) else ''}"
        run.d.site(
            name,
            at,
            physical_path=_text_or_unknown(params.get("physicalpath")),
            app_pool=_text_or_unknown(params.get("applicationpool")),
            bindings=commands._bindings(f"{'https' if params.get('ssl') else 'http'}/{info}"),
        )
    return Unresolved("a site object")


def new_webapplication(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    name = _name(run, at, _get(params, positional, "name", index=0), "New-WebApplication -Name")
    site = _name(run, at, params.get("site"), "New-WebApplication -Site")
    if name and site:
        run.d.application(
            site,
            name,
            at,
            physical_path=_text_or_unknown(params.get("physicalpath")),
            app_pool=_text_or_unknown(params.get("applicationpool")),
        )
    return None


def new_webvirtualdirectory(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    name = _name(run, at, _get(params, positional, "name", index=0), "New-WebVirtualDirectory -Name")
    site = _name(run, at, params.get("site"), "New-WebVirtualDirectory -Site")
    phys = _text_or_unknown(params.get("physicalpath"))
    if name and site and phys is not None:
        app = params.get("application")
        run.d.virtual_directory(site, app if isinstance(app, str) else "/", name, at, physical_path=phys)
    return None


def local_user(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    name = _name(run, at, _get(params, positional, "name", index=0), "local user name")
    if name:
        facts: dict[str, Any] = {}
        if "passwordneverexpires" in params:
            facts["password_never_expires"] = _bool(params["passwordneverexpires"])
        if params.get("disabled"):
            facts["enabled"] = False
        elif "enabled" in params:
            facts["enabled"] = _bool(params["enabled"])
        if params.get("nopassword"):
            facts["password_required"] = False
        run.d.local_user(name, at, password=_secret(params.get("password")), **facts)
    return Unresolved("a user object")


def add_localgroupmember(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    group = _name(run, at, _get(params, positional, "group", "name", index=0), "Add-LocalGroupMember -Group")
    members = _get(params, positional, "member", index=1)
    for member in members if isinstance(members, list) else [members]:
        if group and isinstance(member, str):
            run.d.group_member(group, member, at)
        elif group:
            run.d.unresolved(at, f"member added to '{group}'", getattr(member, "reason", "not given"))
    return None


def ad_account(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    """New-ADUser / Set-ADUser / Set-ADComputer / Set-ADServiceAccount / Set-ADAccountControl."""
    name = _name(
        run, at, _get(params, positional, "identity", "name", "samaccountname", index=0), "AD account"
    )
    if not name:
        return None
    _secret_of = _secret(params.get("accountpassword"))
    if isinstance(_secret_of, Literal):
        run.d.literal_secret(_secret_of.at or at, "AD account password (-AccountPassword)")
    facts: dict[str, Any] = {}
    for param, fact in (
        ("passwordneverexpires", "password_never_expires"),
        ("enabled", "enabled"),
        ("passwordnotrequired", "password_required"),
    ):
        if param in params and _bool(params[param]) is not None:
            value = _bool(params[param])
            facts[fact] = (not value) if param == "passwordnotrequired" else value
    if facts:
        run.d.domain_account(name, at, **facts)
    flags = {}
    for param, flag in (
        ("trustedfordelegation", "unconstrained"),
        ("trustedtoauthfordelegation", "protocol_transition"),
        ("accountnotdelegated", "sensitive_not_delegated"),
    ):
        if param in params and _bool(params[param]) is not None:
            flags[flag] = _bool(params[param])
    if flags:
        run.d.delegation(name, at, **flags)
    spns = params.get("serviceprincipalnames")
    added = spns.get("add") if isinstance(spns, dict) else spns
    for spn in added if isinstance(added, list) else [added] if added is not None else []:
        if isinstance(spn, str):
            run.d.spn(spn, name, at)
    return None


def grant_privilege(run: _Run, at: At, params: dict[str, Any], positional: list[Any]) -> Any:
    who = _name(run, at, _get(params, positional, "identity", index=0), "Grant-CPrivilege -Identity")
    rights = _get(params, positional, "privilege", index=1)
    for right in rights if isinstance(rights, list) else [rights]:
        if who and isinstance(right, str):
            run.d.user_right(right, who, at)
    return None


_CMDLETS = {
    "convertto-securestring": convertto_securestring,
    "new-object": new_object,
    "new-webapppool": new_webapppool,
    "new-item": new_item,
    "set-itemproperty": set_itemproperty,
    "set-webconfigurationproperty": set_webconfigurationproperty,
    "set-webconfiguration": set_webconfigurationproperty,
    "new-website": new_website,
    "new-webapplication": new_webapplication,
    "new-webvirtualdirectory": new_webvirtualdirectory,
    "new-localuser": local_user,
    "set-localuser": local_user,
    "add-localgroupmember": add_localgroupmember,
    "new-aduser": ad_account,
    "set-aduser": ad_account,
    "set-adcomputer": ad_account,
    "set-adserviceaccount": ad_account,
    "set-adaccountcontrol": ad_account,
    "grant-cprivilege": grant_privilege,
    "grant-privilege": grant_privilege,
}


# -- helpers ----------------------------------------------------------------------------------------


def _unwrap(node: Any) -> Any:
    while (
        node.type in _WRAPPERS
        and node.named_child_count == 1
        and not any(c.type == "," for c in node.children)
    ):
        node = node.named_children[0]
    return node


def _descendants(node: Any, kind: str, stop: set[str] | None = None) -> Iterator[Any]:
    """Nodes of `kind` below `node` in document order, not looking inside them (nor inside `stop` nodes);
    iterative, so a hostile nesting depth costs no stack."""
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        if child.type == kind:
            yield child
        elif not (stop and child.type in stop):
            stack.extend(reversed(child.children))


def _var_name(text: str) -> str:
    name = text.lstrip("$@").strip("{}")
    for scope in ("script:", "global:", "local:", "private:"):
        if name.casefold().startswith(scope):
            name = name[len(scope) :]
    return name.casefold()


def _here_body(text: str) -> str:
    body = text[2:-2]
    return body[1:] if body.startswith("\n") else body


# `$env:X` as a value: the process environment at run time, not text in the script.
_ENV_ONLY = re.compile(r"%[\w()]+%")
# Parameters that carry a password, whatever the cmdlet (casefolded, without the dash).
_PASSWORD_PARAMETERS = ("password", "accountpassword", "newpassword", "plaintextpassword")
# Expressions whose value is their own text (after expanding variables, for a bare word).
_LEAVES = frozenset(
    {
        "variable",
        "generic_token",
        "simple_name",
        "member_name",
        "key_expression",
        "integer_literal",
        "real_literal",
        "decimal_integer_literal",
        "hexadecimal_integer_literal",
    }
)


def _head(node: Any) -> str:
    """The start of a node's text, for a message: a script block's text is not copied whole."""
    return _clip(node.text[:120].decode("utf-8", "replace"))


def _script_blocks(node: Any) -> Iterator[Any]:
    """The script blocks among a command's arguments (`ForEach-Object { ... }`, `-ScriptBlock { ... }`),
    not those of a nested command (read when that command is); iterative."""
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        if child.type == "script_block_expression":
            yield child
        elif child.type not in ("command", "string_literal"):
            stack.extend(reversed(child.children))


def _clip(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


class PowerShellScriptParser:
    """A PowerShell build script (.ps1, .psm1): read statically into a declared snapshot."""

    kind = "powershell_script"
    declared = True
    sections: tuple[str, ...] = ()

    def detect(self, head: str, name: str) -> float:
        return detect_script.powershell(head, name)

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        _Run(artifact, builder).run()


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return [PowerShellScriptParser()]
