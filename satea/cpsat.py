"""An exact CP-SAT model (OR-Tools) of part 1 of the model and of assignment problems.

Optional: ``pip install 'satea[cpsat]'`` (OR-Tools). What it models, for jobs ``i`` in
dispatch order and allowed pairs ``(i, s)`` (the rounding is stated in docs/quality.md,
"The exact CP-SAT model"):

* ``y[i, s]`` Boolean, one server per job; capacities ``sum_i a[i, s] y[i, s] <= b_s``.
* on each server, in dispatch order, ``S[i, s] = max(r_i, R[prev, s])`` (the start the
  job would have there), ``R[i, s] = S[i, s] + p[i, s]`` when ``y[i, s]`` else
  ``R[prev, s]`` (the server's last completion so far), and the job's completion
  ``C_i = S[i, s] + p[i, s]`` on the server it runs on: the non-delay schedule exactly,
  with equalities, so every solution CP-SAT reports is the model's schedule.
* idle power from the first job's start (``r`` of the first job in dispatch order, by
  first-job indicators) to ``R[last, s]``.
* penalties: linear ``lam w / sigma * max(C_i - d_i, 0)``; step ``lam w`` when
  ``C_i > d_i``.
* redundant rows, for the LP only: ``R[i, s] >= R[prev, s] + p[i, s] y[i, s]`` and
  ``R[i, s] >= (r_i + p[i, s]) y[i, s]`` (queues without big-M), ``C_i >= r_i + sum_s
  p y``, the lateness a job has on a server with nothing before it charged per server,
  on-time >= busy time, a no-overlap per server.

CP-SAT is an integer solver: times are integers in units of ``time_unit`` seconds and the
objective's coefficients integers in units of ``cost_unit`` (currency); both are chosen
from the instance (:func:`model_units`). The returned assignment is always re-scored in
float64 by :func:`satea.objective.evaluate`; ``model_objective`` is CP-SAT's value in
currency and ``rounding`` bounds how far the two can differ (:func:`rounding_bound`).

Refused in one line (:class:`NotImplementedError`): price curves, exponential penalties,
multi-GPU nodes and gang jobs, holds; anything else is modelled exactly up to the rounding.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .compile import PEN_EXP, PEN_LINEAR, PEN_STEP, ProblemArrays, as_problem
from .model import JOULES_PER_KWH
from .objective import Evaluation, evaluate

__all__ = ["CpsatResult", "solve_cpsat", "build_model", "check_cpsat_model", "require_ortools",
           "model_units", "rounding_bound", "integer_schedule", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'satea[cpsat]' (OR-Tools)"
#: integer horizon of a fleet's times: ``time_unit`` is the least power of ten seconds
#: (at most 1 s) with horizon / time_unit <= this
TIME_STEPS = 1e7
#: the smallest objective coefficient is made at least this many cost units
COEF_RESOLUTION = 2.0 ** 24
#: the objective's largest possible value stays below this many cost units (int64 margin)
OBJECTIVE_LIMIT = 2.0 ** 60
#: a capacity row is written in units of ``capacity / CAPACITY_STEPS``
CAPACITY_STEPS = 2.0 ** 40
#: CP-SAT's subsolvers with two workers. Two workers run one full-problem subsolver and
#: LNS on the other thread; naming ``max_lp`` (linearization level 2: the enforced rows
#: and the no-overlaps in the LP) makes that one the strong LP instead of ``default_lp``.
#: Measured in docs/quality.md; with one worker, linearization level 2 likewise.
PORTFOLIO_2 = ("max_lp",)


@dataclass
class CpsatResult:
    """Outcome of :func:`solve_cpsat`.

    Attributes
    ----------
    x : ndarray (n_jobs,) of int64, or None
        Best assignment found (caller's job order); None when CP-SAT found none.
    objective : float
        ``evaluate(problem, x).objective`` (float64, caller's sense); NaN without ``x``.
    bound : float
        CP-SAT's proven bound of its integer model, in currency and the caller's sense.
    gap : float
        ``|objective - bound| / max(|objective|, 1e-12)`` (search sense).
    status : str
        ``optimal`` (proven), ``time_limit`` (stopped with or without a solution),
        ``infeasible`` or ``error``.
    seconds : float
        Wall time, building the model included.
    model_objective : float
        CP-SAT's objective of its integer model in currency (caller's sense).
    rounding : float
        Bound on ``|model_objective - objective|`` for ``x`` from the integer time and
        cost units (:func:`rounding_bound`), step penalties whose lateness the rounding
        flips included.
    time_unit, cost_unit : float
        Seconds per integer time step; currency per integer cost unit.
    trajectory : list of (seconds, objective)
        Each improving solution as CP-SAT found it, re-scored in float64.
    """

    x: np.ndarray | None
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float
    model_objective: float = math.nan
    rounding: float = 0.0
    time_unit: float = 1.0
    cost_unit: float = 1.0
    message: str = ""
    n_variables: int = 0
    n_constraints: int = 0
    workers: int = 1
    trajectory: list = field(default_factory=list, repr=False)
    evaluation: Evaluation | None = field(default=None, repr=False)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def require_ortools():
    """OR-Tools' ``cp_model`` module, or an ImportError saying how to install it."""
    try:
        from ortools.sat.python import cp_model
    except ImportError as e:
        raise ImportError(f"--method cpsat needs OR-Tools: {INSTALL_HINT}") from e
    return cp_model


def check_cpsat_model(problem: ProblemArrays) -> None:
    """Refuse, in one line, what the CP-SAT model cannot represent exactly.

    Raises
    ------
    NotImplementedError
        Price curves, exponential penalties, multi-GPU nodes or gang jobs, holds, a
        negative price with idle power.
    """
    def names(idx, pool):
        idx = [int(i) for i in idx]
        return ", ".join(repr(pool[i]) for i in idx[:3]) + (", ..." if len(idx) > 3 else "")

    if (problem.server_gpus > 1).any() or (problem.job_gpus > 1).any():
        s = np.flatnonzero(problem.server_gpus > 1)
        gang = np.flatnonzero(problem.job_gpus > 1)
        what = (f"server {names(s, problem.server_names)} has "
                f"{int(problem.server_gpus[s[0]])} GPUs" if s.size else
                f"job {names(problem.order[gang], problem.job_names)} asks for several GPUs")
        raise NotImplementedError(f"cpsat: multi-GPU nodes and gang jobs are not modelled "
                                  f"({what}); use --method anneal, greedy or list")
    if (problem.curve_id >= 0).any():
        curved = names(np.flatnonzero(problem.curve_id >= 0), problem.server_names)
        raise NotImplementedError(
            f"cpsat: servers with a price curve ({curved}) "
            "are not modelled (constant prices only; satea solve --constant-prices uses "
            "each curve's average)")
    exp = np.flatnonzero((problem.pen_kind == PEN_EXP) & (problem.pen_weight > 0)
                         & np.isfinite(problem.due))
    if exp.size and problem.lam > 0:
        raise NotImplementedError(
            f"cpsat: exponential penalties are not modelled exactly (job "
            f"{names(problem.order[exp], problem.job_names)}); use --method milp (tangents) "
            "or anneal")
    # a negative price with idle power pays a server for staying on: ``on`` is bounded
    # from above only (the objective pushes it up to the first start), so it would be
    # pushed down instead and the idle credit overstated
    neg = np.flatnonzero((problem.price_const < 0) & (problem.idle_w > 0))
    if neg.size:
        raise NotImplementedError(
            f"cpsat: server {names(neg, problem.server_names)} has a negative price and "
            "idle power: not modelled (the model needs idle costs that grow with the "
            "on-time); use --method anneal, greedy or list")
    hold = getattr(problem, "hold_max", None)
    if hold is not None and (np.asarray(hold) > 0).any():
        raise NotImplementedError("cpsat: holds (hold_max_s > 0) are not modelled; use "
                                  "--method anneal")


@dataclass
class _Tables:
    """The problem's dense tables (dispatch order) and its integer model data."""

    allowed: np.ndarray      # (n, m) bool
    p: np.ndarray            # (n, m) seconds, 0 where forbidden
    pair_cost: np.ndarray    # (n, m) currency (search sense): dynamic energy + fixed cost
    use: np.ndarray          # (n, m) capacity use (GPU-seconds or resource units)
    penalised: np.ndarray    # (n,) bool: linear or step penalty that can be charged


def _tables(prob: ProblemArrays) -> _Tables:
    n, m = prob.n_jobs, prob.n_servers
    jj, ss = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    allowed = prob.is_allowed(jj.ravel(), ss.ravel()).reshape(n, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(allowed, prob.proc_time(jj.ravel(), ss.ravel()).reshape(n, m), 0.0)
    k, g = prob.job_class[:, None], prob.server_class[None, :]
    energy = prob.dyn_w[k, g] * prob.price_const[None, :] * p / JOULES_PER_KWH
    pair_cost = np.where(allowed, energy + prob.fixed_cost[k, g], 0.0)
    penalised = (np.isfinite(prob.due) & (prob.pen_weight > 0) & (prob.lam > 0)
                 & np.isin(prob.pen_kind, (PEN_STEP, PEN_LINEAR)))
    return _Tables(allowed=allowed, p=p, pair_cost=pair_cost, use=p.copy(),
                   penalised=penalised)


def _is_integral(a: np.ndarray) -> bool:
    a = a[np.isfinite(a)]
    return bool(np.all(a == np.round(a))) and bool(np.all(np.abs(a) < 2.0 ** 52))


def _horizon(prob: ProblemArrays, t: _Tables) -> float:
    """Latest completion any assignment can reach: the last release plus all the work
    on each job's slowest server."""
    pmax = t.p.max(axis=1) if t.p.size else np.zeros(prob.n_jobs)
    return float((prob.release.max() if prob.n_jobs else 0.0) + pmax.sum())


def model_units(problem, time_unit: float | None = None,
                cost_unit: float | None = None) -> tuple[float, float]:
    """The integer units of the model: seconds per time step, currency per cost unit.

    Defaults: ``time_unit`` the least power of ten seconds, at most 1 s, that keeps the
    horizon within :data:`TIME_STEPS` steps (1 for assignment problems); ``cost_unit`` 1
    where every coefficient is an integer (OR-Library GAP), else the largest power of two
    that keeps the smallest coefficient at least :data:`COEF_RESOLUTION` units, raised if
    the largest objective would pass :data:`OBJECTIVE_LIMIT` units.
    """
    prob = as_problem(problem)
    t = _tables(prob)
    if time_unit is None:
        if prob.kind == "assignment":
            time_unit = 1.0
        else:
            h = max(_horizon(prob, t), 1.0)
            time_unit = min(1.0, 10.0 ** math.ceil(math.log10(h / TIME_STEPS)))
    if cost_unit is None:
        coefs, top = _cost_terms(prob, t, time_unit)
        if coefs.size == 0:
            cost_unit = 1.0
        elif _is_integral(coefs) and top < OBJECTIVE_LIMIT:
            cost_unit = 1.0
        else:
            small = float(np.min(np.abs(coefs[coefs != 0]))) if (coefs != 0).any() else 1.0
            cost_unit = 2.0 ** math.floor(math.log2(small / COEF_RESOLUTION))
            if top / cost_unit > OBJECTIVE_LIMIT:
                cost_unit = 2.0 ** math.ceil(math.log2(top / OBJECTIVE_LIMIT))
    if not (time_unit > 0 and cost_unit > 0):
        raise ValueError(f"cpsat: time_unit and cost_unit must be > 0, got {time_unit}, "
                         f"{cost_unit}")
    return float(time_unit), float(cost_unit)


def _cost_terms(prob: ProblemArrays, t: _Tables, tu: float) -> tuple[np.ndarray, float]:
    """Every objective coefficient in currency per model unit (pairs, idle rate per
    step, linear penalty per step, step penalty) and the largest objective (currency)."""
    h_steps = _horizon(prob, t) / tu
    idle = prob.idle_w * prob.price_const * tu / JOULES_PER_KWH
    lin = t.penalised & (prob.pen_kind == PEN_LINEAR)
    stp = t.penalised & (prob.pen_kind == PEN_STEP)
    lin_c = prob.lam * prob.pen_weight[lin] / prob.pen_scale[lin] * tu
    stp_c = prob.lam * prob.pen_weight[stp]
    coefs = np.concatenate([t.pair_cost[t.allowed], idle[idle > 0], lin_c, stp_c])
    top = (np.abs(t.pair_cost).max(axis=1).sum() + idle.sum() * h_steps
           + lin_c.sum() * h_steps + stp_c.sum()) if coefs.size else 0.0
    return coefs, float(top)


class _Builder:
    """Builds the CP-SAT model of one problem (see the module's docstring)."""

    def __init__(self, cp_model, prob: ProblemArrays, tu: float, cu: float):
        self.cp, self.prob, self.tu, self.cu = cp_model, prob, tu, cu
        self.model = cp_model.CpModel()
        self.t = _tables(prob)
        self.obj: list = []            # (coefficient in cost units, variable)
        self.y: dict = {}
        self.C: dict = {}              # job -> completion variable (penalised jobs)
        self.S: dict = {}              # (job, server) -> start variable there (or constant)
        self.R: dict = {}              # (job, server) -> last completion there so far
        self.on: dict = {}             # server -> switch-on time variable
        self.T: dict = {}              # job -> tardiness variable (linear penalties)
        self.late: dict = {}           # job -> lateness literal (step penalties)
        self.n_vars = 0

    def steps(self, seconds) -> np.ndarray:
        """Seconds -> integer time steps (nearest)."""
        return np.rint(np.asarray(seconds, np.float64) / self.tu).astype(np.int64)

    def units(self, currency: float) -> int:
        return int(round(currency / self.cu))

    def build(self):
        m, t, prob = self.model, self.t, self.prob
        n, ns = prob.n_jobs, prob.n_servers
        for i in range(n):
            srv = np.flatnonzero(t.allowed[i])
            if srv.size == 0:
                raise ValueError(f"cpsat: job {prob.job_names[prob.order[i]]!r} has no "
                                 "allowed server")
            for s in srv:
                v = m.new_bool_var(f"y{i}_{s}")
                self.y[i, int(s)] = v
                self.obj.append((self.units(t.pair_cost[i, s]), v))
            m.add_exactly_one(self.y[i, int(s)] for s in srv)
        self.n_vars += len(self.y)
        self._capacities()
        # latest completion of each job anywhere (time steps): its completion's domain
        self.c_ub = np.zeros(n, np.int64)
        for s in range(ns):
            jobs = np.flatnonzero(t.allowed[:, s])
            if jobs.size:
                ub = (np.maximum.accumulate(self.steps(prob.release[jobs]))
                      + np.cumsum(self.steps(t.p[jobs, s])))
                self.c_ub[jobs] = np.maximum(self.c_ub[jobs], ub)
        idle = prob.idle_w * prob.price_const * self.tu / JOULES_PER_KWH
        if t.penalised.any() or (idle > 0).any():
            for s in range(ns):
                self._server(s, idle[s])
            self._penalties()
        terms = [(c, v) for c, v in self.obj if c != 0]
        m.minimize(self.cp.LinearExpr.weighted_sum([v for _c, v in terms],
                                                   [c for c, _v in terms]))
        return self

    def _capacities(self) -> None:
        """``sum use y <= B`` in units of ``B / CAPACITY_STEPS`` (integer data: as is);
        uses rounded up and the budget down, so every solution fits in float64 too."""
        prob, t = self.prob, self.t
        cap = prob.capacity
        integral = _is_integral(t.use[t.allowed]) and _is_integral(cap)
        for s in np.flatnonzero(np.isfinite(cap)):
            jobs = np.flatnonzero(t.allowed[:, s])
            if t.use[jobs, s].sum() <= cap[s]:
                continue                # cannot bind
            if integral:
                a, b = t.use[jobs, s].astype(np.int64), int(cap[s])
            else:
                unit = max(cap[s], 1e-300) / CAPACITY_STEPS
                a = np.ceil(t.use[jobs, s] / unit).astype(np.int64)
                b = int(math.floor(cap[s] / unit))
            self.model.add(sum(int(ai) * self.y[int(i), int(s)] for ai, i in zip(a, jobs))
                           <= b)

    def _server(self, s: int, idle_rate: float) -> None:
        """Server ``s``'s schedule in dispatch order, and its idle energy.

        Equalities: a job's start there is ``S = max(r, R_prev)`` and the running last
        completion ``R`` becomes ``S + p`` where the job runs, else stays ``R_prev``, so
        every solution carries the model's non-delay schedule exactly. The optional
        intervals' no-overlap constraint is implied by the order, and there to
        strengthen propagation and cuts.
        """
        m, t, prob = self.model, self.t, self.prob
        jobs = np.flatnonzero(t.allowed[:, s])
        if jobs.size == 0:
            return
        r = self.steps(prob.release[jobs])
        p = self.steps(t.p[jobs, s])
        ub = np.maximum.accumulate(r) + np.cumsum(p)
        R_prev = None
        starts, intervals = [], []
        for pos, job in enumerate(jobs):
            i = int(job)
            y = self.y[i, s]
            if R_prev is None:
                S = int(r[pos])        # nothing before it: it starts at its release
            else:
                S = m.new_int_var(int(r[pos]), int(ub[pos] - p[pos]), f"S{i}_{s}")
                m.add_max_equality(S, [int(r[pos]), R_prev])
                self.n_vars += 1
            intervals.append(m.new_optional_fixed_size_interval_var(
                S, int(p[pos]), y, f"I{i}_{s}"))
            R = m.new_int_var(0, int(ub[pos]), f"R{i}_{s}")
            m.add(R == S + int(p[pos])).only_enforce_if(y)
            m.add(R == (R_prev if R_prev is not None else 0)).only_enforce_if(~y)
            # redundant, linear without big-M: the running completion grows by the work
            # of every job run, from each job's release on (the LP then sees queues)
            m.add(R >= int(r[pos] + p[pos]) * y)
            if R_prev is not None:
                m.add(R >= R_prev + int(p[pos]) * y)
            self.S[i, s], self.R[i, s] = S, R
            self.n_vars += 1
            if t.penalised[i]:
                m.add(self.completion(i) == S + int(p[pos])).only_enforce_if(y)
            starts.append((S, y))
            R_prev = R
        m.add_no_overlap(intervals)
        if idle_rate > 0:
            # on: the first job's start, the largest value not after any assigned job's
            # start nor after the last completion (0 on an unused server); the objective
            # pushes it up, so it is exact at every optimum; a solution with a lower
            # ``on`` over-charges idle energy, never under-charges (the bound stays valid)
            on = self.on[s] = m.new_int_var(0, int(ub[-1]), f"on{s}")
            m.add(on <= R_prev)
            # redundant, linear without big-M: the server is on at least while it works
            m.add(R_prev - on >= sum(int(q) * self.y[int(i), s] for q, i in zip(p, jobs)))
            for S, y in starts:
                m.add(on <= S).only_enforce_if(y)
            self.n_vars += 1
            c = self.units(idle_rate)
            self.obj.append((c, R_prev))                  # off: the last completion
            self.obj.append((-c, on))

    def completion(self, i: int):
        """Job ``i``'s completion variable, bounded by its latest completion anywhere."""
        C = self.C.get(i)
        if C is None:
            C = self.C[i] = self.model.new_int_var(0, int(self.c_ub[i]), f"C{i}")
            # redundant, linear without big-M: the LP sees the job's own processing time
            srv = [s for s in np.flatnonzero(self.t.allowed[i])]
            ps = self.steps(self.t.p[i, srv])
            r = int(self.steps(self.prob.release[i]))
            self.model.add(C >= r + sum(int(q) * self.y[i, int(s)] for q, s in zip(ps, srv)))
            self.n_vars += 1
        return C

    def _penalties(self) -> None:
        m, prob, t = self.model, self.prob, self.t
        d = self.steps(np.where(np.isfinite(prob.due), prob.due, 0.0))
        for i, C in self.C.items():
            w = prob.lam * prob.pen_weight[i]
            srv = [int(s) for s in np.flatnonzero(t.allowed[i])]
            # the lateness a job has on a server with nothing before it: redundant, per
            # server (the aggregated ``C >= r + sum p y`` only sees its average)
            early = int(self.steps(prob.release[i]))
            own = [early + int(self.steps(t.p[i, s])) - int(d[i]) for s in srv]
            if prob.pen_kind[i] == PEN_LINEAR:
                T = self.T[i] = m.new_int_var(0, max(int(self.c_ub[i]) - int(d[i]), 0),
                                              f"T{i}")
                m.add_max_equality(T, [C - int(d[i]), 0])
                if any(o > 0 for o in own):
                    m.add(T >= sum(o * self.y[i, s] for o, s in zip(own, srv) if o > 0))
                self.obj.append((self.units(w / prob.pen_scale[i] * self.tu), T))
            else:
                b = self.late[i] = m.new_bool_var(f"late{i}")
                m.add(C >= int(d[i]) + 1).only_enforce_if(b)
                m.add(C <= int(d[i])).only_enforce_if(~b)
                for o, s in zip(own, srv):
                    if o > 0:
                        m.add_implication(self.y[i, s], b)
                self.obj.append((self.units(w), b))
            self.n_vars += 1

    def hint(self, x_internal: np.ndarray) -> None:
        """Hint every variable from one assignment (internal order): the integer
        schedule it implies, so that CP-SAT starts from a complete feasible solution
        where the assignment fits the (rounded) capacities."""
        m, t, prob = self.model, self.t, self.prob
        xs = np.asarray(x_internal, np.int64)
        for (i, s), v in self.y.items():
            m.add_hint(v, bool(xs[i] == s))
        r = self.steps(prob.release)
        d = self.steps(np.where(np.isfinite(prob.due), prob.due, 0.0))
        comp = np.zeros(prob.n_jobs, np.int64)
        for s in range(prob.n_servers):
            last, first = 0, None
            for i in np.flatnonzero(t.allowed[:, s]):
                i = int(i)
                start = max(int(r[i]), last)
                if xs[i] == s:
                    last = start + int(self.steps(t.p[i, s]))
                    comp[i] = last
                    first = start if first is None else first
                S, R = self.S.get((i, s)), self.R.get((i, s))
                if S is not None and not isinstance(S, int):
                    m.add_hint(S, start)
                if R is not None:
                    m.add_hint(R, last)
            if s in self.on:
                m.add_hint(self.on[s], 0 if first is None else first)
        for i, C in self.C.items():
            m.add_hint(C, int(comp[i]))
        for i, T in self.T.items():
            m.add_hint(T, max(int(comp[i] - d[i]), 0))
        for i, b in self.late.items():
            m.add_hint(b, bool(comp[i] > d[i]))


def integer_schedule(problem: ProblemArrays, x_internal: np.ndarray,
                     tu: float) -> tuple[np.ndarray, np.ndarray]:
    """The model's integer schedule of one assignment (internal order): completions in
    time steps, and the number of jobs before each on its server."""
    prob = problem
    n = prob.n_jobs
    s_of = np.asarray(x_internal, np.int64)
    p = np.rint(prob.proc_time(np.arange(n), s_of) / tu) if n else np.zeros(0)
    r = np.rint(prob.release / tu)
    comp, before = np.zeros(n), np.zeros(n, np.int64)
    last: dict = {}
    count: dict = {}
    for i in range(n):
        s = int(s_of[i])
        comp[i] = max(r[i], last.get(s, 0.0)) + p[i]
        before[i] = count.get(s, 0)
        last[s], count[s] = comp[i], before[i] + 1
    return comp, before


def rounding_bound(problem: ProblemArrays, x_internal: np.ndarray, tu: float,
                   cu: float) -> float:
    """Bound on ``|model objective - float64 objective|`` of one assignment (internal
    order), in currency.

    Coefficients: each is within ``cu / 2`` of its value, times its variable's value in
    the integer schedule. Times: every rounded release and processing time is within
    ``tu / 2`` and ``max`` does not grow errors, so a completion with ``k`` jobs before it
    on its server is within ``(k + 2) tu / 2`` of the float64 one; that moves a linear
    penalty by ``lam w / sigma`` times it and the idle energy by the idle rate times the
    on-time's error; a step penalty moves by ``lam w`` where the rounding flips lateness
    (found by replaying the integer schedule).
    """
    prob = problem
    s_of = np.asarray(x_internal, np.int64)
    comp_int, before = integer_schedule(prob, s_of, tu)
    ev = evaluate(prob, prob.to_caller(s_of))
    comp = ev.completion[prob.order]
    pen = (np.isfinite(prob.due) & (prob.pen_weight > 0) & (prob.lam > 0))
    due_int = np.rint(np.where(np.isfinite(prob.due), prob.due, 0.0) / tu)
    w = prob.lam * prob.pen_weight
    total = 0.5 * cu * prob.n_jobs                                    # pair costs
    lin = pen & (prob.pen_kind == PEN_LINEAR)
    stp = pen & (prob.pen_kind == PEN_STEP)
    late_int = np.maximum(comp_int - due_int, 0.0)
    total += float((0.5 * cu * late_int[lin]).sum())                  # linear: coefficient
    total += float((w[lin] / prob.pen_scale[lin] * (before[lin] + 2) * tu / 2).sum())
    total += 0.5 * cu * int(stp.sum())                                # step: coefficient
    flips = stp & ((comp_int > due_int) != (comp > prob.due))
    total += float(w[flips].sum())
    idle = prob.idle_w * prob.price_const / JOULES_PER_KWH           # currency per second
    r_int = np.rint(prob.release / tu)
    for s in np.unique(s_of):
        if idle[s] <= 0:
            continue
        on = s_of == s
        first, last = np.flatnonzero(on)[[0, -1]]
        total += 0.5 * cu * (comp_int[last] + r_int[first])          # idle: coefficient
        total += idle[s] * ((before[last] + 2) * tu / 2 + tu / 2)     # idle: times
    return float(total)


class _Incumbents:
    """CP-SAT's solution callback: each improving solution, re-scored in float64."""

    def __init__(self, cp_model, prob: ProblemArrays, y: dict, t0: float):
        self.prob, self.y, self.t0 = prob, y, t0
        self.points: list = []
        outer = self

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self):
                x = _read_assignment(outer.prob, outer.y, self.boolean_value)
                ev = evaluate(outer.prob, outer.prob.to_caller(x))
                outer.points.append((time.perf_counter() - outer.t0, float(ev.objective)))

        self.callback = Callback()


def _read_assignment(prob: ProblemArrays, y: dict, value) -> np.ndarray:
    x = np.full(prob.n_jobs, -1, np.int64)
    for (i, s), v in y.items():
        if value(v):
            x[i] = s
    return x


def build_model(problem, *, time_unit: float | None = None, cost_unit: float | None = None,
                hint=None):
    """The CP-SAT model of a problem (see the module's docstring), without solving it.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    time_unit, cost_unit : float, optional
        The integer units (:func:`model_units`).
    hint : array (n_jobs,) of int, optional
        An assignment (caller's order): every variable is hinted from the integer
        schedule it implies, a complete solution where it fits the rounded capacities.

    Returns
    -------
    model : ortools.sat.python.cp_model.CpModel
    y : dict
        ``(job, server) -> Boolean`` (internal job order).
    time_unit, cost_unit : float
    """
    prob = as_problem(problem)
    check_cpsat_model(prob)
    cp_model = require_ortools()
    tu, cu = model_units(prob, time_unit, cost_unit)
    b = _Builder(cp_model, prob, tu, cu).build()
    if hint is not None:
        b.hint(prob.to_internal(np.asarray(hint, np.int64)))
    return b.model, b.y, tu, cu


_STATUS = {"OPTIMAL": "optimal", "FEASIBLE": "time_limit", "UNKNOWN": "time_limit",
           "INFEASIBLE": "infeasible", "MODEL_INVALID": "error"}


def solve_cpsat(problem, *, time_limit: float | None = 60.0, workers: int = 2,
                hint=None, seed: int = 0, time_unit: float | None = None,
                cost_unit: float | None = None, log: bool = False,
                portfolio: bool = True) -> CpsatResult:
    """Solve the model exactly (up to its integer units) with OR-Tools CP-SAT.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
        A fleet with constant prices, one-GPU servers and jobs, step or linear
        penalties (releases, capacities, forbidden pairs, idle power), or a generic
        assignment problem.
    time_limit : float, optional
        Wall seconds for CP-SAT (None: none); at the limit the best assignment and the
        bound are returned (status ``time_limit``).
    workers : int
        CP-SAT's parallel workers (threads).
    hint : array (n_jobs,) of int, optional
        An assignment (caller's order), e.g. an annealed one, given to CP-SAT as a hint.
    seed : int
        CP-SAT's random seed. A run that proves optimality returns the optimum's value
        whatever the seed; one stopped by ``time_limit`` with several workers depends on
        timing.
    time_unit, cost_unit : float, optional
        The integer units (:func:`model_units`).
    log : bool
        CP-SAT's search log on stdout.
    portfolio : bool
        With one worker, linearization level 2; with two, the subsolvers
        :data:`PORTFOLIO_2` (``max_lp``, and LNS); more workers keep CP-SAT's default
        portfolio (not measured). False: CP-SAT's defaults whatever the workers.

    Returns
    -------
    CpsatResult

    Raises
    ------
    NotImplementedError
        What the model cannot represent (:func:`check_cpsat_model`).
    ImportError
        Without OR-Tools.
    """
    prob = as_problem(problem)
    check_cpsat_model(prob)
    cp_model = require_ortools()
    if workers < 1:
        raise ValueError(f"workers: expected a whole number >= 1, got {workers}")
    t0 = time.perf_counter()
    model, y, tu, cu = build_model(prob, time_unit=time_unit, cost_unit=cost_unit,
                                   hint=hint)
    n_vars = len(model.proto.variables)
    solver = cp_model.CpSolver()
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    solver.parameters.log_search_progress = bool(log)
    if portfolio and workers == 1:
        solver.parameters.linearization_level = 2
    elif portfolio and workers == 2:
        solver.parameters.subsolvers.extend(PORTFOLIO_2)
    inc = _Incumbents(cp_model, prob, y, t0)
    code = solver.solve(model, inc.callback)
    seconds = time.perf_counter() - t0
    status = _STATUS.get(solver.status_name(code), "error")
    has_x = status in ("optimal",) or code == cp_model.FEASIBLE
    sense = prob.sense
    if not has_x:
        bound = sense * solver.best_objective_bound * cu if status == "time_limit" else math.nan
        return CpsatResult(x=None, objective=math.nan, bound=bound, gap=math.inf,
                           status=status, seconds=seconds, time_unit=tu, cost_unit=cu,
                           message=f"CP-SAT found no assignment ({status}).",
                           n_variables=n_vars, workers=workers,
                           n_constraints=len(model.proto.constraints),
                           trajectory=inc.points)
    xi = _read_assignment(prob, y, solver.boolean_value)
    x = prob.to_caller(xi).astype(np.int64)
    ev = evaluate(prob, x)
    model_obj = solver.objective_value * cu
    bound_s = solver.best_objective_bound * cu
    gap = abs(ev.search_objective - bound_s) / max(abs(ev.search_objective), 1e-12)
    rnd = 0.0 if (tu == 1.0 and cu == 1.0 and prob.kind == "assignment") else \
        rounding_bound(prob, xi, tu, cu)
    if status == "optimal":
        msg = (f"CP-SAT proved optimality of its integer model (time unit {tu:g} s, cost "
               f"unit {cu:.3g}; float64 re-score within {rnd:.3g} of it).")
    else:
        msg = (f"CP-SAT stopped ({status}) with objective {ev.objective:.10g}, bound "
               f"{sense * bound_s:.10g}, gap {gap:.3%}.")
    return CpsatResult(x=x, objective=ev.objective, bound=sense * bound_s, gap=gap,
                       status=status, seconds=seconds, model_objective=sense * model_obj,
                       rounding=rnd, time_unit=tu, cost_unit=cu, message=msg,
                       n_variables=n_vars, n_constraints=len(model.proto.constraints),
                       workers=workers, trajectory=inc.points, evaluation=ev)
