"""What a run keeps as its best: feasibility decided alike by the search and the evaluator
(a capacity tie is not decided by rounding), and a warm start never lost."""
import numpy as np
import pytest

from conftest import brute_force, capacity_tie_fleet, closed_server_fleet, tiny_assignment_arrays
from satea.annealing import anneal
from satea.compile import CAPACITY_RTOL, compile_assignment, compile_fleet
from satea.model import (DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile,
                         Server)
from satea.objective import evaluate


def test_each_server_is_held_to_its_own_capacity():
    # a tolerance of the smallest capacity would be 0 beside a server of capacity 0, and
    # a tie on a large server would again be decided by rounding
    p = compile_assignment(np.ones((2, 3)), np.ones((2, 3)), np.array([0.0, 1914.0, 5e9]))
    tol = CAPACITY_RTOL * 1914.0
    busy = np.array([[0.0, 1914.0 + tol / 2, 5e9], [0.0, 1914.0 + 2 * tol, 5e9 + 1.0],
                     [1e-300, 1914.0, 5e9]])
    np.testing.assert_array_equal(p.within_capacity(busy),
                                  [[True, True, True], [True, False, False],
                                   [False, True, True]])
    assert compile_assignment(np.ones((2, 2))).within_capacity(np.array([1e300, 0.0])).all()


def test_the_tie_is_feasible_beside_a_drained_server():
    # a server of capacity 0 that no job can use (a reviewer's case: with a tolerance taken
    # from the smallest capacity, the tie was an overload again)
    from dataclasses import replace
    f = capacity_tie_fleet()
    f = replace(f, gpus={**f.gpus, "Z": GPUType("Z", 1, 0.0)},
                servers=f.servers + (Server("drained", "Z", price_per_kwh=0.1,
                                            capacity_s=0.0),))
    p = compile_fleet(f)
    assert evaluate(p, np.zeros(5, np.int64)).feasible
    r = anneal(p, backend="numba", chains=8, sweeps=60, seed=565, strategy="independent")
    assert r.feasible and r.x.tolist() == [0, 0, 0, 0, 0]


def test_integer_overloads_stay_overloads_at_large_capacities():
    # an overload of 3 units on a capacity of 5e9 (bytes, say) is an overload
    p = compile_assignment(np.ones((2, 1)), np.array([[3e9], [2e9 + 3]]), np.array([5e9]))
    ev = evaluate(p, np.zeros(2, np.int64))
    assert ev.violation == 3.0 and not ev.feasible


def test_a_sum_that_ties_its_capacity_is_feasible():
    p = compile_fleet(capacity_tie_fleet())
    ev = evaluate(p, np.zeros(5, np.int64))
    # float64 sums the five run times past 1,914 s by rounding alone
    assert ev.server_busy[0] > 1914.0 and 0.0 < ev.violation < CAPACITY_RTOL * 1914.0
    assert ev.feasible
    # a real overload stays one: a capacity one second short of the five
    short = compile_fleet(_short_fleet())
    ev_short = evaluate(short, np.zeros(5, np.int64))
    assert not ev_short.feasible and ev_short.violation == pytest.approx(1.0)


def _short_fleet() -> Fleet:
    from dataclasses import replace
    f = capacity_tie_fleet()
    return replace(f, servers=(replace(f.servers[0], capacity_s=1913.0), f.servers[1]))


def test_integer_data_keep_exact_capacities():
    # OR-Library-like integer uses and capacities: sums are exact and an overload is >= 1
    arrays = tiny_assignment_arrays()
    p = compile_assignment(**arrays)
    best, _x, n_feasible = brute_force(p)
    assert n_feasible > 0
    r = anneal(p, backend="numba", chains=8, sweeps=200, seed=1)
    assert r.feasible and r.fun == best
    assert evaluate(p, r.x).violation == 0.0


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("seed", [565, 479])
def test_search_and_evaluator_agree_on_the_tie(backend, seed):
    # before the tolerance, numba's running busy sums called the tie feasible and the
    # evaluator did not: every chain kept such a best, and the run returned "no chain found
    # a feasible assignment" (seeds 565 and 479); numpy returned another answer
    p = compile_fleet(capacity_tie_fleet())
    best, best_x, _ = brute_force(p)
    assert best_x.tolist() == [0, 0, 0, 0, 0]
    r = anneal(p, backend=backend, chains=8, sweeps=60, seed=seed, strategy="independent")
    assert r.feasible and r.message.startswith("Best feasible")
    assert r.x.tolist() == [0, 0, 0, 0, 0] and r.fun == evaluate(p, r.x).objective == best
    for c in np.flatnonzero(np.isfinite(r.chain_best)):   # every chain's kept best
        assert evaluate(p, r.samples[c]).feasible


