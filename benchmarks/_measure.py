"""What the benchmarks share: run a command as a child process and read its wall time and peak RSS."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
PYTHON = sys.executable

# The floor: parse the snapshot with orjson, the collector off, as `iisguard scan` itself does.
FLOOR = """
import gc, sys, time, orjson
raw = open(sys.argv[1], "rb").read()
gc.disable()
t, cpu = time.perf_counter(), time.process_time()
orjson.loads(raw)
print(time.perf_counter() - t, time.process_time() - cpu)
"""


@dataclass
class Run:
    seconds: float  # wall time of the child process (or what it printed, for the floor)
    peak_rss: int  # bytes: ru_maxrss of that child alone
    returncode: int
    stdout: str
    stderr: str
    cpu: float = 0.0  # CPU seconds (user + system) of the child (or what it printed, for the floor)


def run(args: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Run:
    """Run one child process; wall time from start to exit, and its own peak RSS.

    A Python command (`PYTHON -m ...` / `PYTHON -c ...`) runs under _peak.py, which reports the
    process's own VmHWM; for anything else the child's ru_maxrss (wait4) is used, which Linux
    never reports below what this process held when it started the child.
    """
    env = dict(env or child_env())
    wrapped = len(args) > 2 and args[0] == PYTHON and args[1] in ("-m", "-c")
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        peak_file = Path(tmp) / "peak"
        if wrapped:
            env["IISGUARD_BENCH_PEAK"] = str(peak_file)
            args = [PYTHON, str(Path(__file__).with_name("_peak.py")), *args[1:]]
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = int(peak_file.read_text()) if wrapped and peak_file.is_file() else usage.ru_maxrss * 1024
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            peak,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime,
        )


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "core"), str(ROOT / "plugins"), env.get("PYTHONPATH", "")]
    )
    env.pop("IISGUARD_POLICY", None)
    # Measured as installed: pip compiles a wheel's modules to bytecode, so an installed iisguard never
    # compiles its source at start. With PYTHONDONTWRITEBYTECODE set (as in some shells and CI images)
    # every run of the checkout recompiled ~60 modules: +0.4 s to each scan of any size.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def floor(snapshot: Path) -> Run:
    """orjson.loads of the file with the collector off, timed inside the child (reading excluded)."""
    r = run([PYTHON, "-c", FLOOR, str(snapshot)])
    if r.returncode:
        raise SystemExit(f"floor failed: {r.stderr}")
    wall, cpu = r.stdout.split()
    r.seconds, r.cpu = float(wall), float(cpu)
    return r


def iisguard(*args: str) -> list[str]:
    return [PYTHON, "-m", "iisguard", *args]


def median(values: list[float]) -> float:
    return statistics.median(values)


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, to print beside times measured on a shared machine."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    cpus = os.cpu_count() or 1
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, IndexError, ValueError):
        pass
    # The interpreter's own build counts: the same scan runs faster on Debian's python3.11 (PGO,
    # statically linked) than on a pyenv build without PGO and with a shared libpython (RESULTS.md).
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPU(s) ({model}){mem}, "
        f"Python {platform.python_version()} ({interpreter()})"
    )


def interpreter() -> str:
    """Which interpreter runs the benchmarks (a venv's base one) and whether it runs from a shared
    libpython (a pyenv build) or is linked statically (Debian's /usr/bin/python3.11)."""
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return base
    linked = "libpython shared" if "libpython3" in maps else "libpython static"
    return f"{base}, {linked}"


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def compact_copy(snapshot: Path, name: str = "snapshot-compact.json") -> Path:
    """The same snapshot on one line (orjson without indentation, as `json.dumps` or `jq -c` write
    it), next to it; written once and again only when the snapshot is newer."""
    out = snapshot.with_name(name)
    if not out.is_file() or out.stat().st_mtime < snapshot.stat().st_mtime:
        import orjson

        out.write_bytes(orjson.dumps(orjson.loads(snapshot.read_bytes())) + b"\n")
    return out


def layout_of(snapshot: Path, layout: str) -> Path:
    """The snapshot as `layout` (indented: as generated and as `iisguard import` writes; compact: one line)."""
    if layout == "indented":
        return snapshot
    if layout == "compact":
        return compact_copy(snapshot)
    raise SystemExit(f"unknown layout {layout!r} (indented or compact)")


def own_peak_rss() -> int:
    """This process's peak RSS in bytes (VmHWM), for benchmarks that measure in-process."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


def tree_pss_peak(args: list[str], *, cwd: Path = ROOT, interval: float = 0.1) -> tuple[int, int]:
    """(peak of the summed PSS of a command's process tree, most processes seen at once), sampled.

    For commands that fork workers: each process's RSS counts the pages it shares with the others,
    PSS divides them among the sharers, so the sum is what the tree takes from the machine. Sampling
    reads /proc/<pid>/smaps_rollup (a page-table walk): run this apart from the timed runs.
    """
    import threading

    proc = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env()
    )
    peak, most = 0, 0
    done = threading.Event()

    def tree(pid: int) -> list[int]:
        pids = [pid]
        for p in pids:
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{task}/children") as fh:
                        pids.extend(int(c) for c in fh.read().split())
            except OSError:
                continue
        return pids

    def pss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                return next(int(line.split()[1]) for line in fh if line.startswith("Pss:")) * 1024
        except (OSError, StopIteration):
            return 0

    def sample() -> None:
        nonlocal peak, most
        while not done.wait(interval):
            pids = tree(proc.pid)
            most = max(most, len(pids))
            peak = max(peak, sum(pss(p) for p in pids))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    proc.wait()
    done.set()
    thread.join()
    return peak, most
