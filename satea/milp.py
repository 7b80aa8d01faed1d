"""An exact MILP of the model, solved by HiGHS through :func:`scipy.optimize.milp`.

It is the reference the annealer is measured against on small instances (a few dozen
jobs). The formulation is written out in ``docs/quality.md`` ("The exact MILP"); in short,
for jobs ``i`` in dispatch order and allowed pairs ``(i, s)``:

* ``y[i, s]`` binary: job ``i`` runs on server ``s``; ``sum_s y[i, s] = 1``;
  capacities ``sum_i p[i, s] y[i, s] <= B_s``.
* ``C[i, s]``: completion of ``i`` if it runs on ``s``, else 0 (``C <= M y``);
  ``R[i, s]``: the last completion on ``s`` among jobs up to ``i`` (a prefix maximum);
  ``C[i, s] >= (r_i + p) y`` and ``C[i, s] >= R[prev, s] + p - M (1 - y)``. With a fixed
  dispatch order the least solution of these inequalities is exactly the model's
  non-delay schedule ``C = max(r, C_prev) + p``.
* the server is switched on at the **release of its first job** in dispatch order (the
  first job starts at its release): ``on_s = sum_i r_i f[i, s]`` with ``f`` the exact
  first-job indicator (``f <= y``, ``f >= y[i] - sum_{i' < i} y[i']``,
  ``sum_i f <= 1``); off is ``R[last, s]``. Because ``on_s`` is pinned by the assignment
  and every other term of the objective (idle time ``off - on``, lateness, step,
  linear and exponential penalties) is non-decreasing in the completions, the optimum of
  the MILP sits at the least solution: the max of the non-delay schedule is exact, and a
  server cannot shorten its on-time by starting a job late.
* penalties from ``C_i = sum_s C[i, s]``: linear ``lam w / sigma * T`` with
  ``T >= C_i - d_i, T >= 0``; step ``lam w b`` with ``C_i - d_i <= M b``, ``b`` binary
  (``C_i = d_i`` is on time); exponential through tangents of ``e^u`` (below, see
  :func:`exp_tangent_spacing`), with a binary for the cap at ``u = 20``.

Limits: constant prices only (a price curve makes a job's energy depend on its start
time; :func:`solve_milp` raises ``NotImplementedError``), no holds (part 3: with them a
node may switch on later by starting a job late, which the non-delay schedule above
rules out; refused alike) and one GPU per server. Generic assignment problems
(``compile_assignment``) become the plain assignment MILP.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .compile import PEN_EXP, PEN_LINEAR, PEN_STEP, ProblemArrays
from .model import EXP_CAP, JOULES_PER_KWH
from .objective import Evaluation, evaluate

__all__ = ["MilpResult", "solve_milp", "exp_tangent_spacing", "exp_tangent_error"]


@dataclass
class MilpResult:
    """Outcome of :func:`solve_milp`.

    Attributes
    ----------
    x : ndarray (n_jobs,) of int64, or None
        Best assignment found (caller's job order); None when HiGHS found none.
    objective : float
        ``evaluate(problem, x).objective``: the float64 re-scoring, caller's sense (NaN
        without ``x``).
    bound : float
        HiGHS's dual bound in the caller's sense (a lower bound when minimising, an upper
        bound on the profit when maximising). It bounds the **true** problem: exponential
        penalties are under-approximated by tangents, so the MILP never over-charges.
    gap : float
        ``|objective - bound| / max(|objective|, 1e-12)``; 0 (up to rounding) at a proven
        optimum of a problem without exponential penalties.
    status : str
        ``optimal`` (proven within ``mip_rel_gap``), ``time_limit``, ``node_limit``,
        ``infeasible``, ``unbounded`` or ``error``.
    seconds : float
        Wall time of the solve (building the model included).
    """

    x: np.ndarray | None
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float
    milp_objective: float = math.nan     # HiGHS's value of its model, caller's sense
    message: str = ""
    n_variables: int = 0
    n_constraints: int = 0
    n_binaries: int = 0
    exp_rel_error: float = 0.0           # tangent under-estimate bound (0: no exp penalty)
    evaluation: Evaluation | None = field(default=None, repr=False)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


# ---------------------------------------------------------------------------------------
# exponential penalty: tangents of e^u
# ---------------------------------------------------------------------------------------

def exp_tangent_error(h: float) -> float:
    """Largest relative under-estimate ``1 - envelope(u) / e^u`` of the upper envelope of
    the tangents of ``e^u`` at points ``h`` apart (the same on every interval).

    Between tangent points ``a`` and ``a + h`` the two tangents cross at
    ``u* = a + h e^h / (e^h - 1) - 1``, where the envelope is lowest relative to ``e^u``:
    ``eps(h) = 1 - (1 + v) e^{-v}`` with ``v = h e^h / (e^h - 1) - 1`` (about ``h^2 / 8``).
    """
    if h <= 0:
        return 0.0
    v = h * math.exp(h) / math.expm1(h) - 1.0
    return 1.0 - (1.0 + v) * math.exp(-v)


def exp_tangent_spacing(rel_error: float) -> float:
    """The largest tangent spacing ``h`` with :func:`exp_tangent_error` ``(h) <= rel_error``."""
    if not (0 < rel_error < 0.5):
        raise ValueError(f"exp_rel_error: expected a number in (0, 0.5), got {rel_error}")
    lo, hi = 0.0, 4.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if exp_tangent_error(mid) <= rel_error:
            lo = mid
        else:
            hi = mid
    return lo


# ---------------------------------------------------------------------------------------
# model building
# ---------------------------------------------------------------------------------------

class _Model:
    """Column and row accumulator for scipy.optimize.milp."""

    def __init__(self):
        self.c, self.lb, self.ub, self.integ = [], [], [], []
        self.rows, self.cols, self.vals, self.rlo, self.rhi = [], [], [], [], []

    def var(self, cost=0.0, lb=0.0, ub=math.inf, integer=False) -> int:
        self.c.append(float(cost))
        self.lb.append(float(lb))
        self.ub.append(float(ub))
        self.integ.append(1 if integer else 0)
        return len(self.c) - 1

    def row(self, terms, lo=-math.inf, hi=math.inf) -> None:
        r = len(self.rlo)
        for j, v in terms:
            if v != 0.0:
                self.rows.append(r)
                self.cols.append(j)
                self.vals.append(float(v))
        self.rlo.append(float(lo))
        self.rhi.append(float(hi))

    def solve(self, options):
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import csr_array
        n = len(self.c)
        cons = None
        if self.rlo:
            A = csr_array((self.vals, (self.rows, self.cols)), shape=(len(self.rlo), n))
            cons = LinearConstraint(A, self.rlo, self.rhi)
        args = dict(c=np.asarray(self.c), integrality=np.asarray(self.integ),
                    bounds=Bounds(np.asarray(self.lb), np.asarray(self.ub)),
                    constraints=cons)
        # mip_abs_gap is not among scipy's named options but is passed to HiGHS verbatim
        # (with a warning): its default 1e-6 would stop early on objectives of order 1.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return milp(**args, options=dict(options, mip_abs_gap=0.0))
        except (ValueError, TypeError, KeyError):
            return milp(**args, options=options)


def _time_unit(problem: ProblemArrays) -> float:
    """Seconds per model time unit: hours for fleets keeps big-M values near 1-1000."""
    return 3600.0 if problem.kind == "fleet" else 1.0


def _dense_tables(problem: ProblemArrays):
    k = problem.job_class[:, None]
    g = problem.server_class[None, :]
    allowed = problem.allowed[k, g] != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = problem.work[:, None] * problem.work_scale[k, g] / problem.throughput[k, g]
    p = np.where(allowed, p, 0.0)
    return allowed, p, problem.dyn_w[k, g], problem.fixed_cost[k, g]


def _check_constant_prices(problem: ProblemArrays) -> None:
    """Refuse holds (part 3: a start time chosen by the solver is not modelled), price
    curves (a curve makes a job's energy depend on its start time) and multi-GPU nodes
    (part 2: the node schedule is not modelled).

    Raises
    ------
    NotImplementedError
        Naming the first job that may be held, the first servers that follow a curve, or
        the first multi-GPU node.
    """
    if problem.has_holds:
        i = int(np.flatnonzero(problem.hold_max > 0)[0])
        raise NotImplementedError(
            f"milp: holds are not modelled (job {problem.job_names[int(problem.order[i])]!r} "
            f"may be held up to {float(problem.hold_max[i]):g} s); use --method anneal or "
            f"greedy-hold, or --hold-max 0")
    if problem.multi_gpu:
        s = int(np.flatnonzero(problem.server_gpus > 1)[0])
        raise NotImplementedError(
            f"milp: multi-GPU nodes are not modelled (server {problem.server_names[s]!r} "
            f"has {int(problem.server_gpus[s])} GPUs); use --method anneal, greedy or list")
    if (problem.curve_id >= 0).any():
        curved = [problem.server_names[s] for s in np.flatnonzero(problem.curve_id >= 0)]
        raise NotImplementedError(
            f"milp: servers with a price curve ({', '.join(curved[:3])}"
            f"{', ...' if len(curved) > 3 else ''}) are not modelled; the MILP handles "
            f"constant prices only (satea solve --constant-prices uses each curve's "
            f"average; satea generate --constant-prices makes fleets without curves)")
    # a negative price with idle power rewards a server for staying on longer: the
    # formulation's least-solution argument (every cost non-decreasing in the
    # completions) fails, so it would delay jobs for money; refuse rather than answer wrong
    neg = np.flatnonzero((problem.price_const < 0) & (problem.idle_w > 0))
    if neg.size:
        s = int(neg[0])
        raise NotImplementedError(
            f"milp: server {problem.server_names[s]!r} has a negative price "
            f"({problem.price_const[s]:g}/kWh) and idle power: not modelled (the MILP needs "
            f"every cost to grow with completion times); a negative price without idle "
            f"power is; use --method anneal, greedy or list")


@dataclass
class _Data:
    """The problem's tables in the model's time unit (dispatch order, dense over pairs)."""

    n: int
    m: int
    allowed: np.ndarray          # (n, m) bool
    p_sec: np.ndarray            # (n, m) processing time, seconds (0 where not allowed)
    dyn: np.ndarray              # (n, m) dynamic power, W
    fixed: np.ndarray            # (n, m) fixed cost
    price: np.ndarray            # (m,) currency per kWh
    lam: float
    p: np.ndarray                # (n, m) processing time, time units
    r: np.ndarray                # (n,) release, time units
    d: np.ndarray                # (n,) due time, time units (inf: none)
    sig: np.ndarray              # (n,) penalty scale, time units
    kind: np.ndarray
    w: np.ndarray
    penalised: np.ndarray        # (n,) bool: the job can pay a penalty
    idle_rate: np.ndarray        # (m,) currency per time unit on


def _scaled_data(problem: ProblemArrays) -> _Data:
    """Gather and rescale the tables the model is written in (see :func:`_time_unit`)."""
    allowed, p_sec, dyn, fixed = _dense_tables(problem)
    tu = _time_unit(problem)
    lam = float(problem.lam)
    price = problem.price_const
    kind, w = problem.pen_kind, problem.pen_weight
    penalised = (np.isfinite(problem.due) & (w > 0) & (lam > 0)
                 & np.isin(kind, (PEN_STEP, PEN_LINEAR, PEN_EXP)))
    return _Data(n=problem.n_jobs, m=problem.n_servers, allowed=allowed, p_sec=p_sec,
                 dyn=dyn, fixed=fixed, price=price, lam=lam, p=p_sec / tu,
                 r=problem.release / tu, d=problem.due / tu, sig=problem.pen_scale / tu,
                 kind=kind, w=w, penalised=penalised,
                 idle_rate=problem.idle_w * price * tu / JOULES_PER_KWH)


def _add_assignment(M: _Model, problem: ProblemArrays, data: _Data) -> np.ndarray:
    """Binaries ``y[i, s]`` priced at the pair's energy and fixed cost; one server per job.

    Returns
    -------
    ndarray (n, m) of int64
        Column of ``y[i, s]``; -1 for a forbidden pair.

    Raises
    ------
    ValueError
        When a job has no allowed server.
    """
    allowed = data.allowed
    y = -np.ones((data.n, data.m), np.int64)
    s: int | np.integer
    for i in range(data.n):
        for s in np.flatnonzero(allowed[i]):
            cost = (data.dyn[i, s] * data.price[s] * data.p_sec[i, s] / JOULES_PER_KWH
                    + data.fixed[i, s])
            y[i, s] = M.var(cost, 0.0, 1.0, integer=True)
        if not allowed[i].any():
            raise ValueError(f"milp: job {problem.job_names[problem.order[i]]!r} has no "
                             f"allowed server")
        M.row([(y[i, s], 1.0) for s in np.flatnonzero(allowed[i])], 1.0, 1.0)
    return y


def _add_capacities(M: _Model, problem: ProblemArrays, data: _Data, y: np.ndarray) -> None:
    """Busy-time budgets, only for the servers whose allowed jobs could exceed them."""
    tu = _time_unit(problem)
    for s in np.flatnonzero(np.isfinite(problem.capacity)):
        jobs = np.flatnonzero(data.allowed[:, s])
        if data.p[jobs, s].sum() > problem.capacity[s] / tu:
            M.row([(y[i, s], data.p[i, s]) for i in jobs], -math.inf, problem.capacity[s] / tu)


def _add_server_schedule(M: _Model, data: _Data, y: np.ndarray, C: np.ndarray,
                         completion_ub: np.ndarray, s: int) -> None:
    """The non-delay schedule of server ``s``, and its on-time when it draws idle power.

    Adds the completions ``C[i, s]`` (written into ``C``) and their prefix maxima ``R``
    of the jobs allowed on ``s`` in dispatch order, raising ``completion_ub`` to each
    job's largest possible completion. With idle power, first-job indicators price the
    switch-on at the first job's release and the last ``R`` prices the switch-off.
    """
    jobs = np.flatnonzero(data.allowed[:, s])
    if jobs.size == 0:
        return
    p, r, rate = data.p, data.r, data.idle_rate[s]
    # B_l: bound on any completion among the first l jobs allowed on s
    bound = np.maximum.accumulate(r[jobs]) + np.cumsum(p[jobs, s])
    prev_R, prev_B = -1, 0.0
    f_vars = []
    for pos, i in enumerate(jobs):
        Bl = float(bound[pos])
        C[i, s] = M.var(0.0, 0.0, Bl)
        completion_ub[i] = max(completion_ub[i], Bl)
        # C >= (r + p) y ; C <= B y
        M.row([(C[i, s], 1.0), (y[i, s], -(r[i] + p[i, s]))], 0.0)
        M.row([(C[i, s], 1.0), (y[i, s], -Bl)], hi=0.0)
        if prev_R >= 0:
            big = prev_B + p[i, s]
            # C >= R_prev + p - big (1 - y)
            M.row([(C[i, s], 1.0), (prev_R, -1.0), (y[i, s], -big)], p[i, s] - big)
        R = M.var(0.0, 0.0, Bl)
        M.row([(R, 1.0), (C[i, s], -1.0)], 0.0)
        if prev_R >= 0:
            M.row([(R, 1.0), (prev_R, -1.0)], 0.0)
        prev_R, prev_B = R, Bl
        if rate > 0:
            # first-job indicator, worth -idle_rate * r_i (on-time starts at r_i)
            f = M.var(-rate * r[i], 0.0, 1.0)
            M.row([(f, 1.0), (y[i, s], -1.0)], hi=0.0)
            M.row([(f, 1.0), (y[i, s], -1.0)] + [(y[i2, s], 1.0) for i2 in jobs[:pos]],
                  lo=0.0)
            f_vars.append(f)
    if rate > 0:
        M.c[prev_R] += rate        # off_s = R[last, s]
        M.row([(f, 1.0) for f in f_vars], hi=1.0)


def _add_exp_penalty(M: _Model, data: _Data, i: int, T: int, late_max: float,
                     h: float) -> None:
    """The exponential penalty of job ``i`` from its lateness column ``T``.

    ``pen >= w (e^{u_k} (1 + u - u_k) - 1)`` at ``u_k = 0, h, 2h, ...``, charged ``lam``;
    where the lateness can pass the cap (``u = EXP_CAP``) a binary switches the tangents
    off and charges the capped penalty instead.
    """
    w, sig = float(data.w[i]), float(data.sig[i])
    u_max = late_max / sig
    u_top = min(u_max, EXP_CAP)
    ks = np.arange(0.0, u_top + h, h) if h > 0 else np.zeros(1)
    ks = np.minimum(ks, u_top)
    ks = np.unique(ks)
    pen_cap = w * math.expm1(EXP_CAP)
    pen = M.var(data.lam, 0.0, w * math.expm1(u_top))
    capped = u_max > EXP_CAP
    cb = M.var(0.0, 0.0, 1.0, integer=True) if capped else -1
    for uk in ks:
        e = math.exp(uk)
        # pen >= w e (1 - uk) - w + (w e / sig) T   [- big * cb]
        slope = w * e / sig
        const = w * e * (1.0 - uk) - w
        row = [(pen, 1.0), (T, -slope)]
        if capped:
            big = const + slope * late_max       # tangent at its largest
            row.append((cb, big))
        M.row(row, lo=const)
    if capped:
        M.ub[pen] = pen_cap
        M.row([(pen, 1.0), (cb, -pen_cap)], lo=0.0)


def _add_penalties(M: _Model, data: _Data, C: np.ndarray, completion_ub: np.ndarray,
                   exp_rel_error: float) -> float:
    """Step, linear and exponential penalties of the jobs that can be late.

    Returns
    -------
    float
        The tangents' relative under-estimate of the exponential penalties (0 without
        any).
    """
    kind, w, lam = data.kind, data.w, data.lam
    exp_err = 0.0
    h = exp_tangent_spacing(exp_rel_error) if (kind[data.penalised] == PEN_EXP).any() else 0.0
    for i in np.flatnonzero(data.penalised):
        late_max = completion_ub[i] - data.d[i]
        if late_max <= 0:
            continue               # can never be late
        terms = [(C[i, s], 1.0) for s in np.flatnonzero(data.allowed[i])]
        if kind[i] == PEN_STEP:
            b = M.var(lam * w[i], 0.0, 1.0, integer=True)
            M.row(terms + [(b, -late_max)], hi=data.d[i])
            continue
        T = M.var(lam * w[i] / data.sig[i] if kind[i] == PEN_LINEAR else 0.0, 0.0, late_max)
        M.row([(T, 1.0)] + [(v, -c) for v, c in terms], lo=-data.d[i])
        if kind[i] == PEN_LINEAR:
            continue
        _add_exp_penalty(M, data, int(i), T, late_max, h)
        exp_err = max(exp_err, exp_tangent_error(h) if h > 0 else 0.0)
    return exp_err


def _build(problem: ProblemArrays, exp_rel_error: float) -> tuple[_Model, np.ndarray, float]:
    """The MILP of ``problem`` (see the module's docstring).

    Returns
    -------
    model : _Model
    y : ndarray (n, m) of int64
        Columns of the assignment binaries (-1 for forbidden pairs).
    exp_err : float
        Relative under-estimate of the exponential penalties (0 without any).
    """
    data = _scaled_data(problem)
    _check_constant_prices(problem)
    M = _Model()
    y = _add_assignment(M, problem, data)
    _add_capacities(M, problem, data, y)
    # without penalties or idle power, the assignment alone decides the objective
    if not (data.penalised.any() or (data.idle_rate > 0).any()):
        return M, y, 0.0
    C = -np.ones((data.n, data.m), np.int64)
    completion_ub = np.zeros(data.n)
    for s in range(data.m):
        _add_server_schedule(M, data, y, C, completion_ub, s)
    return M, y, _add_penalties(M, data, C, completion_ub, exp_rel_error)


def _solver_options(disp: bool, mip_rel_gap: float, time_limit: float | None,
                    node_limit: int | None) -> dict:
    """HiGHS options for :meth:`_Model.solve` (limits only when given)."""
    options: dict = {"disp": bool(disp), "mip_rel_gap": float(mip_rel_gap), "presolve": True}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    return options


def _status(res) -> str:
    """:attr:`MilpResult.status` from scipy's status code and message."""
    status = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded"}.get(
        res.status, "error")
    # scipy reports both limits as status 1; only the message tells them apart
    if status == "time_limit" and "node" in str(res.message).lower():
        status = "node_limit"
    return status


