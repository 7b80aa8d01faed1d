"""Merging shard results for :mod:`satea.distributed`, and its entry points
:func:`solve`, :func:`solve_batch` and :func:`pareto` (plan, run, merge)."""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .backends.base import compile_clock
from .compile import ProblemArrays
from .result import AnnealResult
from .settings import time_left
from .shard_run import _run_all, front_filter
from .shards import ShardInfo, _prepare

def solve(problem, client, *, chains: int | None = None, sweeps: int | None = None,
          shards: int | None = None,
          seed: int | None = None, backend: str = "auto", schedule=None, lam=None,
          cap_weight: float | None = None, x0=None, return_samples: bool | None = None,
          chain_offset: int = 0, timeout: float | None = None, retries: int = 0,
          started: float | None = None,
          **anneal_kwargs) -> AnnealResult:
    """Anneal ``chains`` chains split into shards over a Dask cluster; the best result.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    client : distributed.Client or None
        None runs the same shards one after another in this process.
    chains, sweeps : int, optional
        Total chains (over all shards) and sweeps per chain; default ``default_chains``
        chains per shard and the sweeps of :func:`satea.anneal`, both of the named
        backend (of numba for "auto", which each worker resolves for itself: give
        ``chains`` for GPU workers).
    shards : int, optional
        Number of tasks; default one per worker thread (:func:`default_shards`).
    seed : int, optional
        Seed of the run; every shard uses it, chain ``i`` drawing stream ``i`` (the
        result equals a local ``satea.anneal(..., strategy="independent")`` of ``chains``
        chains with this seed).
    backend : str
        Passed to every shard: "auto" is each worker's best (cuda on a GPU, else numba).
    schedule, lam, cap_weight, x0, return_samples, chain_offset
        As :func:`satea.anneal`, for the whole run (``lam`` and a 2-D ``x0`` have one
        row per global chain); the defaults of ``schedule`` and ``cap_weight`` are computed
        once here and passed to every shard.
    timeout : float, optional
        Seconds to wait for every shard, else TimeoutError naming the unfinished ones.
    retries : int
        Dask retries of a shard that raised (a lost worker's shard is recomputed anyway).
    started : float, optional
        ``time.perf_counter()`` from which ``time_limit`` counts; default this call's
        start (give the time before starting a cluster to count that too).
    **anneal_kwargs
        ``p_swap``, ``time_limit`` (seconds from this call: each shard gets what the
        client-side sizing left; shards run one after another in this process,
        ``client=None``, share it: each gets its part of what is left when it starts, by
        what one of its sweeps costs), ...

    Returns
    -------
    AnnealResult
        The best shard's assignment (lowest search objective among feasible chains, else
        the least infeasible shard result), with ``samples`` and ``chain_best`` of every
        chain in global chain order, ``trace`` the elementwise minimum over shards,
        ``chains`` the total, ``seed`` the run's seed, ``seconds`` the wall time of the
        call, ``sweeps`` the most any shard completed, ``backend`` the backends used, and
        an extra attribute ``shards``: a tuple of :class:`ShardInfo` (seeds, workers, ...).

    Raises
    ------
    ShardError
        A shard raised (its label names index, seed and chains); ``__cause__`` is the
        shard's exception.
    """
    t0 = time.perf_counter() if started is None else started
    compiled_before = compile_clock()
    prob, sweeps, st, plan, kwargs_of = _prepare(
        problem, client, chains, sweeps, shards, seed, schedule, cap_weight, lam,
        return_samples, chain_offset, x0, dict(anneal_kwargs, backend=backend))
    budget = _shard_budget(time_left(anneal_kwargs.get("time_limit"), t0, compiled_before),
                           client, plan, backend)
    outs = _run_all([prob], client, plan, lambda s: [_with_limit(kwargs_of(s), budget(s))],
                    timeout=timeout, retries=retries)
    return merge_results(prob, plan, [o[0][0] for o in outs], [o[1] for o in outs],
                         seed=st.seed, sweeps_requested=sweeps, cap_weight=st.cap_weight,
                         seconds=time.perf_counter() - t0,
                         return_samples=st.return_samples)


