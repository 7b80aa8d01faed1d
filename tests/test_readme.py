"""The README's Python tour runs as written."""
import re
import subprocess
import sys
import types
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks, "the README has no Python block"
    monkeypatch.chdir(tmp_path)          # the tour writes result.json
    for code in blocks:
        namespace = {}
        exec(compile(code, str(README), "exec"), namespace)
    assert (tmp_path / "result.json").is_file()
    r = namespace["r"]
    assert r.feasible and r.settings.stop == "converged"
    assert r.stopped_by in ("converged", "sweeps")
    assert namespace["r2"].stopped_by == "time_limit"


def test_reprs_are_short():
    import numpy as np

    import satea
    p = satea.compile_assignment(np.arange(600.0).reshape(200, 3))
    r = satea.anneal(p, backend="numba", seed=0, chains=2, sweeps=3)
    for obj in (p, r):
        text = repr(obj)
        assert len(text) < 200 and "array" not in text, text
    assert "n_jobs=200" in repr(p) and "fun=" in repr(r)


def test_ci_runs_the_readmes_test_command():
    """CI runs the README's test command as written (and demands the PTX compile)."""
    ci = (README.parent / ".ci" / "run").read_text()
    cmd = re.search(r"what CI runs\):\n\n    (.+)\n", README.read_text()).group(1)
    assert cmd.startswith("pip install -e '.[test,ptx]'")
    assert cmd in ci.splitlines()
    assert "export SATEA_REQUIRE_PTX=1" in ci


def test_public_api_is_all_and_typed():
    """``satea.__all__`` is what ``import *`` gives, every name exists, the README's
    list of public names is in it, and the package ships its ``py.typed`` marker."""
    import satea
    assert len(set(satea.__all__)) == len(satea.__all__)
    star: dict = {}
    exec("from satea import *", star)
    assert set(star) - {"__builtins__"} == set(satea.__all__)
    # each name is the function or class, never a submodule of the same name (satea.pareto),
    # in this process and in a fresh one whatever the import order
    assert not any(isinstance(star[n], types.ModuleType) for n in satea.__all__)
    code = ("import types, satea.pareto, satea; from satea import *; "
            "bad = [n for n in satea.__all__ if isinstance(globals()[n], types.ModuleType)]; "
            "assert not bad, bad; assert callable(satea.pareto)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    text = README.read_text()
    para = text[text.index("The public API is"):text.index("## Layout")]
    named = {n for n in re.findall(r"`(\w+)`", para)}
    assert named and named <= set(satea.__all__), named - set(satea.__all__)
    assert (Path(satea.__file__).parent / "py.typed").is_file()
    cfg = (README.parent / "setup.cfg").read_text()
    assert re.search(r"\[options\.package_data\]\nsatea = py\.typed", cfg)


def test_summary_of_a_baseline_has_no_chains():
    """str(result): chains, sweeps and acceptance for an annealer; a baseline's says its
    method and time only (not "1 chains x 0 sweeps")."""
    import satea
    from satea.generate import generate_fleet
    p = satea.compile_fleet(generate_fleet(12, 3, seed=0))
    r = satea.anneal(p, backend="numba", seed=0, chains=2, sweeps=3)
    assert "2 chains x 3 sweeps" in str(r) and "acceptance" in str(r)
    g = satea.solve_baseline(p, "greedy")
    text = str(g)
    assert "method greedy" in text and "chains" not in text and "sweeps" not in text
