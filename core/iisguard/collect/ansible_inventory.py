"""Ansible inventories as fleet inventories: INI or YAML, `children`, `group_vars/` and `host_vars/`.

Organizations that drive Windows with Ansible already keep their hosts, groups and WinRM settings
in an inventory. `iisguard collect --inventory FILE` reads that file as Ansible does and maps the
connection variables people already set onto iisguard's own settings (see ``VARIABLES``).

What Ansible documents and this module follows (docs.ansible.com, "How to build your inventory",
"Patterns: targeting hosts and groups", "Understanding variable precedence"):

- INI: hosts before any section are `ungrouped`; `[g:children]` and `[g:vars]`; `host:port`;
  ranges `web[01:20]`, `db-[a:f]`, `[1:9:2]`; values are read as Python literals where they are
  one (ansible-core's INI plugin runs ast.literal_eval on host-line and `[g:vars]` values alike).
- YAML: `all:` (or any top-level group) with `hosts`, `vars`, `children`.
- Variables of one host merge as ansible-core's VariableManager does (replace, not deep merge):
  the `all` group's inventory vars, then the other groups' inventory vars sorted by (depth,
  `ansible_group_priority`, name), then `group_vars/all`, then `group_vars/<group>` in the same
  order, then the host's inventory vars, then `host_vars/<host>`.
- `--limit`: `all`/`*`, names, globs, `~regex`, `:`/`,` unions, `&` intersections, `!` exclusions.

Passwords are never read from an inventory: `ansible_password: "{{ lookup('env', 'X') }}"`
becomes `password_env: X`; a literal or vaulted password is ignored with a note that says so.
Nothing is templated: a value with `{{ … }}` that is not such an env lookup is reported and skipped.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

# Ansible variable -> (iisguard setting, converter). Both connection plugins reach the same
# WS-Management endpoint, so psrp's names map too.
_BOOL_TRUE = {"true", "yes", "on", "1", "y", "t"}
_BOOL_FALSE = {"false", "no", "off", "0", "n", "f"}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    return int(str(value).strip())


def _as_number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    number = float(str(value).strip())
    return int(number) if number.is_integer() else number


def _as_str(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise ValueError("not a string")
    return str(value)


def _transport(value: Any) -> str:
    # ansible_winrm_transport may be a list or a comma-separated string of preferences.
    items = value if isinstance(value, list) else str(value).split(",")
    names = [str(i).strip().lower() for i in items if str(i).strip()]
    aliases = {"plaintext": "basic", "ssl": "basic", "negotiate": "ntlm", "certificate": "certificate"}
    for name in names:
        name = aliases.get(name, name)
        if name in {"ntlm", "kerberos", "credssp", "basic", "certificate"}:
            return name
    raise ValueError(f"no transport iisguard supports in {value!r}")


def _cert_validation(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in {"ignore", "false", "no", "off", "0"}:
        return True
    if text in {"validate", "true", "yes", "on", "1"}:
        return False
    raise ValueError(f"expected validate or ignore, not {value!r}")


def _psrp_protocol(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in {"http", "https"}:
        raise ValueError(f"expected http or https, not {value!r}")
    return text


VARIABLES: dict[str, tuple[str, Any]] = {
    "ansible_host": ("address", _as_str),
    "ansible_port": ("port", _as_int),
    "ansible_user": ("username", _as_str),
    "ansible_winrm_transport": ("transport", _transport),
    "ansible_winrm_scheme": ("scheme", _psrp_protocol),
    "ansible_winrm_server_cert_validation": ("insecure_skip_verify", _cert_validation),
    "ansible_winrm_ca_trust_path": ("ca_bundle", _as_str),
    "ansible_winrm_read_timeout_sec": ("read_timeout", _as_number),
    "ansible_winrm_operation_timeout_sec": ("operation_timeout", _as_number),
    "ansible_winrm_kerberos_delegation": ("kerberos_delegation", _as_bool),
    "ansible_winrm_cert_pem": ("cert", _as_str),
    "ansible_winrm_cert_key_pem": ("cert_key", _as_str),
    "ansible_psrp_auth": ("transport", _transport),
    "ansible_psrp_protocol": ("scheme", _psrp_protocol),
    "ansible_psrp_cert_validation": ("insecure_skip_verify", _cert_validation),
    "ansible_psrp_ca_cert": ("ca_bundle", _as_str),
    "ansible_psrp_read_timeout": ("read_timeout", _as_number),
    "ansible_psrp_operation_timeout": ("operation_timeout", _as_number),
    "ansible_psrp_negotiate_delegate": ("kerberos_delegation", _as_bool),
    "ansible_psrp_certificate_pem": ("cert", _as_str),
    "ansible_psrp_certificate_key_pem": ("cert_key", _as_str),
    # iisguard's own, for what Ansible has no variable for.
    "iisguard_deadline": ("deadline", _as_number),
    "iisguard_username_env": ("username_env", _as_str),
    "iisguard_password_env": ("password_env", _as_str),
}
# Read by Ansible for the connection but carrying nothing iisguard needs (or handled on their own).
_HANDLED = {
    "ansible_connection",
    "ansible_password",
    "ansible_winrm_password",
    "ansible_psrp_password",
    "ansible_group_priority",
    "ansible_shell_type",
    "ansible_python_interpreter",
}
PASSWORD_VARIABLES = ("ansible_password", "ansible_winrm_password", "ansible_psrp_password")
_ENV_LOOKUP = re.compile(
    r"""^\s*\{\{\s*lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)"""
    r"""(?:\s*\|\s*default\([^)]*\))?\s*\}\}\s*$"""
)
_VAULT = "$ANSIBLE_VAULT;"


# -- the inventory as Ansible sees it ------------------------------------------------------------
@dataclass
class Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class Host:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass
class Inventory:
    """Groups and hosts of one inventory source, before variables are merged."""

    path: Path
    groups: dict[str, Group] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Variables from group_vars/ and host_vars/ beside the file, by group and host name.
    group_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    _depth: dict[str, int] = field(default_factory=dict)

    def group(self, name: str, line: int = 0) -> Group:
        if name not in self.groups:
            self.groups[name] = Group(name, line=line)
        return self.groups[name]

    def host(self, name: str, line: int = 0) -> Host:
        if name not in self.hosts:
            self.hosts[name] = Host(name, line=line)
        return self.hosts[name]

    def add_host(self, group: str, name: str, hvars: dict[str, Any], line: int) -> None:
        h = self.host(name, line)
        h.vars.update(hvars)
        g = self.group(group, line)
        if name not in g.hosts:
            g.hosts.append(name)

    # -- structure, as ansible-core builds it (all > ungrouped, depth, transitive hosts) --------
    def finish(self) -> None:
        all_group = self.group("all")
        self.group("ungrouped")
        parents = self.parents()
        for name in self.groups:
            if name != "all" and not parents.get(name) and name not in all_group.children:
                all_group.children.append(name)
        parents = self.parents()
        for host in self.hosts:
            in_named = any(host in g.hosts for n, g in self.groups.items() if n not in {"all", "ungrouped"})
            ungrouped = self.groups["ungrouped"]
            if not in_named and host not in ungrouped.hosts:
                ungrouped.hosts.append(host)
        for name in self.groups:
            self._depth[name] = self._depth_of(name, parents, set())

    def parents(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for g in self.groups.values():
            for child in g.children:
                out.setdefault(child, []).append(g.name)
        return out

    def _depth_of(self, name: str, parents: dict[str, list[str]], seen: set[str]) -> int:
        if name == "all" or name in seen:
            return 0
        seen = seen | {name}
        return 1 + max((self._depth_of(p, parents, seen) for p in parents.get(name, ["all"])), default=0)

    def depth(self, name: str) -> int:
        return self._depth.get(name, 1)

    def hosts_of(self, group: str) -> list[str]:
        """Every host of the group and of its children, each once, in inventory order."""
        out: dict[str, None] = {}
        stack, seen = [group], set()
        while stack:
            name = stack.pop(0)
            if name in seen or name not in self.groups:
                continue
            seen.add(name)
            g = self.groups[name]
            if name == "all":
                out.update(dict.fromkeys(self.hosts))
                continue
            out.update(dict.fromkeys(g.hosts))
            stack.extend(g.children)
        return list(out)

    def groups_of(self, host: str) -> list[str]:
        """Every group the host is in, directly or through a child group (`all` included)."""
        direct = [n for n, g in self.groups.items() if host in g.hosts]
        parents = self.parents()
        out: dict[str, None] = {"all": None}
        stack = list(direct)
        while stack:
            name = stack.pop()
            if name in out:
                continue
            out[name] = None
            stack.extend(parents.get(name, []))
        return list(out)


# -- reading ------------------------------------------------------------------------------------
def is_own_format(data: Any) -> bool:
    """True for iisguard's own hosts.yaml (defaults / groups with host lists / hosts list)."""
    if not isinstance(data, dict) or not data or not set(data) <= {"defaults", "groups", "hosts"}:
        return False
    groups = data.get("groups")
    if groups is not None and not (
        isinstance(groups, dict)
        and all(
            isinstance(g, dict) and "hosts" in g and not isinstance(g["hosts"], dict) for g in groups.values()
        )
    ):
        return False
    return data.get("hosts") is None or isinstance(data.get("hosts"), list)


