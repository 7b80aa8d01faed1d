"""satea import: the Alibaba GPU trace and generic CSV job lists (satea.importers), grid
series (satea.grid); every option and every refusal, on hand-written fixtures
(tests/data/trace) and on the shipped files when present."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from satea.compile import compile_fleet
from satea.grid import parse_start, read_series
from satea.importers import gpu_speeds, import_alibaba, import_csv
from satea.io import read_instance
from satea.validate import InstanceError

DATA = Path(__file__).parent / "data" / "trace"
NODES, PODS, SERIES, JOBS = (DATA / f for f in ("nodes.csv", "pods.csv", "series.csv",
                                                "jobs.csv"))
SHIPPED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRACE = SHIPPED / "traces" / "alibaba-gpu-v2023"
GRID = SHIPPED / "grid" / "DE-LU-2023"
SPEED = {g: v[0] for g, v in gpu_speeds().items()}


def alibaba(**kw):
    kw.setdefault("gpu_map", {"G2": "A100"})
    return import_alibaba(NODES, PODS, **kw)


def test_alibaba_fixture_by_hand():
    fleet, rep = alibaba()
    jobs = {j.name: j for j in fleet.jobs}
    assert sorted(jobs) == ["p0", "p2", "p3", "p5"]
    assert rep.dropped == {"CPU-only (num_gpu 0)": 1, "never scheduled (no scheduled_time)": 1,
                           "zero run time": 1}
    assert rep.changed == {"GPU-sharing (gpu_milli < 1000): given a whole GPU": 1,
                           "still running at the trace's end: the run time so far": 1,
                           "failed: kept for the GPU time it used (--failed keep)": 1}
    # p0: 3500 s on the reference V100; due = release + 2 x run time, linear, scale run
    p0 = jobs["p0"]
    assert p0.samples == pytest.approx(3500 * SPEED["V100"]) and p0.model == "trace"
    assert (p0.release_s, p0.due_s) == (0.0, 7000.0)
    assert (p0.penalty.kind, p0.penalty.weight, p0.penalty.scale_s) == ("linear", 1.0, 3500.0)
    # p3 names V100M32 (a V100): 4 GPUs, only on V100 nodes
    p3 = jobs["p3"]
    assert (p3.gpus, p3.model, p3.release_s) == (4, "trace:V100", 30.0)
    assert p3.samples == pytest.approx(1800 * SPEED["V100"] * 4)
    assert {p.gpu for p in fleet.profiles if p.model == "trace:V100"} == {"V100"}
    # p5 ran on G2, mapped to A100: 8 GPUs
    assert jobs["p5"].samples == pytest.approx(7200 * SPEED["A100"] * 8)
    assert [(s.name, s.gpu, s.gpus) for s in fleet.servers] == [
        ("n0", "A100", 8), ("n1", "T4", 2), ("n2", "V100", 4)]


def test_a_task_is_faster_on_a_faster_gpu():
    fleet, _ = alibaba()
    p = compile_fleet(fleet)
    i = int(np.flatnonzero(p.order == [j.name for j in fleet.jobs].index("p0"))[0])
    on = {s: float(p.proc_time(np.array([i]), np.array([k]))[0])
          for k, s in enumerate(p.server_names)}
    assert on["n2"] == pytest.approx(3500.0)                      # as it ran, on a V100
    assert on["n0"] == pytest.approx(3500.0 * SPEED["V100"] / SPEED["A100"])
    assert on["n0"] < on["n2"] < on["n1"]                         # A100 < V100 < T4


def test_alibaba_options():
    _, rep = alibaba(running="drop", sharing="drop", failed="drop")
    assert rep.jobs == 2 and rep.dropped["failed (--failed drop)"] == 1
    assert rep.dropped["still running at the trace's end (--running drop)"] == 1
    f, rep = alibaba(first=2)
    assert [j.name for j in f.jobs] == ["p0", "p2"]
    assert rep.changed["GPU-sharing (gpu_milli < 1000): given a whole GPU"] == 1
    f, _ = alibaba(window="25:100")
    assert [(j.name, j.release_s) for j in f.jobs] == [("p3", 5.0), ("p5", 25.0)]
    f, _ = alibaba(slack=3.0, penalty="step", penalty_weight=2.5, penalty_scale=60.0)
    j = f.jobs[0]
    assert (j.due_s, j.penalty.kind, j.penalty.weight) == (10500.0, "step", 2.5)
    f, _ = alibaba(penalty="none", price_per_kwh=-0.02, base_w=300.0, reference_gpu="T4")
    assert f.jobs[0].due_s is None and f.servers[0].price_per_kwh == -0.02
    assert f.jobs[0].samples == pytest.approx(3500 * SPEED["T4"])


def _edit(tmp_path, src: Path, old: str, new: str) -> Path:
    out = tmp_path / src.name
    text = src.read_text()
    assert old in text
    out.write_text(text.replace(old, new, 1))
    return out


@pytest.mark.parametrize("which,old,new,msg", [
    ("pods", "p3,1000", "p0,1000", r"row 5: duplicate task name 'p0' \(also row 2\)"),
    ("pods", "0,3600,100", "0,3600,abc", r"row 2: scheduled_time must be a number, got 'abc'"),
    ("pods", "30,1830,30", "30,10,30", r"row 5: negative run time"),
    ("pods", "name,", "nom,", r"missing column 'name'"),
    ("pods", "V100M32,LS", "X9,LS", r"row 5: unknown GPU type 'X9' \(map it with --gpu-map"),
    ("nodes", "n1,", "n0,", r"row 3: duplicate node name 'n0' \(also row 2\)"),
    ("nodes", "8,G2", "x,G2", r"row 2: gpu must be a number"),
])
def test_alibaba_refusals_name_the_row(tmp_path, which, old, new, msg):
    nodes, pods = NODES, PODS
    if which == "pods":
        pods = _edit(tmp_path, PODS, old, new)
    else:
        nodes = _edit(tmp_path, NODES, old, new)
    with pytest.raises(InstanceError, match=msg):
        import_alibaba(nodes, pods, gpu_map={"G2": "A100"})


def test_unknown_gpu_type_refused_unless_mapped_and_empty_window():
    with pytest.raises(InstanceError, match=r"nodes.csv': row 2: unknown GPU type 'G2'"):
        import_alibaba(NODES, PODS)
    with pytest.raises(InstanceError, match=r"G2=Z1: 'Z1' is not a catalogue GPU type"):
        import_alibaba(NODES, PODS, gpu_map={"G2": "Z1"})
    with pytest.raises(InstanceError, match="no GPU task"):
        alibaba(window="1000:2000")


def test_csv_importer():
    cols = "submit=submitted,duration=runtime,gpus=ngpu,gpu_type=gtype,name=id"
    f, rep = import_csv(JOBS, "A100x8:1,V100x4:2", cols)
    assert [j.name for j in f.jobs] == ["a", "b"] and len(f.servers) == 3
    assert rep.dropped == {"zero duration": 1, "CPU-only (0 GPUs)": 1}
    a, b = f.jobs
    assert a.samples == pytest.approx(3600 * SPEED["A100"]) and a.model == "trace:A100"
    assert (b.gpus, b.release_s) == (2, 100.0)
    with pytest.raises(InstanceError, match="missing column 'nope'"):
        import_csv(JOBS, "A100x8:1", "submit=nope,duration=runtime")
    with pytest.raises(InstanceError, match="--columns: missing duration"):
        import_csv(JOBS, "A100x8:1", "submit=submitted")


def test_csv_importer_refusals(tmp_path):
    cols = "submit=submitted,duration=runtime,gpus=ngpu,name=id"
    bad = _edit(tmp_path, JOBS, "b,100,1800", "b,100,-5")
    with pytest.raises(InstanceError, match=r"row 3: negative duration -5"):
        import_csv(bad, "A100x8:1", cols)
    bad = _edit(tmp_path, JOBS, "b,100", "b,yesterday")
    with pytest.raises(InstanceError, match=r"row 3: submitted: cannot read time 'yesterday'"):
        import_csv(bad, "A100x8:1", cols)
    bad = _edit(tmp_path, JOBS, "c,200", "a,200")
    with pytest.raises(InstanceError, match=r"row 4: duplicate job name 'a' \(also row 2\)"):
        import_csv(bad, "A100x8:1", cols)
    # seconds beside ISO times: they have no common origin (the times counted from the
    # first time, silently)
    bad = _edit(tmp_path, JOBS, "b,100", "b,2023-06-01T00:00:00+00:00")
    with pytest.raises(InstanceError, match=r"row 3: submitted is an ISO 8601 time, but row "
                                            r"2's is seconds: give one form"):
        import_csv(bad, "A100x8:1", cols)


def test_series_reading():
    start = parse_start("2023-06-01T01:00:00+00:00")
    s = read_series(SERIES, "price", start, scale=1e-3)
    assert s.step_s == 3600.0 and s.values == pytest.approx((-0.01, 0.0255, 0.03))
    c = read_series(SERIES, "carbon", start, time_column="time", signed=False)
    assert c.values == (200.0, 100.0, 250.0)
    with pytest.raises(InstanceError, match="no value column 'Price'.*'price'"):
        read_series(SERIES, "Price", start)
    with pytest.raises(InstanceError, match="not on a step of 3600 s"):
        read_series(SERIES, "price", parse_start("2023-06-01T01:30:00+00:00"))
    with pytest.raises(InstanceError, match="outside the file"):
        read_series(SERIES, "price", parse_start("2023-07-01T00:00:00+00:00"))
    with pytest.raises(InstanceError, match="has no timezone"):
        parse_start("2023-06-01T00:00:00")
    with pytest.raises(InstanceError, match="must be >= 0"):
        read_series(SERIES, "price", start, signed=False)
    # the same hour written in another zone is the same start
    assert read_series(SERIES, "price", parse_start("2023-06-01T03:00:00+02:00"),
                       scale=1e-3).values == s.values
    assert start == datetime(2023, 6, 1, 1, tzinfo=timezone.utc)


def test_series_gap_and_bad_time(tmp_path):
    bad = _edit(tmp_path, SERIES, "2023-06-01 02:00", "2023-06-01 02:30")
    with pytest.raises(InstanceError, match="row 4: a gap of 5400 s"):
        read_series(bad, "price", parse_start("2023-06-01T00:00:00+00:00"))
    bad = _edit(tmp_path, SERIES, "2023-06-01 02:00:00+00:00", "soon")
    with pytest.raises(InstanceError, match="row 4: cannot read time 'soon'"):
        read_series(bad, "price", parse_start("2023-06-01T00:00:00+00:00"))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "satea.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_import_with_grid_and_refusals(tmp_path):
    out = tmp_path / "i.json"
    r = _cli("import", "alibaba-gpu-v2023", "--nodes", NODES, "--pods", PODS, "--gpu-map",
             "G2=A100", "--prices", SERIES, "--price-column", "price", "--carbon", SERIES,
             "--carbon-column", "carbon", "--start", "2023-06-01T00:00:00Z",
             "--carbon-price", "0.1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "dropped 1: CPU-only (num_gpu 0)" in r.stdout
    f = read_instance(out)
    assert f.price_curves["grid"].repeat is False and f.carbon_price_per_kg == 0.1
    assert f.price_curves["grid"].prices_per_kwh == pytest.approx((0.04, -0.01, 0.0255, 0.03))
    assert all(s.carbon_curve == "grid" for s in f.servers)
    r = _cli("import", "alibaba-gpu-v2023", "--nodes", NODES, "--pods", PODS, "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "unknown GPU type 'G2'" in r.stderr
    r = _cli("generate", "--jobs", 5, "--servers", 2, "--prices", SERIES, "--price-column",
             "price", "--out", out)
    assert r.returncode == 2 and "--start: required" in r.stderr


@pytest.mark.skipif(not TRACE.exists() or not GRID.exists(), reason="shared/data absent")
def test_shipped_trace_and_grid():
    fleet, rep = import_alibaba(TRACE / "openb_node_list_gpu_node.csv",
                                TRACE / "openb_pod_list_default.csv",
                                gpu_map={"G2": "A100", "G3": "A10"}, first=2000)
    assert (rep.jobs, rep.servers) == (2000, 1213)
    assert rep.rows == 8152 and rep.dropped["CPU-only (num_gpu 0)"] == 1088
    start = parse_start("2023-06-01T00:00:00+00:00")
    p = read_series(GRID / "prices_hourly.csv", "Price (USD/MWh)", start, scale=1e-3)
    assert p.step_s == 3600.0 and len(p.values) == 8760 - 151 * 24
    assert min(p.values) < 0                                      # real negative hours
    c = read_series(GRID / "carbon_intensity_hourly.csv",
                    "Carbon Intensity gCO₂eq/kWh (direct)", start, signed=False)
    assert len(c.values) == len(p.values)


def test_hold_slack_sets_each_jobs_hold_max_from_its_slack():
    fleet, rep = alibaba(slack=3.0, hold_slack=0.5)
    jobs = {j.name: j for j in fleet.jobs}
    # p0 ran 3500 s: slack (3 - 1) x 3500 = 7000 s, half of it may be held
    assert jobs["p0"].hold_max_s == pytest.approx(3500.0)
    assert jobs["p3"].hold_max_s == pytest.approx(0.5 * 2.0 * 1800.0)
    assert any("hold_max_s = 0.5" in a for a in rep.assumptions)
    plain, rep0 = alibaba()
    assert all(j.hold_max_s is None for j in plain.jobs)
    with pytest.raises(InstanceError, match="--hold-slack"):
        alibaba(hold_slack=1.5)
