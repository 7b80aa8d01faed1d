"""satea: simulated-annealing placement of deep-learning training jobs on GPU fleets.

The names in ``__all__`` are the public API (stable within a minor version): the model
types, compiling, the float64 objective, the annealer and its settings and result, the
Pareto front, reading and writing files, and the baselines.
"""
from .model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from .compile import ProblemArrays, as_problem, compile_assignment, compile_fleet
from .objective import Evaluation, evaluate
from .annealing import Progress, anneal, anneal_batch
from .settings import RunSettings, Schedule, repeat_kwargs, resolve_settings
from .result import AnnealResult, read_result
from .io import read_instance, read_orlib_gap, write_instance
from .pareto import ParetoFront, pareto, read_front
from .baselines import baseline_assignment, solve_baseline

__version__ = "0.1.0"

__all__ = [
    "DNNModel", "Fleet", "GPUType", "Job", "Penalty", "PriceCurve", "Profile", "Server",
    "ProblemArrays", "as_problem", "compile_assignment", "compile_fleet", "Evaluation",
    "evaluate", "Progress", "anneal", "anneal_batch", "RunSettings", "Schedule", "repeat_kwargs",
    "resolve_settings", "AnnealResult", "read_result", "read_instance", "read_orlib_gap",
    "write_instance", "ParetoFront", "pareto", "read_front", "baseline_assignment",
    "solve_baseline",
]
