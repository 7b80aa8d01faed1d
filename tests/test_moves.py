"""The shared move logic (kernels/moves.py) against full float64 recomputation.

Every delta a move proposes, and every cache a chain keeps after accepted moves
(completions, job schedule costs, server costs and busy times, the job lists), must equal
what the independent evaluator (satea.objective) computes from the assignment alone.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba import njit

from satea.backends.base import RunSpec
from satea.backends.numba_cpu import chain_state, problem_tuple
from satea.compile import compile_assignment, compile_fleet
from satea.kernels import cpu
from satea.kernels.layout import (CKPT, COMP, HEAD, HOLD, JCOST, JSTART, NODE_OFF, NXT, PRV,
                                  RELEASE, RELEASE_CUM, RNG, RNG_STRIDE, SRV_BUSY,
                                  SRV_COST, TAIL, WALKS, X, has_lists)
from satea.kernels.moves import (HOLD_MOVE, Chain, Delta, Move, allowed_server,
                                 curve_cumulative, metropolis, move_apply, move_delta, propose)
from satea.model import (CarbonCurve, DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve,
                         Profile, Server)
from satea.objective import evaluate


@njit
def propose_one(P, S, n_jobs, n_servers, lam, p_swap, out, caches, p_hold=0.0):
    """Propose one move of chain 0; out = (j1, j2, a, b, d_cost, d_viol, ca, ba, cb, bb, h).
    ``caches=False`` runs the GPU's way of evaluating a move (whole-server walks from the
    links, no caches) on the CPU; with one chain both layouts index alike."""
    ch = Chain(0, 1, True, caches, n_jobs, n_servers, True)
    mv = propose(P, S, ch, p_swap, p_hold)
    out[0], out[1], out[2], out[3], out[10] = mv.j1, mv.j2, mv.a, mv.b, mv.h
    if mv.a == mv.b and mv.j2 != HOLD_MOVE:
        return
    r = move_delta(P, S, ch, mv, lam, 0.0, math.inf)
    out[4], out[5], out[6], out[7], out[8], out[9] = (r.d_cost, r.d_viol, r.cost_a,
                                                      r.busy_a, r.cost_b, r.busy_b)


@njit
def apply_one(P, S, n_jobs, n_servers, lam, m, caches):
    mv = Move(np.int64(m[0]), np.int64(m[1]), np.int32(m[2]), np.int32(m[3]), 0.0, m[10])
    dl = Delta(0.0, m[4], m[5], m[6], m[7], m[8], m[9])
    move_apply(P, S, Chain(0, 1, True, caches, n_jobs, n_servers, True), mv, dl, lam)


GPUS = {"A": GPUType("A", 40, 50.0), "B": GPUType("B", 16, 20.0), "Z": GPUType("Z", 40, 0.0)}
MODELS = {"m0": DNNModel("m0", 8), "m1": DNNModel("m1", 24)}  # m1 does not fit on B


@st.composite
def fleets(draw, series=False):
    """Small fleets with releases, price curves, every penalty kind, capacities, forbidden
    pairs and idle-free servers; jobs often share releases so timelines rejoin. With
    ``series`` (docs/model.md, part 2): non-repeating curves, negative prices, carbon
    curves of another step and constant carbon intensities, a carbon price."""
    n_servers = draw(st.integers(1, 4))
    n_jobs = draw(st.integers(1, 10))
    low = -0.3 if series else 0.0
    curve = PriceCurve("c", draw(st.sampled_from([600.0, 3600.0])),
                       tuple(draw(st.lists(st.floats(low, 0.5), min_size=1, max_size=5))),
                       repeat=draw(st.booleans()) if series else True)
    profiles = (Profile("m0", "A", 10.0, 300.0), Profile("m0", "B", 4.0, 90.0),
                Profile("m1", "A", 5.0, 350.0), Profile("m1", "B", 2.0, 100.0),
                Profile("m0", "Z", 8.0, 0.0), Profile("m1", "Z", 8.0, 200.0))
    servers = []
    for s in range(n_servers):
        on_curve = draw(st.booleans())
        cap = draw(st.one_of(st.none(), st.floats(500.0, 20000.0)))
        carbon: dict = {}
        if series:
            carbon = draw(st.sampled_from([{}, {"carbon_curve": "k"},
                                           {"carbon_g_per_kwh": draw(st.floats(0.0, 600.0))}]))
        servers.append(Server(f"s{s}", "A" if s == 0 else draw(st.sampled_from("ABZ")),
                              price_per_kwh=(None if on_curve
                                             else draw(st.floats(low or 0.01, 0.4))),
                              price_curve="c" if on_curve else None, capacity_s=cap,
                              **carbon))
    releases = draw(st.lists(st.sampled_from([0.0, 500.0, 3000.0, 9000.0]), min_size=1,
                             max_size=3))
    jobs = []
    for j in range(n_jobs):
        kind = draw(st.sampled_from(["none", "step", "linear", "exponential"]))
        due = draw(st.one_of(st.none(), st.floats(0.0, 20000.0)))
        release = draw(st.one_of(st.sampled_from(releases), st.floats(0.0, 10000.0)))
        jobs.append(Job(f"j{j}", draw(st.sampled_from(["m0", "m1"])),
                        draw(st.floats(100.0, 50000.0)), release, due,
                        Penalty(kind, draw(st.floats(0.0, 10.0)), draw(st.floats(60.0, 7200.0)))))
    more: dict = {}
    if series:
        # another step than the price's (the merged curve's grid is their gcd), and a
        # period that may repeat or not independently of the price's
        more = {"carbon_curves": {"k": CarbonCurve(
                    "k", draw(st.sampled_from([900.0, 1800.0, 3600.0])),
                    tuple(draw(st.lists(st.floats(0.0, 700.0), min_size=1, max_size=4))),
                    repeat=draw(st.booleans()))},
                "carbon_price_per_kg": draw(st.sampled_from([0.0, 0.1, 2.0]))}
    return Fleet("h", GPUS, MODELS, profiles, tuple(servers), tuple(jobs), {"c": curve},
                 draw(st.floats(0.0, 5.0)), **more)


def _full(problem, x_internal, holds=None):
    ev = evaluate(problem, problem.to_caller(np.asarray(x_internal)), holds)
    return ev.search_objective, ev.violation, ev


def _holds(problem, S):
    """Chain 0's holds (internal order), None where no job may be held."""
    return S[HOLD].copy() if problem.has_holds else None


