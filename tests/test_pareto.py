"""Pareto front over lambda in one launch: ladder, non-dominated filter, re-scoring, I/O,
and the acceptance run on a generated 200 x 20 instance."""
import csv
import json

import numpy as np
import pytest
from conftest import brute_force, tiny_fleet_by_name

from satea.annealing import anneal
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.objective import evaluate
from satea.pareto import (
    FRONT_FORMAT,
    ParetoFront,
    break_even_lambdas,
    lambda_ladder,
    nondominated,
    pareto,
    read_front,
)


def _brute_nondominated(e, p):
    keep, seen = [], set()
    for i in range(len(e)):
        if np.isnan(e[i]) or np.isnan(p[i]):
            continue
        dom = any(e[k] <= e[i] and p[k] <= p[i] and (e[k] < e[i] or p[k] < p[i])
                  for k in range(len(e)))
        if not dom and (e[i], p[i]) not in seen:
            seen.add((e[i], p[i]))
            keep.append(i)
    return sorted(keep)


# --- nondominated ---------------------------------------------------------------------

def test_nondominated_small_cases():
    assert nondominated([], []).tolist() == []
    assert nondominated([1.0], [2.0]).tolist() == [0]
    # (3,3) dominated by (2,2); (2,5) by (2,2) (equal energy); (4,1) kept; (5,1) dominated
    e = [2.0, 3.0, 2.0, 4.0, 5.0, 1.0]
    p = [2.0, 3.0, 5.0, 1.0, 1.0, 9.0]
    assert nondominated(e, p).tolist() == [5, 0, 3]    # ascending energy


def test_nondominated_identical_points_kept_once():
    e = [1.0, 1.0, 2.0, 2.0, 1.0]
    p = [3.0, 3.0, 1.0, 1.0, 3.0]
    assert nondominated(e, p).tolist() == [0, 2]        # lowest index of each


def test_nondominated_nan_dropped_and_shape_checked():
    assert nondominated([np.nan, 1.0, 2.0], [0.0, 1.0, np.nan]).tolist() == [1]
    with pytest.raises(ValueError, match="shapes differ"):
        nondominated([1.0, 2.0], [1.0])


def test_nondominated_matches_brute_force_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        e = rng.integers(0, 6, n).astype(float)       # many ties on purpose
        p = rng.integers(0, 6, n).astype(float)
        got = nondominated(e, p)
        assert sorted(got.tolist()) == _brute_nondominated(e, p)
        assert np.all(np.diff(e[got]) > 0) and np.all(np.diff(p[got]) < 0)


# --- ladder ---------------------------------------------------------------------------

def test_ladder_shape_and_range():
    p = compile_fleet(generate_fleet(200, 20, seed=3))
    lams = lambda_ladder(p, points=16)
    assert lams.shape == (16,) and lams[0] == 0.0
    r = lams[2:] / lams[1:-1]
    np.testing.assert_allclose(r, r[0])                # geometric after 0
    b = break_even_lambdas(p)
    assert b.size == 200                               # every generated job has a penalty
    assert lams[1] == pytest.approx(0.01 * np.quantile(b, 0.1))
    assert lams[-1] == pytest.approx(10 * np.quantile(b, 0.9))


def test_ladder_arguments():
    p = compile_fleet(generate_fleet(50, 5, seed=1))
    assert lambda_ladder(p, 4, lam_max=100.0)[-1] == 100.0
    low = lambda_ladder(p, 4, lam_max=1e-6)
    assert low[1] == pytest.approx(1e-9) and low[-1] == 1e-6
    assert lambda_ladder(p, 2).tolist()[0] == 0.0
    with pytest.raises(ValueError, match="points"):
        lambda_ladder(p, 1)
    with pytest.raises(ValueError, match="lam_max"):
        lambda_ladder(p, 4, lam_max=-1.0)
    gap = compile_assignment(np.ones((3, 2)))
    np.testing.assert_allclose(lambda_ladder(gap, 3), [0.0, 1e-3, 1e3])


# --- pareto on tiny instances -----------------------------------------------------------

