"""What every backend receives and returns: the thin boundary around the fast cores."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..compile import ProblemArrays
from ..kernels.layout import (  # noqa: F401  (the chain-scalar slots, named once there)
    BEST_HOLD, BEST_X, CHAIN_F, F_ACCEPTED, F_BEST_ANY, F_BEST_FEASIBLE, F_COST, F_LAM,
    F_PHOLD, F_TSCALE, F_VIOL, N_CHAIN_F, RNG, RNG_STRIDE, STATE_SPEC, has_holds, has_lists,
    node_gpus, state_sizes)

#: chain-state fields a resampled chain takes from its parent: all but its best, its
#: random stream and its per-chain scalars (of which it takes the running cost and
#: violation only)
GATHERED = tuple(i for i in range(len(STATE_SPEC))
                 if i not in (BEST_X, BEST_HOLD, RNG, CHAIN_F))
GATHERED_F = (F_COST, F_VIOL)


#: seconds this process spent compiling (or loading compiled) kernels; a run's time limit
#: leaves out what its own call adds (a one-off of the process, not of the run)
_COMPILE_CLOCK = [0.0]


def compile_clock() -> float:
    """Total seconds this process has spent compiling or loading kernels so far."""
    return _COMPILE_CLOCK[0]


def count_compile(seconds: float) -> None:
    _COMPILE_CLOCK[0] += float(seconds)


@dataclass(frozen=True)
class RunSpec:
    """Everything a backend needs to start its chains.

    ``chain_ids`` name the random streams (chain ``i`` of a run uses stream
    ``chain_ids[i]``), so shards of one logical run draw disjoint, reproducible streams.
    ``x0`` (internal order, shape (n_chains, n_jobs)) or None for random starts.
    ``t_scale`` (n_chains,): chain ``i`` anneals at temperatures ``t_scale[i] / betas``;
    None means ones.
    """

    n_chains: int
    seed: int
    chain_ids: np.ndarray
    lams: np.ndarray
    p_swap: float
    cap_weight: float
    x0: np.ndarray | None = None
    t_scale: np.ndarray | None = None
    sweep_moves: int | None = None   # attempted moves per chain per sweep; None: n_jobs
    #: probability that a move changes a hold (used only where some job may be held)
    p_hold: float = 0.0
    #: starting holds (internal order, (n_chains, n_jobs)) with ``x0``; None: zeros
    h0: np.ndarray | None = None

    def moves(self, n_jobs: int) -> int:
        """Attempted moves per chain in one sweep."""
        return n_jobs if self.sweep_moves is None else int(self.sweep_moves)

    def chain_t_scale(self) -> np.ndarray:
        if self.t_scale is None:
            return np.ones(self.n_chains)
        return np.asarray(self.t_scale, np.float64)


def warmup_spec() -> RunSpec:
    """The one-chain run the backends compile their kernels on (:func:`warmup_problems`)."""
    return RunSpec(1, 0, np.arange(1), np.ones(1), 0.5, 1.0)


def warmup_problems() -> list:
    """A 2 x 2 assignment problem, a 2 x 2 fleet and the same fleet whose jobs may be held:
    the kernels' kinds of state (without and with job lists, with holds), to compile on."""
    from ..compile import compile_assignment, compile_fleet
    from ..model import DNNModel, Fleet, GPUType, Job, Profile, Server
    tiny_fleet = Fleet("tiny", {"g": GPUType("g", 1, 10.0)}, {"m": DNNModel("m", 1)},
                       (Profile("m", "g", 1.0, 20.0),),
                       (Server("a", "g", price_per_kwh=0.1), Server("b", "g", price_per_kwh=0.2)),
                       (Job("j0", "m", 1.0), Job("j1", "m", 2.0)))
    from dataclasses import replace
    fleet = compile_fleet(tiny_fleet)
    return [compile_assignment(np.array([[1.0, 2.0], [2.0, 1.0]])), fleet,
            replace(fleet, hold_max=np.array([60.0, 0.0]))]


