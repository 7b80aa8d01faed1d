"""How many start-unchanged visits of a node walk an exact skip rule could step over.

Replays ``node_walk``'s visits as ``benchmarks/node_probe.py`` counts them (no early stop
at a limit, no kernel change) over its 3,000 random moves of the 8-GPU fleet, and counts
besides the visits classes ("skippable") the start-unchanged jobs whose old start is
below the smallest free time that differs between the old timeline (the previous job's
checkpoint, clamped at its start) and the new one (clamped at the new previous start).

    cd benchmarks && python results/nodes/skip-rule-2026-12-04/skip_count.py
"""
from __future__ import annotations

import math
import sys

import numpy as np
from numba import njit

sys.path.insert(0, ".")
import node_probe as NP  # noqa: E402  (benchmarks/ on the path first)

from satea.compile import compile_fleet  # noqa: E402
from satea.kernels import moves as M  # noqa: E402
from satea.kernels.layout import (CKPT, COMP, FREE, JSTART, NXT, PRV,  # noqa: E402
                                  SERVER_CLASS, SERVER_GPUS)

CLASSES = ("removed", "changed", "same", "rejoin", "skippable")


@njit(**NP.NO_NRT)
def visits_skip(P, S, s, out, inn, lam, cnt):
    prv_, comp_, nxt_, jstart_, free_ = S[PRV], S[COMP], S[NXT], S[JSTART], S[FREE]
    G = P[SERVER_GPUS][s]
    g = P[SERVER_CLASS][s]
    cid = P[M.CURVE_ID][s]
    L = free_.shape[0]
    last_edit = max(out, inn)
    if out >= 0 and (inn < 0 or out < inn):
        pred = prv_[out]
    else:
        pred = M.find_pred(S, NP.chain_of(P), s, inn)
    if pred >= 0:
        ps = jstart_[pred]
        for q in range(G):
            free_[q] = S[CKPT][M.ck_at(S, NP.chain_of(P), pred, q)]
        cur = nxt_[pred]
    else:
        ps = 0.0
        M.fs_fill(free_, NP.ONE, L, 0, G, 0.0)
        cur = S[M.HEAD][s]
    ins = inn
    prev_old = -1   # the last old job passed: its checkpoint is the old timeline's state
    while True:
        if ins >= 0 and (cur < 0 or ins < cur):
            j = ins
            ins = -1
        elif cur >= 0:
            j = cur
            cur = nxt_[cur]
        else:
            break
        if j == out:
            cnt[0] += 1
            continue
        if j > last_edit and prev_old >= 0:   # could j be stepped over?
            sp = jstart_[prev_old]
            m = math.inf
            for q in range(G):
                a = max(S[CKPT][M.ck_at(S, NP.chain_of(P), prev_old, q)], sp)
                b = max(free_[q], ps)
                if a != b:   # sorted both: the first difference holds the smallest
                    m = min(a, b)
                    break
            if jstart_[j] < m:
                cnt[4] += 1
        st, comp, cost = M.node_step(P, g, cid, j, 0.0, free_, NP.ONE, L, 0, G, ps, lam)
        ps = st
        if j == inn:
            cnt[1] += 1
        else:
            prev_old = j
            if (j > last_edit and st == jstart_[j] and comp == comp_[j]
                    and M.ck_same(S, NP.chain_of(P), L, j, G, st)):
                cnt[3] += 1
                break
            if st == jstart_[j]:
                cnt[2] += 1
            else:
                cnt[1] += 1
    return 0


@njit(**NP.NO_NRT)
def count(P, S, moves, lam, cnt):
    for i in range(moves.shape[0]):
        j, a, b = moves[i, 0], moves[i, 1], moves[i, 2]
        visits_skip(P, S, a, j, -1, lam, cnt)
        visits_skip(P, S, b, -1, j, lam, cnt)


def main() -> None:
    f8, _f1 = NP.fleets()
    problem = compile_fleet(f8)
    for state in ("list", "anneal"):
        be = NP.chain(problem, state)
        P, S = be.P, be.S
        mv = np.zeros((3000, 3), np.int64)
        NP.draw_moves(P, tuple(a.copy() for a in S), problem.n_jobs, mv)
        cnt = np.zeros(len(CLASSES), np.int64)
        count(P, S, mv, problem.lam, cnt)
        print(state, dict(zip(CLASSES, (cnt / 3000).round(2).tolist())))


if __name__ == "__main__":
    main()
