"""What every backend receives and returns: the thin boundary around the fast cores."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..compile import ProblemArrays

#: per-chain scalars, in kernels.moves.run_sweeps order
F_LAM, F_COST, F_VIOL, F_BEST_FEASIBLE, F_BEST_ANY, F_ACCEPTED, F_TSCALE = range(7)
N_CHAIN_F = 7


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
    betas: np.ndarray
    p_swap: float
    cap_weight: float
    x0: np.ndarray | None = None
    t_scale: np.ndarray | None = None

    def chain_t_scale(self) -> np.ndarray:
        if self.t_scale is None:
            return np.ones(self.n_chains)
        return np.asarray(self.t_scale, np.float64)


@dataclass
class ChainSnapshot:
    """Per-chain results, host arrays. ``best_x`` in internal job order."""

    best_x: np.ndarray | None  # None when not asked for (large runs)
    best_feasible: np.ndarray   # best feasible search objective; +inf: none seen
    best_any: np.ndarray        # best search objective (with capacity weight) while none feasible
    accepted: np.ndarray
    cost: np.ndarray            # current search cost (without capacity term)
    viol: np.ndarray


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

    @abstractmethod
    def start(self, problem: ProblemArrays, spec: RunSpec) -> None:
        """Allocate and initialise the chains."""

    @abstractmethod
    def run_block(self, sweep0: int, n_sweeps: int) -> np.ndarray:
        """Run sweeps ``sweep0 .. sweep0 + n_sweeps - 1``; return the best search objective
        over chains after each sweep (length ``n_sweeps``)."""

    @abstractmethod
    def snapshot(self, with_x: bool = True) -> ChainSnapshot:
        """Copy the per-chain results to the host (every chain's best assignment too when
        ``with_x``)."""

    @abstractmethod
    def chain_x(self, c: int) -> np.ndarray:
        """Best assignment of chain ``c`` (internal order)."""

    def close(self) -> None:
        """Release resources (device memory)."""
