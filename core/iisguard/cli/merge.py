"""`iisguard merge`: combine the JSON reports of sharded scans into the reports of one scan."""

from __future__ import annotations

import argparse
import os

from .. import pipeline
from ..engine.findings import Severity
from ..errors import UsageError
from ..plugins import load_plugins
from ..report import shards
from . import subparser
from .scan import OutputSpec, add_format_option, parse_fail_on, write_reports


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="combine shard reports (scan --shard K/N --format json:FILE) into one report and one gate",
        description="Combine the JSON reports of `iisguard scan --shard K/N` (every K from 1 to N, each "
        "once) into the reports one scan of all the snapshots writes: hosts in the same order, waivers and "
        "the baseline applied to the whole fleet, one gate. Run it where the shards ran (same iisguard, "
        "same packs, the policy and baseline files at the same paths).",
    )
    p.add_argument("reports", nargs="+", metavar="SHARD.json")
    add_format_option(p)
    p.add_argument(
        "--fail-on",
        type=parse_fail_on,
        default=...,
        metavar="SEVERITY",
        help="exit 1 when an active failure is at or above this severity (default: the shards' own)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="text: the summary and active failures only")
    p.add_argument("--compact", action="store_true", help="text: one line per finding")
    p.add_argument(
        "--sarif-root",
        metavar="DIR",
        help="make SARIF locations relative to DIR (the repository root), as for scan",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    outputs: list[OutputSpec] = args.formats or [OutputSpec("text", "-")]
    if sum(1 for o in outputs if o.path == "-") > 1:
        raise UsageError("only one --format may write to stdout")
    if args.sarif_root is not None and not os.path.isdir(args.sarif_root):
        raise UsageError(f"--sarif-root {args.sarif_root}: not a directory")
    parts = [shards.read(path) for path in args.reports]
    plugins = load_plugins(**pipeline.shard_plugin_options(parts[0]))
    for out in outputs:
        if out.format not in plugins.reporters:
            raise UsageError(
                f"unknown format {out.format!r} (available: {', '.join(sorted(plugins.reporters))})"
            )
    fail_on: Severity | None | object = args.fail_on
    report = pipeline.merge(parts, fail_on=fail_on, plugins=plugins)
    write_reports(
        report, outputs, plugins.reporters, sarif_root=args.sarif_root, quiet=args.quiet, compact=args.compact
    )
    return report.exit_code()