def _scale(costs):
    return max(1.0, float(np.abs(costs).max()))


def _check_caches(problem, P, S, lam, peak, caches=True):
    """Every cache of chain 0 against the evaluator. ``peak[0]``: the largest server cost
    seen so far on this trajectory (incremental updates round relative to it). Without
    ``caches`` (the GPU's way) completions and job costs are not kept."""
    m = problem.n_servers
    x = S[X]
    _, _, ev = _full(problem, x, _holds(problem, S))
    busy = ev.server_busy
    np.testing.assert_allclose(S[SRV_BUSY], busy, rtol=1e-12, atol=1e-9)
    # a server's search cost: energy + lambda * its jobs' penalties + assignment costs
    pen = np.asarray(ev.job_penalty)[problem.order]   # internal (dispatch) order
    fixed = problem.fixed_cost[problem.job_class, problem.server_class[x]]
    want = (np.asarray(ev.server_energy_cost, float)
            + problem.carbon_price * np.asarray(ev.server_carbon_kg, float))
    np.add.at(want, x, lam * pen + fixed)
    # a server's cost is updated by deltas: a job whose cost is huge (an exponential
    # penalty at its cap, ~5e8) leaves an absolute rounding of eps x that on the server it
    # left; the periodic rebuild (RESYNC_SWEEPS) clears it
    peak[0] = max(peak[0], _scale(want))
    np.testing.assert_allclose(S[SRV_COST], want, rtol=1e-9, atol=1e-11 * peak[0])
    if not has_lists(P):
        return
    comp = np.asarray(ev.completion)[problem.order]
    dyn = (np.asarray(ev.job_energy_cost)
           + problem.carbon_price * np.asarray(ev.job_carbon_kg))[problem.order]
    for s in range(m):
        if not P[WALKS][s]:
            continue
        walk, j, prev = [], S[HEAD][s], -1
        while j >= 0:
            assert S[PRV][j] == prev
            walk.append(j)
            prev, j = j, S[NXT][j]
        assert S[TAIL][s] == prev
        assert walk == sorted(np.flatnonzero(x == s).tolist())
        if not caches:
            continue
        for j in walk:
            assert S[COMP][j] == pytest.approx(comp[j], rel=1e-12, abs=1e-9)
            on_curve = problem.curve_id[s] >= 0
            want_j = lam * pen[j] + (dyn[j] if on_curve else 0.0)
            assert S[JCOST][j] == pytest.approx(want_j, rel=1e-9, abs=1e-9)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(), seed=st.integers(0, 2**31), p_swap=st.sampled_from([0.0, 0.5, 1.0]),
       accept=st.lists(st.booleans(), min_size=30, max_size=30), caches=st.booleans())
