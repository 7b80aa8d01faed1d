"""``anneal``: the one entry point. Resolves the run's settings (:mod:`satea.settings`),
runs a backend's chains in blocks of sweeps (checking the clock, the stop rule, the
callback and Ctrl-C between blocks) and returns an :class:`~satea.result.AnnealResult`
re-scored in float64."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .backends import ChainSnapshot, RunSpec, backend_class
from .compile import ProblemArrays, as_problem
from .objective import evaluate
from .result import AnnealResult
from .strategies import make_strategy
from .validate import show_value
from .settings import (CONVERGED_CHECKS, CONVERGED_RULE, CallClock, RunOptions, RunSettings,
                       block_fracs, resolve, schedule_record)

#: wall time a block of sweeps aims at: short enough for time limits and Ctrl-C
BLOCK_SECONDS = 0.2
#: a time budget is spent in at least about this many blocks (each re-measures the rate)
BLOCKS_PER_BUDGET = 8


@dataclass
class Progress:
    """What a callback sees: between blocks of sweeps (``phase == "search"``), and once
    as each setup step starts (``phase`` names it, e.g. ``"setup: sizing the schedule"``;
    no sweep has run then)."""

    sweeps_done: int
    n_sweeps: int             # planned sweeps (a time budget: done + the estimate left)
    best_objective: float     # best search objective over chains so far
    acceptance_rate: float
    elapsed: float            # seconds since anneal was called
    phase: str = "search"
    problems: int = 1         # problems in the run (a batch: anneal_batch)
    problems_done: int = 0    # ... of which have stopped


def anneal(problem, *, chains: int | None = None, sweeps: int | None = None,
           backend: str = "auto",
           seed: int | None = None, schedule=None, lam=None, p_swap: float | None = None,
           cap_weight: float | None = None, x0=None, time_limit: float | None = None,
           callback: Callable[[Progress], bool | None] | None = None,
           chain_offset: int = 0, return_samples: bool | None = None,
           t_scale=None, stop: str = "auto", sweep_moves: int | None = None,
           strategy: str = "auto", rungs: int | None = None,
           exchange_sweeps: int | None = None, p_hold: float | None = None, holds0=None,
           settings: RunSettings | None = None) -> AnnealResult:
    """Minimise the model's objective by simulated annealing over many chains.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    chains : int, optional
        Number of chains (``num_reads``); default the backend's
        ``default_chains`` (16 on the CPU backends, 1024 on cuda).
    sweeps : int, optional
        Sweeps per chain; a sweep is ``n_jobs`` attempted moves. Default: with a
        ``time_limit``, as many as fit it; else :func:`~satea.schedules.default_sweeps`
        (about 2e6 moves per chain, 2,000-50,000 sweeps; at most 500 on the numpy
        reference), ended early when converged.
    backend : {"auto", "numpy", "numba", "cuda"}
        "auto" picks cuda when a GPU is usable, else numba.
    seed : int, optional
        None draws entropy; the seed used is recorded in the result. Chain ``i`` uses
        stream ``chain_offset + i``: with ``strategy="independent"`` its trajectory
        does not depend on ``chains`` (population and tempering couple the chains).
    schedule : (t_hot, t_cold) or array of ``sweeps`` inverse temperatures, optional
        Default: geometric, derived from the instance (:func:`default_temperature_range`).
        ``(t_hot, t_cold)``: the hot end first (``t_hot >= t_cold``: the run cools);
        temperatures and inverse temperatures are finite numbers > 0 whose inverses are
        finite too.
    lam : float or array of ``chains`` floats, optional
        Weight of penalties; per-chain values explore the trade-off in one run. Each a
        number >= 0 and at most :data:`satea.validate.MAX_VALUE`
        (:func:`satea.compile.check_lambda`).
    p_swap : float, optional
        Probability that a move is a swap (else a shift); default 0.3, or 0.6 when
        servers have capacities (:data:`satea.settings.DEFAULT_P_SWAP_CAPACITY`).
    cap_weight : float, optional
        Search cost per unit of capacity overload; default from the instance.
    x0 : int array (n_jobs,) or (chains, n_jobs), optional
        Warm start (caller's job order); default: uniform random allowed servers. One row
        per chain takes ``chains`` to match (the default chains are not taken from it).
    holds0 : float array (n_jobs,) or (chains, n_jobs), optional
        The warm start's holds in seconds (caller's job order; docs/model.md, part 3);
        default 0. Only with ``x0``.
    p_hold : float, optional
        Probability that a move changes a job's hold, where some job may be held;
        default :data:`satea.settings.DEFAULT_P_HOLD`.
    time_limit : float, optional
        Seconds for the whole call, setup (schedule sizing, chain start-up) included;
        compiling the kernels, a one-off per process, is not (``info``'s
        ``compile_seconds_in_call``). Without ``sweeps`` the run fills it: the temperature
        follows the elapsed fraction of the budget and the last sweep is at the cold end
        when the time is up. With ``sweeps`` it is a cap: a run cut by it has not cooled.
    callback : callable(Progress) -> bool, optional
        Called as each setup step starts and between blocks; a true return value stops
        the run (during setup: before the first sweep): ``True``, or anything Python takes
        as true (``bool(value)``: ``1``, ``"yes"``, even ``"no"``); ``None`` or ``False``
        go on. Anything but a callable (or None) is refused before the run starts.
    chain_offset : int
        First stream index (shards of one logical run use disjoint ranges); ``>= 0``, and
        ``chain_offset + chains - 1`` fits 64-bit streams (at most ``2**63 - 1``).
    return_samples : bool, optional
        Keep every chain's best assignment in ``result.samples``; default: when
        ``chains * n_jobs <= 2**24``, else only the best chain's.
    t_scale : float or array of ``chains`` floats > 0, optional
        Per-chain temperature multipliers: chain ``i`` runs the schedule at ``t_scale[i]``
        times its temperatures (the Pareto ladder gives each lambda its own level).
    stop : {"auto", "sweeps", "time", "converged"}
        When the run ends (:mod:`satea.settings`): "auto" is "time" with a time limit and
        no sweeps, "sweeps" with sweeps, else "converged" (the planned sweeps, ended once
        no chain has improved its best for a tenth of them).
    sweep_moves : int, optional
        Attempted moves per chain in one sweep; default ``n_jobs``. A time-budgeted run on
        a problem so large that one sweep would take long uses fewer (recorded), so the
        clock, the schedule and Ctrl-C are served every few hundredths of a second.
    strategy : {"auto", "independent", "tempering", "population"}
        How the chains work together (:mod:`satea.strategies`): each anneals alone;
        parallel tempering on a fixed ladder of temperatures between the schedule's ends
        (no cooling: it runs as long as the stop rule allows); or population annealing
        (the schedule, with the chains resampled by Boltzmann weights). The last two need
        one ``lam`` and no ``t_scale``. "auto" (default): population annealing, the
        winner at equal wall time in docs/quality.md, or independent chains where they
        cannot meet (lambdas that differ between chains, or any ``t_scale``).
        ``info["strategy"]`` records the one run.
    rungs : int, optional
        Tempering's ladder: temperatures (default ``chains // 2``, at most 32), geometric
        from ``t_cold`` to ``t_hot``, chains spread evenly over them.
    exchange_sweeps : int, optional
        Sweeps between tempering's exchanges or population's resamplings (default: about
        4,000 attempted moves per chain).
    settings : RunSettings, optional
        Settings already resolved (:func:`satea.settings.resolve_settings`) for this
        problem; the other run arguments must then be left out (``callback`` aside): any
        given is refused, as are settings resolved for another problem.

    Returns
    -------
    AnnealResult
        ``settings`` holds what the run used and ``info`` what it did (setup and search
        seconds, the schedule walked, why it stopped): :func:`satea.settings.repeat_kwargs`
        repeats it from its file.

    Notes
    -----
    A move costs O(1) for its additive terms; where a server has schedule terms, the numba
    backend re-times only the jobs after the change until the timeline rejoins the old one
    and the cuda backend re-walks that server (O(n_jobs) in the numpy reference). Chains
    keep their best state at sweep boundaries.
    """
    options = RunOptions.of(locals())   # first: the parameters are the only locals yet
    clock = CallClock.start()
    check_callback(callback)
    prob = as_problem(problem)
    if settings is not None:
        check_given_settings([prob], [settings], options)
    run = _Run([prob], callback, clock)
    if settings is None:
        settings = resolve([prob], options, on_phase=run.tell)[0]
    return run.run([settings])[0]


def check_callback(callback) -> None:
    """A run's ``callback``: None or a callable, else a TypeError naming it."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable (or None), got "
                        f"{type(callback).__name__} {show_value(callback)}")


