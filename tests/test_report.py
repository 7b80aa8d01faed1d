"""Reports: HTML page and PNG figures; the install hint without matplotlib."""
import csv
import re
import sys

import pytest
from conftest import tiny_fleet_by_name

from satea.annealing import anneal
from satea.catalogue import example_fleet
from satea.compile import compile_fleet
from satea.objective import evaluate

pytest.importorskip("matplotlib")
from matplotlib.image import imread

from satea.report import INSTALL_HINT, write_front_plot, write_report


def _png_size(path):
    img = imread(str(path))
    return img.shape[1], img.shape[0]          # width, height


def _check_page(page, expected_figs):
    html = page.read_text()
    refs = set(re.findall(r'<img src="([^"]+)"', html))
    assert refs == set(expected_figs)
    for f in expected_figs:
        png = page.parent / f
        assert png.is_file()
        w, h = _png_size(png)
        assert w >= 400 and h >= 300, f"{f}: {w}x{h}"
        img = imread(str(png))
        assert img[..., :3].std() > 0.05, f"{f} looks blank"
    return html


@pytest.fixture(scope="module")
def example():
    fleet = example_fleet()
    problem = compile_fleet(fleet)
    r_numba = anneal(problem, chains=16, sweeps=150, backend="numba", seed=0)
    r_numpy = anneal(problem, chains=4, sweeps=40, backend="numpy", seed=0)
    return fleet, problem, r_numba, r_numpy


def test_report_from_anneal_result(tmp_path, example):
    fleet, problem, r, r2 = example
    page = write_report(problem, r, tmp_path / "rep", traces=[r, r2], fleet=fleet)
    assert page == tmp_path / "rep" / "index.html"
    html = _check_page(page, ["gantt.png", "breakdown.png", "convergence.png"])
    # breakdown table and per-job explanation
    for gpu in fleet.gpus:
        if any(s.gpu == gpu for s in fleet.servers):
            assert f">{gpu}<" in html
    for job in problem.job_names:
        assert f">{job}<" in html
    assert f"{r.fun:.6g}" in html and 'href="jobs.csv"' in html
    rows = list(csv.DictReader(open(tmp_path / "rep" / "jobs.csv")))
    assert [row["job"] for row in rows] == list(problem.job_names)
    ev = evaluate(problem, r.x)
    assert sum(float(row["penalty"]) for row in rows) == pytest.approx(ev.penalty)


def test_report_from_result_dict_with_front(tmp_path, example):
    """The CLI path: a satea-result/1 dict (re-scored at its lambda) and a front dict."""
    from satea.pareto import pareto
    fleet, problem, r, _ = example
    front = pareto(problem, points=5, chains_per_lambda=2, sweeps=60, backend="numba", seed=1)
    page = write_report(fleet, r.to_dict(explain=True), tmp_path / "rep",
                        front=front.to_dict())
    html = _check_page(page, ["gantt.png", "breakdown.png", "convergence.png", "front.png"])
    assert "Pareto front" in html
    # a result dict carries its trace: convergence drawn; without it and no front: none
    page = write_report(problem, r.to_dict(), tmp_path / "rep2", fleet=fleet)
    _check_page(page, ["gantt.png", "breakdown.png", "convergence.png"])
    d = r.to_dict()
    del d["trace"]
    page = write_report(problem, d, tmp_path / "rep3", fleet=fleet)
    _check_page(page, ["gantt.png", "breakdown.png"])


def test_report_price_curve_capacity_and_late_jobs(tmp_path):
    fleet = tiny_fleet_by_name("mixed")        # price curve, capacity, late jobs, forbidden
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=8, sweeps=100, backend="numba", seed=2, lam=0.0)
    assert (r.evaluation.lateness > 0).any()
    page = write_report(problem, r, tmp_path / "rep", fleet=fleet)
    html = _check_page(page, ["gantt.png", "breakdown.png", "convergence.png"])
    assert 'class="late"' in html


def test_many_servers_are_capped(tmp_path):
    from satea.generate import generate_fleet
    fleet = generate_fleet(150, 90, seed=4)
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=4, sweeps=20, backend="numba", seed=0)
    page = write_report(problem, r, tmp_path / "rep", fleet=fleet, max_servers=30,
                        max_job_rows=50)
    html = _check_page(page, ["gantt.png", "breakdown.png", "convergence.png"])
    assert "First 50 of 150 jobs" in html


