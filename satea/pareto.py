"""The energy / timeliness trade-off in one run: a Pareto front over lambda.

``F(x) = energy_cost(x) + lambda * penalty(x)`` has one optimum per lambda; together they
trace the trade-off an operator chooses from. :func:`pareto` explores it in **one** anneal
launch: every chain carries its own lambda from a ladder (:func:`lambda_ladder`), every
chain's best assignment is re-scored in float64, and the non-dominated ones in
``(energy_cost, penalty)`` form the front (:func:`nondominated`).

The front is written as ``satea-front/1``::

    {"format": "satea-front/1", "instance": ..., "lambdas": [...], "trace": [...],
     "points": [<satea-result/1 object with its "lambda">, ...]}     (ascending energy)

``trace`` is the launch's best search objective after each sweep (over chains of every
lambda: the smallest lambda's chains dominate it).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .compile import ProblemArrays, check_lambda
from .model import JOULES_PER_KWH
from .objective import Evaluation, evaluate, job_penalty
from .result import AnnealResult
from .validate import show_value

FRONT_FORMAT = "satea-front/1"

#: The ladder spans [LOW_FACTOR * q_low, HIGH_FACTOR * q_high] of the per-job break-even
#: lambdas (see :func:`break_even_lambdas`), q_low / q_high their QUANTILES.
LOW_FACTOR, HIGH_FACTOR, QUANTILES = 0.01, 10.0, (0.1, 0.9)

#: Default chains per lambda of :func:`pareto` (sweeps default to a single run's,
#: :func:`satea.schedules.default_sweeps`: every lambda's chains anneal as long as a
#: separate run would, at its own temperature level).
DEFAULT_CHAINS_PER_LAMBDA = 8


# ---------------------------------------------------------------------------------------
# the lambda ladder
# ---------------------------------------------------------------------------------------

def break_even_lambdas(problem: ProblemArrays) -> np.ndarray:
    """Per job with a penalty, the lambda at which its penalty weighs as much as its energy.

    ``lambda_j = e_j / pen_j`` where ``e_j`` is the job's typical energy cost (its work at
    the mean cost per unit of work over the servers allowed to it: dynamic plus idle power
    while it runs, at the mean price of each server class) and ``pen_j`` its penalty when
    it is late by its typical processing time (the step weight; for linear and exponential
    penalties the value at that lateness). Below ``min(lambda_j)`` penalties hardly change
    where jobs go (energy rules); far above ``max(lambda_j)`` every job's lateness costs more
    than any energy it could save (timeliness at any price). Jobs without a deadline or
    with a zero weight are left out. Time O(N + S + K*G), no N x S table.
    """
    G = problem.n_server_classes
    sc = problem.server_class
    counts = np.bincount(sc, minlength=G).astype(np.float64)
    price = problem.price_const.astype(np.float64).copy()
    for s in np.flatnonzero(problem.curve_id >= 0):           # curve: its mean price
        c = int(problem.curve_id[s])
        a = int(problem.curve_start[c])
        price[s] = float(np.mean(problem.curve_vals[a:a + int(problem.curve_len[c])]))
    with np.errstate(invalid="ignore", divide="ignore"):
        cls_price = np.bincount(sc, weights=price, minlength=G) / np.maximum(counts, 1)
        cls_idle = np.bincount(sc, weights=problem.idle_w, minlength=G) / np.maximum(counts, 1)
        sec_per_work = problem.work_scale / problem.throughput               # (K, G)
        cost_per_work = ((problem.dyn_w + cls_idle[None, :]) * sec_per_work
                         * cls_price[None, :] / JOULES_PER_KWH)             # currency / work
        w = problem.allowed * counts[None, :]                                # servers per pair
        nw = w.sum(axis=1)
        mean_cost = np.where(nw > 0, (w * cost_per_work).sum(axis=1) / np.maximum(nw, 1), 0.0)
        mean_sec = np.where(nw > 0, (w * sec_per_work).sum(axis=1) / np.maximum(nw, 1), 0.0)
    k = problem.job_class
    e = problem.work * mean_cost[k]
    p = problem.work * mean_sec[k]
    has = (problem.pen_kind > 0) & (problem.pen_weight > 0) & np.isfinite(problem.due)
    out = []
    for j in np.flatnonzero(has).tolist():
        pen = job_penalty(int(problem.pen_kind[j]), float(problem.pen_weight[j]),
                          float(problem.pen_scale[j]), max(float(p[j]), 1e-12))
        if pen > 0 and e[j] > 0 and math.isfinite(e[j] / pen):
            out.append(e[j] / pen)
    return np.asarray(out, np.float64)


def lambda_ladder(problem: ProblemArrays, points: int = 16, lam_max: float | None = None,
                  lam_min: float | None = None) -> np.ndarray:
    """``points`` lambdas: 0 (energy only), then ``points - 1`` geometric from ``lam_min``
    to ``lam_max``.

    Defaults come from the instance's per-job break-even lambdas ``b``
    (:func:`break_even_lambdas`): ``lam_min = 0.01 * quantile(b, 0.1)``, where penalties
    barely matter, and ``lam_max = 10 * quantile(b, 0.9)``, "timeliness at any price":
    there nine jobs in ten would rather pay ten times their energy than be late by their
    own length. An instance with no penalty or no energy cost (a plain assignment problem)
    gets ``[1e-3, 1e3]``; lambda then changes nothing. A ``lam_max`` given below the
    default ``lam_min`` moves ``lam_min`` to ``1e-3 * lam_max``.

    Notes
    -----
    Beyond ``lam_max`` the optimum hardly moves while the search gets harder (the penalty
    scale swamps the energy differences the search must still resolve), so a larger value
    buys nothing; ``lam_max`` may still be set by hand.
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
        raise ValueError(f"points: expected an integer >= 2, got {points!r}")
    b = break_even_lambdas(problem)
    if b.size:
        lo_d = LOW_FACTOR * float(np.quantile(b, QUANTILES[0]))
        hi_d = HIGH_FACTOR * float(np.quantile(b, QUANTILES[1]))
    else:
        lo_d, hi_d = 1e-3, 1e3
    hi = hi_d if lam_max is None else check_lambda(lam_max, "lam_max")
    if not hi > 0:
        raise ValueError(f"lam_max: must be > 0, got {show_value(lam_max)}")
    lo = (check_lambda(lam_min, "lam_min") if lam_min is not None
          else (lo_d if lo_d < hi else 1e-3 * hi))
    if not 0 < lo <= hi:
        raise ValueError(f"lam_min: must be in (0, lam_max={hi:g}], got {show_value(lam_min)}")
    if points == 2:
        return np.array([0.0, hi])
    return np.concatenate(([0.0], np.geomspace(lo, hi, points - 1)))