def check_given_settings(probs: list, settings: list, options: RunOptions) -> None:
    """Settings given to :func:`anneal` or :func:`anneal_batch`: RunSettings, each
    resolved for its problem, and no other run argument beside them."""
    given = options.given()
    if given:
        raise ValueError(f"settings: resolved settings fix every run argument; leave out "
                         f"{', '.join(given)} (or resolve the settings with "
                         f"{'it' if len(given) == 1 else 'them'}: "
                         f"satea.resolve_settings)")
    for i, (prob, st) in enumerate(zip(probs, settings)):
        if not isinstance(st, RunSettings):
            where = "settings" if len(probs) == 1 else f"settings[{i}]"
            raise TypeError(f"{where}: expected a RunSettings (satea.resolve_settings), got "
                            f"{type(st).__name__}")
        st.check_problem(prob)


def anneal_batch(problems, *, chains: int | None = None, sweeps: int | None = None,
                 backend: str = "auto", seed: int | None = None, schedule=None, lam=None,
                 p_swap: float | None = None, cap_weight: float | None = None, x0=None,
                 time_limit: float | None = None,
                 callback: Callable[[Progress], bool | None] | None = None,
                 chain_offset: int = 0, return_samples: bool | None = None, t_scale=None,
                 stop: str = "auto", sweep_moves: int | None = None,
                 strategy: str = "auto", rungs: int | None = None,
                 exchange_sweeps: int | None = None, p_hold: float | None = None,
                 holds0=None,
                 settings: list[RunSettings] | None = None) -> list[AnnealResult]:
    """Anneal many problems in one call: one setup, and one launch per block of sweeps
    over every (problem, chain) pair.

    Arguments as :func:`anneal`, applied to every problem, except ``x0``: None or one warm
    start (or None) per problem. Result ``i`` is exactly ``anneal(problems[i], ...)``
    with the same arguments and the seed the batch used (``seed=None`` draws one seed for
    the whole batch), whatever else is in the batch; only timings differ. A
    ``time_limit`` is the whole batch's: every problem's schedule follows the elapsed
    fraction of it (so, unlike the other stop rules, a budgeted problem's answer depends
    on the batch it ran in). The ``callback`` sees the batch: sweeps summed over problems,
    ``best_objective`` the sum of the problems' bests, ``problems_done``. ``settings``:
    one :class:`RunSettings` per problem, already resolved for it (the other run
    arguments, ``callback`` aside, must then be left out, as in :func:`anneal`;
    :mod:`satea.distributed` gives each shard its slice of the chains).

    Returns
    -------
    list of AnnealResult
        One per problem, in order; each records ``info["batch"]`` (its index and the
        batch's size).
    """
    options = RunOptions.of(locals())   # first: the parameters are the only locals yet
    clock = CallClock.start()
    check_callback(callback)
    probs = [as_problem(p) for p in problems]
    if not probs:
        return []
    if x0 is not None and (isinstance(x0, np.ndarray) or len(x0) != len(probs)):
        raise ValueError(f"x0: expected None or a list of {len(probs)} warm starts "
                         "(one per problem, each None or as anneal's x0)")
    run = _Run(probs, callback, clock)
    if settings is None:
        settings = resolve(probs, options if x0 is None else
                           [replace(options, x0=x) for x in x0], on_phase=run.tell)
    else:
        if isinstance(settings, RunSettings) or len(settings) != len(probs):
            raise ValueError(f"settings: expected a list of {len(probs)} RunSettings (one "
                             f"per problem)")
        check_given_settings(probs, list(settings), options)
        if (len({st.backend for st in settings}) > 1
                or len({(st.stop, st.time_limit) for st in settings}) > 1):
            raise ValueError("settings: one per problem, all on one backend with one stop "
                             "rule and time limit")
    results = run.run(list(settings))
    for i, r in enumerate(results):
        r.info["batch"] = {"index": i, "problems": len(probs)}
    return results


