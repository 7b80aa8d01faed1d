"""satea compare end to end on a tiny set: every run re-scored, JSONL, table and figures
written (CP-SAT skipped cleanly without OR-Tools)."""
import json
from pathlib import Path

import pytest

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
