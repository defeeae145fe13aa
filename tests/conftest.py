"""Shared test helpers: fresh plugin managers and the repository layout."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SAMPLES = ROOT.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def builtin_plugins():
    """All installed packs, loaded once per session (rules are pure, so sharing them is safe)."""
    from iisguard.plugins import load_plugins

    return load_plugins()


@pytest.fixture(scope="session")
def builtin_rules(builtin_plugins):
    return builtin_plugins.rules
