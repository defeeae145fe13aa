"""`iisguard collect`: a snapshot from a live server (WinRM), from this machine (--local), or a fleet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import IisguardError, UsageError
from ..plugins import import_parsers
from . import subparser

DESCRIPTION = """\
Collect a snapshot by running the capture script on the server and importing what it prints.

  iisguard collect HOST[:PORT] -o SNAPSHOT          one server over WinRM (HTTPS, port 5986, NTLM)
  iisguard collect --local -o SNAPSHOT              this Windows machine, through powershell.exe
  iisguard collect --inventory hosts.yaml --out-dir DIR [--concurrency N]
                                                    a fleet: one snapshot per host in DIR

Credentials come from IISGUARD_USERNAME and IISGUARD_PASSWORD, a prompt on a terminal, or the
Kerberos ticket cache (--transport kerberos, after kinit); never from the command line.
Plain HTTP (--http) is allowed only with a transport that encrypts messages (ntlm, kerberos,
credssp). Kerberos and CredSSP need pywinrm's extras: pip install 'iisguard[kerberos]' or
'iisguard[credssp]'.
"""


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="collect a snapshot from a server over WinRM, locally, or from a fleet",
        description=DESCRIPTION,
    )
    p.add_argument("host", nargs="?", metavar="HOST", help="host name or address, optionally :PORT")
    p.add_argument(
        "-o", "--output", metavar="SNAPSHOT", help="write the snapshot here (default: standard output)"
    )
    where = p.add_argument_group("what to collect from")
    where.add_argument(
        "--local", action="store_true", help="this machine, through powershell.exe (Windows only)"
    )
    where.add_argument(
        "--inventory",
        metavar="FILE",
        help="a fleet inventory: iisguard's hosts.yaml, or an Ansible inventory (INI or YAML, with "
        "group_vars/ and host_vars/ beside it)",
    )
    where.add_argument(
        "--limit",
        metavar="PATTERN",
        help="with --inventory: only the hosts an Ansible host pattern selects "
        "(web:&prod:!web03, 'web*', ~regex, @file)",
    )
    where.add_argument(
        "--out-dir", metavar="DIR", help="with --inventory: where to write one snapshot per host"
    )
    where.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="with --inventory: hosts collected at once (default 8)",
    )
    conn = p.add_argument_group("connection (for a fleet: defaults under the inventory's own settings)")
    conn.add_argument(
        "--transport",
        choices=("ntlm", "kerberos", "credssp", "basic", "certificate"),
        help="authentication (default ntlm)",
    )
    conn.add_argument(
        "--port", type=int, metavar="N", help="WinRM port (default 5986 for HTTPS, 5985 for HTTP)"
    )
    scheme = conn.add_mutually_exclusive_group()
    scheme.add_argument(
        "--https", dest="scheme", action="store_const", const="https", help="HTTPS (the default)"
    )
    scheme.add_argument(
        "--http",
        dest="scheme",
        action="store_const",
        const="http",
        help="plain HTTP; only with ntlm, kerberos or credssp, which encrypt the messages",
    )
    conn.add_argument(
        "--ca-bundle", metavar="FILE", help="PEM file of the CA that issued the listener's certificate"
    )
    conn.add_argument(
        "--insecure-skip-verify",
        action="store_true",
        default=None,
        help="do not verify the server's certificate (lab use only)",
    )
    conn.add_argument(
        "--read-timeout", type=float, metavar="S", help="seconds to wait for any HTTP answer (default 60)"
    )
    conn.add_argument(
        "--operation-timeout",
        type=float,
        metavar="S",
        help="seconds the server may hold one request (default 20; less than --read-timeout)",
    )
    conn.add_argument(
        "--deadline",
        type=float,
        metavar="S",
        help="overall seconds allowed per host (default 900; checked between requests, each bounded by --read-timeout)",
    )
    conn.add_argument(
        "--delegate",
        action="store_true",
        default=None,
        help="with --transport kerberos: delegate the credential (forwardable ticket: kinit -f) so the server "
        "can query AD and read UNC content; inventory setting kerberos_delegation",
    )
    conn.add_argument(
        "--script-path",
        metavar="PATH",
        help="run a signed copy of the capture script already on the server (powershell -File PATH, "
        "AllSigned) instead of sending it; for hosts in Constrained Language Mode (App Control)",
    )
    conn.add_argument("--cert", metavar="FILE", help="client certificate (PEM) for --transport certificate")
    conn.add_argument("--cert-key", metavar="FILE", help="its private key (PEM) for --transport certificate")
    p.add_argument(
        "--record-failure",
        action="store_true",
        help="with HOST -o FILE: when the host cannot be collected, write a snapshot that records the "
        "failure (as a fleet does) and exit 3, so a later scan reports the host instead of missing it",
    )
    p.add_argument(
        "--name",
        metavar="NAME",
        help="with --record-failure: the host's name in that snapshot (its inventory name; default HOST)",
    )
    p.add_argument(
        "--keep-artifacts",
        metavar="DIR",
        help="also write the captured files here (a capture folder `iisguard import` reads)",
    )
    p.set_defaults(func=run)


def _connection_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "transport": args.transport,
        "port": args.port,
        "scheme": args.scheme,
        "ca_bundle": args.ca_bundle,
        "insecure_skip_verify": args.insecure_skip_verify,
        "read_timeout": args.read_timeout,
        "operation_timeout": args.operation_timeout,
        "deadline": args.deadline,
        "cert": args.cert,
        "cert_key": args.cert_key,
        "kerberos_delegation": args.delegate,
        "script_path": args.script_path,
    }


def run(args: argparse.Namespace) -> int:
    modes = [
        m for m, on in (("HOST", args.host), ("--local", args.local), ("--inventory", args.inventory)) if on
    ]
    if len(modes) != 1:
        raise UsageError(
            "give exactly one of HOST, --local or --inventory FILE"
            + (f" (got {', '.join(modes)})" if modes else "")
        )
    if args.inventory:
        return _fleet(args)
    if args.limit:
        raise UsageError("--limit goes with --inventory")
    if args.out_dir:
        raise UsageError("--out-dir goes with --inventory; for one host use -o SNAPSHOT")
    if args.local:
        given = [k for k, v in _connection_settings(args).items() if v is not None and k != "deadline"]
        if given:
            raise UsageError(f"--local makes no connection; drop --{given[0].replace('_', '-')}")
        from ..collect import local

        got = local.collect(
            keep_artifacts=args.keep_artifacts,
            snapshot_path=args.output,
            parsers=import_parsers(),
            **({"deadline": args.deadline} if args.deadline else {}),
        )
        return _write(got, args.output, "this machine")
    return _single(args)


def _single(args: argparse.Namespace) -> int:
    from ..collect import credentials as creds
    from ..collect import winrm

    s = _connection_settings(args)
    target = winrm.make_target(
        args.host,
        transport=s["transport"] or "ntlm",
        port=s["port"],
        scheme=s["scheme"],
        ca_bundle=s["ca_bundle"],
        insecure_skip_verify=bool(s["insecure_skip_verify"]),
        read_timeout=s["read_timeout"],
        operation_timeout=s["operation_timeout"],
        deadline=s["deadline"],
        cert_pem=s["cert"],
        cert_key_pem=s["cert_key"],
        delegate=bool(s["kerberos_delegation"]),
        script_path=s["script_path"],
    )
    for notice in target.notices():
        print(f"iisguard: note: {notice}", file=sys.stderr)
    credentials = creds.resolve(target.transport, prompt_for=target.label)
    try:
        got = winrm.collect(
            target,
            credentials,
            keep_artifacts=args.keep_artifacts,
            snapshot_path=args.output,
            parsers=import_parsers(),
        )
    except IisguardError as exc:
        if not (args.record_failure and args.output and args.output != "-"):
            raise
        return _record_failure(args.name or args.host, str(exc), args.output)
    return _write(got, args.output, target.label)


def _record_failure(host: str, reason: str, output: str) -> int:
    """The snapshot a fleet writes for a host it could not collect: every section failed, exit 3."""
    from ..collect import fleet
    from ..model.snapshot import save

    save(fleet.failed_snapshot(fleet.safe_file_name(host), reason), output)
    print(f"iisguard: error: {reason}", file=sys.stderr)
    print(
        f"iisguard: recorded the failure in {output}; a scan reports the host as not reviewed",
        file=sys.stderr,
    )
    return 3


def _write(got: Any, output: str | None, label: str) -> int:
    from ..model.snapshot import dumps, save

    if output and output != "-":
        save(got.snapshot, output)
        dest = output
    else:
        sys.stdout.write(dumps(got.snapshot))
        sys.stdout.flush()
        dest = "standard output"
    failed = got.failed_sections
    host = got.snapshot.get("host", {}).get("name", "?")
    print(
        f"iisguard: collected {label} (host {host}): sections {got.section_summary()}; "
        f"{sum(got.requests.values())} request(s), {got.seconds:.1f} s -> {dest}",
        file=sys.stderr,
    )
    # One line per reason: a stop (Constrained Language Mode, not elevated, a deadline) is said once.
    by_reason: dict[str, list[str]] = {}
    for section in got.sections:
        if section.get("status") == "failed":
            by_reason.setdefault(str(section.get("message", "")), []).append(str(section["name"]))
    for reason, names in by_reason.items():
        which = f"section {names[0]}" if len(names) == 1 else f"sections {', '.join(names)}"
        it = "it" if len(names) == 1 else "them"
        print(
            f"iisguard: warning: {which} failed on the server: {reason}; rules that need {it} will say "
            "not_reviewed",
            file=sys.stderr,
        )
    return 3 if failed else 0


def _fleet(args: argparse.Namespace) -> int:
    from ..collect import fleet

    if not args.out_dir:
        raise UsageError("--inventory needs --out-dir DIR (one snapshot per host is written there)")
    if args.output:
        raise UsageError("-o is for one host; with --inventory, snapshots go to --out-dir")
    notes: list[str] = []
    hosts = fleet.load_inventory(args.inventory, limit=args.limit, notes=notes)
    for note in notes:
        print(f"iisguard: note: {note}", file=sys.stderr)
    results = fleet.run_fleet(
        hosts,
        out_dir=Path(args.out_dir),
        concurrency=args.concurrency,
        cli_settings=_connection_settings(args),
        keep_artifacts=Path(args.keep_artifacts) if args.keep_artifacts else None,
    )
    fleet.print_summary(results, sys.stdout)
    return fleet.exit_code(results)
