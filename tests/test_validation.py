"""validate_fleet and validate_assignment_arrays: every rejection names field and entry."""
from __future__ import annotations

import math
import re
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satea.model import (CarbonCurve, DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve,
                         Profile, Server)
from satea.validate import InstanceError, validate_assignment_arrays, validate_fleet


def make_fleet(**changes) -> Fleet:
    """A small valid fleet: two GPU types, three models, a constant and a curve price."""
    gpus = {"V100": GPUType("V100", 32.0, 40.0), "A100": GPUType("A100", 80.0, 50.0)}
    models = {"resnet50": DNNModel("resnet50", 9.0), "bert": DNNModel("bert", 40.0),
              "gpt": DNNModel("gpt", 60.0)}
    profiles = (Profile("resnet50", "V100", 1200.0, 290.0),
                Profile("resnet50", "A100", 2500.0, 350.0),
                Profile("bert", "A100", 400.0, 380.0),
                Profile("gpt", "A100", 100.0, 390.0))
    curves = {"pjm": PriceCurve("pjm", 3600.0, (0.02, 0.019, 0.05))}
    servers = (Server("s0", "V100", price_per_kwh=0.12, capacity_s=86400.0),
               Server("s1", "A100", price_curve="pjm"))
    jobs = (Job("j0", "resnet50", 4.0e7, 0.0, 36000.0, Penalty("linear", 5.0, 3600.0)),
            Job("j1", "bert", 1.0e6),
            Job("j2", "gpt", 2.0e6, 100.0, 7200.0, Penalty("exponential", 1.0, 600.0)))
    base: dict[str, Any] = dict(name="tiny", gpus=gpus, models=models, profiles=profiles,
                                servers=servers, jobs=jobs, price_curves=curves, lam=1.0)
    base.update(changes)
    return Fleet(**base)


def with_job(i: int, **changes) -> Fleet:
    f = make_fleet()
    jobs = list(f.jobs)
    jobs[i] = replace(jobs[i], **changes)
    return replace(f, jobs=tuple(jobs))


def with_server(i: int, **changes) -> Fleet:
    f = make_fleet()
    servers = list(f.servers)
    servers[i] = replace(servers[i], **changes)
    return replace(f, servers=tuple(servers))


def with_profile(i: int, **changes) -> Fleet:
    f = make_fleet()
    profiles = list(f.profiles)
    profiles[i] = replace(profiles[i], **changes)
    return replace(f, profiles=tuple(profiles))


def with_penalty(i: int, **changes) -> Fleet:
    f = make_fleet()
    return with_job(i, penalty=replace(f.jobs[i].penalty, **changes))


def rejects(fleet: Fleet, *fragments: str) -> str:
    with pytest.raises(InstanceError) as info:
        validate_fleet(fleet)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    return msg


def test_valid_fleet_passes():
    validate_fleet(make_fleet())


def test_instance_error_is_value_error():
    assert issubclass(InstanceError, ValueError)


def test_message_convention_example():
    msg = rejects(with_job(2, samples=-5))
    assert msg == "job 'j2': samples must be > 0, got -5"


# ------------------------------------------------------------------ unknown references

def test_unknown_model_in_job():
    rejects(with_job(1, model="foo"), "job 'j1'", "unknown model 'foo'", "resnet50")


def test_unknown_gpu_in_server_lists_known():
    msg = rejects(with_server(1, gpu="X100"))
    assert msg == "server 's1': unknown gpu 'X100' (known: V100, A100)"


def test_unknown_model_in_profile():
    msg = rejects(with_profile(2, model="foo"))
    assert msg.startswith("profiles[2]: unknown model 'foo'")


def test_unknown_gpu_in_profile():
    rejects(with_profile(0, gpu="H100"), "profiles[0]", "unknown gpu 'H100'")


def test_unknown_price_curve():
    rejects(with_server(1, price_curve="ercot"), "server 's1'", "unknown price curve 'ercot'",
            "pjm")


def test_unknown_penalty_kind():
    rejects(with_penalty(0, kind="quadratic"), "job 'j0'", "unknown penalty kind 'quadratic'",
            "none, step, linear, exponential")


# ------------------------------------------------------------------ server price

def test_server_with_both_prices():
    rejects(with_server(0, price_curve="pjm"), "server 's0'", "exactly one of price_per_kwh",
            "both")


def test_server_with_neither_price():
    rejects(with_server(1, price_curve=None), "server 's1'", "neither")


def test_no_servers():
    rejects(make_fleet(servers=()), "servers", "no servers")


