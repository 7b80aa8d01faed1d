"""``anneal``: the one entry point. Validates arguments, runs a backend's chains in blocks of
sweeps (checking the clock, the callback and Ctrl-C between blocks) and returns an
:class:`~satea.result.AnnealResult` re-scored in float64."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .backends import RunSpec, resolve
from .compile import ProblemArrays, compile_fleet
from .model import Fleet
from .objective import evaluate
from .result import AnnealResult
from .schedules import (default_cap_weight, default_sweeps, default_temperature_range,
                        geometric_betas, sample_move_scale)

#: wall time a block of sweeps aims at: short enough for time limits and Ctrl-C
BLOCK_SECONDS = 0.2


@dataclass
class Progress:
    """What a callback sees between blocks of sweeps."""

    sweeps_done: int
    n_sweeps: int
    best_objective: float     # best search objective over chains so far
    acceptance_rate: float
    elapsed: float


def _as_problem(problem) -> ProblemArrays:
    if isinstance(problem, ProblemArrays):
        return problem
    if isinstance(problem, Fleet):
        return compile_fleet(problem)
    raise TypeError(f"problem: expected a Fleet or ProblemArrays, got {type(problem).__name__}")


def _positive_int(name, v, minimum=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {v!r}")
    return int(v)


def resolve_seed(seed: int | None) -> int:
    """The seed a run uses: ``seed`` checked, or fresh entropy when None (then recorded)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (1 << 63))
    return _positive_int("seed", seed, 0)


def _betas(schedule, n_sweeps, problem, seed, scale):
    if schedule is None:
        t_hot, t_cold = default_temperature_range(problem, seed, scale)
        return geometric_betas(t_hot, t_cold, n_sweeps)
    if isinstance(schedule, tuple) and len(schedule) == 2:
        return geometric_betas(float(schedule[0]), float(schedule[1]), n_sweeps)
    betas = np.asarray(schedule, np.float64)
    if betas.shape != (n_sweeps,) or not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise ValueError(f"schedule: expected (t_hot, t_cold) or {n_sweeps} finite inverse "
                         f"temperatures >= 0, got shape {betas.shape}")
    return betas


def _per_chain(name: str, values, n_chains: int, positive: bool) -> np.ndarray:
    """A scalar or one finite value per chain, checked (> 0 or >= 0), as a float64 row."""
    v = np.asarray(values, np.float64)
    if v.ndim == 0:
        v = np.full(n_chains, float(v))
    if v.shape != (n_chains,):
        raise ValueError(f"{name}: expected a scalar or {n_chains} values (one per chain), "
                         f"got shape {v.shape}")
    bad = np.flatnonzero(~np.isfinite(v) | ((v <= 0) if positive else (v < 0)))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}]: must be finite and {'>' if positive else '>='} "
                         f"0, got {v[bad[0]]}")
    return np.ascontiguousarray(v)


def _lams(lam, n_chains, problem):
    return _per_chain("lam", problem.lam if lam is None else lam, n_chains, positive=False)


def _t_scale(t_scale, n_chains):
    return None if t_scale is None else _per_chain("t_scale", t_scale, n_chains, positive=True)


def backend_default_sweeps(cls, n_jobs: int) -> int:
    """Sweeps when none are given: :func:`~satea.schedules.default_sweeps`, capped by the
    backend class's ``max_default_sweeps``."""
    sweeps = default_sweeps(n_jobs)
    if cls.max_default_sweeps is not None:
        sweeps = min(sweeps, cls.max_default_sweeps)
    return sweeps


def _x0(x0, n_chains, problem):
    if x0 is None:
        return None
    x0 = np.asarray(x0)
    if x0.ndim == 1:
        x0 = np.broadcast_to(x0, (n_chains, x0.shape[0]))
    if x0.shape != (n_chains, problem.n_jobs):
        raise ValueError(f"x0: expected shape ({problem.n_jobs},) or ({n_chains}, "
                         f"{problem.n_jobs}), got {x0.shape}")
    if not np.issubdtype(x0.dtype, np.integer):
        raise ValueError(f"x0: expected integer server indices, got dtype {x0.dtype}")
    bad = np.argwhere((x0 < 0) | (x0 >= problem.n_servers))
    if bad.size:
        c, j = bad[0]
        raise ValueError(f"x0[{c}, {j}] (job {problem.job_names[j]!r}): server index "
                         f"{x0[c, j]} out of range 0..{problem.n_servers - 1}")
    xi = problem.to_internal(x0)
    ok = problem.allowed[problem.job_class[None, :], problem.server_class[xi]] != 0
    if not ok.all():
        c, j = np.argwhere(~ok)[0]
        name = problem.job_names[problem.order[j]]
        raise ValueError(f"x0[{c}] : job {name!r} is on server "
                         f"{problem.server_names[xi[c, j]]!r}, which cannot run it")
    return xi


