"""Instance files: the ``satea-instance/1`` JSON format and OR-Library GAP files.

The JSON reader is strict: a missing required field, a value of the wrong type, an
unknown key or a repeated key is an :class:`~satea.validate.InstanceError` naming the
entry and the field; nothing is dropped silently. A parsed fleet is then checked with
:func:`~satea.validate.validate_fleet`.
"""
from __future__ import annotations

import codecs
import json
import os
from pathlib import Path
from typing import Literal, overload

import numpy as np

from .model import (CarbonCurve, DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile,
                    Server)
from .validate import MAX_VALUE, InstanceError, reject_duplicate_keys, validate_fleet

__all__ = ["FORMAT", "fleet_from_dict", "fleet_to_dict", "read_instance", "write_instance",
           "read_orlib_gap", "read_orlib_gap_problem", "read_instance_with_currency",
           "instance_currency", "max_instance_bytes"]

FORMAT = "satea-instance/1"

#: instance files (JSON or OR-Library) above this many bytes are refused before they are
#: read: parsing holds the text and its objects, several times the file's size, in memory.
#: The environment variable ``SATEA_MAX_INSTANCE_BYTES`` (a whole number of bytes)
#: overrides it.
MAX_INSTANCE_BYTES = 512 * 2**20

#: an echoed piece of user text (an unknown key, a bad token) is cut to this many characters
_ECHO_CHARS = 80

# field name -> required?  (order is the order fields are written)
_TOP = {"format": True, "name": True, "lambda": False, "hold_max_s": False, "gpus": True,
        "price_curves": False, "models": True, "profiles": True, "servers": True,
        "jobs": True, "currency": False, "carbon_curves": False,
        "carbon_price_per_kg": False}
_GPU = {"memory_gb": True, "idle_w": True}
_CURVE = {"step_s": True, "prices_per_kwh": True, "repeat": False}
_CARBON = {"step_s": True, "g_per_kwh": True, "repeat": False}
_MODEL = {"memory_gb": True, "multi_gpu_efficiency": False}
_PROFILE = {"model": True, "gpu": True, "throughput": True, "power_w": True}
_SERVER = {"name": True, "gpu": True, "gpus": False, "base_w": False, "price_per_kwh": False,
           "price_curve": False, "capacity_s": False, "carbon_curve": False,
           "carbon_g_per_kwh": False}
_JOB = {"name": True, "model": True, "samples": True, "gpus": False, "release_s": False,
        "due_s": False, "hold_max_s": False, "penalty": False}
_PENALTY = {"kind": True, "weight": False, "scale_s": False}


# --------------------------------------------------------------------------- parsing helpers

def _clip(text: str) -> str:
    """``repr(text)``, cut to about :data:`_ECHO_CHARS` characters: an error message stays
    one readable line whatever the file holds (a 200 KB token, a megabyte-long key)."""
    if len(text) <= _ECHO_CHARS:
        return repr(text)
    return f"{text[:_ECHO_CHARS - 20]!r}... ({len(text):,} characters)"


def describe_value(v) -> str:
    """A JSON value named for an error message, its text cut (:func:`_describe`): one
    readable line whatever a file holds."""
    return _describe(v)


def _describe(v) -> str:
    if v is None:
        return "null"
    kind = {bool: "boolean", str: "string", list: "array", dict: "object"}.get(type(v))
    if kind == "string":
        return f"string {_clip(v)}"
    return f"{kind} {v!r}" if kind == "boolean" else (kind or type(v).__name__)


def _fields(obj, where: str, spec: dict) -> dict:
    """Check ``obj`` is a JSON object holding every required field and no unknown one."""
    if not isinstance(obj, dict):
        raise InstanceError(f"{where}: expected an object, got {_describe(obj)}")
    for key in obj:
        if key not in spec:
            raise InstanceError(f"{where}: unknown field {_clip(str(key))} "
                                f"(allowed: {', '.join(spec)})")
    for key, required in spec.items():
        if required and key not in obj:
            raise InstanceError(f"{where}: missing required field {key!r}")
    return obj


