"""`iisguard import`: captured files and folders become one snapshot."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import subparser

MAX_LISTED = 20


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
    p.add_argument("-o", "--output", required=True, metavar="SNAPSHOT", help="snapshot file to write")
    p.add_argument(
        "--host", help="host name (default: capture.yaml, else the captured data, else the folder name)"
    )
    p.add_argument(
        "--kind", help="read every file as this format (see the parser kinds in `iisguard plugins`)"
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 2 when any line was skipped or any file unrecognized"
    )
    p.set_defaults(func=run)


def summary(data: dict[str, Any], output: str) -> str:
    collection = data.get("collection", {})
    sections = " ".join(
        f"{s['name']}={s['status']}" for s in collection.get("sections", []) if s.get("status") != "absent"
    )
    return (
        f"iisguard: imported {data['host']['name']}: {len(collection.get('artifacts') or [])} artifact(s), "
        f"sections {sections or '(none)'}, {len(collection.get('warnings') or [])} warning(s), "
        f"{len(collection.get('unrecognized') or [])} unrecognized -> {output}"
    )


def _details(data: dict[str, Any]) -> None:
    collection = data.get("collection", {})
    items = [
        f"  {w.get('artifact') or '-'}{':' + str(w['line']) if w.get('line') else ''}: {w['message']}"
        for w in collection.get("warnings") or []
    ] + [f"  {u['path']}: not recognized: {u['reason']}" for u in collection.get("unrecognized") or []]
    for line in items[:MAX_LISTED]:
        print(line, file=sys.stderr)
    if len(items) > MAX_LISTED:
        print(
            f"  ... and {len(items) - MAX_LISTED} more (see collection.warnings in the snapshot)",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    from ..capture.importer import StrictImportError, import_paths
    from ..plugins import import_parsers

    try:
        data = import_paths(
            args.paths,
            output=args.output,
            host=args.host,
            kind=args.kind,
            strict=args.strict,
            parsers=import_parsers(),
        )
    except StrictImportError as exc:
        print(summary(exc.snapshot, args.output), file=sys.stderr)
        _details(exc.snapshot)
        print(f"iisguard: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary(data, args.output), file=sys.stderr)
    return 0
