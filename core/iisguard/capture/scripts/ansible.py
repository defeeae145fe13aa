"""Ansible playbooks, task files and roles that build Windows web servers, read as declared state.

The YAML is composed to nodes with iisguard's guarded safe loader (no object is constructed, so an
alias bomb, a deep nesting or a `!vault` tag cannot hurt, and every value keeps its line) and every
mapping that names one of the modules below is read as a task, wherever it sits (`tasks:`,
`pre_tasks:`, `handlers:`, `block:`/`rescue:`/`always:`, a role's `tasks/main.yml`). Module arguments
may be a mapping, `args:`, or the `key=value` free form. A Jinja expression (`{{ vault_pool_password }}`)
or a `!vault` value is looked up when the play runs: it is recorded as unknown, never as a literal
secret; a password written in the file is a literal secret (its place, never its text). A task with
`state: absent` declares nothing. Module options as documented by Ansible:

- community.windows.win_iis_webapppool (`attributes`: `processModel.identityType`, `processModel.userName`,
  `processModel.password`, dotted or nested), win_iis_website, win_iis_webapplication:
  https://docs.ansible.com/ansible/latest/collections/community/windows/win_iis_webapppool_module.html
- ansible.windows.win_acl (`rights` are FileSystemRights names; .NET adds Synchronize to every allow
  rule, so `Modify` is icacls `M`), win_user_right (`action: add|set`), win_user, win_group_membership,
  win_group: https://docs.ansible.com/ansible/latest/collections/ansible/windows/
- community.windows.win_domain_user and microsoft.ad.user (`password_never_expires`, `enabled`, `spn`,
  `delegates` = principals allowed to delegate to the account):
  https://docs.ansible.com/ansible/latest/collections/microsoft/ad/user_module.html
- win_shell / win_command / win_command's `cmd`: each line running appcmd, icacls, setspn, ntrights or
  net is read like the same line of a batch file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from ... import yamlsource
from ...hookspecs import hookimpl
from ..base import Artifact, Builder
from .declared import At, Declared, Literal, Secret, Unresolved, Value

KIND = "ansible"
# Module names a task may use, short or fully qualified (ansible.windows., community.windows., microsoft.ad.).
_PREFIXES = ("ansible.windows.", "community.windows.", "microsoft.ad.", "ansible.builtin.")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_TRUE = {"yes", "true", "on", "y", "1"}
_FALSE = {"no", "false", "off", "n", "0"}
# A task file or playbook: a list of mappings, one of which names a module we read.
_MODULE_KEYS = re.compile(
    r"(?m)^\s*(?:-\s+)?(?:(?:ansible|community)\.windows\.|microsoft\.ad\.)?"
    r"(?:win_iis_webapppool|win_iis_website|win_iis_webapplication|win_acl|win_user_right|win_user|"
    r"win_group_membership|win_group|win_domain_user|user|win_shell|win_command)\s*:"
)
_YAML_START = re.compile(r"(?m)^(?:---\s*$|-\s+(?:name|hosts|import_tasks|include_tasks|block)\s*:|\w+:\s*$)")
# The FileSystemRights .NET adds to every allow rule (FileSystemAccessRule): Synchronize.
_SYNCHRONIZE = 0x100000


class _Node:
    """A composed YAML node with the helpers a task reader needs."""

    __slots__ = ("node",)

    def __init__(self, node: yaml.Node) -> None:
        self.node = node

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def items(self) -> Iterator[tuple[str, _Node, int]]:
        if isinstance(self.node, yaml.MappingNode):
            for key, value in self.node.value:
                if isinstance(key, yaml.ScalarNode):
                    yield str(key.value), _Node(value), int(key.start_mark.line) + 1


class _Task:
    """One task's module arguments: name -> (scalar/list/mapping node, line)."""

    def __init__(self, module: str, args: dict[str, tuple[_Node | str, int]], line: int) -> None:
        self.module = module
        self.args = args
        self.line = line

    def line_of(self, key: str) -> int:
        return self.args[key][1] if key in self.args else self.line


