"""How many start-same visits a skip (old start < smallest differing free time) would save."""
import sys, math
sys.path.insert(0, "/work/main/benchmarks")
import numpy as np
from numba import njit
import node_probe as NP
from node_probe import *  # noqa
from satea.kernels import moves as M
from satea.kernels.layout import CKPT, COMP, FREE, JSTART, NXT, PRV, SERVER_CLASS, SERVER_GPUS

@njit(**NP.NO_NRT)
def visits_skip(P, S, s, out, inn, lam, cnt, oldf):
    prv_, comp_, nxt_, jstart_, free_ = S[PRV], S[COMP], S[NXT], S[JSTART], S[FREE]
    G = P[SERVER_GPUS][s]; g = P[SERVER_CLASS][s]; cid = P[M.CURVE_ID][s]
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
    prev_old = -1   # last non-edit old job passed (its checkpoint = old state)
    skipping = False
    while True:
        if ins >= 0 and (cur < 0 or ins < cur):
            j = ins; ins = -1
        elif cur >= 0:
            j = cur; cur = nxt_[cur]
        else:
            break
        if j == out:
            cnt[0] += 1
            continue
        # before stepping j: could j be skipped?
        if j > last_edit and prev_old >= 0:
            # old state: checkpoint of prev_old (clamped at its start); new: free_ clamped at ps
            sp = jstart_[prev_old]
            m = math.inf
            for q in range(G):
                a = S[CKPT][M.ck_at(S, NP.chain_of(P), prev_old, q)]
                b = free_[q]
                if b < ps: b = ps
                if a < sp: a = sp
                if a != b:
                    m = min(a, b); break
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
def count(P, S, moves, lam, cnt, oldf):
    for i in range(moves.shape[0]):
        j, a, b = moves[i, 0], moves[i, 1], moves[i, 2]
        visits_skip(P, S, a, j, -1, lam, cnt, oldf)
        visits_skip(P, S, b, -1, j, lam, cnt, oldf)

f8, f1 = NP.fleets()
from satea.compile import compile_fleet
problem = compile_fleet(f8)
for state in ("list", "anneal"):
    be = NP.chain(problem, state)
    P, S = be.P, be.S
    mv = np.zeros((3000, 3), np.int64)
    NP.draw_moves(P, tuple(a.copy() for a in S), problem.n_jobs, mv)
    cnt = np.zeros(5, np.int64)
    count(P, S, mv, problem.lam, cnt, np.zeros(16))
    print(state, dict(zip(("removed", "changed", "same", "rejoin", "skippable"), (cnt / 3000).round(2))))
