"""The CUDA backend: one chain per GPU thread, state interleaved across chains, device
arrays held by CuPy (numba device arrays under the simulator, where CuPy has no device).

This is the only module that imports CuPy.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..compile import ProblemArrays, compile_assignment
from ..kernels.layout import BEST_X, CHAIN_F, state_bytes_per_chain
from .base import (F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE, F_COST, F_VIOL, N_CHAIN_F, Backend,
                   ChainSnapshot, RunSpec, count_compile, state_plan)
from .numba_cpu import problem_tuple

#: at most this many bytes of per-chain trace per block of sweeps
TRACE_BYTES = 64 << 20
#: keep this fraction of free device memory spare
HEADROOM = 0.9


def simulator() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _cuda():
    from numba import cuda
    return cuda


def real_gpu() -> bool:
    """A physical CUDA device is usable (not the simulator)."""
    if simulator():
        return False
    try:
        return bool(_cuda().is_available())
    except Exception:  # numba-cuda missing or broken driver: no GPU for us
        return False


def _cupy():
    """CuPy, when it is installed and a real device is present."""
    if not real_gpu():
        return None
    try:
        import cupy
        return cupy
    except ImportError:
        return None


def device_free_bytes() -> int:
    """Free device memory in bytes (a module-level function so tests can replace it)."""
    if simulator():
        return 1 << 40
    free, _total = _cuda().current_context().get_memory_info()
    return int(free)


def chain_bytes(n_jobs: int, n_servers: int, block_sweeps: int, lists: bool = True) -> int:
    """Device bytes per chain: the state (kernels.layout.state_bytes_per_chain, the GPU's
    layout: 16 N + 24 S + 88 with job lists, 8 N + 16 S + 104 without) and one block of
    trace."""
    return state_bytes_per_chain(n_jobs, n_servers, lists, caches=False) + 8 * block_sweeps


def max_block_sweeps(n_chains: int, spare_bytes: int = TRACE_BYTES) -> int:
    """Sweeps per launch: as many as a trace of min(TRACE_BYTES, spare) bytes holds."""
    return max(1, min(TRACE_BYTES, spare_bytes) // (8 * n_chains))


def launch_bytes(problem: ProblemArrays, n_chains: int) -> int:
    """Device bytes of a launch of ``n_chains`` running one sweep per launch: problem arrays,
    per-chain state and one sweep of trace. Increasing in ``n_chains``; longer launches
    (:func:`max_block_sweeps`) only use memory left over."""
    from ..kernels.layout import problem_walks
    lists = bool(problem_walks(problem).any())
    derived = 16 * problem.n_jobs * problem.n_server_classes + problem.n_servers
    return (problem.nbytes() + derived
            + n_chains * chain_bytes(problem.n_jobs, problem.n_servers, 1, lists))


def max_chains(problem: ProblemArrays, budget: int) -> int:
    """The most chains whose :func:`launch_bytes` is within ``budget`` (0 if none)."""
    lo, hi = 0, 1
    while launch_bytes(problem, hi) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # launch_bytes(lo) <= budget < launch_bytes(hi)
        mid = (lo + hi) // 2
        if launch_bytes(problem, mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def check_fits(problem: ProblemArrays, n_chains: int) -> int:
    """Estimate the launch's device memory; raise MemoryError saying how many chains fit.

    Returns the estimated bytes.
    """
    need = launch_bytes(problem, n_chains)
    free = device_free_bytes()
    budget = int(HEADROOM * free)
    if need > budget:
        fit = max_chains(problem, budget)
        raise MemoryError(
            f"cuda: {n_chains} chains x {problem.n_jobs} jobs x {problem.n_servers} servers need "
            f"{need / 2**30:.2f} GiB of device memory, {free / 2**30:.2f} GiB free; "
            + (f"at most {fit} chains fit: pass chains={fit} or fewer" if fit else
               "not even one chain fits"))
    return need


_COMPILED = {"seconds": None}


class CudaBackend(Backend):
    """Numba CUDA kernels over device arrays; see :mod:`satea.kernels.cuda`."""

    name = "cuda"
    # far below the ~65k chains that saturate an H200 (benchmarks/results/README.md): the
    # default buys long chains, not throughput; its quality on a GPU is not yet measured
    default_chains = 1024

    @classmethod
    def available(cls) -> bool:
        if simulator():
            return True
        return real_gpu()

    @classmethod
    def usable_for_auto(cls) -> bool:
        return real_gpu()

    @classmethod
    def check_capacity(cls, problem: ProblemArrays, n_chains: int) -> None:
        check_fits(problem, n_chains)

    @classmethod
    def unavailable_reason(cls) -> str:
        try:
            _cuda()
        except ImportError:
            return "numba-cuda is not installed (pip install 'satea[gpu]')"
        except Exception as e:  # installed, but its CUDA libraries do not load
            return f"numba-cuda cannot load the CUDA libraries: {type(e).__name__}: {e}"
        return "no CUDA device found (numba.cuda.is_available() is False)"

    def _to_device(self, a: np.ndarray):
        cuda = _cuda()
        if self.cp is not None:
            return cuda.as_cuda_array(self.cp.asarray(a))
        return cuda.to_device(np.ascontiguousarray(a))

    def _compile_once(self, kern) -> float:
        """Compile both kernels on a 2 x 2 problem so compile time stays out of the search."""
        if _COMPILED["seconds"] is None:
            t0 = time.perf_counter()
            p = compile_assignment(np.array([[1.0, 2.0], [2.0, 1.0]]))
            spec = RunSpec(1, 0, np.arange(1), np.ones(1), 0.5, 1.0)
            tiny = CudaBackend.__new__(CudaBackend)
            tiny.cp = self.cp
            tiny._setup(p, spec, kern)
            tiny.run_block(0, np.ones(1))
            _cuda().synchronize()
            _COMPILED["seconds"] = time.perf_counter() - t0
            count_compile(_COMPILED["seconds"])
        return _COMPILED["seconds"]

    def start(self, problem: ProblemArrays, spec: RunSpec) -> None:
        from ..kernels import cuda as kern
        self.cp = _cupy()
        check_fits(problem, spec.n_chains)
        self.compile_seconds = self._compile_once(kern)
        self._setup(problem, spec, kern)

    def _setup(self, problem: ProblemArrays, spec: RunSpec, kern) -> None:
        self.kern, self.problem, self.spec = kern, problem, spec
        n, m, nc = problem.n_jobs, problem.n_servers, spec.n_chains
        P = problem_tuple(problem)
        self.P = tuple(self._to_device(a) for a in P)
        # interleaved layout: element i of chain c at i * nc + c; constant arrays are
        # filled on the device (no host copy of chains x jobs words)
        self.S = tuple(self._full(size, fill, dtype) if np.isscalar(fill) else self._to_device(fill)
                       for size, dtype, fill in state_plan(problem, spec, P, chain_major=False))
        spare = int(HEADROOM * device_free_bytes()) - launch_bytes(problem, nc)
        self.block_cap = max_block_sweeps(nc, spare)
        blocks, threads = kern.launch_config(nc)
        kern.init_kernel[blocks, threads](self.P, self.S, n, m, spec.x0 is None)

    def run_block(self, sweep0: int, betas: np.ndarray) -> np.ndarray:
        nc, kern, n_sweeps = self.spec.n_chains, self.kern, len(betas)
        blocks, threads = kern.launch_config(nc)
        out = np.empty(n_sweeps)
        done = 0
        while done < n_sweeps:  # the trace buffer caps sweeps per launch
            k = min(self.block_cap, n_sweeps - done)
            trace = self._empty(nc * k)
            d_betas = self._to_device(np.ascontiguousarray(betas[done:done + k], np.float64))
            kern.sweep_kernel[blocks, threads](
                self.P, self.S, self.problem.n_jobs, self.problem.n_servers, d_betas,
                sweep0 + done, k, self.spec.moves(self.problem.n_jobs), self.spec.p_swap,
                self.spec.cap_weight, trace)
            out[done:done + k] = self._min_over_chains(trace, k, nc)
            done += k
        return out

    def _full(self, size, value, dtype):
        if self.cp is not None:
            return _cuda().as_cuda_array(self.cp.full(size, value, dtype))
        return _cuda().to_device(np.full(size, value, dtype))

    def _empty(self, size):
        if self.cp is not None:
            return _cuda().as_cuda_array(self.cp.empty(size, np.float64))
        return _cuda().device_array(size, np.float64)

    def _min_over_chains(self, trace, k, nc):
        # trace[i * nc + c]: sweep i of chain c; reduce over chains on the device
        if self.cp is not None:
            return self.cp.asarray(trace).reshape(k, nc).min(axis=1).get()
        return trace.copy_to_host().reshape(k, nc).min(axis=1)

    def chain_x(self, c: int) -> np.ndarray:
        nc, n = self.spec.n_chains, self.problem.n_jobs
        if self.cp is not None:  # one strided column: n words, not n * nc
            return self.cp.asarray(self.S[BEST_X]).reshape(n, nc)[:, c].get()
        return self.S[BEST_X].copy_to_host().reshape(n, nc)[:, c].copy()

    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        nc, n = self.spec.n_chains, self.problem.n_jobs
        f = self.S[CHAIN_F].copy_to_host().reshape(N_CHAIN_F, nc)
        best_x = self.S[BEST_X].copy_to_host().reshape(n, nc).T.copy() if with_x else None
        return ChainSnapshot(best_x=best_x, best_feasible=f[F_BEST_FEASIBLE].copy(),
                             best_any=f[F_BEST_ANY].copy(), accepted=f[F_ACCEPTED].copy(),
                             cost=f[F_COST].copy(), viol=f[F_VIOL].copy())

    def close(self) -> None:
        for name in ("P", "S"):
            self.__dict__.pop(name, None)
        if self.cp is not None:
            self.cp.get_default_memory_pool().free_all_blocks()
