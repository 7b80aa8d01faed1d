"""The shared move logic (kernels/moves.py) against full float64 recomputation."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba import njit

from satea.backends.base import RunSpec
from satea.backends.numba_cpu import chain_state, problem_tuple
from satea.compile import compile_fleet
from satea.kernels import cpu
from satea.kernels.moves import WORK, move_apply, move_delta, propose
from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from satea.objective import evaluate


@njit
def one_move(P, x, nxt, head, srv_cost, srv_busy, rng, n_jobs, n_servers, lam, p_swap,
             cap_weight, out):
    """Propose one move of chain 0, apply it whatever its delta; out = (moved, d_cost, d_viol)."""
    j1, j2, a, b, u = propose(P, x, rng, 0, 1, True, n_jobs, p_swap)
    if a == b:
        out[0] = 0.0
        return
    delta, d_cost, d_viol, ca, ba, cb, bb = move_delta(
        P, nxt, head, srv_cost, srv_busy, 0, 1, True, n_jobs, n_servers, j1, j2, a, b, lam,
        cap_weight)
    move_apply(x, nxt, head, srv_cost, srv_busy, 0, 1, True, n_jobs, n_servers, j1, j2, a, b,
               ca, ba, cb, bb)
    out[0] = 1.0
    out[1] = d_cost
    out[2] = d_viol


GPUS = {"A": GPUType("A", 40, 50.0), "B": GPUType("B", 16, 20.0)}
MODELS = {"m0": DNNModel("m0", 8), "m1": DNNModel("m1", 24)}  # m1 does not fit on B


@st.composite
def fleets(draw):
    n_servers = draw(st.integers(1, 4))
    n_jobs = draw(st.integers(1, 8))
    curve = PriceCurve("c", draw(st.sampled_from([600.0, 3600.0])),
                       tuple(draw(st.lists(st.floats(0.0, 0.5), min_size=1, max_size=5))))
    profiles = (Profile("m0", "A", 10.0, 300.0), Profile("m0", "B", 4.0, 90.0),
                Profile("m1", "A", 5.0, 350.0), Profile("m1", "B", 2.0, 100.0))
    servers = []
    for s in range(n_servers):
        on_curve = draw(st.booleans())
        cap = draw(st.one_of(st.none(), st.floats(500.0, 20000.0)))
        servers.append(Server(f"s{s}", "A" if s == 0 else draw(st.sampled_from(["A", "B"])),
                              price_per_kwh=None if on_curve else draw(st.floats(0.01, 0.4)),
                              price_curve="c" if on_curve else None, capacity_s=cap))
    jobs = []
    for j in range(n_jobs):
        kind = draw(st.sampled_from(["none", "step", "linear", "exponential"]))
        due = draw(st.one_of(st.none(), st.floats(0.0, 20000.0)))
        jobs.append(Job(f"j{j}", draw(st.sampled_from(["m0", "m1"])),
                        draw(st.floats(100.0, 50000.0)), draw(st.floats(0.0, 10000.0)), due,
                        Penalty(kind, draw(st.floats(0.0, 10.0)), draw(st.floats(60.0, 7200.0)))))
    return Fleet("h", GPUS, MODELS, profiles, tuple(servers), tuple(jobs), {"c": curve},
                 draw(st.floats(0.0, 5.0)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(), seed=st.integers(0, 2**31), p_swap=st.sampled_from([0.0, 0.5, 1.0]))
def test_incremental_delta_equals_full_recomputation(fleet, seed, p_swap):
    problem = compile_fleet(fleet)
    n, m = problem.n_jobs, problem.n_servers
    spec = RunSpec(1, seed, np.arange(1), np.array([problem.lam]), np.ones(1), p_swap, 0.0)
    s = chain_state(problem, spec)
    P = problem_tuple(problem)
    cpu.init_cpu(P, s["x"], s["nxt"], s["head"], s["srv_cost"], s["srv_busy"], s["rng"],
                 s["chain_f"], n, m, True)

    def full(x_internal):
        ev = evaluate(problem, problem.to_caller(x_internal))
        return ev.search_objective, ev.violation

    before = full(s["x"])
    out = np.zeros(3)
    for _ in range(40):
        one_move(P, s["x"], s["nxt"], s["head"], s["srv_cost"], s["srv_busy"], s["rng"], n, m,
                 problem.lam, p_swap, 0.0, out)
        if out[0] == 0.0:
            continue
        after = full(s["x"])
        scale = max(1.0, abs(before[0]), abs(after[0]))
        assert math.isclose(out[1], after[0] - before[0], rel_tol=1e-9, abs_tol=1e-9 * scale)
        assert math.isclose(out[2], after[1] - before[1], rel_tol=1e-9, abs_tol=1e-9)
        before = after
    # the maintained per-server state equals a rebuild from scratch
    kept_cost, kept_busy = s["srv_cost"].copy(), s["srv_busy"].copy()
    cpu.resync_cpu(P, s["nxt"], s["head"], s["srv_cost"], s["srv_busy"], s["chain_f"], n, m)
    np.testing.assert_allclose(kept_cost, s["srv_cost"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kept_busy, s["srv_busy"], rtol=1e-12, atol=1e-12)
    # lists hold each server's jobs in ascending (dispatch) order
    for srv in range(m):
        walk, j = [], s["head"][srv]
        while j >= 0:
            walk.append(j)
            j = s["nxt"][j]
        assert walk == sorted(np.flatnonzero(s["x"] == srv).tolist())
    # moves never put a job where it cannot run
    assert problem.is_allowed(np.arange(n), s["x"]).all()


def test_delta_touches_only_two_servers():
    """A move's cost depends on the jobs of the two servers it touches, not on N: on a
    fleet with many idle-free servers, its walk length is the two servers' job counts."""
    from satea.kernels.moves import server_eval
    fleet = Fleet("w", GPUS, MODELS, (Profile("m0", "A", 10.0, 300.0),),
                  tuple(Server(f"s{i}", "A", price_per_kwh=0.1) for i in range(50)),
                  tuple(Job(f"j{i}", "m0", 1000.0) for i in range(500)))
    problem = compile_fleet(fleet)
    spec = RunSpec(1, 1, np.arange(1), np.ones(1), np.ones(1), 0.3, 0.0)
    s = chain_state(problem, spec)
    P = problem_tuple(problem)
    cpu.init_cpu(P, s["x"], s["nxt"], s["head"], s["srv_cost"], s["srv_busy"], s["rng"],
                 s["chain_f"], 500, 50, True)
    # server_eval as plain Python counts the jobs it visits through their work entry
    visited = []

    class Counting(np.ndarray):
        def __getitem__(self, i):
            visited.append(i)
            return super().__getitem__(i)

    P2 = list(P)
    P2[WORK] = P[WORK].view(Counting)
    server_eval(tuple(P2), s["nxt"], s["head"], 0, 1, True, 500, 50, 3, -1, -1, 1.0)
    assert len(visited) == int((s["x"] == 3).sum())
