"""Which per-server job order storage suits the CPU: linked lists or contiguous slots?

A probe, not the package: it builds both layouts from one annealed chain of a generated
fleet and times the exact schedule walks of the same random moves on each (a removal
from the job's server and an insertion into the target, both re-timed until the
timeline rejoins the old one, no move applied), in one process, alternating, best of
``--repeat``. Four variants:

* ``lists``: the package's layout (kernels/moves.py): per-job ``nxt`` links, cached
  completions and job costs indexed by job; problem data in one array per field.
* ``lists+rec``: the same links, problem data gathered in one record per job
  (release, due, penalty kind/weight/scale; processing time and dynamic power per
  server class), so a walked job touches fewer cache lines.
* ``slots``: each server's jobs contiguous in dispatch order (``slot_job``), completions
  and job costs stored by slot: a walk reads neighbouring words, no pointer chase; an
  insertion finds its place by a scan from the nearer end (a binary search, whose
  branches a CPU cannot predict, measured slower still: 170 and 506 ns a move).
* ``slots+rec``: slots and per-job records.

Writes the ns per move (two walks) of each variant and size, and the per-chain slowdown
from the small fleet to the large one (issue: within 2x). Applying a move to slots
shifts a suffix of each server's slots (not timed here: accepted moves are a few percent
of the cold end's moves); the walk costs are what every attempted move pays.

    python benchmarks/layout_probe.py [--sizes 1000x100,100000x10000] [--json F]
    python benchmarks/layout_probe.py --visits [--json F]   # where a move's visits go
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
import time
from typing import Any

import numpy as np
from numba import njit

from satea.backends.base import RunSpec
from satea.backends.numba_cpu import NumbaCPUBackend
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.kernels import moves as M
from satea.kernels.layout import (COMP, CURVE_ID, DYNW, HEAD, JCOST,
                                  JOULES_PER_KWH, NXT, PEN_EXP, PEN_LINEAR,
                                  PEN_STEP, PROC, RELEASE_CUM, SERVER_CLASS, WALKS, EXP_CAP)

#: chain 0 of one, chain-major with caches (every index is then the element itself)
ONE = M.Chain(0, 1, True, True, 0, 0, False)

#: numba's type stubs do not list the private ``_nrt`` option (kernels/cpu.py)
NO_NRT: dict[str, Any] = {"_nrt": False}

# ---- per-job records ------------------------------------------------------------------
R_REL, R_DUE, R_W, R_SCALE, R_KIND = range(5)


def job_records(problem, P):
    """(rec[j, 0:5], cls[g, j, 0:2] = (proc, dynw)): one or two cache lines per job."""
    rec = np.stack([problem.release, problem.due, problem.pen_weight, problem.pen_scale,
                    problem.pen_kind.astype(np.float64)], axis=1).astype(np.float64)
    cls = np.ascontiguousarray(np.stack([P[PROC], P[DYNW]], axis=2))
    return np.ascontiguousarray(rec), cls


@njit(inline="always", **NO_NRT)
def _penalty_rec(rec, j, comp):
    late = comp - rec[j, R_DUE]
    if not late > 0.0:
        return 0.0
    kind = int(rec[j, R_KIND])
    w = rec[j, R_W]
    if kind == PEN_STEP:
        return w
    if kind == PEN_LINEAR:
        return w * (late / rec[j, R_SCALE])
    if kind == PEN_EXP:
        u = min(late / rec[j, R_SCALE], EXP_CAP)
        return w * (math.exp(u) - 1.0)
    return 0.0


@njit(inline="always", **NO_NRT)
def _step(P, rec, cls, use_rec, g, cid, j, t, a_t, lam):
    if not use_rec:
        return M.job_step(P, g, cid, j, 0.0, t, a_t, lam)
    r = rec[j, R_REL]
    st = max(r, t)
    a_st = a_t
    if cid >= 0:
        a_st = P[RELEASE_CUM][cid, j] if r > t else a_t
    comp = st + cls[g, j, 0]
    cost = lam * _penalty_rec(rec, j, comp)
    a_c = 0.0
    if cid >= 0:
        a_c = M.curve_cumulative(P, cid, comp)
        cost += cls[g, j, 1] * (a_c - a_st) / JOULES_PER_KWH
    return st, comp, a_c, cost


# ---- walks over linked lists (the package's logic, exact, without the idle terms) ------

@njit(inline="always", **NO_NRT)
def walk_start(P, S, s, out, inn):
    """Where a walk of server ``s`` (job ``out`` removed, ``inn`` merged in) starts, as
    kernels/moves.walk_delta starts it: (class, curve, last edit, completion and price
    integral before the first edit, first job after it)."""
    nxt_, comp_ = S[NXT], S[COMP]
    cid = P[CURVE_ID][s]
    if out >= 0:
        pred = S[M.PRV][out]
    else:
        pred = M.find_pred(S, M.Chain(0, 1, True, True, 0, 0, False), s, inn)
    t, a_t = 0.0, 0.0
    if pred >= 0:
        t = comp_[pred]
        if cid >= 0:
            a_t = M.curve_cumulative(P, cid, t)
        cur = nxt_[pred]
    else:
        cur = S[HEAD][s]
    return P[SERVER_CLASS][s], cid, max(out, inn), t, a_t, cur


@njit(inline="always", **NO_NRT)
def _walk_lists(P, rec, cls, use_rec, S, s, out, inn, lam):
    nxt_, comp_, jcost_ = S[NXT], S[COMP], S[JCOST]
    g, cid, last_edit, t, a_t, cur = walk_start(P, S, s, out, inn)
    d = 0.0
    if out >= 0:
        d = -jcost_[out]
    ins = inn
    while True:
        j, cur, ins = M.next_merged(nxt_, ONE, cur, ins, out)
        if j < 0:
            break
        st, comp, a_c, cost = _step(P, rec, cls, use_rec, g, cid, j, t, a_t, lam)
        if j == inn:
            d += cost
        else:
            if j > last_edit and comp == comp_[j]:
                break
            d += cost - jcost_[j]
        t = comp
        a_t = a_c
    return d


# ---- contiguous slots -------------------------------------------------------------------

@njit(inline="always", **NO_NRT)
def _walk_slots(P, rec, cls, use_rec, beg, ln, sjob, scomp, scost, pos, s, out, inn, lam):
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    b0 = beg[s]
    n = ln[s]
    if out >= 0:
        k = pos[out]                     # first slot after the removed job
        k1 = k + 1
    else:
        # first slot whose job is after inn: a scan from the end whose job index is
        # nearer (a binary search's unpredictable branches measured slower)
        if n == 0 or inn < sjob[b0]:
            k = b0
        elif inn > sjob[b0 + n - 1]:
            k = b0 + n
        elif inn - sjob[b0] < sjob[b0 + n - 1] - inn:
            k = b0 + 1
            while sjob[k] < inn:
                k += 1
        else:
            k = b0 + n - 1
            while sjob[k - 1] > inn:
                k -= 1
        k1 = k
    t, a_t = 0.0, 0.0
    if k > b0:
        t = scomp[k - 1]
        if cid >= 0:
            a_t = M.curve_cumulative(P, cid, t)
    d = 0.0
    if out >= 0:
        d = -scost[k]
    else:
        st, t2, a2, cost = _step(P, rec, cls, use_rec, g, cid, inn, t, a_t, lam)
        d = cost
        t = t2
        a_t = a2
    for q in range(k1, b0 + n):
        j = sjob[q]
        st, comp, a_c, cost = _step(P, rec, cls, use_rec, g, cid, j, t, a_t, lam)
        if comp == scomp[q]:
            break
        d += cost - scost[q]
        t = comp
        a_t = a_c
    return d


@njit(**NO_NRT)
def build_slots(S, n_jobs, n_servers, beg, ln, sjob, scomp, scost, pos):
    q = 0
    for s in range(n_servers):
        beg[s] = q
        j = S[HEAD][s]
        while j >= 0:
            sjob[q] = j
            scomp[q] = S[COMP][j]
            scost[q] = S[JCOST][j]
            pos[j] = q
            q += 1
            j = S[NXT][j]
        ln[s] = q - beg[s]


@njit(**NO_NRT)
def bench_lists(P, rec, cls, use_rec, S, moves, lam):
    tot = 0.0
    for i in range(moves.shape[0]):
        j1, a, b = moves[i, 0], moves[i, 1], moves[i, 2]
        tot += _walk_lists(P, rec, cls, use_rec, S, a, j1, -1, lam)
        tot += _walk_lists(P, rec, cls, use_rec, S, b, -1, j1, lam)
    return tot


@njit(**NO_NRT)
def bench_slots(P, rec, cls, use_rec, beg, ln, sjob, scomp, scost, pos, moves, lam):
    tot = 0.0
    for i in range(moves.shape[0]):
        j1, a, b = moves[i, 0], moves[i, 1], moves[i, 2]
        tot += _walk_slots(P, rec, cls, use_rec, beg, ln, sjob, scomp, scost, pos, a, j1,
                           -1, lam)
        tot += _walk_slots(P, rec, cls, use_rec, beg, ln, sjob, scomp, scost, pos, b, -1,
                           j1, lam)
    return tot


@njit(**NO_NRT)
def draw_moves(P, S, n_jobs, out):
    i = 0
    while i < out.shape[0]:
        j1, j2, a, b, u, _h = M.propose(P, S, M.Chain(0, 1, True, True, n_jobs, 0, False), 0.0, 0.0)
        if a != b and P[WALKS][a] and P[WALKS][b]:
            out[i, 0] = j1
            out[i, 1] = a
            out[i, 2] = b
            i += 1


def annealed_chain(n: int, m: int, sweeps: int, fraction: float = 1.0):
    """(problem, backend) with one chain of the generated fleet annealed through the first
    ``fraction`` of compare_moves.py's fleet schedule of ``sweeps`` sweeps."""
    fleet = generate_fleet(n, m, seed=0, penalties=("none", "step", "linear", "exponential"),
                           price_curve_fraction=0.25, capacity=False)
    problem = compile_fleet(fleet, lam=1.0)
    be = NumbaCPUBackend()
    be.start(problem, RunSpec(1, 0, np.arange(1), np.ones(1), 0.3, 0.0))
    betas = 1.0 / np.geomspace(0.078, 5.2e-4, sweeps)
    be.run_block(0, betas[:max(1, int(round(sweeps * fraction)))])
    be.resync()
    return problem, be


