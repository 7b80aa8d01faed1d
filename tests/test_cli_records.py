"""What a result file records of its run, and what evaluate, report and --repeat do with it:
a result's lambda is checked as --lambda is, --constant-prices and pareto's --hold-max are
recorded and applied again, --repeat refuses --method."""
import json
import math

import pytest

from satea.cli import main
from satea.compile import compile_fleet
from satea.io import read_instance

#: tiny runs on the numpy backend (no compile); a fixed seed
RUN = ["--backend", "numpy", "--chains", "4", "--seed", "1"]


@pytest.fixture
def curve(tmp_path, capsys):
    """15 jobs x 4 servers, one server on the PJM price curve, slack enough to hold jobs."""
    inst = tmp_path / "curve.json"
    assert main(["generate", "--jobs", "15", "--servers", "4", "--seed", "9", "--slack",
                 "4,16", "--out", str(inst)]) == 0
    fleet = read_instance(inst)
    assert any(s.price_curve for s in fleet.servers)   # else constant prices change nothing
    capsys.readouterr()
    return inst


def _evaluate(capsys, inst, res, *extra):
    """``satea evaluate``'s exit status, its JSON (None when it printed none) and stderr."""
    capsys.readouterr()
    rc = main(["evaluate", str(inst), str(res), *extra])
    cap = capsys.readouterr()
    return rc, (json.loads(cap.out) if cap.out.strip() else None), cap.err


def _one_line_error(err, *needles):
    """``err`` (stderr, or pytest's capsys to read it from) is one error line holding
    every one of ``needles``."""
    if not isinstance(err, str):
        err = err.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satea: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# --- 1. a result file's lambda ------------------------------------------------------

@pytest.fixture
def greedy_result(curve, tmp_path, capsys):
    res = tmp_path / "g.json"
    assert main(["solve", str(curve), "--method", "greedy", "--out", str(res),
                 "--quiet"]) == 0
    capsys.readouterr()
    return res, json.loads(res.read_text())


BAD_LAMBDAS = [float("nan"), float("inf"), -1.0, 1e300, "x", True, [1.0]]


@pytest.mark.parametrize("bad", BAD_LAMBDAS, ids=repr)
def test_evaluate_refuses_a_bad_lambda_in_the_result(curve, greedy_result, tmp_path,
                                                     capsys, bad):
    _res, d = greedy_result
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**d, "lambda": bad}))   # NaN, Infinity as Python writes them
    rc, out, err = _evaluate(capsys, curve, path)
    assert rc == 2 and out is None
    _one_line_error(err, "lambda", repr(str(path)))


def test_evaluate_checks_the_result_lambda_by_the_rule_of_dash_lambda(curve, greedy_result,
                                                                      tmp_path, capsys):
    _res, d = greedy_result
    path = tmp_path / "lam.json"
    # the model's limit, as --lambda's: 1e15 taken, above it refused
    path.write_text(json.dumps({**d, "lambda": 1e15}))
    rc, out, _err = _evaluate(capsys, curve, path)
    assert rc in (0, 1) and out["lambda"] == 1e15
    path.write_text(json.dumps({**d, "lambda": 2e15}))
    rc, _out, err = _evaluate(capsys, curve, path)
    assert rc == 2
    _one_line_error(err, "lambda: expected at most 1e+15")
    with pytest.raises(SystemExit) as e:   # argparse's refusal: the same rule
        main(["evaluate", str(curve), str(path), "--lambda", "2e15"])
    assert e.value.code == 2
    _one_line_error(capsys, "--lambda: expected at most 1e+15")   # the same rule
    # a lambda of the command line replaces the file's: the file's is then not used
    path.write_text(json.dumps({**d, "lambda": float("nan")}))
    rc, out, _err = _evaluate(capsys, curve, path, "--lambda", "0.5")
    assert rc == 0 and out["lambda"] == 0.5 and math.isfinite(out["objective"])
    # no lambda in the file: the instance's, as before
    path.write_text(json.dumps({k: v for k, v in d.items() if k != "lambda"}))
    rc, out, _err = _evaluate(capsys, curve, path)
    assert rc == 0 and out["lambda"] == read_instance(curve).lam


def test_report_of_a_result_without_lambda_uses_the_instances(curve, greedy_result,
                                                               tmp_path, capsys):
    # "lambda": null passed the check (none recorded) and then raised a TypeError in the
    # report's float(lambda)
    _res, d = greedy_result
    path, out = tmp_path / "nolam.json", tmp_path / "rep"
    path.write_text(json.dumps({**d, "lambda": None}))
    assert main(["report", str(curve), str(path), "--out", str(out)]) == 0
    assert (out / "index.html").exists()


