"""Default sized schedule against the same with the hot end x10, at equal time (10 s):
``python benchmarks/results/quality/real-window-2026-12-04/hot_probe.py`` (2 cores)."""
import json
import sys
from pathlib import Path

import satea
from satea.generate import generate_fleet
from satea.io import read_orlib_gap_problem, read_instance  # noqa: F401
from satea.compile import compile_assignment

#: this folder; the OR-Library file is looked for in ../shared/data beside the repository
HERE = Path(__file__).resolve().parent

cases = [
    ("fleet 1000x100", satea.compile_fleet(generate_fleet(1000, 100, seed=7, capacity=True))),
    ("nodes 500x40 (8 GPUs, 10% gangs)", satea.compile_fleet(generate_fleet(
        500, 40, seed=3, gpus_per_node=8, gang_share=0.1))),
    ("fleet 200x20", satea.compile_fleet(generate_fleet(200, 20, seed=1, capacity=True))),
    ("real window 50x1213", satea.compile_fleet(read_instance(
        str(HERE / "instance.json")))),
]
try:
    cases.append(("gapd 1 (d05100)", compile_assignment(*read_orlib_gap_problem(
        str(HERE.parents[4] / "shared" / "data" / "gap" / "gapd.txt"), 1))))
except Exception as e:  # noqa: BLE001
    print("gap skipped", e, file=sys.stderr)
rows = []
for name, p in cases:
    for seed in (1, 2):
        st = satea.resolve_settings(p, seed=seed, time_limit=10)
        th, tc = st.schedule.t_hot, st.schedule.t_cold
        a = satea.anneal(p, seed=seed, time_limit=10)
        b = satea.anneal(p, seed=seed, time_limit=10, schedule=(10 * th, tc))
        rows.append(dict(case=name, seed=seed, t_hot=th, t_cold=tc, default=a.fun,
                         hot_x10=b.fun, ratio=b.fun / a.fun if a.fun else None))
        print(name, seed, f"{a.fun:.6g}", f"{b.fun:.6g}", f"{b.fun / a.fun:.4f}" if a.fun else "",
              flush=True)
json.dump(rows, open(HERE / "hot_probe.json", "w"), indent=1)
