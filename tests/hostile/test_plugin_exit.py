"""Issue #18, case 15: plugin code raising SystemExit (at import, at registration, inside a rule, in a
parser) is a broken pack: one line naming the pack, exit 2 (a plugin error), never exit 0 with no
report (a green gate). KeyboardInterrupt from plugin code still stops the run (exit 130)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ..conftest import FIXTURES
from .conftest import one_error_line

SNAPSHOT = FIXTURES / "hosts" / "iis10-default" / "snapshot.json"
PACK = """
import sys
from iisguard import hookimpl, rule, passed
{at_import}

@rule(id="ACME-HOST-001", name="acme.host", title="Host is named", severity="high",
      description="d", rationale="r", remediation="Rename-Computer")
def named(snap, params):
    {in_rule}
    yield passed("host")

@hookimpl
def iisguard_register_rules():
    {at_registration}
    return [named]
"""
WHERE = {
    "import": ("at_import", "sys.exit(0)"),
    "registration": ("at_registration", "sys.exit(0)"),
    "rule": ("in_rule", "sys.exit(0)"),
    "rule-exit-code-none": ("in_rule", "raise SystemExit"),
}


def _pack(tmp_path, **code: str):
    folder = tmp_path / "rules"
    folder.mkdir()
    fields = {"at_import": "", "in_rule": "pass", "at_registration": "pass", **code}
    (folder / "acme_exit.py").write_text(textwrap.dedent(PACK.format(**fields)))
    return folder


def _scan(tmp_path, folder, *more: str) -> subprocess.CompletedProcess:
    args = ["scan", SNAPSHOT, "--rules-dir", folder, "--format", f"json:{tmp_path / 'r.json'}", *more]
    return subprocess.run(
        [sys.executable, "-m", "iisguard", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("where", WHERE)
def test_system_exit_from_a_pack_is_a_broken_pack(tmp_path, where):
    slot, code = WHERE[where]
    proc = _scan(tmp_path, _pack(tmp_path, **{slot: code}))
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    line = one_error_line(proc.stderr)
    assert "acme_exit" in line and "SystemExit: called sys.exit(" in line, line
    assert not (tmp_path / "r.json").exists()


def test_skipping_broken_packs_names_the_one_that_exited(tmp_path):
    """--skip-broken-plugins scans without it, and says so in the report."""
    proc = _scan(
        tmp_path, _pack(tmp_path, at_import="sys.exit(0)"), "--skip-broken-plugins", "--fail-on", "never"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "acme_exit" in (tmp_path / "r.json").read_text()
        and "SystemExit" in proc.stderr + (tmp_path / "r.json").read_text()
    )


def test_keyboard_interrupt_in_a_rule_still_stops_the_run(tmp_path):
    proc = _scan(tmp_path, _pack(tmp_path, in_rule="raise KeyboardInterrupt"))
    assert proc.returncode == 130 and "iisguard: interrupted" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_a_parser_calling_exit_is_a_broken_pack(tmp_path):
    """A pack's parser (installed packs' parsers reach `iisguard import`) ending the process on a file."""
    from iisguard.capture import registry
    from iisguard.capture.importer import import_paths
    from iisguard.errors import PluginError

    class Exiting:
        kind = "acme_exit"
        sections = ()

        def detect(self, head, name):
            return 0.99 if name.endswith(".acme") else 0.0

        def parse(self, artifact, builder):
            sys.exit(0)

    (tmp_path / "x.acme").write_text("anything\n")
    with pytest.raises(PluginError) as err:
        import_paths([str(tmp_path / "x.acme")], output=str(tmp_path / "s.json"),
                     parsers=[*registry.builtin_parsers(), Exiting()])  # fmt: skip
    assert "the acme_exit parser on x.acme: SystemExit: called sys.exit(0)" in str(err.value)
    assert err.value.exit_code == 2
    assert not (tmp_path / "s.json").exists()
