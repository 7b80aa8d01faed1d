"""Compile a fleet, or plain assignment arrays, into :class:`ProblemArrays`.

The compiled form is a struct of flat arrays that every backend reads. Its size grows with
``n_jobs + n_servers + n_job_classes * n_server_classes``, never ``n_jobs * n_servers``:

* jobs are stored **in dispatch order** (ascending ``(due, release, index)``; no deadline
  last), so a server's jobs run in ascending internal index. ``order[i]`` is the caller's
  index of internal job ``i``; assignments cross the API boundary in the caller's order.
* processing time ``p[j, s] = work[j] * work_scale[k, g] / throughput[k, g]`` with
  ``k = job_class[j]``, ``g = server_class[s]`` (fleets: scale 1, so exactly work /
  throughput as the model says; assignment problems: throughput 1, scale = resource use);
  dynamic power ``dyn_w[k, g]``; a per-assignment cost ``fixed_cost[k, g]`` (generic
  assignment problems; zero for fleets); ``allowed[k, g]``.
* a server pays ``price_const[s]`` per kWh, or follows curve ``curve_id[s] >= 0``: the
  price the SEARCH sees, electricity plus carbon (docs/model.md, part 2). A curve either
  repeats with its period (``curve_repeat[c] = 1``) or holds its last value after its
  last step (0: a market series). Prices may be negative.
* carbon (part 2): the result's figures keep electricity and carbon apart. The
  electricity price alone is ``energy_const[s]`` / curve ``energy_curve[s]``, the carbon
  intensity (g/kWh) ``carbon_const[s]`` / curve ``carbon_curve[s]``, both into the same
  curve tables, and ``carbon_price`` is per kg. The search's price is their sum
  ``price + carbon_price * carbon / 1000`` per server, merged at compile time into one
  curve (:func:`merge_curves`): with ``carbon_price`` 0 it is the electricity price as
  given (part-1 figures unchanged).
* holds (docs/model.md, part 3): ``hold_max[j]`` seconds a job may wait after its release
  (its own ``hold_max_s``, else the fleet's; zeros for generic assignment problems).
* multi-GPU nodes (docs/model.md, part 2): a node has ``server_gpus[s]`` GPUs and a job
  needs ``job_gpus[j]`` of them at once. Job classes are (model, GPUs asked) and server
  classes (GPU type, GPUs on the node), so ``allowed`` also says whether the node is
  large enough; a gang of ``k`` runs ``k * efficiency(k)`` times as fast as one GPU
  (``work_scale = 1 / (k * efficiency(k))``) and draws ``dyn_w = k * (power - idle)``; it
  uses ``k * p`` GPU-seconds of capacity; ``idle_w[s]`` is the node's whole idle draw,
  ``gpus * idle(g) + base_w``. With one GPU everywhere the classes are the models and
  GPU types and every value is part 1's exactly.
"""
from __future__ import annotations

import decimal
import math
import warnings
from dataclasses import dataclass, fields

import numpy as np

from .model import EXP_CAP, PENALTY_KINDS, Fleet  # noqa: F401  (EXP_CAP re-exported)
from .validate import MAX_VALUE, is_real, show_value, to_float

# the penalty codes, named once (kernels/layout.py, satea.model.PENALTY_KINDS order)
from .kernels.layout import PEN_EXP, PEN_LINEAR, PEN_NONE, PEN_STEP  # noqa: E402,F401
# how far past its capacity a server's busy time is rounding (docs/model.md)
from .kernels.layout import CAPACITY_RTOL  # noqa: E402,F401


