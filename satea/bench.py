"""Side-by-side speed measurement of backends (``satea bench``, ``benchmarks/gpu_check.py``).

Every row is measured in this one process, so ratios between rows are meaningful;
absolute figures depend on the machine. ``moves_per_s`` counts attempted moves,
``chains * sweeps * jobs / seconds``, with compile time and chain initialisation excluded.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

BENCH_FORMAT = "satea-bench/1"
DEFAULT_SIZES = ((1000, 100), (10000, 1000))
DEFAULT_CHAINS = {"numpy": 16, "numba": 256, "cuda": 16384}
#: the numpy reference costs O(jobs) per move (a whole sweep at 10,000 x 1,000 takes a
#: minute or so, benchmarks/README.md): next to other backends it is measured only up to
#: this size
NUMPY_MAX_JOBS = 2000


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """"1000x100,10000x1000" -> [(1000, 100), (10000, 1000)]."""
    out = []
    for part in text.split(","):
        try:
            j, s = part.lower().split("x")
            out.append((int(j), int(s)))
        except ValueError:
            raise ValueError(f"sizes: expected JOBSxSERVERS[,JOBSxSERVERS...], "
                             f"got {part!r}") from None
        if out[-1][0] < 1 or out[-1][1] < 1:
            raise ValueError(f"sizes: jobs and servers must be >= 1, got {part!r}")
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} logical cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} logical cores)"


def gpu_name() -> str | None:
    from .backends.numba_cuda import real_gpu
    if not real_gpu():
        return None
    from numba import cuda
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    _free, total = cuda.current_context().get_memory_info()
    cc = dev.compute_capability
    return f"{name} ({total / 2**30:.0f} GiB, cc {cc[0]}.{cc[1]})"


def git_commit() -> str:
    env = os.environ.get("SATEA_COMMIT")
    if env:
        return env
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict:
    import numba
    return {"device": gpu_name() or "cpu only", "cpu": cpu_name(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": git_commit(), "numba": numba.__version__, "numpy": np.__version__,
            "threads": numba.get_num_threads()}


def bench_instance(n_jobs: int, n_servers: int, seed: int = 0, gpus_per_node=1,
                   gang_share: float = 0.0):
    """The generated fleet every benchmark of this size uses (seeded); nodes of
    ``gpus_per_node`` GPUs and ``gang_share`` gang jobs as :func:`satea.generate_fleet`
    draws them (defaults: one-GPU servers, the fleets of earlier figures)."""
    from .compile import compile_fleet
    from .generate import generate_fleet
    return compile_fleet(generate_fleet(n_jobs, n_servers, seed=seed,
                                        gpus_per_node=gpus_per_node, gang_share=gang_share))


def measure(problem, backend: str, chains: int, seconds: float, seed: int = 0,
            schedule=None, max_sweeps: int = 100000) -> dict:
    """One row: run ``backend`` on ``problem`` for about ``seconds`` of search.

    A one-sweep run (its compile and start-up excluded by ``anneal``) is the row when it
    took at least ``seconds / 2``. Otherwise runs of 4x as many sweeps follow until one
    takes a tenth of ``seconds`` (a run's fixed cost, its blocks' Python work, then
    weighs little: sized from one short sweep, a 3 s row ran for 1 s), and that run sizes
    the timed one (the probes take at most about half of ``seconds`` more).
    """
    from .annealing import anneal
    from .settings import resolve_settings
    if schedule is None:
        st = resolve_settings(problem, backend=backend, chains=chains, sweeps=1, seed=seed)
        schedule = (st.schedule.t_hot, st.schedule.t_cold)
    # the move kernels' speed: independent chains (no exchange or resampling between blocks)
    sweeps = 1
    r = anneal(problem, chains=chains, sweeps=sweeps, backend=backend, seed=seed,
               schedule=schedule, strategy="independent")
    while r.seconds < 0.1 * seconds and sweeps < max_sweeps:
        sweeps = min(max_sweeps, 4 * sweeps)
        r = anneal(problem, chains=chains, sweeps=sweeps, backend=backend, seed=seed,
                   schedule=schedule, strategy="independent")
    if r.seconds < 0.5 * seconds and sweeps < max_sweeps:  # time enough sweeps for `seconds`
        sweeps = int(min(max_sweeps, max(1, sweeps * seconds / max(r.seconds, 1e-9))))
        r = anneal(problem, chains=chains, sweeps=sweeps, backend=backend, seed=seed,
                   schedule=schedule, strategy="independent")
    return {"backend": r.backend, "jobs": problem.n_jobs, "servers": problem.n_servers,
            "chains": chains, "sweeps": r.sweeps, "seconds": r.seconds,
            "moves_per_s": r.moves_per_second(), "best_objective": r.fun,
            "feasible": r.feasible, "compile_seconds": r.compile_seconds}


def run_bench(backends, sizes, chains: dict | int | None = None, seconds: float = 3.0,
              seed: int = 0, log=None, numpy_max_jobs: int | None = NUMPY_MAX_JOBS,
              gpus_per_node=1, gang_share: float = 0.0) -> dict:
    """Measure every backend at every size; returns the ``satea bench --json`` document.

    The numpy reference is skipped above ``numpy_max_jobs`` jobs when other backends are
    measured too (one of its sweeps there takes minutes); asked for alone, or with
    ``numpy_max_jobs=None``, it runs at every size. Skipped rows are listed under
    ``skipped`` (and logged).
    """
    backends = list(backends)
    doc = machine_info()
    doc["format"] = BENCH_FORMAT
    if gpus_per_node not in (1, (1,)) or gang_share:
        doc["fleet"] = {"gpus_per_node": gpus_per_node, "gang_share": gang_share}
    rows, skipped = [], []
    cap = numpy_max_jobs if backends != ["numpy"] else None
    for n_jobs, n_servers in sizes:
        problem = None
        for be in backends:
            if be == "numpy" and cap is not None and n_jobs > cap:
                skipped.append({"backend": be, "jobs": n_jobs, "servers": n_servers,
                                "reason": f"numpy reference above {cap} jobs (O(jobs) per "
                                          "move); ask for --backends numpy alone"})
                if log:
                    log(f"{be:>8} {n_jobs:>7} {n_servers:>7}  skipped: {skipped[-1]['reason']}")
                continue
            if problem is None:
                problem = bench_instance(n_jobs, n_servers, seed, gpus_per_node,
                                         gang_share)
            nc = chains if isinstance(chains, int) else (chains or DEFAULT_CHAINS).get(
                be, DEFAULT_CHAINS[be])
            row = measure(problem, be, nc, seconds, seed)
            rows.append(row)
            if log:
                log(format_row(row))
    doc["rows"] = rows
    if skipped:
        doc["skipped"] = skipped
    return doc


def measure_steps(problem, chains: int, steps: int, seed: int = 0) -> dict:
    """Attempted moves per second of the numpy reference over ``steps`` moves per chain
    (a part of one sweep), for sizes where a whole sweep takes minutes.

    One step advances every chain by one attempted move at the cold end of the default
    schedule; chain start-up is excluded. ``moves_per_s`` is ``chains * steps / seconds``.
    """
    from .backends import RunSpec
    from .backends.numpy_ref import NumpyReferenceBackend
    from .settings import resolve_settings
    st = resolve_settings(problem, backend="numpy", chains=chains, sweeps=1, seed=seed)
    spec = RunSpec(chains, seed, np.arange(chains, dtype=np.int64), st.lam, st.p_swap,
                   st.cap_weight, None)
    be = NumpyReferenceBackend()
    be.start(problem, spec)
    beta = float(st.schedule.betas_for(1)[0])
    t0 = time.perf_counter()
    for _ in range(steps):
        be.step(beta)
    seconds = time.perf_counter() - t0
    accepted = float(be.accepted.sum())
    be.close()
    return {"backend": "numpy", "jobs": problem.n_jobs, "servers": problem.n_servers,
            "chains": chains, "steps": steps, "seconds": seconds,
            "moves_per_s": chains * steps / max(seconds, 1e-12),
            "accepted": accepted}


HEADER = f"{'backend':>8} {'jobs':>7} {'servers':>7} {'chains':>6} {'sweeps':>6} " \
         f"{'seconds':>8} {'moves/s':>10} {'best objective':>15}"


def format_row(r: dict) -> str:
    return (f"{r['backend']:>8} {r['jobs']:>7} {r['servers']:>7} {r['chains']:>6} "
            f"{r['sweeps']:>6} {r['seconds']:>8.3f} {r['moves_per_s']:>10.3g} "
            f"{r['best_objective']:>15.6g}")


def format_table(doc: dict) -> str:
    lines = [f"device: {doc['device']}; cpu: {doc['cpu']}; {doc['date']}; "
             f"commit {doc['commit'][:12]}", HEADER]
    lines += [format_row(r) for r in doc["rows"]]
    lines += [f"{r['backend']:>8} {r['jobs']:>7} {r['servers']:>7}  skipped: {r['reason']}"
              for r in doc.get("skipped", [])]
    return "\n".join(lines)


def write_json(doc: dict, path) -> None:
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
