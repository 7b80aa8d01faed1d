"""satea.distributed scaling on one machine: LocalClusters of 1 and 2 single-threaded worker
processes (NUMBA_NUM_THREADS=1 each), runs alternated so both see the same machine load.

    python benchmarks/dask_scaling.py [SWEEPS [ROUNDS]]     # docs/distributed.md: 30 5

Prints moves/s with 1 and 2 workers (and their ratio), the CPU the workers got, the
overhead per call on a small instance and the data sizes docs/distributed.md tabulates.
Needs satea[distributed]; run it on an otherwise idle machine."""
import os, pickle, statistics, sys, time
os.environ["NUMBA_NUM_THREADS"] = "1"      # this process's numba too (schedule sampling)
from distributed import Client, LocalCluster
import satea.distributed as sd
from satea.annealing import anneal
from satea.bench import bench_instance, cpu_name

SWEEPS, ROUNDS = (int(a) for a in (sys.argv[1:] or ["30", "3"]))
load = lambda: open("/proc/loadavg").read().split()[0]
if __name__ == "__main__":
    big, small = bench_instance(2000, 200), bench_instance(20, 4)
    print(f"{cpu_name()}; numba threads per process 1; load average {load()}")
    print(f"2000x200: problem.nbytes() {big.nbytes()} B, pickled "
          f"{len(pickle.dumps(big, protocol=5))} B; 20x4: {small.nbytes()} B")
    for rs in (True, False):
        out = sd._run_shard(big, sd.plan_shards(64, 1, 0)[0], dict(sweeps=1, return_samples=rs))
        print(f"shard result 64 chains x 2000 jobs, return_samples={rs}: "
              f"{len(pickle.dumps(out, protocol=5))} B pickled")
    kw = dict(dashboard_address=":0", threads_per_worker=1, processes=True,
              env={"NUMBA_NUM_THREADS": "1"})
    with LocalCluster(n_workers=1, **kw) as c1, LocalCluster(n_workers=2, **kw) as c2, \
            Client(c1) as k1, Client(c2) as k2:
        clients = {1: k1, 2: k2}
        for W, c in clients.items():
            sd.solve(big, c, chains=2 * W, sweeps=1, seed=1)       # load the numba caches
        rate, cores, per_cpu = {1: [], 2: []}, {1: [], 2: []}, {1: [], 2: []}
        for rnd in range(ROUNDS):
            for W, c in clients.items():
                cpu0 = sum(c.run(time.process_time).values())
                t = time.perf_counter()
                r = sd.solve(big, c, chains=64 * W, sweeps=SWEEPS, seed=rnd)
                wall = time.perf_counter() - t
                cpu = sum(c.run(time.process_time).values()) - cpu0   # workers' CPU seconds
                moves = r.chains * r.sweeps * big.n_jobs
                rate[W].append(moves / wall)
                cores[W].append(cpu / wall)
                per_cpu[W].append(moves / cpu)
                print(f"round {rnd}: {W} worker(s), {r.chains} chains x {r.sweeps} sweeps, "
                      f"{wall:.2f} s wall, {rate[W][-1]:.3g} moves/s; workers' CPU {cpu:.2f} s "
                      f"= {cores[W][-1]:.2f} cores, {per_cpu[W][-1]:.3g} moves per CPU-second "
                      f"(load {load()})")
        m1, m2 = statistics.median(rate[1]), statistics.median(rate[2])
        print(f"median moves/s: 1 worker {m1:.3g}, 2 workers {m2:.3g}, ratio {m2 / m1:.2f}")
        print(f"best round: 1 worker {max(rate[1]):.3g}, 2 workers {max(rate[2]):.3g}, ratio "
              f"{max(rate[2]) / max(rate[1]):.2f}")
        med = statistics.median
        print(f"median cores obtained: 1 worker {med(cores[1]):.2f}, 2 workers {med(cores[2]):.2f};"
              f" moves per worker CPU-second: {med(per_cpu[1]):.3g} vs {med(per_cpu[2]):.3g} "
              f"(ratio {med(per_cpu[2]) / med(per_cpu[1]):.2f})")
        loc, dis = [], []
        sd.solve(small, k2, chains=4, sweeps=10, seed=0)
        for s in range(30):
            t = time.perf_counter()
            anneal(small, chains=4, sweeps=10, seed=s, strategy="independent")
            loc.append(time.perf_counter() - t)
            t = time.perf_counter(); sd.solve(small, k2, chains=4, sweeps=10, seed=s); dis.append(time.perf_counter() - t)
        ml, md = statistics.median(loc) * 1e3, statistics.median(dis) * 1e3
        print(f"20x4, 4 chains x 10 sweeps, 2 workers, median of 30: anneal {ml:.1f} ms, "
              f"distributed.solve {md:.1f} ms, overhead {md - ml:.1f} ms per call")
    r = anneal(big, chains=64, sweeps=SWEEPS, seed=0, backend="numba",
               strategy="independent")
    print(f"reference: in-process anneal, 64 chains, 1 numba thread: {r.moves_per_second():.3g} "
          f"moves/s (load {load()})")
