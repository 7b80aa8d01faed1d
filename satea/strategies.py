"""Search strategies: how a run's chains work together (``anneal(..., strategy=...)``).

``"auto"`` (the default)
    :data:`AUTO_STRATEGY` (population annealing, the winner at equal wall time in
    docs/quality.md) where the chains can meet, ``"independent"`` where they cannot
    (:func:`auto_strategy`).
``"independent"``
    Every chain anneals alone on the run's schedule; the answer is the best chain's best.
``"tempering"``
    Parallel tempering. The chains sit on a geometric ladder of ``rungs`` fixed
    temperatures from the schedule's cold end to its hot end, several replicas per rung
    (chain ``c`` starts on rung ``c % rungs``). Every ``exchange_sweeps`` sweeps,
    neighbouring rungs (the pairs from rung 0 and from rung 1 in turn) offer to exchange
    temperatures replica by replica, by the Metropolis exchange rule
    (:func:`exchange_accepts`). A temperature is a chain's scalar ``t_scale``, so an
    exchange moves two numbers, not two states. There is no cooling schedule to size: the
    run lasts as long as its stop rule lets it, and the answer is the best state any
    replica visited.
``"population"``
    Population annealing. The chains follow the run's schedule; every ``exchange_sweeps``
    sweeps the population is resampled (:func:`systematic_resample`) with weights
    ``exp(-(beta' - beta) E)``, ``beta`` the inverse temperature at the last resampling
    and ``beta'`` the next sweep's, so good states multiply and poor ones die out. A chain
    takes its parent's state (assignment, lists, cached costs); its random stream, its
    best so far and its counters stay its own. The result reports how many distinct
    families (descendants of one starting chain) are left.

``E`` is a chain's search objective (cost with the capacity term), the quantity the move
rule compares; both strategies need one lambda and one temperature scale for all chains
(:mod:`satea.settings` checks it). The exchange and resampling draws come from a NumPy
generator keyed by the run's seed and chain offset, so a run is as deterministic as an
independent one: the same seed, strategy, backend and chain count give the same result.
Exchanges happen at fixed sweep counts (multiples of ``exchange_sweeps``) whatever the
block sizes the clock picks.
"""
from __future__ import annotations

import math

import numpy as np

STRATEGIES = ("independent", "tempering", "population")
#: what ``strategy="auto"`` (the default) runs wherever the chains can meet: the winner of
#: the equal-time table in docs/quality.md ("Search strategies at equal wall time")
AUTO_STRATEGY = "population"
#: tempering: at most this many rungs by default (chains // 2 below it: two replicas a rung)
MAX_RUNGS = 32
#: attempted moves per chain between exchanges (or resamplings) by default: the host
#: round trip they cost stays small beside the sweeps (measured, docs/quality.md)
EXCHANGE_MOVES = 4_000


def auto_strategy(chains_can_meet: bool) -> str:
    """``strategy="auto"``: :data:`AUTO_STRATEGY` when the chains share one energy function
    and temperature scale (one lambda, no per-chain ``t_scale``), else ``"independent"``
    (a lambda ladder's chains answer different questions; they cannot trade states)."""
    return AUTO_STRATEGY if chains_can_meet else "independent"


