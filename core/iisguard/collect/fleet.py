"""Fleet collection: an inventory of host groups, collected concurrently with a bound.

One snapshot per host goes to the output folder (`<name>.json`). A host that cannot be collected
does not stop the others: it gets a snapshot whose sections are all `failed` with the reason, so
`iisguard scan DIR` reports it as not reviewed instead of silently leaving it out.

Inventory (YAML):

    defaults:                      # optional, inherited by every group
      transport: ntlm
      scheme: https
    groups:
      dmz:
        transport: basic
        ca_bundle: certs/dmz-ca.pem      # relative to the inventory file
        username_env: DMZ_USERNAME        # where this group's credentials are
        password_env: DMZ_PASSWORD
        hosts:
          - web01.dmz.example.com
          - web02.dmz.example.com:5986
          - {host: 10.0.5.7, name: web03, read_timeout: 120}
    hosts: [standalone01]          # optional: hosts outside any group
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ..errors import IisguardError, UsageError
from ..model.snapshot import SECTIONS
from ..redact import printable, redact
from . import credentials as creds
from . import winrm

log = logging.getLogger(__name__)

SETTINGS = {
    "transport": str,
    "scheme": str,
    "port": int,
    "ca_bundle": str,
    "insecure_skip_verify": bool,
    "read_timeout": (int, float),
    "operation_timeout": (int, float),
    "deadline": (int, float),
    "username": str,
    "username_env": str,
    "password_env": str,
    "cert": str,
    "cert_key": str,
    "kerberos_delegation": bool,  # Kerberos only: let the server reach AD and UNC shares (--delegate)
    "script_path": str,  # a signed capture script already on the server (--script-path)
}
PATH_SETTINGS = ("ca_bundle", "cert", "cert_key")
SECRET_KEYS = {"password", "passwd", "secret", "credential", "credentials"}
MAX_CONCURRENCY = 256


# -- the inventory -----------------------------------------------------------------------------
class _LineDict(dict[Any, Any]):
    line = 0


def _load_yaml(path: Path) -> Any:
    import yaml

    from ..yamlsource import GuardedLoader

    class Loader(GuardedLoader):  # alias bombs and absurd nesting refused with the line
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
        out = _LineDict(loader.construct_mapping(node, deep=True))
        out.line = node.start_mark.line + 1
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read the inventory: {exc.strerror or exc}", where=str(path)) from None
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where=where) from None


@dataclass
class FleetHost:
    """One inventory entry with its effective settings (defaults < group < host)."""

    name: str  # the snapshot's file name (without .json)
    address: str  # what to connect to: host or host:port
    group: str
    settings: dict[str, Any] = field(default_factory=dict)
    line: int = 0


def _settings(block: dict[str, Any], where: str, *, allow: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in block.items():
        if str(key).lower() in SECRET_KEYS:
            raise UsageError(
                f"'{key}': secrets never go in the inventory; name the environment variable that holds "
                "the password with password_env",
                where=where,
            )
        if key in allow:
            continue
        if key not in SETTINGS:
            known = ", ".join(sorted(SETTINGS))
            raise UsageError(f"unknown setting '{key}' (known: {known})", where=where)
        expected = SETTINGS[key]
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):  # type: ignore[arg-type]
            raise UsageError(f"'{key}' has the wrong type ({type(value).__name__})", where=where)
        out[key] = value
    if "scheme" in out and out["scheme"] not in winrm.DEFAULT_PORTS:
        raise UsageError(f"scheme must be https or http, not {out['scheme']!r}", where=where)
    return out


def safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "host"


def load_inventory(
    path: str | os.PathLike[str], limit: str | None = None, notes: list[str] | None = None
) -> list[FleetHost]:
    """Every host of the inventory (iisguard's hosts.yaml or an Ansible inventory, INI or YAML)
    with its effective settings, narrowed by an Ansible `--limit` pattern; errors name the file and
    line. Notes to print once (variables not used, passwords ignored) are appended to `notes`."""
    from . import ansible_inventory as ansible

    p = Path(path)
    if not p.is_file():
        raise UsageError("cannot read the inventory: no such file", where=str(p))
    if p.suffix.lower() in {".yml", ".yaml", ".json"}:
        data = _load_yaml(p)
        if not isinstance(data, dict):
            raise UsageError(
                "an inventory is a mapping: iisguard's (defaults, groups, hosts) or Ansible's (all: …)",
                where=str(p),
            )
    else:
        try:
            data = _load_yaml(p)
        except UsageError:
            data = None  # not YAML: an Ansible INI inventory (its parser names a bad line)
    if not (isinstance(data, dict) and ({"groups", "defaults"} & set(data) or ansible.is_own_format(data))):
        inv = ansible.read(p, data if isinstance(data, dict) else None)
        resolved, found = ansible.resolve(inv, ansible.select(inv, limit))
        if notes is not None:
            notes.extend(found)
        return _checked(
            p,
            [FleetHost(safe_file_name(r.name), r.address, r.group, r.settings, r.line) for r in resolved],
            limit,
        )
    hosts = _load_own(p, data)
    if limit:
        inv = ansible.Inventory(p)
        for h in hosts:
            inv.add_host(h.group or "ungrouped", h.name, {}, h.line)
        inv.finish()
        chosen = set(ansible.select(inv, limit))
        hosts = [h for h in hosts if h.name in chosen]
    return _checked(p, hosts, limit)


def _checked(p: Path, hosts: list[FleetHost], limit: str | None) -> list[FleetHost]:
    seen: dict[str, FleetHost] = {}
    for h in hosts:
        if h.name in seen:
            raise UsageError(
                f"hosts '{seen[h.name].address}' and '{h.address}' would both write {h.name}.json",
                where=f"{p}:{h.line}" if h.line else str(p),
            )
        seen[h.name] = h
    if not hosts:
        raise UsageError(
            f"no host matches --limit {limit!r}" if limit else "the inventory lists no hosts", where=str(p)
        )
    return hosts


def _load_own(p: Path, data: Any) -> list[FleetHost]:
    if not isinstance(data, dict):
        raise UsageError(
            "an inventory is a mapping with 'groups' (and optionally 'defaults', 'hosts')", where=str(p)
        )
    unknown = set(data) - {"defaults", "groups", "hosts"}
    if unknown:
        raise UsageError(
            f"unknown top-level key(s): {', '.join(sorted(map(str, unknown)))} "
            "(expected defaults, groups, hosts)",
            where=f"{p}:{getattr(data, 'line', 1)}",
        )
    defaults_block = data.get("defaults") or {}
    if not isinstance(defaults_block, dict):
        raise UsageError("'defaults' must be a mapping of settings", where=str(p))
    defaults = _settings(defaults_block, f"{p}:{getattr(defaults_block, 'line', 1)}", allow=set())
    groups = data.get("groups") or {}
    if not isinstance(groups, dict):
        raise UsageError("'groups' must map group names to their settings and hosts", where=str(p))
    entries: list[tuple[str, dict[str, Any], Any, int]] = []
    for group_name, group in groups.items():
        where = f"{p}:{getattr(group, 'line', 1)}"
        if not isinstance(group, dict):
            raise UsageError(f"group '{group_name}' must be a mapping with 'hosts'", where=where)
        settings = {**defaults, **_settings(group, where, allow={"hosts"})}
        entries.append((str(group_name), settings, group.get("hosts"), getattr(group, "line", 1)))
    if data.get("hosts") is not None:
        entries.append(("", dict(defaults), data.get("hosts"), getattr(data, "line", 1)))

    hosts: list[FleetHost] = []
    seen: dict[str, int] = {}
    for group_name, settings, items, line in entries:
        if not isinstance(items, list) or not items:
            label = f"group '{group_name}'" if group_name else "'hosts'"
            raise UsageError(f"{label} needs a non-empty list of hosts", where=f"{p}:{line}")
        for item in items:
            if isinstance(item, str):
                address, host_settings, name, item_line = item, {}, None, line
            elif isinstance(item, dict) and isinstance(item.get("host"), str):
                item_line = getattr(item, "line", line)
                address = item["host"]
                name = item.get("name")
                host_settings = _settings(item, f"{p}:{item_line}", allow={"host", "name"})
            else:
                raise UsageError(
                    "a host is a string (name or name:port) or a mapping with 'host'", where=f"{p}:{line}"
                )
            effective = {**settings, **host_settings}
            for key in PATH_SETTINGS:
                if key in effective and not Path(effective[key]).is_absolute():
                    effective[key] = str((p.parent / effective[key]).resolve())
            file_name = safe_file_name(str(name) if name else address)
            if file_name in seen:
                raise UsageError(
                    f"host '{address}' would write {file_name}.json, like the host on line {seen[file_name]}; "
                    "give one of them a distinct 'name'",
                    where=f"{p}:{item_line}",
                )
            seen[file_name] = item_line
            hosts.append(FleetHost(file_name, address, group_name, effective, item_line))
    return hosts


def target_for(host: FleetHost, cli: dict[str, Any]) -> winrm.Target:
    """The host's Target: inventory settings over the command line's, over the built-in defaults."""
    s = {**{k: v for k, v in cli.items() if v is not None}, **host.settings}
    return winrm.make_target(
        host.address,
        transport=s.get("transport", "ntlm"),
        port=s.get("port"),
        scheme=s.get("scheme"),
        ca_bundle=s.get("ca_bundle"),
        insecure_skip_verify=bool(s.get("insecure_skip_verify", False)),
        read_timeout=s.get("read_timeout"),
        operation_timeout=s.get("operation_timeout"),
        deadline=s.get("deadline"),
        cert_pem=s.get("cert"),
        cert_key_pem=s.get("cert_key"),
        delegate=bool(s.get("kerberos_delegation", False)),
        script_path=s.get("script_path"),
    )


# -- running ---------------------------------------------------------------------------------
@dataclass
class HostResult:
    host: FleetHost
    status: str  # ok, partial (some sections failed), failed
    seconds: float
    sections: str = ""
    reason: str = ""
    requests: int = 0
    path: str = ""


def failed_snapshot(name: str, reason: str, source: str = "winrm") -> dict[str, Any]:
    """A snapshot that says collection failed, so a scan of the folder reports the host as not reviewed."""
    from ..version import __version__

    message = f"collection failed: {printable(redact(reason))}"  # a server's fault text may quote a secret
    return {
        "schema_version": "1.0",
        "host": {"name": name},
        "collection": {
            "source": source,
            "tool_version": __version__,
            "collected_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "artifacts": [],
            "sections": [{"name": s, "status": "failed", "message": message} for s in SECTIONS],
            "warnings": [{"artifact": None, "line": None, "message": message}],
        },
    }


def collect_one(
    host: FleetHost,
    target: winrm.Target,
    credentials: creds.Credentials,
    out_dir: Path,
    keep_artifacts: Path | None,
    parsers: list[Any] | None = None,
) -> HostResult:
    from ..model.snapshot import save

    started = time.monotonic()
    path = out_dir / f"{host.name}.json"
    try:
        got = winrm.collect(
            target,
            credentials,
            keep_artifacts=keep_artifacts / host.name if keep_artifacts else None,
            snapshot_path=path,
            parsers=parsers,
        )
    except IisguardError as exc:
        reason = str(exc)
        save(failed_snapshot(host.name, reason), path)
        return HostResult(host, "failed", time.monotonic() - started, "-", reason, path=str(path))
    except Exception as exc:  # noqa: BLE001 - one host's bug must not stop the fleet
        log.debug("%s: unexpected failure", host.name, exc_info=True)
        reason = f"{target.label}: internal error {type(exc).__name__}: {exc}"
        save(failed_snapshot(host.name, reason), path)
        return HostResult(host, "failed", time.monotonic() - started, "-", reason, path=str(path))
    save(got.snapshot, path)
    return HostResult(
        host,
        "partial" if got.failed_sections else "ok",
        time.monotonic() - started,
        got.section_summary(),
        requests=sum(got.requests.values()),
        path=str(path),
    )


def resolve_credentials(
    hosts: list[FleetHost], targets: dict[str, winrm.Target]
) -> dict[str, creds.Credentials]:
    """One credential lookup (or prompt) per distinct source, before any thread starts."""
    cache: dict[tuple[Any, ...], creds.Credentials] = {}
    out: dict[str, creds.Credentials] = {}
    for host in hosts:
        transport = targets[host.name].transport
        user_env = host.settings.get("username_env", creds.USERNAME_ENV)
        pass_env = host.settings.get("password_env", creds.PASSWORD_ENV)
        key = (
            transport in creds.NO_PASSWORD,
            transport == "basic",
            user_env,
            pass_env,
            host.settings.get("username"),
        )
        if key not in cache:
            got = creds.resolve(
                transport,
                username_env=user_env,
                password_env=pass_env,
                prompt_for=f"group {host.group}" if host.group else "",
            )
            if host.settings.get("username") and transport not in creds.NO_PASSWORD:
                got = creds.Credentials(host.settings["username"], got.password)
            cache[key] = got
        out[host.name] = cache[key]
    return out


def run_fleet(
    hosts: list[FleetHost],
    *,
    out_dir: Path,
    concurrency: int,
    cli_settings: dict[str, Any],
    keep_artifacts: Path | None = None,
    progress_stream: TextIO | None = None,
) -> list[HostResult]:
    """Collect every host, `concurrency` at a time; results in inventory order."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}")
    targets = {h.name: target_for(h, cli_settings) for h in hosts}
    credentials = resolve_credentials(hosts, targets)
    out_dir.mkdir(parents=True, exist_ok=True)
    seen_notices: set[str] = set()
    for target in targets.values():
        for notice in target.notices():
            generic = notice.split(": ", 1)[1]
            if generic not in seen_notices:
                seen_notices.add(generic)
                print(f"iisguard: note: {notice}", file=sys.stderr)
    from ..plugins import import_parsers
    from .script import capture_script

    parsers = import_parsers()  # parser plugins load once, not once per host
    capture_script()  # read once here rather than racing in the threads
    stream = progress_stream or sys.stderr
    reporter = _Progress(len(hosts), stream)
    results: dict[str, HostResult] = {}
    with reporter, ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="collect") as pool:
        futures = {
            pool.submit(
                collect_one, h, targets[h.name], credentials[h.name], out_dir, keep_artifacts, parsers
            ): h
            for h in hosts
        }
        for future in as_completed(futures):
            result = future.result()
            results[result.host.name] = result
            reporter.advance(result)
    return [results[h.name] for h in hosts]


