"""Part 2's series and carbon (docs/model.md): non-repeating curves, negative prices,
carbon in the objective, hand-computed; the merged search curve; file round trips."""
from __future__ import annotations

import numpy as np
import pytest

from satea.annealing import anneal
from satea.compile import compile_fleet, merge_curves
from satea.io import fleet_from_dict, fleet_to_dict
from satea.model import CarbonCurve, DNNModel, Fleet, GPUType, Job, PriceCurve, Profile, Server
from satea.objective import evaluate, price_integral

GPUS = {"A": GPUType("A", 40, 60.0)}
MODELS = {"m": DNNModel("m", 10)}
PROF = (Profile("m", "A", 1.0, 260.0),)          # dynamic power 200 W


def one_job(server: Server, samples=3600.0, release=0.0, **fleet) -> Fleet:
    return Fleet("t", GPUS, MODELS, PROF, (server,), (Job("j", "m", samples, release),),
                 **fleet)


def test_non_repeating_curve_holds_its_last_price():
    # steps of 10 s: 1, -2; over [0, 35]: 10 - 20 - 2 * 15 = -40 (repeating: 10 - 20 + 10
    # - 2 * 5 = -10)
    for repeat, want in ((False, -40.0), (True, -10.0)):
        f = one_job(Server("s", "A", price_curve="c"),
                    price_curves={"c": PriceCurve("c", 10.0, (1.0, -2.0), repeat=repeat)})
        assert price_integral(compile_fleet(f), 0, 0.0, 35.0) == pytest.approx(want)


def test_carbon_and_energy_by_hand():
    # one job of 3600 s at 200 W dynamic + 60 W idle, 0.1/kWh and 500 g/kWh:
    # energy 0.26 kWh x 0.1 = 0.026; carbon 0.26 x 500 g = 0.13 kg, at 0.5/kg 0.065
    f = one_job(Server("s", "A", price_per_kwh=0.1, carbon_g_per_kwh=500.0),
                carbon_price_per_kg=0.5)
    ev = evaluate(compile_fleet(f), np.array([0]))
    assert ev.energy_cost == pytest.approx(0.026)
    assert ev.carbon_kg == pytest.approx(0.13)
    assert ev.carbon_cost == pytest.approx(0.065)
    assert ev.objective == pytest.approx(0.091)
    assert ev.as_dict()["carbon_kg"] == pytest.approx(0.13)


def test_carbon_curve_negative_price_non_repeating_by_hand():
    # 2 h job from t = 1800 at 260 W in all (0.26 kW); prices per hour -0.05, 0.2 then
    # held: [1800, 3600] -0.05, [3600, 9000] 0.2 -> 0.26 * (-0.05 * 0.5 + 0.2 * 1.5) =
    # 0.0715; carbon per 30 min 100, 300, 50 (held): 0.26 kWh/h x (300 * 0.5 + 50 * 1.5)
    # = 0.26 * 225 g = 58.5 g
    f = one_job(Server("s", "A", price_curve="p", carbon_curve="k"), samples=7200.0,
                release=1800.0,
                price_curves={"p": PriceCurve("p", 3600.0, (-0.05, 0.2), repeat=False)},
                carbon_curves={"k": CarbonCurve("k", 1800.0, (100.0, 300.0, 50.0),
                                                repeat=False)},
                carbon_price_per_kg=2.0)
    p = compile_fleet(f)
    ev = evaluate(p, np.array([0]))
    assert ev.energy_cost == pytest.approx(0.0715)
    assert ev.carbon_kg == pytest.approx(0.0585)
    assert ev.objective == pytest.approx(0.0715 + 2.0 * 0.0585)
    # the search follows one merged curve on the 30-minute grid: its integral is the sum
    assert p.curve_step[p.curve_id[0]] == 1800.0
    r = anneal(p, backend="numba", chains=2, sweeps=2, seed=0)
    assert r.fun == pytest.approx(ev.objective) and r.carbon_kg == pytest.approx(0.0585)
    assert r.to_dict()["carbon_cost"] == pytest.approx(0.117)


def test_without_carbon_price_the_search_pays_the_electricity_price_as_given():
    f = one_job(Server("s", "A", price_curve="p", carbon_curve="k"),
                price_curves={"p": PriceCurve("p", 3600.0, (0.1, 0.2))},
                carbon_curves={"k": CarbonCurve("k", 900.0, (1.0, 2.0))})
    p = compile_fleet(f)
    assert p.curve_id[0] == p.energy_curve[0] == 0 and p.carbon_curve[0] == 1
    assert evaluate(p, np.array([0])).carbon_cost == 0.0


