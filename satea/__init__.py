"""satea: simulated-annealing placement of deep-learning training jobs on GPU fleets.

The names in ``__all__`` are the public API (stable within a minor version): the model
types, compiling, the float64 objective, the annealer and its settings and result, the
Pareto front, reading and writing files, and the baselines.

``import satea`` does not import numba (the backends import it when a run starts; the
baselines, which compile a kernel at import, load on first use). So a process that
imports satea early without running it (dask's ``dask.sizeof`` entry point in every
worker, before the worker's environment such as ``NUMBA_NUM_THREADS`` is set) does not
fix numba's configuration.
"""
from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from .compile import ProblemArrays, as_problem, compile_assignment, compile_fleet
from .objective import Evaluation, evaluate
from .annealing import Progress, anneal, anneal_batch
from .settings import RunSettings, Schedule, repeat_kwargs, resolve_settings
from .result import AnnealResult, read_result
from .io import read_instance, read_orlib_gap, write_instance
from .pareto import ParetoFront, pareto, read_front

if _TYPE_CHECKING:   # the lazy names below, for type checkers
    from .baselines import baseline_assignment, solve_baseline



def _package_version() -> str:
    """The installed distribution's version (setup.cfg's, its single source); from a
    source tree that is not installed, setup.cfg's itself."""
    import importlib.metadata
    try:
        return importlib.metadata.version("satea")
    except importlib.metadata.PackageNotFoundError:
        import configparser
        from pathlib import Path
        cfg = configparser.ConfigParser()
        cfg.read(Path(__file__).resolve().parent.parent / "setup.cfg")
        return cfg.get("metadata", "version", fallback="0+unknown")


__version__ = _package_version()

#: public name -> the module that defines it, imported on first use (the baselines
#: compile a numba kernel at import)
_LAZY = dict.fromkeys(("baseline_assignment", "solve_baseline"), "baselines")

__all__ = [
    "DNNModel", "Fleet", "GPUType", "Job", "Penalty", "PriceCurve", "Profile", "Server",
    "ProblemArrays", "as_problem", "compile_assignment", "compile_fleet", "Evaluation",
    "evaluate", "Progress", "anneal", "anneal_batch", "RunSettings", "Schedule", "repeat_kwargs",
    "resolve_settings", "AnnealResult", "read_result", "read_instance", "read_orlib_gap",
    "write_instance", "ParetoFront", "pareto", "read_front", "baseline_assignment",
    "solve_baseline",
]


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'satea' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value   # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
