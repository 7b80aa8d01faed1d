"""Hold moves (docs/model.md, part 3) in the kernels and the NumPy reference: every delta
and cache against the float64 evaluator, the optimum over assignments x step-boundary holds,
the backends' agreement, and holds carried through warm starts and population resampling."""
import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_moves import _moves_against_evaluator, fleets
from test_nodes import node_fleets

from satea import anneal
from satea.compile import compile_fleet
from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from satea.objective import evaluate


def with_holds(problem, draw_holds):
    """``problem`` with per-job hold_max drawn by ``draw_holds(n)`` (internal order)."""
    return replace(problem, hold_max=np.asarray(draw_holds(problem.n_jobs), np.float64))


HOLD_CHOICES = [0.0, 0.0, 600.0, 1800.0, 3600.0, 7200.0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(), seed=st.integers(0, 2**31), p_swap=st.sampled_from([0.0, 0.3]),
       p_hold=st.sampled_from([0.3, 0.7]), data=st.data(),
       accept=st.lists(st.booleans(), min_size=30, max_size=30), caches=st.booleans())
def test_hold_moves_equal_full_recomputation(fleet, seed, p_swap, p_hold, data, accept, caches):
    problem = with_holds(compile_fleet(fleet), lambda n: data.draw(
        st.lists(st.sampled_from(HOLD_CHOICES), min_size=n, max_size=n)))
    _moves_against_evaluator(problem, seed, p_swap, accept, caches, p_hold)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=node_fleets(), seed=st.integers(0, 2**31), p_swap=st.sampled_from([0.0, 0.3]),
       p_hold=st.sampled_from([0.3, 0.7]), data=st.data(),
       accept=st.lists(st.booleans(), min_size=30, max_size=30), caches=st.booleans())
def test_node_hold_moves_equal_full_recomputation(fleet, seed, p_swap, p_hold, data, accept,
                                                  caches):
    problem = with_holds(compile_fleet(fleet), lambda n: data.draw(
        st.lists(st.sampled_from(HOLD_CHOICES), min_size=n, max_size=n)))
    _moves_against_evaluator(problem, seed, p_swap, accept, caches, p_hold)


# ---- the one-job case and a tiny fleet's optimum over holds ------------------------

GPUS = {"A": GPUType("A", 40, 50.0), "B": GPUType("B", 40, 30.0)}
MODELS = {"m": DNNModel("m", 8)}
#: 1.0 in the first hour, 0 in the next three, then 1.0 again (the issue's price)
CURVE = PriceCurve("c", 3600.0, (1.0, 0.0, 0.0, 0.0, 1.0, 1.0))


def one_job():
    fleet = Fleet("one", GPUS, MODELS, (Profile("m", "A", 10.0, 300.0),),
                  (Server("s0", "A", price_curve="c"),),
                  (Job("j0", "m", 36000.0, 0.0, 4 * 3600.0),), {"c": CURVE})
    return replace(compile_fleet(fleet), hold_max=np.array([3 * 3600.0]))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_one_job_waits_for_the_free_hours(backend):
    problem = one_job()
    held0 = evaluate(problem, np.array([0]))
    assert held0.energy_cost > 0.0                 # without a hold it runs in the dear hour
    r = anneal(problem, backend=backend, chains=4, sweeps=40, seed=3)
    assert r.energy_cost == 0.0 and r.fun == 0.0
    assert 3600.0 <= r.holds[0] <= 3 * 3600.0
    assert evaluate(problem, r.x, r.holds).objective == r.fun


#: a market series (does not repeat): one free hour, then the last price holds for ever
SERIES = PriceCurve("c", 3600.0, (1.0, 1.0, 1.0, 1.0, 0.0, 1.0), repeat=False)


def one_job_on_a_series(hold_max: float):
    fleet = Fleet("series", GPUS, MODELS, (Profile("m", "A", 10.0, 300.0),),
                  (Server("s0", "A", price_curve="c"),),
                  (Job("j0", "m", 36000.0, 0.0, 1e12),), {"c": SERIES})
    return replace(compile_fleet(fleet), hold_max=np.array([hold_max]))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("hold_max", [6 * 3600.0, 1e15])
def test_a_long_allowance_still_finds_the_series_free_hour(backend, hold_max):
    # the steps a hold move proposes stop at the series' last step: with 1e15 s allowed
    # they were ~3e11 steps of the constant tail, and the free hour (step 4) was never
    # proposed (a new user's trial: --hold-max 1e15 held no job at all)
    problem = one_job_on_a_series(hold_max)
    r = anneal(problem, backend=backend, chains=4, sweeps=40, seed=3)
    assert r.energy_cost == 0.0 and r.holds[0] == 4 * 3600.0
    assert evaluate(problem, r.x, r.holds).objective == r.fun


def test_numpy_and_numba_propose_the_same_holds_on_a_series():
    problem = one_job_on_a_series(1e15)
    runs = [anneal(problem, backend=b, chains=4, sweeps=30, seed=7, strategy="independent")
            for b in ("numpy", "numba")]
    np.testing.assert_array_equal(runs[0].sample_holds, runs[1].sample_holds)


def tiny_hold_fleet():
    """Two servers (one on the curve, one at a constant price with idle power), four jobs
    with releases and deadlines, every job may be held up to 3 hours."""
    profiles = (Profile("m", "A", 10.0, 300.0), Profile("m", "B", 8.0, 200.0))
    servers = (Server("s0", "A", price_curve="c"), Server("s1", "B", price_per_kwh=0.6))
    jobs = (Job("j0", "m", 18000.0, 0.0, 3 * 3600.0, Penalty("linear", 2.0, 3600.0)),
            Job("j1", "m", 36000.0, 600.0, 5 * 3600.0, Penalty("step", 0.5, 1.0)),
            Job("j2", "m", 9000.0, 1800.0, 4 * 3600.0, Penalty("linear", 1.0, 1800.0)),
            Job("j3", "m", 24000.0, 7200.0, 6 * 3600.0, Penalty("exponential", 0.2, 3600.0)))
    fleet = Fleet("tinyhold", GPUS, MODELS, profiles, servers, jobs, {"c": CURVE})
    return replace(compile_fleet(fleet), hold_max=np.full(4, 3 * 3600.0))


