"""The float64 evaluator of the model: the truth every backend is checked against.

It is written for clarity, one server at a time and one job at a time in dispatch order,
and shares no code with the annealing kernels, so that agreement between the two means
something.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .compile import PEN_EXP, PEN_LINEAR, PEN_STEP, ProblemArrays, as_problem
from .model import EXP_CAP, JOULES_PER_KWH, Fleet
from .validate import as_real_array, show_value

#: W * (g/kWh) * s divided by this is kg CO2e (J per kWh, then g per kg)
GRAMS_PER_KWH = JOULES_PER_KWH * 1000.0


def price_integral(problem: ProblemArrays, s: int, a: float, b: float) -> float:
    """Integral of server ``s``'s electricity price over ``[a, b]`` in (currency/kWh) * s
    (without carbon: the search's merged price is ``problem.curve_id``/``price_const``)."""
    c = int(problem.energy_curve[s])
    if c < 0:
        return float(problem.energy_const[s]) * (b - a)
    return _curve_cumulative(problem, c, b) - _curve_cumulative(problem, c, a)


def carbon_integral(problem: ProblemArrays, s: int, a: float, b: float) -> float:
    """Integral of server ``s``'s carbon intensity over ``[a, b]`` in (g/kWh) * s."""
    c = int(problem.carbon_curve[s])
    if c < 0:
        return float(problem.carbon_const[s]) * (b - a)
    return _curve_cumulative(problem, c, b) - _curve_cumulative(problem, c, a)


def _curve_cumulative(problem: ProblemArrays, c: int, t: float) -> float:
    start, n = int(problem.curve_start[c]), int(problem.curve_len[c])
    step = float(problem.curve_step[c])
    vals = problem.curve_vals[start:start + n]
    cum = problem.curve_cum[start + c:start + c + n + 1]
    period = step * n
    # a non-repeating curve (a market series) holds its last value after its last step
    cycles = math.floor(t / period) if problem.curve_repeat[c] else 0
    r = t - cycles * period
    # where t's rounding exceeds a step, the cycle count can overshoot: r < 0 (clamped, as
    # kernels.moves.curve_cumulative does)
    i = max(min(int(r / step), n - 1), 0)
    return cycles * float(cum[n]) + float(cum[i]) + float(vals[i]) * (r - i * step)


def job_penalty(kind: int, weight: float, scale: float, lateness: float) -> float:
    """Penalty of one job from its lateness ``T >= 0`` (docs/model.md)."""
    if lateness <= 0.0:
        return 0.0
    if kind == PEN_STEP:
        return weight
    if kind == PEN_LINEAR:
        return weight * (lateness / scale)
    if kind == PEN_EXP:
        return weight * (math.exp(min(lateness / scale, EXP_CAP)) - 1.0)
    return 0.0


@dataclass
class Evaluation:
    """Objective, breakdown and schedule of one assignment.

    ``objective`` is in the caller's sense (a maximised assignment problem reports its
    total profit); ``search_objective`` is the minimised internal value. Per-job arrays are
    in the caller's job order; ``start`` and ``completion`` are NaN for no job: every job
    is placed.
    """

    objective: float
    search_objective: float
    energy_cost: float
    penalty: float
    assignment_cost: float
    feasible: bool
    violation: float          # sum over servers of max(0, busy - capacity)
    allowed: bool             # every job on a server that can run it
    x: np.ndarray             # caller's order
    start: np.ndarray
    completion: np.ndarray
    lateness: np.ndarray
    job_penalty: np.ndarray
    job_energy_cost: np.ndarray   # dynamic energy cost of the job
    server_busy: np.ndarray
    server_on: np.ndarray         # first start (NaN: unused)
    server_off: np.ndarray        # latest completion (NaN: unused)
    server_energy_cost: np.ndarray  # idle + dynamic
    #: per job (caller's order), the indices of the node's GPUs it ran on (the Gantt's
    #: lanes): the ``k`` GPUs that freed up first, lower index first among equal times
    gpu_lanes: list | None = None
    #: the holds evaluated, seconds per job in the problem's INTERNAL (dispatch) order, as
    #: :func:`evaluate` took them; None: every job held 0 (docs/model.md, part 3)
    holds: np.ndarray | None = None
    #: carbon (docs/model.md, part 2): kg CO2e emitted, its cost at the instance's carbon
    #: price (in the objective), each server's kg (idle + dynamic), each job's (dynamic)
    carbon_kg: float = 0.0
    carbon_cost: float = 0.0
    server_carbon_kg: np.ndarray | None = None
    job_carbon_kg: np.ndarray | None = None   # dynamic carbon of each job
    has_carbon: bool = False

    def as_dict(self) -> dict:
        out = {"objective": self.objective, "energy_cost": self.energy_cost,
               "penalty": self.penalty, "assignment_cost": self.assignment_cost,
               "feasible": self.feasible, "violation": self.violation}
        if self.has_carbon:
            out.update(carbon_kg=self.carbon_kg, carbon_cost=self.carbon_cost)
        return out


def check_assignment(problem: ProblemArrays, x) -> np.ndarray:
    """Return ``x`` as an int array of shape (n_jobs,), or raise ValueError naming the entry."""
    x = np.asarray(x)
    if x.shape != (problem.n_jobs,):
        raise ValueError(f"assignment: expected shape ({problem.n_jobs},), got {x.shape}")
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"assignment: expected integer server indices, got dtype {x.dtype}")
    bad = np.flatnonzero((x < 0) | (x >= problem.n_servers))
    if bad.size:
        j = int(bad[0])
        raise ValueError(f"assignment: job {problem.job_names[j]!r} has server index {int(x[j])}, "
                         f"expected 0..{problem.n_servers - 1}")
    return x.astype(np.int64)


