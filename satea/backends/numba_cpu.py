"""The Numba CPU backend: chains in parallel (``prange``); a move costs what it changes
(kernels/moves.py)."""
from __future__ import annotations

import time

import numpy as np

from ..compile import ProblemArrays
from ..kernels.layout import BEST_HOLD, BEST_X, CHAIN_F, CPU_FLAGS, has_holds
from .base import (F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE, F_COST, F_TSCALE, F_VIOL, GATHERED,
                   GATHERED_F, N_CHAIN_F, Backend, BatchBackend, ChainSnapshot, RunSpec,
                   SerialBatch, count_compile, state_plan, warmup_problems, warmup_spec)


def problem_tuple(problem: ProblemArrays) -> tuple:
    """The problem's arrays as the kernels take them (kernels.layout.PROBLEM_FIELDS)."""
    from ..kernels.layout import problem_tuple as pack
    return pack(problem)


def chain_state(problem: ProblemArrays, spec: RunSpec, P: tuple | None = None) -> tuple:
    """Allocate the chain-major state tuple (kernels.layout.STATE_FIELDS), flat arrays.
    Memory per chain: kernels.layout.state_bytes_per_chain."""
    P = problem_tuple(problem) if P is None else P
    return tuple(np.full(size, fill, dtype) if np.isscalar(fill) else fill.copy()
                 for size, dtype, fill in state_plan(problem, spec, P, CPU_FLAGS))


def set_t_scale_rows(S: tuple, nc: int, t_scale: np.ndarray) -> None:
    """Set every chain's temperature scale in a chain-major state ``S`` of ``nc`` chains."""
    S[CHAIN_F].reshape(nc, N_CHAIN_F)[:, F_TSCALE] = t_scale


def gather_rows(S: tuple, nc: int, parents: np.ndarray) -> None:
    """Chain ``c`` of a chain-major state ``S`` takes chain ``parents[c]``'s search state
    (assignment, lists, cached costs); its stream, best and counters stay its own."""
    for i in GATHERED:   # chain-major: chain c's part is row c
        rows = S[i].reshape(nc, -1)
        rows[:] = rows[parents]
    f = S[CHAIN_F].reshape(nc, N_CHAIN_F)
    f[:, GATHERED_F] = f[parents][:, GATHERED_F]


_COMPILED: dict[str, float | None] = {"seconds": None}


def compile_kernels() -> float:
    """Compile (or load) the CPU kernels once per process; the seconds it took."""
    return _compile_once()


def kernels_ready() -> bool:
    """Whether this process has compiled (or loaded) the CPU kernels already."""
    return _COMPILED["seconds"] is not None


def _compile_once() -> float:
    """JIT-compile (or load from the on-disk cache) the CPU kernels on 2 x 2 problems, with
    and without job lists, so that compile time is measured apart from search time."""
    seconds = _COMPILED["seconds"]   # a local: type checkers narrow it, not the entry
    if seconds is None:
        from ..kernels import cpu
        t0 = time.perf_counter()
        for p in warmup_problems():
            spec = warmup_spec()
            P = problem_tuple(p)
            S = chain_state(p, spec, P)
            cpu.init_cpu(P, S, 2, 2, True)
            cpu.sweep_cpu(P, S, 2, 2, np.ones(1), 0, 1, 2, 0.5, 1.0, np.zeros(1))
            cpu.resync_cpu(P, S, 2, 2)
            cpu.sample_deltas_cpu(P, S, 2, 2, 0.5, np.empty(2))   # used by sizing
        seconds = _COMPILED["seconds"] = time.perf_counter() - t0
        count_compile(seconds)
    return seconds


