"""One registration path: iisguard's reporters, parsers and rule packs come from one list through the hooks a
third-party pack implements; the parts of the hook contract that are not plain signatures are documented
and hold; the layering contracts bite."""

from __future__ import annotations

import ast
import inspect
import io
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from iisguard import hookimpl, hookspecs, plugins
from iisguard.capture import detect as detection
from iisguard.capture import registry
from iisguard.capture.base import Artifact
from iisguard.cli import build_parser, main

from .conftest import FIXTURES, ROOT

GOLDEN = FIXTURES / "hosts" / "demo-golden"


def test_every_builtin_module_registers_through_a_hook():
    loaded = plugins.load_plugins(entry_points=False, builtin_rules=True)
    by_module = {p.module: p for p in loaded.packs}
    for modname in plugins.BUILTIN_MODULES:
        pack = by_module[modname]
        assert pack.builtin and not pack.error, modname
        provides = {"rules": pack.rules, "reporters": pack.reporters, "parsers": pack.parsers}
        want = (
            "reporters"
            if modname in plugins.BUILTIN_REPORTERS
            else "parsers"
            if modname in plugins.BUILTIN_PARSERS
            else "rules"
        )
        assert provides[want], f"{modname} registers no {want}"
    assert [p.kind for p in loaded.parsers] == [p.kind for p in registry.builtin_parsers()]
    assert len(loaded.rules) > 50 and {"text", "json", "sarif", "junit"} <= set(loaded.reporters)


def test_rules_do_not_depend_on_installed_metadata(monkeypatch, builtin_plugins):
    """With no entry point anywhere (an uninstalled checkout), the same rules, reporters and parsers load."""
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda **kw: [])
    bare = plugins.load_plugins()
    assert sorted(bare.rules) == sorted(builtin_plugins.rules)
    assert list(bare.reporters) == list(builtin_plugins.reporters)
    assert [p.kind for p in bare.parsers] == [p.kind for p in builtin_plugins.parsers]


def test_an_uninstalled_checkout_scans_with_its_rules(tmp_path):
    """PYTHONPATH=core:plugins, no site processing (so not the editable install): the checkout's code has rules."""
    site = sysconfig.get_paths()["purelib"]  # the dependencies only: .pth files are not read with -S
    code = (
        "import iisguard, iisguard_builtin, sys\n"
        "report = iisguard.scan(sys.argv[1], fail_on='never')\n"
        "print(iisguard.__file__); print(iisguard_builtin.__file__); print(len(report.rules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "core"), str(ROOT / "plugins"), site])}
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(GOLDEN)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0].startswith(str(ROOT / "core")) and out[1].startswith(str(ROOT / "plugins"))
    assert int(out[2]) > 50


class Inventory:
    """A pack's parser whose detect() takes only the head, and one whose detect() raises."""

    kind, sections = "acme-inventory", ("iis",)

    def detect(self, head):
        return 1.0 if head.startswith("ACME-INVENTORY") else 0.0

    def parse(self, artifact, builder):
        builder.artifact(artifact, self.kind)
        builder.section("iis", "partial", "inventory only")


class Crashing:
    kind, sections = "acme-crash", ()

    def detect(self, head, name):
        raise RuntimeError("boom")

    def parse(self, artifact, builder):  # pragma: no cover - never chosen
        raise AssertionError


class ParserPack:
    __name__ = "acme_parsers"

    @hookimpl
    def iisguard_register_parsers(self):
        return [Crashing(), Inventory(), object()]


def test_detect_may_take_the_head_only_and_a_raising_detect_counts_zero(tmp_path, caplog):
    loaded = plugins.load_plugins(plugins=[ParserPack()], entry_points=False)
    assert [p.kind for p in loaded.parsers][-2:] == ["acme-crash", "acme-inventory"]
    assert "has no kind, detect() or parse(); ignored" in caplog.text  # the object() is left out
    file = tmp_path / "inv.txt"
    file.write_text("ACME-INVENTORY v1\nweb01\n")
    found = detection.detect(Artifact(file, "inv.txt"), loaded.parsers)
    assert found.parser.kind == "acme-inventory" and found.score == 1.0
    assert detection._score(Crashing(), "ACME-INVENTORY", "inv.txt") == 0.0


def test_import_receives_the_packs_parsers(tmp_path, monkeypatch):
    """`iisguard import` hands capture the packs' parsers (capture never loads plugins itself)."""
    build_parser()  # import every command module first: none may bind the patched loader below
    real = plugins.load_plugins
    monkeypatch.setattr(
        plugins, "load_plugins", lambda **kw: real(**{**kw, "plugins": [ParserPack()], "entry_points": False})
    )
    (tmp_path / "cap").mkdir()
    (tmp_path / "cap" / "inv.txt").write_text("ACME-INVENTORY v1\nweb01\n")
    out = tmp_path / "snap.json"
    main(["import", str(tmp_path / "cap"), "-o", str(out), "--host", "WEB01"])
    import json

    kinds = {a["kind"] for a in json.loads(out.read_text())["collection"]["artifacts"]}
    assert kinds == {"acme-inventory"}