def test_every_delta_and_cache_equals_full_recomputation(fleet, seed, p_swap, accept, caches):
    _moves_against_evaluator(compile_fleet(fleet), seed, p_swap, accept, caches)


def _moves_against_evaluator(problem, seed, p_swap, accept, caches, p_hold=0.0):
    """Propose moves, check each delta against the evaluator, apply the accepted ones and
    check every cache after each; then a rebuild from scratch changes nothing. With
    ``p_hold`` (a problem whose jobs may be held) hold moves are among them."""
    n, m, lam = problem.n_jobs, problem.n_servers, problem.lam
    spec = RunSpec(1, seed, np.arange(1), np.array([lam]), p_swap, 0.0, p_hold=p_hold)
    P = problem_tuple(problem)
    S = chain_state(problem, spec, P)
    cpu.init_cpu(P, S, n, m, True)
    peak = [1.0]
    _check_caches(problem, P, S, lam, peak)
    before = _full(problem, S[X], _holds(problem, S))
    out = np.zeros(11)
    for take in accept:
        propose_one(P, S, n, m, lam, p_swap, out, caches, p_hold)
        j1, j2, a, b = (int(v) for v in out[:4])
        if a == b and j2 != HOLD_MOVE:
            continue
        x_new = S[X].copy()
        holds_new = _holds(problem, S)
        if j2 == HOLD_MOVE:
            assert holds_new is not None and 0.0 <= out[10] <= problem.hold_max[j1]
            assert out[10] != holds_new[j1]
            holds_new[j1] = out[10]
        else:
            x_new[j1] = b
            if j2 >= 0:
                x_new[j2] = a
        after = _full(problem, x_new, holds_new)
        scale = max(1.0, abs(before[0]), abs(after[0]))
        # a delta reads the cached server costs, which carry the rounding of the largest
        # cost seen on this trajectory (see _check_caches)
        assert math.isclose(out[4], after[0] - before[0], rel_tol=1e-9,
                            abs_tol=1e-9 * scale + 1e-11 * peak[0])
        assert math.isclose(out[5], after[1] - before[1], rel_tol=1e-9, abs_tol=1e-9)
        if take:
            apply_one(P, S, n, m, lam, out, caches)
            before = after
            _check_caches(problem, P, S, lam, peak, caches=caches)
    # a rebuild from scratch changes nothing beyond rounding
    kept = [a.copy() for a in S]
    cpu.resync_cpu(P, S, n, m)
    for f in (SRV_COST, SRV_BUSY, COMP, JCOST) if caches else (SRV_COST, SRV_BUSY):
        np.testing.assert_allclose(kept[f], S[f], rtol=1e-12, atol=1e-11 * peak[0])
    if caches and problem.multi_gpu:
        # a node's starts, checkpoints and latest completions are maxima and sums of the
        # same values in the same order however a walk got there: bit for bit
        for f in (JSTART, CKPT, NODE_OFF):
            np.testing.assert_array_equal(kept[f], S[f])
    # moves never put a job where it cannot run
    assert problem.is_allowed(np.arange(n), S[X]).all()


