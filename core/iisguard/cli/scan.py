"""`iisguard scan`: evaluate snapshots and write reports."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import os
import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .. import pipeline
from ..atomic import Batch, fill
from ..engine import policy
from ..engine.evaluate import HostResult, Report
from ..engine.findings import Outcome, Severity
from ..errors import IisguardError, RuleCrashed, SnapshotError, UsageError
from ..forked import forked_map
from ..model import snapshot as snapmod
from ..plugins import load_plugins
from ..redact import escape_markup, redact_exception
from ..report.base import Locator
from ..report.text import TextReporter
from . import subparser
from .progress import TerminalProgress


@dataclass(frozen=True)
class OutputSpec:
    format: str
    path: str  # "-" for stdout


def parse_format(value: str) -> OutputSpec:
    fmt, sep, path = value.partition(":")
    if not fmt:
        raise argparse.ArgumentTypeError(f"bad --format {value!r}: expected FMT or FMT:PATH")
    return OutputSpec(fmt.strip().lower(), path.strip() if sep and path.strip() else "-")


def parse_fail_on(value: str) -> Severity | None:
    if value.strip().lower() == "never":
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} or 'never'") from None


def parse_shard(value: str) -> tuple[int, int]:
    try:
        return pipeline.parse_shard(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def sections_list(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in snapmod.SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section {(unknown or [value])[0]!r} (sections: {', '.join(snapmod.SECTIONS)})"
        )
    return names


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return n


def add_format_option(p: argparse.ArgumentParser) -> None:
    """--format / -f, repeatable, for every command that writes reports (scan, merge)."""
    p.add_argument(
        "--format",
        "-f",
        dest="formats",
        action="append",
        type=parse_format,
        metavar="FMT[:PATH]",
        help="output format (text, json, sarif, junit, or a plugin's) and file; repeatable; '-' or no path is "
        "stdout; a path with {host} in it, or ending in '/', writes one file per host (ckl, cklb and hdf "
        "describe one host each)",
    )


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = subparser(
        sub,
        name,
        help="evaluate snapshots (files or folders of *.json) and write reports",
        description="Evaluate one or more snapshots with the selected rules and write one report.",
    )
    p.add_argument("paths", nargs="+", metavar="SNAPSHOT_OR_DIR")
    p.add_argument(
        "--scripts",
        action="store_true",
        help="the paths are image-build scripts (PowerShell, batch, DSC, Ansible; files or folders): import "
        "them into one declared snapshot and scan it, with SARIF locations at the script lines "
        "(relative to --sarif-root, the repository root); for pull requests",
    )
    p.add_argument("--host", help="with --scripts: the host (image) name (default: the first folder's name)")
    add_format_option(p)
    p.add_argument(
        "--fail-on",
        type=parse_fail_on,
        default=Severity.MEDIUM,
        metavar="SEVERITY",
        help="exit 1 when an active failure is at or above this severity "
        "(critical, high, medium, low, info, or never; default medium)",
    )
    p.add_argument(
        "--rule", dest="rules", action="append", default=[], metavar="ID", help="run only these rules (globs)"
    )
    p.add_argument(
        "--skip-rule",
        dest="skip_rules",
        action="append",
        default=[],
        metavar="ID",
        help="do not run these rules",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        metavar="N",
        help="worker processes (default: one per CPU for 8 or more snapshots, else 1); on one snapshot, N "
        "processes share out its rules and render its outputs; the report is the same whatever N",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="re-raise rule crashes instead of reporting them (for rule authors)",
    )
    p.add_argument(
        "--skip-broken-plugins", action="store_true", help="scan without packs that fail to load (reported)"
    )
    p.add_argument(
        "--rules-dir", action="append", default=[], metavar="DIR", help="load rule-pack modules from a folder"
    )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="profile to start from: a shipped profile (baseline, cis-iis10, stig-iis10) or a file; "
        "default baseline",
    )
    p.add_argument(
        "--policy",
        dest="policies",
        action="append",
        default=[],
        metavar="FILE",
        help="organization policy (repeatable; later files override earlier ones); "
        f"default ./{policy.AUTO_POLICY} when it exists",
    )
    p.add_argument(
        "--include-passes",
        action="store_true",
        help="list passing resources in the JSON report's findings too (off: they are only counted)",
    )
    p.add_argument(
        "--framework",
        metavar="NAME",
        help="also report compliance by control for this framework (cis-iis10, stig-iis10): each item "
        "pass, fail, not reviewed, not applicable or not covered, in text, JSON and HTML",
    )
    p.add_argument(
        "--require",
        type=sections_list,
        action="append",
        default=[],
        metavar="SECTION,...",
        help="collection sections every host must have (" + ", ".join(snapmod.SECTIONS) + "): one that is "
        "absent or failed makes the scan exit 3; also `require:` in a profile or policy",
    )
    p.add_argument(
        "--no-waivers", action="store_true", help="ignore waivers: every failure shows and gates (audits)"
    )
    p.add_argument(
        "--baseline",
        metavar="PREVIOUS.sarif",
        help="a previous SARIF report: failures already in it are 'unchanged' and do not gate, fixed ones are 'absent'",
    )
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="text: the summary and the active failures only, one line each (no remediation, "
        "waived/baselined, not-reviewed or notice sections)",
    )
    p.add_argument(
        "--compact",
        action="store_true",
        help="text: one line per finding, no remediation text (cut to the terminal's width)",
    )
    p.add_argument(
        "--sarif-root",
        metavar="DIR",
        help="make SARIF locations relative to DIR, the repository root code scanning resolves them "
        "against (default: the working directory); files outside it are never named with '../'",
    )
    p.add_argument(
        "--shard",
        type=parse_shard,
        metavar="K/N",
        help="evaluate only the K-th of N parts of the snapshots (stable: every N-th file in sorted "
        "order) into a JSON report for `iisguard merge`, which applies waivers and the baseline and gates",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Snapshots are scanned, not imported: no built-in parser (`--scripts` loads them for its import).
    plugins = load_plugins(
        skip_broken=args.skip_broken_plugins, rules_dirs=args.rules_dir, builtin_parsers=False
    )
    outputs: list[OutputSpec] = args.formats or [OutputSpec("text", "-")]
    for out in outputs:
        if out.format not in plugins.reporters:
            raise UsageError(
                f"unknown format {out.format!r} (available: {', '.join(sorted(plugins.reporters))})"
            )
    if sum(1 for o in outputs if o.path == "-") > 1:
        raise UsageError("only one --format may write to stdout")
    if args.sarif_root is not None and not os.path.isdir(args.sarif_root):
        raise UsageError(f"--sarif-root {args.sarif_root}: not a directory")
    if args.shard and (not args.formats or any(o.format != "json" for o in outputs)):
        raise UsageError(
            "--shard writes the JSON report `iisguard merge` reads: give --format json:FILE "
            "(merge writes the SARIF, JUnit and other reports of the whole fleet)"
        )

    if args.host and not args.scripts:
        raise UsageError("--host names the image of build scripts: give it with --scripts")
    sources: list = list(args.paths)
    inputs: list[str] = []
    if args.scripts:
        sources = [
            declared_snapshot(args.paths, host=args.host, root=args.sarif_root, rules_dirs=args.rules_dir)
        ]
    else:
        try:
            inputs = snapmod.find_snapshot_files(args.paths)
        except Exception:  # noqa: BLE001 - the scan itself names a missing or unreadable input
            inputs = []
    auto = policy.auto_policy()
    check_outputs(outputs, [*inputs, *args.policies, *([str(auto)] if auto and not args.policies else [])])

    # Where each pass stands in its snapshot is found only for an output that shows it (Reporter.lists_passes).
    pass_details = args.include_passes or any(
        getattr(plugins.reporters[o.format], "lists_passes", True) for o in outputs
    )
    progress = TerminalProgress()  # on stderr, only on a terminal and after a second
    try:
        try:
            report = pipeline.scan(
                sources,
                plugins=plugins,
                profile=args.profile,
                policy=args.policies,
                auto_policy=True,
                rules=args.rules,
                skip_rules=args.skip_rules,
                waivers=not args.no_waivers,
                baseline=args.baseline,
                fail_on=args.fail_on,
                jobs=args.jobs,
                strict=args.strict,
                framework=args.framework,
                progress=progress,
                shard=args.shard,
                require=[name for names in args.require for name in names],
                pass_details=pass_details,
            )
        finally:
            progress.close()  # erase the line before anything else is printed
    except SnapshotError as exc:
        for line in exc.earlier:
            print(f"iisguard: error: {line}", file=sys.stderr)
        raise
    except IisguardError:
        raise
    except Exception as exc:
        if not args.strict:
            raise
        # --strict re-raises a crashing rule (for rule authors): the scan stops, exit 3 as documented.
        where = "; ".join(getattr(exc, "__notes__", ()) or ["in a rule"])
        if getattr(args, "debug", False) or os.environ.get("IISGUARD_DEBUG") == "1":
            sys.stderr.write(redact_exception(exc))
        raise RuleCrashed(
            f"--strict: {where} crashed: {type(exc).__name__}: {exc} (--debug shows where)"
        ) from None

    write_reports(
        report,
        outputs,
        plugins.reporters,
        sarif_root=args.sarif_root,
        quiet=args.quiet,
        compact=args.compact,
        include_passes=args.include_passes,
        inputs=[*inputs, *args.policies],
        jobs=args.jobs,
    )
    if args.shard:
        return 3 if report.errored else 0  # `iisguard merge` applies waivers and gates
    return report.exit_code()


# The name `scan --scripts` gives its in-memory snapshot, in the folder script paths are relative to.
SCRIPTS_SNAPSHOT = "iisguard-scripts.json"


def declared_snapshot(
    paths: list[str], *, host: str | None, root: str | None, rules_dirs: list[str]
) -> snapmod.Snapshot:
    """`scan --scripts`: the build scripts imported into one declared snapshot, in memory.

    Artifact paths are recorded relative to `root` (--sarif-root, else the working directory), so
    SARIF locations name the script files as the repository does. A path holding no script exits 2
    (nothing to scan); a server capture among the scripts exits 2 (they are never merged).
    """
    from ..capture.importer import import_paths
    from ..capture.scripts.declared import SOURCE
    from ..plugins import import_parsers
    from .import_ import details

    base = Path(root or os.getcwd()).resolve()
    data = import_paths(
        paths, output=None, host=host, base=base, parsers=import_parsers(rules_dirs=rules_dirs)
    )
    if data["collection"].get("source") != SOURCE:
        kinds = sorted({a["kind"] for a in data["collection"]["artifacts"]} - {"unrecognized"})
        raise UsageError(
            f"--scripts: {', '.join(paths)} holds no build script, only captures ({', '.join(kinds)}): "
            "import them with `iisguard import` and scan the snapshot"
        )
    where = str(base / SCRIPTS_SNAPSHOT)
    for line in details(data, where):
        print(line, file=sys.stderr)
    # Named as if it lay in `base` (it is never written): every report then finds the scripts its
    # evidence names relative to that folder, whatever folder the report's own paths start from.
    return snapmod.Snapshot(data, where)


def write_reports(
    report: Report,
    outputs: list[OutputSpec],
    reporters: dict,
    *,
    sarif_root: str | None = None,
    quiet: bool = False,
    compact: bool = False,
    include_passes: bool = False,
    inputs: Iterable[str] = (),
    jobs: int | None = None,
) -> None:
    """Render every output and write it: files all staged, then all renamed (atomic.Batch); stdout last.

    Up to `jobs` processes render a large report's outputs (`--jobs N`; by default this one).

    A path with ``{host}`` in it, or ending in a slash (a folder: ``{host}`` plus the format's
    extension inside it), writes one file per host, each the report of that host alone: the STIG
    checklists and HDF describe one host each. All of them go in the same batch.
    """
    protected = {Path(p).resolve(): p for p in inputs}
    tasks: list[tuple[OutputSpec, Report, str]] = []  # (output, the report it shows, its file or "-")
    for out in outputs:
        if out.path != "-" and per_host(out.path):
            files = host_files(out, report, reporters[out.format].extension)
            for _, path in files:
                if Path(path).resolve() in protected:
                    raise UsageError(
                        f"--format {out.format}:{out.path} would overwrite {path}, which this run reads"
                    )
            tasks.extend((out, dataclasses.replace(report, hosts=[host]), path) for host, path in files)
        else:
            tasks.append((out, report, out.path))
    render_to = functools.partial(
        _render_one,
        reporters=reporters,
        sarif_root=sarif_root,
        quiet=quiet,
        compact=compact,
        include_passes=include_passes,
    )
    stdout_text: str | None = None
    # Paused for every output, not only while each renders: the walks reporters share (by_rule, the
    # host walk, the fingerprints) keep lists of every finding, and a collection between two outputs
    # rescanned them (0.1 s on a large host). What they keep is then moved out of the collector's
    # view, as evaluate_files does with the findings: it lives until the report is dropped.
    with snapmod.gc_paused():
        with Batch() as batch:
            # Every file is staged first, so the batch knows each temporary file whoever writes it.
            staged = [batch.reserve(path) if path != "-" else None for _, _, path in tasks]

            def produce(i: int) -> str | None:
                """Render one output into its staged file; the text itself for stdout or a device."""
                out, shown, path = tasks[i]
                text = render_to(out, shown)  # the collector paused above (and in a forked renderer)
                tmp = staged[i]
                if tmp is None:
                    if isinstance(text, str):
                        return text
                    return (text if isinstance(text, bytes) else b"".join(text)).decode("utf-8")
                fill(tmp, path, text.encode("utf-8") if isinstance(text, str) else text)
                return None

            # A large report's outputs render side by side in forked processes (each writes its own
            # file), after the lines of the findings in their snapshots are found here once, for all of
            # them (2 s on an indented 5,000-site snapshot, which each renderer would otherwise redo).
            workers = _render_workers(report, len(tasks), jobs)
            if workers > 1:
                Locator(
                    f
                    for h in report.hosts
                    for f in h.findings
                    if include_passes or f.outcome is not Outcome.PASS
                )
            texts = forked_map(produce, range(len(tasks)), workers=workers)
            for (_, _, path), text in zip(tasks, texts, strict=True):
                if text is None:
                    continue
                if path == "-":
                    stdout_text = text
                else:
                    batch.write_text(path, text)
        gc.freeze()
    if stdout_text is not None:
        # The text report escapes what it quotes; a JSON or XML report keeps bidi characters raw (#18).
        sys.stdout.write(escape_markup(stdout_text))
        sys.stdout.flush()
    # A gate that read nothing must not pass quietly: one line per host whose result cannot be trusted.
    for host in report.hosts:
        for gap in host.gaps:
            print(f"iisguard: {gap}", file=sys.stderr)


HOST = "{host}"
RENDER_FORK_FINDINGS = 50_000  # below this, rendering takes less than forking saves


def _render_workers(report: Report, outputs: int, jobs: int | None = None) -> int:
    """Processes rendering the outputs: up to `jobs` (`--jobs N`) for a large report with several
    outputs; else, and by default, 1."""
    if not jobs or outputs < 2 or sum(len(h.findings) for h in report.hosts) < RENDER_FORK_FINDINGS:
        return 1
    return min(jobs, outputs)


def per_host(path: str) -> bool:
    """Whether an output path writes one file per host: it holds ``{host}`` or names a folder (``out/``)."""
    return HOST in path or path.endswith(("/", os.sep))


def host_files(out: OutputSpec, report: Report, extension: str) -> list[tuple[HostResult, str]]:
    """Each host's file for a per-host output path, ``{host}`` replaced by a file-name-safe host name.

    Host names come from snapshots (untrusted): anything but letters, digits, ``.``, ``_`` and ``-``
    becomes ``_`` and a leading dot is dropped, so a name can neither climb out of the folder nor
    hide the file. Two hosts that would share a file (the same name scanned twice, or names that
    differ only in such characters) get ``-2``, ``-3``... in report order.
    """
    template = out.path if HOST in out.path else out.path + HOST + extension
    files: list[tuple[HostResult, str]] = []
    used: set[str] = set()
    for host in report.hosts:
        name = safe_file_name(host.host)
        path = template.replace(HOST, name)
        n = 1
        while os.path.normcase(os.path.abspath(path)) in used:
            n += 1
            path = template.replace(HOST, f"{name}-{n}")
        used.add(os.path.normcase(os.path.abspath(path)))
        files.append((host, path))
    return files


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(host: str) -> str:
    """A host name as a file name on any system (see host_files)."""
    return _UNSAFE.sub("_", host).lstrip(".") or "host"


def _render_one(
    out: OutputSpec,
    report: Report,
    reporters: dict,
    *,
    sarif_root: str | None,
    quiet: bool,
    compact: bool,
    include_passes: bool = False,
) -> str | bytes | Iterable[bytes | memoryview]:
    reporter = reporters[out.format]
    if out.format == "json" and include_passes:
        reporter = dataclasses.replace(reporter, include_passes=True)
    to_terminal = out.path == "-" and sys.stdout.isatty()
    if out.format == "sarif" and sarif_root is not None:
        reporter = dataclasses.replace(reporter, base=sarif_root)
    if isinstance(reporter, TextReporter):
        # The width follows the terminal; a file or a pipe gets whole lines (grep, CI logs).
        width = shutil.get_terminal_size().columns if to_terminal else None
        reporter = dataclasses.replace(reporter, quiet=quiet, compact=compact, width=width)
    return render(reporter, report, colour=to_terminal)


def check_outputs(outputs: list[OutputSpec], inputs: list[str]) -> None:
    """Refuse two formats to one file, and a report written over a file the run reads (`scan demo.json
    --format json:demo.json` replaced the snapshot with its own report). Per-host paths (`{host}`, a
    folder) are checked by write_reports once the hosts are known."""
    seen: dict[Path, str] = {}
    for out in outputs:
        if out.path == "-" or per_host(out.path):
            continue
        target = Path(out.path).resolve()
        if target in seen:
            raise UsageError(f"--format {seen[target]} and --format {out.format} both write {out.path}")
        seen[target] = out.format
        if target.is_dir():
            raise UsageError(f"--format {out.format}:{out.path}: is a directory")
    readonly = {Path(p).resolve(): p for p in inputs}
    for target, fmt in seen.items():
        if target in readonly:
            raise UsageError(f"--format {fmt} would overwrite {readonly[target]}, which this run reads")


def render(reporter, report: Report, *, colour: bool) -> str | bytes | Iterable[bytes | memoryview]:
    """The reporter's text. Its UTF-8 pieces when it offers `render_chunks` (written as they come:
    a large report is never joined whole), else its UTF-8 bytes when it offers `render_bytes` (JSON
    written by orjson is bytes already: decoding a large report to text only to encode it again cost
    a copy of each)."""
    with snapmod.gc_paused():  # reporters build large acyclic trees: collections would only rescan them
        if colour and hasattr(reporter, "render_terminal"):
            return str(reporter.render_terminal(report))
        if hasattr(reporter, "render_chunks"):
            return cast(Iterable[bytes | memoryview], reporter.render_chunks(report))
        if hasattr(reporter, "render_bytes"):
            return bytes(reporter.render_bytes(report))
        return str(reporter.render(report))