def test_front_plot_alone(tmp_path, example):
    from satea.pareto import pareto
    _, problem, r, _ = example
    front = pareto(problem, points=4, chains_per_lambda=2, sweeps=40, backend="numba", seed=3)
    p = write_front_plot(front, tmp_path / "front.png", result=r)
    w, h = _png_size(p)
    assert w >= 400 and h >= 300


def test_bad_result_rejected(tmp_path, example):
    _, problem, _, _ = example
    with pytest.raises(TypeError, match="result"):
        write_report(problem, 42, tmp_path)
    with pytest.raises(ValueError, match="assignment"):
        write_report(problem, {"format": "satea-result/1"}, tmp_path)


def test_without_matplotlib_says_how_to_install(tmp_path, example, monkeypatch):
    _, problem, r, _ = example
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import fails
    with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)):
        write_report(problem, r, tmp_path / "rep")
    assert INSTALL_HINT == "pip install 'satea[plot]'"
    assert not (tmp_path / "rep").exists()


def test_convergence_y_range_not_set_by_the_start(tmp_path, monkeypatch):
    """The first sweeps (1e7 here) run off the top; the y range resolves the last 90%."""
    import numpy as np
    from matplotlib.figure import Figure

    from satea.plots import plot_convergence
    drawn = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig),
                                                                  save(fig, *a, **k)))
    long = np.concatenate([[1e7, 3e4, 200.0], np.linspace(10.0, 2.0, 197)])
    short = np.concatenate([[5e6, 1e3], np.linspace(8.0, 2.5, 38)])
    for traces in ([("run", long)], [("long", long), ("short", short)]):
        plot_convergence(traces, tmp_path / "convergence.png")
        ax = drawn[-1].axes[0]
        lo, hi = ax.get_ylim()
        assert hi < 1e3, "the y range is set by the first sweeps"
        tail = long[len(long) // 10:]
        if ax.get_yscale() == "log":
            lo, hi, tail = np.log10(lo), np.log10(hi), np.log10(tail)
        assert lo <= tail.min() and tail.max() <= hi
        assert (tail.max() - tail.min()) / (hi - lo) > 0.5      # the tail fills the axis
        assert any("y axis fitted" in t.get_text() for t in ax.texts)
        assert ax.get_legend() is not None
    # a flat tail has nothing to resolve: the y range keeps every point, as before
    plot_convergence([("flat", np.array([50.0, 3.0, 3.0, 3.0]))], tmp_path / "c.png")
    lo, hi = drawn[-1].axes[0].get_ylim()
    assert lo < 3.0 and hi > 50.0


def test_report_with_carbon_and_negative_prices(tmp_path):
    from conftest import tiny_node_fleets
    fleet = dict(tiny_node_fleets())["series"]   # negative prices, carbon, a carbon price
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=4, sweeps=50, backend="numba", seed=0)
    page = write_report(problem, r, tmp_path / "rep", fleet=fleet)
    html = _check_page(page, ["gantt.png", "breakdown.png", "carbon.png", "convergence.png"])
    assert "carbon (kg CO2e)" in html and f"{r.carbon_kg:.6g}"[:5] in html


def test_report_with_a_carbon_front(tmp_path):
    """A front of ``pareto --axis carbon`` (its points give carbon_kg, not energy_cost)
    in a report: the front's table and plot use carbon."""
    from conftest import tiny_node_fleets

    from satea.pareto import pareto
    fleet = dict(tiny_node_fleets())["series-1gpu"]
    front = pareto(compile_fleet(fleet.carbon_as_price()), lambdas=[0.0, 1.0, 10.0],
                   chains_per_lambda=2, sweeps=60, backend="numba", seed=0)
    front.axis = "carbon"
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=2, sweeps=30, backend="numba", seed=0)
    for fr in (front, front.to_dict()):
        page = write_report(problem, r, tmp_path / f"rep{type(fr).__name__}", front=fr,
                            fleet=fleet)
        html = _check_page(page, ["gantt.png", "breakdown.png", "carbon.png", "convergence.png",
                                  "front.png"])
        assert "carbon (kg)" in html


# --- the Gantt's price shading, its labels and jobs.csv (a new user's trial) ----------

def _series_fleet(name="series"):
    """``series``: a non-repeating price curve that goes negative (5 steps of 30 min),
    carbon on a curve and a constant, multi-GPU nodes, a job without a deadline;
    ``series-1gpu``: the price curve repeating (tests/conftest.py)."""
    from conftest import tiny_node_fleets
    return dict(tiny_node_fleets())[name]


