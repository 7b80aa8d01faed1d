"""Run settings: every default of an annealing run decided in one place.

:func:`resolve_settings` checks the arguments of :func:`satea.anneal` (and of
:func:`satea.pareto.pareto`, :mod:`satea.distributed` and ``satea bench``, which call it)
and fills in what the caller left out: chains, planned sweeps, the temperature schedule,
the capacity weight, the stop rule. The result is a :class:`RunSettings`; the run records
it (``AnnealResult.settings``, the ``settings`` field of result and front files) with what
the run then did, so that :func:`repeat_kwargs` can repeat the run exactly.

Stop rules (``stop``):

``"sweeps"``
    Run the planned sweeps of a geometric schedule. A ``time_limit`` is a cap: a run cut
    by it has not reached its cold end.
``"time"``
    The run fills its ``time_limit``: the temperature follows the elapsed fraction of the
    budget (sweeps re-fitted from the measured sweep rate block by block) and the last
    sweep is at the cold end when the time is up. Setup (schedule sizing, chain start-up)
    counts against the limit; compiling the kernels, once per process, does not.
``"converged"``
    The planned sweeps, ended early once further sweeps stop paying
    (:data:`CONVERGED_RULE`).

``"auto"`` (the default) is ``"time"`` with a time limit and no ``sweeps``, ``"sweeps"``
when ``sweeps`` is given, else ``"converged"``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from .compile import ProblemArrays, as_problem
from .model import Fleet
from .validate import MAX_VALUE, InstanceError, is_real, show_value, to_float

#: probability that a move is a swap: 0.3, or 0.6 where servers have capacities (a swap
#: moves load both ways, so it crosses tight capacities a shift cannot): measured on
#: OR-Library d10200, and no worse on gap1-12 and fleet20 (figures: docs/quality.md,
#: "Figures behind the defaults")
DEFAULT_P_SWAP = 0.3
DEFAULT_P_SWAP_CAPACITY = 0.6
#: share of moves that change a hold where some job may be held (docs/model.md, part 3;
#: the rest split between swaps and shifts as p_swap says). 0.05: on the 1,000 x 100
#: fleet of benchmarks/README.md ("Results: holds"), 30 s, seed 1, 0.2 ended above the run
#: without holds (27.315 against 27.119) and 0.05 below it (27.085); one seed each
DEFAULT_P_HOLD = 0.05
STOP_RULES = ("auto", "sweeps", "time", "converged")
#: a time-budgeted run on the CPU without ``chains`` takes the default chains when each can
#: do this many sweeps in the budget (at the move rate the sizing measured), else fewer,
#: down to one per thread: a few long chains beat many that stay hot (docs/quality.md)
BUDGET_MIN_SWEEPS = 50
#: ... and when one sweep of its chains would take longer than this (so long that Ctrl-C,
#: the clock and the schedule would wait on it), a sweep is cut to fewer moves
BUDGET_SWEEP_SECONDS = 0.05
#: ... and population annealing in such a run takes as many chains (up to the default)
#: as get this many sweeps each, at least one a thread: resampling multiplies good states
#: but cannot replace the sweeps that equilibrate them. At equal time, fewer and longer
#: chains won where 16 got a few thousand sweeps each and were no better where they got
#: tens of thousands; the threshold lies between (docs/quality.md, "Search strategies at
#: equal wall time", chains under a time limit)
POPULATION_MIN_SWEEPS = 10_000

#: converged runs are checked at this many evenly spaced sweep counts of the plan
CONVERGED_CHECKS = 200
#: ... and stop at the first check where at least ``min_fraction`` of the planned sweeps
#: are done and no chain has improved its best by more than ``tolerance`` (relative)
#: during the last ``window`` of the plan. Chosen on the recorded default runs of the
#: tiny, fleet20 and gap1-12 sets: the window is the shortest that kept every optimum the
#: full runs found, a minimum fraction only cost time, and the tolerance is above the
#: drift of fleet bests from re-summed running totals, which is no improvement (figures:
#: docs/quality.md, "Default runs: the converged stop rule").
CONVERGED_RULE = {"min_fraction": 0.0, "window": 0.10, "tolerance": 1e-9}


#: the largest chain stream index: streams are 64-bit integers (``chain_offset + i``)
MAX_CHAIN_ID = 2 ** 63 - 1


def positive_int(name: str, v, minimum: int = 1) -> int:
    """``v`` as an int, checked ``>= minimum`` (bools refused); the error names ``name``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {show_value(v)}")
    return int(v)


def resolve_seed(seed: int | None) -> int:
    """The seed a run uses: ``seed`` checked, or fresh entropy when None (then recorded)."""
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)   # drawn fresh: one int (the stubs allow a list)
        seed = int(entropy % (1 << 63))
    return positive_int("seed", seed, 0)


def entry_name(name: str, shape: tuple, flat_index: int) -> str:
    """``name[i]`` or ``name[i, j]``: entry ``flat_index`` of an array of ``shape``; a
    scalar (shape ``()``) is ``name``."""
    if not shape:
        return name
    return f"{name}[{', '.join(str(int(i)) for i in np.unravel_index(flat_index, shape))}]"


def check_cap_weight(cap_weight):
    """``cap_weight`` (the capacity violation's weight) checked: None (sized), or a real
    number (not a bool or a string), finite and >= 0; a ValueError naming it."""
    if cap_weight is not None and (
            isinstance(cap_weight, (bool, np.bool_))
            or not isinstance(cap_weight, (int, float, np.integer, np.floating))
            or not (cap_weight >= 0 and math.isfinite(cap_weight))):
        raise ValueError(f"cap_weight: must be a finite number >= 0, got "
                         f"{show_value(cap_weight)}")
    return cap_weight


def real_array(name: str, values) -> np.ndarray:
    """``values`` (a number or an array of numbers, any shape) as float64, every entry a
    real number: a bool, a string, a complex number or anything else is a ValueError naming
    ``name`` (a scalar) or its entry ``name[i]``. Nothing is converted that is not a number
    (``"1"`` is refused, not read as 1), nor a masked array (its mask would be dropped)."""
    if isinstance(values, np.ma.MaskedArray):
        raise ValueError(f"{name}: a masked array; fill or remove the masked entries")
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return np.asarray(values, np.float64)
    if not isinstance(values, np.ndarray):
        try:
            values = np.asarray(values, dtype=object)
        except ValueError:
            raise ValueError(f"{name}: expected a number or an array of numbers, got "
                             f"{show_value(values)}") from None
    flat = values.reshape(-1)
    out = np.empty(flat.shape, np.float64)
    for i, v in enumerate(flat):
        if not is_real(v):
            raise ValueError(f"{entry_name(name, values.shape, i)}: expected a number, got "
                             f"{show_value(v)}")
        out[i] = to_float(v)
    return out.reshape(values.shape)


