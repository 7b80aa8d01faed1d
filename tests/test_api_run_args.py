"""The run arguments of satea.anneal checked up front: bad input is a ValueError (or a
TypeError) naming the argument and its entry, nothing is silently coerced, and no NaN or
infinity reaches a result (satea.settings, satea.annealing)."""
import json
import math
import re

import numpy as np
import pytest

import satea
from satea.catalogue import example_fleet
from satea.compile import check_lambda
from satea.settings import check_lams, repeat_kwargs, resolve_settings

#: numpy backend, a given schedule (no sizing, so nothing compiles), a few sweeps
RUN = dict(backend="numpy", sweeps=10, chains=2, seed=1, schedule=(1.0, 0.1))


def short(v) -> str:
    """A test id: the value's repr, cut."""
    text = repr(v).replace("\n", "")
    return text if len(text) <= 24 else text[:21] + "..."


@pytest.fixture(scope="module")
def problem():
    """4 jobs x 3 servers; job j2 cannot run on server a2."""
    allowed = np.ones((4, 3), bool)
    allowed[1, 1] = False
    return satea.compile_assignment(np.arange(12.0).reshape(4, 3), allowed=allowed)


def refused(match, call, exc=ValueError):
    with pytest.raises(exc, match=match) as e:
        call()
    return str(e.value)


# -- 1. lam and t_scale ---------------------------------------------------------------------
@pytest.mark.parametrize("lam", [1.7e308, 1e16, math.inf, math.nan, -1.0, 10 ** 400, 1 + 1j,
                                 True, np.bool_(True), "1", [1.0]], ids=short)
def test_lam_follows_check_lambda(problem, lam):
    refused(r"^lam: ", lambda: satea.anneal(problem, lam=lam, **RUN))


def test_per_chain_lam_names_its_entry(problem):
    refused(r"^lam\[1\]: .*at most 1e\+15.*got 1\.7e\+308$",
            lambda: satea.anneal(problem, lam=[1.0, 1.7e308], **RUN))
    refused(r"^lam\[0\]: expected a number, got '1'$",
            lambda: satea.anneal(problem, lam=["1", 2.0], **RUN))
    refused(r"^lam\[1\]: expected a number, got True$",
            lambda: satea.anneal(problem, lam=[1.0, True], **RUN))
    refused(r"^lam\[1\]: ", lambda: satea.anneal(problem, lam=np.array([1.0, np.nan]), **RUN))


@pytest.mark.parametrize("v", [0, 0.0, 2.5, 1e15, np.float32(3.0), np.int64(7), -0.5, 1e15 * 1.01,
                               math.inf, math.nan, True, "2", 1j, 10 ** 400], ids=short)
def test_lam_rule_is_check_lambdas(v):
    """Each per-chain lambda is refused exactly when check_lambda refuses it."""
    try:
        check_lambda(v)
        ok = True
    except ValueError:
        ok = False
    if ok:
        assert check_lams(v, 2).tolist() == [float(v)] * 2
    else:
        with pytest.raises(ValueError, match="^lam: "):
            check_lams(v, 2)


def test_largest_lambda_runs_finite(problem):
    r = satea.anneal(problem, lam=1e15, **RUN)
    assert math.isfinite(r.fun)
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize("ts", [True, "1", 1 + 1j, [1.0, "2"], 1e-320, 0.0, math.inf],
                         ids=repr)
def test_t_scale_refuses_what_is_not_a_positive_number(problem, ts):
    refused(r"^t_scale(\[\d\])?: ",
            lambda: satea.anneal(problem, t_scale=ts, strategy="independent", **RUN))


# -- 2. settings= -----------------------------------------------------------------------------
def test_settings_refuse_other_run_arguments(problem):
    st = resolve_settings(problem, **RUN)
    msg = refused(r"^settings: .*leave out chains, seed",
                  lambda: satea.anneal(problem, settings=st, chains=5, seed=9))
    assert "x0" not in msg
    refused(r"leave out x0", lambda: satea.anneal(problem, settings=st, x0=[0, 0, 0, 0]))
    refused(r"leave out chains", lambda: satea.anneal_batch([problem], settings=[st], chains=3))
    # alone (and with a callback, which is no run argument) it runs as resolved
    seen = []
    a = satea.anneal(problem, settings=st, callback=lambda p: seen.append(p) and None)
    b = satea.anneal(problem, **RUN)
    assert seen and a.fun == b.fun and np.array_equal(a.x, b.x)
    assert a.settings.chains == 2 and a.settings.seed == 1


