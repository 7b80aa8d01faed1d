"""satea-instance/1 JSON reader/writer and the OR-Library GAP reader."""
from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satea.io import (FORMAT, fleet_from_dict, fleet_to_dict, read_instance, read_orlib_gap,
                      read_orlib_gap_problem, write_instance)
from satea.model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from satea.validate import InstanceError

#: OR-Library GAP files shipped with the tests (tests/data/gap/README.md: source)
GAP_DIR = Path(__file__).resolve().parent / "data" / "gap"

EXAMPLE = {
    "format": "satea-instance/1",
    "name": "example",
    "lambda": 1.0,
    "gpus": {"V100": {"memory_gb": 32, "idle_w": 40}},
    "price_curves": {"pjm": {"step_s": 3600, "prices_per_kwh": [0.02, 0.019, 0.05]}},
    "models": {"resnet50": {"memory_gb": 9}},
    "profiles": [{"model": "resnet50", "gpu": "V100", "throughput": 1200.0, "power_w": 290}],
    "servers": [{"name": "s0", "gpu": "V100", "price_per_kwh": 0.12, "capacity_s": 86400},
                {"name": "s1", "gpu": "V100", "price_curve": "pjm"}],
    "jobs": [{"name": "j0", "model": "resnet50", "samples": 4.0e7, "release_s": 0,
              "due_s": 36000,
              "penalty": {"kind": "linear", "weight": 5.0, "scale_s": 3600}},
             {"name": "j1", "model": "resnet50", "samples": 1.0e6}],
}


def example(**changes) -> dict:
    d = copy.deepcopy(EXAMPLE)
    d.update(changes)
    return d


def rejects(d, *fragments: str) -> str:
    with pytest.raises(InstanceError) as info:
        fleet_from_dict(d)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    return msg


# ------------------------------------------------------------------ reading the example

def test_example_from_model_md():
    f = fleet_from_dict(example())
    assert f.name == "example" and f.lam == 1.0
    assert f.gpus["V100"] == GPUType("V100", 32.0, 40.0)
    assert f.price_curves["pjm"] == PriceCurve("pjm", 3600.0, (0.02, 0.019, 0.05))
    assert f.profiles == (Profile("resnet50", "V100", 1200.0, 290.0),)
    assert f.servers[0] == Server("s0", "V100", price_per_kwh=0.12, capacity_s=86400.0)
    assert f.servers[1] == Server("s1", "V100", price_curve="pjm")
    assert f.jobs[0] == Job("j0", "resnet50", 4e7, 0.0, 36000.0, Penalty("linear", 5.0, 3600.0))


def test_optional_fields_default():
    d = example()
    del d["lambda"], d["price_curves"]
    d["servers"] = [{"name": "s0", "gpu": "V100", "price_per_kwh": 0.1}]
    f = fleet_from_dict(d)
    assert f.lam == 1.0 and f.price_curves == {}
    assert f.servers[0].capacity_s is None
    j1 = f.jobs[1]
    assert (j1.release_s, j1.due_s, j1.penalty) == (0.0, None, Penalty())


def test_null_means_absent_where_a_value_may_be_absent():
    d = example()
    d["jobs"][1]["due_s"] = None
    d["servers"][1].update(price_per_kwh=None, capacity_s=None)
    f = fleet_from_dict(d)
    assert f.jobs[1].due_s is None and f.servers[1].capacity_s is None


def test_penalty_defaults_only_where_meaningless():
    d = example()
    d["jobs"][1]["penalty"] = {"kind": "none"}
    d["jobs"][0]["penalty"] = {"kind": "step", "weight": 2.0}
    f = fleet_from_dict(d)
    assert f.jobs[1].penalty == Penalty()
    assert f.jobs[0].penalty == Penalty("step", 2.0, 1.0)


