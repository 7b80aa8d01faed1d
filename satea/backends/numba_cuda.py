"""The CUDA backend: one chain per GPU thread, state interleaved across chains, device
arrays held by CuPy (numba device arrays under the simulator, where CuPy has no device).

This is the only module that imports CuPy.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..compile import ProblemArrays
from ..kernels.layout import BEST_HOLD, BEST_X, CHAIN_F, GPU_FLAGS, state_bytes_per_chain
from .base import (F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE, F_COST, F_TSCALE, F_VIOL, GATHERED,
                   GATHERED_F, N_CHAIN_F, Backend, BatchBackend, ChainSnapshot, RunSpec,
                   SerialBatch, count_compile, state_plan, warmup_problems, warmup_spec)
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


#: whether this process has asked for a device yet (see :func:`real_gpu`)
_PROBED = [False]


def real_gpu() -> bool:
    """A physical CUDA device is usable (not the simulator).

    The first call imports numba.cuda and asks the driver: about 0.4 s on a machine
    without a GPU (measured, 2 cores), once per process, like loading the kernels. It is
    counted in the compile clock (:func:`.base.count_compile`), which no time limit
    counts: ``backend="auto"`` asks it before every run, and a 0.3 s budget otherwise
    went on it and ended after 2 sweeps."""
    if simulator():
        return False
    t0 = time.perf_counter() if not _PROBED[0] else None
    try:
        return bool(_cuda().is_available())
    except Exception:  # numba-cuda missing or broken driver: no GPU for us
        return False
    finally:
        if t0 is not None:
            _PROBED[0] = True
            count_compile(time.perf_counter() - t0)


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


def chain_bytes(n_jobs: int, n_servers: int, block_sweeps: int, lists: bool = True,
                max_gpus: int = 1) -> int:
    """Device bytes per chain: the state (kernels.layout.state_bytes_per_chain, the GPU's
    layout: 16 N + 24 S + 144 with job lists, 8 N + 16 S + 160 without, 8 G - 8 more
    for nodes of up to G GPUs) and one block of trace."""
    return (state_bytes_per_chain(n_jobs, n_servers, lists, GPU_FLAGS, max_gpus=max_gpus)
            + 8 * block_sweeps)


def max_block_sweeps(n_chains: int, spare_bytes: int = TRACE_BYTES) -> int:
    """Sweeps per launch: as many as a trace of min(TRACE_BYTES, spare) bytes holds."""
    return max(1, min(TRACE_BYTES, spare_bytes) // (8 * n_chains))


def launch_bytes(problem: ProblemArrays, n_chains: int) -> int:
    """Device bytes of a launch of ``n_chains`` running one sweep per launch: problem arrays,
    per-chain state and one sweep of trace. Increasing in ``n_chains``; longer launches
    (:func:`max_block_sweeps`) only use memory left over."""
    from ..kernels.layout import max_walking_gpus, problem_walks
    walks = problem_walks(problem)
    lists = bool(walks.any())
    max_gpus = max_walking_gpus(walks, problem.server_gpus)
    derived = 16 * problem.n_jobs * problem.n_server_classes + problem.n_servers
    return (problem.nbytes() + derived
            + n_chains * chain_bytes(problem.n_jobs, problem.n_servers, 1, lists, max_gpus))


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


_COMPILED: dict[str, float | None] = {"seconds": None}


def set_t_scale_columns(cp, S, nc: int, t_scale: np.ndarray) -> None:
    """Set every chain's temperature scale in an interleaved device state ``S`` (indexed
    by field) of ``nc`` chains: with CuPy on the device, in the simulator via the host."""
    t = np.asarray(t_scale, np.float64)
    if cp is not None:
        cp.asarray(S[CHAIN_F]).reshape(N_CHAIN_F, nc)[F_TSCALE] = cp.asarray(t)
        return
    f = S[CHAIN_F].copy_to_host().reshape(N_CHAIN_F, nc)
    f[F_TSCALE] = t
    S[CHAIN_F].copy_to_device(f.reshape(-1))


def gather_columns(cp, S, nc: int, parents: np.ndarray) -> None:
    """Chain ``c`` of an interleaved device state ``S`` (chain c's part is column c) takes
    chain ``parents[c]``'s search state: a column gather per field with CuPy on the device
    (the state never leaves it), via the host in the simulator."""
    fields = [(i, None) for i in GATHERED] + [(CHAIN_F, list(GATHERED_F))]
    if cp is not None:
        d_par = cp.asarray(np.asarray(parents, np.int64))
        for i, rows in fields:
            a = cp.asarray(S[i]).reshape(-1, nc)
            if rows is None:
                a[...] = a[:, d_par]
            else:
                for r in rows:
                    a[r] = a[r, d_par]
        return
    for i, rows in fields:
        a = S[i].copy_to_host().reshape(-1, nc)
        if rows is None:
            a = a[:, parents]
        else:
            a[rows] = a[rows][:, parents]
        S[i].copy_to_device(np.ascontiguousarray(a).reshape(-1))


class CudaBackend(Backend):
    """Numba CUDA kernels over device arrays; see :mod:`satea.kernels.cuda`."""

    name = "cuda"
    # far below the chains that saturate an H200 (benchmarks/results/README.md): the
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
    def chains_side_by_side(cls) -> None:
        """Every chain at once: a thread each."""
        return None

    @classmethod
    def check_capacity(cls, problem: ProblemArrays, n_chains: int) -> None:
        check_fits(problem, n_chains)

    @classmethod
    def batch(cls, n_problems: int) -> BatchBackend:
        """One grid over every problem's chains; a single problem keeps the
        single-problem kernels."""
        return CudaBatch() if n_problems > 1 else SerialBatch(cls)

    @classmethod
    def batch_groups(cls, problems: list, n_chains: list) -> list:
        return batch_groups(problems, n_chains)

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
        seconds = _COMPILED["seconds"]   # a local: type checkers narrow it, not the entry
        if seconds is None:
            t0 = time.perf_counter()
            tiny = CudaBackend.__new__(CudaBackend)
            tiny.cp = self.cp
            tiny._setup(warmup_problems()[0], warmup_spec(), kern)
            tiny.run_block(0, np.ones(1))
            _cuda().synchronize()
            seconds = _COMPILED["seconds"] = time.perf_counter() - t0
            count_compile(seconds)
        return seconds

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
                       for size, dtype, fill in state_plan(problem, spec, P, GPU_FLAGS))
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

    def chain_hold(self, c: int) -> np.ndarray | None:
        if not self.problem.has_holds:
            return None
        nc, n = self.spec.n_chains, self.problem.n_jobs
        if self.cp is not None:
            return self.cp.asarray(self.S[BEST_HOLD]).reshape(n, nc)[:, c].get()
        return self.S[BEST_HOLD].copy_to_host().reshape(n, nc)[:, c].copy()

    def set_t_scale(self, t_scale: np.ndarray) -> None:
        set_t_scale_columns(self.cp, self.S, self.spec.n_chains, t_scale)

    def gather(self, parents: np.ndarray) -> None:
        gather_columns(self.cp, self.S, self.spec.n_chains, parents)

    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        nc, n = self.spec.n_chains, self.problem.n_jobs
        f = self.S[CHAIN_F].copy_to_host().reshape(N_CHAIN_F, nc)
        best_x = self.S[BEST_X].copy_to_host().reshape(n, nc).T.copy() if with_x else None
        best_h = (self.S[BEST_HOLD].copy_to_host().reshape(n, nc).T.copy()
                  if with_x and self.problem.has_holds else None)
        return ChainSnapshot(best_x=best_x, best_feasible=f[F_BEST_FEASIBLE].copy(),
                             best_any=f[F_BEST_ANY].copy(), accepted=f[F_ACCEPTED].copy(),
                             cost=f[F_COST].copy(), viol=f[F_VIOL].copy(), best_hold=best_h)

    def close(self) -> None:
        for name in ("P", "S"):
            self.__dict__.pop(name, None)
        if self.cp is not None:
            self.cp.get_default_memory_pool().free_all_blocks()


def padding_bytes(problems: list) -> int:
    """Bytes the batch packing (:func:`satea.kernels.batch.pack`) adds to these problems'
    arrays: the per-job tables (16 bytes per job and class) and the class tables (45 bytes
    per entry) are padded to the group's largest number of server classes."""
    g_max = max(p.n_server_classes for p in problems)
    return sum(16 * p.n_jobs * (g_max - p.n_server_classes)
               + 45 * p.n_job_classes * (g_max - p.n_server_classes) for p in problems)


def batch_groups(problems: list, n_chains: list) -> list:
    """Problems (indices) in groups whose launches, packing padding included, fit the free
    device memory together, in order; a problem that does not fit alone raises
    MemoryError (:func:`check_fits`)."""
    budget = int(HEADROOM * device_free_bytes())
    groups: list[list[int]]
    groups, used = [[]], 0
    for i, (p, nc) in enumerate(zip(problems, n_chains)):
        need = check_fits(p, nc)
        if groups[-1]:
            members = [problems[k] for k in groups[-1]] + [p]
            if used + need + padding_bytes(members) > budget:
                groups.append([])
                used = 0
        groups[-1].append(i)
        used += need
    return groups


_BATCH_COMPILED: dict[str, float | None] = {"seconds": None}


def _compile_batch_once() -> float:
    """Compile the batch kernels on a batch of two 2 x 2 problems (once per process, and
    only in a process that batches), so compile time stays out of the search."""
    seconds = _BATCH_COMPILED["seconds"]   # a local: type checkers narrow it, not the entry
    if seconds is None:
        _BATCH_COMPILED["seconds"] = 0.0    # the warm-up batch below must not recurse
        t0 = time.perf_counter()
        tiny = CudaBatch()
        problems = warmup_problems()
        tiny.start(problems, [warmup_spec()] * len(problems))
        tiny.run_block([0] * len(problems), [np.ones(1)] * len(problems))
        _cuda().synchronize()
        tiny.close()
        seconds = _BATCH_COMPILED["seconds"] = time.perf_counter() - t0
        count_compile(seconds)
    return seconds


class CudaBatch(BatchBackend):
    """Every problem's chains in one grid per block of sweeps (:mod:`satea.kernels.batch`
    packing, problem-major pairs so a warp holds neighbouring chains of one problem)."""

    name = "cuda"

    def start(self, problems: list, specs: list) -> None:
        from ..kernels import batch
        from ..kernels import cuda as kern
        single = CudaBackend.__new__(CudaBackend)
        single.cp = self.cp = _cupy()
        self.compile_seconds = single._compile_once(kern)
        self._to_device = single._to_device
        self._empty = single._empty
        self.compile_seconds += _compile_batch_once()
        self.kern, self.problems, self.specs = kern, problems, specs
        Ps = [problem_tuple(p) for p in problems]
        PA, self.poff, self.pshp = batch.pack_problems(Ps, padded=True)
        self.PA = tuple(self._to_device(a) for a in PA)
        plans = [state_plan(p, s, P, GPU_FLAGS) for p, s, P in zip(problems, specs, Ps)]
        parts = [[np.full(size, fill, dtype) if np.isscalar(fill) else fill
                  for size, dtype, fill in plan] for plan in plans]
        SA, self.soff = batch.pack(parts)
        self.SA = tuple(self._to_device(a) for a in SA)
        self.nch = np.array([s.n_chains for s in specs], np.int64)
        self.dims = np.array([[p.n_jobs, p.n_servers, s.n_chains, s.moves(p.n_jobs)]
                              for p, s in zip(problems, specs)], np.int64)
        self.pair_p = np.repeat(np.arange(len(problems), dtype=np.int64), self.nch)
        self.pair_c = np.concatenate([np.arange(n, dtype=np.int64) for n in self.nch])
        self.p_swap = np.array([s.p_swap for s in specs], np.float64)
        self.cap_weight = np.array([s.cap_weight for s in specs], np.float64)
        self.d = {k: self._to_device(getattr(self, k))
                  for k in ("poff", "pshp", "soff", "dims", "p_swap", "cap_weight")}
        blocks, threads = kern.launch_config(len(self.pair_p))
        kern.init_batch_kernel[blocks, threads](
            self.PA, self.d["poff"], self.d["pshp"], self.SA, self.d["soff"], self.d["dims"],
            self._to_device(self.pair_p), self._to_device(self.pair_c),
            self._to_device(np.array([s.x0 is None for s in specs], np.uint8)))
        self.block_cap = max_block_sweeps(int(self.nch.sum()))

    def run_block(self, sweep0: list, betas: list) -> list:
        n = np.array([0 if b is None else len(b) for b in betas], np.int64)
        out: list[np.ndarray | None] = [np.empty(k) if k else None for k in n]
        live = n[self.pair_p] > 0
        pair_p, pair_c = self.pair_p[live], self.pair_c[live]
        blocks, threads = self.kern.launch_config(len(pair_p))
        d_pp, d_pc = self._to_device(pair_p), self._to_device(pair_c)
        done = 0
        while done < n.max():   # the trace buffer caps sweeps per launch
            k = np.clip(n - done, 0, self.block_cap)
            boff = np.concatenate(([0], np.cumsum(k))).astype(np.int64)
            toff = np.concatenate(([0], np.cumsum(k * self.nch))).astype(np.int64)
            flat = np.concatenate([np.asarray(b[done:done + kk], np.float64)
                                   for b, kk in zip(betas, k) if kk] or [np.zeros(0)])
            trace = self._empty(max(int(toff[-1]), 1))
            self.kern.sweep_batch_kernel[blocks, threads](
                self.PA, self.d["poff"], self.d["pshp"], self.SA, self.d["soff"],
                self.d["dims"], d_pp, d_pc, self._to_device(flat), self._to_device(boff),
                self._to_device(np.asarray(sweep0, np.int64) + done), self.d["p_swap"],
                self.d["cap_weight"], trace, self._to_device(toff))
            host = (self.cp.asarray(trace).get() if self.cp is not None
                    else trace.copy_to_host())
            for p, kk in enumerate(k):
                if kk:   # trace[i * nc + c]: sweep i of chain c
                    row = out[p]
                    assert row is not None   # kk > 0 only where n > 0: allocated above
                    row[done:done + kk] = host[toff[p]:toff[p + 1]].reshape(
                        kk, self.nch[p]).min(axis=1)
            done += int(k.max())
        return out

    def _field(self, f: int, p: int) -> np.ndarray:
        a = self.SA[f][self.soff[p, f]:self.soff[p + 1, f]]
        return self.cp.asarray(a).get() if self.cp is not None else a.copy_to_host()

    def chain_x(self, p: int, c: int) -> np.ndarray:
        nc, n = int(self.nch[p]), self.problems[p].n_jobs
        return self._field(BEST_X, p).reshape(n, nc)[:, c].copy()

    def chain_hold(self, p: int, c: int) -> np.ndarray | None:
        if not self.problems[p].has_holds:
            return None
        nc, n = int(self.nch[p]), self.problems[p].n_jobs
        return self._field(BEST_HOLD, p).reshape(n, nc)[:, c].copy()

    def _state(self, p: int) -> dict:
        """Problem ``p``'s parts of the device state, by field (views)."""
        return {f: self.SA[f][self.soff[p, f]:self.soff[p + 1, f]]
                for f in (*GATHERED, CHAIN_F)}

    def set_t_scale(self, p: int, t_scale: np.ndarray) -> None:
        set_t_scale_columns(self.cp, self._state(p), int(self.nch[p]), t_scale)

    def gather(self, p: int, parents: np.ndarray) -> None:
        gather_columns(self.cp, self._state(p), int(self.nch[p]), parents)

    def snapshot(self, p: int, with_x: bool = True) -> ChainSnapshot:
        nc, n = int(self.nch[p]), self.problems[p].n_jobs
        f = self._field(CHAIN_F, p).reshape(N_CHAIN_F, nc)
        best_x = self._field(BEST_X, p).reshape(n, nc).T.copy() if with_x else None
        best_h = (self._field(BEST_HOLD, p).reshape(n, nc).T.copy()
                  if with_x and self.problems[p].has_holds else None)
        return ChainSnapshot(best_x=best_x, best_feasible=f[F_BEST_FEASIBLE].copy(),
                             best_any=f[F_BEST_ANY].copy(), accepted=f[F_ACCEPTED].copy(),
                             cost=f[F_COST].copy(), viol=f[F_VIOL].copy(), best_hold=best_h)

    def close(self) -> None:
        for name in ("PA", "SA", "d"):
            self.__dict__.pop(name, None)
        if getattr(self, "cp", None) is not None:
            self.cp.get_default_memory_pool().free_all_blocks()