def default_rungs(chains: int) -> int:
    """Rungs of a tempering ladder: two replicas a rung, at most :data:`MAX_RUNGS`."""
    return int(min(MAX_RUNGS, max(1, chains // 2)))


def default_exchange_sweeps(moves_per_sweep: int) -> int:
    """Sweeps between exchanges: :data:`EXCHANGE_MOVES` attempted moves per chain."""
    return int(max(1, math.ceil(EXCHANGE_MOVES / max(moves_per_sweep, 1))))


def ladder(t_hot: float, t_cold: float, rungs: int) -> np.ndarray:
    """Temperatures of the rungs, geometric, rung 0 the coldest."""
    if rungs == 1:
        return np.array([float(t_cold)])
    return np.geomspace(float(t_cold), float(t_hot), rungs)


def exchange_pairs(rung_of: np.ndarray, rungs: int, parity: int) -> tuple:
    """The replica pairs offered an exchange: for each rung ``r = parity, parity + 2, ..``
    below the top, the ``k``-th chain (by index) on rung ``r`` with the ``k``-th on rung
    ``r + 1``. Returns (lower, upper) chain indices."""
    lo, hi = [], []
    for r in range(parity, rungs - 1, 2):
        a, b = np.flatnonzero(rung_of == r), np.flatnonzero(rung_of == r + 1)
        k = min(a.size, b.size)
        lo.append(a[:k])
        hi.append(b[:k])
    if not lo:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(lo), np.concatenate(hi)


def exchange_accepts(beta_lo, beta_hi, e_lo, e_hi, u) -> np.ndarray:
    """The Metropolis exchange rule: replicas at inverse temperatures ``beta_lo`` (colder)
    and ``beta_hi`` with energies ``e_lo`` and ``e_hi`` swap temperatures with probability
    ``min(1, exp((beta_lo - beta_hi) * (e_lo - e_hi)))`` (``u`` uniform in [0, 1))."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = (np.asarray(beta_lo) - np.asarray(beta_hi)) * (np.asarray(e_lo) - np.asarray(e_hi))
        return (d >= 0) | (np.asarray(u) < np.exp(np.minimum(d, 0.0)))


def resample_weights(energies: np.ndarray, dbeta: float) -> np.ndarray:
    """Normalised Boltzmann weights ``exp(-dbeta * E)`` (computed shifted, so they never
    overflow)."""
    logw = -float(dbeta) * np.asarray(energies, np.float64)
    logw -= logw.max()
    w = np.exp(logw)
    return w / w.sum()


def systematic_resample(weights: np.ndarray, u: float) -> np.ndarray:
    """Systematic resampling: ``R`` parents for ``R`` weights, child ``k`` the chain whose
    cumulative weight interval holds ``(u + k) / R``. Expected copies of chain ``c`` are
    ``R * weights[c]``, and every chain gets the floor or the ceiling of that."""
    r = len(weights)
    cum = np.cumsum(weights)
    cum[-1] = 1.0   # rounding: the last interval ends at 1
    pos = (float(u) + np.arange(r)) / r
    return np.minimum(np.searchsorted(cum, pos, side="right"), r - 1).astype(np.int64)


def chain_energies(snap, cap_weight: float) -> np.ndarray:
    """Each chain's search objective from a backend snapshot."""
    return snap.cost + cap_weight * snap.viol


def strategy_rng(seed: int, chain_offset: int) -> np.random.Generator:
    """The generator of a run's exchange or resampling draws (no chain stream uses it)."""
    return np.random.default_rng([int(seed), int(chain_offset), 0x5A7EA])


class Independent:
    """Chains that never meet: nothing happens between blocks."""

    name = "independent"
    every: int | None = None

    def t_scale(self, st) -> np.ndarray | None:
        return st.t_scale

    def block_betas(self, betas: np.ndarray) -> np.ndarray:
        return betas

    def started(self, beta0: float) -> None:
        """The first block is about to run at inverse temperature ``beta0``."""

    def between(self, be, p: int, betas_next: np.ndarray) -> None:
        raise AssertionError("independent chains have no exchange points")

    def record(self) -> dict:
        return {"name": self.name}


class Tempering(Independent):
    """Parallel tempering over a fixed ladder; see the module docstring."""

    name = "tempering"

    def __init__(self, st):
        self.rungs, self.every = int(st.rungs), int(st.exchange_sweeps)
        self.cap_weight = st.cap_weight
        self.temps = ladder(st.schedule.t_hot, st.schedule.t_cold, self.rungs)
        self.rung_of = np.arange(st.chains, dtype=np.int64) % self.rungs
        self.rng = strategy_rng(st.seed, st.chain_offset)
        self.parity = 0
        self.offered = np.zeros(max(self.rungs - 1, 0), np.int64)
        self.accepted = np.zeros(max(self.rungs - 1, 0), np.int64)

    def t_scale(self, st) -> np.ndarray:
        # the kernels run at beta / t_scale; the driver gives beta = 1
        return self.temps[self.rung_of]

    def block_betas(self, betas: np.ndarray) -> np.ndarray:
        return np.ones(len(betas))

    def exchange(self, energies: np.ndarray) -> np.ndarray:
        """One round of offers (this round's parity) given every chain's energy; updates
        the rungs and returns the chains' new temperatures."""
        lo, hi = exchange_pairs(self.rung_of, self.rungs, self.parity)
        self.parity ^= 1
        u = self.rng.random(lo.size)
        if lo.size:
            r = self.rung_of[lo]
            ok = exchange_accepts(1.0 / self.temps[r], 1.0 / self.temps[r + 1],
                                  energies[lo], energies[hi], u)
            np.add.at(self.offered, r, 1)
            np.add.at(self.accepted, r[ok], 1)
            self.rung_of[lo[ok]] += 1
            self.rung_of[hi[ok]] -= 1
        return self.temps[self.rung_of]

    def between(self, be, p: int, betas_next: np.ndarray) -> None:
        e = chain_energies(be.snapshot(p, with_x=False), self.cap_weight)
        be.set_t_scale(p, self.exchange(e))

    def record(self) -> dict:
        rate = np.where(self.offered > 0, self.accepted / np.maximum(self.offered, 1), np.nan)
        return {"name": self.name, "rungs": self.rungs, "exchange_sweeps": self.every,
                "temperatures": [float(t) for t in self.temps],
                "exchanges_offered": int(self.offered.sum()),
                "exchange_acceptance": [None if math.isnan(v) else float(v) for v in rate]}


class Population(Independent):
    """Population annealing; see the module docstring."""

    name = "population"

    def __init__(self, st):
        self.every = int(st.exchange_sweeps)
        self.cap_weight = st.cap_weight
        self.rng = strategy_rng(st.seed, st.chain_offset)
        self.family = np.arange(st.chains, dtype=np.int64)
        self.beta_ref: float | None = None
        self.resamples = 0

    def resample(self, energies: np.ndarray, beta_next: float) -> np.ndarray:
        """The parents of the next population, moving from the last resampling's inverse
        temperature to ``beta_next``."""
        u = self.rng.random()
        dbeta = 0.0 if self.beta_ref is None else beta_next - self.beta_ref
        self.beta_ref = beta_next
        parents = systematic_resample(resample_weights(energies, dbeta), u)
        self.family = self.family[parents]
        self.resamples += 1
        return parents

    def between(self, be, p: int, betas_next: np.ndarray) -> None:
        e = chain_energies(be.snapshot(p, with_x=False), self.cap_weight)
        parents = self.resample(e, float(betas_next[0]))
        if not np.array_equal(parents, np.arange(parents.size)):
            be.gather(p, parents)

    def started(self, beta0: float) -> None:
        if self.beta_ref is None:   # the weights' reference
            self.beta_ref = beta0

    def record(self) -> dict:
        return {"name": self.name, "exchange_sweeps": self.every,
                "resamples": self.resamples,
                "families": int(np.unique(self.family).size)}


def make_strategy(st):
    """The strategy object of a run's settings."""
    if st.strategy == "tempering":
        return Tempering(st)
    if st.strategy == "population":
        return Population(st)
    return Independent()
