"""Figures of a result: the PNGs that :func:`satea.report.write_report` links.

:func:`plot_gantt`        a row per server: jobs as bars in dispatch order, deadlines, late
                          jobs highlighted, the electricity price shaded behind servers on
                          a price curve (:func:`price_runs`, :func:`price_colour_scale`)
:func:`plot_breakdown`    energy cost by server and by GPU type (idle / dynamic), penalty by
                          kind
:func:`plot_convergence`  best objective over sweeps, one line per run
:func:`plot_front`        the energy / penalty Pareto front

and what they draw from, which :mod:`satea.report` uses too: :class:`ResultView` (one
result re-scored at its lambda), :func:`energy_by_gpu` and :func:`penalty_by_kind` (also
the page's tables), :func:`trace_series`, :func:`front_arrays`, :data:`HOUR` and
:func:`need_matplotlib`.

matplotlib is an optional extra (``pip install 'satea[plot]'``), imported inside the
functions so that this module imports without it; it is drawn with the Agg canvas through
:class:`matplotlib.figure.Figure`, so no GUI and no global pyplot state.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .compile import ProblemArrays, fleet_classes
from .model import PENALTY_KINDS, Fleet
from .objective import evaluate

INSTALL_HINT = "pip install 'satea[plot]'"
DPI = 110
#: seconds in an hour: the figures and tables give times in hours
HOUR = 3600.0
ON_TIME, LATE, IDLE, DYNAMIC = "#4c78a8", "#e45756", "#b8c6d9", "#2f5d8a"
#: a held job's wait, from its release to its start (part 3)
HELD = "#2ca02c"
#: steps of a price curve laid out behind a Gantt row at most
PRICE_CELLS = 20000
#: Share of the longest run's sweeps left out when fitting the convergence plot's y range.
CONVERGENCE_SKIP = 0.05


def need_matplotlib():
    """matplotlib's Figure, or an ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"reports and plots need matplotlib: {INSTALL_HINT}") from e
    return Figure


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------

class ResultView:
    """One result as the figures and the report's tables see it: ``problem`` at the
    result's lambda, ``x`` (caller's order), its float64 evaluation ``ev``, the result's
    other fields ``meta``, and the names of GPU types and price curves (the ``fleet``'s
    when given). ``result``: an AnnealResult or a satea-result/1 dict."""

    def __init__(self, problem: ProblemArrays, result, fleet: Fleet | None):
        from .result import AnnealResult, assignment_from_names, holds_from_names
        if isinstance(result, AnnealResult):
            x, lam = np.asarray(result.x, np.int64), float(result.lam)
            holds = result.holds
            self.meta = result.to_dict()
        elif isinstance(result, dict):
            if not isinstance(result.get("assignment"), dict):
                raise ValueError("result: expected a satea-result/1 object with 'assignment'")
            x = assignment_from_names(problem, result["assignment"])
            holds = holds_from_names(problem, result.get("holds"))
            recorded = result.get("lambda")   # none recorded (null): the instance's
            lam = float(problem.lam if recorded is None else recorded)
            self.meta = {k: v for k, v in result.items() if k not in ("assignment", "jobs",
                                                                         "trace", "holds")}
        else:
            raise TypeError(f"result: expected an AnnealResult or a satea-result/1 dict, "
                            f"got {type(result).__name__}")
        self.problem = problem.with_lambda(lam)
        self.lam, self.x = lam, x
        self.ev = evaluate(self.problem, x, holds)
        #: part 3: seconds each job was held (caller's order), and the same assignment
        #: held 0 (None when no job is held): what holding saved
        self.holds = (np.zeros(x.shape[0]) if holds is None
                      else self.problem.to_caller(np.asarray(holds, np.float64)))
        self.ev_unheld = evaluate(self.problem, x) if self.holds.any() else None
        self.fleet = fleet
        G = problem.n_server_classes
        classes = fleet_classes(fleet)[1] if fleet is not None else []
        #: per server class: its GPU type's name, with the node's GPU count beyond one
        self.gpu_names = ([g if n == 1 else f"{g} x{n}" for g, n in classes]
                          if len(classes) == G else [f"GPU type {g}" for g in range(G)])
        #: per compiled curve: its name. A fleet compiles its price curves, then its carbon
        #: curves, then the merged price + carbon curves the search follows
        #: (satea.compile, ``ServerSeries``)
        n_curves = len(problem.curve_len)
        names = ([] if fleet is None else list(fleet.price_curves)
                 + [f"carbon {c}" for c in fleet.carbon_curves])
        names = names if len(names) <= n_curves else []
        self.curve_names = names + [f"curve {c}" for c in range(len(names), n_curves)]

    # caller-order job arrays
    @property
    def due(self) -> np.ndarray:
        return self.problem.to_caller(self.problem.due)

    @property
    def pen_kind(self) -> np.ndarray:
        return self.problem.to_caller(self.problem.pen_kind)

    def server_label(self, s: int) -> str:
        p = self.problem
        g = self.gpu_names[int(p.server_class[s])]
        # the electricity price (the fleet's price curve or constant), as the Gantt shades
        # it: not the search's price, which adds the carbon cost in a merged curve
        if p.energy_curve[s] >= 0:
            price = f"TOU {self.curve_names[int(p.energy_curve[s])]}"
        else:
            price = f"{p.energy_const[s]:.3g}/kWh"
        return f"{p.server_names[s]}  {g}  {price}"


