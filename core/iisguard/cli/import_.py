"""`iisguard import`: captured files and folders become one snapshot per host."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..redact import printable
from . import subparser

MAX_LISTED = 20  # warnings listed when --strict fails
SHOWN = 5  # warnings listed after an import


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="import captured files (capture-script folders, pasted command output, config files) into a snapshot",
        description=(
            "Import captured files and folders into one snapshot. Each file's format is detected from its "
            "content; capture.yaml (written by the capture script) may name the host, file kinds and token "
            "owners. Zip archives and saved -Stream output of the capture script are read too."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files and folders (walked recursively)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="SNAPSHOT|DIR|-",
        help="snapshot file to write; an existing folder (or a path ending in /) gets one <HOST>.json per "
        "host the captures name; - writes the snapshot to standard output",
    )
    p.add_argument(
        "--host", help="host name (default: capture.yaml, else the captured data, else the folder name)"
    )
    p.add_argument("--kind", help="read every file as this format (`iisguard plugins` lists the kinds)")
    p.add_argument(
        "--strict", action="store_true", help="exit 2 when any line was skipped or any file unrecognized"
    )
    p.set_defaults(func=run)


def summary(data: dict[str, Any], output: str) -> str:
    collection = data.get("collection", {})
    sections = " ".join(
        f"{s['name']}={s['status']}" for s in collection.get("sections", []) if s.get("status") != "absent"
    )
    shown = "standard output" if output == "-" else output
    # The host name comes from the capture (capture.yaml): a newline in it would forge a line (#18).
    return printable(
        f"iisguard: imported {data['host']['name']}: {len(collection.get('artifacts') or [])} artifact(s), "
        f"sections {sections or '(none)'}, {len(collection.get('warnings') or [])} warning(s), "
        f"{len(collection.get('unrecognized') or [])} unrecognized -> {shown}"
    )


def details(data: dict[str, Any], output: str, limit: int = SHOWN) -> list[str]:
    """The first `limit` warnings and unrecognized files (file:line: what), and where the rest are."""
    collection = data.get("collection", {})
    warnings = collection.get("warnings") or []
    unrecognized = collection.get("unrecognized") or []

    def shown(path: str | None) -> str:
        # Recorded paths are relative to the snapshot's folder; people read them from where they are.
        if not path or output == "-" or os.path.isabs(path):
            return path or "-"
        full = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(output)), path))
        rel = os.path.relpath(full)
        return full if rel.startswith("..") else rel

    lines = [
        f"  {shown(w.get('artifact'))}{':' + str(w['line']) if w.get('line') else ''}: {w['message']}"
        for w in warnings[:limit]
    ]
    where = "the snapshot on standard output" if output == "-" else output
    if len(warnings) > limit:
        lines.append(f"  ... {len(warnings) - limit} more warning(s) in collection.warnings of {where}")
    lines += [f"  {shown(u['path'])}: not recognized: {u['reason']}" for u in unrecognized[:limit]]
    if len(unrecognized) > limit:
        lines.append(
            f"  ... {len(unrecognized) - limit} more unrecognized file(s) in collection.unrecognized of {where}"
        )
    return [printable(line) for line in lines]  # file names and messages from the capture: one line each


def per_host(output: str) -> bool:
    """-o names a folder: one snapshot per host."""
    return output != "-" and (output.endswith(("/", os.sep)) or Path(output).is_dir())


def run(args: argparse.Namespace) -> int:
    from ..capture.importer import StrictImportError, import_paths, import_per_host
    from ..plugins import import_parsers

    out = args.output
    options = {"host": args.host, "kind": args.kind, "strict": args.strict, "parsers": import_parsers()}
    try:
        if per_host(out):
            results = import_per_host(args.paths, out, **options)
        else:
            results = [(import_paths(args.paths, output=out, **options), out)]
    except StrictImportError as exc:
        print(summary(exc.snapshot, out), file=sys.stderr)
        for line in details(exc.snapshot, out, MAX_LISTED):
            print(line, file=sys.stderr)
        print(f"iisguard: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for data, target in results:
        print(summary(data, target), file=sys.stderr)
        for line in details(data, target):
            print(line, file=sys.stderr)
    return 0