@pytest.mark.parametrize("pen, missing", [({"kind": "step"}, "weight"),
                                          ({"kind": "linear", "weight": 1.0}, "scale_s"),
                                          ({"kind": "exponential", "weight": 1.0}, "scale_s"),
                                          ({"weight": 1.0, "scale_s": 2.0}, "kind")])
def test_penalty_required_fields(pen, missing):
    d = example()
    d["jobs"][1]["penalty"] = pen
    rejects(d, "jobs[1] ('j1').penalty", f"missing required field {missing!r}")


# ------------------------------------------------------------------ format tag

def test_missing_format():
    d = example()
    del d["format"]
    rejects(d, "format", "expected 'satea-instance/1'", "missing")


@pytest.mark.parametrize("tag", ["satea-instance/2", "", None, 1])
def test_wrong_format(tag):
    rejects(example(format=tag), "format", "expected 'satea-instance/1'", repr(tag))


@pytest.mark.parametrize("doc", [[], "x", None])
def test_top_level_not_an_object(doc):
    rejects(doc, "instance", "expected an object")


# ------------------------------------------------------------------ missing / unknown fields

def _delete(d, path):
    obj = d
    for k in path[:-1]:
        obj = obj[k]
    del obj[path[-1]]


MISSING = [
    (("name",), "instance: missing required field 'name'"),
    (("gpus",), "instance: missing required field 'gpus'"),
    (("models",), "instance: missing required field 'models'"),
    (("profiles",), "instance: missing required field 'profiles'"),
    (("servers",), "instance: missing required field 'servers'"),
    (("jobs",), "instance: missing required field 'jobs'"),
    (("gpus", "V100", "idle_w"), "gpus['V100']: missing required field 'idle_w'"),
    (("gpus", "V100", "memory_gb"), "gpus['V100']: missing required field 'memory_gb'"),
    (("models", "resnet50", "memory_gb"),
     "models['resnet50']: missing required field 'memory_gb'"),
    (("price_curves", "pjm", "step_s"), "price_curves['pjm']: missing required field 'step_s'"),
    (("price_curves", "pjm", "prices_per_kwh"),
     "price_curves['pjm']: missing required field 'prices_per_kwh'"),
    (("profiles", 0, "throughput"), "profiles[0]: missing required field 'throughput'"),
    (("profiles", 0, "power_w"), "profiles[0]: missing required field 'power_w'"),
    (("profiles", 0, "model"), "profiles[0]: missing required field 'model'"),
    (("servers", 1, "name"), "servers[1]: missing required field 'name'"),
    (("servers", 1, "gpu"), "servers[1] ('s1'): missing required field 'gpu'"),
    (("jobs", 1, "samples"), "jobs[1] ('j1'): missing required field 'samples'"),
    (("jobs", 1, "model"), "jobs[1] ('j1'): missing required field 'model'"),
    (("jobs", 0, "name"), "jobs[0]: missing required field 'name'"),
]


@pytest.mark.parametrize("path, message", MISSING, ids=[m for _, m in MISSING])
def test_missing_required_field(path, message):
    d = example()
    _delete(d, path)
    assert rejects(d) == message


UNKNOWN = [
    ((), "instance"),
    (("gpus", "V100"), "gpus['V100']"),
    (("models", "resnet50"), "models['resnet50']"),
    (("price_curves", "pjm"), "price_curves['pjm']"),
    (("profiles", 0), "profiles[0]"),
    (("servers", 0), "servers[0] ('s0')"),
    (("jobs", 1), "jobs[1] ('j1')"),
    (("jobs", 0, "penalty"), "jobs[0] ('j0').penalty"),
]


@pytest.mark.parametrize("path, where", UNKNOWN, ids=[w for _, w in UNKNOWN])
def test_unknown_field(path, where):
    d = example()
    obj = d
    for k in path:
        obj = obj[k]
    obj["colour"] = "red"
    rejects(d, f"{where}: unknown field 'colour'", "allowed:")


