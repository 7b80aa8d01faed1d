"""Shared by the suites: sizes, seeded instances, JIT warm-up and asv's skip convention.

A benchmark is skipped when its ``setup`` raises ``NotImplementedError``: the cuda cases
without a real GPU (``satea.backends.numba_cuda.real_gpu()``), device bytes without CuPy,
and the numpy reference where one run would take minutes.
"""
from __future__ import annotations

import inspect

import numpy as np

try:   # satea.annealing since the settings work; satea.anneal on older commits
    from satea.annealing import anneal
except ImportError:
    from satea.anneal import anneal  # type: ignore[no-redef,import-not-found]  # old commits
from satea.backends import backend_class

SEED = 0
#: keyword arguments for independent chains on commits that have search strategies (the
#: default there is population annealing, whose resampling is not a move)
INDEPENDENT = ({"strategy": "independent"} if "strategy" in inspect.signature(anneal).parameters
               else {})
#: jobs x servers, 10 jobs per server at every size
SIZES = ["1000x100", "10000x1000", "100000x10000"]

_instances: dict = {}


def parse_size(size: str) -> tuple[int, int]:
    jobs, servers = size.split("x")
    return int(jobs), int(servers)


def instance(size: str, seed: int = SEED):
    """The seeded instance of this size (``satea.bench.bench_instance``), compiled once per
    process."""
    key = (size, seed)
    if key not in _instances:
        try:
            from satea.bench import bench_instance
        except ImportError:  # a commit from before satea.bench: the same instance
            from satea.compile import compile_fleet
            from satea.generate import generate_fleet

            def bench_instance(n_jobs: int, n_servers: int, seed: int = 0):  # type: ignore[misc]
                return compile_fleet(generate_fleet(n_jobs, n_servers, seed=seed))
        _instances[key] = bench_instance(*parse_size(size), seed)
    return _instances[key]


def require(backend: str) -> None:
    """Raise NotImplementedError (asv: skip) when ``backend`` cannot run here; cuda needs a
    real device, not the simulator."""
    if backend == "cuda":
        from satea.backends.numba_cuda import real_gpu
        if not real_gpu():
            raise NotImplementedError("cuda: no real CUDA device")
    cls = backend_class(backend)
    if not cls.available():
        raise NotImplementedError(f"{backend}: {cls.unavailable_reason()}")


def cupy_or_skip():
    require("cuda")
    try:
        import cupy
    except ImportError:
        raise NotImplementedError("cupy is not installed") from None
    return cupy


def warm_up(backend: str) -> None:
    """Compile (or load from numba's cache) the backend's kernels and start its threads, so
    that no timed or tracked call includes them."""
    anneal(instance("20x4"), chains=32 if backend == "cuda" else 2, sweeps=2,
           backend=backend, seed=SEED)


def random_assignment(problem, seed: int = SEED) -> np.ndarray:
    """A uniform random allowed server per job, in the caller's job order."""
    from satea.backends.numpy_ref import allowed_server
    u = np.random.default_rng(seed).random(problem.n_jobs)
    return problem.to_caller(allowed_server(problem, problem.job_class, u)).astype(np.int64)
