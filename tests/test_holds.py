"""Holds (docs/model.md, part 3): the model fields, files, the float64 evaluator with
holds, results, the greedy that holds, the CLI flags and the MILP's refusal. Figures are
computed by hand in the comments (and in docs/model.md's part-3 worked example)."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import (brute_force, brute_force_holds, hold_candidates, make_fleet, tiny_fleets,
                      tiny_node_fleets)

from satea.baselines import greedy_cost, greedy_hold, solve_baseline
from satea.cli import main
from satea.compile import compile_assignment, compile_fleet
from satea.io import fleet_from_dict, fleet_to_dict, read_instance, write_instance
from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from satea.objective import evaluate
from satea.result import AnnealResult, holds_from_names
from satea.validate import MAX_VALUE, InstanceError

H = 3600.0


def one_gpu_fleet(jobs, prices=(1.0, 0.0, 0.0, 0.0), hold_max_s=3 * H) -> Fleet:
    """One server on an hourly curve; a GPU idling at 100 W whose model trains at 1
    sample/s drawing 1100 W (1000 W dynamic): a job of 3600 samples runs one hour, and
    an hour at price 1 costs 1.0 dynamic + 0.1 idle."""
    return Fleet(name="holds", gpus={"G": GPUType("G", 16.0, 100.0)},
                 models={"m": DNNModel("m", 1.0)},
                 profiles=(Profile("m", "G", 1.0, 1100.0),),
                 servers=(Server("s0", "G", price_curve="p"),), jobs=tuple(jobs),
                 price_curves={"p": PriceCurve("p", H, tuple(prices))}, hold_max_s=hold_max_s)


def one_job_fleet() -> Fleet:
    """The issue's case: price 1.0 in hour 1 and 0 in hours 2-4, due 4 h away."""
    return one_gpu_fleet([Job("j", "m", 3600.0, due_s=4 * H,
                              penalty=Penalty("linear", 1.0, H))])


def worked_example() -> Fleet:
    """docs/model.md, part 3's worked example: a (1 h, due 3 h) may be held 2 h (the
    fleet's hold_max_s); b (2 h, due 4 h) may not be held (its own hold_max_s 0)."""
    return one_gpu_fleet(
        [Job("a", "m", 3600.0, due_s=3 * H, penalty=Penalty("linear", 1.0, H)),
         Job("b", "m", 7200.0, due_s=4 * H, penalty=Penalty("linear", 1.0, H),
             hold_max_s=0.0)],
        prices=(1.0, 0.0, 0.0, 0.0, 0.5, 0.5), hold_max_s=2 * H)


def node_fleet() -> Fleet:
    """A 2-GPU node (50 W idle a GPU) at a constant 0.36 per kWh, so a watt-second costs
    1e-7; 200 W dynamic a GPU. Jobs: a (1 GPU, 1000 s), b (2 GPUs, 1000 s), c (1 GPU,
    500 s, released at 3000 s); no deadlines, dispatch order a, b, c."""
    return Fleet(name="node-holds", gpus={"G": GPUType("G", 16.0, 50.0)},
                 models={"m": DNNModel("m", 1.0)},
                 profiles=(Profile("m", "G", 1.0, 250.0),),
                 servers=(Server("n0", "G", price_per_kwh=0.36, gpus=2),),
                 jobs=(Job("a", "m", 1000.0), Job("b", "m", 2000.0, gpus=2),
                       Job("c", "m", 500.0, release_s=3000.0)), hold_max_s=2000.0)


def internal(problem, caller_holds) -> np.ndarray:
    """Holds given in the caller's job order, in the problem's internal order."""
    return np.asarray(caller_holds, np.float64)[problem.order]


# --------------------------------------------------------------------------- evaluator

