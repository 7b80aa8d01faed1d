"""The float64 evaluator against numbers computed by hand (docs/model.md).

Every expected value below is worked out in the comments next to it, from the model's
definitions, not by calling the code. Most tests use one small catalogue:

    GPU G: 16 GB, idle 100 W        GPU H: 8 GB, idle 50 W
    model m (4 GB):    G: 1 sample/s, 400 W (dyn 300 W)    H: 2 samples/s, 250 W (dyn 200 W)
    model big (12 GB): G: 1 sample/s, 400 W                H: profile, but 12 > 8 GB: forbidden
    model nop (4 GB):  G: 1 sample/s, 400 W                H: no profile: forbidden
    model edge (8 GB): G: 1 sample/s, 400 W                H: 2 samples/s, 250 W (8 <= 8: allowed)

so on G a job of ``w`` samples takes ``w`` seconds. With the constant price 0.36 per kWh,
``W watts for t seconds`` costs ``W * t * 0.36 / 3.6e6 = W * t * 1e-7``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from satea.compile import compile_assignment, compile_fleet
from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from satea.objective import evaluate, job_penalty, price_integral

from conftest import allowed_servers, brute_force, tiny_fleet_by_name, tiny_fleets

REL = 1e-12
EXP2 = 7.38905609893065         # e**2
EXP20 = 485165195.4097903        # e**20, the cap
E = 2.718281828459045            # e**1


def approx(v):
    return pytest.approx(v, rel=REL, abs=1e-15)


GPUS = {"G": GPUType("G", 16.0, 100.0), "H": GPUType("H", 8.0, 50.0)}
MODELS = {"m": DNNModel("m", 4.0), "big": DNNModel("big", 12.0), "nop": DNNModel("nop", 4.0),
          "edge": DNNModel("edge", 8.0)}
PROFILES = (
    Profile("m", "G", 1.0, 400.0), Profile("m", "H", 2.0, 250.0),
    Profile("big", "G", 1.0, 400.0), Profile("big", "H", 2.0, 250.0),
    Profile("nop", "G", 1.0, 400.0),
    Profile("edge", "G", 1.0, 400.0), Profile("edge", "H", 2.0, 250.0),
)


def fleet(jobs, servers=None, *, curves=None, lam=1.0, name="hand") -> Fleet:
    if servers is None:
        servers = [Server("s0", "G", price_per_kwh=0.36)]
    return Fleet(name, dict(GPUS), dict(MODELS), PROFILES, tuple(servers), tuple(jobs),
                 price_curves=dict(curves or {}), lam=lam)


def job(name, samples, *, model="m", release=0.0, due=None, kind="none", weight=0.0,
        scale=1.0):
    return Job(name, model, float(samples), float(release), due, Penalty(kind, weight, scale))


def ev(f, x, lam=None):
    return evaluate(compile_fleet(f, lam=lam), np.array(x, dtype=np.int64))


# ------------------------------------------------------------------------------ penalties

def test_step_penalty():
    # one server G at 0.36/kWh; dispatch order a (due 1000), b (due 1200)
    # a: [0, 1000], C = d exactly -> T = 0 -> no penalty (step needs T > 0)
    # b: [1000, 1500], T = 300 > 0 -> weight 3
    # energy: idle 100 W * 1500 s * 1e-7 = 0.015; dynamic 300 W * 1500 s * 1e-7 = 0.045
    f = fleet([job("a", 1000, due=1000.0, kind="step", weight=7.0),
               job("b", 500, due=1200.0, kind="step", weight=3.0)])
    r = ev(f, [0, 0])
    assert r.start.tolist() == [0.0, 1000.0]
    assert r.completion.tolist() == [1000.0, 1500.0]
    assert r.lateness.tolist() == [0.0, 300.0]
    assert r.job_penalty.tolist() == [0.0, 3.0]
    assert r.penalty == approx(3.0)
    assert r.energy_cost == approx(0.06)
    assert r.objective == approx(3.06)
    assert r.search_objective == approx(3.06)
    assert r.feasible and r.allowed and r.violation == 0.0


def test_step_penalty_is_flat_in_lateness():
    # 1 s late or 1000 s late: same weight
    f1 = fleet([job("a", 1001, due=1000.0, kind="step", weight=2.5)])
    f2 = fleet([job("a", 2000, due=1000.0, kind="step", weight=2.5)])
    assert ev(f1, [0]).penalty == approx(2.5)
    assert ev(f2, [0]).penalty == approx(2.5)


def test_linear_penalty():
    # dispatch order: a (due 200), c (due 900), b (no deadline)
    # a: [0, 500], due 200 -> T = 300, u = 300/100 = 3 -> 2 * 3 = 6
    # c: [500, 750], due 900 -> T = 0 -> 0
    # b: [750, 1050], no deadline -> 0
    # energy: on [0, 1050]: (100 + 300) W * 1050 s * 1e-7 = 0.042
    f = fleet([job("a", 500, due=200.0, kind="linear", weight=2.0, scale=100.0),
               job("b", 300),
               job("c", 250, due=900.0, kind="linear", weight=9.0, scale=10.0)])
    r = ev(f, [0, 0, 0])
    assert r.start.tolist() == [0.0, 750.0, 500.0]
    assert r.completion.tolist() == [500.0, 1050.0, 750.0]
    assert r.job_penalty.tolist() == [approx(6.0), 0.0, 0.0]
    assert r.penalty == approx(6.0)
    assert r.energy_cost == approx(0.042)
    assert r.objective == approx(6.042)


def test_linear_penalty_fractional():
    # [0, 1150], due 1000, T = 150, scale 600 -> u = 0.25, weight 4 -> 1.0
    # energy 400 W * 1150 s * 1e-7 = 0.046
    f = fleet([job("a", 1150, due=1000.0, kind="linear", weight=4.0, scale=600.0)])
    r = ev(f, [0])
    assert r.penalty == approx(1.0)
    assert r.objective == approx(1.046)


def test_exponential_penalty_and_cap():
    # each job alone on its own G server (0.36/kWh), so each runs [0, samples]
    # e0: 1000 s, due 400, T = 600, scale 300: u = 2 -> 0.5 * (e^2 - 1) = 3.194528049465325
    # e1: 2500 s, due 0, scale 100: u = 25 > 20 -> capped: 1e-6 * (e^20 - 1)
    # e2: 2000 s, due 0, scale 100: u = 20 exactly -> same as the cap
    # e3: 1100 s, due 1000, scale 100: u = 1 -> 2 * (e - 1) = 3.43656365691809
    servers = [Server(f"s{i}", "G", price_per_kwh=0.36) for i in range(4)]
    f = fleet([job("e0", 1000, due=400.0, kind="exponential", weight=0.5, scale=300.0),
               job("e1", 2500, due=0.0, kind="exponential", weight=1e-6, scale=100.0),
               job("e2", 2000, due=0.0, kind="exponential", weight=1e-6, scale=100.0),
               job("e3", 1100, due=1000.0, kind="exponential", weight=2.0, scale=100.0)],
              servers)
    r = ev(f, [0, 1, 2, 3])
    cap = 1e-6 * (EXP20 - 1.0)                       # 485.1651944097903
    p0 = 0.5 * (EXP2 - 1.0)                          # 3.194528049465325
    p3 = 2.0 * (E - 1.0)                             # 3.43656365691809
    assert r.job_penalty[0] == approx(p0)
    assert r.job_penalty[1] == approx(cap)
    assert r.job_penalty[2] == approx(cap)
    assert r.job_penalty[3] == approx(p3)
    assert r.penalty == approx(p0 + 2 * cap + p3)
    # energy: 400 W * (1000 + 2500 + 2000 + 1100) s * 1e-7 = 400 * 6600 * 1e-7 = 0.264
    assert r.energy_cost == approx(0.264)
    assert r.objective == approx(0.264 + p0 + 2 * cap + p3)
    assert math.isfinite(r.objective)


def test_exponential_cap_keeps_huge_lateness_finite():
    # u = 1e6: exp would overflow; the cap gives w * (e^20 - 1)
    assert job_penalty(3, 1.0, 1.0, 1e6) == approx(EXP20 - 1.0)
    assert job_penalty(3, 1.0, 1.0, 0.0) == 0.0


def test_none_penalty_and_zero_weight():
    # late but kind none, or weight 0: nothing to pay
    f = fleet([job("a", 500, due=100.0),
               job("b", 500, due=200.0, kind="linear", weight=0.0, scale=1.0)])
    r = ev(f, [0, 0])
    assert r.lateness.tolist() == [400.0, 800.0]
    assert r.penalty == 0.0


# ------------------------------------------------------------------------------ schedule

def test_release_gap_is_paid_at_idle_power():
    # a: [0, 1000]; b released at 3000: [3000, 3500]; the server stays on over [1000, 3000]
    # on-time [0, 3500]: idle 100 W * 3500 s * 1e-7 = 0.035
    # dynamic 300 W * (1000 + 500) s * 1e-7 = 0.045           energy 0.08
    f = fleet([job("a", 1000), job("b", 500, release=3000.0)])
    r = ev(f, [0, 0])
    assert r.start.tolist() == [0.0, 3000.0]
    assert r.completion.tolist() == [1000.0, 3500.0]
    assert r.server_on.tolist() == [0.0]
    assert r.server_off.tolist() == [3500.0]
    assert r.server_busy.tolist() == [1500.0]
    assert r.job_energy_cost.tolist() == [approx(0.03), approx(0.015)]
    assert r.energy_cost == approx(0.08)
    # the same jobs without the gap (b released at 1000): idle 100 * 1500 * 1e-7 = 0.015
    # -> 0.06; the 2000 s gap costs 100 W * 2000 s * 1e-7 = 0.02
    g = fleet([job("a", 1000), job("b", 500, release=1000.0)])
    assert ev(g, [0, 0]).energy_cost == approx(0.06)


def test_server_switches_on_at_first_start_not_at_zero():
    # only job released at 5000: on [5000, 6000]
    # idle 100 * 1000 * 1e-7 = 0.01, dynamic 300 * 1000 * 1e-7 = 0.03 -> 0.04
    # the second server is unused: NaN on/off, costs 0
    servers = [Server("s0", "G", price_per_kwh=0.36), Server("s1", "G", price_per_kwh=0.36)]
    f = fleet([job("a", 1000, release=5000.0)], servers)
    r = ev(f, [0])
    assert r.server_on[0] == 5000.0 and r.server_off[0] == 6000.0
    assert math.isnan(r.server_on[1]) and math.isnan(r.server_off[1])
    assert r.server_energy_cost.tolist() == [approx(0.04), 0.0]
    assert r.energy_cost == approx(0.04)


def test_dispatch_order_is_fixed_even_when_the_server_waits():
    # a is due first but released at 1000; b (due later) was released at 0.
    # Dispatch order (due) puts a first: a [1000, 1500], then b [1500, 1800].
    # The server is on from 1000 (its first start): idle 100 * 800 * 1e-7 = 0.008,
    # dynamic 300 * 800 * 1e-7 = 0.024 -> 0.032
    f = fleet([job("b", 300, due=5000.0), job("a", 500, release=1000.0, due=2000.0)])
    r = ev(f, [0, 0])
    assert r.start.tolist() == [1500.0, 1000.0]
    assert r.completion.tolist() == [1800.0, 1500.0]
    assert r.energy_cost == approx(0.032)


def test_processing_time_and_dynamic_power_depend_on_gpu():
    # m on H: 2 samples/s -> 1000 samples take 500 s; dyn = 250 - 50 = 200 W
    # H server at 0.72/kWh: W*t*0.72/3.6e6 = W*t*2e-7
    # idle 50 * 500 * 2e-7 = 0.005, dynamic 200 * 500 * 2e-7 = 0.02 -> 0.025
    f = fleet([job("a", 1000)], [Server("h", "H", price_per_kwh=0.72)])
    r = ev(f, [0])
    assert r.completion.tolist() == [500.0]
    assert r.energy_cost == approx(0.025)


def test_dynamic_power_floored_at_zero():
    # a profile drawing less than idle: dyn = max(30 - 100, 0) = 0
    # only idle is paid: 100 W * 1000 s * 1e-7 = 0.01
    f = Fleet("low", {"G": GPUS["G"]}, {"m": MODELS["m"]}, (Profile("m", "G", 1.0, 30.0),),
              (Server("s0", "G", price_per_kwh=0.36),), (job("a", 1000),))
    p = compile_fleet(f)
    assert p.dyn_w.tolist() == [[0.0]]
    assert evaluate(p, np.array([0])).energy_cost == approx(0.01)


# ------------------------------------------------------------------------------ dispatch order

def test_no_deadline_jobs_sort_last():
    # caller order: n (no deadline, released first), d1 (due 5000), d2 (due 1e5)
    # dispatch order: d1, d2, n -> order = [1, 2, 0]
    # one server: d1 [0, 100], d2 [100, 300], n [300, 700]
    f = fleet([job("n", 400), job("d1", 100, due=5000.0, release=0.0),
               job("d2", 200, due=1e5)])
    p = compile_fleet(f)
    assert p.order.tolist() == [1, 2, 0]
    assert p.due.tolist() == [5000.0, 1e5, math.inf]
    r = evaluate(p, np.array([0, 0, 0]))
    assert r.start.tolist() == [300.0, 0.0, 100.0]
    assert r.completion.tolist() == [700.0, 100.0, 300.0]


def test_dispatch_order_tie_breaks():
    # d: due 900 (first); a, b, c due 1000: b and c released at 100 before a (200);
    # b before c by index. order = [3, 1, 2, 0]
    # no-deadline ties also by release then index: e (rel 50), f (rel 0), g (rel 0) -> f, g, e
    # 100 s each on one server: d released at 500: d [500,600], b [600,700], c [700,800],
    # a [800,900], f [900,1000], g [1000,1100], e [1100,1200]
    f = fleet([job("a", 100, due=1000.0, release=200.0),
               job("b", 100, due=1000.0, release=100.0),
               job("c", 100, due=1000.0, release=100.0),
               job("d", 100, due=900.0, release=500.0),
               job("e", 100, release=50.0),
               job("f", 100),
               job("g", 100)])
    p = compile_fleet(f)
    assert p.order.tolist() == [3, 1, 2, 0, 5, 6, 4]
    r = evaluate(p, np.zeros(7, np.int64))
    assert r.start.tolist() == [800.0, 600.0, 700.0, 500.0, 1100.0, 900.0, 1000.0]


def test_order_only_matters_within_a_server():
    # a (due 100) on s0, b (due 50) on s1: each starts at 0 on its own server
    f = fleet([job("a", 300, due=100.0), job("b", 200, due=50.0)],
              [Server("s0", "G", price_per_kwh=0.36), Server("s1", "G", price_per_kwh=0.36)])
    r = ev(f, [0, 1])
    assert r.start.tolist() == [0.0, 0.0]
    assert r.completion.tolist() == [300.0, 200.0]


# ------------------------------------------------------------------------------ price curves

CURVE = PriceCurve("c3", step_s=1000.0, prices_per_kwh=(0.36, 0.72, 0.18))   # period 3000 s


def test_price_integral_constant():
    f = fleet([job("a", 10)])
    p = compile_fleet(f)
    assert price_integral(p, 0, 100.0, 600.0) == approx(0.36 * 500)   # 180


@pytest.mark.parametrize("a,b,expected", [
    (0.0, 1000.0, 360.0),               # one full step at 0.36
    (1000.0, 2000.0, 720.0),            # exactly the second step
    (500.0, 1500.0, 540.0),             # 0.36*500 + 0.72*500 = 180 + 360
    (500.0, 2500.0, 990.0),             # 180 + 720 + 0.18*500 = 180 + 720 + 90
    (0.0, 3000.0, 1260.0),              # a full period: 360 + 720 + 180
    (2500.0, 3500.0, 270.0),            # across the wrap: 0.18*500 + 0.36*500 = 90 + 180
    # 6500 is 500 s into the 3rd period, 11200 is 2200 s into the 4th:
    # [6500,7000] 180 + [7000,8000] 720 + [8000,9000] 180 + [9000,10000] 360
    # + [10000,11000] 720 + [11000,11200] 0.18*200 = 36  -> 2196
    (6500.0, 11200.0, 2196.0),
    (1234.0, 1234.0, 0.0),
])
def test_price_integral_curve(a, b, expected):
    f = fleet([job("a", 10)], [Server("s0", "G", price_curve="c3")], curves={"c3": CURVE})
    p = compile_fleet(f)
    assert price_integral(p, 0, a, b) == pytest.approx(expected, rel=REL, abs=1e-9)


def test_price_integral_second_curve_offsets():
    # with two curves the second one's tables start after the first's
    other = PriceCurve("flat", step_s=500.0, prices_per_kwh=(1.0, 2.0))     # period 1000
    servers = [Server("s0", "G", price_curve="flat"), Server("s1", "G", price_curve="c3")]
    f = fleet([job("a", 10)], servers, curves={"flat": other, "c3": CURVE})
    p = compile_fleet(f)
    # s1 follows c3: same values as above
    assert price_integral(p, 1, 500.0, 2500.0) == approx(990.0)
    assert price_integral(p, 1, 2500.0, 3500.0) == approx(270.0)
    # s0 follows flat: [250, 1250] = 1.0*250 + 2.0*500 + 1.0*250 = 1500
    assert price_integral(p, 0, 250.0, 1250.0) == approx(1500.0)


def test_energy_on_price_curve_across_step_and_wrap():
    # server on curve c3; a (due 2000) released at 500: [500, 1500]; then b (no deadline,
    # dispatched after a although released earlier): [1500, 3500]
    # Q(a) = 0.36*500 + 0.72*500 = 540
    # Q(b) = 0.72*500 + 0.18*1000 + 0.36*500 (wrap) = 360 + 180 + 180 = 720
    # on-time [500, 3500]: Q = 1260
    # idle 100 * 1260 / 3.6e6 = 0.035; a: 300 * 540 / 3.6e6 = 0.045; b: 300 * 720 / 3.6e6 = 0.06
    f = fleet([job("a", 1000, release=500.0, due=2000.0), job("b", 2000)],
              [Server("s0", "G", price_curve="c3")], curves={"c3": CURVE})
    r = ev(f, [0, 0])
    assert r.start.tolist() == [500.0, 1500.0]
    assert r.job_energy_cost.tolist() == [approx(0.045), approx(0.06)]
    assert r.server_energy_cost.tolist() == [approx(0.14)]
    assert r.energy_cost == approx(0.14)


def test_when_a_job_runs_changes_its_price():
    # the same 1000 s job on curve c3, released at 0 (price 0.36) or at 1000 (0.72)
    # at 0: (100 + 300) * 360 / 3.6e6 = 0.04; at 1000: 400 * 720 / 3.6e6 = 0.08
    srv = [Server("s0", "G", price_curve="c3")]
    f0 = fleet([job("a", 1000)], srv, curves={"c3": CURVE})
    f1 = fleet([job("a", 1000, release=1000.0)], srv, curves={"c3": CURVE})
    assert ev(f0, [0]).energy_cost == approx(0.04)
    assert ev(f1, [0]).energy_cost == approx(0.08)


# ------------------------------------------------------------------------------ capacity

def test_capacity_violation_and_feasibility():
    # busy = 1000 + 600 = 1600 s; capacity 1500 -> violation 100, infeasible
    # the objective is still reported: energy 400 W * 1600 s * 1e-7 = 0.064
    f = fleet([job("a", 1000), job("b", 600)],
              [Server("s0", "G", price_per_kwh=0.36, capacity_s=1500.0),
               Server("s1", "G", price_per_kwh=0.36, capacity_s=1000.0)])
    r = ev(f, [0, 0])
    assert r.server_busy.tolist() == [1600.0, 0.0]
    assert r.violation == approx(100.0)
    assert not r.feasible
    assert r.allowed
    assert r.objective == approx(0.064)
    # a on s1 (1000 <= 1000, at the limit), b on s0 (600 <= 1500): feasible
    r2 = ev(f, [1, 0])
    assert r2.violation == 0.0 and r2.feasible
    # a and b both on s1: 1600 - 1000 = 600 over
    r3 = ev(f, [1, 1])
    assert r3.violation == approx(600.0) and not r3.feasible


def test_capacity_counts_busy_time_not_on_time():
    # a [0, 500], b released at 5000: [5000, 5500]. On for 5500 s, busy 1000 s <= 1000
    f = fleet([job("a", 500), job("b", 500, release=5000.0)],
              [Server("s0", "G", price_per_kwh=0.36, capacity_s=1000.0)])
    r = ev(f, [0, 0])
    assert r.server_busy.tolist() == [1000.0]
    assert r.feasible and r.violation == 0.0


def test_unlimited_capacity():
    p = compile_fleet(fleet([job("a", 1e9)]))
    assert p.capacity.tolist() == [math.inf]
    assert not p.has_capacity
    assert evaluate(p, np.array([0])).feasible


def test_processing_time_is_work_over_throughput_exactly():
    # 2100 samples at 300 samples/s take 2100 / 300 = 7 s exactly: due 7 -> on time (step
    # needs T > 0), capacity 7 -> feasible (busy <= B)
    f = Fleet("ulp", {"G": GPUS["G"]}, {"m": MODELS["m"]}, (Profile("m", "G", 300.0, 400.0),),
              (Server("s0", "G", price_per_kwh=0.36, capacity_s=7.0),),
              (job("a", 2100, due=7.0, kind="step", weight=1.0),))
    r = evaluate(compile_fleet(f), np.array([0]))
    assert r.completion.tolist() == [7.0]
    assert r.penalty == 0.0
    assert r.feasible


# ------------------------------------------------------------------------------ forbidden pairs

def test_forbidden_pairs():
    # big (12 GB) does not fit H (8 GB) although it has a profile; nop has no H profile;
    # edge (8 GB) exactly fits H (memory <= GPU memory is allowed)
    servers = [Server("g", "G", price_per_kwh=0.36), Server("h", "H", price_per_kwh=0.36)]
    f = fleet([job("a", 100, model="big"), job("b", 100, model="nop"),
               job("c", 100, model="edge"), job("d", 100)], servers)
    p = compile_fleet(f)
    assert allowed_servers(p) == [[0], [0], [0, 1], [0, 1]]
    ok = ev(f, [0, 0, 1, 1])
    assert ok.allowed and ok.feasible
    bad_mem = ev(f, [1, 0, 0, 0])
    assert not bad_mem.allowed and not bad_mem.feasible
    assert bad_mem.violation == 0.0
    bad_prof = ev(f, [0, 1, 0, 0])
    assert not bad_prof.allowed and not bad_prof.feasible


# ------------------------------------------------------------------------------ lambda

def test_lambda_weighting():
    # a: [0, 1500], due 1000, linear w 2 scale 500: T 500, u 1 -> penalty 2
    # energy 400 * 1500 * 1e-7 = 0.06
    jobs = [job("a", 1500, due=1000.0, kind="linear", weight=2.0, scale=500.0)]
    for lam, obj in [(0.0, 0.06), (1.0, 2.06), (2.5, 5.06), (0.25, 0.56)]:
        r = ev(fleet(jobs, lam=lam), [0])
        assert r.energy_cost == approx(0.06)
        assert r.penalty == approx(2.0)               # unweighted
        assert r.objective == approx(obj)
    p = compile_fleet(fleet(jobs, lam=1.0), lam=3.0)  # explicit lam overrides the fleet's
    assert p.lam == 3.0
    assert evaluate(p, np.array([0])).objective == approx(6.06)
    assert evaluate(p.with_lambda(0.5), np.array([0])).objective == approx(1.06)


# ------------------------------------------------------------------------------ generic assignment

GAP_COST = [[4.0, 6.0, 9.0], [3.0, 5.0, 4.0], [7.0, 2.0, 6.0]]
GAP_RES = [[3.0, 2.0, 4.0], [2.0, 3.0, 2.0], [4.0, 3.0, 3.0]]


def test_assignment_cost():
    # x = [0, 2, 1]: 4 + 4 + 2 = 10; no energy, no penalty
    p = compile_assignment(GAP_COST)
    r = evaluate(p, np.array([0, 2, 1]))
    assert r.objective == approx(10.0) and r.search_objective == approx(10.0)
    assert r.assignment_cost == approx(10.0)
    assert r.energy_cost == 0.0 and r.penalty == 0.0
    assert r.feasible


def test_assignment_maximize_negates():
    # maximise: the caller sees +10, the search minimises -10
    p = compile_assignment(GAP_COST, maximize=True)
    assert p.sense == -1
    r = evaluate(p, np.array([0, 2, 1]))
    assert r.objective == approx(10.0)
    assert r.assignment_cost == approx(10.0)
    assert r.search_objective == approx(-10.0)
    # the best for maximisation is the largest profit: 9 + 5 + 7 = 21 at [2, 1, 0]
    best, x, nf = brute_force(p)
    assert best == approx(-21.0) and x.tolist() == [2, 1, 0] and nf == 27


def test_assignment_capacity():
    # capacities [4, 6, 5]
    # x = [0, 0, 1]: s0 uses 3 + 2 = 5 > 4 -> violation 1, infeasible
    # x = [0, 2, 1]: uses [3, 3, 2] -> feasible, cost 10
    p = compile_assignment(GAP_COST, GAP_RES, [4.0, 6.0, 5.0])
    r = evaluate(p, np.array([0, 0, 1]))
    assert r.server_busy.tolist() == [5.0, 3.0, 0.0]
    assert r.violation == approx(1.0) and not r.feasible
    assert r.objective == approx(4.0 + 3.0 + 2.0)
    r = evaluate(p, np.array([0, 2, 1]))
    assert r.server_busy.tolist() == [3.0, 3.0, 2.0]
    assert r.feasible and r.objective == approx(10.0)
    # minimum by hand: the unconstrained best is [0, 0, 1] = 9 (infeasible, s0 over);
    # next: [0, 2, 1] = 10 and [1, 0, 1]: 6 + 3 + 2 = 11 (s1 uses 2 + 3 = 5 <= 6) -> 10
    best, x, _ = brute_force(p)
    assert best == approx(10.0) and x.tolist() == [0, 2, 1]


def test_assignment_allowed_mask():
    allowed = [[True, True, True], [True, True, True], [True, False, True]]
    p = compile_assignment(GAP_COST, allowed=allowed)
    r = evaluate(p, np.array([0, 2, 1]))
    assert not r.allowed and not r.feasible
    # best allowed: 4 + 3 + 6 = 13 ([0, 0, 2])
    best, x, nf = brute_force(p)
    assert best == approx(13.0) and x.tolist() == [0, 0, 2] and nf == 18


# ------------------------------------------------------------------------------ worked example

def worked_example(lam=1.0) -> Fleet:
    """The example of docs/model.md, section "Worked example"."""
    gpus = {"A": GPUType("A", 32.0, 100.0), "B": GPUType("B", 16.0, 50.0)}
    models = {"m1": DNNModel("m1", 10.0), "m2": DNNModel("m2", 24.0)}
    profiles = (Profile("m1", "A", 10.0, 400.0), Profile("m1", "B", 5.0, 200.0),
                Profile("m2", "A", 20.0, 340.0), Profile("m2", "B", 8.0, 180.0))
    curves = {"tou": PriceCurve("tou", 3600.0, (0.10, 0.30))}
    servers = (Server("s0", "A", price_per_kwh=0.20), Server("s1", "B", price_curve="tou"))
    jobs = (Job("a", "m1", 36000.0, 0.0, 3000.0, Penalty("step", 5.0, 1.0)),
            Job("b", "m1", 18000.0, 0.0, 2700.0, Penalty("linear", 2.0, 1800.0)),
            Job("c", "m2", 18000.0, 7200.0, 7500.0, Penalty("exponential", 1.0, 600.0)),
            Job("d", "m1", 27000.0))
    return Fleet("worked", gpus, models, profiles, servers, jobs, curves, lam)


def test_worked_example_tables():
    p = compile_fleet(worked_example())
    assert p.order.tolist() == [1, 0, 2, 3]                  # b, a, c, d
    assert p.allowed.tolist() == [[1, 1], [1, 0]]            # m2 on B: 24 GB > 16 GB
    assert p.work_scale.tolist() == [[1.0, 1.0], [1.0, 0.0]]
    assert p.throughput.tolist() == [[10.0, 5.0], [20.0, 1.0]]
    assert p.dyn_w.tolist() == [[300.0, 150.0], [240.0, 0.0]]


def test_worked_example():
    # x: a -> s0, b -> s1, c -> s0, d -> s1   (see docs/model.md for every step)
    r = evaluate(compile_fleet(worked_example()), np.array([0, 1, 0, 1]))
    assert r.start.tolist() == [0.0, 0.0, 7200.0, 3600.0]
    assert r.completion.tolist() == [3600.0, 3600.0, 8100.0, 9000.0]
    assert r.lateness.tolist() == [600.0, 900.0, 600.0, 0.0]
    assert r.job_penalty.tolist() == [approx(5.0), approx(1.0), approx(E - 1.0), 0.0]
    assert r.job_energy_cost.tolist() == [approx(0.06), approx(0.015), approx(0.012),
                                          approx(0.0525)]
    assert r.server_on.tolist() == [0.0, 0.0]
    assert r.server_off.tolist() == [8100.0, 9000.0]
    assert r.server_busy.tolist() == [4500.0, 9000.0]
    assert r.server_energy_cost.tolist() == [approx(0.117), approx(0.09)]
    assert r.energy_cost == approx(0.207)
    assert r.penalty == approx(5.0 + 1.0 + (E - 1.0))          # 7.718281828459045
    assert r.objective == approx(7.925281828459045)
    assert r.feasible
    r_half = evaluate(compile_fleet(worked_example(lam=0.5)), np.array([0, 1, 0, 1]))
    assert r_half.objective == approx(0.207 + 0.5 * (5.0 + E))  # 4.0661409142295225


def test_worked_example_alternative():
    # a -> s1, b -> s0, c -> s0, d -> s1 (docs/model.md)
    r = evaluate(compile_fleet(worked_example()), np.array([1, 0, 0, 1]))
    assert r.start.tolist() == [0.0, 0.0, 7200.0, 7200.0]
    assert r.completion.tolist() == [7200.0, 1800.0, 8100.0, 12600.0]
    assert r.job_penalty.tolist() == [approx(5.0), 0.0, approx(E - 1.0), 0.0]
    assert r.server_energy_cost.tolist() == [approx(0.087), approx(0.13)]
    assert r.energy_cost == approx(0.217)
    assert r.objective == approx(6.935281828459045)


def test_worked_example_best():
    # a, b, c -> s0, d -> s1 (docs/model.md): s0 runs b [0, 1800], a [1800, 5400],
    # c [7200, 8100]; s1 runs d [0, 5400]
    r = evaluate(compile_fleet(worked_example()), np.array([0, 0, 0, 1]))
    assert r.start.tolist() == [1800.0, 0.0, 7200.0, 0.0]
    assert r.completion.tolist() == [5400.0, 1800.0, 8100.0, 5400.0]
    assert r.lateness.tolist() == [2400.0, 0.0, 600.0, 0.0]
    assert r.job_energy_cost.tolist() == [approx(0.06), approx(0.03), approx(0.012),
                                          approx(0.0375)]
    assert r.server_energy_cost.tolist() == [approx(0.147), approx(0.05)]
    assert r.energy_cost == approx(0.197)
    assert r.penalty == approx(4.0 + E)
    assert r.objective == approx(6.915281828459045)


def test_worked_example_forbidden_and_enumeration():
    p = compile_fleet(worked_example())
    r = evaluate(p, np.array([0, 1, 1, 1]))     # c (m2) on s1 (B): does not fit
    assert not r.allowed and not r.feasible
    best, x, nf = brute_force(p)
    assert nf == 8                               # c has one server, a, b, d two each
    assert x.tolist() == [0, 0, 0, 1]            # test_worked_example_best is the optimum
    assert best == approx(6.915281828459045)


# ------------------------------------------------------------------------------ shared instances

def test_tiny_fleets_cover_the_features():
    fleets = dict(tiny_fleets())
    assert set(fleets) == {"step", "linear", "exponential", "releases", "capacity", "tou",
                           "forbidden", "mixed"}
    for name, f in fleets.items():
        assert f.n_jobs <= 9 and f.n_servers <= 3, name
    for kind in ("step", "linear", "exponential"):
        assert {j.penalty.kind for j in fleets[kind].jobs} == {kind}
    assert any(j.release_s > 0 for j in fleets["releases"].jobs)
    assert any(s.capacity_s is not None for s in fleets["capacity"].servers)
    assert any(s.price_curve for s in fleets["tou"].servers)
    mixed = fleets["mixed"]
    assert {j.penalty.kind for j in mixed.jobs} == {"step", "linear", "exponential", "none"}
    for name in ("forbidden", "mixed"):
        p = compile_fleet(fleets[name])
        assert any(len(a) < p.n_servers for a in allowed_servers(p)), name


def test_tiny_exponential_hits_the_cap():
    # e1 (due 1.2 h, scale 0.05 h, weight 1e-9) is dispatched first; on the slow T4 it takes
    # 5 h: T = 3.8 h, u = 76 > 20 -> 1e-9 * (e^20 - 1) = 0.4851651944097903
    f = tiny_fleet_by_name("exponential")
    r = evaluate(compile_fleet(f), np.full(f.n_jobs, 2, np.int64))
    assert r.start[0] == 0.0 and r.completion[0] == approx(5 * 3600.0)
    assert r.job_penalty[0] == approx(1e-9 * (EXP20 - 1.0))


@pytest.mark.parametrize("name", [n for n, _ in tiny_fleets()])
def test_tiny_fleets_are_nontrivial(name):
    p = compile_fleet(tiny_fleet_by_name(name))
    best, x, n_feasible = brute_force(p)
    assert n_feasible > 0 and math.isfinite(best)
    ev_best = evaluate(p, x)
    assert ev_best.feasible and ev_best.search_objective == best
    # the optimum spreads the jobs over several servers ...
    assert len(set(x.tolist())) >= 2
    # ... and is strictly better than every feasible all-on-one-server assignment
    choices = allowed_servers(p)
    for s in range(p.n_servers):
        if all(s in c for c in choices):
            r = evaluate(p, np.full(p.n_jobs, s, np.int64))
            assert (not r.feasible) or r.search_objective > best + 1e-9
    # ... and, except where capacities are the point, it pays some lateness penalty
    # rather than only chasing energy, or binds a capacity
    if name in ("capacity", "mixed"):
        # capacities bind: the unconstrained best is infeasible
        free = min(evaluate(p, np.array(c)).search_objective
                   for c in itertools.product(*choices))
        assert free < best - 1e-9
    else:
        assert ev_best.penalty > 0.0


def test_worked_example_small_lambda_changes_the_optimum():
    # lambda = 0.01: a, b -> s1, c, d -> s0 (docs/model.md)
    # s1: b [0, 3600], a [3600, 10800]; s0: c [7200, 8100], d [8100, 10800]
    # s0 on [7200, 10800], Q = 0.2 * 3600 = 720: idle 100 * 720 / 3.6e6 = 0.02,
    #   c 240 * 0.2 * 900 / 3.6e6 = 0.012, d 300 * 0.2 * 2700 / 3.6e6 = 0.045 -> 0.077
    # s1 on [0, 10800], Q = 360 + 1080 + 360 = 1800: idle 50 * 1800 / 3.6e6 = 0.025,
    #   b 150 * 360 / 3.6e6 = 0.015, a 150 * (1080 + 360) / 3.6e6 = 0.06 -> 0.1
    # penalty: a 5 (late 7800), b 1, c e - 1 -> 5 + e;  F = 0.177 + 0.01 * (5 + e)
    p = compile_fleet(worked_example(lam=0.01))
    r = evaluate(p, np.array([1, 1, 0, 0]))
    assert r.completion.tolist() == [10800.0, 3600.0, 8100.0, 10800.0]
    assert r.server_energy_cost.tolist() == [approx(0.077), approx(0.1)]
    assert r.energy_cost == approx(0.177)
    assert r.objective == approx(0.177 + 0.01 * (5.0 + E))     # 0.25418281828459045
    best, x, _ = brute_force(p)
    assert x.tolist() == [1, 1, 0, 0] and best == approx(0.25418281828459045)


# ------------------------------------------------------------------------------ independent check

def _reference_objective(f: Fleet, x) -> tuple[float, bool]:
    """The model straight from the Fleet dataclasses (no compiled arrays): p = samples /
    throughput, prices integrated by walking the curve's steps."""
    prof = {(p.model, p.gpu): p for p in f.profiles}

    def q(srv, a, b):
        if srv.price_curve is None:
            return srv.price_per_kwh * (b - a)
        c = f.price_curves[srv.price_curve]
        tot, t = 0.0, a
        while t < b:
            i = int(t // c.step_s)
            end = min(b, (i + 1) * c.step_s)
            tot += c.prices_per_kwh[i % len(c.prices_per_kwh)] * (end - t)
            t = end
        return tot

    def key(j):
        jb = f.jobs[j]
        return (math.inf if jb.due_s is None else jb.due_s, jb.release_s, j)

    order = sorted(range(f.n_jobs), key=key)
    energy = pen = 0.0
    feasible = True
    for si, srv in enumerate(f.servers):
        g = f.gpus[srv.gpu]
        t, on, busy = 0.0, None, 0.0
        for j in (j for j in order if x[j] == si):
            jb = f.jobs[j]
            pr = prof.get((jb.model, srv.gpu))
            if pr is None or f.models[jb.model].memory_gb > g.memory_gb:
                return math.nan, False            # only allowed assignments are compared
            p = jb.samples / pr.throughput
            st = max(jb.release_s, t)
            c = st + p
            on = st if on is None else on
            busy += p
            energy += max(pr.power_w - g.idle_w, 0.0) * q(srv, st, c) / 3.6e6
            late = 0.0 if jb.due_s is None else max(0.0, c - jb.due_s)
            w, sc = jb.penalty.weight, jb.penalty.scale_s
            if late > 0:
                pen += {"none": 0.0, "step": w, "linear": w * late / sc,
                        "exponential": w * (math.exp(min(late / sc, 20.0)) - 1.0)
                        }[jb.penalty.kind]
            t = c
        if on is not None:
            energy += g.idle_w * q(srv, on, t) / 3.6e6
        if srv.capacity_s is not None and busy > srv.capacity_s:
            feasible = False
    return energy + f.lam * pen, feasible


@pytest.mark.parametrize("name", [n for n, _ in tiny_fleets()])
def test_evaluate_matches_an_independent_reference(name):
    f = tiny_fleet_by_name(name)
    p = compile_fleet(f)
    choices = allowed_servers(p)
    rng = np.random.default_rng(12345)
    for _ in range(200):
        x = [int(rng.choice(c)) for c in choices]
        r = evaluate(p, np.array(x, np.int64))
        obj, feasible = _reference_objective(f, x)
        assert r.objective == pytest.approx(obj, rel=1e-9), x
        assert r.feasible == feasible, x


def test_reference_backend_times_jobs_as_the_model_does():
    # job c completes exactly at its due time by C = max(r, C_prev) + p (the evaluator and
    # the kernels); the reference's closed form (cumsum + cummax) put it 2e-13 s later and
    # charged its step penalty, so the numpy backend searched another objective
    from satea.annealing import anneal
    from satea.backends.numpy_ref import server_eval
    fleet = Fleet("tie", {"A": GPUType("A", 40, 0.0)}, {"m": DNNModel("m", 8)},
                  (Profile("m", "A", 7.0, 100.0),),
                  (Server("cheap", "A", price_per_kwh=0.1), Server("dear", "A", price_per_kwh=0.2)),
                  (Job("a", "m", 1800.0, 0.0, 300.0), Job("b", "m", 1200.0, 600.0, 900.0),
                   Job("c", "m", 7200.0, 600.0, 1800.0, Penalty("step", 1.0))))
    p = compile_fleet(fleet)
    ev = evaluate(p, np.zeros(3, int))
    assert ev.completion[2] == 1800.0 and ev.penalty == 0.0
    cost, _ = server_eval(p, np.ones((1, 3), bool), np.array([0]), np.array([1.0]))
    assert cost[0] == pytest.approx(ev.objective, rel=1e-12)
    r = anneal(p, backend="numpy", chains=4, sweeps=100, seed=0)
    assert r.x.tolist() == [0, 0, 0] and r.fun == ev.objective
