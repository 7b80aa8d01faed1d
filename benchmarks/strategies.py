"""Search strategies at equal wall time (issue 17): independent chains, parallel tempering
and population annealing, through the public API, on the instances docs/quality.md names.

    python benchmarks/strategies.py --json benchmarks/results/strategies/cpu.json
    python benchmarks/strategies.py --quick          # a rehearsal: 2 s runs, one seed
    python benchmarks/strategies.py --table FILE.json  # print the Markdown table of a run

Every run is ``anneal(problem, strategy=S, seed=s, time_limit=T)`` with every other
setting at its default (the backend "auto": numba on a CPU machine, cuda where a GPU is
usable), the three strategies of one instance and seed one after another so that they
see the same machine state. Reported: the re-scored objective, its gap to the reference
(the OR-Library best known; for generated fleets the best any run of the table found),
sweeps done, and each strategy's record (exchange acceptance, families left).

Instances: OR-Library c10200, d10200, d20200 (read from ../shared/data/gap; skipped,
saying so, when absent) and generated fleets of 1,000 x 100, 200 x 20 with releases and
capacities, and 10,000 x 1,000.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GAP_DIR = HERE.parent.parent / "shared" / "data" / "gap"
STRATEGIES = ("independent", "tempering", "population")
SEEDS = (0, 1, 2)

#: label -> (builder, seconds per run, reference or None)
INSTANCES = {
    "c10200": (("gap", "gapc.txt", 4), 60.0, 2806.0),
    "d10200": (("gap", "gapd.txt", 4), 60.0, 12430.0),
    "d20200": (("gap", "gapd.txt", 6), 60.0, 12238.0),
    "fleet-1000x100": (("fleet", 1000, 100, False), 20.0, None),
    "fleet-200x20-cap": (("fleet", 200, 20, True), 10.0, None),
    "fleet-10000x1000": (("fleet", 10000, 1000, False), 30.0, None),
}


def build(spec):
    from satea.compile import compile_assignment, compile_fleet
    if spec[0] == "gap":
        from satea.io import read_orlib_gap_problem
        c, r, cap = read_orlib_gap_problem(GAP_DIR / spec[1], spec[2])
        return compile_assignment(c, resource=r, capacity=cap)
    from satea.generate import generate_fleet
    _, n, m, cap = spec
    return compile_fleet(generate_fleet(n, m, seed=0, capacity=cap))


def run(args) -> dict:
    from satea.annealing import anneal
    rows = []
    names = [n for n in INSTANCES if args.only is None or n in args.only.split(",")]
    for name in names:
        spec, seconds, ref = INSTANCES[name]
        if spec[0] == "gap" and not GAP_DIR.is_dir():
            print(f"{name}: skipped ({GAP_DIR} absent)", file=sys.stderr)
            continue
        problem = build(spec)
        seconds = args.seconds or seconds
        for seed in (SEEDS[:1] if args.quick else SEEDS):
            for strategy in args.strategy_list:
                t0 = time.perf_counter()
                r = anneal(problem, strategy=strategy, seed=seed, time_limit=seconds)
                wall = time.perf_counter() - t0
                rec = dict(r.info["strategy"])
                rec.pop("temperatures", None)
                assert rec["name"] == strategy, rec    # what ran is what the row says
                rows.append(dict(instance=name, strategy=strategy, seed=seed,
                                 time_limit=seconds, objective=r.fun, feasible=bool(r.feasible),
                                 reference=ref, sweeps=r.sweeps, chains=r.chains,
                                 backend=r.backend, wall=wall, record=rec))
                print(f"{name} seed {seed} {strategy:11s} {r.fun:.10g} "
                      f"{'' if r.feasible else 'INFEASIBLE '}{r.sweeps} sweeps "
                      f"{wall:.1f} s {rec}", file=sys.stderr, flush=True)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                                capture_output=True).stdout.strip()
    except OSError:
        commit = "?"
    return dict(date=_dt.date.today().isoformat(), commit=commit,
                machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
                command=" ".join(["python", "benchmarks/strategies.py"] + sys.argv[1:]),
                rows=rows)


def table(data: dict) -> str:
    """Markdown: per instance and strategy, the mean gap over seeds (and each seed's); the
    best, or none where the two best means are closer than their standard error."""
    rows = data["rows"]
    best: dict = {}
    for r in rows:   # a generated fleet's reference: the best objective any run found
        if r["feasible"]:
            best[r["instance"]] = min(best.get(r["instance"], np.inf), r["objective"])
    heads = []
    for s in STRATEGIES:
        chains = sorted({r["chains"] for r in rows if r["strategy"] == s})
        heads.append(f"{s} ({'/'.join(map(str, chains))} chains)" if chains else s)
    out = ["| instance | seconds | " + " | ".join(heads) + " | best |",
           "|---|---:|" + "---:|" * len(STRATEGIES) + "---|"]
    for inst in dict.fromkeys(r["instance"] for r in rows):
        sub = [r for r in rows if r["instance"] == inst]
        ref = sub[0]["reference"] or best[inst]
        cells, means, sems = [], {}, {}
        for s in STRATEGIES:
            mine = [r for r in sub if r["strategy"] == s]
            gaps = [100.0 * (r["objective"] - ref) / abs(ref) if r["feasible"] else np.inf
                    for r in mine]
            means[s] = float(np.mean(gaps)) if gaps else np.inf
            sems[s] = (float(np.std(gaps, ddof=1) / np.sqrt(len(gaps)))
                       if len(gaps) > 1 else 0.0)
            cells.append(f"{means[s]:.3f}% ({', '.join(f'{g:.2f}' for g in gaps)})")
        order = sorted(means, key=lambda s: means[s])
        # a win: the best mean below the runner-up's by more than either's standard error
        a, b = order[0], order[1]
        win = a if means[b] - means[a] > max(sems[a], sems[b]) else f"none ({a}, {b} tie)"
        out.append(f"| {inst} | {sub[0]['time_limit']:g} | " + " | ".join(cells)
                   + f" | {win} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--only", help="comma-separated instance labels")
    ap.add_argument("--seconds", type=float, help="override every time limit")
    ap.add_argument("--quick", action="store_true", help="one seed, 2 s runs")
    ap.add_argument("--table", metavar="FILE", help="print the table of a JSON run")
    ap.add_argument("--strategies", help="comma-separated, of " + ", ".join(STRATEGIES))
    ap.add_argument("--merge", metavar="FILE",
                    help="a JSON run whose rows this run's (instance, strategy) pairs replace")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return
    if args.quick:
        args.seconds = args.seconds or 2.0
    args.strategy_list = args.strategies.split(",") if args.strategies else list(STRATEGIES)
    unknown = [s for s in args.strategy_list if s not in STRATEGIES]
    if unknown:
        ap.error(f"--strategies: unknown {', '.join(unknown)} (of {', '.join(STRATEGIES)})")
    old = json.loads(Path(args.merge).read_text()) if args.merge else None
    if old is not None:   # merged rows must have run at the same time limits
        limits = {r["instance"]: r["time_limit"] for r in old["rows"]}
        for name, (_spec, seconds, _ref) in INSTANCES.items():
            t = args.seconds or seconds
            if (args.only is None or name in args.only.split(",")) and \
                    limits.get(name, t) != t:
                ap.error(f"--merge: {name} would run {t:g} s here, {limits[name]:g} s in "
                         f"{args.merge}: not at equal time")
    data = run(args)
    if old is not None:   # keep the merged file's rows of the (instance, strategy) pairs not rerun
        redone = {(r["instance"], r["strategy"]) for r in data["rows"]}
        kept = [r for r in old["rows"] if (r["instance"], r["strategy"]) not in redone]
        for r in kept:
            r.setdefault("commit", old["commit"])
        for r in data["rows"]:
            r["commit"] = data["commit"]
        data["merged_from"] = {"file": args.merge, "commit": old["commit"],
                               "date": old["date"], "command": old["command"]}
        data["rows"] = kept + data["rows"]
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    print(table(data))


if __name__ == "__main__":
    main()
