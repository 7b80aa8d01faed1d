"""A short time budget, before and after the budget-block change (public API): a
generated 200 x 20 fleet, time_limit 0.3 s, 2 independent chains and 16 default ones,
seeds 0-4. Run with each commit's Python, alternately:

    PY benchmarks/results/short_budget_script.py LABEL OUT.jsonl
"""
import json
import sys

from satea.annealing import anneal
from satea.compile import compile_fleet
from satea.generate import generate_fleet

label, out = sys.argv[1], sys.argv[2]
p = compile_fleet(generate_fleet(200, 20, seed=1, capacity=True))
anneal(p, backend="numba", seed=0, sweeps=2)
rows = []
for kw in (dict(chains=2, strategy="independent"), dict(strategy="independent")):
    for seed in range(5):
        r = anneal(p, backend="numba", seed=seed, time_limit=0.3, **kw)
        rows.append({"chains": int(r.chains), "seed": seed, "fun": float(r.fun),
                     "feasible": bool(r.feasible), "sweeps": int(r.sweeps),
                     "seconds": float(r.seconds)})
with open(out, "a") as f:
    f.write(json.dumps({"label": label, "rows": rows}) + "\n")
