"""One snapshot's rules shared out among forked processes (engine/split.py, `scan --jobs N` on one
file): the same findings in the same order as one process, a child that dies redone in the parent,
and the default for one large file."""

from __future__ import annotations

import os
import signal

import pytest

from iisguard import forked, pipeline
from iisguard.engine.evaluate import Selected, evaluate
from iisguard.engine.findings import Outcome, Severity, fail, passed
from iisguard.engine.rule import Rule
from iisguard.model.snapshot import load

from .conftest import FIXTURES

HOST = FIXTURES / "hosts" / "demo-misconfigured" / "snapshot.json"


def findings(report):
    return [f for h in report.hosts for f in h.findings]


@pytest.fixture
def forks(monkeypatch):
    """The pids of the processes forked while a test runs."""
    started = []
    real_fork = os.fork

    def recording_fork():
        pid = real_fork()
        if pid:
            started.append(pid)
        return pid

    monkeypatch.setattr(forked.os, "fork", recording_fork)
    return started


@pytest.mark.parametrize("jobs", [2, 3, 7])
def test_shared_out_rules_give_the_findings_one_process_gives(jobs, forks):
    one = findings(pipeline.scan(HOST, jobs=1, fail_on=None))
    assert not forks
    many = findings(pipeline.scan(HOST, jobs=jobs, fail_on=None))
    assert len(forks) == jobs - 1  # the shares really went to other processes
    assert many == one  # every field (pointers, evidence, properties), in the same order
    assert {f.outcome for f in one} >= {Outcome.PASS, Outcome.FAIL}


def _rule(rule_id, func):
    return Rule(
        id=rule_id,
        name=f"test.{rule_id.lower()}",
        title=rule_id,
        severity=Severity.HIGH,
        description="",
        rationale="",
        remediation="",
        func=func,
        pack="test",
    )


def test_a_child_that_dies_is_redone_here():
    parent = os.getpid()

    def dies_in_a_child(snap, params):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
        yield fail("host", "judged in the parent")

    def fine(snap, params):
        yield passed("host", "ok", at=snap.data["iis"]["app_pools"][0])

    rules = [_rule("T-1", fine), _rule("T-2", dies_in_a_child), _rule("T-3", fine)]
    selected = [Selected(r, r.severity, {}) for r in rules]
    snap = load(HOST)
    got = evaluate(snap, selected, workers=2).findings
    assert [(f.rule_id, f.outcome, f.message) for f in got] == [
        ("T-1", Outcome.PASS, "ok"),
        ("T-2", Outcome.FAIL, "judged in the parent"),
        ("T-3", Outcome.PASS, "ok"),
    ]
    assert got[0].pointer == "/iis/app_pools/0" == got[2].pointer
    assert got == evaluate(snap, selected).findings


def test_strict_raises_from_the_share_that_crashed():
    def crashes(snap, params):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    rules = [_rule("T-1", crashes), _rule("T-2", crashes)]
    selected = [Selected(r, r.severity, {}) for r in rules]
    snap = load(HOST)
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(snap, selected, workers=2, strict=True)
    got = evaluate(snap, selected, workers=2).findings  # not strict: an error finding per rule
    assert [(f.rule_id, f.outcome) for f in got] == [("T-1", Outcome.ERROR), ("T-2", Outcome.ERROR)]


def test_without_fork_the_rules_run_here(monkeypatch):
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    monkeypatch.setattr(forked.os, "fork", lambda: pytest.fail("forked"))
    assert findings(pipeline.scan(HOST, jobs=3, fail_on=None)) == findings(pipeline.scan(HOST, fail_on=None))


def test_one_snapshot_is_one_process_by_default(forks):
    # Measured on the 5,000-site host (benchmarks/RESULTS.md): two processes saved 7% of the wall
    # time for 26% more CPU and 38% more memory, so sharing out is asked for (--jobs N), not default.
    assert findings(pipeline.scan(HOST, fail_on=None))
    assert not forks


def test_forked_map_keeps_order_and_redoes_what_a_child_failed():
    parent = os.getpid()

    def square(n):
        if n == 4 and os.getpid() != parent:
            raise ValueError("only in a child")
        return n * n

    assert forked.forked_map(square, list(range(9)), workers=3) == [n * n for n in range(9)]
    assert forked.forked_map(square, [], workers=3) == []
    seen = []
    items = list(range(1, 40))
    got = forked.forked_map(square, items, workers=3, here=lambda n: seen.append(n) or -n)
    # `here` for what this process took (and what a child failed at), `func` for the children's:
    # every item exactly once, in order
    assert got == [-n if n in seen else n * n for n in items]
    assert len(seen) == len(set(seen)) and 4 in seen


def test_forked_map_shares_the_items_out():
    import time

    def slow(n):
        time.sleep(0.02)  # long enough that every process gets items
        return n * n

    seen = []
    items = list(range(30))
    got = forked.forked_map(
        slow,
        items,
        workers=3,
        here=lambda n: seen.append(n) or slow(n),
        send=str,
        receive=lambda s: int(s) + 1000,
    )
    mine = set(seen)
    assert got == [n * n if n in mine else n * n + 1000 for n in items]  # children's sent and received
    assert 0 < len(mine) < len(items)


def test_an_exception_here_stops_the_children(forks):
    started = forks

    def slow_or_boom(n):
        if n == 0:
            raise KeyError("here")
        import time

        time.sleep(60)  # a child that would outlive the error

    with pytest.raises(KeyError):
        forked.forked_map(slow_or_boom, [0, 1], workers=2)
    assert started
    for pid in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # killed and reaped, not left running


def test_a_threaded_program_is_not_forked():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.can_fork()
        assert forked.forked_map(lambda n: (n, os.getpid()), [1, 2, 3], workers=3) == [
            (n, os.getpid()) for n in (1, 2, 3)
        ]
    finally:
        stop.set()
        thread.join()
    assert forked.can_fork()


def test_prepare_builds_the_shared_indexes_once_and_changes_no_finding():
    cold = load(HOST)
    warm = load(HOST)
    warm.prepare({"acls", "iis", "principals"})
    assert len(warm._memo["write_grants_by_path"]) == len(warm.acls_by_path) > 0
    assert "acls_by_path" in vars(warm) and "locations" in vars(warm) and "accounts" in vars(warm)
    assert "acls_by_path" not in vars(cold)
    rules = pipeline.scan(HOST, fail_on=None)
    assert findings(pipeline.scan(warm, fail_on=None)) == findings(rules)