# without nullable=True these give a value or raise, never None (for the typed fields)
@overload
def _number(v, where: str, fld: str, nullable: Literal[False] = ...) -> float: ...
@overload
def _number(v, where: str, fld: str, nullable: bool) -> float | None: ...
def _number(v, where: str, fld: str, nullable: bool = False) -> float | None:
    if v is None and nullable:
        return None
    # bool is an int subclass in Python, but `true` is not a number in an instance file
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InstanceError(f"{where}: {fld} must be a number"
                            f"{' or null' if nullable else ''}, got {_describe(v)}")
    try:
        return float(v)
    except OverflowError:
        raise InstanceError(f"{where}: {fld} must be finite, got {v}") from None


@overload
def _string(v, where: str, fld: str, nullable: Literal[False] = ...) -> str: ...
@overload
def _string(v, where: str, fld: str, nullable: bool) -> str | None: ...
def _string(v, where: str, fld: str, nullable: bool = False) -> str | None:
    if v is None and nullable:
        return None
    if not isinstance(v, str):
        raise InstanceError(f"{where}: {fld} must be a string, got {_describe(v)}")
    return v


def _count(v, where: str, fld: str) -> int:
    """A whole number (a GPU count): a JSON integer, or a float with no fraction."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InstanceError(f"{where}: {fld} must be an integer, got {_describe(v)}")
    if isinstance(v, float) and not (v.is_integer()):
        raise InstanceError(f"{where}: {fld} must be an integer, got {v!r}")
    return int(v)


def _object(v, where: str) -> dict:
    if not isinstance(v, dict):
        raise InstanceError(f"{where}: expected an object, got {_describe(v)}")
    return v


def _array(v, where: str) -> list:
    if not isinstance(v, list):
        raise InstanceError(f"{where}: expected an array, got {_describe(v)}")
    return v


#: the longest currency name an instance may give ("EUR", "USD", "kEUR", "credits")
MAX_CURRENCY_CHARS = 16


def instance_currency(d: dict) -> str | None:
    """The optional top-level ``"currency"`` of a ``satea-instance/1`` dict (``"EUR"``):
    the unit of prices, penalty weights and costs, shown beside costs in summaries. None
    when absent; it changes no number. Kept beside the :class:`Fleet` (the model has no
    field for it): :func:`read_instance_with_currency` returns both."""
    cur = d.get("currency") if isinstance(d, dict) else None
    if cur is None:
        return None
    if not (isinstance(cur, str) and 0 < len(cur) <= MAX_CURRENCY_CHARS and cur.isprintable()
            and cur == cur.strip()):
        raise InstanceError(f"instance: currency must be a short name such as 'EUR' (1 to "
                            f"{MAX_CURRENCY_CHARS} printable characters), got {_describe(cur)}")
    return cur


def _where(plural: str, i: int, entry) -> str:
    """``jobs[4] ('j4')``: the position, and the name when there is one to show."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"{plural}[{i}] ({name!r})" if isinstance(name, str) else f"{plural}[{i}]"


# --------------------------------------------------------------------------- reading files

def max_instance_bytes() -> int:
    """The size above which an instance file is refused unread: ``SATEA_MAX_INSTANCE_BYTES``
    when set (a whole number of bytes), else :data:`MAX_INSTANCE_BYTES` (512 MiB)."""
    env = os.environ.get("SATEA_MAX_INSTANCE_BYTES", "").strip()
    if not env:
        return MAX_INSTANCE_BYTES
    try:
        limit = int(env)
    except ValueError:
        limit = 0
    if limit < 1:
        raise InstanceError(f"SATEA_MAX_INSTANCE_BYTES: expected a whole number of bytes "
                            f">= 1, got {_clip(env)}")
    return limit


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _read_text(path: str, encoding: str) -> str:
    """The text of an instance file, refused before it is read when it is larger than
    :func:`max_instance_bytes`; a leading UTF-8 byte-order mark is dropped. Errors name
    the file, never with the OS's ``[Errno N]`` prefix."""
    limit = max_instance_bytes()
    too_big = (f"{path}: the file is larger than the {_size(limit)} limit for instance files "
               f"(set SATEA_MAX_INSTANCE_BYTES to a larger number of bytes to read it)")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise InstanceError(too_big.replace("the file is", f"{_size(size)},", 1))
            data = fh.read(limit + 1)   # bounded too where st_size says nothing (a pipe)
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InstanceError(f"{path}: cannot read: it is a folder, not a file") from None
    except OSError as e:
        raise InstanceError(f"{path}: cannot read: {(e.strerror or str(e)).lower()}") from None
    if len(data) > limit:
        raise InstanceError(too_big)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise InstanceError(f"{path}: cannot read: not {encoding.upper()} text (byte "
                            f"{e.start + 1}: {e.reason})") from None


