"""Temperature schedules and the defaults derived from an instance."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import ProblemArrays
from .settings import DEFAULT_P_SWAP

#: sweeps of the short descent before the local move sizes are sampled (then QUENCH_SWEEPS
#: more at zero temperature): enough to leave the astronomically late random assignments
#: behind, cheap beside any real run (4 chains)
DESCENT_SWEEPS = 30
QUENCH_SWEEPS = 5
#: acceptance of a one-quantum rise at the cold end when the cost changes lie on a lattice
LATTICE_ACCEPT = 1.0 / 32.0
#: acceptance of a median uphill move (after the descent) at the hot end: 1/256 (was 1/4;
#: hotter starts spent the budget far from the optimum: docs/quality.md, "Figures behind
#: the defaults")
HOT_ACCEPT = 1.0 / 256.0
#: capacity weight: overloading a server by one median job costs this many large uphill
#: moves of a random assignment (was 10; 10/3 lets cold chains cross tight capacities:
#: docs/quality.md, "Figures behind the defaults")
CAP_FACTOR = 10.0 / 3.0
#: move sizes of a larger problem are sampled on this many of its jobs (and the same share
#: of each class of servers), so sizing costs a bounded number of moves at any fleet size
SIZING_JOBS = 5_000
#: the sizing chains' swap probability: a run's default, whatever the run then uses
SIZING_P_SWAP = DEFAULT_P_SWAP


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
    return sample_move_scales([problem], seed, n_chains, n_moves,
                              None if lam is None else [lam], [descend])[0]


def sample_move_scales(problems: list, seed: int = 0, n_chains: int = 4,
                       n_moves: int = 512, lams: list | None = None,
                       descend: list | None = None) -> list[MoveScale]:
    """:func:`sample_move_scale` of every problem (``lams``, ``descend``: one per problem),
    in one launch per step over all problems' sizing chains; each problem's scale is
    exactly what it gets alone (``move_seconds`` is the batch's)."""
    import time

    import numba

    lams = [p.lam for p in problems] if lams is None else lams
    descend = [True] * len(problems) if descend is None else descend
    for i, p in enumerate(problems):   # the sizing kernels need a job to move
        if p.n_jobs == 0:
            raise ValueError(f"problems[{i}] ({p.name!r}) has no jobs: nothing to size")
    subs = [sizing_sample(p, seed) for p in problems]
    chains = _SizingChains(subs, seed, lams, n_chains)
    outs = chains.sample(n_moves)
    rands = []
    for sub, out in zip(subs, outs):
        d = _uphill(out)
        k, g = np.nonzero(sub.allowed)
        res = sub.work_scale[k, g] / sub.throughput[k, g] * float(np.median(sub.work))
        res = res[res > 0]
        rands.append(MoveScale(float(np.median(d)), float(np.quantile(d, 0.05)),
                               float(np.quantile(d, 0.9)),
                               float(np.median(res)) if res.size else 1.0,
                               jobs_sampled=sub.n_jobs))
    if not any(descend):
        return rands
    # descend (with the capacity weight a run would use, so the state is near-feasible);
    # problems that need no descent wait
    betas, caps = [], []
    for sub, rand, dsc in zip(subs, rands, descend):
        t_hot, t_cold = random_state_temperature_range(rand)
        betas.append(np.concatenate((1.0 / np.geomspace(t_hot, t_cold, DESCENT_SWEEPS),
                                     np.full(QUENCH_SWEEPS, 1e6 / t_cold))) if dsc else None)
        caps.append(default_cap_weight(rand) if sub.has_capacity else 0.0)
    t0 = time.perf_counter()
    moves = chains.sweep(betas, caps)
    wall = time.perf_counter() - t0
    # one thread's seconds per attempted move, on the way from random to good states
    per_move = wall * min(chains.total, numba.get_num_threads()) / max(moves, 1)
    outs = chains.sample(n_moves)
    scales = []
    for sub, rand, dsc, out in zip(subs, rands, descend, outs):
        if not dsc:
            scales.append(rand)
            continue
        dl = _uphill(out)
        scales.append(MoveScale(rand.median_uphill, rand.low_uphill, rand.high_uphill,
                                rand.median_resource, float(np.median(dl)),
                                float(np.quantile(dl, 0.05)), _lattice_step(dl), sub.n_jobs,
                                per_move))
    return scales


class _SizingChains:
    """The sizing chains of one or more problems, on streams no annealing chain uses: the
    single-problem CPU kernels for one problem, the batch kernels for more."""

    def __init__(self, problems: list, seed: int, lams: list, n_chains: int):
        from .backends.base import RunSpec
        from .backends.numba_cpu import chain_state, problem_tuple
        self.problems, self.nc = problems, n_chains
        self.total = n_chains * len(problems)
        specs = [RunSpec(n_chains, seed, np.arange(n_chains) + (1 << 40),
                         np.full(n_chains, lam), SIZING_P_SWAP, 0.0) for lam in lams]
        if len(problems) == 1:
            from .kernels import cpu
            P = problem_tuple(problems[0])
            self.k, self.P, self.S = cpu, P, chain_state(problems[0], specs[0], P)
            cpu.init_cpu(self.P, self.S, problems[0].n_jobs, problems[0].n_servers, True)
            return
        from .backends.numba_cpu import NumbaCPUBatch
        self.be = NumbaCPUBatch()   # the batch backend's packing, start and launch
        self.be.start(problems, specs)

    def sample(self, n_moves: int) -> list:
        """Search-cost changes of ``n_moves`` random moves per chain of each problem."""
        if len(self.problems) == 1:
            p = self.problems[0]
            out = np.empty(self.nc * n_moves)
            self.k.sample_deltas_cpu(self.P, self.S, p.n_jobs, p.n_servers, SIZING_P_SWAP, out)
            return [out]
        return self.be.sample_deltas(SIZING_P_SWAP, n_moves)

    def sweep(self, betas: list, caps: list) -> int:
        """Sweeps at ``betas[i]`` (None: problem ``i`` waits); the moves attempted."""
        if len(self.problems) == 1:
            p = self.problems[0]
            b = betas[0]
            self.k.sweep_cpu(self.P, self.S, p.n_jobs, p.n_servers, b, 0, b.size, p.n_jobs,
                             SIZING_P_SWAP, caps[0], np.empty(self.nc * b.size))
            return self.nc * b.size * p.n_jobs
        self.be.set_cap_weight(caps)   # known after the first sample
        self.be.run_block([0] * len(betas), betas)
        return sum(self.nc * (0 if b is None else b.size) * p.n_jobs
                   for b, p in zip(betas, self.problems))


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