def test_issue_one_job_case_held_an_hour_pays_nothing():
    p = compile_fleet(one_job_fleet())
    x = np.zeros(1, np.int64)
    e0 = evaluate(p, x)
    # hour 1 at 1.0: 1000 W x 1 h = 1 kWh dynamic, 100 W x 1 h = 0.1 kWh idle
    assert e0.energy_cost == pytest.approx(1.1, rel=1e-12) and e0.penalty == 0.0
    e1 = evaluate(p, x, [H])
    assert (e1.start[0], e1.completion[0]) == (H, 2 * H)
    assert e1.energy_cost == 0.0 and e1.penalty == 0.0 and e1.objective == 0.0
    # held 3 h it completes at 4 h, on time, also free; held 3.5 h it is 0.5 h late
    assert evaluate(p, x, [3 * H]).objective == 0.0
    with pytest.raises(ValueError, match=r"holds\[0\] \(job 'j'\).*\[0, 10800\]"):
        evaluate(p, x, [3.5 * H])


def test_worked_example_of_the_docs():
    p = compile_fleet(worked_example())
    x = np.zeros(2, np.int64)
    # (caller's order a, b; dispatch order is a, b too)
    for h_a, start, energy, penalty in [
            (0.0, (0, H), 1.1, 0.0),            # a [0,1] at 1.0, b [1,3] free
            (H, (H, 2 * H), 0.0, 0.0),          # a [1,2], b [2,4]: all free, b on time
            (2 * H, (2 * H, 3 * H), 0.55, 1.0)]:  # b [3,5]: hour 4 at 0.5, 1 h late
        ev = evaluate(p, x, internal(p, [h_a, 0.0]))
        assert tuple(ev.start) == start
        assert ev.energy_cost == pytest.approx(energy, rel=1e-12, abs=1e-15)
        assert ev.penalty == pytest.approx(penalty, rel=1e-12)
    assert evaluate(p, x, internal(p, [H, 0.0])).objective == 0.0
    with pytest.raises(ValueError, match=r"job 'b'.*\[0, 0\]"):   # b's own hold_max is 0
        evaluate(p, x, internal(p, [0.0, 60.0]))


def test_the_docs_show_the_worked_example_figures():
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "model.md").read_text()
    part3 = doc[doc.index("### Worked example: holding one job an hour"):
                doc.index("## Decisions where the contract is silent")]
    p = compile_fleet(worked_example())
    rows = [line for line in part3.splitlines() if line.startswith("| 0 |")
            or line.startswith("| 3600 |") or line.startswith("| 7200 |")]
    assert len(rows) == 3
    for row, h_a in zip(rows, (0.0, H, 2 * H)):
        ev = evaluate(p, np.zeros(2, np.int64), internal(p, [h_a, 0.0]))
        cells = row.split("|")
        assert f"**{ev.energy_cost:.4g}**" in cells[4]
        assert f"**{ev.objective:.4g}**" in cells[6]


def test_node_hand_computed_holds_pay_at_a_constant_price():
    p = compile_fleet(node_fleet())
    x = np.zeros(3, np.int64)
    e0 = evaluate(p, x)
    # a [0,1000] GPU 0; b needs both: [1000,2000]; c waits for its release: [3000,3500]
    assert tuple(e0.start) == (0.0, 1000.0, 3000.0)
    # idle 100 W x 3500 s + dynamic 200 x 1000 + 400 x 1000 + 200 x 500 = 1.05e6 W s
    assert e0.energy_cost == pytest.approx(0.105, rel=1e-12)
    e1 = evaluate(p, x, internal(p, [1500.0, 0.0, 0.0]))
    # a [1500,2500]; b: max(0, previous start 1500, 2nd free 2500) = 2500 -> [2500,3500];
    # c: max(3000, 2500, 1st free 3500) = 3500 -> [3500,4000]; on 2500 s instead of 3500
    assert tuple(e1.start) == (1500.0, 2500.0, 3500.0)
    assert tuple(e1.completion) == (2500.0, 3500.0, 4000.0)
    assert e1.energy_cost == pytest.approx(0.095, rel=1e-12)
    assert (e1.server_on[0], e1.server_off[0]) == (1500.0, 4000.0)