# --------------------------------------------------------------------------- sections

def _gpu(name: str, d) -> GPUType:
    w = f"gpus[{name!r}]"
    _fields(d, w, _GPU)
    return GPUType(name, _number(d["memory_gb"], w, "memory_gb"),
                   _number(d["idle_w"], w, "idle_w"))


def _curve(name: str, d) -> PriceCurve:
    return PriceCurve(name, *_series(d, f"price_curves[{name!r}]", _CURVE, "prices_per_kwh"))


def _carbon(name: str, d) -> CarbonCurve:
    return CarbonCurve(name, *_series(d, f"carbon_curves[{name!r}]", _CARBON, "g_per_kwh"))


def _series(d, w: str, fields, fld: str) -> tuple:
    """(step_s, values, repeat) of a price or carbon curve's record ``d`` at ``w``."""
    _fields(d, w, fields)
    vals = _array(d[fld], f"{w}.{fld}")
    return (_number(d["step_s"], w, "step_s"),
            tuple(_number(p, w, f"{fld}[{i}]") for i, p in enumerate(vals)),
            _boolean(d.get("repeat", True), w, "repeat"))


def _boolean(v, where: str, fld: str) -> bool:
    if not isinstance(v, bool):
        raise InstanceError(f"{where}: {fld} must be true or false, got {_describe(v)}")
    return v


def _model(name: str, d) -> DNNModel:
    w = f"models[{name!r}]"
    _fields(d, w, _MODEL)
    eff = {}
    for k, e in _object(d.get("multi_gpu_efficiency", {}),
                        f"{w}.multi_gpu_efficiency").items():
        fld = f"multi_gpu_efficiency[{k!r}]"
        # written as the count is written ("2", not "02" or "²"): one key per count
        if not (k.isascii() and k.isdigit() and str(int(k)) == k and int(k) >= 1):
            raise InstanceError(f"{w}: {fld}: key must be a GPU count >= 1 written in "
                                f"digits, got {k!r}")
        eff[int(k)] = _number(e, w, fld)
    return DNNModel(name, _number(d["memory_gb"], w, "memory_gb"), eff)


def _profile(i: int, d) -> Profile:
    w = f"profiles[{i}]"
    _fields(d, w, _PROFILE)
    return Profile(_string(d["model"], w, "model"), _string(d["gpu"], w, "gpu"),
                   _number(d["throughput"], w, "throughput"), _number(d["power_w"], w, "power_w"))


def _server(i: int, d) -> Server:
    w = _where("servers", i, d)
    _fields(d, w, _SERVER)
    return Server(_string(d["name"], w, "name"), _string(d["gpu"], w, "gpu"),
                  price_per_kwh=_number(d.get("price_per_kwh"), w, "price_per_kwh", True),
                  price_curve=_string(d.get("price_curve"), w, "price_curve", True),
                  capacity_s=_number(d.get("capacity_s"), w, "capacity_s", True),
                  gpus=_count(d.get("gpus", 1), w, "gpus"),
                  base_w=_number(d.get("base_w", 0.0), w, "base_w"),
                  carbon_curve=_string(d.get("carbon_curve"), w, "carbon_curve", True),
                  carbon_g_per_kwh=_number(d.get("carbon_g_per_kwh"), w, "carbon_g_per_kwh",
                                           True))


