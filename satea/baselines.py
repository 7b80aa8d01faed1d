"""Constructive baselines the annealer is measured against.

Every baseline returns an assignment in the **caller's job order** (server index per job),
as :func:`satea.anneal` does, and :func:`solve_baseline` wraps any of them (or the exact
MILP of :mod:`satea.milp`) into an :class:`~satea.result.AnnealResult` re-scored in float64,
so ``satea solve --method greedy|list|milp|anneal`` can print and write every method alike.

* :func:`random_feasible`: uniformly random allowed servers, then repaired for capacity
  (overloaded servers hand jobs to allowed servers with room) where possible.
* :func:`greedy_energy`: jobs in dispatch order, each to the allowed server with room that
  adds the least **energy cost** (its dynamic energy plus the idle energy its run adds to
  the server's on-time); ties by the marginal objective, then by server index.
* :func:`greedy_cost`: the same with the marginal **objective** (energy + lambda x its
  penalty + assignment cost): the strongest of the one-pass greedies.
* :func:`greedy_hold`: :func:`greedy_cost` that may also hold each job up to its
  ``hold_max`` (not past its deadline) to start in a cheaper window of a price curve:
  the baseline that waits (docs/model.md, part 3).
* :func:`list_schedule`: earliest-completion list scheduling in dispatch order
  (earliest due first): each job to the allowed server with room where it **completes
  earliest**; ties by the marginal objective, then by server index.

Why one pass is exact per step: jobs are taken in dispatch order, so a job placed on a
server always runs after every job already there. Its start is ``max(release, last
completion)``, it extends the server's on-time from the last completion (or opens it at
its start) and nothing already placed moves. Each step is therefore O(allowed servers) with
O(1) work per server, O(N * S) in all (O(N log N) for the order, already in the compiled
problem), run by one Numba loop: 10,000 jobs x 1,000 servers take well under a second.

"With room" means ``busy + p <= capacity``. When no allowed server has room, the job goes
to the allowed server it overloads least, and the result is infeasible (reported as such).
"""
from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from .compile import ProblemArrays
from .kernels.moves import (
    ALLOWED,
    CAPACITY,
    CLASS_PTR,
    CURVE_ID,
    CURVE_STEP,
    DUE,
    DYN_W,
    FIXED_COST,
    IDLE_W,
    JOB_CLASS,
    JOB_GPUS,
    JOULES_PER_KWH,
    PRICE_CONST,
    RELEASE,
    SERVER_CLASS,
    SERVER_GPUS,
    SERVERS_BY_CLASS,
    THROUGHPUT,
    WORK,
    WORK_SCALE,
    Chain,
    curve_cumulative,
    fs_take,
    job_penalty,
)
from .objective import evaluate

__all__ = ["METHODS", "random_feasible", "greedy_energy", "greedy_cost", "greedy_hold",
           "list_schedule",
           "baseline_assignment", "solve_baseline", "NoAssignment"]


class NoAssignment(RuntimeError):
    """An exact method (``milp``, ``cpsat``) ended without any assignment: the problem is
    infeasible (capacities), or its time limit came before a first solution. The message
    is the solver's one line (the command line prints it and exits 1)."""

#: methods :func:`solve_baseline` knows
METHODS = ("random", "greedy", "greedy-cost", "greedy-hold", "list", "milp", "cpsat")

_MODE_ENERGY, _MODE_COST, _MODE_LIST, _MODE_HOLD = 0, 1, 2, 3


def _as_problem(problem) -> ProblemArrays:
    from .compile import as_problem as conv
    return conv(problem)


#: greedy-hold: step boundaries of a price curve tried per (job, server) at most
MAX_HOLD_STEPS = 4096


