"""Evaluate many snapshot files, one at a time or on a pool of worker processes, in file order.

Each file is loaded, enriched (`iisguard_snapshot_loaded`) and evaluated where it is read, then
dropped, so memory holds one snapshot per worker and the findings, never the whole fleet. Workers
build their rules with the same function the caller used (`prepare`), so every process runs the
same selection; results come back in the order of the files whatever the number of workers.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from .. import lifetime
from ..errors import SnapshotError
from ..model import snapshot as snapmod
from .evaluate import HostResult, Selected, Step, evaluate

# (hook relay with iisguard_snapshot_loaded, selected rules); a picklable callable builds it in workers.
Prepared = tuple[Any, Sequence[Selected]]
MANY = 8  # from this many files on, the default is one worker per CPU

_worker: dict[str, Any] = {}


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def default_jobs(files: int) -> int:
    """One process for a few snapshots (starting workers costs more than it saves), else one per CPU."""
    return 1 if files < MANY else max(1, min(cpus(), files))


def evaluate_files(
    files: Sequence[str | snapmod.Snapshot],
    *,
    prepare: Callable[[], Prepared],
    prepared: Prepared | None = None,
    jobs: int = 1,
    strict: bool = False,
    progress: Callable[[Step], None] | None = None,
    split: int = 1,
    pass_details: bool = True,
) -> tuple[list[HostResult], list[str]]:
    """(results in file order, one message per file that could not be loaded).

    `pass_details` False: passes without pointer and evidence (see evaluate()).

    With `split` > 1 each snapshot evaluated in this process shares its rules out among that many
    forked processes (`scan --jobs N` on one snapshot).

    `files` may hold loaded snapshots too (evaluated in this process: use jobs=1). `prepare` must be picklable (a module-level function or a functools.partial of one) when
    jobs > 1; `prepared` is what it returns, when the caller has it already (used with jobs == 1).
    """
    hosts: list[HostResult] = []
    errors: list[str] = []
    # Rules and findings make no reference cycles worth collecting, but hundreds of thousands of
    # objects: automatic collections would rescan them all again and again (load() still collects
    # the previous snapshot explicitly).
    with snapmod.gc_paused():
        for result in _results(files, prepare, prepared, jobs, strict, progress, split, pass_details):
            if isinstance(result, str):
                errors.append(result)
            else:
                hosts.append(result)
        # The findings live as long as the report and hold no cycles (reference counting frees them):
        # out of the collector's view, or the first allocation after re-enabling it walks them all
        # (0.2 s on a 5,000-site host), as load() does for the snapshot's containers. Whatever
        # cyclic garbage is left now would be kept: each snapshot's own cycle is released in _one
        # (tests/test_parallel_scan.py), and rules make none.
        gc.freeze()
    return hosts, errors


def _results(
    files: Sequence[str | snapmod.Snapshot],
    prepare: Callable[[], Prepared],
    prepared: Prepared | None,
    jobs: int,
    strict: bool,
    progress: Callable[[Step], None] | None = None,
    split: int = 1,
    pass_details: bool = True,
) -> Iterator[HostResult | str]:
    total = len(files)
    if jobs <= 1 or len(files) <= 1:
        hook, selected = prepared or prepare()
        for index, path in enumerate(files, start=1):
            on_pack = None
            if progress is not None:
                name = _label(path)
                progress(Step(name, index, total))
                on_pack = partial(_pack_step, progress, name, index, total)
            yield _one(path, hook, selected, strict, on_pack, split, pass_details, last=index == total)
        return
    workers = min(jobs, len(files))
    chunk = max(1, min(16, len(files) // (workers * 4)))  # small chunks keep the workers evenly busy
    from concurrent.futures import ProcessPoolExecutor  # only here: a one-host scan need not import it

    with ProcessPoolExecutor(workers, initializer=_start, initargs=(prepare, strict, pass_details)) as pool:
        # Workers cannot call back: the display moves as each host's result arrives.
        for index, (path, result) in enumerate(
            zip(files, pool.map(_in_worker, files, chunksize=chunk), strict=True), 1
        ):
            if progress is not None:
                progress(Step(_label(path), index, total, done=True))
            yield result


def _label(path: str | snapmod.Snapshot) -> str:
    """What a progress display calls a host before it is loaded: the file name (with its folder when
    the name says nothing, as capture folders' `snapshot.json` do)."""
    if isinstance(path, snapmod.Snapshot):
        return path.host
    folder, name = os.path.split(str(path))
    return f"{os.path.basename(folder)}/{name}" if name == "snapshot.json" and folder else name


def _pack_step(
    progress: Callable[[Step], None], host: str, index: int, total: int, pack: str, n: int, packs: int
) -> None:
    progress(Step(host, index, total, pack, n, packs))


def _start(prepare: Callable[[], Prepared], strict: bool, pass_details: bool = True) -> None:
    gc.disable()  # as in evaluate_files: a worker only loads and evaluates, and load() collects
    hook, selected = prepare()
    _worker.update(hook=hook, selected=selected, strict=strict, pass_details=pass_details)


def _in_worker(path: str) -> HostResult | str:
    w = _worker
    return _one(path, w["hook"], w["selected"], w["strict"], pass_details=w["pass_details"])


def _one(
    path: str | snapmod.Snapshot,
    hook: Any,
    selected: Sequence[Selected],
    strict: bool,
    on_pack: Callable[[str, int, int], None] | None = None,
    split: int = 1,
    pass_details: bool = True,
    last: bool = False,
) -> HostResult | str:
    """Load and evaluate one snapshot file (a loaded Snapshot: evaluate it), then free its document; the
    `last` of a program's run is kept until the process ends instead (iisguard.lifetime)."""
    if isinstance(path, snapmod.Snapshot):
        hook.iisguard_snapshot_loaded(snapshot=path)
        return evaluate(
            path, selected, strict=strict, on_pack=on_pack, workers=split, pass_details=pass_details
        )
    try:
        snap = snapmod.load(path)
    except SnapshotError as exc:
        return str(exc)
    try:
        hook.iisguard_snapshot_loaded(snapshot=snap)
        return evaluate(
            snap, selected, strict=strict, on_pack=on_pack, workers=split, pass_details=pass_details
        )
    finally:
        # The model's indexes refer back to the snapshot: without this the document would wait for
        # the cyclic collector (which evaluate_files keeps paused, then freezes the survivors).
        if not (last and lifetime.keep(snap)):
            snap.release()
