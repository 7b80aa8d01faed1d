"""The kernel contract, named once: problem fields, chain-state fields, per-chain scalar
slots, penalty kinds and constants.

Kernels (:mod:`.moves`, :mod:`.cpu`, :mod:`.cuda`), the backends, the schedules and the
tests import these names; nothing else spells a slot number.

* ``P``: the problem as a tuple of arrays, one per field of :data:`PROBLEM_FIELDS`
  (:func:`problem_tuple`). The first 25 are :class:`satea.compile.ProblemArrays` fields;
  the derived ones are per-job tables that spare a walked job any division or class
  lookup: ``proc[g, j]`` (processing time on a server of class ``g``), ``dynw[g, j]``
  (dynamic power), and ``walks[s]`` (1 where server ``s`` has schedule terms); for the
  price curves, the reciprocals of each curve's step and period (a walked job's integral
  multiplies, not divides) and ``release_cum[c, j]``, curve ``c``'s integral up to job
  ``j``'s release (a job that waits for its release reads its start's integral);
  ``hold_max[j]``, the longest job ``j`` may be held (docs/model.md, part 3), empty when
  no job may be held (the kernels then never read a hold).
* ``S``: one chain state as a tuple of flat arrays, one per field of :data:`STATE_FIELDS`
  (:func:`state_sizes` says how long each is). Element ``i`` of chain ``c``'s length-``L``
  part sits at ``moves.ix(c, i, L, nc, cm)``.
"""
import numpy as np

# absolute: kernels/ is installed as satea.kernels, and type-checked from the source tree
from satea.model import EXP_CAP, JOULES_PER_KWH  # noqa: F401  (re-exported for the kernels)

# ---- penalty kinds (satea.model.PENALTY_KINDS order) ------------------------------------
PEN_NONE, PEN_STEP, PEN_LINEAR, PEN_EXP = 0, 1, 2, 3

# ---- problem tuple ----------------------------------------------------------------------
PROBLEM_FIELDS = (
    "job_class", "work", "release", "due", "pen_kind", "pen_weight", "pen_scale",
    "server_class", "idle_w", "price_const", "curve_id", "capacity",
    "allowed", "work_scale", "throughput", "dyn_w", "fixed_cost",
    "curve_start", "curve_len", "curve_step", "curve_vals", "curve_cum",
    "class_ptr", "servers_by_class", "allowed_cum", "job_gpus", "server_gpus",
    # derived (problem_tuple)
    "proc", "dynw", "walks", "curve_inv_step", "curve_inv_period", "release_cum",
    "hold_max",
)
(JOB_CLASS, WORK, RELEASE, DUE, PEN_KIND, PEN_WEIGHT, PEN_SCALE,
 SERVER_CLASS, IDLE_W, PRICE_CONST, CURVE_ID, CAPACITY,
 ALLOWED, WORK_SCALE, THROUGHPUT, DYN_W, FIXED_COST,
 CURVE_START, CURVE_LEN, CURVE_STEP, CURVE_VALS, CURVE_CUM,
 CLASS_PTR, SERVERS_BY_CLASS, ALLOWED_CUM, JOB_GPUS, SERVER_GPUS,
 PROC, DYNW, WALKS, CURVE_INV_STEP, CURVE_INV_PERIOD, RELEASE_CUM,
 HOLD_MAX) = range(len(PROBLEM_FIELDS))
#: the two-dimensional fields (class tables ``[k, g]``, per-job tables ``[g, j]``); the
#: rest are one-dimensional
PROBLEM_2D = frozenset(("allowed", "work_scale", "throughput", "dyn_w", "fixed_cost",
                        "allowed_cum", "proc", "dynw", "release_cum"))