def _same(a, b) -> None:
    for f in ("objective", "search_objective", "energy_cost", "penalty", "assignment_cost",
              "feasible", "violation"):
        assert getattr(a, f) == getattr(b, f), f
    for f in ("start", "completion", "lateness", "job_penalty", "job_energy_cost",
              "server_busy", "server_on", "server_off", "server_energy_cost"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.gpu_lanes == b.gpu_lanes


@pytest.mark.parametrize("name,fleet", tiny_fleets() + tiny_node_fleets(),
                         ids=[n for n, _ in tiny_fleets() + tiny_node_fleets()])
def test_zero_holds_are_bit_identical_to_no_holds(name, fleet):
    rng = np.random.default_rng(0)
    for hm in (0.0, 5 * H):
        p = compile_fleet(replace(fleet, hold_max_s=hm))
        for _ in range(5):
            x = rng.integers(0, p.n_servers, p.n_jobs)
            _same(evaluate(p, x), evaluate(p, x, np.zeros(p.n_jobs)))
            assert evaluate(p, x).holds is None


def test_holds_are_checked_and_name_the_job():
    p = compile_fleet(worked_example())
    x = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match=r"holds: expected shape \(2,\)"):
        evaluate(p, x, [0.0])
    for bad in (np.nan, np.inf, -1.0, 2 * H + 1.0):
        with pytest.raises(ValueError, match=r"holds\[0\] \(job 'a'\)"):
            evaluate(p, x, [bad, 0.0])
    # a hold a rounding past hold_max is accepted (a boundary minus a release)
    evaluate(p, x, [2 * H * (1 + 1e-12), 0.0])


# --------------------------------------------------------------------------- model, files

def test_hold_max_validation_names_the_entry():
    f = worked_example()
    for bad in (-1.0, math.nan, math.inf, 2 * MAX_VALUE):
        with pytest.raises(InstanceError, match=r"job 'a': hold_max_s"):
            compile_fleet(replace(f, jobs=(replace(f.jobs[0], hold_max_s=bad),) + f.jobs[1:]))
        with pytest.raises(InstanceError, match=r"fleet: hold_max_s"):
            compile_fleet(replace(f, hold_max_s=bad))
    with pytest.raises(InstanceError, match=r"job 'a': hold_max_s must be a number"):
        compile_fleet(replace(f, jobs=(replace(f.jobs[0], hold_max_s="1h"),) + f.jobs[1:]))


def test_compiled_hold_max_is_in_dispatch_order():
    f = worked_example()
    # reverse the input order: b (due 4 h) first in the caller's order, a first dispatched
    p = compile_fleet(replace(f, jobs=f.jobs[::-1]))
    assert p.job_names == ("b", "a") and p.order.tolist() == [1, 0]
    assert p.hold_max.dtype == np.float64 and p.hold_max.tolist() == [2 * H, 0.0]
    assert p.has_holds
    assert not compile_fleet(replace(f, hold_max_s=0.0)).has_holds
    sub = p.subproblem(np.array([0]), np.array([0]))
    assert sub.hold_max.tolist() == [2 * H]
    g = compile_assignment(np.ones((3, 2)))
    assert g.hold_max.tolist() == [0.0] * 3 and not g.has_holds
    assert fleet_from_dict(fleet_to_dict(f)).with_constant_prices().hold_max_s == 2 * H


