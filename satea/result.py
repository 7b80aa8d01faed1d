"""The result of a run (in the spirit of scipy's OptimizeResult) and ``satea-result/1`` I/O."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .compile import ProblemArrays
from .objective import Evaluation, bad_holds, check_assignment, check_holds

if TYPE_CHECKING:   # for the annotation only: no import at run time
    from .settings import RunSettings

RESULT_FORMAT = "satea-result/1"

#: the values of ``AnnealResult.stopped_by``: anneal's stop rules and interruptions, and
#: "done" for a method that runs to its end (a baseline, the MILP)
STOPPED_BY = ("sweeps", "time_limit", "converged", "callback", "interrupt", "done")


@dataclass
class AnnealResult:
    """Best assignment found, re-scored in float64, with everything about the run.

    Attributes
    ----------
    x : ndarray (n_jobs,)
        Server index of each job (caller's job order).
    fun : float
        Objective of ``x`` in the caller's sense (re-scored in float64).
    energy_cost, penalty, assignment_cost : float
        Breakdown: ``fun = energy_cost + lam * penalty + assignment_cost``.
    feasible : bool
        ``x`` respects every allowed pair and capacity. False only when no chain saw a
        feasible assignment.
    message : str
    samples : ndarray (n_chains, n_jobs)
        Each chain's best assignment (caller's job order), as a sampler returns all reads;
        only the best chain's, shape (1, n_jobs), when ``return_samples`` was False.
    chain_best : ndarray (n_chains,)
        Each chain's best search objective (+inf where the chain saw no feasible state).
    trace : ndarray (sweeps,)
        Best search objective over all chains after each sweep.
    holds : ndarray (n_jobs,) or None
        Seconds each job is held after its release, in the problem's INTERNAL (dispatch)
        order (``problem.to_caller(holds)`` for the caller's); None: every job held 0
        (docs/model.md, part 3). Written as ``"holds": {job name: seconds}``, nonzero ones.
    """

    x: np.ndarray
    fun: float
    energy_cost: float
    penalty: float
    assignment_cost: float
    feasible: bool
    message: str
    lam: float
    backend: str
    seed: int
    chains: int
    sweeps: int
    sweeps_requested: int
    seconds: float
    compile_seconds: float
    acceptance_rate: float
    samples: np.ndarray
    chain_best: np.ndarray
    trace: np.ndarray
    evaluation: Evaluation
    problem: ProblemArrays = field(repr=False)
    #: why the search ended: one of :data:`STOPPED_BY`
    stopped_by: str = "sweeps"
    settings: RunSettings | None = field(default=None, repr=False)
    #: what the run did: anneal's setup/search seconds, schedule record and stop reason;
    #: a baseline's method
    info: dict = field(default_factory=dict, repr=False)
    #: the shards a distributed run merged (satea.distributed.ShardInfo each); () locally
    shards: tuple = field(default=(), repr=False)
    #: seconds each job is held, internal order (see the class docstring); None: all 0
    holds: np.ndarray | None = field(default=None, repr=False)
    #: each chain's best's holds (internal order) beside ``samples``, where jobs may be
    #: held and every chain's best was kept; else None
    sample_holds: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def of_assignment(cls, problem: ProblemArrays, x, ev: Evaluation, holds=None,
                      **run) -> AnnealResult:
        """The one constructor every method uses: the assignment ``x`` (caller's order)
        and ``holds`` (internal order; None: ``ev.holds``) with their float64 evaluation
        ``ev``, and the fields that say how it was found."""
        if run.get("stopped_by", "sweeps") not in STOPPED_BY:
            raise ValueError(f"stopped_by: expected one of {STOPPED_BY}, got "
                             f"{run['stopped_by']!r}")
        h = ev.holds if holds is None else check_holds(problem, holds)
        if holds is not None and h is not None and not np.array_equal(
                h, np.zeros(problem.n_jobs) if ev.holds is None else ev.holds):
            raise ValueError("holds: the evaluation was made with other holds; evaluate "
                             "(x, holds) together")
        return cls(x=np.asarray(x, np.int64), fun=ev.objective, energy_cost=ev.energy_cost,
                   penalty=ev.penalty, assignment_cost=ev.assignment_cost,
                   feasible=ev.feasible, evaluation=ev, problem=problem, holds=h, **run)

    @property
    def held(self) -> bool:
        """Whether holds are part of this result: the problem allows them or some job is
        held (then ``explain()`` and the result file show them)."""
        return self.problem.has_holds or (self.holds is not None and bool(self.holds.any()))

    def caller_holds(self) -> np.ndarray:
        """Seconds each job is held, the caller's job order (zeros without holds)."""
        if self.holds is None:
            return np.zeros(self.x.shape[0])
        return self.problem.to_caller(self.holds)

    def _holds_line(self) -> str:
        return holds_line(self.problem, self.holds)

    @property
    def success(self) -> bool:
        return self.feasible

    @property
    def carbon_kg(self) -> float:
        """kg CO2e of ``x`` (docs/model.md, part 2; 0 without carbon intensities)."""
        return float(self.evaluation.carbon_kg)

    @property
    def carbon_cost(self) -> float:
        """``carbon_price_per_kg * carbon_kg``, part of ``fun``."""
        return float(self.evaluation.carbon_cost)

    @property
    def has_carbon(self) -> bool:
        return bool(self.evaluation.has_carbon)

    @property
    def assignment(self) -> dict[str, str]:
        names = self.problem.server_names
        return {j: names[s] for j, s in zip(self.problem.job_names, self.x.tolist())}

    def moves_per_second(self) -> float:
        """Attempted moves per second: chains x sweeps x moves per sweep (``n_jobs``
        unless the settings cut sweeps short) / search seconds."""
        per = getattr(self.settings, "sweep_moves", None) or self.problem.n_jobs
        return self.chains * self.sweeps * per / max(self.seconds, 1e-12)

    def explain(self) -> list[dict]:
        """Per job: server, start, completion, lateness, penalty, dynamic energy cost and,
        on fleets with multi-GPU nodes, ``gpu_indices``, the node's GPUs it ran on (the
        Gantt's lanes: the GPUs that freed up first, lower index first among ties); for
        a problem with holds ``hold``, the seconds the job was held after its release; for
        an assignment problem (no schedule, no energy) the server's name and its index in
        ``x``, the job's cost there (in the caller's sense) and its resource use."""
        p = self.problem
        if p.kind == "assignment":   # job i is class i, server s class s (compile_assignment)
            return [dict(job=j, server=p.server_names[s], server_index=int(s),
                         cost=float(p.sense * p.fixed_cost[i, s]),
                         resource=float(p.work_scale[i, s]))
                    for i, (j, s) in enumerate(zip(p.job_names, self.x.tolist()))]
        ev, names = self.evaluation, self.problem.server_names
        out = [dict(job=j, server=names[s], start=float(ev.start[i]),
                    completion=float(ev.completion[i]), lateness=float(ev.lateness[i]),
                    penalty=float(ev.job_penalty[i]), energy_cost=float(ev.job_energy_cost[i]))
               for i, (j, s) in enumerate(zip(self.problem.job_names, self.x.tolist()))]
        if ev.has_carbon and ev.job_carbon_kg is not None:   # the job's dynamic carbon
            for d, kg in zip(out, ev.job_carbon_kg.tolist()):
                d["carbon_kg"] = float(kg)
        if p.multi_gpu and ev.gpu_lanes is not None:
            for d, lanes in zip(out, ev.gpu_lanes):
                d["gpu_indices"] = list(lanes)
        if self.held:   # part 3: how long each job waited on purpose after its release
            for d, h in zip(out, self.caller_holds().tolist()):
                d["hold"] = float(h)
        return out

    def to_dict(self, explain: bool = False) -> dict:
        d = {
            "format": RESULT_FORMAT, "instance": self.problem.name,
            "assignment": self.assignment,
            "objective": self.fun, "energy_cost": self.energy_cost, "penalty": self.penalty,
            "assignment_cost": self.assignment_cost, "lambda": self.lam,
            **({"carbon_kg": self.carbon_kg, "carbon_cost": self.carbon_cost}
               if self.has_carbon else {}),
            "feasible": self.feasible, "message": self.message,
            "backend": self.backend, "chains": self.chains, "sweeps": self.sweeps,
            "seed": self.seed, "seconds": self.seconds, "compile_seconds": self.compile_seconds,
            "acceptance_rate": self.acceptance_rate, "stopped_by": self.stopped_by,
            "trace": [float(v) for v in self.trace],  # best search objective after each sweep
        }
        if self.held:   # part 3: the holds chosen, nonzero ones (left out: held 0)
            d["holds"] = holds_to_names(self.problem, self.holds)
        if "hold_max_s" in self.info:   # a fleet-wide --hold-max the run applied
            d["hold_max_s"] = float(self.info["hold_max_s"])
        if self.info.get("constant_prices"):   # --constant-prices: the run's curves flattened
            d["constant_prices"] = True
        for k in ("status", "bound", "gap_to_bound"):   # exact methods, certified bounds
            if k in self.info:
                d[k] = float(self.info[k]) if k != "status" else self.info[k]
        if "warm_start" in self.info:   # satea solve --warm-start: its path and digest
            d["warm_start"] = dict(self.info["warm_start"])
        if self.settings is not None:   # what the run used and did: enough to repeat it
            d["settings"] = self.settings.to_dict()
            d["run"] = {k: v for k, v in self.info.items() if k != "warm_start"}
        if explain:
            d["jobs"] = self.explain()
        return d

    def write(self, path, explain: bool = False) -> None:
        Path(path).write_text(json.dumps(self.to_dict(explain), indent=1) + "\n")

    def __repr__(self) -> str:   # short, like str: the arrays are attributes
        return (f"AnnealResult(fun={self.fun:.6g}, feasible={self.feasible}, "
                f"backend={self.backend!r}, chains={self.chains}, sweeps={self.sweeps}, "
                f"stopped_by={self.stopped_by!r}, n_jobs={self.x.shape[0]})")

    def __str__(self) -> str:
        return (f"{self.message}\n  objective {self.fun:.6g} = energy {self.energy_cost:.6g}"
                + (f" + carbon {self.carbon_cost:.6g} ({self.carbon_kg:.6g} kg)"
                   if self.has_carbon else "")
                + f" + {self.lam:g} x penalty {self.penalty:.6g}"
                + (f" + assignment {self.assignment_cost:.6g}" if self.assignment_cost else "")
                + self._holds_line()
                + (f"\n  feasible {self.feasible}; backend {self.backend}, {self.chains} chains"
                   f" x {self.sweeps} sweeps, seed {self.seed}; {self.seconds:.3g} s search"
                   f" (+{self.compile_seconds:.3g} s compile); acceptance "
                   f"{self.acceptance_rate:.3f}"
                   if self.stopped_by != "done" else   # a baseline or the MILP: no chains
                   f"\n  feasible {self.feasible}; method {self.backend}; "
                   f"{self.seconds:.3g} s"))


def holds_line(problem: ProblemArrays, holds) -> str:
    """``"\n  holds: 3 of 10 jobs held, 5.5 h in all (longest 2 h)"``, or "" when no job
    may be held and none is."""
    h = np.zeros(problem.n_jobs) if holds is None else np.asarray(holds)
    if not (problem.has_holds or h.any()):
        return ""
    held = h > 0
    return (f"\n  holds: {int(held.sum())} of {h.size} jobs held, {h.sum() / 3600:.4g} h in "
            f"all" + (f" (longest {h.max() / 3600:.4g} h)" if held.any() else ""))


def read_tagged_json(path, what: str, fmt: str, required: str, kind: type) -> dict:
    """Read a JSON file of ours (``what`` file), checking its format tag ``fmt`` and that
    field ``required`` holds a ``kind``; errors name the file and what is wrong."""
    from .validate import InstanceError
    label = f"{what} file {str(path)!r}"
    try:
        d = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InstanceError(f"{label}: not found") from None
    except json.JSONDecodeError as e:
        raise InstanceError(f"{label}: malformed JSON at line {e.lineno}, column {e.colno}: "
                            f"{e.msg}") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise InstanceError(f"{label}: format must be {fmt!r}, got {got!r}")
    if not isinstance(d.get(required), kind):
        raise InstanceError(f"{label}: missing required field {required!r}")
    return d


def read_result(path) -> dict:
    """Read a ``satea-result/1`` file (as a dict), checking its format tag."""
    return read_tagged_json(path, "result", RESULT_FORMAT, "assignment", dict)


def assignment_from_names(problem: ProblemArrays, assignment: dict) -> np.ndarray:
    """Map ``{job name: server name}`` to server indices (caller's job order), checking that
    every job is assigned exactly once to a known server."""
    from .validate import InstanceError
    sidx = {s: i for i, s in enumerate(problem.server_names)}
    jobs = set(problem.job_names)
    for j, s in assignment.items():
        if j not in jobs:
            raise InstanceError(f"assignment: unknown job {j!r}")
        if not isinstance(s, str):
            raise InstanceError(f"assignment: job {j!r}: expected a server name, got {s!r}")
        if s not in sidx:
            raise InstanceError(f"assignment: job {j!r}: unknown server {s!r}")
    missing = [j for j in problem.job_names if j not in assignment]
    if missing:
        raise InstanceError(f"assignment: job {missing[0]!r} is not assigned "
                            f"({len(missing)} job(s) missing)")
    return check_assignment(problem, np.array([sidx[assignment[j]] for j in problem.job_names]))


def holds_to_names(problem: ProblemArrays, holds) -> dict | None:
    """Holds in the problem's internal order -> a result file's ``{job name: seconds}``,
    the nonzero ones (jobs left out are held 0); None for None. The inverse of
    :func:`holds_from_names`."""
    if holds is None:
        return None
    names = problem.job_names
    return {names[j]: float(h)
            for j, h in enumerate(problem.to_caller(np.asarray(holds, np.float64)).tolist())
            if h != 0.0}


def holds_from_names(problem: ProblemArrays, holds) -> np.ndarray | None:
    """Map a result file's ``{job name: seconds}`` (jobs left out: held 0) to holds in the
    problem's internal order; None when the file has no ``"holds"``.

    Raises
    ------
    InstanceError
        Not an object, an unknown job, a value that is not a number, not finite, below 0
        or above the job's ``hold_max``, naming the job.
    """
    from .validate import InstanceError
    if holds is None:
        return None
    if not isinstance(holds, dict):
        raise InstanceError(f"holds: expected an object of job name -> seconds, got "
                            f"{type(holds).__name__}")
    inv = np.empty(problem.n_jobs, np.int64)
    inv[problem.order] = np.arange(problem.n_jobs)
    jidx = {j: i for i, j in enumerate(problem.job_names)}
    h = np.zeros(problem.n_jobs)
    for j, v in holds.items():
        if j not in jidx:
            raise InstanceError(f"holds: unknown job {j!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InstanceError(f"holds: job {j!r}: expected a number of seconds, got {v!r}")
        try:
            h[inv[jidx[j]]] = float(v)
        except OverflowError:   # an integer beyond float64: not finite, refused below
            h[inv[jidx[j]]] = np.inf
    bad = bad_holds(problem, h)
    if bad.any():
        name = next(j for j in holds if bad[inv[jidx[j]]])
        hm = float(problem.hold_max[inv[jidx[name]]])
        raise InstanceError(f"holds: job {name!r}: expected a finite hold in [0, {hm:g}] s "
                            f"(its hold_max), got {holds[name]!r}")
    return h
