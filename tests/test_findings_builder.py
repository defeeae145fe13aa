"""Finding, Result and Evidence set their slots through a hand-written __init__ (engine/findings.py, for speed):
it must build exactly what the dataclass's generated __init__ builds, for every field, and stay frozen."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from iisguard.engine.findings import Evidence, Finding, Outcome, Result, Severity, Waiver


def generated(cls: type) -> type:
    """The same fields as a plain frozen dataclass: its __init__ is the one dataclasses writes."""
    spec = [(f.name, f.type, f) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(f"Reference{cls.__name__}", spec, frozen=True)


@pytest.mark.parametrize("cls", [Finding, Result, Evidence])
def test_the_init_takes_every_field_in_order_with_its_default(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    ref = list(inspect.signature(generated(cls).__init__).parameters.values())[1:]
    assert [p.name for p in params] == [f.name for f in dataclasses.fields(cls)]
    for mine, theirs in zip(params, ref, strict=True):
        if theirs.default is not inspect.Parameter.empty and mine.name != "properties":
            assert mine.default == theirs.default, mine.name


FINDING_ARGS = [
    dict(
        rule_id="IIS-X-1",
        severity=Severity.HIGH,
        outcome=Outcome.FAIL,
        host="WEB01",
        resource="r",
        message="m",
    ),
    dict(
        rule_id="IIS-X-2",
        severity=Severity.LOW,
        outcome=Outcome.PASS,
        host="h",
        resource="acls/D:\\x",
        message="",
        pack="p",
        pointer="/acls/3",
        evidence=Evidence("a.txt", 4),
        snapshot_path="s.json",
        properties={"k": [1]},
        waiver=Waiver("why", "me", "2027-01-01"),
        baseline_state="new",
        location=("s.json", 9),
    ),
]
RESULT_ARGS = [
    dict(outcome=Outcome.PASS, resource="r"),
    dict(
        outcome=Outcome.FAIL,
        resource="r",
        message="m",
        at={"a": 1},
        properties={"severity": "high"},
        pointer="/x/1",
    ),
]


@pytest.mark.parametrize(
    ("cls", "args"),
    [(Finding, a) for a in FINDING_ARGS]
    + [(Result, a) for a in RESULT_ARGS]
    + [(Evidence, {"artifact": "iis/applicationHost.config"}), (Evidence, {"artifact": "a.txt", "line": 7})],
)
def test_builds_what_the_generated_init_builds(cls, args):
    mine, ref = cls(**args), generated(cls)(**args)
    assert dataclasses.astuple(mine) == dataclasses.astuple(ref)
    positional = cls(*args.values())
    assert positional == mine
    assert pickle.loads(pickle.dumps(mine)) == mine
    name = "artifact" if cls is Evidence else "resource"
    assert getattr(dataclasses.replace(mine, **{name: "other"}), name) == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(mine, name, "changed")


def test_defaults_are_fresh_per_instance():
    a = Finding("R", Severity.INFO, Outcome.PASS, "h", "r", "m")
    b = Finding("R", Severity.INFO, Outcome.PASS, "h", "r", "m")
    assert a.properties == {} and a.properties is not b.properties
    assert Result(Outcome.PASS, "r").properties == {}


@pytest.mark.parametrize("enum", [Outcome, Severity])
def test_enum_members_hash_by_identity_and_still_equal_only_themselves(enum):
    """Outcome and Severity hash by identity (Enum's name hash runs Python code per dict lookup)."""
    table = {member: member.value for member in enum}
    for member in enum:
        assert table[member] == member.value and hash(member) == object.__hash__(member)
        assert member == enum(member.value) and member != member.value
        assert pickle.loads(pickle.dumps(member)) is member
    assert len(set(enum) | set(enum)) == len(enum)


def test_drafted_findings_and_results_are_the_frozen_classes_themselves():
    """The engine builds findings (engine/evaluate.py _findings) and the result helpers build results
    (findings._result, passed) as drafts that become the frozen class: nothing may tell them apart."""
    from iisguard.engine.evaluate import Selected, evaluate
    from iisguard.engine.findings import _result, fail, passed
    from iisguard.engine.rule import Rule
    from iisguard.model.snapshot import Snapshot

    def rule_func(snapshot, parameters):
        yield fail("r", "bad", pointer="/x/1", severity="critical", why="it is")

    rule = Rule(
        id="IIS-T-1", name="t", title="t", severity=Severity.HIGH, description="d", rationale="r",
        remediation="m", func=rule_func, pack="p",
    )  # fmt: skip
    snap = Snapshot({"schema_version": "1.0", "host": {"name": "H"}}, path="s.json")
    (drafted,) = evaluate(snap, [Selected(rule, rule.severity, {})]).findings
    called = Finding(**{f.name: getattr(drafted, f.name) for f in dataclasses.fields(Finding)})
    assert (drafted.rule_id, drafted.severity, drafted.pointer, drafted.properties) == (
        "IIS-T-1",
        Severity.CRITICAL,
        "/x/1",
        {"severity": "critical", "why": "it is"},
    )
    assert type(drafted) is Finding and drafted == called
    assert dataclasses.astuple(drafted) == dataclasses.astuple(called)
    assert pickle.loads(pickle.dumps(drafted)) == drafted
    assert dataclasses.replace(drafted, waiver=Waiver("w", "o", "2030-01-01")).waiver.owner == "o"
    with pytest.raises(dataclasses.FrozenInstanceError):
        drafted.message = "changed"  # type: ignore[misc]
    assert not hasattr(drafted, "__dict__")
    r = _result(Outcome.FAIL, "r", "m", {"a": 1}, {"severity": "high"}, "/x/1")
    assert type(r) is Result and r == Result(Outcome.FAIL, "r", "m", {"a": 1}, {"severity": "high"}, "/x/1")
    assert passed("r", "ok") == Result(Outcome.PASS, "r", "ok")
    assert passed("r").properties == {} and passed("r").properties is not passed("r").properties
    assert fail("r", "bad", at={"x": 1}, severity="high") == Result(
        Outcome.FAIL, "r", "bad", {"x": 1}, {"severity": "high"}
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.outcome = Outcome.PASS  # type: ignore[misc]


@pytest.mark.parametrize(
    ("result", "crash"),
    [
        (lambda: __import__("iisguard").fail("r", "bad", at="not an object"), "AttributeError"),
        (lambda: __import__("iisguard").fail("r", "bad", severity="urgent"), "ValueError"),
    ],
)
def test_a_result_the_engine_cannot_build_is_that_rules_error(result, crash):
    """Results become findings after the rule's loop (engine/evaluate.py _findings); one that cannot is
    still the rule's `error` finding, as a crash inside the rule is, never a crash of the scan."""
    from iisguard.engine.evaluate import Selected, evaluate
    from iisguard.engine.rule import Rule
    from iisguard.model.snapshot import Snapshot

    def rule_func(snapshot, parameters):
        yield __import__("iisguard").passed("fine", "ok", at={"x": 1})
        yield result()

    rule = Rule(
        id="IIS-T-1", name="t", title="t", severity=Severity.HIGH, description="d", rationale="r",
        remediation="m", func=rule_func,
    )  # fmt: skip
    found = evaluate(
        Snapshot({"schema_version": "1.0", "host": {"name": "H"}}), [Selected(rule, rule.severity, {})]
    )
    assert [(f.outcome, f.resource) for f in found.findings] == [(Outcome.ERROR, "host")]
    assert found.findings[0].message.startswith(f"rule crashed: {crash}: ")


@pytest.mark.parametrize("pass_details", [True, False])
def test_findings_where_drafts_are_refused_are_the_same(monkeypatch, pass_details):
    """engine/evaluate.py _findings fills drafts inline; where an interpreter refuses drafts
    (iisguard.drafts) it fills editable objects and rebuilds them: the same findings, pointers too."""
    import iisguard
    from iisguard.engine import evaluate

    from .conftest import FIXTURES

    host = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"
    drafted = list(iisguard.scan(host, jobs=1, pass_details=pass_details).findings())
    monkeypatch.setattr(evaluate, "_FINDING_DRAFT", None)
    rebuilt = list(iisguard.scan(host, jobs=1, pass_details=pass_details).findings())
    assert rebuilt == drafted and all(type(f) is Finding for f in rebuilt)
    assert sum(1 for f in rebuilt if f.pointer) > 50  # pointers found for the rebuilt findings
