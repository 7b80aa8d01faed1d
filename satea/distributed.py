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
them for the whole run and passed to every shard. So a run of ``C`` chains and a given
seed returns what a local ``anneal`` of ``C`` chains with that seed returns, whatever the
number of shards or workers (with the ``"converged"`` stop rule each shard stops on its
own chains' progress, and a time limit is never reproducible; give ``sweeps`` for
exactness).

Network: the compiled problem is scattered once per call (client -> scheduler -> one
worker, then copied worker to worker once to each other worker; ``ProblemArrays.nbytes()``
bytes each time) and the tasks receive its future, never the problem itself. Each shard
sends back its result: the best assignment, per-chain best objectives and trace, and
``samples`` (chains x jobs int32) unless ``return_samples`` is False; a :func:`pareto`
shard sends only its best chain's sample and its own non-dominated points.

Faults: tasks have explicit deterministic keys, so Dask recomputes the shard of a worker
that died; a shard that raises makes the call raise ``ShardError`` (a RuntimeError) naming
the shard, chained to the original exception. Dask is imported lazily: ``import satea``
and this module work without it. See docs/distributed.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from .settings import positive_int as _positive_int
from .compile import ProblemArrays
from .result import AnnealResult

INSTALL_HINT = "pip install 'satea[distributed]'  (installs dask[distributed])"

#: anneal arguments a shard cannot take from the caller (set per shard or meaningless remotely)
_RESERVED = ("chains", "seed", "chain_offset", "callback")


class ShardError(RuntimeError):
    """A shard failed; ``shard`` is its :class:`Shard`, ``__cause__`` the original error."""

    def __init__(self, message: str, shard: Shard):
        super().__init__(message)
        self.shard = shard


def require_dask():
    """Import and return ``distributed``, or raise ImportError telling how to install it."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as e:
        raise ImportError(f"satea.distributed needs Dask's distributed scheduler, which is not "
                          f"installed ({e}). Install it with: {INSTALL_HINT}") from e
    return distributed


# ---------------------------------------------------------------------------------------
# shard plan
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shard:
    """One task: ``chains`` chains with global indices ``chain_offset ..
    chain_offset + chains - 1``, the run's ``seed`` (stream ``i`` for global chain ``i``).
    ``index`` counts from 0."""

    index: int
    n_shards: int
    seed: int
    chain_offset: int
    chains: int

    def label(self) -> str:
        return (f"shard {self.index + 1} of {self.n_shards} (index {self.index}, chains "
                f"{self.chain_offset}..{self.chain_offset + self.chains - 1})")


@dataclass(frozen=True)
class ShardInfo:
    """What one shard did (``result.shards`` of :func:`solve`, ``front.shards``)."""

    index: int
    seed: int
    chain_offset: int
    chains: int
    worker: str            # worker address, "local" without a cluster
    backend: str
    sweeps: int
    seconds: float         # the shard's search seconds (anneal's ``seconds``)
    compile_seconds: float
    best: float            # the shard's best search objective (+inf: no feasible chain)
    feasible: bool
    stopped_by: str


def plan_shards(chains: int, n_shards: int, seed: int, chain_offset: int = 0) -> list[Shard]:
    """Split ``chains`` into ``min(n_shards, chains)`` contiguous shards of near-equal size
    (the first ``chains % n`` get one more chain), all on the run's ``seed``."""
    chains = _positive_int("chains", chains)
    n = min(_positive_int("shards", n_shards), chains)
    base, extra = divmod(chains, n)
    out, start = [], chain_offset
    for k in range(n):
        size = base + (k < extra)
        out.append(Shard(k, n, int(seed), start, size))
        start += size
    return out


