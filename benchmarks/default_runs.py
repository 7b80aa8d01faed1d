"""Default runs side by side with an earlier install: what the stop rule costs and saves.

    python benchmarks/default_runs.py --set fleet20 --base-python ../venv-base/bin/python
    python benchmarks/default_runs.py --set gap --base-python ../venv-base/bin/python
    python benchmarks/default_runs.py --set tiny --base-python ../venv-base/bin/python
    python benchmarks/default_runs.py --set timed --base-python ../venv-base/bin/python

``timed``: strategies.py's d10200 and three fleets at their time limits (60, 20, 10,
30 s), every other setting default; the objectives side by side.

Each interpreter (this one, with this checkout's satea, and ``--base-python``, with the
earlier commit installed, e.g. ``git worktree add ../base ec452b8`` and a venv with
``pip install -e ../base``) runs this file as a worker that keeps its kernels loaded;
problems go to the two workers alternately, so both see the same machine state. Each
run is ``anneal(problem, backend="numba", seed=SEED)`` with every default (each side's
own: stop rule, strategy). Reported per problem: the
objective (re-scored), whether it is the reference optimum (fleet20: the HiGHS MILP's
proven optimum; gap: the published optimum; tiny: brute force) and the search seconds
(``result.seconds``). Writes a Markdown table to stdout and JSON to ``--json``.

Reads ../shared/data/gap for the gap set (skips it when absent).

    python benchmarks/default_runs.py --set gap --base-strategy independent \
        --refs benchmarks/results/default_runs_gap.json

compares the default strategy with independent chains in this one install (the
references of an earlier run of the same set, so no MILP or brute force is redone).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GAP_DIR = HERE.parent.parent / "shared" / "data" / "gap"


def _timed_instances() -> dict:
    """strategies.py's instances (name -> (build spec, seconds, reference))."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from strategies import INSTANCES
    return INSTANCES


def _tests_module(name: str):
    if str(HERE.parent / "tests") not in sys.path:
        sys.path.insert(0, str(HERE.parent / "tests"))
    return __import__(name)


def problems(name: str):
    """(label, builder) pairs of a set; builders run in the worker (either version)."""
    if name == "fleet20":
        return [(f"fleet20-{s}", ("fleet20", s)) for s in range(20)]
    if name == "gap":
        return [(f"gap{f}-{k}", ("gap", f, k)) for f in range(1, 13) for k in range(1, 6)]
    if name == "timed":   # strategies.py's instances at their time limits
        return [(n, ("timed", n, sec)) for n, (_b, sec, _r) in _timed_instances().items()
                if n in ("d10200", "fleet-1000x100", "fleet-200x20-cap", "fleet-10000x1000")]
    if name == "tiny":
        return [(n, ("tiny", n)) for n in ("step", "linear", "exponential", "releases",
                                          "capacity", "tou", "forbidden", "mixed")]
    raise SystemExit(f"unknown set {name!r}")


def build(spec):
    from satea.compile import compile_assignment, compile_fleet
    if spec[0] == "fleet20":
        from satea.generate import generate_fleet
        return compile_fleet(generate_fleet(20, 4, seed=spec[1], penalties=("step", "linear"),
                                            capacity=True, price_curve_fraction=0.0))
    if spec[0] == "timed":
        spec_timed = _timed_instances()[spec[1]][0]    # puts strategies.py on sys.path
        from strategies import build as build_timed
        return build_timed(spec_timed)
    if spec[0] == "gap":
        from satea.io import read_orlib_gap
        c, a, b = list(read_orlib_gap(GAP_DIR / f"gap{spec[1]}.txt"))[spec[2] - 1]
        return compile_assignment(c, a, b, maximize=True)
    return compile_fleet(_tests_module("conftest").tiny_fleet_by_name(spec[1]))


def worker(strategy: str | None = None) -> None:
    """Read one JSON [spec, seed] per line, answer one JSON line per run (``strategy``:
    passed to anneal, else its default)."""
    import importlib
    try:   # satea.annealing since the settings work; satea.anneal before (older commits)
        anneal: Any = importlib.import_module("satea.annealing").anneal
    except ImportError:
        anneal = importlib.import_module("satea.anneal").anneal
    import inspect
    if strategy is not None and "strategy" not in inspect.signature(anneal).parameters:
        raise SystemExit(f"--base-strategy {strategy}: this satea has no search strategies")
    warm = build(("fleet20", 99))
    anneal(warm, backend="numba", seed=0, sweeps=2)     # compile or load the kernels
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        spec, seed = json.loads(line)
        p = build(tuple(spec))
        t0 = time.perf_counter()
        kw: dict[str, Any] = {} if strategy is None else {"strategy": strategy}
        if spec[0] == "timed":
            kw["time_limit"] = spec[2]
        r = anneal(p, backend="numba", seed=seed, **kw)
        wall = time.perf_counter() - t0
        print(json.dumps({"fun": r.fun, "seconds": r.seconds, "wall": wall, "chains": r.chains,
                          "sweeps": r.sweeps, "planned": r.sweeps_requested,
                          "stopped_by": r.stopped_by, "feasible": bool(r.feasible),
                          "strategy": (getattr(r, "info", None) or {}).get(
                              "strategy", {}).get("name", "independent")}),
              flush=True)


