"""Seeded generator of realistic fleet instances from the catalogue.

:func:`generate_fleet` draws servers of the catalogue's GPU types and training jobs of its
models, with lognormal lengths, releases over a horizon sized to a requested load, deadlines
that make the servers contend, penalty weights of the order of a job's energy cost, prices
from the PJM day-ahead curve or constant tariffs, and (optionally) busy-time capacities
that bind. All sampling is vectorised; only the final records are Python objects, so
100,000 jobs on 10,000 servers take about a second.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple, cast

import numpy as np

from .catalogue import PJM_CURVE, Catalogue, load_catalogue
from .compile import random_allowed_servers
from .model import JOULES_PER_KWH, PENALTY_KINDS, Fleet, Job, Penalty, Server

__all__ = ["generate_fleet"]

_H = 3600.0
#: median and log-standard deviation of a job's expected busy time (seconds): training
#: jobs from minutes to a day, most of an hour or two
_DURATION_MEDIAN_S = 1.5 * _H
_DURATION_SIGMA = 1.0
_DURATION_CLIP_S = (300.0, 48 * _H)
#: fraction of jobs waiting at time 0 (a backlog); the rest arrive uniformly over the horizon
_BACKLOG = 0.25
#: due = release + slack * expected busy time, slack uniform on this range (the default
#: of ``generate_fleet(slack=...)``: deadlines of the order of the job's own run time)
_SLACK = (1.25, 4.0)
#: the largest slack accepted: a deadline a thousand run times away is no deadline
SLACK_MAX = 1000.0
#: penalty weight = typical energy cost of the job times a log-uniform factor on this range
_WEIGHT_FACTOR = (0.5, 5.0)
#: linear / exponential scale = expected busy time times a uniform factor on this range
_SCALE_FACTOR = (0.5, 2.0)
#: constant prices (currency/kWh), uniform: industrial to expensive retail tariffs
_PRICE_RANGE = (0.05, 0.25)
#: with capacity=True, half the servers of each GPU type get a budget of 1.0-1.2x their
#: busy time under a random reference assignment
_CAP_HEADROOM = (1.0, 1.2)
#: gang jobs ask for one of these GPU counts (uniformly among those some node that can
#: run the job has)
_GANG_SIZES = (2, 4, 8)


def node_base_w(gpus: int) -> float:
    """Host power (W) of a generated node of ``gpus`` GPUs while on: the built-in
    catalogue's ``conventions["base_w (nodes)"]`` (ESTIMATED, with the public figures that
    bound it), interpolated linearly between the sizes it lists (the largest's per-GPU
    figure beyond them)."""
    table = load_catalogue().sources["conventions"]["base_w (nodes)"]["values_w"]
    sizes = sorted(int(k) for k in table)
    watts = [float(table[str(g)]) for g in sizes]
    if gpus > sizes[-1]:
        return watts[-1] * gpus / sizes[-1]
    return float(np.interp(gpus, sizes, watts))


def _check_count(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {v!r}")
    if v < 1:
        raise ValueError(f"{name} must be >= 1, got {v}")
    return int(v)


def _check_real(v, name: str) -> float:
    # the cast: numpy's stubs take a float, not the numbers.Real that isinstance leaves
    if (isinstance(v, bool) or not isinstance(v, numbers.Real)
            or not np.isfinite(cast(float, v))):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _check_penalties(penalties) -> tuple[str, ...]:
    kinds = (penalties,) if isinstance(penalties, str) else tuple(penalties)
    if not kinds:
        raise ValueError(f"penalties must name at least one kind of {', '.join(PENALTY_KINDS)}")
    for k in kinds:
        if k not in PENALTY_KINDS:
            raise ValueError(f"unknown penalty kind {k!r} (valid: {', '.join(PENALTY_KINDS)})")
    return tuple(dict.fromkeys(kinds))  # drop repeats, keep order


def _check_args(n_jobs, n_servers, seed, penalties, load, price_curve_fraction, capacity,
                catalogue) -> tuple[int, int, tuple[str, ...], float, float, Catalogue]:
    """Validate :func:`generate_fleet`'s arguments, in the order its errors are documented.

    Returns
    -------
    tuple
        ``(n, m, kinds, load, frac, cat)``: the counts, the penalty kinds without repeats,
        the load and price-curve fraction as floats, and the catalogue (the built-in for
        None).

    Raises
    ------
    ValueError
        Naming the first invalid argument.
    """
    n = _check_count(n_jobs, "n_jobs")
    m = _check_count(n_servers, "n_servers")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    kinds = _check_penalties(penalties)
    load = _check_real(load, "load")
    if not 0.0 < load <= 10.0:
        raise ValueError(f"load must be in (0, 10], got {load}")
    frac = _check_real(price_curve_fraction, "price_curve_fraction")
    if not 0.0 <= frac <= 1.0:
        raise ValueError(f"price_curve_fraction must be in [0, 1], got {frac}")
    if not isinstance(capacity, (bool, np.bool_)):
        raise ValueError(f"capacity must be True or False, got {capacity!r}")
    cat = load_catalogue() if catalogue is None else catalogue
    if not isinstance(cat, Catalogue):
        raise ValueError(f"catalogue must be a Catalogue, got {type(cat).__name__}")
    return n, m, kinds, load, frac, cat


def _pick_curve(cat: Catalogue, n_curve: int) -> str | None:
    """The price curve the ``n_curve`` curve-priced servers follow (None when there are none).

    Raises
    ------
    ValueError
        When servers should follow a curve but the catalogue has none.
    """
    if not n_curve:
        return None
    if not cat.price_curves:
        raise ValueError("price_curve_fraction > 0 but the catalogue has no price curve")
    return PJM_CURVE if PJM_CURVE in cat.price_curves else next(iter(cat.price_curves))


def _pair_tables(cat: Catalogue):
    """Dense (model x GPU type) tables of the catalogue's profiles.

    Returns
    -------
    models, gpus : list of str
        Row and column names (catalogue order).
    allowed : ndarray of bool
        The pair has a profile and the model fits in the GPU's memory.
    thr, power : ndarray of float64
        Throughput (1 where not allowed, so divisions stay finite) and board power (0).
    usable : ndarray of int
        GPU types that can run some model.

    Raises
    ------
    ValueError
        When no GPU type can run any model.
    """
    models, gpus = list(cat.models), list(cat.gpus)
    mi, gi = {k: i for i, k in enumerate(models)}, {g: i for i, g in enumerate(gpus)}
    allowed = np.zeros((len(models), len(gpus)), bool)
    thr = np.ones((len(models), len(gpus)))
    power = np.zeros((len(models), len(gpus)))
    for p in cat.profiles:
        if cat.fits(p):
            k, g = mi[p.model], gi[p.gpu]
            allowed[k, g], thr[k, g], power[k, g] = True, p.throughput, p.power_w
    usable = np.flatnonzero(allowed.any(axis=0))
    if usable.size == 0:
        raise ValueError("the catalogue has no profile whose model fits its GPU")
    return models, gpus, allowed, thr, power, usable


def _draw_servers(rng: np.random.Generator, m: int, usable: np.ndarray, n_gpus: int,
                  n_curve: int, cat: Catalogue, curve: str | None):
    """Draw the servers' GPU types and prices (the first draws from ``rng``).

    Returns
    -------
    server_class : ndarray (m,) of int
        GPU type index of each server, uniform over ``usable``.
    counts : ndarray (n_gpus,) of float64
        Servers per GPU type.
    on_curve : ndarray (m,) of bool
        ``n_curve`` servers, at random, that follow ``curve``.
    const_price : ndarray (m,) of float64
        Constant price of each server (drawn for all, used where not ``on_curve``).
    mean_price : float
        Mean price over the fleet, the curve's servers at the curve's mean.
    """
    server_class = usable[rng.integers(0, usable.size, size=m)]
    counts = np.bincount(server_class, minlength=n_gpus).astype(np.float64)
    on_curve = np.zeros(m, bool)
    on_curve[rng.permutation(m)[:n_curve]] = True
    const_price = rng.uniform(*_PRICE_RANGE, size=m)
    curve_mean = float(np.mean(cat.price_curves[curve].prices_per_kwh)) if curve else 0.0
    mean_price = np.where(on_curve, curve_mean, const_price).mean()
    return server_class, counts, on_curve, const_price, mean_price


def _model_means(allowed: np.ndarray, thr: np.ndarray, power: np.ndarray,
                 counts: np.ndarray):
    """Per model, the mean throughput and board power of the servers that can run it.

    Work / mean throughput is the time the fleet needs for a job at its average speed: the
    fraction of the fleet's capacity the job uses. (The mean processing time would be
    dominated by the slowest GPUs, which a scheduler avoids.)

    Returns
    -------
    runnable : ndarray of int
        Models that some server of the fleet can run.
    mean_thr, mean_power : ndarray (n_models,) of float64
        The means (1 and 0 for models no server runs).
    """
    n_allowed = allowed.astype(np.float64) @ counts
    runnable = np.flatnonzero(n_allowed > 0)
    mean_thr = np.ones(allowed.shape[0])
    mean_power = np.zeros(allowed.shape[0])
    mean_thr[runnable] = (allowed * thr)[runnable] @ counts / n_allowed[runnable]
    mean_power[runnable] = (allowed * power)[runnable] @ counts / n_allowed[runnable]
    return runnable, mean_thr, mean_power


class _JobDraw(NamedTuple):
    """The jobs' random attributes, one entry per job."""

    job_class: np.ndarray       # model index
    samples: np.ndarray
    release: np.ndarray
    due: np.ndarray
    kind: np.ndarray            # penalty kind names
    weight: np.ndarray
    scale: np.ndarray


