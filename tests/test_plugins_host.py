"""The plugin host: entry points one at a time, broken packs named with their version, rules validated."""

from __future__ import annotations

import textwrap

import pytest

from iisguard import Severity, fail, hookimpl, rule
from iisguard.errors import PluginError
from iisguard.plugins import load_plugins


def make_rule(rule_id, **kw):
    meta = dict(
        id=rule_id,
        name="t.x",
        title="A test rule",
        severity="low",
        description="d",
        rationale="r",
        remediation="Set-Something",
    )
    meta.update(kw)
    return rule(**meta)(lambda snap, params: [fail("host", "x")])


class Pack:
    def __init__(self, *rules, prefixes=None, name="acme_pack"):
        self.__name__ = name
        self._rules = rules
        self._prefixes = prefixes

    @hookimpl
    def iisguard_register_rules(self):
        return list(self._rules)

    @hookimpl
    def iisguard_pack_info(self):
        return {"prefixes": self._prefixes} if self._prefixes else None


def test_third_party_rules_are_registered():
    plugins = load_plugins(plugins=[Pack(make_rule("ACME-POOL-001"), prefixes=["ACME-"])], entry_points=False)
    assert plugins.rules["ACME-POOL-001"].pack == "acme_pack"
    assert plugins.rules["ACME-POOL-001"].severity is Severity.LOW


@pytest.mark.parametrize(
    ("pack", "message"),
    [
        (Pack(make_rule("ACME-POOL-001"), make_rule("ACME-POOL-001")), "already registered"),
        (Pack(make_rule("acme-1")), "not of the form"),
        (Pack(make_rule("IIS-POOL-900")), "reserved for built-in packs"),
        (Pack(make_rule("OTHER-POOL-001"), prefixes=["ACME-"]), "outside the pack's prefixes"),
        (Pack(make_rule("ACME-POOL-002", remediation="")), "has no remediation"),
        (Pack(make_rule("ACME-POOL-003", title=" ")), "has no title"),
    ],
)
def test_invalid_rules_name_the_pack(pack, message):
    with pytest.raises(PluginError) as err:
        load_plugins(plugins=[pack], entry_points=False)
    assert "acme_pack" in str(err.value)
    assert message in str(err.value)


def test_misspelled_hook_fails_loudly():
    class Typo:
        __name__ = "typo_pack"

        @hookimpl
        def iisguard_register_rule(self):  # missing "s"
            return []

    with pytest.raises(PluginError, match="typo_pack"):
        load_plugins(plugins=[Typo()], entry_points=False)


def test_severity_is_validated_at_declaration():
    with pytest.raises(ValueError, match="unknown severity"):
        make_rule("ACME-POOL-009", severity="urgent")


@pytest.fixture
def broken_dist(tmp_path, monkeypatch):
    """A real installed distribution (dist-info on sys.path) whose entry point fails to import."""
    dist = tmp_path / "acme_broken-1.2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-broken\nVersion: 1.2.0\n")
    (dist / "entry_points.txt").write_text("[iisguard]\nacme_broken = acme_broken_pack\n")
    (tmp_path / "acme_broken_pack.py").write_text("import does_not_exist_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_broken_entry_point_is_named_with_its_version(broken_dist):
    with pytest.raises(PluginError) as err:
        load_plugins()
    assert "acme_broken 1.2.0" in str(err.value)
    assert "ModuleNotFoundError" in str(err.value)
    plugins = load_plugins(skip_broken=True)
    assert [p.label for p in plugins.broken] == ["acme_broken 1.2.0"]


def test_rules_dir_loads_modules(tmp_path):
    (tmp_path / "acme_rules.py").write_text(
        textwrap.dedent(
            """
            from iisguard import hookimpl, rule, passed

            @rule(id="ACME-HOST-001", name="acme.host", title="Host is named", severity="info",
                  description="d", rationale="r", remediation="Rename-Computer")
            def named(snap, params):
                yield passed("host")

            @hookimpl
            def iisguard_register_rules():
                return [named]
            """
        )
    )
    plugins = load_plugins(rules_dirs=[tmp_path], entry_points=False)
    assert "ACME-HOST-001" in plugins.rules


class Enricher:
    """A pack using every hook: a derived index, a rule reading it, a reporter and a parser."""

    __name__ = "enricher_pack"

    @hookimpl
    def iisguard_snapshot_loaded(self, snapshot):
        snapshot.data["x-enricher"] = {"pool_count": len(snapshot.app_pools)}

    @hookimpl
    def iisguard_register_rules(self):
        @rule(
            id="ACME-POOL-010",
            name="acme.count",
            title="Counts pools",
            severity="info",
            description="d",
            rationale="r",
            remediation="Get-IISAppPool",
        )
        def count(snap, params):
            yield fail("host", f"{snap.data['x-enricher']['pool_count']} pools")

        return [count]

    @hookimpl
    def iisguard_register_reporters(self):
        class Count:
            name, extension, description = "count", "txt", "number of findings"

            def render(self, report):
                return f"{sum(1 for _ in report.findings())}\n"

        return {"count": Count()}

    @hookimpl
    def iisguard_register_parsers(self):
        class Inventory:
            kind, sections = "acme-inventory", ("iis",)

            def detect(self, head, name):
                return 1.0 if head.startswith("ACME-INVENTORY") else 0.0

            def parse(self, artifact, builder):
                builder.artifact(artifact, self.kind)

        return [Inventory()]


def test_every_hook_is_usable_by_a_pack(tmp_path):
    from iisguard.engine.evaluate import Report, Selected, evaluate
    from iisguard.model.snapshot import load

    from .conftest import FIXTURES

    plugins = load_plugins(plugins=[Enricher()], entry_points=False)
    from iisguard.capture.registry import builtin_parsers

    # iisguard's own parsers are registered through the same hook, before any pack's
    assert [p.kind for p in plugins.parsers] == [*(p.kind for p in builtin_parsers()), "acme-inventory"]
    assert "count" in plugins.reporters
    snap = load(FIXTURES / "hosts" / "demo-golden" / "snapshot.json")
    plugins.pm.hook.iisguard_snapshot_loaded(snapshot=snap)
    r = plugins.rules["ACME-POOL-010"]
    host = evaluate(snap, [Selected(r, r.severity, {})])
    assert host.findings[0].message == "3 pools"
    report = Report(hosts=[host], rules={r.id: r}, tool_version="t", started_at="now")
    assert plugins.reporters["count"].render(report) == "1\n"


def test_every_hookspec_is_documented_and_exercised():
    import inspect
    from pathlib import Path

    from iisguard import hookspecs

    here = Path(__file__).read_text()
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("iisguard_"):
            assert len(inspect.getdoc(func) or "") > 80, f"{name} needs a real docstring"
            assert f"def {name}(" in here, f"{name} is not exercised by a test pack here"