def check_lambdas(lambdas) -> np.ndarray:
    """A given ladder: a sequence of one or more lambdas, each as
    :func:`satea.compile.check_lambda`; sorted, each once."""
    if isinstance(lambdas, (str, bytes, dict)) or not np.iterable(lambdas):
        raise ValueError(f"lambdas: expected a sequence of numbers, got {show_value(lambdas)}")
    vals = list(lambdas.tolist() if isinstance(lambdas, np.ndarray) else lambdas)
    if not vals:
        raise ValueError("lambdas: expected at least one value")
    lams = np.array([check_lambda(v, f"lambdas[{i}]") for i, v in enumerate(vals)])
    return np.unique(lams)   # sorted, each once


# ---------------------------------------------------------------------------------------
# non-dominated filtering
# ---------------------------------------------------------------------------------------

def nondominated(energy, penalty) -> np.ndarray:
    """Indices of the non-dominated points of ``(energy, penalty)`` (both minimised).

    A point is dominated when another is no worse in both and better in one. Identical
    points are kept once (the lowest index). Points with a NaN are dropped. The indices
    come in ascending energy (so descending penalty). O(n log n): sort by (energy,
    penalty, index), then keep each point whose penalty is below every one before it.
    """
    e = np.asarray(energy, np.float64).reshape(-1)
    p = np.asarray(penalty, np.float64).reshape(-1)
    if e.shape != p.shape:
        raise ValueError(f"energy and penalty: shapes differ, {e.shape} vs {p.shape}")
    idx = np.flatnonzero(~(np.isnan(e) | np.isnan(p)))
    if idx.size == 0:
        return np.zeros(0, np.int64)
    o = idx[np.lexsort((idx, p[idx], e[idx]))]
    ps = p[o]
    prev_min = np.minimum.accumulate(np.concatenate(([np.inf], ps[:-1])))
    keep = ps < prev_min
    return o[keep].astype(np.int64)