def per_chain(name: str, values, n_chains: int, positive: bool,
              maximum: float | None = None) -> np.ndarray:
    """A scalar or one value per chain, checked, as a float64 row: each a real number (not a
    bool or a string), finite, > 0 with a finite inverse (``positive``: a temperature
    multiplier) or >= 0, and at most ``maximum``. The error names ``name`` (a scalar) or
    ``name[i]``."""
    v = real_array(name, values)
    scalar = v.ndim == 0
    if scalar:
        v = np.full(n_chains, float(v))
    if v.shape != (n_chains,):
        raise ValueError(f"{name}: expected a scalar or {n_chains} values (one per chain), "
                         f"got shape {v.shape}")
    with np.errstate(divide="ignore", over="ignore"):
        ok = np.isfinite(v) & ((v > 0) & np.isfinite(1.0 / v) if positive else (v >= 0))
    if maximum is not None:
        ok &= v <= maximum
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = int(bad[0])
        where = name if scalar else f"{name}[{i}]"
        got = show_value(values if scalar else v[i])
        if positive:
            rule = "must be finite and > 0 (and not so small that its inverse overflows)"
        else:
            rule = "must be finite and >= 0"
        if maximum is not None:
            rule += f" and at most {maximum:g} (the model's limit)"
        raise ValueError(f"{where}: {rule}, got {got}")
    return np.ascontiguousarray(v)


def check_lams(lam, n_chains: int) -> np.ndarray:
    """``lam`` (a scalar or one per chain) by :func:`satea.compile.check_lambda`'s rule: a
    real number (not a bool or a string), >= 0 and at most
    :data:`~satea.validate.MAX_VALUE`; the error names ``lam`` or ``lam[i]``."""
    return per_chain("lam", lam, n_chains, positive=False, maximum=MAX_VALUE)


def per_chain_shape(name: str, given: tuple, n_chains: int, n_jobs: int,
                    chains_given: bool) -> str:
    """The message for a warm start (``x0``, ``holds0``) of shape ``given`` (the caller's)
    that is neither one row nor one per chain."""
    msg = (f"{name}: expected shape ({n_jobs},) or ({n_chains}, {n_jobs}) (one row, or one "
           f"per chain), got {given}")
    if len(given) == 2 and given[1] == n_jobs and given[0] != n_chains:
        msg = (f"{name}: has {given[0]} rows, but the run has {n_chains} chains"
               + ("" if chains_given else " (the backend's default)")
               + f"; pass chains={given[0]}, or one row for every chain")
    return msg


def check_x0(x0, n_chains: int, problem: ProblemArrays,
             chains_given: bool = True) -> np.ndarray | None:
    """A warm start (caller's job order, one row or one per chain) checked and converted to
    internal order, shape (n_chains, n_jobs); None stays None. ``chains_given``: whether the
    caller gave the chains (else the message says they are the default)."""
    if x0 is None:
        return None
    x0 = np.asarray(x0)
    given = x0.shape
    if x0.ndim == 1 and x0.shape[0] == problem.n_jobs:
        x0 = np.broadcast_to(x0, (n_chains, x0.shape[0]))
    if x0.shape != (n_chains, problem.n_jobs):
        raise ValueError(per_chain_shape("x0", given, n_chains, problem.n_jobs, chains_given))
    if not np.issubdtype(x0.dtype, np.integer):
        raise ValueError(f"x0: expected integer server indices, got dtype {x0.dtype}")
    bad = np.argwhere((x0 < 0) | (x0 >= problem.n_servers))
    if bad.size:
        c, j = (int(i) for i in bad[0])
        where = f"x0[{j}]" if len(given) == 1 else f"x0[{c}, {j}]"
        raise ValueError(f"{where} (job {problem.job_names[j]!r}): server index "
                         f"{show_value(x0[c, j])} out of range 0..{problem.n_servers - 1}")
    xi = problem.to_internal(x0)
    ok = problem.is_allowed(np.arange(problem.n_jobs)[None, :], xi)
    if not ok.all():
        c, j = (int(i) for i in np.argwhere(~ok)[0])
        jc = int(problem.order[j])   # the caller's index of the job
        where = f"x0[{jc}]" if len(given) == 1 else f"x0[{c}, {jc}]"
        raise ValueError(f"{where}: job {problem.job_names[jc]!r} is on server "
                         f"{problem.server_names[xi[c, j]]!r}, which cannot run it")
    return xi


def check_holds0(holds0, xi, n_chains: int, problem: ProblemArrays,
                 chains_given: bool = True) -> np.ndarray | None:
    """``holds0`` (caller's job order, seconds; (n_jobs,) or (n_chains, n_jobs)) checked
    against each job's ``hold_max`` and in internal order, or None (all 0)."""
    if holds0 is None:
        return None
    if xi is None:
        raise ValueError("holds0: a warm start's holds need its assignment (x0)")
    h = real_array("holds0", holds0)
    given = h.shape
    if h.ndim == 1 and h.shape[0] == problem.n_jobs:
        h = np.broadcast_to(h, (n_chains, h.shape[0]))
    if h.shape != (n_chains, problem.n_jobs):
        raise ValueError(per_chain_shape("holds0", given, n_chains, problem.n_jobs,
                                         chains_given))
    hi = h[..., problem.order]   # not to_internal: that casts to server indices (int32)
    bad = np.argwhere(~(np.isfinite(hi) & (hi >= 0) & (hi <= problem.hold_max[None, :])))
    if bad.size:
        c, j = (int(i) for i in bad[0])
        jc = int(problem.order[j])
        where = f"holds0[{jc}]" if len(given) == 1 else f"holds0[{c}, {jc}]"
        raise ValueError(f"{where}: job {problem.job_names[jc]!r} held {show_value(hi[c, j])}"
                         f" s, expected 0..{show_value(problem.hold_max[j])} (its hold_max_s)")
    return np.ascontiguousarray(hi)


