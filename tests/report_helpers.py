"""Reports built by hand for the reporter tests: real files on disk, hand-made rules and findings.

Nothing here depends on the rule packs: the rules are declared inline and the findings are made
directly, with every outcome, a waiver, an expired waiver, baseline states, a rule error, a
not-reviewed rule, a failed collection section and report notices.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from iisguard.engine.evaluate import HostResult, Notice, Report
from iisguard.engine.findings import Evidence, Finding, Outcome, Severity, Waiver
from iisguard.engine.rule import Reference, Rule
from iisguard.model import snapshot as snapmod

TOOL_VERSION = "9.8.7"
STARTED = "2026-02-03T04:05:06Z"
FINISHED = "2026-02-03T04:05:09Z"

APPHOST = """\
<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="DefaultAppPool" />
      <add name="Payroll">
        <processModel identityType="LocalSystem" />
      </add>
      <add name="Legacy" managedRuntimeVersion="v2.0">
        <processModel identityType="LocalSystem" />
      </add>
    </applicationPools>
  </system.applicationHost>
</configuration>
"""
PAYROLL_LINE = 6  # the <add name="Payroll"> line above
LEGACY_LINE = 9


def _no_results(snapshot, params):
    return iter(())


def make_rule(
    rule_id: str,
    severity: Severity | str = "high",
    *,
    title: str | None = None,
    pack: str = "pool",
    references: Iterable[Reference] = (),
    remediation: str = "Fix it.",
) -> Rule:
    return Rule(
        id=rule_id,
        name=f"{pack}.{rule_id.lower()}-check",
        title=title or f"Title of {rule_id}",
        severity=Severity.parse(severity),
        description=f"{rule_id} checks one thing about IIS identities.",
        rationale="An attacker who controls the worker process gains what its identity holds.",
        remediation=remediation,
        func=_no_results,
        category=pack,
        references=tuple(references),
        pack=pack,
    )


RULES = {
    r.id: r
    for r in (
        make_rule(
            "IIS-POOL-001",
            "critical",
            title="Application pool runs as LocalSystem",
            references=[
                Reference(
                    "CIS-IIS10-1.4",
                    "https://www.cisecurity.org/benchmark/microsoft_iis",
                    "Ensure unique pool identities",
                ),
                Reference("STIG-V-218750"),
            ],
            remediation=(
                "Set the pool identity to ApplicationPoolIdentity:\n"
                'appcmd set apppool "Payroll" /processModel.identityType:ApplicationPoolIdentity'
            ),
        ),
        make_rule(
            "IIS-ACL-003",
            "high",
            title="Content folder is writable by the pool",
            pack="acl",
            remediation='icacls "C:\\inetpub\\wwwroot" /remove:g "IIS_IUSRS"',
        ),
        make_rule("IIS-ANON-002", "medium", title="Anonymous user is a named account", pack="anon"),
        make_rule("IIS-KRB-001", "high", title="HTTP SPN on the wrong account", pack="krb"),
        make_rule("IIS-PRIV-004", "critical", title="Pool identity holds SeDebugPrivilege", pack="priv"),
        make_rule("IIS-HOST-002", "low", title="IIS_IUSRS has extra members", pack="host"),
        make_rule("ACME-POOL-001", "low", title="Pool names follow the ACME convention", pack="acme"),
    )
}


def snapshot_data(host: str, pools: list[str], acl_paths: list[str]) -> dict:
    return {
        "schema_version": "1.0",
        "host": {"name": host},
        "collection": {"source": "import", "collected_at": "2026-02-01T00:00:00Z", "sections": []},
        "iis": {"app_pools": [{"name": p, "identity": {"type": "LocalSystem"}} for p in pools]},
        "acls": [{"path": p, "aces": []} for p in acl_paths],
    }


def pointer_line(path: Path, pointer: str) -> int:
    """The line of a pointer in a pretty-printed snapshot, found independently of jsonpos."""
    data = json.loads(path.read_text(encoding="utf-8"))
    *_, collection, index = pointer.split("/")
    name_key = "name" if collection == "app_pools" else "path"
    wanted = data[pointer.split("/")[1]] if collection == "acls" else data["iis"][collection]
    name = wanted[int(index)][name_key]
    lines = path.read_text(encoding="utf-8").splitlines()
    needle = f'"{name_key}": {json.dumps(name)}'
    for i, text in enumerate(lines):
        if needle in text:
            return i  # the object's "{" is the line before its first key
    raise AssertionError(f"{pointer} not found in {path}")


def build_report(root: Path, *, fail_on: Severity | None = Severity.MEDIUM) -> Report:
    """Two hosts under `root/scans/`: WEB01 with every kind of outcome, WEB02 with a failed section."""
    scans = root / "scans"
    captures = scans / "captures" / "web01"
    captures.mkdir(parents=True, exist_ok=True)
    (captures / "applicationHost.config").write_text(APPHOST, encoding="utf-8")
    web01 = scans / "web01.json"
    web02 = scans / "web02.json"
    snapmod.save(
        snapshot_data("WEB01", ["DefaultAppPool", "Payroll", "Legacy"], ["C:\\inetpub\\wwwroot", "C:\\Data"]),
        web01,
    )
    snapmod.save(snapshot_data("WEB02", ["Shop Pool"], []), web02)
    s1, s2 = str(web01), str(web02)
    apphost = "captures/web01/applicationHost.config"

    def f(rule_id: str, outcome: Outcome, resource: str, message: str = "", **kw) -> Finding:
        host = kw.pop("host", "WEB01")
        return Finding(
            rule_id=rule_id,
            severity=RULES[rule_id].severity,
            outcome=outcome,
            host=host,
            resource=resource,
            message=message,
            pack=RULES[rule_id].pack,
            snapshot_path=s1 if host == "WEB01" else s2,
            **kw,
        )

    web01_findings = [
        f(
            "IIS-POOL-001",
            Outcome.PASS,
            "DefaultAppPool",
            pointer="/iis/app_pools/0",
            evidence=Evidence(apphost, 5),
        ),
        f(
            "IIS-POOL-001",
            Outcome.FAIL,
            "Payroll",
            "Application pool 'Payroll' runs as LocalSystem, which owns the machine; use ApplicationPoolIdentity",
            pointer="/iis/app_pools/1",
            evidence=Evidence(apphost, PAYROLL_LINE),
            baseline_state="new",
        ),
        f(
            "IIS-POOL-001",
            Outcome.FAIL,
            "Legacy",
            "Application pool 'Legacy' runs as LocalSystem.",
            pointer="/iis/app_pools/2",
            evidence=Evidence(apphost, LEGACY_LINE),
            waiver=Waiver(
                "vendor app needs SYSTEM until the 2026 upgrade",
                "ops@example.com",
                "2026-12-31",
                "waivers.yaml",
            ),
        ),
        f(
            "IIS-ACL-003",
            Outcome.FAIL,
            "C:\\inetpub\\wwwroot",
            "IIS_IUSRS can write to C:\\inetpub\\wwwroot.",
            pointer="/acls/0",
        ),
        f(
            "IIS-ACL-003",
            Outcome.FAIL,
            "C:\\Data",
            "IIS_IUSRS can write to C:\\Data.",
            pointer="/acls/1",
            baseline_state="unchanged",
        ),
        f(
            "IIS-ANON-002",
            Outcome.FAIL,
            "Default Web Site",
            "The anonymous user of 'Default Web Site' is CORP\\webanon.",
            waiver=Waiver("pending AD cleanup", "web-team", "2025-01-31", "waivers.yaml", expired=True),
        ),
        f("IIS-KRB-001", Outcome.NOT_REVIEWED, "host", "data not collected (ad absent)"),
        f("IIS-PRIV-004", Outcome.ERROR, "host", "rule crashed: KeyError: 'sid' at priv.py:42"),
        f("IIS-HOST-002", Outcome.NOT_APPLICABLE, "host", "nothing on this host to check"),
    ]
    web02_findings = [
        f("IIS-POOL-001", Outcome.PASS, "Shop Pool", host="WEB02", pointer="/iis/app_pools/0"),
        f(
            "ACME-POOL-001",
            Outcome.FAIL,
            "Shop Pool",
            "Pool name 'Shop Pool' has a space.",
            host="WEB02",
            pointer="/iis/app_pools/0",
            evidence=Evidence("captures/web02/applicationHost.config", 3),
        ),
        f("IIS-ACL-003", Outcome.NOT_REVIEWED, "host", "data not collected (acls failed)", host="WEB02"),
    ]
    hosts = [
        HostResult(
            "WEB01",
            s1,
            web01_findings,
            sections=[{"name": "iis", "status": "ok"}, {"name": "ad", "status": "absent"}],
            collected_at="2026-02-01T00:00:00Z",
            source="import",
            seconds=0.25,
        ),
        HostResult(
            "WEB02",
            s2,
            web02_findings,
            sections=[
                {"name": "iis", "status": "ok"},
                {"name": "acls", "status": "failed", "message": "icacls output truncated"},
            ],
            collected_at="2026-02-01T00:00:00Z",
            source="winrm",
            seconds=0.5,
        ),
    ]
    notices = [
        Notice(
            "warning",
            "waiver for IIS-ANON-002 on WEB01 (Default Web Site) expired on 2025-01-31",
            "waiver-expired",
        ),
        Notice("note", "waiver for IIS-POOL-009 on WEB03 matched nothing", "waiver-unused"),
    ]
    return Report(
        hosts=hosts,
        rules=dict(RULES),
        tool_version=TOOL_VERSION,
        started_at=STARTED,
        finished_at=FINISHED,
        fail_on=fail_on,
        notices=notices,
        profile="baseline",
    )


def single_host_report(
    root: Path,
    findings: list[Finding],
    *,
    rules: dict[str, Rule] | None = None,
    sections: list[dict] | None = None,
) -> Report:
    """A one-host report around a fresh snapshot file for hand-made findings."""
    path = root / "one.json"
    snapmod.save(snapshot_data("WEB01", ["DefaultAppPool"], []), path)
    findings = [replace(f, snapshot_path=str(path)) for f in findings]
    return Report(
        hosts=[HostResult("WEB01", str(path), findings, sections=sections or [])],
        rules=rules or dict(RULES),
        tool_version=TOOL_VERSION,
        started_at=STARTED,
        finished_at=FINISHED,
    )


def finding(
    rule_id: str = "IIS-POOL-001",
    outcome: Outcome = Outcome.FAIL,
    resource: str = "Payroll",
    message: str = "Pool runs as LocalSystem.",
    **kw,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=kw.pop("severity", RULES[rule_id].severity if rule_id in RULES else Severity.HIGH),
        outcome=outcome,
        host=kw.pop("host", "WEB01"),
        resource=resource,
        message=message,
        pack=kw.pop("pack", "pool"),
        **kw,
    )


# --- golden files ------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?")
_SECONDS = re.compile(r'\btime="[0-9.]+"')


def normalise(text: str, root: Path) -> str:
    """Times, the tool version and absolute paths replaced by placeholders."""
    for path in {str(root.resolve()), str(root)}:
        text = text.replace(path, "<ROOT>")
    text = text.replace(TOOL_VERSION, "<VERSION>")
    text = _TIMESTAMP.sub("<TIME>", text)
    text = _SECONDS.sub('time="<SECONDS>"', text)
    return text


GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("IISGUARD_UPDATE_GOLDEN") == "1"


def assert_golden(name: str, text: str, root: Path) -> None:
    """Compare a rendered report with tests/golden/<name>; IISGUARD_UPDATE_GOLDEN=1 rewrites it."""
    got = normalise(text, root)
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8", newline="\n")
        return
    assert path.is_file(), f"{path} is missing: run the tests once with IISGUARD_UPDATE_GOLDEN=1"
    want = path.read_text(encoding="utf-8")
    assert got == want, (
        f"{name} differs from {path}; if the change is intended, rerun with IISGUARD_UPDATE_GOLDEN=1"
    )


def record_made(monkeypatch, module, name: str) -> list[str]:
    """Wrap `module.name` (a function whose first argument is a finding) to list the resource of each
    finding it is called for: tests of reporters that make their text as it is written."""
    made: list[str] = []
    real = getattr(module, name)

    def recording(f, *args):
        made.append(f.resource)
        return real(f, *args)

    monkeypatch.setattr(module, name, recording)
    return made
