"""The exact MILP (HiGHS): its optimum equals brute force on every tiny fleet it models
(step, linear and exponential penalties, releases, idle on-time, capacities, forbidden
pairs) and on seeded random small fleets; the non-delay schedule is modelled exactly (a
relaxation "start >= release and >= previous completion" would undercut it); time limits
give a bound and a gap."""
import math

import numpy as np
import pytest
from conftest import _job, brute_force, make_fleet, tiny_assignment_arrays, tiny_fleets

from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.milp import MilpResult, exp_tangent_error, exp_tangent_spacing, solve_milp
from satea.model import GPUType, Server
from satea.objective import evaluate

TINY = dict(tiny_fleets())
MODELLED = ["step", "linear", "exponential", "releases", "capacity", "forbidden"]


@pytest.mark.parametrize("name", MODELLED)
def test_milp_equals_brute_force_on_tiny_fleets(name):
    problem = compile_fleet(TINY[name])
    best, _, _ = brute_force(problem)
    r = solve_milp(problem, time_limit=60)
    assert isinstance(r, MilpResult)
    assert r.status == "optimal" and r.optimal
    assert r.objective == pytest.approx(best, rel=1e-6)
    assert r.objective == evaluate(problem, r.x).objective
    assert r.bound <= best * (1 + 1e-9) + 1e-12       # a valid bound of the true problem
    assert r.gap <= 1e-6


@pytest.mark.parametrize("name", ["tou", "mixed"])
def test_price_curves_are_refused(name):
    with pytest.raises(NotImplementedError, match="price curve"):
        solve_milp(compile_fleet(TINY[name]))


@pytest.mark.parametrize("lam", [0.0, 0.3, 5.0])
def test_milp_lambda(lam):
    problem = compile_fleet(TINY["releases"], lam=lam)
    best, _, _ = brute_force(problem)
    assert solve_milp(problem).objective == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_milp_equals_brute_force_on_random_small_fleets(seed):
    """7 jobs x 3 servers, step and linear penalties, releases and binding capacities."""
    fleet = generate_fleet(7, 3, seed=seed, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0, load=1.5)
    problem = compile_fleet(fleet)
    best, _, n_feasible = brute_force(problem)
    assert n_feasible > 0
    r = solve_milp(problem)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best, rel=1e-6)


def test_non_delay_schedule_is_exact():
    """A server runs a (early-due) job released at 0 and, in dispatch order, a job released
    at 5 h. The model keeps the server on from 0 h to 6 h, paying 4 h of idle power in the
    gap; starting the first job at 4 h would be cheaper and must not be allowed."""
    gpus = {"A100": GPUType("A100", 40.0, 2000.0)}        # heavy idle power
    servers = (Server("only", "A100", price_per_kwh=0.3),)
    jobs = [_job("a", "resnet50", 1.0, due_h=6.0, release_h=0.0, kind="linear", weight=0.01),
            _job("b", "resnet50", 1.0, due_h=6.5, release_h=5.0, kind="step", weight=0.01)]
    fleet = make_fleet("gap", jobs, servers, gpus=gpus,
                       profiles=[p for p in TINY["step"].profiles if p.gpu == "A100"])
    problem = compile_fleet(fleet)
    r = solve_milp(problem)
    ev = evaluate(problem, r.x)
    assert ev.server_on[0] == 0.0 and ev.server_off[0] == 6 * 3600.0
    assert r.milp_objective == pytest.approx(ev.objective, rel=1e-9)
    assert r.bound == pytest.approx(ev.objective, rel=1e-9)


def test_non_delay_with_choice_of_servers():
    """Two servers, the idle gap on one can be avoided by splitting the jobs: the MILP
    must price the gap exactly to pick the right split (brute force decides)."""
    gpus = {"A100": GPUType("A100", 40.0, 600.0), "V100": GPUType("V100", 32.0, 30.0)}
    servers = (Server("fast", "A100", price_per_kwh=0.3),
               Server("slow", "V100", price_per_kwh=0.2))
    jobs = [_job("a", "resnet50", 1.0, due_h=2.0, release_h=0.0, kind="linear", weight=0.05),
            _job("b", "resnet50", 1.0, due_h=7.0, release_h=5.0, kind="step", weight=0.2),
            _job("c", "bert", 0.5, due_h=3.0, release_h=1.0, kind="linear", weight=0.02),
            _job("d", "resnet50", 2.0, due_h=9.0, release_h=6.0, kind="step", weight=0.1)]
    fleet = make_fleet("split", jobs, servers, gpus=gpus,
                       profiles=[p for p in TINY["step"].profiles if p.gpu in gpus])
    problem = compile_fleet(fleet)
    best, _, _ = brute_force(problem)
    assert solve_milp(problem).objective == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("maximize", [False, True])