@pytest.mark.parametrize("caches", [True, False], ids=["cpu-way", "gpu-way"])
def test_delta_after_a_huge_server_cost_left(caches):
    """Found by the property test: a server first holds a job late at the exponential
    cap (cost ~1.7e7), sheds it, and a later delta on that server is ~3e-3. The cached
    cost keeps the absolute rounding of 1.7e7 (~2e-9) until the next rebuild; the delta
    must be exact up to that, not up to 1e-9 of its own size."""
    profiles = (Profile("m0", "A", 10.0, 300.0), Profile("m1", "A", 5.0, 350.0))
    jobs = [Job(f"j{i}", "m0", 100.0) for i in range(10)]
    jobs[1] = Job("j1", "m0", 100.0, 0.0, 1.0, Penalty("exponential", 1.0, 60.0))
    jobs[8] = Job("j8", "m0", 100.0, 0.0, 0.0)
    jobs[9] = Job("j9", "m1", 100.0, 873.0, 0.0)
    fleet = Fleet("h", GPUS, MODELS, profiles,
                  tuple(Server(f"s{i}", "A", price_per_kwh=0.25) for i in range(3)),
                  tuple(jobs), {}, 5.0)
    _moves_against_evaluator(compile_fleet(fleet), 29252, 0.0, [False, False, True] + [False] * 27,
                             caches)


@pytest.mark.parametrize("caches", [True, False], ids=["cpu-way", "gpu-way"])
def test_walking_and_additive_servers_exchange_jobs(caches):
    """One fleet with a server that walks for its idle power, one that never walks (no idle
    power, a constant price, no deadlines anywhere) and one on a price curve: jobs move and
    swap between all three, and every delta and cache stays exact."""
    servers = (Server("s0", "A", price_per_kwh=0.2), Server("s1", "Z", price_per_kwh=0.1),
               Server("s2", "A", price_curve="c"), Server("s3", "Z", price_per_kwh=0.3))
    jobs = tuple(Job(f"j{i}", "m0" if i % 3 else "m1", 2000.0 + 700.0 * i,
                     release_s=[0.0, 500.0, 3000.0][i % 3]) for i in range(9))
    fleet = Fleet("mix", GPUS, MODELS, (Profile("m0", "A", 10.0, 300.0),
                                        Profile("m1", "A", 5.0, 350.0),
                                        Profile("m0", "Z", 8.0, 150.0),
                                        Profile("m1", "Z", 8.0, 200.0)),
                  servers, jobs, {"c": PriceCurve("c", 600.0, (0.1, 0.4, 0.2))})
    problem = compile_fleet(fleet)
    assert problem_tuple(problem)[WALKS].tolist() == [1, 0, 1, 0]
    rng = np.random.default_rng(11)
    for seed, p_swap in ((1, 0.5), (2, 1.0), (3, 0.0)):
        _moves_against_evaluator(problem, seed, p_swap, rng.random(60) < 0.6, caches)