def test_settings_of_another_problem_are_refused(problem):
    st = resolve_settings(problem, **RUN)
    other = satea.compile_assignment(np.ones((5, 3)))
    refused(r"^settings: resolved for problem 'assignment' \(4 jobs, 3 servers\), not for "
            r"this one \('assignment', 5 jobs, 3 servers\)",
            lambda: satea.anneal(other, settings=st))
    renamed = satea.compile_assignment(np.ones((4, 3)), name="other")
    refused(r"not for this one \('other'", lambda: satea.anneal(renamed, settings=st))
    with_x0 = resolve_settings(problem, x0=[0, 0, 0, 0], **RUN)
    refused(r"^settings: resolved for problem",
            lambda: satea.anneal(satea.compile_assignment(np.ones((4, 2))), settings=with_x0))
    refused(r"^settings: resolved for problem",
            lambda: satea.anneal_batch([other], settings=[st]))
    refused(r"^settings: expected a RunSettings", lambda: satea.anneal(problem, settings={}),
            TypeError)


# -- 3. a Fleet ---------------------------------------------------------------------------------
def test_resolve_settings_takes_a_fleet():
    fleet = example_fleet()
    kw = dict(backend="numpy", sweeps=2, chains=1, seed=0, schedule=(1.0, 0.1), cap_weight=1.0)
    st = resolve_settings(fleet, **kw)
    a = satea.anneal(fleet, settings=st)
    b = satea.anneal(fleet, **kw)
    assert a.fun == b.fun and np.array_equal(a.x, b.x)
    refused(r"^problem: expected a Fleet or ProblemArrays, got str",
            lambda: resolve_settings("fleet.json", **kw), TypeError)


# -- 4. repeat_kwargs ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def record(problem):
    return json.loads(json.dumps(satea.anneal(problem, **RUN).to_dict()))


@pytest.mark.parametrize("part, field, bad, shown", [
    ("settings", "seed", 1.7, "1.7"), ("settings", "chains", 2.9, "2.9"),
    ("run", "sweeps_done", 19.9, "19.9"), ("run", "sweeps_done", "abc", "'abc'"),
    ("run", "sweeps_done", None, "None"), ("settings", "seed", "x", "'x'"),
    ("settings", "chains", True, "True"), ("settings", "chain_offset", "0", "'0'"),
    ("settings", "p_swap", "0.3", "'0.3'"),
])
def test_repeat_kwargs_names_a_bad_field(record, part, field, bad, shown):
    d = json.loads(json.dumps(record))
    d[part][field] = bad
    kind = "a number" if field == "p_swap" else "an integer"
    refused(f"^{part}.{field}: expected {kind}, got {re.escape(shown)}$",
            lambda: repeat_kwargs(d))


def test_repeat_kwargs_refuses_what_is_no_record(record):
    refused(r"^result: expected a record", lambda: repeat_kwargs([]))
    d = json.loads(json.dumps(record))
    d["run"]["schedule"]["sweeps_planned"] = 9.5
    refused(r"^run\.schedule\.sweeps_planned: expected an integer, got 9\.5$",
            lambda: repeat_kwargs(d))


def test_repeat_kwargs_repeats_and_takes_whole_floats(problem, record):
    kw = repeat_kwargs(record)
    d = json.loads(json.dumps(record))
    d["settings"]["seed"], d["run"]["sweeps_done"] = 1.0, 10.0   # integers all the same
    assert repeat_kwargs(d)["seed"] == 1 and repeat_kwargs(d)["sweeps"] == 10
    again = satea.anneal(problem, **kw)
    assert again.fun == record["objective"]