#: a hold may exceed its job's ``hold_max`` by this share of ``max(1 s, hold_max)``
#: (a hold a backend computed as a step boundary minus the release may round past it)
HOLD_TOLERANCE = 1e-9


def bad_holds(problem: ProblemArrays, h: np.ndarray) -> np.ndarray:
    """Per job (internal order): whether hold ``h`` is not finite, below 0 or above the
    job's ``hold_max`` by more than :data:`HOLD_TOLERANCE`."""
    hmax = problem.hold_max
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(h) | (h < 0) | (h > hmax + HOLD_TOLERANCE * np.maximum(hmax, 1.0))


def check_holds(problem: ProblemArrays, holds) -> np.ndarray | None:
    """Return ``holds`` (seconds per job, internal order) as float64, or None for None.

    Raises
    ------
    ValueError
        Wrong shape, a value that is not finite, below 0 or above the job's ``hold_max``
        (by more than :data:`HOLD_TOLERANCE`), naming the job's internal index and name.
    """
    if holds is None:
        return None
    h = as_real_array(holds, "holds")
    if h.shape != (problem.n_jobs,):
        raise ValueError(f"holds: expected shape ({problem.n_jobs},), got {h.shape}")
    hmax = problem.hold_max
    bad = bad_holds(problem, h)
    if bad.any():
        i = int(np.argmax(bad))
        name = problem.job_names[int(problem.order[i])] if problem.job_names else str(i)
        raise ValueError(f"holds[{i}] (job {name!r}): expected a finite hold in "
                         f"[0, {float(hmax[i]):g}] s (the job's hold_max), got {show_value(h[i])}")
    return h


