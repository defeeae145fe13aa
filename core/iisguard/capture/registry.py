"""The parser modules iisguard ships, and the built-in parsers without a plugin manager.

Each module implements ``iisguard_register_parsers`` like any pack; ``iisguard.plugins`` registers
them all (``BUILTIN_PARSERS``) and hands imports every pack's parsers. This layer never loads
plugins itself: an import receives its parsers (``plugins.import_parsers()``), and falls back to
``builtin_parsers()`` when given none.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import UsageError

# One module per artifact format. Order breaks ties in detection.
MODULES = (
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
    "regquery",
    "features",
    # Build scripts (declared snapshots, capture/scripts/): last, so a capture wins a tie.
    "scripts.powershell",
    "scripts.batch",
    "scripts.ansible",
    "scripts.dsc",
)


def valid(parser: Any) -> bool:
    """Has what import needs: a non-empty string kind, detect() and parse()."""
    return (
        isinstance(getattr(parser, "kind", None), str)
        and bool(parser.kind)
        and callable(getattr(parser, "detect", None))
        and callable(getattr(parser, "parse", None))
    )


def builtin_parsers() -> list[Any]:
    """The built-in parsers in MODULES order, from each module's registration hook (what the plugin host gets)."""
    parsers: list[Any] = []
    for name in MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        parsers.extend(module.iisguard_register_parsers())
    return parsers


def by_kind(parsers: list[Any], kind: str) -> Any:
    """The parser for a --kind value, or a UsageError listing the kinds there are."""
    for parser in parsers:
        if parser.kind == kind:
            return parser
    known = ", ".join(sorted(p.kind for p in parsers))
    raise UsageError(f"unknown --kind {kind!r}; known kinds: {known}")
