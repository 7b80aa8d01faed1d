"""OR-Library GAP instances (tests/data/gap, shipped with the tests): the files read into
the generic assignment form agree with the published values (MILP), and the annealer at
its default settings reaches the published optimum on gap1 problems 1-5 and comes close on
a type-A problem. The full sweep (all 60 gap1-12 problems, gapa-gapd) lives in
benchmarks/quality.py; this subset keeps CI under a minute."""
import csv
import time
from pathlib import Path

import numpy as np
import pytest

from satea.annealing import anneal
from satea.baselines import greedy_energy, solve_baseline
from satea.compile import compile_assignment
from satea.io import read_orlib_gap, read_orlib_gap_problem
from satea.milp import solve_milp
from satea.objective import evaluate

GAP_DIR = Path(__file__).resolve().parent / "data" / "gap"


def best_known() -> dict:
    """(file, problem index, sense) -> published best-known value."""
    out = {}
    with open(GAP_DIR / "best_known.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["file"], int(row["problem_index"]), row["sense"])] = float(
                row["best_known_value"])
    return out


def problem(file: str, index: int, maximize: bool):
    cost, resource, capacity = read_orlib_gap_problem(GAP_DIR / file, index)
    return compile_assignment(cost, resource, capacity, maximize=maximize,
                              name=f"{Path(file).stem}-{index}")


def test_files_and_best_known_agree():
    bk = best_known()
    for f in range(1, 13):
        probs = read_orlib_gap(GAP_DIR / f"gap{f}.txt")
        assert len(probs) == 5
        for k in range(1, 6):
            assert (f"gap{f}.txt", k, "max") in bk and (f"gap{f}.txt", k, "min") in bk
    for t in "abcd":
        assert len(read_orlib_gap(GAP_DIR / f"gap{t}.txt")) == 6


def test_names_follow_file_order():
    p = problem("gap1.txt", 1, True)
    assert p.job_names[:2] == ("j1", "j2") and p.job_names[-1] == f"j{p.n_jobs}"
    assert p.server_names == tuple(f"a{i + 1}" for i in range(p.n_servers))
    assert (p.n_jobs, p.n_servers) == (15, 5)


@pytest.mark.parametrize("index", [1, 2])
def test_milp_reproduces_published_optima(index):
    bk = best_known()
    for sense in ("max", "min"):
        r = solve_milp(problem("gap1.txt", index, sense == "max"), time_limit=30)
        assert r.status == "optimal"
        assert r.objective == bk[("gap1.txt", index, sense)]
        assert r.bound == pytest.approx(r.objective, abs=1e-6)


def test_milp_type_a():
    r = solve_milp(problem("gapa.txt", 1, False), time_limit=30)
    assert r.status == "optimal" and r.objective == best_known()[("gapa.txt", 1, "min")]


@pytest.mark.parametrize("index", range(1, 6))
def test_annealer_defaults_reach_gap1_optima(index):
    """gap1 (5 agents x 15 jobs, maximised): default chains and sweeps, numba backend."""
    p = problem("gap1.txt", index, True)
    r = anneal(p, backend="numba", seed=0)
    assert r.feasible
    assert r.fun == best_known()[("gap1.txt", index, "max")]
    assert evaluate(p, r.x).objective == r.fun


def test_annealer_type_a_close_to_optimum():
    """a05100 (5 agents x 100 jobs, minimised) within 1% of the optimum in seconds."""
    p = problem("gapa.txt", 1, False)
    t0 = time.perf_counter()
    r = anneal(p, backend="numba", seed=0, time_limit=20.0)
    assert time.perf_counter() - t0 < 40
    assert r.feasible
    opt = best_known()[("gapa.txt", 1, "min")]
    assert opt <= r.fun <= 1.01 * opt


def test_baselines_on_gap_are_feasible_or_say_so():
    p = problem("gap1.txt", 1, True)
    x = greedy_energy(p)
    r = solve_baseline(p, "greedy")
    assert np.array_equal(r.x, x)
    assert r.feasible == evaluate(p, x).feasible
    if not r.feasible:
        assert "no feasible" in r.message
