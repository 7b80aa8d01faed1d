"""Validation of fleets and of plain assignment arrays, with errors that name the entry.

Everything the model contract (docs/model.md) rejects is reported as an
:class:`InstanceError` whose message names the offending entry and field, e.g.
``job 'j3': samples must be > 0, got -5``. Nothing is clipped or dropped.

Per-job checks are vectorised over columns (one NumPy array per field), so a fleet of
100,000 jobs and 10,000 servers validates in a fraction of a second: the work is
O(N + S + P + K + G), never O(N * S).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .model import (PENALTY_KINDS, CarbonCurve, DNNModel, Fleet, GPUType, Job, Penalty,
                    PriceCurve, Profile, Server)

__all__ = ["InstanceError", "validate_fleet", "validate_assignment_arrays", "show_value",
           "as_real_array", "is_real", "to_float"]

_REAL = (int, float, np.integer, np.floating)
_BOOL = (bool, np.bool_)

#: the largest number the model carries (docs/model.md, "Limits"): every number of an
#: instance (prices, powers, samples, times, capacities, weights, lambda) and of an
#: assignment problem's arrays is at most this in size, so that every product and sum the
#: model forms stays finite in float64 (an overflow would read as an infinite cost, or as
#: infeasibility, rather than as the input's mistake)
MAX_VALUE = 1e15
#: the smallest value of a field that must be > 0 (throughput, samples, scale_s, step_s):
#: the model divides by throughput, scale_s and step_s, and a quotient must stay finite
MIN_POSITIVE = 1e-15
#: the most GPUs a node has or a job asks for (docs/model.md, "Limits"): real nodes have
#: 1-8 (a rack-scale domain 72); a chain's scratch holds a node's GPU free times
MAX_GPUS = 4096
_LIMITS = "the model's limit: docs/model.md, Limits"


class InstanceError(ValueError):
    """An invalid problem instance. The message names the field and the offending entry."""


# --------------------------------------------------------------------------- helpers

def _is_real(v) -> bool:
    # bool is an int subclass, but True as a memory size is a mistake, not a number
    return isinstance(v, _REAL) and not isinstance(v, _BOOL)


def is_real(v) -> bool:
    """Whether an argument ``v`` is a real number (``numbers.Real``: ints, floats, numpy
    scalars, Fractions): not a bool, a string or a complex number. Instance fields take
    only ints and floats (JSON's numbers)."""
    return isinstance(v, numbers.Real) and not isinstance(v, _BOOL)


def to_float(v) -> float:
    """A real number as a float; one too large for a float is +-inf (then refused as not
    finite, not an OverflowError)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def show_value(v, width: int = 40) -> str:
    """A value as it should appear in a message: numbers plainly (``2.5``, not
    ``np.float64(2.5)``), anything else repr'd; cut to about ``width`` characters, so a
    400-digit integer or a long string stays one readable line."""
    if isinstance(v, np.generic):
        v = v.item()
    text = str(v) if _is_real(v) else repr(v)
    if len(text) > width:
        text = (f"{float(v):.6g} ({len(text)} digits)" if isinstance(v, int)
                and not isinstance(v, bool) and abs(v) < 1e308
                else f"{text[:width - 3]}...")
    return text


def _fmt(v) -> str:
    return show_value(v)


def _known(names) -> str:
    return ", ".join(str(n) for n in names) if len(names) else "none"


def _check_real(v, label: str, fld: str, *, strict: bool, optional: bool = False,
                signed: bool = False) -> None:
    """One number: finite and > 0 (``strict``) or >= 0, or any sign (``signed``: prices,
    which real markets take below zero), within the model's limits (:data:`MAX_VALUE`,
    :data:`MIN_POSITIVE`). ``optional`` allows None."""
    if v is None and optional:
        return
    if not _is_real(v):
        raise InstanceError(f"{label}: {fld} must be a number, got {_fmt(v)}")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise InstanceError(f"{label}: {fld} must be finite, got {_fmt(v)}")
    if signed:
        x = abs(x)
    elif x < 0 or (strict and x == 0):
        raise InstanceError(f"{label}: {fld} must be {'>' if strict else '>='} 0, got {_fmt(v)}")
    if x > MAX_VALUE:
        raise InstanceError(f"{label}: {fld} must be at most {MAX_VALUE:g} ({_LIMITS}), "
                            f"got {_fmt(v)}")
    if strict and x < MIN_POSITIVE:
        raise InstanceError(f"{label}: {fld} must be at least {MIN_POSITIVE:g} ({_LIMITS}), "
                            f"got {_fmt(v)}")


def _first_invalid(values: list, *, strict: bool, optional: bool = False,
                   signed: bool = False) -> int | None:
    """Index of the first value :func:`_check_real` would reject, or None.

    Types are checked once per distinct type and values in one array pass, so that
    100,000 entries cost milliseconds.
    """
    if not values:
        return None
    types = set(map(type, values))
    if optional:
        types.discard(type(None))
    if not all(issubclass(t, _REAL) and not issubclass(t, _BOOL) for t in types):
        return next(i for i, v in enumerate(values)
                    if not (_is_real(v) or (optional and v is None)))
    if optional and None in values:
        values = [0.0 if v is None else v for v in values]  # 0 passes both tests
    try:
        arr = np.array(values, dtype=np.float64)
    except OverflowError:  # a Python int beyond float range
        arr = np.array([float(v) if abs(v) < 2 ** 1023 else math.inf for v in values])
    if signed:
        arr = np.abs(arr)
    low = (arr < MIN_POSITIVE) if strict else (arr < 0)
    bad = ~np.isfinite(arr) | low | (arr > MAX_VALUE)
    return int(np.argmax(bad)) if bad.any() else None


def _check_column(values: list, label: Callable[[int], str], fld: str, *, strict: bool,
                  optional: bool = False, signed: bool = False) -> None:
    """:func:`_check_real` over one field of many entries (vectorised)."""
    i = _first_invalid(values, strict=strict, optional=optional, signed=signed)
    if i is not None:
        _check_real(values[i], label(i), fld, strict=strict, optional=optional, signed=signed)


def _check_instances(items: Sequence, cls: type, label: Callable[[int], str]) -> None:
    if all(issubclass(t, cls) for t in set(map(type, items))):
        return
    for i, it in enumerate(items):
        if not isinstance(it, cls):
            raise InstanceError(f"{label(i)}: expected a {cls.__name__}, got {type(it).__name__}")


def _check_strings(values: list, label: Callable[[int], str], fld: str,
                   optional: bool = False) -> None:
    """Every value a non-empty str (or None if ``optional``); also makes them hashable."""
    types = set(map(type, values))
    if optional:
        types.discard(type(None))
    ok = all(issubclass(t, str) for t in types) and "" not in set(values)
    if ok:
        return
    for i, v in enumerate(values):
        if optional and v is None:
            continue
        if not isinstance(v, str) or not v:
            raise InstanceError(f"{label(i)}: {fld} must be a non-empty string, got {v!r}")


def _check_unique(names: list, plural: str, what: str) -> None:
    if len(set(names)) == len(names):
        return
    first: dict = {}
    for i, n in enumerate(names):
        if n in first:
            raise InstanceError(f"{plural}[{i}]: duplicate {what} name {n!r} "
                                f"(also {plural}[{first[n]}])")
        first[n] = i


def _check_refs(values: list, known, label: Callable[[int], str], fld: str,
                optional: bool = False) -> None:
    """Every value names an entry of ``known`` (values already checked to be strings)."""
    missing = set(values) - set(known)
    if optional:
        missing.discard(None)
    if not missing:
        return
    for i, v in enumerate(values):
        if v in missing:
            raise InstanceError(f"{label(i)}: unknown {fld} {v!r} (known: {_known(list(known))})")


def _entry_label(items: Sequence, plural: str, what: str) -> Callable[[int], str]:
    """``job 'j3'`` when the entry has a usable name, else ``jobs[3]``."""
    def label(i: int) -> str:
        name = getattr(items[i], "name", None)
        return f"{what} {name!r}" if isinstance(name, str) and name else f"{plural}[{i}]"
    return label


# --------------------------------------------------------------------------- fleet parts

def _check_catalogue(section: dict, plural: str, what: str,
                     cls: type[GPUType | DNNModel | PriceCurve | CarbonCurve]) -> None:
    """A name-keyed dict (gpus, models, price_curves): keys are the entries' names."""
    if not isinstance(section, dict):
        raise InstanceError(f"{plural} must be a dict of name -> {cls.__name__}, "
                            f"got {type(section).__name__}")
    for key, item in section.items():
        if not isinstance(key, str) or not key:
            raise InstanceError(f"{plural}[{key!r}]: name must be a non-empty string")
        if not isinstance(item, cls):
            raise InstanceError(f"{what} {key!r}: expected a {cls.__name__}, "
                                f"got {type(item).__name__}")
        if item.name != key:
            # two entries with one name would otherwise hide behind distinct keys
            raise InstanceError(f"{plural}[{key!r}]: key does not match its name {item.name!r}")