def probe(n: int, m: int, sweeps: int, n_moves: int, repeat: int) -> dict:
    problem, be = annealed_chain(n, m, sweeps)   # to the cold end
    P, S = be.P, be.S
    rec, cls = job_records(problem, P)
    beg = np.zeros(m, np.int64)
    ln = np.zeros(m, np.int64)
    sjob = np.zeros(n, np.int32)
    scomp = np.zeros(n)
    scost = np.zeros(n)
    pos = np.zeros(n, np.int64)
    build_slots(S, n, m, beg, ln, sjob, scomp, scost, pos)
    mv = np.zeros((n_moves, 3), np.int64)
    draw_moves(P, tuple(a.copy() for a in S), n, mv)
    runs = {
        "lists": lambda: bench_lists(P, rec, cls, False, S, mv, 1.0),
        "lists+rec": lambda: bench_lists(P, rec, cls, True, S, mv, 1.0),
        "slots": lambda: bench_slots(P, rec, cls, False, beg, ln, sjob, scomp, scost, pos,
                                     mv, 1.0),
        "slots+rec": lambda: bench_slots(P, rec, cls, True, beg, ln, sjob, scomp, scost,
                                         pos, mv, 1.0),
    }
    ref = None
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, f in runs.items():
            t0 = time.perf_counter()
            v = f()
            dt = time.perf_counter() - t0
            if ref is None:
                ref = v
            # the same walks: the same sum of deltas, up to rounding
            assert abs(v - ref) <= 1e-9 * max(1.0, abs(ref)), (name, v, ref)
            best[name] = min(best.get(name, math.inf), dt / n_moves * 1e9)
    lens = np.diff(np.append(beg, n))
    return {"size": f"{n}x{m}", "sweeps": sweeps, "moves": n_moves,
            "mean_jobs_on_moved_jobs_server": float((lens[be.S[M.X][mv[:, 0]]]).mean()),
            "ns_per_move": best}