def _draw_jobs(rng: np.random.Generator, n: int, m: int, load: float,
               kinds: tuple[str, ...], runnable: np.ndarray, mean_thr: np.ndarray,
               mean_power: np.ndarray, mean_price: float,
               slack: tuple[float, float] = _SLACK) -> _JobDraw:
    """Draw the jobs' models, lengths, releases, due times and penalties (after the servers).

    The horizon is sized so that the total expected busy time is ``load`` times the
    fleet's time; see :func:`generate_fleet`'s Notes for the distributions.
    """
    job_class = runnable[rng.integers(0, runnable.size, size=n)]
    dur = np.clip(_DURATION_MEDIAN_S * np.exp(_DURATION_SIGMA * rng.standard_normal(n)),
                  *_DURATION_CLIP_S)
    samples = dur * mean_thr[job_class]
    horizon = dur.sum() / (m * load)
    release = np.where(rng.random(n) < _BACKLOG, 0.0, rng.uniform(0.0, horizon, size=n))
    # one draw per job whatever the range, so that a fleet of another slack differs from
    # the default one only in its due times
    due = release + rng.uniform(*slack, size=n) * dur

    kind = np.asarray(kinds)[rng.integers(0, len(kinds), size=n)]
    # weights of the order of the job's energy cost, so that penalties and energy trade off
    energy = dur * mean_power[job_class] / JOULES_PER_KWH * mean_price
    lo, hi = np.log(_WEIGHT_FACTOR[0]), np.log(_WEIGHT_FACTOR[1])
    weight = energy * np.exp(rng.uniform(lo, hi, size=n))
    scale = dur * rng.uniform(*_SCALE_FACTOR, size=n)
    return _JobDraw(job_class, samples, release, due, kind, weight, scale)


