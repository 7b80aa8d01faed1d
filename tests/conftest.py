"""Shared test helpers: tiny fleet instances and an exhaustive reference solver.

Everything here is plain Python on :mod:`satea.model` dataclasses so any test module can use
it, whatever else of the package exists yet::

    from conftest import tiny_fleets, brute_force, tiny_fleet_by_name

or through the fixtures ``tiny_fleet`` (parametrised over every instance, test ids are the
instance names), ``tiny_problem`` (the same, compiled) and ``brute`` (the solver).

The tiny instances (at most 9 jobs x 3 servers, so at most 3**9 = 19683 assignments) are
built so the optimum is *not* "every job on the cheapest server": the cheap server is slow
and deadlines conflict, so the best assignment spreads jobs and trades energy against
lateness (``tests/test_objective.py::test_tiny_fleets_are_nontrivial`` checks this).

Shared catalogue (units: GB, W, samples/s, currency/kWh)::

    GPU    memory idle     resnet50     bert        gpt2          vit
    A100   40     50       2000 / 300   400 / 350   100 / 400     800 / 320
    V100   32     40       1200 / 250   250 / 280    60 / 300     500 / 260
    T4     16     10        400 /  70    80 /  70    20 /  70 (*)   -  (**)

    model memory: resnet50 9, bert 14, gpt2 30, vit 12
    (*)  gpt2 needs 30 GB > 16 GB: profile present but the pair is forbidden.
    (**) no profile: forbidden.

Per sample, T4 is the cheapest in energy but 5x slower than A100.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from satea.model import (CarbonCurve, DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve,
                         Profile, Server)

# ---------------------------------------------------------------------------------------
# catalogue
# ---------------------------------------------------------------------------------------

GPUS = {
    "A100": GPUType("A100", memory_gb=40.0, idle_w=50.0),
    "V100": GPUType("V100", memory_gb=32.0, idle_w=40.0),
    "T4": GPUType("T4", memory_gb=16.0, idle_w=10.0),
}

MODELS = {
    "resnet50": DNNModel("resnet50", memory_gb=9.0),
    "bert": DNNModel("bert", memory_gb=14.0),
    "gpt2": DNNModel("gpt2", memory_gb=30.0),
    "vit": DNNModel("vit", memory_gb=12.0),
}

PROFILES = (
    Profile("resnet50", "A100", throughput=2000.0, power_w=300.0),
    Profile("resnet50", "V100", throughput=1200.0, power_w=250.0),
    Profile("resnet50", "T4", throughput=400.0, power_w=70.0),
    Profile("bert", "A100", throughput=400.0, power_w=350.0),
    Profile("bert", "V100", throughput=250.0, power_w=280.0),
    Profile("bert", "T4", throughput=80.0, power_w=70.0),
    Profile("gpt2", "A100", throughput=100.0, power_w=400.0),
    Profile("gpt2", "V100", throughput=60.0, power_w=300.0),
    Profile("gpt2", "T4", throughput=20.0, power_w=70.0),   # memory too big: forbidden
    Profile("vit", "A100", throughput=800.0, power_w=320.0),
    Profile("vit", "V100", throughput=500.0, power_w=260.0),
    # no vit/T4 profile: forbidden
)

#: A day-shaped tariff in 3 h steps (period 24 h): cheap nights, expensive afternoons.
TOU_CURVE = PriceCurve("tou", step_s=10800.0,
                       prices_per_kwh=(0.08, 0.08, 0.15, 0.30, 0.40, 0.30, 0.15, 0.10))

H = 3600.0  # one hour in seconds


def _servers(prices=(0.30, 0.15, 0.10), capacities=(None, None, None), curves=(None, None, None)):
    """The standard trio: fast/expensive A100, V100, slow/cheap T4."""
    out = []
    for name, gpu, price, cap, curve in zip(("fast", "mid", "slow"), ("A100", "V100", "T4"),
                                            prices, capacities, curves):
        out.append(Server(name, gpu, price_per_kwh=None if curve else price,
                          price_curve=curve, capacity_s=cap))
    return tuple(out)


def make_fleet(name, jobs, servers=None, *, price_curves=None, lam=1.0,
               gpus=None, models=None, profiles=None) -> Fleet:
    """A :class:`Fleet` on the shared catalogue (override any part)."""
    return Fleet(
        name=name,
        gpus=dict(GPUS if gpus is None else gpus),
        models=dict(MODELS if models is None else models),
        profiles=tuple(PROFILES if profiles is None else profiles),
        servers=tuple(_servers() if servers is None else servers),
        jobs=tuple(jobs),
        price_curves=dict(price_curves or {}),
        lam=lam,
    )


def _job(name, model, hours_on_a100, *, due_h=None, release_h=0.0, kind="none", weight=0.0,
         scale_h=1.0):
    """A job sized by its processing time on an A100 (hours); times given in hours."""
    thr = {p.model: p.throughput for p in PROFILES if p.gpu == "A100"}[model]
    return Job(name, model, samples=hours_on_a100 * H * thr, release_s=release_h * H,
               due_s=None if due_h is None else due_h * H,
               penalty=Penalty(kind, weight, scale_h * H))


# ---------------------------------------------------------------------------------------
# tiny instances
# ---------------------------------------------------------------------------------------

def _fleet_step():
    jobs = [
        _job("s1", "resnet50", 1.0, due_h=1.5, kind="step", weight=0.06),
        _job("s2", "resnet50", 1.0, due_h=2.0, kind="step", weight=0.04),
        _job("s3", "bert", 0.5, due_h=2.0, kind="step", weight=0.08),
        _job("s4", "resnet50", 2.0, due_h=4.0, kind="step", weight=0.05),
        _job("s5", "resnet50", 0.5, due_h=3.0, kind="step", weight=0.01),
        _job("s6", "bert", 1.0, due_h=8.0, kind="step", weight=0.07),
    ]
    return make_fleet("step", jobs)


def _fleet_linear():
    jobs = [
        _job("l1", "resnet50", 1.0, due_h=1.0, kind="linear", weight=0.02, scale_h=1.0),
        _job("l2", "resnet50", 1.5, due_h=3.0, kind="linear", weight=0.01, scale_h=1.0),
        _job("l3", "bert", 1.0, due_h=2.0, kind="linear", weight=0.03, scale_h=2.0),
        _job("l4", "resnet50", 0.5, due_h=1.5, kind="linear", weight=0.005, scale_h=0.5),
        _job("l5", "bert", 0.5, due_h=6.0, kind="linear", weight=0.02, scale_h=1.0),
        _job("l6", "resnet50", 2.0, due_h=5.0, kind="linear", weight=0.01, scale_h=1.0),
    ]
    return make_fleet("linear", jobs)


def _fleet_exponential():
    # e1 has a tiny scale: on the slow server its u is far above the cap of 20.
    jobs = [
        _job("e1", "resnet50", 1.0, due_h=1.2, kind="exponential", weight=1e-9, scale_h=0.05),
        _job("e2", "resnet50", 1.0, due_h=2.5, kind="exponential", weight=0.02, scale_h=1.0),
        _job("e3", "bert", 0.75, due_h=2.0, kind="exponential", weight=0.03, scale_h=0.5),
        _job("e4", "resnet50", 1.5, due_h=4.0, kind="exponential", weight=0.01, scale_h=2.0),
        _job("e5", "bert", 0.5, due_h=5.0, kind="exponential", weight=0.05, scale_h=1.0),
        _job("e6", "resnet50", 0.5, due_h=3.0, kind="exponential", weight=0.02, scale_h=1.0),
    ]
    return make_fleet("exponential", jobs)


def _fleet_releases():
    # late releases leave idle gaps inside a server's on-time (paid at idle power)
    jobs = [
        _job("r1", "resnet50", 1.0, release_h=0.0, due_h=1.5, kind="linear", weight=0.02),
        _job("r2", "resnet50", 1.0, release_h=3.0, due_h=4.5, kind="step", weight=0.05),
        _job("r3", "bert", 0.5, release_h=1.0, due_h=2.0, kind="linear", weight=0.03),
        _job("r4", "resnet50", 0.5, release_h=6.0, due_h=7.0, kind="exponential", weight=0.005),
        _job("r5", "bert", 1.0, release_h=2.0, due_h=5.0, kind="step", weight=0.04),
        _job("r6", "resnet50", 2.0, release_h=0.5, kind="none"),
    ]
    return make_fleet("releases", jobs)


def _fleet_capacity():
    # No deadlines pressure here except weak ones: without capacities everything would go
    # to the slow, cheap server; its 10 h budget (and the mid server's 4 h) force a split.
    jobs = [
        _job("c1", "resnet50", 1.0, due_h=20.0, kind="linear", weight=0.001),
        _job("c2", "resnet50", 0.8, due_h=20.0, kind="linear", weight=0.001),
        _job("c3", "bert", 0.6, due_h=24.0, kind="step", weight=0.01),
        _job("c4", "resnet50", 0.4, kind="none"),
        _job("c5", "bert", 0.5, kind="none"),
        _job("c6", "resnet50", 1.2, due_h=30.0, kind="linear", weight=0.001),
    ]
    return make_fleet("capacity", jobs, _servers(capacities=(None, 4.0 * H, 10.0 * H)))


def _fleet_tou():
    # "mid" and "slow" follow the day tariff; when a job runs changes what it pays.
    jobs = [
        _job("t1", "resnet50", 2.0, due_h=3.0, kind="linear", weight=0.02),
        _job("t2", "resnet50", 1.0, release_h=8.0, due_h=12.0, kind="step", weight=0.02),
        _job("t3", "bert", 1.5, due_h=4.0, kind="linear", weight=0.02),
        _job("t4", "resnet50", 1.0, release_h=20.0, due_h=30.0, kind="exponential",
             weight=0.01, scale_h=2.0),
        _job("t5", "bert", 0.5, release_h=4.0, due_h=10.0, kind="step", weight=0.01),
        _job("t6", "resnet50", 3.0, kind="none"),
    ]
    return make_fleet("tou", jobs, _servers(curves=(None, "tou", "tou")),
                      price_curves={"tou": TOU_CURVE})


def _fleet_forbidden():
    # gpt2 does not fit a T4 (memory), vit has no T4 profile: both only run on fast/mid.
    jobs = [
        _job("f1", "gpt2", 1.0, due_h=2.0, kind="linear", weight=0.03),
        _job("f2", "vit", 1.0, due_h=2.0, kind="step", weight=0.06),
        _job("f3", "gpt2", 0.5, due_h=3.0, kind="exponential", weight=0.01),
        _job("f4", "resnet50", 1.0, due_h=3.0, kind="step", weight=0.04),
        _job("f5", "vit", 0.5, due_h=4.0, kind="linear", weight=0.02),
        _job("f6", "bert", 0.5, kind="none"),
    ]
    return make_fleet("forbidden", jobs)


def _fleet_mixed():
    # everything at once: all penalty kinds, releases, a price curve, a capacity, forbidden
    # pairs, a no-deadline job, equal due times (ties broken by release, then index).
    jobs = [
        _job("m1", "resnet50", 1.0, due_h=2.0, kind="step", weight=0.10),
        _job("m2", "bert", 0.5, release_h=1.0, due_h=2.0, kind="linear", weight=0.08),
        _job("m3", "gpt2", 1.0, due_h=3.0, kind="exponential", weight=0.01),
        _job("m4", "vit", 0.5, release_h=2.0, due_h=4.0, kind="step", weight=0.06),
        _job("m5", "resnet50", 1.5, kind="none"),
        _job("m6", "resnet50", 0.5, release_h=4.0, due_h=5.0, kind="linear", weight=0.05,
             scale_h=0.5),
        _job("m7", "bert", 1.0, due_h=2.0, kind="exponential", weight=0.02, scale_h=0.25),
        _job("m8", "resnet50", 0.5, release_h=1.0, due_h=6.0, kind="step", weight=0.04),
        _job("m9", "bert", 0.25, release_h=5.0, due_h=8.0, kind="linear", weight=0.03),
    ]
    servers = _servers(capacities=(None, None, 8.0 * H), curves=(None, "tou", None))
    return make_fleet("mixed", jobs, servers, price_curves={"tou": TOU_CURVE}, lam=1.5)


_BUILDERS = (_fleet_step, _fleet_linear, _fleet_exponential, _fleet_releases, _fleet_capacity,
             _fleet_tou, _fleet_forbidden, _fleet_mixed)


def _node_parts() -> tuple:
    """GPU types, models, profiles and jobs the tiny node fleets share: one GPU type, a
    model with multi-GPU efficiencies, gang jobs of 2 and 4 GPUs, releases, every
    penalty kind."""
    gpus = {"A": GPUType("A", 40, 60.0)}
    models = {"m": DNNModel("m", 10, {2: 0.9, 4: 0.8})}
    prof = (Profile("m", "A", 1.0, 260.0),)
    jobs = (Job("g4", "m", 9000.0, 0.0, 4000.0, Penalty("linear", 3.0, 1800.0), gpus=4),
            Job("g2", "m", 5400.0, 600.0, 3000.0, Penalty("step", 2.0), gpus=2),
            Job("a", "m", 1500.0, 0.0, 2000.0, Penalty("exponential", 0.5, 3600.0)),
            Job("b", "m", 2400.0, 2500.0, 5000.0, Penalty("linear", 1.0, 3600.0)),
            Job("c", "m", 1200.0, 0.0, None),
            Job("d", "m", 3000.0, 1000.0, 4500.0, Penalty("step", 1.5)))
    return gpus, models, prof, jobs


def tiny_node_fleets() -> list[tuple[str, Fleet]]:
    """Tiny multi-GPU fleets (docs/model.md, part 2) as ``(name, Fleet)`` pairs.

    ``nodes``: a 4-GPU node on a price curve with host power, a 2-GPU node at a constant
    price and a one-GPU server; gang jobs of 2 and 4 GPUs (the 4-GPU one runs on one node
    only), releases, every penalty kind. ``nodes-cap``: the same with GPU-second
    capacities that bind.
    """
    gpus, models, prof, jobs = _node_parts()
    curve = {"c": PriceCurve("c", 1800.0, (0.30, 0.10, 0.05, 0.25))}
    out = []
    for name, caps in (("nodes", (None, None, None)), ("nodes-cap", (20000.0, 6000.0, 2500.0))):
        servers = (Server("n4", "A", price_curve="c", gpus=4, base_w=150.0, capacity_s=caps[0]),
                   Server("n2", "A", price_per_kwh=0.2, gpus=2, base_w=80.0, capacity_s=caps[1]),
                   Server("s1", "A", price_per_kwh=0.15, capacity_s=caps[2]))
        out.append((name, Fleet(name, gpus, models, prof, servers, jobs, curve, 1.2)))
    out += tiny_series_fleets()
    return out


def tiny_series_fleets() -> list[tuple[str, Fleet]]:
    """Part 2's series (docs/model.md): ``series``, the ``nodes`` fleet on a
    non-repeating market price that goes negative, a non-repeating carbon curve of
    another step (15 minutes: the merged curve's grid) on the 4-GPU node, a constant
    carbon intensity and a negative constant price on the 2-GPU node, a carbon price of
    0.5 per kg; ``series-1gpu``: one-GPU servers, the price curve repeating and the
    carbon curve not (merged up to a time bound)."""
    gpus, models, prof, jobs = _node_parts()
    carbon = {"k": CarbonCurve("k", 900.0, (420.0, 380.0, 150.0, 90.0, 300.0, 520.0),
                               repeat=False)}
    out = []
    price = {"c": PriceCurve("c", 1800.0, (0.30, -0.10, 0.05, -0.02, 0.25), repeat=False)}
    servers = (Server("n4", "A", price_curve="c", gpus=4, base_w=150.0, carbon_curve="k"),
               Server("n2", "A", price_per_kwh=-0.05, gpus=2, base_w=80.0,
                      carbon_g_per_kwh=250.0),
               Server("s1", "A", price_per_kwh=0.15))
    out.append(("series", Fleet("series", gpus, models, prof, servers, jobs, price, 1.2,
                                carbon_curves=carbon, carbon_price_per_kg=0.5)))
    price = {"c": PriceCurve("c", 1800.0, (0.30, -0.10, 0.05, 0.25))}
    servers = (Server("s0", "A", price_curve="c", carbon_curve="k"),
               Server("s1", "A", price_per_kwh=-0.05, carbon_g_per_kwh=250.0, base_w=80.0),
               Server("s2", "A", price_per_kwh=0.15, carbon_curve="k"))
    out.append(("series-1gpu", Fleet("series-1gpu", gpus, models, prof, servers, jobs[2:],
                                     price, 1.2, carbon_curves=carbon,
                                     carbon_price_per_kg=0.5)))
    return out


def tiny_node_fleet_by_name(name: str) -> Fleet:
    return dict(tiny_node_fleets())[name]


def tiny_fleets() -> list[tuple[str, Fleet]]:
    """Tiny instances (<= 9 jobs x 3 servers) as ``(name, Fleet)`` pairs, fresh each call.

    ``step``, ``linear``, ``exponential``: one penalty kind each (``exponential`` has a job
    whose u exceeds the cap on the slow server); ``releases``: idle gaps; ``capacity``:
    busy-time budgets that bind; ``tou``: a time-of-use price curve; ``forbidden``: a model
    too big for a GPU and a missing profile; ``mixed``: all of these, lambda 1.5.
    """
    out = []
    for build in _BUILDERS:
        f = build()
        out.append((f.name, f))
    return out


TINY_NAMES = tuple(f.name for f in (b() for b in _BUILDERS))


def tiny_fleet_by_name(name: str) -> Fleet:
    for n, f in tiny_fleets():
        if n == name:
            return f
    raise KeyError(f"no tiny fleet {name!r}; have {list(TINY_NAMES)}")


#: samples of five jobs at 7 samples/s: 13,398 samples, exactly 1,914 s in all
TIE_SAMPLES = (4408.0, 2879.0, 4378.0, 1393.0, 340.0)


def capacity_tie_fleet() -> Fleet:
    """Five jobs whose run times sum to exactly 1,914 s, on a cheap server of that
    capacity or a dear one without: float64 sums the five to 1914.0000000000002 in
    dispatch order, a tie that rounding must not decide (docs/model.md, "Capacity and
    feasibility"). The optimum runs all five on the cheap server."""
    return Fleet("capacity-tie", {"A": GPUType("A", 40, 0.0)}, {"m": DNNModel("m", 8)},
                 (Profile("m", "A", 7.0, 100.0),),
                 (Server("s0", "A", price_per_kwh=0.1, capacity_s=1914.0),
                  Server("s1", "A", price_per_kwh=1.0)),
                 tuple(Job(f"j{i}", "m", v) for i, v in enumerate(TIE_SAMPLES)))


def closed_server_fleet() -> Fleet:
    """Five jobs on two open servers and a free one of capacity 0 ("closed"): a chain
    that puts a job there and takes it back leaves a running busy sum of ~5.7e-14 s, not
    0 (differential sweep, 2026-12-04); the optimum keeps it empty."""
    return Fleet("cap0", {"A": GPUType("A", 40, 10.0)}, {"m": DNNModel("m", 8)},
                 (Profile("m", "A", 7.0, 100.0),),
                 (Server("dear", "A", price_per_kwh=1.0), Server("mid", "A", price_per_kwh=0.6),
                  Server("closed", "A", price_per_kwh=0.0, capacity_s=0.0)),
                 tuple(Job(f"j{i}", "m", v, due_s=3000.0,
                           penalty=Penalty("linear", 0.05, 3600.0))
                       for i, v in enumerate((492.0, 653.0, 377.0, 1123.0, 4122.0))))


def tiny_assignment_arrays() -> dict:
    """A 6 x 3 generalized assignment problem (keyword arguments of ``compile_assignment``)
    whose capacities bind and with one forbidden pair."""
    cost = np.array([[4.0, 6.0, 9.0], [3.0, 5.0, 4.0], [7.0, 2.0, 6.0],
                     [5.0, 5.0, 1.0], [8.0, 3.0, 3.0], [2.0, 7.0, 5.0]])
    resource = np.array([[3.0, 2.0, 4.0], [2.0, 3.0, 2.0], [4.0, 3.0, 3.0],
                         [2.0, 2.0, 3.0], [3.0, 4.0, 2.0], [2.0, 3.0, 3.0]])
    capacity = np.array([5.0, 6.0, 5.0])
    allowed = np.ones((6, 3), bool)
    allowed[5, 0] = False
    return {"cost": cost, "resource": resource, "capacity": capacity, "allowed": allowed}


# ---------------------------------------------------------------------------------------
# exhaustive reference
# ---------------------------------------------------------------------------------------

def allowed_servers(problem) -> list[list[int]]:
    """For each job in the caller's order, the servers it may run on (ascending)."""
    n, m = problem.n_jobs, problem.n_servers
    out: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):                       # internal index i is caller job order[i]
        k = problem.job_class[i]
        out[int(problem.order[i])] = [s for s in range(m)
                                      if problem.allowed[k, problem.server_class[s]]]
    return out


def brute_force(problem, *, limit: int = 200_000):
    """Enumerate every allowed assignment of a compiled problem.

    Returns ``(best_search_objective, best_x, n_feasible)``: the least
    ``evaluate(problem, x).search_objective`` over the feasible assignments (capacity
    respected), ``best_x`` in the caller's job order (int64; the lexicographically first
    one among ties), and how many allowed assignments are feasible. With none feasible:
    ``(math.inf, None, 0)``.
    """
    from satea.objective import evaluate

    choices = allowed_servers(problem)
    total = math.prod(len(c) for c in choices)
    if total > limit:
        raise ValueError(f"brute_force: {total} assignments exceed limit {limit}")
    best, best_x, n_feasible = math.inf, None, 0
    for combo in itertools.product(*choices):
        x = np.array(combo, dtype=np.int64)
        ev = evaluate(problem, x)
        if not ev.feasible:
            continue
        n_feasible += 1
        if ev.search_objective < best:
            best, best_x = ev.search_objective, x
    return best, best_x, n_feasible


def hold_candidates(problem, i: int, s: int, *, with_releases: bool = False) -> list[float]:
    """Holds worth trying for internal job ``i`` on server ``s`` (part 3): 0 and, within
    ``(0, hold_max[i]]``, every start of a step of ``s``'s price curve after the job's
    release (``boundary - release``); with ``with_releases`` also the later releases of
    other jobs (``release_k - release_i``). Ascending, no duplicates."""
    r, hmax = float(problem.release[i]), float(problem.hold_max[i])
    out = {0.0}
    c = int(problem.curve_id[s])
    if hmax > 0 and c >= 0:
        step = float(problem.curve_step[c])
        b = (math.floor(r / step) + 1) * step
        while b - r <= hmax:
            out.add(b - r)
            b += step
    if hmax > 0 and with_releases:
        out.update(float(rk) - r for rk in problem.release.tolist() if 0 < rk - r <= hmax)
    return sorted(out)


def brute_force_holds(problem, *, with_releases: bool = False, limit: int = 200_000):
    """Enumerate every allowed assignment x every hold of :func:`hold_candidates` (the
    step-boundary grid) of a compiled problem, scored by ``evaluate(problem, x, holds)``.

    Returns ``(best_search_objective, best_x, best_holds)``: ``best_x`` in the caller's
    job order, ``best_holds`` in the problem's internal order (as ``evaluate`` and
    ``AnnealResult.holds`` take them); the first found among ties. With no feasible
    assignment ``(math.inf, None, None)``. Raises ValueError beyond ``limit`` evaluations.
    """
    from satea.objective import evaluate

    choices = allowed_servers(problem)
    n = problem.n_jobs
    caller_of = problem.order.tolist()          # internal i -> caller's index
    best, best_x, best_h = math.inf, None, None
    count = 0
    for combo in itertools.product(*choices):
        x = np.array(combo, dtype=np.int64)
        grids = [hold_candidates(problem, i, int(x[caller_of[i]]),
                                 with_releases=with_releases) for i in range(n)]
        count += math.prod(len(g) for g in grids)
        if count > limit:
            raise ValueError(f"brute_force_holds: more than {limit} evaluations")
        for hs in itertools.product(*grids):
            h = np.array(hs, dtype=np.float64)
            ev = evaluate(problem, x, h)
            if ev.feasible and ev.search_objective < best:
                best, best_x, best_h = ev.search_objective, x, h
    return best, best_x, best_h


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------

@pytest.fixture(params=TINY_NAMES)
def tiny_fleet(request) -> Fleet:
    """Each tiny fleet in turn (test id: its name)."""
    return tiny_fleet_by_name(request.param)


@pytest.fixture
def tiny_problem(tiny_fleet):
    """Each tiny fleet in turn, compiled."""
    from satea.compile import compile_fleet
    return compile_fleet(tiny_fleet)


@pytest.fixture
def brute():
    """The exhaustive solver :func:`brute_force`."""
    return brute_force