@dataclass(frozen=True, eq=False)
class ProblemArrays:
    """The compiled problem. All float arrays are float64, index arrays int32.

    Attributes are grouped: jobs (length ``n_jobs``, dispatch order), servers (length
    ``n_servers``), class tables (``n_job_classes x n_server_classes``), price curves
    (concatenated), and proposal helpers (servers grouped by class).
    """

    # jobs, in dispatch order
    order: np.ndarray          # int64, caller's index of internal job i
    job_class: np.ndarray      # int32
    work: np.ndarray
    release: np.ndarray
    due: np.ndarray            # +inf: no deadline
    pen_kind: np.ndarray       # int32, PEN_*
    pen_weight: np.ndarray
    pen_scale: np.ndarray
    # servers
    server_class: np.ndarray   # int32
    idle_w: np.ndarray
    price_const: np.ndarray    # currency/kWh, used where curve_id < 0
    curve_id: np.ndarray       # int32, -1: constant price
    capacity: np.ndarray       # busy GPU-seconds (or resource units); +inf: unlimited
    # (job class x server class) tables
    allowed: np.ndarray        # uint8
    work_scale: np.ndarray     # p = work * work_scale / throughput
    throughput: np.ndarray     # work units per second (1 where forbidden)
    dyn_w: np.ndarray          # dynamic power while running (W)
    fixed_cost: np.ndarray     # cost per assignment (generic problems)
    # price curves: curve c has values curve_vals[curve_start[c] : curve_start[c] + curve_len[c]]
    # and prefix integrals curve_cum[curve_start[c] + c : ... + curve_len[c] + 1]
    curve_start: np.ndarray    # int32
    curve_len: np.ndarray      # int32
    curve_step: np.ndarray
    curve_vals: np.ndarray
    curve_cum: np.ndarray      # (currency/kWh) * s
    # proposal helpers: servers of class g are servers_by_class[class_ptr[g]:class_ptr[g+1]];
    # allowed_cum[k, g] = number of servers allowed for job class k in classes < g
    class_ptr: np.ndarray      # int32
    servers_by_class: np.ndarray  # int32
    allowed_cum: np.ndarray    # int32, (K, G+1)
    # nodes and gang jobs (part 2): GPUs per job (dispatch order) and per server
    job_gpus: np.ndarray = None     # type: ignore[assignment]  # int32; None: all ones
    server_gpus: np.ndarray = None  # type: ignore[assignment]  # int32; None: all ones
    # holds (part 3): the longest a job may wait after its release (dispatch order)
    hold_max: np.ndarray = None     # type: ignore[assignment]  # float64; None: all zeros
    # part 2's series and carbon: None when built without them (filled in __post_init__)
    curve_repeat: np.ndarray = None  # type: ignore[assignment]  # uint8 per curve; 1 repeats
    energy_const: np.ndarray = None  # type: ignore[assignment]  # electricity price alone
    energy_curve: np.ndarray = None  # type: ignore[assignment]  # int32, -1: constant
    carbon_const: np.ndarray = None  # type: ignore[assignment]  # g CO2e per kWh
    carbon_curve: np.ndarray = None  # type: ignore[assignment]  # int32, -1: constant
    carbon_price: float = 0.0        # currency per kg CO2e
    has_carbon: bool = False         # some server has a carbon intensity: report carbon_kg
    lam: float = 1.0
    name: str = "problem"
    job_names: tuple = ()      # caller's order
    server_names: tuple = ()
    sense: int = 1             # +1 minimise; -1: the caller maximises, objective negated
    kind: str = "fleet"        # "fleet" or "assignment"

    def __post_init__(self):
        # built by hand (tests, tools) without the part-2 fields: one GPU everywhere
        if self.job_gpus is None:
            object.__setattr__(self, "job_gpus", np.ones(self.work.shape[0], np.int32))
        if self.server_gpus is None:
            object.__setattr__(self, "server_gpus",
                               np.ones(self.server_class.shape[0], np.int32))
        if self.hold_max is None:
            object.__setattr__(self, "hold_max", np.zeros(self.work.shape[0], np.float64))
        m = self.server_class.shape[0]
        defaults = {"curve_repeat": np.ones(self.curve_len.shape[0], np.uint8),
                    "energy_const": self.price_const, "energy_curve": self.curve_id,
                    "carbon_const": np.zeros(m), "carbon_curve": np.full(m, -1, np.int32)}
        for f, v in defaults.items():
            if getattr(self, f) is None:
                object.__setattr__(self, f, v)

    @property
    def has_holds(self) -> bool:
        """Whether some job may be held (a ``hold_max`` above 0: docs/model.md, part 3)."""
        return bool((self.hold_max > 0).any())

    @property
    def multi_gpu(self) -> bool:
        """Whether some node has more than one GPU (the node schedule of part 2)."""
        return bool((self.server_gpus > 1).any())

    @property
    def max_gpus(self) -> int:
        """GPUs of the largest node (1 for part-1 problems)."""
        return int(self.server_gpus.max()) if self.server_gpus.size else 1

    def busy_use(self, jobs: np.ndarray, servers: np.ndarray) -> np.ndarray:
        """Capacity used (GPU-seconds) by each paired (internal job, server)."""
        return self.job_gpus[jobs] * self.proc_time(jobs, servers)

    def __repr__(self) -> str:   # short: the arrays are attributes
        return (f"ProblemArrays(name={self.name!r}, kind={self.kind!r}, n_jobs={self.n_jobs}, "
                f"n_servers={self.n_servers}, classes={self.n_job_classes}x"
                f"{self.n_server_classes}, lam={self.lam:g})")

    @property
    def n_jobs(self) -> int:
        return int(self.work.shape[0])

    @property
    def n_servers(self) -> int:
        return int(self.server_class.shape[0])

    @property
    def n_job_classes(self) -> int:
        return int(self.allowed.shape[0])

    @property
    def n_server_classes(self) -> int:
        return int(self.allowed.shape[1])

    @property
    def has_capacity(self) -> bool:
        return bool(np.isfinite(self.capacity).any())

    def within_capacity(self, busy: np.ndarray) -> np.ndarray:
        """Whether each server's busy time (last axis: servers) is within its capacity:
        past it by at most :data:`CAPACITY_RTOL` of it. Busy times are float64 sums whose
        last bits depend on the order they are added in (the evaluator's dispatch order,
        the search's running sums), so a tie between a sum and a capacity is not left to
        rounding (docs/model.md, "Capacity and feasibility")."""
        return np.asarray(busy) - self.capacity <= CAPACITY_RTOL * self.capacity

    def nbytes(self) -> int:
        """Bytes held by the arrays (grows with N + S + K*G)."""
        return sum(getattr(self, f.name).nbytes for f in fields(self)
                   if isinstance(getattr(self, f.name), np.ndarray))

    def n_allowed(self) -> np.ndarray:
        """Number of allowed servers per job (internal order)."""
        return self.allowed_cum[self.job_class, -1]

    def proc_time(self, jobs: np.ndarray, servers: np.ndarray) -> np.ndarray:
        """Processing times p[j, s] for paired index arrays (internal job indices)."""
        k = self.job_class[jobs]
        g = self.server_class[servers]
        return self.work[jobs] * self.work_scale[k, g] / self.throughput[k, g]

    def is_allowed(self, jobs: np.ndarray, servers: np.ndarray) -> np.ndarray:
        return self.allowed[self.job_class[jobs], self.server_class[servers]] != 0

    def to_internal(self, x_caller: np.ndarray) -> np.ndarray:
        """Assignment(s) in the caller's job order -> internal (dispatch) order."""
        x_caller = np.asarray(x_caller)
        return np.ascontiguousarray(x_caller[..., self.order]).astype(np.int32)

    def to_caller(self, x_internal: np.ndarray) -> np.ndarray:
        """Assignment(s) in internal order -> the caller's job order."""
        x_internal = np.asarray(x_internal)
        out = np.empty_like(x_internal)
        out[..., self.order] = x_internal
        return out

    def subproblem(self, jobs: np.ndarray, servers: np.ndarray) -> ProblemArrays:
        """The problem restricted to internal jobs ``jobs`` (ascending: dispatch order is
        kept) and servers ``servers``; class tables and price curves are shared. Used to
        size a schedule on a sample of a large fleet."""
        from dataclasses import replace
        jobs = np.asarray(jobs, np.int64)
        servers = np.asarray(servers, np.int64)
        sc = self.server_class[servers]
        class_ptr, sbc, acum = _proposal_tables(self.allowed, sc)
        return replace(
            self, order=np.arange(jobs.size, dtype=np.int64), job_class=self.job_class[jobs],
            work=self.work[jobs], release=self.release[jobs], due=self.due[jobs],
            pen_kind=self.pen_kind[jobs], pen_weight=self.pen_weight[jobs],
            pen_scale=self.pen_scale[jobs], server_class=sc, idle_w=self.idle_w[servers],
            price_const=self.price_const[servers], curve_id=self.curve_id[servers],
            energy_const=self.energy_const[servers], energy_curve=self.energy_curve[servers],
            carbon_const=self.carbon_const[servers], carbon_curve=self.carbon_curve[servers],
            capacity=self.capacity[servers], class_ptr=class_ptr, servers_by_class=sbc,
            allowed_cum=acum, job_gpus=self.job_gpus[jobs],
            server_gpus=self.server_gpus[servers], hold_max=self.hold_max[jobs],
            name=f"{self.name} (sample)",
            job_names=tuple(f"j{i}" for i in range(jobs.size)),
            server_names=tuple(self.server_names[s] for s in servers.tolist()))

    def with_lambda(self, lam: float) -> ProblemArrays:
        """The same problem at penalty weight ``lam``: a number, finite and >= 0 (the rule
        of anneal's and pareto's lambdas); anything else is a ValueError naming lambda."""
        from dataclasses import replace
        return replace(self, lam=check_lambda(lam))


