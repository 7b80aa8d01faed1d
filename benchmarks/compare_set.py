"""The shipped benchmark set of ``satea compare`` (docs/quality.md, "Methods side by side").

Writes generated fleets (constant prices, step and linear penalties, capacities: what
every method of ``satea compare`` models) of three sizes, each with its releases and with
every release set to 0, into ``--out`` (seeded: the same files every time), and prints the
instance arguments of ``satea compare``: those files plus the small OR-Library C and D
problems (5 x 100, ``gapc.txt:1``, ``gapd.txt:1``) from ../shared/data/gap when present,
else from tests/data/gap.

    python benchmarks/compare_set.py --out bench_set
    satea compare $(python benchmarks/compare_set.py --out bench_set --print) \\
        --budgets 1,5 --seeds 2 --out cmp
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from satea.generate import generate_fleet
from satea.io import write_instance

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((20, 4), (50, 6), (100, 10))
SEED = 31


def gap_dir() -> Path:
    shared = ROOT.parent / "shared" / "data" / "gap"
    return shared if (shared / "gapd.txt").is_file() else ROOT / "tests" / "data" / "gap"


def write_set(out: Path, sizes=SIZES, seed: int = SEED) -> list[str]:
    """Write the fleets; return the instance arguments (fleets, then GAP C and D)."""
    out.mkdir(parents=True, exist_ok=True)
    args = []
    for n, m in sizes:
        fleet = generate_fleet(n, m, seed=seed, penalties=("step", "linear"), capacity=True,
                               price_curve_fraction=0.0)
        for tag, f in (("rel", fleet), ("norel", dataclasses.replace(
                fleet, name=f"{fleet.name}-norel",
                jobs=tuple(dataclasses.replace(j, release_s=0.0) for j in fleet.jobs)))):
            path = out / f"fleet{n}x{m}-{tag}.json"
            write_instance(f, path)
            args.append(str(path))
    g = gap_dir()
    args += [f"{g / 'gapc.txt'}:1", f"{g / 'gapd.txt'}:1"]
    return args


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="bench_set", help="folder for the fleets")
    ap.add_argument("--print", action="store_true",
                    help="print the instance arguments on one line (for $(...))")
    a = ap.parse_args()
    args = write_set(Path(a.out))
    print(" ".join(args) if a.print else "\n".join(args))


if __name__ == "__main__":
    main()
