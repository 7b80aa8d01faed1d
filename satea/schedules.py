"""Temperature schedules and the defaults derived from an instance."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import ProblemArrays


@dataclass(frozen=True)
class MoveScale:
    """Typical sizes of uphill moves of an instance, sampled from random assignments."""

    median_uphill: float
    low_uphill: float       # 5th percentile
    high_uphill: float      # 90th percentile
    median_resource: float  # median processing time (or resource use) of allowed pairs


def sample_move_scale(problem: ProblemArrays, seed: int = 0, n_chains: int = 4,
                      n_moves: int = 512, lam: float | None = None) -> MoveScale:
    """Sample cost changes of random moves from random assignments (none accepted).

    Runs on fixed streams no annealing chain uses, so the result depends on the instance
    and the seed only, never on the number of chains. O(n_chains * (N + S + n_moves *
    jobs per server)).
    """
    from .backends.base import RunSpec
    from .backends.numba_cpu import chain_state, problem_tuple
    from .kernels import cpu

    lam = problem.lam if lam is None else lam
    spec = RunSpec(n_chains, seed, np.arange(n_chains) + (1 << 40), np.full(n_chains, lam),
                   np.ones(1), 0.3, 0.0)
    st = chain_state(problem, spec)
    P = problem_tuple(problem)
    n, m = problem.n_jobs, problem.n_servers
    cpu.init_cpu(P, st["x"], st["nxt"], st["head"], st["srv_cost"], st["srv_busy"], st["rng"],
                 st["chain_f"], n, m, True)
    out = np.empty(n_chains * n_moves)
    cpu.sample_deltas_cpu(P, st["x"], st["nxt"], st["head"], st["srv_cost"], st["srv_busy"],
                          st["rng"], st["chain_f"], n, m, 0.3, out)
    d = np.abs(out[np.isfinite(out)])
    d = d[d > 1e-12 * max(1.0, float(d.max(initial=0.0)))]
    if d.size == 0:  # every move is free: any temperature will do
        d = np.ones(1)
    k, g = np.nonzero(problem.allowed)
    res = problem.work_scale[k, g] / problem.throughput[k, g] * float(np.median(problem.work))
    res = res[res > 0]
    return MoveScale(float(np.median(d)), float(np.quantile(d, 0.05)),
                     float(np.quantile(d, 0.9)), float(np.median(res)) if res.size else 1.0)


def default_temperature_range(problem: ProblemArrays, seed: int = 0,
                              scale: MoveScale | None = None) -> tuple[float, float]:
    """(T_hot, T_cold): the hot end accepts a median uphill move with probability 1/2, the
    cold end accepts a small (5th-percentile) uphill move with probability 1/1000."""
    scale = scale or sample_move_scale(problem, seed)
    t_hot = scale.median_uphill / np.log(2.0)
    t_cold = min(scale.low_uphill / np.log(1000.0), t_hot)
    return float(t_hot), float(t_cold)


def default_cap_weight(scale: MoveScale) -> float:
    """Cost per unit of capacity overload in the search objective: overloading a server by
    one median job costs ten times a large (90th-percentile) uphill move, so chains stay
    feasible at low temperature but may cross infeasible ground when hot."""
    return 10.0 * scale.high_uphill / max(scale.median_resource, 1e-300)


def geometric_betas(t_hot: float, t_cold: float, n_sweeps: int) -> np.ndarray:
    """Inverse temperatures, one per sweep, geometric from 1/t_hot to 1/t_cold."""
    if not (t_hot > 0 and t_cold > 0):
        raise ValueError(f"schedule: temperatures must be > 0, got t_hot={t_hot}, t_cold={t_cold}")
    if n_sweeps == 1:
        return np.array([1.0 / t_cold])
    return 1.0 / np.geomspace(t_hot, t_cold, n_sweeps)
