"""The parsers an import may use: the built-in modules' PARSERS, then those that plugins register."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from ..errors import PluginError, UsageError

log = logging.getLogger(__name__)

# One module per artifact format; each exposes PARSERS = [...]. Order breaks ties in detection.
BUILTIN_MODULES = (
    "appconfig",
    "webconfig",
    "metabase",
    "whoami",
    "icacls",
    "sddl",
    "secedit",
    "setspn",
    "ad",
    "local_accounts",
    "services",
)


def _valid(parser: Any) -> bool:
    return (
        isinstance(getattr(parser, "kind", None), str)
        and bool(parser.kind)
        and callable(getattr(parser, "detect", None))
        and callable(getattr(parser, "parse", None))
    )


def builtin_parsers() -> list[Any]:
    parsers: list[Any] = []
    for name in BUILTIN_MODULES:
        modname = f"{__package__}.{name}"
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:  # a format whose module is not part of this build
                continue
            raise
        parsers.extend(p for p in getattr(module, "PARSERS", ()) if _valid(p))
    return parsers


def all_parsers(*, plugins: bool = True) -> list[Any]:
    """Built-in parsers, then plugin parsers whose kind is new (a broken pack is logged, not fatal)."""
    parsers = builtin_parsers()
    if not plugins:
        return parsers
    from ..plugins import load_plugins

    try:
        extra = load_plugins(skip_broken=True).parsers
    except PluginError as exc:
        log.warning("plugin parsers not loaded: %s", exc)
        return parsers
    kinds = {p.kind for p in parsers}
    for parser in extra:
        if not _valid(parser):
            log.warning("plugin parser %r has no kind, detect() or parse(); ignored", parser)
        elif parser.kind in kinds:
            log.warning("plugin parser kind %r is already taken; ignored", parser.kind)
        else:
            kinds.add(parser.kind)
            parsers.append(parser)
    return parsers


def by_kind(parsers: list[Any], kind: str) -> Any:
    """The parser for a --kind value, or a UsageError listing the kinds there are."""
    for parser in parsers:
        if parser.kind == kind:
            return parser
    known = ", ".join(sorted(p.kind for p in parsers))
    raise UsageError(f"unknown --kind {kind!r}; known kinds: {known}")