@dataclass(frozen=True, eq=False)
class Candidate:
    """A feasible chain-best assignment re-scored in float64 at its chain's lambda, compact
    (no per-job arrays but ``x``) so that a shard of :mod:`satea.distributed` can send it."""

    energy_cost: float
    penalty: float
    lam: float
    chain: int             # global chain index
    chain_objective: float   # the chain's own best search objective (search precision)
    x: np.ndarray          # caller's order
    holds: np.ndarray | None = None   # internal order; None: every job held 0


def chain_candidates(problem: ProblemArrays, samples, lams, chain_best,
                     chain_offset: int = 0,
                     sample_holds=None) -> tuple[list[Candidate], int]:
    """The feasible distinct chain bests of a run, in chain order, and how many distinct
    ones there were. ``samples`` holds each chain's best assignment (caller's order) and
    ``sample_holds`` its holds (internal order; None: all 0), ``lams`` and ``chain_best``
    its lambda and best search objective; a repeated (assignment, holds) is kept once, by
    the chain of the smallest lambda (then index). Chain ``c`` is global chain
    ``chain_offset + c``."""
    samples = np.asarray(samples)
    lams = np.asarray(lams, np.float64)
    order = np.lexsort((np.arange(samples.shape[0]), lams))
    keys = samples if sample_holds is None else np.concatenate(
        [samples.astype(np.float64), np.asarray(sample_holds, np.float64)], axis=1)
    _, first = np.unique(keys[order], axis=0, return_index=True)
    distinct = np.sort(order[first]).tolist()
    out = []
    for c in distinct:
        x = samples[c]
        h = None if sample_holds is None else np.asarray(sample_holds[c], np.float64).copy()
        ev = evaluate(problem.with_lambda(float(lams[c])), x.astype(np.int64), h)
        if ev.feasible:
            out.append(Candidate(float(ev.energy_cost), float(ev.penalty), float(lams[c]),
                                 chain_offset + c, float(chain_best[c]), x.copy(), h))
    return out, len(distinct)


def front_filter(cands: list) -> list:
    """The non-dominated candidates in ``(energy_cost, penalty)``, ascending energy, by
    :func:`nondominated`; of equal points the one of the smallest lambda, then chain, is
    kept. Filtering parts (a distributed run's shards) and then their union gives the same
    points as filtering all at once."""
    cands = sorted(cands, key=lambda c: (c.lam, c.chain))
    keep = nondominated([c.energy_cost for c in cands], [c.penalty for c in cands])
    return [cands[k] for k in keep.tolist()]


# ---------------------------------------------------------------------------------------
# the front
# ---------------------------------------------------------------------------------------

@dataclass
class FrontPoint:
    """One non-dominated assignment, re-scored in float64 at its lambda.

    ``lam`` is the lambda of the chain that found it (the smallest one when chains of
    several lambdas found the same point); ``objective = energy_cost + lam * penalty``
    (+ assignment cost for generic problems); ``chain`` the chain's index in the run.
    """

    lam: float
    x: np.ndarray
    evaluation: Evaluation
    chain: int
    chain_objective: float   # the chain's own best search objective (search precision)
    holds: np.ndarray | None = None   # internal order; None: every job held 0

    @property
    def energy_cost(self) -> float:
        return self.evaluation.energy_cost

    @property
    def penalty(self) -> float:
        return self.evaluation.penalty

    @property
    def objective(self) -> float:
        return self.evaluation.objective

    @property
    def feasible(self) -> bool:
        return self.evaluation.feasible