def anneal(problem, *, chains: int | None = None, sweeps: int | None = None,
           backend: str = "auto",
           seed: int | None = None, schedule=None, lam=None, p_swap: float = 0.3,
           cap_weight: float | None = None, x0=None, time_limit: float | None = None,
           callback: Callable[[Progress], bool | None] | None = None,
           chain_offset: int = 0, return_samples: bool | None = None,
           t_scale=None) -> AnnealResult:
    """Minimise the model's objective by simulated annealing over many independent chains.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    chains : int, optional
        Number of independent chains (``num_reads``); default the backend's
        ``default_chains`` (16 on the CPU backends, 1024 on cuda).
    sweeps : int, optional
        Sweeps per chain; a sweep is ``n_jobs`` attempted moves. Default
        :func:`~satea.schedules.default_sweeps`: about 2e6 moves per chain, 2,000-50,000
        sweeps (long chains find better optima than many short ones: docs/quality.md);
        at most 500 on the numpy reference, whose moves cost O(n_jobs * chains).
    backend : {"auto", "numpy", "numba", "cuda"}
        "auto" picks cuda when a GPU is usable, else numba.
    seed : int, optional
        None draws entropy; the seed used is recorded in the result. Chain ``i`` uses
        stream ``chain_offset + i``: its trajectory does not depend on ``chains``.
    schedule : (t_hot, t_cold) or array of ``sweeps`` inverse temperatures, optional
        Default: geometric, derived from the instance (:func:`default_temperature_range`).
    lam : float or array of ``chains`` floats, optional
        Weight of penalties; per-chain values explore the trade-off in one run.
    p_swap : float
        Probability that a move is a swap (else a shift).
    cap_weight : float, optional
        Search cost per unit of capacity overload; default from the instance.
    x0 : int array (n_jobs,) or (chains, n_jobs), optional
        Warm start (caller's job order); default: uniform random allowed servers.
    time_limit : float, optional
        Seconds of search; checked between blocks of sweeps, best so far returned. The
        schedule is not compressed: a run stopped early has not reached its cold end, so
        for a fixed time budget size ``sweeps`` to fit it.
    callback : callable(Progress) -> bool, optional
        Called between blocks; returning True stops the run.
    chain_offset : int
        First stream index (shards of one logical run use disjoint ranges).
    return_samples : bool, optional
        Keep every chain's best assignment in ``result.samples``; default: when
        ``chains * n_jobs <= 2**24``, else only the best chain's.
    t_scale : float or array of ``chains`` floats > 0, optional
        Per-chain temperature multipliers: chain ``i`` runs the schedule at ``t_scale[i]``
        times its temperatures (the Pareto ladder gives each lambda its own level).

    Returns
    -------
    AnnealResult

    Notes
    -----
    A move costs O(1) for its additive terms; where a server has schedule terms, the numba
    backend re-times only the jobs after the change until the timeline rejoins the old one
    and the cuda backend re-walks that server (O(n_jobs) in the numpy reference). Chains keep their best state at sweep boundaries.
    """
    prob = _as_problem(problem)
    cls = resolve(backend)
    n_chains = _positive_int("chains", cls.default_chains if chains is None else chains)
    if sweeps is None:
        sweeps = backend_default_sweeps(cls, prob.n_jobs)
    n_sweeps = _positive_int("sweeps", sweeps)
    chain_offset = _positive_int("chain_offset", chain_offset, 0)
    if not (0.0 <= p_swap <= 1.0):
        raise ValueError(f"p_swap: must be in [0, 1], got {p_swap}")
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise ValueError(f"time_limit: must be a positive number of seconds, got {time_limit}")
    seed = resolve_seed(seed)
    cls.check_capacity(prob, n_chains)
    lams = _lams(lam, n_chains, prob)
    xi = _x0(x0, n_chains, prob)
    ts = _t_scale(t_scale, n_chains)
    scale = None
    if schedule is None or cap_weight is None:
        # the descent only sizes the schedule; the capacity weight needs random states only
        scale = sample_move_scale(prob, seed, lam=float(np.median(lams)),
                                  descend=schedule is None)
    betas = _betas(schedule, n_sweeps, prob, seed, scale)
    if cap_weight is None:
        cap_weight = default_cap_weight(scale) if prob.has_capacity else 0.0
    if not (cap_weight >= 0 and math.isfinite(cap_weight)):
        raise ValueError(f"cap_weight: must be finite and >= 0, got {cap_weight}")

    spec = RunSpec(n_chains, seed, np.arange(n_chains, dtype=np.int64) + chain_offset, lams,
                   np.ascontiguousarray(betas), float(p_swap), float(cap_weight), xi, ts)
    be = cls()
    be.start(prob, spec)
    trace = np.empty(n_sweeps)
    done, block, stopped_by = 0, 1, "sweeps"
    t0 = time.perf_counter()
    try:
        while done < n_sweeps:
            tb = time.perf_counter()
            trace[done:done + block] = be.run_block(done, block)
            done += block
            now = time.perf_counter()
            per_sweep = (now - tb) / block
            if callback is not None:
                snap = be.snapshot(with_x=False)
                acc = float(snap.accepted.sum()) / (n_chains * done * prob.n_jobs)
                if callback(Progress(done, n_sweeps, float(trace[done - 1]), acc, now - t0)):
                    stopped_by = "callback"
                    break
            target = BLOCK_SECONDS
            if time_limit is not None:
                left = time_limit - (now - t0)
                if left <= 0.5 * per_sweep:
                    stopped_by = "time_limit" if done < n_sweeps else stopped_by
                    break
                target = min(target, left)
            block = int(max(1, min(n_sweeps - done, target / max(per_sweep, 1e-9))))
    except KeyboardInterrupt:
        stopped_by = "interrupt"
    seconds = time.perf_counter() - t0
    if return_samples is None:
        return_samples = n_chains * prob.n_jobs <= 1 << 24
    snap = be.snapshot(with_x=return_samples)
    feasible_chains = np.isfinite(snap.best_feasible)
    if feasible_chains.any():
        best = int(np.argmin(np.where(feasible_chains, snap.best_feasible, np.inf)))
    else:
        best = int(np.argmin(snap.best_any))
    best_x = snap.best_x if return_samples else be.chain_x(best)[None, :]
    be.close()
    return _result(prob, be, spec, snap, best, best_x, trace[:done], done, n_sweeps, seconds,
                   stopped_by)