def _drawn_gantt(monkeypatch, v, path):
    """plot_gantt(v) and the Figure it saved."""
    from matplotlib.figure import Figure

    from satea.plots import plot_gantt
    drawn = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig),
                                                                  save(fig, *a, **k)))
    plot_gantt(v, path)
    return drawn[-1]


@pytest.mark.parametrize("name", ["series", "series-1gpu"])
def test_gantt_shading_prices_as_the_evaluator(name):
    """Every step the Gantt shades behind a server is the electricity price the
    evaluator charges there: a non-repeating curve (a market series) holds its last
    value after its end, not cycling (the trial: a 3-h series drawn cycling for 12 h);
    a repeating one cycles; the carbon curve and the merged search price are not drawn."""
    import numpy as np

    from satea.objective import price_integral
    from satea.plots import ResultView, gantt_price_runs
    fleet = _series_fleet(name)
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=2, sweeps=10, backend="numba", seed=0)
    v = ResultView(problem, r, fleet)
    t_end = 10 * 3600.0                         # 4x the curve's 2.5 h (2 h repeating)
    runs = gantt_price_runs(v, np.arange(problem.n_servers), t_end)
    on_curve = [s for s in range(problem.n_servers) if fleet.servers[s].price_curve]
    assert sorted(runs) == on_curve and on_curve
    step = fleet.price_curves["c"].step_s
    for s, (edges, vals) in runs.items():
        assert edges[0] == 0.0 and edges[-1] >= t_end and np.all(np.diff(edges) > 0)
        assert vals.size == edges.size - 1
        for i in range(int(t_end // step)):
            a, b = i * step, (i + 1) * step
            k = np.searchsorted(edges, a, side="right") - 1
            assert edges[k + 1] >= b                      # one run covers the step
            assert vals[k] == pytest.approx(price_integral(problem, s, a, b) / (b - a),
                                            abs=1e-12), (s, i)
    prices = fleet.price_curves["c"].prices_per_kwh
    edges, vals = runs[on_curve[0]]
    if not fleet.price_curves["c"].repeat:      # the series' steps, then its last price
        assert list(vals) == pytest.approx(prices)
        assert list(edges) == pytest.approx([i * step for i in range(len(prices))] + [t_end])
    else:                                       # cycling up to the chart's end
        assert list(vals) == pytest.approx(list(prices) * 5)


def test_price_runs_of_a_short_series_hold_its_last_price():
    """The trial's case: a 3-hour series on a 12-hour chart, repeat false and true."""
    import dataclasses

    from satea.model import PriceCurve
    from satea.plots import price_runs
    fleet = _series_fleet("series-1gpu")
    for repeat in (False, True):
        curve = PriceCurve("c", 3600.0, (0.05, 0.051, 0.052), repeat=repeat)
        problem = compile_fleet(dataclasses.replace(fleet, price_curves={"c": curve}))
        edges, vals = price_runs(problem, 0, 12 * 3600.0)
        if repeat:
            assert list(vals) == pytest.approx([0.05, 0.051, 0.052] * 4)
            assert edges[-1] == 12 * 3600.0
        else:
            assert list(vals) == pytest.approx([0.05, 0.051, 0.052])
            assert list(edges) == [0.0, 3600.0, 7200.0, 12 * 3600.0]


def test_price_colour_scale():
    """Sequential over the prices drawn when none is negative; with negative prices a
    diverging scale centred at 0 whose ends are the extremes (the trial: 0 to 650 from
    the carbon curve in g/kWh flattened prices of -0.06..0.08)."""
    import numpy as np

    from satea.plots import price_colour_scale
    assert price_colour_scale(np.zeros(0)) is None
    assert price_colour_scale(np.array([0.05, 0.02, 0.08])) == ("YlOrBr", 0.02, None, 0.08)
    cmap, lo, center, hi = price_colour_scale(np.array([-0.06, 0.01, 0.08]))
    assert (lo, center, hi) == (-0.06, 0.0, 0.08) and cmap != "YlOrBr"
    assert price_colour_scale(np.array([-0.06, -0.01]))[1:] == (-0.06, 0.0, 0.06)
    _, lo, _, hi = price_colour_scale(np.array([0.05, 0.05]))
    assert lo == 0.05 < hi < 0.05 + 1e-6


def test_gantt_colour_scale_spans_the_prices_drawn_not_the_carbon(tmp_path, monkeypatch):
    """The drawn shading: one norm over the electricity prices on the chart (-0.10 ..
    0.30 here), white at 0; never the carbon curve's g/kWh (90 .. 520) or the search's
    merged price; the colorbar says what the colours mean."""
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import TwoSlopeNorm

    from satea.plots import ResultView
    fleet = _series_fleet()
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=2, sweeps=20, backend="numba", seed=0)
    v = ResultView(problem, r, fleet)
    fig = _drawn_gantt(monkeypatch, v, tmp_path / "g.png")
    ax = fig.axes[0]
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1                               # n4, the node on the curve
    norm = meshes[0].norm
    assert isinstance(norm, TwoSlopeNorm) and norm.vcenter == 0.0
    prices = fleet.price_curves["c"].prices_per_kwh
    assert (norm.vmin, norm.vmax) == pytest.approx((min(prices), max(prices)))
    assert set(meshes[0].get_array().ravel().tolist()) <= set(prices)
    assert "electricity price (currency/kWh)" in fig.axes[1].get_ylabel()


def test_server_labels_name_the_price_curve():
    """The label names the server's price curve (the trial: "TOU curve 2", the compiled
    merged price + carbon curve) or its constant electricity price (not price + carbon)."""
    from satea.plots import ResultView
    fleet = _series_fleet("series-1gpu")
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=2, sweeps=10, backend="numba", seed=0)
    v = ResultView(problem, r, fleet)
    assert v.curve_names[:2] == ["c", "carbon k"] and len(v.curve_names) == len(problem.curve_len)
    labels = [v.server_label(s) for s in range(problem.n_servers)]
    assert labels[0].endswith("TOU c")                      # price c + carbon k
    assert labels[1].endswith(" -0.05/kWh")                 # constant price + carbon
    assert labels[2].endswith(" 0.15/kWh")                  # constant price + carbon curve
    v = ResultView(problem, r, None)                        # no names: compiled indices
    assert v.server_label(0).endswith("TOU curve 0")