def check_p_hold(p_hold, p_swap: float, has_holds: bool) -> float:
    """The hold moves' share: ``p_hold`` checked (in [0, 1 - p_swap]) or the default where
    some job may be held; 0 where none may (no move is then drawn differently)."""
    if p_hold is None:
        p_hold = min(DEFAULT_P_HOLD, 1.0 - p_swap)
    if isinstance(p_hold, bool) or not (
            isinstance(p_hold, (int, float, np.integer, np.floating))
            and 0.0 <= p_hold <= 1.0 - p_swap):
        raise ValueError(f"p_hold: must be in [0, 1 - p_swap] = [0, {1.0 - p_swap:g}], got "
                         f"{p_hold!r}")
    return float(p_hold) if has_holds else 0.0


def check_time_limit(time_limit) -> float | None:
    if time_limit is None:
        return None
    ok = (not isinstance(time_limit, bool)
          and isinstance(time_limit, (int, float, np.integer, np.floating))
          and time_limit > 0 and math.isfinite(time_limit))
    if not ok:
        raise ValueError(f"time_limit: must be a positive number of seconds, got {time_limit!r}")
    return float(time_limit)


@dataclass(frozen=True)
class CallClock:
    """The clock of one call for its time limit: wall seconds since ``started`` (a
    ``time.perf_counter()`` reading) less the kernel compiles since the clock started,
    which no time limit counts (a one-off per process:
    :func:`satea.backends.base.compile_clock`)."""

    started: float
    compiled_before: float

    @classmethod
    def start(cls, started: float | None = None) -> CallClock:
        """A clock from now, or from ``started`` (e.g. before a cluster started)."""
        import time

        from .backends.base import compile_clock
        return cls(time.perf_counter() if started is None else started, compile_clock())

    def compile_seconds(self) -> float:
        """Seconds this process spent compiling kernels since the clock started."""
        from .backends.base import compile_clock
        return compile_clock() - self.compiled_before

    def left(self, time_limit: float | None) -> float | None:
        """What is left of ``time_limit`` (None: no limit), at least 1 ms: for a step that
        prepares a run before handing it the rest (pareto's ladder, the client side of
        :mod:`satea.distributed`)."""
        import time
        if time_limit is None:
            return None
        spent = time.perf_counter() - self.started - self.compile_seconds()
        return max(time_limit - spent, 1e-3)


def check_p_swap(p_swap, has_capacity: bool = False) -> float:
    if p_swap is None:
        return DEFAULT_P_SWAP_CAPACITY if has_capacity else DEFAULT_P_SWAP
    if isinstance(p_swap, bool) or not (
            isinstance(p_swap, (int, float, np.integer, np.floating)) and 0.0 <= p_swap <= 1.0):
        raise ValueError(f"p_swap: must be in [0, 1], got {p_swap!r}")
    return float(p_swap)


def default_chains_sweeps(cls, n_jobs: int) -> tuple[int, int]:
    """(chains, sweeps) a run of backend class ``cls`` uses when given none:
    ``cls.default_chains`` and :func:`~satea.schedules.default_sweeps` capped by
    ``cls.max_default_sweeps``."""
    from .schedules import default_sweeps
    sweeps = default_sweeps(n_jobs)
    if cls.max_default_sweeps is not None:
        sweeps = min(sweeps, cls.max_default_sweeps)
    return cls.default_chains, sweeps


@dataclass(frozen=True, eq=False)
class Schedule:
    """The temperatures of a run: geometric from ``t_hot`` to ``t_cold`` over the run's
    progress ``f`` in [0, 1] (``T(f) = t_hot (t_cold / t_hot) ** f``), or explicit inverse
    temperatures, one per sweep (``betas``; then ``t_hot``/``t_cold`` are their ends)."""

    t_hot: float
    t_cold: float
    betas: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return "geometric" if self.betas is None else "explicit"

    def betas_at(self, frac) -> np.ndarray:
        """Inverse temperatures at progress fractions ``frac`` (geometric schedules)."""
        f = np.clip(np.asarray(frac, np.float64), 0.0, 1.0)
        return 1.0 / (self.t_hot * (self.t_cold / self.t_hot) ** f)

    def betas_for(self, n_sweeps: int) -> np.ndarray:
        """One inverse temperature per sweep of an ``n_sweeps`` run: sweep ``s`` at
        progress ``s / (n_sweeps - 1)`` (a one-sweep run is at the cold end)."""
        if self.betas is not None:
            if self.betas.shape[0] < n_sweeps:
                raise ValueError(f"schedule: {self.betas.shape[0]} inverse temperatures "
                                 f"for {n_sweeps} sweeps")
            return self.betas[:n_sweeps]
        from .schedules import geometric_betas
        return geometric_betas(self.t_hot, self.t_cold, n_sweeps)

    def to_dict(self) -> dict:
        # an end at inverse temperature 0 is an infinite temperature: null, not Infinity
        d: dict[str, Any] = {
            "kind": self.kind, "t_hot": self.t_hot if math.isfinite(self.t_hot) else None,
            "t_cold": self.t_cold if math.isfinite(self.t_cold) else None}
        if self.betas is not None:
            d["betas"] = [float(b) for b in self.betas]
        return d


def check_temperatures(t_hot, t_cold, cools: bool = True) -> tuple[float, float]:
    """A schedule's ends checked: numbers (not bools or strings), finite and > 0, with
    finite inverses, and (``cools``: a geometric schedule) the first the hot end
    (``t_hot >= t_cold``). The errors name ``schedule`` (or its entry)."""
    for i, t in enumerate((t_hot, t_cold)):
        if not is_real(t):
            raise ValueError(f"schedule[{i}]: expected a temperature (a number), got "
                             f"{show_value(t)}")
    th, tc = to_float(t_hot), to_float(t_cold)
    ends = f"t_hot={show_value(t_hot)}, t_cold={show_value(t_cold)}"
    if not (th > 0 and tc > 0 and math.isfinite(th) and math.isfinite(tc)):
        raise ValueError(f"schedule: temperatures must be finite and > 0, got {ends}")
    if not (math.isfinite(1.0 / th) and math.isfinite(1.0 / tc)):
        raise ValueError(f"schedule: temperatures so small that their inverse (the search's "
                         f"beta) overflows, got {ends}")
    if cools and th < tc:
        raise ValueError(f"schedule: (t_hot, t_cold) starts at the hot end, and the run cools "
                         f"to the second; got {ends}, a run that heats up (give inverse "
                         f"temperatures, one per sweep, for any other walk)")
    return th, tc


