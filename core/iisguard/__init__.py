"""iisguard: a policy-as-code compliance scanner for the identities Microsoft IIS servers run under.

The public API for rule-pack authors is what this module exports; nothing deeper is promised.
"""

from __future__ import annotations

from .engine import compliance
from .engine.findings import (
    Evidence,
    Finding,
    Outcome,
    Result,
    Severity,
    fail,
    not_applicable,
    not_reviewed,
    passed,
)
from .engine.rule import Parameter, Reference, Rule, rule
from .errors import (
    CaptureError,
    CollectionError,
    IisguardError,
    PluginError,
    PolicyError,
    SnapshotError,
    UsageError,
)
from .model import identities, sids, uac
from .model.snapshot import Snapshot
from .plugins import hookimpl

try:
    from importlib.metadata import version as _version

    __version__ = _version("iisguard")
except Exception:  # pragma: no cover - running from a checkout without installing
    __version__ = "0+unknown"

__all__ = [
    "CaptureError",
    "CollectionError",
    "Evidence",
    "Finding",
    "IisguardError",
    "Outcome",
    "Parameter",
    "PluginError",
    "PolicyError",
    "Reference",
    "Result",
    "Rule",
    "Severity",
    "Snapshot",
    "SnapshotError",
    "UsageError",
    "compliance",
    "fail",
    "hookimpl",
    "identities",
    "not_applicable",
    "not_reviewed",
    "passed",
    "rule",
    "sids",
    "uac",
    "__version__",
]