def _check_gpus(gpus: dict) -> None:
    _check_catalogue(gpus, "gpus", "gpu", GPUType)
    for name, g in gpus.items():
        _check_real(g.memory_gb, f"gpu {name!r}", "memory_gb", strict=False)
        _check_real(g.idle_w, f"gpu {name!r}", "idle_w", strict=False)


def _check_models(models: dict) -> None:
    _check_catalogue(models, "models", "model", DNNModel)
    for name, m in models.items():
        _check_real(m.memory_gb, f"model {name!r}", "memory_gb", strict=False)
        eff = m.multi_gpu_efficiency
        if not isinstance(eff, tuple):
            raise InstanceError(f"model {name!r}: multi_gpu_efficiency must be a mapping of "
                                f"GPU count -> efficiency, got {type(eff).__name__}")
        for item in eff:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise InstanceError(f"model {name!r}: multi_gpu_efficiency must be a mapping "
                                    f"of GPU count -> efficiency, got entry {item!r}")
            k, e = item
            if not _is_count(k):
                raise InstanceError(f"model {name!r}: multi_gpu_efficiency: key must be a "
                                    f"GPU count in [1, {MAX_GPUS}], got {_fmt(k)}")
            _check_real(e, f"model {name!r}", f"multi_gpu_efficiency[{int(k)}]", strict=True)


