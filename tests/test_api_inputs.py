"""The Python API's inputs as a tool calling satea as a backend passes them: every wrong
value refused with a message naming the argument and the entry, nothing coerced into
something else, no crash (issue found by a review of the API, 2026-12-04)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import satea
from satea.baselines import solve_baseline
from satea.catalogue import example_fleet
from satea.cli import main
from satea.compile import check_lambda, compile_assignment, compile_fleet
from satea.io import fleet_to_dict, read_instance
from satea.pareto import pareto
from satea.schedules import sample_move_scale
from satea.validate import MAX_GPUS, show_value

C3 = np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 0]])


# ---- an empty problem -----------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_pareto_of_a_problem_without_jobs_is_one_empty_point(backend):
    # the ladder's sizing ran the kernels on no jobs: a segfault, with either backend
    g = compile_assignment(np.zeros((0, 3)))
    front = pareto(g, seed=0, sweeps=10, points=2, chains_per_lambda=1, backend=backend)
    assert len(front) == 1
    q = front.points[0]
    assert q.x.shape == (0,) and q.objective == 0.0 and q.feasible


def test_sizing_refuses_a_problem_without_jobs():
    with pytest.raises(ValueError, match=r"problems\[0\] \('assignment'\) has no jobs"):
        sample_move_scale(compile_assignment(np.zeros((0, 2))), 0)


# ---- lambda: the model's limit everywhere ---------------------------------------------

@pytest.mark.parametrize("lam, msg", [
    (1e16, "at most 1e+15"), (1.7e308, "at most 1e+15"), (-1.0, ">= 0"),
    (float("nan"), "got nan"), (10 ** 400, "at most 1e+15"), (True, "expected a number"),
    ("1", "expected a number"), (1 + 1j, "expected a number")])
def test_check_lambda_refuses(lam, msg):
    with pytest.raises(ValueError, match=r"^lambda: .*" + msg.replace("+", r"\+")):
        check_lambda(lam)


def test_check_lambda_takes_numbers_within_the_limit():
    assert check_lambda(np.float64(2.5)) == 2.5 and check_lambda(np.int64(3)) == 3.0
    assert check_lambda(1e15) == 1e15 and check_lambda(0) == 0.0


def test_a_lambda_override_past_the_limit_is_refused_on_every_path():
    f = example_fleet()
    p = compile_fleet(f)
    with pytest.raises(ValueError, match="lambda: must be >= 0 and at most 1e"):
        compile_fleet(f, lam=1e300)
    with pytest.raises(ValueError, match="lambda: must be >= 0 and at most 1e"):
        p.with_lambda(1e300)
    with pytest.raises(ValueError, match="lambda: must be >= 0 and at most 1e"):
        solve_baseline(p, "greedy", lam=1e300)


@pytest.mark.parametrize("kw, msg", [
    (dict(lambdas=[1e300]), r"lambdas\[0\]: must be >= 0 and at most"),
    (dict(lambdas=[0.5, float("inf")]), r"lambdas\[1\]: must be >= 0"),
    (dict(lam_max=1e300), "lam_max: must be >= 0 and at most"),
    (dict(lambdas="1"), "lambdas: expected a sequence of numbers, got '1'"),
    (dict(lambdas=True), "lambdas: expected a sequence of numbers, got True"),
    (dict(lambdas=[[1, 2], [3, 4]]), r"lambdas\[0\]: expected a number, got \[1, 2\]"),
    (dict(lambdas=["0.5", "2"]), r"lambdas\[0\]: expected a number, got '0.5'"),
    (dict(lambdas=[]), "lambdas: expected at least one value"),
    (dict(lam_max="5"), "lam_max: expected a number"),
    (dict(lam_max=0.0), "lam_max: must be > 0"),
    (dict(cap_weight=True), "cap_weight: must be a finite number >= 0, got True"),
    (dict(cap_weight="1"), "cap_weight: must be a finite number >= 0, got '1'"),
    (dict(lambdas=[0, 1], lam_max=3.0), "lam_max: sets the default ladder's top"),
])
def test_pareto_refuses_bad_ladders_before_any_search(kw, msg):
    p = compile_fleet(example_fleet())
    with pytest.raises(ValueError, match=msg):
        pareto(p, seed=0, sweeps=5, chains_per_lambda=1, backend="numpy",
               **({"points": 2} if "lambdas" not in kw else {}), **kw)


def test_pareto_ladder_given_as_an_array_is_sorted_once():
    p = compile_fleet(example_fleet())
    front = pareto(p, seed=0, sweeps=10, chains_per_lambda=1, backend="numpy",
                   lambdas=np.array([1.0, 0.0, 1.0]))
    assert front.lambdas.tolist() == [0.0, 1.0]


def test_cli_pareto_refuses_lam_max_beside_lambdas(capsys):
    assert main(["pareto", "--lambdas", "0,1", "--lam-max", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["satea: error: --lam-max sets the default ladder's top; with --lambdas, "
                   "leave it out"]


# ---- compile_assignment: arrays, names, flags -----------------------------------------

@pytest.mark.parametrize("cost, msg", [
    (np.array([[1 + 2j, 2], [3, 4]]), "cost: expected real numbers, got an array of complex"),
    ([[True, False]], "cost: expected real numbers, got an array of booleans"),
    ([["1", "2"]], "cost: expected real numbers, got an array of strings"),
    (np.array([[1, 2]], "datetime64[s]"), "cost: expected real numbers, got an array of dates"),
    (np.ma.array([[1.0, 2.0]], mask=[[False, True]]), "cost: a masked array"),
    ([[2 ** 2000, 2], [3, 4]], r"cost\[0, 0\] must be at most 1e\+15"),
    ([[1, None]], r"cost\[0, 1\]: expected a number, got None"),
    ([[1.0, np.inf]], r"cost\[0, 1\] is inf \(a pair that may not be chosen is marked False "
                      r"in allowed\)"),
])
def test_compile_assignment_refuses_what_is_not_a_real_number(cost, msg):
    with pytest.raises(ValueError, match=msg):
        compile_assignment(cost)


def test_compile_assignment_takes_ints_floats_and_python_numbers_alike():
    a = compile_assignment(np.array([[1, 2], [3, 4]], np.int32))
    b = compile_assignment(np.array([[1, 2], [3, 4]], np.float32))
    c = compile_assignment(np.array([[1, 2.0], [3, 4]], object))
    assert (a.fixed_cost == b.fixed_cost).all() and (a.fixed_cost == c.fixed_cost).all()


def test_resource_and_capacity_are_checked_as_cost_is():
    with pytest.raises(ValueError, match="capacity: expected real numbers, got an array of "
                                         "booleans"):
        compile_assignment(C3, C3, [True, True, True])
    with pytest.raises(ValueError, match="resource: expected real numbers, got an array of "
                                         "complex"):
        compile_assignment(C3, C3 + 0j, [5.0, 5, 5])


@pytest.mark.parametrize("kw, msg", [
    (dict(job_names=["a"]), r"job_names: expected 3 names \(one per row of cost\), got 1"),
    (dict(server_names=["a", "b"]), r"server_names: expected 3 names \(one per column"),
    (dict(job_names=["a", "a", "b"]), r"job_names\[1\]: 'a' is also job_names\[0\]"),
    (dict(server_names=["s", "t", "s"]), r"server_names\[2\]: 's' is also server_names\[0\]"),
    (dict(job_names=[1, 2, 3]), r"job_names\[0\]: expected a non-empty string, got 1"),
    (dict(job_names=["a", "", "c"]), r"job_names\[1\]: expected a non-empty string"),
    (dict(job_names="abc"), "job_names: expected a sequence of 3 strings, got 'abc'"),
    (dict(maximize="no"), "maximize: expected True or False, got 'no'"),
    (dict(maximize=np.nan), "maximize: expected True or False, got nan"),
    (dict(name=None), "name: expected a non-empty string, got None"),
    (dict(name=5), "name: expected a non-empty string, got 5"),
])
def test_compile_assignment_checks_names_and_flags(kw, msg):
    with pytest.raises(ValueError, match=msg):
        compile_assignment(C3, **kw)


def test_every_named_job_is_in_the_result():
    # three jobs named by the caller: all three in the assignment and in explain()
    g = compile_assignment(C3, job_names=np.array(["x", "y", "z"]),
                           server_names=("p", "q", "r"))
    r = satea.anneal(g, backend="numpy", seed=0, sweeps=50, chains=2)
    assert set(r.assignment) == {"x", "y", "z"} and len(r.explain()) == 3
    assert r.assignment == {"x": "p", "y": "p", "z": "r"} and r.fun == 5.0


# ---- evaluate ---------------------------------------------------------------------------

def test_evaluate_takes_a_fleet_as_anneal_does():
    f = example_fleet()
    x = np.arange(f.n_jobs) % 3
    assert satea.evaluate(f, x).objective == satea.evaluate(compile_fleet(f), x).objective


def test_evaluate_refuses_complex_holds():
    p = compile_fleet(example_fleet())
    with pytest.raises(ValueError, match="holds: expected real numbers, got an array of "
                                         "complex"):
        satea.evaluate(p, np.zeros(p.n_jobs, int), holds=np.zeros(p.n_jobs) + 0j)


def test_hold_errors_show_numbers_plainly():
    p = compile_fleet(example_fleet())
    with pytest.raises(ValueError) as e:
        satea.evaluate(p, np.zeros(p.n_jobs, int), holds=np.ones(p.n_jobs))
    assert "np.float64" not in str(e.value) and str(e.value).endswith("got 1.0")


# ---- baselines --------------------------------------------------------------------------

@pytest.mark.parametrize("kw, msg", [
    (dict(seed=True), "seed: expected an integer"), (dict(seed=1.7), "seed: expected"),
    (dict(seed=-1), "seed: expected an integer >= 0"),
    (dict(time_limit=-5), "time_limit: must be a positive number"),
    (dict(workers=0), "workers: expected an integer >= 1"),
])
def test_solve_baseline_checks_its_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg):
        solve_baseline(compile_assignment(C3), "random", **kw)


# ---- files: GPU counts --------------------------------------------------------------------

@pytest.mark.parametrize("eff", [{"02": 0.9, "2": 0.8}, {"\u00b2": 0.9}, {"0": 1.0}])
def test_multi_gpu_efficiency_keys_are_counts_written_in_digits(tmp_path, eff):
    d = fleet_to_dict(example_fleet())
    m = next(iter(d["models"]))
    d["models"][m]["multi_gpu_efficiency"] = eff
    path = tmp_path / "f.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"multi_gpu_efficiency\[.*key must be a GPU count"):
        read_instance(path)


def test_gpu_counts_past_the_limit_are_refused_naming_the_server():
    f = example_fleet()
    big = replace(f, servers=(replace(f.servers[0], gpus=2 ** 40),) + f.servers[1:])
    with pytest.raises(ValueError, match=rf"server '{f.servers[0].name}': gpus must be an "
                                         rf"integer in \[1, {MAX_GPUS}\]"):
        compile_fleet(big)


def test_show_value():
    assert show_value(np.float64(2.5)) == "2.5" and show_value(np.int32(3)) == "3"
    assert show_value("x") == "'x'" and show_value(None) == "None"
    assert len(show_value(10 ** 400)) < 60 and len(show_value("y" * 500)) < 60


def test_check_lambda_takes_what_holds_one_real_number():
    # a 0-d array and a Decimal were taken before the limit came; a Fraction too large for a
    # float raised OverflowError, which names nothing
    from decimal import Decimal
    from fractions import Fraction
    assert check_lambda(np.array(0.5)) == 0.5 and check_lambda(Decimal("0.25")) == 0.25
    assert check_lambda(Fraction(1, 4)) == 0.25
    with pytest.raises(ValueError, match="^lambda: must be >= 0 and at most"):
        check_lambda(Fraction(10 ** 400))
    with pytest.raises(ValueError, match="^lambda: expected a number"):
        check_lambda(np.array([1.0]))
    assert compile_fleet(example_fleet(), lam=np.array(2.0)).lam == 2.0
