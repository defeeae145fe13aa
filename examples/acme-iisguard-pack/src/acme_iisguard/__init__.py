"""ACME Corp's iisguard rule pack: the hooks iisguard calls, and nothing else.

iisguard loads this module through the ``iisguard`` entry point declared in pyproject.toml, asks
``iisguard_pack_info`` for the pack's id prefix (every rule id must start with it) and
``iisguard_register_rules`` for the rules themselves.
"""

from __future__ import annotations

from iisguard import hookimpl

from .rules import RULES

__version__ = "1.0.0"


@hookimpl
def iisguard_pack_info():
    return {"prefixes": ["ACME-"], "description": "ACME Corp: HTTPS-only sites, managed accounts for pools"}


@hookimpl
def iisguard_register_rules():
    return RULES