def trace_series(result, traces, front) -> list[tuple[str, np.ndarray]]:
    """[(label, trace)] from ``traces`` (mapping label -> array, or a list of results), or
    else from the result (an AnnealResult's trace, a dict's "trace") and the front."""
    from .result import AnnealResult
    out = []

    def add(label, tr):
        tr = np.asarray(tr, np.float64).reshape(-1)
        if tr.size:
            out.append((str(label), tr))

    def from_obj(obj, i):
        if isinstance(obj, AnnealResult):
            add(f"{obj.backend} ({obj.chains} chains, {obj.seconds:.3g} s)", obj.trace)
        elif isinstance(obj, dict) and obj.get("trace") is not None:
            lab = obj.get("backend", f"run {i + 1}")
            if "chains" in obj:
                lab += f" ({obj['chains']} chains"
                lab += f", {obj['seconds']:.3g} s)" if "seconds" in obj else ")"
            add(lab, obj["trace"])
        elif isinstance(obj, (list, tuple, np.ndarray)):
            add(f"run {i + 1}", obj)

    if traces is not None:
        if isinstance(traces, dict):
            for k, v in traces.items():
                add(k, v.trace if isinstance(v, AnnealResult) else v)
        else:
            for i, t in enumerate(traces):
                from_obj(t, i)
        return out
    from_obj(result, 0)
    if front is not None:
        run = getattr(front, "run", None)
        if run is not None:
            add(f"pareto launch: {run.backend} ({run.chains} chains, all lambdas)", run.trace)
        elif isinstance(front, dict) and front.get("trace"):
            add(f"pareto launch: {front.get('backend', '?')} (all lambdas)", front["trace"])
    return out


def front_arrays(front):
    """``(lambda, energy, penalty, candidates)``: the front's points as arrays and its
    candidates' ``(energy, penalty, lambda)`` rows (None for a front read from its file);
    None without a front."""
    if front is None:
        return None
    if isinstance(front, dict):
        pts = front.get("points", [])
        lam = np.array([p["lambda"] for p in pts], np.float64)
        # a carbon front (pareto --axis carbon) writes its first axis as carbon_kg
        e = np.array([p["carbon_kg"] if front.get("axis") == "carbon" else p["energy_cost"]
                      for p in pts], np.float64)
        pen = np.array([p["penalty"] for p in pts], np.float64)
        return lam, e, pen, None
    cand = getattr(front, "candidates", None)
    return front.lam, front.energy_cost, front.penalty, cand


def _servers_shown(v: ResultView, max_servers: int) -> tuple[np.ndarray, str]:
    """Server rows to draw (all, or the busiest ``max_servers``) and a title note."""
    m = v.problem.n_servers
    if m <= max_servers:
        return np.arange(m), ""
    used = np.flatnonzero(~np.isnan(v.ev.server_on))
    top = used[np.argsort(-v.ev.server_busy[used], kind="stable")[:max_servers]]
    return np.sort(top), f" ({len(top)} busiest of {m} servers)"


def _energy_parts(v: ResultView):
    """Per server: (idle, dynamic) energy cost."""
    p, ev = v.problem, v.ev
    dyn = np.bincount(v.x, weights=ev.job_energy_cost, minlength=p.n_servers)
    # not clipped at 0: at a negative price idle power earns money (docs/model.md)
    idle = ev.server_energy_cost - dyn
    return idle, dyn


def _carbon_parts(v: ResultView):
    """Per server: (idle, dynamic) kg CO2e."""
    p, ev = v.problem, v.ev
    assert ev.job_carbon_kg is not None and ev.server_carbon_kg is not None
    dyn = np.bincount(v.x, weights=ev.job_carbon_kg, minlength=p.n_servers)
    return np.maximum(ev.server_carbon_kg - dyn, 0.0), dyn   # both >= 0 up to rounding


def penalty_by_kind(v: ResultView) -> list[dict]:
    """Per penalty kind: jobs, late jobs, unweighted penalty and lambda x penalty."""
    kinds = v.pen_kind
    out = []
    for k, name in enumerate(PENALTY_KINDS):
        sel = kinds == k
        if k == 0 and not sel.any():
            continue
        pen = float(v.ev.job_penalty[sel].sum())
        out.append(dict(kind=name, jobs=int(sel.sum()), late=int((v.ev.lateness[sel] > 0).sum()),
                        penalty=pen, weighted=v.lam * pen))
    return out


