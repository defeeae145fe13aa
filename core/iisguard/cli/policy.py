"""`iisguard policy check FILE...`: validate policies and profiles without scanning (CI for a policy repo)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from ..engine import policy
from ..engine.frameworks import shipped_policies_dir
from ..plugins import load_plugins
from . import subparser


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(sub, name, help="validate organization policies and profiles")
    psub = p.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    cp = subparser(
        psub,
        "check",
        help="check policy files (schema, rule ids, parameters, CEL, waivers, extends); exit 2 on any problem",
    )
    cp.add_argument("files", nargs="+", metavar="FILE")
    cp.add_argument("--format", choices=["text", "json"], default="text")
    cp.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also load rule-pack modules from a folder",
    )
    cp.set_defaults(func=run_check)
    ep = subparser(
        psub,
        "example",
        help="print the commented example policy shipped with iisguard (a file to start from)",
    )
    ep.set_defaults(func=run_example)

    def usage(args: argparse.Namespace) -> int:
        p.print_help(sys.stderr)
        return 2

    p.set_defaults(func=usage)


def run_example(args: argparse.Namespace) -> int:
    sys.stdout.write((shipped_policies_dir() / "examples" / "acme-policy.yaml").read_text("utf-8"))
    return 0


def run_check(args: argparse.Namespace) -> int:
    plugins = load_plugins(rules_dirs=args.rules_dir)
    today = datetime.now(UTC).date()
    results = []
    failed = False
    for path in args.files:
        effective, problems = policy.check(path, plugins.rules, today=today)
        failed = failed or bool(problems)
        results.append(
            {
                "file": path,
                "ok": not problems,
                "problems": [{"where": p.where, "message": p.message} for p in problems],
                "extends": [d.path for d in effective.documents[:-1]],
                "custom_rules": sorted(effective.custom_rules),
                "overrides": sorted(effective.overrides),
                "waivers": len(effective.waivers),
                "expired_waivers": sum(1 for w in effective.waivers if w.expires < today),
            }
        )
    if args.format == "json":
        print(json.dumps({"ok": not failed, "files": results}, indent=2))
    else:
        for r in results:
            if r["ok"]:
                extra = f", {r['expired_waivers']} expired" if r["expired_waivers"] else ""
                print(
                    f"ok   {r['file']}: {len(r['custom_rules'])} custom rule(s), {len(r['overrides'])} override(s), "
                    f"{r['waivers']} waiver(s){extra}"
                )
            else:
                for p in r["problems"]:
                    print(f"{p['where']}: {p['message']}", file=sys.stderr)
        bad = sum(1 for r in results if not r["ok"])
        if bad:
            print(f"iisguard: {bad} of {len(results)} policy file(s) have problems", file=sys.stderr)
    return 2 if failed else 0