def read(path: Path, yaml_data: Any | None) -> Inventory:
    """The inventory at `path` (YAML already parsed by the caller, or None for INI)."""
    inv = Inventory(path)
    if isinstance(yaml_data, dict):
        _read_yaml(inv, yaml_data)
    else:
        _read_ini(inv, path)
    inv.finish()
    _read_vars_dirs(inv)
    return inv


def _read_yaml(inv: Inventory, data: dict[str, Any]) -> None:
    def walk(name: str, block: Any, line: int) -> None:
        g = inv.group(str(name), getattr(block, "line", line))
        if block is None:
            return
        if not isinstance(block, dict):
            raise UsageError(
                f"group '{name}' must be a mapping with hosts, vars or children (read as an Ansible "
                "inventory; iisguard's own hosts.yaml has defaults, groups and hosts)",
                where=_at(inv, line),
            )
        hosts = block.get("hosts") or {}
        if not isinstance(hosts, dict):
            raise UsageError(f"'hosts' of group '{name}' must be a mapping", where=_at(inv, block))
        for host_pattern, hvars in hosts.items():
            if hvars is not None and not isinstance(hvars, dict):
                raise UsageError(
                    f"variables of host '{host_pattern}' must be a mapping", where=_at(inv, hosts)
                )
            for host in expand_range(str(host_pattern)):
                inv.add_host(
                    str(name), host, dict(hvars or {}), getattr(hvars, "line", getattr(hosts, "line", 0))
                )
        gvars = block.get("vars") or {}
        if not isinstance(gvars, dict):
            raise UsageError(f"'vars' of group '{name}' must be a mapping", where=_at(inv, block))
        g.vars.update(gvars)
        children = block.get("children") or {}
        if not isinstance(children, dict):
            raise UsageError(f"'children' of group '{name}' must be a mapping", where=_at(inv, block))
        for child, child_block in children.items():
            if str(child) not in g.children:
                g.children.append(str(child))
            walk(str(child), child_block, getattr(children, "line", 0))

    for name, block in data.items():
        walk(str(name), block, getattr(data, "line", 0))


