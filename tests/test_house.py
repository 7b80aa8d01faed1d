"""The house rules of the code, checked: no private name crosses a module boundary, and the
run options are written once (:class:`satea.settings.RunOptions`)."""
import ast
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = sorted([*ROOT.glob("satea/*.py"), *ROOT.glob("satea/backends/*.py"),
                  *ROOT.glob("kernels/*.py")])

#: private names other engineers' modules still import across modules, each to be renamed
#: (or kept inside its module) by its owner; the lead empties this list after merging.
#: Entries: "path: name".
ALLOWED: set[str] = set()


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def module_names(tree: ast.Module) -> set[str]:
    """The names a module binds to other modules (``import a.b as m``, ``from . import m``)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module is None or node.level == 0
                                                   and node.module == "satea"):
            out.update(a.asname or a.name for a in node.names)
    return out


def crossings(path: Path, root: Path = ROOT) -> list[str]:
    """``from M import _x`` and ``m._x`` on an imported module ``m``, as "path:line: text"."""
    tree = ast.parse(path.read_text(), str(path))
    rel = path.relative_to(root).as_posix()
    mods = module_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            src = "." * node.level + (node.module or "")
            found += [f"{rel}:{node.lineno}: from {src} import {a.name}"
                      for a in node.names if private(a.name)]
        elif (isinstance(node, ast.Attribute) and private(node.attr)
              and isinstance(node.value, ast.Name) and node.value.id in mods):
            found.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr}")
    return [f for f in found if f"{rel}: {f.rsplit(' ', 1)[-1].split('.')[-1]}" not in ALLOWED]


def test_no_private_name_crosses_a_module():
    assert len(PACKAGE) > 30
    found = [f for p in PACKAGE for f in crossings(p)]
    assert found == [], "\n".join(found)


def test_no_satea_module_imports_a_private_name_from_kernels():
    found = []
    for p in PACKAGE:
        if p.parent.name == "kernels":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and "kernels" in (node.module or ""):
                found += [f"{p.name}: {a.name}" for a in node.names if private(a.name)]
    assert found == []


def test_the_scan_sees_a_crossing(tmp_path):
    """The scan itself finds both kinds (it can fail)."""
    probe = tmp_path / "satea" / "m.py"
    probe.parent.mkdir()
    probe.write_text("from .plots import _hidden\nfrom . import report\nreport._inner()\n"
                     "from ..kernels.layout import _slot\n")
    assert sorted(f.split(": ", 1)[1] for f in crossings(probe, tmp_path)) == [
        "from ..kernels.layout import _slot", "from .plots import _hidden", "report._inner"]


def test_run_keywords_are_the_options_fields():
    """anneal and anneal_batch take exactly RunOptions' fields as keywords, with its
    defaults, besides their own (callback, settings): the options are written once."""
    from satea.annealing import anneal, anneal_batch
    from satea.settings import RunOptions
    want = {f.name: f.default for f in dataclasses.fields(RunOptions)}
    for fn in (anneal, anneal_batch):
        params = inspect.signature(fn).parameters
        got = {k: p.default for k, p in params.items()
               if p.kind is p.KEYWORD_ONLY and k not in ("callback", "settings")}
        assert got == want, fn.__name__


def test_options_of_takes_only_its_fields():
    from satea.settings import RunOptions
    o = RunOptions.of({"chains": 4, "seed": 2, "problem": object(), "callback": None})
    assert (o.chains, o.seed, o.stop) == (4, 2, "auto")
    with pytest.raises(TypeError):
        RunOptions(chainz=4)


def test_a_chain_range_is_that_shard_of_the_run():
    """A range of resolved settings runs exactly those chains of the run (streams, lambdas,
    temperature scales, warm starts sliced); coupled strategies refuse to split."""
    from satea.annealing import anneal
    from satea.catalogue import example_fleet
    from satea.compile import compile_fleet
    from satea.settings import resolve_settings
    p = compile_fleet(example_fleet())
    x0 = anneal(p, backend="numba", chains=6, sweeps=2, seed=9, strategy="independent").x
    st = resolve_settings(p, backend="numba", chains=6, sweeps=30, seed=4, chain_offset=2,
                          lam=np.linspace(0.5, 1.5, 6), t_scale=np.linspace(1, 2, 6), x0=x0,
                          strategy="independent")
    part = st.chain_range(2, 3)
    assert (part.chains, part.chain_offset) == (3, 4)
    assert np.array_equal(part.lam, st.lam[2:5]) and np.array_equal(part.t_scale,
                                                                    st.t_scale[2:5])
    whole, shard = anneal(p, settings=st), anneal(p, settings=part)
    np.testing.assert_array_equal(shard.chain_best, whole.chain_best[2:5])
    np.testing.assert_array_equal(shard.samples, whole.samples[2:5])
    with pytest.raises(ValueError, match="outside the run's 6 chains"):
        st.chain_range(4, 3)
    coupled = resolve_settings(p, backend="numba", chains=4, sweeps=10, seed=0,
                               strategy="population")
    with pytest.raises(ValueError, match="strategy: 'population' couples the chains"):
        coupled.chain_range(0, 2)


def test_backend_traits_drive_the_budget_policies():
    """The policies that depended on ``cls.name == "numba"`` read traits instead."""
    import numba

    from satea.backends import backend_class
    from satea.distributed import sweep_weight
    assert [backend_class(n).budget_from_sizing_rate for n in ("numpy", "numba", "cuda")] == \
        [False, True, False]
    threads = numba.get_num_threads()
    assert backend_class("numba").chains_side_by_side() == threads
    assert sweep_weight(2 * threads + 1, "numba") == 3.0
    assert sweep_weight(5, "numpy") == 5.0 and sweep_weight(5, "cuda") == 1.0


def test_ci_lints_and_type_checks_before_the_tests():
    """.ci/run runs ruff (on the four trees) and mypy (its files from pyproject.toml) and
    only then the tests; pyproject.toml configures both."""
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    at = {k: next(i for i, ln in enumerate(lines) if ln.startswith(k))
          for k in ("ruff check", "python -m mypy", "pip install -e '.[test,ptx]' &&")}
    assert at["ruff check"] < at["python -m mypy"] < at["pip install -e '.[test,ptx]' &&"]
    assert lines[at["ruff check"]].endswith("satea kernels benchmarks tests")
    conf = (ROOT / "pyproject.toml").read_text()
    assert "[tool.ruff.lint]" in conf
    assert 'files = ["satea", "kernels", "benchmarks", "tests"]' in conf