class _Plan:
    """One problem's part of a run: its settings, schedule, sweeps done and why it ended."""

    def __init__(self, prob: ProblemArrays, st: RunSettings):
        self.prob, self.st = prob, st
        self.n_plan = st.sweeps
        self.moves = prob.n_jobs if st.sweep_moves is None else st.sweep_moves
        self.strategy = make_strategy(st)
        self.every = self.strategy.every   # exchange points: multiples of it (or None)
        self.betas = (None if st.sweeps is None else
                      self.strategy.block_betas(st.schedule.betas_for(st.sweeps)))
        self.trace: list = []
        self.blocks: list = []   # a time budget's blocks: [s0, n, f0, f1]
        self.done = 0
        self.active = prob.n_jobs > 0
        self.stopped_by, self.reason = "sweeps", "ran the planned sweeps"
        if not self.active:
            self.reason = "no jobs to place"
        self.check: int | None = None
        self.conv: dict[int, tuple] | None = None
        if st.stop == "converged":
            assert self.n_plan is not None   # only a time budget leaves the sweeps open
            self.check = max(1, math.ceil(self.n_plan / CONVERGED_CHECKS))
            self.window = self.check * max(1, math.ceil(
                CONVERGED_RULE["window"] * self.n_plan / self.check))
            self.least = math.ceil(CONVERGED_RULE["min_fraction"] * self.n_plan)
            self.conv = {}   # sweeps done at a check -> (best_feasible, best_any) per chain

    def end(self, by: str, reason: str) -> None:
        self.active = False
        self.stopped_by, self.reason = by, reason

    def next_betas(self, block: int):
        """Inverse temperatures of this problem's next block of at most ``block`` sweeps
        of its plan (never crossing a converged check), or None when the plan is done."""
        # asked only of a planned run (not a time budget): its sweeps and betas are set
        assert self.n_plan is not None and self.betas is not None
        if self.done >= self.n_plan:
            self.active = False
            return None
        n = min(block, self.n_plan - self.done)
        if self.check is not None:   # the rule sees fixed sweeps
            n = min(n, self.check - self.done % self.check)
        if self.every is not None:   # ... and so do exchanges
            n = min(n, self.every - self.done % self.every)
        return self.betas[self.done:self.done + n]

    def exchange_point(self) -> bool:
        """Whether the chains meet before the next block (tempering, population)."""
        return self.every is not None and self.done > 0 and self.done % self.every == 0

    def at_check(self) -> bool:
        """Whether the converged rule looks at the chains now."""
        return (self.conv is not None and self.check is not None   # set together
                and (self.done % self.check == 0 or self.done == self.n_plan))

    def converged(self, snap) -> bool:
        """At a check: record the chains' bests; True when none improved over the window."""
        if not self.at_check():
            return False
        # at a check, so under the converged rule: its record and plan are set
        assert self.conv is not None and self.n_plan is not None
        self.conv[self.done] = (snap.best_feasible, snap.best_any)
        then = self.conv.get(self.done - self.window)
        if (self.done >= self.least and self.done < self.n_plan and then is not None
                and not _improved(then[0], snap.best_feasible)
                and not _improved(then[1], snap.best_any)):
            self.end("converged", f"converged: no chain improved its best in the last "
                                  f"{self.window} sweeps")
            return True
        return False