def test_name_inside_catalogue_entry_is_unknown():
    d = example()
    d["gpus"]["V100"]["name"] = "V100"
    rejects(d, "gpus['V100']: unknown field 'name'")


# ------------------------------------------------------------------ wrong types

WRONG_TYPES = [
    (lambda d: d["jobs"][1].update(samples="1e6"), "jobs[1] ('j1'): samples must be a number"),
    (lambda d: d["jobs"][1].update(samples=True), "jobs[1] ('j1'): samples must be a number"),
    (lambda d: d["jobs"][1].update(release_s=None), "jobs[1] ('j1'): release_s must be a number"),
    (lambda d: d["jobs"][0].update(due_s="soon"), "jobs[0] ('j0'): due_s must be a number"),
    (lambda d: d["jobs"][1].update(model=3), "jobs[1] ('j1'): model must be a string"),
    (lambda d: d["jobs"][1].update(name=3), "jobs[1]: name must be a string"),
    (lambda d: d["jobs"][0].update(penalty="linear"), "jobs[0] ('j0').penalty: expected an"),
    (lambda d: d["jobs"][0]["penalty"].update(weight=False),
     "jobs[0] ('j0').penalty: weight must be a number"),
    (lambda d: d["servers"][0].update(price_per_kwh="0.1"),
     "servers[0] ('s0'): price_per_kwh must be a number"),
    (lambda d: d["servers"][1].update(price_curve=7),
     "servers[1] ('s1'): price_curve must be a string"),
    (lambda d: d["servers"][0].update(capacity_s=[1]),
     "servers[0] ('s0'): capacity_s must be a number"),
    (lambda d: d["gpus"]["V100"].update(memory_gb="32"),
     "gpus['V100']: memory_gb must be a number"),
    (lambda d: d["models"]["resnet50"].update(memory_gb=None),
     "models['resnet50']: memory_gb must be a number"),
    (lambda d: d["profiles"][0].update(throughput={}), "profiles[0]: throughput must be a number"),
    (lambda d: d["price_curves"]["pjm"].update(prices_per_kwh=[0.1, "x"]),
     "price_curves['pjm']: prices_per_kwh[1] must be a number"),
    (lambda d: d["price_curves"]["pjm"].update(prices_per_kwh=0.1),
     "price_curves['pjm'].prices_per_kwh: expected an array"),
    (lambda d: d.update(jobs={"j0": {}}), "jobs: expected an array"),
    (lambda d: d.update(gpus=[]), "gpus: expected an object"),
    (lambda d: d.update(servers=[5]), "servers[0]: expected an object"),
    (lambda d: d.update({"lambda": "1"}), "instance: lambda must be a number"),
    (lambda d: d.update(name=None), "instance: name must be a string"),
]


@pytest.mark.parametrize("mutate, message", WRONG_TYPES, ids=[m for _, m in WRONG_TYPES])
def test_wrong_type(mutate, message):
    d = example()
    mutate(d)
    rejects(d, message)


# ------------------------------------------------------------------ validation is applied

@pytest.mark.parametrize("mutate, fragments", [
    (lambda d: d["jobs"][1].update(model="foo"), ("job 'j1'", "unknown model 'foo'")),
    (lambda d: d["jobs"][1].update(samples=-5), ("job 'j1': samples must be > 0, got -5.0",)),
    (lambda d: d["jobs"][1].update(name="j0"), ("duplicate job name 'j0'",)),
    (lambda d: d["servers"][1].update(price_per_kwh=0.1), ("server 's1'", "both")),
    (lambda d: d["servers"][0].pop("price_per_kwh"), ("server 's0'", "neither")),
    (lambda d: d["jobs"][0]["penalty"].update(kind="cubic"), ("unknown penalty kind 'cubic'",)),
    (lambda d: d["models"]["resnet50"].update(memory_gb=64), ("job 'j0'", "no server can run")),
    (lambda d: d.update(servers=[]), ("no servers",)),
    (lambda d: d.update({"lambda": float("nan")}), ("lambda must be finite",)),
])
def test_validation_applied(mutate, fragments):
    d = example()
    mutate(d)
    rejects(d, *fragments)


