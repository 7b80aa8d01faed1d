"""The type hints: mypy checks the package clean, with pyproject.toml's [tool.mypy] settings."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_checks_the_package_clean():
    pytest.importorskip("mypy")
    # run from the repo root, as plain `mypy` there would be: its default .mypy_cache
    # (git-ignored) keeps reruns incremental, seconds instead of a cold check
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file",
                        str(ROOT / "pyproject.toml"), str(ROOT / "satea")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"mypy found problems:\n{r.stdout}{r.stderr}"