@pytest.mark.parametrize("bad", [float("nan"), -1.0, "x"], ids=repr)
def test_report_refuses_a_bad_lambda_in_the_result(curve, greedy_result, tmp_path, capsys,
                                                   bad):
    _res, d = greedy_result
    path, out = tmp_path / "bad.json", tmp_path / "rep"
    path.write_text(json.dumps({**d, "lambda": bad}))
    assert main(["report", str(curve), str(path), "--out", str(out)]) == 2
    _one_line_error(capsys, "lambda", repr(str(path)))
    assert not (out / "index.html").exists()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, -0.0001, "x", None, True])
def test_with_lambda_refuses_what_is_not_a_finite_weight_ge_0(bad):
    from satea.catalogue import example_fleet
    p = compile_fleet(example_fleet())
    with pytest.raises(ValueError, match="lambda"):
        p.with_lambda(bad)
    if bad is not None:   # compile_fleet's lam: the same rule (None there: the fleet's)
        with pytest.raises(ValueError, match="lambda"):
            compile_fleet(example_fleet(), lam=bad)


def test_with_lambda_takes_finite_weights_ge_0():
    from satea.catalogue import example_fleet
    p = compile_fleet(example_fleet())
    assert p.with_lambda(0).lam == 0.0 and p.with_lambda(2.5).lam == 2.5
    assert p.with_lambda(1e15).lam == 1e15


# --- 2. --constant-prices recorded ----------------------------------------------------

@pytest.fixture
def constant(curve, tmp_path, capsys):
    res = tmp_path / "cc.json"
    assert main(["solve", str(curve), "--constant-prices", *RUN, "--sweeps", "200",
                 "--out", str(res), "--quiet"]) == 0
    capsys.readouterr()
    return res, json.loads(res.read_text())


def test_constant_prices_are_recorded_and_evaluate_applies_them(curve, constant, tmp_path,
                                                                 capsys):
    res, d = constant
    assert d["constant_prices"] is True
    rc, ev, _err = _evaluate(capsys, curve, res)
    assert rc == 0 and ev["objective"] == d["objective"]   # exactly the solve's
    assert ev["constant_prices"] is True and ev["instance"] == d["instance"]
    # a result of before the record (none): the price curves, as before, and they differ
    old = tmp_path / "old.json"
    old.write_text(json.dumps({k: v for k, v in d.items() if k != "constant_prices"}))
    rc, ev_old, _err = _evaluate(capsys, curve, old)
    assert rc == 0 and "constant_prices" not in ev_old
    assert ev_old["objective"] != d["objective"]
    # a solve without the flag records nothing
    plain = tmp_path / "plain.json"
    assert main(["solve", str(curve), *RUN, "--sweeps", "20", "--out", str(plain),
                 "--quiet"]) == 0
    assert "constant_prices" not in json.loads(plain.read_text())


def test_a_bad_constant_prices_record_is_refused(curve, constant, tmp_path, capsys):
    _res, d = constant
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**d, "constant_prices": "yes"}))
    rc, _out, err = _evaluate(capsys, curve, bad)
    assert rc == 2
    _one_line_error(err, "constant_prices")


def test_repeat_of_a_constant_prices_run_repeats_it(curve, constant, tmp_path, capsys):
    res, d = constant
    rep = tmp_path / "rep.json"
    assert main(["solve", str(curve), "--repeat", str(res), "--out", str(rep),
                 "--quiet"]) == 0
    r = json.loads(rep.read_text())
    assert (r["assignment"], r.get("holds"), r["objective"], r["instance"]) == (
        d["assignment"], d.get("holds"), d["objective"], d["instance"])
    assert "warning" not in capsys.readouterr().err   # the same instance, no name mismatch
    assert r["constant_prices"] is True
    # given again, the flag is refused like every run flag --repeat repeats
    assert main(["solve", str(curve), "--repeat", str(res), "--constant-prices",
                 "--quiet"]) == 2
    _one_line_error(capsys, "--constant-prices", "--repeat")


def test_repeat_of_a_constant_prices_run_of_the_built_in_example(tmp_path, capsys):
    res, rep = tmp_path / "ex.json", tmp_path / "rep.json"
    assert main(["solve", "--constant-prices", *RUN, "--sweeps", "20", "--out", str(res),
                 "--quiet"]) == 0
    assert main(["solve", "--repeat", str(res), "--out", str(rep), "--quiet"]) == 0
    a, b = json.loads(res.read_text()), json.loads(rep.read_text())
    assert (a["assignment"], a["objective"]) == (b["assignment"], b["objective"])