def check_betas(betas: np.ndarray) -> None:
    """Inverse temperatures: finite and >= 0 (0: infinite temperature, a random walk, as
    ``np.linspace(0, b, sweeps)`` starts), a positive one with a finite inverse; the error
    names ``schedule[i]``."""
    with np.errstate(divide="ignore", over="ignore"):
        ok = np.isfinite(betas) & ((betas == 0) | ((betas > 0) & np.isfinite(1.0 / betas)))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"schedule[{i}]: inverse temperatures must be finite and >= 0 (a "
                         f"positive one not so small that the temperature overflows), got "
                         f"{show_value(betas[i])}")


def check_schedule(schedule, n_sweeps: int | None) -> Schedule | None:
    """``(t_hot, t_cold)``, an array of inverse temperatures (one per sweep) or a
    :class:`Schedule`, checked; None stays None (the default is sized later).

    Temperatures and inverse temperatures are numbers (not bools or strings), finite and
    > 0, with finite inverses; ``(t_hot, t_cold)`` starts at the hot end (``t_hot >=
    t_cold``; equal ends: one temperature). Explicit inverse temperatures may walk any way.
    """
    if schedule is None:
        return None
    if isinstance(schedule, Schedule):
        check_temperatures(schedule.t_hot, schedule.t_cold, cools=schedule.betas is None)
        if schedule.betas is not None:
            check_betas(real_array("schedule", schedule.betas).reshape(-1))
        return schedule
    if isinstance(schedule, tuple) and len(schedule) == 2:
        return Schedule(*check_temperatures(*schedule))
    shape_msg = (f"schedule: expected (t_hot, t_cold), an array of inverse temperatures "
                 f"(one per sweep) or a Schedule, got {show_value(schedule)}")
    try:
        scalar = np.ndim(schedule) == 0
    except ValueError:   # a ragged list: its entries are named below
        scalar = False
    if scalar or isinstance(schedule, (str, bytes, Mapping)):
        raise ValueError(shape_msg)
    betas = real_array("schedule", schedule)
    if betas.ndim != 1:
        raise ValueError(f"schedule: expected (t_hot, t_cold) or one inverse temperature "
                         f"per sweep, got shape {betas.shape}")
    check_betas(betas)
    if n_sweeps is None:
        raise ValueError("schedule: an array of inverse temperatures needs sweeps (one "
                         "value per sweep); give (t_hot, t_cold) for a time-budgeted run")
    if betas.shape != (n_sweeps,):
        raise ValueError(f"schedule: expected (t_hot, t_cold) or {n_sweeps} inverse "
                         f"temperatures (one per sweep), got shape {betas.shape}")
    with np.errstate(divide="ignore"):   # beta 0: an infinite temperature
        return Schedule(float(1.0 / betas[0]), float(1.0 / betas[-1]),
                        np.ascontiguousarray(betas))


@dataclass(frozen=True, eq=False)
class RunSettings:
    """What a run uses, every default filled in (see the module docstring for ``stop``).

    ``sweeps`` is the plan (None: as many as fit a ``"time"`` budget); ``lam`` and
    ``t_scale`` have one value per chain; ``x0`` is in internal job order (or None);
    ``sizing`` says how the schedule and capacity weight were sized (sampled jobs,
    seconds) or that the caller gave them.
    """

    backend: str
    chains: int
    seed: int
    sweeps: int | None
    time_limit: float | None
    stop: str
    schedule: Schedule
    p_swap: float
    cap_weight: float
    lam: np.ndarray
    t_scale: np.ndarray | None = None
    chain_offset: int = 0
    x0: np.ndarray | None = field(default=None, repr=False)
    return_samples: bool = True
    sizing: dict = field(default_factory=dict)
    sweep_moves: int | None = None     # attempted moves per chain per sweep; None: n_jobs
    strategy: str = "independent"      # satea.strategies
    rungs: int | None = None           # tempering's ladder
    exchange_sweeps: int | None = None  # sweeps between exchanges or resamplings
    p_hold: float = 0.0                # hold moves' share (0 where no job may be held)
    h0: np.ndarray | None = field(default=None, repr=False)   # x0's holds, internal order
    #: (name, n_jobs, n_servers) of the problem resolved for (None: not recorded)
    problem_key: tuple | None = field(default=None, repr=False)

    def check_problem(self, problem: ProblemArrays) -> None:
        """Refuse settings resolved for another problem (another name, number of jobs or
        of servers), or whose per-chain values do not fit ``problem`` and the chains."""
        key = (problem.name, problem.n_jobs, problem.n_servers)
        if self.problem_key is not None and tuple(self.problem_key) != key:
            name, jobs, servers = self.problem_key
            raise ValueError(f"settings: resolved for problem {name!r} ({jobs} jobs, "
                             f"{servers} servers), not for this one ({key[0]!r}, {key[1]} "
                             f"jobs, {key[2]} servers); resolve them for it "
                             f"(satea.resolve_settings)")
        n, c = problem.n_jobs, self.chains
        for name, a, shape in (("lam", self.lam, (c,)), ("t_scale", self.t_scale, (c,)),
                               ("x0", self.x0, (c, n)), ("h0", self.h0, (c, n))):
            if a is not None and np.shape(a) != shape:
                raise ValueError(f"settings: {name} has shape {np.shape(a)}, but {c} chains "
                                 f"of problem {problem.name!r} ({n} jobs) need {shape}; "
                                 f"resolve the settings for it (satea.resolve_settings)")
        if self.x0 is not None and self.x0.size and not (
                0 <= self.x0.min() and self.x0.max() < problem.n_servers):
            raise ValueError(f"settings: x0 holds server indices outside 0.."
                             f"{problem.n_servers - 1} of problem {problem.name!r}; resolve "
                             f"the settings for it (satea.resolve_settings)")

    def chain_range(self, start: int, count: int) -> RunSettings:
        """The settings of chains ``start .. start + count - 1`` of this run as a run of
        their own (a shard of :mod:`satea.distributed`): the same seed, schedule, stop rule
        and sweeps, ``chain_offset`` moved to their first stream, the per-chain values
        (``lam``, ``t_scale``, ``x0``) sliced. Only independent chains split so: the other
        strategies couple the chains."""
        if self.strategy != "independent":
            raise ValueError(f"strategy: {self.strategy!r} couples the chains; only "
                             "independent chains split into ranges")
        if not (0 <= start and count >= 1 and start + count <= self.chains):
            raise ValueError(f"chain range {start}..{start + count - 1}: outside the run's "
                             f"{self.chains} chains")
        part = slice(start, start + count)
        return replace(self, chains=count, chain_offset=self.chain_offset + start,
                       lam=self.lam[part].copy(),
                       t_scale=None if self.t_scale is None else self.t_scale[part].copy(),
                       x0=None if self.x0 is None else self.x0[part].copy(),
                       h0=None if self.h0 is None else self.h0[part].copy())

    def to_dict(self) -> dict:
        """JSON-ready form (the ``settings`` field of result files)."""
        lam = np.unique(self.lam)
        d = {"backend": self.backend, "chains": self.chains, "seed": self.seed,
             "sweeps_planned": self.sweeps, "time_limit": self.time_limit, "stop": self.stop,
             "schedule": self.schedule.to_dict(), "p_swap": self.p_swap,
             "cap_weight": self.cap_weight,
             "lambda": float(lam[0]) if lam.size == 1 else [float(v) for v in self.lam],
             "t_scale": None if self.t_scale is None else [float(v) for v in self.t_scale],
             "chain_offset": self.chain_offset, "x0_given": self.x0 is not None,
             "sweep_moves": self.sweep_moves, "sizing": self.sizing,
             "strategy": self.strategy, "rungs": self.rungs,
             "exchange_sweeps": self.exchange_sweeps, "p_hold": self.p_hold,
             "holds0_given": self.h0 is not None}
        if self.stop == "converged":
            d["converged_rule"] = dict(CONVERGED_RULE, checks=CONVERGED_CHECKS)
        return d