# ---- which jobs a walk visits ----------------------------------------------------------

#: classes of a visited job (other than the moved one): on a price-curve server (a shift
#: changes its time-of-use energy: no skip can avoid it); at a constant price with its
#: cost unchanged (what an exact skip over on-time runs could avoid, at best); at a
#: constant price with its penalty changed; the visit where the timeline rejoins
VISIT_CLASSES = ("curve", "const_zero", "const_change", "rejoin")


@njit(**NO_NRT)
def _classify(P, S, s, out, inn, lam, cnt, k):
    """Replay the exact walk (no stop at a limit) and count its visits in ``cnt[k:k+4]``."""
    nxt_, comp_, jcost_ = S[NXT], S[COMP], S[JCOST]
    g, cid, last_edit, t, a_t, cur = walk_start(P, S, s, out, inn)
    ins = inn
    while True:
        j, cur, ins = M.next_merged(nxt_, ONE, cur, ins, out)
        if j < 0:
            break
        st, comp, a_c, cost = M.job_step(P, g, cid, j, 0.0, t, a_t, lam)
        if j != inn:
            if j > last_edit and comp == comp_[j]:
                cnt[k + 3] += 1
                break
            if cid >= 0:
                cnt[k] += 1
            elif cost == jcost_[j]:
                cnt[k + 1] += 1
            else:
                cnt[k + 2] += 1
        t = comp
        a_t = a_c


