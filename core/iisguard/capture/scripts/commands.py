"""External programs build scripts run, in batch files and in PowerShell alike: appcmd, icacls,
setspn, ntrights, net user / net localgroup.

Each reader gets the program's arguments as the script passes them (quotes removed, variables the
script assigns literally already substituted; an argument the script computes at run time is an
:class:`Unresolved`) and states what they do on :class:`Declared`. Syntax follows the programs'
documentation:

- appcmd: https://learn.microsoft.com/iis/get-started/getting-started-with-iis/getting-started-with-appcmdexe
- icacls: https://learn.microsoft.com/windows-server/administration/windows-commands/icacls
- setspn: https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/cc731241(v=ws.11)
- ntrights (Windows Server 2003 Resource Kit): ``ntrights [-r|+r] Right -u Account [-m \\\\Computer]``
- net user / net localgroup: https://learn.microsoft.com/windows-server/administration/windows-commands/net-user
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .declared import LITERAL, At, Declared, Literal, Secret, Text, Unresolved, Value

Arg = str | Unresolved

# `icacls` grant: `User:(OI)(CI)M`, `User:M`, `*S-1-5-32-545:(RX)`, `User:(OI)(CI)(RX,W)`.
_GRANT = re.compile(r"^(?P<who>.+?):(?P<perm>(?:\([^()]*\))*[A-Za-z,]*)$")
_PERM_GROUP = re.compile(r"\(([^()]*)\)")
_INHERIT = ("OI", "CI", "IO", "NP", "I")


def program(name: str) -> str:
    """The bare program name of a command word (`%windir%\\system32\\inetsrv\\appcmd.exe` -> `appcmd`)."""
    base = re.split(r"[\\/]", name.strip().strip("\"'"))[-1].casefold()
    return base[:-4] if base.endswith((".exe", ".com")) else base


def text(arg: Arg | None) -> str | None:
    return arg if isinstance(arg, str) else None


def _value(arg: Arg) -> Value:
    return arg if isinstance(arg, (str, Unresolved)) else None


def _secret(arg: Arg) -> Secret:
    """A password argument: unknown when computed, else literal (at the line its text is written on)."""
    if isinstance(arg, Unresolved):
        return arg
    if arg in ("", "*"):  # `net user x * /add` prompts for it: nothing in the script
        return None
    origin = getattr(arg, "at", None)
    return Literal(origin) if origin is not None else LITERAL


# -- appcmd ------------------------------------------------------------------------------------


def _switches(args: Sequence[Arg]) -> tuple[list[Arg], dict[str, Arg]]:
    """appcmd arguments: positional words and `/name:value` (or `-name:value`) switches, names casefolded."""
    words: list[Arg] = []
    switches: dict[str, Arg] = {}
    for arg in args:
        if isinstance(arg, str) and arg[:1] in ("/", "-") and len(arg) > 1:
            name, sep, value = arg[1:].partition(":")
            switches[name.casefold()] = Text.of(value, getattr(arg, "at", None)) if sep else "true"
        elif isinstance(arg, Unresolved) and arg.prefix[:1] in ("/", "-") and ":" in arg.prefix:
            switches[arg.prefix[1:].partition(":")[0].casefold()] = Unresolved(arg.reason)
        else:
            words.append(arg)
    return words, switches


def _unresolved_switch(args: Sequence[Arg]) -> Unresolved | None:
    return next((a for a in args if isinstance(a, Unresolved)), None)


def appcmd(d: Declared, at: At, args: Sequence[Arg]) -> None:
    """`appcmd add|set apppool`, `add|set site`, `add app`, `add vdir`, `set config -section:anonymousAuthentication`."""
    words, sw = _switches(args)
    _appcmd_objects(d, at, words, sw)
    for key, value in sw.items():  # any other password switch (a vdir's, a site's): where, never what
        if key.endswith("password") and isinstance(value, str) and value:
            d.literal_secret(getattr(value, "at", None) or at, f"appcmd /{key}:")


def _appcmd_objects(d: Declared, at: At, words: list[Arg], sw: dict[str, Arg]) -> None:
    verb, obj = (
        (text(words[0]) or "").casefold() if words else "",
        (text(words[1]) or "").casefold() if len(words) > 1 else "",
    )
    target = words[2] if len(words) > 2 else None
    if obj == "apppool":
        name = text(sw.get("name")) or text(sw.get("apppool.name")) or text(target)
        if not name:
            d.unresolved(at, "appcmd apppool name", "not stated literally")
            return
        if verb == "add":
            d.app_pool(name, at, **_pool_settings(sw))
        elif verb == "set":
            d.pool_settings(name, at, **_pool_settings(sw))
        itype, user, pw = (sw.get(f"processmodel.{k}") for k in ("identitytype", "username", "password"))
        if itype is not None or user is not None or pw is not None:
            d.pool_identity(
                name,
                at,
                identity_type=_value(itype) if itype is not None else None,
                user=_value(user) if user is not None else None,
                password=_secret(pw) if pw is not None else None,
            )
    elif obj == "site" and verb in ("add", "set"):
        name = text(sw.get("name")) or text(sw.get("site.name")) or text(target)
        if name:
            entry = d.site(name, at)
            phys = sw.get("physicalpath")
            pool = sw.get("applicationdefaults.applicationpool")
            if phys is not None or pool is not None:
                d.application(
                    name,
                    "/",
                    at,
                    physical_path=_value(phys) if phys is not None else None,
                    app_pool=_value(pool) if pool is not None else None,
                )
            bindings = text(sw.get("bindings"))
            if bindings:
                entry["bindings"].extend(_bindings(bindings))
    elif obj == "app" and verb in ("add", "set"):
        site_name, path = text(sw.get("site.name")), text(sw.get("path"))
        if verb == "set" and target and isinstance(target, str) and "/" in target:
            site_name, _, rest = target.partition("/")
            path = "/" + rest
        if site_name and path:
            phys, pool = sw.get("physicalpath"), sw.get("applicationpool")
            d.application(
                site_name,
                path,
                at,
                physical_path=_value(phys) if phys is not None else None,
                app_pool=_value(pool) if pool is not None else None,
            )
    elif obj == "vdir" and verb in ("add", "set"):
        app_name, path = text(sw.get("app.name")), text(sw.get("path"))
        if app_name and path and sw.get("physicalpath") is not None:
            site_name, _, app_path = app_name.partition("/")
            d.virtual_directory(site_name, "/" + app_path, path, at, physical_path=_value(sw["physicalpath"]))
    elif obj == "config" and verb == "set":
        section = (text(sw.get("section")) or "").casefold()
        if section.rsplit("/", 1)[-1] == "anonymousauthentication":
            location = text(target) or ""
            enabled = sw.get("enabled")
            user, pw = sw.get("username"), sw.get("password")
            d.anonymous(
                location.rstrip("/"),
                at,
                enabled=_bool(enabled) if isinstance(enabled, str) else None,
                user=_value(user) if user is not None else None,
                password=_secret(pw) if pw is not None else None,
            )
        elif "applicationpools" in section:
            _apppool_config(d, at, sw)


def _apppool_config(d: Declared, at: At, sw: dict[str, Arg]) -> None:
    """`appcmd set config -section:system.applicationHost/applicationPools /[name='X'].processModel.identityType:...`."""
    for key, value in sw.items():
        m = re.match(r"^\[name='([^']+)'\]\.processmodel\.(identitytype|username|password)$", key)
        if not m:
            continue
        name, field = m.group(1), m.group(2)
        if field == "identitytype":
            d.pool_identity(name, at, identity_type=_value(value))
        elif field == "username":
            d.pool_identity(name, at, user=_value(value))
        else:
            d.pool_identity(name, at, password=_secret(value))


def _pool_settings(sw: dict[str, Arg]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, field, conv in (
        ("managedruntimeversion", "managed_runtime_version", str),
        ("managedpipelinemode", "pipeline_mode", str),
        ("autostart", "auto_start", _bool),
        ("enable32bitapponwin64", "enable_32bit", _bool),
        ("processmodel.loaduserprofile", "load_user_profile", _bool),
        ("startmode", "start_mode", str),
    ):
        value = sw.get(key)
        if isinstance(value, str):
            out[field] = conv(value)
    return out


def _bool(value: str) -> bool | None:
    folded = value.strip().strip("'\"").lstrip("$").casefold()
    return {"true": True, "false": False, "1": True, "0": False}.get(folded)


def _bindings(value: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for item in value.split(","):
        protocol, _, info = item.partition("/")
        if not info:
            continue
        ip, _, rest = info.partition(":")
        port, _, host = rest.partition(":")
        binding: dict[str, object] = {
            "protocol": protocol,
            "binding_information": info,
            "host": host,
            "ip": ip,
        }
        if port.isdigit():
            binding["port"] = int(port)
        out.append(binding)
    return out


# -- icacls ------------------------------------------------------------------------------------


def icacls(d: Declared, at: At, args: Sequence[Arg]) -> None:
    """`icacls PATH /grant[:r] U:(OI)(CI)M ... [/deny U:perm] [/T /C /Q]`: each grant becomes an ACE."""
    if not args:
        return
    path = args[0]
    mode: str | None = None
    for arg in args[1:]:
        if isinstance(arg, str) and arg.startswith("/"):
            word = arg[1:].casefold()
            mode = "grant" if word in ("grant", "grant:r") else "deny" if word == "deny" else None
            continue
        if mode is None:
            continue
        unknown = _first_unresolved(arg, path)
        if unknown is not None:
            d.unresolved(at, "icacls grant", unknown.reason)
            continue
        assert isinstance(arg, str) and isinstance(path, str)
        grant = parse_grant(arg)
        if grant is None:
            d.b.warn(at.artifact, at.line, f"icacls: cannot read the grant {arg[:80]!r}")
            continue
        who, rights, inheritance = grant
        d.acl_grant(path, who, rights, at, inheritance=inheritance, deny=mode == "deny")


def parse_grant(arg: str) -> tuple[str, list[str], list[str]] | None:
    """(principal, rights, inheritance) of an icacls grant argument, or None."""
    m = _GRANT.match(arg.strip())
    if not m:
        return None
    who = m.group("who").strip().strip('"')
    perm = m.group("perm")
    tokens = [t.strip().upper() for g in _PERM_GROUP.findall(perm) for t in g.split(",") if t.strip()]
    tail = _PERM_GROUP.sub("", perm)
    tokens += [t.strip().upper() for t in tail.split(",") if t.strip()]
    inheritance = [t for t in tokens if t in _INHERIT and t != "I"]
    rights = [t for t in tokens if t not in _INHERIT]
    if not who or not rights:
        return None
    if who.startswith("*S-1-") or who.startswith("*s-1-"):
        who = who[1:].upper()
    return who, rights, inheritance


def _first_unresolved(*args: Arg | None) -> Unresolved | None:
    return next((a for a in args if isinstance(a, Unresolved)), None)


def _reason(*args: Arg | None) -> str:
    found = _first_unresolved(*args)
    return found.reason if found is not None else "not stated literally"


# -- setspn, ntrights, net ---------------------------------------------------------------------


def setspn(d: Declared, at: At, args: Sequence[Arg]) -> None:
    """`setspn -S|-A SPN ACCOUNT` (also `-U`/`-C` before it): the SPN registered on the account."""
    flags = [a.casefold() for a in args if isinstance(a, str) and a[:1] in "-/"]
    rest = [a for a in args if not (isinstance(a, str) and a[:1] in "-/")]
    if not any(f[1:] in ("s", "a") for f in flags) or len(rest) < 2:
        return
    spn, account = rest[0], rest[1]
    if isinstance(spn, Unresolved) or isinstance(account, Unresolved):
        d.unresolved(at, "setspn", _reason(spn, account))
        return
    d.spn(spn, account, at)


def ntrights(d: Declared, at: At, args: Sequence[Arg]) -> None:
    """`ntrights +r RIGHT -u ACCOUNT`: the right granted (`-r` revokes: nothing is stated as held)."""
    right = account = None
    grant = False
    it = iter(args)
    for arg in it:
        word = arg.casefold() if isinstance(arg, str) else ""
        if word in ("+r", "-r"):
            grant = word == "+r"
            right = next(it, None)
        elif word == "-u":
            account = next(it, None)
    if not grant or right is None or account is None:
        return
    if isinstance(right, Unresolved) or isinstance(account, Unresolved):
        d.unresolved(at, "ntrights", _reason(right, account))
        return
    d.user_right(right, account, at)


def net(d: Declared, at: At, args: Sequence[Arg]) -> None:
    """`net user NAME PASSWORD /add [/expires:never]`, `net localgroup GROUP MEMBER /add`."""
    if not args:
        return
    sub = (text(args[0]) or "").casefold()
    words = [a for a in args[1:] if not (isinstance(a, str) and a.startswith("/"))]
    switches = {
        a[1:].split(":", 1)[0].casefold() for a in args[1:] if isinstance(a, str) and a.startswith("/")
    }
    if "domain" in switches or "delete" in switches:
        return
    if sub == "user" and "add" in switches and words:
        name = text(words[0])
        if name:
            d.local_user(name, at, password=_secret(words[1]) if len(words) > 1 else None)
    elif sub == "localgroup" and "add" in switches and len(words) >= 2:
        group = text(words[0])
        for member in words[1:]:
            if group and isinstance(member, str):
                d.group_member(group, member, at)


PROGRAMS: dict[str, Callable[[Declared, At, Sequence[Arg]], None]] = {
    "appcmd": appcmd,
    "icacls": icacls,
    "setspn": setspn,
    "ntrights": ntrights,
    "net": net,
    "net1": net,
}