def _is_count(v) -> bool:
    """An integer in [1, MAX_GPUS] (a GPU count); bools are not counts."""
    return bool(isinstance(v, (int, np.integer)) and not isinstance(v, _BOOL)
                and 1 <= v <= MAX_GPUS)


def _check_counts(values: list, label: Callable[[int], str], fld: str) -> None:
    if all(type(v) is int and 1 <= v <= MAX_GPUS for v in values):
        return
    for i, v in enumerate(values):
        if not _is_count(v):
            raise InstanceError(f"{label(i)}: {fld} must be an integer in [1, {MAX_GPUS}] "
                                f"({_LIMITS}), got {_fmt(v)}")


def _check_price_curves(curves: dict) -> None:
    _check_catalogue(curves, "price_curves", "price curve", PriceCurve)
    for name, c in curves.items():   # prices may be negative (docs/model.md, part 2)
        _check_series(c, f"price curve {name!r}", "prices_per_kwh", c.prices_per_kwh,
                      signed=True)


def _check_carbon_curves(curves: dict) -> None:
    _check_catalogue(curves, "carbon_curves", "carbon curve", CarbonCurve)
    for name, c in curves.items():
        _check_series(c, f"carbon curve {name!r}", "g_per_kwh", c.g_per_kwh, signed=False)