# ---- chain state tuple --------------------------------------------------------------------
#: (name, length kind, dtype, initial value). Length kinds: "job" (N), "server" (S),
#: "list_job" / "list_server" (N / S when some server walks, else a 1-word stub that no
#: code reads: a problem without schedule terms keeps no lists), "cache_job" (N on the CPU
#: when some server walks, else a stub: the GPU re-computes instead of caching), "rng"
#: (:data:`RNG_STRIDE` on the CPU, 2 on the GPU), "scalar" (:data:`N_CHAIN_F`);
#: for multi-GPU nodes (docs/model.md, part 2) "node_job" / "node_server" (N / S on the
#: CPU when some walking server has several GPUs, else a stub), "node_ckpt" (N x G on the
#: CPU then, G the largest node's GPUs: each job's checkpoint of its node's free times)
#: and "gpu_scratch" (G when some walking server has several, else a stub): a walk's
#: free times; "hold_job" (N when some job may be held, else a stub: docs/model.md, part
#: 3). A part-1 problem's state is as before.
STATE_SPEC = (
    ("x", "job", np.int32, 0),               # server of each job
    ("best_x", "job", np.int32, 0),          # the chain's best assignment
    ("nxt", "list_job", np.int32, -1),       # next job on the same server (dispatch order)
    ("prv", "list_job", np.int32, -1),       # previous job on the same server
    ("comp", "cache_job", np.float64, 0.0),   # completion time of each job
    ("jcost", "cache_job", np.float64, 0.0),  # schedule cost of each job (see moves)
    ("head", "list_server", np.int32, -1),   # first job of each server
    ("tail", "list_server", np.int32, -1),   # last job of each server
    ("srv_cost", "server", np.float64, 0.0),  # search cost of each server
    ("srv_busy", "server", np.float64, 0.0),  # busy time of each server
    ("rng", "rng", np.uint64, 0),            # xoroshiro128+ words
    ("chain_f", "scalar", np.float64, 0.0),  # per-chain scalars, slots F_*
    ("jstart", "node_job", np.float64, 0.0),  # start of each job on a multi-GPU node
    ("ckpt", "node_ckpt", np.float64, 0.0),   # its node's free times just after it started
    ("node_off", "node_server", np.float64, 0.0),  # latest completion on each node
    ("free", "gpu_scratch", np.float64, 0.0),  # a walk's GPU free times
    ("hold", "hold_job", np.float64, 0.0),    # each job's hold (start >= release + hold)
    ("best_hold", "hold_job", np.float64, 0.0),  # the holds of the chain's best
)
STATE_FIELDS = tuple(f[0] for f in STATE_SPEC)
(X, BEST_X, NXT, PRV, COMP, JCOST, HEAD, TAIL, SRV_COST, SRV_BUSY, RNG,
 CHAIN_F, JSTART, CKPT, NODE_OFF, FREE, HOLD, BEST_HOLD) = range(len(STATE_FIELDS))

#: per-chain scalars in ``chain_f``: lambda, running cost, running violation, best
#: feasible cost (+inf: none yet), best infeasible search objective, accepted moves,
#: temperature scale (inverse temperature at sweep s is ``betas[s] / scale``), the
#: probability that a move changes a hold (0 when no job may be held)
(F_LAM, F_COST, F_VIOL, F_BEST_FEASIBLE, F_BEST_ANY, F_ACCEPTED, F_TSCALE,
 F_PHOLD) = range(8)
N_CHAIN_F = 8

#: a server is within its capacity while its busy time exceeds it by at most this times
#: the capacity: busy times are float64 sums whose last bits depend on the order they are
#: added in (the evaluator's dispatch order, the search's running sums), so a tie is not
#: left to rounding (docs/model.md, "Capacity and feasibility"). Sums of integers are
#: exact, and an overload of 1 unit counts below capacities of 1e12.
CAPACITY_RTOL = 1e-12

#: per-chain length of the ``rng`` array in the CPU's chain-major layout: the generator's
#: two words, then padding to 128 bytes. Every draw writes them (four a move): packed, two
#: to four chains of different threads shared a cache line, which then moved between the
#: cores on every draw (measured in benchmarks/README.md, "each CPU chain's generator
#: words on their own cache lines"). 128 bytes also keeps them off an adjacent-line
#: prefetch pair.
#: The GPU interleaves chains (neighbouring threads read neighbouring words) and keeps 2.
RNG_STRIDE = 16

#: every this many sweeps (global sweep count) a chain rebuilds its cached completions,
#: job costs and server totals from its lists, so rounding of the incremental updates
#: never accumulates for long (cost O(N + S) per chain, amortised over RESYNC_SWEEPS * N
#: moves)
RESYNC_SWEEPS = 16


def problem_walks(problem) -> np.ndarray:
    """Per server: 1 where its cost depends on the timeline (idle power, a price curve, or
    any job with a penalty), so a move must re-time its jobs; 0 where every term is
    additive (every generic assignment problem)."""
    has_pen = bool(((problem.pen_kind != PEN_NONE) & np.isfinite(problem.due)).any())
    walks = (problem.idle_w > 0) | (problem.curve_id >= 0) | has_pen
    return walks.astype(np.uint8)


def problem_tuple(problem):
    """The arrays the kernels take, in :data:`PROBLEM_FIELDS` order, contiguous.

    The derived per-job tables cost ``16 * n_jobs * n_server_classes + 8 * n_jobs *
    max(1, n_curves)`` bytes.
    """
    base = [np.ascontiguousarray(getattr(problem, f)) for f in PROBLEM_FIELDS[:PROC]]
    k = problem.job_class[:, None]
    g = np.arange(problem.n_server_classes)[None, :]
    # the same operations, in the same order, as the float64 evaluator's p = w * scale / tp
    proc = problem.work[:, None] * problem.work_scale[k, g] / problem.throughput[k, g]
    dynw = problem.dyn_w[k, g]
    step = np.asarray(problem.curve_step, np.float64)
    n_curves = step.shape[0]
    release_cum = np.zeros((max(1, n_curves), problem.n_jobs))
    for c in range(n_curves):
        release_cum[c] = curve_cumulative_np(problem, c, problem.release)
    # a non-repeating curve (a market series) gets a period reciprocal of 0: the kernels'
    # curve_cumulative then never counts a cycle, and the index clamped to the last step
    # holds the last price on (no branch and no extra field in the kernels)
    inv_period = np.where(problem.curve_repeat != 0, 1.0 / (step * problem.curve_len), 0.0)
    # server class major: a walk reads one class's row at increasing job indices
    hold_max = np.asarray(problem.hold_max, np.float64)
    if not (hold_max > 0.0).any():
        hold_max = np.zeros(0)
    return tuple(base) + (np.ascontiguousarray(proc.T, np.float64),
                          np.ascontiguousarray(dynw.T, np.float64),
                          problem_walks(problem), 1.0 / step,
                          np.ascontiguousarray(inv_period, np.float64), release_cum,
                          np.ascontiguousarray(hold_max))