def test_assignment_problem_moves_in_constant_time():
    """A generic assignment problem has no schedule terms: no server walks, the chain keeps
    no lists, and every delta equals the change of the two additive sums."""
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 30, size=(12, 4)).astype(float)
    res = rng.integers(1, 10, size=(12, 4)).astype(float)
    problem = compile_assignment(cost, res, np.full(4, 25.0))
    P = problem_tuple(problem)
    assert not P[WALKS].any() and not has_lists(P)
    spec = RunSpec(1, 5, np.arange(1), np.ones(1), 0.5, 0.0)
    S = chain_state(problem, spec, P)
    assert S[NXT].size == S[HEAD].size == 1   # no lists: memory O(N + S) per chain
    cpu.init_cpu(P, S, 12, 4, True)
    out = np.zeros(11)
    for i in range(200):
        x = S[X].copy()
        propose_one(P, S, 12, 4, 1.0, 0.5, out, True)
        j1, j2, a, b = (int(v) for v in out[:4])
        if a == b:
            continue
        want = cost[j1, b] - cost[j1, a] + (cost[j2, a] - cost[j2, b] if j2 >= 0 else 0.0)
        assert out[4] == want
        if i % 3 == 0:
            apply_one(P, S, 12, 4, 1.0, out, True)
            x[j1] = b
            if j2 >= 0:
                x[j2] = a
            assert np.array_equal(S[X], x)
            np.testing.assert_array_equal(
                S[SRV_COST], np.bincount(x, weights=cost[np.arange(12), x], minlength=4))


