"""`iisguard diff OLD NEW`: what changed between two snapshots (identities, rights, ACLs, Kerberos)."""

from __future__ import annotations

import argparse
import json
import sys

from ..engine import diff
from ..model import snapshot as snapmod
from . import subparser


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="show what changed between two snapshots: pools and identities, anonymous users, user rights, "
        "ACEs, accounts, group membership, SPNs, delegation",
        description="Compare two snapshots of a host (say image 41 and image 42). Exit 0 when nothing "
        "changed, 1 when something did (like diff(1)), 2 when a snapshot cannot be read.",
    )
    p.add_argument("old", metavar="OLD_SNAPSHOT")
    p.add_argument("new", metavar="NEW_SNAPSHOT")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--area", action="append", choices=sorted(diff.AREAS), help="only these areas (repeatable)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    old = snapmod.load(args.old)
    new = snapmod.load(args.new)
    changes = diff.compare(old, new)
    if args.area:
        changes = [c for c in changes if c.area in args.area]
    if args.format == "json":
        sys.stdout.write(json.dumps(diff.as_json(old, new, changes), indent=2) + "\n")
    else:
        sys.stdout.write(diff.render_text(old, new, changes))
    return 1 if changes else 0