def curve_cumulative_np(problem, cid, t: np.ndarray) -> np.ndarray:
    """Integral of price curve ``cid`` over [0, t] (elementwise; ``cid`` one curve or an
    array of curves broadcast with ``t``), computed as :func:`.moves.curve_cumulative`
    computes it: the one vectorised form (the NumPy reference uses it too). A
    non-repeating curve counts no cycle: its last price holds after its last step."""
    cid = np.asarray(cid)
    start = problem.curve_start[cid].astype(np.int64)
    n = problem.curve_len[cid].astype(np.int64)
    step = problem.curve_step[cid].astype(np.float64)
    period = step * n
    t = np.asarray(t, np.float64)
    inv_period = np.where(problem.curve_repeat[cid] != 0, 1.0 / period, 0.0)
    cycles = np.where((t >= 0.0) & (t < period), 0.0, np.floor(t * inv_period))
    r = t - cycles * period
    i = np.clip((r * (1.0 / step)).astype(np.int64), 0, n - 1)   # see moves.curve_cumulative
    return (cycles * problem.curve_cum[start + cid + n] + problem.curve_cum[start + cid + i]
            + problem.curve_vals[start + i] * (r - i * step))


def has_holds(P) -> bool:
    """Whether some job of the problem tuple may be held (chains then keep holds)."""
    return P[HOLD_MAX].shape[0] > 0


def has_lists(P) -> bool:
    """Whether any server of the problem tuple walks (chains then keep job lists)."""
    return bool(np.asarray(P[WALKS]).any())


def node_gpus(P) -> int:
    """GPUs of the largest walking node of the problem tuple when it has more than one
    (chains then keep the node caches and scratch), else 1."""
    return max_walking_gpus(P[WALKS], P[SERVER_GPUS])


def max_walking_gpus(walks, server_gpus) -> int:
    """The most GPUs of a server with schedule terms (``walks``), at least 1."""
    walks = np.asarray(walks) != 0
    return max(1, int(np.asarray(server_gpus)[walks].max())) if walks.any() else 1


#: the chain view flags each kernel family is compiled with (:data:`.moves.Chain`):
#: (chain-major layout, walk caches kept); kernels/cpu.py and kernels/cuda.py take theirs
#: from here, and the backends size the state by the same pair
CPU_FLAGS = (True, True)
GPU_FLAGS = (False, False)


def state_sizes(n_jobs: int, n_servers: int, lists: bool, flags: tuple = CPU_FLAGS,
                max_gpus: int = 1, holds: bool = False) -> tuple:
    """Length per chain of each :data:`STATE_FIELDS` array for kernels compiled with
    ``flags`` (:data:`CPU_FLAGS` or :data:`GPU_FLAGS`; ``max_gpus``: :func:`node_gpus`;
    ``holds``: :func:`has_holds`)."""
    chain_major, caches = flags
    nodes = lists and max_gpus > 1
    per = {"job": n_jobs, "server": n_servers, "list_job": n_jobs if lists else 1,
           "list_server": n_servers if lists else 1,
           "cache_job": n_jobs if lists and caches else 1,
           "rng": RNG_STRIDE if chain_major else 2, "scalar": N_CHAIN_F,
           "node_job": n_jobs if nodes and caches else 1,
           "node_server": n_servers if nodes and caches else 1,
           "gpu_scratch": max_gpus if nodes else 1,
           "node_ckpt": n_jobs * max_gpus if nodes and caches else 1,
           "hold_job": n_jobs if holds else 1}
    return tuple(per[kind] for _name, kind, _dt, _v in STATE_SPEC)


def state_bytes_per_chain(n_jobs: int, n_servers: int, lists: bool,
                          flags: tuple = CPU_FLAGS, max_gpus: int = 1,
                          holds: bool = False) -> int:
    """Bytes of one chain's state. One-GPU servers: 32 N + 24 S + 240 on the CPU with
    lists, 16 N + 24 S + 144 on the GPU with lists, 8 N + 16 S + 272 (CPU) or 160 (GPU)
    without lists. Nodes of up to G GPUs add (8 G + 8) N + 8 S + 8 G - 32 on the CPU
    (the checkpoints: 8 G a job), 8 G - 8 on the GPU: never jobs x servers."""
    return sum(n * np.dtype(dt).itemsize for n, (_f, _k, dt, _v)
               in zip(state_sizes(n_jobs, n_servers, lists, flags, max_gpus, holds),
                               STATE_SPEC))
