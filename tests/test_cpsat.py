"""The CP-SAT model (satea.cpsat): its proven optimum equals brute force on tiny fleets and
the MILP's on small ones; its integer objective matches the float64 re-score within the
stated rounding; what it cannot model is refused in one line. Skipped without OR-Tools."""
import dataclasses

import pytest
from conftest import brute_force, tiny_assignment_arrays, tiny_fleets

from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.model import Penalty
from satea.objective import evaluate

pytest.importorskip("ortools")
from satea.cpsat import check_cpsat_model, rounding_bound, solve_cpsat  # noqa: E402
from satea.milp import solve_milp  # noqa: E402

TINY = dict(tiny_fleets())


def linearised(fleet):
    """The fleet with every exponential penalty made linear (same weight and scale)."""
    jobs = [dataclasses.replace(j, penalty=Penalty("linear", j.penalty.weight, j.penalty.scale_s))
            if j.penalty.kind == "exponential" else j for j in fleet.jobs]
    return dataclasses.replace(fleet, jobs=jobs)


@pytest.mark.parametrize("name", ["step", "linear", "exponential", "releases", "capacity",
                                  "forbidden"])
def test_cpsat_equals_brute_force_on_tiny_fleets(name):
    problem = compile_fleet(linearised(TINY[name]))
    best, _, _ = brute_force(problem)
    r = solve_cpsat(problem, time_limit=30, workers=1)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best, rel=1e-7)
    assert r.objective == evaluate(problem, r.x).objective
    assert abs(r.model_objective - r.objective) <= r.rounding
    assert r.bound <= best + r.rounding


@pytest.mark.parametrize("seed", range(4))
def test_cpsat_equals_brute_force_and_milp_on_random_fleets(seed):
    """7 jobs x 3 servers (brute force) and 14 x 4 (MILP): step and linear penalties,
    releases, binding capacities."""
    fleet = generate_fleet(7, 3, seed=seed, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0, load=1.5)
    problem = compile_fleet(fleet)
    best, _, _ = brute_force(problem)
    r = solve_cpsat(problem, time_limit=30, workers=1)
    assert r.status == "optimal" and r.objective == pytest.approx(best, rel=1e-7)
    fleet = generate_fleet(14, 4, seed=seed, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0, load=1.2)
    problem = compile_fleet(fleet)
    m = solve_milp(problem, time_limit=60)
    r = solve_cpsat(problem, time_limit=60, workers=1)
    assert m.status == "optimal" and r.status == "optimal"
    assert r.objective == pytest.approx(m.objective, rel=1e-6)
    assert abs(r.model_objective - r.objective) <= r.rounding


def test_rounding_bound_covers_coarse_units():
    """With coarse units (60 s, a large cost unit) the integer objective differs from the
    re-score, and by no more than the stated rounding."""
    fleet = generate_fleet(10, 3, seed=5, penalties=("step", "linear"), capacity=False,
                           price_curve_fraction=0.0, load=1.5)
    problem = compile_fleet(fleet)
    r = solve_cpsat(problem, time_limit=30, workers=1, time_unit=60.0, cost_unit=1e-4)
    assert r.x is not None
    assert r.model_objective != r.objective
    assert abs(r.model_objective - r.objective) <= r.rounding
    assert r.rounding == rounding_bound(problem, problem.to_internal(r.x), 60.0, 1e-4)


def test_assignment_problems_are_exact():
    problem = compile_assignment(**tiny_assignment_arrays())
    best, _, _ = brute_force(problem)
    r = solve_cpsat(problem, workers=1)
    assert r.status == "optimal" and r.objective == best and r.bound == best
    assert r.time_unit == 1.0 and r.cost_unit == 1.0 and r.rounding == 0.0
    mx = compile_assignment(**tiny_assignment_arrays(), maximize=True)
    best_mx, _, _ = brute_force(mx)
    assert solve_cpsat(mx, workers=1).objective == -best_mx   # search sense is negated


def test_hint_is_accepted_and_time_limit_reports_status():
    fleet = generate_fleet(40, 5, seed=1, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0)
    problem = compile_fleet(fleet)
    from satea.baselines import greedy_cost
    x0 = greedy_cost(problem)
    r = solve_cpsat(problem, time_limit=0.5, workers=1, hint=x0)
    assert r.status in ("optimal", "time_limit") and r.x is not None
    assert r.objective <= evaluate(problem, x0).objective + 1e-9 or r.status == "time_limit"
    assert r.bound <= r.objective + r.rounding
    assert r.trajectory and r.trajectory[-1][1] == pytest.approx(r.objective)


@pytest.mark.parametrize("name,match", [("tou", "price curve"),
                                        ("exponential", "exponential"),
                                        ("mixed", "price curve")])
def test_refusals_name_what(name, match):
    with pytest.raises(NotImplementedError, match=match) as e:
        check_cpsat_model(compile_fleet(TINY[name]))
    assert "\n" not in str(e.value)


def test_multi_gpu_refused():
    fleet = generate_fleet(6, 2, seed=0, price_curve_fraction=0.0, gpus_per_node=(4,),
                           gang_share=0.5, penalties=("linear",))
    with pytest.raises(NotImplementedError, match="multi-GPU"):
        solve_cpsat(compile_fleet(fleet))


def test_cli_cpsat(tmp_path, capsys):
    from satea.cli import main
    from satea.io import write_instance
    fleet = generate_fleet(8, 3, seed=2, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0)
    path = tmp_path / "f.json"
    write_instance(fleet, path)
    out = tmp_path / "r.json"
    assert main(["solve", str(path), "--method", "cpsat", "--out", str(out), "--quiet"]) == 0
    import json
    d = json.loads(out.read_text())
    assert d["status"] == "optimal" and d["bound"] <= d["objective"] + 1e-6
    best, _, _ = brute_force(compile_fleet(fleet))
    assert d["objective"] == pytest.approx(best, rel=1e-7)
    fleet2 = generate_fleet(8, 3, seed=2, penalties=("exponential",), price_curve_fraction=0.0)
    write_instance(fleet2, path)
    assert main(["solve", str(path), "--method", "cpsat"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exponential" in err[0]
