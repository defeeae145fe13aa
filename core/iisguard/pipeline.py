"""The scan pipeline as one library call: ``iisguard.scan(snapshots, ...) -> Report``.

plugins → profile and policies → selection → evaluation → waivers → baseline. The ``scan`` command,
its ``--jobs`` worker processes and the tests all run this, so a report a program makes is the
report the command line makes. Rendering is left to the caller (``plugins.reporters[fmt].render``).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from .engine import baseline as _baseline
from .engine import frameworks, parallel
from .engine import policy as _policy
from .engine import waivers as _waivers
from .engine.evaluate import Notice, Report, Selected, Step, effective_rules, now
from .engine.findings import Severity
from .engine.selection import select
from .errors import SnapshotError, UsageError
from .model import snapshot as snapmod
from .plugins import Plugins, load_plugins
from .version import __version__

PathLike = str | os.PathLike[str]
Source = PathLike | snapmod.Snapshot


@dataclass(frozen=True)
class Choice:
    """What decides which rules run and how (picklable: every ``--jobs`` worker rebuilds its rules from it)."""

    profile: str | None = None
    policies: tuple[str, ...] = ()
    today: date | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shard:
    """What a shard report carries so that `merge` finishes it exactly as one scan would have.

    A shard evaluates its snapshots only; waivers and the baseline, which look at the whole fleet
    (an unused waiver is unused on every host), are applied by `merge` once the shards are together.
    """

    index: int  # 1-based
    count: int
    total: int  # snapshot files of the whole scan
    order: tuple[int, ...]  # each host's position in the whole scan, in this report's host order
    choice: Choice
    waivers: bool = True
    baseline: str | None = None
    rules_dirs: tuple[str, ...] = ()
    skip_broken_plugins: bool = False
    framework: str | None = None


def parse_shard(value: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) as (K, N)."""
    k, sep, n = value.partition("/")
    try:
        index, count = int(k), int(n)
    except ValueError:
        index = count = 0
    if not sep or not 1 <= index <= count:
        raise UsageError(f"--shard takes K/N with 1 <= K <= N (such as 2/4), not {value!r}")
    return index, count


def shard_of(files: Sequence[str], index: int, count: int) -> list[int]:
    """Positions of the files shard `index` of `count` evaluates: every count-th in the scan's
    stable (sorted) order, so each shard gets a near-equal part and a rerun the same part."""
    return list(range(index - 1, len(files), count))


def choose(plugins: Plugins, choice: Choice) -> tuple[_policy.Effective, list[Selected]]:
    """The layered profile and policies, and the rules they select (with --rule/--skip-rule globs)."""
    today = choice.today or datetime.now(UTC).date()
    chosen = _policy.resolve(plugins.rules, profile=choice.profile, policies=choice.policies, today=today)
    selected = select(
        chosen.catalog(plugins.rules),
        only=choice.only,
        skip=choice.skip,
        enabled=chosen.enabled,
        overrides=chosen.overrides,
    )
    return chosen, selected


