"""Baselines: each one-pass greedy agrees with a slow reference built on ``evaluate``;
assignments are allowed, in the caller's order, capacity-aware; ``solve_baseline`` gives a
re-scored ``satea-result/1`` result; 10,000 jobs x 1,000 servers take seconds."""
import dataclasses
import math
import time

import numpy as np
import pytest
from conftest import brute_force, tiny_assignment_arrays, tiny_fleets, tiny_node_fleets

from satea.baselines import (
    METHODS,
    baseline_assignment,
    greedy_cost,
    greedy_energy,
    list_schedule,
    random_feasible,
    solve_baseline,
)
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.objective import evaluate
from satea.result import RESULT_FORMAT

TINY = tiny_fleets()
IDS = [n for n, _ in TINY]
#: one-GPU fleet with negative prices, non-repeating curves and carbon (part 2)
SERIES = [(n, f) for n, f in tiny_node_fleets() if n == "series-1gpu"]
_OPT: dict[str, float] = {}


def _optimum(name):
    """Brute-force optimum of a tiny fleet, computed once per module."""
    if name not in _OPT:
        _OPT[name] = brute_force(compile_fleet(dict(TINY)[name]))[0]
    return _OPT[name]


def _reference_greedy(fleet, mode):
    """Slow reference: place jobs in dispatch order; the marginal cost of job j on server s
    is the difference of ``evaluate`` on the fleet restricted to the jobs placed so far
    (plus j), which the dispatch order makes exact."""
    problem = compile_fleet(fleet)
    order = problem.order            # caller's index of internal job i
    placed: dict[int, int] = {}      # caller's index -> server
    cap = problem.capacity
    busy = np.zeros(problem.n_servers)

    def prefix_eval(assign):
        idx = sorted(assign)
        sub = dataclasses.replace(fleet, jobs=tuple(fleet.jobs[i] for i in idx))
        sp = compile_fleet(sub)
        return evaluate(sp, np.array([assign[i] for i in idx])), idx

    base_energy, base_obj = 0.0, 0.0
    for i in range(problem.n_jobs):
        j = int(order[i])
        k = problem.job_class[i]
        best = None
        for s in range(problem.n_servers):
            if not problem.allowed[k, problem.server_class[s]]:
                continue
            p = float(problem.proc_time(np.array([i]), np.array([s]))[0])
            fit = busy[s] + p <= cap[s]
            ev, idx = prefix_eval({**placed, j: s})
            # the energy greedy's "energy" is what running costs: electricity + carbon
            d_energy = ev.energy_cost + ev.carbon_cost - base_energy
            d_obj = ev.search_objective - base_obj
            comp = ev.completion[idx.index(j)]
            key = {"energy": (d_energy, d_obj), "cost": (d_obj,), "list": (comp, d_obj)}[mode]
            cand = (not fit, key, s)
            # tolerance: the slow reference subtracts totals, the kernel adds marginals
            if best is None or cand[0] < best[0] or (cand[0] == best[0] and _less(key, best[1])):
                best = cand
        s = best[2]
        placed[j] = s
        busy[s] += float(problem.proc_time(np.array([i]), np.array([s]))[0])
        ev, _ = prefix_eval(placed)
        base_energy, base_obj = ev.energy_cost + ev.carbon_cost, ev.search_objective
    return np.array([placed[j] for j in range(problem.n_jobs)])


def _less(a, b, rel=1e-9):
    for u, v in zip(a, b):
        if abs(u - v) <= rel * max(1.0, abs(u), abs(v)):
            continue
        return u < v
    return False


@pytest.mark.parametrize("name,fleet", TINY + SERIES, ids=IDS + ["series-1gpu"])
@pytest.mark.parametrize("mode,fn", [("energy", greedy_energy), ("cost", greedy_cost),
                                     ("list", list_schedule)])
def test_greedy_matches_slow_reference(name, fleet, mode, fn):
    x = fn(compile_fleet(fleet))
    ref = _reference_greedy(fleet, mode)
    problem = compile_fleet(fleet)
    # equal assignments, or (on an exact tie the reference resolved differently) equal value
    if not np.array_equal(x, ref):
        assert evaluate(problem, x).objective == pytest.approx(
            evaluate(problem, ref).objective, rel=1e-9)


@pytest.mark.parametrize("name,fleet", TINY, ids=IDS)
@pytest.mark.parametrize("method", ["random", "greedy", "greedy-cost", "list"])
def test_baselines_are_allowed_and_not_below_optimum(name, fleet, method):
    problem = compile_fleet(fleet)
    x = baseline_assignment(problem, method, seed=1)
    assert x.shape == (problem.n_jobs,) and x.dtype == np.int64
    ev = evaluate(problem, x)
    assert ev.allowed
    best = _optimum(name)
    if ev.feasible:
        assert ev.search_objective >= best - 1e-12


