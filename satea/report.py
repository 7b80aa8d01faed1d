"""Reports: a self-contained HTML page of a result, with the PNG figures of :mod:`.plots`.

:func:`write_report` writes into a folder::

    index.html        summary, breakdown tables, per-job explanation (links the figures)
    gantt.png         a row per server: jobs as bars in dispatch order, deadlines, late
                      jobs highlighted, the electricity price shaded behind servers on a
                      price curve
    breakdown.png     energy cost by server and by GPU type (idle / dynamic), penalty by kind
    convergence.png   best objective over sweeps, one line per run (when traces are known)
    front.png         the energy / penalty Pareto front (when a front is given)
    jobs.csv          the per-job explanation, every job (:data:`CSV_COLUMNS`, times in
                      seconds, ``due_s`` empty without a deadline; ``carbon_kg`` with
                      carbon, ``gpu_indices`` on multi-GPU nodes)

:func:`write_front_plot` writes ``front.png`` alone. This module holds the page, its tables
and the CSV; the figures are drawn by :mod:`satea.plots`, whose public names are importable
from here too. matplotlib is an optional extra (``pip install 'satea[plot]'``), imported only
when a figure is drawn.
"""
from __future__ import annotations

import csv
import html
import math
from pathlib import Path

from .compile import ProblemArrays
from .model import PENALTY_KINDS, Fleet
from .plots import (
    HOUR,
    INSTALL_HINT,
    ResultView,
    front_arrays,
    hold_savings,
    need_matplotlib,
    trace_series,
    energy_by_gpu,
    penalty_by_kind,
    plot_breakdown,
    plot_carbon,
    plot_convergence,
    plot_front,
    plot_gantt,
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em;
     border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f3f5f8; } td.l, th.l { text-align: left; }