def _penalty(d, where: str) -> Penalty:
    w = f"{where}.penalty"
    _fields(d, w, _PENALTY)
    kind = _string(d["kind"], w, "kind")
    # the weight is meaningless only without a penalty, the scale only for none and step;
    # elsewhere a silent default would hide a mistake
    if kind != "none" and "weight" not in d:
        raise InstanceError(f"{w}: missing required field 'weight' (kind {kind!r})")
    if kind in ("linear", "exponential") and "scale_s" not in d:
        raise InstanceError(f"{w}: missing required field 'scale_s' (kind {kind!r})")
    return Penalty(kind, _number(d.get("weight", 0.0), w, "weight"),
                   _number(d.get("scale_s", 1.0), w, "scale_s"))


def _job(i: int, d) -> Job:
    w = _where("jobs", i, d)
    _fields(d, w, _JOB)
    return Job(_string(d["name"], w, "name"), _string(d["model"], w, "model"),
               _number(d["samples"], w, "samples"),
               release_s=_number(d.get("release_s", 0.0), w, "release_s"),
               due_s=_number(d.get("due_s"), w, "due_s", True),
               penalty=_penalty(d["penalty"], w) if "penalty" in d else Penalty(),
               gpus=_count(d.get("gpus", 1), w, "gpus"),
               hold_max_s=_number(d.get("hold_max_s"), w, "hold_max_s", True))


def _named(section, where: str, parse) -> dict:
    return {name: parse(name, entry) for name, entry in _object(section, where).items()}


def _listed(section, where: str, parse) -> tuple:
    return tuple(parse(i, entry) for i, entry in enumerate(_array(section, where)))


# --------------------------------------------------------------------------- public: JSON

def fleet_from_dict(d: dict) -> Fleet:
    """Build and validate a fleet from a ``satea-instance/1`` dict (parsed JSON).

    Parameters
    ----------
    d : dict
        Optional fields and their defaults: ``lambda`` 1.0, ``hold_max_s`` 0 (top level
        and per job, where ``null`` or absent means the fleet's), ``price_curves`` none,
        ``capacity_s`` unlimited, ``release_s`` 0, ``due_s`` none, ``penalty`` none. A
        ``null`` is accepted where the value may be absent (``due_s``, ``capacity_s``,
        ``price_per_kwh``, ``price_curve``); ``currency`` (e.g. ``"EUR"``, see
        :func:`instance_currency`) names the unit of costs. In a penalty, ``kind`` is required,
        ``weight`` too unless the kind is ``none``, and ``scale_s`` for ``linear`` and
        ``exponential``.

    Returns
    -------
    Fleet

    Raises
    ------
    InstanceError
        Wrong or missing format tag, missing required field, unknown field, value of the
        wrong type (a boolean is not a number), or anything :func:`validate_fleet` rejects.
        Messages name the entry, e.g. ``jobs[4] ('j4'): missing required field 'samples'``.
    """
    if not isinstance(d, dict):
        raise InstanceError(f"instance: expected an object, got {_describe(d)}")
    if d.get("format") != FORMAT:
        got = f"got {d['format']!r}" if "format" in d else "the field is missing"
        raise InstanceError(f"instance: format: expected {FORMAT!r}, {got}")
    _fields(d, "instance", _TOP)
    instance_currency(d)   # checked here; read_instance_with_currency returns it
    fleet = Fleet(
        name=_string(d["name"], "instance", "name"),
        gpus=_named(d["gpus"], "gpus", _gpu),
        models=_named(d["models"], "models", _model),
        profiles=_listed(d["profiles"], "profiles", _profile),
        servers=_listed(d["servers"], "servers", _server),
        jobs=_listed(d["jobs"], "jobs", _job),
        price_curves=_named(d.get("price_curves", {}), "price_curves", _curve),
        lam=_number(d.get("lambda", 1.0), "instance", "lambda"),
        hold_max_s=_number(d.get("hold_max_s", 0.0), "instance", "hold_max_s"),
        carbon_curves=_named(d.get("carbon_curves", {}), "carbon_curves", _carbon),
        carbon_price_per_kg=_number(d.get("carbon_price_per_kg", 0.0), "instance",
                                    "carbon_price_per_kg"),
    )
    validate_fleet(fleet)
    return fleet