def scan(
    snapshots: Source | Iterable[Source],
    *,
    profile: str | None = None,
    policy: PathLike | Iterable[PathLike] | None = None,
    auto_policy: bool = False,
    rules: Iterable[str] = (),
    skip_rules: Iterable[str] = (),
    waivers: bool = True,
    baseline: PathLike | None = None,
    fail_on: Severity | str | None = Severity.MEDIUM,
    plugins: Plugins | None = None,
    rules_dirs: Iterable[PathLike] = (),
    skip_broken_plugins: bool = False,
    jobs: int | None = None,
    strict: bool = False,
    today: date | None = None,
    framework: str | None = None,
    progress: Callable[[Step], None] | None = None,
    shard: tuple[int, int] | None = None,
    require: Iterable[str] = (),
    pass_details: bool = True,
) -> Report:
    """Evaluate snapshots with the selected rules and return one report (what ``iisguard scan`` writes).

    :param snapshots: snapshot files, folders of them (walked recursively, capture folders
        skipped) or loaded :class:`iisguard.Snapshot` objects, one or an iterable; the report lists
        hosts in this order.
    :param profile: a profile name (``baseline``, ``cis-iis10``, ``stig-iis10``) or file; default
        ``baseline``.
    :param policy: one organization policy file or several (later ones override earlier ones).
    :param auto_policy: with no ``policy``, also read ``./iisguard.yaml`` when it exists, as the
        command line does (the report then carries a note saying so).
    :param rules: run only rules matching these ids or globs (``IIS-ACL-*``); ``skip_rules``
        leaves these out.
    :param waivers: ``False`` ignores every waiver (an audit): each failure shows and gates.
    :param baseline: a previous SARIF report; failures already in it do not gate.
    :param fail_on: the severity at which ``Report.exit_code()`` returns 1; ``None`` never gates.
    :param plugins: packs loaded with :func:`iisguard.plugins.load_plugins` (say, with a pack of
        your own); default: every installed pack, plus ``rules_dirs``, failing on a broken pack
        unless ``skip_broken_plugins``.
    :param jobs: worker processes; default one per CPU for 8 or more files, else 1. On one snapshot,
        `jobs` forked processes share out its rules (Linux; default 1). The report is
        the same whatever the number. Loaded ``Snapshot`` objects, and plugin objects that cannot be
        pickled, are evaluated in this process.
    :param strict: re-raise a crashing rule instead of reporting it as ``error``.
    :param today: the date waivers and policies are judged on (default: today, UTC).
    :param framework: also report compliance by control for this framework (``cis-iis10``,
        ``stig-iis10``); reporters show it from ``Report.framework``.
    :param progress: called with a :class:`~iisguard.engine.evaluate.Step` as each host (and, in this
        process, each rule pack on it) starts, or as each host's result arrives from a worker.
    :param shard: ``(K, N)``: evaluate only the K-th of N near-equal parts of the snapshot files
        (every N-th in their sorted order) and leave waivers and the baseline to :func:`merge`,
        which combines the N reports (written as JSON) into the report one scan would give.
    :param require: collection sections every host must have (``acls``, ``iis``, ...), added to
        the policies' ``require:``; one that is absent or failed is a gap (``HostResult.gaps``):
        the run is not successful and ``exit_code()`` is 3 unless a failure gates.
    :param pass_details: ``False`` when the reports only count passes (as SARIF, JUnit, HTML, text,
        HDF and the checklists do): a pass's finding then carries no ``pointer`` and no ``evidence``,
        which makes a large host's scan a tenth faster. Always ``True`` with a ``baseline`` (a fixed
        failure is reported where its pass stands) or a ``shard`` (merge needs every finding whole).
    :return: the :class:`~iisguard.engine.evaluate.Report`, with ``exit_code()`` and every finding.
    :raises UsageError: no snapshot found, an unknown rule glob, a bad baseline.
    :raises SnapshotError: a snapshot cannot be read or is invalid (every file is tried first;
        ``SnapshotError.earlier`` holds the messages of the files before the last one).
    :raises PolicyError: a profile or policy is malformed.
    :raises PluginError: a pack failed to load (unless ``skip_broken_plugins``) or is invalid.
    """
    if plugins is not None and (skip_broken_plugins or list(rules_dirs)):
        raise TypeError(
            "scan(): pass rules_dirs and skip_broken_plugins to load_plugins() when giving plugins"
        )
    items = _sources(snapshots)
    if plugins is None:
        plugins = load_plugins(skip_broken=skip_broken_plugins, rules_dirs=rules_dirs, builtin_parsers=False)
    if isinstance(fail_on, str):
        fail_on = None if fail_on.strip().lower() == "never" else Severity.parse(fail_on)
    paths = [str(i) for i in items if not isinstance(i, snapmod.Snapshot)]
    files = snapmod.find_snapshot_files(paths)
    if not files and len(paths) == len(items):
        raise UsageError(f"no snapshot files (*.json) found in {', '.join(paths)}")
    today = today or datetime.now(UTC).date()
    policies = [str(policy)] if isinstance(policy, str | os.PathLike) else [str(p) for p in policy or ()]
    auto = _policy.auto_policy() if auto_policy and not policies else None
    if auto is not None:
        policies.append(str(auto))
    choice = Choice(profile, tuple(policies), today, tuple(rules), tuple(skip_rules))
    chosen, selected = choose(plugins, choice)
    previous = _baseline.load(baseline) if baseline else None
    if framework:
        frameworks.load(framework)  # an unknown name is an error before anything is scanned
    required = tuple(dict.fromkeys([*require, *chosen.require]))
    unknown = [s for s in required if s not in snapmod.SECTIONS]
    if unknown:
        raise UsageError(
            f"unknown section {unknown[0]!r} to require (sections: {', '.join(snapmod.SECTIONS)})"
        )

    report = Report(
        hosts=[],
        rules=effective_rules(selected),
        tool_version=__version__,
        started_at=now(),
        fail_on=fail_on,
        profile=chosen.profile,
        framework=framework,
    )
    for pack in plugins.broken:
        report.notices.append(Notice("error", f"rule pack not loaded: {pack.label}: {pack.error}", "plugin"))
    if auto is not None:
        report.notices.append(Notice("note", f"using policy {auto} found in the working directory", "policy"))

    # Each snapshot is loaded, evaluated and dropped in turn (in worker processes with jobs > 1).
    if shard is not None:
        if len(paths) != len(items):
            raise UsageError("shard= takes snapshot files or folders, not loaded snapshots")
        parse_shard(f"{shard[0]}/{shard[1]}")  # 1 <= K <= N, as from the command line
        positions = shard_of(files, *shard)
        work: Sequence[str | snapmod.Snapshot] = [files[i] for i in positions]
        report.shard = Shard(
            index=shard[0],
            count=shard[1],
            total=len(files),
            order=tuple(positions),
            choice=choice,
            waivers=waivers,
            baseline=str(baseline) if baseline else None,
            rules_dirs=tuple(str(d) for d in plugins.options.get("rules_dirs") or ()),
            skip_broken_plugins=bool(plugins.options.get("skip_broken")),
            framework=framework,
        )
    elif len(paths) == len(items):
        work = files
    else:  # loaded snapshots among the paths: keep the caller's order, in this process
        work = [f for i in items for f in ([i] if isinstance(i, snapmod.Snapshot) else _files(i))]
    rebuild = partial(_prepare, plugins.options, choice)
    workers = jobs or parallel.default_jobs(len(work))
    # One snapshot: `jobs` processes share out its rules, when asked (by default one process: on the
    # 5,000-site host two processes took longer than one: 10.3 s against 7.1 s, RESULTS.md, 2026-12-01).
    split = jobs if jobs and len(work) == 1 else 1
    if len(paths) != len(items) or not _picklable(rebuild):
        workers = 1
    hosts, errors = parallel.evaluate_files(
        work,
        prepare=rebuild,
        prepared=(plugins.pm.hook, selected),
        jobs=workers,
        strict=strict,
        progress=progress,
        split=split,
        # A baseline reports a fixed failure at its pass's place; a shard's report is merged whole.
        pass_details=pass_details or previous is not None or shard is not None,
    )
    if errors:
        exc = SnapshotError(errors[-1])
        exc.earlier = tuple(errors[:-1])
        raise exc
    for host in hosts:
        host.required = required
    report.hosts.extend(hosts)
    if shard is None:
        finish(report, chosen.waivers, apply_waivers=waivers, previous=previous, today=today)
    else:
        report.finished_at = now()
    return report


