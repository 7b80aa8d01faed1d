"""Shard plans for :mod:`satea.distributed`: how a run's chains are split into shards, the
settings resolved once on the client that every shard takes its range of, and the named
task and outcome that travel between the client and a worker."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from .cluster import default_shards
from .compile import ProblemArrays
from .result import AnnealResult
from .settings import RunOptions, RunSettings, positive_int


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
    """What one shard did (``result.shards`` of :func:`satea.distributed.solve`,
    ``front.shards``)."""

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
    chains = positive_int("chains", chains)
    n = min(positive_int("shards", n_shards), chains)
    base, extra = divmod(chains, n)
    out, start = [], chain_offset
    for k in range(n):
        size = base + (k < extra)
        out.append(Shard(k, n, int(seed), start, size))
        start += size
    return out


class ShardTask(NamedTuple):
    """What a worker runs (:func:`satea.shard_run.run_shard`): the shard's chains of every
    problem, each with its settings (the run's, its chain range, its time limit)."""

    shard: Shard
    settings: tuple[RunSettings, ...]   # one per problem
    backend: str           # as asked: "auto" is decided on the worker (cuda on a GPU)
    front: bool = False    # send back the shard's non-dominated points (pareto)
    stop_key: str | None = None   # the run's key for a stop request (a cluster's run)


class ShardFront(NamedTuple):
    """A pareto shard's non-dominated feasible candidates, with how many distinct chain
    bests it re-scored and how many of them were feasible."""

    candidates: list   # satea.pareto.Candidate
    distinct: int
    feasible: int


class ShardOutcome(NamedTuple):
    """What a shard sends back: its results (one per problem, without the problem), the
    worker it ran on ("local" in this process) and, for pareto, its front."""

    results: list[AnnealResult]
    worker: str
    front: ShardFront | None = None


@dataclass(frozen=True, eq=False)
class RunPlan:
    """A distributed run of one problem, decided on the client before any shard runs: the
    problem, the whole run's settings (resolved once, as :func:`satea.anneal` would for all
    its chains) and the shards."""

    problem: ProblemArrays
    settings: RunSettings
    shards: tuple[Shard, ...]

    def shard_settings(self, shard: Shard, time_limit: float | None) -> RunSettings:
        """The settings of ``shard``'s chains (:meth:`RunSettings.chain_range`) with the
        shard's ``time_limit``."""
        st = self.settings.chain_range(shard.chain_offset - self.settings.chain_offset,
                                       shard.chains)
        return replace(st, time_limit=time_limit)


def plan_run(problem: ProblemArrays, client, options: RunOptions,
             shards: int | None) -> RunPlan:
    """Check a distributed run's options and resolve its settings once, here: ``shards``
    tasks (default one per worker thread, :func:`default_shards`) of independent chains,
    ``options.chains`` in all (default the backend's default chains per shard). "auto" is
    decided on each worker, so defaults are sized as for the numba backend (numpy keeps
    its own default sweeps)."""
    from .backends import backend_class
    from .settings import default_chains_sweeps, resolve
    n_shards = default_shards(client) if shards is None else positive_int("shards", shards)
    be = options.backend
    sized_as = "numpy" if be == "numpy" else "numba"
    chains = options.chains
    if chains is None:
        cls = backend_class("numba" if be == "auto" else be)
        chains = default_chains_sweeps(cls, problem.n_jobs)[0] * n_shards
    chains = positive_int("chains", chains)
    if options.strategy not in ("auto", "independent"):   # a shard's chains would meet only
        raise ValueError(f"strategy: satea.distributed runs independent chains; "   # its own
                         f"{options.strategy!r} runs in one process (satea.anneal)")
    for name in ("rungs", "exchange_sweeps"):
        if getattr(options, name) is not None:
            raise ValueError(f"{name}: satea.distributed runs independent chains")
    st = resolve([problem], replace(options, backend=sized_as, chains=chains,
                                    strategy="independent"))[0]
    plan = plan_shards(chains, n_shards, st.seed, st.chain_offset)
    return RunPlan(problem, st, tuple(plan))