@dataclass(frozen=True, eq=False)
class RunOptions:
    """A run's arguments as the caller gave them (None: the default), the keywords of
    :func:`satea.anneal` written once; :func:`resolve` checks them and fills in the rest.

    :func:`satea.anneal`, :func:`satea.anneal_batch` and :func:`resolve_settings` keep
    these as keywords and build one with :meth:`of`; a test holds their signatures to
    these fields and defaults.
    """

    backend: str = "auto"
    chains: int | None = None
    sweeps: int | None = None
    seed: int | None = None
    schedule: Any = None
    lam: Any = None
    p_swap: float | None = None
    cap_weight: float | None = None
    x0: Any = None
    time_limit: float | None = None
    chain_offset: int = 0
    return_samples: bool | None = None
    t_scale: Any = None
    stop: str = "auto"
    sweep_moves: int | None = None
    strategy: str = "auto"
    rungs: int | None = None
    exchange_sweeps: int | None = None
    p_hold: float | None = None
    holds0: Any = None

    @classmethod
    def of(cls, names: Mapping[str, Any]) -> RunOptions:
        """The options named in ``names`` (a caller's ``locals()``: its run keywords)."""
        return cls(**{f.name: names[f.name] for f in fields(cls) if f.name in names})

    def given(self) -> list[str]:
        """The options the caller gave: those not at their defaults (a default given
        explicitly, as its very type and value, counts as left out)."""
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if f.default is None:
                if v is not None:
                    out.append(f.name)
            elif not (type(v) is type(f.default) and v == f.default):
                out.append(f.name)
        return out


def resolve(problems: Sequence[ProblemArrays | Fleet],
            options: RunOptions | Sequence[RunOptions],
            on_phase: Callable[[str], None] | None = None) -> list[RunSettings]:
    """Check a run's options and fill in its defaults: one :class:`RunSettings` per problem.

    ``options`` is one :class:`RunOptions` for every problem or one per problem (a batch's
    warm starts differ); a seed left None is drawn once for the whole call. The problems
    that need sizing (no schedule, or no capacity weight where servers have capacities)
    are sized together by :func:`satea.schedules.sample_move_scales`, each exactly as
    alone, on a sample of at most :data:`satea.schedules.SIZING_JOBS` jobs (a bounded
    number of moves whatever the fleet size). With a time budget, the chains of a CPU run
    are fitted to each problem's share of it. ``on_phase(text)`` is told when compiling
    and sizing start. A :class:`~satea.model.Fleet` is compiled first
    (:func:`satea.compile.as_problem`).
    """
    import time

    from .schedules import sample_move_scales
    probs = [as_problem(p) for p in problems]
    opts = ([options] * len(probs) if isinstance(options, RunOptions) else list(options))
    if len(opts) != len(probs):
        raise ValueError(f"options: expected one or {len(probs)} (one per problem), got "
                         f"{len(opts)}")
    if any(o.seed is None for o in opts):
        drawn = resolve_seed(None)
        opts = [o if o.seed is not None else replace(o, seed=drawn) for o in opts]
    drafts = [_Draft(p, o) for p, o in zip(probs, opts)]
    if len({d.seed for d in drafts}) > 1:   # sized together, on one seed's streams
        raise ValueError("seed: one seed for every problem of a call")
    need = [i for i, d in enumerate(drafts) if d.needs_sizing()]
    scales: dict = {}
    seconds = 0.0
    if need:
        from .backends import numba_cpu   # sizing runs the CPU kernels
        if on_phase is not None and not numba_cpu.kernels_ready():
            on_phase("compiling the CPU kernels (once per process; minutes on a fresh "
                     "install, then loaded from the cache)")
        numba_cpu.compile_kernels()
        if len(need) > 1:   # sized in one launch: the batch kernels, compiled untimed
            numba_cpu.compile_batch_kernels()
        if on_phase is not None:
            on_phase("sizing the schedule" if len(probs) == 1 else
                     f"sizing the schedules of {len(need)} problems")
        t0 = time.perf_counter()
        found = sample_move_scales([drafts[i].problem for i in need], drafts[need[0]].seed,
                                   lams=[float(np.median(drafts[i].lams)) for i in need],
                                   descend=[drafts[i].sched is None for i in need])
        seconds = time.perf_counter() - t0
        scales = dict(zip(need, found))
    share = 1.0 / max(1, sum(d.problem.n_jobs > 0 for d in drafts))
    return [d.finish(scales.get(i), seconds, share, len(need)) for i, d in enumerate(drafts)]


