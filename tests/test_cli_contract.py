"""What the command line promises: files follow the umask, a --strict crash exits 3, each --help
lists its own exit codes, `--fail-on never` is called never, `iisguard plugins` lists the import kinds.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from iisguard import hookimpl, passed, rule
from iisguard.cli import build_parser, main

from .conftest import FIXTURES

DEMO = FIXTURES / "hosts" / "demo-misconfigured"


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(old)


@pytest.mark.parametrize(("mask", "want"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_reports_snapshots_and_the_capture_script_follow_the_umask(
    capsys, tmp_path, monkeypatch, umask, mask, want
):
    monkeypatch.chdir(tmp_path)
    umask(mask)
    assert run(capsys, "scan", DEMO / "snapshot.json", "-f", "sarif:r.sarif", "-f", "junit:r.xml")[0] == 1
    assert run(capsys, "capture-script", "--out", "capture.ps1")[0] == 0
    assert run(capsys, "import", DEMO / "captures", "-o", "snap.json")[0] == 0
    for name in ("r.sarif", "r.xml", "capture.ps1", "snap.json"):
        assert mode(tmp_path / name) == want, name  # mkstemp alone gave 0600 whatever the umask


@rule(
    id="ACME-HOST-901",
    name="acme.crash",
    title="A rule that crashes",
    severity="low",
    description="d",
    rationale="r",
    remediation="r",
)
def crashing(snapshot, params):
    yield passed("host")
    raise ZeroDivisionError("boom in rule")


class CrashPack:
    @hookimpl
    def iisguard_pack_info(self):
        return {"prefixes": ["ACME-"]}

    @hookimpl
    def iisguard_register_rules(self):
        return [crashing]


def test_a_rule_crash_under_strict_exits_3_naming_the_rule(capsys, monkeypatch):
    import iisguard.cli.scan
    from iisguard.plugins import load_plugins

    monkeypatch.setattr(
        iisguard.cli.scan, "load_plugins", lambda **kw: load_plugins(plugins=[CrashPack()], **kw)
    )
    args = ["scan", DEMO / "snapshot.json", "--rule", "ACME-*", "--fail-on", "never"]
    code, _, err = run(capsys, *args)
    assert code == 3  # reported as `error`, the others still run
    code, _, err = run(capsys, *args, "--strict")
    assert code == 3  # was 1 (a traceback, the "findings" code)
    assert (
        "--strict: in rule ACME-HOST-901 on host WEB-LEGACY01 crashed: ZeroDivisionError: boom in rule" in err
    )
    assert "Traceback" not in err
    code, _, err = run(capsys, *args, "--strict", "--debug")
    assert code == 3 and "Traceback" in err and "boom in rule" in err


def help_of(*command: str) -> str:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--help"])
    return ""


@pytest.mark.parametrize(
    ("command", "says", "not_says"),
    [
        (["scan"], "1  at least one active failure at or above --fail-on", "something changed"),
        (["diff"], "1  something changed", "--fail-on"),
        (["import"], "0  the snapshot (or one per host with -o DIR) was written", "--fail-on"),
        (["validate"], "2  a file is missing, unreadable, not JSON or not valid", "--fail-on"),
        (["collect"], "3  collection failed", "--fail-on"),
        (["rules", "test"], "1  a case did not", "--fail-on"),
        (["rules", "list"], "0  the catalog was printed", "--fail-on"),
        (["policy", "check"], "2  a file has problems", "--fail-on"),
        (["plugins"], "2  a pack failed to load", "--fail-on"),
        (["capture-script"], "0  the script was written", "--fail-on"),
    ],
)
def test_each_command_help_lists_its_own_exit_codes(capsys, command, says, not_says):
    help_of(*command)
    text = capsys.readouterr().out
    epilog = text.split("exit codes:", 1)[1]
    assert says in epilog
    assert not_says not in epilog


def test_fail_on_never_is_called_never(capsys):
    code, out, _ = run(capsys, "scan", DEMO / "snapshot.json", "--fail-on", "never")
    assert code == 0
    assert "(fail-on never)" in out and "fail-on none" not in out


def test_plugins_lists_the_import_kinds(capsys):
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("import formats"))
    kinds = line.split(": ", 1)[1].split(", ")
    assert {"applicationhost_config", "icacls", "whoami", "setspn", "secedit"} <= set(kinds)
    # Every kind listed is one `import --kind` accepts.
    from iisguard.plugins import import_parsers

    assert set(kinds) <= {p.kind for p in import_parsers()}
    help_of("import")
    assert "`iisguard plugins` lists the kinds" in " ".join(capsys.readouterr().out.split())


def test_plugins_json_lists_every_built_in_capture_parser(capsys):
    """`plugins --format json` names the parser kinds each pack provides: the built-in capture parsers
    together are exactly the kinds `import --kind` accepts (as the text form's `import formats` line)."""
    from iisguard.plugins import import_parsers

    code, out, _ = run(capsys, "plugins", "--format", "json")
    assert code == 0
    packs = json.loads(out)
    builtin = {k for p in packs if p["builtin"] for k in p["parsers"]}
    assert builtin == {p.kind for p in import_parsers()}
    metabase = next(p for p in packs if p["name"] == "metabase")
    assert metabase["parsers"] == ["metabase_xml"] and metabase["status"] == "loaded"