def solve_batch(problems, client, *, chains: int | None = None, sweeps: int | None = None,
                shards: int | None = None, seed: int | None = None, backend: str = "auto",
                schedule=None, lam=None, cap_weight: float | None = None,
                return_samples: bool | None = None, chain_offset: int = 0,
                timeout: float | None = None, retries: int = 0,
                started: float | None = None,
                **anneal_kwargs) -> list[AnnealResult]:
    """:func:`solve` for many problems at once: every shard task runs its chains of every
    problem in one :func:`satea.anneal_batch`, and each problem's shard results are merged
    as :func:`solve` merges them. The same settings, streams and merge as :func:`solve`:
    result ``i`` equals ``solve(problems[i], ...)`` with the same seed and shards (and,
    for a given number of sweeps, a local ``satea.anneal(..., strategy="independent")``
    of all the chains).
    ``x0`` is not taken (give one problem to :func:`solve` for warm starts)."""
    from .settings import resolve_seed
    t0 = time.perf_counter() if started is None else started
    compiled_before = compile_clock()
    if "x0" in anneal_kwargs:
        raise TypeError("solve_batch: x0 is not supported; solve one problem with x0")
    seed = resolve_seed(seed)
    preps = [_prepare(p, client, chains, sweeps, shards, seed, schedule, cap_weight, lam,
                      return_samples, chain_offset, None, dict(anneal_kwargs, backend=backend))
             for p in problems]
    plan = preps[0][3]
    budget = _shard_budget(time_left(anneal_kwargs.get("time_limit"), t0, compiled_before),
                           client, plan, backend)

    def shard_kwargs(s):   # one limit for every problem: anneal_batch runs them under one
        limit = budget(s)  # stop rule
        return [_with_limit(p[4](s), limit) for p in preps]

    outs = _run_all([p[0] for p in preps], client, plan, shard_kwargs, timeout=timeout,
                    retries=retries)
    seconds = time.perf_counter() - t0
    return [merge_results(prob, plan, [o[0][i] for o in outs], [o[1] for o in outs],
                          seed=st.seed, sweeps_requested=sw, cap_weight=st.cap_weight,
                          seconds=seconds, return_samples=st.return_samples)
            for i, (prob, sw, st, _plan, _k) in enumerate(preps)]


def _shard_budget(left: float | None, client, plan: list, backend: str):
    """``time_limit`` of a shard as a function of the shard (None: no limit) from ``left``,
    what the call's sizing left of the run's limit (:func:`satea.settings.time_left`: the
    budget counts from the call, as anneal's counts its setup). On a cluster the shards
    run side by side and each gets ``left``; in this process (``client=None``) they run
    one after another on the same cores, so each gets its share of what is left when it
    starts, by what one of its sweeps costs (:func:`_sweep_weight`): the call keeps the
    run's limit, not the shard count times it, and every chain gets about as many sweeps.
    Kernel compiles stay outside every limit."""
    if left is None:
        return lambda s: None
    if client is not None:
        return lambda s: left
    deadline = time.perf_counter() + left
    compiled = compile_clock()
    weights = [_sweep_weight(s.chains, backend) for s in plan]
    weight_from = np.cumsum(weights[::-1])[::-1]    # of the shards from index k on

    def in_process(s) -> float:
        now_left = deadline - time.perf_counter() + (compile_clock() - compiled)
        return max(now_left, 1e-3) * weights[s.index] / float(weight_from[s.index])
    return in_process


