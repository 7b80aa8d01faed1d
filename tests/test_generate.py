"""The seeded fleet generator."""
from __future__ import annotations

import numpy as np
import pytest

from satea.catalogue import CATALOGUE_FORMAT, load_catalogue
from satea.compile import compile_fleet
from satea.generate import generate_fleet
from satea.model import JOULES_PER_KWH


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def _fleet_tables(fleet):
    """Per job: mean throughput and mean board power over the servers that can run it."""
    fits = {(p.model, p.gpu): p for p in fleet.profiles
            if fleet.models[p.model].memory_gb <= fleet.gpus[p.gpu].memory_gb}
    gpus = [s.gpu for s in fleet.servers]
    out = {}
    for model in fleet.models:
        ps = [fits[(model, g)] for g in gpus if (model, g) in fits]
        out[model] = (np.mean([p.throughput for p in ps]), np.mean([p.power_w for p in ps]),
                      len(ps))
    return out


def test_deterministic_per_seed(cat):
    a = generate_fleet(300, 20, seed=5, capacity=True, catalogue=cat)
    assert a == generate_fleet(300, 20, seed=5, capacity=True, catalogue=cat)
    assert a != generate_fleet(300, 20, seed=6, capacity=True, catalogue=cat)


def test_sizes_names_and_validity(cat):
    f = generate_fleet(500, 40, seed=1, catalogue=cat)
    assert (f.n_jobs, f.n_servers) == (500, 40)
    assert [j.name for j in f.jobs] == [f"j{i}" for i in range(500)]
    assert [s.name for s in f.servers] == [f"s{i}" for i in range(40)]
    assert len({s.gpu for s in f.servers}) >= 5              # mixed GPU types
    assert len({j.model for j in f.jobs}) >= 5
    assert any(j.release_s > 0 for j in f.jobs) and any(j.release_s == 0 for j in f.jobs)
    problem = compile_fleet(f)                                # validates
    assert problem.n_allowed().min() >= 1


@pytest.mark.parametrize("seed", range(8))
def test_every_job_runnable_on_tiny_fleets(cat, seed):
    f = generate_fleet(50, 1 + seed % 3, seed=seed, catalogue=cat, capacity=seed % 2 == 0)
    tables = _fleet_tables(f)
    assert all(tables[j.model][2] >= 1 for j in f.jobs)
    compile_fleet(f)


@pytest.mark.parametrize("kinds", [("step",), ("linear", "exponential"), ("none",),
                                   ("none", "step", "linear", "exponential")])
def test_penalty_kinds_only_as_asked(cat, kinds):
    f = generate_fleet(400, 10, seed=2, penalties=kinds, catalogue=cat)
    seen = {j.penalty.kind for j in f.jobs}
    assert seen == set(kinds)
    for j in f.jobs:
        if j.penalty.kind == "none":
            assert j.due_s is None and j.penalty.weight == 0
        else:
            assert j.due_s is not None and j.due_s > j.release_s
            assert j.penalty.weight > 0 and j.penalty.scale_s > 0


@pytest.mark.parametrize("load", [0.3, 0.8, 2.0])
def test_load_roughly_as_asked(cat, load):
    f = generate_fleet(3000, 60, seed=3, load=load, catalogue=cat)
    tables = _fleet_tables(f)
    busy = sum(j.samples / tables[j.model][0] for j in f.jobs)
    horizon = max(j.release_s for j in f.jobs)              # releases are uniform on [0, H)
    assert busy / (f.n_servers * horizon) == pytest.approx(load, rel=0.03)


def test_weights_are_of_the_order_of_energy_cost(cat):
    f = generate_fleet(1000, 50, seed=4, catalogue=cat)
    tables = _fleet_tables(f)
    curve = np.mean(f.price_curves["pjm_2017_07_17"].prices_per_kwh)
    price = np.mean([curve if s.price_curve else s.price_per_kwh for s in f.servers])
    ratio = []
    for j in f.jobs:
        thr, power, _ = tables[j.model]
        energy = j.samples / thr * power / JOULES_PER_KWH * price
        ratio.append(j.penalty.weight / energy)
    assert 0.5 - 1e-9 <= min(ratio) and max(ratio) <= 5 + 1e-9


def test_prices(cat):
    f = generate_fleet(100, 40, seed=0, price_curve_fraction=0.25, catalogue=cat)
    on_curve = [s for s in f.servers if s.price_curve is not None]
    assert len(on_curve) == 10 and set(f.price_curves) == {"pjm_2017_07_17"}
    assert all(0.05 <= s.price_per_kwh <= 0.25 for s in f.servers if s.price_curve is None)
    g = generate_fleet(100, 40, seed=0, price_curve_fraction=0.0, catalogue=cat)
    assert g.price_curves == {} and all(s.price_curve is None for s in g.servers)


def test_capacities_bind_but_stay_feasible(cat):
    from satea.objective import evaluate

    f = generate_fleet(400, 20, seed=7, capacity=True, catalogue=cat)
    caps = [s.capacity_s for s in f.servers]
    assert 0 < sum(c is not None for c in caps) < len(caps)
    problem = compile_fleet(f)
    n, m = problem.n_jobs, problem.n_servers
    internal = np.repeat(np.arange(n), m)
    servers = np.tile(np.arange(m), n)
    ok = problem.is_allowed(internal, servers).reshape(n, m)
    p = problem.proc_time(internal, servers).reshape(n, m)
    # binds: every job on a random server of its fastest GPU type exceeds some budget
    rng = np.random.default_rng(0)
    best = np.where(ok, p, np.inf)
    fastest = np.array([rng.choice(np.flatnonzero(row == row.min())) for row in best])
    assert not evaluate(problem, problem.to_caller(fastest)).feasible
    # feasible: a greedy that prefers uncapped servers and the most remaining budget
    left = problem.capacity.copy()
    x = np.empty(n, np.int64)
    for j in np.argsort(-p.min(axis=1)):
        cand = np.flatnonzero(ok[j] & (left - p[j] >= 0))
        s = cand[np.argmax(left[cand] - p[j, cand])]
        x[j], left[s] = s, left[s] - p[j, s]
    assert evaluate(problem, problem.to_caller(x)).feasible


