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
seed returns what a local ``anneal(..., strategy="independent")`` of ``C`` chains with that
seed returns, whatever the number of shards or workers (with the ``"converged"`` stop rule each shard stops on its
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

This module is the facade; the parts live in :mod:`satea.shards` (planning),
:mod:`satea.shard_run` (running shards), :mod:`satea.shard_merge` (merging; ``solve``,
``solve_batch``, ``pareto``) and :mod:`satea.cluster` (Dask clusters).
"""
from __future__ import annotations

from .cluster import (cluster_info, connect, default_shards, format_cluster_info,
                      require_dask)
from .dask_sizeof import register_sizeof
from .shard_merge import merge_results, pareto, solve, solve_batch
from .shard_run import ShardError, front_filter
from .shards import Shard, ShardInfo, plan_shards, shared_settings

# names outside __all__ kept importable from here for tests, benchmarks and older callers
from .cluster import INSTALL_HINT, _worker_facts  # noqa: F401
from .shard_merge import _shard_key  # noqa: F401
from .shard_run import _Candidate, _run_all, _run_shard, _shard_front  # noqa: F401
from .shards import _RESERVED, _prepare  # noqa: F401

__all__ = ["Shard", "ShardError", "ShardInfo", "cluster_info", "connect", "default_shards",
           "format_cluster_info", "front_filter", "merge_results", "pareto", "plan_shards",
           "register_sizeof", "require_dask", "shared_settings", "solve", "solve_batch"]
