"""One command for a machine with a GPU: check the cuda backend, then time it.

    python benchmarks/gpu_check.py --json benchmarks/results/gpu-<device>-<date>.json

1. builds the kernels (compile time reported);
2. checks, on fresh random instances: brute-force optima on tiny ones; cuda against numba
   with the same seed and chains (the streams and moves are the same, so each chain's
   best should agree); results re-scored in float64; same seed twice gives the same
   result; an over-large launch is refused with a message naming how many chains fit;
3. times attempted moves per second at 1,000 x 100, 10,000 x 1,000 and 100,000 x 10,000
   (jobs x servers) for several chain counts, and the numba backend on this machine's CPU
   cores in the same run;
4. prints a short table last and writes JSON in the form of ``satea bench --json``.

``--quick`` shrinks everything so the script can be rehearsed under NUMBA_ENABLE_CUDASIM=1.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import traceback

import numpy as np

from satea.anneal import anneal
from satea.bench import format_table, machine_info, measure, bench_instance
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.objective import evaluate
from satea.kernels import cuda as kcuda


def brute_force(problem):
    best = np.inf
    for x in itertools.product(range(problem.n_servers), repeat=problem.n_jobs):
        ev = evaluate(problem, np.array(x))
        if ev.feasible and ev.search_objective < best:
            best = ev.search_objective
    return best


def check(name, ok, detail, checks):
    checks.append({"check": name, "ok": bool(ok), "detail": detail})
    print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


def run_checks(quick: bool, checks: list) -> None:
    rng = np.random.default_rng(int(time.time()))  # fresh instances every run
    seeds = rng.integers(0, 2**31, size=8)
    # tiny instances: brute-force optimum
    n_tiny = 2 if quick else 4
    for i in range(n_tiny):
        p = compile_fleet(generate_fleet(7, 3, seed=int(seeds[i]), capacity=bool(i % 2)))
        opt = brute_force(p)
        r = anneal(p, chains=8 if quick else 64, sweeps=60 if quick else 400, backend="cuda",
                   seed=int(seeds[i]))
        check(f"tiny fleet {i} brute-force optimum", np.isclose(r.fun, opt, rtol=1e-9),
              f"cuda {r.fun:.9g} vs optimum {opt:.9g}", checks)
    c = rng.integers(5, 26, size=(8, 3)).astype(float)
    a = rng.integers(5, 26, size=(8, 3)).astype(float)
    gp = compile_assignment(c, a, np.full(3, a.sum() / 3 * 0.9))
    opt = brute_force(gp)
    r = anneal(gp, chains=8 if quick else 64, sweeps=60 if quick else 400, backend="cuda",
               seed=int(seeds[5]))
    check("tiny GAP brute-force optimum", np.isclose(r.fun, opt), f"cuda {r.fun} vs {opt}",
          checks)

    # cuda vs numba: same streams, same moves
    n, m = (12, 3) if quick else (200, 20)
    chains, sweeps = (4, 5) if quick else (2048, 40)
    p = compile_fleet(generate_fleet(n, m, seed=int(seeds[6]), capacity=True))
    rc = anneal(p, chains=chains, sweeps=sweeps, backend="cuda", seed=int(seeds[7]))
    rn = anneal(p, chains=chains, sweeps=sweeps, backend="numba", seed=int(seeds[7]))
    same = np.isclose(rc.chain_best, rn.chain_best, rtol=1e-9, atol=0) | (
        np.isinf(rc.chain_best) & np.isinf(rn.chain_best))
    check(f"cuda vs numba per-chain best ({n}x{m}, {chains} chains)", same.mean() >= 0.99,
          f"{same.mean():.4f} of chains identical; best cuda {rc.fun:.9g} numba {rn.fun:.9g}",
          checks)
    ev = evaluate(p.with_lambda(rc.lam), rc.x)
    check("cuda result re-scored in float64", ev.objective == rc.fun and ev.feasible == rc.feasible,
          f"{rc.fun!r} == {ev.objective!r}", checks)
    rc2 = anneal(p, chains=chains, sweeps=sweeps, backend="cuda", seed=int(seeds[7]))
    check("same seed, same result (cuda)",
          np.array_equal(rc.samples, rc2.samples) and rc.fun == rc2.fun,
          f"{rc.fun!r} vs {rc2.fun!r}", checks)
    try:
        anneal(p, chains=10**12 if quick else 10**9, sweeps=1, backend="cuda", seed=0)
        check("over-large launch refused", False, "no error raised", checks)
    except MemoryError as e:
        check("over-large launch refused", "chains fit" in str(e), str(e), checks)


def run_timings(quick: bool, seconds: float, log, deadline: float, save,
                short: bool = False) -> list:
    if short:  # one size, for a quick A/B of a kernel change
        plan = [((1000, 100), [65536, 262144], 256), ((10000, 1000), [65536], 256)]
    elif quick:
        plan = [((20, 4), [8, 16], 4)]
    else:
        plan = [((1000, 100), [1024, 8192, 65536, 262144], 256),
                ((10000, 1000), [8192, 65536, 131072], 256),
                ((100000, 10000), [8192, 32768], 64)]
    rows = []
    for (n, m), gpu_chains, cpu_chains in plan:
        t0 = time.perf_counter()
        p = bench_instance(n, m, seed=0)
        log(f"# instance {n}x{m} generated and compiled in {time.perf_counter() - t0:.1f} s")
        for be, chain_list in (("numba", [cpu_chains]), ("cuda", gpu_chains)):
            for nc in chain_list:
                if time.perf_counter() > deadline:
                    log(f"# {be} {n}x{m} {nc} chains skipped: past the time budget")
                    continue
                try:
                    row = measure(p, be, nc, seconds, seed=0)
                except MemoryError as e:
                    log(f"# {be} {n}x{m} {nc} chains refused: {e}")
                    continue
                if be == "cuda":
                    row["threads_per_block"] = kcuda.THREADS_PER_BLOCK
                rows.append(row)
                save(rows)
                log(f"{be:>6} {n:>7}x{m:<6} chains {nc:>7}: {row['moves_per_s']:.3e} moves/s "
                    f"({row['sweeps']} sweeps, {row['seconds']:.2f} s) best {row['best_objective']:.6g}")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (simulator rehearsal)")
    ap.add_argument("--seconds", type=float, default=1.5, help="search seconds per timing row")
    ap.add_argument("--skip-checks", action="store_true")
    ap.add_argument("--short", action="store_true", help="time only 1000x100 and 10000x1000")
    ap.add_argument("--budget", type=float, default=330.0,
                    help="start no new timing row after this many seconds")
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    doc = machine_info()
    doc["format"] = "satea-bench/1"
    log(f"# {doc['device']} | {doc['cpu']} | numba {doc['numba']} threads {doc['threads']}")
    try:
        import numba_cuda
        log(f"# numba-cuda {getattr(numba_cuda, '__version__', '?')}")
    except ImportError:
        pass
    try:
        import cupy
        log(f"# cupy {cupy.__version__}")
    except ImportError:
        log("# cupy not installed")
    checks: list = []
    t0 = t_start = time.perf_counter()
    if not args.skip_checks:
        try:
            run_checks(args.quick, checks)
        except Exception as e:  # keep going to the timings; the failure is recorded
            traceback.print_exc()
            check("checks ran", False, repr(e), checks)
    log(f"# checks took {time.perf_counter() - t0:.1f} s")
    doc["checks"] = checks

    def save(rows):  # after every row, so a cut-off run still leaves its figures
        doc["rows"] = rows
        if args.json:
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)

    save(run_timings(args.quick, args.seconds, log, t_start + args.budget, save,
                     short=args.short))
    print()
    print("checks: " + ", ".join(f"{c['check']}={'ok' if c['ok'] else 'FAIL'}" for c in checks))
    print(format_table(doc))
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
