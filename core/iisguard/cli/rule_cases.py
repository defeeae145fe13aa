"""`iisguard rules test DIR`: run an organization's rule cases with the harness our own packs use.

Layout of DIR::

    DIR/
      policy.yaml        policy files (kind: Policy) whose custom_rules are under test; optional
      _base.yaml         base snapshot every case is merged onto; optional (else a minimal one)
      ORG-POOL-001/      one folder per rule id (a CEL rule from a policy above, or a Python rule
        good.yaml        from an installed pack or --rules-dir), holding cases in the
        bad.yaml         iisguard.testing format: snapshot fragment, parameters, expect

Python rules come from installed packs (entry points) and ``--rules-dir``. Exit 0 when every case
matches, 1 on a mismatch (with a diff of expected and actual outcomes), 2 when a case or policy
cannot be read or names a rule that is not loaded.
"""

from __future__ import annotations

import argparse
import difflib
import traceback
from datetime import UTC, datetime
from pathlib import Path

from .. import testing
from ..engine import policy
from ..engine.findings import Finding
from ..engine.rule import Rule
from ..errors import PolicyError, UsageError
from ..plugins import load_plugins
from . import subparser


def add_parser(rsub: argparse._SubParsersAction) -> None:
    tp = subparser(
        rsub, "test", help="run rule test cases (Python and CEL rules) from a folder; exit 1 on a mismatch"
    )
    tp.add_argument(
        "directory", metavar="DIR", help="folder of <RULE-ID>/ case folders and optional policy files"
    )
    tp.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also load rule-pack modules from a folder",
    )
    tp.add_argument(
        "--rule", dest="only", action="append", default=[], metavar="ID", help="only cases of these rule ids"
    )
    tp.set_defaults(func=run)


def _policies(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.iterdir()
        if p.is_file() and p.suffix in (".yaml", ".yml") and not p.name.startswith("_")
    )


def rules_for(root: Path, rules_dirs: list[str]) -> dict[str, Rule]:
    """Loaded packs' rules plus the custom rules of the policy files at the top of `root`."""
    plugins = load_plugins(rules_dirs=rules_dirs)
    today = datetime.now(UTC).date()
    catalog = dict(plugins.rules)
    problems: list[policy.Problem] = []
    for path in _policies(root):
        effective, found = policy.check(path, catalog, today=today)
        problems.extend(found)
        catalog.update(effective.custom_rules)
    if problems:
        raise PolicyError(policy.format_problems(problems))
    return catalog


def expectations(case: testing.Case, findings: list[Finding]) -> dict[str, str]:
    """Resource -> the outcome the case expects, from object names and `expect`."""
    out = {}
    for f in findings:
        m = testing._NAMED.search(f.resource)
        if m:
            out[f.resource] = testing._NAMED_OUTCOME[m.group(1).lower()].value
    out.update(case.expect)
    return out


def diff_text(case: testing.Case, findings: list[Finding]) -> list[str]:
    """A unified diff of expected and actual outcomes, for the resources the case speaks about."""
    want = expectations(case, findings)
    got = {f.resource: f for f in findings}
    shown = sorted(set(want) | {f.resource for f in findings if f.outcome.value == "fail"})
    expected = [f"{r}: {want[r]}" for r in shown if r in want]
    actual = [f"{r}: {got[r].outcome.value}" for r in shown if r in got]
    lines = list(difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=len(shown)))
    messages = [
        f"    {r}: {got[r].message}"
        for r in shown
        if r in got and got[r].message and want.get(r) != got[r].outcome.value
    ]
    return lines + (["  messages:", *messages] if messages else [])


def run(args: argparse.Namespace) -> int:
    root = Path(args.directory)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    catalog = rules_for(root, args.rules_dir)
    cases = testing.discover(root)
    if args.only:
        wanted = {r.upper() for r in args.only}
        cases = [c for c in cases if c.rule_id.upper() in wanted]
    if not cases:
        raise UsageError(f"{root}: no test cases (expected <RULE-ID>/good.yaml, bad.yaml, ...)")
    missing = sorted({c.rule_id for c in cases if c.rule_id not in catalog})
    if missing:
        raise UsageError(
            f"{root}: no rule loaded for case folder(s) {', '.join(missing)} (install the pack, use --rules-dir, or add the policy)"
        )
    failed = 0
    for case in cases:
        rule = catalog[case.rule_id]
        try:
            findings = testing.run_case(rule, case, strict=True)
        except PolicyError:
            raise
        except Exception as exc:  # noqa: BLE001 - a crashing rule is a failed case, shown with where it crashed
            failed += 1
            tb = traceback.extract_tb(exc.__traceback__)
            origin = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
            print(f"FAIL  {case.name}  ({case.path})\n  rule crashed: {type(exc).__name__}: {exc}{origin}")
            continue
        problems = testing.check_case(rule, case, findings)
        if problems:
            failed += 1
            print(f"FAIL  {case.name}  ({case.path})")
            for p in problems:
                print(f"  {p}")
            for line in diff_text(case, findings):
                print(f"  {line}")
        else:
            print(f"ok    {case.name}")
    print(f"\n{len(cases)} case(s): {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0