def check_lambda(lam, name: str = "lambda") -> float:
    """``lam`` as a float: a real number (not a bool or a string), >= 0 and at most
    :data:`~satea.validate.MAX_VALUE` like an instance's ``lambda`` (the rule of anneal's
    and pareto's lambdas); anything else is a ValueError naming ``name``."""
    if isinstance(lam, np.ndarray) and lam.ndim == 0:   # a 0-d array: its number
        lam = lam.item()
    if not (is_real(lam) or isinstance(lam, decimal.Decimal)):
        raise ValueError(f"{name}: expected a number, got {show_value(lam)}")
    v = to_float(lam)   # too large for a float: inf, refused below
    if not (math.isfinite(v) and 0 <= v <= MAX_VALUE):
        raise ValueError(f"{name}: must be >= 0 and at most {MAX_VALUE:g} (the model's "
                         f"limit), got {show_value(lam)}")
    return v


def as_problem(problem) -> ProblemArrays:
    """``problem`` compiled: a :class:`~satea.model.Fleet` goes through
    :func:`compile_fleet`, a :class:`ProblemArrays` is returned as is."""
    if isinstance(problem, ProblemArrays):
        return problem
    if isinstance(problem, Fleet):
        return compile_fleet(problem)
    raise TypeError(f"problem: expected a Fleet or ProblemArrays, got {type(problem).__name__}")


