"""Running shards for :mod:`satea.distributed`: the task a worker runs and the loop that
runs every shard on a cluster or in this process, and stops them on Ctrl-C."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from typing import NamedTuple, cast

import numpy as np

from .cluster import require_dask
from .compile import ProblemArrays
from .shards import Shard, ShardFront, ShardOutcome, ShardTask

#: seconds a Ctrl-C waits for the running shards to stop after their current block of
#: sweeps and send back what they found (a second Ctrl-C stops waiting)
STOP_WAIT_SECONDS = 30.0

#: stop keys asked of this process (a worker's) by :func:`request_stop`
STOP_REQUESTS: set[str] = set()


class ShardError(RuntimeError):
    """A shard failed; ``shard`` is its :class:`Shard`, ``__cause__`` the original error."""

    def __init__(self, message: str, shard: Shard):
        super().__init__(message)
        self.shard = shard


class ShardsRun(NamedTuple):
    """What :func:`run_shards` got: the outcomes of the shards that returned, in shard
    order, with their shards, and whether a Ctrl-C stopped the run."""

    outcomes: list[ShardOutcome]
    shards: list[Shard]
    interrupted: bool


def worker_address() -> str:
    """The Dask worker this runs on, "local" outside one."""
    # a Dask worker has imported distributed; a shard run here must not pay for importing
    # it out of the shards' shared time limit
    if "distributed" not in sys.modules:
        return "local"
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def request_stop(key: str) -> None:
    """Ask the shards of the run ``key`` in this process to stop after their current block
    (run on every worker by the client on Ctrl-C)."""
    STOP_REQUESTS.add(key)


def shield_from_terminal_interrupt(pgid: int, host: str) -> bool:
    """Ignore SIGINT in this worker process when it shares the client's terminal (same host
    and process group, as a LocalCluster's workers do): a Ctrl-C there reaches every
    process of the group, and would kill the workers with their shards' progress. The
    client asks them to stop instead (:func:`request_stop`). True when it did."""
    import signal
    import threading
    if (os.getpgrp() != pgid or socket.gethostname() != host
            or threading.current_thread() is not threading.main_thread()):
        return False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return True


def _stop_asked(key: str) -> Callable:
    def callback(progress) -> bool:
        if key not in STOP_REQUESTS:
            return False
        if progress.phase == "search":
            raise KeyboardInterrupt   # anneal ends the search as on a Ctrl-C ("interrupt")
        return True                   # during setup: start no search
    return callback


def run_shard(problems: list, task: ShardTask) -> ShardOutcome:
    """One task: the shard's chains of every problem, in one :func:`satea.anneal_batch`
    (one problem: exactly :func:`satea.anneal`), with the settings the client resolved
    and the backend decided here. With ``task.front`` (one problem) the chains' best
    assignments are re-scored in float64 with their own lambdas and only the shard's
    non-dominated feasible ones are sent back; the result then keeps only its best
    chain's sample. The problems are not sent back (the client has them)."""
    from . import annealing   # looked up at call time: tests replace anneal_batch
    from .backends import resolve as resolve_backend
    from .pareto import chain_candidates, front_filter
    cls = resolve_backend(task.backend)
    sts = []
    for p, st in zip(problems, task.settings):
        cls.check_capacity(p, st.chains)
        sts.append(dataclasses.replace(st, backend=cls.name))
    callback = None if task.stop_key is None else _stop_asked(task.stop_key)
    rs = annealing.anneal_batch(problems, settings=sts, callback=callback)
    front = None
    if task.front:
        r, st = rs[0], sts[0]
        cands, distinct = chain_candidates(problems[0], np.asarray(r.samples), st.lam,
                                           r.chain_best, st.chain_offset, r.sample_holds)
        front = ShardFront(front_filter(cands), distinct, len(cands))
        rs = [dataclasses.replace(r, samples=r.x[None, :].astype(r.samples.dtype),
                                  sample_holds=None if r.holds is None else r.holds[None, :])]
    bare = cast(ProblemArrays, None)
    return ShardOutcome([dataclasses.replace(r, problem=bare) for r in rs], worker_address(),
                        front)