def resolve_settings(problem: ProblemArrays | Fleet, *,
                     on_phase: Callable[[str], None] | None = None,
                     **options: Any) -> RunSettings:
    """:func:`resolve` for one problem, the options as :func:`satea.anneal`'s keywords
    (the fields of :class:`RunOptions`); ``problem`` a :class:`ProblemArrays` or a
    :class:`~satea.model.Fleet` (compiled, as :func:`satea.anneal` does)."""
    return resolve([problem], RunOptions(**options), on_phase)[0]


class _Draft:
    """One problem's settings between checking the options and sizing."""

    def __init__(self, problem: ProblemArrays, o: RunOptions):
        from .backends import resolve as resolve_backend
        self.problem = problem
        self.cls = cls = resolve_backend(o.backend)
        self.d_chains, d_sweeps = default_chains_sweeps(cls, problem.n_jobs)
        self.chains_given, self.lam_arg, self.t_scale_arg, self.x0_arg = (
            o.chains, o.lam, o.t_scale, o.x0)
        self.holds0_arg = o.holds0
        self.n_chains = positive_int("chains", self.d_chains if o.chains is None else o.chains)
        sweeps = o.sweeps
        if sweeps is not None:
            sweeps = positive_int("sweeps", sweeps)
        self.time_limit = check_time_limit(o.time_limit)
        stop = o.stop
        if stop not in STOP_RULES:
            raise ValueError(f"stop: expected one of {', '.join(STOP_RULES)}, got {stop!r}")
        if stop == "auto":
            stop = "sweeps" if sweeps is not None else ("time" if self.time_limit else "converged")
        if stop == "time":
            if self.time_limit is None:
                raise ValueError("stop='time' needs a time_limit")
            if sweeps is not None:
                raise ValueError("stop='time' fits the sweeps to the time limit: give no sweeps")
        elif sweeps is None:
            sweeps = d_sweeps
        self.stop, self.sweeps = stop, sweeps
        self.chain_offset = positive_int("chain_offset", o.chain_offset, 0)
        if self.chain_offset > MAX_CHAIN_ID - (self.n_chains - 1):
            raise ValueError(f"chain_offset: the chains' streams chain_offset + i are 64-bit: "
                             f"at most {MAX_CHAIN_ID - (self.n_chains - 1)} for "
                             f"{self.n_chains} chains, got {show_value(o.chain_offset)}")
        sweep_moves = o.sweep_moves
        if sweep_moves is not None:
            sweep_moves = positive_int("sweep_moves", sweep_moves)
        self.sweep_moves = sweep_moves
        self.p_swap = check_p_swap(o.p_swap, problem.has_capacity)
        self.p_hold = check_p_hold(o.p_hold, self.p_swap, problem.has_holds)
        self.seed = positive_int("seed", o.seed, 0)
        cls.check_capacity(problem, self.n_chains)
        self._per_chain()
        self.sched = check_schedule(o.schedule, sweeps)
        cap_weight = check_cap_weight(o.cap_weight)
        self.cap_weight = cap_weight
        if stop == "time" and self.sched is not None and self.sched.betas is not None:
            raise ValueError("schedule: explicit inverse temperatures fix the sweeps; a "
                             "time-budgeted run takes (t_hot, t_cold)")
        rs = o.return_samples
        if rs is not None and not isinstance(rs, (bool, np.bool_)):
            raise ValueError(f"return_samples: expected True, False or None (the default), "
                             f"got {show_value(rs)}")
        self.return_samples = None if rs is None else bool(rs)
        self._strategy(o.strategy, o.rungs, o.exchange_sweeps)
        self.sizing: dict[str, Any] = {"by": "caller"}
        if problem.n_jobs == 0:     # an empty planning window: nothing to size or search
            self.sched = self.sched or Schedule(1.0, 1.0)
            self.cap_weight = 0.0 if cap_weight is None else cap_weight
            self.sizing = {"by": "nothing to size: no jobs"}

    def _per_chain(self) -> None:
        nc, problem = self.n_chains, self.problem
        self.lams = check_lams(problem.lam if self.lam_arg is None else self.lam_arg, nc)
        given = self.chains_given is not None
        self.xi = check_x0(self.x0_arg, nc, problem, given)
        self.h0 = check_holds0(self.holds0_arg, self.xi, nc, problem, given)
        self.ts = (None if self.t_scale_arg is None
                   else per_chain("t_scale", self.t_scale_arg, nc, positive=True))

    def _strategy(self, strategy, rungs, exchange_sweeps) -> None:
        from .strategies import STRATEGIES, auto_strategy
        if strategy != "auto" and strategy not in STRATEGIES:
            raise ValueError(f"strategy: expected 'auto' or one of {', '.join(STRATEGIES)}, "
                             f"got {strategy!r}")
        auto = strategy == "auto"
        if auto:
            strategy = auto_strategy(np.unique(self.lams).size == 1 and self.ts is None)
        self.strategy = strategy
        if rungs is not None:
            if strategy != "tempering":
                raise ValueError("rungs: only strategy='tempering' has a ladder")
            rungs = positive_int("rungs", rungs)
            if rungs > self.n_chains:
                raise ValueError(f"rungs: {rungs} rungs need at least as many chains, got "
                                 f"{self.n_chains}")
        if exchange_sweeps is not None:
            if strategy == "independent":
                why = (" (strategy='auto' chose them: the chains have different lambdas or "
                       "a t_scale)" if auto else "")
                raise ValueError(f"exchange_sweeps: independent chains exchange nothing{why}; "
                                 "give strategy='tempering' or 'population'")
            exchange_sweeps = positive_int("exchange_sweeps", exchange_sweeps)
        self.rungs, self.exchange_sweeps = rungs, exchange_sweeps
        if strategy == "independent":
            return
        # both compare energies across chains: one energy function, one temperature scale
        if np.unique(self.lams).size > 1:
            raise ValueError(f"lam: strategy={strategy!r} compares chains' energies, so all "
                             "chains need one lambda (got one per chain)")
        if self.ts is not None:
            raise ValueError(f"t_scale: strategy={strategy!r} sets the chains' temperatures "
                             "itself; leave t_scale out")
        if strategy == "tempering" and self.sched is not None and self.sched.betas is not None:
            raise ValueError("schedule: tempering takes (t_hot, t_cold), the ends of its "
                             "ladder, not inverse temperatures per sweep")

    def needs_sizing(self) -> bool:
        return self.sched is None or (self.cap_weight is None and self.problem.has_capacity)

    def finish(self, scale, seconds: float, share: float, sized: int = 1) -> RunSettings:
        """The settings, given the problem's move scale (None: not sized), the seconds
        the sizing of ``sized`` problems took together, and its share of a time budget."""
        from .schedules import default_cap_weight, default_temperature_range
        problem, cls = self.problem, self.cls
        if scale is not None:
            self.sizing = {"by": "sample_move_scale", "jobs_sampled": scale.jobs_sampled,
                           "seconds": seconds / max(sized, 1)}
            if sized > 1:
                self.sizing["batch_seconds"] = seconds
            if math.isfinite(scale.move_seconds):
                self.sizing["move_seconds"] = scale.move_seconds
            if self.sched is None:
                self.sched = Schedule(*default_temperature_range(problem, self.seed, scale))
            if self.cap_weight is None:
                self.cap_weight = default_cap_weight(scale)
            per_chain_given = (np.ndim(self.lam_arg) > 0 or np.ndim(self.t_scale_arg) > 0
                               or (self.x0_arg is not None and np.ndim(self.x0_arg) > 1))
            if (self.chains_given is None and self.stop == "time"
                    and cls.budget_from_sizing_rate and not per_chain_given):
                assert self.time_limit is not None   # stop == "time" needs one (__init__)
                if self.strategy == "population":
                    min_sweeps = POPULATION_MIN_SWEEPS
                    why = (f"population annealing in a time budget takes the chains "
                           f"that get {min_sweeps} sweeps each")
                else:
                    min_sweeps = BUDGET_MIN_SWEEPS   # read here: tests patch it
                    why = f"fewer chains get {min_sweeps} sweeps each in the budget"
                self.n_chains = budget_chains(
                    self.n_chains, problem.n_jobs, scale.move_seconds,
                    (self.time_limit - seconds) * share, min_sweeps)
                if self.rungs:
                    self.n_chains = max(self.rungs, self.n_chains)
                if self.n_chains != self.d_chains:
                    self.sizing["chains"] = f"{self.n_chains}, not {self.d_chains}: {why}"
                    self._per_chain()
            if (self.sweep_moves is None and self.stop == "time"
                    and cls.budget_from_sizing_rate):
                self.sweep_moves = budget_sweep_moves(self.n_chains, problem.n_jobs,
                                                      scale.move_seconds)
        cap_weight = 0.0 if self.cap_weight is None else self.cap_weight
        # given, or sized above: a draft without a schedule needs sizing (needs_sizing)
        assert self.sched is not None
        rs = self.return_samples
        if rs is None:
            rs = self.n_chains * problem.n_jobs <= 1 << 24
        from .strategies import default_exchange_sweeps, default_rungs
        rungs, every = self.rungs, self.exchange_sweeps
        if self.strategy == "tempering" and rungs is None:
            rungs = min(default_rungs(self.n_chains), self.n_chains)
        if self.strategy != "independent" and every is None:
            every = default_exchange_sweeps(
                problem.n_jobs if self.sweep_moves is None else self.sweep_moves)
        return RunSettings(cls.name, self.n_chains, self.seed, self.sweeps, self.time_limit,
                           self.stop, self.sched, self.p_swap, float(cap_weight), self.lams,
                           self.ts, self.chain_offset, self.xi, bool(rs), self.sizing,
                           self.sweep_moves, self.strategy, rungs, every, self.p_hold, self.h0,
                           (problem.name, problem.n_jobs, problem.n_servers))