def test_io_round_trip(tmp_path):
    f = worked_example()
    d = fleet_to_dict(f)
    assert d["hold_max_s"] == 2 * H and d["jobs"][1]["hold_max_s"] == 0.0
    assert "hold_max_s" not in d["jobs"][0]       # the fleet's applies
    assert fleet_from_dict(d) == f
    write_instance(f, tmp_path / "f.json")
    assert read_instance(tmp_path / "f.json") == f
    d["jobs"][0]["hold_max_s"] = None             # null: the fleet's
    assert fleet_from_dict(d).jobs[0].hold_max_s is None
    d0 = fleet_to_dict(replace(f, hold_max_s=0.0, jobs=(f.jobs[0],)))
    assert "hold_max_s" not in d0                 # the default is left out
    d["jobs"][0]["hold_max_s"] = "3600"
    with pytest.raises(InstanceError, match=r"jobs\[0\] \('a'\): hold_max_s must be a number"):
        fleet_from_dict(d)
    d["jobs"][0]["hold_max_s"] = 60.0
    d["hold_max_s"] = -5
    with pytest.raises(InstanceError, match=r"fleet: hold_max_s must be >= 0"):
        fleet_from_dict(d)


def test_with_hold_max_overrides_every_job():
    f = worked_example().with_hold_max(600.0)
    assert f.hold_max_s == 600.0 and all(j.hold_max_s is None for j in f.jobs)
    assert compile_fleet(f).hold_max.tolist() == [600.0, 600.0]


# --------------------------------------------------------------------------- results

def _result(p, x, h):
    ev = evaluate(p, x, h)
    return AnnealResult.of_assignment(
        p, x, ev, holds=h, message="m", lam=p.lam, backend="test", seed=0, chains=1,
        sweeps=0, sweeps_requested=0, seconds=0.0, compile_seconds=0.0,
        acceptance_rate=0.0, samples=x[None, :], chain_best=np.zeros(1), trace=np.zeros(0),
        stopped_by="done")


def test_result_writes_reads_and_explains_holds(tmp_path):
    f = worked_example()
    p = compile_fleet(replace(f, jobs=f.jobs[::-1]))     # internal != caller's order
    x = np.zeros(2, np.int64)
    h = np.array([H, 0.0])                              # internal: a held 1 h
    r = _result(p, x, h)
    assert r.fun == 0.0 and r.held
    d = r.to_dict()
    assert d["holds"] == {"a": H}                       # nonzero ones only
    np.testing.assert_array_equal(holds_from_names(p, d["holds"]), h)
    assert holds_from_names(p, None) is None
    ex = {e["job"]: e for e in r.explain()}
    assert ex["a"]["hold"] == H and ex["b"]["hold"] == 0.0 and ex["a"]["start"] == H
    assert "holds: 1 of 2 jobs held" in str(r)
    with pytest.raises(ValueError, match="other holds"):
        AnnealResult.of_assignment(p, x, evaluate(p, x), holds=h, message="", lam=1.0,
                                   backend="t", seed=0, chains=1, sweeps=0,
                                   sweeps_requested=0, seconds=0.0, compile_seconds=0.0,
                                   acceptance_rate=0.0, samples=x[None, :],
                                   chain_best=np.zeros(1), trace=np.zeros(0))
    for bad, msg in [({"zz": 1.0}, "unknown job 'zz'"), ({"a": "1"}, "job 'a': expected a "
                     "number"), ({"b": 1.0}, r"job 'b': expected a finite hold in \[0, 0\]"),
                     ({"a": -1.0}, "job 'a'"), ([1.0], "expected an object")]:
        with pytest.raises(InstanceError, match=msg):
            holds_from_names(p, bad)


def test_part1_results_carry_no_holds():
    p = compile_fleet(tiny_fleets()[0][1])
    r = solve_baseline(p, "greedy-cost")
    assert r.holds is None and not r.held
    assert "holds" not in r.to_dict() and "hold" not in r.explain()[0]
    assert "holds:" not in str(r)


# --------------------------------------------------------------------------- optimum

def test_brute_force_over_step_boundary_holds():
    p = compile_fleet(one_job_fleet())
    assert hold_candidates(p, 0, 0) == [0.0, H, 2 * H, 3 * H]
    best, x, h = brute_force_holds(p)
    assert best == 0.0 and h.tolist() == [H]      # the first free hour


