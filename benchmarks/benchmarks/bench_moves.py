"""Attempted moves per second (chains x sweeps x jobs / search seconds, compile and chain
start-up excluded) per backend and size."""
from __future__ import annotations

try:   # satea.annealing since the settings work; satea.anneal on older commits
    from satea.annealing import anneal
except ImportError:
    from satea.anneal import anneal  # type: ignore[no-redef,import-not-found]  # old commits
from satea.schedules import default_temperature_range

from .common import INDEPENDENT, SEED, SIZES, instance, require, warm_up

#: (chains, sweeps) per (backend, size): one to a few seconds of search on 2 CPU cores or one
#: GPU. The numpy reference at 10,000 x 1,000 runs ``NUMPY_STEPS`` moves per chain (part of
#: one sweep, which takes 40-100 s with 4 chains); at 100,000 x 10,000 it is not run.
BUDGET = {
    ("numpy", "1000x100"): (4, 1),
    ("numpy", "10000x1000"): (4, None),
    ("numba", "1000x100"): (64, 20),
    ("numba", "10000x1000"): (64, 2),
    ("numba", "100000x10000"): (64, 1),
    ("cuda", "1000x100"): (65536, 10),
    ("cuda", "10000x1000"): (16384, 2),
    ("cuda", "100000x10000"): (4096, 1),
}
NUMPY_STEPS = 200


class MovesPerSecond:
    params = (["numpy", "numba", "cuda"], SIZES)
    param_names = ["backend", "size"]
    timeout = 300
    rounds = 2

    def setup(self, backend, size):
        if (backend, size) not in BUDGET:
            raise NotImplementedError(f"{backend} at {size}: not measured (O(jobs) per move)")
        require(backend)
        self.problem = instance(size)
        self.chains, self.sweeps = BUDGET[backend, size]
        # the default schedule's sampling is outside the search time anyway; do it once here
        self.schedule = default_temperature_range(self.problem, SEED)
        if self.sweeps is None:
            try:  # imported here: commits before it still run the other cases
                from satea.bench import measure_steps
            except ImportError:
                raise NotImplementedError("satea.bench.measure_steps: not in this commit") \
                    from None
            self.measure_steps = measure_steps
        else:
            warm_up(backend)

    def track_moves_per_second(self, backend, size):
        if self.sweeps is None:
            return self.measure_steps(self.problem, self.chains, NUMPY_STEPS,
                                      SEED)["moves_per_s"]
        r = anneal(self.problem, chains=self.chains, sweeps=self.sweeps, backend=backend,
                   seed=SEED, schedule=self.schedule, **INDEPENDENT)
        return r.moves_per_second()

    track_moves_per_second.unit = "moves/s"  # type: ignore[attr-defined]  # read by asv
