"""Quality at equal time on a fleet with price curves (public API)."""
import json
import sys

from satea.generate import generate_fleet
from satea.compile import compile_fleet
from satea.annealing import anneal
label, out = sys.argv[1], sys.argv[2]
fleet = generate_fleet(1000, 100, seed=3, penalties=("none", "step", "linear", "exponential"),
                       price_curve_fraction=0.25, capacity=False)
p = compile_fleet(fleet, lam=1.0)
anneal(p, sweeps=2, backend="numba", seed=0)
rows = []
for seed in (0, 1, 2):
    r = anneal(p, backend="numba", seed=seed, time_limit=8.0)
    rows.append({"seed": seed, "fun": float(r.fun), "sweeps": int(r.sweeps),
                 "chains": int(r.chains) if hasattr(r, "chains") else None,
                 "seconds": float(r.seconds)})
    print(label, rows[-1], file=sys.stderr)
with open(out, "a") as f:
    f.write(json.dumps({"label": label, "rows": rows}) + "\n")
