"""What holds buy, at equal time: one instance solved with and without holds.

    python benchmarks/holds_runs.py --fleet generated [--slack 8,32] [--penalties none]
                                    [--load 0.8] [--seeds 1,2,3] [--time-limit 30]
    python benchmarks/holds_runs.py --fleet trace [--seeds 1,2] [--time-limit 60]

``generated`` is issue 32's acceptance fleet as docs/quality.md ("What holds buy") reads
it: ``satea generate --jobs 1000 --servers 100 --seed 7 --hold-max 43200`` with every
server on the shipped DE-LU hourly price series from 2023-06-01 (``--load``,
``--penalties`` and ``--slack LO,HI`` pass to ``satea generate``: looser deadlines leave
room for the holds). ``trace`` is docs/data.md's import of the first 2,000 GPU tasks on
the shipped grid series with ``--hold-slack 1`` (each job may wait one run time). Both need
../shared/data (the script says so and exits 2 without it).

Each seed runs ``satea solve INSTANCE --time-limit T --seed S`` twice, alternating, with
``--hold-max 0`` (no holds) and with the instance's holds, one run at a time; every result
is re-scored with ``satea evaluate`` (which must give the same objective: the script
fails otherwise). Prints a Markdown table (objective, energy, carbon, penalty, jobs held)
and writes JSON to ``--json``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GRID = DATA / "grid" / "DE-LU-2023"
TRACE = DATA / "traces" / "alibaba-gpu-v2023"
START = "2023-06-01T00:00:00+00:00"
PRICES = ["--prices", str(GRID / "prices_hourly.csv"), "--price-column", "Price (USD/MWh)"]
CARBON = ["--carbon", str(GRID / "carbon_intensity_hourly.csv"),
          "--carbon-column", "Carbon Intensity gCO₂eq/kWh (direct)"]


def _satea(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "satea.cli", *args], capture_output=True,
                          text=True)


def build(fleet: str, out: Path, load: float, slack: str | None,
          penalties: str | None) -> list[str]:
    """Write the instance to ``out``; return the command that wrote it."""
    if fleet == "generated":
        cmd = ["generate", "--jobs", "1000", "--servers", "100", "--seed", "7",
               "--hold-max", "43200", "--load", str(load), *PRICES, "--start", START,
               *(["--slack", slack] if slack else []),
               *(["--penalties", penalties] if penalties else []), "--out", str(out)]
    else:
        cmd = ["import", "alibaba-gpu-v2023",
               "--nodes", str(TRACE / "openb_node_list_gpu_node.csv"),
               "--pods", str(TRACE / "openb_pod_list_default.csv"),
               "--gpu-map", "G2=A100,G3=A10", "--first", "2000", *PRICES, *CARBON,
               "--start", START, "--carbon-price", "0.1", "--hold-slack", "1",
               "--out", str(out)]
    p = _satea(*cmd)
    if p.returncode != 0:
        raise SystemExit(f"holds_runs: satea {' '.join(cmd)} failed: {p.stderr.strip()}")
    return ["satea", *cmd]


def run(inst: Path, out: Path, seed: int, time_limit: float, holds: bool) -> dict[str, Any]:
    args = ["solve", str(inst), "--time-limit", str(time_limit), "--seed", str(seed),
            "--no-progress", "--out", str(out)] + ([] if holds else ["--hold-max", "0"])
    p = _satea(*args)
    if p.returncode not in (0, 1):
        raise SystemExit(f"holds_runs: satea {' '.join(args)} failed: {p.stderr.strip()}")
    d = json.loads(out.read_text())
    ev = _satea("evaluate", str(inst), str(out))
    if ev.returncode not in (0, 1):
        raise SystemExit(f"holds_runs: satea evaluate {out.name} failed: {ev.stderr.strip()}")
    again = json.loads(ev.stdout)["objective"]
    if again != d["objective"]:
        raise SystemExit(f"holds_runs: {out.name} re-scores to {again}, not {d['objective']}")
    held = sum(1 for v in (d.get("holds") or {}).values() if v > 0)
    return dict(seed=seed, holds=holds, objective=d["objective"],
                energy_cost=d["energy_cost"], carbon_kg=d.get("carbon_kg"),
                penalty=d["penalty"], held_jobs=held, sweeps=d["sweeps"],
                seconds=d["seconds"], rescored=again)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fleet", choices=("generated", "trace"), default="generated")
    ap.add_argument("--seeds", default=None, help="comma-separated (default 1,2,3 / 1,2)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds a run (default 30 generated, 60 trace)")
    ap.add_argument("--load", type=float, default=0.8, help="generated fleet's load")
    ap.add_argument("--slack", default=None, metavar="LO,HI",
                    help="generated fleet's deadline slack (satea generate --slack; default "
                         "the generator's 1.25,4)")
    ap.add_argument("--penalties", default=None, metavar="KINDS",
                    help="generated fleet's penalty kinds (satea generate --penalties; "
                         "none: no deadlines)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if not GRID.is_dir() or (a.fleet == "trace" and not TRACE.is_dir()):
        print(f"holds_runs: needs ../shared/data ({DATA} not found)", file=sys.stderr)
        return 2
    seeds = [int(s) for s in (a.seeds or ("1,2,3" if a.fleet == "generated" else "1,2"))
             .split(",")]
    tl = a.time_limit or (30.0 if a.fleet == "generated" else 60.0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        inst = Path(tmp) / "instance.json"
        made_by = build(a.fleet, inst, a.load, a.slack, a.penalties)
        for s in seeds:
            for holds in (False, True):
                rows.append(run(inst, Path(tmp) / f"r{s}{int(holds)}.json", s, tl, holds))
    print("| seed | holds | objective | energy | carbon kg | penalty | jobs held |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        kg = "-" if r["carbon_kg"] is None else f"{r['carbon_kg']:.1f}"
        print(f"| {r['seed']} | {'yes' if r['holds'] else 'no'} | {r['objective']:.4f} | "
              f"{r['energy_cost']:.4f} | {kg} | {r['penalty']:.4f} | {r['held_jobs']} |")
    for s in seeds:
        no, yes = (next(r for r in rows if r["seed"] == s and r["holds"] == h)
                   for h in (False, True))
        print(f"seed {s}: energy {100 * (yes['energy_cost'] / no['energy_cost'] - 1):+.2f}%, "
              f"objective {100 * (yes['objective'] / no['objective'] - 1):+.2f}%")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(fleet=a.fleet, instance=made_by,
                                                time_limit=tl, runs=rows), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
