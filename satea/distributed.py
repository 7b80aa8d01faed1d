"""Chains and trade-off points spread over a Dask cluster (``satea[distributed]``).

:func:`solve` splits ``chains`` into shards, runs one :func:`satea.anneal` task
per shard on the workers (each with its own best backend: cuda on a GPU worker, else
numba) and reduces to the best result; :func:`pareto` does what
:func:`satea.pareto.pareto` does with its chains (every lambda of the ladder) split the
same way, and merges the shards' non-dominated ``(energy_cost, penalty)`` points into one
front. Both take ``client=None`` to run the very same shards one after another in this
process (no Dask needed), which is how a distributed run is reproduced locally.

Reproducibility: chain streams are global. Every shard runs with the run's seed and a
chain offset equal to its first global chain index, so chain ``c`` draws stream ``c``
wherever it runs, and the settings (schedule, capacity weight, sweeps) are resolved once
on the client exactly as :func:`~satea.anneal` (or :func:`satea.pareto.pareto`) resolves
them for the whole run; each shard receives its chain range of them
(:meth:`satea.settings.RunSettings.chain_range`). So a run of ``C`` chains and a given
seed returns what a local ``anneal(..., strategy="independent")`` of ``C`` chains with
that seed returns, whatever the number of shards or workers (with the ``"converged"``
stop rule each shard stops on its own chains' progress, and a time limit is never
reproducible; give ``sweeps`` for exactness). The merged result records its settings and
run like a local one, so :func:`satea.settings.repeat_kwargs` (``satea solve --repeat``)
repeats it.

Network: the compiled problem is scattered once per call (client -> scheduler -> one
worker, then copied worker to worker once to each other worker; ``ProblemArrays.nbytes()``
bytes each time) and the tasks receive its future, never the problem itself. Each shard
sends back its result: the best assignment, per-chain best objectives and trace, and
``samples`` (chains x jobs int32) unless ``return_samples`` is False; a :func:`pareto`
shard sends only its best chain's sample and its own non-dominated points.

Faults: tasks have explicit keys (one per shard and call), so Dask recomputes the shard
of a worker that died; a shard that raises makes the call raise ``ShardError`` (a
RuntimeError) naming the shard, chained to the original exception. Ctrl-C: the call
returns the merge of what the shards found so far, ``stopped_by="interrupt"`` (see
:func:`solve`). Dask is imported lazily: ``import satea`` and this module work without
it. See docs/distributed.md.

The entry points and the merge live here; the parts in :mod:`satea.shards` (the plan, the
task and outcome types), :mod:`satea.shard_run` (running shards) and :mod:`satea.cluster`
(Dask clusters).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .cluster import (INSTALL_HINT, cluster_info, connect, default_shards,
                      format_cluster_info, require_dask)
from .compile import ProblemArrays, as_problem
from .dask_sizeof import register_sizeof
from .pareto import Candidate, front_filter
from .result import AnnealResult
from .settings import CallClock, RunOptions, RunSettings, resolve_seed
from .shard_run import ShardError, ShardsRun, run_shard, run_shards
from .shards import (RunPlan, Shard, ShardFront, ShardInfo, ShardOutcome, ShardTask,
                     plan_run, plan_shards)


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
        what one of its sweeps costs), ``stop``, ``sweep_moves``, ``t_scale``,
        ``strategy`` ("auto" or "independent"). ``callback`` is refused.

    Returns
    -------
    AnnealResult
        The best shard's assignment (lowest search objective among feasible chains, else
        the least infeasible shard result), with ``samples`` and ``chain_best`` of every
        chain in global chain order, ``trace`` the elementwise minimum over shards,
        ``chains`` the total, ``seed`` the run's seed, ``seconds`` the wall time of the
        call, ``sweeps`` the most any shard completed, ``backend`` the backends used,
        ``settings`` and ``info`` the run's record (:func:`merge_results`) and an extra
        attribute ``shards``: a tuple of :class:`ShardInfo` (seeds, workers, ...).

        A Ctrl-C (KeyboardInterrupt) during the run does not raise once a shard has
        something to give: the running shards end their search (on a cluster they are
        asked to, and waited for), and the result merges the shards that returned, with
        ``stopped_by="interrupt"`` (``result.shards`` lists them; shards that had not
        started are left out). A Ctrl-C before any shard has something raises
        KeyboardInterrupt.

    Raises
    ------
    ShardError
        A shard raised (its label names index, seed and chains); ``__cause__`` is the
        shard's exception.
    """
    clock = CallClock.start(started)
    options = _run_options(locals(), anneal_kwargs)
    run = plan_run(as_problem(problem), client, options, shards)
    budget = shard_budget(clock.left(options.time_limit), client, run.shards, backend)
    got = run_shards([run.problem], client, list(run.shards),
                     lambda s: ShardTask(s, (run.shard_settings(s, budget(s)),), backend),
                     timeout=timeout, retries=retries)
    return _merged(run, got, 0, time.perf_counter() - clock.started)


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
    of all the chains). A Ctrl-C returns every problem's merge of the shards that
    returned, as :func:`solve` does.
    ``x0`` is not taken (give one problem to :func:`solve` for warm starts)."""
    clock = CallClock.start(started)
    if "x0" in anneal_kwargs:
        raise TypeError("solve_batch: x0 is not supported; solve one problem with x0")
    options = _run_options(locals(), anneal_kwargs)
    options = dataclasses.replace(options, seed=resolve_seed(options.seed))   # one seed
    runs = [plan_run(as_problem(p), client, options, shards) for p in problems]
    if not runs:
        return []
    plan = list(runs[0].shards)   # the same for every problem: same chains, shards, seed
    budget = shard_budget(clock.left(options.time_limit), client, plan, backend)

    def task_of(s: Shard) -> ShardTask:   # one limit for every problem: anneal_batch runs
        limit = budget(s)                  # them under one stop rule
        return ShardTask(s, tuple(r.shard_settings(s, limit) for r in runs), backend)

    got = run_shards([r.problem for r in runs], client, plan, task_of, timeout=timeout,
                     retries=retries)
    seconds = time.perf_counter() - clock.started
    return [_merged(r, got, i, seconds) for i, r in enumerate(runs)]


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
    as :func:`solve` does; a Ctrl-C gives the front of the shards that returned.
    """
    from .objective import evaluate
    from .pareto import FrontPoint, ParetoFront, ladder_settings
    clock = CallClock.start(started)
    if {"lam", "return_samples", "t_scale"} & set(anneal_kwargs):
        raise TypeError("pareto: lam, return_samples and t_scale are set from lambdas")
    for name in ("chains", "chain_offset"):
        if name in anneal_kwargs:
            raise TypeError(f"unexpected argument {name!r} (pareto's chains are its "
                            "lambdas times chains_per_lambda)")
    prob = as_problem(problem)
    ls = ladder_settings(prob, lambdas=lambdas, points=points, lam_max=lam_max,
                         chains_per_lambda=chains_per_lambda, seed=seed, schedule=schedule,
                         cap_weight=cap_weight)
    options = dataclasses.replace(
        _run_options({"backend": backend, "sweeps": sweeps}, anneal_kwargs),
        chains=ls.chain_lams.size, seed=ls.seed, schedule=ls.schedule,
        cap_weight=ls.cap_weight, lam=ls.chain_lams, return_samples=True,
        t_scale=ls.chain_t_scale)
    run = plan_run(prob, client, options, shards)
    budget = shard_budget(clock.left(options.time_limit), client, run.shards, backend)
    got = run_shards([prob], client, list(run.shards),
                     lambda s: ShardTask(s, (run.shard_settings(s, budget(s)),), backend,
                                         front=True),
                     timeout=timeout, retries=retries)
    fronts = [o.front for o in got.outcomes if o.front is not None]
    kept = front_filter([c for f in fronts for c in f.candidates])
    pts = [FrontPoint(c.lam, c.x.astype(np.int64),
                      evaluate(prob.with_lambda(c.lam), c.x.astype(np.int64), c.holds), c.chain,
                      c.chain_objective, c.holds) for c in kept]
    merged = _merged(run, got, 0, time.perf_counter() - clock.started, return_samples=False)
    return ParetoFront(pts, ls.lams, ls.chains_per_lambda, merged, prob,
                       n_candidates=sum(f.distinct for f in fronts),
                       n_feasible=sum(f.feasible for f in fronts), schedule=ls.schedule,
                       cap_weight=run.settings.cap_weight, t_scale=ls.levels)


