"""Quality at equal time with one chain per core (2 chains on 2 threads), public API:
OR-Library d20200 (gapd.txt problem 6, minimisation) at 1 s and the generated 1,000 x 100
fleet of eqtime_fleet1k_script.py at 2 s. Run with each commit's Python, alternately:

    PY benchmarks/results/eqtime_two_chains_script.py LABEL OUT.jsonl
"""
import json
import sys
from pathlib import Path

from satea.annealing import anneal
from satea.compile import compile_assignment, compile_fleet
from satea.generate import generate_fleet
from satea.io import read_orlib_gap_problem

label, out = sys.argv[1], sys.argv[2]
gapd = Path(__file__).resolve().parents[3] / "shared" / "data" / "gap" / "gapd.txt"
c, r, cap = read_orlib_gap_problem(gapd, 6)
problems = {"d20200": (compile_assignment(c, r, cap, maximize=False), 1.0, range(5))}
fleet = generate_fleet(1000, 100, seed=3, penalties=("none", "step", "linear", "exponential"),
                       price_curve_fraction=0.25, capacity=False)
problems["fleet1k"] = (compile_fleet(fleet, lam=1.0), 2.0, range(3))
rows = []
for name, (p, seconds, seeds) in problems.items():
    anneal(p, sweeps=2, chains=2, backend="numba", seed=0)   # compile outside the clock
    for seed in seeds:
        res = anneal(p, backend="numba", chains=2, seed=seed, time_limit=seconds)
        rows.append({"instance": name, "seed": seed, "time_limit": seconds,
                     "fun": float(res.fun), "sweeps": int(res.sweeps),
                     "seconds": float(res.seconds)})
        print(label, rows[-1], file=sys.stderr)
with open(out, "a") as f:
    f.write(json.dumps({"label": label, "rows": rows}) + "\n")
