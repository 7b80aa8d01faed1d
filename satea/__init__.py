"""satea: simulated-annealing placement of deep-learning training jobs on GPU fleets."""
from .model import DNNModel, Fleet, GPUType, Job, Penalty, PriceCurve, Profile, Server
from .compile import ProblemArrays, compile_assignment, compile_fleet
from .objective import Evaluation, evaluate

__version__ = "0.1.0"

__all__ = [
    "DNNModel", "Fleet", "GPUType", "Job", "Penalty", "PriceCurve", "Profile", "Server",
    "ProblemArrays", "compile_assignment", "compile_fleet", "Evaluation", "evaluate",
]
