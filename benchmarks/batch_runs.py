"""Batches (anneal_batch, ``satea solve FILE ... --out-dir``): speed against a loop of
anneal calls, and the OR-Library gap1-12 suite in one command.

    python benchmarks/batch_runs.py speed [--problems 1000] [--repeats 3] [--json F]
    python benchmarks/batch_runs.py gap [--data ../shared/data/gap] [--json F]

``speed``: random 10 x 3 generalized assignment problems (integer costs 1-29, resources
1-9, capacities 40), 16 chains x 200 sweeps, seed 0, numba; a loop of ``anneal`` and one
``anneal_batch`` call alternate in one process (kernels compiled first), best of
``--repeats``; the objectives must be identical. ``gap``: the CLI on all twelve files
(maximised, seed 0) into a temporary folder; each result re-scored against its problem,
counted against the published optima (best_known.csv), and gap8's problem 3 compared
with a separate ``--index 3`` run.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np


def _machine() -> dict:
    import numba
    return {"date": date.today().isoformat(), "python": platform.python_version(),
            "numba": numba.__version__, "threads": numba.get_num_threads(),
            "cpus": os.cpu_count(), "commit": os.environ.get("SATEA_COMMIT", "")}


def speed(n_problems: int, repeats: int) -> dict:
    import satea
    from satea.compile import compile_assignment
    rng = np.random.default_rng(0)
    probs = [compile_assignment(rng.integers(1, 30, (10, 3)).astype(float),
                                rng.integers(1, 10, (10, 3)).astype(float), np.full(3, 40.0))
             for _ in range(n_problems)]
    kw: dict[str, Any] = dict(chains=16, sweeps=200, seed=0, backend="numba")
    satea.anneal(probs[0], **kw)                  # compile both kernel sets first
    satea.anneal_batch(probs[:2], **kw)
    loop, batch = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        a = [satea.anneal(p, **kw) for p in probs]
        loop.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = satea.anneal_batch(probs, **kw)
        batch.append(time.perf_counter() - t)
        same = all(x.fun == y.fun and np.array_equal(x.x, y.x) for x, y in zip(a, b))
        if not same:
            raise SystemExit("batch and loop differ")
    info = b[0].info
    return {"problems": n_problems, "size": "10x3", "chains": 16, "sweeps": 200,
            "loop_seconds": loop, "batch_seconds": batch,
            "speedup_best_of": min(loop) / min(batch), "identical_objectives": True,
            "batch_setup_seconds": info["setup_seconds"],
            "batch_search_seconds": info["search_seconds"],
            "loop_search_seconds_sum": sum(r.info["search_seconds"] for r in a),
            "loop_setup_seconds_sum": sum(r.info["setup_seconds"] for r in a)}


def gap(data: Path) -> dict:
    from satea.compile import compile_assignment
    from satea.io import read_orlib_gap
    from satea.objective import evaluate
    from satea.result import assignment_from_names
    best = {}
    with open(data / "best_known.csv") as fh:
        for row in csv.DictReader(fh):
            if row["sense"] == "max":
                best[(row["file"], int(row["problem_index"]))] = float(row["best_known_value"])
    files = [str(data / f"gap{k}.txt") for k in range(1, 13)]
    exe = [sys.executable, "-m", "satea.cli", "solve"]
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        run = subprocess.run(exe + files + ["--format", "orlib-gap", "--maximize", "--seed",
                                            "0", "--out-dir", out, "--quiet"],
                             capture_output=True, text=True)
        wall = time.perf_counter() - t
        if run.returncode not in (0, 1):
            raise SystemExit(run.stderr)
        rows, optimal, rescored = [], 0, 0
        for f in files:
            for k, (c, r, cap) in enumerate(read_orlib_gap(f), 1):
                stem = f"{Path(f).stem}-{k}"
                res = json.loads((Path(out) / f"{stem}.json").read_text())
                prob = compile_assignment(c, r, cap, maximize=True, name=stem)
                ev = evaluate(prob, assignment_from_names(prob, res["assignment"]))
                rescored += ev.objective == res["objective"] and ev.feasible == res["feasible"]
                known = best[(Path(f).name, k)]
                optimal += res["feasible"] and res["objective"] == known
                rows.append({"problem": stem, "objective": res["objective"], "best_known": known,
                             "sweeps": res["sweeps"]})
        single = Path(out) / "single.json"
        subprocess.run(exe + [files[7], "--format", "orlib-gap", "--maximize", "--seed", "0",
                              "--index", "3", "--quiet", "--out", str(single)], check=True)
        a = json.loads((Path(out) / "gap8-3.json").read_text())
        b = json.loads(single.read_text())
    return {"results": len(rows), "rescored_exactly": rescored, "at_optimum": optimal,
            "wall_seconds": wall,
            "gap8_3_equals_index_run": a["assignment"] == b["assignment"]
            and a["objective"] == b["objective"], "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=["speed", "gap"])
    ap.add_argument("--problems", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data" / "gap")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    doc = dict(_machine(), part=args.part)
    doc.update(speed(args.problems, args.repeats) if args.part == "speed" else gap(args.data))
    print(json.dumps({k: v for k, v in doc.items() if k != "rows"}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