def _dispatch_order(due: np.ndarray, release: np.ndarray) -> np.ndarray:
    # ascending (due, release, index); +inf due sorts last; lexsort keys are last-major
    n = due.shape[0]
    return np.lexsort((np.arange(n), release, due))


def _proposal_tables(allowed: np.ndarray, server_class: np.ndarray):
    n_classes = allowed.shape[1]
    counts = np.bincount(server_class, minlength=n_classes).astype(np.int64)
    class_ptr = np.zeros(n_classes + 1, np.int64)
    np.cumsum(counts, out=class_ptr[1:])
    servers_by_class = np.argsort(server_class, kind="stable").astype(np.int32)
    allowed_cum = np.zeros((allowed.shape[0], n_classes + 1), np.int64)
    np.cumsum(allowed.astype(np.int64) * counts[None, :], axis=1, out=allowed_cum[:, 1:])
    return class_ptr.astype(np.int32), servers_by_class, allowed_cum.astype(np.int32)


def _curve_tables(curves: list):
    """Concatenated tables of ``(step, values[, repeat])`` curves (see ProblemArrays)."""
    starts, lens, steps, vals, cums = [], [], [], [], []
    pos = 0
    for step, v, *_rest in curves:
        v = np.asarray(v, np.float64)
        starts.append(pos)
        lens.append(v.size)
        steps.append(step)
        vals.append(v)
        cum = np.zeros(v.size + 1)
        np.cumsum(v * step, out=cum[1:])
        cums.append(cum)
        pos += v.size
    def cat(xs):
        return np.concatenate(xs) if xs else np.zeros(0)
    return (np.asarray(starts, np.int32), np.asarray(lens, np.int32),
            np.asarray(steps, np.float64), cat(vals), cat(cums))


#: a merged price + carbon curve longer than this many steps is refused (docs/model.md)
MAX_MERGED_STEPS = 4_000_000


@dataclass(frozen=True)
class ServerSeries:
    """Per-server price and carbon sources of a fleet, indices into ``curves`` (a list of
    ``(step, values, repeat)``: the price curves, then the carbon curves, then the merged
    curves the search follows)."""

    curves: list
    energy_const: np.ndarray
    energy_curve: np.ndarray
    carbon_const: np.ndarray
    carbon_curve: np.ndarray
    price_const: np.ndarray    # what the search pays: electricity + carbon cost
    curve_id: np.ndarray


