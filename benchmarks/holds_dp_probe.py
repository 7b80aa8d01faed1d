"""How far a result's holds are from the best holds for its assignment.

A probe, not the package. For a result on a fleet of one-GPU servers it keeps the
assignment and chooses every job's hold again by dynamic programming, server by server
(the dispatch order is fixed, so a server's cost is a sum over its jobs given each job's
predecessor's completion; the server's idle power runs from its first start to its last
completion, which splits into the gaps and the runs). A job's candidate starts are its
earliest one, the latest its allowance reaches, and inside that window every step of the
server's price (and carbon) curve, every start that ends the job on such a step, and the
start that completes it at its due time: the places where its cost changes slope or
jumps. Labels are the predecessor's completion times, kept exactly (no rounding, no
pruning), so the probe is exact over that candidate set; the holds it finds are
re-scored with ``satea.evaluate``.

    python benchmarks/holds_dp_probe.py INSTANCE RESULT [RESULT ...] [--json F]

It answers one question (docs/quality.md, "What holds buy"): is what holds buy on a
fleet limited by the search over holds, or by the fleet's deadlines and queues?
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from satea.compile import compile_fleet
from satea.io import read_instance
from satea.model import JOULES_PER_KWH
from satea.objective import carbon_integral, evaluate, job_penalty, price_integral
from satea.result import assignment_from_names, holds_from_names, read_result


def result_on(problem, path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(assignment in the caller's order, holds in the internal order or None)."""
    r = read_result(path)
    return assignment_from_names(problem, r["assignment"]), holds_from_names(problem,
                                                                             r.get("holds"))


def cost_integral(problem, s: int, a: float, b: float) -> float:
    """What one watt running on server ``s`` over ``[a, b]`` costs the search objective."""
    c = price_integral(problem, s, a, b) / JOULES_PER_KWH
    if problem.carbon_price:
        c += problem.carbon_price * carbon_integral(problem, s, a, b) / JOULES_PER_KWH / 1e3
    return c


def steps_of(problem, s: int) -> float:
    """The step of server ``s``'s curves (the finest if price and carbon differ); inf when
    both are constant."""
    st = math.inf
    for c in (int(problem.energy_curve[s]), int(problem.carbon_curve[s])):
        if c >= 0:
            st = min(st, float(problem.curve_step[c]))
    return st


def best_holds(problem, x: np.ndarray) -> np.ndarray:
    """The best holds (internal order) for assignment ``x`` over the candidate starts."""
    xi = x[problem.order]
    hmax = problem.hold_max if problem.hold_max is not None else np.zeros(problem.n_jobs)
    holds = np.zeros(problem.n_jobs)
    for s in range(problem.n_servers):
        jobs = np.flatnonzero(xi == s).tolist()
        if not jobs:
            continue
        g = int(problem.server_class[s])
        step = steps_of(problem, s)
        idle = float(problem.idle_w[s])
        labels: dict = {None: 0.0}     # predecessor's completion -> best cost so far
        back: list[dict] = []
        for j in jobs:
            k = int(problem.job_class[j])
            p = float(problem.work[j] * problem.work_scale[k, g] / problem.throughput[k, g])
            dw = float(problem.dyn_w[k, g])
            r, hi_h, due = float(problem.release[j]), float(hmax[j]), float(problem.due[j])
            new: dict = {}
            arrow: dict = {}
            for prev, c0 in labels.items():
                lo = r if prev is None else max(r, prev)
                hi = r + hi_h
                cands = {lo}
                if hi > lo:
                    cands.add(hi)
                    if lo < due - p <= hi:
                        cands.add(due - p)
                    if math.isfinite(step):
                        for b in range(math.floor(lo / step) + 1, math.floor(hi / step) + 1):
                            cands.add(b * step)
                        for b in range(math.floor((lo + p) / step) + 1,
                                       math.floor((hi + p) / step) + 1):
                            cands.add(b * step - p)
                for st in cands:
                    comp = st + p
                    cost = (c0 + dw * cost_integral(problem, s, st, comp)
                            + idle * cost_integral(problem, s, st if prev is None else prev,
                                                   comp)
                            + problem.lam * job_penalty(int(problem.pen_kind[j]),
                                                        float(problem.pen_weight[j]),
                                                        float(problem.pen_scale[j]),
                                                        max(0.0, comp - due)))
                    if comp not in new or cost < new[comp]:
                        new[comp] = cost
                        arrow[comp] = (prev, st)
            labels = new
            back.append(arrow)
        comp = min(labels, key=labels.__getitem__)
        for j, arrow in zip(jobs[::-1], back[::-1]):
            prev, st = arrow[comp]
            lo = float(problem.release[j]) if prev is None else max(float(problem.release[j]),
                                                                   prev)
            holds[j] = min(st - float(problem.release[j]), float(hmax[j])) if st > lo else 0.0
            comp = prev
    return holds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("instance")
    ap.add_argument("results", nargs="+")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    problem = compile_fleet(read_instance(a.instance))
    if problem.multi_gpu:
        print("holds_dp_probe: one-GPU servers only", file=sys.stderr)
        return 2
    rows = []
    for path in a.results:
        x, h = result_on(problem, path)
        given = evaluate(problem, x, h)
        t0 = time.perf_counter()
        hb = best_holds(problem, x)
        secs = time.perf_counter() - t0
        best = evaluate(problem, x, hb)
        row = {"result": path, "given": {"objective": given.objective,
                                         "energy": given.energy_cost,
                                         "penalty": given.penalty,
                                         "held": int(0 if h is None else (h > 0).sum())},
               "best_holds": {"objective": best.objective, "energy": best.energy_cost,
                              "penalty": best.penalty, "held": int((hb > 0).sum())},
               "energy_change_pct": round(100 * (best.energy_cost / given.energy_cost - 1), 3),
               "objective_change_pct": round(100 * (best.objective / given.objective - 1), 3),
               "seconds": round(secs, 1)}
        rows.append(row)
        print(f"{path}: objective {given.objective:.4f} -> {best.objective:.4f} "
              f"({row['objective_change_pct']:+.2f}%), energy {given.energy_cost:.4f} -> "
              f"{best.energy_cost:.4f} ({row['energy_change_pct']:+.2f}%), held "
              f"{row['given']['held']} -> {row['best_holds']['held']} ({secs:.1f} s)")
    if a.json:
        Path(a.json).write_text(json.dumps({"instance": a.instance, "rows": rows}, indent=1)
                                + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