def shared_settings(problem: ProblemArrays, chains: int, sweeps: int | None, seed=None,
                    schedule=None, cap_weight=None, lam=None, return_samples=None,
                    time_limit=None, p_swap=None, stop: str = "auto",
                    sweep_moves: int | None = None, backend: str = "numba"):
    """The settings every shard shares (:func:`satea.settings.resolve_settings` for the
    whole run of ``chains`` chains, as :func:`anneal` would resolve them for one process;
    sized as for the numba backend, since "auto" is decided on each worker): seed,
    schedule, capacity weight, per-chain lambdas, planned sweeps and stop rule."""
    from .settings import resolve_settings
    # "auto" and "cuda" are decided on the workers; numpy keeps its own default sweeps
    return resolve_settings(problem, backend="numpy" if backend == "numpy" else "numba",
                            chains=chains, sweeps=sweeps, seed=seed,
                            schedule=schedule, lam=lam, cap_weight=cap_weight,
                            return_samples=return_samples, time_limit=time_limit,
                            p_swap=p_swap, stop=stop, sweep_moves=sweep_moves)


# ---------------------------------------------------------------------------------------
# what runs on a worker
# ---------------------------------------------------------------------------------------

def _worker_address() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _run_shard(problems: list, shard: Shard, kwargs: list, front: bool = False):
    """One task: the shard's chains of every problem, in one :func:`satea.anneal_batch`
    (one problem: exactly :func:`satea.anneal`), each with its own arguments ``kwargs[i]``.
    Returns (results without their problems, worker address, front or None). With
    ``front`` (one problem), the chains' best assignments are re-scored in float64 with
    their own lambdas and only the shard's non-dominated feasible ones are sent back (as
    :class:`_Candidate`), with (distinct assignments, feasible ones) counted; the result
    keeps only its best chain's sample."""
    from .annealing import anneal_batch
    from .settings import resolve_settings
    sts = [resolve_settings(p, chains=shard.chains, seed=shard.seed,
                            chain_offset=shard.chain_offset, **kw)
           for p, kw in zip(problems, kwargs)]
    rs = anneal_batch(problems, settings=sts)
    found = None
    if front:
        r = rs[0]
        found = _shard_front(problems[0], r, kwargs[0]["lam"], shard.chain_offset)
        rs = [dataclasses.replace(r, samples=r.x[None, :].astype(r.samples.dtype))]
    # the problem is not sent back (the driver has it; merge_results puts it back)
    bare = cast(ProblemArrays, None)
    return [dataclasses.replace(r, problem=bare) for r in rs], _worker_address(), found


@dataclass(frozen=True, eq=False)
class _Candidate:
    """A feasible chain-best assignment, compact for the wire (no per-job arrays)."""

    energy_cost: float
    penalty: float
    lam: float
    chain: int             # global chain index
    chain_objective: float
    x: np.ndarray          # caller's order, int32


def front_filter(cands: list) -> list:
    """The non-dominated candidates in ``(energy_cost, penalty)``, ascending energy, by
    :func:`satea.pareto.nondominated`; of equal points the one of the smallest lambda,
    then chain, is kept (as :func:`satea.pareto.pareto` does). Filtering each shard's
    candidates and then their union gives the same points as filtering all at once."""
    from .pareto import nondominated
    cands = sorted(cands, key=lambda c: (c.lam, c.chain))
    keep = nondominated([c.energy_cost for c in cands], [c.penalty for c in cands])
    return [cands[k] for k in keep.tolist()]


def _shard_front(problem, r, lams, chain_offset):
    from .objective import evaluate
    samples = np.asarray(r.samples)
    lams = np.asarray(lams, np.float64)
    # each distinct assignment once: the chain of the smallest lambda (then index) keeps it
    order = np.lexsort((np.arange(samples.shape[0]), lams))
    _, first = np.unique(samples[order], axis=0, return_index=True)
    cands = []
    distinct = np.sort(order[first]).tolist()
    for c in distinct:
        ev = evaluate(problem.with_lambda(float(lams[c])), samples[c].astype(np.int64))
        if ev.feasible:
            cands.append(_Candidate(float(ev.energy_cost), float(ev.penalty), float(lams[c]),
                                    chain_offset + c, float(r.chain_best[c]),
                                    samples[c].copy()))
    return front_filter(cands), len(distinct), len(cands)


# ---------------------------------------------------------------------------------------
# running shards: on a cluster, or here
# ---------------------------------------------------------------------------------------