@njit(cache=True)
def _energy_at(P, s, G, used_s, last_s, st, c, dyn):
    """Energy cost a job adds on server ``s`` running over [st, c]: its dynamic energy and
    the idle time it adds to the server's on-time (``last_s``: the server's off time)."""
    idle_from = last_s if used_s else st
    idle_to = c
    if G > 1 and used_s and last_s > c:
        idle_to = last_s   # it ends before the node's latest completion
    cid = P[CURVE_ID][s]
    if cid < 0:     # written out: a call to price_integral here costs 20x
        pc = P[PRICE_CONST][s]
        q_idle = pc * (idle_to - idle_from)
        q_run = pc * (c - st)
    else:
        a_c = curve_cumulative(P, cid, c)
        a_off = a_c if idle_to == c else curve_cumulative(P, cid, idle_to)
        q_idle = a_off - curve_cumulative(P, cid, idle_from)
        q_run = a_c - curve_cumulative(P, cid, st)
    return (P[IDLE_W][s] * q_idle + dyn * q_run) / JOULES_PER_KWH


@njit(cache=True)
def _greedy_kernel(P, lam, mode, hold_max, x, holds):
    """One pass over the jobs in dispatch order (internal index); ``x`` receives the
    internal-order assignment and ``holds`` (mode 3, greedy-hold) each job's hold.
    Returns the number of jobs that overloaded a server.

    A multi-GPU node keeps its GPUs' sorted free times and its previous start: a job
    starts at max(release, previous start, k-th free time), extends the node's on-time
    to its completion if that is later, and frees its k GPUs then (docs/model.md).
    Mode 3 also tries, on a server with a price curve, starting later, up to the job's
    ``hold_max`` after its release and never past its deadline: at each step boundary
    and so as to complete at one (where a run's price changes), by least marginal
    objective."""
    n = P[WORK].shape[0]
    m = P[SERVER_CLASS].shape[0]
    n_classes = P[ALLOWED].shape[1]
    last = np.zeros(m)             # last (one GPU) / latest (nodes) completion: off time
    used = np.zeros(m, np.bool_)
    busy = np.zeros(m)
    max_g = 1
    for s in range(m):
        max_g = max(max_g, P[SERVER_GPUS][s])
    # nodes: sorted GPU free times, node s's at s * max_g (the kernels' fs_take layout)
    free = np.zeros((m if max_g > 1 else 1) * max_g)
    prev = np.zeros(m)             # nodes: previous start
    overloaded = 0
    for j in range(n):
        k = P[JOB_CLASS][j]
        r = P[RELEASE][j]
        best_s = -1
        best_fit = False
        best_over = np.inf
        best_k1 = np.inf
        best_k2 = np.inf
        best_st = 0.0
        for g in range(n_classes):
            if P[ALLOWED][k, g] == 0:
                continue
            p = P[WORK][j] * P[WORK_SCALE][k, g] / P[THROUGHPUT][k, g]
            use = P[JOB_GPUS][j] * p
            dyn = P[DYN_W][k, g]
            fixed = P[FIXED_COST][k, g]
            for q in range(P[CLASS_PTR][g], P[CLASS_PTR][g + 1]):
                s = P[SERVERS_BY_CLASS][q]
                over = busy[s] + use - P[CAPACITY][s]
                fit = over <= 0.0
                if best_fit and not fit:
                    continue
                G = P[SERVER_GPUS][s]
                e = r
                if G > 1:
                    t = max(prev[s], free[s * max_g + min(P[JOB_GPUS][j], G) - 1])
                    if t > e:
                        e = t
                elif used[s] and last[s] > e:
                    e = last[s]
                # candidate starts: e, then (greedy-hold, a curve server) later ones
                cid = P[CURVE_ID][s]
                t_max = r + hold_max[j]
                if P[DUE][j] - p < t_max:
                    t_max = P[DUE][j] - p      # never held past the deadline
                n_b = 0
                b0 = 0.0
                step = 1.0
                if mode == 3 and cid >= 0 and t_max > e:
                    step = P[CURVE_STEP][cid]
                    b0 = math.floor(e / step) + 1.0
                    n_b = min(int(math.floor((t_max + p) / step) - b0) + 1, MAX_HOLD_STEPS)
                for cand in range(-1, 2 * n_b):
                    if cand < 0:
                        st = e
                    else:
                        b = (b0 + cand // 2) * step
                        st = b if cand % 2 == 0 else b - p
                        if not (st > e and st <= t_max):
                            continue
                    c = st + p
                    energy = _energy_at(P, s, G, used[s], last[s], st, c, dyn)
                    total = energy + lam * job_penalty(P, j, c) + fixed
                    if mode == 0:
                        k1, k2 = energy, total
                    elif mode == 2:
                        k1, k2 = c, total
                    else:
                        k1, k2 = total, 0.0
                    better = False
                    if fit and not best_fit:
                        better = True
                    elif not fit and not best_fit:     # nothing fits yet: least overload
                        better = over < best_over or (over == best_over and (
                            k1 < best_k1 or (k1 == best_k1 and k2 < best_k2)))
                    else:
                        better = k1 < best_k1 or (k1 == best_k1 and (
                            k2 < best_k2 or (k2 == best_k2 and s < best_s)))
                    if better:
                        best_s, best_fit, best_over, best_k1, best_k2 = s, fit, over, k1, k2
                        best_st = st
        s = best_s
        g = P[SERVER_CLASS][s]
        p = P[WORK][j] * P[WORK_SCALE][k, g] / P[THROUGHPUT][k, g]
        G = P[SERVER_GPUS][s]
        st = r
        kk = 1
        if G > 1:
            kk = min(P[JOB_GPUS][j], G)
            t = max(prev[s], free[s * max_g + kk - 1])
            if t > st:
                st = t
        elif used[s] and last[s] > st:
            st = last[s]
        if best_st > st:       # held: it starts at release + hold
            holds[j] = best_st - r
            st = best_st
        if G > 1:
            fs_take(free, Chain(s, m, True, False, n, m, False), max_g, 0, G, kk, st + p)
            prev[s] = st
            if not used[s] or st + p > last[s]:
                last[s] = st + p
        else:
            last[s] = st + p
        used[s] = True
        busy[s] += P[JOB_GPUS][j] * p
        if not best_fit:
            overloaded += 1
        x[j] = s
    return overloaded


def _run_greedy(problem, mode: int) -> tuple[np.ndarray, np.ndarray]:
    """The greedy of ``mode``: the assignment (caller's order) and the holds (internal
    order; zeros but for greedy-hold)."""
    from .kernels.moves import problem_tuple
    prob = _as_problem(problem)
    x = np.empty(prob.n_jobs, np.int64)
    holds = np.zeros(prob.n_jobs)
    if prob.n_jobs:
        _greedy_kernel(problem_tuple(prob), float(prob.lam), mode,
                       np.ascontiguousarray(prob.hold_max, np.float64), x, holds)
    return prob.to_caller(x).astype(np.int64), holds


def greedy_energy(problem) -> np.ndarray:
    """Greedy minimum energy: each job, in dispatch order, to the allowed server with room
    that adds the least energy cost (dynamic + the idle time it adds to the server's
    on-time); ties by marginal objective, then lowest server index.

    Parameters
    ----------
    problem : Fleet or ProblemArrays

    Returns
    -------
    ndarray of int64, shape (n_jobs,)
        Server index per job, caller's job order. For a generic assignment problem (no
        energy) it is the cheapest allowed agent with room per job, in job order.

    Notes
    -----
    O(N * S) time, O(N + S) memory (one Numba pass).
    """
    return _run_greedy(problem, _MODE_ENERGY)[0]


def greedy_cost(problem) -> np.ndarray:
    """Greedy minimum marginal objective (energy + lambda x penalty + assignment cost) of
    each job in dispatch order, among the allowed servers with room. O(N * S)."""
    return _run_greedy(problem, _MODE_COST)[0]


def list_schedule(problem) -> np.ndarray:
    """Earliest-completion list scheduling in dispatch order (earliest due first): each
    job to the allowed server with room where it completes earliest; ties by marginal
    objective, then lowest server index. O(N * S)."""
    return _run_greedy(problem, _MODE_LIST)[0]


def greedy_hold(problem) -> tuple[np.ndarray, np.ndarray]:
    """Greedy minimum marginal objective that may hold jobs: each job in dispatch order
    goes to the allowed server with room and the start in ``[earliest, release +
    hold_max]``, not past its deadline (at the earliest start, or on a price curve at a
    step boundary or completing at one), that adds the least energy + lambda x penalty
    + assignment cost; ties by the earlier candidate, then lowest server index. The
    baseline that also waits for cheap hours (docs/model.md, part 3).

    Returns
    -------
    x : ndarray of int64, shape (n_jobs,)
        Server per job, caller's job order.
    holds : ndarray of float64, shape (n_jobs,)
        Seconds each job is held, INTERNAL order (as :func:`satea.evaluate` takes them).

    Notes
    -----
    O(N * S * B) for B step boundaries in a job's hold window (at most
    :data:`MAX_HOLD_STEPS`); with every ``hold_max`` 0 it is :func:`greedy_cost` exactly.
    """
    return _run_greedy(problem, _MODE_HOLD)


def random_feasible(problem, seed: int = 0, *, rounds: int = 20) -> np.ndarray:
    """Uniformly random allowed servers, repaired for capacity where possible.

    Repair: while some server is overloaded, its jobs (in random order) move to a random
    allowed server that still has room for them, until it is within budget; up to
    ``rounds`` passes. The result may stay infeasible when the repair finds no room
    (check with :func:`satea.evaluate`).

    Returns
    -------
    ndarray of int64, shape (n_jobs,), caller's job order.
    """
    from .compile import random_allowed_servers
    prob = _as_problem(problem)
    rng = np.random.default_rng(seed)
    if prob.n_jobs == 0:
        return np.zeros(0, np.int64)
    xi = random_allowed_servers(rng, prob.job_class, prob.allowed, prob.server_class,
                                prob.n_server_classes)
    if prob.has_capacity:
        xi = _repair(prob, xi, rng, rounds)
    return prob.to_caller(xi).astype(np.int64)


def _proc_row(prob: ProblemArrays, i: int) -> np.ndarray:
    """Capacity used by internal job ``i`` on every server (its GPUs x p[i, s]); +inf
    where not allowed. O(S)."""
    k, g = prob.job_class[i], prob.server_class
    with np.errstate(divide="ignore", invalid="ignore"):
        p = prob.job_gpus[i] * (prob.work[i] * prob.work_scale[k, g] / prob.throughput[k, g])
    return np.where(prob.allowed[k, g] != 0, p, np.inf)


def _repair(prob: ProblemArrays, xi: np.ndarray, rng, rounds: int) -> np.ndarray:
    """Move jobs off overloaded servers to random allowed servers with room.
    O(rounds * (N + moved jobs * S)) time, O(N + S) memory."""
    n, m = prob.n_jobs, prob.n_servers
    cap = prob.capacity
    busy = np.bincount(xi, weights=prob.busy_use(np.arange(n), xi), minlength=m)
    for _ in range(rounds):
        over = np.flatnonzero(busy > cap)
        if over.size == 0:
            break
        by_server = np.argsort(xi, kind="stable")
        bounds = np.searchsorted(xi[by_server], np.arange(m + 1))
        for s in rng.permutation(over):
            for i in rng.permutation(by_server[bounds[s]:bounds[s + 1]]):
                if busy[s] <= cap[s]:
                    break
                p = _proc_row(prob, i)
                with np.errstate(invalid="ignore"):
                    room = cap - busy - p
                room[s] = -np.inf
                ok = np.flatnonzero(room >= 0)
                if ok.size == 0:
                    continue
                t = int(rng.choice(ok))
                busy[s] -= p[s]
                busy[t] += p[t]
                xi[i] = t
    return xi


def baseline_assignment(problem, method: str, seed: int = 0) -> np.ndarray:
    """The assignment of baseline ``method`` (``random``, ``greedy``, ``greedy-cost``,
    ``greedy-hold``, ``list``), caller's job order (greedy-hold's holds: :func:`greedy_hold`)."""
    if method == "random":
        return random_feasible(problem, seed)
    if method == "greedy":
        return greedy_energy(problem)
    if method in ("greedy-cost", "greedy_cost"):
        return greedy_cost(problem)
    if method in ("greedy-hold", "greedy_hold"):
        return greedy_hold(problem)[0]
    if method == "list":
        return list_schedule(problem)
    raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")


def solve_baseline(problem, method: str = "greedy", *, seed: int = 0,
                   time_limit: float | None = None, lam: float | None = None,
                   workers: int = 2, hint=None):
    """Run a baseline and return an :class:`~satea.result.AnnealResult` (re-scored in float64).

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    method : {"random", "greedy", "greedy-cost", "greedy-hold", "list", "milp", "cpsat"}
        ``milp`` calls :func:`satea.milp.solve_milp` (``time_limit`` seconds, default 60);
        ``cpsat`` calls :func:`satea.cpsat.solve_cpsat` (the same limit, ``workers``
        threads, hinted with ``hint`` or else the ``greedy-cost`` assignment);
        ``greedy-hold`` returns its holds too (the others hold no job).
    seed : int
        ``random`` and ``cpsat`` use it.
    workers : int
        ``cpsat``'s threads.
    hint : array (n_jobs,) of int, optional
        ``cpsat``'s starting assignment (caller's order), e.g. an annealed one.
    lam : float, optional
        Override the problem's lambda.

    Returns
    -------
    AnnealResult
        ``backend`` is the method name, ``chains`` 1, ``sweeps`` 0; ``to_dict()`` gives the
        ``satea-result/1`` form. For ``milp`` the message states the proven optimum or the
        gap and bound at the time limit; ``info`` then holds ``status``, ``bound`` and
        ``gap_to_bound`` (written to the result file).
    """
    from .result import AnnealResult
    from .settings import check_time_limit, positive_int
    seed = positive_int("seed", seed, 0)
    time_limit = check_time_limit(time_limit)   # checked even where the method ignores it
    workers = positive_int("workers", workers, 1)
    prob = _as_problem(problem)
    if lam is not None:
        prob = prob.with_lambda(lam)
    t0 = time.perf_counter()
    msg_extra = ""
    holds = None
    extra: dict = {}
    if method == "milp":
        from .milp import solve_milp
        mr = solve_milp(prob, time_limit=60.0 if time_limit is None else time_limit)
        if mr.x is None:
            raise NoAssignment(f"milp: {mr.message}")
        x = mr.x
        msg_extra = " " + mr.message
        extra = {"status": mr.status, "bound": mr.bound, "gap_to_bound": mr.gap}
    elif method in ("greedy-hold", "greedy_hold"):
        x, holds = greedy_hold(prob)
    elif method == "cpsat":
        from .cpsat import require_ortools, solve_cpsat
        try:
            require_ortools()
        except ImportError as e:   # the command line's one line: satea: error: ...
            raise ValueError(str(e)) from None
        cr = solve_cpsat(prob, time_limit=60.0 if time_limit is None else time_limit,
                         workers=workers, seed=seed,
                         hint=greedy_cost(prob) if hint is None else hint)
        if cr.x is None:
            raise NoAssignment(f"cpsat: {cr.message}")
        x = cr.x
        msg_extra = " " + cr.message
        extra = {"status": cr.status, "bound": cr.bound, "gap_to_bound": cr.gap,
                 "model_objective": cr.model_objective, "rounding": cr.rounding,
                 "time_unit": cr.time_unit, "cost_unit": cr.cost_unit,
                 "trajectory": cr.trajectory}
    else:
        x = baseline_assignment(prob, method, seed)
    seconds = time.perf_counter() - t0
    ev = evaluate(prob, x, holds)
    if ev.feasible:
        msg = f"{method}: feasible assignment."
    else:
        msg = (f"{method}: no feasible assignment found; the returned one overloads "
               f"capacities by {ev.violation:.6g}.")
    return AnnealResult.of_assignment(
        prob, x, ev, message=msg + msg_extra, lam=float(prob.lam), backend=method,
        seed=int(seed), chains=1, sweeps=0, sweeps_requested=0, seconds=seconds,
        compile_seconds=0.0, acceptance_rate=0.0, samples=np.asarray(x, np.int64)[None, :],
        holds=holds,
        chain_best=np.array([ev.search_objective if ev.feasible else np.inf]),
        trace=np.zeros(0), stopped_by="done",
        info={"method": method, "seconds": seconds, **extra})