def _check_series(c, label: str, fld: str, values, *, signed: bool) -> None:
    """A price or carbon curve: its step, its values (field ``fld``) and ``repeat``."""
    _check_real(c.step_s, label, "step_s", strict=True)
    if not isinstance(values, (tuple, list)) or len(values) == 0:
        raise InstanceError(f"{label}: {fld} must be a non-empty sequence of numbers, "
                            f"got {values!r}")
    i = _first_invalid(list(values), strict=False, signed=signed)
    if i is not None:
        _check_real(values[i], label, f"{fld}[{i}]", strict=False, signed=signed)
    if not isinstance(c.repeat, _BOOL):
        raise InstanceError(f"{label}: repeat must be true or false, got {_fmt(c.repeat)}")


def _check_profiles(fleet: Fleet) -> None:
    profiles = _as_sequence(fleet.profiles, "profiles")
    label = lambda i: f"profiles[{i}]"  # noqa: E731  (profiles have no name)
    _check_instances(profiles, Profile, label)
    models = [p.model for p in profiles]
    gpus = [p.gpu for p in profiles]
    _check_strings(models, label, "model")
    _check_strings(gpus, label, "gpu")
    _check_refs(models, fleet.models, label, "model")
    _check_refs(gpus, fleet.gpus, label, "gpu")
    _check_column([p.throughput for p in profiles], label, "throughput", strict=True)
    _check_column([p.power_w for p in profiles], label, "power_w", strict=False)
    seen: dict = {}
    for i, key in enumerate(zip(models, gpus)):
        if key in seen:
            raise InstanceError(f"profiles[{i}]: duplicate profile for model {key[0]!r} on gpu "
                                f"{key[1]!r} (also profiles[{seen[key]}])")
        seen[key] = i


def _check_servers(fleet: Fleet) -> None:
    servers = _as_sequence(fleet.servers, "servers")
    if len(servers) == 0:
        raise InstanceError("servers: the fleet has no servers")
    label = _entry_label(servers, "servers", "server")
    _check_instances(servers, Server, label)
    names = [s.name for s in servers]
    _check_strings(names, label, "name")
    _check_unique(names, "servers", "server")
    gpus = [s.gpu for s in servers]
    _check_strings(gpus, label, "gpu")
    _check_refs(gpus, fleet.gpus, label, "gpu")
    curves = [s.price_curve for s in servers]
    consts = [s.price_per_kwh for s in servers]
    for i, (c, p) in enumerate(zip(curves, consts)):
        if (c is None) == (p is None):
            raise InstanceError(f"{label(i)}: exactly one of price_per_kwh and price_curve "
                                f"must be given, got {'both' if c is not None else 'neither'}")
    _check_strings(curves, label, "price_curve", optional=True)
    _check_refs(curves, fleet.price_curves, label, "price curve", optional=True)
    _check_column(consts, label, "price_per_kwh", strict=False, optional=True, signed=True)
    ccurves = [s.carbon_curve for s in servers]
    cconsts = [s.carbon_g_per_kwh for s in servers]
    for i, (c, p) in enumerate(zip(ccurves, cconsts)):
        if c is not None and p is not None:
            raise InstanceError(f"{label(i)}: at most one of carbon_g_per_kwh and carbon_curve "
                                f"may be given, got both")
    _check_strings(ccurves, label, "carbon_curve", optional=True)
    _check_refs(ccurves, fleet.carbon_curves, label, "carbon curve", optional=True)
    _check_column(cconsts, label, "carbon_g_per_kwh", strict=False, optional=True)
    _check_column([s.capacity_s for s in servers], label, "capacity_s", strict=False,
                  optional=True)
    _check_counts([s.gpus for s in servers], label, "gpus")
    _check_column([s.base_w for s in servers], label, "base_w", strict=False)