def _run_all(problems: list, client, shards, kwargs_of, *, front=False, timeout=None,
             retries=0):
    """Run every shard (each over every problem: ``kwargs_of(shard)`` gives one dict of
    anneal arguments per problem); returns [(results, worker, points)] in shard order.
    Raises ShardError naming the first failed shard (lowest index among those failed so
    far)."""
    if client is None:
        out = []
        for s in shards:
            try:
                out.append(_run_shard(problems, s, kwargs_of(s), front))
            except Exception as e:
                raise ShardError(f"{s.label()}: {type(e).__name__}: {e}", s) from e
        return out

    distributed = require_dask()
    from dask.base import tokenize
    pf = client.scatter(list(problems), broadcast=True, hash=False)   # fresh keys per call
    futures = []
    try:
        for s in shards:
            kw = kwargs_of(s)
            key = f"satea-shard-{tokenize([f.key for f in pf], s, kw, front)}-{s.index}"
            futures.append(client.submit(_run_shard, pf, s, kw, front, key=key, pure=True,
                                         retries=retries))
        index = {f.key: k for k, f in enumerate(futures)}
        pending = list(futures)
        deadline = None if timeout is None else time.monotonic() + timeout
        while pending:   # wake on every finished shard, so the first error raises at once
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                distributed.wait(pending, timeout=left, return_when="FIRST_COMPLETED")
            except (TimeoutError, asyncio.TimeoutError):   # noqa: UP041 (distinct in 3.10)
                late = [shards[index[f.key]].label() for f in pending if not f.done()]
                raise TimeoutError(f"{len(late)} shard(s) unfinished after {timeout} s: "
                                   + "; ".join(late)) from None
            failed = [f for f in futures if f.status in ("error", "cancelled")]
            if failed:
                f = failed[0]
                s = shards[index[f.key]]
                exc = (f.exception() if f.status == "error" else RuntimeError(
                    "the task was cancelled (its worker or the scheduler gave it up)"))
                raise ShardError(f"{s.label()}: {type(exc).__name__}: {exc}", s) from exc
            pending = [f for f in pending if not f.done()]
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)     # stop the shards still running; then raise
        raise


def register_sizeof(sizeof) -> None:
    """Teach ``dask.sizeof`` the size of a ProblemArrays (its arrays' bytes), so the
    scheduler accounts for the scattered problem; the ``dask.sizeof`` entry point."""
    sizeof.register(ProblemArrays)(lambda p: int(p.nbytes()) + 1024)


# ---------------------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------------------

def default_shards(client) -> int:
    """One shard per worker thread of the cluster (``sum(client.nthreads().values())``)."""
    if client is None:
        return 1
    n = sum(client.nthreads().values())
    if n < 1:
        raise RuntimeError("the Dask cluster has no workers yet (client.wait_for_workers(n) "
                           "waits for them)")
    return n


def _prepare(problem, client, chains, sweeps, shards, seed, schedule, cap_weight, lam,
             return_samples, chain_offset, x0, kwargs):
    from .backends import backend_class
    from .compile import as_problem
    from .settings import check_x0, default_chains_sweeps, per_chain
    kwargs = dict(kwargs)
    prob = as_problem(problem)
    n_shards = default_shards(client) if shards is None else _positive_int("shards", shards)
    # "auto" is decided on each worker; the client sizes defaults as for the numba backend
    be = kwargs.get("backend", "auto")
    cls = backend_class("numba" if be == "auto" else be)
    chains = _positive_int("chains", default_chains_sweeps(cls, prob.n_jobs)[0] * n_shards
                           if chains is None else chains)
    chain_offset = _positive_int("chain_offset", chain_offset, 0)
    bad = [k for k in _RESERVED if k in kwargs]
    if "callback" in bad:
        raise ValueError("callback: not supported by satea.distributed (shards run on "
                         "workers); use time_limit")
    if bad:
        raise TypeError(f"unexpected argument {bad[0]!r}")
    t_scale = kwargs.pop("t_scale", None)
    if t_scale is not None:
        t_scale = per_chain("t_scale", t_scale, chains, positive=True)  # sliced per shard
    if x0 is not None:
        check_x0(x0, chains, prob)                  # validated here, global chain indices
        x0 = np.asarray(x0)
    st = shared_settings(prob, chains, sweeps, seed, schedule, cap_weight, lam, return_samples,
                         kwargs.get("time_limit"), kwargs.pop("p_swap", None),
                         kwargs.pop("stop", "auto"), kwargs.pop("sweep_moves", None), be)
    sweeps = st.sweeps
    plan = plan_shards(chains, n_shards, st.seed, chain_offset)

    def kwargs_of(s: Shard) -> dict:
        lo = s.chain_offset - chain_offset
        kw = dict(kwargs, sweeps=sweeps, schedule=st.schedule, cap_weight=st.cap_weight,
                  lam=st.lam[lo:lo + s.chains].copy(), return_samples=st.return_samples,
                  p_swap=st.p_swap, stop=st.stop, sweep_moves=st.sweep_moves)
        if x0 is not None:
            kw["x0"] = x0 if x0.ndim == 1 else x0[lo:lo + s.chains].copy()
        if t_scale is not None:
            kw["t_scale"] = t_scale[lo:lo + s.chains].copy()
        return kw

    return prob, sweeps, st, plan, kwargs_of