def _run_options(names: Mapping[str, Any], anneal_kwargs: dict) -> RunOptions:
    """The run options of a call: its run keywords (``names``, e.g. its ``locals()``) and
    the anneal arguments it passes on; ``callback`` refused with the reason."""
    if "callback" in anneal_kwargs:
        raise ValueError("callback: not supported by satea.distributed (shards run on "
                         "workers); use time_limit")
    known = {f.name for f in dataclasses.fields(RunOptions)}
    bad = sorted(set(anneal_kwargs) - known)
    if bad:
        raise TypeError(f"unexpected argument {bad[0]!r}")
    return dataclasses.replace(RunOptions.of(names), **anneal_kwargs)


def shard_budget(left: float | None, client, plan, backend: str):
    """``time_limit`` of a shard as a function of the shard (None: no limit) from ``left``,
    what the call's sizing left of the run's limit (:meth:`satea.settings.CallClock.left`:
    the budget counts from the call, as anneal's counts its setup). On a cluster the shards
    run side by side and each gets ``left``; in this process (``client=None``) they run
    one after another on the same cores, so each gets its share of what is left when it
    starts, by what one of its sweeps costs (:func:`sweep_weight`): the call keeps the
    run's limit, not the shard count times it, and every chain gets about as many sweeps.
    Kernel compiles stay outside every limit."""
    if left is None:
        return lambda s: None
    if client is not None:
        return lambda s: left
    deadline = time.perf_counter() + left
    clock = CallClock.start()
    weights = [sweep_weight(s.chains, backend) for s in plan]
    weight_from = np.cumsum(weights[::-1])[::-1]    # of the shards from index k on

    def in_process(s) -> float:
        now_left = deadline - time.perf_counter() + clock.compile_seconds()
        return max(now_left, 1e-3) * weights[s.index] / float(weight_from[s.index])
    return in_process


