"""`iisguard rules list|show`: the rule catalog as text, JSON or markdown."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..engine import frameworks
from ..engine.rule import Rule
from ..errors import UsageError
from ..plugins import load_plugins
from . import rule_cases, subparser


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(sub, name, help="list and show rules")
    rsub = p.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    lp = subparser(rsub, "list", help="list every rule with severity and title")
    lp.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    lp.add_argument("--framework", metavar="NAME", help="show coverage per benchmark item (e.g. stig-iis10)")
    lp.add_argument("--rules-dir", action="append", default=[], metavar="DIR")
    lp.set_defaults(func=run_list)
    sp = subparser(rsub, "show", help="show one rule's full metadata")
    sp.add_argument("rule_id", metavar="ID")
    sp.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    sp.add_argument("--rules-dir", action="append", default=[], metavar="DIR")
    sp.set_defaults(func=run_show)
    rule_cases.add_parser(rsub)

    def usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=usage)


def rule_dict(r: Rule) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "title": r.title,
        "severity": r.severity.value,
        "category": r.category,
        "pack": r.pack,
        "enabled_by_default": r.default_enabled,
        "description": r.description,
        "rationale": r.rationale,
        "remediation": r.remediation,
        "doc": r.doc,
        "references": [{"id": ref.id, "url": ref.url, "title": ref.title} for ref in r.references],
        "tags": list(r.all_tags),
        "parameters": [
            {"name": p.name, "type": p.type, "default": p.default, "description": p.description}
            for p in r.parameters
        ],
        "needs": list(r.needs),
        "aliases": list(r.aliases),
    }


def run_list(args: argparse.Namespace) -> int:
    rules = load_plugins(skip_broken=True, rules_dirs=args.rules_dir).rules
    if args.framework:
        return _coverage(args, rules)
    if args.format == "json":
        print(json.dumps([rule_dict(r) for r in rules.values()], indent=2))
    elif args.format == "markdown":
        print("| id | severity | default | title |\n|---|---|---|---|")
        for r in rules.values():
            print(f"| {r.id} | {r.severity.value} | {'on' if r.default_enabled else 'off'} | {r.title} |")
    else:
        for r in rules.values():
            flag = "" if r.default_enabled else "  (off by default)"
            print(f"{r.id:<14} {r.severity.value:<9} {r.title}{flag}")
    return 0


def _coverage(args: argparse.Namespace, rules: dict[str, Rule]) -> int:
    fw = frameworks.load(args.framework)
    rows: list[dict[str, Any]] = []
    for item in fw.items:
        known = [r for r in item.rules if r in rules]
        missing = [r for r in item.rules if r not in rules]
        coverage = (
            frameworks.AUTOMATED
            if known
            else frameworks.PROCEDURAL
            if item.procedural
            else frameworks.UNCOVERED
        )
        rows.append(
            {
                "id": item.id,
                "title": item.title,
                "rules": known,
                "missing_rules": missing,
                "covered": bool(known),
                "coverage": coverage,
                "procedural": item.procedural or None,
                "gap": item.gap or None,
            }
        )
    counts = fw.coverage(set(rules))
    if args.format == "json":
        print(
            json.dumps(
                {
                    "framework": fw.name,
                    "title": fw.title,
                    "version": fw.version,
                    "coverage": counts,
                    "items": rows,
                },
                indent=2,
            )
        )
        return 0
    if args.format == "markdown":
        print(f"## {fw.title} ({fw.version})\n\n{coverage_line(fw.name, counts)}\n")
        print("| item | title | rules |\n|---|---|---|")
        for row in rows:
            print(f"| {row['id']} | {row['title']} | {_what(row)} |")
    else:
        print(f"{fw.title} ({fw.version}): {coverage_line(fw.name, counts)}")
        marks = {frameworks.AUTOMATED: "✓", frameworks.PROCEDURAL: "P", frameworks.UNCOVERED: "·"}
        for row in rows:
            print(f"  {row['id']:<14} {marks[row['coverage']]} {row['title'][:60]:<60} {_what(row)}")
    return 0


def coverage_line(name: str, counts: dict[str, int]) -> str:
    """'89 items: 74 automated, 10 procedural, 5 uncovered' (the README quotes these lines)."""
    total = sum(counts.values())
    return f"{total} items: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _what(row: dict[str, Any]) -> str:
    if row["rules"]:
        return ", ".join(row["rules"])
    if row["procedural"]:
        return f"procedural: {row['procedural']}"
    return f"not covered ({row['gap']})" if row["gap"] else "not covered"


def run_show(args: argparse.Namespace) -> int:
    rules = load_plugins(skip_broken=True, rules_dirs=args.rules_dir).rules
    wanted = args.rule_id.upper()
    r = rules.get(wanted) or next(
        (x for x in rules.values() if wanted in (a.upper() for a in x.aliases)), None
    )
    if r is None:
        raise UsageError(f"no rule {args.rule_id!r} (see `iisguard rules list`)")
    d = rule_dict(r)
    if args.format == "json":
        print(json.dumps(d, indent=2))
        return 0
    md = args.format == "markdown"
    print(f"{'# ' if md else ''}{r.id}: {r.title}\n")
    print(f"Severity: {r.severity.value}   Pack: {r.pack}   Default: {'on' if r.default_enabled else 'off'}")
    for label, text in (
        ("Description", r.description),
        ("Rationale", r.rationale),
        ("Details", r.doc),  # the docstring: what it checks, why, a bad and a good example
        ("Remediation", r.remediation),
    ):
        if not text:
            continue
        print(f"\n{'## ' if md else ''}{label}\n{text}")
    if r.parameters:
        print(f"\n{'## ' if md else ''}Parameters")
        for p in r.parameters:
            print(f"  - {p.name} (default {p.default!r}): {p.description}")
    print(f"\n{'## ' if md else ''}References")
    for ref in r.references:
        print(f"  - {ref.id}: {ref.url}")
    return 0
