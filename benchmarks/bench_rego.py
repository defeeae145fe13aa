"""Ten iisguard rules against the same rules in Rego (regopy) and, where expressible, CEL.

    python benchmarks/bench_rego.py                 # the medium host (100 sites), 5 runs each
    python benchmarks/bench_rego.py --repeat 3 --scale 0.5
    python benchmarks/bench_rego.py --layout compact   # the same snapshot on one line

The Rego rules are benchmarks/rego/*.rego (one package per rule, `deny` = the failing resource
keys, in iisguard's spelling), evaluated with regopy (OPA's Rego, rego-cpp) in one query. The
same ten rules run as iisguard's Python rules; six of them are also written as CEL custom rules
(iisguard.engine.cel_rules). The comparison only counts if every engine fails the same resources,
so that is checked first (and the script exits 1 when they disagree).

Two timings, medians of --repeat runs, all in this process:
- evaluation: the document already parsed / set as input; iisguard builds its indexes afresh
  (a new Snapshot object) every run, regopy compiles the modules (a new interpreter) every run;
- end to end: from the JSON text: parse (orjson / regopy's set_input_term) plus evaluation.
`--layout compact` reads the snapshot written on one line; the process's peak RSS is printed
(run each layout as its own process to compare them).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402
import generate  # noqa: E402

sys.path.insert(0, str(m.ROOT / "core"))
sys.path.insert(0, str(m.ROOT / "plugins"))

REGO = Path(__file__).resolve().parent / "rego"
RULES = {  # rule id -> Rego package under data.iisguard
    "IIS-POOL-001": "pool_001",
    "IIS-POOL-004": "pool_004",
    "IIS-POOL-005": "pool_005",
    "IIS-POOL-006": "pool_006",
    "IIS-POOL-010": "pool_010",
    "IIS-CRED-004": "cred_004",
    "IIS-ACL-003": "acl_003",
    "IIS-ACL-005": "acl_005",
    "IIS-PRIV-002": "priv_002",
    "IIS-PRIV-003": "priv_003",
}
DANGEROUS = [
    "SeTcbPrivilege", "SeDebugPrivilege", "SeLoadDriverPrivilege", "SeBackupPrivilege", "SeRestorePrivilege",
    "SeTakeOwnershipPrivilege", "SeCreateTokenPrivilege", "SeManageVolumePrivilege", "SeSecurityPrivilege",
    "SeEnableDelegationPrivilege", "SeRelabelPrivilege", "SeTrustedCredManAccessPrivilege",
]  # fmt: skip
BROAD = ["S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-7", "S-1-5-32-546"]
# The rules CEL can say item by item. POOL-005/006 (grouping pools) and the ACL rules (content roots
# joined to ACL paths and their folders) need joins a per-item expression cannot make in linear time.
CEL = {
    "IIS-POOL-001": {
        "resource": "iis.app_pools",
        "key": "name",
        "when": "!resource.name.startsWith('MSExchange')",
        "assert": "!has(resource.identity.type) || resource.identity.type != 'LocalSystem'",
    },
    "IIS-POOL-004": {
        "resource": "iis.app_pools",
        "key": "name",
        "when": "!(resource.name in ['WsusPool', 'SharePoint Web Services Root'])",
        "assert": "!has(resource.identity.type) || !(resource.identity.type in ['NetworkService', 'LocalService'])",
    },
    "IIS-POOL-010": {
        "resource": "iis.app_pools",
        "key": "name",
        "assert": "!has(resource.manual_group_membership) || !resource.manual_group_membership",
    },
    "IIS-CRED-004": {
        "resource": "iis.sites[].applications[].virtual_directories",
        "key": "path",
        "assert": "!has(resource.password) || !resource.password.present",
    },
    "IIS-PRIV-002": {
        "resource": "user_rights",
        "when": f"resource.right in {json.dumps(DANGEROUS)}",
        "assert": "!resource.principals.exists(p, sid(p) != null && (sid(p).startsWith('S-1-5-82-') || "
        "sid(p) in ['S-1-5-32-568', 'S-1-5-17']))",
    },
    "IIS-PRIV-003": {
        "resource": "user_rights",
        "when": f"resource.right in {json.dumps([*DANGEROUS, 'SeImpersonatePrivilege', 'SeAssignPrimaryTokenPrivilege'])}",
        "assert": f"!resource.principals.exists(p, sid(p) in {json.dumps(BROAD)})",
    },
}


def python_rules(ids: list[str]):
    """The rules `iisguard scan --rule ID...` runs (the scan pipeline's own selection)."""
    from iisguard.pipeline import Choice, choose
    from iisguard.plugins import load_plugins

    return choose(load_plugins(), Choice(only=tuple(ids)))[1]


def cel_selected():
    from iisguard.engine import cel_rules
    from iisguard.engine.evaluate import Selected
    from iisguard.engine.findings import Severity

    out = []
    for rule_id, spec in CEL.items():
        raw = {"id": rule_id.replace("IIS-", "BENCH-"), "title": rule_id, "severity": "high", "message": "fails",
               "remediation": "-", **spec}  # fmt: skip
        rule = cel_rules.build_rule(raw, pack="bench", prefix=None)
        out.append(Selected(rule, Severity.HIGH, {p.name: p.default for p in rule.parameters}))
    return out


def fails(host_result, *, by_right: bool = False) -> dict[str, set[str]]:
    from iisguard.engine.findings import Outcome

    out: dict[str, set[str]] = {}
    for f in host_result.findings:
        rule_id = f.rule_id.replace("BENCH-", "IIS-")
        out.setdefault(rule_id, set())
        if f.outcome is Outcome.FAIL:
            resource = f.resource
            if by_right and resource.startswith("user_rights/"):
                resource = "/".join(resource.split("/")[:2])  # CEL judges a right, Python each holder
            out[rule_id].add(resource)
    return out


def rego_query(text: str, packages: list[str]) -> tuple[dict[str, set[str]], float, float]:
    """(deny sets by package, seconds for the query alone, seconds from the JSON text)."""
    from regopy import Interpreter
    from regopy.rego_shared import rego_output_ok, rego_output_string, rego_query

    start = time.perf_counter()
    rego = Interpreter()
    for module in sorted(REGO.glob("*.rego")):
        rego.add_module(module.stem, module.read_text())
    rego.set_input_term(text)
    query_start = time.perf_counter()
    query = "[" + ", ".join(f"data.iisguard.{p}.deny" for p in packages) + "]"
    out = rego_query(rego._impl, query)  # the raw API: Output() fails on errors instead of showing them
    done = time.perf_counter()
    result = rego_output_string(out)
    if not rego_output_ok(out) or not result.startswith("{"):
        raise SystemExit(f"regopy failed:\n{result[:3000]}")
    sets = json.loads(result)["expressions"][0]
    return {p: set(s) for p, s in zip(packages, sets, strict=True)}, done - query_start, done - start


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return m.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="medium", choices=sorted(generate.SIZES))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--layout", choices=("indented", "compact"), default="indented", help="snapshot layout")
    args = ap.parse_args(argv)

    import orjson

    from iisguard.engine.evaluate import evaluate
    from iisguard.model.snapshot import Snapshot

    snapshot = m.layout_of(generate.generate(args.size, args.scale) / "snapshot.json", args.layout)
    raw = snapshot.read_bytes()
    text = raw.decode("utf-8")
    data = orjson.loads(raw)
    gc.freeze()  # as `iisguard scan` does after loading
    ids = list(RULES)
    selected = python_rules(ids)
    cel = cel_selected()
    cel_ids = [s.rule.id.replace("BENCH-", "IIS-") for s in cel]
    cel_python = [s for s in selected if s.rule.id in cel_ids]
    print(f"machine: {m.machine()}; load average {m.load_average()}")
    print(
        f"snapshot: {snapshot.relative_to(m.ROOT)} ({m.mb(len(raw))}, {args.layout}); rules: {', '.join(ids)}"
    )

    # Agreement first.
    py = fails(evaluate(Snapshot(data), selected))
    rego_sets, _, _ = rego_query(text, list(RULES.values()))
    cel_sets = fails(evaluate(Snapshot(data), cel), by_right=True)
    py_by_right = fails(evaluate(Snapshot(data), cel_python), by_right=True)
    problems = []
    for rule_id, package in RULES.items():
        if py.get(rule_id, set()) != rego_sets[package]:
            problems.append(
                f"{rule_id}: Python fails {sorted(py.get(rule_id, set()))}, Rego {sorted(rego_sets[package])}"
            )
        if rule_id in CEL and py_by_right.get(rule_id, set()) != cel_sets.get(rule_id, set()):
            problems.append(
                f"{rule_id}: Python fails {sorted(py_by_right.get(rule_id, set()))}, CEL {sorted(cel_sets.get(rule_id, set()))}"
            )
    total = sum(len(s) for s in py.values())
    print(
        f"agreement: {'the same failing resources' if not problems else 'DIFFERENT'} "
        f"({total} failures over the ten rules, e.g. {', '.join(f'{k} {len(v)}' for k, v in py.items())})"
    )
    for p in problems:
        print("  " + p)

    # Timings.
    py_eval = timed(lambda: evaluate(Snapshot(data), selected), args.repeat)
    py_e2e = timed(lambda: evaluate(Snapshot(orjson.loads(raw)), selected), args.repeat)
    cel_eval = timed(lambda: evaluate(Snapshot(data), cel), args.repeat)
    cel_py_eval = timed(lambda: evaluate(Snapshot(data), cel_python), args.repeat)
    rego_runs = [rego_query(text, list(RULES.values()))[1:] for _ in range(args.repeat)]
    rego_eval = m.median([r[0] for r in rego_runs])
    rego_e2e = m.median([r[1] for r in rego_runs])
    cel_packages = [RULES[i] for i in CEL]
    rego_cel_runs = [rego_query(text, cel_packages)[1:] for _ in range(args.repeat)]
    rego_cel_eval = m.median([r[0] for r in rego_cel_runs])

    print(f"{'':28} {'iisguard':>10} {'regopy':>10} {'regopy/iisguard':>16}")
    print(
        f"{'10 rules, evaluation':28} {py_eval * 1000:>8.1f}ms {rego_eval * 1000:>8.1f}ms {rego_eval / py_eval:>15.1f}x"
    )
    print(
        f"{'10 rules, from JSON text':28} {py_e2e * 1000:>8.1f}ms {rego_e2e * 1000:>8.1f}ms {rego_e2e / py_e2e:>15.1f}x"
    )
    print(
        f"{'6 rules as CEL, evaluation':28} {cel_eval * 1000:>8.1f}ms {rego_cel_eval * 1000:>8.1f}ms {rego_cel_eval / cel_eval:>15.1f}x"
    )
    print(
        f"{'6 rules as Python, evaluation':28} {cel_py_eval * 1000:>8.1f}ms {'':>10} CEL/Python {cel_eval / cel_py_eval:.2f}x"
    )
    peak = m.own_peak_rss()
    print(f"peak RSS of this process: {m.mb(peak)} ({peak / len(raw):.1f}x the snapshot)")
    result = {
        "machine": m.machine(), "snapshot": str(snapshot.relative_to(m.ROOT)), "bytes": len(raw), "repeat": args.repeat,
        "layout": args.layout, "peak_rss": peak,
        "agree": not problems, "problems": problems, "failures": {k: len(v) for k, v in py.items()},
        "python_eval_s": py_eval, "python_e2e_s": py_e2e, "rego_eval_s": rego_eval, "rego_e2e_s": rego_e2e,
        "cel_eval_s": cel_eval, "cel_python_eval_s": cel_py_eval, "rego_cel_eval_s": rego_cel_eval,
        "ratio_eval": rego_eval / py_eval, "ratio_e2e": rego_e2e / py_e2e, "ratio_cel": rego_cel_eval / cel_eval,
    }  # fmt: skip
    m.OUT.mkdir(parents=True, exist_ok=True)
    (m.OUT / f"bench_rego-{generate.folder_name(args.size, args.scale)}-{args.layout}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