def _tiny_tou_fleet() -> Fleet:
    """Three jobs on the tiny fleets' servers, the mid and slow ones on the day tariff
    (0.15 from 18 h, 0.10 from 21 h, 0.08 from 24 h), released in its dear evening and
    allowed to wait up to 6 h: a linear-penalty job and a no-deadline one."""
    f = dict(tiny_fleets())["tou"]
    return replace(f, hold_max_s=6 * H, jobs=(
        Job("e1", "resnet50", 2000.0 * H, release_s=20 * H, due_s=30 * H,
            penalty=Penalty("linear", 0.02, H)),
        Job("e2", "bert", 400.0 * H, release_s=19 * H),
        Job("e3", "resnet50", 1000.0 * H, release_s=22 * H, due_s=26 * H,
            penalty=Penalty("step", 0.01, 1.0))))


def test_holds_beat_the_best_assignment_held_zero():
    f = _tiny_tou_fleet()
    p = compile_fleet(f)
    best0, _x0, _ = brute_force(p)
    best, x, h = brute_force_holds(p)
    assert h is not None and (h > 0).any()
    assert best < best0 - 1e-9
    assert evaluate(p, x, h).search_objective == best
    # the grid: 0 and the tariff's step starts after each release, up to 6 h
    i = p.job_names.index("e1")
    i = int(np.flatnonzero(p.order == i)[0])     # internal index of e1 (released 20 h)
    assert hold_candidates(p, i, 1) == [0.0, 1 * H, 4 * H]
    assert hold_candidates(p, i, 0) == [0.0]      # the fast server's price is constant


def test_greedy_hold():
    # with every hold_max 0 it is greedy-cost exactly
    for _name, fleet in tiny_fleets() + tiny_node_fleets():
        p = compile_fleet(fleet)
        x, h = greedy_hold(p)
        np.testing.assert_array_equal(x, greedy_cost(p))
        assert not h.any()
    # the issue's case: it waits for the free hours
    r = solve_baseline(one_job_fleet(), "greedy-hold")
    assert r.energy_cost == 0.0 and r.fun == 0.0 and r.holds.tolist() == [H]
    # never past the deadline: due 1.5 h, the free hour would finish at 2 h
    f = one_gpu_fleet([Job("j", "m", 3600.0, due_s=1.5 * H, penalty=Penalty("step", 5.0))])
    assert solve_baseline(f, "greedy-hold").holds.tolist() == [0.0]
    # on the tiny tariff fleet it ends below greedy-cost, and re-scores exactly
    p = compile_fleet(_tiny_tou_fleet())
    r = solve_baseline(p, "greedy-hold")
    assert r.fun < solve_baseline(p, "greedy-cost").fun
    assert evaluate(p, r.x, r.holds).objective == r.fun


def test_milp_refuses_holds():
    from satea.milp import solve_milp
    f = replace(make_fleet("c", [Job("j", "resnet50", 1000.0)]), hold_max_s=60.0)
    with pytest.raises(NotImplementedError, match=r"milp: holds are not modelled \(job 'j' "
                       r"may be held up to 60 s\)"):
        solve_milp(f)


# --------------------------------------------------------------------------- CLI

