"""A rule pack whose import fails, as it would when a dependency is missing on the scanning machine."""

from __future__ import annotations

import acme_internal_sdk  # noqa: F401 - deliberately not installed anywhere

from iisguard import hookimpl


@hookimpl
def iisguard_register_rules():
    return []