def evaluate(problem: ProblemArrays | Fleet, x, holds=None) -> Evaluation:
    """Evaluate assignment ``x`` (server index per job, the caller's job order) with
    ``holds`` in float64.

    Parameters
    ----------
    problem : ProblemArrays or Fleet
    x : array_like of int, shape (n_jobs,)
        Server of each job, the caller's job order.
    holds : array_like of float, shape (n_jobs,), optional
        Seconds each job is held after its release, in the problem's INTERNAL (dispatch)
        order, each in ``[0, hold_max]`` (:func:`check_holds`); None: all 0. A held job
        starts no earlier than ``release + hold`` (docs/model.md, part 3).

    Notes
    -----
    Time O(N log N + S), one pass over the jobs in dispatch order (O(N G) on nodes of G
    GPUs). A node's jobs run in the dispatch order without overtaking: a job starts at
    ``max(release, previous start on the node, k-th smallest GPU free time)`` and takes
    the ``k`` GPUs that freed up first; the node is on from its first start to its
    latest completion (docs/model.md, part 2). With one GPU this is part 1's
    ``start = max(release, previous completion)``. Holds replace ``release`` by
    ``release + hold``; with holds None or all 0 every figure is bit for bit the same.
    """
    problem = as_problem(problem)
    h = check_holds(problem, holds)
    if problem.multi_gpu:
        return _evaluate_nodes(problem, x, h)
    x = check_assignment(problem, x)
    n, m = problem.n_jobs, problem.n_servers
    xi = x[problem.order]                    # internal (dispatch) order
    # stable sort by server keeps dispatch order inside each server
    seq = np.argsort(xi, kind="stable")
    lam = problem.lam

    start = np.full(n, np.nan)
    comp = np.full(n, np.nan)
    late = np.zeros(n)
    pen = np.zeros(n)
    jen = np.zeros(n)
    busy = np.zeros(m)
    on = np.full(m, np.nan)
    off = np.full(m, np.nan)
    sen = np.zeros(m)
    scar, jcar = np.zeros(m), np.zeros(n)   # kg CO2e per server, per job (dynamic)
    carbon = _any_carbon(problem)
    fixed_total = 0.0
    allowed_all = True

    jc, work, rel, due = (problem.job_class.tolist(), problem.work.tolist(),
                          _earliest(problem, h).tolist(), problem.due.tolist())
    pk, pw, ps = problem.pen_kind.tolist(), problem.pen_weight.tolist(), problem.pen_scale.tolist()
    sc, idle = problem.server_class.tolist(), problem.idle_w.tolist()
    ws, tp = problem.work_scale, problem.throughput
    dw, fc, al = problem.dyn_w, problem.fixed_cost, problem.allowed
    xl = xi.tolist()

    prev_s = -1
    t = 0.0
    for j in seq.tolist():
        s = xl[j]
        if s != prev_s:
            if prev_s >= 0:
                off[prev_s] = t
            prev_s, t = s, 0.0
        k, g = jc[j], sc[s]
        if not al[k, g]:
            allowed_all = False
        p = work[j] * float(ws[k, g]) / float(tp[k, g])  # work / throughput for fleets
        st = max(rel[j], t)
        c = st + p
        if math.isnan(on[s]):
            on[s] = st
        busy[s] += p
        e = float(dw[k, g]) * price_integral(problem, s, st, c) / JOULES_PER_KWH
        jen[j] = e
        sen[s] += e
        if carbon:
            jcar[j] = float(dw[k, g]) * carbon_integral(problem, s, st, c) / GRAMS_PER_KWH
            scar[s] += jcar[j]
        fixed_total += float(fc[k, g])
        T = max(0.0, c - due[j])
        late[j] = T
        pen[j] = job_penalty(pk[j], pw[j], ps[j], T)
        start[j], comp[j] = st, c
        t = c
    if prev_s >= 0:
        off[prev_s] = t
    for s in np.flatnonzero(~np.isnan(on)).tolist():
        sen[s] += idle[s] * price_integral(problem, s, on[s], off[s]) / JOULES_PER_KWH
        if carbon:
            scar[s] += idle[s] * carbon_integral(problem, s, on[s], off[s]) / GRAMS_PER_KWH

    return _evaluation(problem, x, lam, fixed_total, allowed_all, start, comp, late, pen, jen,
                       busy, on, off, sen, [(0,)] * n, h, scar, jcar)


def _earliest(problem: ProblemArrays, h: np.ndarray | None) -> np.ndarray:
    """Earliest start of each job (internal order): its release plus its hold."""
    return problem.release if h is None else problem.release + h


def _any_carbon(problem: ProblemArrays) -> bool:
    return bool((problem.carbon_curve >= 0).any() or (problem.carbon_const != 0).any())