def test_cpu_chains_generator_words_never_share_a_cache_line():
    """Every move writes its chain's two generator words four times: on the CPU no other
    chain's words (another thread's, under prange) may sit in the same 64-byte line, nor
    in the line beside it; the kernels read and write the two words and nothing else."""
    from satea.kernels.rng import seed_states
    rng = np.random.default_rng(5)
    cost = rng.integers(1, 30, size=(12, 4)).astype(float)
    problem = compile_assignment(cost, rng.integers(1, 10, size=(12, 4)).astype(float),
                                 np.full(4, 25.0))
    P = problem_tuple(problem)
    nc = 9
    spec = RunSpec(nc, 7, np.arange(nc), np.ones(nc), 0.5, 0.0)
    S = chain_state(problem, spec, P)
    words = S[RNG].reshape(nc, RNG_STRIDE)
    np.testing.assert_array_equal(words[:, :2], seed_states(7, np.arange(nc)))
    base = S[RNG].ctypes.data
    pair_lines = [{(base + 8 * (c * RNG_STRIDE + i)) // 128 for i in (0, 1)}
                  for c in range(nc)]
    for c in range(nc - 1):
        assert not pair_lines[c] & pair_lines[c + 1]
    cpu.init_cpu(P, S, 12, 4, True)
    cpu.sweep_cpu(P, S, 12, 4, np.ones(3), 0, 3, 12, 0.5, 0.0, np.empty(3 * nc))
    assert not words[:, 2:].any()                       # padding untouched
    assert (words[:, :2] != seed_states(7, np.arange(nc))).all()   # the streams moved


def test_a_move_retimes_only_the_suffix_until_the_timeline_rejoins():
    """Removing a job re-times only the jobs after it, and stops at the first one whose
    completion does not change (an idle gap before a later release absorbed the shift):
    the walk visits 52 of the server's 200 jobs here."""
    from satea.kernels.moves import walk_delta

    # 100 jobs of 100 s released at 0 queue up until 10,000 s; 100 more are released from
    # 20,000 s on, one every 100 s. Removing job 48 moves jobs 49-99 100 s earlier; job 100
    # still starts at its release: the walk stops there.
    jobs = ([Job(f"j{i}", "m0", 1000.0, release_s=0.0) for i in range(100)]
            + [Job(f"j{i}", "m0", 1000.0, release_s=20000.0 + 100.0 * (i - 100))
               for i in range(100, 200)])
    fleet = Fleet("w", GPUS, MODELS, (Profile("m0", "A", 10.0, 300.0),),
                  (Server("s0", "A", price_per_kwh=0.1),), tuple(jobs))
    problem = compile_fleet(fleet)
    P = problem_tuple(problem)
    spec = RunSpec(1, 1, np.arange(1), np.ones(1), 0.0, 0.0)
    S = chain_state(problem, spec, P)
    cpu.init_cpu(P, S, 200, 1, True)
    visited = []

    class Counting(np.ndarray):
        def __getitem__(self, i):
            visited.append(i)
            return super().__getitem__(i)

    P2 = list(P)
    P2[RELEASE] = P[RELEASE].view(Counting)
    internal = {int(c): i for i, c in enumerate(problem.order)}
    d = walk_delta(tuple(P2), S, Chain(0, 1, True, True, 200, 1, True), 0, internal[48], -1, 1.0,
                   math.inf, -1, 0.0)
    assert len(visited) == 52   # jobs 49-99 re-timed, job 100 found unchanged
    x = S[X].copy()
    removed = problem.to_caller(x)
    before = evaluate(problem, removed).search_objective
    # compare with the evaluator on the instance without job 48 (the delta of a removal)
    keep = [j for i, j in enumerate(jobs) if i != 48]
    fleet2 = Fleet("w2", GPUS, MODELS, fleet.profiles, fleet.servers, tuple(keep))
    after = evaluate(compile_fleet(fleet2), np.zeros(199, np.int64)).search_objective
    fixed48 = 1000.0 / 10.0 * 250.0 * 0.1 / 3.6e6   # job 48's additive dynamic energy
    assert d == pytest.approx(after - before + fixed48, rel=1e-9)


@njit
def _metropolis_many(delta, beta, u, out):
    for i in range(delta.size):
        out[i] = metropolis(delta[i], beta[i], u[i])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_metropolis_cut_gives_the_exp_rules_answer(seed):
    """metropolis skips the exp where exp(-beta * delta) lies below every positive uniform
    draw; its answer stays ``delta <= 0 or u < exp(-beta * delta)`` for every draw the
    generator can make (multiples of 2**-53, zero included) and for inf and nan."""
    g = np.random.default_rng(seed)
    n = 4000
    delta = np.concatenate([g.normal(0, 1, n) * 10.0 ** g.uniform(-3, 3, n),
                            [np.inf, -np.inf, np.nan, 1.0, 1.0, 1.0]])
    beta = np.concatenate([10.0 ** g.uniform(-2, 3, n), [1.0, 1.0, 1.0, 40.0, 41.0, 800.0]])
    k = g.integers(0, 2**53, delta.size)
    k[g.random(delta.size) < 0.05] = 0                       # the draw u == 0
    k[-3:] = [1, 0, 0]
    u = k.astype(np.float64) * 2.0**-53
    # around the cut, the smallest positive draws: a cut set too low would reject some
    edge = np.linspace(20.0, 60.0, 400)
    small = g.integers(1, 2**12, edge.size) * 2.0**-53
    # ... and every one of the 8 smallest draws at x = 36 .. 41 in steps of 0.001
    fine = np.repeat(np.arange(36.0, 41.0, 0.001), 8)
    fine_u = np.tile(np.arange(1, 9), fine.size // 8) * 2.0**-53
    delta, beta, u = (np.concatenate([edge, fine, delta]),
                      np.concatenate([np.ones_like(edge), np.ones_like(fine), beta]),
                      np.concatenate([small, fine_u, u]))
    got = np.zeros(delta.size, np.bool_)
    _metropolis_many(delta, beta, u, got)
    with np.errstate(over="ignore", invalid="ignore"):
        want = (delta <= 0) | (u < np.exp(-beta * delta))
    np.testing.assert_array_equal(got, want)
    assert got[-2] and not got[-1]    # u == 0 accepts exp(-41) > 0, not exp(-800) == 0.0


@njit
def _allowed_many(P, k, u, out):
    for i in range(u.size):
        out[i] = allowed_server(P, k[i], u[i])


def test_allowed_server_is_the_reference_draw_with_and_without_the_fast_path():
    """A job class allowed everywhere takes the direct pick; a restricted class the
    search: both give the numpy reference's server for the same uniform."""
    from conftest import tiny_fleet_by_name
    from satea.backends.numpy_ref import allowed_server as ref
    from satea.generate import generate_fleet
    kinds = set()
    for p in (compile_fleet(tiny_fleet_by_name("mixed")),
              compile_fleet(generate_fleet(60, 12, seed=3)),
              compile_assignment(np.ones((5, 4)), np.ones((5, 4)), np.full(4, 9.0))):
        P = problem_tuple(p)
        full = p.allowed_cum[:, -1] == p.n_servers
        g = np.random.default_rng(1)
        k = g.integers(0, p.allowed_cum.shape[0], 3000)
        u = np.concatenate([g.random(2997), [0.0, 1 - 2.0**-53, 0.5]])
        got = np.zeros(u.size, np.int64)
        _allowed_many(P, k, u, got)
        np.testing.assert_array_equal(got, ref(p, k, u))
        kinds |= set(full[k].tolist())
    assert kinds == {True, False}                            # both ways were taken


@njit
def _exact_and_bounded(P, S, n_jobs, n_servers, lam, p_swap, frac, out):
    """Propose one move of chain 0; out = (j1, j2, a, b, exact delta, bounded delta,
    limit), the limit ``frac`` times the exact delta."""
    ch = Chain(0, 1, True, True, n_jobs, n_servers, True)
    mv = propose(P, S, ch, p_swap, 0.0)
    out[0], out[1], out[2], out[3] = mv.j1, mv.j2, mv.a, mv.b
    if mv.a == mv.b:
        return
    exact = move_delta(P, S, ch, mv, lam, 0.0, math.inf).delta
    limit = frac * exact
    out[4], out[6] = exact, limit
    out[5] = move_delta(P, S, ch, mv, lam, 0.0, limit).delta


def _bounded_deltas(problem, seed, p_swap, fracs, accept):
    """(bounded deltas that stopped early, moves): a delta under a limit is the exact one,
    or a lower bound of it above the limit. Accepted moves are made with their exact
    deltas (the same move proposed again from the same stream state)."""
    n, m, lam = problem.n_jobs, problem.n_servers, problem.lam
    spec = RunSpec(1, seed, np.arange(1), np.array([lam]), p_swap, 0.0)
    P = problem_tuple(problem)
    S = chain_state(problem, spec, P)
    cpu.init_cpu(P, S, n, m, True)
    out = np.zeros(10)
    exact_out = np.zeros(11)
    early = total = 0
    for frac, take in zip(fracs, accept):
        rng = S[RNG].copy()
        _exact_and_bounded(P, S, n, m, lam, p_swap, frac, out)
        if out[2] == out[3]:
            continue
        exact, bounded, limit = out[4], out[5], out[6]
        total += 1
        if bounded != exact:
            early += 1
            assert bounded > limit, (bounded, limit, exact)
            assert bounded <= exact + 1e-9 * max(1.0, abs(exact)), (bounded, exact)
        if take:
            S[RNG][:] = rng
            propose_one(P, S, n, m, lam, p_swap, exact_out, True)
            assert exact_out[4] == exact
            apply_one(P, S, n, m, lam, exact_out, True)
    return early, total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(), seed=st.integers(0, 2**31), p_swap=st.sampled_from([0.0, 0.5]),
       fracs=st.lists(st.sampled_from([0.0, 0.3, 0.9, 0.999, -1.0]), min_size=30,
                      max_size=30),
       accept=st.lists(st.booleans(), min_size=30, max_size=30))
def test_a_bounded_delta_is_exact_or_a_lower_bound_above_its_limit(fleet, seed, p_swap,
                                                                    fracs, accept):
    """move_delta under a finite limit (kernels.moves.move_limit): a walk that stops
    early returns a lower bound of the exact change, above the limit, so the Metropolis
    test rejects the move as the exact change would; otherwise the exact change."""
    _bounded_deltas(compile_fleet(fleet), seed, p_swap, fracs, accept)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(series=True), seed=st.integers(0, 2**31),
       p_swap=st.sampled_from([0.0, 0.5, 1.0]),
       accept=st.lists(st.booleans(), min_size=30, max_size=30), cm=st.booleans())