# ------------------------------------------------------------------ duplicates

def test_duplicate_job_names():
    rejects(with_job(2, name="j0"), "jobs[2]", "duplicate job name 'j0'", "jobs[0]")


def test_duplicate_server_names():
    rejects(with_server(1, name="s0"), "servers[1]", "duplicate server name 's0'")


def test_duplicate_gpu_name_behind_two_keys():
    f = make_fleet()
    gpus = dict(f.gpus, V100b=GPUType("V100", 16.0, 30.0))
    rejects(replace(f, gpus=gpus), "gpus['V100b']", "does not match", "'V100'")


def test_duplicate_model_name_behind_two_keys():
    f = make_fleet()
    models = dict(f.models, bert2=DNNModel("bert", 40.0))
    rejects(replace(f, models=models), "models['bert2']", "'bert'")


def test_duplicate_price_curve_name_behind_two_keys():
    f = make_fleet()
    curves = dict(f.price_curves, other=PriceCurve("pjm", 60.0, (0.1,)))
    rejects(replace(f, price_curves=curves), "price_curves['other']", "'pjm'")


def test_duplicate_profile():
    f = make_fleet()
    f = replace(f, profiles=f.profiles + (Profile("bert", "A100", 300.0, 300.0),))
    rejects(f, "profiles[4]", "duplicate profile", "'bert'", "'A100'", "profiles[2]")


# ------------------------------------------------------------------ names

@pytest.mark.parametrize("bad", ["", 7, None])
def test_job_name_must_be_non_empty_string(bad):
    rejects(with_job(1, name=bad), "jobs[1]", "name must be a non-empty string")


@pytest.mark.parametrize("bad", ["", 3])
def test_server_name_must_be_non_empty_string(bad):
    rejects(with_server(0, name=bad), "servers[0]", "name must be a non-empty string")


def test_gpu_key_must_be_non_empty_string():
    f = make_fleet()
    rejects(replace(f, gpus=dict(f.gpus, **{"": GPUType("", 8.0, 1.0)})), "gpus['']",
            "non-empty string")


def test_fleet_name_must_be_string():
    rejects(make_fleet(name=""), "fleet", "name")


def test_reference_must_be_string():
    rejects(with_job(0, model=["resnet50"]), "job 'j0'", "model must be a non-empty string")


# ------------------------------------------------------------------ numbers

NAN, INF = math.nan, math.inf

