"""Progress display: the isatty decision, the line it draws, stopping a run by callback."""
import io
import os
import pty

import pytest
from conftest import tiny_fleet_by_name

from satea.annealing import Progress, anneal
from satea.compile import compile_fleet
from satea.progress import ProgressDisplay, chain_callbacks, format_seconds, make_progress


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def test_enabled_none_follows_isatty():
    assert make_progress(None, FakeStream(False)) is None
    p = make_progress(None, FakeStream(True))
    assert isinstance(p, ProgressDisplay) and p.tty


def test_explicit_enable_and_disable():
    assert make_progress(False, FakeStream(True)) is None          # --quiet
    forced = make_progress(True, FakeStream(False))                # forced on in a pipe
    assert isinstance(forced, ProgressDisplay) and not forced.tty


def test_stream_without_isatty_is_not_a_terminal():
    class Bare:
        def write(self, s):
            pass

        def flush(self):
            pass
    assert make_progress(None, Bare()) is None


def test_real_pseudo_terminal_and_pipe():
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty_stream:
            assert make_progress(None, tty_stream) is not None
    finally:
        os.close(master)
        os.close(slave)
    r, w = os.pipe()
    try:
        with os.fdopen(w, "w", closefd=False) as pipe_stream:
            assert make_progress(None, pipe_stream) is None
    finally:
        os.close(r)
        os.close(w)


def test_line_shows_sweeps_best_acceptance_and_time_left():
    s = FakeStream(True)
    p = make_progress(None, s, min_interval=0.0)
    assert p(Progress(250, 1000, 12.5, 0.4321, 5.0)) is False
    out = s.getvalue()
    assert out.startswith("\r")
    assert "sweeps 250/1000" in out and "25%" in out
    assert "best 12.5" in out and "acc 0.432" in out
    assert "~15.0 s left" in out          # 750 sweeps at 50 sweeps/s
    p.close()
    assert s.getvalue().endswith("\n")
    p.close()                             # idempotent
    assert s.getvalue().count("\n") == 1


def test_time_limit_caps_time_left():
    p = ProgressDisplay(FakeStream(True), time_limit=8.0)
    assert p.time_left(Progress(10, 1000, 1.0, 0.5, 5.0)) == pytest.approx(3.0)


def test_tty_redraws_in_place_and_pipe_writes_lines():
    s = FakeStream(True)
    p = ProgressDisplay(s, tty=True, min_interval=0.0)
    for k in range(1, 4):
        p(Progress(k * 10, 30, 1.0 / k, 0.5, 0.1 * k))
    p.close()
    assert s.getvalue().count("\r") == 3 and s.getvalue().count("\n") == 1
    s = FakeStream(False)
    p = ProgressDisplay(s, tty=False, line_interval=1e9)
    for k in range(1, 4):
        p(Progress(k * 10, 30, 1.0 / k, 0.5, 0.1 * k))
    p.close()
    lines = s.getvalue().splitlines()
    # first update, then throttled, the last (30/30) always shown
    assert len(lines) == 2 and "30/30" in lines[-1] and "\r" not in s.getvalue()


def test_format_seconds():
    assert format_seconds(4.25) == "4.2 s"
    assert format_seconds(185) == "3 min 05 s"
    assert format_seconds(7620) == "2 h 07 min"
    assert format_seconds(float("inf")) == "?"


def test_chain_callbacks_any_true_stops_and_all_are_called():
    calls = []
    def a(pr):                                           # returns None
        calls.append("a")

    def b(pr):
        calls.append("b")
        return pr.sweeps_done >= 2
    cb = chain_callbacks(a, None, b)
    assert cb(Progress(1, 10, 0.0, 0.0, 0.0)) is False
    assert cb(Progress(2, 10, 0.0, 0.0, 0.0)) is True
    assert calls == ["a", "b", "a", "b"]
    assert chain_callbacks(None, None) is None
    assert chain_callbacks(a) is a


def test_callback_with_progress_stops_a_run():
    problem = compile_fleet(tiny_fleet_by_name("mixed"))
    s = FakeStream(True)
    prog = make_progress(None, s)
    seen = []

    def user(pr):
        seen.append(pr)
        return pr.sweeps_done >= 3

    r = anneal(problem, chains=4, sweeps=100000, backend="numba", seed=0,
               callback=chain_callbacks(prog, user))
    prog.close()
    assert r.stopped_by == "callback"
    assert 3 <= r.sweeps < 100000 and r.sweeps == seen[-1].sweeps_done
    assert "Stopped by callback" in r.message
    assert "sweeps " in s.getvalue() and "best " in s.getvalue()
    assert all(0.0 <= p.acceptance_rate <= 1.0 for p in seen)