def _num_out(x):
    # plain floats: NumPy scalars are not all JSON-serialisable
    return None if x is None else float(x)


def _server_dict(s: Server) -> dict:
    out: dict = {"name": s.name, "gpu": s.gpu}
    if s.gpus != 1:
        out["gpus"] = int(s.gpus)
    if s.base_w != 0:
        out["base_w"] = _num_out(s.base_w)
    if s.price_per_kwh is not None:
        out["price_per_kwh"] = _num_out(s.price_per_kwh)
    if s.price_curve is not None:
        out["price_curve"] = s.price_curve
    if s.capacity_s is not None:
        out["capacity_s"] = _num_out(s.capacity_s)
    if s.carbon_curve is not None:
        out["carbon_curve"] = s.carbon_curve
    if s.carbon_g_per_kwh is not None:
        out["carbon_g_per_kwh"] = _num_out(s.carbon_g_per_kwh)
    return out


def _job_dict(j: Job) -> dict:
    out: dict = {"name": j.name, "model": j.model, "samples": _num_out(j.samples)}
    if j.gpus != 1:
        out["gpus"] = int(j.gpus)
    if j.release_s != 0:
        out["release_s"] = _num_out(j.release_s)
    if j.due_s is not None:
        out["due_s"] = _num_out(j.due_s)
    if j.hold_max_s is not None:
        out["hold_max_s"] = _num_out(j.hold_max_s)
    if j.penalty != Penalty():
        p = j.penalty
        out["penalty"] = {"kind": p.kind, "weight": _num_out(p.weight),
                          "scale_s": _num_out(p.scale_s)}
    return out


def _model_dict(m: DNNModel) -> dict:
    out: dict = {"memory_gb": _num_out(m.memory_gb)}
    if m.multi_gpu_efficiency:
        out["multi_gpu_efficiency"] = {str(k): _num_out(e) for k, e in m.multi_gpu_efficiency}
    return out


def _curve_dict(step, key: str, vals, repeat: bool) -> dict:
    out: dict = {"step_s": _num_out(step), key: [float(v) for v in vals]}
    if not repeat:
        out["repeat"] = False
    return out


def fleet_to_dict(fleet: Fleet, currency: str | None = None) -> dict:
    """The ``satea-instance/1`` dict of a fleet; defaults are left out.

    ``fleet_from_dict(fleet_to_dict(f)) == f`` for every valid fleet ``f``; ``currency``
    (optional, e.g. ``"EUR"``) is written as the top-level ``"currency"``.
    """
    out: dict = {"format": FORMAT, "name": fleet.name, "lambda": _num_out(fleet.lam)}
    if fleet.hold_max_s != 0:
        out["hold_max_s"] = _num_out(fleet.hold_max_s)
    out["gpus"] = {n: {"memory_gb": _num_out(g.memory_gb), "idle_w": _num_out(g.idle_w)}
                   for n, g in fleet.gpus.items()}
    if fleet.price_curves:
        out["price_curves"] = {n: _curve_dict(c.step_s, "prices_per_kwh", c.prices_per_kwh,
                                              c.repeat)
                               for n, c in fleet.price_curves.items()}
    if fleet.carbon_curves:
        out["carbon_curves"] = {n: _curve_dict(c.step_s, "g_per_kwh", c.g_per_kwh, c.repeat)
                                for n, c in fleet.carbon_curves.items()}
    if fleet.carbon_price_per_kg != 0:
        out["carbon_price_per_kg"] = _num_out(fleet.carbon_price_per_kg)
    out["models"] = {n: _model_dict(m) for n, m in fleet.models.items()}
    out["profiles"] = [{"model": p.model, "gpu": p.gpu, "throughput": _num_out(p.throughput),
                        "power_w": _num_out(p.power_w)} for p in fleet.profiles]
    out["servers"] = [_server_dict(s) for s in fleet.servers]
    out["jobs"] = [_job_dict(j) for j in fleet.jobs]
    if currency is not None:
        out["currency"] = instance_currency({"currency": currency})
    return out