def _evaluation(problem: ProblemArrays, x, lam, fixed_total, allowed_all, start, comp, late,
                pen, jen, busy, on, off, sen, lanes, holds, scar, jcar) -> Evaluation:
    """The :class:`Evaluation` of per-job (internal order) and per-server arrays: totals in
    float64, per-job arrays and ``lanes`` back in the caller's order."""
    energy = float(sen.sum())
    penalty = float(pen.sum())
    carbon_kg = float(scar.sum())
    carbon_cost = problem.carbon_price * carbon_kg
    violation = float(np.maximum(busy - problem.capacity, 0.0).sum())
    search = energy + carbon_cost + lam * penalty + fixed_total
    back = problem.to_caller
    caller_lanes: list = [()] * len(lanes)
    for j, lane in enumerate(lanes):
        caller_lanes[int(problem.order[j])] = lane
    return Evaluation(
        objective=problem.sense * search, search_objective=search,
        energy_cost=energy, penalty=penalty, assignment_cost=problem.sense * fixed_total,
        feasible=bool(allowed_all and problem.within_capacity(busy).all()), violation=violation,
        allowed=allowed_all, x=x, start=back(start), completion=back(comp),
        lateness=back(late), job_penalty=back(pen), job_energy_cost=back(jen),
        server_busy=busy, server_on=on, server_off=off, server_energy_cost=sen,
        gpu_lanes=caller_lanes, holds=holds, carbon_kg=carbon_kg, carbon_cost=carbon_cost,
        server_carbon_kg=scar, job_carbon_kg=back(jcar),
        has_carbon=bool(problem.has_carbon or _any_carbon(problem)),
    )


def _evaluate_nodes(problem: ProblemArrays, x, h: np.ndarray | None) -> Evaluation:
    """:func:`evaluate` on a fleet with multi-GPU nodes: each node keeps the free time of
    every GPU, walked in dispatch order (written apart from the one-GPU loop above so
    that part-1 figures stay exactly as they were)."""
    x = check_assignment(problem, x)
    n, m = problem.n_jobs, problem.n_servers
    xi = x[problem.order]
    lam = problem.lam
    start, comp = np.full(n, np.nan), np.full(n, np.nan)
    late, pen, jen = np.zeros(n), np.zeros(n), np.zeros(n)
    busy, sen, scar = np.zeros(m), np.zeros(m), np.zeros(m)
    jcar = np.zeros(n)
    carbon = _any_carbon(problem)
    on, off = np.full(m, np.nan), np.full(m, np.nan)
    lanes: list = [()] * n
    fixed_total = 0.0
    allowed_all = True
    n_gpus = problem.server_gpus.tolist()
    free = [[0.0] * g for g in n_gpus]          # per node, per GPU: when it frees up
    prev_start = [0.0] * m
    earliest = _earliest(problem, h)
    for j in range(n):                           # dispatch order, every node at once
        s = int(xi[j])
        k, g = int(problem.job_class[j]), int(problem.server_class[s])
        need = int(problem.job_gpus[j])
        if not problem.allowed[k, g]:
            allowed_all = False
        p = (float(problem.work[j]) * float(problem.work_scale[k, g])
             / float(problem.throughput[k, g]))
        f = free[s]
        # the GPUs that free up first, lower index first among ties (a job that asks
        # for more GPUs than the node has is not allowed; it takes them all)
        take = sorted(range(len(f)), key=lambda i: (f[i], i))[:need]
        kth = f[take[-1]]
        st = max(float(earliest[j]), prev_start[s], kth)
        c = st + p
        for i in take:
            f[i] = c
        prev_start[s] = st
        lanes[j] = tuple(sorted(take))
        if math.isnan(on[s]):
            on[s] = st
        off[s] = c if math.isnan(off[s]) else max(off[s], c)
        busy[s] += need * p
        e = float(problem.dyn_w[k, g]) * price_integral(problem, s, st, c) / JOULES_PER_KWH
        jen[j] = e
        sen[s] += e
        if carbon:
            jcar[j] = (float(problem.dyn_w[k, g]) * carbon_integral(problem, s, st, c)
                       / GRAMS_PER_KWH)
            scar[s] += jcar[j]
        fixed_total += float(problem.fixed_cost[k, g])
        T = max(0.0, c - float(problem.due[j]))
        late[j] = T
        pen[j] = job_penalty(int(problem.pen_kind[j]), float(problem.pen_weight[j]),
                             float(problem.pen_scale[j]), T)
        start[j], comp[j] = st, c
    for s in np.flatnonzero(~np.isnan(on)).tolist():
        sen[s] += (float(problem.idle_w[s]) * price_integral(problem, s, on[s], off[s])
                   / JOULES_PER_KWH)
        if carbon:
            scar[s] += (float(problem.idle_w[s]) * carbon_integral(problem, s, on[s], off[s])
                        / GRAMS_PER_KWH)
    return _evaluation(problem, x, lam, fixed_total, allowed_all, start, comp, late, pen, jen,
                       busy, on, off, sen, lanes, h, scar, jcar)
