"""One command for a machine with a GPU: check the cuda backend, then time it.

    python benchmarks/gpu_check.py --json benchmarks/results/gpu-<device>-<date>.json

1. builds the kernels (compile time reported);
2. checks, on fresh random instances: brute-force optima on tiny ones; cuda against numba
   with the same seed and chains (the streams and moves are the same, so each chain's
   best should agree); results re-scored in float64; same seed twice gives the same
   result; an over-large launch is refused with a message naming how many chains fit;
3. reports the compiled kernels' registers and local memory per thread;
4. times attempted moves per second at 1,000 x 100, 10,000 x 1,000 and 100,000 x 10,000
   fleets and a 200 x 20 assignment problem for several chain counts, and the numba
   backend on this machine's CPU at 1 thread and at every core in the same run;
5. runs cuda's default chain count (and 65,536 chains) against numba's default at equal
   search time on a 1,000 x 100 fleet;
6. with ``--batch``: 1,000 fleets of 50 x 5 in one cuda batch against a loop of single
   cuda runs (equal chains and sweeps; results must be identical);
   with ``--strategies``: tempering and population against numba chain by chain, and the
   three strategies at equal wall time (``--quality-seconds``);
7. prints a short table last and writes JSON in the form of ``satea bench --json``.

``--quick`` shrinks everything so the script can be rehearsed under NUMBA_ENABLE_CUDASIM=1.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import traceback
from typing import Any

import numpy as np

try:   # satea.annealing since the settings work; satea.anneal before (older commits)
    from satea.annealing import anneal
except ImportError:
    from satea.anneal import anneal  # type: ignore[import-not-found,no-redef]
from satea.bench import format_table, machine_info, measure, bench_instance
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.objective import evaluate
from satea.schedules import default_temperature_range
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
    # multi-GPU nodes and gang jobs (docs/model.md, part 2)
    p = compile_fleet(generate_fleet(7, 3, seed=int(seeds[4]), gpus_per_node=(1, 2, 4),
                                     gang_share=0.3, capacity=True))
    opt = brute_force(p)
    r = anneal(p, chains=8 if quick else 64, sweeps=60 if quick else 400, backend="cuda",
               seed=int(seeds[4]))
    check("tiny node fleet brute-force optimum", np.isclose(r.fun, opt, rtol=1e-9),
          f"cuda {r.fun:.9g} vs optimum {opt:.9g}", checks)
    c = rng.integers(5, 26, size=(8, 3)).astype(float)
    a = rng.integers(5, 26, size=(8, 3)).astype(float)
    gp = compile_assignment(c, a, np.full(3, a.sum() / 3 * 0.9))
    opt = brute_force(gp)
    r = anneal(gp, chains=8 if quick else 64, sweeps=60 if quick else 400, backend="cuda",
               seed=int(seeds[5]))
    check("tiny GAP brute-force optimum", np.isclose(r.fun, opt), f"cuda {r.fun} vs {opt}",
          checks)

    # cuda vs numba: same streams, same moves (independent chains: a last-bit difference
    # in one chain's energy stays in that chain; the strategies check covers the others)
    n, m = (12, 3) if quick else (200, 20)
    chains, sweeps = (4, 5) if quick else (2048, 40)
    p = compile_fleet(generate_fleet(n, m, seed=int(seeds[6]), capacity=True))
    rc = anneal(p, chains=chains, sweeps=sweeps, backend="cuda", seed=int(seeds[7]),
                strategy="independent")
    rn = anneal(p, chains=chains, sweeps=sweeps, backend="numba", seed=int(seeds[7]),
                strategy="independent")
    same = np.isclose(rc.chain_best, rn.chain_best, rtol=1e-9, atol=0) | (
        np.isinf(rc.chain_best) & np.isinf(rn.chain_best))
    check(f"cuda vs numba per-chain best ({n}x{m}, {chains} chains)", same.mean() >= 0.99,
          f"{same.mean():.4f} of chains identical; best cuda {rc.fun:.9g} numba {rn.fun:.9g}",
          checks)
    ev = evaluate(p.with_lambda(rc.lam), rc.x)
    check("cuda result re-scored in float64", ev.objective == rc.fun and ev.feasible == rc.feasible,
          f"{rc.fun!r} == {ev.objective!r}", checks)
    rc2 = anneal(p, chains=chains, sweeps=sweeps, backend="cuda", seed=int(seeds[7]),
                 strategy="independent")
    check("same seed, same result (cuda)",
          np.array_equal(rc.samples, rc2.samples) and rc.fun == rc2.fun,
          f"{rc.fun!r} vs {rc2.fun!r}", checks)
    # ... and on nodes of 8 GPUs with gang jobs
    n8, m8 = (24, 3) if quick else (2000, 50)
    p8 = compile_fleet(generate_fleet(n8, m8, seed=int(seeds[6]), gpus_per_node=8,
                                      gang_share=0.1))
    rc8 = anneal(p8, chains=chains, sweeps=sweeps, backend="cuda", seed=int(seeds[7]),
                 strategy="independent")
    rn8 = anneal(p8, chains=chains, sweeps=sweeps, backend="numba", seed=int(seeds[7]),
                 strategy="independent")
    same8 = np.isclose(rc8.chain_best, rn8.chain_best, rtol=1e-9, atol=0)
    check(f"cuda vs numba per-chain best, 8-GPU nodes ({n8}x{m8}, {chains} chains)",
          same8.mean() >= 0.99, f"{same8.mean():.4f} of chains identical; best cuda "
          f"{rc8.fun:.9g} numba {rn8.fun:.9g}", checks)
    try:
        anneal(p, chains=10**12 if quick else 10**9, sweeps=1, backend="cuda", seed=0)
        check("over-large launch refused", False, "no error raised", checks)
    except MemoryError as e:
        check("over-large launch refused", "chains fit" in str(e), str(e), checks)


def kernel_resources(log) -> dict:
    """Registers, local memory and spill-free occupancy of the compiled sweep kernel (the
    ptxas report, read back from the driver), for every signature compiled so far."""
    out: dict = {}
    for name, disp in (("sweep", kcuda.sweep_kernel), ("init", kcuda.init_kernel)):
        try:   # {signature: value} over the signatures compiled so far
            regs = disp.get_regs_per_thread()
            local = disp.get_local_mem_per_thread()
            for sig in regs:
                out.setdefault(name, []).append({"registers": int(regs[sig]),
                                                 "local_bytes": int(local[sig])})
                log(f"# kernel {name}: {regs[sig]} registers, {local[sig]} bytes local "
                    f"memory per thread")
        except Exception as e:  # the simulator has no compiled kernels
            log(f"# kernel {name}: no resource report ({type(e).__name__})")
    return out


def set_threads(t: int) -> int:
    import numba
    t = max(1, min(t, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    numba.set_num_threads(t)
    return t


def run_timings(quick: bool, seconds: float, log, deadline: float, save,
                short: bool = False) -> list:
    """Rows: numba at 1 thread and at every core, and cuda at the chain counts that
    saturate the device, on 1,000 x 100, 10,000 x 1,000 and 100,000 x 10,000 fleets and
    a 200 x 20 generalized assignment problem (no schedule terms: O(1) moves)."""
    import numba
    cores = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    if quick:
        plan = [("fleet", (20, 4), [8, 16], 4), ("nodes", (40, 4), [8, 16], 4)]
    elif short:
        plan = [("fleet", (1000, 100), [65536, 262144], 256),
                ("nodes", (2000, 50), [16384, 65536], 256)]
    else:
        plan = [("fleet", (1000, 100), [16384, 65536, 262144], 256),
                ("nodes", (2000, 50), [16384, 65536], 256),
                ("gap", (200, 20), [65536, 262144], 256),
                ("fleet", (10000, 1000), [16384, 65536], 256),
                ("fleet", (100000, 10000), [4096, 16384], 64)]
    rows = []
    for kind, (n, m), gpu_chains, cpu_chains in plan:
        t0 = time.perf_counter()
        if kind == "nodes":   # 2,000 jobs on 50 nodes of 8 GPUs, 10% gang jobs
            p = bench_instance(n, m, seed=0, gpus_per_node=8, gang_share=0.1)
        elif kind == "gap":
            g = np.random.default_rng(7)
            c = g.integers(5, 50, size=(n, m)).astype(float)
            a = g.integers(5, 25, size=(n, m)).astype(float)
            p = compile_assignment(c, a, np.full(m, 0.8 * a.sum() / m / m))
        else:
            p = bench_instance(n, m, seed=0)
        schedule = default_temperature_range(p, 0)   # once per instance, not per row
        log(f"# instance {kind} {n}x{m} built and its schedule sized in "
            f"{time.perf_counter() - t0:.1f} s")
        runs = [("numba", cpu_chains, 1), ("numba", cpu_chains, cores)]
        runs += [("cuda", nc, cores) for nc in gpu_chains]
        for be, nc, threads in runs:
            if time.perf_counter() > deadline:
                log(f"# {be} {n}x{m} {nc} chains skipped: past the time budget")
                continue
            set_threads(threads)
            try:
                row = measure(p, be, nc, seconds, seed=0, schedule=schedule)
            except MemoryError as e:
                log(f"# {be} {n}x{m} {nc} chains refused: {e}")
                continue
            finally:
                set_threads(cores)
            row["instance"] = kind
            if be == "cuda":
                row["threads_per_block"] = kcuda.THREADS_PER_BLOCK
            else:
                row["numba_threads"] = threads
            rows.append(row)
            save(rows)
            log(f"{be:>6} {kind:>5} {n:>7}x{m:<6} chains {nc:>7} threads {threads:>2}: "
                f"{row['moves_per_s']:.3e} moves/s ({row['sweeps']} sweeps, "
                f"{row['seconds']:.2f} s) best {row['best_objective']:.6g}")
    return rows


def equal_time_quality(quick: bool, seconds: float, log) -> list:
    """The cuda default chain count (and a saturating one) against numba's default at
    equal search time: each run's sweeps are fitted to ``seconds`` from its measured rate
    (the default schedule, seed 0), on a 1,000 x 100 fleet."""
    from satea.backends.numba_cuda import CudaBackend
    from satea.backends.numba_cpu import NumbaCPUBackend
    n, m = (20, 4) if quick else (1000, 100)
    p = bench_instance(n, m, seed=3)
    out = []
    for be, nc in (("numba", NumbaCPUBackend.default_chains),
                   ("cuda", CudaBackend.default_chains), ("cuda", 8 if quick else 65536)):
        rate = measure(p, be, nc, min(1.0, seconds / 4), seed=0)["moves_per_s"]
        sweeps = max(1, int(rate * seconds / (nc * n)))
        r = anneal(p, backend=be, chains=nc, sweeps=sweeps, seed=0)
        row = {"backend": be, "chains": nc, "sweeps": sweeps, "seconds": r.seconds,
               "objective": r.fun, "feasible": bool(r.feasible), "jobs": n, "servers": m}
        out.append(row)
        log(f"# equal time {seconds:.0f} s, {n}x{m}: {be} {nc} chains x {sweeps} sweeps "
            f"-> {r.fun:.6g} ({r.seconds:.1f} s)")
    return out


def batch_against_loop(quick: bool, log) -> dict:
    """Issue 15: many small fleets in one cuda batch (one grid over every problem's chains)
    against a loop of single cuda runs, equal chains and sweeps; results must be identical
    (and equal numba's on a sample)."""
    from satea import anneal_batch
    n, (jobs, servers) = (3, (8, 3)) if quick else (1000, (50, 5))
    chains, sweeps = (4, 4) if quick else (256, 200)
    probs = [compile_fleet(generate_fleet(jobs, servers, seed=k)) for k in range(n)]
    kw: dict[str, Any] = dict(chains=chains, sweeps=sweeps, seed=0, backend="cuda",
                              strategy="independent")
    anneal_batch(probs[:2], **kw)        # compile the batch kernels outside the timing
    anneal(probs[0], **kw)
    t = time.perf_counter()
    batch = anneal_batch(probs, **kw)
    t_batch = time.perf_counter() - t
    t = time.perf_counter()
    loop = [anneal(p, **kw) for p in probs]
    t_loop = time.perf_counter() - t
    same = all(a.fun == b.fun and np.array_equal(a.x, b.x) for a, b in zip(batch, loop))
    k = min(3, n)
    numba_same = all(np.array_equal(anneal(probs[i], **dict(kw, backend="numba")).samples,
                                     batch[i].samples) for i in range(k))
    out = {"problems": n, "size": f"{jobs}x{servers}", "chains": chains, "sweeps": sweeps,
           "batch_seconds": t_batch, "loop_seconds": t_loop, "speedup": t_loop / t_batch,
           "batch_search_seconds": batch[0].info["search_seconds"],
           "identical_to_loop": same, "first_problems_equal_numba": numba_same}
    log(f"# batch of {n} fleets {jobs}x{servers}: {t_batch:.2f} s against a loop "
        f"{t_loop:.2f} s ({t_loop / t_batch:.1f}x), identical {same}, numba {numba_same}")
    return out


def strategies_on_gpu(quick: bool, seconds: float, log, checks: list) -> dict:
    """Issue 17 on the device: tempering (t_scale exchanged on the device) and population
    (state gathered with CuPy) against numba chain by chain on a fresh fleet, then the
    three strategies at equal wall time (cuda's default chains, seed 0) on a 1,000 x 100
    fleet and, when ../shared/data is present, OR-Library d10200."""
    import os
    rng = np.random.default_rng(int(time.time()) + 17)
    n, m = (12, 3) if quick else (200, 20)
    chains, sweeps = (8, 6) if quick else (2048, 40)
    p = compile_fleet(generate_fleet(n, m, seed=int(rng.integers(2**31)), capacity=True))
    seed = int(rng.integers(2**31))
    for strategy in ("tempering", "population"):
        kw: dict[str, Any] = dict(chains=chains, sweeps=sweeps, seed=seed, strategy=strategy,
                                  exchange_sweeps=2)
        rc, rn = anneal(p, backend="cuda", **kw), anneal(p, backend="numba", **kw)
        same = np.isclose(rc.chain_best, rn.chain_best, rtol=1e-9, atol=1e-8) | (
            np.isinf(rc.chain_best) & np.isinf(rn.chain_best))
        rec_same = rc.info["strategy"] == rn.info["strategy"]
        check(f"{strategy}: cuda vs numba per-chain best ({n}x{m}, {chains} chains)",
              same.mean() >= 0.99 and rec_same,
              f"{same.mean():.4f} of chains identical, records equal {rec_same}; "
              f"{rc.info['strategy']}", checks)
    out: dict = {"equal_time": []}
    insts: list[tuple[str, Any, float | None]] = [
        ("fleet-1000x100", bench_instance(*((20, 4) if quick else (1000, 100)), seed=3), None)]
    gap = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "gap",
                       "gapd.txt")
    if os.path.exists(gap) and not quick:
        from satea.io import read_orlib_gap_problem
        c, r, cap = read_orlib_gap_problem(gap, 4)
        insts.append(("d10200", compile_assignment(c, resource=r, capacity=cap), 12430.0))
    for name, prob, ref in insts:
        for strategy in ("independent", "tempering", "population"):
            r = anneal(prob, backend="cuda", strategy=strategy, seed=0, time_limit=seconds)
            rec = {k: v for k, v in r.info["strategy"].items() if k != "temperatures"}
            out["equal_time"].append(dict(instance=name, strategy=strategy, seconds=seconds,
                                          chains=r.chains, sweeps=r.sweeps, objective=r.fun,
                                          feasible=bool(r.feasible), reference=ref,
                                          record=rec))
            log(f"# strategies {name} {seconds:g} s cuda {r.chains} chains: {strategy} "
                f"{r.fun:.8g} ({r.sweeps} sweeps) {rec}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (simulator rehearsal)")
    ap.add_argument("--seconds", type=float, default=1.5, help="search seconds per timing row")
    ap.add_argument("--skip-checks", action="store_true")
    ap.add_argument("--batch", action="store_true",
                    help="also time 1,000 fleets of 50 x 5 in one cuda batch against a loop")
    ap.add_argument("--strategies", action="store_true",
                    help="also check tempering and population against numba and run the "
                         "three strategies at equal wall time (issue 17)")
    ap.add_argument("--short", action="store_true", help="time only 1000x100 and 10000x1000")
    ap.add_argument("--budget", type=float, default=330.0,
                    help="start no new timing row after this many seconds")
    ap.add_argument("--quality-seconds", type=float, default=8.0,
                    help="search seconds per run of the equal-time quality check")
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

    if args.batch:
        try:
            doc["batch"] = batch_against_loop(args.quick, log)
            check("cuda batch identical to single runs", doc["batch"]["identical_to_loop"]
                  and doc["batch"]["first_problems_equal_numba"], json.dumps(doc["batch"]),
                  checks)
        except Exception as e:
            traceback.print_exc()
            check("batch ran", False, repr(e), checks)
    if args.strategies:
        try:
            doc["strategies"] = strategies_on_gpu(args.quick, args.quality_seconds, log, checks)
        except Exception as e:
            traceback.print_exc()
            check("strategies ran", False, repr(e), checks)
    save(run_timings(args.quick, args.seconds, log, t_start + args.budget, save,
                     short=args.short))
    doc["kernels"] = kernel_resources(log)   # every signature compiled by now
    if not args.short and time.perf_counter() < t_start + args.budget:
        doc["equal_time"] = equal_time_quality(args.quick, args.quality_seconds, log)
        save(doc["rows"])
    print()
    print("checks: " + ", ".join(f"{c['check']}={'ok' if c['ok'] else 'FAIL'}" for c in checks))
    print(format_table(doc))
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
