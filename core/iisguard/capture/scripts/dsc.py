"""PowerShell DSC configurations (`Configuration Web { Node ... { xWebAppPool Payroll { ... } } }`), read
as declared state.

A DSC resource block is a keyword, a name and `Property = Value` lines; the reader finds the blocks of
the resources below (by brace matching, strings and comments skipped) and reads their properties.
Values: quoted strings, `$true`/`$false`, `@('a', 'b')`, and variables the same script assigns a literal
(`$pool = 'Payroll'`) or a credential built from literals (`New-Object PSCredential('u', (ConvertTo-
SecureString 'p' -AsPlainText -Force))`: a literal secret, reported at the line holding the text).
Anything else (`$Node.PoolName`, `$ConfigurationData`, a `[PSCredential]` parameter, `Get-Credential`) is
supplied when the configuration is compiled: recorded as unknown, never guessed. A block with
`Ensure = 'Absent'` declares nothing. Resources and properties as documented:

- WebAdministrationDsc / xWebAdministration `WebAppPool` / `xWebAppPool`: `Name`, `identityType`,
  `Credential`, `managedRuntimeVersion`, `enable32BitAppOnWin64`, `loadUserProfile`, `autoStart`,
  `managedPipelineMode`: https://github.com/dsccommunity/WebAdministrationDsc (WebAppPool)
- `WebSite` / `xWebsite`, `WebApplication` / `xWebApplication`: `Name`/`Website`, `PhysicalPath`,
  `ApplicationPool`/`WebAppPool`, `AuthenticationInfo = MSFT_xWebAuthenticationInformation { Anonymous = ... }`
- PSDscResources / PSDesiredStateConfiguration `User` (`UserName`, `Password`, `Disabled`,
  `PasswordNeverExpires`) and `Group` (`GroupName`, `Members`, `MembersToInclude`)
- ActiveDirectoryDsc `ADUser` / `xADUser`: `UserName`, `Password`, `PasswordNeverExpires`, `Enabled`,
  `ServicePrincipalNames`, `TrustedForDelegation`
- SecurityPolicyDsc `UserRightsAssignment`: `Policy` (`Log_on_as_a_service`, ...), `Identity`

A compiled configuration (`.mof`, what `Start-DscConfiguration` sends to the node) is read too
(kind `dsc_mof`): its `instance of <class>` blocks are the same resources (`ResourceID =
"[WebAppPool]Reports"`), and an `MSFT_Credential` instance's `Password` written in clear (a
configuration compiled with `PSDscAllowPlainTextPassword`) is a literal secret at its MOF line; one
encrypted for the node's certificate (`-----BEGIN CMS-----`) is not.

Not read: ACL resources (`NTFSAccessEntry`, `cNtfsPermissionEntry`) and `Script` resources (their
code runs on the node).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...hookspecs import hookimpl
from ..base import Artifact, Builder
from .declared import At, Declared, Literal, Secret, Unresolved, Value

KIND = "dsc"
_CONFIGURATION = re.compile(r"(?im)^\s*Configuration\s+[\w-]+\s*(?:\{|\(|$)")
_DSC_MARK = re.compile(r"(?im)^\s*(?:Import-DscResource\b|Node\s+[\w$'\"@(]|\w+\s+[\w$'\"-]+\s*$)")
_BLOCK = re.compile(
    r"(?im)^[ \t]*(?P<type>(?:x|c)?WebAppPool|(?:x)?WebSite|(?:x)?WebApplication|(?:x)?User|(?:x)?Group"
    r"|(?:x)?ADUser|UserRightsAssignment)[ \t]+(?P<name>[^\s{]+)[ \t]*(?:\r?\n[ \t]*)?\{"
)
_PROPERTY = re.compile(r"\s*(?P<key>\w+)\s*=\s*(?P<value>.+?)\s*;?\s*$", re.S)
_ASSIGN = re.compile(r"(?im)^[ \t]*\$(?P<var>\w+)[ \t]*=[ \t]*(?P<value>.+?)[ \t]*;?[ \t]*$")
_STRING = re.compile(r"'((?:[^']|'')*)'|\"((?:[^\"`$]|`.)*)\"")
_CREDENTIAL = re.compile(
    r"(?is)New-Object\s+(?:-TypeName\s+)?(?:System\.Management\.Automation\.)?PSCredential\s*"
    r"(?:-ArgumentList\s*)?\(?\s*(?P<user>'[^']*'|\"[^\"$]*\"|\$\w+)\s*,\s*(?P<secret>.+)"
)
_PLAINTEXT = re.compile(r"(?is)ConvertTo-SecureString\s+(?:-String\s+)?('[^']*'|\"[^\"$]*\")\s.*-AsPlainText")
# SecurityPolicyDsc's policy names -> the rights' constants (SecurityPolicyDsc UserRightsAssignment schema).
POLICIES = {
    "log_on_as_a_service": "SeServiceLogonRight",
    "log_on_as_a_batch_job": "SeBatchLogonRight",
    "impersonate_a_client_after_authentication": "SeImpersonatePrivilege",
    "debug_programs": "SeDebugPrivilege",
    "act_as_part_of_the_operating_system": "SeTcbPrivilege",
    "replace_a_process_level_token": "SeAssignPrimaryTokenPrivilege",
    "generate_security_audits": "SeAuditPrivilege",
    "adjust_memory_quotas_for_a_process": "SeIncreaseQuotaPrivilege",
    "create_global_objects": "SeCreateGlobalPrivilege",
    "back_up_files_and_directories": "SeBackupPrivilege",
    "restore_files_and_directories": "SeRestorePrivilege",
    "take_ownership_of_files_or_other_objects": "SeTakeOwnershipPrivilege",
    "load_and_unload_device_drivers": "SeLoadDriverPrivilege",
    "create_a_token_object": "SeCreateTokenPrivilege",
    "allow_log_on_locally": "SeInteractiveLogonRight",
    "access_this_computer_from_the_network": "SeNetworkLogonRight",
}


@dataclass(frozen=True)
class Credential:
    """A PSCredential: its user (text or unknown) and its password (literal, at a line, or unknown)."""

    user: Value
    secret: Secret


def _blank(text: str) -> str:
    """The text with comments and string contents blanked (same length, newlines kept), for brace matching."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#" and (i == 0 or text[i - 1] != "<"):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("<#", i):
            j = text.find("#>", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in text[i:j]]
            i = j
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if c == '"' and text[j] == "`" else 1
            out[i + 1 : j] = [ch if ch == "\n" else " " for ch in text[i + 1 : j]]
            i = j + 1
        else:
            i += 1
    return "".join(out)


