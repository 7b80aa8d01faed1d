"""Shard plans for :mod:`satea.distributed`: how a run's chains are split into shards and
the settings resolved once on the client that every shard shares."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cluster import default_shards
from .compile import ProblemArrays
from .settings import positive_int as _positive_int

#: anneal arguments a shard cannot take from the caller (set per shard or meaningless remotely)
_RESERVED = ("chains", "seed", "chain_offset", "callback")


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
                            p_swap=p_swap, stop=stop, sweep_moves=sweep_moves,
                            strategy="independent")


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
    strategy = kwargs.pop("strategy", "auto")
    if strategy not in ("auto", "independent"):   # a shard's chains could only meet each other
        raise ValueError(f"strategy: satea.distributed runs independent chains; "
                         f"{strategy!r} runs in one process (satea.anneal)")
    for k in ("rungs", "exchange_sweeps"):
        if kwargs.pop(k, None) is not None:
            raise ValueError(f"{k}: satea.distributed runs independent chains")
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
                  p_swap=st.p_swap, stop=st.stop, sweep_moves=st.sweep_moves,
                  strategy="independent")
        if x0 is not None:
            kw["x0"] = x0 if x0.ndim == 1 else x0[lo:lo + s.chains].copy()
        if t_scale is not None:
            kw["t_scale"] = t_scale[lo:lo + s.chains].copy()
        return kw

    return prob, sweeps, st, plan, kwargs_of