class _Run:
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        self.a = artifact
        self.b = builder
        self.d = Declared.of(builder)

    def at(self, line: int) -> At:
        return self.d.at(self.a, line)

    def warn(self, line: int | None, message: str) -> None:
        self.b.warn(self.a, line, message)

    # -- reading the file ------------------------------------------------------------------------
    def run(self) -> None:
        text = self.a.text()
        loader = yamlsource.GuardedLoader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    yamlsource.check_aliases(node)
                    self.walk(_Node(node))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or "syntax error"
            self.warn(
                mark.line + 1 if mark is not None else None,
                f"not valid YAML ({problem}); the rest of the file was not read",
            )
        finally:
            loader.dispose()

    def walk(self, root: _Node) -> None:
        """Every mapping that names a module we read is a task; the walk is iterative (nesting is bounded
        by the loader, but a long play is still one pass over the nodes)."""
        stack = [root.node]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:  # an alias: the node was read where it was defined
                continue
            seen.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                stack.extend(reversed(node.value))
            elif isinstance(node, yaml.MappingNode):
                task = self.task(_Node(node))
                if task is not None:
                    self.read(task)
                stack.extend(reversed([v for _, v in node.value]))

    def task(self, node: _Node) -> _Task | None:
        entries = list(node.items())
        module = None
        for key, value, line in entries:
            short = _short(key)
            if short == "user" and key != "microsoft.ad.user":
                continue  # a `user:` option (win_acl's, a connection's) or ansible.builtin.user (Unix)
            if short in _READERS:
                module = (short, value, line)
                break
        if module is None:
            return None
        short, value, line = module
        args: dict[str, tuple[_Node | str, int]] = {}
        if isinstance(value.node, yaml.ScalarNode):
            if short in ("win_shell", "win_command"):
                args["_raw"] = (value, value.line)
            else:
                args.update(_free_form(str(value.node.value), value.line))
        else:
            args.update({k.casefold(): (v, ln) for k, v, ln in value.items()})
        for key, extra, _line in entries:
            if key == "args" and isinstance(extra.node, yaml.MappingNode):
                for k, v, ln in extra.items():
                    args.setdefault(k.casefold(), (v, ln))
        return _Task(short, args, line)

    def read(self, task: _Task) -> None:
        state = self.text(task, "state")
        if isinstance(state, str) and state.casefold() == "absent":
            return
        _READERS[task.module](self, task)

    # -- values ------------------------------------------------------------------------------------
    def raw(self, task: _Task, key: str) -> _Node | str | None:
        found = task.args.get(key)
        return found[0] if found is not None else None

    def text(self, task: _Task, key: str) -> Value:
        """A scalar option: its text, Unresolved for Jinja or a vaulted value, None when absent."""
        return self.scalar(self.raw(task, key))

    @staticmethod
    def scalar(value: _Node | str | None) -> Value:
        if value is None:
            return None
        if isinstance(value, str):
            text = value
        elif isinstance(value.node, yaml.ScalarNode):
            if value.node.tag == "!vault":
                return Unresolved("an Ansible Vault value, decrypted when the play runs")
            text = str(value.node.value)
        else:
            return None
        jinja = _JINJA.search(text)
        if jinja:
            return Unresolved(f"the Jinja expression {jinja.group(0)[:80]!r}, evaluated when the play runs")
        return text

    def flag(self, task: _Task, key: str) -> bool | None:
        value = self.text(task, key)
        if not isinstance(value, str):
            return None
        folded = value.strip().casefold()
        return True if folded in _TRUE else False if folded in _FALSE else None

    def words(self, task: _Task, key: str) -> list[tuple[Value, int]]:
        """A list option (a YAML list or a comma-separated string), each item with its line."""
        found = task.args.get(key)
        if found is None:
            return []
        value, line = found
        if isinstance(value, _Node) and isinstance(value.node, yaml.SequenceNode):
            return [(self.scalar(_Node(item)), int(item.start_mark.line) + 1) for item in value.node.value]
        text = self.scalar(value)
        if isinstance(text, str):
            return [(part.strip(), line) for part in text.split(",") if part.strip()]
        return [(text, line)] if text is not None else []

    def secret(self, task: _Task, key: str) -> Secret:
        value = self.text(task, key)
        if value is None:
            return None
        if isinstance(value, Unresolved):
            return value
        return Literal(self.at(task.line_of(key))) if value else None