def _check_jobs(fleet: Fleet) -> None:
    jobs = _as_sequence(fleet.jobs, "jobs")
    label = _entry_label(jobs, "jobs", "job")
    _check_instances(jobs, Job, label)
    names = [j.name for j in jobs]
    _check_strings(names, label, "name")
    _check_unique(names, "jobs", "job")
    models = [j.model for j in jobs]
    _check_strings(models, label, "model")
    _check_refs(models, fleet.models, label, "model")
    _check_column([j.samples for j in jobs], label, "samples", strict=True)
    _check_column([j.release_s for j in jobs], label, "release_s", strict=False)
    _check_column([j.due_s for j in jobs], label, "due_s", strict=False, optional=True)
    pens = [j.penalty for j in jobs]
    _check_instances(pens, Penalty, lambda i: f"{label(i)}: penalty")
    kinds = [p.kind for p in pens]
    if not set(map(type, kinds)) <= {str} or not set(kinds) <= set(PENALTY_KINDS):
        for i, k in enumerate(kinds):
            if k not in PENALTY_KINDS:
                raise InstanceError(f"{label(i)}: unknown penalty kind {k!r} "
                                    f"(known: {_known(PENALTY_KINDS)})")
    _check_column([p.weight for p in pens], label, "penalty.weight", strict=False)
    _check_column([p.scale_s for p in pens], label, "penalty.scale_s", strict=True)
    _check_counts([j.gpus for j in jobs], label, "gpus")
    _check_column([j.hold_max_s for j in jobs], label, "hold_max_s", strict=False,
                  optional=True)


def _check_runnable(fleet: Fleet) -> None:
    """Every job's model fits, with a profile, on the GPU type of at least one server."""
    server_gpus = {s.gpu for s in fleet.servers}
    runnable = {p.model for p in fleet.profiles
                if p.gpu in server_gpus
                and fleet.models[p.model].memory_gb <= fleet.gpus[p.gpu].memory_gb}
    if {j.model for j in fleet.jobs} - runnable:
        for j in fleet.jobs:
            if j.model not in runnable:
                raise InstanceError(f"job {j.name!r}: no server can run it: "
                                    f"{_why_not_runnable(fleet, j.model, server_gpus)}")
    # gang jobs: some node of a type the job can run on has enough GPUs
    if all(j.gpus == 1 for j in fleet.jobs):
        return
    runs_on: dict = {}
    for p in fleet.profiles:
        if p.gpu in server_gpus and fleet.models[p.model].memory_gb <= fleet.gpus[p.gpu].memory_gb:
            runs_on.setdefault(p.model, set()).add(p.gpu)
    largest: dict = {}
    for s in fleet.servers:
        largest[s.gpu] = max(largest.get(s.gpu, 0), s.gpus)
    most_of = {m: max(largest[g] for g in gs) for m, gs in runs_on.items()}
    for j in fleet.jobs:
        most = most_of[j.model]
        if j.gpus > most:
            node = max((s for s in fleet.servers if s.gpu in runs_on[j.model]),
                       key=lambda s: s.gpus)
            raise InstanceError(
                f"job {j.name!r}: needs {j.gpus} GPUs on one node, but the largest node of a "
                f"type it can run on has {most} (server {node.name!r}, {node.gpu})")


def _why_not_runnable(fleet: Fleet, model: str, server_gpus: set) -> str:
    gpus = sorted({p.gpu for p in fleet.profiles if p.model == model and p.gpu in server_gpus})
    if not gpus:
        return (f"model {model!r} has no profile on any server's gpu type "
                f"(servers have: {_known(sorted(server_gpus))})")
    fits = ", ".join(f"{g}: {fleet.gpus[g].memory_gb:g} GB" for g in gpus)
    return (f"model {model!r} needs {fleet.models[model].memory_gb:g} GB, more than every "
            f"server gpu type it has a profile for ({fits})")


def _as_sequence(items, fld: str) -> Sequence:
    if not isinstance(items, (tuple, list)):
        raise InstanceError(f"{fld} must be a tuple or list, got {type(items).__name__}")
    return items


# --------------------------------------------------------------------------- public

