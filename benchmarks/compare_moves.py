"""Numba search speed on a fixed set of moves, for comparing two commits side by side.

Uses the public API only (``satea.generate.generate_fleet``, ``satea.compile``,
``satea.io.read_orlib_gap_problem``, ``satea.anneal.anneal``), so the same file runs
unchanged in an environment of either commit:

    BASE_PY benchmarks/compare_moves.py --label base --json base.json
    NEW_PY  benchmarks/compare_moves.py --label new  --json new.json
    benchmarks/compare_moves.sh BASE_PY NEW_PY        # alternating runs, then a summary
    python benchmarks/compare_moves.py --summarize base.jsonl new.jsonl

Every run of an instance uses the same chains, sweeps, seed, p_swap, lambda, capacity
weight and an explicit (t_hot, t_cold) written below, so neither the schedule sizing nor
the default capacity weight (both outside the timed region anyway) can change the moves
between versions. A 2-sweep warm-up anneal on the same instance runs first, so JIT
compile (and any per-problem specialisation) is done before the timed runs.

``seconds`` is ``AnnealResult.seconds``: wall time of the sweep blocks only (it starts
after the backend's ``start``: compile and chain initialisation excluded; the small
per-block Python overhead is included). ``moves_per_s`` = chains * sweeps * n_jobs /
seconds (attempted moves), best of ``--repeat`` runs. ``fun`` should be close between
versions but need not be identical (float rounding can flip rare accept decisions).

Run it with the script path, not ``python -c`` from a repository root: the current
directory would shadow the installed ``satea`` (the script prints which one it imported).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GAPD = REPO.parent / "shared" / "data" / "gap" / "gapd.txt"

#: name -> how to build it, sweeps (about 1-3 s of search on 2 cores at ec452b8) and a fixed
#: schedule / capacity weight. The temperatures are satea.schedules.default_temperature_range
#: (problem, seed=0) at ec452b8, rounded; cap_weight is the default there (10 x 90th-pct
#: random uphill / median resource = 10 * 74 / 51); fleets without budgets use 0.
INSTANCES: dict[str, dict[str, Any]] = {
    "fleet1k": dict(kind="fleet", size=(1000, 100), sweeps=1500,
                    schedule=(0.078, 5.2e-4), cap_weight=0.0),
    "fleet10k": dict(kind="fleet", size=(10000, 1000), sweeps=150,
                     schedule=(0.080, 3.5e-4), cap_weight=0.0),
    "fleet100k": dict(kind="fleet", size=(100000, 10000), sweeps=8,
                      schedule=(0.085, 3.3e-4), cap_weight=0.0),
    "d20200": dict(kind="gap", file="gapd.txt", index=6, sweeps=12000,
                   schedule=(24.5, 0.58), cap_weight=14.5),
    # a random 200 x 20 generalized assignment problem of d20200's shape (for machines
    # without ../shared/data, e.g. a lent GPU), with d20200's schedule
    "gap200": dict(kind="randgap", size=(200, 20), sweeps=12000,
                   schedule=(24.5, 0.58), cap_weight=14.5),
}
DEFAULT_INSTANCES = "fleet1k,fleet10k,d20200"
FLEET_SEED = 0
#: all kinds, so every penalty branch of the kernels runs ("none": jobs without deadline)
PENALTIES = ("none", "step", "linear", "exponential")
P_SWAP = 0.3
LAM = 1.0


def _sha(*parts) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
    return h.hexdigest()[:12]


def build(name: str):
    """(problem, fingerprint of the input data) or (None, reason) when unavailable."""
    spec = INSTANCES[name]
    if spec["kind"] == "fleet":
        from satea.compile import compile_fleet
        from satea.generate import generate_fleet
        n, m = spec["size"]
        # releases (3/4 of the jobs), price curves (1/4 of the servers, the default
        # price_curve_fraction) and every penalty kind; no capacity budgets
        fleet = generate_fleet(n, m, seed=FLEET_SEED, penalties=PENALTIES,
                               price_curve_fraction=0.25, capacity=False)
        # part-1 fields only, so commits before and after part 2 (which added fields
        # that default to part 1's meaning) fingerprint the same data alike
        fp = _sha([(j.name, j.model, j.samples, j.release_s, j.due_s, j.penalty)
                   for j in fleet.jobs],
                  [(s.name, s.gpu, s.price_per_kwh, s.price_curve, s.capacity_s)
                   for s in fleet.servers])
        return compile_fleet(fleet, lam=LAM), fp
    from satea.compile import compile_assignment
    if spec["kind"] == "randgap":
        n, m = spec["size"]
        g = np.random.default_rng(7)
        c = g.integers(5, 50, size=(n, m)).astype(float)
        r = g.integers(5, 25, size=(n, m)).astype(float)
        cap = np.full(m, 0.8 * r.sum() / m / m)
        return compile_assignment(c, r, cap, name="gap200"), _sha(c.tobytes(), r.tobytes())
    from satea.io import read_orlib_gap_problem
    path = GAPD.parent / spec["file"]
    if not path.is_file():
        return None, f"no file {path}"
    c, r, cap = read_orlib_gap_problem(path, spec["index"])
    # gapa-gapd are minimisation problems (benchmarks/quality.py: maximize=False)
    p = compile_assignment(c, r, cap, maximize=False,
                           name=f"{path.stem}-{spec['index']}")
    return p, _sha(c.tobytes(), r.tobytes(), cap.tobytes())


BACKEND = "numba"


def any_anneal() -> Any:
    """``anneal``: satea.annealing's, or satea.anneal's in commits before the settings work
    (this script measures earlier commits too)."""
    import importlib
    try:
        return importlib.import_module("satea.annealing").anneal
    except ImportError:
        return importlib.import_module("satea.anneal").anneal


def run_once(problem, chains: int, sweeps: int, spec: dict):
    anneal = any_anneal()
    import inspect
    # the moves' speed: independent chains (commits with strategies default to population)
    kw = ({"strategy": "independent"} if "strategy" in inspect.signature(anneal).parameters
          else {})
    return anneal(problem, chains=chains, sweeps=sweeps, backend=BACKEND, seed=0,
                  schedule=tuple(spec["schedule"]), cap_weight=spec["cap_weight"],
                  p_swap=P_SWAP, lam=LAM if spec["kind"] == "fleet" else None, **kw)


def git_info(path: Path) -> tuple[str, bool | None]:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=path, capture_output=True, text=True).stdout.strip()
        return head, bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def measure(args) -> dict:
    import numba
    import satea
    pkg = Path(satea.__file__).resolve().parent
    commit, dirty = git_info(pkg)
    print(f"satea from {pkg} (commit {commit[:12]}{', dirty' if dirty else ''}); "
          f"numba {numba.__version__}, {numba.get_num_threads()} threads", file=sys.stderr)
    doc = {"label": args.label, "commit": commit, "dirty": dirty,
           "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "satea": str(pkg), "numba": numba.__version__,
           "threads": numba.get_num_threads(), "cpus": os.cpu_count(), "rows": []}
    names = [s.strip() for s in args.instances.split(",") if s.strip()]
    if args.fleet100k and "fleet100k" not in names:
        names.append("fleet100k")
    for name in names:
        if name not in INSTANCES:
            raise SystemExit(f"unknown instance {name!r} (known: {', '.join(INSTANCES)})")
        spec = INSTANCES[name]
        problem, fp = build(name)
        if problem is None:
            print(f"{name}: skipped ({fp})", file=sys.stderr)
            continue
        sweeps = max(1, int(round(spec["sweeps"] * args.sweeps_factor)))
        tw = time.perf_counter()
        warm = run_once(problem, args.chains, 2, spec)       # compile + specialise
        warm_wall = time.perf_counter() - tw
        runs = []
        for _ in range(args.repeat):
            tw, tc = time.perf_counter(), time.process_time()
            r = run_once(problem, args.chains, sweeps, spec)
            wall, cpu = time.perf_counter() - tw, time.process_time() - tc
            assert r.sweeps == sweeps, (r.sweeps, sweeps)
            # CPU seconds of this process over (anneal wall x threads): well below 1 means
            # the run shared the cores with something else (or the kernel left them idle).
            # The wall includes single-threaded setup and the final re-scoring, so large
            # instances read lower when clean (fleet100k about 0.8 at ec452b8).
            util = cpu / max(wall * min(args.chains, numba.get_num_threads()), 1e-12)
            runs.append((r.seconds, float(r.fun), bool(r.feasible), wall, util))
        best = min(runs)
        moves = args.chains * sweeps * problem.n_jobs
        row = {"instance": name, "backend": BACKEND, "n_jobs": int(problem.n_jobs),
               "n_servers": int(problem.n_servers), "chains": args.chains, "sweeps": sweeps,
               "seconds": best[0], "moves_per_s": moves / best[0], "fun": best[1],
               "feasible": best[2], "all_seconds": [x[0] for x in runs],
               "all_fun": [x[1] for x in runs], "wall_s": best[3],
               "warmup_wall_s": warm_wall, "cpu_util": best[4],
               "all_cpu_util": [x[4] for x in runs], "loadavg": os.getloadavg()[0],
               "compile_seconds": getattr(warm, "compile_seconds", None),
               "schedule": list(spec["schedule"]), "cap_weight": spec["cap_weight"],
               "fingerprint": fp}
        doc["rows"].append(row)
        print(f"{name:>10} {row['n_jobs']:>7}x{row['n_servers']:<6} chains {args.chains} "
              f"sweeps {sweeps:>5}  {best[0]:7.3f} s  {row['moves_per_s']:10.4g} moves/s  "
              f"fun {best[1]:.10g}{'' if best[2] else ' (infeasible)'}  cpu util {best[4]:.2f}",
              file=sys.stderr)
    return doc


def _load_docs(path: str) -> list[dict]:
    text = Path(path).read_text()
    try:
        d = json.loads(text)
        return d if isinstance(d, list) else [d]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def summarize(base_path: str, new_path: str) -> None:
    sides = {}
    for side, path in (("base", base_path), ("new", new_path)):
        docs = _load_docs(path)
        rows: dict[str, list] = {}
        for d in docs:
            for r in d["rows"]:
                rows.setdefault(r["instance"], []).append(r)
        commits = sorted({d["commit"][:12] + ("+dirty" if d.get("dirty") else "")
                          for d in docs})
        print(f"{side}: {path}: {len(docs)} runs, commit {', '.join(commits)}")
        sides[side] = rows
    print(f"{'instance':>10} {'runs':>9} {'base moves/s':>13} {'new moves/s':>13} "
          f"{'new/base':>8}  {'base fun':>14} {'new fun':>14}  util b/n")
    for name in INSTANCES:
        b, n = sides["base"].get(name), sides["new"].get(name)
        if not b or not n:
            continue
        bb = max(b, key=lambda r: r["moves_per_s"])
        nb = max(n, key=lambda r: r["moves_per_s"])
        note = []
        if (bb["chains"], bb["sweeps"]) != (nb["chains"], nb["sweeps"]):
            note.append("different chains/sweeps")
        if {r.get("fingerprint") for r in b} != {r.get("fingerprint") for r in n}:
            note.append("DIFFERENT INSTANCE DATA")
        if min(bb.get("cpu_util", 1.0), nb.get("cpu_util", 1.0)) < 0.9:
            note.append("best run shared the cores: rerun on an idle machine")
        print(f"{name:>10} {len(b):>4}/{len(n):<4} {bb['moves_per_s']:13.4g} "
              f"{nb['moves_per_s']:13.4g} {nb['moves_per_s'] / bb['moves_per_s']:8.3f}  "
              f"{np.median([r['fun'] for r in b]):14.8g} "
              f"{np.median([r['fun'] for r in n]):14.8g}  "
              f"{bb.get('cpu_util', np.nan):.2f}/{nb.get('cpu_util', np.nan):.2f}"
              + (f"  ({'; '.join(note)})" if note else ""))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", default=DEFAULT_INSTANCES,
                    help=f"comma-separated, of {', '.join(INSTANCES)} "
                         f"(default {DEFAULT_INSTANCES})")
    ap.add_argument("--fleet100k", action="store_true",
                    help="also run fleet100k (100,000 x 10,000)")
    ap.add_argument("--chains", type=int, default=2, help="chains (default 2: one per core)")
    ap.add_argument("--sweeps-factor", type=float, default=1.0,
                    help="multiply every instance's sweeps (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; best kept (default 3)")
    ap.add_argument("--label", default="run")
    ap.add_argument("--json", help="write the result document here")
    ap.add_argument("--jsonl", help="append the document as one line here")
    ap.add_argument("--summarize", nargs=2, metavar=("BASE", "NEW"),
                    help="compare two result files (JSON or JSON lines) and exit")
    ap.add_argument("--backend", default="numba", help="numba (default) or cuda")
    args = ap.parse_args(argv)
    global BACKEND
    BACKEND = args.backend
    if args.summarize:
        summarize(*args.summarize)
        return 0
    if args.repeat < 1 or args.chains < 1:
        ap.error("--repeat and --chains must be >= 1")
    doc = measure(args)
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    if args.jsonl:
        with open(args.jsonl, "a") as f:
            f.write(json.dumps(doc) + "\n")
    if not args.json and not args.jsonl:
        print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