def _short(module: str) -> str:
    for prefix in _PREFIXES:
        if module.startswith(prefix):
            return module[len(prefix) :]
    return module


def _free_form(text: str, line: int) -> dict[str, tuple[_Node | str, int]]:
    """`name=Payroll state=present` (Ansible's key=value form) as options."""
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = text.split()
    out: dict[str, tuple[_Node | str, int]] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            out[key.strip().casefold()] = (value, line)
    return out


# -- modules ---------------------------------------------------------------------------------------


def _webapppool(run: _Run, task: _Task) -> None:
    name = run.text(task, "name")
    if not isinstance(name, str) or not name:
        return
    at = run.at(task.line)
    attributes: dict[str, tuple[_Node | str, int]] = {}
    found = task.args.get("attributes")
    if found is not None and isinstance(found[0], _Node):
        for key, value, line in found[0].items():
            if isinstance(value.node, yaml.MappingNode):  # processModel: {identityType: ...}
                for sub, sub_value, sub_line in value.items():
                    attributes[f"{key}.{sub}".casefold()] = (sub_value, sub_line)
            else:
                attributes[key.casefold()] = (value, line)
        if isinstance(found[0].node, yaml.ScalarNode):  # the old `name:value|name:value` string form
            for part in str(found[0].node.value).split("|"):
                word, sep, setting = part.partition(":")
                if sep:
                    attributes[word.strip().casefold()] = (setting.strip(), found[1])
    attr = _Task(task.module, attributes, task.line)
    settings: dict[str, Any] = {
        "managed_runtime_version": run.text(attr, "managedruntimeversion"),
        "pipeline_mode": run.text(attr, "managedpipelinemode"),
        "enable_32bit": run.flag(attr, "enable32bitapponwin64"),
        "auto_start": run.flag(attr, "autostart"),
        "load_user_profile": run.flag(attr, "processmodel.loaduserprofile"),
    }
    run.d.app_pool(name, at, **settings)
    identity = run.text(attr, "processmodel.identitytype")
    user = run.text(attr, "processmodel.username")
    password = run.secret(attr, "processmodel.password")
    if identity is not None or user is not None or password is not None:
        line = (
            attr.line_of("processmodel.identitytype")
            if identity is not None
            else attr.line_of("processmodel.username")
        )
        run.d.pool_identity(name, run.at(line), identity_type=identity, user=user, password=password)


def _website(run: _Run, task: _Task) -> None:
    name = run.text(task, "name")
    if not isinstance(name, str) or not name:
        return
    bindings = None
    port = run.text(task, "port")
    if isinstance(port, str):
        ip = run.text(task, "ip")
        host = run.text(task, "hostname")
        info = f"{ip if isinstance(ip, str) else '*'}:{port}:{host if isinstance(host, str) else ''}"
        bindings = [{"protocol": "http", "binding_information": info}]
    run.d.site(
        name,
        run.at(task.line),
        physical_path=run.text(task, "physical_path"),
        app_pool=run.text(task, "application_pool"),
        bindings=bindings,
    )


def _webapplication(run: _Run, task: _Task) -> None:
    name, site = run.text(task, "name"), run.text(task, "site")
    if isinstance(name, str) and isinstance(site, str):
        run.d.application(
            site,
            name,
            run.at(task.line),
            physical_path=run.text(task, "physical_path"),
            app_pool=run.text(task, "application_pool"),
        )