def validate_fleet(fleet: Fleet) -> None:
    """Check a fleet against the model contract.

    Parameters
    ----------
    fleet : Fleet

    Raises
    ------
    InstanceError
        On the first problem found, naming the entry and the field, e.g.
        ``job 'j3': samples must be > 0, got -5`` or
        ``server 's1': unknown gpu 'X100' (known: V100, A100)``. Checked: names are
        non-empty, unique strings (gpus, models, price curves, servers, jobs) and each
        (model, gpu) profile appears once; every reference (model, gpu, price curve,
        penalty kind) is known; numbers are finite and non-negative, with throughput,
        samples, penalty scale and price-curve steps > 0; each server has exactly one of
        ``price_per_kwh`` and ``price_curve``; there is a server; every job has a server
        whose GPU type has a profile for its model with enough memory; ``lam`` is finite
        and >= 0; a hold allowance ``hold_max_s`` (a job's or the fleet's) is finite and
        >= 0. Every number is at most :data:`MAX_VALUE` (1e15) and every number that
        must be > 0 at least :data:`MIN_POSITIVE` (1e-15): docs/model.md, Limits.

    Notes
    -----
    Time O(N + S + P + K + G) for N jobs, S servers, P profiles, K models and G GPU types.
    """
    if not isinstance(fleet, Fleet):
        raise InstanceError(f"expected a Fleet, got {type(fleet).__name__}")
    if not isinstance(fleet.name, str) or not fleet.name:
        raise InstanceError(f"fleet: name must be a non-empty string, got {fleet.name!r}")
    _check_real(fleet.lam, "fleet", "lambda", strict=False)
    _check_real(fleet.hold_max_s, "fleet", "hold_max_s", strict=False)
    _check_gpus(fleet.gpus)
    _check_models(fleet.models)
    _check_price_curves(fleet.price_curves)
    _check_carbon_curves(fleet.carbon_curves)
    _check_real(fleet.carbon_price_per_kg, "fleet", "carbon_price_per_kg", strict=False)
    _check_profiles(fleet)
    _check_servers(fleet)
    _check_jobs(fleet)
    _check_runnable(fleet)


def as_real_array(x, param: str) -> np.ndarray:
    """``x`` as a new float64 array (callers may mutate theirs) if it holds real numbers:
    integers or floats, not booleans, strings, complex numbers, dates or a masked array
    (each would be read as something other than what it says)."""
    if isinstance(x, np.ma.MaskedArray):
        raise InstanceError(f"{param}: a masked array; fill or remove the masked entries")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise InstanceError(f"{param}: cannot be read as an array of numbers ({e})") from None
    if raw.dtype.kind == "O":   # Python objects: each must be a real number
        for i, v in enumerate(raw.reshape(-1).tolist()):
            if not _is_real(v) or (isinstance(v, int) and abs(v) > MAX_VALUE):
                at = _index(param, tuple(map(int, np.unravel_index(i, raw.shape))))
                raise InstanceError(f"{at}: expected a number, got {show_value(v)}"
                                    if not _is_real(v) else f"{at} must be at most "
                                    f"{MAX_VALUE:g} in size ({_LIMITS}), got {show_value(v)}")
    elif raw.dtype.kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
                "M": "dates", "m": "time spans"}.get(raw.dtype.kind, str(raw.dtype))
        raise InstanceError(f"{param}: expected real numbers, got an array of {what}")
    try:
        arr = np.array(raw, dtype=np.float64, order="C")
    except (TypeError, ValueError, OverflowError) as e:
        raise InstanceError(f"{param}: cannot be read as an array of numbers ({e})") from None
    return arr