def state_plan(problem: ProblemArrays, spec: RunSpec, P: tuple, flags: tuple) -> list:
    """How to build each chain-state array (kernels.layout.STATE_SPEC order), flat over
    all chains, for kernels compiled with ``flags`` (kernels.layout.CPU_FLAGS or GPU_FLAGS):
    ``(size, dtype, fill)`` with ``fill`` a scalar (a constant array, which a device can
    fill itself) or a host array already in the kernels' layout (chain-major rows on the
    CPU, interleaved ``i * n_chains + c`` on the GPU)."""
    from ..kernels.rng import seed_states
    nc = spec.n_chains
    chain_major = flags[0]
    lay = ((lambda a: np.ascontiguousarray(a).reshape(-1)) if chain_major
           else (lambda a: np.ascontiguousarray(np.asarray(a).T).reshape(-1)))
    chain_f = np.zeros((nc, N_CHAIN_F))
    chain_f[:, F_LAM] = spec.lams
    chain_f[:, F_BEST_FEASIBLE] = np.inf
    chain_f[:, F_BEST_ANY] = np.inf
    chain_f[:, F_TSCALE] = spec.chain_t_scale()
    holds = has_holds(P)
    chain_f[:, F_PHOLD] = spec.p_hold if holds else 0.0
    rng = seed_states(spec.seed, spec.chain_ids)
    if chain_major:   # each chain's two words in a row of RNG_STRIDE (layout.RNG_STRIDE)
        rng = np.concatenate([rng, np.zeros((nc, RNG_STRIDE - 2), np.uint64)], axis=1)
    host = {"rng": rng, "chain_f": chain_f}
    if spec.x0 is not None:
        x0 = np.asarray(spec.x0, np.int32).reshape(nc, problem.n_jobs)
        host["x"] = x0
        host["best_x"] = x0
    if spec.h0 is not None and holds:
        h0 = np.asarray(spec.h0, np.float64).reshape(nc, problem.n_jobs)
        host["hold"] = h0
        host["best_hold"] = h0
    sizes = state_sizes(problem.n_jobs, problem.n_servers, has_lists(P), flags,
                        max_gpus=node_gpus(P), holds=holds)
    plan = []
    for (name, _kind, dtype, value), n in zip(STATE_SPEC, sizes):
        fill = lay(np.asarray(host[name], dtype)) if name in host else value
        plan.append((n * nc, dtype, fill))
    return plan


@dataclass
class ChainSnapshot:
    """Per-chain results, host arrays. ``best_x`` in internal job order."""

    best_x: np.ndarray | None  # None when not asked for (large runs)
    best_feasible: np.ndarray   # best feasible search objective; +inf: none seen
    best_any: np.ndarray        # best search objective (with capacity weight) while none feasible
    accepted: np.ndarray
    cost: np.ndarray            # current search cost (without capacity term)
    viol: np.ndarray
    #: each chain's best's holds (internal order), with ``best_x`` where jobs may be held
    best_hold: np.ndarray | None = None


class Backend(ABC):
    """A backend runs chains in blocks of sweeps; the driver (:func:`satea.anneal`) owns the
    loop, the clock, callbacks and the result."""

    name: str = "?"
    #: chains when the caller gives none: enough to use the cores (or the GPU's
    #: multiprocessors) without diluting sweeps per chain, which buy more quality
    default_chains: int = 16
    #: cap on the default sweeps (None: :func:`satea.schedules.default_sweeps` as is)
    max_default_sweeps: int | None = None
    #: seconds spent compiling (JIT) in this process for this backend, measured once
    compile_seconds: float = 0.0
    #: whether a time budget may fit the run's chains and moves per sweep to the move rate
    #: that sizing measured (:mod:`satea.settings`): sizing runs the CPU kernels, so that
    #: rate is this backend's only where the run uses them too
    budget_from_sizing_rate: bool = False

    @classmethod
    def chains_side_by_side(cls) -> int | None:
        """How many chains advance at once, so a sweep of ``c`` chains costs about
        ``ceil(c / n)`` sweeps of one chain; None: all of them (one round, a GPU). The
        default, 1: the chains take turns (or one vectorised pass costs ``c`` times one)."""
        return 1

    @classmethod
    def available(cls) -> bool:
        return True

    @classmethod
    def usable_for_auto(cls) -> bool:
        """Whether ``backend="auto"`` may pick this backend."""
        return cls.available()

    @classmethod
    def unavailable_reason(cls) -> str:
        return ""

    @classmethod
    def check_capacity(cls, problem: ProblemArrays, n_chains: int) -> None:
        """Raise MemoryError, before anything is allocated, if the chains cannot fit."""

    @classmethod
    def batch(cls, n_problems: int) -> BatchBackend:
        """The batch backend that runs ``n_problems`` problems' chains (one launch per
        block where the backend can; in turn otherwise)."""
        return SerialBatch(cls)

    @classmethod
    def batch_groups(cls, problems: list, n_chains: list) -> list:
        """The problems (indices) in groups that run one after another: all in one group
        unless their chains do not fit the device together."""
        return [list(range(len(problems)))]

    @abstractmethod
    def start(self, problem: ProblemArrays, spec: RunSpec) -> None:
        """Allocate and initialise the chains."""

    @abstractmethod
    def run_block(self, sweep0: int, betas: np.ndarray) -> np.ndarray:
        """Run sweeps ``sweep0 .. sweep0 + len(betas) - 1``, sweep ``sweep0 + i`` at inverse
        temperature ``betas[i]`` (times each chain's ``1 / t_scale``); return the best
        search objective over chains after each sweep (length ``len(betas)``). The driver
        owns the schedule, so a time budget can fit it as the run goes."""

    @abstractmethod
    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        """Copy the per-chain results to the host (every chain's best assignment too when
        ``with_x``)."""

    @abstractmethod
    def chain_x(self, c: int) -> np.ndarray:
        """Best assignment of chain ``c`` (internal order)."""

    def chain_hold(self, c: int) -> np.ndarray | None:
        """The holds of chain ``c``'s best (internal order); None when no job may be held."""
        return None

    def set_t_scale(self, t_scale: np.ndarray) -> None:
        """Give chain ``c`` the temperature scale ``t_scale[c]`` from the next sweep on
        (tempering's exchanges)."""
        raise NotImplementedError(f"the {self.name} backend cannot change temperatures")

    def gather(self, parents: np.ndarray) -> None:
        """Chain ``c`` takes chain ``parents[c]``'s current state (assignment, lists,
        cached costs and running totals); its random stream, its best so far and its
        counters stay its own (population annealing's resampling)."""
        raise NotImplementedError(f"the {self.name} backend cannot resample chains")

    def close(self) -> None:
        """Release resources (device memory)."""