def _draw_capacities(rng: np.random.Generator, jobs: _JobDraw, allowed: np.ndarray,
                     thr: np.ndarray, server_class: np.ndarray,
                     counts: np.ndarray) -> np.ndarray:
    """Busy-time budgets that bind yet keep a random allowed assignment feasible.

    Returns
    -------
    ndarray (m,) of float64
        The budget of each capped server (half of each GPU type's servers); NaN elsewhere.
    """
    m = server_class.size
    cap = np.full(m, np.nan)
    x0 = random_allowed_servers(rng, jobs.job_class, allowed, server_class, counts.size)
    busy0 = np.bincount(x0, weights=jobs.samples / thr[jobs.job_class, server_class[x0]],
                        minlength=m)
    # half of each GPU type's servers (a coin for the odd one out): whichever type an
    # assignment favours, some of its servers are capped and some are not
    rank = np.empty(m, np.int64)
    by_class = np.lexsort((rng.random(m), server_class))
    first = np.concatenate(([0], np.cumsum(counts.astype(np.int64))))
    rank[by_class] = np.arange(m) - first[server_class[by_class]]
    cnt = counts[server_class]
    capped = (rank < cnt // 2) | ((rank == cnt // 2) & (cnt % 2 == 1) & (rng.random(m) < 0.5))
    # (1 + 1e-9): the evaluator sums busy time in another order; x0 must stay feasible
    budget = np.maximum(busy0 * rng.uniform(*_CAP_HEADROOM, size=m) * (1 + 1e-9),
                        0.5 * busy0.mean())
    cap[capped] = budget[capped]
    return cap


def _server_records(gpus: list[str], server_class: np.ndarray, on_curve: np.ndarray,
                    const_price: np.ndarray, curve: str | None,
                    cap: np.ndarray) -> list[Server]:
    """The :class:`Server` records ``s0 .. s{m-1}`` (per-entry Python work, kept lean)."""
    gpu_of = [gpus[g] for g in server_class.tolist()]
    return [
        Server(f"s{i}", g, price_per_kwh=None if c else p, price_curve=curve if c else None,
               capacity_s=None if b != b else b)    # b != b: NaN, no budget
        for i, (g, c, p, b) in enumerate(zip(gpu_of, on_curve.tolist(), const_price.tolist(),
                                             cap.tolist()))]


def _job_records(models: list[str], jobs: _JobDraw,
                 gang: np.ndarray | None = None) -> list[Job]:
    """The :class:`Job` records ``j0 .. j{n-1}``; jobs of kind ``none`` get no deadline;
    ``gang``: GPUs per job (None: one each)."""
    none = Penalty()
    has_due = jobs.kind != "none"
    k_gpus = [1] * len(jobs.samples) if gang is None else gang.tolist()
    return [
        Job(f"j{i}", models[k], s, r, d if h else None,
            Penalty(q, w, c) if h else none, gpus=int(kg))
        for i, (k, s, r, d, h, q, w, c, kg) in enumerate(zip(
            jobs.job_class.tolist(), jobs.samples.tolist(), jobs.release.tolist(),
            jobs.due.tolist(), has_due.tolist(), jobs.kind.tolist(), jobs.weight.tolist(),
            jobs.scale.tolist(), k_gpus))]


def generate_fleet(n_jobs: int, n_servers: int, *, seed: int = 0,
                   penalties=("step", "linear", "exponential"), load: float = 0.8,
                   capacity: bool = False, catalogue: Catalogue | None = None,
                   price_curve_fraction: float = 0.25, gpus_per_node=1,
                   gang_share: float = 0.0, slack=_SLACK) -> Fleet:
    """A random but realistic fleet instance built from the catalogue.

    Parameters
    ----------
    n_jobs, n_servers : int
        Sizes (>= 1). Jobs are named ``j0 .. j{n_jobs-1}``, servers ``s0 .. s{n_servers-1}``.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same arguments give the same fleet.
    penalties : sequence of str
        Penalty kinds to draw from, uniformly (of ``none``, ``step``, ``linear``,
        ``exponential``). Jobs of kind ``none`` get no deadline.
    load : float in (0, 10]
        Total expected busy time over ``n_servers * horizon``; a job's expected busy time
        is its work over the mean throughput of the servers that can run it (its share of
        the fleet's capacity). Above about 1 the fleet cannot keep up and lateness is
        unavoidable.
    capacity : bool
        Give half of the servers a busy-time budget that binds (see Notes).
    catalogue : Catalogue, optional
        Source of GPU types, models, profiles and price curves; the built-in by default.
    price_curve_fraction : float in [0, 1]
        Fraction of servers (rounded) that buy at the catalogue's PJM price curve (its
        first curve if it has no ``pjm_2017_07_17``); the others pay a constant price.
    gpus_per_node : int or sequence of int
        GPUs per node (docs/model.md, part 2): every node has this many, or, given a mix
        such as ``(1, 2, 4, 8)``, each node's count is drawn uniformly from it. Nodes of
        ``G`` GPUs draw host power :func:`node_base_w` (G) while on.
    gang_share : float in [0, 1]
        Fraction of jobs (drawn at random) that ask for several GPUs at once: 2, 4 or 8,
        uniformly among the counts some node that can run the job has (a job no such node
        can hold stays on one GPU). A gang job of ``k`` GPUs gets ``k`` times the samples
        of a one-GPU job of the same expected run time.
    slack : float or (float, float)
        A job is due ``slack`` times its expected busy time after its release, ``slack``
        uniform on the range given (a number: that value for every job); default
        ``(1.25, 4)``. The jobs, releases and penalties of a seed are the same whatever the
        slack: only the due times differ. Looser deadlines (e.g. ``(8, 32)``) leave room
        for holds (docs/model.md, part 3; docs/quality.md, "What holds buy").

    Returns
    -------
    Fleet
        A valid instance: every job has at least one server that can run it, and with
        ``capacity`` there is an assignment within every budget.

    Raises
    ------
    ValueError
        For an invalid argument, naming it, e.g. ``n_jobs must be >= 1, got 0``.

    Notes
    -----
    * Servers: GPU types drawn uniformly among the catalogue's types that can run some
      model. Jobs: models drawn uniformly among those that some server can run (fits in
      memory and has a profile).
    * Lengths: expected busy time lognormal (median 1.5 h, sigma 1, clipped to 5 min -
      48 h); samples = that time x the mean throughput of the servers that can run it.
    * Horizon ``H = sum(expected busy) / (n_servers * load)``. A quarter of the jobs are
      released at 0, the rest uniformly on ``[0, H)``; due = release + slack * expected busy
      time with slack uniform on ``slack`` ([1.25, 4] by default).
    * Weights: the job's typical energy cost (expected busy time x mean board power over
      allowed servers x mean price of the fleet) times a log-uniform factor in [0.5, 5], so
      penalties and energy are of one order and trade off. Linear and exponential scales:
      the expected busy time times a factor uniform on [0.5, 2].
    * Constant prices uniform on [0.05, 0.25] per kWh. (The PJM curve is a wholesale
      price, 0.015-0.11 per kWh, so servers on it are cheap.)
    * Capacities: a random allowed assignment is drawn; half of the servers of each GPU
      type (a coin flip for an odd one) get a budget of 1.0-1.2 times their busy time
      under it (at least half the mean busy time). That assignment stays feasible, while
      the capped servers of a fast or cheap type cannot take all the jobs that would go
      there. In fleets with few servers of each type, whether a budget binds depends on
      the draw.

    Time and memory O(n_jobs + n_servers); 100,000 x 10,000 in about a second, most of it
    building the Job records.

    Examples
    --------
    >>> f = generate_fleet(100, 10, seed=1)
    >>> f.n_jobs, f.n_servers
    (100, 10)
    """
    n, m, kinds, load, frac, cat = _check_args(n_jobs, n_servers, seed, penalties, load,
                                               price_curve_fraction, capacity, catalogue)
    sizes = _check_sizes(gpus_per_node)
    gang_share = _check_real(gang_share, "gang_share")
    if not 0.0 <= gang_share <= 1.0:
        raise ValueError(f"gang_share must be in [0, 1], got {gang_share}")
    if gang_share > 0.0 and max(sizes) < 2:   # a gang asks 2+ GPUs of one node: none here
        raise ValueError(f"gang_share {gang_share:g} needs nodes of 2 or more GPUs "
                         f"(gpus_per_node, --gpus-per-node), got nodes of 1")
    slack = check_slack(slack)
    n_curve = int(round(frac * m))
    curve = _pick_curve(cat, n_curve)
    models, gpus, allowed, thr, power, usable = _pair_tables(cat)

    # a seed's fleet depends on the order of the draws: servers, jobs, capacities
    rng = np.random.default_rng(seed)
    server_class, counts, on_curve, const_price, mean_price = _draw_servers(
        rng, m, usable, len(gpus), n_curve, cat, curve)
    runnable, mean_thr, mean_power = _model_means(allowed, thr, power, counts)
    jobs = _draw_jobs(rng, n, m, load, kinds, runnable, mean_thr, mean_power, mean_price,
                      slack)
    if sizes != (1,) or gang_share > 0.0:   # part 2: from here on a second stream
        return _node_fleet(seed, capacity, cat, sizes, gang_share, models, gpus, allowed,
                           server_class, on_curve, const_price, curve, jobs)
    cap = (_draw_capacities(rng, jobs, allowed, thr, server_class, counts) if capacity
           else np.full(m, np.nan))

    servers = _server_records(gpus, server_class, on_curve, const_price, curve, cap)
    return cat.fleet(f"generated-{n}x{m}-seed{seed}", servers, _job_records(models, jobs))


def check_slack(slack) -> tuple[float, float]:
    """``slack`` as a range ``(lo, hi)`` with ``0 < lo <= hi`` (a number: ``(v, v)``)."""
    pair = (slack, slack) if isinstance(slack, numbers.Real) else slack
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"slack must be a number or a (low, high) pair, got {slack!r}")
    lo, hi = _check_real(pair[0], "slack"), _check_real(pair[1], "slack")
    if not 0.0 < lo <= hi or hi > SLACK_MAX:
        raise ValueError(f"slack must satisfy 0 < low <= high <= {SLACK_MAX:g}, got {slack!r}")
    return lo, hi


