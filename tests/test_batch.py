"""anneal_batch: many problems in one call give exactly what separate anneal calls give.

The batch kernels (kernels/batch.py) run the shared per-chain logic on views of packed
problems; these tests hold them to the single-problem kernels draw for draw, through the
public API, on problems of mixed sizes and kinds (assignment problems without job lists,
fleets with them, an empty planning window) in one batch.
"""
import json

import numpy as np
import pytest

from conftest import allowed_servers, brute_force, tiny_assignment_arrays, tiny_fleet_by_name
from satea import anneal, anneal_batch
from satea.cli import main
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.kernels import batch as kbatch
from satea.kernels.layout import problem_tuple
from satea.model import Fleet
from satea.schedules import sample_move_scale, sample_move_scales


def _mixed_problems():
    rng = np.random.default_rng(0)
    gaps = [compile_assignment(rng.integers(1, 30, (n, m)).astype(float),
                               rng.integers(1, 10, (n, m)).astype(float),
                               np.full(m, 4.0 * n), name=f"r{n}x{m}")
            for n, m in ((10, 3), (7, 2), (16, 5))]
    fleets = [compile_fleet(tiny_fleet_by_name(name)) for name in ("mixed", "tou")]
    fleets.append(compile_fleet(generate_fleet(30, 4, seed=1, capacity=True)))
    return gaps[:1] + fleets[:1] + gaps[1:] + fleets[1:]


def _same(a, b):
    """Every outcome of a run that its seed decides (not its timings)."""
    assert a.backend == b.backend
    np.testing.assert_array_equal(a.x, b.x)
    assert a.fun == b.fun and a.feasible == b.feasible and a.lam == b.lam
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.chain_best, b.chain_best)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert a.acceptance_rate == b.acceptance_rate
    assert (a.sweeps, a.sweeps_requested, a.stopped_by) == (b.sweeps, b.sweeps_requested,
                                                            b.stopped_by)
    da, db = a.settings.to_dict(), b.settings.to_dict()
    da["sizing"].pop("seconds", None)
    db["sizing"].pop("seconds", None)
    for d in (da, db):
        for timing in ("move_seconds", "batch_seconds"):
            d["sizing"].pop(timing, None)
    assert da == db


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_batch_equals_separate_runs(backend):
    problems = _mixed_problems()
    kw = dict(chains=5, sweeps=40 if backend == "numpy" else 300, seed=3, backend=backend)
    batch = anneal_batch(problems, **kw)
    assert len(batch) == len(problems)
    for i, (p, r) in enumerate(zip(problems, batch)):
        _same(anneal(p, **kw), r)
        assert r.info["batch"] == {"index": i, "problems": len(problems)}


def test_default_runs_are_sized_and_stopped_as_alone():
    """Default settings: each problem's schedule is sized (together) exactly as alone, and
    each stops by the converged rule at its own sweep."""
    problems = _mixed_problems()[:4]
    batch = anneal_batch(problems, chains=4, seed=11)
    for p, r in zip(problems, batch):
        alone = anneal(p, chains=4, seed=11)
        _same(alone, r)
        assert r.stopped_by == "converged"
    assert len({r.sweeps for r in batch}) > 1     # they did stop at different sweeps


def test_batched_sizing_equals_sizing_alone():
    problems = _mixed_problems()
    together = sample_move_scales(problems, 5, lams=[1.0] * len(problems),
                                  descend=[True, False] * 3)
    for p, s, d in zip(problems, together, [True, False] * 3):
        alone = sample_move_scale(p, 5, lam=1.0, descend=d)
        for f in ("median_uphill", "low_uphill", "high_uphill", "median_resource",
                  "local_median_uphill", "local_low_uphill", "quantum", "jobs_sampled"):
            assert getattr(s, f) == pytest.approx(getattr(alone, f), rel=0, abs=0,
                                                  nan_ok=True), f


