"""The annealer on every CPU backend: optima, parity, determinism, arguments."""
import numpy as np
import pytest

from conftest import brute_force, tiny_assignment_arrays, tiny_fleets
from satea.annealing import anneal
from satea.compile import compile_assignment, compile_fleet
from satea.objective import evaluate

TINY = tiny_fleets()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name,fleet", TINY, ids=[n for n, _ in TINY])
def test_finds_brute_force_optimum(backend, name, fleet):
    problem = compile_fleet(fleet)
    best, _, _ = brute_force(problem)
    for seed in (0, 1, 2):
        r = anneal(problem, backend=backend, seed=seed)
        assert r.feasible
        assert r.fun == pytest.approx(best, rel=1e-9), f"seed {seed}"


@pytest.mark.parametrize("name,fleet", TINY, ids=[n for n, _ in TINY])
def test_result_rescored_exactly(name, fleet):
    problem = compile_fleet(fleet)
    r = anneal(problem, backend="numba", seed=3, chains=8, sweeps=50)
    ev = evaluate(problem, r.x)
    assert (r.fun, r.energy_cost, r.penalty, r.feasible) == (
        ev.objective, ev.energy_cost, ev.penalty, ev.feasible)


def test_numpy_and_numba_draw_the_same_chains():
    """Same streams and the same move definition: each chain's best agrees."""
    for name, fleet in TINY:
        problem = compile_fleet(fleet)
        a = anneal(problem, backend="numpy", seed=11, chains=6, sweeps=40)
        b = anneal(problem, backend="numba", seed=11, chains=6, sweeps=40)
        np.testing.assert_allclose(a.chain_best, b.chain_best, rtol=1e-9, err_msg=name)
        assert a.acceptance_rate == pytest.approx(b.acceptance_rate, rel=1e-6)


def test_per_chain_temperature_scale():
    """t_scale multiplies each chain's temperatures: numpy and numba agree chain by chain,
    a chain's trajectory depends on its own scale only, and ones change nothing."""
    problem = compile_fleet(dict(TINY)["mixed"])
    ts = np.array([0.5, 1.0, 2.0, 4.0, 0.25, 3.0])
    kw = dict(seed=3, chains=6, sweeps=40, schedule=(0.05, 0.001))
    a = anneal(problem, backend="numpy", t_scale=ts, **kw)
    b = anneal(problem, backend="numba", t_scale=ts, **kw)
    np.testing.assert_allclose(a.chain_best, b.chain_best, rtol=1e-9)
    assert a.acceptance_rate == pytest.approx(b.acceptance_rate, rel=1e-6)
    plain = anneal(problem, backend="numba", **kw)
    ones = anneal(problem, backend="numba", t_scale=np.ones(6), **kw)
    assert np.array_equal(plain.samples, ones.samples)
    # chain 1 (scale 1) is the plain run's chain 1; a scale 100x hotter accepts more
    assert np.array_equal(b.samples[1], plain.samples[1])
    hot = anneal(problem, backend="numba", t_scale=np.full(6, 100.0), **kw)
    assert hot.acceptance_rate > plain.acceptance_rate


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_same_seed_same_result(backend):
    problem = compile_fleet(dict(TINY)["mixed"])
    a = anneal(problem, backend=backend, seed=5, chains=4, sweeps=30)
    b = anneal(problem, backend=backend, seed=5, chains=4, sweeps=30)
    assert np.array_equal(a.samples, b.samples) and a.fun == b.fun
    assert np.array_equal(a.trace, b.trace)


def test_chain_does_not_depend_on_chain_count():
    problem = compile_fleet(dict(TINY)["mixed"])
    few = anneal(problem, backend="numba", seed=9, chains=3, sweeps=30, strategy="independent")
    many = anneal(problem, backend="numba", seed=9, chains=16, sweeps=30,
                  strategy="independent")
    np.testing.assert_array_equal(few.chain_best, many.chain_best[:3])
    np.testing.assert_array_equal(few.samples, many.samples[:3])


def test_generic_assignment_optimum():
    d = tiny_assignment_arrays()
    problem = compile_assignment(d["cost"], d.get("resource"), d.get("capacity"))
    best, _, _ = brute_force(problem)
    r = anneal(problem, backend="numba", seed=0)
    assert r.feasible and r.fun == pytest.approx(best)