@dataclass
class ParetoFront:
    """The non-dominated ``(energy_cost, penalty)`` assignments of one :func:`pareto` run.

    ``points`` are in ascending energy (descending penalty). ``run`` is the underlying
    :class:`AnnealResult` (its trace, seconds, backend, samples); ``lambdas`` the ladder;
    ``n_candidates`` / ``n_feasible`` how many distinct chain-best assignments were
    re-scored and how many of them were feasible; ``candidates`` their (energy, penalty,
    lambda) rows (the feasible ones, for plots).
    """

    points: list
    lambdas: np.ndarray
    chains_per_lambda: int
    run: AnnealResult
    problem: ProblemArrays = field(repr=False)
    n_candidates: int = 0
    n_feasible: int = 0
    schedule: tuple | np.ndarray | None = None   # what the launch used
    cap_weight: float = 0.0
    #: temperature level of each lambda (None: one schedule for all)
    t_scale: np.ndarray | None = None
    #: every feasible distinct chain best, shape (n_feasible, 3): energy, penalty, lambda
    candidates: np.ndarray | None = field(default=None, repr=False)
    #: "energy", or "carbon": the run was on :meth:`satea.model.Fleet.carbon_as_price`,
    #: so its energy axis is kg CO2e (written as ``carbon_kg``)
    axis: str = "energy"

    @property
    def axis_label(self) -> str:
        return "carbon_kg" if self.axis == "carbon" else "energy_cost"

    def __len__(self) -> int:
        return len(self.points)

    @property
    def shards(self) -> tuple:
        """The shards of a distributed front (its run's); () locally."""
        return self.run.shards

    def __iter__(self):
        return iter(self.points)

    @property
    def energy_cost(self) -> np.ndarray:
        return np.array([q.energy_cost for q in self.points])

    @property
    def penalty(self) -> np.ndarray:
        return np.array([q.penalty for q in self.points])

    @property
    def lam(self) -> np.ndarray:
        return np.array([q.lam for q in self.points])

    def best_at(self, lam: float) -> FrontPoint:
        """The front's point of least ``energy + lam * penalty``, re-scored at ``lam`` (the
        best over every feasible chain-best of the run: a dominated one is never better)."""
        if not self.points:
            raise ValueError("the front is empty: no chain found a feasible assignment")
        lam = float(lam)
        f = [q.energy_cost + lam * q.penalty for q in self.points]
        q = self.points[int(np.argmin(f))]
        ev = evaluate(self.problem.with_lambda(lam), q.x, q.holds)
        return FrontPoint(lam, q.x, ev, q.chain, q.chain_objective, q.holds)

    def point_result(self, q: FrontPoint) -> AnnealResult:
        """A point as an :class:`AnnealResult` (run fields from the front's run)."""
        r = self.run
        return replace(r, x=q.x, fun=q.objective, energy_cost=q.energy_cost,
                       penalty=q.penalty, assignment_cost=q.evaluation.assignment_cost,
                       feasible=q.feasible, lam=q.lam, evaluation=q.evaluation,
                       message=f"Non-dominated point found by chain {q.chain} "
                               f"(lambda {q.lam:g}).",
                       samples=q.x[None, :], chain_best=np.array([q.chain_objective]),
                       problem=self.problem.with_lambda(q.lam), holds=q.holds,
                       sample_holds=None if q.holds is None else q.holds[None, :])

    def to_dict(self, explain: bool = False) -> dict:
        pts = []
        for q in self.points:
            d = self.point_result(q).to_dict(explain=explain)
            d["chain"] = q.chain
            if self.axis == "carbon":   # the "energy" of the carbon-priced instance is kg
                d["carbon_kg"] = d.pop("energy_cost")
                d["axis"] = "carbon"   # evaluate and report re-score it on that instance
            d.pop("settings", None)   # the run's, written once below
            d.pop("run", None)
            pts.append(d)
        run = {}
        if self.run.settings is not None:
            run = {"settings": self.run.settings.to_dict(), "run": dict(self.run.info)}
        return {"format": FRONT_FORMAT, "instance": self.problem.name, **run,
                **({"axis": "carbon"} if self.axis == "carbon" else {}),
                "lambdas": [float(v) for v in self.lambdas],
                "chains_per_lambda": self.chains_per_lambda,
                "backend": self.run.backend, "seed": self.run.seed,
                "sweeps": self.run.sweeps, "seconds": self.run.seconds,
                "candidates": self.n_candidates, "feasible_candidates": self.n_feasible,
                "trace": [float(v) for v in self.run.trace],
                "points": pts}

    def write_json(self, path, explain: bool = False) -> None:
        Path(path).write_text(json.dumps(self.to_dict(explain), indent=1) + "\n")

    def write_csv(self, path) -> None:
        """One row per point: lambda, energy_cost, penalty, objective, feasible."""
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["lambda", self.axis_label, "penalty", "objective", "feasible"])
            for q in self.points:
                w.writerow([repr(q.lam), repr(q.energy_cost), repr(q.penalty),
                            repr(q.objective), str(q.feasible).lower()])

    def __str__(self) -> str:
        r = self.run
        lines = [f"Pareto front: {len(self.points)} non-dominated of {self.n_feasible} feasible "
                 f"chain bests ({self.n_candidates} distinct); {len(self.lambdas)} lambdas x "
                 f"{self.chains_per_lambda} chains, {r.sweeps} sweeps, backend {r.backend}, "
                 f"seed {r.seed}, {r.seconds:.3g} s",
                 f"  {'lambda':>11} {self.axis_label:>13} {'penalty':>13} {'objective':>13}"]
        for q in self.points:
            lines.append(f"  {q.lam:>11.4g} {q.energy_cost:>13.6g} {q.penalty:>13.6g}"
                         f" {q.objective:>13.6g}")
        return "\n".join(lines)


