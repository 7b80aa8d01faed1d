"""The command line: the main job, one-line errors with exit code 2, result files."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from satea.cli import main
from satea.compile import compile_fleet
from satea.io import read_instance
from satea.objective import evaluate
from satea.result import assignment_from_names


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "satea.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_solve_builtin_example_writes_rescored_result(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", "--seed", "0", "--chains", "16", "--sweeps", "100", "--out", str(out),
                 "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert d["format"] == "satea-result/1" and d["backend"] == "numba" and d["seed"] == 0
    from satea.catalogue import example_fleet
    problem = compile_fleet(example_fleet())
    ev = evaluate(problem, assignment_from_names(problem, d["assignment"]))
    assert d["objective"] == pytest.approx(ev.objective, rel=1e-12)
    assert (d["energy_cost"], d["penalty"], d["feasible"]) == (
        pytest.approx(ev.energy_cost, rel=1e-12), pytest.approx(ev.penalty, rel=1e-12),
        ev.feasible)


def test_generate_solve_evaluate_round_trip(tmp_path, capsys):
    inst, res = tmp_path / "f.json", tmp_path / "r.json"
    assert main(["generate", "--jobs", "30", "--servers", "5", "--seed", "3", "--capacity",
                 "--out", str(inst)]) == 0
    rc = main(["solve", str(inst), "--backend", "numba", "--seed", "1", "--chains", "8",
               "--sweeps", "50", "--lambda", "2.5", "--explain", "--out", str(res), "--quiet"])
    d = json.loads(res.read_text())
    assert rc == (0 if d["feasible"] else 1)
    assert d["lambda"] == 2.5 and len(d["jobs"]) == 30
    capsys.readouterr()
    main(["evaluate", str(inst), str(res)])
    ev = json.loads(capsys.readouterr().out)
    assert ev["objective"] == pytest.approx(d["objective"], rel=1e-12)
    assert ev["lambda"] == 2.5
    # same seed, same result
    res2 = tmp_path / "r2.json"
    main(["solve", str(inst), "--backend", "numba", "--seed", "1", "--chains", "8",
          "--sweeps", "50", "--lambda", "2.5", "--out", str(res2), "--quiet"])
    assert json.loads(res2.read_text())["assignment"] == d["assignment"]


@pytest.mark.parametrize("args,needle", [
    (["solve", "missing.json"], "missing.json: no such file"),
    (["solve", "--chains", "0"], "chains"),
    (["solve", "--backend", "tpu"], "unknown backend 'tpu'"),
    (["solve", "--time-limit", "-1"], "time-limit"),
    (["solve", "--lambda", "nan"], "lambda"),
    (["generate", "--jobs", "0", "--servers", "2", "--out", "x.json"], "n_jobs"),
    (["generate", "--jobs", "3", "--servers", "2", "--slack", "4,2", "--out", "x.json"],
     "--slack: expected SLACK or LO,HI with 0 < LO <= HI <= 1000, got '4,2'"),
    (["bench", "--sizes", "10by4"], "sizes"),
    (["bench", "--backends", "gpu"], "unknown backend 'gpu'"),
])
def test_bad_input_one_line_exit_2(args, needle, tmp_path):
    r = subprocess.run([sys.executable, "-m", "satea.cli", *args], capture_output=True,
                       text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satea: error:"), r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_bad_instance_file_named_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "satea-instance/1", "name": "x", "gpus": {},
                               "models": {}, "profiles": [], "servers": [], "jobs": []}))
    r = run_cli("solve", str(bad))
    assert r.returncode == 2 and "bad.json" in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_time_limit_stops_and_writes(backend, tmp_path):
    # the limit is checked between sweeps: keep the reference's sweeps short (100 jobs)
    inst, res = tmp_path / "f.json", tmp_path / "r.json"
    jobs = {"numpy": "100", "numba": "400"}[backend]
    main(["generate", "--jobs", jobs, "--servers", "10", "--seed", "0", "--out", str(inst)])
    t0 = time.perf_counter()
    r = run_cli("solve", str(inst), "--backend", backend, "--seed", "0", "--sweeps", "10000000",
                "--chains", "32", "--time-limit", "5", "--out", str(res), "--quiet")
    d = json.loads(res.read_text())
    assert r.returncode in (0, 1), r.stderr
    assert d["stopped_by"] == "time_limit"
    # the limit counts setup (sizing, start-up) and search; not a one-off compile
    run = d["run"]
    used = run["setup_seconds"] + d["seconds"] - run["compile_seconds_in_call"]
    assert 4.5 <= used <= 5.5  # within 10% of the limit
    assert time.perf_counter() - t0 < 60


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_writes_best_so_far(tmp_path):
    inst, res = tmp_path / "f.json", tmp_path / "r.json"
    main(["generate", "--jobs", "400", "--servers", "40", "--seed", "0", "--out", str(inst)])
    # a child of a background job inherits SIGINT ignored (then Python installs no
    # KeyboardInterrupt handler): give it the default disposition, as a terminal would
    p = subprocess.Popen([sys.executable, "-m", "satea.cli", "solve", str(inst), "--backend",
                          "numba", "--seed", "0", "--sweeps", "10000000", "--out", str(res),
                          "--progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # wait until the search runs (compile and start-up behind it: the forced progress
    # display writes setup steps, then a sweeps line every few seconds), then interrupt
    try:
        lines = [p.stderr.readline()]
        while lines[-1].startswith("setup:"):
            lines.append(p.stderr.readline())
        assert lines[-1].startswith("sweeps "), lines
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
    finally:   # never leave a 10-million-sweep run behind
        if p.poll() is None:
            p.kill()
            p.wait()
    d = json.loads(res.read_text())
    assert d["stopped_by"] == "interrupt", err
    problem = compile_fleet(read_instance(inst))
    ev = evaluate(problem, assignment_from_names(problem, d["assignment"]))
    assert d["objective"] == pytest.approx(ev.objective, rel=1e-12)


def test_solve_without_a_terminal_writes_only_the_summary(tmp_path, capsys):
    """Pipes and logs get no live lines (no setup steps, no start line) unless --progress
    asks for them; --progress writes the setup steps and sweeps lines."""
    assert main(["solve", "--seed", "0", "--sweeps", "20", "--chains", "2"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "objective" in cap.out
    assert main(["solve", "--seed", "0", "--sweeps", "20", "--chains", "2", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "setup: sizing the schedule" in err and "sweeps 20/20" in err


def test_info_lists_backends(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backend  numba: available" in out and "backend auto -> numba" in out


def _valid_instance():
    return {
        "format": "satea-instance/1", "name": "x", "lambda": 1.0,
        "gpus": {"V100": {"memory_gb": 32, "idle_w": 40}},
        "price_curves": {"pjm": {"step_s": 3600, "prices_per_kwh": [0.02, 0.05]}},
        "models": {"resnet50": {"memory_gb": 9}},
        "profiles": [{"model": "resnet50", "gpu": "V100", "throughput": 1200.0, "power_w": 290}],
        "servers": [{"name": "s0", "gpu": "V100", "price_per_kwh": 0.12, "capacity_s": 86400},
                    {"name": "s1", "gpu": "V100", "price_curve": "pjm"}],
        "jobs": [{"name": "j0", "model": "resnet50", "samples": 4.0e7, "due_s": 36000,
                  "penalty": {"kind": "linear", "weight": 5.0, "scale_s": 3600}}],
    }


def _mutate(path, value):
    d = _valid_instance()
    *keys, last = path
    node = d
    for k in keys:
        node = node[k]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return d


BAD = {
    "unknown model in job": ((("jobs", 0, "model"), "vgg"), "job 'j0'"),
    "unknown gpu in server": ((("servers", 0, "gpu"), "X100"), "server 's0'"),
    "unknown gpu in profile": ((("profiles", 0, "gpu"), "X100"), "profiles[0]"),
    "unknown model in profile": ((("profiles", 0, "model"), "vgg"), "profiles[0]"),
    "duplicate server name": ((("servers", 1, "name"), "s0"), "s0"),
    "negative work": ((("jobs", 0, "samples"), -5), "samples"),
    "NaN throughput": ((("profiles", 0, "throughput"), float("nan")), "throughput"),
    "negative power": ((("profiles", 0, "power_w"), -1), "power_w"),
    "negative carbon": ((("servers", 0, "carbon_g_per_kwh"), -0.1), "carbon_g_per_kwh"),
    "missing samples": ((("jobs", 0, "samples"), KeyError), "samples"),
    "unknown penalty kind": ((("jobs", 0, "penalty", "kind"), "quadratic"), "quadratic"),
    "non-positive scale": ((("jobs", 0, "penalty", "scale_s"), 0), "scale_s"),
    "no server can run": ((("models", "resnet50", "memory_gb"), 64), "no server can run"),
    "wrong format tag": ((("format",), "satea-instance/2"), "satea-instance/1"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_instance_refused_with_named_entry(case, tmp_path, capsys):
    (path, value), needle = BAD[case]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(_mutate(path, value)))  # json writes NaN as the bare token
    assert main(["solve", str(f), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("satea: error:") and needle in err[0], err


def test_malformed_json_refused(tmp_path, capsys):
    f = tmp_path / "bad.json"
    f.write_text('{"format": "satea-instance/1",')
    assert main(["solve", str(f)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "line 1" in err


@pytest.mark.parametrize("method", ["greedy", "list", "random"])
def test_solve_with_baseline_method(method, tmp_path):
    out = tmp_path / "r.json"
    assert main(["solve", "--method", method, "--quiet", "--out", str(out)]) in (0, 1)
    d = json.loads(out.read_text())
    assert d["backend"] == method
    from satea.catalogue import example_fleet
    problem = compile_fleet(example_fleet())
    ev = evaluate(problem, assignment_from_names(problem, d["assignment"]))
    assert d["objective"] == pytest.approx(ev.objective, rel=1e-12)


def test_solve_in_process_shards_reproducible(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        assert main(["solve", "--shards", "2", "--chains", "8", "--sweeps", "30", "--seed", "4",
                     "--quiet", "--out", str(out)]) in (0, 1)
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert da["assignment"] == db["assignment"] and da["chains"] == 8


def test_empty_planning_window_solves_to_the_empty_assignment(tmp_path):
    inst, res = tmp_path / "empty.json", tmp_path / "r.json"
    inst.write_text(json.dumps({
        "format": "satea-instance/1", "name": "empty",
        "gpus": {"a100": {"memory_gb": 80, "idle_w": 50}}, "models": {"m": {"memory_gb": 10}},
        "profiles": [{"model": "m", "gpu": "a100", "throughput": 1.0, "power_w": 300}],
        "servers": [{"name": "s1", "gpu": "a100", "price_per_kwh": 0.1},
                    {"name": "s2", "gpu": "a100", "price_per_kwh": 0.1, "capacity_s": 3600}],
        "jobs": []}))
    assert main(["solve", str(inst), "--seed", "0", "--out", str(res), "--quiet"]) == 0
    d = json.loads(res.read_text())
    assert d["assignment"] == {} and d["objective"] == 0.0 and d["feasible"] is True
    assert d["sweeps"] == 0 and d["run"]["reason"] == "no jobs to place"


def test_outputs_and_extras_are_checked_before_the_search(tmp_path, capsys, monkeypatch):
    import satea.distributed as sd
    missing = tmp_path / "no-such-dir" / "r.json"
    t0 = time.perf_counter()
    assert main(["solve", "--seed", "0", "--out", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"satea: error: --out: folder {str(missing.parent)!r} does not exist"]
    assert time.perf_counter() - t0 < 5       # refused before any search

    def no_dask():
        raise ImportError("satea.distributed needs Dask's distributed scheduler, which is "
                          "not installed (No module named 'distributed'). Install it with: "
                          + sd.INSTALL_HINT)
    monkeypatch.setattr(sd, "require_dask", no_dask)
    assert main(["solve", "--seed", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("satea: error: satea.distributed needs Dask")
    assert main(["pareto", "--seed", "0", "--csv", str(missing)]) == 2
    assert "--csv: folder" in capsys.readouterr().err


def test_evaluate_names_both_files_when_they_do_not_fit(tmp_path, capsys):
    a, b, res = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "r.json"
    main(["generate", "--jobs", "8", "--servers", "2", "--seed", "1", "--out", str(a)])
    main(["generate", "--jobs", "9", "--servers", "2", "--seed", "2", "--out", str(b)])
    assert main(["solve", str(a), "--seed", "0", "--sweeps", "5", "--chains", "2",
                 "--out", str(res), "--quiet"]) in (0, 1)
    d = json.loads(res.read_text())
    d["instance"] = "another-fleet"
    d["assignment"]["not-a-job"] = next(iter(d["assignment"].values()))
    res.write_text(json.dumps(d))
    capsys.readouterr()
    assert main(["evaluate", str(a), str(res)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"result file {str(res)!r} does not fit instance file {str(a)!r}" in err[0]
    assert "unknown job 'not-a-job'" in err[0] and "'another-fleet'" in err[0]


def test_explain_columns_are_the_explain_keys(capsys):
    assert main(["solve", "--seed", "0", "--sweeps", "20", "--chains", "2", "--explain"]) in (0, 1)
    out = capsys.readouterr().out.splitlines()
    head = next(line for line in out if line.split()[:2] == ["job", "server"])
    from satea.annealing import anneal
    from satea.catalogue import example_fleet
    keys = list(anneal(example_fleet(), seed=0, sweeps=2, chains=1).explain()[0])
    assert head.split() == keys


def test_constant_prices_let_the_milp_solve(tmp_path, capsys):
    from satea.catalogue import example_fleet
    ex = example_fleet()
    flat = ex.with_constant_prices()
    assert not flat.price_curves and all(s.price_curve is None for s in flat.servers)
    for s, f in zip(ex.servers, flat.servers):
        if s.price_curve:
            c = ex.price_curves[s.price_curve].prices_per_kwh
            assert f.price_per_kwh == pytest.approx(sum(c) / len(c))
        else:
            assert f == s
    inst = tmp_path / "small.json"
    assert main(["generate", "--jobs", "12", "--servers", "3", "--seed", "4",
                 "--constant-prices", "--out", str(inst)]) == 0
    assert "price_curve" not in inst.read_text().replace('"price_curves": {}', "")
    assert main(["solve", str(inst), "--method", "milp", "--quiet"]) in (0, 1)
    assert main(["solve", "--method", "milp"]) == 2          # the example has a curve
    assert "--constant-prices" in capsys.readouterr().err


def test_gap_explain_shows_cost_and_resource(capsys, tmp_path):
    """For an assignment problem --explain (and explain()) gives what a GAP has: each job's
    server with its index in x, its cost there (the caller's sense) and resource use."""
    from satea.annealing import anneal
    from satea.compile import compile_assignment
    cost = np.array([[3.0, 9.0], [8.0, 2.0], [5.0, 5.0]])
    res = np.array([[1.0, 4.0], [2.0, 3.0], [6.0, 1.0]])
    p = compile_assignment(cost, res, np.array([10.0, 10.0]), maximize=True)
    r = anneal(p, chains=2, sweeps=50, seed=0)
    rows = r.explain()
    assert [e["server_index"] for e in rows] == r.x.tolist()
    assert [e["cost"] for e in rows] == [cost[i, s] for i, s in enumerate(r.x)]
    assert [e["resource"] for e in rows] == [res[i, s] for i, s in enumerate(r.x)]
    assert sum(e["cost"] for e in rows) == r.fun
    f = tmp_path / "g.txt"
    f.write_text("1\n2 3\n3 8 5\n9 2 5\n1 2 6\n4 3 1\n10 10\n")
    assert main(["solve", str(f), "--format", "orlib-gap", "--maximize", "--seed", "0",
                 "--explain", "--sweeps", "50", "--chains", "2"]) == 0
    out = capsys.readouterr().out
    assert "server_index" in out and "resource" in out and "completion" not in out


def test_workers_time_limit_counts_the_cluster_start(monkeypatch, capsys):
    """--workers N --time-limit T: starting the cluster is inside T (a start that takes
    0.8 s is simulated; the shards then run in this process)."""
    import contextlib

    import satea.distributed as sd

    @contextlib.contextmanager
    def slow_connect(**kw):
        time.sleep(0.8)
        yield None

    monkeypatch.setattr(sd, "connect", slow_connect)
    # the shards' kernels (anneal_batch's) compiled or loaded before the clock: a compile
    # is outside the limit but inside the wall time measured here
    assert main(["solve", "--seed", "0", "--workers", "2", "--chains", "2",
                 "--sweeps", "2"]) == 0
    capsys.readouterr()
    t0 = time.perf_counter()
    assert main(["solve", "--seed", "0", "--workers", "2", "--chains", "2",
                 "--time-limit", "2"]) == 0
    wall = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert "search" in out and wall <= 2.0 + 0.5, wall


def test_exact_method_without_an_assignment_is_one_line_exit_1(tmp_path):
    """Capacities no assignment fits: HiGHS proves the MILP infeasible; the command line
    says so in one line (no traceback), exits 1 and writes no result."""
    inst, res = tmp_path / "f.json", tmp_path / "r.json"
    assert main(["generate", "--jobs", "6", "--servers", "2", "--seed", "1",
                 "--constant-prices", "--out", str(inst)]) == 0
    d = json.loads(inst.read_text())
    for s in d["servers"]:
        s["capacity_s"] = 1.0          # every job needs more than a second of GPU time
    inst.write_text(json.dumps(d))
    p = run_cli("solve", str(inst), "--method", "milp", "--out", str(res))
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert p.stderr.startswith("satea: error: milp:") and "infeasible" in p.stderr
    assert not res.exists()