def _first_bad(mask: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _index(param: str, idx: tuple) -> str:
    return f"{param}[{', '.join(map(str, idx))}]"


def _check_finite(arr: np.ndarray, param: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = _first_bad(bad)
        hint = (" (a pair that may not be chosen is marked False in allowed)"
                if np.isinf(arr[idx]) else "")
        raise InstanceError(f"{_index(param, idx)} is {arr[idx]}{hint}")
    _check_limit(arr, param)


def _check_limit(arr: np.ndarray, param: str) -> None:
    """At most :data:`MAX_VALUE` in size (+inf passes: an unlimited capacity)."""
    bad = np.isfinite(arr) & (np.abs(arr) > MAX_VALUE)
    if bad.any():
        idx = _first_bad(bad)
        raise InstanceError(f"{_index(param, idx)} must be at most {MAX_VALUE:g} in size "
                            f"({_LIMITS}), got {arr[idx]:g}")


def _check_nonneg(arr: np.ndarray, param: str) -> None:
    bad = arr < 0
    if bad.any():
        idx = _first_bad(bad)
        raise InstanceError(f"{_index(param, idx)} must be >= 0, got {arr[idx]:g}")


def _check_shape(arr: np.ndarray, shape: tuple, param: str) -> None:
    if arr.shape != shape:
        raise InstanceError(f"{param}: expected shape {shape}, got {arr.shape}")


def _as_allowed(allowed, shape: tuple) -> np.ndarray:
    try:
        arr = np.array(allowed, order="C")
    except (TypeError, ValueError) as e:
        raise InstanceError(f"allowed: cannot be read as an array ({e})") from None
    _check_shape(arr, shape, "allowed")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise InstanceError(f"allowed: expected bool or 0/1 values, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)  # NaN lands here too
    if bad.any():
        idx = _first_bad(bad)
        raise InstanceError(f"{_index('allowed', idx)} must be 0/1 or bool, got {arr[idx]}")
    return arr.astype(np.bool_)


def validate_assignment_arrays(cost, resource=None, capacity=None, allowed=None):
    """Check and normalise the arrays of a generic (generalized) assignment problem.

    Parameters
    ----------
    cost : array_like, shape (n_jobs, n_servers)
        Finite, at most :data:`MAX_VALUE` (1e15) in size.
    resource : array_like, shape (n_jobs, n_servers), optional
        Finite, >= 0, at most 1e15. Given if and only if ``capacity`` is.
    capacity : array_like, shape (n_servers,), optional
        >= 0, at most 1e15; ``+inf`` means unlimited.
    allowed : array_like of bool or 0/1, shape (n_jobs, n_servers), optional
        Every job needs at least one allowed server.

    Returns
    -------
    cost, resource, capacity : ndarray of float64, C-contiguous copies
        ``resource`` defaults to zeros, ``capacity`` to ``+inf``.
    allowed : ndarray of bool, C-contiguous
        Defaults to all True.

    Raises
    ------
    InstanceError
        Naming the parameter and the entry, e.g. ``cost[3, 1] is nan``.

    Notes
    -----
    Time and memory O(n_jobs * n_servers), inherent to dense input.
    """
    if (resource is None) != (capacity is None):
        given, missing = ("resource", "capacity") if capacity is None else ("capacity",
                                                                           "resource")
        raise InstanceError(f"{given} given without {missing}: give both or neither")
    cost = as_real_array(cost, "cost")
    if cost.ndim != 2:
        raise InstanceError(f"cost: expected a 2-D array (n_jobs, n_servers), "
                            f"got shape {cost.shape}")
    n, m = cost.shape
    if m == 0:
        raise InstanceError(f"cost: no servers (shape {cost.shape})")
    _check_finite(cost, "cost")
    if resource is None:
        resource = np.zeros((n, m))
        capacity = np.full(m, np.inf)
    else:
        resource = as_real_array(resource, "resource")
        _check_shape(resource, (n, m), "resource")
        _check_finite(resource, "resource")
        _check_nonneg(resource, "resource")
        capacity = as_real_array(capacity, "capacity")
        _check_shape(capacity, (m,), "capacity")
        nan = np.isnan(capacity)
        if nan.any():
            raise InstanceError(f"capacity[{int(np.argmax(nan))}] is nan")
        _check_nonneg(capacity, "capacity")
        _check_limit(capacity, "capacity")
    if allowed is None:
        allowed = np.ones((n, m), np.bool_)
    else:
        allowed = _as_allowed(allowed, (n, m))
        none = ~allowed.any(axis=1)
        if none.any():
            j = int(np.argmax(none))
            raise InstanceError(f"allowed[{j}, :]: job {j} has no allowed server")
    return cost, resource, capacity, allowed


def reject_duplicate_keys(pairs: list) -> dict:
    """``json.loads`` hook: json keeps the last of repeated keys, and two GPUs of one
    name must not merge silently."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise InstanceError(f"duplicate key {key!r} in a JSON object")
        out[key] = value
    return out
