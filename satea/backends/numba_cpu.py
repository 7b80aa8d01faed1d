"""The Numba CPU backend: chains in parallel (``prange``), incremental O(jobs touched) moves."""
from __future__ import annotations

import time

import numpy as np

from ..compile import ProblemArrays, compile_assignment
from .base import (F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE, F_COST, F_LAM, F_TSCALE, F_VIOL,
                   N_CHAIN_F, Backend, ChainSnapshot, RunSpec)


def problem_tuple(problem: ProblemArrays) -> tuple:
    """The problem's arrays as the kernels take them (packed rows, contiguous)."""
    from ..kernels.moves import problem_tuple as pack
    return pack(problem)


def chain_state(problem: ProblemArrays, spec: RunSpec):
    """Allocate chain-major state arrays (flat). Memory: n_chains * (16 N + 20 S) bytes."""
    from ..kernels.rng import seed_states
    n, m, nc = problem.n_jobs, problem.n_servers, spec.n_chains
    x = np.zeros(nc * n, np.int32) if spec.x0 is None else np.ascontiguousarray(
        spec.x0, np.int32).reshape(-1).copy()
    st = dict(
        x=x, nxt=np.full(nc * n, -1, np.int32), head=np.full(nc * m, -1, np.int32),
        srv_cost=np.zeros(nc * m), srv_busy=np.zeros(nc * m),
        rng=seed_states(spec.seed, spec.chain_ids).reshape(-1).copy(),
        best_x=x.copy(), chain_f=np.zeros(nc * N_CHAIN_F),
    )
    f = st["chain_f"].reshape(nc, N_CHAIN_F)
    f[:, F_LAM] = spec.lams
    f[:, F_BEST_FEASIBLE] = np.inf
    f[:, F_BEST_ANY] = np.inf
    f[:, F_TSCALE] = spec.chain_t_scale()
    return st


_COMPILED = {"seconds": None}


def _compile_once() -> float:
    """JIT-compile (or load from the on-disk cache) the CPU kernels on a 2 x 2 problem, so
    that compile time is measured apart from search time."""
    if _COMPILED["seconds"] is None:
        from ..kernels import cpu
        t0 = time.perf_counter()
        p = compile_assignment(np.array([[1.0, 2.0], [2.0, 1.0]]))
        spec = RunSpec(1, 0, np.arange(1), np.ones(1), np.ones(1), 0.5, 1.0)
        st = chain_state(p, spec)
        P = problem_tuple(p)
        cpu.init_cpu(P, st["x"], st["nxt"], st["head"], st["srv_cost"], st["srv_busy"],
                     st["rng"], st["chain_f"], 2, 2, True)
        cpu.sweep_cpu(P, st["x"], st["nxt"], st["head"], st["srv_cost"], st["srv_busy"],
                      st["rng"], st["best_x"], st["chain_f"], 2, 2, np.ones(1), 0, 1, 0.5, 1.0,
                      np.zeros(1))
        cpu.resync_cpu(P, st["nxt"], st["head"], st["srv_cost"], st["srv_busy"],
                       st["chain_f"], 2, 2)
        _COMPILED["seconds"] = time.perf_counter() - t0
    return _COMPILED["seconds"]


class NumbaCPUBackend(Backend):
    """Chains in parallel over CPU threads; see :mod:`satea.kernels.moves` for the move."""

    name = "numba"

    def start(self, problem: ProblemArrays, spec: RunSpec) -> None:
        from ..kernels import cpu
        self.compile_seconds = _compile_once()
        self._cpu = cpu
        self.problem, self.spec = problem, spec
        self.P = problem_tuple(problem)
        self.st = chain_state(problem, spec)
        s = self.st
        cpu.init_cpu(self.P, s["x"], s["nxt"], s["head"], s["srv_cost"], s["srv_busy"],
                     s["rng"], s["chain_f"], problem.n_jobs, problem.n_servers, spec.x0 is None)

    def run_block(self, sweep0: int, n_sweeps: int) -> np.ndarray:
        s, nc = self.st, self.spec.n_chains
        trace = np.empty(nc * n_sweeps)
        self._cpu.sweep_cpu(self.P, s["x"], s["nxt"], s["head"], s["srv_cost"], s["srv_busy"],
                            s["rng"], s["best_x"], s["chain_f"], self.problem.n_jobs,
                            self.problem.n_servers, self.spec.betas, sweep0, n_sweeps,
                            self.spec.p_swap, self.spec.cap_weight, trace)
        return trace.reshape(nc, n_sweeps).min(axis=0)

    def resync(self) -> None:
        """Rebuild every chain's server costs from its lists (for checks)."""
        s = self.st
        self._cpu.resync_cpu(self.P, s["nxt"], s["head"], s["srv_cost"], s["srv_busy"],
                             s["chain_f"], self.problem.n_jobs, self.problem.n_servers)

    def chain_x(self, c: int) -> np.ndarray:
        n = self.problem.n_jobs
        return self.st["best_x"][c * n:(c + 1) * n].copy()

    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        nc, n = self.spec.n_chains, self.problem.n_jobs
        f = self.st["chain_f"].reshape(nc, N_CHAIN_F)
        return ChainSnapshot(
            best_x=self.st["best_x"].reshape(nc, n).copy() if with_x else None,
            best_feasible=f[:, F_BEST_FEASIBLE].copy(), best_any=f[:, F_BEST_ANY].copy(),
            accepted=f[:, F_ACCEPTED].copy(), cost=f[:, F_COST].copy(),
            viol=f[:, F_VIOL].copy())
