"""Part-1 pins: the same seed, backend and chains give the same assignment and objective
as commit cae6ae5 (before multi-GPU nodes). ``python tests/part1_pins.py OUT.json`` run at
that commit wrote tests/data/part1_pins.json; tests/test_part1_pins.py re-runs every case
here and compares."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: (name, instance, backend, keyword arguments of anneal)
CASES = [
    ("mixed-numba", ("tiny", "mixed"), "numba", dict(seed=5, chains=6, sweeps=80)),
    ("tou-numba", ("tiny", "tou"), "numba", dict(seed=2, chains=4, sweeps=60)),
    ("capacity-numpy", ("tiny", "capacity"), "numpy", dict(seed=3, chains=4, sweeps=40)),
    ("gen200-numba", ("gen", 200, 20, 3), "numba", dict(seed=7, chains=4, sweeps=150)),
    ("gen200-pop", ("gen", 200, 20, 4), "numba",
     dict(seed=1, chains=8, sweeps=120, strategy="population", exchange_sweeps=10)),
    ("gen60-numpy", ("gen", 60, 6, 5), "numpy", dict(seed=9, chains=3, sweeps=30)),
    ("gap-numba", ("gap",), "numba", dict(seed=4, chains=4, sweeps=100)),
]


def instance(spec):
    from satea.compile import compile_assignment, compile_fleet
    if spec[0] == "tiny":
        from conftest import tiny_fleet_by_name
        return compile_fleet(tiny_fleet_by_name(spec[1]))
    if spec[0] == "gen":
        from satea.generate import generate_fleet
        return compile_fleet(generate_fleet(spec[1], spec[2], seed=spec[3], capacity=True))
    from conftest import tiny_assignment_arrays
    return compile_assignment(**tiny_assignment_arrays())


def run(case):
    from satea.annealing import anneal
    name, spec, backend, kw = case
    r = anneal(instance(spec), backend=backend, **kw)
    return {"x": [int(v) for v in r.x], "fun": float(r.fun), "sweeps": int(r.sweeps),
            "chain_best": [float(v) for v in r.chain_best]}


if __name__ == "__main__":
    out = {c[0]: run(c) for c in CASES}
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1) + "\n")