tr.late td { background: #fdecec; }
img { max-width: 100%; border: 1px solid #eee; }
.note { color: #666; font-size: .85em; }
"""

_JOB_HEADER = ["job", "server", "start (h)", "completion (h)", "due (h)", "lateness (h)",
               "penalty kind", "penalty", "energy cost (dynamic)", "hold (h)"]
#: jobs.csv's columns, :data:`_JOB_HEADER`'s in seconds; then, as ``explain()`` gives them,
#: ``carbon_kg`` (the job's dynamic kg CO2e) where the instance has carbon and
#: ``gpu_indices`` (the node's GPUs the job ran on, space-separated) on multi-GPU nodes
CSV_COLUMNS = ["job", "server", "start_s", "completion_s", "due_s", "lateness_s",
               "penalty_kind", "penalty", "energy_cost", "hold_s"]


def _fmt(v) -> str:
    """A table cell: yes / no, floats to 6 significant digits, inf as the HTML entity."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "&infin;" if v == math.inf else f"{v:.6g}"
    return html.escape(str(v))


def _table(header, rows, left=(), row_class=None) -> str:
    """An HTML table; columns in ``left`` left-aligned, ``row_class(k)`` the k-th row's
    class."""
    h = "".join(f'<th class="l">{html.escape(c)}</th>' if i in left else
                f"<th>{html.escape(c)}</th>" for i, c in enumerate(header))
    body = []
    for k, r in enumerate(rows):
        cls = f' class="{row_class(k)}"' if row_class and row_class(k) else ""
        body.append(f"<tr{cls}>" + "".join(
            f'<td class="l">{_fmt(c)}</td>' if i in left else f"<td>{_fmt(c)}</td>"
            for i, c in enumerate(r)) + "</tr>")
    return f"<table><tr>{h}</tr>\n" + "\n".join(body) + "</table>"


def _extra_columns(v: ResultView) -> list[tuple[str, str, list]]:
    """The columns ``explain()`` adds where they apply, as ``(table header, CSV column,
    values per job in the caller's order)``: a job's dynamic carbon (kg CO2e) when the
    instance has carbon, its GPUs on multi-GPU nodes."""
    p, ev = v.problem, v.ev
    out: list[tuple[str, str, list]] = []
    if ev.has_carbon and ev.job_carbon_kg is not None:
        out.append(("carbon (kg, dynamic)", "carbon_kg", [float(c) for c in ev.job_carbon_kg]))
    if p.multi_gpu and ev.gpu_lanes is not None:
        out.append(("GPUs", "gpu_indices",
                    [" ".join(str(int(g)) for g in lanes) for lanes in ev.gpu_lanes]))
    return out


def _explain_rows(v: ResultView, extra: list[tuple[str, str, list]]) -> list[list]:
    """Per job, caller order: the columns of :data:`_JOB_HEADER` (times in hours; due
    inf without a deadline), then those of ``extra`` (:func:`_extra_columns`)."""
    p, ev, due = v.problem, v.ev, v.due
    kinds = v.pen_kind
    return [[p.job_names[j], p.server_names[int(v.x[j])], ev.start[j] / HOUR,
             ev.completion[j] / HOUR, due[j] / HOUR if math.isfinite(due[j]) else math.inf,
             ev.lateness[j] / HOUR, PENALTY_KINDS[int(kinds[j])], float(ev.job_penalty[j]),
             float(ev.job_energy_cost[j]), float(v.holds[j]) / HOUR]
            + [col[2][j] for col in extra] for j in range(p.n_jobs)]


def _write_jobs_csv(path: Path, rows: list[list], extra: list[str]) -> None:
    """Every job's explanation row: :data:`CSV_COLUMNS` (times back in seconds, ``due_s``
    an empty cell for a job without a deadline), then the ``extra`` columns."""
    n = len(CSV_COLUMNS)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS + extra)
        for r in rows:
            due = "" if r[4] == math.inf else r[4] * HOUR
            w.writerow([r[0], r[1], r[2] * HOUR, r[3] * HOUR, due, r[5] * HOUR, r[6],
                        r[7], r[8], r[9] * HOUR] + r[n:])


def _draw_figures(v: ResultView, out: Path, result, front, traces,
                  max_servers: int) -> list[tuple[str, str]]:
    """Draw the figures into ``out``; [(file, caption)] in page order."""
    figs = []
    plot_gantt(v, out / "gantt.png", max_servers)
    figs.append(("gantt.png", "Schedule per server. Bars are jobs in dispatch order (earliest "
                 "deadline first); red bars are late; ticks mark deadlines; the thin line "
                 "is the time the server is on (it pays idle power between jobs); shading is "
                 "the electricity price of servers on a price curve (a market series that "
                 "has ended holds its last price; with negative prices the scale is white "
                 "at 0, purple below); a thin green bar below "
                 "a job runs from its release to its start where the solver held it."))
    plot_breakdown(v, out / "breakdown.png", max_servers)
    figs.append(("breakdown.png", "Energy cost by server and by GPU type (idle power while "
                 "on, dynamic power while running jobs) and penalty by kind (unweighted); "
                 "with holds, the title says what holding saved against the same "
                 "assignment held 0."))
    if v.ev.has_carbon:
        plot_carbon(v, out / "carbon.png", max_servers)
        figs.append(("carbon.png", "Carbon (kg CO2e) by server, idle and dynamic, above the "
                     "energy cost of the same servers (below zero where the price was "
                     "negative)."))
    tr = trace_series(result, traces, front)
    if tr:
        plot_convergence(tr, out / "convergence.png")
        figs.append(("convergence.png", "Best search objective over all chains after each "
                     "sweep (per run). A Pareto launch mixes lambdas: its line follows the "
                     "smallest lambda's chains."))
    if front is not None:
        carbon = _front_axis(front) == "carbon"
        plot_front(front, out / "front.png",
                   (v.ev.carbon_kg if carbon else v.ev.energy_cost, v.ev.penalty))
        figs.append(("front.png", "Non-dominated (energy cost, penalty) assignments of the "
                     "Pareto launch, coloured by the lambda of the chain that found each; "
                     "the star is the reported result."))
    return figs


def _front_axis(front) -> str:
    """"carbon" for a front of ``satea pareto --axis carbon``, else "energy"."""
    return (front.get("axis", "energy") if isinstance(front, dict)
            else getattr(front, "axis", "energy"))


def _summary_rows(v: ResultView) -> list[list]:
    """The summary table: instance, objective and its parts, then the run's settings."""
    problem, ev, m = v.problem, v.ev, v.meta
    summary: list[list] = [["instance", problem.name], ["jobs x servers", f"{problem.n_jobs} x "
               f"{problem.n_servers}"], ["objective", ev.objective],
               ["energy cost", ev.energy_cost], ["penalty (unweighted)", ev.penalty],
               *([["carbon (kg CO2e)", ev.carbon_kg], ["carbon cost", ev.carbon_cost]]
                 if ev.has_carbon else []),
               ["lambda", v.lam], ["lambda x penalty", v.lam * ev.penalty],
               ["feasible", ev.feasible], ["late jobs", int((ev.lateness > 0).sum())]]
    if ev.assignment_cost:
        summary.insert(5, ["assignment cost", ev.assignment_cost])
    saved = hold_savings(v)
    if saved is not None:   # part 3: against the same assignment held 0
        summary += [["held jobs", saved["held_jobs"]],
                    ["objective held 0", saved["objective_unheld"]],
                    ["energy cost held 0", saved["energy_cost_unheld"]],
                    ["saved by holding (objective)", saved["objective"]],
                    ["saved by holding (energy cost)", saved["energy_cost"]]]
    for k in ("backend", "chains", "sweeps", "seed", "seconds", "stopped_by", "message"):
        if k in m:
            summary.append([k.replace("_", " "), m[k]])
    return summary


def _page_top(title: str, summary: list[list], figs: list[tuple[str, str]]) -> list[str]:
    """The page's head, title, summary table and figures."""
    t = html.escape(title)
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{t}</title><style>{_CSS}</style></head><body>",
             f"<h1>{t}</h1>",
             "<p class=\"note\">Every number is re-scored in float64 by satea.objective."
             "evaluate. Times in hours from time 0, costs in the instance's currency.</p>",
             "<h2>Summary</h2>", _table(["", "value"], summary, left=(0, 1))]
    parts.append("<h2>Figures</h2>")
    for f, cap in figs:
        parts.append(f'<figure><img src="{f}" alt="{html.escape(f)}">'
                     f"<figcaption class=\"note\">{html.escape(cap)}</figcaption></figure>")
    return parts


def _breakdown_tables(v: ResultView, front) -> list[str]:
    """Energy cost by GPU type, penalty by kind and, with a front, its points."""
    parts = ["<h2>Energy cost by GPU type</h2>",
             _table(["GPU type", "servers", "used", "jobs", "idle", "dynamic", "energy cost"],
                    [[r["gpu"], r["servers"], r["used"], r["jobs"], r["idle"],
                      r["dynamic"], r["energy_cost"]] for r in energy_by_gpu(v)],
                    left=(0,)),
             "<h2>Penalty by kind</h2>",
             _table(["kind", "jobs", "late", "penalty", "lambda x penalty"],
                    [[r["kind"], r["jobs"], r["late"], r["penalty"], r["weighted"]]
                     for r in penalty_by_kind(v)], left=(0,))]
    if front is not None:
        lam, e, pen, _ = front_arrays(front)
        parts.append("<h2>Pareto front</h2>")
        first = "carbon (kg)" if _front_axis(front) == "carbon" else "energy cost"
        parts.append(_table(["lambda", first, "penalty", "objective at lambda"],
                            [[float(a), float(b), float(c), float(b + a * c)]
                             for a, b, c in zip(lam, e, pen)]))
    return parts


def _jobs_section(rows: list[list], max_job_rows: int, extra: list[str]) -> list[str]:
    """The per-job explanation: the first ``max_job_rows`` jobs, late ones highlighted;
    ``extra``: the headers of :func:`_extra_columns`."""
    shown = rows[:max_job_rows]
    gpus = [len(_JOB_HEADER) + i for i, h in enumerate(extra) if h == "GPUs"]
    return ["<h2>Per-job explanation</h2>",
            "<p class=\"note\">Why each job landed where it did: its server, when it "
            "ran, its deadline and what it cost. "
            + (f"First {len(shown)} of {len(rows)} jobs; every job in "
               if len(shown) < len(rows) else "Also as ")
            + "<a href=\"jobs.csv\">jobs.csv</a> (times in seconds; due_s is empty for a "
              "job without a deadline).</p>",
            _table(_JOB_HEADER + extra, shown, left=(0, 1, 6, *gpus),
                   row_class=lambda k: "late" if shown[k][5] > 0 else "")]


def write_report(problem, result, out_dir, front=None, traces=None, fleet: Fleet | None = None,
                 *, title: str | None = None, max_servers: int = 60,
                 max_job_rows: int = 2000) -> Path:
    """Write ``index.html`` and its PNG figures into ``out_dir``; return the page's path.

    Parameters
    ----------
    problem : ProblemArrays or Fleet
        The instance (a Fleet also gives GPU type and price-curve names).
    result : AnnealResult or dict
        The result to report (a ``satea-result/1`` dict is re-scored in float64 at its
        ``lambda``).
    out_dir : path
        Created if missing; existing figures of the same names are overwritten.
    front : ParetoFront or satea-front/1 dict, optional
        Adds ``front.png`` and a table of its points.
    traces : mapping label -> trace, or list of AnnealResults / result dicts, optional
        Convergence lines (best objective per sweep), e.g. one per backend. Default: the
        result's own trace (an AnnealResult's, or a dict's ``"trace"``) and the front's.
    fleet : Fleet, optional
        For names of GPU types and price curves when ``problem`` is compiled.
    title : str, optional
        The page's title; default ``satea report: <instance>``.
    max_servers : int
        Rows of the Gantt chart and bars of the per-server energy (the busiest beyond).
    max_job_rows : int
        Rows of the per-job table in the page; ``jobs.csv`` has every job.

    Raises
    ------
    ImportError
        Without matplotlib, saying ``pip install 'satea[plot]'``.
    """
    need_matplotlib()          # before anything is written
    if isinstance(problem, Fleet):
        from .compile import compile_fleet
        fleet, problem = problem, compile_fleet(problem)
    if not isinstance(problem, ProblemArrays):
        raise TypeError(f"problem: expected a Fleet or ProblemArrays, got {type(problem).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    v = ResultView(problem, result, fleet)
    figs = _draw_figures(v, out, result, front, traces, max_servers)
    extra = _extra_columns(v)
    rows = _explain_rows(v, extra)
    _write_jobs_csv(out / "jobs.csv", rows, [col[1] for col in extra])
    parts = (_page_top(title or "satea report: " + problem.name, _summary_rows(v), figs)
             + _breakdown_tables(v, front)
             + _jobs_section(rows, max_job_rows, [col[0] for col in extra]))
    parts.append("</body></html>\n")
    page = out / "index.html"
    page.write_text("\n".join(parts))
    return page


def write_front_plot(front, path, result=None) -> Path:
    """Write ``front.png`` alone (for ``satea pareto --plot``).

    Parameters
    ----------
    front : ParetoFront or satea-front/1 dict
        The front.
    path : path
        The PNG to write.
    result : AnnealResult or dict with energy_cost and penalty, optional
        Starred on the plot.

    Returns
    -------
    Path
        ``path``.
    """
    pt = None
    if isinstance(result, dict):
        pt = (float(result["energy_cost"]), float(result["penalty"]))
    elif result is not None:
        pt = (float(result.energy_cost), float(result.penalty))
    return plot_front(front, path, pt)


# the figures' names are satea.plots' (imported above for the page, not re-listed here)
__all__ = ["CSV_COLUMNS", "INSTALL_HINT", "write_front_plot", "write_report"]
