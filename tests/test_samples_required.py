"""The tests that read ../shared/samples are required where CI=true, and skip with their reason elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT


def run_sample_tests(tmp_path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    env["IISGUARD_SAMPLES"] = str(tmp_path / "no-samples-here")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/test_import_appconfig.py", "-k", "sample"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_missing_samples_fail_under_ci(tmp_path):
    result = run_sample_tests(tmp_path, "true")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "CI=true requires them" in result.stdout
    assert " passed" not in result.stdout  # each sample test errors at the fixture


def test_missing_samples_skip_with_their_reason_elsewhere(tmp_path):
    result = run_sample_tests(tmp_path, None)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "SKIPPED" in result.stdout and "third-party samples live beside the clone" in result.stdout
    assert " passed" not in result.stdout and " failed" not in result.stdout
