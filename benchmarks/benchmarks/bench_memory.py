"""Memory at the largest sizes: host peak of a numba run, device bytes of a cuda run."""
from __future__ import annotations

try:   # satea.annealing since the settings work; satea.anneal on older commits
    from satea.annealing import anneal
except ImportError:
    from satea.anneal import anneal  # type: ignore[no-redef,import-not-found]  # old commits

from .common import SEED, cupy_or_skip, instance, warm_up

SIZES = ["10000x1000", "100000x10000"]
NUMBA_CHAINS = 64
CUDA_CHAINS = 4096


class HostMemory:
    """Peak resident memory of the benchmark process (asv's ``peakmem_``: the imports, the
    compiled instance and the run's chains together) of one numba sweep with 64 chains."""

    params = SIZES
    param_names = ["size"]
    timeout = 300

    def setup(self, size):
        self.problem = instance(size)
        warm_up("numba")

    def peakmem_numba_anneal(self, size):
        anneal(self.problem, chains=NUMBA_CHAINS, sweeps=1, backend="numba", seed=SEED)


class DeviceMemory:
    """Bytes held by CuPy's default memory pool during one cuda sweep (the chains' state,
    the instance and a block of trace), the pool's high-water mark between blocks."""

    params = SIZES
    param_names = ["size"]
    timeout = 300
    rounds = 1

    def setup(self, size):
        self.cupy = cupy_or_skip()
        self.problem = instance(size)
        warm_up("cuda")

    def track_device_pool_bytes(self, size):
        pool = self.cupy.get_default_memory_pool()
        pool.free_all_blocks()
        peak = [pool.total_bytes()]

        def watch(progress):
            peak[0] = max(peak[0], pool.total_bytes())

        anneal(self.problem, chains=CUDA_CHAINS, sweeps=1, backend="cuda", seed=SEED,
               callback=watch)
        return peak[0]

    track_device_pool_bytes.unit = "bytes"  # type: ignore[attr-defined]  # read by asv