def test_huge_integer_is_not_finite():
    d = example()
    d["jobs"][1]["samples"] = 10 ** 400
    rejects(d, "jobs[1] ('j1'): samples must be finite")


# ------------------------------------------------------------------ round trips

def test_round_trip_example():
    f = fleet_from_dict(example())
    d = fleet_to_dict(f)
    assert d["format"] == FORMAT
    assert fleet_from_dict(d) == f
    assert json.loads(json.dumps(d)) == d  # plain JSON types only


def test_to_dict_leaves_defaults_out():
    d = fleet_to_dict(fleet_from_dict(example()))
    assert d["jobs"][1] == {"name": "j1", "model": "resnet50", "samples": 1e6}
    assert "release_s" not in d["jobs"][0]
    assert d["servers"][1] == {"name": "s1", "gpu": "V100", "price_curve": "pjm"}


def test_file_round_trip(tmp_path):
    f = fleet_from_dict(example())
    path = tmp_path / "inst.json"
    write_instance(f, path)
    assert read_instance(path) == f
    assert read_instance(str(path)) == f
    # one job per line keeps large files readable and diff-friendly
    lines = path.read_text().splitlines()
    assert sum('"samples"' in line for line in lines) == len(f.jobs)


def test_write_rejects_invalid_fleet(tmp_path):
    f = fleet_from_dict(example())
    bad = Fleet(f.name, f.gpus, f.models, f.profiles, f.servers,
                f.jobs + (Job("jx", "resnet50", -1.0),), f.price_curves, f.lam)
    with pytest.raises(InstanceError, match="job 'jx'"):
        write_instance(bad, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6)
pos = st.floats(1e-6, 1e12, allow_nan=False, allow_infinity=False)
nonneg = st.floats(0.0, 1e12, allow_nan=False, allow_infinity=False)


@st.composite
def fleets(draw) -> Fleet:
    gpu_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    model_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    gpus = {g: GPUType(g, draw(st.floats(100.0, 200.0)), draw(nonneg)) for g in gpu_names}
    # models fit every GPU and have a profile on each: every job is runnable
    models = {m: DNNModel(m, draw(st.floats(0.0, 100.0))) for m in model_names}
    profiles = tuple(Profile(m, g, draw(pos), draw(nonneg))
                     for m in model_names for g in gpu_names)
    curve_names = draw(st.lists(names, max_size=2, unique=True))
    curves = {c: PriceCurve(c, draw(pos), tuple(draw(st.lists(nonneg, min_size=1, max_size=4))))
              for c in curve_names}
    server_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    servers = []
    for s in server_names:
        curve = draw(st.sampled_from(curve_names)) if curve_names and draw(st.booleans()) \
            else None
        servers.append(Server(s, draw(st.sampled_from(gpu_names)),
                              price_per_kwh=None if curve else draw(nonneg), price_curve=curve,
                              capacity_s=draw(st.none() | nonneg)))
    jobs = []
    for j in draw(st.lists(names, max_size=5, unique=True)):
        kind = draw(st.sampled_from(["none", "step", "linear", "exponential"]))
        pen = Penalty(kind, draw(nonneg), draw(pos)) if draw(st.booleans()) else Penalty()
        jobs.append(Job(j, draw(st.sampled_from(model_names)), draw(pos), draw(nonneg),
                        draw(st.none() | nonneg), pen))
    return Fleet(draw(names), gpus, models, profiles, tuple(servers), tuple(jobs), curves,
                 draw(nonneg))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleets())
def test_round_trip_property(fleet):
    assert fleet_from_dict(fleet_to_dict(fleet)) == fleet
    text = json.dumps(fleet_to_dict(fleet), allow_nan=False)
    assert fleet_from_dict(json.loads(text)) == fleet


