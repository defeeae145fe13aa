"""`iisguard capture-script`: print (or save) the PowerShell script that captures a server."""

from __future__ import annotations

import argparse
import sys

from . import subparser

USAGE = """\
On the server, as an administrator (Windows PowerShell 5.1 or PowerShell 7; no module needed):
  powershell -NoProfile -ExecutionPolicy Bypass -File capture.ps1 [-OutputPath DIR] [-NoZip] [-NoRecurse]
It writes a capture folder and a zip of it; carry either out and run:
  iisguard import CAPTURE_FOLDER_OR_ZIP -o snapshot.json
Passwords and keys in the copied configuration files are replaced on the server before writing.
"""


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="print the PowerShell capture script for air-gapped servers",
        description="Print the PowerShell script that captures what iisguard needs from one IIS server.\n\n"
        + USAGE,
    )
    p.add_argument("--out", metavar="FILE", help="write the script to FILE instead of standard output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..atomic import write_text
    from ..collect.script import capture_script

    script = capture_script()
    if args.out and args.out != "-":
        write_text(args.out, script)
        print(f"iisguard: wrote the capture script to {args.out}\n{USAGE}", file=sys.stderr, end="")
    else:
        sys.stdout.write(script)
    return 0
