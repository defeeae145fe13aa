"""The engine's fast constructors build exactly what the dataclasses' own constructors build."""

from __future__ import annotations

from dataclasses import fields

from iisguard.engine.findings import (
    Evidence,
    Finding,
    Outcome,
    Result,
    Severity,
    fail,
    make_finding,
    not_applicable,
    not_reviewed,
    passed,
)


def test_make_finding_is_the_dataclass_constructor():
    args = (
        "IIS-X-001",
        Severity.HIGH,
        Outcome.FAIL,
        "WEB01",
        "app_pools/A",
        "msg",
        "pack",
        "/iis/app_pools/0",
        Evidence("applicationHost.config", 12),
        "snap.json",
        {"k": 1},
    )
    fast, slow = make_finding(*args), Finding(*args)
    assert fast == slow and vars(fast) == vars(slow)
    assert set(vars(fast)) == {f.name for f in fields(Finding)}  # defaults included
    assert fast.fingerprint == slow.fingerprint and fast.waiver is None and fast.location is None


def test_result_helpers_are_the_dataclass_constructor():
    at = {"name": "A"}
    assert passed("r", "ok", at=at) == Result(Outcome.PASS, "r", "ok", at)
    assert not_applicable("r") == Result(Outcome.NOT_APPLICABLE, "r", "")
    assert not_reviewed("r", "why") == Result(Outcome.NOT_REVIEWED, "r", "why")
    f = fail("r", "bad", at=at, pointer="/x/1", severity="high")
    assert f == Result(Outcome.FAIL, "r", "bad", at, {"severity": "high"}, "/x/1")
    a, b = passed("r"), passed("r")
    assert a.properties == {} and a.properties is not b.properties  # a fresh default each time
    assert set(vars(a)) == {f.name for f in fields(Result)}
