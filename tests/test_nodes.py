"""Multi-GPU nodes and gang jobs (docs/model.md, part 2): the float64 evaluator by hand,
and every move's delta and cache against it on random multi-GPU fleets."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satea.backends.base import RunSpec
from satea.backends.numba_cpu import chain_state, problem_tuple
from satea.compile import compile_fleet
from satea.kernels import cpu
from satea.kernels.layout import (CKPT, HEAD, HOLD, JSTART, NODE_OFF, NXT, SERVER_GPUS,
                                  WALKS, X)
from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from satea.objective import evaluate
from satea.validate import InstanceError

from conftest import brute_force, tiny_node_fleets
from satea.annealing import anneal
from test_moves import _moves_against_evaluator, apply_one, propose_one

GPUS = {"A": GPUType("A", 40, 50.0), "B": GPUType("B", 16, 20.0)}


def worked_example():
    """docs/model.md's worked example: a 4-GPU node, a 2-GPU job and three 1-GPU jobs,
    one released late; idle 50 W a GPU, 100 W of host, 0.2 per kWh."""
    models = {"m": DNNModel("m", 8, {2: 0.75})}
    prof = (Profile("m", "A", 1.0, 250.0),)       # 1 sample/s a GPU, 200 W dynamic
    node = Server("n0", "A", price_per_kwh=0.2, gpus=4, base_w=100.0)
    jobs = (Job("a", "m", 3000.0, due_s=1000.0, gpus=2,
                penalty=Penalty("linear", 2.0, 3600.0)),  # 1.5 GPUs' speed: 2000 s
            Job("b", "m", 1500.0, due_s=2000.0),
            Job("c", "m", 1000.0, due_s=3000.0, release_s=2500.0),
            Job("d", "m", 4000.0, due_s=4000.0, penalty=Penalty("step", 5.0)))
    return Fleet("worked", GPUS, models, prof, (node,), jobs)


def test_worked_example_by_hand():
    fleet = worked_example()
    ev = evaluate(compile_fleet(fleet), np.zeros(4, np.int64))
    # dispatch order a, b, c, d (due times). a takes GPUs 0, 1 over [0, 2000]; b takes
    # GPU 2 over [0, 1500]; c waits for its release: [2500, 3500] on GPU 3 (free since 0,
    # the first to free up); d cannot start before c (no overtaking): at 2500 on GPU 2
    # (free since 1500), until 6500
    np.testing.assert_allclose(ev.start, [0.0, 0.0, 2500.0, 2500.0])
    np.testing.assert_allclose(ev.completion, [2000.0, 1500.0, 3500.0, 6500.0])
    assert ev.gpu_lanes == [(0, 1), (2,), (3,), (2,)]
    # on [0, 6500]: 4 x 50 + 100 W idle; dynamic 2 x 200 W x 2000 s + 200 W x (1500 +
    # 1000 + 4000) s
    idle_j = 300.0 * 6500.0
    dyn_j = 400.0 * 2000.0 + 200.0 * 6500.0
    assert ev.energy_cost == pytest.approx(0.2 * (idle_j + dyn_j) / 3.6e6, rel=1e-12)
    # a is 1000 s late (linear, weight 2 an hour), d 2500 s late (step 5)
    assert ev.penalty == pytest.approx(2.0 * 1000.0 / 3600.0 + 5.0, rel=1e-12)
    assert ev.server_busy[0] == pytest.approx(2 * 2000.0 + 1500.0 + 1000.0 + 4000.0)
    assert ev.server_off[0] == 6500.0


def test_latest_completion_not_last_job_switches_off():
    """The node stays on until its latest completion, not its last job's."""
    models = {"m": DNNModel("m", 8)}
    fleet = Fleet("off", GPUS, models, (Profile("m", "A", 1.0, 50.0),),
                  (Server("n", "A", price_per_kwh=1.0, gpus=2),),
                  (Job("long", "m", 5000.0, due_s=1.0), Job("short", "m", 100.0, due_s=2.0)))
    ev = evaluate(compile_fleet(fleet), np.zeros(2, np.int64))
    np.testing.assert_allclose(ev.completion, [5000.0, 100.0])
    assert ev.server_off[0] == 5000.0
    assert ev.energy_cost == pytest.approx(2 * 50.0 * 5000.0 / 3.6e6)