def test_deltas_and_caches_on_series_negative_prices_and_carbon(fleet, seed, p_swap, accept,
                                                                cm):
    """The property above on part 2's series: non-repeating curves, negative prices,
    carbon (merged into the search's price) against the evaluator's separate integrals."""
    _moves_against_evaluator(compile_fleet(fleet), seed, p_swap, accept, cm)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(series=True), seed=st.integers(0, 2**31),
       p_swap=st.sampled_from([0.0, 0.5]),
       fracs=st.lists(st.sampled_from([0.0, 0.3, 0.9, 0.999, -1.0]), min_size=30,
                      max_size=30),
       accept=st.lists(st.booleans(), min_size=30, max_size=30))
def test_a_bounded_delta_is_a_lower_bound_with_negative_prices(fleet, seed, p_swap, fracs,
                                                               accept):
    """With negative prices a walk must not stop early where the rest of its terms can
    be negative (a later switch-off at a negative price): still exact or a lower bound."""
    _bounded_deltas(compile_fleet(fleet), seed, p_swap, fracs, accept)


def test_bounded_deltas_do_stop_early_on_a_fleet():
    from satea.generate import generate_fleet
    p = compile_fleet(generate_fleet(300, 8, seed=1, capacity=False))
    g = np.random.default_rng(0)
    early, total = _bounded_deltas(p, 5, 0.0, g.choice([0.0, 0.5], 3000), g.random(3000) < 0.5)
    assert total > 1000 and early > 100, (early, total)