# -- 5. schedule --------------------------------------------------------------------------------
BAD_SCHEDULES = [
    (("a", 1), r"^schedule\[0\]: expected a temperature \(a number\), got 'a'$"),
    ((1.0, None), r"^schedule\[1\]: expected a temperature"),
    ("geometric", r"^schedule: expected \(t_hot, t_cold\), an array .* got 'geometric'$"),
    ({"t_hot": 1.0}, r"^schedule: expected \(t_hot, t_cold\)"),
    (5.0, r"^schedule: expected \(t_hot, t_cold\)"),
    ((True, 1), r"^schedule\[0\]: expected a temperature"),
    (("10", "1"), r"^schedule\[0\]: expected a temperature"),
    (np.r_[-1.0, np.ones(9)], r"^schedule\[0\]: inverse temperatures must be finite and >= 0"),
    (np.r_[np.ones(9), np.inf], r"^schedule\[9\]: "),
    (np.r_[np.ones(9), 1e-320], r"^schedule\[9\]: .*overflows"),
    ([1.0] * 9 + ["1"], r"^schedule\[9\]: expected a number, got '1'$"),
    (np.ones(10, bool), r"^schedule\[0\]: expected a number, got True$"),
    ((1e-320, 1e-323), r"^schedule: temperatures so small that their inverse"),
    ((0.1, 10.0), r"^schedule: \(t_hot, t_cold\) starts at the hot end.*t_hot=0\.1, "
                  r"t_cold=10\.0, a run that heats up"),
    ((1.0, 0.0), r"^schedule: temperatures must be finite and > 0"),
    (np.ones(3), r"^schedule: expected \(t_hot, t_cold\) or 10 inverse temperatures"),
]


@pytest.mark.parametrize("schedule, match", BAD_SCHEDULES,
                         ids=[short(s) for s, _ in BAD_SCHEDULES])
def test_bad_schedules_are_named(problem, schedule, match):
    kw = dict(RUN, schedule=schedule)
    refused(match, lambda: satea.anneal(problem, **kw))


def test_schedules_that_stay_allowed(problem):
    """Equal ends (one temperature), and explicit inverse temperatures walking any way; the
    recorded ends are finite."""
    for schedule in [(1.0, 1.0), np.linspace(10.0, 1.0, 10), np.full(10, 1e9)]:
        r = satea.anneal(problem, **dict(RUN, schedule=schedule))
        json.dumps(r.to_dict(), allow_nan=False)
    r = satea.anneal(problem, **dict(RUN, schedule=satea.Schedule(1.0, 0.1)))
    assert r.fun == satea.anneal(problem, **RUN).fun
    # a Schedule given whole is checked as its parts are
    refused(r"starts at the hot end",
            lambda: satea.anneal(problem, **dict(RUN, schedule=satea.Schedule(0.5, 2.0))))
    refused(r"^schedule\[2\]: ", lambda: satea.anneal(problem, **dict(
        RUN, schedule=satea.Schedule(1.0, 1.0, np.array([1.0, 1.0, -1.0] + [1.0] * 7)))))


# -- 6. chain_offset ----------------------------------------------------------------------------
def test_chain_offset_fits_64_bit_streams(problem):
    refused(r"^chain_offset: .*at most 9223372036854775806 for 2 chains, got "
            r"1180591620717411303424$",
            lambda: satea.anneal(problem, chain_offset=2 ** 70, **RUN))
    refused(r"^chain_offset: ", lambda: satea.anneal(problem, chain_offset=2 ** 63 - 1, **RUN))
    refused(r"^chain_offset: expected an integer >= 0, got 1\.5$",
            lambda: satea.anneal(problem, chain_offset=np.float64(1.5), **RUN))
    r = satea.anneal(problem, chain_offset=2 ** 63 - 2, **RUN)   # the last two streams
    assert r.settings.chain_offset == 2 ** 63 - 2 and math.isfinite(r.fun)


# -- 7. callback --------------------------------------------------------------------------------
def test_callback_must_be_callable(problem):
    refused(r"^callback: expected a callable \(or None\), got int 5$",
            lambda: satea.anneal(problem, callback=5, **RUN), TypeError)
    refused(r"^callback: ", lambda: satea.anneal_batch([problem], callback="stop", **RUN),
            TypeError)


def test_a_true_callback_value_stops_the_run(problem):
    """As documented: any value bool() takes as true stops; None and False go on."""
    assert satea.anneal(problem, callback=lambda p: "yes", **RUN).stopped_by == "callback"
    assert satea.anneal(problem, callback=lambda p: None, **RUN).stopped_by == "sweeps"
    assert satea.anneal(problem, callback=lambda p: False, **RUN).stopped_by == "sweeps"
    assert "bool(value)" in (satea.anneal.__doc__ or "")


