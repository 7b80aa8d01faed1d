"""The figures of ``satea compare`` (:mod:`satea.compare`), drawn as :mod:`satea.plots`
draws: matplotlib's Agg :class:`~matplotlib.figure.Figure`, no pyplot state.

:func:`plot_objective_vs_time`  per instance, each method's relative gap to the best known
                                at each budget (mean over seeds, the range as a band) and
                                the incumbents of its longest runs (thin lines)
:func:`plot_profile`            performance profile: the fraction of instances a method
                                solves within a factor ``tau`` of the best known
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .plots import DPI, need_matplotlib

__all__ = ["plot_objective_vs_time", "plot_profile", "relative_gap"]

#: the floor of the log axes (a gap of 0 is drawn here)
GAP_FLOOR = 1e-6


def relative_gap(obj: float | None, best: float | None) -> float:
    """``(obj - best) / |best|`` (NaN without a value), floored at :data:`GAP_FLOOR`."""
    if obj is None or not math.isfinite(obj) or best is None or not math.isfinite(best):
        return math.nan
    return max((obj - best) / max(abs(best), 1e-12), GAP_FLOOR)


def plot_objective_vs_time(records: list, best: dict, methods: list, budgets: list,
                           path) -> Path:
    """One panel per instance: relative gap to the best known (log) against seconds."""
    Figure = need_matplotlib()
    insts = sorted({r["instance"] for r in records})
    cols = min(3, max(len(insts), 1))
    rows = max(1, math.ceil(len(insts) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=DPI)
    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    legend_drawn = False        # no legend where nothing is labelled (matplotlib warns)
    for k, inst in enumerate(insts):
        ax = fig.add_subplot(rows, cols, k + 1)
        ref = best.get(inst)
        for m in methods:
            mine = [r for r in records if r["instance"] == inst and r["method"] == m]
            if not mine:
                continue
            top = max(r["budget"] for r in mine)
            for r in mine:     # incumbents of the longest runs
                if r["budget"] == top and r["trajectory"]:
                    t = [p[0] for p in r["trajectory"]]
                    gt = [relative_gap(p[1], ref) for p in r["trajectory"]]
                    ax.step(t, gt, where="post", color=colors[m], lw=0.6, alpha=0.45)
            xs, mean, lo, hi = [], [], [], []
            for b in budgets:
                g = np.array([relative_gap(r["objective"], ref) for r in mine
                              if r["budget"] == b and r.get("feasible")])
                g = g[np.isfinite(g)]
                if g.size:
                    xs.append(b)
                    mean.append(g.mean())
                    lo.append(g.min())
                    hi.append(g.max())
            if xs:
                ax.plot(xs, mean, "o-", color=colors[m], lw=1.6, ms=4, label=m)
                ax.fill_between(xs, lo, hi, color=colors[m], alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(inst, fontsize=9)
        ax.set_xlabel("seconds", fontsize=8)
        ax.set_ylabel("gap to best known", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(color="0.88", lw=0.6)
        if not legend_drawn and ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7)      # on the first panel with a labelled line
            legend_drawn = True
    fig.suptitle(f"Objective against time (dots: budgets, mean over seeds, band: range; "
                 f"lines: incumbents; gaps below {GAP_FLOOR:g} drawn at it)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def profile_curves(records: list, best: dict, methods: list, budget: float,
                   taus: np.ndarray) -> dict:
    """Per method: the fraction of instances whose mean objective over seeds at
    ``budget`` is within a factor ``tau`` of the best known (``obj <= best + (tau - 1)
    |best|``; no feasible result: never)."""
    insts = sorted({r["instance"] for r in records})
    out = {}
    for m in methods:
        ratios = []
        for inst in insts:
            v = [r["objective"] for r in records if r["instance"] == inst
                 and r["method"] == m and r["budget"] == budget and r.get("feasible")]
            ref = best.get(inst)
            ratios.append(1.0 + (np.mean(v) - ref) / max(abs(ref), 1e-12)
                          if v and ref is not None else math.inf)
        r = np.array(ratios)
        out[m] = np.array([(r <= t + 1e-12).mean() for t in taus]) if insts else \
            np.zeros_like(taus)
    return out


def plot_profile(records: list, best: dict, methods: list, budgets: list, path) -> Path:
    """Performance profile at the smallest (dashed) and largest (solid) budget."""
    Figure = need_matplotlib()
    fig = Figure(figsize=(7.0, 4.4), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    taus = 1.0 + np.logspace(-5, 0, 400)
    for b, ls in ((min(budgets), "--"), (max(budgets), "-")):
        for i, (m, frac) in enumerate(profile_curves(records, best, methods, b,
                                                     taus).items()):
            ax.step(taus - 1.0, frac, where="post", ls=ls, color=f"C{i}",
                    label=f"{m}, {b:g} s")
        if min(budgets) == max(budgets):
            break
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("tau - 1 (objective within a factor tau of the best known)")
    ax.set_ylabel("fraction of instances")
    ax.set_title("Performance profile (mean objective over seeds)", fontsize=11)
    ax.grid(color="0.88", lw=0.6)
    if ax.get_legend_handles_labels()[1]:     # nothing labelled: no legend (matplotlib warns)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)
