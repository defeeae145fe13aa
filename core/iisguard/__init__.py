"""iisguard: a policy-as-code compliance scanner for the identities Microsoft IIS servers run under.

The public API for rule-pack authors and for programs is what this module exports; nothing
deeper is promised. ``iisguard.scan(snapshots, profile=..., policy=...)`` runs the whole scan
pipeline and returns a :class:`Report` (see :mod:`iisguard.pipeline`).
"""

from __future__ import annotations

from .engine import compliance
from .engine.evaluate import Report
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
from .pipeline import scan
from .plugins import Plugins, hookimpl, load_plugins

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
    "Plugins",
    "PolicyError",
    "Reference",
    "Report",
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
    "load_plugins",
    "not_applicable",
    "not_reviewed",
    "passed",
    "rule",
    "scan",
    "sids",
    "uac",
    "__version__",
]