def test_part1_fields_mean_part1():
    """gpus 1 and base_w 0 written out compile to exactly the arrays of part 1."""
    models = {"m": DNNModel("m", 8)}
    prof = (Profile("m", "A", 3.0, 250.0),)
    jobs = tuple(Job(f"j{i}", "m", 1000.0 + 7 * i, release_s=10.0 * i) for i in range(5))
    plain = Fleet("p", GPUS, models, prof, (Server("s", "A", price_per_kwh=0.3),), jobs)
    spelled = Fleet("p", GPUS, models, prof,
                    (Server("s", "A", price_per_kwh=0.3, gpus=1, base_w=0.0),),
                    tuple(Job(j.name, j.model, j.samples, j.release_s, gpus=1) for j in jobs))
    a, b = compile_fleet(plain), compile_fleet(spelled)
    for f in ("work", "work_scale", "throughput", "dyn_w", "idle_w", "allowed"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not a.multi_gpu and not b.multi_gpu


def test_gang_job_too_large_is_refused_naming_the_largest_node():
    models = {"m": DNNModel("m", 8)}
    fleet = Fleet("big", GPUS, models, (Profile("m", "A", 1.0, 50.0),),
                  (Server("n4", "A", price_per_kwh=1.0, gpus=4),
                   Server("n2", "A", price_per_kwh=1.0, gpus=2)),
                  (Job("j0", "m", 10.0, gpus=8),))
    with pytest.raises(InstanceError, match=r"job 'j0': needs 8 GPUs on one node, but the "
                                            r"largest node .* has 4 \(server 'n4', A\)"):
        compile_fleet(fleet)


@pytest.mark.parametrize("field,value", [("gpus", 0), ("gpus", 1.5), ("gpus", True),
                                         ("base_w", -1.0), ("base_w", math.nan)])
def test_bad_node_fields_are_refused(field, value):
    kw = {field: value}
    fleet = Fleet("bad", GPUS, {"m": DNNModel("m", 8)}, (Profile("m", "A", 1.0, 50.0),),
                  (Server("n", "A", price_per_kwh=1.0, **kw),), (Job("j", "m", 1.0),))
    with pytest.raises(InstanceError, match=f"server 'n': {field}"):
        compile_fleet(fleet)


def test_gang_job_only_on_nodes_large_enough():
    models = {"m": DNNModel("m", 8)}
    fleet = Fleet("fit", GPUS, models, (Profile("m", "A", 1.0, 50.0),),
                  (Server("n1", "A", price_per_kwh=1.0),
                   Server("n4", "A", price_per_kwh=1.0, gpus=4)),
                  (Job("j1", "m", 10.0), Job("j4", "m", 10.0, gpus=4)))
    p = compile_fleet(fleet)
    ok = p.allowed[p.job_class[:, None], p.server_class[None, :]]
    order = list(p.order)
    assert ok[order.index(0)].tolist() == [1, 1]
    assert ok[order.index(1)].tolist() == [0, 1]


@st.composite
def node_fleets(draw):
    """Small fleets of nodes of 1-8 GPUs with gang jobs of 1 to G GPUs, releases, price
    curves, capacities (GPU-seconds), host power and every penalty kind; jobs often share
    releases so timelines rejoin."""
    n_servers = draw(st.integers(1, 3))
    n_jobs = draw(st.integers(1, 12))
    curve = PriceCurve("c", draw(st.sampled_from([600.0, 3600.0])),
                       tuple(draw(st.lists(st.floats(0.0, 0.5), min_size=1, max_size=5))))
    models = {"m0": DNNModel("m0", 8, {2: draw(st.floats(0.5, 1.0)), 4: 0.8}),
              "m1": DNNModel("m1", 24)}     # m1 does not fit on B
    profiles = (Profile("m0", "A", 10.0, 300.0), Profile("m0", "B", 4.0, 90.0),
                Profile("m1", "A", 5.0, 350.0), Profile("m1", "B", 2.0, 100.0))
    servers = []
    for s in range(n_servers):
        on_curve = draw(st.booleans())
        cap = draw(st.one_of(st.none(), st.floats(500.0, 40000.0)))
        servers.append(Server(f"s{s}", "A" if s == 0 else draw(st.sampled_from("AB")),
                              price_per_kwh=None if on_curve else draw(st.floats(0.01, 0.4)),
                              price_curve="c" if on_curve else None, capacity_s=cap,
                              gpus=draw(st.sampled_from([1, 2, 3, 4, 8])),
                              base_w=draw(st.sampled_from([0.0, 120.0]))))
    largest_a = max(s.gpus for s in servers if s.gpu == "A")
    releases = draw(st.lists(st.sampled_from([0.0, 500.0, 3000.0, 9000.0]), min_size=1,
                             max_size=3))
    jobs = []
    for j in range(n_jobs):
        kind = draw(st.sampled_from(["none", "step", "linear", "exponential"]))
        due = draw(st.one_of(st.none(), st.floats(0.0, 20000.0)))
        release = draw(st.one_of(st.sampled_from(releases), st.floats(0.0, 10000.0)))
        jobs.append(Job(f"j{j}", draw(st.sampled_from(["m0", "m1"])),
                        draw(st.floats(100.0, 50000.0)), release, due,
                        Penalty(kind, draw(st.floats(0.0, 10.0)), draw(st.floats(60.0, 7200.0))),
                        gpus=draw(st.integers(1, largest_a))))
    return Fleet("nodes", GPUS, models, profiles, tuple(servers), tuple(jobs), {"c": curve},
                 draw(st.floats(0.0, 5.0)))


def _check_node_caches(problem, P, S):
    """The node caches of chain 0 of one (CPU): start, the checkpoint of the node's free
    times just after it started (clamped at its start), latest completion, against the
    evaluator."""
    ev = evaluate(problem, problem.to_caller(S[X]),
                  S[HOLD].copy() if problem.has_holds else None)
    start = np.asarray(ev.start)[problem.order]
    comp = np.asarray(ev.completion)[problem.order]
    for s in range(problem.n_servers):
        if not P[WALKS][s] or P[SERVER_GPUS][s] < 2:
            continue
        j = S[HEAD][s]
        if j < 0:
            continue
        assert S[NODE_OFF][s] == pytest.approx(ev.server_off[s], rel=1e-12)
        while j >= 0:
            assert S[JSTART][j] == pytest.approx(start[j], rel=1e-12, abs=1e-9)
            on_s = np.flatnonzero(S[X] == s)
            running = on_s[(on_s <= j) & (comp[on_s] > start[j])]
            G = int(P[SERVER_GPUS][s])
            busy = np.repeat(comp[running], np.minimum(problem.job_gpus[running], G))
            want = np.sort(np.concatenate([np.full(G - busy.size, start[j]), busy]))
            gm = S[CKPT].shape[0] // problem.n_jobs
            assert S[CKPT][j * gm:j * gm + G] == pytest.approx(want, rel=1e-12, abs=1e-9)
            j = S[NXT][j]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=node_fleets(), seed=st.integers(0, 2**31),
       p_swap=st.sampled_from([0.0, 0.5, 1.0]),
       accept=st.lists(st.booleans(), min_size=30, max_size=30), caches=st.booleans())