def brute_force_holds(problem):
    """The least search objective over every assignment x every job's hold among 0 and
    the curve's step starts inside its window (start there, or complete there). Holds in
    the internal order, x in the caller's."""
    step = float(problem.curve_step[0])
    cands = []
    for j in range(problem.n_jobs):
        r, H = float(problem.release[j]), float(problem.hold_max[j])
        vals = {0.0, H}
        for k in range(math.ceil(r / step), math.floor((r + H) / step) + 1):
            vals.add(k * step - r)
        cands.append(sorted(v for v in vals if 0.0 <= v <= H))
    best = math.inf
    for x in itertools.product(range(problem.n_servers), repeat=problem.n_jobs):
        xa = np.array(x)
        for h in itertools.product(*cands):
            ev = evaluate(problem, xa, np.array(h))
            if ev.feasible and ev.search_objective < best:
                best = ev.search_objective
    return best


def test_tiny_fleet_reaches_the_optimum_over_holds():
    problem = tiny_hold_fleet()
    best = brute_force_holds(problem)
    no_holds = min(evaluate(problem, np.array(x)).search_objective
                   for x in itertools.product(range(2), repeat=4))
    assert best < no_holds - 1e-9                   # holding pays on this fleet
    for backend in ("numpy", "numba"):
        r = anneal(problem, backend=backend, chains=16, sweeps=300, seed=5)
        assert r.fun <= best + 1e-9 * abs(best), backend
        assert evaluate(problem, r.x, r.holds).objective == r.fun


def test_numpy_and_numba_agree_chain_for_chain_with_holds():
    problem = tiny_hold_fleet()
    runs = [anneal(problem, backend=b, chains=6, sweeps=60, seed=11, strategy="independent")
            for b in ("numpy", "numba")]
    np.testing.assert_array_equal(runs[0].samples, runs[1].samples)
    np.testing.assert_allclose(runs[0].chain_best, runs[1].chain_best, rtol=1e-9)
    # a hold change that costs nothing ties two states within rounding (the reference
    # re-scores whole servers, numba walks suffixes): the holds must give the same objective
    for r in runs:
        assert evaluate(problem, r.x, r.holds).objective == pytest.approx(runs[1].fun,
                                                                          rel=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_warm_start_with_holds_and_no_sweeps_to_spare(backend):
    problem = one_job()
    x0 = np.array([0])
    r = anneal(problem, backend=backend, chains=2, sweeps=1, seed=1, x0=x0,
               holds0=np.array([7200.0]), p_hold=0.0)
    assert r.holds[0] == 7200.0 and r.energy_cost == 0.0
    with pytest.raises(ValueError, match="holds0"):
        anneal(problem, backend=backend, chains=2, sweeps=1, x0=x0, holds0=np.array([-1.0]))
    with pytest.raises(ValueError, match="holds0"):
        anneal(problem, backend=backend, chains=2, sweeps=1, holds0=np.array([0.0]))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_warm_start_keeps_fractional_holds(backend):
    # holds0 was once mapped to internal order by the assignment's int32 cast: 51.5 s
    # became 51 s. With p_hold 0 no move changes a hold: every one must come back as given
    problem = tiny_hold_fleet()
    rng = np.random.default_rng(3)
    x0 = rng.integers(0, problem.n_servers, problem.n_jobs)
    h0 = rng.uniform(0.0, 1.0, problem.n_jobs) * problem.to_caller(problem.hold_max)
    assert (h0 != np.floor(h0)).any()
    r = anneal(problem, backend=backend, chains=2, sweeps=3, seed=1, x0=x0, holds0=h0,
               p_hold=0.0)
    np.testing.assert_array_equal(r.caller_holds(), h0)
    assert evaluate(problem, r.x, r.holds).objective == pytest.approx(r.fun, rel=1e-12)


@pytest.mark.parametrize("strategy", ["population", "tempering"])
def test_holds_survive_the_coupled_strategies(strategy):
    problem = tiny_hold_fleet()
    r = anneal(problem, backend="numba", chains=8, sweeps=80, seed=2, strategy=strategy)
    assert r.holds is not None
    assert evaluate(problem, r.x, r.holds).objective == r.fun


def test_pareto_points_carry_their_holds():
    from satea.pareto import pareto
    problem = tiny_hold_fleet()
    front = pareto(problem, points=4, chains_per_lambda=4, sweeps=80, seed=3, backend="numba")
    assert front.points
    held = 0
    for q in front.points:
        assert q.holds is not None
        ev = evaluate(problem.with_lambda(q.lam), q.x, q.holds)
        assert (ev.energy_cost, ev.penalty) == (q.energy_cost, q.penalty)
        held += bool(q.holds.any())
        r = front.point_result(q)
        assert np.array_equal(r.holds, q.holds)
    assert held                                      # some point holds a job


def test_distributed_solve_carries_the_best_shards_holds():
    from satea import distributed as sd
    problem = tiny_hold_fleet()
    r = sd.solve(problem, None, chains=8, shards=2, sweeps=60, seed=4, backend="numba")
    assert r.holds is not None
    assert evaluate(problem, r.x, r.holds).objective == r.fun
    assert r.sample_holds is not None and r.sample_holds.shape == (8, problem.n_jobs)