class Shouting:
    name, extension, description = "shout", "txt", "findings, louder on a terminal"

    def render(self, report):
        return "plain\n"

    def render_terminal(self, report):
        return "TERMINAL\n"


class ReporterPack:
    __name__ = "acme_reporters"

    @hookimpl
    def iisguard_register_reporters(self):
        return {"shout": Shouting()}


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("stdout", "expected"), [(Tty(), "TERMINAL\n"), (io.StringIO(), "plain\n")])
def test_render_terminal_is_used_for_a_terminal_only(monkeypatch, stdout, expected, tmp_path):
    import iisguard.cli.scan as scan_cli

    real = plugins.load_plugins
    monkeypatch.setattr(scan_cli, "load_plugins", lambda **kw: real(**kw, plugins=[ReporterPack()]))
    monkeypatch.setattr(sys, "stdout", stdout)
    main(["scan", str(GOLDEN), "-f", "shout", "--fail-on", "never"])
    assert stdout.getvalue() == expected
    main(["scan", str(GOLDEN), "-f", f"shout:{tmp_path / 'out.txt'}", "--fail-on", "never"])
    assert (tmp_path / "out.txt").read_text() == "plain\n"  # a file is never a terminal


def test_the_duck_typed_parts_of_the_contract_are_documented():
    reporters = inspect.getdoc(hookspecs.iisguard_register_reporters) or ""
    parsers = inspect.getdoc(hookspecs.iisguard_register_parsers) or ""
    assert "render_terminal(report)" in reporters and "terminal" in reporters
    assert "detect(head, name)" in parsers and "only ``head``" in parsers and "counts as 0" in parsers


def test_no_module_of_the_package_looks_like_a_test_file():
    """pytest collects test_*.py and *_test.py: a command module named so would be collected (or skipped)."""
    named = [
        p.relative_to(ROOT)
        for top in ("core", "plugins")
        for p in (ROOT / top).rglob("*.py")
        if p.name.startswith("test_") or p.stem.endswith("_test")
    ]
    assert named == []


LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *, pythonpath: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_layering_contracts_hold():
    run = lint_imports(ROOT, pythonpath=[ROOT / "core", ROOT / "plugins"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout and run.stdout.count("KEPT") == 5


def test_a_layering_violation_is_caught(tmp_path):
    """The same contracts on a copy whose model imports the engine and whose pool pack reaches past the
    public API: lint-imports must fail, naming both."""
    shutil.copytree(ROOT / "core" / "iisguard", tmp_path / "core" / "iisguard")
    shutil.copytree(ROOT / "plugins" / "iisguard_builtin", tmp_path / "plugins" / "iisguard_builtin")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    sids = tmp_path / "core" / "iisguard" / "model" / "sids.py"
    sids.write_text(sids.read_text() + "\nfrom ..engine import evaluate  # noqa: E402\n")
    pool = tmp_path / "plugins" / "iisguard_builtin" / "pool.py"
    pool.write_text(pool.read_text() + "\nfrom iisguard.model import snapshot  # noqa: E402\n")
    run = lint_imports(tmp_path, pythonpath=[tmp_path / "core", tmp_path / "plugins"])
    assert run.returncode != 0
    assert "iisguard.model.sids -> iisguard.engine.evaluate" in run.stdout
    assert "iisguard_builtin.pool -> iisguard.model.snapshot" in run.stdout


def test_a_scan_loads_no_builtin_parser_but_keeps_a_pack_s_own(tmp_path):
    """A scan reads snapshots: iisguard's parsers (a fifth of the program's start) are not imported;
    `iisguard plugins` and imports still have every one; a pack's own parser still comes with its pack."""
    code = (
        "import sys\n"
        "from iisguard.cli import main\n"
        f"code = main(['scan', {str(GOLDEN / 'snapshot.json')!r}, '--fail-on', 'never', '-f', 'json:{tmp_path}/r.json'])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith('iisguard.capture.')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    code_printed, modules = run.stdout.split(" ", 1)
    assert code_printed == "0"
    parser_modules = {f"iisguard.capture.{name}" for name in registry.MODULES}
    assert parser_modules.isdisjoint(ast.literal_eval(modules)), modules

    class OwnParser:
        kind, sections = "acme-inventory", ("acls",)

        def detect(self, head):
            return 0.0

        def parse(self, artifact, builder):  # pragma: no cover - never asked to parse here
            pass

    class Pack:
        @hookimpl
        def iisguard_register_parsers(self):
            return [OwnParser()]

    scanning = plugins.load_plugins(plugins=[Pack()], builtin_parsers=False)
    assert [p.kind for p in scanning.parsers] == ["acme-inventory"]
    assert scanning.options["builtin_parsers"] is False  # a --jobs worker rebuilds the same packs
    everything = plugins.load_plugins(plugins=[Pack()])
    assert [p.kind for p in everything.parsers][:-1] == [p.kind for p in registry.builtin_parsers()]
