"""Solution quality at a fixed budget (seeded; chains and sweeps fixed), so that a speed
change that hurts quality shows: the default strategy (what users get), and the gap to the
numpy reference with independent chains, whose moves the numba and cuda kernels make draw
for draw (so it should stay 0)."""
from __future__ import annotations

try:   # satea.annealing since the settings work; satea.anneal on older commits
    from satea.annealing import anneal
except ImportError:
    from satea.anneal import anneal  # type: ignore[no-redef,import-not-found]  # old commits

from .common import INDEPENDENT, SEED, instance, require, warm_up

#: (chains, sweeps) per size
BUDGET = {"200x20": (8, 50), "1000x100": (64, 50)}
REFERENCE_SIZE = "200x20"


class BestObjective:
    """Best objective (float64 re-scored) after the fixed budget; lower is better."""

    params = (["numpy", "numba", "cuda"], list(BUDGET))
    param_names = ["backend", "size"]
    timeout = 300
    rounds = 1

    def setup(self, backend, size):
        if backend == "numpy" and size != REFERENCE_SIZE:
            raise NotImplementedError("numpy reference: only at the small size")
        require(backend)
        self.problem = instance(size)
        warm_up(backend)

    def track_best_objective(self, backend, size):
        chains, sweeps = BUDGET[size]
        return anneal(self.problem, chains=chains, sweeps=sweeps, backend=backend,
                      seed=SEED).fun

    track_best_objective.unit = "objective"  # type: ignore[attr-defined]  # read by asv


class GapToReference:
    """(best - reference best) / |reference best| at equal chains, sweeps and seed, the
    reference being the numpy backend on the small instance."""

    params = ["numba", "cuda"]
    param_names = ["backend"]
    timeout = 300
    rounds = 1

    def setup_cache(self):
        chains, sweeps = BUDGET[REFERENCE_SIZE]
        return anneal(instance(REFERENCE_SIZE), chains=chains, sweeps=sweeps, backend="numpy",
                      seed=SEED, **INDEPENDENT).fun

    def setup(self, reference, backend):
        require(backend)
        self.problem = instance(REFERENCE_SIZE)
        warm_up(backend)

    def track_gap_to_reference(self, reference, backend):
        chains, sweeps = BUDGET[REFERENCE_SIZE]
        best = anneal(self.problem, chains=chains, sweeps=sweeps, backend=backend,
                      seed=SEED, **INDEPENDENT).fun
        return (best - reference) / abs(reference)

    track_gap_to_reference.unit = "relative"  # type: ignore[attr-defined]  # read by asv