def test_merge_curves_grids():
    # non-repeating, steps 3 and 2: grid of 1 over 6 s
    step, v, rep = merge_curves((3.0, [1.0, 4.0], 0), 0.0, (2.0, [10.0, 20.0, 30.0], 0), 0.0,
                                0.1, lambda: 0.0)
    assert (step, rep) == (1.0, 0)
    np.testing.assert_allclose(v, [2, 2, 3, 6, 7, 7])
    # repeating, periods 4 and 6: lcm 12 on a grid of 2
    step, v, rep = merge_curves((2.0, [1.0, 2.0], 1), 0.0, (3.0, [10.0, 20.0], 1), 0.0,
                                1.0, lambda: 0.0)
    assert (step, rep, len(v)) == (1.0, 1, 12)
    np.testing.assert_allclose(v[:7], [11, 11, 12, 22, 21, 21, 12])
    # a repeating price with a non-repeating carbon series: unrolled up to the bound
    step, v, rep = merge_curves((1.0, [1.0, 2.0], 1), 0.0, (2.0, [0.0, 10.0], 0), 0.0,
                                1.0, lambda: 7.5)
    assert rep == 0 and len(v) == 9
    np.testing.assert_allclose(v, [1, 2, 11, 12, 11, 12, 11, 12, 11])
    with pytest.raises(ValueError, match="whole seconds"):
        merge_curves((1.5, [1.0], 1), 0.0, (2.0, [1.0, 2.0], 0), 0.0, 1.0, lambda: 1.0)


def test_series_round_trip_through_the_file_format():
    f = one_job(Server("s", "A", price_curve="p", carbon_curve="k"),
                price_curves={"p": PriceCurve("p", 3600.0, (-0.05, 0.2), repeat=False)},
                carbon_curves={"k": CarbonCurve("k", 1800.0, (100.0,), repeat=False)},
                carbon_price_per_kg=0.1)
    d = fleet_to_dict(f)
    assert d["price_curves"]["p"]["repeat"] is False and d["carbon_price_per_kg"] == 0.1
    assert fleet_from_dict(d) == f
    d["carbon_curves"]["k"]["repeat"] = "no"
    with pytest.raises(ValueError, match=r"carbon_curves\['k'\]: repeat must be true or false"):
        fleet_from_dict(d)