class _Run:
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        self.a = artifact
        self.d = Declared.of(builder)
        self.b = builder
        self.text = artifact.text()
        self.blank = _blank(self.text)
        self.starts = [0]  # offset of each line start
        for m in re.finditer("\n", self.text):
            self.starts.append(m.end())
        self.vars: dict[str, Any] = {}

    def line(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self.starts, offset) + self.a.first_line - 1

    def at(self, offset: int) -> At:
        return self.d.at(self.a, self.line(offset))

    def run(self) -> None:
        for m in _ASSIGN.finditer(self.blank):  # assignments first: a block may use a variable set above it
            value = self.text[m.start("value") : m.end("value")]
            self.vars[m.group("var").casefold()] = self.value(value, m.start("value"))
        for m in _BLOCK.finditer(self.blank):
            open_at = m.end() - 1
            close = self.match(open_at)
            if close is None:
                self.b.warn(
                    self.a,
                    self.line(m.start()),
                    f"{m.group('type')} block without its closing brace; not read",
                )
                continue
            props = self.properties(open_at + 1, close)
            if str(props.get("ensure", ("", 0))[0]).casefold() == "absent":
                continue
            name = self.text[m.start("name") : m.end("name")].strip("'\"")
            reader = _READERS[re.sub(r"^[xc](?=[A-Z])", "", m.group("type")).casefold()]
            reader(self, name, props, m.start())

    def match(self, open_at: int) -> int | None:
        depth = 0
        for i in range(open_at, len(self.blank)):
            c = self.blank[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i
        return None

    def properties(self, start: int, end: int) -> dict[str, tuple[Any, int]]:
        """`Key = Value` statements of a block (a value may span lines while brackets are open)."""
        out: dict[str, tuple[Any, int]] = {}
        i = start
        while i < end:
            j = self.blank.find("\n", i, end)
            j = end if j < 0 else j
            depth = (
                self.blank.count("(", i, j)
                + self.blank.count("{", i, j)
                - self.blank.count(")", i, j)
                - self.blank.count("}", i, j)
            )
            if re.search(r"(?:MSFT|DSC)_\w+\s*$", self.blank[i:j]) and self.blank[
                j + 1 : end
            ].lstrip().startswith("{"):
                depth = 1  # `AuthenticationInfo = DSC_WebAuthenticationInformation` with its block below
                j = self.blank.index("{", j) + 1
            while depth > 0 and j < end:  # a value continued on the next lines
                k = self.blank.find("\n", j + 1, end)
                k = end if k < 0 else k
                depth += (
                    self.blank.count("(", j, k)
                    + self.blank.count("{", j, k)
                    - self.blank.count(")", j, k)
                    - self.blank.count("}", j, k)
                )
                j = k
            m = _PROPERTY.match(self.blank, i, j)
            if m:
                raw = self.text[m.start("value") : m.end("value")]
                out[m.group("key").casefold()] = (self.value(raw, m.start("value")), m.start("key"))
            i = j + 1
        return out

    def value(self, raw: str, offset: int) -> Any:
        """A property or assignment value: str, bool, list, Credential, a nested block's dict, or Unresolved."""
        v = raw.strip().rstrip(";").strip()
        if re.fullmatch(r"(?i)\$true|\$false", v):
            return v.casefold() == "$true"
        m = _STRING.fullmatch(v)
        if m:
            return (
                (m.group(1) or "").replace("''", "'")
                if m.group(1) is not None
                else (m.group(2) or "").replace("`", "")
            )
        if v.startswith('"'):
            return Unresolved(f"the string {v[:60]} expands variables when the configuration is compiled")
        if re.fullmatch(r"-?\d+", v):
            return v
        m = re.fullmatch(r"\$(\w+)", v)
        if m:
            known = self.vars.get(m.group(1).casefold())
            if known is not None:
                return known
            return Unresolved(f"${m.group(1)}, supplied when the configuration is compiled")
        if v.startswith("@(") or (v.startswith("'") and "," in v):
            inner = v[2:-1] if v.startswith("@(") else v
            return [self.value(part, offset) for part in _split_list(inner) if part.strip()]
        cred = _CREDENTIAL.search(v)
        if cred:
            return self.credential(cred, offset)
        plain = _PLAINTEXT.search(v)
        if plain:
            return Literal(self.at(offset + plain.start(1)))
        block = re.match(r"(?is)(?:MSFT|DSC)_\w+\s*\{(.*)\}\s*$", v)
        if block:
            inner_start = offset + v.index("{") + 1
            props = {}
            for part in re.split(r"[;\n]", block.group(1)):
                pm = _PROPERTY.match(part)
                if pm:
                    props[pm.group("key").casefold()] = (
                        self.value(pm.group("value"), inner_start),
                        inner_start,
                    )
            return props
        return Unresolved(f"{v[:60]!r} is computed when the configuration is compiled")

    def credential(self, m: re.Match[str], offset: int) -> Credential:
        user = self.value(m.group("user"), offset)
        secret_text = m.group("secret")
        plain = _PLAINTEXT.search(secret_text)
        secret: Secret
        if plain:
            secret = Literal(self.at(offset + m.start("secret") + plain.start(1)))
        else:
            var = re.match(r"\s*\$(\w+)", secret_text)
            known = self.vars.get(var.group(1).casefold()) if var else None
            secret = (
                known
                if isinstance(known, Literal)
                else Unresolved("the credential's password is not in the script")
            )
        return Credential(user if isinstance(user, (str, Unresolved)) else None, secret)


def _split_list(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch in ",\n" and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def _text(props: dict[str, tuple[Any, int]], key: str) -> Value:
    value = props.get(key, (None, 0))[0]
    return value if isinstance(value, (str, Unresolved)) and not isinstance(value, bool) else None


def _flag(props: dict[str, tuple[Any, int]], key: str) -> bool | None:
    value = props.get(key, (None, 0))[0]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    return None


def _names(props: dict[str, tuple[Any, int]], *keys: str) -> list[Value]:
    out: list[Value] = []
    for key in keys:
        value = props.get(key, (None, 0))[0]
        for item in value if isinstance(value, list) else [value] if value is not None else []:
            if isinstance(item, (str, Unresolved)):
                out.append(item)
    return out


def _credential(props: dict[str, tuple[Any, int]], key: str) -> Credential | None:
    value = props.get(key, (None, 0))[0]
    if isinstance(value, Credential):
        return value
    if isinstance(value, Unresolved):
        return Credential(value, value)
    return None


# -- resources ---------------------------------------------------------------------------------------


def _pool(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    name = _text(props, "name") or block
    if not isinstance(name, str):
        return
    run.d.app_pool(
        name,
        run.at(offset),
        managed_runtime_version=_text(props, "managedruntimeversion"),
        pipeline_mode=_text(props, "managedpipelinemode"),
        enable_32bit=_flag(props, "enable32bitapponwin64"),
        load_user_profile=_flag(props, "loaduserprofile"),
        auto_start=_flag(props, "autostart"),
    )
    identity = _text(props, "identitytype")
    cred = _credential(props, "credential")
    if identity is None and cred is None:
        return
    line = props["identitytype"][1] if identity is not None else props["credential"][1]
    run.d.pool_identity(
        name,
        run.at(line),
        identity_type=identity,
        user=cred.user if cred else None,
        password=cred.secret if cred else None,
    )


def _site(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    name = _text(props, "name") or block
    if not isinstance(name, str):
        return
    run.d.site(
        name,
        run.at(offset),
        physical_path=_text(props, "physicalpath"),
        app_pool=_text(props, "applicationpool"),
    )
    _authentication(run, name, props)


def _application(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    site, name = _text(props, "website"), _text(props, "name") or block
    if not (isinstance(site, str) and isinstance(name, str)):
        return
    run.d.application(
        site,
        name,
        run.at(offset),
        physical_path=_text(props, "physicalpath"),
        app_pool=_text(props, "webapppool"),
    )
    _authentication(run, f"{site}/{name.strip('/')}", props)


def _authentication(run: _Run, location: str, props: dict[str, tuple[Any, int]]) -> None:
    info = props.get("authenticationinfo")
    if info is None or not isinstance(info[0], dict):
        return
    anonymous = _flag(info[0], "anonymous")
    if anonymous is not None:
        run.d.anonymous(location, run.at(info[1]), enabled=anonymous)


def _user(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    name = _text(props, "username") or block
    if not isinstance(name, str):
        return
    cred = _credential(props, "password")
    disabled = _flag(props, "disabled")
    run.d.local_user(
        name,
        run.at(offset),
        password=cred.secret if cred else None,
        enabled=None if disabled is None else not disabled,
        password_never_expires=_flag(props, "passwordneverexpires"),
    )


def _group(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    group = _text(props, "groupname") or block
    if not isinstance(group, str):
        return
    members = _names(props, "members", "memberstoinclude")
    if not members:
        run.d.local_group(group, run.at(offset))
    for member in members:
        line = (props.get("members") or props.get("memberstoinclude") or (None, offset))[1]
        if isinstance(member, str):
            run.d.group_member(group, member, run.at(line))
        elif isinstance(member, Unresolved):
            run.d.unresolved(run.at(line), f"member of {group}", member.reason)


def _ad_user(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    name = _text(props, "username") or block
    if not isinstance(name, str):
        return
    at = run.at(offset)
    cred = _credential(props, "password")
    if cred is not None and isinstance(cred.secret, Literal):
        run.d.literal_secret(cred.secret.at or at, f"password of domain user '{name}'")
    run.d.domain_account(
        name, at, enabled=_flag(props, "enabled"), password_never_expires=_flag(props, "passwordneverexpires")
    )
    for spn in _names(props, "serviceprincipalnames"):
        if isinstance(spn, str):
            run.d.spn(spn, name, run.at(props["serviceprincipalnames"][1]))
    trusted = _flag(props, "trustedfordelegation")
    if trusted is not None:
        run.d.delegation(name, run.at(props["trustedfordelegation"][1]), unconstrained=trusted)


def _rights(run: _Run, block: str, props: dict[str, tuple[Any, int]], offset: int) -> None:
    policy = _text(props, "policy")
    right = POLICIES.get(policy.casefold()) if isinstance(policy, str) else None
    if right is None:
        if policy is not None:
            run.b.warn(
                run.a,
                run.line(offset),
                f"UserRightsAssignment policy {policy!r} is not one iisguard maps; not read",
            )
        return
    line = props.get("identity", (None, offset))[1]
    for holder in _names(props, "identity"):
        if isinstance(holder, str):
            run.d.user_right(right, holder, run.at(line))
        elif isinstance(holder, Unresolved):
            run.d.unresolved(run.at(line), f"holder of {right}", holder.reason)


_READERS: dict[str, Callable[[_Run, str, dict[str, tuple[Any, int]], int], None]] = {
    "webapppool": _pool,
    "website": _site,
    "webapplication": _application,
    "user": _user,
    "group": _group,
    "aduser": _ad_user,
    "userrightsassignment": _rights,
}


# -- compiled MOF --------------------------------------------------------------------------------------

_INSTANCE = re.compile(r"(?im)^[ \t]*instance\s+of\s+(?P<cls>\w+)(?:\s+as\s+\$(?P<ref>\w+))?\s*\{")
_RESOURCE_ID = re.compile(r"^\[(?P<type>[\w]+)\](?P<name>.+)$")
_MOF_MARK = re.compile(r"(?im)^[ \t]*instance\s+of\s+(?:MSFT_|DSC_|OMI_ConfigurationDocument)")


class _MofRun(_Run):
    """A compiled configuration: instances, credentials by reference, resources by ResourceID."""

    def run(self) -> None:
        instances: list[tuple[str, str | None, dict[str, tuple[Any, int]], int]] = []
        for m in _INSTANCE.finditer(self.text):
            if self._inside(m.start()):
                continue  # an embedded `instance of` value (AuthenticationInfo), read with its owner
            close = self._close(m.end() - 1)
            if close is None:
                self.b.warn(
                    self.a,
                    self.line(m.start()),
                    f"instance of {m.group('cls')} without its closing brace; not read",
                )
                continue
            instances.append((m.group("cls"), m.group("ref"), self.mof_properties(m.end(), close), m.start()))
            self._spans.append((m.end() - 1, close))
        refs = {ref.casefold(): props for _cls, ref, props, _ in instances if ref}
        self.refs = refs
        for cls, _ref, props, offset in instances:
            rid = props.get("resourceid", (None, 0))[0]
            found = _RESOURCE_ID.match(rid) if isinstance(rid, str) else None
            if found is None or cls.casefold() == "msft_credential":
                continue
            if str(props.get("ensure", ("", 0))[0]).casefold() == "absent":
                continue
            kind = re.sub(r"^[xc](?=[A-Z])", "", found.group("type")).casefold()
            reader = _READERS.get(kind)
            if reader is not None:
                resolved = {k: (self.resolve(v, at), at) for k, (v, at) in props.items()}
                reader(self, found.group("name"), resolved, offset)

    @property
    def _spans(self) -> list[tuple[int, int]]:
        if not hasattr(self, "_span_list"):
            self._span_list: list[tuple[int, int]] = []
        return self._span_list

    def _inside(self, offset: int) -> bool:
        return any(a < offset < b for a, b in self._spans)

    def _close(self, open_at: int) -> int | None:
        depth, i, n = 0, open_at, len(self.text)
        while i < n:
            c = self.text[i]
            if c == '"':
                i += 1
                while i < n and self.text[i] != '"':
                    i += 2 if self.text[i] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        return None

    def mof_properties(self, start: int, end: int) -> dict[str, tuple[Any, int]]:
        """`Key = Value;` statements between two offsets (strings, arrays and embedded instances kept whole)."""
        out: dict[str, tuple[Any, int]] = {}
        i, depth, begin = start, 0, start
        while i < end:
            c = self.text[i]
            if c == '"':
                i += 1
                while i < end and self.text[i] != '"':
                    i += 2 if self.text[i] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == ";" and depth == 0:
                self._statement(begin, i, out)
                begin = i + 1
            i += 1
        self._statement(begin, end, out)
        return out

    def _statement(self, start: int, end: int, out: dict[str, tuple[Any, int]]) -> None:
        m = re.match(r"\s*(?P<key>\w+)\s*=\s*", self.text[start:end])
        if m:
            out[m.group("key").casefold()] = (self.mof_value(start + m.end(), end), start + m.start("key"))

    def mof_value(self, start: int, end: int) -> Any:
        raw = self.text[start:end].strip()
        if raw.startswith('"') and raw.endswith('"'):
            return re.sub(r"\\(.)", r"\1", raw[1:-1])
        if raw.casefold() in ("true", "false"):
            return raw.casefold() == "true"
        if raw.startswith("$"):
            return ("ref", raw[1:])
        embedded = re.match(r"(?is)instance\s+of\s+\w+\s*\{", raw)
        if embedded:
            inner = start + self.text[start:end].index("{") + 1
            return self.mof_properties(inner, start + self.text[start:end].rindex("}"))
        if raw.startswith("{") and raw.endswith("}"):
            inner = start + self.text[start:end].index("{") + 1
            return [
                self.mof_value(a, b) for a, b in self._items(inner, start + self.text[start:end].rindex("}"))
            ]
        return raw

    def _items(self, start: int, end: int) -> list[tuple[int, int]]:
        spans, i, begin = [], start, start
        while i < end:
            c = self.text[i]
            if c == '"':
                i += 1
                while i < end and self.text[i] != '"':
                    i += 2 if self.text[i] == "\\" else 1
            elif c == ",":
                spans.append((begin, i))
                begin = i + 1
            i += 1
        if self.text[begin:end].strip():
            spans.append((begin, end))
        return spans

    def resolve(self, value: Any, offset: int) -> Any:
        """A `$MSFT_Credential1ref` becomes the Credential it names; other values stay as read."""
        if isinstance(value, tuple) and value[:1] == ("ref",):
            props = self.refs.get(str(value[1]).casefold())
            if props is None:
                return Unresolved(f"${value[1]} is not in this file")
            user = props.get("username", (None, 0))[0]
            password, at = props.get("password", (None, offset))
            secret: Secret = None
            if isinstance(password, str) and password:
                if password.lstrip().startswith("-----BEGIN CMS-----"):
                    secret = Unresolved("encrypted for the node's certificate")
                else:
                    secret = Literal(self.at(at))
            return Credential(user if isinstance(user, str) else None, secret)
        return value


class DscParser:
    """PowerShell DSC configurations (.ps1) that configure IIS pools, sites, accounts and rights."""

    kind = KIND
    declared = True
    sections: tuple[str, ...] = ()

    def detect(self, head: str, name: str) -> float:
        # Above the PowerShell script parser (0.99): a configuration is PowerShell, but its resource
        # blocks are DSC's own syntax, which this parser reads.
        if _CONFIGURATION.search(head) and _DSC_MARK.search(head):
            return 0.995
        return 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        _Run(artifact, builder).run()


class MofParser:
    """Compiled DSC configurations (.mof) that configure IIS pools, sites, accounts and rights."""

    kind = "dsc_mof"
    declared = True
    sections: tuple[str, ...] = ()

    def detect(self, head: str, name: str) -> float:
        return 0.995 if _MOF_MARK.search(head) else 0.0

    def parse(self, artifact: Artifact, builder: Builder) -> None:
        _MofRun(artifact, builder).run()


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return [DscParser(), MofParser()]