def _assignment(prob: ProblemArrays, y: np.ndarray, res) -> np.ndarray | None:
    """The assignment (caller's job order) read off the binaries of HiGHS's solution.

    Each job takes its largest ``y``, not the one equal to 1: HiGHS's values are integral
    only up to its tolerance. None when HiGHS returned no solution.
    """
    if res.x is None:
        return None
    sol = np.asarray(res.x)
    xi = np.full(prob.n_jobs, -1, np.int64)
    for i in range(prob.n_jobs):
        cols = np.flatnonzero(y[i] >= 0)
        xi[i] = cols[int(np.argmax(sol[y[i, cols]]))]
    return prob.to_caller(xi).astype(np.int64)


def _bound_and_gap(res, status: str, sense: int,
                   ev: Evaluation | None) -> tuple[float, float]:
    """HiGHS's dual bound (caller's sense) and the relative gap of the re-scored objective.

    Without a dual bound from HiGHS the optimum's value is the bound, and otherwise
    nothing is known (-inf in the search sense). The gap is inf without an assignment.
    """
    bound_search = res.get("mip_dual_bound", None)
    if bound_search is None or not np.isfinite(bound_search):
        bound_search = res.fun if status == "optimal" and res.fun is not None else -math.inf
    bound = sense * float(bound_search)
    if ev is None:
        return bound, math.inf
    gap = abs(ev.search_objective - float(bound_search)) / max(abs(ev.search_objective),
                                                                1e-12)
    if status == "optimal" and ev.search_objective < float(bound_search):
        gap = 0.0       # rounding: the re-scored value lies a hair below the bound
    return bound, gap