def read_instance(path) -> Fleet:
    """Read and validate a ``satea-instance/1`` JSON file.

    :func:`read_instance_with_currency` also returns the currency the file names.

    A UTF-8 byte-order mark at the start is accepted (some Windows editors write one).

    Raises
    ------
    InstanceError
        Prefixed with the file name: file missing or unreadable, larger than
        :func:`max_instance_bytes` (checked before reading), malformed or too deeply
        nested JSON (with line and column where there is one), or anything
        :func:`fleet_from_dict` rejects.
    """
    return read_instance_with_currency(path)[0]


def read_instance_with_currency(path) -> tuple[Fleet, str | None]:
    """Like :func:`read_instance`; also the file's ``"currency"`` (None when it names
    none)."""
    path = os.fspath(path)
    text = _read_text(path, "utf-8")
    try:
        d = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except json.JSONDecodeError as e:
        raise InstanceError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: "
                            f"{e.msg}") from None
    except RecursionError:   # json's parser recurses once per nested array or object
        raise InstanceError(f"{path}: invalid instance: arrays or objects nested too deeply "
                            "(an instance needs 4 levels)") from None
    except InstanceError as e:
        raise InstanceError(f"{path}: {e}") from None
    try:
        return fleet_from_dict(d), instance_currency(d)
    except InstanceError as e:
        raise InstanceError(f"{path}: {e}") from None


def write_instance(fleet: Fleet, path, currency: str | None = None) -> None:
    """Validate ``fleet`` and write it as ``satea-instance/1`` JSON (with a top-level
    ``"currency"`` when given).

    Each profile, server and job takes one line, so large files stay diff-friendly.
    """
    validate_fleet(fleet)
    d = fleet_to_dict(fleet, currency)
    dump = lambda v: json.dumps(v, allow_nan=False, ensure_ascii=False)  # noqa: E731
    parts = []
    for key, value in d.items():
        if isinstance(value, list) and value:
            body = ",\n".join(f"    {dump(v)}" for v in value)
            parts.append(f"  {dump(key)}: [\n{body}\n  ]")
        elif isinstance(value, dict) and value:
            body = ",\n".join(f"    {dump(k)}: {dump(v)}" for k, v in value.items())
            parts.append(f"  {dump(key)}: {{\n{body}\n  }}")
        else:
            parts.append(f"  {dump(key)}: {dump(value)}")
    Path(path).write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")


# --------------------------------------------------------------------------- OR-Library GAP

