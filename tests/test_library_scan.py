"""`iisguard.scan(...)`: the scan pipeline as a library call, the same report the command line writes."""

from __future__ import annotations

import json
from datetime import date

import pytest

import iisguard
from iisguard.cli import main
from iisguard.engine.findings import Outcome
from iisguard.model import snapshot as snapmod

from .conftest import FIXTURES
from .policy_support import TESTPACK

MISCONFIGURED = FIXTURES / "hosts" / "demo-misconfigured"
GOLDEN = FIXTURES / "hosts" / "demo-golden"


def host_name(folder) -> str:
    return json.loads((folder / "snapshot.json").read_text())["host"]["name"]


def comparable(text: str) -> dict:
    doc = json.loads(text)
    doc.pop("generated_at", None)
    for host in doc["hosts"]:
        host.pop("seconds", None)
    return doc


def test_the_library_report_is_the_one_the_command_line_writes(tmp_path, monkeypatch, builtin_plugins):
    monkeypatch.chdir(tmp_path)
    code = main(["scan", str(MISCONFIGURED), str(GOLDEN), "--fail-on", "high", "-f", "json:cli.json"])
    report = iisguard.scan([MISCONFIGURED, GOLDEN], fail_on="high")
    assert code == report.exit_code() == 1
    mine = builtin_plugins.reporters["json"].render(report)
    assert comparable(mine) == comparable((tmp_path / "cli.json").read_text())
    assert [h.host for h in report.hosts] == [host_name(MISCONFIGURED), host_name(GOLDEN)]
    assert any(f.outcome is Outcome.FAIL for f in report.findings())


def test_loaded_snapshots_and_paths_keep_the_callers_order(builtin_plugins):
    golden = snapmod.load(GOLDEN / "snapshot.json")
    golden.data["host"]["name"] = "IN-MEMORY"
    report = iisguard.scan([MISCONFIGURED, golden, GOLDEN], plugins=builtin_plugins, jobs=4)
    assert [h.host for h in report.hosts] == [host_name(MISCONFIGURED), "IN-MEMORY", host_name(GOLDEN)]
    assert report.hosts[1].snapshot_path == str(GOLDEN / "snapshot.json")


def test_rules_and_skip_rules_narrow_the_selection(builtin_plugins):
    report = iisguard.scan(
        GOLDEN, plugins=builtin_plugins, rules=["IIS-POOL-*"], skip_rules=["IIS-POOL-001"], fail_on=None
    )
    assert report.rules and all(r.startswith("IIS-POOL-") for r in report.rules)
    assert "IIS-POOL-001" not in report.rules
    assert {f.rule_id for f in report.findings()} <= set(report.rules)
    assert report.fail_on is None and report.exit_code() in (0, 3)


def test_a_policy_file_and_waivers_off(tmp_path, builtin_plugins):
    policy = tmp_path / "org.yaml"
    policy.write_text(
        "apiVersion: iisguard/v1\nkind: Policy\nname: org\n"
        "waivers:\n  - rule: IIS-POOL-001\n    resource: '*'\n    reason: migration (SEC-1)\n"
        "    owner: web\n    expires: 2026-03-01\n"
    )
    today = date(2026, 2, 1)  # the waiver is live on this day, whatever the clock says
    waived = iisguard.scan(
        MISCONFIGURED, plugins=builtin_plugins, policy=policy, rules=["IIS-POOL-001"], today=today
    )
    fails = [f for f in waived.findings() if f.outcome is Outcome.FAIL]
    assert fails and all(f.waiver is not None for f in fails) and not waived.gating_failures()
    audit = iisguard.scan(
        MISCONFIGURED,
        plugins=builtin_plugins,
        policy=[policy],
        rules=["IIS-POOL-001"],
        waivers=False,
        today=today,
    )
    assert audit.gating_failures() and any("waiver(s) ignored" in n.message for n in audit.notices)


def test_auto_policy_only_when_asked(tmp_path, monkeypatch, builtin_plugins):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iisguard.yaml").write_text("apiVersion: iisguard/v1\nkind: Policy\nname: here\n")
    plain = iisguard.scan(GOLDEN, plugins=builtin_plugins)
    assert not any(n.kind == "policy" for n in plain.notices)
    auto = iisguard.scan(GOLDEN, plugins=builtin_plugins, auto_policy=True)
    assert [n.message for n in auto.notices if n.kind == "policy"] == [
        f"using policy {tmp_path / 'iisguard.yaml'} found in the working directory"
    ]


def test_every_bad_file_is_named(tmp_path, builtin_plugins):
    (tmp_path / "a.json").write_text("{")
    (tmp_path / "b.json").write_text('{"schema_version": "1.0", ')
    with pytest.raises(iisguard.SnapshotError) as caught:
        iisguard.scan(tmp_path, plugins=builtin_plugins)
    assert "b.json" in str(caught.value)
    assert len(caught.value.earlier) == 1 and "a.json" in caught.value.earlier[0]


def test_nothing_to_scan_is_a_usage_error(tmp_path, builtin_plugins):
    with pytest.raises(iisguard.UsageError, match="no snapshot files"):
        iisguard.scan(tmp_path, plugins=builtin_plugins)


def test_loaded_plugins_and_loading_options_do_not_mix(builtin_plugins):
    with pytest.raises(TypeError):
        iisguard.scan(GOLDEN, plugins=builtin_plugins, skip_broken_plugins=True)


def test_a_pack_given_as_an_object_runs_with_any_number_of_jobs(tmp_path):
    """A module made at run time cannot be pickled for worker processes: it is evaluated here instead."""
    plugins = iisguard.load_plugins(plugins=[TESTPACK], entry_points=False)
    folder = tmp_path / "fleet"
    folder.mkdir()
    for n in range(3):
        data = json.loads((GOLDEN / "snapshot.json").read_text())
        data["host"]["name"] = f"H{n}"
        (folder / f"{n}.json").write_text(json.dumps(data))
    one = iisguard.scan(folder, plugins=plugins, rules=["TEST-POOL-001"], jobs=1)
    two = iisguard.scan(folder, plugins=plugins, rules=["TEST-POOL-001"], jobs=2)
    seen = [[(f.host, f.resource, f.outcome) for f in r.findings()] for r in (one, two)]
    assert seen[0] == seen[1]
    assert [h for h, _, _ in seen[0]][:: len(seen[0]) // 3] == ["H0", "H1", "H2"]
    assert {o for _, _, o in seen[0]} <= {Outcome.PASS, Outcome.FAIL} and seen[0]


def test_a_framework_is_checked_before_scanning_and_kept_on_the_report(builtin_plugins):
    report = iisguard.scan(GOLDEN, plugins=builtin_plugins, framework="cis-iis10")
    assert report.framework == "cis-iis10"
    with pytest.raises(iisguard.IisguardError, match="no-such-framework"):
        iisguard.scan(GOLDEN, plugins=builtin_plugins, framework="no-such-framework")