def _message(status: str, res, x: np.ndarray | None, objective: float, bound: float,
             gap: float, exp_err: float) -> str:
    """:attr:`MilpResult.message`: what HiGHS proved or where it stopped."""
    if status == "optimal":
        return (f"HiGHS proved optimality (gap {gap:.2e})"
                + (f"; exponential penalties under-estimated by at most "
                   f"{exp_err:.1e} relative in the model" if exp_err else "") + ".")
    if x is not None:
        return (f"HiGHS stopped ({status}) with objective {objective:.10g}, bound "
                f"{bound:.10g}, gap {gap:.3%}.")
    return f"HiGHS found no assignment ({status}): {res.message}"


def solve_milp(problem, *, time_limit: float | None = 60.0, mip_rel_gap: float = 1e-9,
               exp_rel_error: float = 1e-4, disp: bool = False,
               node_limit: int | None = None) -> MilpResult:
    """Solve the model exactly with HiGHS (``scipy.optimize.milp``).

    Parameters
    ----------
    problem : Fleet or ProblemArrays
        A fleet with constant prices (any penalty kinds, releases, capacities, forbidden
        pairs, idle power) or a generic assignment problem.
    time_limit : float, optional
        Seconds for HiGHS; at the limit the best assignment found and the bound are
        returned (status ``time_limit``). None: no limit.
    mip_rel_gap : float
        Relative gap at which HiGHS stops and calls it optimal (its absolute gap is set to
        0 as well).
    exp_rel_error : float
        Tangent spacing for exponential penalties: the MILP charges at least
        ``(1 - exp_rel_error) * w e^u - w`` and at most the true ``w (e^u - 1)``, so its
        bound stays valid for the true problem; see :func:`exp_tangent_spacing`.

    Returns
    -------
    MilpResult
        ``objective`` re-scored by :func:`satea.evaluate`; ``bound`` and ``gap``.

    Raises
    ------
    NotImplementedError
        When a job may be held (``hold_max`` > 0), a server follows a price curve or has
        several GPUs.

    Notes
    -----
    Size: O(N S) variables and rows, O(N^2 S) nonzeros (the first-job indicators) when
    servers draw idle power. Practical up to a few dozen jobs to proven optimality; at
    100-200 jobs the big-M bound is weak and a time-limited run returns a poor incumbent
    (or none): see docs/quality.md.
    """
    from .compile import as_problem as _as_problem
    prob = _as_problem(problem)
    t0 = time.perf_counter()
    model, y, exp_err = _build(prob, exp_rel_error)
    res = model.solve(_solver_options(disp, mip_rel_gap, time_limit, node_limit))
    seconds = time.perf_counter() - t0
    status = _status(res)
    x = _assignment(prob, y, res)
    ev = None if x is None else evaluate(prob, x)
    objective = math.nan if ev is None else ev.objective
    bound, gap = _bound_and_gap(res, status, prob.sense, ev)
    milp_obj = prob.sense * float(res.fun) if res.fun is not None else math.nan
    return MilpResult(x=x, objective=objective, bound=bound, gap=gap, status=status,
                      seconds=seconds, milp_objective=milp_obj,
                      message=_message(status, res, x, objective, bound, gap, exp_err),
                      n_variables=len(model.c), n_constraints=len(model.rlo),
                      n_binaries=int(sum(model.integ)), exp_rel_error=exp_err,
                      evaluation=ev)