def finish(
    report: Report, waivers: Sequence[Any], *, apply_waivers: bool, previous: Any, today: date
) -> None:
    """The steps that judge the whole report, after every host is in: waivers, then the baseline."""
    if not apply_waivers:
        if waivers:
            report.notices.append(Notice("note", f"--no-waivers: {len(waivers)} waiver(s) ignored", "waiver"))
    else:
        _waivers.apply(report, waivers, today)
    if previous is not None:
        _baseline.apply(report, previous)
    report.finished_at = now()


def merge(
    reports: Iterable[Any],
    *,
    fail_on: Severity | str | None | Any = ...,
    plugins: Plugins | None = None,
) -> Report:
    """Combine the JSON reports (paths, or ShardReports already read) of `scan(..., shard=(K, N))`
    for K = 1..N into the report one scan
    of all the snapshots gives: hosts in the same order, the same rules (rebuilt from the installed
    packs with the shards' choice, and checked against it), then waivers and the baseline applied to
    the whole fleet. Every shard must be there exactly once, made by this version of iisguard.

    :param fail_on: the gate; default: the shards' own (they must agree).
    :raises UsageError: a missing, repeated or foreign shard, a file that is not a shard report.
    """
    from .report import shards as _shards

    parts = sorted(
        (r if isinstance(r, _shards.ShardReport) else _shards.read(r) for r in reports), key=lambda r: r.index
    )
    if not parts:
        raise UsageError("merge needs the JSON reports of every shard (scan --shard K/N --format json:FILE)")
    first = parts[0]
    count = first.count
    seen: dict[int, str] = {}
    for part in parts:
        if part.count != count:
            raise UsageError(
                f"shard {part.index}/{part.count} does not belong with {first.index}/{count}", where=part.path
            )
        if part.index in seen:
            raise UsageError(
                f"shard {part.index}/{count} is given twice (also {seen[part.index]})", where=part.path
            )
        seen[part.index] = part.path
        if part.tool_version != __version__:
            raise UsageError(
                f"made by iisguard {part.tool_version}, merged by {__version__}: use one version throughout",
                where=part.path,
            )
        for key in ("total", "profile", "policies", "today", "rules", "skip_rules", "waivers", "baseline"):
            if part.data.get(key) != first.data.get(key):
                raise UsageError(
                    f"shard {part.index}/{count} was scanned with another {key} than shard {first.index}/{count}",
                    where=part.path,
                )
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise UsageError(
            f"shard(s) {', '.join(f'{k}/{count}' for k in missing)} missing: a merge of part of a fleet "
            "would pass hosts nobody scanned"
        )
    data = first.data
    if plugins is None:
        plugins = load_plugins(**shard_plugin_options(first))
    today = first.today() or datetime.now(UTC).date()
    choice = Choice(
        data.get("profile"),
        tuple(data.get("policies") or ()),
        today,
        tuple(data.get("rules") or ()),
        tuple(data.get("skip_rules") or ()),
    )
    chosen, selected = choose(plugins, choice)
    rules = effective_rules(selected)
    if sorted(rules) != sorted(data.get("rule_ids") or ()):
        raise UsageError(
            "the installed rule packs select other rules than the shards ran; merge where the shards "
            "were scanned (same packs, same policy files)",
            where=first.path,
        )
    if fail_on is ...:
        gates = {p.fail_on for p in parts}
        if len(gates) != 1:
            raise UsageError("the shards were scanned with different --fail-on: give merge its own --fail-on")
        fail_on = gates.pop()
    elif isinstance(fail_on, str):
        fail_on = None if fail_on.strip().lower() == "never" else Severity.parse(fail_on)
    report = Report(
        hosts=[h for _, h in sorted((pair for p in parts for pair in p.hosts), key=lambda pair: pair[0])],
        rules=rules,
        tool_version=__version__,
        started_at=min(p.started_at for p in parts),
        fail_on=fail_on,
        profile=chosen.profile,
        framework=data.get("framework"),
    )
    if len(report.hosts) != data.get("total"):
        raise UsageError(f"the shards hold {len(report.hosts)} hosts of the {data.get('total')} scanned")
    said: set[tuple[str, str, str]] = set()
    for part in parts:
        for n in part.notices:
            if (n.level, n.kind, n.message) not in said:
                said.add((n.level, n.kind, n.message))
                report.notices.append(n)
    previous = _baseline.load(data["baseline"]) if data.get("baseline") else None
    finish(
        report, chosen.waivers, apply_waivers=bool(data.get("waivers", True)), previous=previous, today=today
    )
    report.finished_at = max(p.finished_at for p in parts)
    return report


def shard_plugin_options(part: Any) -> dict[str, Any]:
    """How a shard's packs were loaded (a read shard report), as keyword arguments for load_plugins."""
    data = part.data
    return {
        "skip_broken": bool(data.get("skip_broken_plugins")),
        "rules_dirs": tuple(data.get("rules_dirs") or ()),
        "builtin_parsers": False,  # a merge reads reports, it imports nothing
    }


def _sources(snapshots: Source | Iterable[Source]) -> list[Source]:
    if isinstance(snapshots, str | os.PathLike | snapmod.Snapshot):
        return [snapshots]
    return list(snapshots)


def _files(item: Source) -> list[str]:
    return snapmod.find_snapshot_files([str(item)])


def _prepare(options: dict[str, Any], choice: Choice) -> parallel.Prepared:
    """What a --jobs worker evaluates with: the packs and the rules `scan` chose, rebuilt in the worker."""
    plugins = load_plugins(**options)
    return plugins.pm.hook, choose(plugins, choice)[1]


def _picklable(obj: Any) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:  # noqa: BLE001 - a plugin object of any kind; workers then are not used
        return False
    return True