def test_cli_hold_flags(tmp_path, capsys):
    inst, res = tmp_path / "f.json", tmp_path / "r.json"
    write_instance(replace(one_job_fleet(), hold_max_s=0.0), inst)
    # greedy-hold without --hold-max: nothing to hold
    assert main(["solve", str(inst), "--method", "greedy-hold", "--out", str(res),
                 "--quiet"]) == 0
    assert "holds" not in json.loads(res.read_text())
    assert main(["solve", str(inst), "--method", "greedy-hold", "--hold-max", "7200",
                 "--out", str(res), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "holds: 1 of 1 jobs held" in out and "hold" in out
    d = json.loads(res.read_text())
    assert d["holds"] == {"j": H} and d["hold_max_s"] == 7200.0 and d["energy_cost"] == 0.0
    # evaluate applies the recorded hold_max and the holds
    assert main(["evaluate", str(inst), str(res)]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["objective"] == d["objective"] == 0.0 and ev["held_jobs"] == 1
    # generate --hold-max writes the fleet-wide field
    gen = tmp_path / "g.json"
    assert main(["generate", "--jobs", "5", "--servers", "2", "--hold-max", "3600",
                 "--out", str(gen)]) == 0
    assert json.loads(gen.read_text())["hold_max_s"] == 3600.0
    assert read_instance(gen).hold_max_s == 3600.0


@pytest.mark.parametrize("argv,msg", [
    (["solve", "--hold-max", "-1"], "--hold-max: expected a finite number >= 0"),
    (["solve", "--hold-max", "nan"], "--hold-max: expected a finite number >= 0"),
    (["pareto", "--hold-max", "inf"], "--hold-max: expected a finite number >= 0"),
    (["generate", "--jobs", "3", "--servers", "1", "--hold-max", "x", "--out", "f.json"],
     "--hold-max: expected a number"),
])
def test_cli_hold_max_refusals(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_cli_refusals_one_line(tmp_path, capsys):
    inst = tmp_path / "f.json"
    write_instance(replace(make_fleet("c", [Job("j", "resnet50", 1000.0)]), hold_max_s=60.0),
                   inst)
    assert main(["solve", str(inst), "--method", "milp"]) == 2
    err = capsys.readouterr().err
    assert "milp: holds are not modelled" in err and err.count("\n") == 1
    gap = tmp_path / "g.txt"
    gap.write_text("1\n2 2\n1 2\n3 4\n1 1\n1 1\n5 5\n")
    assert main(["solve", str(gap), "--format", "orlib-gap", "--hold-max", "5"]) == 2
    assert "--hold-max applies to fleet instances" in capsys.readouterr().err
    res = tmp_path / "r.json"
    res.write_text(json.dumps({"format": "satea-result/1", "instance": "c",
                               "assignment": {"j": "fast"}, "holds": {"j": 120.0}}))
    assert main(["evaluate", str(inst), str(res)]) == 2
    err = capsys.readouterr().err
    assert "holds: job 'j': expected a finite hold in [0, 60] s" in err


def test_report_shows_holds(tmp_path):
    pytest.importorskip("matplotlib")
    from satea.report import write_report
    f = one_job_fleet()
    r = solve_baseline(f, "greedy-hold")
    page = write_report(f, r.to_dict(), tmp_path / "rep")
    text = page.read_text()
    assert "held jobs" in text and "saved by holding (energy cost)" in text
    # 1.1 (the same assignment held 0) - 0
    assert 'saved by holding (energy cost)</td><td class="l">1.1</td>' in text
    rows = (tmp_path / "rep" / "jobs.csv").read_text().splitlines()
    assert rows[0].endswith(",hold_s") and rows[1].endswith(",3600.0")


def test_cli_repeat_applies_the_recorded_hold_max(tmp_path, capsys):
    inst, res, res2 = tmp_path / "f.json", tmp_path / "r.json", tmp_path / "r2.json"
    write_instance(replace(worked_example(), hold_max_s=0.0), inst)
    assert main(["solve", str(inst), "--hold-max", "600", "--seed", "0", "--chains", "2",
                 "--sweeps", "5", "--out", str(res), "--quiet"]) == 0
    d = json.loads(res.read_text())
    assert d["hold_max_s"] == 600.0 and "holds" in d   # the problem allows holds
    assert main(["solve", str(inst), "--repeat", str(res), "--out", str(res2),
                 "--quiet"]) == 0
    d2 = json.loads(res2.read_text())
    assert d2["hold_max_s"] == 600.0 and d2["assignment"] == d["assignment"]
    assert main(["solve", str(inst), "--repeat", str(res), "--hold-max", "5"]) == 2
    assert "--hold-max with --repeat" in capsys.readouterr().err
