"""``satea.bench`` (the core of ``satea bench``) and a smoke check of the asv suite in
``benchmarks/`` (the suite itself is not run in CI: see benchmarks/README.md)."""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from satea import bench
from satea.cli import main

ROOT = Path(__file__).resolve().parents[1]
ROW_KEYS = {"backend", "jobs", "servers", "chains", "sweeps", "seconds", "moves_per_s",
            "best_objective"}


def check_doc(doc):
    for key in ("device", "cpu", "date", "commit", "rows"):
        assert key in doc, key
    assert isinstance(doc["device"], str) and isinstance(doc["cpu"], str)
    for row in doc["rows"]:
        assert ROW_KEYS <= set(row), row
        assert row["seconds"] > 0 and row["sweeps"] >= 1
        # attempted moves per second: chains x sweeps x jobs / search seconds
        assert row["moves_per_s"] == pytest.approx(
            row["chains"] * row["sweeps"] * row["jobs"] / row["seconds"], rel=1e-12)
        assert row["best_objective"] == pytest.approx(row["best_objective"])  # finite number


def test_run_bench_tiny_json_form(tmp_path):
    lines = []
    doc = bench.run_bench(["numpy", "numba"], [(40, 4)], chains=4, seconds=0.2, seed=1,
                          log=lines.append)
    check_doc(doc)
    assert [(r["backend"], r["jobs"], r["servers"], r["chains"]) for r in doc["rows"]] == [
        ("numpy", 40, 4, 4), ("numba", 40, 4, 4)]
    assert len(lines) == 2
    path = tmp_path / "bench.json"
    bench.write_json(doc, path)
    back = json.loads(path.read_text())
    check_doc(back)
    assert back["rows"] == json.loads(json.dumps(doc["rows"]))
    assert bench.HEADER.split()[0] in bench.format_table(doc)