def _acl(run: _Run, task: _Task) -> None:
    path, user, rights_text = run.text(task, "path"), run.text(task, "user"), run.text(task, "rights")
    if not (isinstance(path, str) and isinstance(user, str) and isinstance(rights_text, str)):
        for key, value in (("path", path), ("user", user), ("rights", rights_text)):
            if isinstance(value, Unresolved):
                run.d.unresolved(run.at(task.line_of(key)), f"win_acl {key}", value.reason)
        return
    from ...model import rights as fsrights

    deny = str(run.text(task, "type") or "allow").casefold() == "deny"
    mask = fsrights.filesystem_rights_mask(rights_text)
    if mask is None:
        run.warn(
            task.line_of("rights"),
            f"win_acl rights {rights_text!r}: not FileSystemRights names; the grant was not read",
        )
        return
    codes = fsrights.codes_from_mask(mask if deny else mask | _SYNCHRONIZE)
    inherit = str(run.text(task, "inherit") or "ContainerInherit, ObjectInherit").casefold()
    propagation = str(run.text(task, "propagation") or "None").casefold()
    flags = [f for f, word in (("OI", "objectinherit"), ("CI", "containerinherit")) if word in inherit]
    if "inheritonly" in propagation:
        flags.append("IO")
    if "nopropagateinherit" in propagation:
        flags.append("NP")
    run.d.acl_grant(path, user, codes, run.at(task.line), inheritance=flags, deny=deny)


def _user_right(run: _Run, task: _Task) -> None:
    right = run.text(task, "name")
    action = str(run.text(task, "action") or "set").casefold()
    if not isinstance(right, str) or action == "remove":
        return
    for user, line in run.words(task, "users"):
        if isinstance(user, str):
            run.d.user_right(right, user, run.at(line))
        elif isinstance(user, Unresolved):
            run.d.unresolved(run.at(line), f"holder of {right}", user.reason)


def _user(run: _Run, task: _Task) -> None:
    name = run.text(task, "name")
    if not isinstance(name, str):
        return
    disabled = run.flag(task, "account_disabled")
    run.d.local_user(
        name,
        run.at(task.line),
        password=run.secret(task, "password"),
        enabled=None if disabled is None else not disabled,
        password_never_expires=run.flag(task, "password_never_expires"),
    )
    if str(run.text(task, "groups_action") or "add").casefold() != "remove":
        for group, line in run.words(task, "groups"):
            if isinstance(group, str):
                run.d.group_member(group, name, run.at(line))


def _group_membership(run: _Run, task: _Task) -> None:
    group = run.text(task, "name")
    if not isinstance(group, str):
        return
    for member, line in run.words(task, "members"):
        if isinstance(member, str):
            run.d.group_member(group, member, run.at(line))
        elif isinstance(member, Unresolved):
            run.d.unresolved(run.at(line), f"member of {group}", member.reason)


def _group(run: _Run, task: _Task) -> None:
    group = run.text(task, "name")
    if isinstance(group, str):
        run.d.local_group(group, run.at(task.line))


def _domain_user(run: _Run, task: _Task) -> None:
    name = run.text(task, "name") or run.text(task, "identity") or run.text(task, "sam_account_name")
    if not isinstance(name, str):
        return
    at = run.at(task.line)
    secret = run.secret(task, "password")
    if isinstance(secret, Literal):
        run.d.literal_secret(secret.at or at, f"password of domain user '{name}'")
    elif isinstance(secret, Unresolved):
        run.d.unresolved(at, f"domain user '{name}' password", secret.reason)
    run.d.domain_account(
        name,
        at,
        enabled=run.flag(task, "enabled"),
        password_never_expires=run.flag(task, "password_never_expires"),
    )
    spn = task.args.get("spn") or task.args.get("spns")
    if spn is not None and isinstance(spn[0], _Node):
        node = spn[0]
        lists = (
            [(None, node)]
            if isinstance(node.node, yaml.SequenceNode)
            else list((k, v) for k, v, _ in node.items() if k in ("add", "set"))
        )
        for _, values in lists:
            for item in values.node.value if isinstance(values.node, yaml.SequenceNode) else []:
                value = run.scalar(_Node(item))
                if isinstance(value, str):
                    run.d.spn(value, name, run.at(int(item.start_mark.line) + 1))
    delegates = task.args.get("delegates")
    if delegates is not None and isinstance(delegates[0], _Node):
        node = delegates[0]
        source = (
            node
            if isinstance(node.node, yaml.SequenceNode)
            else next((v for k, v, _ in node.items() if k in ("add", "set")), None)
        )
        allowed = [
            run.scalar(_Node(i))
            for i in (
                source.node.value if source is not None and isinstance(source.node, yaml.SequenceNode) else []
            )
        ]
        names = [a for a in allowed if isinstance(a, str)]
        if names:
            run.d.delegation(name, run.at(delegates[1]), rbcd_from=names)


