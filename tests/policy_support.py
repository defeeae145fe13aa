"""Shared by the policy, waiver, baseline, diff and CEL tests: a small inline rule pack and a CLI runner.

The CLI runs in-process with the plugin loader narrowed to iisguard's reporters plus TESTPACK (no
entry points), and with IISGUARD_POLICIES pointing at tests/data/policy/policies, so the findings are
exactly those of the rules below and the profiles are ours, whatever else is being built.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iisguard import Parameter, Reference, Severity, fail, hookimpl, passed, rule
from iisguard.cli import main

DATA = Path(__file__).resolve().parent / "data" / "policy"
SNAPSHOT = DATA / "web01.json"
POLICIES = DATA / "policies"
TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    """An ISO date `offset` days from today (UTC), for waivers that must be valid or expired."""
    return (TODAY + timedelta(days=offset)).isoformat()


_REF = [Reference("TEST-REF", "https://learn.microsoft.com/en-us/iis/")]


@rule(
    id="TEST-POOL-001",
    name="test.pool.identity",
    title="Pools do not run as LocalSystem or NetworkService",
    severity=Severity.MEDIUM,
    description="d",
    rationale="r",
    remediation="Set-ItemProperty IIS:\\AppPools\\<pool> -Name processModel.identityType -Value ApplicationPoolIdentity",
    references=_REF,
    parameters=[Parameter("allowed_identities", [], "identity types that are accepted")],
    needs=["iis"],
)
def pool_identity(snapshot, params):
    for pool in snapshot.app_pools:
        kind = pool["identity"]["type"]
        key = f"app_pools/{pool['name']}"
        if kind in ("LocalSystem", "NetworkService") and kind not in params["allowed_identities"]:
            yield fail(key, f"Pool '{pool['name']}' runs as {kind}.", at=pool)
        else:
            yield passed(key, f"Pool '{pool['name']}' runs as {kind}.", at=pool)


@rule(
    id="TEST-PRIV-001",
    name="test.priv.debug",
    title="Only Administrators hold SeDebugPrivilege",
    severity=Severity.HIGH,
    description="d",
    rationale="r",
    remediation="ntrights -r SeDebugPrivilege -u <principal>",
    references=_REF,
    needs=["user_rights"],
)
def debug_privilege(snapshot, params):
    holders = snapshot.user_rights.get("SeDebugPrivilege") or []
    others = [h for h in holders if snapshot.principals.sid_of(h) != "S-1-5-32-544"]
    if others:
        shown = ", ".join(snapshot.principals.display(h) for h in others)
        yield fail("user_rights/SeDebugPrivilege", f"SeDebugPrivilege is granted to {shown}.")
    else:
        yield passed("user_rights/SeDebugPrivilege", "Only Administrators hold SeDebugPrivilege.")


@rule(
    id="TEST-ANON-001",
    name="test.anon.iusr",
    title="Anonymous authentication uses IUSR",
    severity=Severity.MEDIUM,
    description="d",
    rationale="r",
    remediation="Set-WebConfigurationProperty -Filter system.webServer/security/authentication/anonymousAuthentication -Name userName -Value IUSR",
    references=_REF,
    needs=["iis"],
    default_enabled=False,
)
def anonymous_iusr(snapshot, params):
    for entry in snapshot.iis.get("authentication") or []:
        anon = entry.get("anonymous") or {}
        key = f"locations/{entry.get('location') or 'MACHINE/WEBROOT/APPHOST'}"
        if anon.get("enabled") and anon.get("user") not in ("IUSR", None):
            yield fail(key, f"Anonymous requests run as {anon.get('user') or 'the pool identity'}.", at=entry)
        else:
            yield passed(key, "Anonymous requests run as IUSR.", at=entry)


@rule(
    id="TEST-NOISE-001",
    name="test.noise",
    title="A noisy note the baseline profile turns off",
    severity=Severity.INFO,
    description="d",
    rationale="r",
    remediation="Get-Noise | Remove-Noise",
    references=_REF,
)
def noise(snapshot, params):
    yield fail("host", "Noise.")


TESTPACK = types.ModuleType("testpack")
TESTPACK.__version__ = "1.0"  # type: ignore[attr-defined]
TESTPACK.iisguard_pack_info = hookimpl(lambda: {"prefixes": ["TEST-"]})  # type: ignore[attr-defined]
TESTPACK.iisguard_register_rules = hookimpl(  # type: ignore[attr-defined]
    lambda: [pool_identity, debug_privilege, anonymous_iusr, noise]
)


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys) -> Callable[..., Run]:
    """Run `iisguard ...` in-process in tmp_path with TESTPACK as the only rule pack."""
    import iisguard.cli.plugins
    import iisguard.cli.policy
    import iisguard.cli.rule_cases
    import iisguard.cli.scan
    from iisguard.plugins import load_plugins

    def narrowed(**kw: Any):
        kw.setdefault("entry_points", False)
        kw["plugins"] = [*kw.get("plugins", ()), TESTPACK]
        return load_plugins(**kw)

    for module in (iisguard.cli.scan, iisguard.cli.policy, iisguard.cli.rule_cases, iisguard.cli.plugins):
        monkeypatch.setattr(module, "load_plugins", narrowed)
    monkeypatch.setenv("IISGUARD_POLICIES", str(POLICIES))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def snapshot_copy(
    tmp_path: Path, name: str = "web01.json", change: Callable[[dict], None] | None = None
) -> Path:
    """A copy of the test snapshot (optionally changed) in tmp_path."""
    data = json.loads(SNAPSHOT.read_text("utf-8"))
    if change:
        change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), "utf-8")
    return path


def findings_by(doc: dict) -> dict[tuple[str, str], dict]:
    """JSON report findings keyed by (rule id, resource)."""
    return {(f["rule_id"], f["resource"]): f for f in doc["findings"]}


def today() -> date:
    return TODAY