class _Run:
    """The driver of one run or one batch: start the backend, feed every active problem
    blocks of sweeps in one launch each, stop each by its rule."""

    def __init__(self, probs: list, callback, clock: CallClock):
        self.probs, self.callback, self.clock = probs, callback, clock
        self.t_call = clock.started
        self.stop_asked: list = []
        self.deadline: float | None = None
        self.group_deadline: float | None = None
        self.blocks: list = []   # the running group's time-budget blocks, shared by its problems
        self.block_seconds = BLOCK_SECONDS   # a time-budgeted block's length (_budget_block)

    def tell(self, step: str) -> None:
        """Tell the callback that a setup step starts; it may ask to stop."""
        if self.callback is not None and self.callback(Progress(
                0, 0, math.inf, 0.0, time.perf_counter() - self.t_call, f"setup: {step}",
                len(self.probs))):
            self.stop_asked.append(step)

    # -- the loop --------------------------------------------------------------------------
    def run(self, settings: list) -> list:
        self.plans = plans = [_Plan(p, st) for p, st in zip(self.probs, settings)]
        st0 = settings[0]
        self.time_mode = st0.stop == "time"
        cls = backend_class(st0.backend)
        self.blocks = []
        live = [i for i, pl in enumerate(plans) if pl.active]   # empty problems: no search
        groups = [[live[k] for k in g] for g in cls.batch_groups(
            [plans[i].prob for i in live], [plans[i].st.chains for i in live])] if live else []
        snaps: dict = {}
        compile_seconds, name = 0.0, st0.backend
        self.t_search: float | None = None
        for gi, group in enumerate(groups):
            be = cls.batch(len(group))
            try:
                if gi == 0:
                    self.tell("compiling and starting the chains")
                # a group whose turn came after a stop is started and not searched: its
                # problems answer with their chains' starting states
                be.start([plans[i].prob for i in group], [_spec(plans[i]) for i in group])
                if self.t_search is None:
                    self._search_starts()
                if self.deadline is not None:   # groups share what is left of the limit
                    now = time.perf_counter()
                    self.group_deadline = now + (self.deadline - now) / (len(groups) - gi)
                if self.time_mode:
                    self.blocks = []
                    for i in group:
                        plans[i].blocks = self.blocks
                if any(plans[i].active for i in group) or self.stop_asked:
                    self._search(be, [plans[i] for i in group])
                for k, i in enumerate(group):
                    keep = plans[i].st.return_samples
                    snap = be.snapshot(k, with_x=keep)
                    best = _best_chain(snap)
                    snaps[i] = (snap, best,
                                snap.best_x if keep else be.chain_x(k, best)[None, :],
                                be.chain_hold(k, best))
                # compiling is once per process: the groups' backends report the same
                compile_seconds, name = max(compile_seconds, be.compile_seconds), be.name
            finally:
                be.close()
        if self.t_search is None:
            self._search_starts()
        assert self.t_search is not None   # set by _search_starts
        search_seconds = time.perf_counter() - self.t_search
        out = []
        for i, pl in enumerate(plans):
            if i in snaps:
                snap, best, best_x, best_h = snaps[i]
            else:   # an empty planning window: the empty assignment
                zero = np.zeros(pl.st.chains)
                snap = ChainSnapshot(np.zeros((pl.st.chains, 0), np.int32), zero, zero, zero,
                                     zero, zero)
                best, best_x, best_h = 0, snap.best_x, None
            out.append(self._result(pl, snap, best, best_x, best_h,
                                    search_seconds if i in snaps else 0.0,
                                    compile_seconds if i in snaps else 0.0,
                                    name if i in snaps else pl.st.backend))
        return out

    def _search_starts(self) -> None:
        """The clock once the first chains are started: setup ends, the deadline is set."""
        self.t_search = time.perf_counter()
        self.setup_seconds = self.t_search - self.t_call
        # kernels compiled (or loaded) during this call are a one-off of the process: the
        # time limit counts the rest of setup and the search
        self.compile_in_call = self.clock.compile_seconds()
        tl = self.plans[0].st.time_limit
        if tl is not None:
            self.deadline = self.t_call + tl + self.compile_in_call
        self.group_deadline = self.deadline

    def _search(self, be, plans: list) -> None:
        """Run one group's search; a stop (callback, Ctrl-C) ends every problem's."""
        if self.stop_asked:
            by, why = "callback", "stopped by the callback during setup"
        else:
            try:
                if self._loop(be, plans):
                    return
                by, why = "callback", "stopped by the callback"
            except KeyboardInterrupt:
                by, why = "interrupt", "interrupted (Ctrl-C)"
        for pl in self.plans:
            if pl.active:
                pl.end(by, why)

    def _loop(self, be, plans: list) -> bool:
        """Blocks of sweeps until every problem of ``plans`` has stopped; False when the
        callback asked to stop."""
        per_sweep = None
        block = 1
        while True:
            if self.time_mode:
                plan = self._budget_block(per_sweep, plans)
                if plan is None:
                    return True
                fracs, last = plan
                betas = [pl.strategy.block_betas(pl.st.schedule.betas_at(fracs))
                         for pl in plans]
            else:
                betas = [pl.next_betas(block) if pl.active else None for pl in plans]
                if all(b is None for b in betas):
                    return True
                last = False
            for k, (pl, b) in enumerate(zip(plans, betas)):
                if b is not None and len(b):
                    if pl.done == 0:
                        pl.strategy.started(float(b[0]))
                    elif pl.exchange_point():
                        pl.strategy.between(be, k, b)
            tb = time.perf_counter()
            traces = be.run_block([pl.done for pl in plans], betas)
            n = 1
            for pl, t in zip(plans, traces):
                if t is not None:
                    pl.trace.append(t)
                    pl.done += len(t)
                    n = max(n, len(t))
            now = time.perf_counter()
            per_sweep = (now - tb) / n
            if self.callback is not None and self._tell_progress(be, plans, now, per_sweep):
                return False
            if last:
                for pl in plans:
                    pl.end("time_limit", "used the time limit, ending at the cold end")
                return True
            for k, (pl, t) in enumerate(zip(plans, traces)):
                if t is not None and pl.at_check():
                    pl.converged(be.snapshot(k, with_x=False))
            target = BLOCK_SECONDS
            if self.deadline is not None and not self.time_mode:
                assert self.group_deadline is not None   # set with the deadline
                left = self.group_deadline - now
                if left <= 0.5 * per_sweep:
                    for pl in plans:
                        if pl.active and pl.done < pl.n_plan:
                            pl.end("time_limit", "cut by the time limit before the cold end")
                    return True
                target = min(target, left)
            block = int(max(1, target / max(per_sweep, 1e-9)))

    def _tell_progress(self, be, plans, now, per_sweep) -> bool:
        accepted = moves = 0.0
        best = 0.0
        for k, pl in enumerate(plans):
            snap = be.snapshot(k, with_x=False)
            accepted += float(snap.accepted.sum())
            moves += pl.st.chains * max(pl.done, 1) * pl.moves
            best += float(pl.trace[-1][-1]) if pl.trace else math.inf
        done = sum(pl.done for pl in plans)
        if self.time_mode:
            planned = done + len(plans) * self._left_sweeps(per_sweep)
        else:
            planned = sum(pl.n_plan for pl in plans)
        finished = sum(not pl.active for pl in self.plans)
        return bool(self.callback(Progress(done, planned, best, accepted / max(moves, 1.0),
                                           now - self.t_call, "search", len(self.plans),
                                           finished)))

    def _left_sweeps(self, per_sweep: float) -> int:
        assert self.group_deadline is not None   # asked only under a time budget
        left = self.group_deadline - time.perf_counter()
        return max(int(left / max(per_sweep, 1e-12)), 0)

    def _budget_block(self, per_sweep, plans):
        """The next block of a time-budgeted run: (progress fractions of its sweeps, is it
        the last), or None when the budget is spent. The progress ``f`` left is spread
        evenly over the sweeps that still fit at the last measured rate; the block that
        reaches the end of the budget ends at ``f = 1``. Every problem of a batch walks the
        same fractions of its own schedule."""
        blocks = self.blocks
        f = blocks[-1][3] if blocks else 0.0
        left = self.group_deadline - time.perf_counter()
        done = blocks[-1][0] + blocks[-1][1] if blocks else 0
        # chains that meet do so at fixed sweep counts: no block crosses one
        cap = min([pl.every - done % pl.every for pl in plans if pl.every is not None],
                  default=None)
        if per_sweep is None:           # nothing measured yet: one sweep at the hot end
            n, f0, f1 = 1, 0.0, 0.0
            if left <= 0:                # setup used the budget: one sweep, cold
                f1 = 1.0
            # a short budget gets shorter blocks: a sweep costs more hot (more moves
            # accepted) than cold, and one sweep's time is mostly a block's fixed cost, so
            # an end sized from a rate measured far up the schedule came early
            # (benchmarks/README.md, "Results: short time budgets")
            self.block_seconds = min(BLOCK_SECONDS, max(left / BLOCKS_PER_BUDGET, 0.005))
        else:
            if f >= 1.0:
                return None
            fit = left / per_sweep
            target = self.block_seconds / per_sweep
            last = fit <= 1.5 * max(target, 1.0)
            if last and cap is not None and int(fit) > cap:
                last = False   # an exchange point lies before the end
            if last:    # the last block: end cold
                n = max(1, int(fit))
                step = (1.0 - f) / n
                f0, f1 = f + step, 1.0
            else:
                n = max(1, int(target))
                if cap is not None:
                    n = min(n, cap)
                step = (1.0 - f) / fit
                f0, f1 = f + step, f + step * n
        blocks.append([done, n, f0, f1])
        return block_fracs(f0, f1, n), f1 >= 1.0

    # -- the result ------------------------------------------------------------------------
    def _result(self, pl, snap, best, best_x, best_h, search_seconds, compile_seconds, name):
        st, prob, done = pl.st, pl.prob, pl.done
        trace = np.concatenate(pl.trace) if pl.trace else np.zeros(0)
        feasible_chains = np.isfinite(snap.best_feasible)
        samples = prob.to_caller(best_x)
        x = samples[best if samples.shape[0] > 1 else 0].astype(np.int64)
        lam = float(st.lam[best])
        at_lam = prob.with_lambda(lam)
        ev = evaluate(at_lam, x, holds=best_h)
        kept = None
        if st.x0 is not None and prob.n_jobs:   # a warm start is never lost
            kept = _unbeaten_start(at_lam, st, ev)
            if kept is not None:
                x, best_h, ev = kept
        planned = pl.n_plan if pl.n_plan is not None else done
        if prob.n_jobs == 0:
            msg = "No jobs to place: the empty assignment."
        elif done == 0:
            msg = "No sweep completed."
        elif kept is not None:
            msg = ("No chain beat the warm start: it is returned"
                   + ("." if ev.feasible else
                      f" (infeasible: capacity overload {ev.violation:.6g})."))
        elif ev.feasible:
            msg = "Best feasible assignment found."
        else:
            msg = ("No chain found a feasible assignment; the least infeasible one is returned "
                   f"(capacity overload {ev.violation:.6g}).")
        if pl.stopped_by in ("callback", "interrupt") or (
                pl.stopped_by == "time_limit" and st.stop != "time"):
            of = "" if st.stop == "time" else f" of {planned}"
            msg += f" Stopped by {pl.stopped_by.replace('_', ' ')} after {done}{of} sweeps."
        elif pl.stopped_by == "converged":
            msg += f" Converged after {done} of {planned} planned sweeps."
        moves = max(st.chains * max(done, 1) * pl.moves, 1)
        blocks = pl.blocks if st.stop == "time" else None
        info = {"setup_seconds": self.setup_seconds, "search_seconds": search_seconds,
                "compile_seconds": compile_seconds,
                "compile_seconds_in_call": self.compile_in_call, "sweeps_done": done,
                "stopped_by": pl.stopped_by, "reason": pl.reason,
                "schedule": schedule_record(st.schedule, pl.n_plan, done, blocks,
                                            st.strategy),
                "strategy": pl.strategy.record()}
        return AnnealResult.of_assignment(
            prob, x, ev, message=msg, lam=lam, backend=name, seed=st.seed, chains=st.chains,
            sweeps=done, sweeps_requested=planned, seconds=search_seconds,
            compile_seconds=compile_seconds,
            acceptance_rate=float(snap.accepted.sum()) / moves,
            samples=samples, chain_best=np.where(feasible_chains, snap.best_feasible, np.inf),
            trace=trace, stopped_by=pl.stopped_by, settings=st, info=info, holds=best_h,
            sample_holds=snap.best_hold)


