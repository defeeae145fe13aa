"""The junit reporter (placeholder until it is built)."""

from __future__ import annotations

from ..plugins import hookimpl


@hookimpl
def iisguard_register_reporters():
    return {}