def _shell(run: _Run, task: _Task) -> None:
    """Lines of win_shell / win_command that run appcmd, icacls, setspn, ntrights or net."""
    found = task.args.get("_raw") or task.args.get("cmd")
    if found is None or not isinstance(found[0], _Node) or not isinstance(found[0].node, yaml.ScalarNode):
        return
    node = found[0].node
    text = str(node.value)
    # A block scalar (`|`) starts on the line after its indicator; a plain or quoted one on its own line.
    first = int(node.start_mark.line) + 1 + (1 if node.style in ("|", ">") else 0)
    for offset, line in enumerate(text.splitlines()):
        _command_line(run, line, first + (offset if node.style != ">" else 0))


def _command_line(run: _Run, line: str, number: int) -> None:
    try:
        from . import commands  # type: ignore[attr-defined,unused-ignore]  # the batch readers (capture/scripts/commands.py)
    except ImportError:  # pragma: no cover - an install without the batch readers
        run.warn(number, "command lines in win_shell/win_command are not read by this version")
        return

    stripped = line.strip()
    if not stripped or stripped.startswith(("#", "rem ", "::")):
        return
    try:  # Windows command lines: backslashes are path separators, quotes group (not POSIX escapes)
        words = [_unquote(w) for w in shlex.split(stripped, posix=False)]
    except ValueError:
        run.warn(number, "unbalanced quotes in a command line; the line was not read")
        return
    if not words:
        return
    args: list[str | Unresolved] = []
    for word in words[1:]:
        args.append(Unresolved(f"the Jinja expression in {word[:60]!r}") if _JINJA.search(word) else word)
    readers: dict[str, Callable[..., None]] = {
        "appcmd": commands.appcmd,
        "icacls": commands.icacls,
        "setspn": commands.setspn,
        "ntrights": commands.ntrights,
        "net": commands.net,
        "net1": commands.net,
    }
    reader = readers.get(commands.program(words[0]))
    if reader is not None:
        reader(run.d, run.at(number), args)


def _unquote(word: str) -> str:
    return word[1:-1] if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"" else word


_READERS: dict[str, Callable[[_Run, _Task], None]] = {
    "win_iis_webapppool": _webapppool,
    "win_iis_website": _website,
    "win_iis_webapplication": _webapplication,
    "win_acl": _acl,
    "win_user_right": _user_right,
    "win_user": _user,
    "win_group_membership": _group_membership,
    "win_group": _group,
    "win_domain_user": _domain_user,
    "user": _domain_user,  # microsoft.ad.user (ansible.builtin.user is a Unix account: only the FQCN counts)
    "win_shell": _shell,
    "win_command": _shell,
}


class AnsibleParser:
    """Ansible playbooks, task files and roles (YAML) that configure IIS identities."""

    kind = KIND
    declared = True
    sections: tuple[str, ...] = ()

    def detect(self, head: str, name: str) -> float:
        text = head.lstrip("\ufeff")
        if text.lstrip()[:1] in ("{", "<") or not _YAML_START.search(text):
            return 0.0
        found = _MODULE_KEYS.findall(text)
        if not found:
            return 0.0
        # `user:` alone is an ordinary key (ansible.builtin.user, a connection's user): only the FQCN counts.
        if all(re.search(r"(?:^|[\s.])user\s*:", f) and "microsoft.ad." not in f for f in found):
            return 0.0
        return 0.99

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        _Run(artifact, builder).run()


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return [AnsibleParser()]