NUMERIC_CASES = [
    # (fleet builder, expected entry, field, bad value, expected rule)
    (lambda v: with_job(0, samples=v), "job 'j0'", "samples", 0, "> 0"),
    (lambda v: with_job(0, samples=v), "job 'j0'", "samples", NAN, "finite"),
    (lambda v: with_job(0, samples=v), "job 'j0'", "samples", INF, "finite"),
    (lambda v: with_job(1, release_s=v), "job 'j1'", "release_s", -1.0, ">= 0"),
    (lambda v: with_job(1, release_s=v), "job 'j1'", "release_s", INF, "finite"),
    (lambda v: with_job(2, due_s=v), "job 'j2'", "due_s", -3.0, ">= 0"),
    (lambda v: with_job(2, due_s=v), "job 'j2'", "due_s", NAN, "finite"),
    (lambda v: with_penalty(0, weight=v), "job 'j0'", "penalty.weight", -1.0, ">= 0"),
    (lambda v: with_penalty(0, weight=v), "job 'j0'", "penalty.weight", INF, "finite"),
    (lambda v: with_penalty(2, scale_s=v), "job 'j2'", "penalty.scale_s", 0.0, "> 0"),
    (lambda v: with_penalty(2, scale_s=v), "job 'j2'", "penalty.scale_s", NAN, "finite"),
    (lambda v: with_profile(1, throughput=v), "profiles[1]", "throughput", 0.0, "> 0"),
    (lambda v: with_profile(1, throughput=v), "profiles[1]", "throughput", -INF, "finite"),
    (lambda v: with_profile(3, power_w=v), "profiles[3]", "power_w", -1.0, ">= 0"),
    (lambda v: with_profile(3, power_w=v), "profiles[3]", "power_w", NAN, "finite"),
    # prices may be negative (part 2), but not beyond the model's limits
    (lambda v: with_server(0, price_per_kwh=v), "server 's0'", "price_per_kwh", -2e15, "at most"),
    (lambda v: with_server(0, carbon_g_per_kwh=v), "server 's0'", "carbon_g_per_kwh", -1.0,
     ">= 0"),
    (lambda v: make_fleet(carbon_price_per_kg=v), "fleet", "carbon_price_per_kg", -0.1, ">= 0"),
    (lambda v: make_fleet(carbon_curves={"de": CarbonCurve("de", 3600.0, (100.0, v))}),
     "carbon curve 'de'", "g_per_kwh[1]", -5.0, ">= 0"),
    (lambda v: make_fleet(carbon_curves={"de": CarbonCurve("de", v, (100.0,))}),
     "carbon curve 'de'", "step_s", 0.0, "> 0"),
    (lambda v: with_server(0, price_per_kwh=v), "server 's0'", "price_per_kwh", NAN, "finite"),
    (lambda v: with_server(0, capacity_s=v), "server 's0'", "capacity_s", -1.0, ">= 0"),
    (lambda v: with_server(0, capacity_s=v), "server 's0'", "capacity_s", INF, "finite"),
    (lambda v: replace(make_fleet(), gpus=dict(make_fleet().gpus,
                                               A100=GPUType("A100", v, 50.0))),
     "gpu 'A100'", "memory_gb", -80.0, ">= 0"),
    (lambda v: replace(make_fleet(), gpus=dict(make_fleet().gpus,
                                               V100=GPUType("V100", 32.0, v))),
     "gpu 'V100'", "idle_w", NAN, "finite"),
    (lambda v: replace(make_fleet(), models=dict(make_fleet().models,
                                                 bert=DNNModel("bert", v))),
     "model 'bert'", "memory_gb", NAN, "finite"),
    (lambda v: replace(make_fleet(), models=dict(make_fleet().models,
                                                 bert=DNNModel("bert", v))),
     "model 'bert'", "memory_gb", -1.0, ">= 0"),
    (lambda v: make_fleet(price_curves={"pjm": PriceCurve("pjm", v, (0.1,))}),
     "price curve 'pjm'", "step_s", 0.0, "> 0"),
    (lambda v: make_fleet(price_curves={"pjm": PriceCurve("pjm", v, (0.1,))}),
     "price curve 'pjm'", "step_s", INF, "finite"),
    (lambda v: make_fleet(price_curves={"pjm": PriceCurve("pjm", 60.0, (0.1, v))}),
     "price curve 'pjm'", "prices_per_kwh[1]", -INF, "finite"),
    (lambda v: make_fleet(price_curves={"pjm": PriceCurve("pjm", 60.0, (v, 0.1))}),
     "price curve 'pjm'", "prices_per_kwh[0]", NAN, "finite"),
    (lambda v: make_fleet(lam=v), "fleet", "lambda", -1.0, ">= 0"),
    (lambda v: make_fleet(lam=v), "fleet", "lambda", NAN, "finite"),
    (lambda v: make_fleet(lam=v), "fleet", "lambda", INF, "finite"),
]


@pytest.mark.parametrize("build, entry, fld, value, rule", NUMERIC_CASES,
                         ids=[f"{c[1]}-{c[2]}-{c[3]}" for c in NUMERIC_CASES])
def test_bad_number_names_entry_and_field(build, entry, fld, value, rule):
    msg = rejects(build(value), f"{entry}: {fld} must be", rule)
    assert msg.endswith(f"got {value}"), msg


@pytest.mark.parametrize("value", ["5", True, None, [1.0]])
def test_non_number_rejected(value):
    rejects(with_job(1, samples=value), "job 'j1'", "samples must be a number")


def test_numpy_numbers_accepted():
    validate_fleet(with_job(0, samples=np.float32(3.0), release_s=np.int64(2)))


def test_empty_price_curve():
    rejects(make_fleet(price_curves={"pjm": PriceCurve("pjm", 60.0, ())}),
            "price curve 'pjm'", "prices_per_kwh", "non-empty")


def test_zero_is_allowed_where_only_negative_is_wrong():
    validate_fleet(with_server(0, price_per_kwh=0.0, capacity_s=0.0))
    validate_fleet(with_penalty(0, weight=0.0))
    validate_fleet(make_fleet(lam=0.0))


def test_first_bad_job_is_named():
    f = make_fleet()
    jobs = f.jobs + tuple(Job(f"x{i}", "resnet50", -1.0 if i in (7, 9) else 1.0)
                          for i in range(12))
    rejects(replace(f, jobs=jobs), "job 'x7'", "samples")


# ------------------------------------------------------------------ runnable jobs

