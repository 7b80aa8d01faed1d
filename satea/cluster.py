"""Dask clusters for :mod:`satea.distributed`: the lazy Dask import, connecting to a
scheduler or a LocalCluster, the default shard count, and what workers report."""
from __future__ import annotations

import asyncio
import contextlib

from .settings import positive_int as _positive_int

INSTALL_HINT = "pip install 'satea[distributed]'  (installs dask[distributed])"


def require_dask():
    """Import and return ``distributed``, or raise ImportError telling how to install it."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as e:
        raise ImportError(f"satea.distributed needs Dask's distributed scheduler, which is not "
                          f"installed ({e}). Install it with: {INSTALL_HINT}") from e
    return distributed


def default_shards(client) -> int:
    """One shard per worker thread of the cluster (``sum(client.nthreads().values())``)."""
    if client is None:
        return 1
    n = sum(client.nthreads().values())
    if n < 1:
        raise RuntimeError("the Dask cluster has no workers yet (client.wait_for_workers(n) "
                           "waits for them)")
    return n


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
