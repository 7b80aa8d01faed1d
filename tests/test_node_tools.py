"""Every tool on multi-GPU fleets (part 2): batches, shards, the CLI's solve, repeat,
evaluate, pareto and baselines, the MILP's refusal; results always re-score exactly."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import tiny_node_fleet_by_name
from satea.annealing import anneal, anneal_batch
from satea.baselines import greedy_cost, list_schedule, solve_baseline
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.io import write_instance
from satea.objective import evaluate


def _small(seed=0):
    return generate_fleet(60, 6, seed=seed, gpus_per_node=(1, 2, 4, 8), gang_share=0.2,
                          capacity=True, penalties=("none", "step", "linear", "exponential"))


def test_generator_draws_nodes_and_gangs_reproducibly():
    a, b = _small(3), _small(3)
    assert a == b
    assert {s.gpus for s in a.servers} <= {1, 2, 4, 8} and len({s.gpus for s in a.servers}) > 1
    assert any(j.gpus > 1 for j in a.jobs)
    p = compile_fleet(a)             # every gang job fits some node (validated)
    assert p.multi_gpu and p.has_capacity


def test_part1_generator_unchanged_by_the_new_arguments():
    assert generate_fleet(50, 5, seed=2) == generate_fleet(50, 5, seed=2, gpus_per_node=1,
                                                         gang_share=0.0)


def test_batch_equals_separate_runs_on_node_fleets():
    probs = [compile_fleet(_small(1)), compile_fleet(tiny_node_fleet_by_name("nodes"))]
    kw = dict(backend="numba", chains=4, sweeps=30, seed=5)
    batch = anneal_batch(probs, **kw)
    for p, rb in zip(probs, batch):
        r = anneal(p, **kw)
        np.testing.assert_array_equal(rb.x, r.x)
        assert rb.fun == r.fun == evaluate(p, r.x).objective


def test_shards_in_process_on_a_node_fleet():
    from satea import distributed
    p = compile_fleet(_small(2))
    r = distributed.solve(p, None, chains=4, sweeps=20, shards=2, seed=1)
    assert r.fun == evaluate(p, r.x).objective


def test_baselines_are_feasible_and_rescored():
    p = compile_fleet(_small(4))
    for x in (greedy_cost(p), list_schedule(p)):
        ev = evaluate(p, x)
        assert ev.allowed
    r = solve_baseline(p, "greedy-cost")
    assert r.fun == evaluate(p, r.x).objective


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "satea.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_cli_solve_repeat_evaluate_pareto(tmp_path):
    write_instance(_small(5), tmp_path / "f.json")
    r = _cli("solve", "f.json", "--chains", "2", "--sweeps", "30", "--seed", "3",
             "--out", "r.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    first = json.loads((tmp_path / "r.json").read_text())
    r = _cli("solve", "f.json", "--repeat", "r.json", "--out", "r2.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "r2.json").read_text())
    assert again["assignment"] == first["assignment"]
    assert again["objective"] == first["objective"]
    r = _cli("evaluate", "f.json", "r.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["objective"] == first["objective"]
    r = _cli("pareto", "f.json", "--points", "4", "--chains-per-lambda", "2", "--sweeps",
             "20", "--out", "front.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    front = json.loads((tmp_path / "front.json").read_text())
    assert len(front["points"]) >= 1


def test_cli_milp_refuses_nodes_in_one_line(tmp_path):
    write_instance(_small(6), tmp_path / "f.json")
    r = _cli("solve", "f.json", "--method", "milp", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "multi-GPU nodes are not modelled" in r.stderr


def test_explain_names_each_jobs_gpus():
    p = compile_fleet(tiny_node_fleet_by_name("nodes"))
    r = anneal(p, backend="numba", chains=2, sweeps=20, seed=0)
    rows = r.explain()
    gang = {j.name: j.gpus for j in tiny_node_fleet_by_name("nodes").jobs}
    for row in rows:
        assert len(row["gpu_indices"]) == gang[row["job"]]
        assert len(set(row["gpu_indices"])) == gang[row["job"]]


def test_gantt_draws_one_lane_per_gpu(tmp_path):
    """The Gantt of a node fleet: a bar per run of neighbouring lanes of each job, on
    the node's row split into one lane per GPU; labels name the node size."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from satea import plots
    fleet = tiny_node_fleet_by_name("nodes")
    p = compile_fleet(fleet)
    r = anneal(p, backend="numba", chains=2, sweeps=30, seed=1)
    v = plots.ResultView(p, r, fleet)
    assert [v.server_label(s).split()[1:3] for s in range(3)][:2] == [["A", "x4"], ["A", "x2"]]
    fig = Figure()
    ax = fig.add_subplot(1, 1, 1)
    late = v.ev.lateness > 0
    for s in range(p.n_servers):
        before = len(ax.patches)
        plots.gantt_row(ax, v, s, s, late, 10.0)
        jobs = np.flatnonzero(v.x == s)
        runs = 0
        for j in jobs:
            lanes = sorted(v.ev.gpu_lanes[j]) if p.server_gpus[s] > 1 else [0]
            runs += 1 + sum(b != a + 1 for a, b in zip(lanes, lanes[1:]))
        assert len(ax.patches) - before == runs
    assert plots.plot_gantt(v, tmp_path / "g.png").exists()