def test_assignment_problem(maximize):
    arr = tiny_assignment_arrays()
    problem = compile_assignment(**arr, maximize=maximize)
    best, _, _ = brute_force(problem)
    r = solve_milp(problem)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(problem.sense * best, rel=1e-9)
    assert r.bound == pytest.approx(r.objective, rel=1e-9)
    assert evaluate(problem, r.x).feasible


def test_infeasible_assignment_problem():
    arr = tiny_assignment_arrays()
    arr["capacity"] = np.array([1.0, 1.0, 1.0])
    r = solve_milp(compile_assignment(**arr))
    assert r.status == "infeasible" and r.x is None and math.isnan(r.objective)


def test_time_limit_reports_bound_and_gap():
    fleet = generate_fleet(60, 6, seed=1, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0)
    problem = compile_fleet(fleet)
    r = solve_milp(problem, time_limit=2.0)
    assert r.status in ("optimal", "time_limit")
    assert r.seconds < 30
    if r.x is not None:
        assert r.bound <= r.objective * (1 + 1e-9)
        assert r.gap >= 0 and r.gap == pytest.approx(
            (r.objective - r.bound) / abs(r.objective), abs=1e-9)
        if r.status == "time_limit":
            assert "gap" in r.message


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 1e-4])
def test_exp_tangent_error_bound(eps):
    h = exp_tangent_spacing(eps)
    assert exp_tangent_error(h) <= eps
    assert exp_tangent_error(1.01 * h) > eps
    # the envelope of tangents at 0, h, 2h, ... on [0, 5]: relative error <= eps
    u = np.linspace(0.0, 5.0, 20001)
    pts = np.arange(0.0, 5.0 + h, h)
    env = np.max(np.exp(pts)[None, :] * (1.0 + u[:, None] - pts[None, :]), axis=1)
    rel = 1.0 - env / np.exp(u)
    assert rel.min() >= -1e-12 and rel.max() <= eps * (1 + 1e-6)
    assert exp_tangent_error(h) == pytest.approx(h * h / 8, rel=0.05)


def test_exp_tangent_spacing_small():
    h = exp_tangent_spacing(1e-6)
    assert exp_tangent_error(h) <= 1e-6 < exp_tangent_error(1.01 * h)
    with pytest.raises(ValueError, match="exp_rel_error"):
        exp_tangent_spacing(0.0)


def test_milp_with_carbon_and_a_negative_price_without_idle_power():
    """Constant carbon intensities (merged into the price) and a negative price on a
    server without idle power: still brute force's optimum; a negative price WITH idle
    power is refused (the formulation needs costs non-decreasing in completions)."""
    from dataclasses import replace
    f = TINY["releases"]
    gpus = dict(f.gpus, T4=GPUType("T4", 16.0, 0.0))
    servers = (replace(f.servers[0], carbon_g_per_kwh=400.0),
               replace(f.servers[1], carbon_g_per_kwh=100.0),
               replace(f.servers[2], price_per_kwh=-0.2, carbon_g_per_kwh=300.0))
    fleet = replace(f, gpus=gpus, servers=servers, carbon_price_per_kg=0.4)
    problem = compile_fleet(fleet)
    best, _, _ = brute_force(problem)
    r = solve_milp(problem, time_limit=60)
    assert r.optimal and r.objective == pytest.approx(best, rel=1e-6)
    assert r.objective == evaluate(problem, r.x).objective
    bad = replace(fleet, servers=(replace(f.servers[0], price_per_kwh=-0.1),) + servers[1:])
    with pytest.raises(NotImplementedError, match="server 'fast' has a negative price"):
        solve_milp(compile_fleet(bad))
