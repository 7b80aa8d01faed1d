"""The built-in catalogue: real GPU types, DNN training profiles and a price curve.

The data live in ``satea/data/catalogue.json`` (format ``satea-catalogue/1``), built from
public benchmarks; every entry carries its ``source`` and says which of its figures are
``measured``, ``derived`` (and how) or ``estimated`` (and how). The file's ``conventions``
section states the rules (which source row is chosen for a (model, GPU) pair, how missing
idle and training powers are derived, how training memory is estimated).

:func:`load_catalogue` reads it (or a user's file in the same format, or the built-in
extended by a user's file); :func:`example_fleet` builds the small instance that
``satea solve`` uses when given no instance.

Catalogue file format (``satea-catalogue/1``)::

    {"format": "satea-catalogue/1",
     "gpus":   {"V100": {"memory_gb": 32, "idle_w": 34.8, "source": "..."}},
     "models": {"ResNet-50": {"memory_gb": 7.1, "source": "..."}},
     "profiles": [{"model": "ResNet-50", "gpu": "V100", "throughput": 432.0,
                   "power_w": 212.5, "source": "..."}],
     "price_curves": {"pjm": {"step_s": 3600, "prices_per_kwh": [0.02, 0.03]}}}

Required fields are those of :mod:`satea.model` (``memory_gb``, ``idle_w``, ``throughput``,
``power_w``, ``step_s``, ``prices_per_kwh``); any other field of an entry (``source``,
``derived``, ``batch_size``, ...) is kept as provenance in :attr:`Catalogue.sources`.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

from .validate import reject_duplicate_keys
from .model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server

__all__ = ["Catalogue", "load_catalogue", "example_fleet", "CATALOGUE_FORMAT"]

CATALOGUE_FORMAT = "satea-catalogue/1"
_SECTIONS = ("gpus", "models", "profiles", "price_curves")
_TOP_KEYS = ("format", "description", "conventions") + _SECTIONS
# fields that become the dataclasses; everything else in an entry is provenance
_CORE = {"gpus": ("memory_gb", "idle_w"), "models": ("memory_gb",),
         "profiles": ("model", "gpu", "throughput", "power_w"),
         "price_curves": ("step_s", "prices_per_kwh")}


@dataclass(frozen=True)
class Catalogue:
    """GPU types, DNN models, training profiles and price curves, with their provenance.

    Attributes
    ----------
    gpus : dict of str to GPUType
    models : dict of str to DNNModel
    profiles : tuple of Profile
        At most one per (model, gpu); each names a known model and GPU type.
    price_curves : dict of str to PriceCurve
    sources : dict
        Provenance, by section: ``sources["gpus"][name]``, ``sources["models"][name]``,
        ``sources["profiles"][(model, gpu)]``, ``sources["price_curves"][name]`` hold the
        entry's other fields (``source``, ``measured``, ``derived``, ``estimated``,
        ``batch_size``, ``tdp_w``, ...), and ``sources["conventions"]`` the file's rules.
    """

    gpus: dict[str, GPUType]
    models: dict[str, DNNModel]
    profiles: tuple[Profile, ...]
    price_curves: dict[str, PriceCurve] = field(default_factory=dict)
    sources: dict = field(default_factory=dict)

    def profile(self, model: str, gpu: str) -> Profile | None:
        """The profile of ``model`` on ``gpu``, or None."""
        for p in self.profiles:
            if p.model == model and p.gpu == gpu:
                return p
        return None

    def fits(self, profile: Profile) -> bool:
        """Whether the profile's model fits its GPU's memory (else the pair is forbidden)."""
        return self.models[profile.model].memory_gb <= self.gpus[profile.gpu].memory_gb

    def fleet(self, name: str, servers, jobs, *, lam: float = 1.0) -> Fleet:
        """A :class:`Fleet` of ``servers`` and ``jobs`` on this catalogue.

        Only the GPU types, models, profiles and price curves the servers and jobs refer
        to are copied in, so that the instance stays self-contained and small.
        """
        servers, jobs = tuple(servers), tuple(jobs)
        gpu_names = {s.gpu for s in servers}
        model_names = {j.model for j in jobs}
        curve_names = {s.price_curve for s in servers if s.price_curve is not None}
        return Fleet(
            name=name,
            gpus={g: v for g, v in self.gpus.items() if g in gpu_names},
            models={m: v for m, v in self.models.items() if m in model_names},
            profiles=tuple(p for p in self.profiles
                           if p.gpu in gpu_names and p.model in model_names),
            servers=servers, jobs=jobs,
            price_curves={c: v for c, v in self.price_curves.items() if c in curve_names},
            lam=lam)


# --------------------------------------------------------------------------- reading

def _read(src, what: str) -> tuple[dict, str]:
    """A catalogue document from a path or a mapping; returns it and a label for errors."""
    if isinstance(src, Mapping):
        return dict(src), what
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(f"{what}: expected a path or a mapping, got {type(src).__name__}")
    label = f"{what} {os.fspath(src)!r}"
    try:
        with open(src, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ValueError(f"{label}: cannot read ({e.strerror or e})") from None
    return _parse(text, label), label


def _parse(text: str, label: str) -> dict:
    try:
        doc = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except json.JSONDecodeError as e:
        raise ValueError(f"{label}: not valid JSON ({e})") from None
    except ValueError as e:
        raise ValueError(f"{label}: {e}") from None
    return doc


def _num(entry: dict, fld: str, label: str, *, strict: bool) -> float:
    if fld not in entry:
        raise ValueError(f"{label}: missing field {fld!r}")
    return _value(entry[fld], fld, label, strict=strict)


def _value(v, fld: str, label: str, *, strict: bool, signed: bool = False) -> float:
    # bool is an int subclass, but true as a wattage is a mistake, not a number
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{label}: {fld} must be a number, got {v!r}")
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(f"{label}: {fld} must be finite, got {v!r}")
    if not signed and (x < 0 or (strict and x == 0)):
        raise ValueError(f"{label}: {fld} must be {'>' if strict else '>='} 0, got {v!r}")
    return x


def _str(entry: dict, fld: str, label: str) -> str:
    if fld not in entry:
        raise ValueError(f"{label}: missing field {fld!r}")
    v = entry[fld]
    if not isinstance(v, str) or not v:
        raise ValueError(f"{label}: {fld} must be a non-empty string, got {v!r}")
    return v


def _meta(entry: dict, section: str, label: str) -> dict:
    meta = {k: v for k, v in entry.items() if k not in _CORE[section]}
    if "source" in meta and not isinstance(meta["source"], str):
        raise ValueError(f"{label}: source must be a string, got {meta['source']!r}")
    return meta


def _named_section(doc: dict, section: str, what: str, label: str) -> dict:
    sec = doc.get(section, {})
    if not isinstance(sec, dict):
        raise ValueError(f"{label}: {section} must be an object of name -> entry, "
                         f"got {type(sec).__name__}")
    for name, entry in sec.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{label}: {section}: names must be non-empty strings, "
                             f"got {name!r}")
        if not isinstance(entry, dict):
            raise ValueError(f"{label}: {what} {name!r}: expected an object, "
                             f"got {type(entry).__name__}")
    return sec


def _parse_doc(doc, label: str, *, full: bool) -> dict:
    """Check one catalogue document; return its parts keyed like :class:`Catalogue`.

    ``full``: a whole catalogue (gpus, models and profiles required); otherwise an
    extension, whose sections are all optional.
    """
    if not isinstance(doc, dict):
        raise ValueError(f"{label}: expected a JSON object, got {type(doc).__name__}")
    fmt = doc.get("format")
    if fmt != CATALOGUE_FORMAT:
        raise ValueError(f"{label}: format must be {CATALOGUE_FORMAT!r}, got {fmt!r}")
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise ValueError(f"{label}: unknown section {unknown[0]!r} "
                         f"(valid: {', '.join(_TOP_KEYS)})")
    if full:
        for sec in ("gpus", "models", "profiles"):
            if sec not in doc:
                raise ValueError(f"{label}: missing section {sec!r}")

    out: dict[str, dict] = {s: {} for s in _SECTIONS}
    meta: dict[str, dict] = {s: {} for s in _SECTIONS}
    for name, e in _named_section(doc, "gpus", "gpu", label).items():
        lab = f"{label}: gpu {name!r}"
        out["gpus"][name] = GPUType(name, _num(e, "memory_gb", lab, strict=True),
                                    _num(e, "idle_w", lab, strict=False))
        meta["gpus"][name] = _meta(e, "gpus", lab)
    for name, e in _named_section(doc, "models", "model", label).items():
        lab = f"{label}: model {name!r}"
        out["models"][name] = DNNModel(name, _num(e, "memory_gb", lab, strict=False))
        meta["models"][name] = _meta(e, "models", lab)
    for name, e in _named_section(doc, "price_curves", "price curve", label).items():
        lab = f"{label}: price curve {name!r}"
        step = _num(e, "step_s", lab, strict=True)
        prices = e.get("prices_per_kwh")
        if not isinstance(prices, list) or not prices:
            raise ValueError(f"{lab}: prices_per_kwh must be a non-empty list of numbers, "
                             f"got {prices!r}")
        # prices may be negative (real markets: docs/model.md, part 2)
        vals = tuple(_value(v, f"prices_per_kwh[{i}]", lab, strict=False, signed=True)
                     for i, v in enumerate(prices))
        out["price_curves"][name] = PriceCurve(name, step, vals)
        meta["price_curves"][name] = _meta(e, "price_curves", lab)

    profiles = doc.get("profiles", [])
    if not isinstance(profiles, list):
        raise ValueError(f"{label}: profiles must be a list, got {type(profiles).__name__}")
    for i, e in enumerate(profiles):
        lab = f"{label}: profiles[{i}]"
        if not isinstance(e, dict):
            raise ValueError(f"{lab}: expected an object, got {type(e).__name__}")
        m, g = _str(e, "model", lab), _str(e, "gpu", lab)
        lab = f"{label}: profile {m!r} on {g!r} (profiles[{i}])"
        if (m, g) in out["profiles"]:
            raise ValueError(f"{lab}: duplicate profile for this (model, gpu)")
        out["profiles"][(m, g)] = Profile(m, g, _num(e, "throughput", lab, strict=True),
                                          _num(e, "power_w", lab, strict=False))
        meta["profiles"][(m, g)] = _meta(e, "profiles", lab)
    out["meta"] = meta
    out["conventions"] = doc.get("conventions", {})
    return out


def _builtin_text() -> str:
    return resources.files("satea").joinpath("data/catalogue.json").read_text(encoding="utf-8")


def load_catalogue(path=None, *, extend=None) -> Catalogue:
    """Load the built-in catalogue, a user's catalogue, or either extended by others.

    Parameters
    ----------
    path : str, os.PathLike, mapping or None
        A ``satea-catalogue/1`` file (or its parsed JSON) that replaces the built-in one;
        None: the built-in ``satea/data/catalogue.json``.
    extend : str, os.PathLike, mapping, or a list of these, optional
        Catalogue documents applied in order on top of ``path``: their GPU types, models
        and price curves are added or replace those of the same name, their profiles add
        or replace the profile of the same (model, gpu). Every section is optional.

    Returns
    -------
    Catalogue

    Raises
    ------
    ValueError
        For a malformed file, naming the file, the entry and the field, e.g.
        ``catalogue 'my.json': gpu 'X1': idle_w must be >= 0, got -3``; for a profile
        whose model or GPU type is in no loaded document.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat.profile("ResNet-50", "V100").throughput
    432.0
    """
    if path is None:
        base_label = "built-in catalogue"
        doc = _parse(_builtin_text(), base_label)
    else:
        doc, base_label = _read(path, "catalogue")
    base = _parse_doc(doc, base_label, full=True)
    if extend is None:
        extras = []
    elif isinstance(extend, (list, tuple)):
        extras = list(extend)
    else:
        extras = [extend]
    labels_of_profiles = {key: base_label for key in base["profiles"]}
    for i, ext in enumerate(extras):
        doc, label = _read(ext, f"catalogue extension{f' [{i}]' if len(extras) > 1 else ''}")
        part = _parse_doc(doc, label, full=False)
        for sec in _SECTIONS:
            base[sec].update(part[sec])         # a dict keeps the first key's position
            base["meta"][sec].update(part["meta"][sec])
        labels_of_profiles.update({key: label for key in part["profiles"]})

    for (m, g) in base["profiles"]:
        where = labels_of_profiles[(m, g)]
        if m not in base["models"]:
            raise ValueError(f"{where}: profile {m!r} on {g!r}: unknown model {m!r} "
                             f"(known: {', '.join(base['models']) or 'none'})")
        if g not in base["gpus"]:
            raise ValueError(f"{where}: profile {m!r} on {g!r}: unknown gpu {g!r} "
                             f"(known: {', '.join(base['gpus']) or 'none'})")
    sources = dict(base["meta"])
    sources["conventions"] = base["conventions"]
    return Catalogue(gpus=base["gpus"], models=base["models"],
                     profiles=tuple(base["profiles"].values()),
                     price_curves=base["price_curves"], sources=sources)


# --------------------------------------------------------------------------- example

PJM_CURVE = "pjm_2017_07_17"
_H = 3600.0

# (name, gpu, price per kWh or a curve name, busy-time capacity in hours or None).
# One server per GPU generation from K80 to H100: the old ones are cheap to run but slow,
# the A100 buys at the PJM day-ahead price (cheap at night), the H100 is fastest and dear.
_EXAMPLE_SERVERS = (
    ("k80-0", "K80", 0.07, None),
    ("p100-0", "P100", 0.10, None),
    ("t4-0", "T4", 0.14, None),
    ("v100-0", "V100", 0.12, 6.0),
    ("a100-0", "A100", PJM_CURVE, None),
    ("h100-0", "H100", 0.21, None),
)

# (name, model, epochs, release h, due h or None, penalty kind, weight, scale h).
# Work is in epochs of the model's dataset (ImageNet, SQuAD, CIFAR-10, ...). The batch
# needs ~43 h even with every job on its fastest GPU type (27 h of it on the A100 or
# H100) against deadlines of 1.5-16 h, so the fast servers are contended: every job on
# its fastest server misses deadlines and overruns the V100's budget, while the slow
# servers cost more energy per sample. Weights are cents to
# dollars, a few times a job's energy cost, so lateness and energy trade off.
_EXAMPLE_JOBS = (
    ("resnet50-1", "ResNet-50", 5, 0, 3, "linear", 0.20, 1),
    ("resnet50-2", "ResNet-50", 2, 0, 2, "step", 0.15, 1),
    ("resnet50-3", "ResNet-50", 8, 2, 8, "exponential", 0.05, 2),
    ("resnet50-4", "ResNet-50", 3, 6, 9, "linear", 0.10, 1),
    ("resnet50-5", "ResNet-50", 10, 0, None, "none", 0.0, 1),
    ("bert-1", "BERT-base", 5, 0, 2, "step", 0.30, 1),
    ("bert-2", "BERT-base", 8, 1, 4, "linear", 0.20, 1),
    ("bert-3", "BERT-base", 5, 4, 6, "exponential", 0.05, 1),
    ("bert-4", "BERT-base", 3, 8, None, "none", 0.0, 1),
    ("inception-1", "Inception-V3", 3, 0, 4, "linear", 0.15, 2),
    ("inception-2", "Inception-V3", 5, 3, 10, "step", 0.40, 1),
    ("inception-3", "Inception-V3", 2, 10, 16, "exponential", 0.10, 2),
    ("vgg16-1", "VGG16", 2, 0, 3, "exponential", 0.05, 1),
    ("vgg16-2", "VGG16", 5, 5, 12, "linear", 0.10, 2),
    ("alexnet-1", "AlexNet", 25, 0, 2, "step", 0.10, 1),
    ("alexnet-2", "AlexNet", 50, 2, 6, "linear", 0.05, 1),
    ("resnet18-1", "ResNet-18", 500, 0, 1.5, "step", 0.05, 1),
    ("resnet18-2", "ResNet-18", 800, 3, 5, "exponential", 0.02, 0.5),
    ("resnet152-1", "ResNet-152", 1, 0, 6, "linear", 0.10, 2),
    ("transformer-1", "Transformer", 250, 0, 3, "linear", 0.05, 1),
    ("transformer-2", "Transformer", 500, 4, 10, "step", 0.08, 1),
    ("lstm-1", "LSTM", 200, 1, 5, "step", 0.05, 1),
    ("transformer-xl-1", "Transformer-XL", 1, 0, 4, "linear", 0.25, 1),
    ("transformer-xl-2", "Transformer-XL", 0.5, 6, 9, "exponential", 0.10, 1),
)


def example_fleet(catalogue: Catalogue | None = None) -> Fleet:
    """A small built-in instance: 24 training jobs on 6 servers, from the catalogue.

    One server each of K80, P100, T4, V100, A100 and H100. The A100 pays the PJM day-ahead
    price of the week of 2017-07-17 (hourly); the others pay constant prices of 0.07-0.21
    per kWh; the V100 may be busy for at most 6 h. Jobs train AlexNet, Inception-V3,
    ResNet-18/50/152, VGG16, BERT-base, Transformer, Transformer-XL and an LSTM for a
    number of epochs; some are released later; deadlines (1.5-16 h) conflict on the fast
    servers; penalties are step, linear, exponential, or none (two best-effort jobs).

    Parameters
    ----------
    catalogue : Catalogue, optional
        Defaults to the built-in catalogue. It must define the GPU types, models, profiles
        and price curve used here, and each model's ``epoch_samples``.

    Returns
    -------
    Fleet
        The same instance on every call (deterministic).
    """
    cat = load_catalogue() if catalogue is None else catalogue
    servers = tuple(
        Server(name, gpu,
               price_per_kwh=None if isinstance(price, str) else float(price),
               price_curve=price if isinstance(price, str) else None,
               capacity_s=None if cap is None else cap * _H)
        for name, gpu, price, cap in _EXAMPLE_SERVERS)
    jobs = []
    for name, model, epochs, rel, due, kind, weight, scale in _EXAMPLE_JOBS:
        epoch = cat.sources.get("models", {}).get(model, {}).get("epoch_samples")
        if not isinstance(epoch, (int, float)) or isinstance(epoch, bool) or epoch <= 0:
            raise ValueError(f"example_fleet: catalogue model {model!r} needs a positive "
                             f"epoch_samples, got {epoch!r}")
        jobs.append(Job(name, model, samples=float(epochs * epoch), release_s=rel * _H,
                        due_s=None if due is None else due * _H,
                        penalty=Penalty(kind, weight, scale * _H)))
    return cat.fleet("example", servers, jobs)
