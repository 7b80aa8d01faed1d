"""numba moves/s on node_probe's 8-GPU fleet: 2 independent chains x 600 sweeps at fixed
temperatures, best of 3; one JSON line. Run from benchmarks/ with each side's Python,
alternating (benchmarks/README.md, "Results: node walks from per-job checkpoints"):

    cd benchmarks && python results/nodes/checkpoints-2026-12-04/speed_8gpu_script.py LABEL
"""
import json
import sys

sys.path.insert(0, ".")
from node_probe import fleets  # noqa: E402  (benchmarks/ on the path first)

from satea.annealing import anneal  # noqa: E402
from satea.compile import compile_fleet  # noqa: E402

f8, _f1 = fleets()
p = compile_fleet(f8)
kw: dict = dict(backend="numba", chains=2, sweeps=600, seed=0, strategy="independent",
                schedule=(0.078, 5.2e-4))
anneal(p, **{**kw, "sweeps": 2})   # compile and warm up
best = 0.0
for _ in range(3):
    r = anneal(p, **kw)
    best = max(best, r.moves_per_second())
print(json.dumps({"side": sys.argv[1], "moves_per_s": best, "fun": r.fun}))