def _time_bound(work, earliest, job_class, allowed, work_scale, throughput) -> float:
    """A time no schedule reaches: the latest of the jobs' latest earliest starts
    (``earliest``: release + hold allowance, docs/model.md part 3) plus every job's longest
    allowed run (a node's jobs never overtake, so its last completion is at most this)."""
    if work.size == 0:
        return 0.0
    rate = np.where(allowed != 0, work_scale / throughput, 0.0).max(axis=1)
    return float(earliest.max() + (work * rate[job_class]).sum())


def _server_series(fleet: Fleet, horizon, unheld=None) -> ServerSeries:
    """Electricity, carbon and (merged) search prices of every server. ``horizon()``: a
    time bound, asked only when a repeating curve must be merged with a non-repeating one
    (``unheld()``: the same bound without hold allowances)."""
    servers = fleet.servers
    m = len(servers)
    pnames = list(fleet.price_curves)
    cnames = list(fleet.carbon_curves)
    curves: list = [(c.step_s, np.asarray(c.prices_per_kwh, np.float64), int(c.repeat))
                    for c in fleet.price_curves.values()]
    curves += [(c.step_s, np.asarray(c.g_per_kwh, np.float64), int(c.repeat))
               for c in fleet.carbon_curves.values()]
    pi = {c: i for i, c in enumerate(pnames)}
    ci = {c: len(pnames) + i for i, c in enumerate(cnames)}
    e_const = np.array([0.0 if s.price_per_kwh is None else s.price_per_kwh for s in servers],
                       np.float64)
    e_curve = np.array([-1 if s.price_curve is None else pi[s.price_curve] for s in servers],
                       np.int32)
    c_const = np.array([0.0 if s.carbon_g_per_kwh is None else s.carbon_g_per_kwh
                        for s in servers], np.float64)
    c_curve = np.array([-1 if s.carbon_curve is None else ci[s.carbon_curve] for s in servers],
                       np.int32)
    price_const, curve_id = e_const.copy(), e_curve.copy()
    w = float(fleet.carbon_price_per_kg) / 1000.0    # currency per g
    merged: dict = {}
    if w > 0:
        for s in range(m):
            if c_curve[s] < 0 and c_const[s] == 0.0:
                continue                      # no carbon: the electricity price as given
            key = (int(e_curve[s]), float(e_const[s]), int(c_curve[s]), float(c_const[s]))
            if key not in merged:
                if e_curve[s] < 0 and c_curve[s] < 0:
                    merged[key] = None
                else:
                    a = curves[e_curve[s]] if e_curve[s] >= 0 else None
                    b = curves[c_curve[s]] if c_curve[s] >= 0 else None
                    try:
                        curve = merge_curves(a, e_const[s], b, c_const[s], w, horizon,
                                             unheld)
                    except ValueError as e:
                        raise ValueError(f"server {servers[s].name!r}: {e}") from None
                    merged[key] = len(curves)
                    curves.append(curve)
            cid = merged[key]
            if cid is None:
                price_const[s] = e_const[s] + w * c_const[s]
            else:
                curve_id[s] = cid
                price_const[s] = 0.0
    return ServerSeries(curves, e_const, e_curve, c_const, c_curve, price_const, curve_id)


