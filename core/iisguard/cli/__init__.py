"""The command line. Each command lives in its own module with `add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from ..errors import IisguardError

EXIT_CODES = """\
exit codes:
  0  no active failure at or above --fail-on
  1  at least one active failure at or above --fail-on
  2  usage, input, policy or plugin error: nothing was evaluated or the result cannot be trusted
  3  the scan completed but a rule errored or a collection section (or host) failed
"""

# command name -> module under iisguard.cli
COMMANDS = {
    "scan": "scan",
    "validate": "validate",
    "import": "import_",
    "capture-script": "capture_script",
    "collect": "collect",
    "rules": "rules",
    "plugins": "plugins",
    "policy": "policy",
    "diff": "diff",
}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="iisguard",
        description="Policy-as-code compliance scanner for the identities IIS servers run under.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"iisguard {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        try:
            module = importlib.import_module(f"iisguard.cli.{modname}")
        except ModuleNotFoundError as exc:
            if exc.name == f"iisguard.cli.{modname}":
                continue  # command not built yet
            raise
        module.add_parser(sub, name)
    return parser


def subparser(
    sub: argparse._SubParsersAction, name: str, help: str, description: str = ""
) -> argparse.ArgumentParser:
    """A subcommand parser that documents the exit codes in its --help."""
    p = sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logging"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("IISGUARD_DEBUG") == "1"
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="iisguard: %(message)s")
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except IisguardError as exc:
        if debug:
            traceback.print_exc()  # the traceback only with --debug; the exit code stays the documented one
        print(f"iisguard: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("iisguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
