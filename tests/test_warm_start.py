"""`satea solve --warm-start RESULT`: a result file's assignment (and holds) as the start."""
import json

import pytest

from satea.cli import main


@pytest.fixture
def solved(tmp_path, capsys):
    """A 30 x 4 fleet whose jobs may be held 2 h, and an annealed result with holds."""
    inst, res = tmp_path / "f.json", tmp_path / "a.json"
    assert main(["generate", "--jobs", "30", "--servers", "4", "--seed", "3", "--hold-max",
                 "7200", "--out", str(inst)]) == 0
    assert main(["solve", str(inst), "--seed", "1", "--chains", "8", "--sweeps", "300",
                 "--out", str(res), "--quiet"]) == 0
    capsys.readouterr()
    d = json.loads(res.read_text())
    assert d["holds"]   # the start holds jobs: a warm start must carry them
    return inst, res, d


def _cold(*extra):
    """One sweep at a temperature where no uphill move of this fleet is accepted."""
    return ["--chains", "4", "--sweeps", "1", "--t-hot", "1e-12", "--t-cold", "1e-13", *extra]


def test_cold_run_from_a_warm_start_keeps_its_answer(solved, tmp_path, capsys):
    inst, res, d = solved
    out, ref = tmp_path / "b.json", tmp_path / "c.json"
    assert main(["solve", str(inst), "--seed", "2", *_cold(), "--warm-start", str(res),
                 "--out", str(out), "--quiet"]) == 0
    b = json.loads(out.read_text())
    # only downhill moves from the start: never worse than it
    assert b["objective"] <= d["objective"] * (1 + 1e-12)
    assert b["settings"]["x0_given"] and b["settings"]["holds0_given"]
    assert b["run"]["warm_start"] == str(res)
    # the same run from a random start ends far higher (so the start was used)
    main(["solve", str(inst), "--seed", "2", *_cold(), "--out", str(ref), "--quiet"])
    assert json.loads(ref.read_text())["objective"] > 1.5 * d["objective"]


def test_repeat_of_a_warm_started_run_needs_the_warm_start(solved, tmp_path, capsys):
    inst, res, _d = solved
    b, c = tmp_path / "b.json", tmp_path / "c.json"
    main(["solve", str(inst), "--seed", "2", "--chains", "4", "--sweeps", "40",
          "--warm-start", str(res), "--out", str(b), "--quiet"])
    capsys.readouterr()
    assert main(["solve", str(inst), "--repeat", str(b), "--out", str(c), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give the same --warm-start RESULT again" in err[0]
    assert main(["solve", str(inst), "--repeat", str(b), "--warm-start", str(res),
                 "--out", str(c), "--quiet"]) == 0
    rb, rc = json.loads(b.read_text()), json.loads(c.read_text())
    assert (rc["assignment"], rc["holds"], rc["objective"]) == (
        rb["assignment"], rb["holds"], rb["objective"])
    # a cold run repeated with a warm start would not be the same run
    capsys.readouterr()
    assert main(["solve", str(inst), "--repeat", str(res), "--warm-start", str(b),
                 "--quiet"]) == 2
    assert "started without one" in capsys.readouterr().err


def test_cpsat_gets_the_warm_start_as_its_hint(solved, tmp_path, monkeypatch, capsys):
    import numpy as np

    import satea.baselines as bl
    from satea.compile import compile_fleet
    from satea.io import read_instance
    from satea.result import assignment_from_names
    inst, res, d = solved
    seen = {}
    real = bl.solve_baseline

    def fake(problem, method, **kw):   # what the CLI passes; OR-Tools not needed
        seen.update(kw, method=method)
        return real(problem, "greedy", seed=kw["seed"])
    monkeypatch.setattr(bl, "solve_baseline", fake)
    # cpsat refuses holds: a start without them (--hold-max 0 and a hold-free result)
    plain = tmp_path / "p.json"
    plain.write_text(json.dumps({**d, "holds": {}}))
    assert main(["solve", str(inst), "--hold-max", "0", "--method", "cpsat",
                 "--warm-start", str(plain), "--quiet"]) in (0, 1)
    problem = compile_fleet(read_instance(str(inst)))
    assert seen["method"] == "cpsat"
    np.testing.assert_array_equal(seen["hint"], assignment_from_names(problem,
                                                                      d["assignment"]))


@pytest.mark.parametrize("case,needle", [
    ("method", "--warm-start applies to --method anneal and cpsat"),
    ("holds", "holds: job "),
    ("forbidden", "which cannot run it"),
    ("unknown_job", "assignment: unknown job 'nope'"),
    ("several", "--warm-start takes one problem"),
])
def test_bad_warm_start_one_line_exit_2(case, needle, solved, tmp_path, capsys):
    inst, res, d = solved
    args = ["solve", str(inst), "--sweeps", "5", "--quiet", "--warm-start", str(res)]
    if case == "method":
        args += ["--method", "greedy"]
    elif case == "holds":   # the result holds jobs that may not wait now
        args += ["--hold-max", "0"]
    elif case == "forbidden":   # a job on a server that has no profile of its model
        f = json.loads(inst.read_text())
        j = f["jobs"][0]
        f["profiles"] = [p for p in f["profiles"]
                         if not (p["model"] == j["model"]
                                 and p["gpu"] == next(s["gpu"] for s in f["servers"]
                                                      if s["name"] == d["assignment"][j["name"]]))]
        inst.write_text(json.dumps(f))
    elif case == "unknown_job":
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**d, "assignment": {**d["assignment"], "nope": "s0"}}))
        args[-1] = str(bad)
    elif case == "several":
        other = tmp_path / "g.json"
        other.write_bytes(inst.read_bytes())
        args[1:2] = [str(inst), str(other)]
        args += ["--out-dir", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