class NumbaCPUBackend(Backend):
    """Chains in parallel over CPU threads; see :mod:`satea.kernels.moves` for the move."""

    name = "numba"
    budget_from_sizing_rate = True

    @classmethod
    def chains_side_by_side(cls) -> int:
        """One chain per numba thread at a time."""
        import numba
        return numba.get_num_threads()

    @classmethod
    def batch(cls, n_problems: int) -> BatchBackend:
        """One ``prange`` over every problem's chains; a single problem keeps the
        single-problem kernels (no batch kernels to compile)."""
        return NumbaCPUBatch() if n_problems > 1 else SerialBatch(cls)

    def start(self, problem: ProblemArrays, spec: RunSpec) -> None:
        from ..kernels import cpu
        self.compile_seconds = _compile_once()
        self._cpu = cpu
        self.problem, self.spec = problem, spec
        self.P = problem_tuple(problem)
        self.S = chain_state(problem, spec, self.P)
        cpu.init_cpu(self.P, self.S, problem.n_jobs, problem.n_servers, spec.x0 is None)

    def run_block(self, sweep0: int, betas: np.ndarray) -> np.ndarray:
        nc, n_sweeps = self.spec.n_chains, len(betas)
        trace = np.empty(nc * n_sweeps)
        self._cpu.sweep_cpu(self.P, self.S, self.problem.n_jobs, self.problem.n_servers,
                            np.ascontiguousarray(betas, np.float64), sweep0, n_sweeps,
                            self.spec.moves(self.problem.n_jobs), self.spec.p_swap,
                            self.spec.cap_weight, trace)
        return trace.reshape(nc, n_sweeps).min(axis=0)

    def resync(self) -> None:
        """Rebuild every chain's caches from its lists (for checks)."""
        self._cpu.resync_cpu(self.P, self.S, self.problem.n_jobs, self.problem.n_servers)

    def chain_x(self, c: int) -> np.ndarray:
        n = self.problem.n_jobs
        return self.S[BEST_X][c * n:(c + 1) * n].copy()

    def chain_hold(self, c: int) -> np.ndarray | None:
        if not has_holds(self.P):
            return None
        n = self.problem.n_jobs
        return self.S[BEST_HOLD][c * n:(c + 1) * n].copy()

    def set_t_scale(self, t_scale: np.ndarray) -> None:
        set_t_scale_rows(self.S, self.spec.n_chains, t_scale)

    def gather(self, parents: np.ndarray) -> None:
        gather_rows(self.S, self.spec.n_chains, parents)

    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        nc, n = self.spec.n_chains, self.problem.n_jobs
        f = self.S[CHAIN_F].reshape(nc, N_CHAIN_F)
        return ChainSnapshot(
            best_x=self.S[BEST_X].reshape(nc, n).copy() if with_x else None,
            best_feasible=f[:, F_BEST_FEASIBLE].copy(), best_any=f[:, F_BEST_ANY].copy(),
            accepted=f[:, F_ACCEPTED].copy(), cost=f[:, F_COST].copy(),
            viol=f[:, F_VIOL].copy(),
            best_hold=(self.S[BEST_HOLD].reshape(nc, n).copy()
                       if with_x and has_holds(self.P) else None))


_BATCH_COMPILED: dict[str, float | None] = {"seconds": None}


def compile_batch_kernels() -> float:
    """Compile (or load) the batch kernels (:mod:`satea.kernels.batch`) once per process, on
    a batch of the 2 x 2 problems :func:`compile_kernels` uses; the seconds it took. Apart
    from the single-problem kernels: a process that never batches never pays for them."""
    seconds = _BATCH_COMPILED["seconds"]   # a local: type checkers narrow it, not the entry
    if seconds is None:
        from ..kernels import batch
        t0 = time.perf_counter()
        problems = warmup_problems()
        specs = [warmup_spec()] * len(problems)
        be = NumbaCPUBatch()
        plain = [p for p in problems if not p.has_holds]   # the batch sweep without holds
        be._setup(plain, specs[:len(plain)], batch)
        be.run_block([0] * len(plain), [np.ones(1)] * len(plain))
        be = NumbaCPUBatch()                                 # ... and with them
        be._setup(problems, specs, batch)
        be.run_block([0] * len(problems), [np.ones(1)] * len(problems))
        batch.sample_deltas_batch(be.PA, be.poff, be.pshp, be.SA, be.soff, be.dims, 0.5,
                                  np.empty(2 * len(problems)),
                                  np.arange(len(problems) + 1, dtype=np.int64) * 2)
        seconds = _BATCH_COMPILED["seconds"] = time.perf_counter() - t0
        count_compile(seconds)
    return seconds