def _warm_fleet() -> Fleet:
    """Two jobs, a price curve, one job that may be held: a hot one-chain run from a good
    start wanders off it within a sweep or two (found by a differential sweep)."""
    gpus = {"A": GPUType("A", 40, 50.0), "B": GPUType("B", 16, 20.0)}
    models = {"m0": DNNModel("m0", 8), "m1": DNNModel("m1", 24)}
    profiles = (Profile("m0", "A", 10.0, 300.0), Profile("m0", "B", 4.0, 90.0),
                Profile("m1", "A", 5.0, 350.0), Profile("m1", "B", 2.0, 100.0))
    servers = (Server("s0", "A", price_curve="c"), Server("s1", "A", price_curve="c"),
               Server("s2", "B", price_per_kwh=0.121))
    jobs = (Job("j0", "m1", 49721.0, release_s=2720.0, due_s=10352.04,
                penalty=Penalty("linear", 5.777, 1073.0)),
            Job("j1", "m0", 22455.4, release_s=6798.96, due_s=5000.0,
                penalty=Penalty("linear", 6.282, 5301.8), hold_max_s=7200.0))
    return Fleet("warm", gpus, models, profiles, servers, jobs,
                 price_curves={"c": PriceCurve("c", 600.0, (0.088,), repeat=False)}, lam=5.0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_warm_start_is_never_lost(backend):
    p = compile_fleet(_warm_fleet())
    x0 = np.array([0, 1])
    h0 = np.array([0.0, 922.4181552639303])     # caller's order
    start = evaluate(p, x0, h0[p.order])
    assert start.feasible
    worse = []
    for seed in range(30):
        for sweeps in (1, 2, 5):
            r = anneal(p, backend=backend, x0=x0, holds0=h0, strategy="independent",
                       chains=1, sweeps=sweeps, seed=seed)
            if r.fun > start.objective:
                worse.append((seed, sweeps, r.fun))
    # before the start was kept, numba returned 111.73 against the start's 91.77 for seed
    # 3 (2 sweeps) and seed 20 (2 and 5 sweeps)
    assert worse == []


def test_a_good_warm_start_does_not_stop_the_default_run():
    # kept as each chain's best from the start, a good warm start made the converged rule
    # see no progress and end the run after 54 of 500 sweeps, returning the start (a
    # reviewer's case, numpy seeds 1 and 2: 0.711 then; 0.663 and 0.665 from the search,
    # as before the start was kept); the start is now compared only with the result
    from satea.generate import generate_fleet
    p = compile_fleet(generate_fleet(40, 6, seed=3))
    start = anneal(p, backend="numpy", seed=7, chains=1, sweeps=150)
    assert start.fun == pytest.approx(0.71112, abs=1e-5)
    for seed in (1, 2):
        r = anneal(p, backend="numpy", seed=seed, chains=4, x0=start.x)
        assert r.fun < start.fun - 0.04 and r.sweeps > 54


def test_a_server_emptied_back_to_capacity_0_is_within_it():
    # numba walks the same chains as the reference; its running busy sum of the emptied
    # capacity-0 server was 5.7e-14 s, so chain 0's feasible best was judged overloaded
    # (chain_best inf) and the worse chain 1 returned (0.01749 against 0.01611)
    p = compile_fleet(closed_server_fleet())
    a, b = (anneal(p, backend=be, chains=2, sweeps=10, seed=1, strategy="independent")
            for be in ("numpy", "numba"))
    np.testing.assert_array_equal(a.samples, b.samples)
    assert np.isfinite(b.chain_best).all()
    np.testing.assert_allclose(b.chain_best, a.chain_best, rtol=1e-12)
    assert b.fun == a.fun == evaluate(p, b.x).objective


@pytest.mark.parametrize("seed", range(12))
def test_capacity_0_never_hides_a_feasible_best(seed):
    p = compile_fleet(closed_server_fleet())
    r = anneal(p, backend="numba", chains=4, sweeps=12, seed=seed, strategy="independent")
    for c in range(r.samples.shape[0]):
        ev = evaluate(p, r.samples[c])
        assert ev.feasible == np.isfinite(r.chain_best[c]), c