def budget_chains(chains: int, n_jobs: int, move_seconds: float, seconds: float,
                  min_sweeps: int | None = None) -> int:
    """Chains for a CPU run of ``seconds`` (at most ``chains``): as many as get
    ``min_sweeps`` (default :data:`BUDGET_MIN_SWEEPS`) sweeps each at ``move_seconds`` per
    move per thread, but at least one per thread."""
    import numba
    threads = numba.get_num_threads()
    if not (math.isfinite(move_seconds) and move_seconds > 0):
        return chains
    if min_sweeps is None:
        min_sweeps = BUDGET_MIN_SWEEPS
    fit = max(seconds, 0.0) * threads / move_seconds / (min_sweeps * max(n_jobs, 1))
    return int(min(chains, max(threads, math.floor(fit))))


def budget_sweep_moves(chains: int, n_jobs: int, move_seconds: float) -> int | None:
    """Moves per sweep for a budgeted CPU run: None (a whole sweep, ``n_jobs``) unless a
    sweep of ``chains`` chains would take over :data:`BUDGET_SWEEP_SECONDS` at
    ``move_seconds`` per move per thread; then that many seconds' worth (at least 1,000)."""
    import numba
    if not (math.isfinite(move_seconds) and move_seconds > 0):
        return None
    per_sweep = chains * n_jobs * move_seconds / min(chains, numba.get_num_threads())
    if per_sweep <= BUDGET_SWEEP_SECONDS:
        return None
    return int(min(n_jobs, max(1000, n_jobs * BUDGET_SWEEP_SECONDS / per_sweep)))


