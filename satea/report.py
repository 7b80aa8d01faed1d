"""Reports: a self-contained HTML page with PNG figures of a result.

:func:`write_report` writes into a folder::

    index.html        summary, breakdown tables, per-job explanation (links the figures)
    gantt.png         a row per server: jobs as bars in dispatch order, deadlines, late
                      jobs highlighted, time-of-use price shaded behind curve servers
    breakdown.png     energy cost by server and by GPU type (idle / dynamic), penalty by kind
    convergence.png   best objective over sweeps, one line per run (when traces are known)
    front.png         the energy / penalty Pareto front (when a front is given)
    jobs.csv          the per-job explanation, every job

matplotlib is an optional extra (``pip install 'satea[plot]'``); it is drawn with the Agg
canvas through :class:`matplotlib.figure.Figure`, so no GUI and no global pyplot state.
"""
from __future__ import annotations

import csv
import html
import math
from pathlib import Path

import numpy as np

from .compile import ProblemArrays
from .model import PENALTY_KINDS, Fleet
from .objective import evaluate

INSTALL_HINT = "pip install 'satea[plot]'"
DPI = 110
_H = 3600.0
ON_TIME, LATE, IDLE, DYNAMIC = "#4c78a8", "#e45756", "#b8c6d9", "#2f5d8a"


def _need_matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"reports and plots need matplotlib: {INSTALL_HINT}") from e
    return Figure


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------

class _View:
    """What the figures need of one result: the problem at its lambda, x, the evaluation,
    and names."""

    def __init__(self, problem: ProblemArrays, result, fleet: Fleet | None):
        from .result import AnnealResult, assignment_from_names
        if isinstance(result, AnnealResult):
            x, lam = np.asarray(result.x, np.int64), float(result.lam)
            self.meta = result.to_dict()
        elif isinstance(result, dict):
            if not isinstance(result.get("assignment"), dict):
                raise ValueError("result: expected a satea-result/1 object with 'assignment'")
            x = assignment_from_names(problem, result["assignment"])
            lam = float(result.get("lambda", problem.lam))
            self.meta = {k: v for k, v in result.items() if k not in ("assignment", "jobs",
                                                                         "trace")}
        else:
            raise TypeError(f"result: expected an AnnealResult or a satea-result/1 dict, "
                            f"got {type(result).__name__}")
        self.problem = problem.with_lambda(lam)
        self.lam, self.x = lam, x
        self.ev = evaluate(self.problem, x)
        self.fleet = fleet
        G = problem.n_server_classes
        self.gpu_names = (list(fleet.gpus) if fleet is not None and len(fleet.gpus) == G
                          else [f"GPU type {g}" for g in range(G)])
        curve_names = list(fleet.price_curves) if fleet is not None else []
        self.curve_names = curve_names if len(curve_names) == len(problem.curve_len) else [
            f"curve {c}" for c in range(len(problem.curve_len))]

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
        if p.curve_id[s] >= 0:
            price = f"TOU {self.curve_names[int(p.curve_id[s])]}"
        else:
            price = f"{p.price_const[s]:.3g}/kWh"
        return f"{p.server_names[s]}  {g}  {price}"


def _traces(result, traces, front) -> list[tuple[str, np.ndarray]]:
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


def _front_arrays(front):
    """(lambda, energy, penalty) of the front's points and of its candidates (or None)."""
    if front is None:
        return None
    if isinstance(front, dict):
        pts = front.get("points", [])
        lam = np.array([p["lambda"] for p in pts], np.float64)
        e = np.array([p["energy_cost"] for p in pts], np.float64)
        pen = np.array([p["penalty"] for p in pts], np.float64)
        return lam, e, pen, None
    cand = getattr(front, "candidates", None)
    return front.lam, front.energy_cost, front.penalty, cand


# ---------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------

def _servers_shown(v: _View, max_servers: int) -> tuple[np.ndarray, str]:
    m = v.problem.n_servers
    if m <= max_servers:
        return np.arange(m), ""
    used = np.flatnonzero(~np.isnan(v.ev.server_on))
    top = used[np.argsort(-v.ev.server_busy[used], kind="stable")[:max_servers]]
    return np.sort(top), f" ({len(top)} busiest of {m} servers)"


