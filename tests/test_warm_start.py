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
    assert b["warm_start"]["path"] == str(res) and len(b["warm_start"]["sha256"]) == 64
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
    # nor would the run repeated from another start (a short cold run's answer: another
    # assignment; b itself may be the start again, which a run keeps until it beats it)
    other = tmp_path / "other.json"
    main(["solve", str(inst), "--seed", "5", "--chains", "2", "--sweeps", "2",
          "--out", str(other), "--quiet"])
    assert json.loads(other.read_text())["assignment"] != _d["assignment"]
    capsys.readouterr()
    assert main(["solve", str(inst), "--repeat", str(b), "--warm-start", str(other),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not the start the run of" in err[0], err


def test_holds_within_the_evaluators_tolerance_start_on_the_allowance(solved, tmp_path,
                                                                        capsys):
    inst, res, d = solved
    j = next(iter(d["holds"]))
    over = tmp_path / "over.json"
    over.write_text(json.dumps({**d, "holds": {**d["holds"], j: 7200.0 * (1 + 1e-10)}}))
    out = tmp_path / "b.json"
    assert main(["solve", str(inst), "--seed", "2", *_cold(),
                 "--warm-start", str(over), "--out", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["holds"].get(j, 0.0) <= 7200.0


def test_a_result_of_another_instance_is_named(solved, tmp_path, capsys):
    inst, res, _d = solved
    other = tmp_path / "g.json"   # the same fleet under another name: every name fits
    other.write_text(json.dumps({**json.loads(inst.read_text()), "name": "other"}))
    capsys.readouterr()
    assert main(["solve", str(other), "--sweeps", "5", "--warm-start", str(res),
                 "--quiet"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and "'generated-30x4-seed3'" in err[0]
    # a job the other fleet cannot run where the result put it: refused, both named
    g = tmp_path / "g4.json"
    assert main(["generate", "--jobs", "30", "--servers", "4", "--seed", "4", "--hold-max",
                 "7200", "--out", str(g)]) == 0
    capsys.readouterr()
    assert main(["solve", str(g), "--sweeps", "5", "--warm-start", str(res), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot run it" in err[0] and "seed4" in err[0], err


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
    # recorded in the result file as for annealing
    out = tmp_path / "c.json"
    main(["solve", str(inst), "--hold-max", "0", "--method", "cpsat", "--warm-start",
          str(plain), "--out", str(out), "--quiet"])
    assert json.loads(out.read_text())["warm_start"]["path"] == str(plain)


@pytest.mark.parametrize("case,needle", [
    ("method", "--warm-start applies to --method anneal and cpsat"),
    ("holds", "holds: job "),
    ("forbidden", "--warm-start: result file"),
    ("unknown_job", "assignment: unknown job 'nope'"),
    ("not_a_name", "assignment: job 'j0': expected a server name, got ['s0']"),
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
    elif case == "not_a_name":
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**d, "assignment": {**d["assignment"], "j0": ["s0"]}}))
        args[-1] = str(bad)
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