def test_report_applies_the_recorded_constant_prices(curve, constant, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    res, d = constant
    out = tmp_path / "rep"
    assert main(["report", str(curve), str(res), "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    assert f"{d['objective']:.6g}" in page
    _rc, ev_old, _err = _evaluate(capsys, curve, _without(tmp_path, d, "constant_prices"))
    assert f"{ev_old['objective']:.6g}" not in page


def _without(tmp_path, d, key):
    p = tmp_path / f"without-{key}.json"
    p.write_text(json.dumps({k: v for k, v in d.items() if k != key}))
    return p


def test_batch_records_constant_prices(curve, tmp_path, capsys):
    other = tmp_path / "other.json"
    assert main(["generate", "--jobs", "6", "--servers", "3", "--seed", "2",
                 "--out", str(other)]) == 0
    out = tmp_path / "res"
    assert main(["solve", str(curve), str(other), "--constant-prices", *RUN, "--sweeps",
                 "20", "--out-dir", str(out), "--quiet"]) == 0
    for inst in (curve, other):
        res = out / f"{inst.stem}.json"
        d = json.loads(res.read_text())
        assert d["constant_prices"] is True
        rc, ev, _err = _evaluate(capsys, inst, res)
        assert rc == 0 and ev["objective"] == d["objective"]


# --- 3. pareto --hold-max recorded -------------------------------------------------------

@pytest.fixture
def held_front(curve, tmp_path, capsys):
    front = tmp_path / "front.json"
    assert main(["pareto", str(curve), "--hold-max", "5000", "--points", "3", "--sweeps",
                 "200", "--backend", "numpy", "--seed", "0", "--out", str(front),
                 "--quiet"]) in (0, 1)
    capsys.readouterr()
    f = json.loads(front.read_text())
    points = []
    for k, q in enumerate(f["points"]):
        p = tmp_path / f"pt{k}.json"
        p.write_text(json.dumps(q))
        points.append((p, q))
    assert any(q.get("holds") for _p, q in points)   # else the allowance is never needed
    return front, f, points


def test_pareto_records_hold_max_in_the_front_and_its_points(held_front):
    _front, f, points = held_front
    assert f["run"]["hold_max_s"] == 5000.0
    assert all(q["hold_max_s"] == 5000.0 for _p, q in points)


def test_evaluate_of_a_pareto_point_applies_its_hold_max(curve, held_front, capsys):
    _front, _f, points = held_front
    for p, q in points:
        rc, ev, _err = _evaluate(capsys, curve, p)
        assert rc == (0 if q["feasible"] else 1)
        assert ev["objective"] == pytest.approx(q["objective"], rel=1e-12)
        assert ev["lambda"] == q["lambda"]


def test_warm_start_from_a_pareto_point_names_its_hold_max(curve, held_front, tmp_path,
                                                           capsys):
    _front, _f, points = held_front
    p, _q = next((p, q) for p, q in points if q.get("holds"))
    out = tmp_path / "w.json"
    # the new run's allowance is the command line's: the point's run had 5000 s
    assert main(["solve", str(curve), "--warm-start", str(p), *RUN, "--sweeps", "5",
                 "--quiet"]) == 2
    _one_line_error(capsys, "--warm-start", "--hold-max 5000: give it too")
    assert main(["solve", str(curve), "--warm-start", str(p), "--hold-max", "5000", *RUN,
                 "--sweeps", "5", "--out", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["hold_max_s"] == 5000.0


def test_report_of_a_pareto_point_and_its_front(curve, held_front, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    front, _f, points = held_front
    p, q = next((p, q) for p, q in points if q.get("holds"))
    out = tmp_path / "rep"
    assert main(["report", str(curve), str(p), "--front", str(front), "--out",
                 str(out)]) == 0
    assert f"{q['objective']:.6g}" in (out / "index.html").read_text()


# --- 4. --repeat refuses --method -------------------------------------------------------

@pytest.mark.parametrize("method", ["greedy", "greedy-hold", "random", "milp"])
def test_repeat_refuses_a_baseline_method(curve, constant, tmp_path, capsys, method):
    res, _d = constant
    out = tmp_path / "m.json"
    assert main(["solve", str(curve), "--repeat", str(res), "--method", method,
                 "--out", str(out)]) == 2
    _one_line_error(capsys, "--method", "--repeat")
    assert not out.exists()
    # --method anneal (the default) is what --repeat runs
    assert main(["solve", str(curve), "--repeat", str(res), "--method", "anneal",
                 "--out", str(out), "--quiet"]) == 0


def test_a_huge_recorded_value_is_cut_in_the_error(curve, greedy_result, tmp_path, capsys):
    # the value was echoed whole: a megabyte on one line
    _res, d = greedy_result
    path = tmp_path / "huge.json"
    for field in ("lambda", "constant_prices"):
        path.write_text(json.dumps({**d, field: "x" * 1_000_000}))
        assert main(["evaluate", str(curve), str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and field in err and len(err) < 600, err[:300]
        assert "1,000,000 characters" in err