class _Progress:
    """A rich progress bar on a terminal; one plain line per finished host otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.lock = threading.Lock()
        self.bar: Any = None
        if stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("collecting"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=Console(file=stream),
                transient=True,
            )
            self.task = self.bar.add_task("", total=total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self, result: HostResult) -> None:
        with self.lock:
            self.done += 1
            if self.bar is not None:
                self.bar.update(self.task, advance=1, description=f"{result.host.name}: {result.status}")
                if result.status == "failed":
                    self.bar.console.print(
                        f"[red]{result.host.name}[/red]: {result.reason}", markup=True, highlight=False
                    )
                return
            width = len(str(self.total))
            detail = result.reason if result.status == "failed" else result.sections
            print(
                f"[{self.done:>{width}}/{self.total}] {result.host.name}: {result.status} "
                f"({result.seconds:.1f} s) {detail}",
                file=self.stream,
                flush=True,
            )


def print_summary(results: list[HostResult], stream: TextIO) -> None:
    """The table at the end: host, status, sections, time (and the reason for a failed host)."""
    rows = [
        (r.host.name, r.status, r.reason if r.status == "failed" else r.sections, f"{r.seconds:.1f} s")
        for r in results
    ]
    failed = sum(r.status == "failed" for r in results)
    footer = f"{len(results)} host(s): {len(results) - failed} collected, {failed} failed"
    if stream.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table("host", "status", "sections", "time", title="collection summary")
        for name, status, sections, seconds in rows:
            style = {"ok": "green", "partial": "yellow", "failed": "red"}.get(status, "")
            table.add_row(name, f"[{style}]{status}[/{style}]", sections, seconds)
        console = Console(file=stream)
        console.print(table)
        console.print(footer, highlight=False)
        return
    header = ("host", "status", "sections", "time")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in (0, 1, 3)]
    print(
        f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[3]:>{widths[2]}}  {header[2]}",
        file=stream,
    )
    for name, status, sections, seconds in rows:
        print(f"{name:<{widths[0]}}  {status:<{widths[1]}}  {seconds:>{widths[2]}}  {sections}", file=stream)
    print(footer, file=stream)


def exit_code(results: list[HostResult]) -> int:
    """3 when any host (or any host's section) failed, else 0."""
    return 3 if any(r.status != "ok" for r in results) else 0