def test_maximize_reports_in_asked_sense():
    cost = np.array([[1.0, 5.0], [4.0, 2.0], [3.0, 3.0]])
    r = anneal(compile_assignment(cost, maximize=True), backend="numba", seed=0)
    assert r.fun == 5.0 + 4.0 + 3.0


def test_infeasible_everywhere_says_so():
    cost = np.ones((3, 2))
    res = np.full((3, 2), 10.0)
    r = anneal(compile_assignment(cost, res, np.array([10.0, 10.0])), backend="numba", seed=0,
               chains=4, sweeps=20)
    assert not r.feasible
    assert "No chain found a feasible assignment" in r.message
    assert r.evaluation.violation == 10.0


def test_warm_start_and_per_chain_lambda():
    problem = compile_fleet(dict(TINY)["mixed"])
    best, x_best, _ = brute_force(problem)
    r = anneal(problem, backend="numba", seed=0, chains=4, sweeps=1, x0=x_best,
               schedule=np.array([1e9]))
    assert r.fun == pytest.approx(best)  # cold start at the optimum stays there
    lams = np.array([0.0, 0.0, 100.0, 100.0])
    r = anneal(problem, backend="numba", seed=0, chains=4, sweeps=100, lam=lams)
    assert r.lam in (0.0, 100.0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(chains=0), "chains"), (dict(sweeps=-1), "sweeps"), (dict(backend="gpu"), "valid"),
    (dict(p_swap=2.0), "p_swap"), (dict(lam=-1.0), "lam"), (dict(lam=[1.0, 2.0]), "lam"),
    (dict(time_limit=0), "time_limit"), (dict(x0=[0]), "x0"), (dict(seed=-3), "seed"),
    (dict(schedule=np.ones(3)), "schedule"), (dict(cap_weight=float("nan")), "cap_weight"),
    (dict(chains=2, t_scale=[1.0]), "t_scale"), (dict(chains=2, t_scale=[1.0, 0.0]), "t_scale"),
    (dict(chains=2, t_scale=[1.0, float("nan")]), "t_scale"),
    (dict(chains=2, t_scale=[float("inf"), 1.0]), "t_scale"),
])
def test_bad_arguments_named(kwargs, match):
    problem = compile_fleet(dict(TINY)["step"])
    with pytest.raises(ValueError, match=match):
        anneal(problem, **kwargs)


def test_callback_stops_and_sees_progress():
    problem = compile_fleet(dict(TINY)["mixed"])
    seen, setup = [], []

    def cb(p):
        if p.phase != "search":   # setup steps are announced first, before any sweep
            assert not seen and p.sweeps_done == 0
            setup.append(p.phase)
            return False
        seen.append(p)
        return len(seen) == 2

    r = anneal(problem, backend="numba", seed=0, sweeps=10**6, callback=cb)
    assert r.stopped_by == "callback" and r.sweeps == seen[-1].sweeps_done < 10**6
    assert seen[0].sweeps_done >= 1 and np.isfinite(seen[-1].best_objective)
    assert "Stopped by callback" in r.message
    assert setup == ["setup: sizing the schedule", "setup: compiling and starting the chains"]


def test_callback_stop_during_setup_runs_no_sweep():
    problem = compile_fleet(dict(TINY)["mixed"])
    r = anneal(problem, backend="numba", seed=0, sweeps=100,
               callback=lambda p: p.phase.startswith("setup"))
    assert r.stopped_by == "callback" and r.sweeps == 0 and r.trace.size == 0
    assert r.message.startswith("No sweep completed")


@pytest.mark.slow
def test_numba_matches_reference_quality_on_generated_fleet():
    """Same algorithm, faster: on a generated 200 x 20 fleet, numba's mean best over 8 seeds
    is within 1% of the numpy reference's at equal chains and sweeps."""
    from satea.generate import generate_fleet
    problem = compile_fleet(generate_fleet(200, 20, seed=4, capacity=True))
    ref, fast = [], []
    for seed in range(8):
        ref.append(anneal(problem, backend="numpy", seed=seed, chains=4, sweeps=10).fun)
        fast.append(anneal(problem, backend="numba", seed=seed, chains=4, sweeps=10).fun)
    assert abs(np.mean(fast) - np.mean(ref)) <= 0.01 * abs(np.mean(ref))
