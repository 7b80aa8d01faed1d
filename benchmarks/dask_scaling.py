"""satea.distributed scaling on one machine: LocalClusters of 1 and 2 single-threaded worker
processes (NUMBA_NUM_THREADS=1 each), runs alternated so both see the same machine load.

    python benchmarks/dask_scaling.py [SWEEPS [ROUNDS [CALLS]]]   # docs/distributed.md: 30 5

Prints moves/s with 1 and 2 workers (and their ratio), the CPU the workers got, the
overhead per call on a small instance (median of CALLS, default 30) and the data sizes
docs/distributed.md tabulates. Needs satea[distributed]; run it on an otherwise idle
machine. tests/test_dask_scaling.py runs it with ``1 1 2`` so that it keeps running.
"""
from __future__ import annotations

import os
import pickle
import statistics
import sys
import time

os.environ["NUMBA_NUM_THREADS"] = "1"      # this process's numba too (schedule sampling)


def load() -> str:
    """The machine's 1-minute load average."""
    with open("/proc/loadavg") as fh:
        return fh.read().split()[0]


def shard_result_bytes(problem, return_samples: bool) -> int:
    """Pickled bytes of what one shard of 64 chains sends back (one sweep)."""
    import satea.distributed as sd
    from satea.settings import RunOptions
    run = sd.plan_run(problem, None, RunOptions(chains=64, sweeps=1, seed=0,
                                                backend="numba",
                                                return_samples=return_samples), 1)
    shard = run.shards[0]
    out = sd.run_shard([problem], sd.ShardTask(shard, (run.shard_settings(shard, None),),
                                               "numba"))
    return len(pickle.dumps(out, protocol=5))


def main(argv: list[str]) -> int:
    from distributed import Client, LocalCluster

    import satea.distributed as sd
    from satea.annealing import anneal
    from satea.bench import bench_instance, cpu_name

    sweeps, rounds, calls = (int(a) for a in (argv + ["30", "3", "30"][len(argv):])[:3])
    big, small = bench_instance(2000, 200), bench_instance(20, 4)
    print(f"{cpu_name()}; numba threads per process 1; load average {load()}")
    print(f"2000x200: problem.nbytes() {big.nbytes()} B, pickled "
          f"{len(pickle.dumps(big, protocol=5))} B; 20x4: {small.nbytes()} B")
    for rs in (True, False):
        print(f"shard result 64 chains x 2000 jobs, return_samples={rs}: "
              f"{shard_result_bytes(big, rs)} B pickled")
    kw = dict(dashboard_address=":0", threads_per_worker=1, processes=True,
              env={"NUMBA_NUM_THREADS": "1"})
    with LocalCluster(n_workers=1, **kw) as c1, LocalCluster(n_workers=2, **kw) as c2, \
            Client(c1) as k1, Client(c2) as k2:
        clients = {1: k1, 2: k2}
        for w, c in clients.items():
            sd.solve(big, c, chains=2 * w, sweeps=1, seed=1)       # load the numba caches
        rate: dict[int, list[float]] = {1: [], 2: []}
        cores: dict[int, list[float]] = {1: [], 2: []}
        per_cpu: dict[int, list[float]] = {1: [], 2: []}
        for rnd in range(rounds):
            for w, c in clients.items():
                cpu0 = sum(c.run(time.process_time).values())
                t = time.perf_counter()
                r = sd.solve(big, c, chains=64 * w, sweeps=sweeps, seed=rnd)
                wall = time.perf_counter() - t
                cpu = sum(c.run(time.process_time).values()) - cpu0   # workers' CPU seconds
                moves = r.chains * r.sweeps * big.n_jobs
                rate[w].append(moves / wall)
                cores[w].append(cpu / wall)
                per_cpu[w].append(moves / max(cpu, 1e-9))
                print(f"round {rnd}: {w} worker(s), {r.chains} chains x {r.sweeps} sweeps, "
                      f"{wall:.2f} s wall, {rate[w][-1]:.3g} moves/s; workers' CPU {cpu:.2f} s "
                      f"= {cores[w][-1]:.2f} cores, {per_cpu[w][-1]:.3g} moves per CPU-second "
                      f"(load {load()})")
        med = statistics.median
        m1, m2 = med(rate[1]), med(rate[2])
        print(f"median moves/s: 1 worker {m1:.3g}, 2 workers {m2:.3g}, ratio {m2 / m1:.2f}")
        print(f"best round: 1 worker {max(rate[1]):.3g}, 2 workers {max(rate[2]):.3g}, ratio "
              f"{max(rate[2]) / max(rate[1]):.2f}")
        print(f"median cores obtained: 1 worker {med(cores[1]):.2f}, 2 workers "
              f"{med(cores[2]):.2f}; moves per worker CPU-second: {med(per_cpu[1]):.3g} vs "
              f"{med(per_cpu[2]):.3g} (ratio {med(per_cpu[2]) / med(per_cpu[1]):.2f})")
        here, far = [], []
        sd.solve(small, k2, chains=4, sweeps=10, seed=0)
        for s in range(calls):
            t = time.perf_counter()
            anneal(small, chains=4, sweeps=10, seed=s, strategy="independent")
            here.append(time.perf_counter() - t)
            t = time.perf_counter()
            sd.solve(small, k2, chains=4, sweeps=10, seed=s)
            far.append(time.perf_counter() - t)
        ml, md = med(here) * 1e3, med(far) * 1e3
        print(f"20x4, 4 chains x 10 sweeps, 2 workers, median of {calls}: anneal {ml:.1f} ms, "
              f"distributed.solve {md:.1f} ms, overhead {md - ml:.1f} ms per call")
    r = anneal(big, chains=64, sweeps=sweeps, seed=0, backend="numba",
               strategy="independent")
    print(f"reference: in-process anneal, 64 chains, 1 numba thread: {r.moves_per_second():.3g} "
          f"moves/s (load {load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