# -- 8. return_samples --------------------------------------------------------------------------
@pytest.mark.parametrize("rs", ["no", math.nan, 1, 0, "False"], ids=repr)
def test_return_samples_is_a_bool(problem, rs):
    refused(r"^return_samples: expected True, False or None",
            lambda: satea.anneal(problem, return_samples=rs, **RUN))


def test_return_samples_takes_numpy_bools(problem):
    assert satea.anneal(problem, return_samples=np.bool_(False), **RUN).samples.shape == (1, 4)
    assert satea.anneal(problem, return_samples=True, **RUN).samples.shape == (2, 4)


# -- 9. x0 and holds0 messages ----------------------------------------------------------------
def test_x0_shape_error_reports_the_given_shape():
    p12 = satea.compile_assignment(np.ones((12, 3)))
    refused(r"^x0: expected shape \(12,\) or \(2, 12\) .*got \(11,\)$",
            lambda: satea.anneal(p12, x0=np.zeros(11, int), **RUN))


def test_x0_rows_against_the_default_chains(problem):
    kw = dict(RUN)
    del kw["chains"]
    refused(r"^x0: has 5 rows, but the run has 16 chains \(the backend's default\); pass "
            r"chains=5, or one row for every chain$",
            lambda: satea.anneal(problem, x0=np.zeros((5, 4), int), **kw))
    refused(r"^x0: has 5 rows, but the run has 2 chains; pass chains=5",
            lambda: satea.anneal(problem, x0=np.zeros((5, 4), int), **RUN))
    refused(r"^holds0: has 3 rows, but the run has 2 chains",
            lambda: satea.anneal(problem, x0=np.zeros(4, int), holds0=np.zeros((3, 4)),
                                 **RUN))


WARM_STARTS = [
    (dict(x0=[0, 1, 0, 0]), "x0[1]: job 'j2' is on server 'a2', which cannot run it"),
    (dict(x0=[[0, 0, 0, 0], [0, 1, 0, 0]]), "x0[1, 1]: job 'j2' is on server 'a2'"),
    (dict(x0=[0, 0, 0, 9]), "x0[3] (job 'j4'): server index 9 out of range 0..2"),
    (dict(x0=np.array([[0, 0, 0, 0], [0, 0, 7, 0]])), "x0[1, 2] (job 'j3'): server index 7"),
    (dict(x0=[0, 0, 0, 0], holds0=[0.0, np.float64(1.0), 0.0, 0.0]),
     "holds0[1]: job 'j2' held 1.0 s, expected 0..0.0 (its hold_max_s)"),
    (dict(x0=[0, 0, 0, 0], holds0=[[0.0] * 4, [0.0, 0.0, 0.0, 2.5]]),
     "holds0[1, 3]: job 'j4' held 2.5 s, expected 0..0.0"),
    (dict(x0=[0, 0, 0, 0], holds0=["0", 0.0, 0.0, 0.0]), "holds0[0]: expected a number, got '0'"),
]


@pytest.mark.parametrize("kw, match", WARM_STARTS, ids=[m.split(':')[0] for _, m in WARM_STARTS])
def test_warm_start_messages_name_the_callers_entry(problem, kw, match):
    msg = refused("^" + re.escape(match), lambda: satea.anneal(problem, **{**RUN, **kw}))
    assert " :" not in msg and "np." not in msg


def test_a_schedule_from_infinite_temperature_runs_and_repeats(problem):
    """Inverse temperature 0 first (``np.linspace(0, b, sweeps)``: a random walk, then
    cooling) is a schedule users write; its hot end is recorded as null, not Infinity, and
    the result repeats."""
    r = satea.anneal(problem, **dict(RUN, schedule=np.linspace(0.0, 5.0, RUN["sweeps"])))
    text = json.dumps(r.to_dict(), allow_nan=False)
    r2 = satea.anneal(problem, **repeat_kwargs(json.loads(text)))
    assert (r2.x == r.x).all() and r2.fun == r.fun


def test_masked_arrays_are_refused_as_compile_assignment_refuses_them(problem):
    # per-chain values and warm-start holds dropped the mask silently
    lam = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    refused(r"^lam: a masked array", lambda: satea.anneal(problem, **dict(RUN, lam=lam)))