@settings(max_examples=15, deadline=None)
@given(fleets())
def test_file_round_trip_property(tmp_path_factory, fleet):
    path = tmp_path_factory.mktemp("rt") / "f.json"
    write_instance(fleet, path)
    assert read_instance(path) == fleet


# ------------------------------------------------------------------ read_instance errors

def test_malformed_json_names_file_line_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format": "satea-instance/1",\n  "name": oops\n}\n')
    with pytest.raises(InstanceError) as info:
        read_instance(path)
    msg = str(info.value)
    assert "broken.json" in msg and "line 3" in msg and "column 11" in msg


def test_missing_file(tmp_path):
    with pytest.raises(InstanceError, match="nope.json: no such file"):
        read_instance(tmp_path / "nope.json")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path)


def test_duplicate_json_key_rejected(tmp_path):
    path = tmp_path / "dup.json"
    text = json.dumps(EXAMPLE).replace('"gpus": {"V100": {"memory_gb": 32, "idle_w": 40}}',
                                       '"gpus": {"V100": {"memory_gb": 32, "idle_w": 40}, '
                                       '"V100": {"memory_gb": 16, "idle_w": 30}}')
    path.write_text(text)
    with pytest.raises(InstanceError, match="dup.json: duplicate key 'V100'"):
        read_instance(path)


def test_content_errors_are_prefixed_with_file(tmp_path):
    path = tmp_path / "inst.json"
    d = example()
    del d["jobs"][1]["samples"]
    path.write_text(json.dumps(d))
    with pytest.raises(InstanceError,
                       match=r"inst\.json: jobs\[1\] \('j1'\): missing required field 'samples'"):
        read_instance(path)


# ------------------------------------------------------------------ OR-Library GAP

@pytest.mark.parametrize("name, count", [(f"gap{i}.txt", 5) for i in range(1, 13)]
                         + [(f"gap{c}.txt", 6) for c in "abcd"])
def test_gap_problem_counts(name, count):
    problems = read_orlib_gap(GAP_DIR / name)
    assert len(problems) == count
    for cost, resource, capacity in problems:
        n, m = cost.shape
        assert resource.shape == (n, m) and capacity.shape == (m,)
        assert cost.dtype == resource.dtype == capacity.dtype == np.float64
        assert cost.flags.c_contiguous and resource.flags.c_contiguous


def test_gap1_problem1_orientation_and_values():
    cost, resource, capacity = read_orlib_gap_problem(GAP_DIR / "gap1.txt", 1)
    assert cost.shape == (15, 5) and resource.shape == (15, 5)
    # file row 0 is agent 1: "17 21 22 ..."; row 1 starts "23 16 ..."
    assert cost[:3, 0].tolist() == [17, 21, 22]
    assert cost[0, 1] == 23
    assert resource[:2, 0].tolist() == [8, 15]
    assert capacity.tolist() == [36, 34, 38, 27, 33]


