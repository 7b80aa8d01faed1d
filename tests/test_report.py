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