def test_pack_views_give_each_problem_back():
    """The packed problem tuples, viewed back (the kernels' views, run as Python), equal
    each problem's own tuple field by field."""
    problems = _mixed_problems()
    Ps = [problem_tuple(p) for p in problems]
    flat = kbatch.pack_problems(Ps)
    padded = kbatch.pack_problems(Ps, padded=True)
    assert sum(a.nbytes for a in flat[0]) == sum(a.nbytes for P in Ps for a in P)
    for i, P in enumerate(Ps):   # register_jitable: plain Python here
        for view in (kbatch.problem_view(*flat, i), kbatch.problem_view_padded(*padded, i)):
            assert len(view) == len(P)
            for a, b in zip(view, P):
                np.testing.assert_array_equal(a, b)


def test_brute_force_optima_in_one_batch():
    problems = [compile_fleet(tiny_fleet_by_name(n)) for n in ("step", "exponential", "mixed")]
    problems.append(compile_assignment(**tiny_assignment_arrays()))
    for p, r in zip(problems, anneal_batch(problems, chains=8, sweeps=400, seed=2)):
        assert r.fun == pytest.approx(brute_force(p)[0], rel=1e-9)


def test_empty_problem_and_warm_starts_in_a_batch():
    base = tiny_fleet_by_name("step")
    empty = compile_fleet(Fleet("empty", base.gpus, base.models, base.profiles, base.servers,
                                ()))
    gap = compile_assignment(**tiny_assignment_arrays())
    x0 = np.array([opts[0] for opts in allowed_servers(gap)])
    res = anneal_batch([empty, gap], chains=4, sweeps=50, seed=1, x0=[None, x0])
    assert res[0].x.size == 0 and res[0].message.startswith("No jobs")
    _same(anneal(gap, chains=4, sweeps=50, seed=1, x0=x0), res[1])
    with pytest.raises(ValueError, match="x0: expected None or a list of 2"):
        anneal_batch([empty, gap], chains=4, sweeps=5, seed=1, x0=x0)


def test_time_limit_and_callback_apply_to_the_batch():
    problems = _mixed_problems()
    res = anneal_batch(problems, seed=0, time_limit=1.5)
    for r in res:   # every problem's schedule reached its cold end at the deadline
        assert r.stopped_by == "time_limit" and r.sweeps > 1
        assert r.info["schedule"]["blocks"][-1][3] == 1.0
    seen = []

    def stop_after_two(progress):
        if progress.phase == "search":
            seen.append(progress)
        assert progress.problems == len(problems)
        return len(seen) >= 2

    res = anneal_batch(problems, seed=0, chains=2, sweeps=10**6, callback=stop_after_two)
    assert len(seen) == 2 and all(r.stopped_by == "callback" for r in res)
    assert seen[-1].sweeps_done == sum(r.sweeps for r in res)