def test_greedy_cost_is_good_on_tiny_fleets():
    """Not a guarantee, a regression guard: the cost greedy is within 30% of the optimum on
    every tiny fleet and optimal on some."""
    hits = 0
    for name, fleet in TINY:
        problem = compile_fleet(fleet)
        best = _optimum(name)
        v = evaluate(problem, greedy_cost(problem)).search_objective
        assert v <= 1.3 * best, name
        hits += v <= best * (1 + 1e-9)
    assert hits >= 2


def test_capacity_aware():
    fleet = dict(TINY)["capacity"]
    problem = compile_fleet(fleet)
    for method in ("random", "greedy", "greedy-cost", "list"):
        assert evaluate(problem, baseline_assignment(problem, method)).feasible, method


def test_random_feasible_repairs_and_is_seeded():
    problem = compile_fleet(generate_fleet(300, 20, seed=3, capacity=True))
    a = random_feasible(problem, seed=5)
    assert np.array_equal(a, random_feasible(problem, seed=5))
    assert not np.array_equal(a, random_feasible(problem, seed=6))
    assert evaluate(problem, a).feasible


def test_assignment_problem_greedy_is_cheapest_with_room():
    arr = tiny_assignment_arrays()
    problem = compile_assignment(**arr)
    x = greedy_energy(problem)        # no energy: ties broken by cost
    busy = np.zeros(3)
    for j in range(6):
        room = arr["allowed"][j] & (busy + arr["resource"][j] <= arr["capacity"])
        c = np.where(room, arr["cost"][j], np.inf)
        assert x[j] == int(np.argmin(c))
        busy[x[j]] += arr["resource"][j, x[j]]
    assert evaluate(problem, x).feasible


def test_caller_order_roundtrip():
    """Jobs given out of due order: the assignment is in the caller's order."""
    fleet = dict(TINY)["mixed"]
    problem = compile_fleet(fleet)
    assert not np.array_equal(problem.order, np.arange(problem.n_jobs))
    x = greedy_cost(problem)
    ev = evaluate(problem, x)
    assert ev.feasible and np.isfinite(ev.objective)


@pytest.mark.parametrize("method", ["random", "greedy", "greedy-cost", "list", "milp"])
def test_solve_baseline_result(method, tmp_path):
    fleet = dict(TINY)["releases"]
    problem = compile_fleet(fleet)
    r = solve_baseline(problem, method, seed=2)
    ev = evaluate(problem, r.x)
    assert r.fun == ev.objective and r.feasible == ev.feasible
    assert r.backend == method
    d = r.to_dict()
    assert d["format"] == RESULT_FORMAT and d["backend"] == method
    assert set(d["assignment"]) == set(problem.job_names)
    r.write(tmp_path / "r.json")
    if method == "milp":
        assert r.fun == pytest.approx(_optimum("releases"), rel=1e-6)
        assert "optimal" in r.message


def test_solve_baseline_accepts_fleet_and_lambda():
    fleet = dict(TINY)["step"]
    r = solve_baseline(fleet, "greedy-cost", lam=0.0)
    assert r.lam == 0.0 and r.penalty >= 0
    with pytest.raises(ValueError, match="method"):
        solve_baseline(fleet, "nope")
    assert set(METHODS) >= {"greedy", "list", "milp", "random"}


def test_large_fleet_in_seconds():
    problem = compile_fleet(generate_fleet(10_000, 1_000, seed=7, capacity=True))
    greedy_cost(compile_fleet(dict(TINY)["step"]))     # JIT compile (cached on disk)
    for fn in (greedy_energy, greedy_cost, list_schedule):
        t0 = time.perf_counter()
        x = fn(problem)
        dt = time.perf_counter() - t0
        assert dt < 10.0, (fn.__name__, dt)
        assert x.shape == (10_000,)
        assert evaluate(problem, x).allowed
    assert math.isfinite(evaluate(problem, greedy_cost(problem)).objective)


def test_every_method_builds_the_one_result_type():
    """Baselines and anneal build AnnealResult through one constructor that refuses an
    undocumented stop reason; a baseline records its method in ``info``."""
    from satea.compile import compile_assignment
    from satea.objective import evaluate
    from satea.result import STOPPED_BY, AnnealResult
    p = compile_assignment(np.array([[1.0, 2.0], [2.0, 1.0]]))
    r = solve_baseline(p, "greedy", seed=0)
    assert r.stopped_by == "done" and r.info["method"] == "greedy" and "done" in STOPPED_BY
    ev = evaluate(p, r.x)
    with pytest.raises(ValueError, match="stopped_by: expected one of"):
        AnnealResult.of_assignment(p, r.x, ev, message="", lam=0.0, backend="x", seed=0,
                                   chains=1, sweeps=0, sweeps_requested=0, seconds=0.0,
                                   compile_seconds=0.0, acceptance_rate=0.0,
                                   samples=r.samples, chain_best=r.chain_best, trace=r.trace,
                                   stopped_by="finished")
