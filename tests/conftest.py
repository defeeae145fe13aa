"""Shared test helpers: fresh plugin managers and the repository layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
# Third-party configuration files kept outside the repository, beside the clone (../shared/samples);
# IISGUARD_SAMPLES points elsewhere (the test of the `samples` fixture uses it).
SAMPLES = Path(os.environ.get("IISGUARD_SAMPLES") or ROOT.parent / "shared" / "samples")


@pytest.fixture(scope="session")
def samples() -> Path:
    """../shared/samples. Where CI=true (.ci/run, a CI system) a missing folder fails the test: the
    samples must be proven read. Elsewhere (a clone on its own) the test skips, saying why."""
    if SAMPLES.is_dir() and any(SAMPLES.glob("*.config")):
        return SAMPLES
    reason = (
        f"{SAMPLES} is missing or empty (third-party samples live beside the clone, in ../shared/samples)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires them")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def builtin_plugins():
    """All installed packs, loaded once per session (rules are pure, so sharing them is safe)."""
    from iisguard.plugins import load_plugins

    return load_plugins()


@pytest.fixture(scope="session")
def builtin_rules(builtin_plugins):
    return builtin_plugins.rules


class NetworkAttempt(AssertionError):
    """Raised by the `no_network` guard: something tried to open a connection or resolve a name."""


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt or name lookup fails (only `iisguard collect` may open sockets).

    Patches the socket primitives every client library ends up in (urllib, http.client, requests,
    and the Rust validator's retriever goes through our callback), and records what was attempted.
    """
    import socket

    attempts: list[str] = []

    def refuse(what: str):
        def blocked(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise NetworkAttempt(f"network access attempted: {what} {args!r}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("socket.sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    return attempts


@pytest.fixture
def loaded_snapshots(monkeypatch):
    """Weak references to every snapshot `iisguard.model.snapshot.load` returns during the test (to
    prove which ones were freed)."""
    import weakref

    from iisguard.model import snapshot as snapmod

    loaded: list[weakref.ref] = []
    real_load = snapmod.load

    def load(path, **kw):
        snap = real_load(path, **kw)
        loaded.append(weakref.ref(snap))
        return snap

    monkeypatch.setattr(snapmod, "load", load)
    return loaded