def solve(problem, client, *, chains: int | None = None, sweeps: int | None = None,
          shards: int | None = None,
          seed: int | None = None, backend: str = "auto", schedule=None, lam=None,
          cap_weight: float | None = None, x0=None, return_samples: bool | None = None,
          chain_offset: int = 0, timeout: float | None = None, retries: int = 0,
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
        result equals a local :func:`satea.anneal` of ``chains`` chains with this seed).
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
    **anneal_kwargs
        ``p_swap``, ``time_limit`` (per shard), ...

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
    t0 = time.perf_counter()
    prob, sweeps, st, plan, kwargs_of = _prepare(
        problem, client, chains, sweeps, shards, seed, schedule, cap_weight, lam,
        return_samples, chain_offset, x0, dict(anneal_kwargs, backend=backend))
    outs = _run_all([prob], client, plan, lambda s: [kwargs_of(s)], timeout=timeout,
                    retries=retries)
    return merge_results(prob, plan, [o[0][0] for o in outs], [o[1] for o in outs],
                         seed=st.seed, sweeps_requested=sweeps, cap_weight=st.cap_weight,
                         seconds=time.perf_counter() - t0,
                         return_samples=st.return_samples)


def solve_batch(problems, client, *, chains: int | None = None, sweeps: int | None = None,
                shards: int | None = None, seed: int | None = None, backend: str = "auto",
                schedule=None, lam=None, cap_weight: float | None = None,
                return_samples: bool | None = None, chain_offset: int = 0,
                timeout: float | None = None, retries: int = 0,
                **anneal_kwargs) -> list[AnnealResult]:
    """:func:`solve` for many problems at once: every shard task runs its chains of every
    problem in one :func:`satea.anneal_batch`, and each problem's shard results are merged
    as :func:`solve` merges them. The same settings, streams and merge as :func:`solve`:
    result ``i`` equals ``solve(problems[i], ...)`` with the same seed and shards (and,
    for a given number of sweeps, a local :func:`satea.anneal` of all the chains).
    ``x0`` is not taken (give one problem to :func:`solve` for warm starts)."""
    from .settings import resolve_seed
    t0 = time.perf_counter()
    if "x0" in anneal_kwargs:
        raise TypeError("solve_batch: x0 is not supported; solve one problem with x0")
    seed = resolve_seed(seed)
    preps = [_prepare(p, client, chains, sweeps, shards, seed, schedule, cap_weight, lam,
                      return_samples, chain_offset, None, dict(anneal_kwargs, backend=backend))
             for p in problems]
    plan = preps[0][3]
    outs = _run_all([p[0] for p in preps], client, plan,
                    lambda s: [p[4](s) for p in preps], timeout=timeout, retries=retries)
    seconds = time.perf_counter() - t0
    return [merge_results(prob, plan, [o[0][i] for o in outs], [o[1] for o in outs],
                          seed=st.seed, sweeps_requested=sw, cap_weight=st.cap_weight,
                          seconds=seconds, return_samples=st.return_samples)
            for i, (prob, sw, st, _plan, _k) in enumerate(preps)]


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


# ---------------------------------------------------------------------------------------
# pareto
# ---------------------------------------------------------------------------------------