def test_job_without_profile_on_any_server_gpu():
    # bert and gpt have profiles only on A100; with only V100 servers j1 is the first stuck
    f = with_server(1, gpu="V100")
    rejects(f, "job 'j1'", "no server can run", "'bert'", "no profile", "V100")


def test_job_model_too_big_for_every_server_gpu():
    f = make_fleet()
    models = dict(f.models, bert=DNNModel("bert", 96.0))
    msg = rejects(replace(f, models=models), "job 'j1'", "no server can run", "'bert'",
                  "96 GB", "A100: 80 GB")
    assert "no profile" not in msg


def test_fitting_profile_on_gpu_without_server_does_not_count():
    f = make_fleet()
    gpus = dict(f.gpus, H100=GPUType("H100", 100.0, 60.0))
    models = dict(f.models, bert=DNNModel("bert", 96.0))
    f = replace(f, gpus=gpus, models=models,
                profiles=f.profiles + (Profile("bert", "H100", 900.0, 500.0),))
    rejects(f, "job 'j1'", "no server can run")


def test_unused_unrunnable_model_is_fine():
    f = make_fleet()
    validate_fleet(replace(f, models=dict(f.models, huge=DNNModel("huge", 1e6))))


def test_no_jobs_is_valid():
    validate_fleet(make_fleet(jobs=()))


def test_not_a_fleet():
    with pytest.raises(InstanceError, match="expected a Fleet"):
        validate_fleet({"jobs": []})


def test_wrong_entry_type():
    f = make_fleet()
    rejects(replace(f, jobs=f.jobs + ({"name": "j9"},)), "jobs[3]", "expected a Job")


def test_large_fleet_is_fast():
    gpus = {"V100": GPUType("V100", 32.0, 40.0), "A100": GPUType("A100", 80.0, 50.0)}
    models = {f"m{k}": DNNModel(f"m{k}", float(k)) for k in range(20)}
    profiles = tuple(Profile(m, g, 1000.0, 300.0) for m in models for g in gpus)
    servers = tuple(Server(f"s{i}", "V100" if i % 2 else "A100", price_per_kwh=0.1,
                           capacity_s=86400.0) for i in range(10_000))
    pen = Penalty("linear", 1.0, 3600.0)
    jobs = tuple(Job(f"j{i}", f"m{i % 20}", 1e6, 0.0, 3600.0 if i % 2 else None, pen)
                 for i in range(100_000))
    fleet = Fleet("big", gpus, models, profiles, servers, jobs)
    t0 = time.perf_counter()
    validate_fleet(fleet)
    assert time.perf_counter() - t0 < 2.0


# ------------------------------------------------------------------ assignment arrays

def test_arrays_defaults_and_dtypes():
    cost = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(3, 2))
    c, r, b, a = validate_assignment_arrays(cost)
    assert c.dtype == np.float64 and c.flags.c_contiguous and c.shape == (3, 2)
    assert np.array_equal(c, cost)
    assert r.dtype == np.float64 and r.shape == (3, 2) and not r.any()
    assert b.dtype == np.float64 and b.shape == (2,) and np.isposinf(b).all()
    assert a.dtype == np.bool_ and a.shape == (3, 2) and a.all()
    for arr in (c, r, b, a):
        assert arr.flags.c_contiguous


def test_arrays_are_copies():
    cost = np.ones((2, 2))
    c, *_ = validate_assignment_arrays(cost)
    cost[0, 0] = 99
    assert c[0, 0] == 1


def test_arrays_with_resource_capacity_allowed():
    c, r, b, a = validate_assignment_arrays([[1, 2], [3, 4]], [[1, 0], [2, 5]], [3, np.inf],
                                            [[1, 0], [1, 1]])
    assert r.tolist() == [[1, 0], [2, 5]] and b[1] == np.inf
    assert a.tolist() == [[True, False], [True, True]]


@pytest.mark.parametrize("bad, text", [(np.nan, "cost[1, 0] is nan"),
                                       (np.inf, "cost[1, 0] is inf"),
                                       (-np.inf, "cost[1, 0] is -inf")])
def test_cost_non_finite(bad, text):
    cost = np.zeros((3, 2))
    cost[1, 0] = bad
    with pytest.raises(InstanceError, match=re.escape(text)):
        validate_assignment_arrays(cost)


@pytest.mark.parametrize("cost", [np.zeros(3), np.zeros((2, 2, 2)), 5.0])
def test_cost_must_be_2d(cost):
    with pytest.raises(InstanceError, match="cost: expected a 2-D array"):
        validate_assignment_arrays(cost)