def reference(spec) -> float:
    """The optimum of a problem in the caller's sense (minimised objective); for the timed
    set the OR-Library best known, else NaN (the table then compares the two sides)."""
    if spec[0] == "timed":
        ref = _timed_instances()[spec[1]][2]
        return float("nan") if ref is None else float(ref)
    if spec[0] == "gap":
        import csv
        with open(GAP_DIR / "best_known.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                if (row["file"], int(row["problem_index"]), row["sense"]) == \
                        (f"gap{spec[1]}.txt", spec[2], "max"):
                    return float(row["best_known_value"])   # fun: the profit (caller sense)
        raise KeyError(spec)
    p = build(spec)
    if spec[0] == "fleet20":
        from satea.milp import solve_milp
        m = solve_milp(p, time_limit=300)
        if m.status != "optimal":
            raise RuntimeError(f"{spec}: MILP not optimal ({m.status})")
        return m.objective
    from satea.objective import evaluate
    _, x, _ = _tests_module("conftest").brute_force(p)
    return evaluate(p, x).objective


def start(python: str, strategy: str | None = None) -> subprocess.Popen:
    extra = [] if strategy is None else ["--worker-strategy", strategy]
    w = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker", *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/")
    assert w.stdout is not None   # a pipe (stdout=PIPE)
    line = w.stdout.readline()
    if not line:
        raise SystemExit(f"the worker of {python} did not start (its error is above)")
    assert json.loads(line)["ready"]
    return w


def ask(w: subprocess.Popen, spec, seed: int) -> dict:
    assert w.stdin is not None and w.stdout is not None   # pipes (start)
    w.stdin.write(json.dumps([list(spec), seed]) + "\n")
    w.stdin.flush()
    return json.loads(w.stdout.readline())


def same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(b), 1e-12)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--set", choices=["fleet20", "gap", "tiny", "timed"])
    ap.add_argument("--base-python", required=False)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--worker-strategy", help=argparse.SUPPRESS)
    ap.add_argument("--base-strategy", metavar="S",
                    help="the base worker passes strategy=S (with no --base-python: this "
                         "interpreter, so the two sides differ in the strategy only)")
    ap.add_argument("--refs", metavar="FILE",
                    help="take the references from an earlier --json of the same set")
    a = ap.parse_args()
    if a.worker:
        worker(a.worker_strategy)
        return 0
    if a.set in ("gap", "timed") and not GAP_DIR.is_dir():   # timed: d10200
        print(f"skipped: no {GAP_DIR}")
        return 0
    todo = problems(a.set)
    if a.refs:
        known = {r["problem"]: r["reference"]
                 for r in json.loads(Path(a.refs).read_text())["rows"]}
        lacking = [label for label, _ in todo if label not in known]
        if lacking:
            ap.error(f"--refs {a.refs}: no reference for {', '.join(lacking[:5])}"
                     f"{' ...' if len(lacking) > 5 else ''} (another set?)")
        refs = {label: known[label] for label, _ in todo}
    else:
        refs = {label: reference(spec) for label, spec in todo}
    new = start(sys.executable)
    base = start(a.base_python or sys.executable, a.base_strategy)
    rows = []
    for i, (label, spec) in enumerate(todo):
        order = [("new", new), ("base", base)] if i % 2 == 0 else [("base", base), ("new", new)]
        got = {name: ask(w, spec, a.seed) for name, w in order}
        rows.append({"problem": label, "reference": refs[label], **{
            f"{k}_{f}": v[f] for k, v in got.items() for f in v}})
        print(f"{label}: base {got['base']['fun']:.6g} {got['base']['seconds']:.3f} s, new "
              f"{got['new']['fun']:.6g} {got['new']['seconds']:.3f} s "
              f"({got['new']['sweeps']}/{got['new']['planned']} sweeps)", file=sys.stderr)
    for w in (new, base):
        assert w.stdin is not None
        w.stdin.close()
        w.wait()
    if a.set == "timed":   # time-limited: objectives side by side, no optimum to hit
        print("| problem | seconds | base: chains | base: objective | new: chains | "
              "new: objective | new / base - 1 |\n|---|---|---|---|---|---|---|")
        for (label, spec), r in zip(todo, rows):
            print(f"| {label} | {spec[2]:g} | {r['base_chains']} | {r['base_fun']:.8g} | "
                  f"{r['new_chains']} | {r['new_fun']:.8g} | "
                  f"{r['new_fun'] / r['base_fun'] - 1:+.3%} |")
        write_json(a, rows)
        return 0
    hits = {k: sum(same(r[f"{k}_fun"], r["reference"]) for r in rows) for k in ("base", "new")}
    secs = {k: sum(r[f"{k}_seconds"] for r in rows) for k in ("base", "new")}
    print("| set | problems | base: optima | base: search s | new: optima | new: search s "
          "| new / base time | new: mean sweeps / planned |\n|---|---|---|---|---|---|---|---|")
    frac = sum(r["new_sweeps"] / r["new_planned"] for r in rows) / len(rows)
    print(f"| {a.set} (seed {a.seed}) | {len(rows)} | {hits['base']}/{len(rows)} | "
          f"{secs['base']:.2f} | {hits['new']}/{len(rows)} | {secs['new']:.2f} | "
          f"{secs['new'] / secs['base']:.3f} | {frac:.3f} |")
    missed = [r["problem"] for r in rows if not same(r["new_fun"], r["reference"])]
    print(f"\nmissed (new): {', '.join(missed) or 'none'}")
    write_json(a, rows)
    return 0


def write_json(a, rows: list) -> None:
    if a.json:
        Path(a.json).write_text(json.dumps({"set": a.set, "seed": a.seed,
                                            "base_strategy": a.base_strategy, "rows": rows},
                                           indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
