"""Which jobs a move's walks visit, and how many of them an exact skip could avoid.

For the random moves of an annealed chain (the layout probe's moves: one job from its
server to another, both servers walking), the package's removal and insertion walks
(kernels/moves.py, exact, no stop at a limit) are replayed and every visited job other
than the moved one is put in a class:

* ``curve``: on a server that buys at a price curve. A shift changes the job's
  time-of-use energy, so its cost really changes: no skip can avoid the visit.
* ``const_zero``: at a constant price, and its cost is unchanged (on time before and
  after): the visits an exact skip over such runs could avoid, at best.
* ``const_change``: at a constant price, its penalty changes.
* ``rejoin``: the visit where the new timeline meets the old one (the walk stops).

Counts per move, at the cold end and a quarter through compare_moves.py's schedule.

    python benchmarks/results/visit_classes_probe.py [--json F]
"""
import argparse
import json
import sys

import numpy as np
from numba import njit

from satea.backends.base import RunSpec
from satea.backends.numba_cpu import NumbaCPUBackend
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.kernels import moves as M
from satea.kernels.layout import COMP, CURVE_ID, HEAD, JCOST, NXT, PRV, SERVER_CLASS, WALKS

CLASSES = ("curve", "const_zero", "const_change", "rejoin")


@njit
def _classify(P, S, s, out, inn, lam, cnt, k):
    nxt_, comp_, jcost_, head_ = S[NXT], S[COMP], S[JCOST], S[HEAD]
    g = P[SERVER_CLASS][s]
    cid = P[CURVE_ID][s]
    last_edit = max(out, inn)
    pred = S[PRV][out] if out >= 0 else M.find_pred(S, 0, 1, True, 0, 0, s, inn)
    t, a_t = 0.0, 0.0
    if pred >= 0:
        t = comp_[pred]
        if cid >= 0:
            a_t = M.curve_cumulative(P, cid, t)
        cur = nxt_[pred]
    else:
        cur = head_[s]
    ins = inn
    while True:
        j, cur, ins = M.next_merged(nxt_, 0, 1, True, 0, cur, ins, out)
        if j < 0:
            break
        st, comp, a_c, cost = M.job_step(P, g, cid, j, t, a_t, lam)
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


@njit
def _count(P, S, n_jobs, n_moves, lam, cnt):
    done = 0
    while done < n_moves:
        j1, j2, a, b, u = M.propose(P, S, 0, 1, True, n_jobs, 0.0)
        if a != b and P[WALKS][a] and P[WALKS][b]:
            _classify(P, S, a, j1, -1, lam, cnt, 0)
            _classify(P, S, b, -1, j1, lam, cnt, 4)
            done += 1


def probe(n, m, sweeps, frac, n_moves=200000):
    fleet = generate_fleet(n, m, seed=0, penalties=("none", "step", "linear", "exponential"),
                           price_curve_fraction=0.25, capacity=False)
    be = NumbaCPUBackend()
    be.start(compile_fleet(fleet, lam=1.0), RunSpec(1, 0, np.arange(1), np.ones(1), 0.3, 0.0))
    betas = 1.0 / np.geomspace(0.078, 5.2e-4, sweeps)
    be.run_block(0, betas[:max(1, int(round(sweeps * frac)))])
    be.resync()
    cnt = np.zeros(8, np.int64)
    _count(be.P, be.S, n, n_moves, 1.0, cnt)
    per = cnt / n_moves
    row = {"size": f"{n}x{m}", "schedule_fraction": frac, "moves": n_moves,
           "removal": dict(zip(CLASSES, np.round(per[:4], 3).tolist())),
           "insertion": dict(zip(CLASSES, np.round(per[4:], 3).tolist()))}
    total = per.sum()
    row["visits_per_move"] = round(float(total), 2)
    row["skippable_at_best"] = round(float((per[1] + per[5]) / total), 3)
    row["curve_share"] = round(float((per[0] + per[4]) / total), 3)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows = [probe(1000, 100, 1500, 1.0), probe(1000, 100, 1500, 0.25),
            probe(10000, 1000, 150, 1.0)]
    for r in rows:
        print(json.dumps(r))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