def read_front(path) -> dict:
    """Read a ``satea-front/1`` file (as a dict), checking its format tag."""
    from .result import read_tagged_json
    return read_tagged_json(path, "front", FRONT_FORMAT, "points", list)


def pareto_schedule(problem: ProblemArrays, lams, seed: int = 0):
    """``(schedule, t_scale, cap_weight)``: the default temperatures of :func:`pareto`.

    Each lambda of the ladder gets the range a single-lambda run would use
    (:func:`satea.schedules.default_temperature_range` at that lambda); one launch has one
    schedule shape, so the shape is geometric over the widest ratio ``R = max t_hot /
    t_cold`` of the ladder, from ``sqrt(R)`` to ``1 / sqrt(R)``, and each chain runs it at
    the level ``t_scale = sqrt(t_hot * t_cold)`` of its lambda: every chain covers its own
    lambda's range. (One range for every lambda leaves the chains of large lambdas with
    the wrong temperatures, far worse than separate runs at the largest lambda:
    docs/quality.md, "Figures behind the defaults".) The capacity weight is the largest
    lambda's, so chains of every lambda end feasible. ``t_scale`` has one value per lambda
    of ``lams``.
    """
    from .schedules import default_cap_weight, default_temperature_range, sample_move_scale
    lams = np.asarray(lams, np.float64)
    if problem.n_jobs == 0:   # an empty planning window: nothing to size (as anneal does)
        return (1.0, 1.0), np.ones(lams.size), 0.0
    ranges, cap = [], 0.0
    for lam in lams:
        scale = sample_move_scale(problem, seed, lam=float(lam))
        ranges.append(default_temperature_range(problem, seed, scale))
        if problem.has_capacity and lam == lams.max():
            cap = default_cap_weight(scale)
    th, tc = np.array(ranges).T
    r = float(np.sqrt(np.max(th / tc)))
    return (r, 1.0 / r), np.sqrt(th * tc), cap


@dataclass(frozen=True)
class LadderSettings:
    """What one Pareto launch is made of, decided before any chain runs (locally or on a
    Dask client): the ladder, chains per lambda, seed, schedule, per-lambda temperature
    levels (None when the caller gave the schedule) and capacity weight."""

    lams: np.ndarray
    chains_per_lambda: int
    seed: int
    schedule: tuple | np.ndarray
    levels: np.ndarray | None
    cap_weight: float

    @property
    def chain_lams(self) -> np.ndarray:
        """Lambda of each chain, interleaved: chain ``c`` has ``lams[c % len(lams)]``."""
        return np.tile(self.lams, self.chains_per_lambda)

    @property
    def chain_t_scale(self) -> np.ndarray | None:
        return None if self.levels is None else np.tile(self.levels, self.chains_per_lambda)


def ladder_settings(problem: ProblemArrays, *, lambdas=None, points: int = 16,
                    lam_max: float | None = None, chains_per_lambda: int | None = None,
                    seed: int | None = None, schedule=None,
                    cap_weight: float | None = None) -> LadderSettings:
    """Check the arguments of :func:`pareto` and fill in its defaults
    (:func:`lambda_ladder`, ``DEFAULT_CHAINS_PER_LAMBDA``, :func:`pareto_schedule`)."""
    from .settings import check_cap_weight, positive_int, resolve_seed
    cpl = positive_int("chains_per_lambda", DEFAULT_CHAINS_PER_LAMBDA
                        if chains_per_lambda is None else chains_per_lambda)
    if lambdas is not None and lam_max is not None:   # the ladder is given: lam_max unused
        raise ValueError("lam_max: sets the default ladder's top; with lambdas given, "
                         "leave it out")
    check_cap_weight(cap_weight)   # anneal's rule, before the sizing
    lams = (lambda_ladder(problem, points, lam_max=lam_max) if lambdas is None
            else check_lambdas(lambdas))
    seed = resolve_seed(seed)
    levels = None
    if schedule is None or cap_weight is None:
        sched, level, cw = pareto_schedule(problem, lams, seed)
        if schedule is None:
            schedule, levels = sched, level
        cap_weight = cw if cap_weight is None else cap_weight
    return LadderSettings(lams, cpl, seed, schedule, levels, float(cap_weight))


