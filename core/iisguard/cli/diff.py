"""`iisguard diff OLD NEW`: what changed between two snapshots, or, when one of them is declared (read
from build scripts), where the built server drifts from what its scripts say."""

from __future__ import annotations

import argparse
import json
import sys

from ..engine import diff, drift
from ..errors import UsageError
from ..model import snapshot as snapmod
from . import subparser


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="show what changed between two snapshots (pools and identities, anonymous users, user rights, "
        "ACEs, accounts, group membership, SPNs, delegation), or where a server drifts from its build scripts",
        description="Compare two snapshots of a host (say image 41 and image 42): exit 0 when nothing "
        "changed, 1 when something did (like diff(1)), 2 when a snapshot cannot be read. When one of them "
        "is declared (`iisguard import build/` or `scan --scripts` read it from build scripts) and the "
        "other observed (imported or collected from the built server), the diff shows drift instead: "
        "what the server has that differs from the scripts, what the scripts set up that the server "
        "lacks, and what the server has that no script sets up (for the kinds of facts the scripts "
        "declare), each with the script's and the capture's file:line. The order of the two does not "
        "matter then.",
    )
    p.add_argument("old", metavar="OLD_OR_DECLARED")
    p.add_argument("new", metavar="NEW_OR_OBSERVED")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--area",
        action="append",
        choices=sorted(set(diff.AREAS) | set(drift.AREAS)),
        help="only these areas (repeatable)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    old = snapmod.load(args.old)
    new = snapmod.load(args.new)
    if drift.is_declared(old) != drift.is_declared(new):
        return _drift(args, *((old, new) if drift.is_declared(old) else (new, old)))
    if args.area and not set(args.area) <= set(diff.AREAS):
        wrong = ", ".join(sorted(set(args.area) - set(diff.AREAS)))
        raise UsageError(f"--area {wrong}: an area of the drift between a declared and an observed snapshot")
    changes = diff.compare(old, new)
    if args.area:
        changes = [c for c in changes if c.area in args.area]
    if args.format == "json":
        sys.stdout.write(json.dumps(diff.as_json(old, new, changes), indent=2) + "\n")
    else:
        sys.stdout.write(diff.render_text(old, new, changes))
    return 1 if changes else 0


def _drift(args: argparse.Namespace, declared: snapmod.Snapshot, observed: snapmod.Snapshot) -> int:
    if args.area and not set(args.area) <= set(drift.AREAS):
        wrong = ", ".join(sorted(set(args.area) - set(drift.AREAS)))
        raise UsageError(f"--area {wrong}: not an area of the drift between declared and observed snapshots")
    result = drift.compare(declared, observed)
    if args.area:
        result.only(args.area)
    if args.format == "json":
        sys.stdout.write(json.dumps(drift.as_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(drift.render_text(result))
    return result.exit_code()