def merge_curves(a, a_const: float, b, b_const: float, w: float, horizon,
                 unheld=None) -> tuple:
    """The curve ``a + w * b`` as ``(step, values, repeat)``; ``a`` and ``b`` are
    ``(step, values, repeat)`` curves or None (then the constants ``a_const``,
    ``b_const`` stand in).

    Two curves of different steps or lengths are laid on a common grid whose step is
    the greatest common divisor of both steps (whole seconds): two non-repeating curves
    over the longer one's span (past it both hold their last values, so does the sum);
    two repeating ones over the least common multiple of their periods; a repeating one
    and a non-repeating one are unrolled up to ``horizon()`` (a time no schedule
    reaches) into a non-repeating curve. Raises ValueError when steps are not whole
    seconds or the common grid exceeds :data:`MAX_MERGED_STEPS` steps; but when only the
    jobs' hold allowances stretch it past them and ``unheld()`` (the bound without holds)
    fits, the curve is cut at :data:`MAX_MERGED_STEPS` steps with a warning.
    """
    if a is None or b is None:
        step, vals, rep = a if b is None else b
        vals = np.asarray(vals, np.float64)
        out = vals + w * b_const if b is None else a_const + w * vals
        return (float(step), out, int(rep))
    (sa, va, ra), (sb, vb, rb) = a, b
    va, vb = np.asarray(va, np.float64), np.asarray(vb, np.float64)
    if sa == sb and va.size == vb.size and ra == rb:
        return (float(sa), va + w * vb, int(ra))
    if not (float(sa).is_integer() and float(sb).is_integer()):
        raise ValueError(f"cannot merge a price curve of step {sa:g} s with a carbon curve "
                         f"of step {sb:g} s: steps must be whole seconds")
    ia, ib = int(sa), int(sb)
    step = math.gcd(ia, ib)
    pa, pb = ia * va.size, ib * vb.size
    if ra and rb:
        span, rep = math.lcm(pa, pb), 1
    elif not ra and not rb:
        span, rep = max(pa, pb), 0
    else:
        span, rep = max(pa if not ra else pb, int(math.ceil(horizon())) + 1), 0
    n = -(-span // step)
    if n > MAX_MERGED_STEPS and ra != rb and unheld is not None:
        # holds stretch the span past the limit: unroll what fits if that still covers
        # every schedule without holds; a job held past it is priced by the last step in
        # the search only (results are re-scored exactly), and the caller is told
        fits = MAX_MERGED_STEPS * step
        if fits >= max(pa if not ra else pb, int(math.ceil(unheld())) + 1):
            warnings.warn(f"the search's price (price + carbon) is unrolled to t = {fits:,} "
                          f"s of the {span:,} s that hold allowances reach: a job held "
                          f"past it is priced there by the last step in the search (its "
                          f"result is re-scored exactly); smaller allowances avoid this",
                          stacklevel=2)
            span, n = fits, MAX_MERGED_STEPS
    if n > MAX_MERGED_STEPS:
        why = ("" if ra == rb else f", up to t = {span:,} s, which schedules can reach "
               f"(the latest release plus its hold allowance plus every job's run)")
        raise ValueError(f"merging its price curve (step {ia} s, {va.size} steps) and carbon "
                         f"curve (step {ib} s, {vb.size} steps) needs {n:,} steps of {step} "
                         f"s{why}, more than {MAX_MERGED_STEPS:,}")
    t = np.arange(n, dtype=np.int64) * step

    def at(vals, st, period, repeat):
        tt = t % period if repeat else t
        return vals[np.minimum(tt // st, vals.size - 1)]
    return (float(step), at(va, ia, pa, ra) + w * at(vb, ib, pb, rb), rep)


def fleet_classes(fleet: Fleet) -> tuple[list, list]:
    """The compiled classes of a fleet: job classes ``(model, GPUs a job asks)`` and server
    classes ``(GPU type, GPUs a node has)``, each model's (type's) one-GPU class first and
    always present, so a part-1 fleet's classes are its models and GPU types in catalogue
    order."""
    job_k: dict = {m: {1} for m in fleet.models}
    for j in fleet.jobs:
        job_k[j.model].add(j.gpus)
    node_g: dict = {g: {1} for g in fleet.gpus}
    for sv in fleet.servers:
        node_g[sv.gpu].add(sv.gpus)
    return ([(m, k) for m in fleet.models for k in sorted(job_k[m])],
            [(g, n) for g in fleet.gpus for n in sorted(node_g[g])])


def compile_fleet(fleet: Fleet, lam: float | None = None) -> ProblemArrays:
    """Validate ``fleet`` and compile it.

    Job classes are the DNN models, server classes the GPU types (each split by the
    GPUs its jobs ask and its nodes have, where part 2's fields are used), so the class
    tables are ``n_job_classes x n_server_classes`` whatever the numbers of jobs and
    servers.

    Notes
    -----
    Time O(N log N + S + K*G), memory O(N + S + K*G).
    """
    from .validate import validate_fleet

    validate_fleet(fleet)
    job_classes, server_classes = fleet_classes(fleet)
    mi = {c: i for i, c in enumerate(job_classes)}
    gi = {c: i for i, c in enumerate(server_classes)}
    K, G = len(job_classes), len(server_classes)

    allowed = np.zeros((K, G), np.uint8)
    work_scale = np.zeros((K, G))
    throughput = np.ones((K, G))
    dyn_w = np.zeros((K, G))
    profiles = {(pr.model, pr.gpu): pr for pr in fleet.profiles}
    for (m, k), ki in mi.items():
        model = fleet.models[m]
        for (g, n), g_i in gi.items():
            pr = profiles.get((m, g))
            if pr is None or k > n or model.memory_gb > fleet.gpus[g].memory_gb:
                continue  # no profile, too few GPUs or does not fit: forbidden (contract)
            allowed[ki, g_i] = 1
            work_scale[ki, g_i] = 1.0 / (k * model.efficiency(k))
            throughput[ki, g_i] = pr.throughput
            dyn_w[ki, g_i] = k * max(pr.power_w - fleet.gpus[g].idle_w, 0.0)

    jobs = fleet.jobs
    n = len(jobs)
    due = np.array([np.inf if j.due_s is None else j.due_s for j in jobs], np.float64)
    release = np.array([j.release_s for j in jobs], np.float64)
    order = _dispatch_order(due, release)
    kinds = {k: i for i, k in enumerate(PENALTY_KINDS)}
    job_class = (np.array([mi[(j.model, j.gpus)] for j in jobs], np.int32)[order] if n
                 else np.zeros(0, np.int32))

    servers = fleet.servers
    server_class = np.array([gi[(s.gpu, s.gpus)] for s in servers], np.int32)
    work = np.array([j.samples for j in jobs], np.float64)
    hold_max = np.array([fleet.job_hold_max(j) for j in jobs], np.float64)
    jk = np.array([mi[(j.model, j.gpus)] for j in jobs], np.int64)
    series = _server_series(
        fleet, lambda: _time_bound(work, release + hold_max, jk, allowed, work_scale,
                                   throughput),
        lambda: _time_bound(work, release, jk, allowed, work_scale, throughput))
    cs, cl, cstep, cv, cc = _curve_tables(series.curves)
    class_ptr, sbc, acum = _proposal_tables(allowed, server_class)
    return ProblemArrays(
        order=order.astype(np.int64),
        job_class=job_class,
        work=work[order],
        release=release[order],
        due=due[order],
        pen_kind=np.array([kinds[j.penalty.kind] for j in jobs], np.int32)[order],
        pen_weight=np.array([j.penalty.weight for j in jobs], np.float64)[order],
        pen_scale=np.array([j.penalty.scale_s for j in jobs], np.float64)[order],
        server_class=server_class,
        idle_w=np.array([s.gpus * fleet.gpus[s.gpu].idle_w + s.base_w for s in servers],
                        np.float64),
        price_const=series.price_const, curve_id=series.curve_id,
        capacity=np.array([np.inf if s.capacity_s is None else s.capacity_s
                           for s in servers], np.float64),
        allowed=allowed, work_scale=work_scale, throughput=throughput, dyn_w=dyn_w,
        fixed_cost=np.zeros((K, G)),
        curve_start=cs, curve_len=cl, curve_step=cstep, curve_vals=cv, curve_cum=cc,
        class_ptr=class_ptr, servers_by_class=sbc, allowed_cum=acum,
        job_gpus=(np.array([j.gpus for j in jobs], np.int32)[order] if n
                  else np.zeros(0, np.int32)),
        server_gpus=np.array([s.gpus for s in servers], np.int32),
        hold_max=hold_max[order],
        curve_repeat=np.array([c[2] for c in series.curves], np.uint8),
        energy_const=series.energy_const, energy_curve=series.energy_curve,
        carbon_const=series.carbon_const, carbon_curve=series.carbon_curve,
        carbon_price=float(fleet.carbon_price_per_kg), has_carbon=fleet.has_carbon,
        lam=float(fleet.lam) if lam is None else check_lambda(lam), name=fleet.name,
        job_names=tuple(j.name for j in jobs), server_names=tuple(s.name for s in servers),
        kind="fleet",
    )


def compile_assignment(cost, resource=None, capacity=None, allowed=None, *,
                       maximize: bool = False, name: str = "assignment",
                       job_names=None, server_names=None) -> ProblemArrays:
    """Build the compiled form of a generic (generalized) assignment problem.

    Minimise ``sum_j cost[j, x_j]`` (maximise with ``maximize=True``) subject to
    ``sum_{j: x_j = s} resource[j, s] <= capacity[s]`` and ``allowed[j, x_j]``.

    Parameters
    ----------
    cost : array_like, shape (n_jobs, n_servers)
    resource : array_like, shape (n_jobs, n_servers), optional
        Resource use; needs ``capacity``.
    capacity : array_like, shape (n_servers,), optional
    allowed : array_like of bool, shape (n_jobs, n_servers), optional
    maximize : bool
    name : str
        The instance's name, written in results.
    job_names, server_names : sequence of str, optional
        One distinct name per job (row) and per server (column); default ``j1, j2, ...``
        and ``a1, a2, ...``. Results name jobs and servers by them.

    Notes
    -----
    Each job is its own class and each server its own class, so the tables are
    ``n_jobs x n_servers``: inherent to a dense input. The resource use plays the part
    of processing time (work 1), so capacities reuse the fleet machinery; there is no
    energy and no penalty.
    """
    from .validate import validate_assignment_arrays

    cost, resource, capacity, allowed = validate_assignment_arrays(cost, resource, capacity,
                                                                   allowed)
    n, m = cost.shape
    if not isinstance(maximize, (bool, np.bool_)):
        raise ValueError(f"maximize: expected True or False, got {show_value(maximize)}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {show_value(name)}")
    job_names = _names("job_names", job_names, n, "j")
    server_names = _names("server_names", server_names, m, "a")
    sense = -1 if maximize else 1
    job_class = np.arange(n, dtype=np.int32)
    server_class = np.arange(m, dtype=np.int32)
    allowed_u8 = allowed.astype(np.uint8)
    class_ptr, sbc, acum = _proposal_tables(allowed_u8, server_class)
    cs, cl, cstep, cv, cc = _curve_tables([])
    return ProblemArrays(
        order=np.arange(n, dtype=np.int64), job_class=job_class, work=np.ones(n),
        release=np.zeros(n), due=np.full(n, np.inf), pen_kind=np.zeros(n, np.int32),
        pen_weight=np.zeros(n), pen_scale=np.ones(n),
        server_class=server_class, idle_w=np.zeros(m), price_const=np.zeros(m),
        curve_id=np.full(m, -1, np.int32), capacity=capacity,
        allowed=allowed_u8, work_scale=resource, throughput=np.ones((n, m)), dyn_w=np.zeros((n, m)),
        fixed_cost=sense * cost,
        curve_start=cs, curve_len=cl, curve_step=cstep, curve_vals=cv, curve_cum=cc,
        class_ptr=class_ptr, servers_by_class=sbc, allowed_cum=acum, lam=1.0, name=name,
        job_names=job_names, server_names=server_names, sense=sense, kind="assignment",
    )


def _names(param: str, names, n: int, prefix: str) -> tuple:
    """``names`` checked: ``n`` distinct non-empty strings (results are keyed by them);
    None gives ``prefix1 .. prefixn``."""
    if names is None:
        return tuple(f"{prefix}{i + 1}" for i in range(n))
    if isinstance(names, (str, bytes)) or not np.iterable(names):
        raise ValueError(f"{param}: expected a sequence of {n} strings, got "
                         f"{show_value(names)}")
    out = tuple(names.tolist() if isinstance(names, np.ndarray) else names)
    if len(out) != n:
        raise ValueError(f"{param}: expected {n} names (one per "
                         f"{'row' if param == 'job_names' else 'column'} of cost), got "
                         f"{len(out)}")
    seen: dict[str, int] = {}
    for i, v in enumerate(out):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{param}[{i}]: expected a non-empty string, got {show_value(v)}")
        if v in seen:
            raise ValueError(f"{param}[{i}]: {v!r} is also {param}[{seen[v]}]; names must "
                             f"differ")
        seen[v] = i
    return out


def random_allowed_servers(rng, job_class, allowed, server_class, n_classes):
    """One uniformly random allowed server per job (vectorised per job class): the
    random starts of the generator's and the baselines' assignments."""
    counts = np.bincount(server_class, minlength=n_classes)
    by_class = np.argsort(server_class, kind="stable")
    ptr = np.concatenate(([0], np.cumsum(counts)))
    x = np.empty(job_class.shape[0], np.int64)
    for k in range(allowed.shape[0]):
        jobs = np.flatnonzero(job_class == k)
        if jobs.size == 0:
            continue
        cnt = allowed[k] * counts                # allowed servers per class
        cum = np.cumsum(cnt)
        r = rng.integers(0, cum[-1], size=jobs.size)
        g = np.searchsorted(cum, r, side="right")
        x[jobs] = by_class[ptr[g] + r - (cum[g] - cnt[g])]
    return x
