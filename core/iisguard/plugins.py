"""The plugin host: built-ins, entry points of group `iisguard` one at a time, validation of what packs return."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .capture import registry as parser_registry
from .engine.rule import Rule, validate_rule
from .errors import PluginError, describe
from .version import __version__

log = logging.getLogger(__name__)
hookimpl = hookspecs.hookimpl  # where it has always been importable from; iisguard.hookimpl is the same
GROUP = "iisguard"
# Set to 1 to load only iisguard's own packs (not third-party entry points), as pytest does.
DISABLE_AUTOLOAD_ENV = "IISGUARD_DISABLE_PLUGIN_AUTOLOAD"
TRACE_ENV = "IISGUARD_TRACE_HOOKS"
# Everything iisguard ships, registered from this one list through the same hooks a third-party pack
# implements: reporters (iisguard_register_reporters), parsers (iisguard_register_parsers, in the
# order that breaks ties in format detection) and rule packs (iisguard_register_rules). Imported by
# name, so the core never imports a pack, and a checkout run with PYTHONPATH=core:plugins has its
# rules without being installed. Third-party packs arrive through the entry-point group GROUP.
BUILTIN_REPORTERS = (
    "iisguard.report.text",
    "iisguard.report.json",
    "iisguard.report.sarif",
    "iisguard.report.junit",
    "iisguard.report.html",
    "iisguard.report.stig",
    "iisguard.report.hdf",
)
BUILTIN_PARSERS = tuple(f"iisguard.capture.{name}" for name in parser_registry.MODULES)
BUILTIN_RULE_PACKS = (
    "iisguard_builtin.acl",
    "iisguard_builtin.anon",
    "iisguard_builtin.cred",
    "iisguard_builtin.hardening_aspnet",
    "iisguard_builtin.hardening_content",
    "iisguard_builtin.hardening_exposure",
    "iisguard_builtin.hardening_filtering",
    "iisguard_builtin.hardening_logging",
    "iisguard_builtin.hardening_pools",
    "iisguard_builtin.hardening_transport",
    "iisguard_builtin.host",
    "iisguard_builtin.krb",
    "iisguard_builtin.pool",
    "iisguard_builtin.priv",
    "iisguard_builtin.tls",
    "iisguard_builtin.features",
    "iisguard_builtin.script",
)
BUILTIN_MODULES = BUILTIN_REPORTERS + BUILTIN_PARSERS + BUILTIN_RULE_PACKS


@dataclass
class Pack:
    """A loaded (or broken) plugin and what it provides."""

    name: str
    version: str
    module: str
    builtin: bool = False
    error: str | None = None
    description: str = ""
    prefixes: tuple[str, ...] = ()
    rules: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    parsers: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "builtin": self.builtin,
            "status": "broken" if self.error else "loaded",
            "error": self.error,
            "description": self.description,
            "rules": self.rules,
            "reporters": self.reporters,
            "parsers": self.parsers,
        }


@dataclass
class Plugins:
    """Everything the loaded packs provide, validated."""

    pm: pluggy.PluginManager
    packs: list[Pack]
    rules: dict[str, Rule]
    reporters: dict[str, Any]
    parsers: list[Any]
    # The load_plugins() arguments these came from: how a worker process loads the same packs.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def broken(self) -> list[Pack]:
        return [p for p in self.packs if p.error]


def get_plugin_manager(
    *,
    plugins: Iterable[Any] = (),
    rules_dirs: Iterable[str | os.PathLike[str]] = (),
    entry_points: bool = True,
    builtin_rules: bool = True,
    builtin_parsers: bool = True,
) -> tuple[pluggy.PluginManager, list[Pack]]:
    """A fresh plugin manager: specs, built-ins, entry points one at a time, extra plugins, check_pending()."""
    pm = pluggy.PluginManager("iisguard")
    pm.add_hookspecs(hookspecs)
    packs: list[Pack] = []
    builtin = BUILTIN_REPORTERS + (BUILTIN_PARSERS if builtin_parsers else ())
    for modname in builtin + (BUILTIN_RULE_PACKS if builtin_rules else ()):
        own = Pack(modname.rsplit(".", 1)[-1], __version__, modname, builtin=True)
        try:
            pm.register(importlib.import_module(modname), name=modname)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported like a broken third-party pack
            own.error = describe(exc)
        packs.append(own)
    if entry_points:
        packs.extend(_load_entry_points(pm))
    for directory in rules_dirs:
        packs.extend(_load_rules_dir(pm, Path(directory)))
    for i, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{i}"
        pm.register(plugin, name=name)
        packs.append(Pack(name, getattr(plugin, "__version__", "0"), name))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_name = pm.get_name(exc.plugin) or "?"
        pack = next((p for p in packs if p.module == plugin_name or p.name == plugin_name), None)
        label = pack.label if pack else plugin_name
        raise PluginError(f"{label}: {exc}") from None
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    return pm, packs


def _load_entry_points(pm: pluggy.PluginManager) -> list[Pack]:
    packs = []
    only_own = os.environ.get(DISABLE_AUTOLOAD_ENV, "") not in ("", "0")
    seen: set[tuple[str, str]] = set()
    for ep in sorted(
        metadata.entry_points(group=GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name)
    ):
        dist = ep.dist.name if ep.dist else "?"
        if (dist, ep.name) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((dist, ep.name))
        # iisguard's own modules come from BUILTIN_MODULES (an older install may still list them here).
        if dist == "iisguard" or only_own:
            continue
        version = ep.dist.version if ep.dist else "?"
        name = ep.name if pm.get_plugin(ep.name) is None else f"{dist}:{ep.name}"
        pack = Pack(name, version, ep.value)
        try:
            plugin = ep.load()
            pm.register(plugin, name=name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken pack is reported, not fatal here
            pack.error = describe(exc)
        packs.append(pack)
    return packs


def _load_rules_dir(pm: pluggy.PluginManager, directory: Path) -> list[Pack]:
    if not directory.is_dir():
        raise PluginError(f"--rules-dir {directory}: not a directory")
    packs = []
    for file in sorted(directory.glob("*.py")):
        if file.name.startswith("_"):
            continue
        modname = f"iisguard_rules_dir_{file.stem}"
        pack = Pack(file.stem, "local", str(file))
        try:
            spec = importlib.util.spec_from_file_location(modname, file)
            if spec is None or spec.loader is None:
                raise ImportError("cannot load as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            spec.loader.exec_module(module)
            pm.register(module, name=modname)
            pack.module = modname
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            pack.error = describe(exc)
        packs.append(pack)
    return packs


def _call(impl: Any) -> Any:
    return impl.function()


def load_plugins(
    *,
    skip_broken: bool = False,
    plugins: Iterable[Any] = (),
    rules_dirs: Iterable[str | os.PathLike[str]] = (),
    entry_points: bool = True,
    builtin_rules: bool | None = None,
    builtin_parsers: bool = True,
) -> Plugins:
    """Load and validate every pack. A broken pack raises PluginError unless `skip_broken`.

    iisguard's reporters are always there, and its parsers unless `builtin_parsers=False` (what a scan of
    snapshots loads: parsers serve imports, and their modules were a fifth of the program's start; packs'
    own parsers still come with their packs). `entry_points=False` loads no installed third-party pack;
    `builtin_rules` (default: as `entry_points`) says whether iisguard's own rule packs are loaded, so
    ``load_plugins(plugins=[my_pack], entry_points=False)`` has my_pack's rules only.
    """
    plugins, rules_dirs = list(plugins), list(rules_dirs)  # iterated twice: here and in `options`
    if builtin_rules is None:
        builtin_rules = entry_points
    pm, packs = get_plugin_manager(
        plugins=plugins,
        rules_dirs=rules_dirs,
        entry_points=entry_points,
        builtin_rules=builtin_rules,
        builtin_parsers=builtin_parsers,
    )
    broken = [p for p in packs if p.error]
    if broken and not skip_broken:
        lines = "; ".join(f"{p.label}: {p.error}" for p in broken)
        raise PluginError(f"rule pack failed to load: {lines} (use --skip-broken-plugins to scan without it)")
    by_module = {p.module: p for p in packs}
    by_name = {p.name: p for p in packs}

    def pack_of(impl: Any) -> Pack:
        return (
            by_module.get(impl.plugin_name)
            or by_name.get(impl.plugin_name)
            or Pack(impl.plugin_name, "?", "?")
        )

    for impl in pm.hook.iisguard_pack_info.get_hookimpls():
        pack = pack_of(impl)
        info = _safe(pack, "iisguard_pack_info", impl) or {}
        pack.prefixes = tuple(info.get("prefixes") or ())
        pack.description = str(info.get("description") or "")

    rules: dict[str, Rule] = {}
    problems: list[str] = []
    for impl in reversed(pm.hook.iisguard_register_rules.get_hookimpls()):
        pack = pack_of(impl)
        for r in _safe(pack, "iisguard_register_rules", impl) or ():
            issues = validate_rule(r, pack.label, pack.prefixes)
            if not issues and r.id.startswith("IIS-") and not pack.builtin:
                issues = [f"rule id {r.id!r} uses the IIS- prefix reserved for built-in packs"]
            if not issues and r.id in rules:
                issues = [f"rule id {r.id} is already registered by {rules[r.id].pack}"]
            if issues:
                problems.extend(f"{pack.label}: {i}" for i in issues)
                continue
            r = _with_pack(r, pack.name)
            rules[r.id] = r
            pack.rules.append(r.id)
    reporters: dict[str, Any] = {}
    for impl in pm.hook.iisguard_register_reporters.get_hookimpls():
        pack = pack_of(impl)
        for fmt, reporter in (_safe(pack, "iisguard_register_reporters", impl) or {}).items():
            if fmt in reporters:
                problems.append(f"{pack.label}: output format {fmt!r} is already registered")
                continue
            reporters[fmt] = reporter
            pack.reporters.append(fmt)
    parsers: list[Any] = []
    kinds: set[str] = set()
    for impl in pm.hook.iisguard_register_parsers.get_hookimpls():
        pack = pack_of(impl)
        for parser in _safe(pack, "iisguard_register_parsers", impl) or ():
            # A parser only matters to imports: a bad one is left out with a warning, not fatal to a scan.
            if not parser_registry.valid(parser):
                log.warning("%s: parser %r has no kind, detect() or parse(); ignored", pack.label, parser)
            elif parser.kind in kinds:
                log.warning("%s: parser kind %r is already taken; ignored", pack.label, parser.kind)
            else:
                kinds.add(parser.kind)
                parsers.append(parser)
                pack.parsers.append(parser.kind)
    if problems:
        raise PluginError("invalid rule pack: " + "; ".join(problems))
    options = {
        "skip_broken": skip_broken,
        "plugins": tuple(plugins),
        "rules_dirs": tuple(str(d) for d in rules_dirs),
        "entry_points": entry_points,
        "builtin_rules": builtin_rules,
        "builtin_parsers": builtin_parsers,
    }
    return Plugins(pm, packs, dict(sorted(rules.items())), reporters, parsers, options)


def import_parsers(*, rules_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[Any]:
    """The parsers `iisguard import` and collection use: built-in, then every pack's.

    A pack that is broken or invalid costs only its own parsers (logged): an import must not fail
    because of a rule pack.
    """
    try:
        return load_plugins(skip_broken=True, rules_dirs=rules_dirs).parsers
    except PluginError as exc:
        log.warning("plugin parsers not loaded: %s", exc)
        return parser_registry.builtin_parsers()


def _with_pack(r: Rule, pack: str) -> Rule:
    from dataclasses import replace

    return replace(r, pack=pack)


def _safe(pack: Pack, hook: str, impl: Any) -> Any:
    try:
        result = _call(impl)
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise PluginError(f"{pack.label}: {hook} raised {describe(exc)}") from None
    if hook in ("iisguard_register_rules", "iisguard_register_parsers") and result is not None:
        if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
            raise PluginError(f"{pack.label}: {hook} must return a list, got {type(result).__name__}")
        return list(result)
    if hook == "iisguard_register_reporters" and result is not None and not isinstance(result, Mapping):
        raise PluginError(f"{pack.label}: {hook} must return a mapping, got {type(result).__name__}")
    return result
