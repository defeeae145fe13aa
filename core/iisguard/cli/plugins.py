"""`iisguard plugins`: the packs that are loaded, their versions and what each provides."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..plugins import load_plugins
from . import subparser


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(sub, name, help="list rule packs, reporters and parsers with their versions")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also load rule-pack modules from a folder",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plugins = load_plugins(skip_broken=True, rules_dirs=args.rules_dir)
    if args.format == "json":
        print(json.dumps([p.as_dict() for p in plugins.packs], indent=2))
    else:
        for p in plugins.packs:
            status = f"BROKEN: {p.error}" if p.error else "ok"
            provides = []
            if p.rules:
                provides.append(
                    f"{len(p.rules)} rules ({', '.join(p.rules[:3])}{', …' if len(p.rules) > 3 else ''})"
                )
            if p.reporters:
                provides.append("reporters: " + ", ".join(p.reporters))
            if p.parsers:
                provides.append("parsers: " + ", ".join(p.parsers))
            kind = "built-in" if p.builtin else "third-party"
            print(f"{p.label:<28} {kind:<11} {status:<6} {'; '.join(provides) or '-'}")
        print(f"\nimport formats (iisguard import --kind KIND): {', '.join(import_kinds(plugins))}")
    return 2 if plugins.broken else 0


def import_kinds(plugins: Any) -> list[str]:
    """Every parser kind `iisguard import` can use: the built-in ones, then those packs register."""
    from ..capture import registry

    kinds = [p.kind for p in registry.builtin_parsers()]
    for pack in plugins.packs:
        kinds.extend(k for k in pack.parsers if k not in kinds)
    return kinds