def _spec(pl: _Plan) -> RunSpec:
    st = pl.st
    return RunSpec(st.chains, st.seed, np.arange(st.chains, dtype=np.int64) + st.chain_offset,
                   st.lam, st.p_swap, st.cap_weight, st.x0, pl.strategy.t_scale(st),
                   st.sweep_moves, st.p_hold, st.h0)


def _improved(then: np.ndarray, now: np.ndarray) -> bool:
    """Whether any chain's best fell from ``then`` to ``now`` by more than the converged
    rule's relative tolerance (or became finite)."""
    tol = CONVERGED_RULE["tolerance"]
    fin = np.isfinite(then)
    a, b = np.where(fin, then, 0.0), np.where(fin, now, 0.0)
    drop = fin & (a - b > tol * np.maximum(np.abs(a), 1e-300))
    return bool((drop | (~fin & np.isfinite(now))).any())


def _unbeaten_start(problem, st, ev):
    """``(x, holds, evaluation)`` of the best of the run's warm starts (each chain's
    ``x0`` and ``h0``; distinct ones, scored in float64 at the returned chain's lambda)
    when it is better than ``ev``, the returned chain's best: feasible before
    infeasible, then the search objective (plus ``cap_weight`` x violation when
    infeasible). None when a chain beat every start. Kept apart from the chains' bests,
    so the stop rules and the trace see the search as it went."""
    def key(e):
        return ((0, e.search_objective) if e.feasible
                else (1, e.search_objective + st.cap_weight * e.violation))

    seen: set = set()
    found = None
    for c in range(st.x0.shape[0]):
        h = None if st.h0 is None else st.h0[c]
        tag = (st.x0[c].tobytes(), None if h is None else h.tobytes())
        if tag in seen:
            continue
        seen.add(tag)
        x = problem.to_caller(st.x0[c]).astype(np.int64)
        e = evaluate(problem, x, holds=h)
        if key(e) < key(ev) and (found is None or key(e) < key(found[2])):
            found = (x, None if h is None else np.array(h), e)
    return found


def _best_chain(snap) -> int:
    """The chain whose best is returned: least feasible search objective, else least
    penalised one."""
    feasible = np.isfinite(snap.best_feasible)
    if feasible.any():
        return int(np.argmin(np.where(feasible, snap.best_feasible, np.inf)))
    return int(np.argmin(snap.best_any))
