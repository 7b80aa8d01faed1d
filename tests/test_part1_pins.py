"""Part-1 answers unchanged by part 2 (multi-GPU nodes): the same seed, backend and chains
give exactly the assignment and objective commit cae6ae5 gave (tests/part1_pins.py)."""
import json
from pathlib import Path

import pytest

from part1_pins import CASES, run

PINS = json.loads((Path(__file__).resolve().parent / "data" / "part1_pins.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_part1_result_as_before(case):
    got, want = run(case), PINS[case[0]]
    assert got["x"] == want["x"]
    assert got["fun"] == want["fun"]
    assert got["sweeps"] == want["sweeps"]
    assert got["chain_best"] == want["chain_best"]