def test_cli_solves_every_problem_of_gap_files(tmp_path, capsys):
    rng = np.random.default_rng(4)
    files = []
    for name, count in (("a", 3), ("b", 1)):
        lines = [str(count)]
        for _ in range(count):
            m, n = 2, 6
            lines.append(f"{m} {n}")
            for _row in range(m):
                lines.append(" ".join(str(v) for v in rng.integers(1, 20, n)))
            for _row in range(m):
                lines.append(" ".join(str(v) for v in rng.integers(1, 6, n)))
            lines.append(f"{20} {20}")
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        files.append(str(path))
    out = tmp_path / "out"
    out.mkdir()
    code = main(["solve", *files, "--format", "orlib-gap", "--seed", "0", "--chains", "4",
                 "--sweeps", "200", "--out-dir", str(out)])
    assert code in (0, 1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["a-1", "a-2", "a-3", "b-1"]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a-1.json", "a-2.json", "a-3.json", "b.json"]
    # problem 2 of a.txt equals a separate --index 2 run with the same seed
    single = tmp_path / "a2.json"
    main(["solve", files[0], "--format", "orlib-gap", "--index", "2", "--seed", "0",
          "--chains", "4", "--sweeps", "200", "--quiet", "--out", str(single)])
    got, want = (json.loads((out / "a-2.json").read_text()), json.loads(single.read_text()))
    assert got["assignment"] == want["assignment"] and got["objective"] == want["objective"]


@pytest.mark.parametrize("args, msg", [
    (["--out", "x.json"], "--out takes one problem"),
    (["--index", "2"], "--index picks one problem of one GAP file"),
    (["--method", "greedy"], "--method greedy takes one problem"),
])
def test_cli_batch_refuses_single_problem_flags(tmp_path, capsys, args, msg):
    inst = []
    for k in range(2):
        f = tmp_path / f"f{k}.txt"
        f.write_text("1\n2 2\n1 2\n3 4\n1 1\n1 1\n5 5\n")
        inst.append(str(f))
    assert main(["solve", *inst, "--format", "orlib-gap", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]


def test_cli_out_dir_names_clash_and_missing_folder(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    for d in ("x", "y"):
        (tmp_path / d / "p.txt").write_text("1\n2 2\n1 2\n3 4\n1 1\n1 1\n5 5\n")
    files = [str(tmp_path / d / "p.txt") for d in ("x", "y")]
    assert main(["solve", *files, "--format", "orlib-gap", "--out-dir", str(tmp_path)]) == 2
    assert "two problems would write p.json" in capsys.readouterr().err
    assert main(["solve", *files, "--format", "orlib-gap", "--out-dir",
                 str(tmp_path / "nope" / "deeper")]) == 2
    assert "--out-dir: folder" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()
    # a missing folder whose parent exists is made
    assert main(["solve", files[0], "--format", "orlib-gap", "--sweeps", "20", "--chains",
                 "2", "--seed", "0", "--quiet", "--out-dir", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "p.json").is_file()


def test_memory_groups_run_in_turn_and_equal_separate_runs(monkeypatch):
    """A backend whose chains do not all fit runs the batch in groups, one after another
    (the cuda backend's split, here forced on numba): results unchanged."""
    from satea.backends.numba_cpu import NumbaCPUBackend
    problems = _mixed_problems()
    kw = dict(chains=3, sweeps=120, seed=9, backend="numba")
    alone = [anneal(p, **kw) for p in problems]
    monkeypatch.setattr(NumbaCPUBackend, "batch_groups",
                        classmethod(lambda cls, probs, chains: [[0, 1], [2], [3, 4, 5]]))
    for a, r in zip(alone, anneal_batch(problems, **kw)):
        _same(a, r)
    res = anneal_batch(problems, seed=0, time_limit=1.5)   # groups share the budget
    assert all(r.stopped_by == "time_limit" for r in res)
    assert all(r.info["schedule"]["blocks"][-1][3] == 1.0 for r in res)
    # ... also as a cap on planned sweeps: no group spends the others' share
    res = anneal_batch(problems, seed=0, chains=2, sweeps=10**6, time_limit=1.5)
    assert all(r.sweeps > 10 for r in res) and res[-1].stopped_by == "time_limit"
    # a stop in the first group: the later groups answer with their chains' starts
    res = anneal_batch(problems, seed=0, chains=2, sweeps=10**6,
                       callback=lambda pr: pr.phase == "search")
    assert [r.stopped_by for r in res] == ["callback"] * len(problems)
    for p, r in zip(problems, res):
        assert r.x.shape == (p.n_jobs,) and p.is_allowed(np.arange(p.n_jobs),
                                                         p.to_internal(r.x)).all()
    assert sum(r.sweeps > 0 for r in res) == 2            # only the first group searched
    assert anneal_batch([], seed=0) == []


def test_cli_batch_over_shards_equals_the_local_batch(tmp_path, capsys):
    """--shards with several problems: each shard task runs its chains of every problem
    (satea.distributed.solve_batch); global streams make it the local batch's answer."""
    f = tmp_path / "g.txt"
    rng = np.random.default_rng(8)
    lines = ["2"]
    for _ in range(2):
        lines += ["2 7"] + [" ".join(map(str, rng.integers(1, 20, 7))) for _ in range(2)]
        lines += [" ".join(map(str, rng.integers(1, 6, 7))) for _ in range(2)] + ["15 15"]
    f.write_text("\n".join(lines) + "\n")
    args = ["solve", str(f), "--format", "orlib-gap", "--seed", "3", "--chains", "5",
            "--sweeps", "150"]
    main(args)
    local = capsys.readouterr().out
    main(args + ["--shards", "3"])
    assert capsys.readouterr().out == local and local.count("\n") == 2
