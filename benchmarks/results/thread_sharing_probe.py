"""Per-thread cost of a move with 1 or 2 threads, in one process (compare two commits by
running this with each one's Python, alternately; the ratios within a run are what to
compare, free of a second install's bias).

Rows (chains, threads): a chain per thread shows any cache line that neighbouring chains'
threads both write (false sharing); more chains than threads put only the chunk
boundaries' chains side by side. 1,000 x 100 fleet of benchmarks/compare_moves.py, 300
sweeps of its schedule, best of ``--repeat``; ns per move per thread.

    python benchmarks/results/thread_sharing_probe.py [--repeat 3] [--label L]
"""
import argparse
import json
import sys
import time

import numba
import numpy as np

from satea.backends.base import RunSpec
from satea.backends.numba_cpu import NumbaCPUBackend
from satea.compile import compile_fleet
from satea.generate import generate_fleet

ROWS = ((1, 1), (2, 1), (2, 2), (4, 2), (16, 2))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="")
    a = ap.parse_args(argv)
    n, m, sweeps = 1000, 100, 300
    fleet = generate_fleet(n, m, seed=0, penalties=("none", "step", "linear", "exponential"),
                           price_curve_fraction=0.25, capacity=False)
    problem = compile_fleet(fleet, lam=1.0)
    betas = 1.0 / np.geomspace(0.078, 5.2e-4, sweeps)
    best: dict = {}
    for _ in range(a.repeat):
        for nc, th in ROWS:
            numba.set_num_threads(th)
            be = NumbaCPUBackend()
            be.start(problem, RunSpec(nc, 0, np.arange(nc), np.ones(nc), 0.3, 0.0))
            t0 = time.perf_counter()
            be.run_block(0, betas)
            ns = (time.perf_counter() - t0) / (sweeps * n * nc) * 1e9 * th
            best[(nc, th)] = min(best.get((nc, th), np.inf), ns)
    one = best[(1, 1)]
    print(json.dumps({"label": a.label, "satea": __import__("satea").__file__,
                      "ns_per_move_per_thread": {f"{c}c/{t}t": round(v, 1)
                                                 for (c, t), v in best.items()},
                      "over_1c1t": {f"{c}c/{t}t": round(v / one, 3)
                                    for (c, t), v in best.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
