"""`iisguard validate`: check snapshot files against the schema, reporting every problem."""

from __future__ import annotations

import argparse
import sys

from ..errors import SnapshotError
from ..model import snapshot as snapmod
from . import subparser


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(sub, name, help="check snapshot files against the snapshot schema")
    p.add_argument("paths", nargs="+", metavar="SNAPSHOT_OR_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = snapmod.find_snapshot_files(args.paths)
    if not files:
        print(
            f"iisguard: error: no snapshot files (*.json) found in {', '.join(args.paths)}", file=sys.stderr
        )
        return 2
    bad = 0
    for path in files:
        try:
            data, raw = snapmod.read_json(path)
            snapmod.check_version(data, path)
        except SnapshotError as exc:
            print(f"{exc}", file=sys.stderr)
            bad += 1
            continue
        text = raw.decode("utf-8", "replace")
        found = snapmod.problems(data, text)
        for problem in found:
            print(problem.format(path), file=sys.stderr)
        if found:
            bad += 1
            continue
        for warning in snapmod.warnings(data, text):
            print(f"{path}:{warning.line}: warning: {warning.pointer}: {warning.message}", file=sys.stderr)
        print(f"{path}: valid (schema {data['schema_version']})")
    if bad:
        print(f"iisguard: {bad} of {len(files)} file(s) invalid", file=sys.stderr)
        return 2
    return 0