def _gap_integers(path: str) -> list[int]:
    text = _read_text(path, "ascii")
    try:
        return [int(t) for t in text.split()]
    except ValueError:
        pass
    for lineno, line in enumerate(text.splitlines(), 1):  # slow path: name the line
        for tok in line.split():
            try:
                int(tok)
            except ValueError:
                raise InstanceError(f"{path}: line {lineno}: expected an integer, "
                                    f"got {_clip(tok)}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _gap_problem(nums: list[int], pos: int, path: str, k: int):
    """Parse problem ``k`` (from 1) starting at ``nums[pos]``; return arrays and next pos."""
    where = f"{path}: problem {k}"
    if pos + 2 > len(nums):
        raise InstanceError(f"{where}: file ends before its size line 'm n'")
    m, n = nums[pos], nums[pos + 1]
    if m < 1 or n < 1:
        raise InstanceError(f"{where}: m (agents) and n (jobs) must be >= 1, got m={m}, n={n}")
    need = 2 * m * n + m
    body = nums[pos + 2:pos + 2 + need]
    if len(body) < need:
        raise InstanceError(f"{where} (m={m}, n={n}): file ends after {len(body)} of the "
                            f"{need} numbers it needs (truncated?)")
    try:
        arr = np.array(body, dtype=np.float64)
    except OverflowError:   # an integer beyond float64's range (validation bounds the rest)
        huge = next(v for v in body if abs(v) >= 2 ** 1023)
        raise InstanceError(f"{where}: the integer {_clip(str(huge))} is above the "
                            f"largest value the model carries ({MAX_VALUE:g})") from None
    cost = arr[:m * n].reshape(m, n)
    resource = arr[m * n:2 * m * n].reshape(m, n)
    capacity = arr[2 * m * n:]
    for name, a in (("resource", resource), ("capacity", capacity)):
        if (a < 0).any():
            raise InstanceError(f"{where}: negative {name} value {a[a < 0][0]:g}")
    for name, a in (("cost", cost), ("resource", resource), ("capacity", capacity)):
        big = np.abs(a) > MAX_VALUE
        if big.any():
            raise InstanceError(f"{where}: {name} value {a[big][0]:g} is above the largest "
                                f"value the model carries ({MAX_VALUE:g})")
    # the file lists agents by rows; the engine wants jobs by rows
    return (np.ascontiguousarray(cost.T), np.ascontiguousarray(resource.T),
            capacity.copy()), pos + 2 + need


def _has_count_line(nums: list[int]) -> bool:
    # a single-problem file (no P line) is exactly 2 + 2mn + m numbers long
    if len(nums) >= 2 and nums[0] > 0 and nums[1] > 0:
        m, n = nums[0], nums[1]
        return len(nums) != 2 + 2 * m * n + m
    return True


def read_orlib_gap(path, *, count_line: bool | None = None):
    """Read every problem of an OR-Library generalized assignment (GAP) file.

    Parameters
    ----------
    path : str or path-like
        A stream of whitespace-separated integers: ``P`` (the number of problems; absent
        from single-problem files such as Yagiura's type E), then per problem ``m n``,
        ``m`` rows of ``n`` costs, ``m`` rows of ``n`` resource uses, ``m`` capacities.
    count_line : bool, optional
        Whether the file starts with ``P``. None (default) detects it: a file without
        one holds exactly ``2 + 2mn + m`` numbers.

    Returns
    -------
    list of (cost, resource, capacity)
        float64 arrays; ``cost`` and ``resource`` have shape (n_jobs, n_agents), i.e.
        transposed from the file, and ``capacity`` shape (n_agents,).

    Raises
    ------
    InstanceError
        Naming the file (and problem): missing file, non-integer token (with its line),
        truncated problem, numbers left over, bad sizes, negative resource or capacity.
    """
    path = os.fspath(path)
    nums = _gap_integers(path)
    if not nums:
        raise InstanceError(f"{path}: empty file")
    if count_line is None:
        count_line = _has_count_line(nums)
    if count_line:
        n_problems, pos = nums[0], 1
        if n_problems < 1:
            raise InstanceError(f"{path}: problem count P must be >= 1, got {n_problems}")
    else:
        n_problems, pos = 1, 0
    problems = []
    for k in range(1, n_problems + 1):
        arrays, pos = _gap_problem(nums, pos, path, k)
        problems.append(arrays)
    if pos != len(nums):
        raise InstanceError(f"{path}: {len(nums) - pos} numbers left over after problem "
                            f"{n_problems} (P = {n_problems})")
    return problems


def read_orlib_gap_problem(path, index: int, *, count_line: bool | None = None):
    """Read problem ``index`` (counting from 1, as OR-Library names them: gap1-1 ...).

    Returns
    -------
    cost, resource, capacity : ndarray
        As in :func:`read_orlib_gap`.

    Raises
    ------
    InstanceError
        As :func:`read_orlib_gap`, or if ``index`` is not in ``1..P``.
    """
    problems = read_orlib_gap(path, count_line=count_line)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
            or not 1 <= index <= len(problems):
        raise InstanceError(f"{os.fspath(path)}: problem index {index!r} out of range: "
                            f"the file holds problems 1..{len(problems)}")
    return problems[int(index) - 1]