class NumbaCPUBatch(BatchBackend):
    """Every problem's chains in one ``prange`` per block of sweeps
    (:mod:`satea.kernels.batch`): problem ``p``'s chains run exactly as they would alone."""

    name = "numba"

    def start(self, problems: list, specs: list) -> None:
        from ..kernels import batch
        self.compile_seconds = _compile_once() + compile_batch_kernels()
        self._setup(problems, specs, batch)

    def _setup(self, problems: list, specs: list, batch) -> None:
        self.kb, self.problems, self.specs = batch, problems, specs
        Ps = [problem_tuple(p) for p in problems]
        self.PA, self.poff, self.pshp = batch.pack_problems(Ps)
        self.SA, self.soff = batch.pack([chain_state(p, s, P)
                                         for p, s, P in zip(problems, specs, Ps)])
        nch = np.array([s.n_chains for s in specs], np.int64)
        self.nch = nch
        self.dims = np.array([[p.n_jobs, p.n_servers, s.n_chains, s.moves(p.n_jobs)]
                              for p, s in zip(problems, specs)], np.int64)
        # every pair, chain-major (chain 0 of each problem, then chain 1, ...): prange
        # splits the pairs into equal contiguous runs, one per thread, and each run then
        # holds a like share of every problem's chains
        c = np.concatenate([np.arange(n, dtype=np.int64) for n in nch])
        p = np.repeat(np.arange(len(problems), dtype=np.int64), nch)
        order = np.lexsort((p, c))
        self.pair_p, self.pair_c = p[order], c[order]
        self.p_swap = np.array([s.p_swap for s in specs], np.float64)
        self.cap_weight = np.array([s.cap_weight for s in specs], np.float64)
        batch.init_batch(self.PA, self.poff, self.pshp, self.SA, self.soff, self.dims,
                         self.pair_p, self.pair_c,
                         np.array([s.x0 is None for s in specs], np.uint8))

    def run_block(self, sweep0: list, betas: list) -> list:
        n = [0 if b is None else len(b) for b in betas]
        # only the problems that run get pairs, so the threads share the work that is left
        live = np.asarray(n)[self.pair_p] > 0
        pair_p, pair_c = ((self.pair_p, self.pair_c) if live.all()
                          else (self.pair_p[live], self.pair_c[live]))
        boff = np.concatenate(([0], np.cumsum(n))).astype(np.int64)
        toff = np.concatenate(([0], np.cumsum(self.nch * np.array(n)))).astype(np.int64)
        flat = np.concatenate([np.asarray(b, np.float64) for b in betas if b is not None]
                              or [np.zeros(0)])
        trace = np.empty(toff[-1])
        self.kb.sweep_batch(self.PA, self.poff, self.pshp, self.SA, self.soff, self.dims,
                            pair_p, pair_c, flat, boff,
                            np.asarray(sweep0, np.int64), self.p_swap, self.cap_weight,
                            trace, toff)
        return [None if k == 0 else trace[toff[p]:toff[p + 1]].reshape(self.nch[p], k).min(axis=0)
                for p, k in enumerate(n)]

    def sample_deltas(self, p_swap: float, n_moves: int) -> list:
        """Search-cost changes of ``n_moves`` random moves per chain of each problem (none
        accepted; null moves NaN): what the schedule sizing samples."""
        per = self.nch.astype(np.int64) * n_moves
        ooff = np.concatenate(([0], np.cumsum(per))).astype(np.int64)
        out = np.empty(ooff[-1])
        self.kb.sample_deltas_batch(self.PA, self.poff, self.pshp, self.SA, self.soff,
                                    self.dims, p_swap, out, ooff)
        return [out[ooff[i]:ooff[i + 1]] for i in range(len(self.problems))]

    def set_cap_weight(self, cap_weight) -> None:
        """Each problem's capacity weight from now on (the sizing learns it as it goes)."""
        self.cap_weight = np.asarray(cap_weight, np.float64)

    def _state(self, p: int) -> tuple:
        return self.kb.unpack(self.SA, self.soff, p)   # views: writes reach the batch

    def set_t_scale(self, p: int, t_scale: np.ndarray) -> None:
        set_t_scale_rows(self._state(p), int(self.nch[p]), t_scale)

    def gather(self, p: int, parents: np.ndarray) -> None:
        gather_rows(self._state(p), int(self.nch[p]), parents)

    def chain_x(self, p: int, c: int) -> np.ndarray:
        n = self.problems[p].n_jobs
        return self._state(p)[BEST_X][c * n:(c + 1) * n].copy()

    def chain_hold(self, p: int, c: int) -> np.ndarray | None:
        if not self.problems[p].has_holds:
            return None
        n = self.problems[p].n_jobs
        return self._state(p)[BEST_HOLD][c * n:(c + 1) * n].copy()

    def snapshot(self, p: int, with_x: bool = True) -> ChainSnapshot:
        nc, n, S = int(self.nch[p]), self.problems[p].n_jobs, self._state(p)
        f = S[CHAIN_F].reshape(nc, N_CHAIN_F)
        return ChainSnapshot(
            best_x=S[BEST_X].reshape(nc, n).copy() if with_x else None,
            best_feasible=f[:, F_BEST_FEASIBLE].copy(), best_any=f[:, F_BEST_ANY].copy(),
            accepted=f[:, F_ACCEPTED].copy(), cost=f[:, F_COST].copy(),
            viol=f[:, F_VIOL].copy(),
            best_hold=(S[BEST_HOLD].reshape(nc, n).copy()
                       if with_x and self.problems[p].has_holds else None))