def test_node_moves_equal_full_recomputation(fleet, seed, p_swap, accept, caches):
    problem = compile_fleet(fleet)
    _moves_against_evaluator(problem, seed, p_swap, accept, caches)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=node_fleets(), seed=st.integers(0, 2**31),
       accept=st.lists(st.booleans(), min_size=40, max_size=40))
def test_node_caches_after_accepted_moves(fleet, seed, accept):
    problem = compile_fleet(fleet)
    n, m, lam = problem.n_jobs, problem.n_servers, problem.lam
    spec = RunSpec(1, seed, np.arange(1), np.array([lam]), 0.4, 0.0)
    P = problem_tuple(problem)
    S = chain_state(problem, spec, P)
    cpu.init_cpu(P, S, n, m, True)
    _check_node_caches(problem, P, S)
    out = np.zeros(11)
    for take in accept:
        propose_one(P, S, n, m, lam, 0.4, out, True)
        if out[2] != out[3] and take:
            apply_one(P, S, n, m, lam, out, True)
            _check_node_caches(problem, P, S)


# ---- optima and parity on every CPU backend (the CUDA simulator: tests/test_cuda.py) ------

NODE_TINY = tiny_node_fleets()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name,fleet", NODE_TINY, ids=[n for n, _ in NODE_TINY])
def test_node_fleet_brute_force_optimum(backend, name, fleet):
    problem = compile_fleet(fleet)
    best, _, n_feasible = brute_force(problem)
    assert n_feasible > 0
    for seed in (0, 1):
        r = anneal(problem, backend=backend, seed=seed, chains=8, sweeps=200)
        assert r.feasible
        assert r.fun == pytest.approx(best, rel=1e-9), f"seed {seed}"
        ev = evaluate(problem, r.x)
        assert (r.fun, r.energy_cost, r.penalty) == (ev.objective, ev.energy_cost, ev.penalty)


@pytest.mark.parametrize("name,fleet", NODE_TINY, ids=[n for n, _ in NODE_TINY])
def test_node_fleet_numpy_and_numba_draw_the_same_chains(name, fleet):
    problem = compile_fleet(fleet)
    a = anneal(problem, backend="numpy", seed=11, chains=6, sweeps=40)
    b = anneal(problem, backend="numba", seed=11, chains=6, sweeps=40)
    np.testing.assert_allclose(a.chain_best, b.chain_best, rtol=1e-9)
    assert a.acceptance_rate == pytest.approx(b.acceptance_rate, rel=1e-6)
