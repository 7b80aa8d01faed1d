"""The Numba CPU backend: chains in parallel (``prange``); a move costs what it changes
(kernels/moves.py)."""
from __future__ import annotations

import time

import numpy as np

from ..compile import ProblemArrays, compile_assignment
from ..kernels.layout import BEST_X, CHAIN_F
from .base import (F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE, F_COST, F_VIOL, N_CHAIN_F, Backend,
                   ChainSnapshot, RunSpec, count_compile, state_plan)


def problem_tuple(problem: ProblemArrays) -> tuple:
    """The problem's arrays as the kernels take them (kernels.layout.PROBLEM_FIELDS)."""
    from ..kernels.layout import problem_tuple as pack
    return pack(problem)


def chain_state(problem: ProblemArrays, spec: RunSpec, P: tuple | None = None) -> tuple:
    """Allocate the chain-major state tuple (kernels.layout.STATE_FIELDS), flat arrays.
    Memory per chain: kernels.layout.state_bytes_per_chain."""
    P = problem_tuple(problem) if P is None else P
    return tuple(np.full(size, fill, dtype) if np.isscalar(fill) else fill.copy()
                 for size, dtype, fill in state_plan(problem, spec, P, chain_major=True))


_COMPILED = {"seconds": None}


def compile_kernels() -> float:
    """Compile (or load) the CPU kernels once per process; the seconds it took."""
    return _compile_once()


def kernels_ready() -> bool:
    """Whether this process has compiled (or loaded) the CPU kernels already."""
    return _COMPILED["seconds"] is not None


def _compile_once() -> float:
    """JIT-compile (or load from the on-disk cache) the CPU kernels on 2 x 2 problems, with
    and without job lists, so that compile time is measured apart from search time."""
    if _COMPILED["seconds"] is None:
        from ..kernels import cpu
        from ..model import DNNModel, Fleet, GPUType, Job, Profile, Server
        from ..compile import compile_fleet
        t0 = time.perf_counter()
        tiny_fleet = Fleet("tiny", {"g": GPUType("g", 1, 10.0)}, {"m": DNNModel("m", 1)},
                           (Profile("m", "g", 1.0, 20.0),),
                           (Server("a", "g", price_per_kwh=0.1), Server("b", "g", price_per_kwh=0.2)),
                           (Job("j0", "m", 1.0), Job("j1", "m", 2.0)))
        for p in (compile_assignment(np.array([[1.0, 2.0], [2.0, 1.0]])), compile_fleet(tiny_fleet)):
            spec = RunSpec(1, 0, np.arange(1), np.ones(1), 0.5, 1.0)
            P = problem_tuple(p)
            S = chain_state(p, spec, P)
            cpu.init_cpu(P, S, 2, 2, True)
            cpu.sweep_cpu(P, S, 2, 2, np.ones(1), 0, 1, 2, 0.5, 1.0, np.zeros(1))
            cpu.resync_cpu(P, S, 2, 2)
            cpu.sample_deltas_cpu(P, S, 2, 2, 0.5, np.empty(2))   # used by sizing
        _COMPILED["seconds"] = time.perf_counter() - t0
        count_compile(_COMPILED["seconds"])
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

    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        nc, n = self.spec.n_chains, self.problem.n_jobs
        f = self.S[CHAIN_F].reshape(nc, N_CHAIN_F)
        return ChainSnapshot(
            best_x=self.S[BEST_X].reshape(nc, n).copy() if with_x else None,
            best_feasible=f[:, F_BEST_FEASIBLE].copy(), best_any=f[:, F_BEST_ANY].copy(),
            accepted=f[:, F_ACCEPTED].copy(), cost=f[:, F_COST].copy(),
            viol=f[:, F_VIOL].copy())
