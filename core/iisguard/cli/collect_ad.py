"""`iisguard collect-ad`: a host's AD facts over LDAP, as an AD capture folder to import beside its capture."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError
from . import subparser

DESCRIPTION = """\
Read the AD facts of one host's accounts over LDAP (TLS), from this machine, and write them as an
AD capture folder: what the capture script's AD part writes on a domain-joined machine. Use it when
the server's capture could not reach AD (no delegated credential: the `ad` section says "not
collected"), then import both folders together:

  iisguard collect web01 --keep-artifacts web01-capture -o web01.json
  iisguard collect-ad web01.json --server ldaps://dc01.corp.example -o web01-ad
  iisguard import web01-capture web01-ad -o web01.json

The accounts are the host's computer account and the domain accounts its snapshot names (pool and
service identities); the attributes are an allow-list (never description or other free text).
ldaps:// (636) or ldap:// with StartTLS (389); the DC's certificate is verified (--ca-bundle FILE
for a private CA). Credentials come from IISGUARD_USERNAME / IISGUARD_PASSWORD (DOMAIN\\user or
user@domain) or a prompt, never the command line. Needs ldap3: pip install 'iisguard[ldap]'.
"""


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub, name, help="read a host's AD facts over LDAP into an AD capture folder", description=DESCRIPTION
    )
    p.add_argument(
        "snapshot", metavar="SNAPSHOT_OR_CAPTURE", help="the host's snapshot (JSON) or capture folder"
    )
    p.add_argument(
        "--server", required=True, metavar="URL", help="ldaps://DC[:PORT] or ldap://DC[:PORT] (StartTLS)"
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the AD capture folder to write")
    p.add_argument(
        "--base-dn", metavar="DN", help="the domain's DN (default: the RootDSE's defaultNamingContext)"
    )
    p.add_argument("--ca-bundle", metavar="FILE", help="PEM of the CA that issued the DC's certificate")
    p.add_argument(
        "--insecure-skip-verify", action="store_true", help="do not verify the DC's certificate (a lab only)"
    )
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="connect and read timeout (default 30)"
    )
    p.set_defaults(func=run)


def _snapshot(path: str) -> dict[str, Any]:
    item = Path(path)
    if item.is_file() and item.suffix.casefold() == ".json":
        try:
            data = json.loads(item.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"not a readable snapshot ({type(exc).__name__})", where=path) from None
        if isinstance(data, dict) and "host" in data:
            return data
        raise UsageError("not an iisguard snapshot (no host)", where=path)
    from ..capture.importer import import_paths

    return import_paths([path], output=None)


def run(args: argparse.Namespace) -> int:
    from ..collect import ldap
    from ..collect.credentials import resolve

    target = ldap.make_target(
        args.server,
        ca_bundle=args.ca_bundle,
        insecure_skip_verify=args.insecure_skip_verify,
        base_dn=args.base_dn,
        timeout=args.timeout,
    )
    ldap._ldap3()  # the extra is named before anything else is asked for
    snapshot = _snapshot(args.snapshot)
    credentials = resolve("ldap", prompt_for=target.label)
    manifest = ldap.capture(snapshot, target, credentials, args.output)
    accounts = sum(1 for f in manifest["files"] if f["path"].startswith("ad/account-"))
    section = manifest["sections"][0]
    print(
        f"iisguard: {manifest['host']}: {accounts} account(s) read from {target.label} into {args.output} "
        f"(ad {section['status']}{': ' + section['message'] if section.get('message') else ''}); "
        f"import it beside the server's capture",
        file=sys.stderr,
    )
    if not target.verify:
        print(
            f"iisguard: {target.label}: certificate verification is off (--insecure-skip-verify)",
            file=sys.stderr,
        )
    return 0
