"""Search strategies (satea.strategies): the exchange and resampling rules by hand, the
Boltzmann occupation of a tempering rung, brute-force optima, backend agreement,
determinism, resampled chains' state, arguments."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from conftest import brute_force, tiny_assignment_arrays, tiny_fleets
from satea.annealing import anneal
from satea.backends.base import RunSpec
from satea.backends.numba_cpu import NumbaCPUBackend
from satea.compile import compile_assignment, compile_fleet
from satea.kernels.layout import CHAIN_F, F_COST, F_VIOL, N_CHAIN_F, X
from satea.objective import evaluate
from satea.settings import repeat_kwargs
from satea.strategies import (Tempering, exchange_accepts, exchange_pairs, ladder,
                              resample_weights, systematic_resample)

TINY = tiny_fleets()


# ---- the rules, by hand ------------------------------------------------------------------

def test_exchange_rule_by_hand():
    # colder replica (beta 2) holds the higher energy: always swap
    assert exchange_accepts(2.0, 1.0, 5.0, 3.0, 0.999)
    # colder holds the lower energy: swap with probability exp((2 - 1) * (3 - 5)) = e^-2
    p = math.exp(-2.0)   # 0.1353...
    assert exchange_accepts(2.0, 1.0, 3.0, 5.0, p - 1e-9)
    assert not exchange_accepts(2.0, 1.0, 3.0, 5.0, p + 1e-9)
    # equal energies: always
    assert exchange_accepts(2.0, 1.0, 4.0, 4.0, 0.999)
    # vectorised, with an overflow-sized gap
    ok = exchange_accepts(np.array([1e3, 1e3]), np.array([1.0, 1.0]),
                          np.array([0.0, 1e6]), np.array([1e6, 0.0]), np.array([0.0, 0.5]))
    assert ok.tolist() == [False, True]


def test_exchange_pairs_alternate_even_and_odd_rungs():
    rung_of = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    lo, hi = exchange_pairs(rung_of, 4, 0)
    assert (lo.tolist(), hi.tolist()) == ([0, 4, 2, 6], [1, 5, 3, 7])
    lo, hi = exchange_pairs(rung_of, 4, 1)
    assert (lo.tolist(), hi.tolist()) == ([1, 5], [2, 6])
    # uneven rungs (7 chains on 3 rungs): the k-th of one rung with the k-th of the next
    lo, hi = exchange_pairs(np.arange(7) % 3, 3, 0)
    assert (lo.tolist(), hi.tolist()) == ([0, 3], [1, 4])


def test_resample_weights_by_hand():
    np.testing.assert_allclose(resample_weights(np.array([0.0, math.log(2.0)]), 1.0),
                               [2 / 3, 1 / 3])
    np.testing.assert_allclose(resample_weights(np.array([5.0, 7.0]), 0.0), [0.5, 0.5])
    w = resample_weights(np.array([0.0, 1e6, 2e6]), 1.0)      # no overflow, no NaN
    assert w.tolist() == [1.0, 0.0, 0.0]
    # heating (dbeta < 0) favours the higher energy
    assert np.argmax(resample_weights(np.array([1.0, 3.0]), -1.0)) == 1


def test_systematic_resampling_by_hand():
    w = np.array([0.5, 0.25, 0.25, 0.0])
    # positions (0.5 + k) / 4 = .125 .375 .625 .875 in cumulative .5 .75 1 1
    assert systematic_resample(w, 0.5).tolist() == [0, 0, 1, 2]
    assert systematic_resample(np.full(5, 0.2), 0.3).tolist() == [0, 1, 2, 3, 4]


@settings(max_examples=200, deadline=None)
@given(hst.lists(hst.floats(0.0, 1.0), min_size=1, max_size=40), hst.floats(0.0, 0.999999))
def test_systematic_resampling_copies_are_floor_or_ceiling(raw, u):
    w = np.asarray(raw) + 1e-3
    w /= w.sum()
    r = len(w)
    parents = systematic_resample(w, u)
    assert parents.shape == (r,) and np.all(np.diff(parents) >= 0)
    copies = np.bincount(parents, minlength=r)
    expect = r * w
    assert np.all(copies >= np.floor(expect - 1e-9)) and np.all(copies <= np.ceil(expect + 1e-9))


def _tempering(chains, rungs, t_hot, t_cold, every=1, seed=0):
    st = SimpleNamespace(rungs=rungs, exchange_sweeps=every, cap_weight=0.0, chains=chains,
                         schedule=SimpleNamespace(t_hot=t_hot, t_cold=t_cold), seed=seed,
                         chain_offset=0)
    return Tempering(st)


def test_exchanges_keep_the_ladder_a_permutation():
    tem = _tempering(10, 4, 8.0, 1.0)
    np.testing.assert_allclose(tem.temps, [1.0, 2.0, 4.0, 8.0])
    counts = np.bincount(tem.rung_of, minlength=4)
    rng = np.random.default_rng(0)
    for _ in range(50):
        t = tem.exchange(rng.normal(size=10))
        assert np.array_equal(np.bincount(tem.rung_of, minlength=4), counts)
        np.testing.assert_array_equal(t, tem.temps[tem.rung_of])
    assert tem.accepted.sum() > 0 and np.all(tem.accepted <= tem.offered)


# ---- the long-run occupation of a rung is Boltzmann's ------------------------------------

def test_tempering_rung_occupation_is_boltzmann():
    """One job, six servers (six states, cost = the server's fixed cost): replicas on a
    4-rung ladder, exchanging every sweep. Over many sweeps the states seen at each rung
    (whichever replica holds it) follow exp(-c / T_rung) / Z (chi-square), and not the
    neighbouring rung's distribution."""
    from scipy.stats import chisquare
    costs = np.array([[0.0, 0.5, 1.0, 1.5, 2.0, 3.0]])
    prob = compile_assignment(costs)
    nc, rungs = 64, 4
    tem = _tempering(nc, rungs, 4.0, 0.5, seed=3)
    be = NumbaCPUBackend()
    be.start(prob, RunSpec(nc, 5, np.arange(nc), np.ones(nc), 0.0, 0.0,
                           t_scale=tem.t_scale(None)))
    counts = np.zeros((rungs, 6))
    for sweep in range(6000):
        be.run_block(sweep, np.ones(1))
        e = be.snapshot(with_x=False).cost
        if sweep >= 200 and sweep % 3 == 0:    # burn-in, then every third sweep
            state = np.rint(e * 2).astype(int)   # cost -> state index
            state[state == 6] = 5                # cost 3.0
            np.add.at(counts, (tem.rung_of, state), 1)
        be.set_t_scale(tem.exchange(e))
    assert tem.offered.min() > 1000 and (tem.accepted > 0).all()
    c = costs[0]
    for r in range(rungs):
        obs = counts[r]
        for t, should_pass in ((tem.temps[r], True),
                               (tem.temps[min(r + 1, rungs - 1)] if r < rungs - 1
                                else tem.temps[r - 1], False)):
            p = np.exp(-c / t)
            p /= p.sum()
            pval = chisquare(obs, obs.sum() * p).pvalue
            if should_pass:
                assert pval > 1e-3, (r, obs, p, pval)
            else:
                assert pval < 1e-6, (r, obs, p, pval)


# ---- whole runs ------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["tempering", "population"])
@pytest.mark.parametrize("name,fleet", TINY, ids=[n for n, _ in TINY])
def test_strategy_finds_brute_force_optimum(strategy, name, fleet):
    problem = compile_fleet(fleet)
    best, _, _ = brute_force(problem)
    for seed in (0, 1):
        r = anneal(problem, backend="numba", seed=seed, strategy=strategy, exchange_sweeps=5)
        assert r.feasible
        assert r.fun == pytest.approx(best, rel=1e-9), f"seed {seed}"
        assert r.info["strategy"]["name"] == strategy
        ev = evaluate(problem, r.x)
        assert (r.fun, r.feasible) == (ev.objective, ev.feasible)


@pytest.mark.parametrize("strategy", ["tempering", "population"])
def test_numpy_and_numba_agree_chain_by_chain(strategy):
    """Integer costs: the energies the strategies compare are exact on both backends, so
    every exchange or resampling is the same and so is every chain."""
    problem = compile_assignment(**tiny_assignment_arrays())
    kw = dict(seed=4, chains=8, sweeps=40, strategy=strategy, exchange_sweeps=2,
              schedule=(5.0, 0.3), cap_weight=3.0)
    a = anneal(problem, backend="numpy", **kw)
    b = anneal(problem, backend="numba", **kw)
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_allclose(a.chain_best, b.chain_best, rtol=1e-12)
    assert a.info["strategy"] == b.info["strategy"]
    if strategy == "population":
        assert a.info["strategy"]["resamples"] == 19
        assert a.info["strategy"]["families"] < 8   # resampling took place


@pytest.mark.parametrize("strategy", ["tempering", "population"])
def test_same_seed_same_result_and_repeatable(strategy):
    problem = compile_fleet(dict(TINY)["mixed"])
    kw = dict(seed=9, chains=6, sweeps=60, strategy=strategy, exchange_sweeps=3)
    a, b = anneal(problem, **kw), anneal(problem, **kw)
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert a.info["strategy"] == b.info["strategy"]
    c = anneal(problem, **dict(kw, seed=10))
    assert not np.array_equal(a.trace, c.trace)
    again = anneal(problem, **repeat_kwargs(a.to_dict()))
    np.testing.assert_array_equal(again.samples, a.samples)
    assert again.info["strategy"] == a.info["strategy"]


@pytest.mark.parametrize("strategy", ["tempering", "population"])
def test_batch_in_one_launch_equals_separate_runs(strategy, monkeypatch):
    """anneal_batch runs every problem's chains in one prange (NumbaCPUBatch), exchanging
    or resampling each problem's chains inside the packed state: result i is exactly
    anneal(problems[i]), chain for chain, on problems of different sizes (so different
    exchange intervals when the interval is left to the default)."""
    from satea import anneal_batch
    from satea import strategies as sst
    # default intervals short enough that the chains meet within 50 sweeps of tiny problems
    monkeypatch.setattr(sst, "EXCHANGE_MOVES", 40)
    fleet = dict(TINY)
    problems = [compile_fleet(fleet["mixed"]), compile_assignment(**tiny_assignment_arrays()),
                compile_fleet(fleet["capacity"]), compile_fleet(fleet["tou"])]
    for every in (3, None):
        kw = dict(seed=2, chains=6, sweeps=50, strategy=strategy, exchange_sweeps=every)
        batch = anneal_batch(problems, backend="numba", **kw)
        for p, rb in zip(problems, batch):
            r1 = anneal(p, backend="numba", **kw)
            np.testing.assert_array_equal(rb.samples, r1.samples)
            np.testing.assert_array_equal(rb.chain_best, r1.chain_best)
            assert rb.info["strategy"] == r1.info["strategy"]
            rec = rb.info["strategy"]          # the chains did meet
            assert rec.get("exchanges_offered", 0) + rec.get("resamples", 0) > 0
            if every is None:
                assert rec["exchange_sweeps"] == math.ceil(40 / p.n_jobs)


def test_tempering_under_a_time_limit_exchanges_at_fixed_sweeps():
    problem = compile_assignment(**tiny_assignment_arrays())
    r = anneal(problem, strategy="tempering", time_limit=0.5, seed=1, chains=8,
               exchange_sweeps=7)
    rec = r.info["strategy"]
    assert r.stopped_by == "time_limit" and r.feasible
    assert rec["exchanges_offered"] > 0
    # every block ends at or before a multiple of 7 sweeps
    for first, n, _f0, _f1 in r.info["schedule"].get("blocks", []) or []:
        assert first // 7 == (first + n - 1) // 7
    assert r.info["schedule"]["kind"] == "tempering"


def test_resampled_chains_carry_consistent_state():
    """After a gather, each chain's assignment, lists and cached costs are its parent's:
    its running cost equals a full float64 evaluation of its assignment, before and after
    more sweeps."""
    problem = compile_fleet(dict(TINY)["mixed"])
    nc, n = 6, problem.n_jobs
    be = NumbaCPUBackend()
    be.start(problem, RunSpec(nc, 2, np.arange(nc), np.full(nc, problem.lam), 0.3, 1.0))
    be.run_block(0, np.full(5, 1.0))
    parents = np.array([3, 3, 0, 5, 5, 5])
    x_before = be.S[X].reshape(nc, n).copy()
    best_before = be.snapshot().best_x
    be.gather(parents)
    np.testing.assert_array_equal(be.S[X].reshape(nc, n), x_before[parents])
    np.testing.assert_array_equal(be.snapshot().best_x, best_before)   # bests stay

    def check():
        f = be.S[CHAIN_F].reshape(nc, N_CHAIN_F)
        for c in range(nc):
            ev = evaluate(problem, problem.to_caller(be.S[X].reshape(nc, n)[c]))
            assert f[c, F_COST] == pytest.approx(ev.search_objective, rel=1e-9, abs=1e-9)
            assert f[c, F_VIOL] == pytest.approx(ev.violation, rel=1e-9, abs=1e-12)
    check()
    be.run_block(5, np.full(5, 2.0))
    check()


def test_strategy_arguments_checked():
    problem = compile_assignment(**tiny_assignment_arrays())
    cases = [
        (dict(strategy="annealing"), "strategy: expected 'auto' or one of"),
        (dict(strategy="tempering", lam=[1.0, 2.0]), "lam: strategy='tempering'"),
        (dict(strategy="population", t_scale=[1.0, 2.0]), "t_scale: strategy='population'"),
        (dict(rungs=2), "rungs: only strategy='tempering'"),
        (dict(strategy="tempering", rungs=3), "rungs: 3 rungs need at least"),
        (dict(strategy="independent", exchange_sweeps=2), "exchange_sweeps: independent"),
        (dict(exchange_sweeps=2, lam=[1.0, 2.0]),
         "exchange_sweeps: independent chains exchange nothing (strategy='auto' chose them"),
        (dict(strategy="population", exchange_sweeps=0), "exchange_sweeps: expected"),
        (dict(strategy="tempering", schedule=np.ones(5), sweeps=5), "schedule: tempering"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
            anneal(problem, chains=2, sweeps=kw.pop("sweeps", 5), seed=0, **kw)


def test_auto_is_population_where_chains_can_meet(monkeypatch):
    """The default: population annealing with one energy for all chains, independent chains
    with a lambda or a temperature scale per chain; the result records what ran and a
    repeat runs that (not "auto")."""
    from satea import strategies as sst
    monkeypatch.setattr(sst, "EXCHANGE_MOVES", 20)   # resampled within the 30 sweeps
    problem = compile_fleet(dict(TINY)["mixed"])
    kw = dict(chains=4, sweeps=30, seed=3)
    r = anneal(problem, **kw)
    assert r.info["strategy"]["name"] == "population" == r.settings.strategy
    assert r.info["strategy"]["resamples"] > 0
    same = anneal(problem, strategy="population", **kw)
    np.testing.assert_array_equal(r.samples, same.samples)
    assert repeat_kwargs(r.to_dict())["strategy"] == "population"
    for extra in (dict(lam=[0.0, 0.5, 1.0, 2.0]), dict(t_scale=[1.0, 2.0, 1.0, 0.5])):
        ri = anneal(problem, **kw, **extra)
        assert ri.info["strategy"]["name"] == "independent"
        rn = anneal(problem, strategy="independent", **kw, **extra)
        np.testing.assert_array_equal(ri.samples, rn.samples)
    ind = anneal(problem, strategy="independent", **kw)
    assert repeat_kwargs(ind.to_dict())["strategy"] == "independent"


def test_distributed_refuses_strategies():
    from satea.distributed import solve
    problem = compile_assignment(**tiny_assignment_arrays())
    with pytest.raises(ValueError, match="strategy: satea.distributed runs independent"):
        solve(problem, None, shards=2, chains=4, sweeps=5, strategy="tempering")
    # the default ("auto") runs the shards' chains independently
    r = solve(problem, None, shards=2, chains=4, sweeps=5, seed=1)
    local = anneal(problem, chains=4, sweeps=5, seed=1, strategy="independent")
    np.testing.assert_array_equal(r.samples, local.samples)


def test_ladder_is_geometric_cold_first():
    np.testing.assert_allclose(ladder(9.0, 1.0, 3), [1.0, 3.0, 9.0])
    assert ladder(9.0, 1.0, 1).tolist() == [1.0]