def test_custom_catalogue_and_memory_limits():
    doc = {"format": CATALOGUE_FORMAT,
           "gpus": {"small": {"memory_gb": 8, "idle_w": 5},
                    "big": {"memory_gb": 80, "idle_w": 50}},
           "models": {"tiny": {"memory_gb": 2}, "huge": {"memory_gb": 40}},
           "profiles": [{"model": "tiny", "gpu": "small", "throughput": 100, "power_w": 60},
                        {"model": "huge", "gpu": "small", "throughput": 10, "power_w": 60},
                        {"model": "huge", "gpu": "big", "throughput": 50, "power_w": 400}]}
    cat = load_catalogue(doc)
    for seed in range(6):
        f = generate_fleet(40, 1, seed=seed, catalogue=cat, price_curve_fraction=0)
        if f.servers[0].gpu == "small":           # "huge" does not fit: only "tiny" jobs
            assert {j.model for j in f.jobs} == {"tiny"}
        compile_fleet(f)
    with pytest.raises(ValueError, match="no price curve"):
        generate_fleet(10, 4, catalogue=cat, price_curve_fraction=0.5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_jobs=0), "n_jobs must be >= 1, got 0"),
    (dict(n_servers=-2), "n_servers must be >= 1, got -2"),
    (dict(n_jobs=2.5), "n_jobs must be an integer, got 2.5"),
    (dict(penalties=("step", "quadratic")),
     "unknown penalty kind 'quadratic' (valid: none, step, linear, exponential)"),
    (dict(penalties=()), "penalties must name at least one kind"),
    (dict(load=0), "load must be in (0, 10], got 0.0"),
    (dict(load=10.5), "load must be in (0, 10], got 10.5"),
    (dict(load=float("nan")), "load must be a finite number"),
    (dict(price_curve_fraction=1.5), "price_curve_fraction must be in [0, 1], got 1.5"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(capacity="yes"), "capacity must be True or False"),
    (dict(catalogue="catalogue.json"), "catalogue must be a Catalogue"),
    (dict(slack=(4.0, 2.0)), "slack must satisfy 0 < low <= high <= 1000, got (4.0, 2.0)"),
    (dict(slack=0), "slack must satisfy 0 < low <= high <= 1000, got 0"),
    (dict(slack=(1.0,)), "slack must be a number or a (low, high) pair, got (1.0,)"),
    (dict(slack=(1.0, float("inf"))), "slack must be a finite number, got inf"),
])
def test_bad_arguments(kwargs, message):
    args = dict(n_jobs=10, n_servers=2)
    args.update(kwargs)
    with pytest.raises(ValueError) as e:
        generate_fleet(args.pop("n_jobs"), args.pop("n_servers"), **args)
    assert message in str(e.value)


def test_single_penalty_kind_as_string(cat):
    f = generate_fleet(30, 3, penalties="linear", catalogue=cat)
    assert {j.penalty.kind for j in f.jobs} == {"linear"}


def _due_over_busy(fleet):
    """(due - release) / expected busy time of each job with a deadline."""
    tables = _fleet_tables(fleet)
    return np.array([(j.due_s - j.release_s) / (j.samples / tables[j.model][0])
                     for j in fleet.jobs if j.due_s is not None])


@pytest.mark.parametrize("slack", [(8.0, 32.0), 2.0])
def test_slack_sets_only_the_due_times(cat, slack):
    base = generate_fleet(400, 20, seed=9, catalogue=cat)
    loose = generate_fleet(400, 20, seed=9, catalogue=cat, slack=slack)
    r0, r1 = _due_over_busy(base), _due_over_busy(loose)
    assert 1.25 - 1e-9 <= r0.min() and r0.max() <= 4 + 1e-9
    lo, hi = (slack, slack) if isinstance(slack, float) else slack
    assert lo * (1 - 1e-9) <= r1.min() and r1.max() <= hi * (1 + 1e-9)
    if lo < hi:     # drawn across the range, not pinned at an end
        assert r1.max() - r1.min() > 0.8 * (hi - lo)
    # the same jobs, releases and penalties: one draw per job whatever the range
    assert [(j.model, j.samples, j.release_s, j.penalty) for j in base.jobs] == \
        [(j.model, j.samples, j.release_s, j.penalty) for j in loose.jobs]
    assert base.servers == loose.servers
    assert generate_fleet(400, 20, seed=9, catalogue=cat, slack=(1.25, 4.0)) == base


def test_generate_on_a_short_series_warns_that_the_jobs_run_past_it(tmp_path, capsys):
    # the series' last value prices everything after its end: say so, as import does
    from satea.cli import main
    prices = tmp_path / "p.csv"
    prices.write_text("time,price\n2023-03-25T20:00:00Z,0.1\n2023-03-25T21:00:00Z,0.2\n"
                      "2023-03-25T22:00:00Z,0.3\n")
    out = tmp_path / "g.json"
    assert main(["generate", "--jobs", "30", "--servers", "3", "--seed", "1", "--prices",
                 str(prices), "--price-column", "price", "--start", "2023-03-25T20:00:00Z",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("satea: warning: prices ")
    assert "(time 10800 s), but the jobs reach past its end" in err[0]
