"""Lagrangian bounds (satea.bounds): never above a known optimum (brute force on random
tiny problems, the published OR-Library optima), certified (integer when the costs are),
and within 1% (gapd) / 2% (gapc) of the best known values; satea solve reports them."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import brute_force, tiny_assignment_arrays
from hypothesis import given, settings
from hypothesis import strategies as st

from satea.bounds import lagrangian_bound
from satea.compile import compile_assignment, compile_fleet
from satea.io import read_orlib_gap_problem

GAP = Path(__file__).resolve().parent / "data" / "gap"


def best_known():
    with open(GAP / "best_known.csv", newline="") as fh:
        return {(r["file"], int(r["problem_index"]), r["sense"]): float(r["best_known_value"])
                for r in csv.DictReader(fh)}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 7), st.integers(2, 3), st.booleans(),
       st.booleans())
def test_bound_never_exceeds_brute_force(seed, n, m, integer, maximize):
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 30, (n, m)).astype(float)
    res = rng.integers(1, 10, (n, m)).astype(float)
    if not integer:
        cost += rng.random((n, m))
        res += rng.random((n, m))
    cap = res.sum(axis=0) / m * rng.uniform(0.9, 1.6)
    if integer:
        cap = np.floor(cap)
    problem = compile_assignment(cost, res, cap, maximize=maximize)
    best, _, n_feasible = brute_force(problem)
    b = lagrangian_bound(problem, time_limit=0.5)
    if n_feasible == 0:
        return
    assert b.search_bound <= best + 1e-9 * max(1.0, abs(best))
    for v in b.bounds.values():
        assert v <= best + 1e-9 * max(1.0, abs(best))
    if integer:
        assert b.search_bound == int(b.search_bound)


def test_tiny_assignment_bound():
    problem = compile_assignment(**tiny_assignment_arrays())
    best, _, _ = brute_force(problem)
    b = lagrangian_bound(problem)
    assert b.search_bound <= best and b.search_bound >= 0.9 * best


@pytest.mark.parametrize("file,limit", [("gapc.txt", 0.02), ("gapd.txt", 0.01)])
def test_orlib_c_d_within_acceptance(file, limit):
    bk = best_known()
    for k in (1, 2, 5):      # the 5 x 100, 5 x 200 and 20 x 100 problems (CI time)
        cost, res, cap = read_orlib_gap_problem(GAP / file, k)
        b = lagrangian_bound(compile_assignment(cost, res, cap))
        best = bk[(file, k, "min")]
        assert b.bound <= best                 # valid: below the published optimum
        assert (best - b.bound) / best <= limit
        assert b.seconds <= 2.0 + 1.0          # 2 s target, slack for a shared CI core


def test_maximised_gap_gives_upper_bound():
    bk = best_known()
    cost, res, cap = read_orlib_gap_problem(GAP / "gap1.txt", 1)
    b = lagrangian_bound(compile_assignment(cost, res, cap, maximize=True))
    assert b.bound >= bk[("gap1.txt", 1, "max")]


def test_fleets_refused():
    from conftest import tiny_fleets
    with pytest.raises(ValueError, match="linear assignment"):
        lagrangian_bound(compile_fleet(tiny_fleets()[0][1]))


def test_solve_reports_bound(tmp_path):
    from satea.cli import main
    out = tmp_path / "r.json"
    assert main(["solve", str(GAP / "gapd.txt"), "--format", "orlib-gap", "--index", "1",
                 "--time-limit", "1", "--seed", "0", "--out", str(out), "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert d["bound"] <= 6353 <= d["objective"]
    assert d["gap_to_bound"] == pytest.approx((d["objective"] - d["bound"]) / d["objective"])
