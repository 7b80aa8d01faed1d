"""Regenerate docs/quality.md: the annealer's solution quality against exact optima,
published best-known values and baselines.

    python benchmarks/quality.py                      # every part (about an hour on 2 cores)
    python benchmarks/quality.py --parts tiny,fleet20 # only some parts; the others keep
                                                      # their last section in the document
    python benchmarks/quality.py --quick              # a rehearsal: small subsets

Parts (each writes one section of docs/quality.md, between ``<!-- part:NAME -->`` markers,
with the command, date, commit and machine written under its tables):

* ``tiny``: the 8 tiny fleets of tests/conftest.py: brute force, MILP, annealer, baselines.
* ``fleet20``: 20 generated fleets of 20 jobs x 4 servers (step + linear penalties,
  releases, binding capacities, constant prices): the annealer against the MILP's proven
  optimum (acceptance: within 1e-6 relative on >= 19 of 20).
* ``gap``: OR-Library gap1-gap12, all 60 problems, maximised as OR-Library states them,
  against the published optima (acceptance: >= 57 of 60), at the default settings and at
  the previous defaults (:data:`GAP_VARIANTS`).
* ``gapabcd``: gapa-gapd (minimised), per problem, within 60 s each (acceptance: mean gap
  <= 1.0% for type C, <= 1.5% for type D).
* ``large``: generated fleets of 10,000 jobs x 1,000 servers: the annealer (under 5 min)
  against the best greedy baseline (acceptance: >= 10% lower).
* ``highs``: generated fleets of 100-200 jobs: the annealer against HiGHS given the same
  wall time (and HiGHS given ten times more).
* ``pareto``: 200 x 20 fleets: the Pareto front's extremes (``satea.pareto.pareto`` at its
  defaults) against separate default runs at the smallest and largest lambda (acceptance:
  within 1%).

The OR-Library data is read from ``../shared/data/gap`` (beside the repository); the
GAP parts are skipped, saying so, when it is absent.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from typing import Any
from pathlib import Path

import numpy as np

from satea.annealing import anneal
from satea.baselines import baseline_assignment
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.io import read_orlib_gap
from satea.milp import solve_milp
from satea.objective import evaluate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))      # tiny fleets and brute force live in conftest

GAP_DIR = ROOT.parent / "shared" / "data" / "gap"
DOC = ROOT / "docs" / "quality.md"
BACKEND = "numba"
BASELINES = ("random", "greedy", "greedy-cost", "list")

#: What the defaults are (satea.anneal with no chains, sweeps or schedule).
DEFAULT_TEXT = ("16 chains (population annealing, resampled every ~4,000 moves a chain) x "
                "clip(2e6 / n_jobs, 2000, 50000) planned sweeps, ended once no "
                "chain improved its best for a tenth of them (`stop='converged'`), a "
                "geometric schedule sized from move costs after a short descent (t_hot "
                "accepts the median uphill move with probability 1/256, t_cold a "
                "5th-percentile one with 1/1000, or a one-step rise with 1/32 when costs "
                "are integers)")
#: What a run with a time limit and no sweeps does (``stop='time'``).
BUDGET_TEXT = ("the schedule fitted to the time limit as the run goes (temperature by the "
               "elapsed fraction of the budget, ending at the cold end when the time is "
               "up; setup counted, a one-off compile not)")

#: The defaults before this report's measurements (commit 6f55b42 and earlier): 64 chains x
#: 500 sweeps, both temperatures sized from random assignments (``sched="random"``).
PREVIOUS = dict(chains=64, sweeps=500, sched="random", strategy="independent")
PREVIOUS_TEXT = ("64 independent chains x 500 sweeps, t_hot / t_cold sized from random "
                 "assignments "
                 "(median uphill at 1/2, 5th percentile at 1/1000)")

#: settings measured on gap1-12 beside the defaults. ``seeds``: which seeds.
GAP_VARIANTS: dict[str, dict[str, Any]] = {
    "default": dict(seeds=(0, 1, 2)),
    "previous default": dict(PREVIOUS),
}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
        return out + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
            f"{platform.python_version()}, numpy {np.__version__}")


def footer(args) -> str:
    return (f"\n*Produced by `{args.command}` on {_dt.date.today().isoformat()} at commit "
            f"`{commit()}`; {machine()}; annealer backend `{BACKEND}`.*\n")


def table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            if math.isnan(v):
                return "-"
            if math.isinf(v):
                return "inf"
            a = abs(v)
            return f"{v:.6g}" if (a == 0 or 1e-3 <= a < 1e7) else f"{v:.4e}"
        return str(v)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def pct(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{100 * v + 0.0:.3f}%".replace("-0.000%", "0.000%")


def rel_gap(value: float, ref: float, sense: int = 1) -> float:
    """How much worse ``value`` is than ``ref`` (>= 0 when not better), relative."""
    return sense * (value - ref) / max(abs(ref), 1e-12)


def matches(value: float, ref: float, rel: float = 1e-6) -> bool:
    return abs(value - ref) <= rel * max(abs(ref), 1e-12) or value < ref


def annealer_settings(problem, kw: dict, seed: int) -> dict:
    """anneal keywords from a settings dict: ``seeds`` dropped (which seeds to run), and
    ``sched="random"`` replaced by the previous default schedule, both ends sized from
    random assignments (:func:`satea.schedules.random_state_temperature_range`)."""
    kw = dict(kw)
    kw.pop("seeds", None)
    if kw.pop("sched", None) == "random":
        from satea.schedules import random_state_temperature_range, sample_move_scale
        kw["schedule"] = random_state_temperature_range(
            sample_move_scale(problem, seed, descend=False))
    return kw


def run_anneal(problem, seed: int, **kw):
    t0 = time.perf_counter()
    r = anneal(problem, backend=BACKEND, seed=seed, **annealer_settings(problem, kw, seed))
    return r, time.perf_counter() - t0


def baselines(problem) -> dict:
    out = {}
    for m in BASELINES:
        ev = evaluate(problem, baseline_assignment(problem, m, seed=0))
        out[m] = ev.objective if ev.feasible else math.nan
    return out


def warm_up():
    """JIT-compile (or load) the kernels once, so no table includes compile time."""
    p = compile_fleet(generate_fleet(20, 3, seed=0))
    anneal(p, backend=BACKEND, seed=0, chains=2, sweeps=2)
    for m in BASELINES:
        baseline_assignment(p, m)


def best_known() -> dict:
    out = {}
    with open(GAP_DIR / "best_known.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["file"], int(row["problem_index"]), row["sense"])] = (
                float(row["best_known_value"]), row["status"], row["instance"])
    return out


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------------------
# parts
# ---------------------------------------------------------------------------------------

def part_tiny(args) -> str:
    from conftest import brute_force, tiny_fleets
    rows = []
    seeds = range(args.seeds)
    for name, fleet in tiny_fleets():
        p = compile_fleet(fleet)
        opt, _, _ = brute_force(p)
        try:
            m = solve_milp(p, time_limit=60)
            milp = f"{m.objective:.10g} ({m.status}, {m.seconds:.2f} s)"
            milp_ok = "yes" if matches(m.objective, opt, 1e-9) and m.objective >= opt - 1e-12 \
                else "NO"
        except NotImplementedError:
            milp, milp_ok = "price curve: not modelled", "-"
        res = [run_anneal(p, s) for s in seeds]
        vals = [r.fun for r, _ in res]
        hits = sum(matches(v, opt, 1e-9) for v in vals)
        b = baselines(p)
        rows.append([name, p.n_jobs, p.n_servers, f"{opt:.10g}", milp, milp_ok, min(vals),
                     float(np.mean(vals)), f"{hits}/{len(vals)}",
                     float(np.mean([t for _, t in res])),
                     *[pct(rel_gap(b[m], opt)) for m in BASELINES]])
        log("tiny", rows[-1])
    hdr = ["fleet", "jobs", "servers", "optimum (brute force)", "MILP", "MILP = optimum",
           "anneal best", "anneal mean", "anneal = optimum", "anneal s",
           *[f"{m} gap" for m in BASELINES]]
    return ("## Tiny fleets: brute force, MILP, annealer\n\n"
            f"All assignments enumerated (at most 3^9). Annealer: default settings "
            f"({DEFAULT_TEXT}), seeds 0-{args.seeds - 1}; \"= optimum\" within 1e-9 relative. "
            "Baseline gaps are relative to the optimum.\n\n"
            + table(hdr, rows) + footer(args))


def fleet20_instances(n):
    for seed in range(n):
        f = generate_fleet(20, 4, seed=seed, penalties=("step", "linear"), capacity=True,
                           price_curve_fraction=0.0)
        yield seed, compile_fleet(f)


def part_fleet20(args) -> str:
    n = 4 if args.quick else 20
    rows, matched, matched_any, matched_rec = [], 0, 0, 0
    for seed, p in fleet20_instances(n):
        m = solve_milp(p, time_limit=args.milp_time)
        res = [run_anneal(p, s) for s in range(args.seeds)]
        vals = [r.fun for r, _ in res]
        rr, tr = run_anneal(p, 0, **PREVIOUS)
        ok_rec = m.status == "optimal" and matches(rr.fun, m.objective)
        matched_rec += ok_rec
        ok0 = m.status == "optimal" and matches(vals[0], m.objective)
        matched += ok0
        matched_any += m.status == "optimal" and matches(min(vals), m.objective)
        b = baselines(p)
        best_b = min(v for v in b.values() if math.isfinite(v)) if any(
            math.isfinite(v) for v in b.values()) else math.nan
        rows.append([seed, m.status, m.objective, pct(m.gap), f"{m.seconds:.1f}",
                     vals[0], "yes" if ok0 else "NO", min(vals), float(np.mean(vals)),
                     pct(rel_gap(float(np.mean(vals)), m.objective)),
                     float(np.mean([t for _, t in res])), "yes" if ok_rec else "NO", tr,
                     best_b, pct(rel_gap(best_b, m.objective))])
        log("fleet20", rows[-1])
    hdr = ["seed", "MILP status", "MILP optimum", "MILP gap", "MILP s", "anneal (seed 0)",
           "= optimum", f"anneal best of {args.seeds}", "anneal mean", "mean gap",
           "anneal s", "previous default = optimum", "its s", "best baseline",
           "baseline gap"]
    return (f"## Generated fleets, 20 jobs x 4 servers, against the MILP\n\n"
            "`generate_fleet(20, 4, seed=s, penalties=('step', 'linear'), capacity=True, "
            "price_curve_fraction=0.0)`: step and linear penalties, releases, binding "
            "busy-time capacities, idle power, constant prices (the MILP does not model price "
            f"curves). MILP: HiGHS, `mip_rel_gap` 1e-9, limit {args.milp_time:g} s. Annealer: "
            f"default settings, seeds 0-{args.seeds - 1}. \"= optimum\": within 1e-6 "
            "relative of the proven optimum. Best baseline: the least of random, greedy, "
            "greedy-cost and list.\n\n"
            f"**Annealer (default settings, seed 0) matches the proven optimum on {matched} of "
            f"{n}** (best of {args.seeds} seeds: {matched_any} of {n}; previous default, seed "
            f"0: {matched_rec} of {n}). Default: {DEFAULT_TEXT}. Previous default: "
            f"{PREVIOUS_TEXT}.\n\n"
            + table(hdr, rows) + footer(args))


def gap_problems(files, maximize):
    for f in files:
        for k, (c, a, b) in enumerate(read_orlib_gap(GAP_DIR / f), 1):
            yield f, k, compile_assignment(c, a, b, maximize=maximize,
                                           name=f"{Path(f).stem}-{k}")


def part_gap(args) -> str:
    if not GAP_DIR.is_dir():
        return "## OR-Library gap1-gap12\n\nSkipped: no data at ../shared/data/gap.\n"
    bk = best_known()
    files = [f"gap{i}.txt" for i in (range(1, 4) if args.quick else range(1, 13))]
    variants = {k: v for k, v in GAP_VARIANTS.items()
                if args.gap_variants is None or k in args.gap_variants
                or k.startswith("default")}
    probs = list(gap_problems(files, True))
    summary: list = []
    per_file: dict[str, dict[str, list]] = {}
    missed: dict[str, list] = {}
    for vname, kw in variants.items():
        for seed in kw.get("seeds", (0,)):
            hits, secs, gaps, miss = 0, 0.0, [], []
            for f, k, p in probs:
                ref = bk[(f, k, "max")][0]
                r, t = run_anneal(p, seed, **kw)
                ok = r.feasible and r.fun == ref
                hits += ok
                secs += t
                g = rel_gap(r.fun, ref, -1) if r.feasible else math.inf
                gaps.append(g)
                if not ok:
                    miss.append(f"{Path(f).stem}-{k} {r.fun:g}/{ref:g}"
                                + ("" if r.feasible else " (infeasible)"))
                if seed == 0 and (vname.startswith("default")):
                    per_file.setdefault(f, {}).setdefault(vname, []).append((ok, g, t))
            summary.append([vname, seed, f"{hits}/{len(probs)}", pct(float(np.mean(gaps))),
                            pct(max(gaps)), secs, secs / len(probs)])
            missed[f"{vname}, seed {seed}"] = miss
            log("gap", summary[-1], miss)
    rows = []
    for f, d in per_file.items():
        row: list = [Path(f).stem]
        for lst in d.values():
            row += [f"{sum(o for o, *_ in lst)}/{len(lst)}",
                    pct(float(np.mean([g for _, g, _ in lst]))),
                    float(np.mean([t for *_, t in lst]))]
        rows.append(row)
    vn = [v for v in variants if v.startswith("default")]
    hdr = ["file"] + [h for v in vn for h in (f"{v.split(':')[0]}: optimum", "mean gap",
                                              "s / problem")]
    text = ("## OR-Library gap1-gap12 (60 problems, maximised)\n\n"
            "Each problem read with `read_orlib_gap` into `compile_assignment(cost, resource, "
            "capacity, maximize=True)` (jobs j1..jn, agents a1..am) and solved by "
            "`anneal(problem, backend='numba', seed=s, **settings)`; a problem counts when the "
            "best feasible profit equals the published optimum (OR-Library gapinfo). Gap = "
            "(optimum - found) / optimum. Default: "
            f"{DEFAULT_TEXT}. Previous default: {PREVIOUS_TEXT}.\n\n"
            "### Settings compared (all 60 problems)\n\n"
            + table(["settings", "seed", "optimum reached", "mean gap", "max gap", "total s",
                     "s / problem"], summary)
            + "\nMissed problems (found / optimum):\n\n"
            + "".join(f"* {v}: {', '.join(m) if m else 'none'}\n" for v, m in missed.items())
            + "\n### Per file (seed 0)\n\n" + table(hdr, rows)
            + footer(args))
    return text


def part_gapabcd(args) -> str:
    if not GAP_DIR.is_dir():
        return "## OR-Library gapa-gapd\n\nSkipped: no data at ../shared/data/gap.\n"
    bk = best_known()
    types = "ab" if args.quick else "abcd"
    long_kw = dict(args.abcd_settings)
    rows: list = []
    by_type: dict[str, list] = {}
    for t in types:
        f = f"gap{t}.txt"
        for _, k, p in gap_problems([f], False):
            ref, status, inst = bk[(f, k, "min")]
            rd, td = run_anneal(p, 0)
            rl, tl = run_anneal(p, 0, time_limit=args.abcd_time, **long_kw)
            ev_g = evaluate(p, baseline_assignment(p, "greedy"))
            g = ev_g.objective if ev_g.feasible else math.nan
            gd = rel_gap(rd.fun, ref) if rd.feasible else math.inf
            gl = rel_gap(rl.fun, ref) if rl.feasible else math.inf
            by_type.setdefault(t, []).append((gd, gl, td, tl))
            rows.append([inst, f"{p.n_servers} x {p.n_jobs}", f"{ref:g}", status,
                         rd.fun if rd.feasible else "infeasible", pct(gd), td,
                         rl.fun if rl.feasible else "infeasible", pct(gl), tl,
                         f"{rl.chains} x {rl.sweeps}", g, pct(rel_gap(g, ref))])
            log("abcd", rows[-1])
    summ = [[t.upper(), len(v), pct(float(np.mean([a for a, *_ in v]))),
             pct(float(np.mean([b for _, b, *_ in v]))), pct(max(b for _, b, *_ in v)),
             max(tl for *_, tl in v)] for t, v in by_type.items()]
    desc = ", ".join(f"{k}={v}" for k, v in long_kw.items()) or "default settings"
    return ("## OR-Library gapa-gapd (minimised), per problem\n\n"
            "Best-known values from ../shared/data/gap/best_known.csv (types A-C and d05100 "
            "proven optimal by MILP; d05200-d20100 optimal per the literature; d20200 open, "
            "its best known feasible value 12238 used; the status column says which). "
            f"\"default\": {DEFAULT_TEXT}; "
            f"\"{args.abcd_time:g} s\": {desc} with `time_limit={args.abcd_time:g}`, "
            f"i.e. `satea solve gapX.txt --format orlib-gap --index K --time-limit "
            f"{args.abcd_time:g}`: {BUDGET_TEXT}; the time shown is the whole call's, sweeps "
            "done shown. Gap = (found - best known) / best known. "
            "Greedy: "
            "`greedy_energy` (cheapest agent with room, job order).\n\n"
            "### Mean gap per type\n\n"
            + table(["type", "problems", "mean gap, default", f"mean gap, {args.abcd_time:g} s",
                     f"max gap, {args.abcd_time:g} s", "max s"], summ)
            + "\n### Per problem\n\n"
            + table(["problem", "agents x jobs", "best known", "status", "default", "gap",
                     "s", f"{args.abcd_time:g} s run", "gap", "s", "chains x sweeps",
                     "greedy", "greedy gap"], rows)
            + footer(args))


def part_large(args) -> str:
    sizes = [(2000, 200)] if args.quick else [(10_000, 1_000)]
    seeds = [7] if args.quick else args.large_seeds
    rows = []
    for (n, m) in sizes:
        for seed in seeds:
            p = compile_fleet(generate_fleet(n, m, seed=seed, capacity=True))
            b, bt = {}, {}
            for meth in BASELINES:
                t0 = time.perf_counter()
                ev = evaluate(p, baseline_assignment(p, meth, seed=0))
                bt[meth] = time.perf_counter() - t0
                b[meth] = ev.objective if ev.feasible else math.inf
            greedy = {k: v for k, v in b.items() if k != "random"}
            best_m = min(greedy, key=lambda m: greedy[m])
            for label, settings in args.large_settings.items():
                kw = dict(settings)
                if kw.pop("warm", False):
                    kw["x0"] = baseline_assignment(p, best_m)
                r, t = run_anneal(p, 0, time_limit=args.large_time, **kw)
                red = (b[best_m] - r.fun) / abs(b[best_m])
                rows.append([f"{n} x {m}", seed, label, r.fun, r.feasible,
                             f"{r.chains} x {r.sweeps}", t, best_m, b[best_m], pct(red),
                             "yes" if red >= 0.10 and t < 300 else "NO",
                             b["random"], b["greedy"], b["greedy-cost"], b["list"],
                             max(bt.values())])
                log("large", rows[-1])
    hdr = ["jobs x servers", "seed", "annealer", "anneal objective", "feasible",
           "chains x sweeps done", "anneal s", "best greedy", "its objective",
           "anneal below it by", ">= 10% in < 5 min", "random", "greedy", "greedy-cost",
           "list", "slowest baseline s"]
    return ("## Generated fleets of 10,000 jobs x 1,000 servers\n\n"
            "`generate_fleet(10000, 1000, seed=s, capacity=True)`: all penalty kinds, "
            "releases, capacities, a quarter of the servers on the PJM price curve. The best "
            "greedy baseline is the least of greedy (min energy), greedy-cost (min marginal "
            "objective) and list (earliest completion); each runs in about 0.1-0.2 s. The "
            f"annealer runs under `time_limit={args.large_time:g}` s (without sweeps: "
            f"{BUDGET_TEXT}); settings named in the table (default: "
            f"{DEFAULT_TEXT}; previous default: {PREVIOUS_TEXT}). A label with \"warm\" "
            "starts every chain from the best greedy assignment (`x0`).\n\n"
            + table(hdr, rows) + footer(args))


def part_highs(args) -> str:
    sizes = [(100, 10)] if args.quick else [(100, 10), (150, 10), (200, 20)]
    rows = []
    for n, m in sizes:
        for seed in (args.highs_seeds if not args.quick else [0]):
            p = compile_fleet(generate_fleet(n, m, seed=seed, penalties=("step", "linear"),
                                             capacity=True, price_curve_fraction=0.0))
            res = [run_anneal(p, s) for s in range(args.seeds)]
            vals = [r.fun for r, _ in res]
            ta = float(np.mean([t for _, t in res]))
            rr, tr = run_anneal(p, 0, **PREVIOUS)
            h1 = solve_milp(p, time_limit=max(ta, 1.0))
            h10 = solve_milp(p, time_limit=max(10 * ta, 10.0))
            ref = min([v for v in (h1.objective, h10.objective) if math.isfinite(v)] + vals
                      + [rr.fun])
            b = baselines(p)
            best_b = min(v for v in b.values() if math.isfinite(v))
            rows.append([f"{n} x {m}", seed, min(vals), float(np.mean(vals)), ta, rr.fun, tr,
                         h1.objective, h1.status, h1.seconds, pct(h1.gap),
                         h10.objective, h10.status, h10.seconds, h10.bound, pct(h10.gap),
                         pct(rel_gap(min(vals), max(h10.bound, -math.inf))) if math.isfinite(
                             h10.bound) else "-",
                         best_b, ref])
            log("highs", rows[-1])
    hdr = ["jobs x servers", "seed", "anneal best", "anneal mean", "anneal s",
           "previous default", "its s", "HiGHS (same time)", "status", "s", "gap to its bound",
           "HiGHS (10x time)",
           "status", "s", "its bound", "gap to its bound", "anneal best vs bound",
           "best baseline", "best of all"]
    return ("## Generated fleets of 100-200 jobs: annealer against HiGHS at equal wall time\n\n"
            "`generate_fleet(n, m, seed=s, penalties=('step', 'linear'), capacity=True, "
            "price_curve_fraction=0.0)`. Annealer: default settings, seeds "
            f"0-{args.seeds - 1}, its mean wall time given to HiGHS (`solve_milp(time_limit="
            "...)`, model building included), then ten times that. HiGHS's objective is its "
            "incumbent re-scored in float64 (\"nan\": none found); its bound is a lower bound "
            "on the optimum, so \"anneal best vs bound\" bounds how far the annealer can be "
            f"from optimal. Default: {DEFAULT_TEXT}. \"previous default\": seed 0 at "
            f"{PREVIOUS_TEXT}.\n\n"
            + table(hdr, rows) + footer(args))


def part_pareto(args) -> str:
    """Issue 7's check: the front's extremes against separate single-lambda runs."""
    from satea.pareto import pareto
    seeds = [3] if args.quick else args.pareto_seeds
    rows = []
    for s in seeds:
        p = compile_fleet(generate_fleet(200, 20, seed=s))
        t0 = time.perf_counter()
        front = pareto(p, backend=BACKEND, seed=0)
        tf = time.perf_counter() - t0
        lams = front.lambdas
        for label, lam in (("0", lams[0]), ("smallest > 0", lams[1]), ("largest", lams[-1])):
            sep, ts = run_anneal(p.with_lambda(float(lam)), 1)
            got = front.best_at(float(lam)).objective
            rel = (got - sep.fun) / abs(sep.fun)
            rows.append([s, len(front), f"{front.run.chains} x {front.run.sweeps}", tf,
                         label, float(lam), got, sep.fun, f"{sep.chains} x {sep.sweeps}", ts,
                         pct(rel), "yes" if abs(rel) <= 0.01 else "NO"])
            log("pareto", rows[-1])
    hdr = ["seed", "front points", "front chains x sweeps", "front s", "lambda",
           "value", "front's best at lambda", "separate run", "its chains x sweeps",
           "its s", "front vs separate", "within 1%"]
    return ("## Pareto front extremes against separate runs (200 jobs x 20 servers)\n\n"
            "`generate_fleet(200, 20, seed=s)` (all penalty kinds, releases, price curves). "
            "Front: `satea.pareto.pareto(problem, backend='numba', seed=0)` at its defaults "
            "(16-point ladder, 8 chains per lambda, each lambda at its own temperature "
            "level, sweeps as a single run). Separate run: `anneal(problem.with_lambda(l), "
            "backend='numba', seed=1)` at its defaults. \"front's best at lambda\": the "
            "least `energy + lambda * penalty` over the front's points (what an operator "
            "picks at that lambda). Positive: the front is worse.\n\n"
            + table(hdr, rows) + footer(args))


def part_stop(args) -> str:
    """The stop rule's table, from benchmarks/default_runs.py's files (that script runs an
    earlier commit's install beside this one, so it is not rerun from here)."""
    res = ROOT / "benchmarks" / "results"
    rows, notes = [], []
    labels = {"tiny": "tiny (brute force)", "fleet20": "fleet20 (MILP optima)",
              "gap": "gap1-12 (published optima)"}
    for name, label in labels.items():
        f = res / f"default_runs_{name}.json"
        if not f.is_file():
            continue
        runs = json.loads(f.read_text())["rows"]
        hit = {k: sum(matches(r[f"{k}_fun"], r["reference"]) and
                      matches(r["reference"], r[f"{k}_fun"]) for r in runs)
               for k in ("base", "new")}
        secs = {k: sum(r[f"{k}_seconds"] for r in runs) for k in ("base", "new")}
        frac = sum(r["new_sweeps"] / r["new_planned"] for r in runs) / len(runs)
        rows.append([label, len(runs), f"{hit['base']}/{len(runs)}", secs["base"],
                     f"{hit['new']}/{len(runs)}", secs["new"],
                     f"{secs['new'] / secs['base']:.3f}", f"{frac:.3f}"])
        for k, who in (("base", "ec452b8"), ("new", "now")):
            miss = [r["problem"] for r in runs
                    if not (matches(r[f"{k}_fun"], r["reference"])
                            and matches(r["reference"], r[f"{k}_fun"]))]
            if miss:
                notes.append(f"{name}, {who}: {', '.join(miss)}")
    return ("## Default runs: the converged stop rule, side by side with ec452b8\n\n"
            "A default run (no `sweeps`, no `time_limit`) plans clip(2e6 / n_jobs, 2000, "
            "50000) sweeps and ends once no chain has improved its best by more than 1e-9 "
            "(relative) during the last tenth of them (`stop='converged'`, checked at 200 "
            "evenly spaced sweep counts, so the stop is deterministic). The rule was chosen "
            "on recorded default runs (200 checkpoints per run; tiny seed 0, fleet20 and "
            "gap1-12 seeds 0-2): the longest stall before a chain's last improvement was 13 "
            "checks (6.5% of the plan); a 10% window kept every optimum the full runs found "
            "(gap 176/176, fleet20 60/60, tiny 8/8) at 0.67, 0.22 and 0.11 of the planned "
            "sweeps, a 5% window lost 9 of 176 gap optima, a minimum fraction before "
            "stopping only cost time, and an acceptance-rate condition added nothing. The "
            "tolerance matters on fleets: their bests drift by ~1e-16 from sweep to sweep "
            "(totals re-summed), which an exact test counts as progress.\n\n"
            "Below, the current defaults (the rule, hot end 1/256, capacity weight 10/3, "
            "p_swap 0.6 with capacities) against commit ec452b8's defaults (all planned "
            "sweeps, hot end 1/4, the moves before the fast-move work), both "
            "`anneal(problem, backend=\"numba\", seed=0)`, the two installs alternating "
            "problem by problem in one run; search seconds are `result.seconds`. The time "
            "ratio combines the stop rule with the faster moves.\n\n"
            + table(["set", "problems", "ec452b8: optima", "ec452b8: search s", "now: optima",
                     "now: search s", "now / ec452b8", "now: sweeps done / planned"], rows)
            + ("\nMissed: " + "; ".join(notes) + ".\n" if notes else "")
            + "\n*Produced by `python benchmarks/default_runs.py --set {tiny,fleet20,gap} "
              "--base-python ../venv-base/bin/python` (ec452b8 in a worktree with its own "
              "venv) on 2026-11-27 at commit `ca8bbeb`; x86_64, 2 CPU cores, Python 3.11.7; "
              "files benchmarks/results/default_runs_*.json, rendered here by "
              "`python benchmarks/quality.py --parts stop`.*\n")


PARTS = {"stop": part_stop, "tiny": part_tiny, "fleet20": part_fleet20, "gap": part_gap,
         "gapabcd": part_gapabcd, "large": part_large, "highs": part_highs,
         "pareto": part_pareto}


# ---------------------------------------------------------------------------------------
# the document
# ---------------------------------------------------------------------------------------

HEAD = """# Solution quality

What the annealer's answers are worth, measured against references nobody here wrote:
exact optima (brute force on tiny fleets, the HiGHS MILP of `satea.milp` on small ones),
the published optima and best-known values of the OR-Library generalized assignment
problems, and constructive baselines (`satea.baselines`). Every table below is written by

    python benchmarks/quality.py [--parts stop,tiny,fleet20,gap,gapabcd,large,highs,pareto]

with the command, date, commit and machine under it; a part not rerun keeps its last
section. Objectives are re-scored in float64 by `satea.evaluate`; for the GAP problems
they are the profit (gap1-12, maximised) or the cost (gapa-d, minimised) in the
published sense.

Measured and not kept (OR-Library gap1-12, seed 0, commit `1221d58`, whose docs/quality.md
holds the table): at the previous defaults (36/60 optima), restarts from each chain's best
with the hot end halved per restart (4 x (64 x 500)) reached 50/60 in 1.0 s per problem;
fewer, longer chains (16 x 30000, cold end twice as warm) reached 59/60 in 4.5 s. Longer
chains did better at equal time, so the defaults grew the chains and restarts were dropped
(with their code).

Methods (API; the CLI names are `satea solve --method ...`):

| method | function | what it does |
|---|---|---|
| `anneal` | `satea.anneal(problem)` | simulated annealing, many chains |
| `milp` | `satea.milp.solve_milp(problem)` | exact MILP (HiGHS); bound and gap at a time limit |
| `greedy` | `satea.baselines.greedy_energy(problem)` | each job to the server adding least energy |
| `greedy-cost` | `satea.baselines.greedy_cost(problem)` | least marginal objective |
| `list` | `satea.baselines.list_schedule(problem)` | each job where it completes earliest |
| `random` | `satea.baselines.random_feasible(problem, seed)` | random, repaired for capacity |

The greedy and list baselines take jobs in dispatch order and only servers with room
(busy + p <= capacity); ties go to the lower marginal objective, then the lower index.

`satea.baselines.solve_baseline(problem, method)` wraps any of them (and `milp`) in an
`AnnealResult` (`backend` = the method), so results print and write (`satea-result/1`)
like the annealer's.
"""

FORMULATION = r"""
<!-- static -->
## The exact MILP (`satea.milp`)

Jobs `i` are taken in dispatch order (the compiled problem's internal order); `A_s` is the
list of jobs allowed on server `s` in that order; `p[i,s]`, `r_i`, `d_i` are processing
time, release and due time in hours (the model's seconds / 3600: keeps big-M values small),
`e_s = idle_w(s) * price_s / 1000` the idle cost per hour on, `c[i,s] = dyn[i,s] * price_s
* p[i,s] (in s) / 3.6e6 + fixed_cost[i,s]` the run cost of `i` on `s`. Constant prices only:
with a price curve the cost of a job depends on when it runs and `solve_milp` raises
`NotImplementedError`.

Variables, for allowed pairs only:

* `y[i,s]` binary: `i` runs on `s`.
* `C[i,s] >= 0`: completion of `i` if it runs on `s`, else 0.
* `R[i,s] >= 0`: latest completion on `s` among the jobs of `A_s` up to `i` (prefix
  maximum); `R[last(A_s), s]` is the server's switch-off time.
* `f[i,s]` in [0, 1] (servers with idle cost): `i` is the first job on `s`.
* per penalised job: `T_i >= 0` (lateness, linear/exponential), `b_i` binary (step),
  `q_i >= 0` and a binary `k_i` (exponential, the cap).

Constraints (with `B_l = max_{l' <= l} r + sum_{l' <= l} p`, a bound on any completion of
the first `l` jobs of `A_s`, and `prev` the job before `i` in `A_s`):

    sum_s y[i,s] = 1                                     every job runs once
    sum_i p[i,s] y[i,s] <= capacity_s                    busy-time budgets
    C[i,s] >= (r_i + p[i,s]) y[i,s]                      start >= release
    C[i,s] <= B_l y[i,s]                                 0 when i is not on s
    C[i,s] >= R[prev,s] + p[i,s] - (B_{l-1} + p[i,s]) (1 - y[i,s])    start >= previous completion
    R[i,s] >= C[i,s],  R[i,s] >= R[prev,s]               prefix maximum
    f[i,s] <= y[i,s],  f[i,s] >= y[i,s] - sum_{i' before i in A_s} y[i',s],  sum_i f[i,s] <= 1

    minimise  sum c[i,s] y[i,s] + sum_s e_s (R[last,s] - sum_i r_i f[i,s]) + lam * penalties

**Why the max is exact.** The model's schedule is non-delay: `start = max(r_i, C_prev)`.
The constraints above only say `C >= ...`, so on their own they allow a job to finish later
than the model says. The MILP is still exact. Fix the assignment `y`. The switch-on time
`sum_i r_i f[i,s]` is then fixed too, because the `f` constraints force `f` to be exactly
the first job of `s` in dispatch order. (The first job starts at its release, since
`start = max(r, 0)`.) Every other term of the objective can only grow when a completion
grows. The switch-off time `R[last]` and the lateness do. Step, linear and exponential
penalties are all non-decreasing in lateness. The constraints have a least solution, and it
is exactly the non-delay recursion `C = max(r, C_prev) + p`. So the minimum over `C, R` is
reached at the model's schedule, and the MILP optimum equals the model's optimum.

A formulation that lets the switch-on time follow a free start variable (`on_s = start of
the first job`, `start >= release`, `start >= previous completion`) is different. There,
starting the first job late shortens the paid on-time when a later job waits for its
release, so the MILP would solve a relaxation whose optimum can lie below the model's.
`tests/test_milp.py::test_non_delay_schedule_is_exact` pins this case: a server whose two
jobs are released at 0 h and 5 h is on from 0 h to 6 h. MILP optima equal brute force on
the tiny fleets and on seeded random 7 x 3 fleets with releases and capacities.

**Penalties** from `C_i = sum_s C[i,s]`, where only one term is non-zero:

* linear: `T_i >= C_i - d_i`, cost `lam w_i / sigma_i * T_i`;
* step: `C_i - d_i <= (max completion - d_i) b_i`, cost `lam w_i b_i`; `C_i = d_i` is on
  time, as in the model;
* exponential: `q_i >= w_i (e^{u_k} (1 + u - u_k) - 1)` for tangent points `u_k = 0, h,
  2h, ...` up to `min(u_max, 20)`, with `u = T_i / sigma_i` and cost `lam q_i`. When the
  job can be more than `20 sigma` late, a binary `k_i` selects the cap instead:
  `q_i >= w_i (e^20 - 1) k_i`, and the tangent rows are relaxed by `k_i`. This is the
  exact `min(convex, cap)`.

**Error bound of the exponential approximation.** The tangents of a convex function lie
below it, so the MILP under-charges and never over-charges. HiGHS's bound is therefore a
valid lower bound of the true problem. Between tangent points `a` and `a + h` the envelope
is lowest relative to `e^u` where the two tangents cross. There the relative error is
`eps(h) = 1 - (1 + v) e^{-v}`, with `v = h e^h / (e^h - 1) - 1`, about `h^2 / 8`, the same
on every interval. `exp_rel_error` (default 1e-4, so `h` is about 0.028) therefore bounds
the per-job error: `0 <= w (e^u - 1) - q <= eps * w e^u`. The returned assignment is
re-scored exactly by `evaluate`. Its true value exceeds the true optimum by at most
`eps * sum_i w_i e^{u_i}` at that assignment. The reported `gap` (re-scored objective
against the bound) includes this error.

**Generic assignment problems** (`compile_assignment`, OR-Library GAP) have no schedule
terms: they become `min sum cost[i,s] y[i,s]` subject to the assignment and capacity
rows. When maximising, the negated cost is minimised, and the bound is reported in the
caller's sense (an upper bound on the profit).

**Solver settings.** These are `scipy.optimize.milp` (HiGHS) with `mip_rel_gap` 1e-9 and
HiGHS's `mip_abs_gap` 0. The absolute gap is passed to HiGHS verbatim: its default of 1e-6
would stop early on objectives of order 1. `presolve` is on, and an optional
`time_limit`. `MilpResult(x, objective, bound, gap, status, seconds)` gives the assignment
in the caller's order, the re-scored objective, HiGHS's dual bound, the relative gap,
`optimal` or `time_limit`, and wall seconds. Size: O(N S) variables and rows, and O(N^2 S)
nonzeros for the first-job rows. It proves optimality on 20 x 4 fleets within seconds
(the table above). At 100-200 jobs its big-M bound is weak: under a time limit it returns
a feasible but poor assignment, or none (the HiGHS table).
<!-- /static -->
"""


def assemble(sections: dict) -> str:
    out = [HEAD]
    # parts written by other scripts (strategies: benchmarks/strategies.py) are kept, after
    for name in [*PARTS, *(n for n in sections if n not in PARTS)]:
        if name in sections:
            out.append(f"\n<!-- part:{name} -->\n{sections[name].strip()}\n<!-- /part:{name} -->\n")
    out.append(FORMULATION)
    return "".join(out)


def existing_sections() -> dict:
    if not DOC.is_file():
        return {}
    text = DOC.read_text()
    return {m.group(1): m.group(2) for m in re.finditer(
        r"<!-- part:(\w+) -->\n(.*?)<!-- /part:\1 -->", text, re.DOTALL)}


def main(argv=None) -> int:
    global DOC
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--quick", action="store_true", help="small subsets (a rehearsal)")
    ap.add_argument("--seeds", type=int, default=3, help="annealer seeds where several")
    ap.add_argument("--milp-time", type=float, default=300.0)
    ap.add_argument("--abcd-time", type=float, default=60.0)
    ap.add_argument("--abcd-settings", default="dict()",
                    help="anneal keywords of the time-limited gapa-d run (a Python dict; "
                         "default: the defaults, the schedule fitted to the time)")
    ap.add_argument("--large-time", type=float, default=240.0)
    ap.add_argument("--large-seeds", default="7,8", help="comma-separated")
    ap.add_argument("--large-settings",
                    default="{'default': {}, 'previous default': PREVIOUS}",
                    help="label -> anneal keywords (a Python dict; 'warm': start from the "
                         "best greedy)")
    ap.add_argument("--highs-seeds", default="0", help="comma-separated")
    ap.add_argument("--pareto-seeds", default="3,4,5", help="comma-separated")
    ap.add_argument("--gap-variants", default=None,
                    help="semicolon-separated names of GAP_VARIANTS to run besides the "
                         "default (default: all)")
    ap.add_argument("--out", default=None, help="default: docs/quality.md")
    args = ap.parse_args(argv)
    args.command = "python benchmarks/quality.py " + " ".join(
        a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[1:]))
    args.command = args.command.strip()
    args.abcd_settings = eval(args.abcd_settings, {})        # trusted CLI input
    args.large_settings = eval(args.large_settings, {"PREVIOUS": PREVIOUS})
    args.large_seeds = [int(s) for s in args.large_seeds.split(",")]
    args.highs_seeds = [int(s) for s in args.highs_seeds.split(",")]
    args.pareto_seeds = [int(s) for s in args.pareto_seeds.split(",")]
    if args.gap_variants is not None:
        args.gap_variants = set(args.gap_variants.split(";"))
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {unknown}; have {list(PARTS)}")
    if args.out is not None:
        DOC = Path(args.out)
    warm_up()
    sections = existing_sections()
    for name in parts:
        t0 = time.perf_counter()
        sections[name] = PARTS[name](args)
        log(f"part {name}: {time.perf_counter() - t0:.0f} s")
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(assemble(sections))       # after each part: partial runs keep
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(assemble(sections))           # (also with --parts '': static text only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