def test_cli_bench_writes_json(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["bench", "--backends", "numba", "--sizes", "30x3", "--chains", "2",
                 "--seconds", "0.1", "--json", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    check_doc(doc)
    assert [(r["backend"], r["jobs"], r["servers"]) for r in doc["rows"]] == [("numba", 30, 3)]
    assert "moves/s" in capsys.readouterr().out


def test_cli_bench_prints_each_row_once(capsys):
    assert main(["bench", "--backends", "numba", "--sizes", "30x3,40x4", "--chains", "2",
                 "--seconds", "0.05"]) == 0
    cap = capsys.readouterr()
    rows = [ln for ln in cap.out.splitlines() if ln.split()[:1] == ["numba"]]
    assert len(rows) == 2 and cap.out.count("moves/s") == 1 and "numba" not in cap.err


def test_numpy_capped_beside_other_backends_not_alone():
    doc = bench.run_bench(["numpy", "numba"], [(30, 3)], chains=2, seconds=0.05,
                          numpy_max_jobs=20)
    assert [r["backend"] for r in doc["rows"]] == ["numba"]
    assert doc["skipped"][0]["backend"] == "numpy" and doc["skipped"][0]["jobs"] == 30
    assert "skipped" in bench.format_table(doc).splitlines()[-1]
    alone = bench.run_bench(["numpy"], [(30, 3)], chains=2, seconds=0.05, numpy_max_jobs=20)
    assert [r["backend"] for r in alone["rows"]] == ["numpy"] and "skipped" not in alone


def test_measure_uses_its_seconds_when_a_run_has_a_fixed_cost(monkeypatch):
    # a run costs 20 ms whatever its length plus 0.1 ms a sweep: sized from one sweep, a
    # 3 s row ran 3 / 0.0201 = 149 sweeps, 0.035 s; sized from a run of a tenth of the
    # budget, it runs about 3 s
    import satea.annealing
    from types import SimpleNamespace
    calls = []

    def fake_anneal(problem, *, sweeps, **kw):
        calls.append(sweeps)
        return SimpleNamespace(backend="numba", sweeps=sweeps, seconds=0.02 + 1e-4 * sweeps,
                               moves_per_second=lambda: 1.0, fun=0.0, feasible=True,
                               compile_seconds=0.0)

    monkeypatch.setattr(satea.annealing, "anneal", fake_anneal)
    row = bench.measure(bench.bench_instance(20, 2, 0), "numba", 2, 3.0,
                        schedule=(1.0, 0.1))
    assert 2.7 <= row["seconds"] <= 3.0
    probed = sum(0.02 + 1e-4 * s for s in calls[:-1])
    assert probed <= 0.5 * 3.0 + 0.1     # the probes cost at most about half the budget


def test_measure_steps_counts_moves():
    p = bench.bench_instance(50, 5, 0)
    r = bench.measure_steps(p, chains=3, steps=20)
    assert (r["backend"], r["jobs"], r["chains"], r["steps"]) == ("numpy", 50, 3, 20)
    assert r["moves_per_s"] == pytest.approx(3 * 20 / r["seconds"], rel=1e-12)
    assert 0 <= r["accepted"] <= 60


def test_parse_sizes():
    assert bench.parse_sizes("1000x100") == [(1000, 100)]
    assert bench.parse_sizes("1000x100,10X4") == [(1000, 100), (10, 4)]


@pytest.mark.parametrize("text", ["10by4", "10x", "x4", "10x4x2", "", "1000x100,", "ax4",
                                  "0x4", "10x0", "-3x2"])
def test_parse_sizes_errors(text):
    with pytest.raises(ValueError, match="sizes"):
        bench.parse_sizes(text)


def test_machine_info_form():
    info = bench.machine_info()
    assert {"device", "cpu", "date", "commit"} <= set(info)
    assert info["date"].endswith("Z")


# --- the asv suite: discovered and sane, one cheap case run; no timings --------------------

SUITES = ["bench_objective", "bench_moves", "bench_quality", "bench_memory"]


@pytest.fixture(scope="module")
def suite():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield {name: importlib.import_module(f"benchmarks.{name}") for name in SUITES}
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_asv_suite_classes(suite):
    kinds = set()
    for mod in suite.values():
        for cls in vars(mod).values():
            if not (isinstance(cls, type) and cls.__module__ == mod.__name__):
                continue
            methods = [m for m in vars(cls) if m.split("_")[0] in ("time", "peakmem", "track")]
            if not methods:
                continue
            kinds |= {m.split("_")[0] for m in methods}
            params = cls.params if isinstance(cls.params, tuple) else (cls.params,)
            assert len(params) == len(cls.param_names), cls
    assert kinds == {"time", "peakmem", "track"}


def test_asv_cheap_case_runs(suite):
    ev = suite["bench_objective"].Evaluate()
    ev.setup(1000)
    ev.time_evaluate(1000)
    assert ev.track_objective(1000) > 0


def test_asv_cuda_cases_skip_without_gpu(suite):
    from satea.backends.numba_cuda import real_gpu
    if real_gpu():
        pytest.skip("a GPU is present")
    with pytest.raises(NotImplementedError):
        suite["bench_moves"].MovesPerSecond().setup("cuda", "1000x100")
    with pytest.raises(NotImplementedError):
        suite["bench_memory"].DeviceMemory().setup("10000x1000")


@pytest.mark.skipif(shutil.which("asv") is None,
                    reason="asv not installed (pip install -e '.[bench]')")
def test_asv_check():
    r = subprocess.run(["asv", "check", "--python=same"], cwd=ROOT / "benchmarks",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No problems found" in r.stdout


def test_layout_probe_walks_agree_over_lists_and_slots(tmp_path):
    """benchmarks/layout_probe.py: the walks over contiguous slots (and with per-job
    records) give the same deltas as the package's list walks (the probe asserts it for
    every variant) on two tiny fleets, and it writes its JSON."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "layout_probe", ROOT / "benchmarks" / "layout_probe.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    out = tmp_path / "probe.json"
    assert probe.main(["--sizes", "40x4,90x9", "--sweeps", "30,5", "--moves", "400",
                       "--repeat", "1", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["size"] for r in doc["rows"]] == ["40x4", "90x9"]
    assert set(doc["rows"][0]["ns_per_move"]) == {"lists", "lists+rec", "slots", "slots+rec"}