@njit(**NO_NRT)
def _visit_counts(P, S, moves, lam, cnt):
    for i in range(moves.shape[0]):
        _classify(P, S, moves[i, 1], moves[i, 0], -1, lam, cnt, 0)
        _classify(P, S, moves[i, 2], -1, moves[i, 0], lam, cnt, 4)


def visits(n: int, m: int, sweeps: int, fraction: float, n_moves: int) -> dict:
    """Visits per move of the removal and insertion walks, by :data:`VISIT_CLASSES`, for
    the random moves of a chain annealed through ``fraction`` of the schedule."""
    _problem, be = annealed_chain(n, m, sweeps, fraction)
    mv = np.zeros((n_moves, 3), np.int64)
    draw_moves(be.P, tuple(a.copy() for a in be.S), n, mv)
    cnt = np.zeros(8, np.int64)
    _visit_counts(be.P, be.S, mv, 1.0, cnt)
    per = cnt / n_moves
    total = per.sum()
    return {"size": f"{n}x{m}", "schedule_fraction": fraction, "moves": n_moves,
            "removal": dict(zip(VISIT_CLASSES, np.round(per[:4], 3).tolist())),
            "insertion": dict(zip(VISIT_CLASSES, np.round(per[4:], 3).tolist())),
            "visits_per_move": round(float(total), 2),
            "skippable_at_best": round(float((per[1] + per[5]) / total), 3),
            "curve_share": round(float((per[0] + per[4]) / total), 3)}


def main_visits(a) -> int:
    rows = [visits(1000, 100, 1500, 1.0, a.moves), visits(1000, 100, 1500, 0.25, a.moves),
            visits(10000, 1000, 150, 1.0, a.moves)]
    for r in rows:
        print(json.dumps(r))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000x100,100000x10000")
    ap.add_argument("--sweeps", default="1500,8", help="annealing sweeps before the probe, "
                    "per size (compare_moves.py's)")
    ap.add_argument("--moves", type=int, default=200000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--visits", action="store_true",
                    help="count which jobs the walks visit instead (1,000 x 100 at the cold "
                         "end and a quarter through, 10,000 x 1,000 at the cold end)")
    a = ap.parse_args(argv)
    if a.visits:
        return main_visits(a)
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    sweeps = [int(v) for v in a.sweeps.split(",")]
    rows: list[dict] = []
    for (n, m), sw in zip(sizes, sweeps):
        # compile once on a tiny fleet so the first size's numbers hold no compile
        if not rows:
            probe(60, 6, 2, 100, 1)
        row = probe(n, m, sw, a.moves, a.repeat)
        rows.append(row)
        print(row["size"], " ".join(f"{k} {v:.1f}" for k, v in row["ns_per_move"].items()),
              "ns/move;",
              f"jobs on the moved job's server {row['mean_jobs_on_moved_jobs_server']:.1f}",
              file=sys.stderr)
    import os
    import platform
    import subprocess
    from pathlib import Path

    import numba
    import satea
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(satea.__file__).resolve().parents[1]).stdout.strip()
    except OSError:
        commit = "unknown"
    doc = {"date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "commit": commit, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
           "numba": numba.__version__, "threads": 1, "rows": rows}
    if len(rows) >= 2:
        doc["slowdown_last_over_first"] = {
            k: rows[-1]["ns_per_move"][k] / rows[0]["ns_per_move"][k]
            for k in rows[0]["ns_per_move"]}
        print("per-chain slowdown", rows[-1]["size"], "over", rows[0]["size"],
              {k: round(v, 2) for k, v in doc["slowdown_last_over_first"].items()},
              file=sys.stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