def pareto(problem, *, lambdas=None, points: int = 16,
           chains_per_lambda: int | None = None,
           sweeps: int | None = None, backend: str = "auto", seed: int | None = None,
           schedule=None, lam_max: float | None = None, p_swap: float | None = None,
           cap_weight: float | None = None, time_limit: float | None = None,
           callback=None, stop: str = "auto") -> ParetoFront:
    """The energy / penalty Pareto front of ``problem`` from one anneal launch.

    Parameters
    ----------
    problem : Fleet or ProblemArrays
    lambdas : sequence of float >= 0, optional
        The ladder (sorted, repeats dropped); default :func:`lambda_ladder` with
        ``points`` values (and ``lam_max``).
    chains_per_lambda : int, optional
        Chains per lambda (default ``DEFAULT_CHAINS_PER_LAMBDA``, 8); the run has
        ``len(lambdas) * chains_per_lambda`` chains,
        lambdas interleaved (chain ``c`` has ``lambdas[c % len(lambdas)]``) so that the
        slow chains of small lambdas (everything piles onto cheap servers) spread over
        the CPU threads.
    sweeps : int, optional
        Sweeps per chain; default as :func:`satea.anneal` (a single run's length).
    backend, seed, p_swap, time_limit, callback, stop
        As :func:`satea.anneal` (one launch: with ``time_limit`` and no ``sweeps``
        the schedule fills what the ladder's sizing left of the budget, and
        ``front.run.settings.time_limit`` records that reduced value; ``callback``
        stops it between blocks and the front is built from what the chains found).
    schedule : (t_hot, t_cold) or array, optional
        Default: each lambda at its own temperature level (:func:`pareto_schedule`); a
        given schedule is used as is by every chain.
    cap_weight : float, optional
        Default: the largest lambda's, so chains of every lambda end feasible.

    Returns
    -------
    ParetoFront
        Every chain's best assignment re-scored in float64; the feasible ones that no
        other dominates in ``(energy_cost, penalty)``, identical points once, each with
        its lambda and its objective at that lambda.
    """
    from .annealing import anneal
    from .compile import as_problem
    from .settings import CallClock, check_time_limit

    clock = CallClock.start()
    time_limit = check_time_limit(time_limit)
    prob = as_problem(problem)
    ls = ladder_settings(prob, lambdas=lambdas, points=points, lam_max=lam_max,
                         chains_per_lambda=chains_per_lambda, seed=seed, schedule=schedule,
                         cap_weight=cap_weight)
    lams, cpl, chain_lams = ls.lams, ls.chains_per_lambda, ls.chain_lams
    time_limit = clock.left(time_limit)   # the ladder's sizing counts
    run = anneal(prob, chains=chain_lams.size, sweeps=sweeps, backend=backend, seed=ls.seed,
                 schedule=ls.schedule, lam=chain_lams, p_swap=p_swap,
                 cap_weight=ls.cap_weight, time_limit=time_limit, callback=callback,
                 return_samples=True, t_scale=ls.chain_t_scale, stop=stop,
                 strategy="independent")   # a lambda per chain: they answer different questions
    feas, n_distinct = chain_candidates(prob, np.asarray(run.samples, np.int64), chain_lams,
                                        run.chain_best, sample_holds=run.sample_holds)
    pts = [FrontPoint(c.lam, c.x, evaluate(prob.with_lambda(c.lam), c.x, c.holds), c.chain,
                      c.chain_objective, c.holds) for c in front_filter(feas)]
    cands = np.array([[c.energy_cost, c.penalty, c.lam] for c in feas],
                     np.float64).reshape(-1, 3)
    return ParetoFront(pts, lams, cpl, run, prob, n_candidates=n_distinct, n_feasible=len(feas),
                       schedule=ls.schedule, cap_weight=ls.cap_weight, candidates=cands,
                       t_scale=ls.levels)