def plot_gantt(v: _View, path, max_servers: int = 60) -> Path:
    """A row per server, time in hours: jobs as bars in dispatch order, the server's
    on-time as a thin line, deadlines as ticks, late jobs red, TOU price shaded."""
    Figure = _need_matplotlib()
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    p, ev = v.problem, v.ev
    rows, note = _servers_shown(v, max_servers)
    row_of = {int(s): i for i, s in enumerate(rows)}
    due = v.due
    on_shown = np.isin(v.x, rows)
    t_end = float(np.nanmax(ev.completion[on_shown])) if on_shown.any() else 1.0
    fin_due = due[on_shown & np.isfinite(due)]
    t_end = max(t_end, float(fin_due.max()) if fin_due.size else 0.0, 1.0) * 1.02
    T = t_end / _H                                      # hours

    n = len(rows)
    fig = Figure(figsize=(12.0, max(3.6, 0.42 * n + 1.8)), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    # time-of-use price behind the rows of curve servers
    curve_rows = [s for s in rows if p.curve_id[s] >= 0]
    price_img = None
    if curve_rows:
        vals = p.curve_vals
        norm = Normalize(float(vals.min()), float(vals.max()) if vals.max() > vals.min()
                         else float(vals.min()) + 1e-9)
        for s in curve_rows:
            c = int(p.curve_id[s])
            a, L, step = int(p.curve_start[c]), int(p.curve_len[c]), float(p.curve_step[c])
            k = min(int(math.ceil(t_end / step)), 20000)
            strip = vals[a:a + L][np.arange(k) % L][None, :]
            y = row_of[int(s)]
            price_img = ax.imshow(strip, extent=(0, k * step / _H, y - 0.5, y + 0.5),
                                  aspect="auto", cmap="YlOrBr", norm=norm, alpha=0.45,
                                  interpolation="nearest", origin="lower", zorder=0)
    # on-time lines, bars, deadlines
    late = ev.lateness > 0
    show_names = p.n_jobs <= 400
    pt_per_h = 0.82 * fig.get_figwidth() * 72 / T     # about: axes width in points / hours
    for s in rows:
        y = row_of[int(s)]
        if not np.isnan(ev.server_on[s]):
            ax.plot([ev.server_on[s] / _H, ev.server_off[s] / _H], [y, y], color="0.45",
                    lw=1.0, zorder=1)
        jobs = np.flatnonzero(v.x == s)
        jobs = jobs[np.argsort(ev.start[jobs], kind="stable")]     # dispatch order
        if jobs.size == 0:
            continue
        st, dur = ev.start[jobs] / _H, (ev.completion[jobs] - ev.start[jobs]) / _H
        colors = [LATE if late[j] else ON_TIME for j in jobs]
        ax.barh(np.full(jobs.size, y), dur, left=st, height=0.62, color=colors,
                edgecolor="white", linewidth=0.8, zorder=2)
        d = due[jobs]
        ok = np.isfinite(d) & ~late[jobs]       # on time: a short tick above the bar
        ax.vlines(d[ok] / _H, y - 0.47, y - 0.31, colors="0.15", linewidth=0.9, zorder=3)
        ok = np.isfinite(d) & late[jobs]        # late: a full-height line in the bar
        ax.vlines(d[ok] / _H, y - 0.47, y + 0.36, colors="#6b0a0a", linewidth=1.5, zorder=3)
        if show_names:
            for j, a0, w in zip(jobs.tolist(), st.tolist(), dur.tolist()):
                if w * pt_per_h >= 7 * 0.62 * len(p.job_names[j]) + 6:   # the name fits
                    ax.text(a0 + w / 2, y, p.job_names[j], ha="center", va="center",
                            fontsize=7, color="white", zorder=4, clip_on=True)
    ax.set_yticks(np.arange(n))
    ax.set_yticklabels([v.server_label(int(s)) for s in rows], fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, T)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("server  (GPU type, price)")
    n_late = int(late.sum())
    ax.set_title(f"Schedule of {p.name}{note}: {p.n_jobs} jobs, {n_late} late "
                 f"(lambda = {v.lam:g})", fontsize=11)
    ax.grid(axis="x", color="0.85", lw=0.6, zorder=-1)
    ax.set_axisbelow(True)
    handles = [Patch(color=ON_TIME, label="job on time"), Patch(color=LATE, label="late job"),
               Line2D([], [], marker="|", ms=7, mew=0.9, ls="", color="0.15",
                      label="deadline (on-time job)"),
               Line2D([], [], marker="|", ms=11, mew=1.5, ls="", color="#6b0a0a",
                      label="deadline (late job)"),
               Line2D([], [], color="0.45", lw=1.0, label="server on (idle between jobs)")]
    if price_img is not None:
        handles.append(Patch(color="#e7a94a", alpha=0.45, label="time-of-use price"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)
    if price_img is not None:
        cb = fig.colorbar(price_img, ax=ax, pad=0.01, fraction=0.03)
        cb.set_label("time-of-use price (currency/kWh)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.tight_layout(rect=(0, 0.42 / fig.get_figheight(), 1, 1))
    fig.savefig(path)
    return Path(path)


def _energy_parts(v: _View):
    p, ev = v.problem, v.ev
    dyn = np.bincount(v.x, weights=ev.job_energy_cost, minlength=p.n_servers)
    idle = np.maximum(ev.server_energy_cost - dyn, 0.0)
    return idle, dyn


def penalty_by_kind(v: _View) -> list[dict]:
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


def energy_by_gpu(v: _View) -> list[dict]:
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


def plot_breakdown(v: _View, path, max_servers: int = 60) -> Path:
    """Energy cost by server and by GPU type (idle / dynamic stacked), penalty by kind."""
    Figure = _need_matplotlib()
    p = v.problem
    idle, dyn = _energy_parts(v)
    rows, note = _servers_shown(v, max_servers)
    fig = Figure(figsize=(12.0, 7.6), dpi=DPI)
    gs = fig.add_gridspec(2, 2, height_ratios=[1.0, 1.0], width_ratios=[1.3, 1.0])
    ax = fig.add_subplot(gs[0, :])
    xs = np.arange(len(rows))
    ax.bar(xs, idle[rows], color=IDLE, label="idle (server on)")
    ax.bar(xs, dyn[rows], bottom=idle[rows], color=DYNAMIC, label="dynamic (jobs running)")
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

    ax = fig.add_subplot(gs[1, 0])
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

    ax = fig.add_subplot(gs[1, 1])
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
    fig.suptitle(f"objective {v.ev.objective:.6g} = energy {v.ev.energy_cost:.6g} + "
                 f"{v.lam:g} x penalty {v.ev.penalty:.6g}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_convergence(traces: list[tuple[str, np.ndarray]], path) -> Path:
    """Best objective over sweeps, one line per run."""
    Figure = _need_matplotlib()
    fig = Figure(figsize=(9.0, 5.0), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    lo, hi = math.inf, -math.inf
    styles = ["-", "--", ":", "-."]
    for i, (label, tr) in enumerate(traces):
        ok = np.isfinite(tr)
        sw = np.arange(1, tr.size + 1)
        # identical streams give identical traces on every backend: dashes keep both seen
        ax.plot(sw[ok], tr[ok], lw=2.2 if i == 0 else 1.6, ls=styles[i % len(styles)],
                label=label)
        if ok.any():
            lo, hi = min(lo, float(tr[ok].min())), max(hi, float(tr[ok].max()))
    if lo > 0 and hi / lo > 100:
        ax.set_yscale("log")
    ax.set_xlabel("sweep (n_jobs attempted moves per chain)")
    ax.set_ylabel("best objective over chains (currency)")
    ax.set_title("Convergence: best search objective after each sweep", fontsize=11)
    ax.grid(color="0.88", lw=0.6)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_front(front, path, result_point: tuple[float, float] | None = None) -> Path:
    """The Pareto front: energy cost against penalty, points coloured by lambda; the
    dominated chain bests in grey; ``result_point`` (energy, penalty) starred."""
    Figure = _need_matplotlib()
    from matplotlib.colors import LogNorm
    lam, e, pen, cand = _front_arrays(front)
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
        ladder = (front.get("lambdas") if isinstance(front, dict)
                  else getattr(front, "lambdas", None))
        ladder = np.asarray(ladder if ladder is not None else lp, np.float64)
        ladder = ladder[ladder > 0] if (ladder > 0).any() else lp   # colours span the ladder
        lo, hi = float(ladder.min()), float(ladder.max())
        norm = LogNorm(lo, hi if hi > lo else lo * 10)
        sc = ax.scatter(e[pos], pen[pos], c=lp, cmap="viridis", norm=norm, s=38,
                        edgecolor="black", linewidth=0.5, zorder=3, label="front point")
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
    ax.set_xlabel("energy cost (currency)")
    ax.set_ylabel("penalty (currency, unweighted)")
    ax.set_title(f"Energy / timeliness trade-off: {len(e)} non-dominated points", fontsize=11)
    ax.grid(color="0.88", lw=0.6, which="major")
    ax.legend(fontsize=8, loc="upper right")
    if sc is not None:
        cb = fig.colorbar(sc, ax=ax, pad=0.01)
        cb.set_label("lambda of the chain that found it", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------

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


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "&infin;" if v == math.inf else f"{v:.6g}"
    return html.escape(str(v))


def _table(header, rows, left=(), row_class=None) -> str:
    h = "".join(f'<th class="l">{html.escape(c)}</th>' if i in left else
                f"<th>{html.escape(c)}</th>" for i, c in enumerate(header))
    body = []
    for k, r in enumerate(rows):
        cls = f' class="{row_class(k)}"' if row_class and row_class(k) else ""
        body.append(f"<tr{cls}>" + "".join(
            f'<td class="l">{_fmt(c)}</td>' if i in left else f"<td>{_fmt(c)}</td>"
            for i, c in enumerate(r)) + "</tr>")
    return f"<table><tr>{h}</tr>\n" + "\n".join(body) + "</table>"


def _explain_rows(v: _View) -> list[list]:
    p, ev, due = v.problem, v.ev, v.due
    kinds = v.pen_kind
    return [[p.job_names[j], p.server_names[int(v.x[j])], ev.start[j] / _H,
             ev.completion[j] / _H, due[j] / _H if math.isfinite(due[j]) else math.inf,
             ev.lateness[j] / _H, PENALTY_KINDS[int(kinds[j])], float(ev.job_penalty[j]),
             float(ev.job_energy_cost[j])] for j in range(p.n_jobs)]


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
    max_servers : int
        Rows of the Gantt chart and bars of the per-server energy (the busiest beyond).
    max_job_rows : int
        Rows of the per-job table in the page; ``jobs.csv`` has every job.

    Raises
    ------
    ImportError
        Without matplotlib, saying ``pip install 'satea[plot]'``.
    """
    _need_matplotlib()
    if isinstance(problem, Fleet):
        from .compile import compile_fleet
        fleet, problem = problem, compile_fleet(problem)
    if not isinstance(problem, ProblemArrays):
        raise TypeError(f"problem: expected a Fleet or ProblemArrays, got {type(problem).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    v = _View(problem, result, fleet)

    figs = []   # (file, caption)
    plot_gantt(v, out / "gantt.png", max_servers)
    figs.append(("gantt.png", "Schedule per server. Bars are jobs in dispatch order (earliest "
                 "deadline first); red bars are late; ticks mark deadlines; the thin line "
                 "is the time the server is on (it pays idle power between jobs); shading is "
                 "the time-of-use price of servers on a price curve."))
    plot_breakdown(v, out / "breakdown.png", max_servers)
    figs.append(("breakdown.png", "Energy cost by server and by GPU type (idle power while "
                 "on, dynamic power while running jobs) and penalty by kind (unweighted)."))
    tr = _traces(result, traces, front)
    if tr:
        plot_convergence(tr, out / "convergence.png")
        figs.append(("convergence.png", "Best search objective over all chains after each "
                     "sweep (per run). A Pareto launch mixes lambdas: its line follows the "
                     "smallest lambda's chains."))
    if front is not None:
        plot_front(front, out / "front.png", (v.ev.energy_cost, v.ev.penalty))
        figs.append(("front.png", "Non-dominated (energy cost, penalty) assignments of the "
                     "Pareto launch, coloured by the lambda of the chain that found each; "
                     "the star is the reported result."))

    rows = _explain_rows(v)
    header = ["job", "server", "start (h)", "completion (h)", "due (h)", "lateness (h)",
              "penalty kind", "penalty", "energy cost (dynamic)"]
    with open(out / "jobs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["job", "server", "start_s", "completion_s", "due_s", "lateness_s",
                    "penalty_kind", "penalty", "energy_cost"])
        for r in rows:
            w.writerow([r[0], r[1], r[2] * _H, r[3] * _H, r[4] * _H, r[5] * _H, r[6],
                        r[7], r[8]])

    ev, m = v.ev, v.meta
    summary = [["instance", problem.name], ["jobs x servers", f"{problem.n_jobs} x "
               f"{problem.n_servers}"], ["objective", ev.objective],
               ["energy cost", ev.energy_cost], ["penalty (unweighted)", ev.penalty],
               ["lambda", v.lam], ["lambda x penalty", v.lam * ev.penalty],
               ["feasible", ev.feasible], ["late jobs", int((ev.lateness > 0).sum())]]
    if ev.assignment_cost:
        summary.insert(5, ["assignment cost", ev.assignment_cost])
    for k in ("backend", "chains", "sweeps", "seed", "seconds", "stopped_by", "message"):
        if k in m:
            summary.append([k.replace("_", " "), m[k]])
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{html.escape(title or 'satea report: ' + problem.name)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title or 'satea report: ' + problem.name)}</h1>",
             "<p class=\"note\">Every number is re-scored in float64 by satea.objective."
             "evaluate. Times in hours from time 0, costs in the instance's currency.</p>",
             "<h2>Summary</h2>", _table(["", "value"], summary, left=(0, 1))]
    parts.append("<h2>Figures</h2>")
    for f, cap in figs:
        parts.append(f'<figure><img src="{f}" alt="{html.escape(f)}">'
                     f"<figcaption class=\"note\">{html.escape(cap)}</figcaption></figure>")
    parts.append("<h2>Energy cost by GPU type</h2>")
    parts.append(_table(["GPU type", "servers", "used", "jobs", "idle", "dynamic",
                         "energy cost"],
                        [[r["gpu"], r["servers"], r["used"], r["jobs"], r["idle"],
                          r["dynamic"], r["energy_cost"]] for r in energy_by_gpu(v)],
                        left=(0,)))
    parts.append("<h2>Penalty by kind</h2>")
    parts.append(_table(["kind", "jobs", "late", "penalty", "lambda x penalty"],
                        [[r["kind"], r["jobs"], r["late"], r["penalty"], r["weighted"]]
                         for r in penalty_by_kind(v)], left=(0,)))
    if front is not None:
        lam, e, pen, _ = _front_arrays(front)
        parts.append("<h2>Pareto front</h2>")
        parts.append(_table(["lambda", "energy cost", "penalty", "objective at lambda"],
                            [[float(a), float(b), float(c), float(b + a * c)]
                             for a, b, c in zip(lam, e, pen)]))
    parts.append("<h2>Per-job explanation</h2>")
    shown = rows[:max_job_rows]
    parts.append("<p class=\"note\">Why each job landed where it did: its server, when it "
                 "ran, its deadline and what it cost. "
                 + (f"First {len(shown)} of {len(rows)} jobs; every job in "
                    if len(shown) < len(rows) else "Also as ")
                 + "<a href=\"jobs.csv\">jobs.csv</a> (times in seconds).</p>")
    parts.append(_table(header, shown, left=(0, 1, 6),
                        row_class=lambda k: "late" if shown[k][5] > 0 else ""))
    parts.append("</body></html>\n")
    page = out / "index.html"
    page.write_text("\n".join(parts))
    return page


def write_front_plot(front, path, result=None) -> Path:
    """``front.png`` alone (for ``satea pareto --plot``); ``result`` (AnnealResult or
    dict with energy_cost and penalty) is starred."""
    pt = None
    if isinstance(result, dict):
        pt = (float(result["energy_cost"]), float(result["penalty"]))
    elif result is not None:
        pt = (float(result.energy_cost), float(result.penalty))
    return plot_front(front, path, pt)


__all__ = [
    "INSTALL_HINT",
    "energy_by_gpu",
    "penalty_by_kind",
    "plot_breakdown",
    "plot_convergence",
    "plot_front",
    "plot_gantt",
    "write_front_plot",
    "write_report",
]
