"""Built-in rule pack: IIS-POOL-* rules (see ../shared/design/RULES.md)."""

from __future__ import annotations

from iisguard import hookimpl

RULES: list = []


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["IIS-POOL-"], "description": "Built-in IIS-POOL-* rules"}


@hookimpl
def iisguard_register_rules():
    return RULES