def _at(inv: Inventory, obj: Any) -> str:
    line = obj if isinstance(obj, int) else getattr(obj, "line", 0)
    return f"{inv.path}:{line}" if line else str(inv.path)


_SECTION = re.compile(r"^\[([^\]:]+)(?::(\w+))?\]\s*$")


def _read_ini(inv: Inventory, path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the inventory: {exc}", where=str(path)) from None
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = f"{path}:{number}"
        m = _SECTION.match(line)
        if m:
            group, kind = m.group(1).strip(), (m.group(2) or "hosts")
            if kind not in {"hosts", "children", "vars"}:
                raise UsageError(f"unknown section kind ':{kind}' (expected :children or :vars)", where=where)
            inv.group(group, number)
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise UsageError("expected key=value under a :vars section", where=where)
            inv.group(group).vars[key.strip()] = _ini_literal(value.strip())
        elif kind == "children":
            child = line.split()[0]
            inv.group(child, number)
            if child not in inv.groups[group].children:
                inv.groups[group].children.append(child)
        else:
            name, hvars = _host_line(line, where)
            for host in expand_range(name):
                inv.add_host(group, host, dict(hvars), number)


def _host_line(line: str, where: str) -> tuple[str, dict[str, Any]]:
    import shlex

    try:
        tokens = shlex.split(line, comments=True, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot read this host line: {exc}", where=where) from None
    if not tokens:
        raise UsageError("empty host line", where=where)
    name, hvars = tokens[0], {}
    # host:port -- not the colon of a range (web[01:09]) nor an IPv6 address (more than one colon)
    port = re.match(r"^(.+):(\d+)$", name)
    if port and (":" not in port.group(1) or port.group(1).endswith("]")):
        name, hvars["ansible_port"] = port.group(1), int(port.group(2))
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            raise UsageError(f"expected key=value after the host name, not {token!r}", where=where)
        hvars[key] = _ini_literal(value)
    return name, hvars


def _ini_literal(value: str) -> Any:
    # ansible-core's INI plugin: ast.literal_eval where it parses; bytes, complex and ... stay text.
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return value
    if parsed is ... or isinstance(parsed, (bytes, complex)):
        return value
    return list(parsed) if isinstance(parsed, (tuple, set)) else parsed


_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\]")


def expand_range(pattern: str) -> list[str]:
    """`web[01:03]` -> web01, web02, web03; `db-[a:c]`; `[1:9:2]` steps; left alone otherwise."""
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    start, end, step = m.group(1), m.group(2), int(m.group(3) or 1)
    head, tail = pattern[: m.start()], pattern[m.end() :]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        return [pattern]
    if len(values) > 100_000:
        raise UsageError(f"host range {m.group(0)} expands to more than 100,000 hosts")
    return [h for v in values for h in expand_range(head + v + tail)]


def _read_vars_dirs(inv: Inventory) -> None:
    """group_vars/ and host_vars/ beside the inventory file (files or folders of YAML)."""
    base = inv.path.parent
    inv.group_files = {name: _vars_for(inv, base / "group_vars", name) for name in inv.groups}
    inv.host_files = {name: _vars_for(inv, base / "host_vars", name) for name in inv.hosts}


def _vars_for(inv: Inventory, folder: Path, name: str) -> dict[str, Any]:
    from .fleet import _load_yaml

    if not folder.is_dir():
        return {}
    files: list[Path] = []
    for suffix in ("", ".yml", ".yaml", ".json"):
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            files.append(candidate)
    entry = folder / name
    if entry.is_dir():
        files.extend(
            sorted(p for p in entry.rglob("*") if p.is_file() and p.suffix in {"", ".yml", ".yaml", ".json"})
        )
    out: dict[str, Any] = {}
    for file in files:
        try:
            head = file.read_text(encoding="utf-8-sig", errors="replace")[:64]
        except OSError as exc:
            raise UsageError(f"cannot read: {exc.strerror or exc}", where=str(file)) from None
        if head.startswith(_VAULT):
            inv.notes.append(
                f"{file}: vault-encrypted, not read (iisguard reads no secrets from an inventory; "
                "pass passwords through the environment)"
            )
            continue
        data = _load_yaml(file)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise UsageError("a vars file must be a mapping of variables", where=str(file))
        out.update(data)
    return out


# -- variables of a host ------------------------------------------------------------------------
def host_vars(inv: Inventory, host: str) -> dict[str, Any]:
    """The host's variables merged in ansible-core's default precedence (see the module doc)."""
    groups = [g for g in inv.groups_of(host) if g != "all"]

    def priority(name: str) -> int:
        merged = {**inv.groups[name].vars, **inv.group_files.get(name, {})}
        try:
            return int(merged.get("ansible_group_priority", 1))
        except (TypeError, ValueError):
            return 1

    ordered = sorted(groups, key=lambda n: (inv.depth(n), priority(n), n))
    out: dict[str, Any] = dict(inv.groups["all"].vars)
    for name in ordered:
        out.update(inv.groups[name].vars)
    out.update(inv.group_files.get("all", {}))
    for name in ordered:
        out.update(inv.group_files.get(name, {}))
    out.update(inv.hosts[host].vars)
    out.update(inv.host_files.get(host, {}))
    out.pop("ansible_group_priority", None)  # consumed by the inventory, as in ansible-core
    return out


# -- --limit --------------------------------------------------------------------------------------
def select(inv: Inventory, pattern: str | None) -> list[str]:
    """Hosts matching an Ansible host pattern, in inventory order (every host without a pattern)."""
    everything = list(inv.hosts)
    if not pattern:
        return everything
    if pattern.startswith("@"):
        try:
            names = Path(pattern[1:]).read_text(encoding="utf-8").split()
        except OSError as exc:
            raise UsageError(
                f"cannot read the --limit file: {exc.strerror or exc}", where=pattern[1:]
            ) from None
        pattern = ",".join(names)
    terms = [t.strip() for t in re.split(r"[,:]" if "," not in pattern else ",", pattern) if t.strip()]
    if "," in pattern:
        terms = [t for chunk in terms for t in (re.split(r":(?=[&!])", chunk))]
    positive: dict[str, None] = {}
    intersect: list[set[str]] = []
    exclude: set[str] = set()
    for term in terms:
        if term.startswith("&"):
            intersect.append(set(_match(inv, term[1:])))
        elif term.startswith("!"):
            exclude.update(_match(inv, term[1:]))
        else:
            positive.update(dict.fromkeys(_match(inv, term)))
    chosen = set(positive)
    for s in intersect:
        chosen &= s
    chosen -= exclude
    return [h for h in everything if h in chosen]


def _match(inv: Inventory, term: str) -> list[str]:
    if term in {"all", "*"}:
        return list(inv.hosts)
    if term.startswith("~"):
        try:
            rx = re.compile(term[1:])
        except re.error as exc:
            raise UsageError(f"--limit: bad regular expression {term[1:]!r}: {exc}") from None
        groups = [g for g in inv.groups if rx.match(g)]
        hosts = [h for h in inv.hosts if rx.match(h)]
    elif any(c in term for c in "*?["):
        groups = [g for g in inv.groups if fnmatch.fnmatchcase(g, term)]
        hosts = [h for h in inv.hosts if fnmatch.fnmatchcase(h, term)]
    else:
        groups = [term] if term in inv.groups else []
        hosts = [term] if term in inv.hosts else []
    out: dict[str, None] = {}
    for g in groups:
        out.update(dict.fromkeys(inv.hosts_of(g)))
    out.update(dict.fromkeys(hosts))
    return list(out)


# -- to iisguard settings -------------------------------------------------------------------------
@dataclass
class Resolved:
    name: str
    address: str
    group: str
    settings: dict[str, Any]
    line: int


def resolve(inv: Inventory, hosts: list[str]) -> tuple[list[Resolved], list[str]]:
    """iisguard settings for each host, and the notes to print once (unknown variables, passwords)."""
    unknown: dict[str, int] = {}
    templated: dict[str, int] = {}
    passwords: dict[str, int] = {}
    skipped: list[str] = []
    out: list[Resolved] = []
    for host in hosts:
        hv = host_vars(inv, host)
        connection = str(hv.get("ansible_connection", "")).strip().lower()
        if connection not in {"winrm", "psrp", "ansible.builtin.winrm", "ansible.windows.psrp"}:
            skipped.append(f"{host} ({connection or 'ssh, the default'})")
            continue
        settings: dict[str, Any] = {}
        address = host
        for key, value in hv.items():
            key = str(key)
            if key in PASSWORD_VARIABLES:
                env = _ENV_LOOKUP.match(value) if isinstance(value, str) else None
                if env:
                    settings["password_env"] = env.group(1)
                else:
                    passwords[key] = passwords.get(key, 0) + 1
                continue
            if key in VARIABLES:
                if isinstance(value, str) and "{{" in value:
                    templated[key] = templated.get(key, 0) + 1
                    continue
                setting, convert = VARIABLES[key]
                try:
                    converted = convert(value)
                except (TypeError, ValueError) as exc:
                    raise UsageError(f"host {host}: {key}: {exc}", where=str(inv.path)) from None
                if setting == "address":
                    address = converted
                else:
                    settings[setting] = converted
            elif key.startswith(("ansible_", "iisguard_")) and key not in _HANDLED:
                unknown[key] = unknown.get(key, 0) + 1
        if "port" in settings and ":" in address and address.count(":") == 1:
            address = address.split(":")[0]
        for key in ("ca_bundle", "cert", "cert_key"):
            if key in settings and not Path(settings[key]).is_absolute():
                settings[key] = str((inv.path.parent / settings[key]).resolve())
        direct = [g for g in inv.groups_of(host) if g not in {"all", "ungrouped"}]
        group = sorted(direct, key=lambda n: (-inv.depth(n), n))[0] if direct else ""
        out.append(Resolved(host, address, group, settings, inv.hosts[host].line))
    notes = list(inv.notes)
    if skipped:
        notes.append(
            f"{len(skipped)} host(s) skipped, not reached over WinRM (ansible_connection): "
            + ", ".join(skipped[:10])
            + (" …" if len(skipped) > 10 else "")
        )
    for key, count in sorted(passwords.items()):
        notes.append(
            f"{key} is set for {count} host(s) in the inventory: iisguard never reads a password from "
            "an inventory; give it as \"{{ lookup('env', 'NAME') }}\" (read as password_env NAME), "
            "set IISGUARD_PASSWORD, or answer the prompt"
        )
    for key, count in sorted(templated.items()):
        notes.append(f"{key} is a template for {count} host(s): not evaluated, ignored")
    if unknown:
        notes.append(
            "variables iisguard does not use (ignored): "
            + ", ".join(f"{k} ({n} host{'s' if n > 1 else ''})" for k, n in sorted(unknown.items()))
        )
    return out, notes