def hold_savings(v: ResultView) -> dict | None:
    """What holding saved: the same assignment held 0 minus the result (energy cost,
    penalty, objective; positive: holding paid), and the jobs held; None when no job
    is held."""
    if v.ev_unheld is None:
        return None
    e0, e = v.ev_unheld, v.ev
    return dict(held_jobs=int((v.holds > 0).sum()), energy_cost=e0.energy_cost - e.energy_cost,
                penalty=e0.penalty - e.penalty, objective=e0.objective - e.objective,
                objective_unheld=e0.objective, energy_cost_unheld=e0.energy_cost)


def energy_by_gpu(v: ResultView) -> list[dict]:
    """Per GPU type with servers: servers, used servers, jobs, idle / dynamic / total
    energy cost."""
    idle, dyn = _energy_parts(v)
    sc = v.problem.server_class
    G = v.problem.n_server_classes
    out = []
    for g in range(G):
        sel = sc == g
        if not sel.any():
            continue
        used = sel & ~np.isnan(v.ev.server_on)
        out.append(dict(gpu=v.gpu_names[g], servers=int(sel.sum()), used=int(used.sum()),
                        jobs=int(np.isin(v.x, np.flatnonzero(sel)).sum()),
                        idle=float(idle[sel].sum()), dynamic=float(dyn[sel].sum()),
                        energy_cost=float(idle[sel].sum() + dyn[sel].sum())))
    return out


# ---------------------------------------------------------------------------------------
# Gantt chart
# ---------------------------------------------------------------------------------------

def _gantt_end(v: ResultView, rows: np.ndarray) -> float:
    """Seconds the chart spans: the last completion or deadline on the rows shown, +2%."""
    ev, due = v.ev, v.due
    on_shown = np.isin(v.x, rows)
    t_end = float(np.nanmax(ev.completion[on_shown])) if on_shown.any() else 1.0
    fin_due = due[on_shown & np.isfinite(due)]
    return max(t_end, float(fin_due.max()) if fin_due.size else 0.0, 1.0) * 1.02