def test_gap_shapes_match_best_known_table():
    with open(GAP_DIR / "best_known.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["file"].startswith("gap")]
    assert len(rows) >= 2 * 60
    cache = {}
    for r in rows:
        problems = cache.setdefault(r["file"], read_orlib_gap(GAP_DIR / r["file"]))
        cost = problems[int(r["problem_index"]) - 1][0]
        assert cost.shape == (int(r["n"]), int(r["m"])), r


@pytest.mark.parametrize("name, m, n", [("e05100", 5, 100), ("e20200", 20, 200)])
def test_type_e_single_problem_detected(name, m, n):
    (cost, resource, capacity), = read_orlib_gap(GAP_DIR / "typeE" / name)
    assert cost.shape == (n, m) and capacity.shape == (m,)
    assert read_orlib_gap(GAP_DIR / "typeE" / name, count_line=False)[0][0].shape == (n, m)


def test_gap_problem_index_range():
    with pytest.raises(InstanceError, match=r"gap1\.txt: problem index 6 out of range.*1\.\.5"):
        read_orlib_gap_problem(GAP_DIR / "gap1.txt", 6)
    with pytest.raises(InstanceError, match="out of range"):
        read_orlib_gap_problem(GAP_DIR / "gap1.txt", 0)
    c5, *_ = read_orlib_gap_problem(GAP_DIR / "gap1.txt", 5)
    assert np.array_equal(c5, read_orlib_gap(GAP_DIR / "gap1.txt")[4][0])


def _gap_text(problems, count=True) -> str:
    out = [str(len(problems))] if count else []
    for c, a, b in problems:  # (agents x jobs), as in the file
        m, n = c.shape
        out.append(f"{m} {n}")
        out += [" ".join(map(str, row)) for row in np.vstack([c, a])]
        out.append(" ".join(map(str, b)))
    return "\n".join(out) + "\n"


def _tiny():
    c = np.array([[1, 2, 3], [4, 5, 6]])
    a = np.array([[1, 1, 2], [2, 1, 1]])
    return c, a, np.array([3, 4])


def test_gap_synthetic_multi_and_single(tmp_path):
    c, a, b = _tiny()
    multi = tmp_path / "multi.txt"
    multi.write_text(_gap_text([(c, a, b), (c + 10, a, b)]))
    problems = read_orlib_gap(multi)
    assert len(problems) == 2
    assert problems[1][0].tolist() == (c + 10).T.tolist()
    assert problems[0][1].tolist() == a.T.tolist() and problems[0][2].tolist() == [3, 4]
    single = tmp_path / "single"
    single.write_text(_gap_text([(c, a, b)], count=False))
    (cost, *_), = read_orlib_gap(single)
    assert cost.tolist() == c.T.tolist()


def test_gap_truncated(tmp_path):
    c, a, b = _tiny()
    path = tmp_path / "trunc.txt"
    path.write_text(_gap_text([(c, a, b), (c, a, b)]).rsplit(maxsplit=3)[0])
    with pytest.raises(InstanceError, match=r"trunc\.txt: problem 2 \(m=2, n=3\): file ends"):
        read_orlib_gap(path)
    path.write_text("3\n2 3\n")
    with pytest.raises(InstanceError, match=r"trunc\.txt: problem 1 .*file ends"):
        read_orlib_gap(path, count_line=True)


def test_gap_non_integer_names_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(_gap_text([_tiny()]).replace("5", "5.5", 1))
    with pytest.raises(InstanceError, match=r"bad\.txt: line 4: expected an integer, got '5\.5'"):
        read_orlib_gap(path)


def test_gap_left_over_numbers(tmp_path):
    path = tmp_path / "extra.txt"
    path.write_text(_gap_text([_tiny()]) + "7 8\n")
    with pytest.raises(InstanceError, match=r"extra\.txt: 2 numbers left over after problem 1"):
        read_orlib_gap(path, count_line=True)


def test_gap_bad_sizes_and_values(tmp_path):
    path = tmp_path / "sizes.txt"
    path.write_text("1\n0 3\n")
    with pytest.raises(InstanceError, match=r"problem 1: m \(agents\) and n \(jobs\)"):
        read_orlib_gap(path)
    path.write_text("0\n")
    with pytest.raises(InstanceError, match="problem count P must be >= 1"):
        read_orlib_gap(path)
    path.write_text("")
    with pytest.raises(InstanceError, match="empty file"):
        read_orlib_gap(path)
    c, a, b = _tiny()
    path.write_text(_gap_text([(c, a, -b)]))
    with pytest.raises(InstanceError, match="problem 1: negative capacity"):
        read_orlib_gap(path)


def test_gap_missing_file(tmp_path):
    with pytest.raises(InstanceError, match="gap99.txt: no such file"):
        read_orlib_gap(tmp_path / "gap99.txt")
