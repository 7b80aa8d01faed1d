"""How a move walks a multi-GPU node: visits against jobs re-timed, and cost per visit.

A probe, not the package. It builds the fleet of issue 28's acceptance (2,000 jobs on 50
nodes of 8 GPUs, 10% gang jobs of 2, 4 or 8 GPUs, releases, price curves on a quarter of
the nodes, every penalty kind) and beside it the same jobs on 400 one-GPU servers (each
node split into 8 servers of its GPU type and price, a gang job asking one GPU, the host
power split evenly), puts one chain of each on an assignment (``--state list``: the list
schedule; ``anneal``: a chain annealed to the cold end), and replays random moves (a job
to another allowed server; no move applied):

* **visits**: every job a move's two walks touch, counted as
  ``benchmarks/layout_probe.py`` counts them (each job re-timed, the rejoin included) plus,
  on nodes, the removed job (a node walk starts from the checkpoint of the job before
  its edit, ``kernels.moves`` ``CKPT``: G words, no job visited);
* **re-timed**: the jobs whose start differs after the move (the moved job included),
  from the float64 evaluator;
* **ns per move / per visit**: the package's exact walks (``node_walk``, ``walk_delta``),
  timed in one process, alternating, best of ``--repeat``;
* **moves/s**: ``satea.anneal`` with independent chains, fixed sweeps and temperatures.

    python benchmarks/node_probe.py [--moves 3000] [--repeat 5] [--json F]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any
from pathlib import Path

import numpy as np
from numba import njit
from numba.extending import register_jitable

from layout_probe import draw_moves  # the same random moves as the layout probe draws
from satea.annealing import anneal
from satea.backends.base import RunSpec
from satea.backends.numba_cpu import NumbaCPUBackend
from satea.baselines import list_schedule
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.kernels import moves as M
from satea.kernels.layout import (CKPT, COMP, FREE, JCOST, JSTART, NXT, PRV,
                                  SERVER_CLASS, SERVER_GPUS, X)
from satea.model import Server
from satea.objective import evaluate

#: chain 0 of one, chain-major with caches (every index is then the element itself)
ONE = M.Chain(0, 1, True, True, 0, 0, False)


@register_jitable
def chain_of(P):
    """Chain 0 of one, chain-major with caches, sized by problem ``P``."""
    return M.Chain(0, 1, True, True, P[M.WORK].shape[0], P[SERVER_CLASS].shape[0], False)

PENALTIES = ("none", "step", "linear", "exponential")
#: numba's type stubs do not list the private ``_nrt`` option (kernels/cpu.py)
NO_NRT: dict[str, Any] = {"_nrt": False}


def fleets(n: int = 2000, nodes: int = 50, gpus: int = 8, gang: float = 0.1, seed: int = 0):
    """(the node fleet, the same jobs on one-GPU servers)."""
    f8 = generate_fleet(n, nodes, seed=seed, gpus_per_node=gpus, gang_share=gang,
                        penalties=PENALTIES, price_curve_fraction=0.25)
    servers = tuple(Server(f"{s.name}.{i}", s.gpu, price_per_kwh=s.price_per_kwh,
                           price_curve=s.price_curve, base_w=s.base_w / s.gpus)
                    for s in f8.servers for i in range(s.gpus))
    jobs = tuple(replace(j, gpus=1) for j in f8.jobs)
    f1 = replace(f8, name=f8.name + "-split", servers=servers, jobs=jobs)
    return f8, f1


def chain(problem, state: str, seed: int = 0):
    """A numba backend holding one chain at the list schedule or annealed."""
    be = NumbaCPUBackend()
    if state == "list":
        x0 = problem.to_internal(list_schedule(problem))[None, :]
        be.start(problem, RunSpec(1, seed, np.arange(1), np.ones(1), 0.0, 0.0, x0=x0))
    else:
        be.start(problem, RunSpec(1, seed, np.arange(1), np.ones(1), 0.0, 0.0))
        be.run_block(0, 1.0 / np.geomspace(0.078, 5.2e-4, 400))
    be.resync()
    return be


#: classes of a node walk's visits: the removed job, a job re-timed to a new start (or the
#: inserted one), a job whose start is unchanged while the free times still differ, the
#: rejoin (the walk's start loads a checkpoint of G words: no job is visited there)
NODE_CLASSES = ("removed", "start_changed", "start_same", "rejoin")
#: counted beside the classes: the start-unchanged visits an exact skip rule could step
#: over (the job's old start is below the smallest free time that differs between the old
#: timeline, its predecessor's checkpoint, and the new one: it keeps its start, and the
#: difference passes it; benchmarks/README.md, "Measured and not built ... skip rule")
SKIPPABLE = "start_same_skippable"


@njit(**NO_NRT)
def _node_visits(P, S, s, out, inn, lam, cnt):
    """The visits of node_walk(s, out, inn) with no early stop, replayed step by step and
    counted by :data:`NODE_CLASSES` in ``cnt``."""
    prv_, comp_, nxt_, jstart_, free_ = S[PRV], S[COMP], S[NXT], S[JSTART], S[FREE]
    G = P[SERVER_GPUS][s]
    g = P[SERVER_CLASS][s]
    cid = P[M.CURVE_ID][s]
    L = free_.shape[0]
    last_edit = max(out, inn)
    if out >= 0 and (inn < 0 or out < inn):
        pred = prv_[out]
    else:
        pred = M.find_pred(S, chain_of(P), s, inn)
    v = 0
    if pred >= 0:   # the walk loads pred's checkpoint
        ps = jstart_[pred]
        for q in range(G):
            free_[q] = S[CKPT][M.ck_at(S, chain_of(P), pred, q)]
        cur = nxt_[pred]
    else:
        ps = 0.0
        M.fs_fill(free_, ONE, L, 0, G, 0.0)
        cur = S[M.HEAD][s]
    ins = inn
    prev_old = -1   # the last old job passed: its checkpoint is the old timeline there
    while True:
        if ins >= 0 and (cur < 0 or ins < cur):
            j = ins
            ins = -1
        elif cur >= 0:
            j = cur
            cur = nxt_[cur]
        else:
            break
        v += 1
        if j == out:
            cnt[0] += 1
            continue
        if j > last_edit and prev_old >= 0:   # could a skip rule step over j?
            sp = jstart_[prev_old]
            m = math.inf
            for q in range(G):   # both sorted: the first difference holds the smallest
                a = max(S[CKPT][M.ck_at(S, chain_of(P), prev_old, q)], sp)
                b = max(free_[q], ps)
                if a != b:
                    m = min(a, b)
                    break
            if jstart_[j] < m:
                cnt[4] += 1
        st, comp, cost = M.node_step(P, g, cid, j, 0.0, free_, ONE, L, 0, G, ps, lam)
        ps = st
        if j == inn:
            cnt[1] += 1
        else:
            prev_old = j
            if (j > last_edit and st == jstart_[j] and comp == comp_[j]
                    and M.ck_same(S, chain_of(P), L, j, G, st)):
                cnt[3] += 1
                break
            if st == jstart_[j]:
                cnt[2] += 1
            else:
                cnt[1] += 1
    return v


@njit(**NO_NRT)
def _single_visits(P, S, s, out, inn, lam):
    """The visits of walk_delta(s, out, inn) with no early stop (layout_probe's count)."""
    nxt_, comp_ = S[NXT], S[COMP]
    g = P[SERVER_CLASS][s]
    cid = P[M.CURVE_ID][s]
    last_edit = max(out, inn)
    if out >= 0 and (inn < 0 or out < inn):
        pred = S[PRV][out]
    else:
        pred = M.find_pred(S, chain_of(P), s, inn)
    t, a_t = 0.0, 0.0
    if pred >= 0:
        t = comp_[pred]
        if cid >= 0:
            a_t = M.curve_cumulative(P, cid, t)
        cur = nxt_[pred]
    else:
        cur = S[M.HEAD][s]
    v = 0
    ins = inn
    while True:
        j, cur, ins = M.next_merged(nxt_, ONE, cur, ins, out)
        if j < 0:
            break
        v += 1
        st, comp, a_c, cost = M.job_step(P, g, cid, j, 0.0, t, a_t, lam)
        if j != inn and j > last_edit and comp == comp_[j]:
            break
        t = comp
        a_t = a_c
    return v


@njit(**NO_NRT)
def count_visits(P, S, moves, lam, nodes, cnt):
    total = 0
    for i in range(moves.shape[0]):
        j, a, b = moves[i, 0], moves[i, 1], moves[i, 2]
        if nodes:
            total += (_node_visits(P, S, a, j, -1, lam, cnt)
                      + _node_visits(P, S, b, -1, j, lam, cnt))
        else:
            total += _single_visits(P, S, a, j, -1, lam) + _single_visits(P, S, b, -1, j, lam)
    return total


@njit(**NO_NRT)
def time_walks(P, S, moves, lam, nodes):
    """The package's two exact walks of every move (no early stop); their summed deltas."""
    acc = 0.0
    for i in range(moves.shape[0]):
        j, a, b = moves[i, 0], moves[i, 1], moves[i, 2]
        if nodes:
            acc += M.node_walk(P, S, chain_of(P),
                               a, j, S[JSTART][j], S[COMP][j], S[JCOST][j], -1, lam,
                               math.inf, False, -1, 0.0)
            acc += M.node_walk(P, S, chain_of(P),
                               b, -1, 0.0, 0.0, 0.0, j, lam, math.inf, False, -1, 0.0)
        else:
            acc += M.walk_delta(P, S, chain_of(P),
                                a, j, -1, lam, math.inf, -1, 0.0)
            acc += M.walk_delta(P, S, chain_of(P),
                                b, -1, j, lam, math.inf, -1, 0.0)
    return acc


def retimed(problem, x_int, moves, sample: int) -> float:
    """Mean number of jobs whose start changes over the first ``sample`` moves."""
    base = evaluate(problem, problem.to_caller(x_int)).start[problem.order]
    tot = 0
    for j, _a, b in moves[:sample].tolist():
        y = x_int.copy()
        y[j] = b
        st = evaluate(problem, problem.to_caller(y)).start[problem.order]
        tot += int((st != base).sum())
    return tot / sample


def walk_probe(state: str, n_moves: int, repeat: int) -> dict:
    f8, f1 = fleets()
    out: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    for key, fleet, nodes in (("8gpu", f8, True), ("1gpu", f1, False)):
        problem = compile_fleet(fleet)
        be = chain(problem, state)
        P, S = be.P, be.S
        mv = np.zeros((n_moves, 3), np.int64)
        draw_moves(P, tuple(a.copy() for a in S), problem.n_jobs, mv)
        cnt = np.zeros(len(NODE_CLASSES) + 1, np.int64)   # + SKIPPABLE
        visits = count_visits(P, S, mv, problem.lam, nodes, cnt) / n_moves
        moved = retimed(problem, S[X].copy(), mv, min(n_moves, 400))
        out[key] = {"instance": problem.name, "n_servers": problem.n_servers,
                    "visits_per_move": round(float(visits), 2),
                    "retimed_per_move": round(float(moved), 2),
                    "visits_per_retimed": round(float(visits / moved), 3)}
        if nodes:
            out[key]["visit_classes"] = dict(zip(NODE_CLASSES + (SKIPPABLE,),
                                                 np.round(cnt / n_moves, 2).tolist()))
        runs[key] = (P, S, mv, problem.lam, nodes, visits)
    best = {k: math.inf for k in runs}
    for _ in range(repeat):      # alternating, best of
        for key, (P, S, mv, lam, nodes, _v) in runs.items():
            t0 = time.perf_counter()
            time_walks(P, S, mv, lam, nodes)
            best[key] = min(best[key], (time.perf_counter() - t0) / n_moves * 1e9)
    for key, (_P, _S, _mv, _lam, _nodes, visits) in runs.items():
        out[key]["ns_per_move"] = round(best[key], 1)
        out[key]["ns_per_visit"] = round(best[key] / visits, 2)
    out["visit_cost_ratio_8_over_1"] = round(out["8gpu"]["ns_per_visit"]
                                             / out["1gpu"]["ns_per_visit"], 3)
    return {"state": state, "moves": n_moves, **out}


def speed_probe(repeat: int, sweeps: int) -> dict:
    """numba attempted moves/s of both fleets: 2 independent chains, fixed sweeps and
    temperatures, best of ``repeat`` alternating runs."""
    f8, f1 = fleets()
    probs = {"8gpu": compile_fleet(f8), "1gpu": compile_fleet(f1)}
    kw: dict[str, Any] = dict(backend="numba", chains=2, sweeps=sweeps, seed=0,
                              strategy="independent", schedule=(0.078, 5.2e-4))
    for p in probs.values():   # compile and warm up
        anneal(p, **{**kw, "sweeps": 2})
    best = {k: 0.0 for k in probs}
    funs = {}
    for _ in range(repeat):
        for k, p in probs.items():
            r = anneal(p, **kw)
            best[k] = max(best[k], r.moves_per_second())
            ev = evaluate(p, r.x)
            assert ev.objective == r.fun       # re-scored exactly
            funs[k] = r.fun
    return {"sweeps": sweeps, "moves_per_s": {k: float(f"{v:.4g}") for k, v in best.items()},
            "ratio_8_over_1": round(best["8gpu"] / best["1gpu"], 3),
            "fun": funs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moves", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sweeps", type=int, default=150)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
    doc = {"date": _dt.date.today().isoformat(), "commit": commit,
           "python": sys.version.split()[0],
           "walks": [walk_probe(s, a.moves, a.repeat) for s in ("list", "anneal")],
           "speed": speed_probe(max(1, a.repeat // 2), a.sweeps)}
    print(json.dumps(doc, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