def test_pareto_axis_carbon_trades_carbon_against_lateness(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import tiny_node_fleets

    from satea.io import write_instance
    from satea.pareto import pareto
    fleet = dict(tiny_node_fleets())["series-1gpu"]
    front = pareto(compile_fleet(fleet.carbon_as_price()), lambdas=[0.0, 0.1, 1.0, 10.0],
                   chains_per_lambda=2, sweeps=100, backend="numba", seed=0)
    front.axis = "carbon"
    orig = compile_fleet(fleet)
    for q in front.points:   # the carbon-priced instance's "energy" is the carbon_kg
        assert q.energy_cost == pytest.approx(evaluate(orig, q.x).carbon_kg, rel=1e-12)
    assert "carbon_kg" in str(front)
    path = tmp_path / "f.json"
    write_instance(fleet, path)
    r = subprocess.run([sys.executable, "-m", "satea.cli", "pareto", str(path), "--axis",
                        "carbon", "--lambdas", "0,1,10", "--sweeps", "50", "--seed", "1",
                        "--out", str(tmp_path / "front.json"), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "front.json").read_text())
    assert d["axis"] == "carbon" and "carbon_kg" in d["points"][0]
    # a point written alone re-scores on the carbon-priced instance, as it was found
    # (it was scored on the energy one, with a warning about another instance)
    pt = tmp_path / "pt.json"
    pt.write_text(json.dumps(d["points"][-1]))
    r = subprocess.run([sys.executable, "-m", "satea.cli", "evaluate", str(path), str(pt)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    ev = json.loads(r.stdout)
    assert ev["axis"] == "carbon"
    assert ev["energy_cost"] == pytest.approx(d["points"][-1]["carbon_kg"], rel=1e-12)
    assert ev["objective"] == pytest.approx(d["points"][-1]["objective"], rel=1e-12)
    with pytest.raises(ValueError, match="no server of the instance has a carbon"):
        one_job(Server("s", "A", price_per_kwh=0.1)).carbon_as_price()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_far_times_on_a_fine_curve_stay_in_the_curve(backend):
    # at t ~ 5.5e14 s float64 steps by 0.0625 s, far more than a 1 ms curve step: the
    # rounded cycle count overshot, the step index came out -62 (an IndexError in the
    # evaluator; a read before the curve in the kernels)
    from satea.kernels.layout import curve_cumulative_np
    f = one_job(Server("s", "A", price_curve="c"), samples=10.0, release=546496714257763.5,
                price_curves={"c": PriceCurve("c", 0.001, (5.0, 0.0), repeat=True)})
    p = compile_fleet(f)
    ev = evaluate(p, np.zeros(1, np.int64))
    assert np.isfinite(ev.objective) and np.isfinite(ev.energy_cost)
    c = curve_cumulative_np(p, 0, np.array([546496714257763.5]))
    assert np.isfinite(c).all()
    r = anneal(p, backend=backend, chains=2, sweeps=2, seed=0)
    assert r.fun == ev.objective


def held_on_a_merged_curve(carbon_price: float, hold_max: float = 5400.0) -> Fleet:
    """One half-hour job that may wait 1.5 h, on a repeating price (free in its 4th half
    hour) merged with a carbon series of intensity 0 that does not repeat."""
    return Fleet("h", {"A": GPUType("A", 40, 0.0)}, {"m": DNNModel("m", 8)},
                 (Profile("m", "A", 1.0, 1000.0),),
                 (Server("s", "A", price_curve="p", carbon_curve="k"),),
                 (Job("j", "m", 1800.0, hold_max_s=hold_max),),
                 {"p": PriceCurve("p", 1800.0, (0.5, 1.0, 1.0, 0.0))},
                 carbon_curves={"k": CarbonCurve("k", 1800.0, (0.0,), repeat=False)},
                 carbon_price_per_kg=carbon_price)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_merged_curve_reaches_as_far_as_holds_do(backend):
    # the merged search curve was unrolled to the latest release + the runs, not + the
    # holds: past it, its last value (1.0) stood for the price's free half hour, and with a
    # carbon price (of a carbon intensity 0: the same objective) the search held nothing
    p = compile_fleet(held_on_a_merged_curve(1.0))
    c = int(p.curve_id[0])
    assert p.curve_repeat[c] == 0 and p.curve_len[c] * p.curve_step[c] >= 5400.0 + 1800.0
    r = anneal(p, backend=backend, chains=4, sweeps=100, seed=0)
    assert r.holds is not None and r.holds[0] == 5400.0 and r.fun == 0.0
    assert r.fun == evaluate(p, r.x, r.holds).objective


def test_merging_that_holds_stretch_too_far_is_cut_with_a_warning(tmp_path):
    # 1e13 s of allowance need ~5.6e9 half-hour steps: the curve is cut at the limit (it
    # still covers every schedule without holds), and the user is told; the search still
    # finds the free half hour, and the result re-scores exactly
    with pytest.warns(UserWarning, match="unrolled to t = 7,200,000,000 s of the"):
        p = compile_fleet(held_on_a_merged_curve(1.0, hold_max=1e13))
    c = int(p.curve_id[0])
    assert p.curve_len[c] == 4_000_000
    r = anneal(p, backend="numba", chains=4, sweeps=100, seed=0)
    assert r.fun == 0.0 and r.fun == evaluate(p, r.x, r.holds).objective
    # on the command line: one line, no traceback
    import subprocess
    import sys

    from satea.io import write_instance
    write_instance(held_on_a_merged_curve(1.0, hold_max=1e13), tmp_path / "h.json")
    out = subprocess.run([sys.executable, "-m", "satea.cli", "solve", str(tmp_path / "h.json"),
                          "--sweeps", "20", "--chains", "2", "--seed", "0", "--quiet"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("satea: warning: the search's price") and \
        out.stderr.count("\n") == 1


def test_merging_past_the_limit_without_holds_is_refused_saying_why():
    # a job released at 1.6e10 s: even without holds the unrolled span needs more
    # half-hour steps than the limit
    fleet = held_on_a_merged_curve(1.0, hold_max=0.0)
    from dataclasses import replace
    fleet = replace(fleet, jobs=(replace(fleet.jobs[0], release_s=1.6e10),))
    with pytest.raises(ValueError, match="needs .* steps of 1800 s, up to t = .* more than"):
        compile_fleet(fleet)