class BatchBackend(ABC):
    """Chains of many problems behind one boundary (:func:`satea.anneal_batch`; a single
    run is a batch of one): ``run_block`` advances every problem that gets inverse
    temperatures, in one launch where the backend can."""

    name: str = "?"
    compile_seconds: float = 0.0

    @abstractmethod
    def start(self, problems: list, specs: list) -> None:
        """Allocate and initialise every problem's chains."""

    @abstractmethod
    def run_block(self, sweep0: list, betas: list) -> list:
        """Problem ``p`` runs sweeps ``sweep0[p] ..`` at ``betas[p]`` (None or empty: it
        waits); returns each problem's best-over-chains trace (None where it waited)."""

    @abstractmethod
    def snapshot(self, p: int, with_x: bool = True) -> ChainSnapshot:
        """Problem ``p``'s per-chain results (as :meth:`Backend.snapshot`)."""

    @abstractmethod
    def chain_x(self, p: int, c: int) -> np.ndarray:
        """Best assignment of chain ``c`` of problem ``p`` (internal order)."""

    def chain_hold(self, p: int, c: int) -> np.ndarray | None:
        """:meth:`Backend.chain_hold` for problem ``p``."""
        return None

    def set_t_scale(self, p: int, t_scale: np.ndarray) -> None:
        """:meth:`Backend.set_t_scale` for problem ``p``."""
        raise NotImplementedError(f"{type(self).__name__} cannot change temperatures")

    def gather(self, p: int, parents: np.ndarray) -> None:
        """:meth:`Backend.gather` for problem ``p``."""
        raise NotImplementedError(f"{type(self).__name__} cannot resample chains")

    def close(self) -> None:
        """Release resources."""


class SerialBatch(BatchBackend):
    """A batch as one single-problem backend per problem, run in turn: the numpy reference
    (readable, not fast) and a single run use it."""

    def __init__(self, cls: type[Backend]):
        self.cls, self.name = cls, cls.name
        self.backends: list[Backend] = []

    def start(self, problems: list, specs: list) -> None:
        for prob, spec in zip(problems, specs):
            be = self.cls()
            self.backends.append(be)
            be.start(prob, spec)
            self.compile_seconds = be.compile_seconds

    def run_block(self, sweep0: list, betas: list) -> list:
        return [None if b is None or len(b) == 0 else be.run_block(s0, b)
                for be, s0, b in zip(self.backends, sweep0, betas)]

    def snapshot(self, p: int, with_x: bool = True) -> ChainSnapshot:
        return self.backends[p].snapshot(with_x)

    def chain_x(self, p: int, c: int) -> np.ndarray:
        return self.backends[p].chain_x(c)

    def chain_hold(self, p: int, c: int) -> np.ndarray | None:
        return self.backends[p].chain_hold(c)

    def set_t_scale(self, p: int, t_scale: np.ndarray) -> None:
        self.backends[p].set_t_scale(t_scale)

    def gather(self, p: int, parents: np.ndarray) -> None:
        self.backends[p].gather(parents)

    def close(self) -> None:
        for be in self.backends:
            be.close()
        self.backends = []