def sweep_weight(chains: int, backend: str) -> float:
    """What a sweep of ``chains`` chains costs here, up to a common factor: rounds of as
    many chains as the backend advances at once (:meth:`Backend.chains_side_by_side`:
    numba's threads; the numpy reference one, a GPU all). "auto" is weighed as numba, as
    the client sizes it."""
    from .backends import backend_class
    side = backend_class("numba" if backend == "auto" else backend).chains_side_by_side()
    return 1.0 if side is None else float(-(-chains // side))


def _merged(run: RunPlan, got: ShardsRun, i: int, seconds: float,
            return_samples: bool | None = None) -> AnnealResult:
    """Problem ``i``'s merge of the shards that returned."""
    st = run.settings
    return merge_results(run.problem, got.shards, [o.results[i] for o in got.outcomes],
                         [o.worker for o in got.outcomes], seed=st.seed,
                         sweeps_requested=st.sweeps, cap_weight=st.cap_weight,
                         seconds=seconds,
                         return_samples=(st.return_samples if return_samples is None
                                         else return_samples),
                         settings=st, interrupted=got.interrupted,
                         planned_shards=len(run.shards))


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
                  return_samples: bool = True, settings: RunSettings | None = None,
                  interrupted: bool = False,
                  planned_shards: int | None = None) -> AnnealResult:
    """Reduce per-shard results (in shard order; ``plan``: their shards) to one
    :class:`AnnealResult` (see :func:`solve` for the fields). Ties go to the lowest shard
    index.

    With the run's ``settings`` (resolved on the client for all its chains) the result
    records them and its run, as a local result does: ``info`` holds the shards' walks
    (``info["shards"]``: chain range, sweeps done, stop and schedule of each) and, at its
    top, ``sweeps_done`` and ``schedule`` of the chains ``info["repeat_range"]``
    (``[first chain, chains]``): every chain of the run where all ``planned_shards``
    shards returned and walked one schedule (a number of sweeps, or converged at the same
    sweep), else the best shard's chains, whose walk gave the answer.
    :func:`satea.settings.repeat_kwargs` repeats exactly those chains. ``interrupted``:
    a Ctrl-C ended the run (``stopped_by="interrupt"``).
    """
    workers = workers or ["local"] * len(results)
    keys = [_shard_key(r, cap_weight) for r in results]
    b = min(range(len(results)), key=lambda k: keys[k])
    best = results[b]
    sample_holds = best.sample_holds
    if return_samples:
        samples = np.concatenate([r.samples for r in results], axis=0)
        if all(r.sample_holds is not None for r in results):
            sample_holds = np.concatenate([r.sample_holds for r in results], axis=0)
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
    stopped_by = "interrupt" if interrupted else (stops[0] if stops else "sweeps")
    backends = sorted({r.backend for r in results})
    n_workers = len(set(workers))
    infos = tuple(ShardInfo(s.index, s.seed, s.chain_offset, s.chains, w, r.backend, r.sweeps,
                            r.seconds, r.compile_seconds, k[1] if k[0] == 0 else math.inf,
                            k[0] == 0, r.stopped_by)
                  for s, r, w, k in zip(plan, results, workers, keys))
    where = "in this process" if workers[0] == "local" else f"on {n_workers} worker(s)"
    of = "" if planned_shards in (None, len(results)) else f" of {planned_shards}"
    msg = (f"{best.message} Merged from {len(results)}{of} shard(s) {where}; best: "
           f"{plan[b].label()} (every shard in result.shards).")
    if interrupted:
        msg += " Interrupted (Ctrl-C): the shards' best so far."
    info = {"stopped_by": stopped_by,
            "reason": (f"interrupted (Ctrl-C): merged the {len(results)}{of} shard(s) that "
                       "returned" if interrupted else f"merged from {len(results)} shard(s)")}
    run_settings = None
    if settings is not None:
        run_settings = dataclasses.replace(settings, backend=best.backend)
        info.update(_run_record(plan, results, b, settings, planned_shards))
    return dataclasses.replace(
        best, message=msg, backend=",".join(backends), seed=int(seed),
        chains=int(sum(r.chains for r in results)), sweeps=int(max(r.sweeps for r in results)),
        sweeps_requested=int(max(r.sweeps for r in results) if sweeps_requested is None
                             else sweeps_requested), seconds=float(seconds),
        compile_seconds=float(max(r.compile_seconds for r in results)), acceptance_rate=acc,
        samples=samples, sample_holds=sample_holds,
        chain_best=np.concatenate([r.chain_best for r in results]),
        trace=trace, problem=problem, stopped_by=stopped_by, settings=run_settings,
        info=info, shards=infos)


def _run_record(plan, results, b: int, settings: RunSettings,
                planned_shards: int | None) -> dict:
    """The walk part of a merged result's ``info`` (see :func:`merge_results`)."""
    walks = [{"index": s.index, "chain_offset": s.chain_offset, "chains": s.chains,
              "sweeps_done": r.info.get("sweeps_done", r.sweeps), "stopped_by": r.stopped_by,
              "schedule": r.info.get("schedule")} for s, r in zip(plan, results)]
    whole = (planned_shards in (None, len(results))
             and all((w["sweeps_done"], w["schedule"]) == (walks[0]["sweeps_done"],
                                                           walks[0]["schedule"])
                     for w in walks))
    first, chains = ((settings.chain_offset, settings.chains) if whole
                     else (plan[b].chain_offset, plan[b].chains))
    best = results[b].info
    return {"sweeps_done": walks[b]["sweeps_done"], "schedule": walks[b]["schedule"],
            "strategy": best.get("strategy", {"name": "independent"}),
            "setup_seconds": best.get("setup_seconds"),
            "compile_seconds": best.get("compile_seconds"),
            "repeat_range": [int(first), int(chains)], "best_shard": plan[b].index,
            "shards": walks}


__all__ = ["INSTALL_HINT", "Candidate", "RunPlan", "Shard", "ShardError", "ShardFront",
           "ShardInfo", "ShardOutcome", "ShardTask", "ShardsRun", "cluster_info", "connect",
           "default_shards", "format_cluster_info", "front_filter", "merge_results",
           "pareto", "plan_run", "plan_shards", "register_sizeof", "require_dask",
           "run_shard", "run_shards", "shard_budget", "solve", "solve_batch",
           "sweep_weight"]
