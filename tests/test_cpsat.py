"""The CP-SAT model (satea.cpsat): its proven optimum equals brute force on tiny fleets and
the MILP's on small ones; its integer objective matches the float64 re-score within the
stated rounding; what it cannot model is refused in one line. Skipped without OR-Tools."""
import dataclasses

import numpy as np
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


def forced_late_pairs(problem):
    """Pairs (job, server) where the job is late even with nothing before it (the rows
    that charge such lateness per server must keep the model exact)."""
    jobs, servers = np.nonzero(np.ones((problem.n_jobs, problem.n_servers), bool))
    ok = problem.is_allowed(jobs, servers)
    done = problem.release[jobs] + problem.proc_time(jobs, servers)
    return int((ok & (done > problem.due[jobs]) & (problem.pen_weight[jobs] > 0)).sum())


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
    if seed == 0:   # the set exercises the per-server forced-lateness rows
        assert forced_late_pairs(problem) > 0
    fleet = generate_fleet(14, 4, seed=seed, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0, load=1.2)
    problem = compile_fleet(fleet)
    m = solve_milp(problem, time_limit=60)
    r = solve_cpsat(problem, time_limit=60, workers=1)
    assert m.status == "optimal" and r.status == "optimal"
    assert r.objective == pytest.approx(m.objective, rel=1e-6)
    assert abs(r.model_objective - r.objective) <= r.rounding


@pytest.mark.parametrize("seed", range(2))
def test_portfolios_prove_the_same_optimum(seed):
    """The two-worker portfolio (max_lp + core) and CP-SAT's default one, and one worker,
    prove the same optimum: the redundant rows and the search settings change only the
    time to proof."""
    fleet = generate_fleet(14, 4, seed=seed + 10, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0, load=1.5)
    problem = compile_fleet(fleet)
    runs = [solve_cpsat(problem, time_limit=60, workers=w, portfolio=pf)
            for w, pf in ((2, True), (2, False), (1, True))]
    assert all(r.status == "optimal" for r in runs)
    assert runs[1].objective == pytest.approx(runs[0].objective, rel=1e-9)
    assert runs[2].objective == pytest.approx(runs[0].objective, rel=1e-9)


def test_hint_is_a_complete_feasible_solution():
    """The hint sets every variable of the model, and fixing each to its hinted value
    leaves a feasible model whose objective is the hinted assignment's (within the
    rounding): CP-SAT can take it as it is (a Boolean-only hint had to be repaired)."""
    from satea.baselines import greedy_cost
    from satea.cpsat import build_model, require_ortools
    cp_model = require_ortools()
    for seed, n, m in ((5, 40, 5), (1, 7, 3)):
        problem = compile_fleet(generate_fleet(n, m, seed=seed, penalties=("step", "linear"),
                                               capacity=True, price_curve_fraction=0.0,
                                               load=1.5))
        x0 = greedy_cost(problem)
        assert evaluate(problem, x0).feasible
        model, y, tu, cu = build_model(problem, hint=x0)
        hint = model.proto.solution_hint
        free = [k for k, v in enumerate(model.proto.variables) if v.domain[0] != v.domain[-1]]
        assert set(free) <= set(hint.vars)
        for var, value in zip(list(hint.vars), list(hint.values)):
            model.add(model.get_int_var_from_proto_index(var) == value)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(model) == cp_model.OPTIMAL
        xi = problem.to_internal(x0)
        assert all(solver.boolean_value(v) == (xi[i] == s) for (i, s), v in y.items())
        objective = solver.objective_value * cu
        assert abs(objective - evaluate(problem, x0).objective) <= rounding_bound(
            problem, xi, tu, cu)


def test_complete_hint_is_the_first_solution():
    """CP-SAT accepts the complete hint as is: the first incumbent is the hint, and
    hinting the optimum (brute force) gives it back as the first and the last solution."""
    from satea.baselines import greedy_cost
    fleet = generate_fleet(40, 5, seed=5, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0)
    problem = compile_fleet(fleet)
    x0 = greedy_cost(problem)
    assert evaluate(problem, x0).feasible
    r = solve_cpsat(problem, time_limit=2, workers=1, hint=x0)
    assert r.trajectory[0][1] == pytest.approx(evaluate(problem, x0).objective, rel=1e-12)
    tiny = compile_fleet(generate_fleet(7, 3, seed=1, penalties=("step", "linear"),
                                        capacity=True, price_curve_fraction=0.0, load=1.5))
    best, xb, _ = brute_force(tiny)
    r = solve_cpsat(tiny, time_limit=30, workers=1, hint=xb)
    assert r.status == "optimal"
    assert r.trajectory[0][1] == pytest.approx(best, rel=1e-12)
    assert r.objective == pytest.approx(best, rel=1e-7)


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


def test_negative_price_with_idle_power_refused():
    """A negative price with idle power would reward a late switch-on that the model
    bounds from above only: refused in one line, naming the server."""
    problem = compile_fleet(linearised(TINY["releases"]))
    price = problem.price_const.copy()
    price[1] = -0.2
    bad = dataclasses.replace(problem, price_const=price)
    assert bad.idle_w[1] > 0
    with pytest.raises(NotImplementedError, match="negative price") as e:
        check_cpsat_model(bad)
    assert repr(problem.server_names[1]) in str(e.value) and "\n" not in str(e.value)


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