def _assert_front_exact(front, problem):
    e, p = front.energy_cost, front.penalty
    assert len(set(zip(e.tolist(), p.tolist()))) == len(front)
    for i, q in enumerate(front.points):
        ev = evaluate(problem.with_lambda(q.lam), q.x)
        assert (q.energy_cost, q.penalty, q.objective, q.feasible) == (
            ev.energy_cost, ev.penalty, ev.objective, ev.feasible)
        assert q.objective == ev.energy_cost + q.lam * ev.penalty
        assert q.feasible
        for k in range(len(front)):
            if k != i:
                assert not (e[k] <= e[i] and p[k] <= p[i]), f"point {i} dominated by {k}"
    assert np.all(np.diff(e) > 0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_tiny_front_contains_brute_force_optima(backend):
    """On a tiny instance the front's best point at each lambda is the exact optimum."""
    problem = compile_fleet(tiny_fleet_by_name("tou"))
    lams = [0.0, 0.1, 1.0, 10.0]
    front = pareto(problem, lambdas=lams, chains_per_lambda=4, sweeps=200, backend=backend,
                   seed=0)
    assert front.lambdas.tolist() == lams and front.run.chains == 16
    _assert_front_exact(front, problem)
    for lam in lams:
        best, _, _ = brute_force(problem.with_lambda(lam))
        assert front.best_at(lam).objective == pytest.approx(best, rel=1e-12), lam


def test_capacity_instance_front_is_feasible():
    problem = compile_fleet(tiny_fleet_by_name("mixed"))
    front = pareto(problem, points=5, chains_per_lambda=4, sweeps=100, backend="numba", seed=2)
    assert len(front) >= 1 and front.cap_weight > 0
    _assert_front_exact(front, problem)


def test_lambdas_checked_and_deduplicated():
    problem = compile_fleet(tiny_fleet_by_name("step"))
    with pytest.raises(ValueError, match=r"lambdas\[1\]"):
        pareto(problem, lambdas=[0.0, -1.0], sweeps=5, backend="numba")
    with pytest.raises(ValueError, match="chains_per_lambda"):
        pareto(problem, chains_per_lambda=0, sweeps=5, backend="numba")
    f = pareto(problem, lambdas=[1.0, 0.0, 1.0], chains_per_lambda=2, sweeps=20,
               backend="numba", seed=1)
    assert f.lambdas.tolist() == [0.0, 1.0] and f.run.chains == 4


def test_chain_lambdas_interleaved():
    problem = compile_fleet(tiny_fleet_by_name("linear"))
    f = pareto(problem, lambdas=[0.0, 0.5, 5.0], chains_per_lambda=3, sweeps=30,
               backend="numba", seed=4)
    for q in f.points:   # chain c carries lambdas[c % 3]
        assert q.lam == f.lambdas[q.chain % 3]


def test_front_json_and_csv(tmp_path):
    problem = compile_fleet(tiny_fleet_by_name("mixed"))
    front = pareto(problem, points=4, chains_per_lambda=4, sweeps=100, backend="numba", seed=3)
    front.write_json(tmp_path / "front.json", explain=True)
    front.write_csv(tmp_path / "front.csv")
    d = read_front(tmp_path / "front.json")
    assert d["format"] == FRONT_FORMAT == "satea-front/1"
    assert len(d["points"]) == len(front)
    for q, pt in zip(front.points, d["points"]):
        assert pt["format"] == "satea-result/1"
        assert pt["lambda"] == q.lam and pt["objective"] == q.objective
        assert pt["energy_cost"] == q.energy_cost and pt["penalty"] == q.penalty
        assert len(pt["assignment"]) == problem.n_jobs and len(pt["jobs"]) == problem.n_jobs
    rows = list(csv.DictReader(open(tmp_path / "front.csv")))
    assert list(rows[0]) == ["lambda", "energy_cost", "penalty", "objective", "feasible"]
    assert [float(r["objective"]) for r in rows] == [q.objective for q in front.points]
    assert {r["feasible"] for r in rows} == {"true"}
    (tmp_path / "bad.json").write_text(json.dumps({"format": "satea-result/1"}))
    with pytest.raises(ValueError, match="satea-front/1"):
        read_front(tmp_path / "bad.json")


def test_point_results_evaluate_like_the_cli(tmp_path):
    """Each point is a satea-result/1 object: re-scoring its assignment at its lambda
    (as ``satea evaluate`` does) gives its numbers."""
    from satea.result import assignment_from_names
    problem = compile_fleet(tiny_fleet_by_name("exponential"))
    front = pareto(problem, points=4, chains_per_lambda=2, sweeps=50, backend="numba", seed=5)
    for pt in front.to_dict()["points"]:
        x = assignment_from_names(problem, pt["assignment"])
        ev = evaluate(problem.with_lambda(pt["lambda"]), x)
        assert ev.objective == pt["objective"] and ev.penalty == pt["penalty"]


def test_empty_front_when_nothing_feasible():
    # every server's budget is far below any job: no chain can be feasible
    problem = compile_fleet(tiny_fleet_by_name("capacity"))
    from dataclasses import replace
    tight = replace(problem, capacity=np.full(problem.n_servers, 1.0))
    front = pareto(tight, points=3, chains_per_lambda=2, sweeps=10, backend="numba", seed=0)
    assert isinstance(front, ParetoFront) and len(front) == 0 and front.n_feasible == 0
    assert front.to_dict()["points"] == []
    with pytest.raises(ValueError, match="empty"):
        front.best_at(1.0)


# --- acceptance: 200 jobs x 20 servers ---------------------------------------------------

@pytest.mark.slow
def test_acceptance_200x20_front():
    """One launch, 16 lambdas x 4 chains x 2000 sweeps (numba, ~15 s on 2 cores):
    >= 10 distinct non-dominated points, all re-scored exactly, and at lambda 0, the
    smallest positive lambda and the largest, the front's point is within 1% of a separate
    single-lambda run with the same chains and sweeps per lambda (the defaults, longer,
    are compared in docs/quality.md, part ``pareto``)."""
    problem = compile_fleet(generate_fleet(200, 20, seed=3))
    front = pareto(problem, points=16, chains_per_lambda=4, sweeps=2000, backend="numba",
                   seed=0)
    assert front.run.chains == 64 and front.run.sweeps == 2000
    assert len(front) >= 10
    _assert_front_exact(front, problem)
    lams = front.lambdas
    for lam in (lams[0], lams[1], lams[-1]):
        sep = anneal(problem, lam=float(lam), chains=4, sweeps=2000, backend="numba", seed=1)
        got = front.best_at(lam).objective
        rel = (got - sep.fun) / sep.fun
        assert rel <= 0.01, f"lambda {lam:g}: front {got} vs separate {sep.fun}"
        if lam != lams[-1]:
            assert abs(rel) <= 0.01, f"lambda {lam:g}: front {got} vs separate {sep.fun}"
        # at the largest lambda 4 chains of 2000 sweeps are far from converged (separate
        # runs of this size spread by several %) and the front also holds what the
        # neighbouring lambdas found: it comes out better (4% here), so only "not worse"
        # is asserted; docs/quality.md (part pareto) compares the defaults


def test_time_limit_counts_the_ladder_sizing(monkeypatch):
    """pareto(time_limit=T): the launch gets what the ladder's sizing left of T, so the
    call keeps the promise (a slow sizing is simulated by a sleep)."""
    import sys
    import time

    sp = sys.modules["satea.pareto"]    # the name satea.pareto is the function
    real = sp.ladder_settings

    def slow(*a, **kw):
        time.sleep(0.6)
        return real(*a, **kw)

    monkeypatch.setattr(sp, "ladder_settings", slow)
    problem = compile_fleet(generate_fleet(30, 4, seed=1))
    anneal(problem, backend="numba", seed=0, sweeps=2)   # kernels compiled before the clock
    t0 = time.perf_counter()
    front = pareto(problem, backend="numba", seed=0, points=3, time_limit=1.5)
    wall = time.perf_counter() - t0
    assert front.run.stopped_by == "time_limit"
    assert front.run.settings.time_limit == pytest.approx(0.9, abs=0.1)
    assert wall <= 1.5 + 0.4
