"""The command line. Each command lives in its own module with `add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import io
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import IO

from ..errors import IisguardError, PluginError, describe
from ..redact import install_log_redaction, printable, redact, redact_exception

EXIT_CODES = """\
exit codes:
  0  no active failure at or above --fail-on
  1  at least one active failure at or above --fail-on
  2  usage, input, policy or plugin error: nothing was evaluated or the result cannot be trusted
  3  the scan completed but its result cannot be trusted and nothing gave 1: a rule errored (or
     crashed under --strict), a collection section failed, a host had nothing collected or no rule
     could judge anything, or a --require'd section is absent or failed
"""

# Each command's --help ends with its own exit codes (keyed by the parser's prog without "iisguard ").
COMMAND_EXIT_CODES = {
    "scan": EXIT_CODES,
    "validate": """\
exit codes:
  0  every snapshot is valid
  2  a file is missing, unreadable, not JSON or not valid against the schema (each problem listed)
""",
    "import": """\
exit codes:
  0  the snapshot (or one per host with -o DIR) was written
  2  usage or input error, nothing written: no file was recognized (each named), the captures are
     of several hosts and -o is not a folder, a file cannot be read; or --strict and a line was
     skipped or a file unrecognized (the snapshot is still written, for inspection)
""",
    "diff": """\
exit codes:
  0  nothing changed; declared vs observed: the server matches every scripted fact compared
  1  something changed (like diff(1)); declared vs observed: drift (a scripted fact differs or is
     missing on the server, or the server has one no script sets up)
  2  usage error, or a snapshot cannot be read
  3  declared vs observed, no drift found but the result cannot be trusted: a scripted fact could
     not be checked (the server's capture lacks its section, or a group's members), or the
     declared snapshot states nothing drift can check
""",
    "collect": """\
exit codes:
  0  every section of every host was collected
  2  usage or configuration error (inventory, credentials, options): nothing was collected
  3  collection failed: a host could not be reached, or a section or a fleet host failed (the
     snapshots of the others are written)
""",
    "collect-ad": """\
exit codes:
  0  every account and the domain controllers were read; the AD capture folder is written
  2  usage error: the snapshot, the URL, credentials, or ldap3 not installed (iisguard[ldap])
  3  the directory could not be read (connection, TLS, bind, search); nothing is written
""",
    "capture-script": """\
exit codes:
  0  the script was written
  2  usage error, or the file cannot be written
""",
    "rules list": """\
exit codes:
  0  the catalog was printed
  2  unknown framework, or a rule pack failed to load
""",
    "rules show": """\
exit codes:
  0  the rule was printed
  2  unknown rule id, or a rule pack failed to load
""",
    "rules test": """\
exit codes:
  0  every case gave the expected outcomes
  1  a case did not (the differences are shown)
  2  usage error, or a case or policy file is malformed
""",
    "plugins": """\
exit codes:
  0  every pack loaded
  2  a pack failed to load (listed with its error)
""",
    "policy check": """\
exit codes:
  0  every file is valid
  2  a file has problems (each printed as file:line: message)
""",
    "policy example": """\
exit codes:
  0  the example was printed
""",
}
USAGE_EXIT_CODES = """\
exit codes:
  2  no subcommand given (see the list above); each subcommand's --help lists its exit codes
"""

# command name -> module under iisguard.cli
COMMANDS = {
    "scan": "scan",
    "validate": "validate",
    "import": "import_",
    "capture-script": "capture_script",
    "collect": "collect",
    "collect-ad": "collect_ad",
    "rules": "rules",
    "plugins": "plugins",
    "policy": "policy",
    "diff": "diff",
    "merge": "merge",
}


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = argparse.ArgumentParser(
        prog="iisguard",
        description="Policy-as-code compliance scanner for the identities IIS servers run under.",
        epilog="Each command's --help lists its exit codes; those of `iisguard scan`:\n\n" + EXIT_CODES,
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command = p.prog.split(" ", 1)[-1]
    p.epilog = COMMAND_EXIT_CODES.get(command, USAGE_EXIT_CODES)
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logging"
    )
    return p


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt, so temporary files are removed on the way out."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


class _RedactedStream(io.TextIOBase):
    """stderr as iisguard writes it: every line redacted and its control/bidi characters escaped."""

    def __init__(self, raw: IO[str]) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(printable(redact(text), keep_newlines=True))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.raw, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.raw.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.raw, "encoding", "utf-8"))


class _ClosedStream(io.TextIOBase):
    """Standard output closed by the caller (`>&-`): writing to it is an error naming it, not a crash."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def isatty(self) -> bool:
        return False


def _error(message: str) -> None:
    print(f"iisguard: error: {message}", file=sys.stderr)


def program() -> None:
    """The `iisguard` command and `python -m iisguard`: `main()`, then the process ends without the
    interpreter freeing what it holds (see iisguard.lifetime; in-process callers use `main()`)."""
    from .. import lifetime

    lifetime.ending()
    lifetime.exit(main())


def main(argv: Sequence[str] | None = None) -> int:
    install_log_redaction()  # every log record, of every library, masked and escaped at birth
    if sys.stdout is None:
        sys.stdout = _ClosedStream()
    if sys.stderr is None:
        sys.stderr = io.StringIO()  # nowhere to tell; the exit code still says it
    real_stderr = sys.stderr
    sys.stderr = _RedactedStream(real_stderr)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            signal.signal(signal.SIGTERM, _on_sigterm)
        return _main(argv)
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        sys.stderr = real_stderr


def _main(argv: Sequence[str] | None) -> int:
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
        if debug:  # the traceback only with --debug; the exit code stays the documented one
            sys.stderr.write(redact_exception(exc))
        _error(str(exc))
        return exc.exit_code
    except SystemExit as exc:
        # iisguard itself never exits from inside a command: this is plugin code (a rule pack, a
        # reporter or parser) ending the process, which must not pass for a result (#18 case 15).
        if debug:
            sys.stderr.write(redact_exception(exc))
        _error(f"plugin code ended the run: {describe(exc)}; nothing can be trusted")
        return PluginError.exit_code
    except KeyboardInterrupt:
        print("iisguard: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("iisguard: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A read-only folder, a directory where a file goes, a full disk, a closed stdout: one line.
        if debug:
            sys.stderr.write(redact_exception(exc))
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2
    except (MemoryError, RecursionError) as exc:
        if debug:
            sys.stderr.write(redact_exception(exc))
        what = "out of memory" if isinstance(exc, MemoryError) else "input nested too deeply"
        _error(f"{what} ({type(exc).__name__}); nothing was written")
        return 2
