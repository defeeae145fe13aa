"""Which rules run, at which severity, with which parameters."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import UsageError
from .evaluate import Selected
from .rule import Rule


def _matches(rule: Rule, pattern: str) -> bool:
    return fnmatch.fnmatchcase(rule.id, pattern.upper()) or pattern.upper() in (
        a.upper() for a in rule.aliases
    )


def select(
    rules: Mapping[str, Rule],
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    enabled: Mapping[str, bool] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Selected]:
    """Rules enabled by default (or by `enabled`), narrowed by --rule and --skip-rule globs.

    `overrides` maps a rule id to {"severity": ..., "parameters": {...}} from profiles and policies.
    """
    only, skip = list(only), list(skip)
    for pattern in [*only, *skip]:
        if not any(_matches(r, pattern) for r in rules.values()):
            raise UsageError(f"no rule matches {pattern!r} (see `iisguard rules list`)")
    chosen = []
    for rule in rules.values():
        on = (enabled or {}).get(rule.id, rule.default_enabled)
        if only:
            on = any(_matches(rule, p) for p in only)
        if any(_matches(rule, p) for p in skip):
            on = False
        if not on:
            continue
        override = (overrides or {}).get(rule.id, {})
        from .findings import Severity

        severity = Severity.parse(override.get("severity", rule.severity))
        try:
            params = rule.resolve_parameters(override.get("parameters"))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        chosen.append(Selected(rule, severity, params))
    return chosen
