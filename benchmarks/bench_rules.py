"""Rule evaluation time of the large synthetic host, per rule and in total (no reports).

    python benchmarks/bench_rules.py                    # scale 1 of "large", 3 runs, medians
    python benchmarks/bench_rules.py --scale 0.25 --repeat 1
    python benchmarks/bench_rules.py --layout compact   # the same snapshot on one line (load not timed)

Each run is a child process that loads the snapshot once (not timed), then evaluates every built-in
rule with its default parameters (including rules the baseline profile leaves off), one rule at a
time with `engine.evaluate.evaluate`, as a scan does (wall and CPU time of the process: the
machine is shared, and CPU time moves less with other load): the first rule to ask for a model view pays for
building it. The garbage collector is paused as in a scan. Prints the total, the slowest rules and
the outcome counts (so a before/after comparison also shows the same judgements).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
import generate  # noqa: E402

CHILD = r"""
import collections, json, sys, time
from iisguard.engine.evaluate import Selected, evaluate
from iisguard.model import snapshot as snapmod
from iisguard.plugins import load_plugins

snap = snapmod.load(sys.argv[1])
rules = sorted(load_plugins().rules.values(), key=lambda r: r.id)
rules = [r for r in rules if r.id.startswith("IIS-")]
per_rule, outcomes = {}, collections.Counter()
with snapmod.gc_paused():
    start, cpu = time.perf_counter(), time.process_time()
    for r in rules:
        t = time.process_time()
        result = evaluate(snap, [Selected(r, r.severity, r.default_parameters())])
        per_rule[r.id] = time.process_time() - t
        outcomes.update(f.outcome.value for f in result.findings)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"total": total, "cpu": cpu, "per_rule": per_rule, "outcomes": dict(sorted(outcomes.items()))}))
"""


def once(snapshot: Path) -> dict:
    proc = subprocess.run(
        [m.PYTHON, "-c", CHILD, str(snapshot)], capture_output=True, text=True, env=m.child_env()
    )
    if proc.returncode != 0:
        raise SystemExit(f"rule evaluation failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the large host (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs; medians are reported (default 3)")
    ap.add_argument("--layout", choices=("indented", "compact"), default="indented", help="snapshot layout")
    args = ap.parse_args(argv)
    snapshot = m.layout_of(generate.generate("large", args.scale) / "snapshot.json", args.layout)
    print(f"machine: {m.machine()}")
    print(f"snapshot: {snapshot.relative_to(m.ROOT)} ({m.mb(snapshot.stat().st_size)})")
    runs = [once(snapshot) for _ in range(args.repeat)]
    totals = [r["total"] for r in runs]
    cpus = [r["cpu"] for r in runs]
    print(
        f"rule evaluation: wall median {statistics.median(totals):.2f} s (runs: {', '.join(f'{t:.2f}' for t in totals)}); "
        f"CPU median {statistics.median(cpus):.2f} s (runs: {', '.join(f'{t:.2f}' for t in cpus)})"
    )
    per_rule = {rid: statistics.median(r["per_rule"][rid] for r in runs) for rid in runs[0]["per_rule"]}
    slow = sorted(per_rule.items(), key=lambda kv: -kv[1])[:10]
    print("slowest rules (CPU): " + ", ".join(f"{rid} {s:.2f} s" for rid, s in slow))
    print(f"outcomes: {runs[-1]['outcomes']}")
    m.OUT.mkdir(parents=True, exist_ok=True)
    (m.OUT / "bench_rules.json").write_text(
        json.dumps(
            {
                "machine": m.machine(),
                "totals": totals,
                "cpu": cpus,
                "per_rule": per_rule,
                "outcomes": runs[-1]["outcomes"],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
