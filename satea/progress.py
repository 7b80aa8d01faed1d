"""A progress display for long runs, driven by :func:`satea.anneal`'s ``callback``.

One status line on a stream (stderr by default)::

    sweeps 340/1000  34% [######............]  best 5.91234  acc 0.431  3.2 s, ~6.2 s left

On a terminal the line is redrawn in place (carriage return); on anything else, when
forced on, a fresh line is written at most every ``line_interval`` seconds, so logs stay
readable. :func:`make_progress` decides by ``stream.isatty()`` when not told.

The display is written here rather than taken from tqdm or rich: it shows four numbers
fed by a callback a few times a second, which needs no dependency, and its output is
exactly known, so it is tested with a fake stream rather than against another library's
formatting.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

__all__ = ["ProgressDisplay", "chain_callbacks", "format_seconds", "make_progress"]


def format_seconds(s: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``2 h 07 min``; ``?`` when unknown."""
    if s is None or not math.isfinite(s) or s < 0:
        return "?"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        m, sec = divmod(int(round(s)), 60)
        return f"{m} min {sec:02d} s"
    h, m = divmod(int(round(s / 60)), 60)
    return f"{h} h {m:02d} min"


class ProgressDisplay:
    """A callable for ``anneal(callback=...)`` that draws a status line; never stops a run.

    Parameters
    ----------
    stream : text stream
    tty : bool
        Redraw in place (``\\r``) rather than write a new line per update.
    time_limit : float, optional
        The run's ``time_limit``: the time left is the smaller of the two estimates.
    label : str
        Word before the sweep count ("sweeps").
    min_interval : float
        Least seconds between two redraws on a terminal (the last update is always shown).
    line_interval : float
        Least seconds between two lines when not on a terminal.
    bar_width : int
        Characters of the bar (0: no bar).
    """

    def __init__(self, stream=None, *, tty: bool = True, time_limit: float | None = None,
                 label: str = "sweeps", min_interval: float = 0.1,
                 line_interval: float = 5.0, bar_width: int = 20):
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(tty)
        self.time_limit = time_limit
        self.label = label
        self.min_interval = min_interval
        self.line_interval = line_interval
        self.bar_width = bar_width
        self.last = None           # the last Progress seen
        self._drawn_at = -math.inf
        self._width = 0            # length of the line on screen (tty)
        self._pending = False      # something not yet drawn
        self.closed = False

    # -- estimates -------------------------------------------------------------------------
    def time_left(self, pr) -> float:
        """Seconds left: from the sweep rate so far, capped by the time limit."""
        left = math.inf
        if pr.sweeps_done > 0 and pr.elapsed > 0:
            left = (pr.n_sweeps - pr.sweeps_done) * pr.elapsed / pr.sweeps_done
        if self.time_limit is not None:
            left = min(left, max(self.time_limit - pr.elapsed, 0.0))
        return left

    def format(self, pr) -> str:
        phase = getattr(pr, "phase", "search")
        if phase != "search":   # a setup step starting: no sweep yet
            return f"{phase}  {format_seconds(pr.elapsed)}"
        frac = pr.sweeps_done / pr.n_sweeps if pr.n_sweeps else 1.0
        parts = [f"{self.label} {pr.sweeps_done}/{pr.n_sweeps} {math.floor(100 * frac):3d}%"]
        if self.bar_width > 0:
            full = int(round(self.bar_width * min(max(frac, 0.0), 1.0)))
            parts.append("[" + "#" * full + "." * (self.bar_width - full) + "]")
        best = pr.best_objective
        parts.append(f"best {best:.6g}" if math.isfinite(best) else "best -")
        parts.append(f"acc {pr.acceptance_rate:.3f}")
        tail = format_seconds(pr.elapsed)
        if pr.sweeps_done < pr.n_sweeps:
            tail += f", ~{format_seconds(self.time_left(pr))} left"
        parts.append(tail)
        return "  ".join(parts)

    # -- drawing ---------------------------------------------------------------------------
    def __call__(self, pr) -> bool:
        self.last = pr
        self._pending = True
        now = time.monotonic()
        gap = self.min_interval if self.tty else self.line_interval
        setup = getattr(pr, "phase", "search") != "search"
        if setup or now - self._drawn_at >= gap or pr.sweeps_done >= pr.n_sweeps:
            self._draw(pr)
            self._drawn_at = now
        return False

    def _draw(self, pr) -> None:
        line = self.format(pr)
        try:
            if self.tty:
                pad = max(self._width - len(line), 0)
                self.stream.write("\r" + line + " " * pad)
                self._width = len(line)
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):   # closed or broken stream: progress is optional
            pass
        self._pending = False

    def close(self) -> None:
        """Show the last update if it was skipped and end the line. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        if self._pending and self.last is not None:
            self._draw(self.last)
        if self.tty and self._width:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def make_progress(enabled: bool | None = None, stream=None, *,
                  time_limit: float | None = None, **kwargs) -> ProgressDisplay | None:
    """A progress callback for ``anneal``, or None when disabled.

    ``enabled=None`` turns it on exactly when ``stream`` (default ``sys.stderr``) is a
    terminal, so pipes, files and CI logs get nothing; ``True`` forces it on (redrawn in
    place on a terminal, one line every few seconds elsewhere); ``False`` turns it off
    (``--quiet``). Call ``close()`` on the display when the run ends.
    """
    stream = sys.stderr if stream is None else stream
    tty = _isatty(stream)
    if enabled is None:
        enabled = tty
    if not enabled:
        return None
    return ProgressDisplay(stream, tty=tty, time_limit=time_limit, **kwargs)


def chain_callbacks(*callbacks: Callable | None) -> Callable | None:
    """One callback calling each of ``callbacks`` in turn (None entries skipped), every
    time: returns True (stop) when any of them returned True. None when none is given."""
    cbs = [c for c in callbacks if c is not None]
    if not cbs:
        return None
    if len(cbs) == 1:
        return cbs[0]

    def chained(pr) -> bool:
        stop = False
        for c in cbs:
            if c(pr):
                stop = True
        return stop

    return chained
