"""The built-in catalogue, user catalogues (replace / extend), and the example fleet."""
from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest

from satea.catalogue import CATALOGUE_FORMAT, Catalogue, example_fleet, load_catalogue
from satea.compile import compile_fleet
from satea.model import GPUType, Profile

REQUIRED_MODELS = ("AlexNet", "Inception-V3", "ResNet-50", "VGG16", "BERT-base")
REQUIRED_GPUS = ("K80", "P100", "V100", "T4", "A100", "H100")
# every required (model, GPU) pair for which the public sources have a throughput
REQUIRED_PAIRS = (
    [(m, g) for m in ("AlexNet", "Inception-V3", "VGG16") for g in ("K80", "P100", "V100", "A100")]
    + [("ResNet-50", g) for g in REQUIRED_GPUS]
    + [("BERT-base", g) for g in ("P100", "V100", "T4", "A100", "H100")])


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def raw() -> dict:
    text = resources.files("satea").joinpath("data/catalogue.json").read_text("utf-8")
    return json.loads(text)


def _write(tmp_path, doc, name="cat.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


# --------------------------------------------------------------------------- built-in

def test_builtin_has_required_models_gpus_and_pairs(cat):
    assert set(REQUIRED_MODELS) <= set(cat.models)
    assert set(REQUIRED_GPUS) <= set(cat.gpus)
    pairs = {(p.model, p.gpu) for p in cat.profiles}
    assert set(REQUIRED_PAIRS) <= pairs
    assert len(pairs) == len(cat.profiles)          # one profile per pair


def test_profiles_refer_to_known_entries_and_fit(cat):
    for p in cat.profiles:
        assert p.model in cat.models and p.gpu in cat.gpus
        # a profile the model cannot fit would be dead weight (compile forbids the pair)
        assert cat.fits(p), p
        assert p.throughput > 0 and 0 < p.power_w
    for g in cat.gpus.values():
        assert g.memory_gb > 0 and 0 < g.idle_w
        # idle below every training power measured or derived on that GPU
        assert all(g.idle_w < p.power_w for p in cat.profiles if p.gpu == g.name)


def _numbers(x, path="catalogue"):
    if isinstance(x, bool):
        return
    if isinstance(x, (int, float)):
        yield path, x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")


def test_every_figure_finite_and_sourced(raw, cat):
    assert raw["format"] == CATALOGUE_FORMAT
    for path, v in _numbers(raw):
        assert math.isfinite(v), path
    entries = ([("gpu", k, e) for k, e in raw["gpus"].items()]
               + [("model", k, e) for k, e in raw["models"].items()]
               + [("profile", (e["model"], e["gpu"]), e) for e in raw["profiles"]]
               + [("price curve", k, e) for k, e in raw["price_curves"].items()])
    for what, key, e in entries:
        assert isinstance(e.get("source"), str) and len(e["source"]) > 10, (what, key)
    # provenance travels with the loaded catalogue
    assert "lambdal" in cat.sources["profiles"][("ResNet-50", "H100")]["source"]
    assert cat.sources["gpus"]["V100"]["tdp_w"] == 250


def test_derived_and_estimated_values_are_marked(raw):
    for name, g in raw["gpus"].items():
        # idle power is either a reading or derived with a stated rule
        assert "idle_w" in g.get("measured", []) or "idle_w" in g.get("derived", {}), name
    for name, m in raw["models"].items():
        assert "ESTIMATED" in m["estimated"]["memory_gb"], name
    for p in raw["profiles"]:
        for fld in ("throughput", "power_w"):
            assert (fld in p["measured"]) != (fld in p.get("derived", {})), (p["model"], p["gpu"])
        if "power_w" in p.get("derived", {}):
            assert "DERIVED" in p["derived"]["power_w"]
        assert p["selection"]


def test_k80_is_one_die_and_derived(cat, raw):
    assert cat.gpus["K80"].memory_gb == 12
    assert set(raw["gpus"]["K80"]["derived"]) == {"memory_gb", "tdp_w", "idle_w"}


def test_pjm_price_curve(cat):
    c = cat.price_curves["pjm_2017_07_17"]
    assert c.step_s == 3600 and len(c.prices_per_kwh) == 168
    prices = np.array(c.prices_per_kwh)
    assert prices.min() > 0.01 and prices.max() < 0.2      # USD/kWh, wholesale
    src = cat.sources["price_curves"]["pjm_2017_07_17"]["source"]
    assert "Lago" in src and "116983" in src and "epftoolbox" in src


def test_profile_lookup(cat):
    assert cat.profile("ResNet-50", "V100").throughput == 432.0
    assert cat.profile("AlexNet", "H100") is None


# --------------------------------------------------------------------------- user files

def test_extend_adds_and_overrides(tmp_path):
    ext = {"format": CATALOGUE_FORMAT,
           "gpus": {"L4": {"memory_gb": 24, "idle_w": 11, "source": "own"},
                    "V100": {"memory_gb": 32, "idle_w": 30.0, "source": "own reading"}},
           "profiles": [{"model": "ResNet-50", "gpu": "L4", "throughput": 300.0,
                         "power_w": 65.0, "source": "own"},
                        {"model": "ResNet-50", "gpu": "V100", "throughput": 500.0,
                         "power_w": 230.0, "source": "own"}]}
    base = load_catalogue()
    for src in (_write(tmp_path, ext), ext, str(_write(tmp_path, ext, "b.json"))):
        cat = load_catalogue(extend=src)
        assert cat.gpus["L4"] == GPUType("L4", 24.0, 11.0)
        assert cat.gpus["V100"].idle_w == 30.0
        assert cat.profile("ResNet-50", "V100") == Profile("ResNet-50", "V100", 500.0, 230.0)
        assert len(cat.profiles) == len(base.profiles) + 1
        assert cat.sources["gpus"]["V100"]["source"] == "own reading"
        assert cat.models == base.models and cat.price_curves == base.price_curves
    # the built-in is untouched by an extension
    assert load_catalogue().gpus["V100"] == base.gpus["V100"]


def test_extend_applies_in_order():
    a = {"format": CATALOGUE_FORMAT, "models": {"X": {"memory_gb": 1}}}
    b = {"format": CATALOGUE_FORMAT, "models": {"X": {"memory_gb": 2}}}
    assert load_catalogue(extend=[a, b]).models["X"].memory_gb == 2


def test_replace_with_own_file(tmp_path):
    own = {"format": CATALOGUE_FORMAT,
           "gpus": {"G1": {"memory_gb": 16, "idle_w": 10}},
           "models": {"M1": {"memory_gb": 4}},
           "profiles": [{"model": "M1", "gpu": "G1", "throughput": 10, "power_w": 50}]}
    cat = load_catalogue(_write(tmp_path, own))
    assert list(cat.gpus) == ["G1"] and list(cat.models) == ["M1"]
    assert cat.profiles == (Profile("M1", "G1", 10.0, 50.0),) and cat.price_curves == {}


def _full(**over):
    doc = {"format": CATALOGUE_FORMAT,
           "gpus": {"G1": {"memory_gb": 16, "idle_w": 10}},
           "models": {"M1": {"memory_gb": 4}},
           "profiles": [{"model": "M1", "gpu": "G1", "throughput": 10, "power_w": 50}],
           "price_curves": {"c": {"step_s": 60, "prices_per_kwh": [0.1, 0.2]}}}
    doc.update(over)
    return doc


@pytest.mark.parametrize("doc, message", [
    (_full(gpus={"G1": {"memory_gb": 16}}), "gpu 'G1': missing field 'idle_w'"),
    (_full(gpus={"G1": {"memory_gb": 16, "idle_w": -1}}), "gpu 'G1': idle_w must be >= 0"),
    (_full(gpus={"G1": {"memory_gb": "16", "idle_w": 1}}), "gpu 'G1': memory_gb must be a number"),
    (_full(gpus={"G1": {"memory_gb": True, "idle_w": 1}}), "gpu 'G1': memory_gb must be a number"),
    (_full(models={"M1": {"memory_gb": float("nan")}}), "model 'M1': memory_gb must be finite"),
    (_full(profiles=[{"model": "M1", "gpu": "G1", "throughput": 0, "power_w": 5}]),
     "profile 'M1' on 'G1' (profiles[0]): throughput must be > 0"),
    (_full(profiles=[{"model": "M1", "throughput": 1, "power_w": 5}]),
     "profiles[0]: missing field 'gpu'"),
    (_full(profiles=[{"model": "M1", "gpu": "G1", "throughput": 1, "power_w": 5}] * 2),
     "profile 'M1' on 'G1' (profiles[1]): duplicate profile"),
    (_full(profiles=[{"model": "M2", "gpu": "G1", "throughput": 1, "power_w": 5}]),
     "profile 'M2' on 'G1': unknown model 'M2' (known: M1)"),
    (_full(price_curves={"c": {"step_s": 0, "prices_per_kwh": [0.1]}}),
     "price curve 'c': step_s must be > 0"),
    (_full(price_curves={"c": {"step_s": 60, "prices_per_kwh": []}}),
     "price curve 'c': prices_per_kwh must be a non-empty list"),
    (_full(price_curves={"c": {"step_s": 60, "prices_per_kwh": [0.1, float("inf")]}}),
     "price curve 'c': prices_per_kwh[1] must be finite"),
    (_full(format="satea-catalogue/9"), "format must be 'satea-catalogue/1'"),
    (_full(gpu={}), "unknown section 'gpu'"),
    ({"format": CATALOGUE_FORMAT, "gpus": {}, "models": {}}, "missing section 'profiles'"),
    (_full(gpus=[]), "gpus must be an object"),
])
def test_malformed_catalogue_names_entry_and_field(tmp_path, doc, message):
    path = _write(tmp_path, doc)
    with pytest.raises(ValueError, match="cat.json") as e:
        load_catalogue(path)
    assert message in str(e.value)


def test_malformed_text_and_missing_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"format": "satea-catalogue/1", "gpus": {"A": {"memory_gb": 1, '
                 '"idle_w": 1}, "A": {"memory_gb": 2, "idle_w": 1}}}')
    with pytest.raises(ValueError, match="duplicate key 'A'"):
        load_catalogue(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_catalogue(p)
    with pytest.raises(ValueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.json")


def test_bad_extension_is_named():
    ext = {"format": CATALOGUE_FORMAT,
           "profiles": [{"model": "ResNet-50", "gpu": "X9", "throughput": 1, "power_w": 1}]}
    with pytest.raises(ValueError, match="catalogue extension: profile 'ResNet-50' on 'X9': "
                                         "unknown gpu 'X9'"):
        load_catalogue(extend=ext)


# --------------------------------------------------------------------------- example fleet

def test_example_fleet_compiles_and_has_the_promised_mix():
    f = example_fleet()
    assert f == example_fleet()                     # deterministic
    assert (f.n_jobs, f.n_servers) == (24, 6)
    assert len({s.gpu for s in f.servers}) == 6
    assert {j.penalty.kind for j in f.jobs} == {"none", "step", "linear", "exponential"}
    assert sum(j.release_s > 0 for j in f.jobs) >= 5
    assert [s.name for s in f.servers if s.price_curve == "pjm_2017_07_17"] == ["a100-0"]
    assert sum(s.capacity_s is not None for s in f.servers) == 1
    problem = compile_fleet(f)
    assert problem.n_jobs == 24 and problem.has_capacity


def test_example_fleet_has_contention():
    # every job on its fastest server (in caller order): some deadline is missed or the
    # capacity is exceeded, so the instance is not trivially solved by speed alone
    from satea.objective import evaluate

    problem = compile_fleet(example_fleet())
    n, m = problem.n_jobs, problem.n_servers
    internal = np.repeat(np.arange(n), m)
    servers = np.tile(np.arange(m), n)
    p = np.where(problem.is_allowed(internal, servers),
                 problem.proc_time(internal, servers), np.inf).reshape(n, m)
    x = problem.to_caller(np.argmin(p, axis=1))
    ev = evaluate(problem, x)
    assert ev.penalty > 0 or not ev.feasible
    assert ev.violation > 0