def price_runs(problem: ProblemArrays, c: int, t_end: float,
               max_cells: int = PRICE_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Compiled curve ``c`` over ``[0, t_end]`` seconds as the evaluator prices it, in
    runs of one value: ``(edges, values)``, ``values[i]`` on ``[edges[i], edges[i+1])``.

    Step ``i`` of ``L`` holds ``vals[i]`` on ``[i*step, (i+1)*step)``; a repeating curve
    repeats with period ``L*step``, a non-repeating one (``repeat: false``, a market
    series) holds its last value for ever after its last step (docs/model.md, part 2;
    :func:`satea.objective.price_integral`), so its last run reaches ``t_end``. At most
    ``max_cells`` steps are laid out (the last edge may then fall short of ``t_end``).
    """
    a, L = int(problem.curve_start[c]), int(problem.curve_len[c])
    step = float(problem.curve_step[c])
    vals = np.asarray(problem.curve_vals[a:a + L], np.float64)
    k = max(1, int(math.ceil(t_end / step)))
    repeat = bool(problem.curve_repeat[c])
    n = min(k if repeat else min(k, L), max_cells)
    cells = vals[np.arange(n) % L]
    edges = np.arange(n + 1, dtype=np.float64) * step
    if not repeat and n == L:             # the series ended: its last value holds
        edges[-1] = max(edges[-1], t_end)
    first = np.concatenate([[0], np.flatnonzero(cells[1:] != cells[:-1]) + 1])
    return np.append(edges[first], edges[-1]), cells[first]


def price_colour_scale(values: np.ndarray) -> tuple[str, float, float | None, float] | None:
    """The colour scale of the Gantt's price shading: ``(colormap, vmin, vcenter, vmax)``
    over the prices drawn, None without any.

    Prices all >= 0: a sequential scale from the lowest to the highest (``vcenter``
    None). Some price < 0: a diverging scale white at 0 (``vcenter`` 0), purple below and
    orange above, each side spanning its own extreme, so that negative hours stay visible
    however small they are beside the positive ones (docs/model.md, part 2).
    """
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0.0:
        return "YlOrBr", lo, None, hi if hi > lo else lo + max(abs(lo) * 1e-6, 1e-9)
    return "PuOr_r", lo, 0.0, hi if hi > 0.0 else -lo


def gantt_price_runs(v: ResultView, rows, t_end: float) -> dict[int, tuple]:
    """Per row server on an electricity price curve (``energy_curve``: the fleet's
    price curve, not the carbon curve nor the search's merged price + carbon curve): its
    :func:`price_runs` over the chart's ``[0, t_end]``."""
    p = v.problem
    return {int(s): price_runs(p, int(p.energy_curve[s]), t_end)
            for s in rows if p.energy_curve[s] >= 0}


def _gantt_prices(ax, v: ResultView, rows: np.ndarray, row_of: dict, t_end: float):
    """Shade the electricity price behind the rows of servers on a price curve; the
    last mesh drawn (for the colorbar), or None without such servers."""
    from matplotlib.colors import Normalize, TwoSlopeNorm
    runs = gantt_price_runs(v, rows, t_end)
    scale = price_colour_scale(np.concatenate([r[1] for r in runs.values()])
                               if runs else np.zeros(0))
    if scale is None:
        return None
    cmap, lo, center, hi = scale
    # one norm for every strip, so that a colour is the same price on every row
    norm = (Normalize(lo, hi) if center is None else TwoSlopeNorm(center, lo, hi))
    price_img = None
    for s, (edges, vals) in runs.items():
        y = row_of[s]
        price_img = ax.pcolormesh(edges / HOUR, [y - 0.5, y + 0.5], vals[None, :], cmap=cmap,
                                  norm=norm, alpha=0.45, shading="flat", zorder=0,
                                  rasterized=True, linewidth=0)
    return price_img


def gantt_row(ax, v: ResultView, s: int, y: int, late: np.ndarray, pt_per_h: float) -> None:
    """One server's row: its on-time line, its jobs' bars, deadlines and (if they fit)
    names."""
    p, ev, due = v.problem, v.ev, v.due
    if not np.isnan(ev.server_on[s]):
        ax.plot([ev.server_on[s] / HOUR, ev.server_off[s] / HOUR], [y, y], color="0.45",
                lw=1.0, zorder=1)
    jobs = np.flatnonzero(v.x == s)
    jobs = jobs[np.argsort(ev.start[jobs], kind="stable")]     # dispatch order
    if jobs.size == 0:
        return
    st, dur = ev.start[jobs] / HOUR, (ev.completion[jobs] - ev.start[jobs]) / HOUR
    colors = [LATE if late[j] else ON_TIME for j in jobs]
    n_gpus = int(p.server_gpus[s])
    if n_gpus > 1 and ev.gpu_lanes is not None:
        _gantt_lanes(ax, v, jobs, st, dur, colors, y, n_gpus)
    else:
        ax.barh(np.full(jobs.size, y), dur, left=st, height=0.62, color=colors,
                edgecolor="white", linewidth=0.8, zorder=2)
    _gantt_holds(ax, v, jobs, y)
    d = due[jobs]
    ok = np.isfinite(d) & ~late[jobs]       # on time: a short tick above the bar
    ax.vlines(d[ok] / HOUR, y - 0.47, y - 0.31, colors="0.15", linewidth=0.9, zorder=3)
    ok = np.isfinite(d) & late[jobs]        # late: a full-height line in the bar
    ax.vlines(d[ok] / HOUR, y - 0.47, y + 0.36, colors="#6b0a0a", linewidth=1.5, zorder=3)
    if p.n_jobs <= 400 and n_gpus == 1:     # beyond, names are unreadable anyway
        for j, a0, w in zip(jobs.tolist(), st.tolist(), dur.tolist()):
            if w * pt_per_h >= 7 * 0.62 * len(p.job_names[j]) + 6:   # the name fits
                ax.text(a0 + w / 2, y, p.job_names[j], ha="center", va="center",
                        fontsize=7, color="white", zorder=4, clip_on=True)


def _gantt_holds(ax, v: ResultView, jobs, y: int) -> None:
    """A thin bar below the row from each held job's release to its start, with a dot at
    the release: the wait the solver chose (part 3)."""
    held = jobs[v.holds[jobs] > 0]
    if held.size == 0:
        return
    rel = v.problem.to_caller(v.problem.release)[held] / HOUR
    st = v.ev.start[held] / HOUR
    ax.barh(np.full(held.size, y + 0.4), st - rel, left=rel, height=0.1, color=HELD,
            linewidth=0, zorder=3)
    ax.plot(rel, np.full(held.size, y + 0.4), "o", ms=2.5, color=HELD, zorder=3)


def _gantt_lanes(ax, v: ResultView, jobs, st, dur, colors, y: int, n_gpus: int) -> None:
    """A node's row split into one lane per GPU (GPU 0 on top): each job a bar on the
    lanes of the GPUs it ran on (``Evaluation.gpu_lanes``), a gang job one bar over each
    run of neighbouring lanes."""
    lane = 0.62 / n_gpus
    top = y - 0.31
    gpu_lanes = v.ev.gpu_lanes or []
    for k, j in enumerate(jobs.tolist()):
        lanes = sorted(gpu_lanes[j])
        run_start = prev = lanes[0]
        for g in lanes[1:] + [None]:
            if g is not None and g == prev + 1:
                prev = g
                continue
            ax.barh(top + (run_start + prev + 1) * lane / 2, dur[k], left=st[k],
                    height=(prev - run_start + 1) * lane, color=colors[k],
                    edgecolor="white", linewidth=0.3, zorder=2)
            if g is not None:
                run_start = prev = g


def _gantt_legend(fig, ax, price_img, held: bool = False) -> None:
    """The legend below the axes and, with prices shaded, the price colorbar; ``held``:
    the hold bars' entry."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Patch(color=ON_TIME, label="job on time"), Patch(color=LATE, label="late job"),
               Line2D([], [], marker="|", ms=7, mew=0.9, ls="", color="0.15",
                      label="deadline (on-time job)"),
               Line2D([], [], marker="|", ms=11, mew=1.5, ls="", color="#6b0a0a",
                      label="deadline (late job)"),
               Line2D([], [], color="0.45", lw=1.0, label="server on (idle between jobs)")]
    if price_img is not None:
        handles.append(Patch(color="#e7a94a", alpha=0.45, label="electricity price"))
    if held:
        handles.append(Line2D([], [], color=HELD, lw=2.5, marker="o", ms=3,
                              label="held: release to start"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)
    if price_img is not None:
        from matplotlib.colors import TwoSlopeNorm
        cb = fig.colorbar(price_img, ax=ax, pad=0.01, fraction=0.03)
        label = "electricity price (currency/kWh)"
        if isinstance(price_img.norm, TwoSlopeNorm):   # negative prices: white at 0
            label += "\nwhite: 0, purple: negative"
            cb.ax.axhline(0.0, color="0.2", lw=0.8)
        cb.set_label(label, fontsize=8)
        cb.ax.tick_params(labelsize=7)


def plot_gantt(v: ResultView, path, max_servers: int = 60) -> Path:
    """Draw the schedule as a Gantt chart, a row per server, time in hours.

    Jobs are bars in dispatch order, the server's on-time a thin line, deadlines ticks,
    late jobs red, the electricity price shaded behind servers on a price curve (as the
    evaluator prices it: a non-repeating curve holds its last value after its end; one
    colour scale over the prices drawn, diverging at 0 where some are negative:
    :func:`gantt_price_runs`, :func:`price_colour_scale`), and a held job's wait a thin
    green bar from its release to its start.

    Parameters
    ----------
    v : ResultView
        The result.
    path : path
        The PNG to write.
    max_servers : int
        Rows at most: beyond, the busiest servers.

    Returns
    -------
    Path
        ``path``.
    """
    Figure = need_matplotlib()
    p = v.problem
    rows, note = _servers_shown(v, max_servers)
    row_of = {int(s): i for i, s in enumerate(rows)}
    t_end = _gantt_end(v, rows)
    T = t_end / HOUR                                      # hours
    n = len(rows)
    fig = Figure(figsize=(12.0, max(3.6, 0.42 * n + 1.8)), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    price_img = _gantt_prices(ax, v, rows, row_of, t_end)
    late = v.ev.lateness > 0
    pt_per_h = 0.82 * fig.get_figwidth() * 72 / T     # about: axes width in points / hours
    for s in rows:
        gantt_row(ax, v, int(s), row_of[int(s)], late, pt_per_h)
    ax.set_yticks(np.arange(n))
    ax.set_yticklabels([v.server_label(int(s)) for s in rows], fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, T)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("server  (GPU type, price)")
    ax.set_title(f"Schedule of {p.name}{note}: {p.n_jobs} jobs, {int(late.sum())} late "
                 f"(lambda = {v.lam:g})", fontsize=11)
    ax.grid(axis="x", color="0.85", lw=0.6, zorder=-1)
    ax.set_axisbelow(True)
    _gantt_legend(fig, ax, price_img, bool(v.holds.any()))
    fig.tight_layout(rect=(0, 0.42 / fig.get_figheight(), 1, 1))
    fig.savefig(path)
    return Path(path)


# ---------------------------------------------------------------------------------------
# breakdown
# ---------------------------------------------------------------------------------------

def _bars_by_server(ax, v: ResultView, max_servers: int) -> None:
    """Idle and dynamic energy cost stacked, a bar per server (the busiest beyond)."""
    p = v.problem
    idle, dyn = _energy_parts(v)
    rows, note = _servers_shown(v, max_servers)
    xs = np.arange(len(rows))
    ax.bar(xs, idle[rows], color=IDLE, label="idle (server on)")
    ax.bar(xs, dyn[rows], bottom=idle[rows], color=DYNAMIC, label="dynamic (jobs running)")
    if v.ev_unheld is not None:   # part 3: what the same assignment held 0 would cost
        ax.bar(xs, v.ev_unheld.server_energy_cost[rows], fill=False, edgecolor=HELD,
               linestyle="--", linewidth=1.2, label="same assignment held 0")
    ax.set_xticks(xs)
    ax.set_xticklabels([p.server_names[s] for s in rows], rotation=90 if len(rows) > 24 else 0,
                       fontsize=8)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel("energy cost (currency)")
    ax.set_xlabel("server")
    ax.set_title(f"Energy cost by server{note}: total {v.ev.energy_cost:.4g}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", color="0.88", lw=0.6)
    ax.set_axisbelow(True)


def _bars_by_gpu(ax, v: ResultView) -> None:
    """Idle and dynamic energy cost stacked, a bar per GPU type."""
    rows_g = energy_by_gpu(v)
    xs = np.arange(len(rows_g))
    ig = np.array([r["idle"] for r in rows_g])
    dg = np.array([r["dynamic"] for r in rows_g])
    ax.bar(xs, ig, color=IDLE, label="idle")
    ax.bar(xs, dg, bottom=ig, color=DYNAMIC, label="dynamic")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['gpu']}\n{r['used']}/{r['servers']} used\n{r['jobs']} jobs"
                        for r in rows_g], fontsize=8 if len(rows_g) <= 6 else 7)
    ax.set_ylabel("energy cost (currency)")
    ax.set_xlabel("GPU type")
    ax.set_title("Energy cost by GPU type", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", color="0.88", lw=0.6)
    ax.set_axisbelow(True)


def _bars_by_penalty_kind(ax, v: ResultView) -> None:
    """Unweighted penalty, a bar per penalty kind that jobs have, values annotated."""
    kinds = [r for r in penalty_by_kind(v) if r["kind"] != "none"]
    xs = np.arange(len(kinds))
    vals = np.array([r["penalty"] for r in kinds])
    bars = ax.bar(xs, vals, color=LATE)
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{r['kind']}\n{r['late']}/{r['jobs']} late" for r in kinds],
                       fontsize=8)
    ax.set_ylabel("penalty (currency, unweighted)")
    ax.set_xlabel("penalty kind")
    total = v.ev.penalty
    ax.set_title(f"Penalty by kind: total {total:.4g}, x lambda {v.lam:g} = "
                 f"{v.lam * total:.4g}", fontsize=10)
    if vals.size and vals.max() > 0:
        # exponential penalties dwarf linear ones: a log axis keeps every bar visible
        if vals.max() / max(vals[vals > 0].min(), 1e-300) > 1e3:
            ax.set_yscale("log")
        for b, val in zip(bars, vals):
            ax.annotate(f"{val:.3g}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                        textcoords="offset points")
        ax.margins(y=0.15)
    else:
        ax.text(0.5, 0.5, "no penalty: every job on time", ha="center", va="center",
                transform=ax.transAxes, fontsize=10)
        ax.set_ylim(0, 1)
    ax.grid(axis="y", color="0.88", lw=0.6)
    ax.set_axisbelow(True)


def plot_breakdown(v: ResultView, path, max_servers: int = 60) -> Path:
    """Draw energy cost by server and by GPU type (idle / dynamic stacked) and penalty by
    kind.

    Parameters
    ----------
    v : ResultView
        The result.
    path : path
        The PNG to write.
    max_servers : int
        Bars of the per-server panel at most: beyond, the busiest servers.

    Returns
    -------
    Path
        ``path``.
    """
    Figure = need_matplotlib()
    fig = Figure(figsize=(12.0, 7.6), dpi=DPI)
    gs = fig.add_gridspec(2, 2, height_ratios=[1.0, 1.0], width_ratios=[1.3, 1.0])
    _bars_by_server(fig.add_subplot(gs[0, :]), v, max_servers)
    _bars_by_gpu(fig.add_subplot(gs[1, 0]), v)
    _bars_by_penalty_kind(fig.add_subplot(gs[1, 1]), v)
    carbon = (f"carbon {v.ev.carbon_cost:.6g} ({v.ev.carbon_kg:.6g} kg) + "
              if v.ev.has_carbon else "")
    title = (f"objective {v.ev.objective:.6g} = energy {v.ev.energy_cost:.6g} + "
             f"{carbon}{v.lam:g} x penalty {v.ev.penalty:.6g}")
    saved = hold_savings(v)
    if saved is not None:   # part 3: against the same assignment held 0
        title += (f"\nholding saved {saved['energy_cost']:.4g} energy cost and "
                  f"{saved['objective']:.4g} objective against the same assignment held 0 "
                  f"({saved['held_jobs']} of {v.problem.n_jobs} jobs held)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_carbon(v: ResultView, path, max_servers: int = 60) -> Path:
    """Draw carbon (kg CO2e) by server, idle / dynamic stacked, beside the energy cost
    of the same servers (docs/model.md, part 2).

    Parameters
    ----------
    v : ResultView
        A result whose instance has carbon intensities.
    path : path
        The PNG to write.
    max_servers : int
        Bars at most: beyond, the busiest servers.

    Returns
    -------
    Path
        ``path``.
    """
    Figure = need_matplotlib()
    p = v.problem
    idle, dyn = _carbon_parts(v)
    e_idle, e_dyn = _energy_parts(v)
    rows, note = _servers_shown(v, max_servers)
    xs = np.arange(len(rows))
    fig = Figure(figsize=(12.0, 6.4), dpi=DPI)
    ax_c, ax_e = fig.subplots(2, 1, sharex=True)
    ax_c.bar(xs, idle[rows], color=IDLE, label="idle (server on)")
    ax_c.bar(xs, dyn[rows], bottom=idle[rows], color=DYNAMIC, label="dynamic (jobs running)")
    ax_c.set_ylabel("carbon (kg CO2e)")
    ax_c.set_title(f"Carbon by server{note}: total {v.ev.carbon_kg:.4g} kg, cost "
                   f"{v.ev.carbon_cost:.4g} at {p.carbon_price:g} per kg", fontsize=10)
    ax_c.legend(fontsize=8, loc="upper right")
    ax_e.bar(xs, e_idle[rows] + e_dyn[rows], color=DYNAMIC)
    ax_e.axhline(0.0, color="0.3", lw=0.6)
    ax_e.set_ylabel("energy cost (currency)")
    ax_e.set_title(f"Energy cost of the same servers: total {v.ev.energy_cost:.4g}",
                   fontsize=10)
    ax_e.set_xticks(xs)
    ax_e.set_xticklabels([p.server_names[s] for s in rows],
                         rotation=90 if len(rows) > 24 else 0, fontsize=8)
    ax_e.set_xlim(-0.6, len(rows) - 0.4)
    ax_e.set_xlabel("server")
    for ax in (ax_c, ax_e):
        ax.grid(axis="y", color="0.88", lw=0.6)
        ax.set_axisbelow(True)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


# ---------------------------------------------------------------------------------------
# convergence
# ---------------------------------------------------------------------------------------

def _convergence_range(traces: list[tuple[str, np.ndarray]]) -> tuple[float, float, int]:
    """(lo, hi) of the finite trace values after the first ``k`` sweeps, and ``k``.

    ``k`` is :data:`CONVERGENCE_SKIP` of the longest run's sweeps, the same sweep for every
    run, so that a short run's start is cut like a long one's; each run keeps at least its
    last value. (nan, nan, 0) when no value is finite.
    """
    n = max(tr.size for _, tr in traces)
    k = int(math.ceil(CONVERGENCE_SKIP * n))
    tails = [tr[min(k, tr.size - 1):] for _, tr in traces]
    vals = np.concatenate([t[np.isfinite(t)] for t in tails])
    if not vals.size:
        return math.nan, math.nan, 0
    return float(vals.min()), float(vals.max()), k


def _convergence_ylim(ax, traces: list[tuple[str, np.ndarray]]) -> None:
    """Fit the y axis to the traces after their first few sweeps; note what it cuts off.

    The first sweeps start from random assignments, often orders of magnitude above where
    the search settles (1e7 against 2 on the example fleet): a y range, log or not, fitted to
    them flattens every later improvement into the bottom of the plot. So the range fits
    the rest, and the start runs off the top with a note of its height.
    """
    lo, hi, k = _convergence_range(traces)
    start = max((float(np.nanmax(tr[:k])) for _, tr in traces
                 if tr[:k].size and np.isfinite(tr[:k]).any()), default=-math.inf)
    if not (hi > lo) or start <= hi:
        # a flat tail (nothing to resolve) or nothing cut: matplotlib's own fit, as before
        vals = np.concatenate([tr[np.isfinite(tr)] for _, tr in traces])
        if vals.size and vals.min() > 0 and vals.max() / vals.min() > 100:
            ax.set_yscale("log")
        return
    if lo > 0 and hi / lo > 100:
        ax.set_yscale("log")
        f = (hi / lo) ** 0.05                           # 5% margins in log space
        ax.set_ylim(lo / f, hi * f)
    else:
        pad = 0.05 * (hi - lo)                          # matplotlib's default margins
        ax.set_ylim(lo - pad, hi + pad)
    # upper right: the traces fall steeply at the left and settle at the bottom
    cut = "sweep 1 reaches" if k == 1 else f"sweeps 1-{k} reach up to"
    ax.text(0.99, 0.98, f"y axis fitted to sweeps {k + 1} on; {cut} {start:.4g}",
            transform=ax.transAxes, ha="right", va="top", fontsize=8, color="0.3")


def plot_convergence(traces: list[tuple[str, np.ndarray]], path) -> Path:
    """Draw the best objective over sweeps, one line per run.

    The y axis fits the runs after their first few sweeps (:data:`CONVERGENCE_SKIP` of
    the longest run), so that the start does not flatten the rest; a note says so.

    Parameters
    ----------
    traces : list of (label, trace)
        Best objective after each sweep, per run.
    path : path
        The PNG to write.

    Returns
    -------
    Path
        ``path``.
    """
    Figure = need_matplotlib()
    fig = Figure(figsize=(9.0, 5.0), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    styles = ["-", "--", ":", "-."]
    for i, (label, tr) in enumerate(traces):
        ok = np.isfinite(tr)
        sw = np.arange(1, tr.size + 1)
        # identical streams give identical traces on every backend: dashes keep both seen
        ax.plot(sw[ok], tr[ok], lw=2.2 if i == 0 else 1.6, ls=styles[i % len(styles)],
                label=label)
    if traces:
        _convergence_ylim(ax, traces)
    ax.set_xlabel("sweep (n_jobs attempted moves per chain)")
    ax.set_ylabel("best objective over chains (currency)")
    ax.set_title("Convergence: best search objective after each sweep", fontsize=11)
    ax.grid(color="0.88", lw=0.6)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


# ---------------------------------------------------------------------------------------
# Pareto front
# ---------------------------------------------------------------------------------------

def _lambda_norm(front, lp: np.ndarray):
    """A log colour scale over the front's positive lambda ladder (else the points')."""
    from matplotlib.colors import LogNorm
    ladder = (front.get("lambdas") if isinstance(front, dict)
              else getattr(front, "lambdas", None))
    ladder = np.asarray(ladder if ladder is not None else lp, np.float64)
    # colours span the ladder, so that one lambda has one colour on every front
    ladder = ladder[ladder > 0] if (ladder > 0).any() else lp
    lo, hi = float(ladder.min()), float(ladder.max())
    return LogNorm(lo, hi if hi > lo else lo * 10)


def plot_front(front, path, result_point: tuple[float, float] | None = None) -> Path:
    """Draw the Pareto front: energy cost against penalty, points coloured by lambda.

    Parameters
    ----------
    front : ParetoFront or satea-front/1 dict
        The front; a ParetoFront's dominated chain bests are drawn in grey.
    path : path
        The PNG to write.
    result_point : (energy, penalty), optional
        Starred.

    Returns
    -------
    Path
        ``path``.
    """
    Figure = need_matplotlib()
    lam, e, pen, cand = front_arrays(front)
    fig = Figure(figsize=(9.0, 6.0), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    allpen = pen if cand is None else np.concatenate([pen, cand[:, 1]])
    if cand is not None and cand.size:
        ax.scatter(cand[:, 0], cand[:, 1], s=12, color="0.7", label="dominated chain best",
                   zorder=1)
    ax.step(e, pen, where="post", color="0.35", lw=1.0, zorder=2)
    pos = lam > 0
    sc = None
    if pos.any():
        lp = lam[pos]
        sc = ax.scatter(e[pos], pen[pos], c=lp, cmap="viridis", norm=_lambda_norm(front, lp),
                        s=38, edgecolor="black", linewidth=0.5, zorder=3, label="front point")
    if (~pos).any():
        ax.scatter(e[~pos], pen[~pos], marker="s", s=38, color="white", edgecolor="black",
                   zorder=3, label="front point, lambda = 0")
    if result_point is not None:
        ax.scatter([result_point[0]], [result_point[1]], marker="*", s=220, color="#e45756",
                   edgecolor="black", zorder=4, label="reported result")
    # y: penalties often span many decades (exponential penalties of lambda ~ 0)
    posp = allpen[allpen > 0]
    if posp.size and posp.max() / posp.min() > 100:
        if (allpen <= 0).any():
            ax.set_yscale("symlog", linthresh=float(posp.min()))
        else:
            ax.set_yscale("log")
    carbon = (front.get("axis") if isinstance(front, dict)
              else getattr(front, "axis", "energy")) == "carbon"
    ax.set_xlabel("carbon (kg CO2e)" if carbon else "energy cost (currency)")
    ax.set_ylabel("penalty (currency, unweighted)")
    ax.set_title(f"{'Carbon' if carbon else 'Energy'} / timeliness trade-off: {len(e)} "
                 f"non-dominated points", fontsize=11)
    ax.grid(color="0.88", lw=0.6, which="major")
    ax.legend(fontsize=8, loc="upper right")
    if sc is not None:
        cb = fig.colorbar(sc, ax=ax, pad=0.01)
        cb.set_label("lambda of the chain that found it", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


__all__ = [
    "HOUR",
    "INSTALL_HINT",
    "ResultView",
    "energy_by_gpu",
    "front_arrays",
    "gantt_price_runs",
    "need_matplotlib",
    "penalty_by_kind",
    "plot_breakdown",
    "plot_convergence",
    "plot_front",
    "plot_gantt",
    "price_colour_scale",
    "price_runs",
    "trace_series",
]
