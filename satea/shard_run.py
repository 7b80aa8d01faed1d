"""Running shards for :mod:`satea.distributed`: the task a worker runs, its compact front
of candidates, and the loop that runs every shard on a cluster or in this process."""
from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from dataclasses import dataclass
from typing import cast

import numpy as np

from .cluster import require_dask
from .compile import ProblemArrays
from .shards import Shard

class ShardError(RuntimeError):
    """A shard failed; ``shard`` is its :class:`Shard`, ``__cause__`` the original error."""

    def __init__(self, message: str, shard: Shard):
        super().__init__(message)
        self.shard = shard


def _worker_address() -> str:
    # a Dask worker has imported distributed; a shard run here must not pay the import
    # (~0.15 s, out of the shards' shared time limit)
    if "distributed" not in sys.modules:
        return "local"
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

