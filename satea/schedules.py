"""Temperature schedules and the defaults derived from an instance."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import ProblemArrays

#: sweeps of the short descent before the local move sizes are sampled (then QUENCH_SWEEPS
#: more at zero temperature): enough to leave the astronomically late random assignments
#: behind, cheap beside any real run (4 chains)
DESCENT_SWEEPS = 30
QUENCH_SWEEPS = 5
#: acceptance of a one-quantum rise at the cold end when the cost changes lie on a lattice
LATTICE_ACCEPT = 1.0 / 32.0
#: acceptance of a median uphill move (after the descent) at the hot end: 1/256 (was 1/4;
#: measured: OR-Library d10200 at 15 s 1.05% from the best known against 1.24-1.34%,
#: gap1-12 58/60 optima in 0.6 of the time, fleet20 20/20; docs/quality.md)
HOT_ACCEPT = 1.0 / 256.0
#: capacity weight: overloading a server by one median job costs this many large uphill
#: moves of a random assignment (was 10; 10/3 lets cold chains cross tight capacities:
#: d10200 at 15 s 1.06-1.19% against 1.24-1.34%; 1 lost feasibility)
CAP_FACTOR = 10.0 / 3.0
#: move sizes of a larger problem are sampled on this many of its jobs (and the same share
#: of each class of servers), so sizing costs a bounded number of moves at any fleet size
SIZING_JOBS = 5_000


@dataclass(frozen=True)
class MoveScale:
    """Typical sizes of uphill moves of an instance.

    ``*_uphill`` are sampled from random assignments (what a hot chain sees: they size the
    capacity weight), ``local_*`` from states after a short descent (what the search meets
    near good assignments: they size the schedule). ``quantum`` > 0 when every sampled
    local cost change is a whole multiple of the smallest one (integer costs, as in GAP).
    """

    median_uphill: float
    low_uphill: float       # 5th percentile
    high_uphill: float      # 90th percentile
    median_resource: float  # median processing time (or resource use) of allowed pairs
    local_median_uphill: float = np.nan
    local_low_uphill: float = np.nan
    quantum: float = 0.0
    jobs_sampled: int = 0    # jobs of the problem the moves were sampled on
    move_seconds: float = np.nan   # one CPU thread's seconds per move in the descent


def _uphill(out: np.ndarray) -> np.ndarray:
    d = np.abs(out[np.isfinite(out)])
    d = d[d > 1e-12 * max(1.0, float(d.max(initial=0.0)))]
    return d if d.size else np.ones(1)  # every move is free: any temperature will do


def _lattice_step(d: np.ndarray) -> float:
    """The smallest change when all of ``d`` are whole multiples of it, else 0."""
    q = float(d.min())
    r = d / q
    return q if np.all(np.abs(r - np.round(r)) <= 1e-9 * np.maximum(r, 1.0)) else 0.0


def sample_move_scale(problem: ProblemArrays, seed: int = 0, n_chains: int = 4,
                      n_moves: int = 512, lam: float | None = None,
                      descend: bool = True) -> MoveScale:
    """Sample cost changes of random moves (none accepted), first from random assignments,
    then again after a short descent (``DESCENT_SWEEPS`` geometric sweeps from the random
    states' hot to cold end, then ``QUENCH_SWEEPS`` at zero temperature).

    Runs on fixed streams no annealing chain uses, so the result depends on the instance
    and the seed only, never on the number of chains. O(n_chains * (N + S + (descent
    sweeps * N + n_moves) * jobs per server)). ``descend=False`` stops after the random
    assignments (the ``local_*`` fields are then NaN).
    """
    from .backends.base import RunSpec
    from .backends.numba_cpu import chain_state, problem_tuple
    from .kernels import cpu

    lam = problem.lam if lam is None else lam
    problem = sizing_sample(problem, seed)
    n, m = problem.n_jobs, problem.n_servers
    P = problem_tuple(problem)
    spec = RunSpec(n_chains, seed, np.arange(n_chains) + (1 << 40), np.full(n_chains, lam),
                   0.3, 0.0)
    S = chain_state(problem, spec, P)
    cpu.init_cpu(P, S, n, m, True)
    out = np.empty(n_chains * n_moves)
    cpu.sample_deltas_cpu(P, S, n, m, 0.3, out)
    d = _uphill(out)
    k, g = np.nonzero(problem.allowed)
    res = problem.work_scale[k, g] / problem.throughput[k, g] * float(np.median(problem.work))
    res = res[res > 0]
    rand = MoveScale(float(np.median(d)), float(np.quantile(d, 0.05)),
                     float(np.quantile(d, 0.9)), float(np.median(res)) if res.size else 1.0,
                     jobs_sampled=n)
    if not descend:
        return rand

    # descend (with the capacity weight a run would use, so the state is near-feasible)
    t_hot, t_cold = random_state_temperature_range(rand)
    betas = np.concatenate((1.0 / np.geomspace(t_hot, t_cold, DESCENT_SWEEPS),
                            np.full(QUENCH_SWEEPS, 1e6 / t_cold)))
    cap = default_cap_weight(rand) if problem.has_capacity else 0.0
    import numba
    import time
    t0 = time.perf_counter()
    cpu.sweep_cpu(P, S, n, m, betas, 0, betas.size, n, 0.3, cap,
                  np.empty(n_chains * betas.size))
    wall = time.perf_counter() - t0
    # one thread's seconds per attempted move, on the way from random to good states
    per_move = wall * min(n_chains, numba.get_num_threads()) / (n_chains * betas.size * n)
    cpu.sample_deltas_cpu(P, S, n, m, 0.3, out)
    dl = _uphill(out)
    return MoveScale(rand.median_uphill, rand.low_uphill, rand.high_uphill,
                     rand.median_resource, float(np.median(dl)), float(np.quantile(dl, 0.05)),
                     _lattice_step(dl), n, per_move)


def sizing_sample(problem: ProblemArrays, seed: int = 0,
                  max_jobs: int | None = None) -> ProblemArrays:
    """``problem`` itself, or for more than ``max_jobs`` jobs a random sample of
    ``max_jobs`` of them (dispatch order kept) on the same share of each server class (at
    least one server per class), so jobs per server and load stay as in the whole fleet.
    Deterministic in ``seed``. ``max_jobs`` defaults to :data:`SIZING_JOBS`."""
    max_jobs = SIZING_JOBS if max_jobs is None else int(max_jobs)
    n = problem.n_jobs
    if n <= max_jobs:
        return problem
    rng = np.random.default_rng([int(seed), 0x5A7EA])
    frac = max_jobs / n
    jobs = np.sort(rng.choice(n, max_jobs, replace=False))
    servers = []
    for g in range(problem.n_server_classes):
        members = np.flatnonzero(problem.server_class == g)
        if members.size:
            k = max(1, int(round(members.size * frac)))
            servers.append(np.sort(rng.choice(members, k, replace=False)))
    return problem.subproblem(jobs, np.sort(np.concatenate(servers)))


def random_state_temperature_range(scale: MoveScale) -> tuple[float, float]:
    """(T_hot, T_cold) from the random-assignment move sizes: the median uphill move
    accepted with probability 1/2, the 5th percentile with 1/1000. The schedule of the
    descent in :func:`sample_move_scale` (and the default before the descent existed)."""
    t_hot = scale.median_uphill / np.log(2.0)
    return float(t_hot), float(min(scale.low_uphill / np.log(1000.0), t_hot))


def default_temperature_range(problem: ProblemArrays, seed: int = 0,
                              scale: MoveScale | None = None) -> tuple[float, float]:
    """(T_hot, T_cold), both from the move sizes after a short descent
    (:func:`sample_move_scale`): the hot end accepts a median uphill move with probability
    :data:`HOT_ACCEPT` (1/256), the cold end a small (5th-percentile) one with probability
    1/1000.

    Random assignments are the wrong place to size them: with a large lambda their
    exponential penalties are astronomically late, and a schedule sized there spends its
    sweeps far too hot and ends too hot to settle energy (measured 13% worse than the
    Pareto front at lambda 18.6 on a 200 x 20 fleet; 2% with this rule). When the cost
    changes lie on a lattice (integer costs) the cold end accepts a one-step rise with
    probability ``LATTICE_ACCEPT`` instead: no finer difference exists to resolve, and
    chains that keep crossing one-step ridges find more optima (OR-Library gap1-12,
    docs/quality.md). The hot end at 1/4 rather than 1/2 gave on gap8 + gap12 (10 problems,
    seed 0) 9 optima instead of 6, and on 200 x 20 fleets no worse at any lambda (up to
    10% better at the largest); 1/256 rather than 1/4 (see :data:`HOT_ACCEPT`) spends less
    of a time budget hot.
    """
    scale = scale or sample_move_scale(problem, seed)
    if np.isfinite(scale.local_median_uphill):
        med, low = scale.local_median_uphill, scale.local_low_uphill
    else:  # a MoveScale built by hand without the descent
        med, low = scale.median_uphill, scale.low_uphill
    t_hot = med / np.log(1.0 / HOT_ACCEPT)
    t_cold = low / np.log(1000.0)
    if scale.quantum > 0:
        t_cold = max(t_cold, scale.quantum / np.log(1.0 / LATTICE_ACCEPT))
    return float(t_hot), float(min(t_cold, t_hot))


def default_cap_weight(scale: MoveScale) -> float:
    """Cost per unit of capacity overload in the search objective: overloading a server by
    one median job costs :data:`CAP_FACTOR` (10/3) times a large (90th-percentile) uphill
    move of a random assignment, so chains stay feasible at low temperature but may cross infeasible
    ground when hot."""
    return CAP_FACTOR * scale.high_uphill / max(scale.median_resource, 1e-300)


def default_sweeps(n_jobs: int) -> int:
    """Sweeps per chain when none are given: about 2e6 attempted moves per chain, at least
    2,000 and at most 50,000 sweeps (docs/quality.md measures this rule)."""
    return int(min(50_000, max(2_000, 2e6 / max(int(n_jobs), 1))))


def geometric_betas(t_hot: float, t_cold: float, n_sweeps: int) -> np.ndarray:
    """Inverse temperatures, one per sweep, geometric from 1/t_hot to 1/t_cold."""
    if not (t_hot > 0 and t_cold > 0):
        raise ValueError(f"schedule: temperatures must be > 0, got t_hot={t_hot}, t_cold={t_cold}")
    if n_sweeps == 1:
        return np.array([1.0 / t_cold])
    return 1.0 / np.geomspace(t_hot, t_cold, n_sweeps)
