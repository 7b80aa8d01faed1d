"""``anneal``: the one entry point. Resolves the run's settings (:mod:`satea.settings`),
runs a backend's chains in blocks of sweeps (checking the clock, the stop rule, the
callback and Ctrl-C between blocks) and returns an :class:`~satea.result.AnnealResult`
re-scored in float64."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .backends import ChainSnapshot, RunSpec, backend_class
from .backends.base import compile_clock
from .compile import ProblemArrays, as_problem
from .objective import evaluate
from .result import AnnealResult
from .settings import (CONVERGED_CHECKS, CONVERGED_RULE, RunSettings, block_fracs,
                       resolve_settings, schedule_record)

#: wall time a block of sweeps aims at: short enough for time limits and Ctrl-C
BLOCK_SECONDS = 0.2


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


def anneal(problem, *, chains: int | None = None, sweeps: int | None = None,
           backend: str = "auto",
           seed: int | None = None, schedule=None, lam=None, p_swap: float | None = None,
           cap_weight: float | None = None, x0=None, time_limit: float | None = None,
           callback: Callable[[Progress], bool | None] | None = None,
           chain_offset: int = 0, return_samples: bool | None = None,
           t_scale=None, stop: str = "auto", sweep_moves: int | None = None,
           settings: RunSettings | None = None) -> AnnealResult:
    """Minimise the model's objective by simulated annealing over many independent chains.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    chains : int, optional
        Number of independent chains (``num_reads``); default the backend's
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
        stream ``chain_offset + i``: its trajectory does not depend on ``chains``.
    schedule : (t_hot, t_cold) or array of ``sweeps`` inverse temperatures, optional
        Default: geometric, derived from the instance (:func:`default_temperature_range`).
    lam : float or array of ``chains`` floats, optional
        Weight of penalties; per-chain values explore the trade-off in one run.
    p_swap : float, optional
        Probability that a move is a swap (else a shift); default 0.3, or 0.6 when
        servers have capacities (:data:`satea.settings.DEFAULT_P_SWAP_CAPACITY`).
    cap_weight : float, optional
        Search cost per unit of capacity overload; default from the instance.
    x0 : int array (n_jobs,) or (chains, n_jobs), optional
        Warm start (caller's job order); default: uniform random allowed servers.
    time_limit : float, optional
        Seconds for the whole call, setup (schedule sizing, chain start-up) included;
        compiling the kernels, a one-off per process, is not (``info``'s
        ``compile_seconds_in_call``). Without ``sweeps`` the run fills it: the temperature follows the
        elapsed fraction of the budget and the last sweep is at the cold end when the
        time is up. With ``sweeps`` it is a cap: a run cut by it has not cooled.
    callback : callable(Progress) -> bool, optional
        Called as each setup step starts and between blocks; returning True stops the
        run (during setup: before the first sweep).
    chain_offset : int
        First stream index (shards of one logical run use disjoint ranges).
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
    settings : RunSettings, optional
        Settings already resolved (:func:`satea.settings.resolve_settings`); the other
        run arguments must then be left out.

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
    t_call = time.perf_counter()
    compiled_before = compile_clock()
    prob = as_problem(problem)
    stop_asked = []

    def tell(step: str) -> None:
        if callback is not None and callback(Progress(0, 0, math.inf, 0.0,
                                                      time.perf_counter() - t_call,
                                                      f"setup: {step}")):
            stop_asked.append(step)

    if settings is None:
        settings = resolve_settings(
            prob, backend=backend, chains=chains, sweeps=sweeps, seed=seed,
            schedule=schedule, lam=lam, p_swap=p_swap, cap_weight=cap_weight,
            time_limit=time_limit, t_scale=t_scale, chain_offset=chain_offset, x0=x0,
            return_samples=return_samples, stop=stop, sweep_moves=sweep_moves,
            on_phase=tell)
    return _Run(prob, settings, callback, t_call, tell, stop_asked, compiled_before).run()


class _Run:
    """One run's driver: start the backend, feed it blocks of sweeps, stop by the rule."""

    def __init__(self, prob: ProblemArrays, st: RunSettings, callback, t_call, tell,
                 stop_asked, compiled_before):
        self.prob, self.st, self.callback, self.t_call = prob, st, callback, t_call
        self.tell, self.stop_asked = tell, stop_asked
        self.compiled_before = compiled_before
        self.deadline = None
        self.n_plan = st.sweeps
        self.moves = prob.n_jobs if st.sweep_moves is None else st.sweep_moves
        self.betas = None if st.sweeps is None else st.schedule.betas_for(st.sweeps)
        self.blocks = [] if st.stop == "time" else None   # time budget: [s0, n, f0, f1]
        self.trace = []
        self.done = 0
        self.stopped_by, self.reason = "sweeps", "ran the planned sweeps"

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> AnnealResult:
        st, prob = self.st, self.prob
        spec = RunSpec(st.chains, st.seed,
                       np.arange(st.chains, dtype=np.int64) + st.chain_offset, st.lam,
                       st.p_swap, st.cap_weight, st.x0, st.t_scale, st.sweep_moves)
        if prob.n_jobs == 0:   # an empty planning window: the empty assignment, no search
            self.setup_seconds, self.compile_in_call = time.perf_counter() - self.t_call, 0.0
            self.reason = "no jobs to place"
            zero = np.zeros(st.chains)
            snap = ChainSnapshot(np.zeros((st.chains, 0), np.int32), zero, zero, zero, zero,
                                 zero)
            return self._result(snap, 0, snap.best_x, 0.0, 0.0, st.backend)
        be = backend_class(st.backend)()
        try:
            self.tell("compiling and starting the chains")
            be.start(prob, spec)
            self.t_search = time.perf_counter()
            self.setup_seconds = self.t_search - self.t_call
            # kernels compiled (or loaded) during this call are a one-off of the process:
            # the time limit counts the rest of setup and the search
            self.compile_in_call = compile_clock() - self.compiled_before
            if st.time_limit is not None:
                self.deadline = self.t_call + st.time_limit + self.compile_in_call
            if self.stop_asked:
                self.stopped_by, self.reason = "callback", "stopped by the callback during setup"
            else:
                try:
                    self._loop(be)
                except KeyboardInterrupt:
                    self.stopped_by, self.reason = "interrupt", "interrupted (Ctrl-C)"
            search_seconds = time.perf_counter() - self.t_search
            if st.return_samples:
                snap = be.snapshot(with_x=True)
            else:
                snap = be.snapshot(with_x=False)
            best = _best_chain(snap)
            best_x = snap.best_x if st.return_samples else be.chain_x(best)[None, :]
            compile_seconds = be.compile_seconds
            name = be.name
        finally:
            be.close()
        return self._result(snap, best, best_x, search_seconds, compile_seconds, name)

    def _loop(self, be) -> None:
        st = self.st
        per_sweep = None
        block = 1
        check = conv = None
        if st.stop == "converged":
            check = max(1, math.ceil(self.n_plan / CONVERGED_CHECKS))
            window = check * max(1, math.ceil(CONVERGED_RULE["window"] * self.n_plan / check))
            least = math.ceil(CONVERGED_RULE["min_fraction"] * self.n_plan)
            conv = {}   # sweeps done at a check -> (best_feasible, best_any) per chain
        while True:
            if st.stop == "time":
                plan = self._budget_block(per_sweep)
                if plan is None:
                    break
                betas, last = plan
            else:
                if self.done >= self.n_plan:
                    break
                n = min(block, self.n_plan - self.done)
                if check is not None:   # blocks never cross a check: the rule sees fixed sweeps
                    n = min(n, check - self.done % check)
                betas, last = self.betas[self.done:self.done + n], False
            tb = time.perf_counter()
            self.trace.append(be.run_block(self.done, betas))
            n = len(betas)
            self.done += n
            now = time.perf_counter()
            per_sweep = (now - tb) / n
            if self.callback is not None:
                snap = be.snapshot(with_x=False)
                acc = float(snap.accepted.sum()) / (st.chains * self.done * self.moves)
                planned = self.n_plan if self.n_plan else self.done + self._left_sweeps(per_sweep)
                if self.callback(Progress(self.done, planned, float(self.trace[-1][-1]), acc,
                                          now - self.t_call)):
                    self.stopped_by, self.reason = "callback", "stopped by the callback"
                    return
            if last:
                self.stopped_by = "time_limit"
                self.reason = "used the time limit, ending at the cold end"
                return
            if conv is not None and (self.done % check == 0 or self.done == self.n_plan):
                snap = be.snapshot(with_x=False)
                conv[self.done] = (snap.best_feasible, snap.best_any)
                then = conv.get(self.done - window)
                if (self.done >= least and self.done < self.n_plan and then is not None
                        and not _improved(then[0], snap.best_feasible)
                        and not _improved(then[1], snap.best_any)):
                    self.stopped_by = "converged"
                    self.reason = (f"converged: no chain improved its best in the last "
                                   f"{window} sweeps")
                    return
            target = BLOCK_SECONDS
            if st.time_limit is not None and st.stop != "time":
                left = self.deadline - now
                if left <= 0.5 * per_sweep:
                    if self.done < self.n_plan:
                        self.stopped_by = "time_limit"
                        self.reason = "cut by the time limit before the cold end"
                    return
                target = min(target, left)
            block = int(max(1, target / max(per_sweep, 1e-9)))

    def _left_sweeps(self, per_sweep: float) -> int:
        left = self.deadline - time.perf_counter()
        return max(int(left / max(per_sweep, 1e-12)), 0)

    def _budget_block(self, per_sweep):
        """The next block of a time-budgeted run: (inverse temperatures, is it the last),
        or None when the budget is spent. The progress ``f`` left is spread evenly over
        the sweeps that still fit at the last measured rate; the block that reaches the
        end of the budget ends at ``f = 1``."""
        sch, blocks = self.st.schedule, self.blocks
        f = blocks[-1][3] if blocks else 0.0
        left = self.deadline - time.perf_counter()
        if per_sweep is None:           # nothing measured yet: one sweep at the hot end
            n, f0, f1 = 1, 0.0, 0.0
            if left <= 0:                # setup used the budget: one sweep, cold
                f1 = 1.0
        else:
            if f >= 1.0:
                return None
            fit = left / per_sweep
            target = BLOCK_SECONDS / per_sweep
            if fit <= 1.5 * max(target, 1.0):    # the last block: end cold
                n = max(1, int(fit))
                step = (1.0 - f) / n
                f0, f1 = f + step, 1.0
            else:
                n = max(1, int(target))
                step = (1.0 - f) / fit
                f0, f1 = f + step, f + step * n
        blocks.append([self.done, n, f0, f1])
        return sch.betas_at(block_fracs(f0, f1, n)), f1 >= 1.0

    # -- the result ------------------------------------------------------------------------
    def _result(self, snap, best, best_x, search_seconds, compile_seconds, name):
        st, prob, done = self.st, self.prob, self.done
        trace = np.concatenate(self.trace) if self.trace else np.zeros(0)
        feasible_chains = np.isfinite(snap.best_feasible)
        samples = prob.to_caller(best_x)
        x = samples[best if samples.shape[0] > 1 else 0].astype(np.int64)
        lam = float(st.lam[best])
        ev = evaluate(prob.with_lambda(lam), x)
        planned = self.n_plan if self.n_plan is not None else done
        if prob.n_jobs == 0:
            msg = "No jobs to place: the empty assignment."
        elif done == 0:
            msg = "No sweep completed."
        elif ev.feasible:
            msg = "Best feasible assignment found."
        else:
            msg = ("No chain found a feasible assignment; the least infeasible one is returned "
                   f"(capacity overload {ev.violation:.6g}).")
        if self.stopped_by in ("callback", "interrupt") or (
                self.stopped_by == "time_limit" and st.stop != "time"):
            of = "" if st.stop == "time" else f" of {planned}"
            msg += f" Stopped by {self.stopped_by.replace('_', ' ')} after {done}{of} sweeps."
        elif self.stopped_by == "converged":
            msg += f" Converged after {done} of {planned} planned sweeps."
        moves = max(st.chains * max(done, 1) * self.moves, 1)
        info = {"setup_seconds": self.setup_seconds, "search_seconds": search_seconds,
                "compile_seconds": compile_seconds,
                "compile_seconds_in_call": self.compile_in_call, "sweeps_done": done,
                "stopped_by": self.stopped_by, "reason": self.reason,
                "schedule": schedule_record(st.schedule, self.n_plan, done, self.blocks)}
        return AnnealResult(
            x=x, fun=ev.objective, energy_cost=ev.energy_cost, penalty=ev.penalty,
            assignment_cost=ev.assignment_cost, feasible=ev.feasible, message=msg, lam=lam,
            backend=name, seed=st.seed, chains=st.chains, sweeps=done,
            sweeps_requested=planned, seconds=search_seconds,
            compile_seconds=compile_seconds,
            acceptance_rate=float(snap.accepted.sum()) / moves,
            samples=samples, chain_best=np.where(feasible_chains, snap.best_feasible, np.inf),
            trace=trace, evaluation=ev, problem=prob, stopped_by=self.stopped_by,
            settings=st, info=info)


def _improved(then: np.ndarray, now: np.ndarray) -> bool:
    """Whether any chain's best fell from ``then`` to ``now`` by more than the converged
    rule's relative tolerance (or became finite)."""
    tol = CONVERGED_RULE["tolerance"]
    fin = np.isfinite(then)
    a, b = np.where(fin, then, 0.0), np.where(fin, now, 0.0)
    drop = fin & (a - b > tol * np.maximum(np.abs(a), 1e-300))
    return bool((drop | (~fin & np.isfinite(now))).any())


def _best_chain(snap) -> int:
    """The chain whose best is returned: least feasible search objective, else least
    penalised one."""
    feasible = np.isfinite(snap.best_feasible)
    if feasible.any():
        return int(np.argmin(np.where(feasible, snap.best_feasible, np.inf)))
    return int(np.argmin(snap.best_any))