def pareto(problem, client, *, lambdas=None, points: int = 16, lam_max: float | None = None,
           chains_per_lambda: int | None = None, sweeps: int | None = None,
           shards: int | None = None,
           seed: int | None = None, backend: str = "auto", schedule=None,
           cap_weight: float | None = None, timeout: float | None = None, retries: int = 0,
           **anneal_kwargs):
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
    t0 = time.perf_counter()
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
    outs = _run_all([prob], client, plan, lambda s: [kwargs_of(s)], front=True,
                    timeout=timeout, retries=retries)
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


# ---------------------------------------------------------------------------------------
# clusters (for the command line)
# ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None,
            numba_threads: int | None = 1, timeout: float = 20.0, **cluster_kwargs):
    """A ``distributed.Client``: to the scheduler at ``scheduler`` ("tcp://host:8786" or a
    scheduler file path ending in .json; OSError when it cannot be reached within
    ``timeout`` seconds), or to a new ``LocalCluster`` of ``workers`` single-threaded
    worker processes (each with ``NUMBA_NUM_THREADS=numba_threads`` so workers do not
    oversubscribe the cores). Closed on exit."""
    distributed = require_dask()
    if (scheduler is None) == (workers is None):
        raise ValueError("connect: give exactly one of scheduler (an address) and workers")
    if scheduler is not None:
        try:
            if str(scheduler).endswith(".json"):
                client = distributed.Client(scheduler_file=str(scheduler), timeout=timeout)
            else:
                client = distributed.Client(str(scheduler), timeout=timeout)
        except (OSError, TimeoutError, asyncio.TimeoutError) as e:  # noqa: UP041 (3.10)
            raise OSError(f"--scheduler {scheduler}: cannot connect to the Dask scheduler "
                          f"({type(e).__name__}: {e})") from e
        try:
            yield client
        finally:
            client.close()
        return
    workers = _positive_int("workers", workers)
    env = dict(cluster_kwargs.pop("env", {}) or {})
    if numba_threads is not None:
        env.setdefault("NUMBA_NUM_THREADS", str(int(numba_threads)))
    cluster_kwargs.setdefault("dashboard_address", ":0")   # a free port
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  env=env, **cluster_kwargs) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _worker_facts() -> dict:
    import numba

    from . import __version__
    from .backends import available_backends, resolve
    try:
        from .bench import gpu_name
        gpu = gpu_name()
    except Exception as e:  # noqa: BLE001 (a broken driver must not break `satea info`)
        gpu = f"unusable ({type(e).__name__}: {e})"
    return {"satea": __version__, "backends": available_backends(),
            "auto": resolve("auto").name, "numba_threads": numba.get_num_threads(), "gpu": gpu}


def cluster_info(client) -> dict:
    """Scheduler address and, per worker, threads, memory limit, satea version, backends,
    the backend "auto" picks there, numba threads and GPU (``satea info --scheduler``)."""
    info = client.scheduler_info()
    facts = client.run(_worker_facts)
    workers = []
    for addr, w in sorted(info.get("workers", {}).items()):
        workers.append(dict(address=addr, name=str(w.get("name")), nthreads=w.get("nthreads"),
                            memory_limit=w.get("memory_limit"), **facts.get(addr, {})))
    return {"scheduler": info.get("address"), "n_workers": len(workers),
            "nthreads": sum(w["nthreads"] or 0 for w in workers), "workers": workers}


def format_cluster_info(d: dict) -> str:
    lines = [(f"dask scheduler {d['scheduler']}: {d['n_workers']} worker(s), "
              f"{d['nthreads']} thread(s)")]
    for w in d["workers"]:
        mem = w.get("memory_limit")
        lines.append(f"  {w['address']}: {w['nthreads']} thread(s), "
                     f"{(mem or 0) / 2**30:.1f} GiB, satea {w.get('satea')}, auto -> "
                     f"{w.get('auto')}, numba threads {w.get('numba_threads')}"
                     + (f", GPU {w['gpu']}" if w.get("gpu") else ""))
    return "\n".join(lines)


__all__ = ["Shard", "ShardError", "ShardInfo", "cluster_info", "connect", "default_shards",
           "format_cluster_info", "front_filter", "merge_results", "pareto", "plan_shards",
           "register_sizeof", "require_dask", "shared_settings", "solve", "solve_batch"]
