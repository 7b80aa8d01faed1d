"""satea compare end to end on a tiny set: every run re-scored, JSONL, table and figures
written (CP-SAT skipped cleanly without OR-Tools)."""
import json
from pathlib import Path

import pytest

from satea.annealing import anneal
from satea.cli import main
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.io import read_instance, write_instance
from satea.objective import evaluate

GAP = Path(__file__).resolve().parent / "data" / "gap"


def test_compare_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    try:
        import ortools  # noqa: F401
        methods = "satea,cpsat,milp,greedy"
    except ImportError:
        methods = "satea,milp,greedy"
    fleet = generate_fleet(6, 2, seed=3, penalties=("step", "linear"),
                           price_curve_fraction=0.0)
    f = tmp_path / "t6.json"
    write_instance(fleet, f)
    out = tmp_path / "cmp"
    assert main(["compare", str(f), f"{GAP / 'gap1.txt'}:1", "--methods", methods,
                 "--budgets", "0.3", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    recs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 2 * len(methods.split(","))
    problem = compile_fleet(read_instance(f))
    for r in recs:
        assert r["x"] is not None, r
        if r["instance"] == "t6":
            assert r["objective"] == evaluate(problem, r["x"]).objective
    exact = [r for r in recs if r["instance"] == "gap1-1" and r["method"] in ("milp", "cpsat")]
    assert all(r["objective"] == 261 for r in exact)
    table = (out / "table.md").read_text()
    assert "gap1-1" in table and "| 261 |" in table
    assert (out / "objective_vs_time.png").stat().st_size > 0
    assert (out / "profile.png").stat().st_size > 0


def test_compare_refuses_bad_method(tmp_path, capsys):
    assert main(["compare", str(GAP / "gap1.txt") + ":1", "--methods", "satea,nope",
                 "--out", str(tmp_path / "c")]) == 2
    assert "nope" in capsys.readouterr().err


# ---------------------------------------------------------------------------- holds

H = 3600.0


def held_fleet():
    """One GPU on an hourly curve, dear in hour 1 and free in hours 2-4; one job of an
    hour released at 0, due in 4 h, that may be held up to 3 h: holding it an hour saves
    the dear hour's dynamic energy (the answer without holds costs more)."""
    from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
    return Fleet(name="held", gpus={"G": GPUType("G", 16.0, 100.0)},
                 models={"m": DNNModel("m", 1.0)},
                 profiles=(Profile("m", "G", 1.0, 1100.0),),
                 servers=(Server("s0", "G", price_curve="p"),),
                 jobs=(Job("j", "m", 3600.0, due_s=4 * H, penalty=Penalty("linear", 1.0, H)),),
                 price_curves={"p": PriceCurve("p", H, (1.0, 0.0, 0.0, 0.0))},
                 hold_max_s=3 * H)


def strict_json(line):
    """json.loads that refuses NaN / Infinity (not JSON)."""
    def refuse(name):
        raise ValueError(f"{name} in runs.jsonl")
    return json.loads(line, parse_constant=refuse)


def test_compare_rescores_with_the_holds_each_method_chose(tmp_path):
    pytest.importorskip("matplotlib")
    from satea.result import holds_from_names
    f = tmp_path / "held.json"
    write_instance(held_fleet(), f)
    problem = compile_fleet(read_instance(f))
    anneal(problem, sweeps=20, seed=0)   # kernels compiled and cached before the child runs
    out = tmp_path / "cmp"
    assert main(["compare", str(f), "--methods", "satea,greedy,milp", "--budgets", "1",
                 "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    lines = (out / "runs.jsonl").read_text().splitlines()
    recs = {r["method"]: r for r in map(json.loads, lines)}
    sa = recs["satea"]
    h = holds_from_names(problem, sa["holds"])      # by job name, as result files write
    assert sa["holds"] and sa["holds"]["j"] > 0
    held = evaluate(problem, sa["x"], h)
    assert held.feasible
    assert sa["objective"] == held.objective       # re-scored with its holds ...
    assert sa["objective"] < evaluate(problem, sa["x"]).objective - 0.1  # ... which pay
    assert sa["trajectory"][-1][1] == sa["objective"]   # the trajectory ends there
    gr = recs["greedy"]                             # holds no job: none, scored so
    assert gr["holds"] is None
    assert gr["objective"] == evaluate(problem, gr["x"]).objective
    assert gr["trajectory"][-1][1] == gr["objective"]
    assert [strict_json(x) for x in lines]          # valid JSON: no NaN
    mi = recs["milp"]                               # refuses holds: no value, null
    assert mi["status"] == "refused" and mi["x"] is None
    assert mi["objective"] is None and mi["feasible"] is False
    assert '"objective": null' in lines[[json.loads(x)["method"] for x in lines].index("milp")]
    table = (out / "table.md").read_text()
    assert f"| {sa['objective']:.6g} / {sa['objective']:.6g} (0) |" in table
    assert "refused [0/1]" in table and "infeasible" not in table.split("\n\n")[0]
    assert "milp: refused: milp: holds are not modelled" in table
    # read back (null stays None) and re-rendered: the same table
    from satea.compare import read_runs, summarise, write_table
    back = read_runs(out / "runs.jsonl")
    assert [r["objective"] for r in back] == [r["objective"] for r in map(json.loads, lines)]
    summary = summarise(back, {})
    write_table(summary, ["satea", "greedy", "milp"], [1.0], tmp_path / "again.md")
    assert (tmp_path / "again.md").read_text() == table.split("\n\nEach run")[0] + "\n"


def test_table_tells_refused_and_errors_from_infeasible(tmp_path):
    from satea.compare import failure, summarise, write_table

    def rec(method, seed, status="done", x=None, feasible=False, objective=None,
            message=None):
        return dict(instance="i", method=method, budget=1.0, seed=seed, status=status,
                    x=x, feasible=feasible, objective=objective, message=message,
                    trajectory=[[0.5, objective]] if feasible else [])
    recs = [rec("cpsat", 0, "refused", message="cpsat: price curves are not modelled"),
            rec("milp", 0, "error", message="timed out"),
            rec("greedy", 0, x=[0]),                                    # an infeasible answer
            rec("satea", 0, x=[0], feasible=True, objective=2.0),
            rec("satea", 1, "error", message="boom"),
            rec("ext", 0, "unavailable", message="no ortools"),
            rec("time", 0, "time_limit")]                               # nothing in time
    assert [failure(r) for r in recs] == ["refused", "error", "infeasible", "", "error",
                                          "unavailable", "no answer"]
    methods = ["cpsat", "milp", "greedy", "satea", "ext", "time"]
    text = write_table(summarise(recs, {}), methods, [1.0], tmp_path / "t.md").read_text()
    row = {line.split(" | ")[2]: line.split(" | ")[3] for line in text.splitlines()
           if line.startswith("| i |")}
    assert row == {"cpsat": "refused [0/1]", "milp": "error [0/1]",
                   "greedy": "infeasible [0/1]", "satea": "2 / 2 (0) [1/2; 1 error]",
                   "ext": "unavailable [0/1]", "time": "no answer [0/1]"}
    assert "- i cpsat: refused: cpsat: price curves are not modelled" in text
    assert "- i milp: error: timed out" in text


def test_compare_figures_without_any_answer_warn_nothing(tmp_path, recwarn):
    pytest.importorskip("matplotlib")
    from satea.compare_plots import plot_objective_vs_time, plot_profile
    recs = [dict(instance="i", method="milp", budget=1.0, seed=0, status="refused",
                 x=None, feasible=False, objective=None, trajectory=[])]
    plot_objective_vs_time(recs, {}, ["milp"], [1.0], tmp_path / "o.png")
    plot_profile(recs, {}, ["milp"], [1.0], tmp_path / "p.png")
    assert not [w for w in recwarn if "legend" in str(w.message)]
    assert (tmp_path / "o.png").stat().st_size > 0


def test_a_run_with_bad_holds_is_an_error_not_infeasible():
    from satea.compare import failure
    # _rescore keeps the assignment of a run whose holds the problem refuses
    assert failure({"status": "error", "x": [0, 1], "feasible": False}) == "error"
    assert failure({"status": "done", "x": [0, 1], "feasible": False}) == "infeasible"
    assert failure({"status": "done", "x": None, "feasible": False}) == "no answer"
