"""`iisguard scan` end to end: exit codes, several formats in one run, errors that name the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

from iisguard.cli import main

from .conftest import FIXTURES, ROOT

GOLDEN = FIXTURES / "hosts" / "demo-golden"
MISCONFIGURED = FIXTURES / "hosts" / "demo-misconfigured"
STARTER = ["IIS-POOL-001", "IIS-POOL-004", "IIS-ANON-001", "IIS-PRIV-002", "IIS-ACL-003", "IIS-CRED-001"]


def test_misconfigured_host_fails_every_starter_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "scan",
            str(MISCONFIGURED),
            "--format",
            "json:out.json",
            "--format",
            "sarif:out.sarif",
            "--format",
            "junit:out.xml",
        ]
    )
    assert code == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    failed = {f["rule_id"] for f in doc["findings"] if f["outcome"] == "fail"}
    assert set(STARTER) <= failed
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert {r["ruleId"] for run in sarif["runs"] for r in run["results"]} >= set(STARTER)
    ET.parse(tmp_path / "out.xml")


def test_golden_host_is_clean_at_medium(capsys):
    assert main(["scan", str(GOLDEN)]) == 0
    out = capsys.readouterr().out
    assert "WEB-GOLDEN" in out


def test_fail_on_never_reports_without_gating(capsys):
    assert main(["scan", str(MISCONFIGURED), "--fail-on", "never"]) == 0
    assert "IIS-POOL-001" in capsys.readouterr().out


def test_fail_on_critical_ignores_lower_failures(tmp_path):
    out = tmp_path / "f.json"
    code = main(
        [
            "scan",
            str(MISCONFIGURED),
            "--rule",
            "IIS-POOL-004",
            "--fail-on",
            "critical",
            "--format",
            f"json:{out}",
        ]
    )
    assert code == 0
    assert any(f["outcome"] == "fail" for f in json.loads(out.read_text())["findings"])


def test_missing_malformed_and_unknown_version_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "1.0", ')
    future = tmp_path / "future.json"
    future.write_text('{"schema_version": "7.0", "host": {"name": "X"}, "collection": {"source": "import"}}')
    for path, words in (
        (tmp_path / "missing.json", "no such file"),
        (bad, "not valid JSON"),
        (future, "not supported"),
    ):
        assert main(["scan", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert str(path) in err[0] and words in err[0]


def test_unknown_format_and_rule_are_usage_errors(capsys):
    assert main(["scan", str(GOLDEN), "--format", "pdf"]) == 2
    assert "unknown format 'pdf'" in capsys.readouterr().err
    assert main(["scan", str(GOLDEN), "--rule", "IIS-NOPE-*"]) == 2


CRASHING_PACK = textwrap.dedent(
    """
    from iisguard import hookimpl, rule, passed

    @rule(id="ACME-HOST-001", name="acme.crash", title="Crashes", severity="high",
          description="d", rationale="r", remediation="Set-Nothing")
    def crashes(snap, params):
        yield passed("host")
        raise RuntimeError("boom in rule")

    @hookimpl
    def iisguard_register_rules():
        return [crashes]
    """
)


def test_rule_crash_is_an_error_outcome_and_exit_3(tmp_path, monkeypatch):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "crash.py").write_text(CRASHING_PACK)
    monkeypatch.chdir(tmp_path)
    args = ["scan", str(GOLDEN), "--rules-dir", str(rules_dir)]
    code = main(
        [
            *args,
            "--include-passes",
            "--format",
            "json:o.json",
            "--format",
            "sarif:o.sarif",
            "--format",
            "junit:o.xml",
            "--format",
            "text:o.txt",
        ]
    )
    assert code == 3
    doc = json.loads((tmp_path / "o.json").read_text())
    crash = [f for f in doc["findings"] if f["rule_id"] == "ACME-HOST-001"]
    assert [f["outcome"] for f in crash] == ["error"]
    assert "boom in rule" in crash[0]["message"]
    assert any(f["outcome"] == "pass" for f in doc["findings"] if f["rule_id"] != "ACME-HOST-001")
    sarif = json.loads((tmp_path / "o.sarif").read_text())
    inv = sarif["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert any("boom in rule" in n["message"]["text"] for n in inv["toolExecutionNotifications"])
    assert "<error" in (tmp_path / "o.xml").read_text()
    assert "boom in rule" in (tmp_path / "o.txt").read_text()
    # --strict stops at the crash, exit 3 as documented (not 1, the "findings" code).
    assert main([*args, "--strict"]) == 3


def test_outputs_are_written_atomically(tmp_path, monkeypatch):
    """An interrupted run leaves the previous report in place, never half a file."""
    target = tmp_path / "out.sarif"
    target.write_text("previous report")
    import iisguard.atomic as atomic

    def exploding_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", exploding_replace)
    assert main(["scan", str(GOLDEN), "--format", f"sarif:{target}"]) == 130
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["out.sarif"]


def test_python_dash_m_and_help_document_exit_codes():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "core"))
    proc = subprocess.run(
        [sys.executable, "-m", "iisguard", "scan", "--help"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0
    assert "exit codes:" in proc.stdout and "--fail-on" in proc.stdout