def test_bench_on_node_fleets():
    from satea.bench import run_bench
    doc = run_bench(["numba"], [(40, 4)], chains=2, seconds=0.2, gpus_per_node=4,
                    gang_share=0.2)
    assert doc["fleet"] == {"gpus_per_node": 4, "gang_share": 0.2}
    (row,) = doc["rows"]
    assert row["moves_per_s"] > 0 and np.isfinite(row["best_objective"])


@pytest.mark.parametrize("flags,needle", [(["--gang-share", "2"], "--gang-share"),
                                          (["--gpus-per-node", "0"], "--gpus-per-node"),
                                          (["--gpus-per-node", "2,x"], "--gpus-per-node")])
def test_cli_generate_refuses_bad_node_flags(tmp_path, flags, needle):
    r = _cli("generate", "--jobs", "3", "--servers", "2", *flags, "--out", "g.json",
             cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "g.json").exists()


def test_gang_share_without_multi_gpu_nodes_is_refused(tmp_path):
    # one-GPU nodes can run no gang job: the share was silently 0 (the name said gang0.3)
    with pytest.raises(ValueError, match="gang_share 0.3 needs nodes of 2 or more GPUs"):
        generate_fleet(10, 2, seed=0, gang_share=0.3)
    assert compile_fleet(generate_fleet(10, 2, seed=0, gang_share=0.3,
                                        gpus_per_node=(1, 2))).multi_gpu
    r = _cli("generate", "--jobs", "3", "--servers", "2", "--gang-share", "0.3", "--out",
             "g.json", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["satea: error: gang_share 0.3 needs nodes of 2 or "
                                             "more GPUs (gpus_per_node, --gpus-per-node), got "
                                             "nodes of 1"]


def test_cli_explain_shows_each_jobs_gpus(tmp_path):
    # explain() gives the GPU indices a job ran on; the table printed them not (a trial)
    assert _cli("generate", "--jobs", "6", "--servers", "2", "--gpus-per-node", "4",
                "--gang-share", "0.5", "--seed", "2", "--out", "n.json",
                cwd=tmp_path).returncode == 0
    r = _cli("solve", "n.json", "--seed", "0", "--sweeps", "50", "--chains", "2", "--explain",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines()]
    assert any(ln[:3] == ["job", "server", "gpus"] for ln in lines)
    gpus = {ln[0]: ln[2] for ln in lines if len(ln) == 8 and ln[0][:1] == "j" and ln[0] != "job"}
    assert len(gpus) == 6
    jobs = {j["name"]: j.get("gpus", 1)
            for j in json.loads((tmp_path / "n.json").read_text())["jobs"]}
    assert {name: len(v.split(",")) for name, v in gpus.items()} == jobs