def _result(prob, be, spec, snap, best, best_x, trace, done, n_sweeps, seconds,
            stopped_by) -> AnnealResult:
    feasible_chains = np.isfinite(snap.best_feasible)
    samples = prob.to_caller(best_x)
    x = samples[best if samples.shape[0] > 1 else 0].astype(np.int64)
    lam = float(spec.lams[best])
    ev = evaluate(prob.with_lambda(lam), x)
    if done == 0:
        msg = "No sweep completed."
    elif ev.feasible:
        msg = "Best feasible assignment found."
    else:
        msg = ("No chain found a feasible assignment; the least infeasible one is returned "
               f"(capacity overload {ev.violation:.6g}).")
    if stopped_by != "sweeps":
        msg += f" Stopped by {stopped_by.replace('_', ' ')} after {done} of {n_sweeps} sweeps."
    moves = spec.n_chains * max(done, 1) * prob.n_jobs
    return AnnealResult(
        x=x, fun=ev.objective, energy_cost=ev.energy_cost, penalty=ev.penalty,
        assignment_cost=ev.assignment_cost, feasible=ev.feasible, message=msg, lam=lam,
        backend=be.name, seed=spec.seed, chains=spec.n_chains, sweeps=done,
        sweeps_requested=n_sweeps, seconds=seconds, compile_seconds=be.compile_seconds,
        acceptance_rate=float(snap.accepted.sum()) / moves,
        samples=samples, chain_best=np.where(feasible_chains, snap.best_feasible, np.inf),
        trace=trace, evaluation=ev, problem=prob, stopped_by=stopped_by)