def run_shards(problems: list, client, shards: list[Shard],
               task_of: Callable[[Shard], ShardTask], *, timeout: float | None = None,
               retries: int = 0) -> ShardsRun:
    """Run every shard (each over every problem) on ``client``'s cluster, or one after
    another in this process (``client=None``; ``task_of`` is then asked just before each
    shard starts, so a shared time limit can be split as the run goes).

    A Ctrl-C ends the run with what the shards found: in this process, the running shard
    ends its search (as :func:`satea.anneal` does) and no further shard starts; on a
    cluster, the running shards are asked to stop after their current block and are waited
    for (:data:`STOP_WAIT_SECONDS`). ``interrupted`` then says so; a Ctrl-C before any
    shard has anything raises KeyboardInterrupt. Raises :class:`ShardError` naming the
    first failed shard (lowest index among those failed so far), TimeoutError after
    ``timeout`` seconds naming the unfinished ones.
    """
    if client is None:
        return _run_here(problems, shards, task_of)
    return _run_on_cluster(problems, client, shards, task_of, timeout, retries)


def _run_here(problems: list, shards: list[Shard], task_of) -> ShardsRun:
    done: list[ShardOutcome] = []
    for s in shards:
        try:
            out = run_shard(problems, task_of(s))
        except KeyboardInterrupt:   # before the shard's search began: it has nothing
            return _interrupted(done, shards)
        except Exception as e:
            raise ShardError(f"{s.label()}: {type(e).__name__}: {e}", s) from e
        done.append(out)
        if any(r.stopped_by == "interrupt" for r in out.results):
            return _interrupted(done, shards)
    return ShardsRun(done, list(shards), False)


def _interrupted(done: list[ShardOutcome], shards: list[Shard]) -> ShardsRun:
    """The shards run here before a Ctrl-C (the first ``len(done)``)."""
    if not done:
        raise KeyboardInterrupt
    return ShardsRun(done, list(shards[:len(done)]), True)


def _run_on_cluster(problems, client, shards, task_of, timeout, retries) -> ShardsRun:
    distributed = require_dask()
    from dask.base import tokenize
    key = f"satea-run-{uuid.uuid4().hex}"
    futures: list = []
    try:
        try:
            client.run(shield_from_terminal_interrupt, os.getpgrp(), socket.gethostname())
        except Exception:   # a worker lost meanwhile: the run goes on without the shield
            pass
        pf = client.scatter(list(problems), broadcast=True, hash=False)   # fresh keys
        for s in shards:
            task = task_of(s)._replace(stop_key=key)
            fkey = f"satea-shard-{tokenize([f.key for f in pf], task)}-{s.index}"
            futures.append(client.submit(run_shard, pf, task, key=fkey, pure=True,
                                         retries=retries))
        _wait_all(distributed, futures, shards, timeout)
        return ShardsRun(client.gather(futures), list(shards), False)
    except KeyboardInterrupt:
        got = _stop_and_gather(distributed, client, futures, key)
        kept = [(s, o) for s, o in zip(shards, got) if o is not None]
        if not kept:
            raise
        return ShardsRun([o for _, o in kept], [s for s, _ in kept], True)
    finally:
        left = [f for f in futures if not f.done()]
        if left:   # an error, a timeout or a second Ctrl-C: stop the shards still running
            client.cancel(left)


def _wait_all(distributed, futures: list, shards: list[Shard], timeout) -> None:
    """Wait for every shard; wake on each finished one, so the first error raises at once."""
    index = {f.key: k for k, f in enumerate(futures)}
    pending = list(futures)
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending:
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


def _stop_and_gather(distributed, client, futures: list, key: str) -> list:
    """After a Ctrl-C: ask the running shards to stop, wait for them, and return every
    shard's outcome (None for those that did not finish)."""
    try:
        client.run(request_stop, key)
        distributed.wait(futures, timeout=STOP_WAIT_SECONDS)
    except (TimeoutError, asyncio.TimeoutError):   # noqa: UP041 (distinct in 3.10)
        pass
    except Exception:  # noqa: BLE001 (a worker lost meanwhile: take what finished)
        pass
    finished = [f for f in futures if f.status == "finished"]
    got = dict(zip([f.key for f in finished], client.gather(finished)))
    return [got.get(f.key) for f in futures]
