"""benchmarks/dask_scaling.py keeps running: a tiny case of it (one sweep, one round, two
overhead calls) on its two LocalClusters, so a change of the distributed path that the
script does not follow fails here rather than at the next measurement."""
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "dask_scaling.py"


@pytest.mark.slow
def test_dask_scaling_script_runs_a_tiny_case():
    pytest.importorskip("distributed")
    out = subprocess.run([sys.executable, str(SCRIPT), "1", "1", "2"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    sizes = [ln for ln in lines if ln.startswith("shard result 64 chains")]
    assert len(sizes) == 2 and all(int(ln.split(": ")[1].split()[0]) > 0 for ln in sizes)
    assert sum(ln.startswith("round 0: ") for ln in lines) == 2     # 1 and 2 workers
    assert any(ln.startswith("median moves/s: 1 worker") for ln in lines)
    assert any("median of 2: anneal" in ln and "overhead" in ln for ln in lines)
    assert lines[-1].startswith("reference: in-process anneal, 64 chains")
