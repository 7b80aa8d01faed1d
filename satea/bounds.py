"""Certified lower bounds for linear assignment problems (the generalized assignment
problem, GAP), by Lagrangian relaxation.

The problem, in the search sense (a maximised problem is minimised negated)::

    min  sum_j c[j, x_j]   s.t.  sum_{j: x_j = s} a[j, s] <= b_s,  x_j allowed.

Two relaxations, each a lower bound at **any** multipliers, so the bound does not depend
on the multiplier method having converged (docs/quality.md, "Lower bounds"):

* ``capacity``: the capacities relaxed with ``v >= 0``:
  ``L(v) = sum_j min_s (c[j, s] + v_s a[j, s]) - sum_s v_s b_s``. Its best value is the
  LP relaxation's.
* ``knapsack``: the assignment constraints relaxed with free ``u``:
  ``L(u) = sum_j u_j - sum_s K_s(u)``, ``K_s`` the 0-1 knapsack of server ``s`` with
  profits ``u_j - c[j, s]`` and weights ``a[j, s]`` under ``b_s`` (Ross and Soland,
  1975), solved exactly by dynamic programming over the capacity when the weights and
  capacity are integers (at most :data:`DP_CELLS` cells), else bounded above by its LP
  (Dantzig) bound, which keeps ``L`` a lower bound. At least as strong as the LP.

Multipliers: subgradient steps with Polyak's step length towards an upper bound (a
feasible value when one is known), the step factor halved after a stall (Held and Karp);
the knapsack relaxation starts from the capacity relaxation's multipliers (the LP dual
``u_j = min_s c[j, s] + v_s a[j, s]``).

Certification: the reported bound is the dual function evaluated, in float64, at the
multipliers finally used, rounded to multiples of 2**-20; with integer costs every term
is then exact in float64 and the bound is rounded up to the next integer (the optimum is
an integer); otherwise a rounding allowance is subtracted.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from .compile import ProblemArrays, as_problem

__all__ = ["BoundResult", "lagrangian_bound", "is_linear_assignment", "attach_bound", "DP_CELLS"]

#: the knapsack DP is used when sum over servers of (jobs x (capacity + 1)) is at most this
DP_CELLS = 20_000_000
#: multipliers are rounded to multiples of this before the certified evaluation
GRID = 2.0 ** -20


@dataclass
class BoundResult:
    """A certified lower bound (search sense) and how it was found.

    Attributes
    ----------
    bound : float
        Lower bound on the optimum in the caller's sense (an upper bound on the profit of
        a maximised problem).
    search_bound : float
        The same in the search sense (minimised).
    method : str
        ``capacity`` or ``knapsack``: the relaxation that gave it.
    exact_knapsacks : bool
        The knapsack subproblems were solved exactly (DP) rather than bounded.
    iterations : int
    seconds : float
    bounds : dict
        The best value of each relaxation tried (search sense, certified).
    """

    bound: float
    search_bound: float
    method: str
    exact_knapsacks: bool
    iterations: int
    seconds: float
    bounds: dict

    def gap_to(self, objective: float) -> float:
        """``|objective - bound| / max(|objective|, 1e-12)``."""
        return abs(objective - self.bound) / max(abs(objective), 1e-12)


def is_linear_assignment(problem: ProblemArrays) -> bool:
    """Whether ``problem`` is a linear assignment problem these bounds apply to: a
    generic assignment problem (``compile_assignment``; every OR-Library GAP)."""
    return problem.kind == "assignment"


def _dense(prob: ProblemArrays):
    """Cost ``c`` (search sense, +inf where forbidden), resource ``a`` and capacity
    ``b`` (a server without one gets the total use of its allowed jobs: never binds)."""
    allowed = prob.allowed[prob.job_class[:, None], prob.server_class[None, :]] != 0
    k, g = prob.job_class[:, None], prob.server_class[None, :]
    c = np.where(allowed, prob.fixed_cost[k, g], np.inf)
    a = np.where(allowed, prob.work[:, None] * prob.work_scale[k, g] / prob.throughput[k, g],
                 0.0)
    b = np.where(np.isfinite(prob.capacity), prob.capacity, a.sum(axis=0))
    return c, a, b.astype(np.float64), allowed


def _integral(v: np.ndarray) -> bool:
    v = v[np.isfinite(v)]
    return bool(np.all(v == np.round(v)) and np.all(np.abs(v) < 2.0 ** 40))


# ---------------------------------------------------------------------------------------
# capacity relaxation
# ---------------------------------------------------------------------------------------

def _capacity_value(c, a, b, v):
    """``L(v)``, the chosen servers and the subgradient ``use - b``."""
    red = c + v[None, :] * a
    x = np.argmin(red, axis=1)
    val = float(red[np.arange(c.shape[0]), x].sum() - (v * b).sum())
    use = np.bincount(x, weights=a[np.arange(c.shape[0]), x], minlength=c.shape[1])
    return val, use - b, x


def _capacity_multipliers(c, a, b, upper, iters, deadline):
    v = np.zeros(c.shape[1])
    best, best_v = -math.inf, v.copy()
    theta, stall, done = 2.0, 0, 0
    for _ in range(iters):
        done += 1
        val, g, _ = _capacity_value(c, a, b, v)
        if not val <= best + 1e-12 * max(1.0, abs(val)):
            best, best_v, stall = val, v.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        # a component at 0 with a negative subgradient cannot move
        g = np.where((v <= 0) & (g < 0), 0.0, g)
        norm = float(g @ g)
        if norm == 0.0 or theta < 1e-6 or time.perf_counter() > deadline:
            break
        target = upper if np.isfinite(upper) and upper > best else best + 0.05 * max(abs(best), 1.0)
        v = np.maximum(v + theta * (target - val) / norm * g, 0.0)
    return best_v, done


# ---------------------------------------------------------------------------------------
# knapsack relaxation
# ---------------------------------------------------------------------------------------

@njit(cache=True)
def _knapsack_dp(profit, weight, cap, take):
    """0-1 knapsack, maximise ``sum profit`` with ``sum weight <= cap`` (integers); the
    items with profit <= 0 are skipped. Returns the value; ``take`` gets the chosen
    items."""
    n = profit.shape[0]
    best = np.zeros(cap + 1)
    keep = np.zeros((n, cap + 1), np.bool_)
    for j in range(n):
        take[j] = False
        pj, wj = profit[j], weight[j]
        if pj <= 0.0 or wj > cap:
            continue
        for q in range(cap, wj - 1, -1):
            cand = best[q - wj] + pj
            if cand > best[q]:
                best[q] = cand
                keep[j, q] = True
    q = cap
    for j in range(n - 1, -1, -1):
        if keep[j, q]:
            take[j] = True
            q -= weight[j]
    return best[cap]


@njit(cache=True)
def _knapsack_lp(profit, weight, cap, take):
    """Dantzig's bound of the 0-1 knapsack (items by profit / weight, the break item
    taken fractionally): an upper bound of its optimum; ``take`` gets the whole items
    taken."""
    n = profit.shape[0]
    ratio = np.empty(n)
    for j in range(n):
        take[j] = False
        ratio[j] = profit[j] / weight[j] if weight[j] > 0 else np.inf
    order = np.argsort(-ratio)
    room, val = cap, 0.0
    for t in range(n):
        j = order[t]
        if profit[j] <= 0.0:
            break
        if weight[j] <= room:
            take[j] = True
            room -= weight[j]
            val += profit[j]
        else:
            val += profit[j] * room / weight[j]
            break
    return val


@njit(cache=True)
def _knapsack_value(c, a, b, u, exact, x_count):
    """``L(u) = sum u - sum_s K_s(u)``; ``x_count[j]`` gets how many knapsacks took
    job ``j`` (the subgradient is ``1 - x_count``)."""
    n, m = c.shape
    total = 0.0
    for j in range(n):
        total += u[j]
        x_count[j] = 0
    profit = np.empty(n)
    take = np.empty(n, np.bool_)
    for s in range(m):
        for j in range(n):
            profit[j] = u[j] - c[j, s] if np.isfinite(c[j, s]) else -1.0
        if exact:
            w = np.empty(n, np.int64)
            for j in range(n):
                w[j] = np.int64(a[j, s])
            k = _knapsack_dp(profit, w, np.int64(b[s]), take)
        else:
            k = _knapsack_lp(profit, a[:, s], b[s], take)
        total -= k
        for j in range(n):
            if take[j]:
                x_count[j] += 1
    return total


def _knapsack_multipliers(c, a, b, u, exact, upper, iters, deadline):
    n = c.shape[0]
    cnt = np.zeros(n, np.int64)
    best, best_u = -math.inf, u.copy()
    theta, stall, done = 1.0, 0, 0
    for _ in range(iters):
        done += 1
        val = _knapsack_value(c, a, b, u, exact, cnt)
        if not val <= best + 1e-12 * max(1.0, abs(val)):
            best, best_u, stall = val, u.copy(), 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        g = 1.0 - cnt
        norm = float(g @ g)
        if norm == 0.0 or theta < 1e-4 or time.perf_counter() > deadline:
            break       # norm 0: the knapsacks' solution is a feasible assignment (optimal)
        target = upper if np.isfinite(upper) and upper > best else best + 0.02 * max(abs(best), 1.0)
        u = u + theta * (target - val) / norm * g
    return best_u, done


# ---------------------------------------------------------------------------------------
# certified evaluation and the entry point
# ---------------------------------------------------------------------------------------

def _certify(val: float, integral: bool, scale: float) -> float:
    """The bound from a dual value computed at grid multipliers: exact with integer
    costs, then rounded up; else lowered by a float64 rounding allowance."""
    if integral:
        return float(math.ceil(val - 1e-9 * max(1.0, abs(val))))   # val is exact here
    return val - 1e-12 * scale     # far above float64's error on sums of these terms


def lagrangian_bound(problem, *, method: str = "auto", upper: float | None = None,
                     time_limit: float = 1.5, iterations: int = 2000) -> BoundResult:
    """A certified lower bound of a linear assignment problem by Lagrangian relaxation.

    Parameters
    ----------
    problem : ProblemArrays
        A generic assignment problem (:func:`satea.compile_assignment`).
    method : {"auto", "capacity", "knapsack"}
        Relaxation(s): ``auto`` runs the capacity relaxation, then the knapsack one from
        its multipliers, and keeps the larger bound.
    upper : float, optional
        The objective of a feasible assignment (caller's sense) to steer the steps; none:
        targets a little above the best bound so far.
    time_limit : float
        Seconds for the multiplier search (the certified evaluation comes after).
    iterations : int
        Most subgradient steps per relaxation.

    Returns
    -------
    BoundResult

    Raises
    ------
    ValueError
        For a problem that is not a linear assignment problem, or an unknown method.
    """
    prob = as_problem(problem)
    if not is_linear_assignment(prob):
        raise ValueError("bounds: Lagrangian bounds need a linear assignment problem "
                         "(compile_assignment); a fleet's schedule terms are not linear")
    if method not in ("auto", "capacity", "knapsack"):
        raise ValueError(f"method: expected auto, capacity or knapsack, got {method!r}")
    t0 = time.perf_counter()
    deadline = t0 + float(time_limit)
    c, a, b, allowed = _dense(prob)
    if not allowed.any(axis=1).all():
        j = int(np.flatnonzero(~allowed.any(axis=1))[0])
        raise ValueError(f"bounds: job {prob.job_names[prob.order[j]]!r} has no allowed "
                         "server")
    up = math.inf if upper is None else prob.sense * float(upper)
    integral = _integral(c[allowed])
    scale = float(np.abs(c[allowed]).sum()) + 1.0
    found: dict = {}
    iters = 0
    # capacity relaxation (cheap; its multipliers start the knapsack one)
    half = t0 + (deadline - t0) * (0.3 if method == "auto" else 1.0)
    v, it = _capacity_multipliers(c, a, b, up, iterations, half)
    iters += it
    v = np.round(v / GRID) * GRID
    ab_int = _integral(a[allowed]) and _integral(b)
    found["capacity"] = _certify(_capacity_value(c, a, b, v)[0], integral and ab_int,
                                 scale + float((v * (a.sum(axis=0) + b)).sum()))
    exact = False
    if method in ("auto", "knapsack"):
        w_ok = _integral(a[allowed]) and bool((a[allowed] >= 0).all())   # b: floored
        cells = float(((allowed.sum(axis=0)) * (np.floor(b) + 1)).sum())
        exact = w_ok and cells <= DP_CELLS
        cfin = np.where(allowed, c, np.inf)
        u0 = (c + v[None, :] * a).min(axis=1)
        u, it = _knapsack_multipliers(cfin, a, np.floor(b) if exact else b, u0, exact, up,
                                      iterations, deadline)
        iters += it
        u = np.round(u / GRID) * GRID
        cnt = np.zeros(c.shape[0], np.int64)
        found["knapsack"] = _certify(
            _knapsack_value(cfin, a, np.floor(b) if exact else b, u, exact, cnt),
            integral and exact, scale + float(np.abs(u).sum()) * c.shape[1])
    if method == "capacity":
        found = {"capacity": found["capacity"]}
    best_method = max(found, key=lambda k: found[k])
    sb = found[best_method]
    return BoundResult(bound=prob.sense * sb, search_bound=sb, method=best_method,
                       exact_knapsacks=exact, iterations=iters,
                       seconds=time.perf_counter() - t0, bounds=found)


def attach_bound(problem, result) -> BoundResult | None:
    """Give a solve's result (an AnnealResult) of a linear assignment problem its
    certified bound: ``info["bound"]`` and ``info["gap_to_bound"]`` (written to the
    result file) and a line in its message; the tighter of this and a bound the method
    proved already (MILP, CP-SAT) is kept. Does nothing for other problems."""
    prob = as_problem(problem)
    if not is_linear_assignment(prob):
        return None
    br = lagrangian_bound(prob, upper=result.fun if result.feasible else None)
    bound, how = br.bound, f"Lagrangian ({br.method} relaxation)"
    old = result.info.get("bound")
    if old is not None and np.isfinite(old) and prob.sense * old > br.search_bound:
        bound, how = float(old), f"{result.info.get('method', 'method')}'s"
    gap = abs(result.fun - bound) / max(abs(result.fun), 1e-12)
    result.info["bound"] = float(bound)
    result.info["gap_to_bound"] = float(gap)
    word = "upper" if prob.sense < 0 else "lower"
    result.message += (f" Certified {word} bound {bound:.10g} ({how}, {br.seconds:.2g} s); "
                       f"gap to bound {gap:.3%}.")
    return br