def test_cost_no_servers():
    with pytest.raises(InstanceError, match="cost: no servers"):
        validate_assignment_arrays(np.zeros((3, 0)))


def test_cost_not_numeric():
    with pytest.raises(InstanceError, match="cost: expected real numbers, got an array of "
                                            "strings"):
        validate_assignment_arrays([["a", "b"]])
    with pytest.raises(InstanceError, match="cost: cannot be read"):
        validate_assignment_arrays([[1, 2], [3]])


def test_resource_without_capacity_and_vice_versa():
    with pytest.raises(InstanceError, match="resource given without capacity"):
        validate_assignment_arrays(np.zeros((2, 2)), resource=np.zeros((2, 2)))
    with pytest.raises(InstanceError, match="capacity given without resource"):
        validate_assignment_arrays(np.zeros((2, 2)), capacity=np.ones(2))


def test_resource_shape_and_values():
    cost = np.zeros((2, 3))
    with pytest.raises(InstanceError, match=re.escape("resource: expected shape (2, 3)")):
        validate_assignment_arrays(cost, np.zeros((3, 2)), np.ones(3))
    res = np.zeros((2, 3))
    res[1, 2] = -1
    with pytest.raises(InstanceError, match=re.escape("resource[1, 2] must be >= 0, got -1")):
        validate_assignment_arrays(cost, res, np.ones(3))
    res[1, 2] = np.nan
    with pytest.raises(InstanceError, match=re.escape("resource[1, 2] is nan")):
        validate_assignment_arrays(cost, res, np.ones(3))


def test_capacity_shape_and_values():
    cost, res = np.zeros((2, 3)), np.zeros((2, 3))
    with pytest.raises(InstanceError, match=re.escape("capacity: expected shape (3,)")):
        validate_assignment_arrays(cost, res, np.ones(2))
    with pytest.raises(InstanceError, match=re.escape("capacity[1] is nan")):
        validate_assignment_arrays(cost, res, [1, np.nan, 1])
    with pytest.raises(InstanceError, match=re.escape("capacity[2] must be >= 0, got -4")):
        validate_assignment_arrays(cost, res, [1, 1, -4])
    with pytest.raises(InstanceError, match=re.escape("capacity[0] must be >= 0, got -inf")):
        validate_assignment_arrays(cost, res, [-np.inf, 1, 1])


def test_allowed_shape_values_and_empty_rows():
    cost = np.zeros((3, 2))
    with pytest.raises(InstanceError, match=re.escape("allowed: expected shape (3, 2)")):
        validate_assignment_arrays(cost, allowed=np.ones((2, 3), bool))
    with pytest.raises(InstanceError, match=re.escape("allowed[0, 1] must be 0/1 or bool")):
        validate_assignment_arrays(cost, allowed=[[1, 2], [1, 1], [1, 1]])
    with pytest.raises(InstanceError, match="job 2 has no allowed server"):
        validate_assignment_arrays(cost, allowed=[[True, False], [False, True], [False, False]])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), data=st.data(),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_first_non_finite_cost_is_named(n, m, data, bad):
    cost = np.arange(n * m, dtype=float).reshape(n, m)
    cells = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, m - 1)),
                               min_size=1, max_size=3))
    for i, j in cells:
        cost[i, j] = bad
    i, j = min(cells)  # row-major first
    with pytest.raises(InstanceError, match=re.escape(f"cost[{i}, {j}] is {bad}")):
        validate_assignment_arrays(cost)


def test_negative_prices_are_accepted():
    # real day-ahead markets go below zero (docs/model.md, part 2): never refused
    validate_fleet(with_server(0, price_per_kwh=-0.05))
    validate_fleet(make_fleet(price_curves={"pjm": PriceCurve("pjm", 60.0, (-0.1, 0.2),
                                                              repeat=False)}))


def test_carbon_fields_are_checked():
    rejects(with_server(0, carbon_curve="nope"), "server 's0'", "unknown carbon curve 'nope'")
    f = make_fleet(carbon_curves={"de": CarbonCurve("de", 3600.0, (100.0,))})
    rejects(replace(f, servers=(replace(f.servers[0], carbon_curve="de",
                                        carbon_g_per_kwh=1.0),) + f.servers[1:]),
            "server 's0'", "at most one of carbon_g_per_kwh and carbon_curve")
    rejects(make_fleet(price_curves={"pjm": PriceCurve("pjm", 60.0, (0.1,), repeat=1)}),
            "price curve 'pjm'", "repeat must be true or false")