def _check_sizes(gpus_per_node) -> tuple[int, ...]:
    """``gpus_per_node`` as a tuple of GPU counts (each an integer >= 1)."""
    sizes = ((gpus_per_node,) if isinstance(gpus_per_node, numbers.Integral)
             else tuple(gpus_per_node) if isinstance(gpus_per_node, (tuple, list)) else None)
    if not sizes:
        raise ValueError(f"gpus_per_node must be an integer >= 1 or a non-empty list of "
                         f"them, got {gpus_per_node!r}")
    for g in sizes:
        _check_count(g, "gpus_per_node")
    return tuple(int(g) for g in sizes)


def _node_fleet(seed: int, capacity: bool, cat: Catalogue, sizes: tuple, gang_share: float,
                models: list, gpus: list, allowed: np.ndarray, server_class: np.ndarray,
                on_curve: np.ndarray, const_price: np.ndarray, curve: str | None,
                jobs: _JobDraw) -> Fleet:
    """:func:`generate_fleet` with multi-GPU nodes or gang jobs, from the one-GPU fleet's
    servers and jobs of the same seed: node sizes, gang jobs and capacities come from a
    second stream of the seed, and the releases are stretched so the fleet's GPUs see the
    requested load."""
    from dataclasses import replace

    from .compile import compile_fleet
    n, m = jobs.samples.size, server_class.size
    part2 = np.random.default_rng([seed, 2])
    node_gpus = np.asarray(sizes)[part2.integers(0, len(sizes), size=m)]
    # the largest node of a type that can run each model
    largest = np.zeros(len(models), np.int64)
    for k in range(len(models)):
        ok = allowed[k, server_class]
        largest[k] = node_gpus[ok].max() if ok.any() else 0
    gang = np.ones(n, np.int64)
    pick = part2.random(n) < gang_share
    for i in np.flatnonzero(pick).tolist():
        fits = [g for g in _GANG_SIZES if g <= largest[jobs.job_class[i]]]
        if fits:
            gang[i] = fits[int(part2.integers(0, len(fits)))]
    eff = np.array([cat.models[models[k]].efficiency(int(g))
                    for k, g in zip(jobs.job_class.tolist(), gang.tolist())])
    # a gang of k runs as fast as k x efficiency GPUs: the same expected run time needs
    # that many times the samples; the horizon stretches so the GPUs see the same load
    stretch = float((gang * 1.0).sum() / n) / float(node_gpus.mean())
    jobs = jobs._replace(samples=jobs.samples * gang * eff,
                         release=jobs.release * stretch,
                         due=jobs.release * stretch + (jobs.due - jobs.release))
    cap = np.full(m, np.nan)
    servers = _server_records(gpus, server_class, on_curve, const_price, curve, cap)
    host_w = {g: node_base_w(g) for g in sizes}   # one catalogue read a size, not a node
    servers = [replace(sv, gpus=int(g), base_w=host_w[g])
               for sv, g in zip(servers, node_gpus.tolist())]
    name = (f"generated-{n}x{m}-seed{seed}-gpus{'-'.join(map(str, sizes))}"
            f"-gang{gang_share:g}")
    fleet = cat.fleet(name, servers, _job_records(models, jobs, gang))
    if not capacity:
        return fleet
    # GPU-second budgets: half the nodes of each class get 1.0-1.2x their use under a
    # random allowed assignment (which therefore stays feasible)
    prob = compile_fleet(fleet)
    x0 = random_allowed_servers(part2, prob.job_class, prob.allowed, prob.server_class,
                                prob.n_server_classes)
    busy0 = np.bincount(x0, weights=prob.busy_use(np.arange(n), x0), minlength=m)
    capped = part2.random(m) < 0.5
    budget = np.maximum(busy0 * part2.uniform(*_CAP_HEADROOM, size=m) * (1 + 1e-9),
                        0.5 * busy0.mean())
    servers = [replace(sv, capacity_s=float(b)) if c else sv
               for sv, c, b in zip(fleet.servers, capped.tolist(), budget.tolist())]
    return replace(fleet, servers=tuple(servers))