def record_int(where: str, v) -> int:
    """A recorded integer (``where``: its field, e.g. ``settings.seed``): an int, or a
    float that is one (``3.0``); anything else (``1.7``, ``"3"``, None, a bool) is an
    :class:`~satea.validate.InstanceError` naming ``where``, never truncated."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    raise InstanceError(f"{where}: expected an integer, got {show_value(v)}")


def record_float(where: str, v) -> float:
    """A recorded number (``where``: its field): a real number, not a bool or a string;
    else an :class:`~satea.validate.InstanceError` naming ``where``."""
    if not is_real(v):
        raise InstanceError(f"{where}: expected a number, got {show_value(v)}")
    return to_float(v)


def record_dict(where: str, v) -> Mapping:
    """A recorded JSON object (``where``: its field), else an error naming it."""
    if not isinstance(v, Mapping):
        raise InstanceError(f"{where}: expected a record (a JSON object), got {show_value(v)}")
    return v


def repeat_kwargs(result: dict) -> dict:
    """``anneal`` keyword arguments that repeat the run recorded in a result file's dict
    (:func:`satea.result.read_result`): same backend, chains, seed, lambdas, p_swap,
    capacity weight, temperature levels and the very inverse temperatures it ran, for the
    sweeps it did (a time-budgeted run included). A warm start is not recorded: pass it.
    A sharded run (:mod:`satea.distributed`) whose shards walked different schedules
    (stopped at different sweeps, or time budgets) repeats the chains of its best shard,
    the walk that gave its answer (its record's ``repeat_range``). A field of the wrong
    type (``settings.seed: 1.7``) is an :class:`~satea.validate.InstanceError` naming it."""
    record_dict("result", result)
    st = result.get("settings")
    run = result.get("run")
    if not isinstance(st, Mapping) or not isinstance(run, Mapping) or "schedule" not in run:
        raise InstanceError("result: no 'settings' and 'run' fields (written by satea >= 0.3 "
                            "only): this result cannot be repeated")
    try:
        done = record_int("run.sweeps_done", run["sweeps_done"])
        if done < 1:
            raise InstanceError("result: no sweep was done; nothing to repeat")
        strategy = st.get("strategy", "independent")
        rec = record_dict("run.schedule", run["schedule"])
        # tempering's temperatures are its ladder's, fixed: its ends repeat it
        betas = ((record_float("run.schedule.t_hot", rec["t_hot"]),
                  record_float("run.schedule.t_cold", rec["t_cold"]))
                 if rec.get("kind") == "tempering"
                 else schedule_from_record(rec, done, "run.schedule"))
        kw = dict(backend=st["backend"], chains=record_int("settings.chains", st["chains"]),
                  seed=record_int("settings.seed", st["seed"]),
                  sweeps=done, schedule=betas, lam=st["lambda"],
                  p_swap=record_float("settings.p_swap", st["p_swap"]),
                  cap_weight=record_float("settings.cap_weight", st["cap_weight"]),
                  t_scale=st["t_scale"],
                  chain_offset=record_int("settings.chain_offset", st["chain_offset"]),
                  stop="sweeps", sweep_moves=st.get("sweep_moves"), p_hold=st.get("p_hold"))
        kw["strategy"] = strategy   # the one it ran, not "auto" (which may change)
        if strategy != "independent":
            kw.update(rungs=st.get("rungs"), exchange_sweeps=st["exchange_sweeps"])
        part = run.get("repeat_range")   # a sharded run: the chains its walk record is of
        if part is not None:
            if (isinstance(part, (str, bytes, Mapping))
                    or not isinstance(part, (Sequence, np.ndarray)) or len(part) != 2):
                raise InstanceError(f"run.repeat_range: expected [first chain, chains], got "
                                    f"{show_value(part)}")
            first = record_int("run.repeat_range[0]", part[0])
            n = record_int("run.repeat_range[1]", part[1])
            if n != kw["chains"]:
                lo = first - kw["chain_offset"]
                kw.update(chains=n, chain_offset=first)
                for name in ("lam", "t_scale"):
                    if isinstance(kw[name], list):
                        kw[name] = kw[name][lo:lo + n]
        return kw
    except KeyError as e:
        raise InstanceError(f"result: field {e.args[0]!r} missing from its settings or run "
                            "record: this result cannot be repeated") from None


def schedule_record(schedule: Schedule, n_sweeps: int | None, done: int,
                    blocks: list | None = None, strategy: str = "independent") -> dict:
    """How a run walked its schedule, enough to rebuild every inverse temperature it used:
    a planned geometric run (sweep ``s`` at progress ``s / (n_sweeps - 1)``), explicit
    inverse temperatures (the first ``done``), or a time budget's ``blocks``
    ``[first sweep, sweeps, f_first, f_last]`` (progress evenly spaced within a block).
    Tempering walks no schedule: its record is its ladder's ends."""
    if strategy == "tempering":
        return {"kind": "tempering", "t_hot": schedule.t_hot, "t_cold": schedule.t_cold}
    if schedule.betas is not None:
        return {"kind": "explicit", "betas": [float(b) for b in schedule.betas[:done]]}
    d = {"kind": "geometric", "t_hot": schedule.t_hot, "t_cold": schedule.t_cold}
    if blocks is None:
        assert n_sweeps is not None   # a planned run (no blocks) has its sweeps
        d["sweeps_planned"] = int(n_sweeps)
    else:
        d["kind"] = "budget"
        d["blocks"] = [[int(a), int(n), float(f0), float(f1)] for a, n, f0, f1 in blocks]
    return d


def block_fracs(f_first: float, f_last: float, n: int) -> np.ndarray:
    """Progress of the ``n`` sweeps of a time-budgeted block (evenly spaced)."""
    return np.linspace(f_first, f_last, n) if n > 1 else np.array([f_last])


def schedule_from_record(record: Mapping, n_sweeps: int, where: str = "schedule record"
                         ) -> np.ndarray:
    """The first ``n_sweeps`` inverse temperatures of a recorded run
    (:func:`schedule_record`); a field of the wrong type is an error naming it
    (``where.field``)."""
    kind = record.get("kind")
    if kind == "explicit":
        betas = real_array(f"{where}.betas", record["betas"])
    elif kind == "geometric":
        sch = Schedule(record_float(f"{where}.t_hot", record["t_hot"]),
                       record_float(f"{where}.t_cold", record["t_cold"]))
        betas = sch.betas_for(record_int(f"{where}.sweeps_planned", record["sweeps_planned"]))
    elif kind == "budget":
        sch = Schedule(record_float(f"{where}.t_hot", record["t_hot"]),
                       record_float(f"{where}.t_cold", record["t_cold"]))
        blocks = record["blocks"]
        if isinstance(blocks, (str, bytes, Mapping)) or not isinstance(blocks, Sequence):
            raise InstanceError(f"{where}.blocks: expected a list of blocks, got "
                                f"{show_value(blocks)}")
        parts = []
        for i, b in enumerate(blocks):
            at = f"{where}.blocks[{i}]"
            if isinstance(b, (str, bytes, Mapping)) or not isinstance(b, Sequence) or len(b) != 4:
                raise InstanceError(f"{at}: expected [first sweep, sweeps, f_first, f_last], "
                                    f"got {show_value(b)}")
            parts.append(block_fracs(record_float(f"{at}[2]", b[2]),
                                     record_float(f"{at}[3]", b[3]),
                                     record_int(f"{at}[1]", b[1])))
        betas = sch.betas_at(np.concatenate(parts) if parts else np.zeros(0))
    else:
        raise ValueError(f"{where}: unknown kind {kind!r}")
    if betas.ndim != 1 or betas.shape[0] < n_sweeps:
        raise ValueError(f"{where}: {betas.shape[0] if betas.ndim else 0} sweeps recorded, "
                         f"{n_sweeps} asked")
    return np.ascontiguousarray(betas[:n_sweeps])
