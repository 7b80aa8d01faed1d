"""The float64 evaluator (``satea.objective.evaluate``), the truth every result is re-scored
with, vs instance size (10 jobs per server)."""
from __future__ import annotations

from satea.objective import evaluate

from .common import SEED, instance, random_assignment


class Evaluate:
    """One evaluation of a fixed random allowed assignment; O(N log N + S)."""

    params = [1000, 10000, 100000]
    param_names = ["n_jobs"]
    timeout = 180

    def setup(self, n_jobs):
        self.problem = instance(f"{n_jobs}x{n_jobs // 10}")
        self.x = random_assignment(self.problem, SEED)

    def time_evaluate(self, n_jobs):
        evaluate(self.problem, self.x)

    def peakmem_evaluate(self, n_jobs):
        # process peak: the instance and the assignment are part of it
        evaluate(self.problem, self.x)

    def track_objective(self, n_jobs):
        """The value itself: moves only when the model or the generator changes."""
        return evaluate(self.problem, self.x).objective

    track_objective.unit = "objective"  # type: ignore[attr-defined]  # read by asv