@njit(cache=False)
def _curve_many(P, cid, t, out):
    for i in range(t.shape[0]):
        out[i] = curve_cumulative(P, cid, t[i])


@pytest.mark.parametrize("step", [600.0, 3600.0, 0.1])
def test_curve_integral_by_reciprocals_equals_the_float64_one_at_and_between_steps(step):
    """The kernels' curve integral multiplies by the step's and period's reciprocals and
    skips the cycle count in the first period; where a rounded product picks the
    neighbouring step (t at a step or period boundary), the continuous integral still
    agrees with the float64 evaluator's division form up to rounding. The release table
    holds the same integral at every job's release."""
    from satea.objective import price_integral   # server 0 is on curve 0, cum[0] = 0
    prices = (0.031, 0.2, 0.017, 0.11, 0.05, 0.093, 0.07)
    fleet = Fleet("c", GPUS, MODELS, (Profile("m0", "A", 1.0, 200.0),),
                  (Server("s0", "A", price_curve="c"),),
                  tuple(Job(f"j{i}", "m0", 1.0 + i, release_s=r)
                        for i, r in enumerate((0.0, step, 3 * step - 1e-9, 7 * step,
                                               13.5 * step, 700.25 * step))),
                  {"c": PriceCurve("c", step, prices)})
    problem = compile_fleet(fleet)
    P = problem_tuple(problem)
    n = len(prices)
    ks = np.arange(0, 3 * n + 1, dtype=float)
    t = np.concatenate([ks * step, np.nextafter(ks * step, -np.inf)[1:],
                        np.nextafter(ks * step, np.inf), (ks + 0.5) * step,
                        [1e6 * step + 0.3, 123456.789 * step]])
    got = np.empty_like(t)
    _curve_many(P, 0, t, got)
    want = np.array([price_integral(problem, 0, 0.0, float(x)) for x in t])
    scale = max(prices) * np.maximum(t, step)
    assert np.all(np.abs(got - want) <= 1e-12 * scale), np.max(np.abs(got - want) / scale)
    rel = np.empty(problem.n_jobs)
    _curve_many(P, 0, problem.release.astype(float), rel)
    assert np.array_equal(P[RELEASE_CUM][0], rel)