def _sweep_weight(chains: int, backend: str) -> float:
    """What a sweep of ``chains`` chains costs here, up to a common factor: numba runs
    the chains on its threads (rounds of as many chains as threads), the numpy reference
    vectorises over them (about linear), a GPU runs them side by side (one round)."""
    if backend == "cuda":
        return 1.0
    if backend == "numpy":
        return float(chains)
    import numba
    return float(-(-chains // numba.get_num_threads()))


def _with_limit(kwargs: dict, limit: float | None) -> dict:
    return kwargs if limit is None else dict(kwargs, time_limit=limit)


def _shard_key(r: AnnealResult, cap_weight: float):
    """Sort key of a shard result: feasible ones by their best search objective (what
    anneal's own choice of chain uses), then infeasible ones by penalised objective."""
    cb = np.asarray(r.chain_best)
    if np.isfinite(cb).any():
        return (0, float(cb.min()))
    ev = r.evaluation
    return (1, float(ev.search_objective + cap_weight * ev.violation))


def merge_results(problem: ProblemArrays, plan, results, workers=None, *, seed: int,
                  sweeps_requested: int | None, cap_weight: float, seconds: float,
                  return_samples: bool = True) -> AnnealResult:
    """Reduce per-shard results (in shard order) to one :class:`AnnealResult` (see
    :func:`solve` for the fields). Ties go to the lowest shard index."""
    workers = workers or ["local"] * len(results)
    keys = [_shard_key(r, cap_weight) for r in results]
    b = min(range(len(results)), key=lambda k: keys[k])
    best = results[b]
    if return_samples:
        samples = np.concatenate([r.samples for r in results], axis=0)
    else:
        samples = best.samples
    done = [len(r.trace) for r in results]
    n_tr = max(done)
    trace = np.full(n_tr, np.inf)
    for r in results:   # a shard stopped early keeps its last best (the trace is a running best)
        t = np.asarray(r.trace)
        if t.size:
            trace = np.minimum(trace, np.concatenate([t, np.full(n_tr - t.size, t[-1])]))
    moves = np.array([r.chains * max(r.sweeps, 1) for r in results], float)
    acc = float(np.dot(moves, [r.acceptance_rate for r in results]) / moves.sum())
    stops = [r.stopped_by for r in results if r.stopped_by != "sweeps"]
    backends = sorted({r.backend for r in results})
    n_workers = len(set(workers))
    infos = tuple(ShardInfo(s.index, s.seed, s.chain_offset, s.chains, w, r.backend, r.sweeps,
                            r.seconds, r.compile_seconds, k[1] if k[0] == 0 else math.inf,
                            k[0] == 0, r.stopped_by)
                  for s, r, w, k in zip(plan, results, workers, keys))
    where = "in this process" if workers[0] == "local" else f"on {n_workers} worker(s)"
    msg = (f"{best.message} Merged from {len(results)} shard(s) {where}; best: "
           f"{plan[b].label()} (every shard in result.shards).")
    out = dataclasses.replace(
        best, message=msg, backend=",".join(backends), seed=int(seed),
        chains=int(sum(r.chains for r in results)), sweeps=int(max(r.sweeps for r in results)),
        sweeps_requested=int(max(r.sweeps for r in results) if sweeps_requested is None
                             else sweeps_requested), seconds=float(seconds),
        compile_seconds=float(max(r.compile_seconds for r in results)), acceptance_rate=acc,
        samples=samples, chain_best=np.concatenate([r.chain_best for r in results]),
        trace=trace, problem=problem, stopped_by=stops[0] if stops else "sweeps",
        settings=None,
        # the best shard's own settings and schedule would replay that shard alone
        info={"stopped_by": stops[0] if stops else "sweeps",
              "reason": f"merged from {len(results)} shard(s); repeat with "
                        "satea.distributed, the same seed and the same shards"},
        shards=infos)
    return out


def pareto(problem, client, *, lambdas=None, points: int = 16, lam_max: float | None = None,
           chains_per_lambda: int | None = None, sweeps: int | None = None,
           shards: int | None = None,
           seed: int | None = None, backend: str = "auto", schedule=None,
           cap_weight: float | None = None, timeout: float | None = None, retries: int = 0,
           started: float | None = None, **anneal_kwargs):
    """:func:`satea.pareto.pareto` with its chains split into shards over a Dask cluster
    (``client=None``: the same shards in this process); a :class:`satea.pareto.ParetoFront`.

    As there: ``lambdas`` (sorted, repeats dropped; default :func:`satea.pareto.lambda_ladder`
    with ``points`` and ``lam_max``), ``chains_per_lambda`` chains each, interleaved (chain
    ``c`` has ``lambdas[c % len(lambdas)]``), one schedule shape with each lambda's
    temperature level and one capacity weight (default :func:`satea.pareto.pareto_schedule`,
    computed once here), and the same
    non-dominated filter and tie rule. The chains are split into contiguous shards, so
    every shard holds chains of every lambda and shards take about equal time. Each shard
    re-scores its distinct chain-best assignments in float64 and sends back only its
    non-dominated feasible ones; their union is filtered again (same points as filtering
    every chain at once) and the front's points are re-scored here.

    The front's ``run`` is the merged :class:`AnnealResult` of the shards (as
    :func:`solve` merges them; ``samples``: the best chain's only), ``n_candidates`` and
    ``n_feasible`` are summed over shards (an assignment found by two shards counts
    twice), and ``front.shards`` lists the :class:`ShardInfo`. Raises :class:`ShardError`
    as :func:`solve` does.
    """
    from .compile import as_problem as _as_problem
    from .objective import evaluate
    from .pareto import FrontPoint, ParetoFront, ladder_settings
    t0 = time.perf_counter() if started is None else started
    compiled_before = compile_clock()
    if {"lam", "return_samples", "t_scale"} & set(anneal_kwargs):
        raise TypeError("pareto: lam, return_samples and t_scale are set from lambdas")
    prob = _as_problem(problem)
    ls = ladder_settings(prob, lambdas=lambdas, points=points, lam_max=lam_max,
                         chains_per_lambda=chains_per_lambda, seed=seed, schedule=schedule,
                         cap_weight=cap_weight)
    if ls.levels is not None:
        anneal_kwargs["t_scale"] = ls.chain_t_scale
    chain_lams = ls.chain_lams
    prob, sweeps, st, plan, kwargs_of = _prepare(
        prob, client, chain_lams.size, sweeps, shards, ls.seed, ls.schedule, ls.cap_weight,
        chain_lams, True, 0, anneal_kwargs.pop("x0", None),
        dict(anneal_kwargs, backend=backend))
    budget = _shard_budget(time_left(anneal_kwargs.get("time_limit"), t0, compiled_before),
                           client, plan, backend)
    outs = _run_all([prob], client, plan, lambda s: [_with_limit(kwargs_of(s), budget(s))],
                    front=True, timeout=timeout, retries=retries)
    results, workers = [o[0][0] for o in outs], [o[1] for o in outs]
    kept = front_filter([c for o in outs for c in o[2][0]])
    pts = [FrontPoint(c.lam, c.x.astype(np.int64),
                      evaluate(prob.with_lambda(c.lam), c.x.astype(np.int64)), c.chain,
                      c.chain_objective) for c in kept]
    run = merge_results(prob, plan, results, workers, seed=st.seed, sweeps_requested=sweeps,
                        cap_weight=st.cap_weight, seconds=time.perf_counter() - t0,
                        return_samples=False)
    front = ParetoFront(pts, ls.lams, ls.chains_per_lambda, run, prob,
                        n_candidates=sum(o[2][1] for o in outs),
                        n_feasible=sum(o[2][2] for o in outs), schedule=ls.schedule,
                        cap_weight=st.cap_weight, t_scale=ls.levels)
    return front