def test_jobs_csv_has_carbon_gpus_and_blank_due(tmp_path):
    """jobs.csv as explain() gives it: each job's carbon_kg with carbon, its
    gpu_indices on multi-GPU nodes, and an empty due_s without a deadline (not inf);
    the page's figures are evaluate's."""
    import math

    fleet = _series_fleet()
    problem = compile_fleet(fleet)
    r = anneal(problem, chains=4, sweeps=50, backend="numba", seed=0)
    page = write_report(problem, r, tmp_path / "rep", fleet=fleet)
    rows = list(csv.DictReader(open(tmp_path / "rep" / "jobs.csv")))
    expl = {d["job"]: d for d in r.explain()}
    assert {"carbon_kg", "gpu_indices"} <= set(rows[0])
    due = {j.name: j.due_s for j in fleet.jobs}
    assert None in due.values()
    for row in rows:
        d = expl[row["job"]]
        assert float(row["carbon_kg"]) == pytest.approx(d["carbon_kg"], rel=1e-12, abs=1e-15)
        assert [int(g) for g in row["gpu_indices"].split()] == d["gpu_indices"]
        assert float(row["energy_cost"]) == pytest.approx(d["energy_cost"], rel=1e-12)
        if due[row["job"]] is None:
            assert row["due_s"] == ""
        else:
            assert float(row["due_s"]) == pytest.approx(due[row["job"]])
    html = page.read_text()
    assert "due_s is empty" in html and ">carbon (kg, dynamic)<" in html
    ev = evaluate(problem, r.x, r.holds)
    for label, value in (("objective", ev.objective), ("energy cost", ev.energy_cost),
                         ("carbon (kg CO2e)", ev.carbon_kg), ("carbon cost", ev.carbon_cost),
                         ("penalty (unweighted)", ev.penalty)):
        assert math.isfinite(value)
        assert f'<td class="l">{label}</td><td class="l">{value:.6g}</td>' in html


def test_jobs_csv_without_carbon_or_nodes_keeps_its_columns(tmp_path, example):
    """One-GPU servers without carbon: the columns as before."""
    fleet, problem, r, _ = example
    write_report(problem, r, tmp_path / "rep", fleet=fleet)
    from satea.report import CSV_COLUMNS
    header = next(csv.reader(open(tmp_path / "rep" / "jobs.csv")))
    assert header == CSV_COLUMNS
