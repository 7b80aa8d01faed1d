"""Grid series: market prices and carbon intensity read from CSV files into the
``repeat: false`` curves of docs/model.md, part 2.

A series file has a timestamp column (``time_column``; default: the first column) and a
value column named by the user. Timestamps are ISO 8601 (``2023-06-01 00:00:00+00:00``);
one without an offset is read as UTC (docs/data.md says so). Rows must be equally spaced
(the step is the first gap: hourly, 15-minute, 5-minute); the curve starts at ``start``
(the instance's time 0, timezone-aware, on a row's timestamp) and runs to the file's
last row, after which its last value holds (:func:`series_coverage` says, in one line per
series, when that is and whether the jobs reach past it). Every bad row is an error naming
the file and the row (1-based, the header is row 1); a file that is not UTF-8 names its
line.
"""
from __future__ import annotations

import codecs
import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .validate import InstanceError


def read_csv_rows(path, label: str) -> list[list[str]]:
    """Every row of CSV file ``path`` (a BOM dropped), the header first; a file that
    cannot be read, is not UTF-8, holds a field over the csv module's limit (128 KiB: an
    unclosed quote, most often) or is empty is refused in one line that starts with
    ``label`` and names the line or row."""
    try:
        with open(path, "rb") as fb:
            raw = fb.read()
    except OSError as e:
        raise InstanceError(f"{label}: cannot read: {e.strerror or e}") from None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InstanceError(f"{label}: line {line}: not UTF-8 (byte 0x{raw[e.start]:02x}, a "
                            f"cp1252 or Latin-1 export?): re-save the file as UTF-8 (e.g. "
                            f"'CSV UTF-8' in a spreadsheet)") from None
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            rows.append(row)
    except csv.Error as e:
        why = str(e)
        if "field larger than field limit" in why:
            why = (f"a field longer than {csv.field_size_limit()} characters (an unclosed "
                   f"quote?)")
        raise InstanceError(f"{label}: row {len(rows) + 1}: cannot read CSV: {why}") from None
    if not rows:
        raise InstanceError(f"{label}: empty file")
    return rows

__all__ = ["Series", "read_series", "parse_time", "parse_start", "with_grid",
           "schedule_end_bound", "series_coverage", "format_seconds", "PRICE_UNITS"]

#: price units a series may be in -> factor to currency per kWh
PRICE_UNITS = {"per-MWh": 1e-3, "per-kWh": 1.0}


@dataclass(frozen=True)
class Series:
    """Equally spaced values from ``start``: ``values[i]`` holds on
    ``[i * step_s, (i + 1) * step_s)`` seconds after ``start``."""

    step_s: float
    values: tuple[float, ...]
    start: datetime
    source: str


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 timestamp, timezone-aware (UTC where it has no offset)."""
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InstanceError(f"{where}: cannot read time {text!r} (expected ISO 8601, e.g. "
                            f"2023-06-01 00:00:00+00:00)") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def parse_start(text: str) -> datetime:
    """``--start``: a timezone-aware ISO 8601 timestamp (a naive one is refused: the
    instance's time 0 must not depend on the machine's zone)."""
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InstanceError(f"--start: cannot read time {text!r} (expected ISO 8601 with an "
                            f"offset, e.g. 2023-06-01T00:00:00+00:00)") from None
    if t.tzinfo is None:
        raise InstanceError(f"--start: {text!r} has no timezone (write e.g. "
                            f"{text.strip()}+00:00)")
    return t


def read_series(path, column: str, start: datetime, *, time_column: str | None = None,
                scale: float = 1.0, signed: bool = True) -> Series:
    """Read one value column of a series file from ``start`` on.

    Parameters
    ----------
    path : str or Path
    column : str
        The value column's header (spaces around it and around the file's headers are
        ignored).
    start : datetime
        Timezone-aware; must be one of the file's timestamps.
    time_column : str, optional
        The timestamp column's header (default: the first column).
    scale : float
        Each value is multiplied by it (a price unit: :data:`PRICE_UNITS`).
    signed : bool
        Whether negative values are accepted (prices: yes; carbon intensity: no).

    Raises
    ------
    InstanceError
        File missing, a missing column (naming the ones there), an unparseable time or
        value, uneven spacing, a negative value where not ``signed``, ``start`` outside
        the file or between its rows: naming the file and the row.
    """
    path = Path(path)
    label = f"{path}"
    rows = read_csv_rows(path, label)
    header = [h.strip() for h in rows[0]]   # "time, price": the spaces are not the name
    column = column.strip()
    tcol = header[0] if time_column is None else time_column.strip()
    for name, what in ((tcol, "time"), (column, "value")):
        if name not in header:
            raise InstanceError(f"{label}: no {what} column {name!r} (columns: "
                                f"{', '.join(repr(h) for h in header)})")
    ti, vi = header.index(tcol), header.index(column)
    times: list[datetime] = []
    values: list[float] = []
    file_rows: list[int] = []   # each time's row in the file (blank lines skipped)
    for r, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        where = f"{label}: row {r}"
        if len(row) <= max(ti, vi):
            raise InstanceError(f"{where}: {len(row)} fields, expected {len(header)}")
        t = parse_time(row[ti], where)
        try:
            v = float(row[vi])
        except ValueError:
            raise InstanceError(f"{where}: {column} must be a number, got {row[vi]!r}") from None
        if not math.isfinite(v):
            raise InstanceError(f"{where}: {column} must be finite, got {row[vi]!r}")
        if v < 0 and not signed:
            raise InstanceError(f"{where}: {column} must be >= 0, got {row[vi]!r}")
        if times and t <= times[-1]:
            raise InstanceError(f"{where}: time {row[ti]!r} is not after the previous row's")
        times.append(t)
        values.append(v * scale)
        file_rows.append(r)
    if len(times) < 2:
        raise InstanceError(f"{label}: needs at least 2 rows to know its step, got {len(times)}")
    step = (times[1] - times[0]).total_seconds()
    for i in range(2, len(times)):
        if (times[i] - times[i - 1]).total_seconds() != step:
            raise InstanceError(f"{label}: row {file_rows[i]}: a gap of "
                                f"{(times[i] - times[i - 1]).total_seconds():g} s, the file's "
                                f"step is {step:g} s (rows must be equally spaced)")
    off = (start - times[0]).total_seconds()
    if off < 0 or off >= step * len(times):
        raise InstanceError(f"{label}: start {start.isoformat()} is outside the file "
                            f"({times[0].isoformat()} to {times[-1].isoformat()})")
    if off % step:
        raise InstanceError(f"{label}: start {start.isoformat()} is not on a step of "
                            f"{step:g} s from {times[0].isoformat()}")
    first = int(off // step)
    return Series(step, tuple(values[first:]), start, label)


def with_grid(fleet, prices: Series | None = None, carbon: Series | None = None,
              carbon_price: float | None = None):
    """``fleet`` with every server buying at the ``prices`` series (a non-repeating price
    curve ``"grid"``) and emitting at the ``carbon`` series (carbon curve ``"grid"``),
    and ``carbon_price`` (per kg) when given; None leaves that part as it was."""
    from dataclasses import replace

    from .model import CarbonCurve, PriceCurve
    from .validate import validate_fleet
    changes: dict = {}
    servers = fleet.servers
    if prices is not None:
        curve = PriceCurve("grid", prices.step_s, prices.values, repeat=False)
        changes["price_curves"] = {**fleet.price_curves, "grid": curve}
        servers = tuple(replace(s, price_curve="grid", price_per_kwh=None) for s in servers)
    if carbon is not None:
        ccurve = CarbonCurve("grid", carbon.step_s, carbon.values, repeat=False)
        changes["carbon_curves"] = {**fleet.carbon_curves, "grid": ccurve}
        servers = tuple(replace(s, carbon_curve="grid", carbon_g_per_kwh=None) for s in servers)
    if carbon_price is not None:
        changes["carbon_price_per_kg"] = float(carbon_price)
    out = replace(fleet, servers=servers, **changes)
    validate_fleet(out)
    if prices is not None and carbon is not None and out.carbon_price_per_kg > 0:
        # the search prices energy and carbon on one curve (satea.compile.merge_curves):
        # an instance whose two series cannot be merged would be written, then refused
        from .compile import merge_curves
        try:
            merge_curves((prices.step_s, prices.values, 0), 0.0,
                         (carbon.step_s, carbon.values, 0), 0.0,
                         out.carbon_price_per_kg / 1000.0, lambda: 0.0)
        except ValueError as e:
            raise InstanceError(f"{prices.source} and {carbon.source}: {e}") from None
    return out


def schedule_end_bound(fleet) -> float:
    """A lower bound on when the last job ends in any schedule of ``fleet`` (seconds from
    time 0), cheap (one pass over the jobs and the node kinds): the larger of

    * the latest release + run time of a job on its fastest allowed node, and
    * over each release time ``r``: ``r`` + the GPU-seconds of the jobs released at or
      after ``r`` (each at its fastest: run time x GPUs) / all the fleet's GPUs.

    Holds, node capacities and one job waiting for another only make the end later.
    0 for a fleet without jobs.
    """
    kinds = sorted({(s.gpu, s.gpus) for s in fleet.servers})
    thr = {(p.model, p.gpu): p.throughput for p in fleet.profiles}
    total_gpus = sum(s.gpus for s in fleet.servers)
    fastest: dict[tuple, float] = {}   # (model, GPUs asked) -> best samples/s of the gang
    end = 0.0
    load: list[tuple[float, float]] = []   # (release, GPU-seconds at its fastest)
    for j in fleet.jobs:
        key = (j.model, j.gpus)
        if key not in fastest:
            model = fleet.models[j.model]
            rates = [thr[(j.model, g)] * j.gpus * model.efficiency(j.gpus)
                     for g, n in kinds if (j.model, g) in thr and n >= j.gpus
                     and model.memory_gb <= fleet.gpus[g].memory_gb]
            fastest[key] = max(rates, default=0.0)
        if fastest[key] <= 0:
            continue   # no node can run it: validation refuses such a fleet
        run = j.samples / fastest[key]
        end = max(end, j.release_s + run)
        load.append((j.release_s, run * j.gpus))
    if total_gpus > 0:
        load.sort()
        after = 0.0   # GPU-seconds released at or after load[i]'s release
        for i in range(len(load) - 1, -1, -1):
            after += load[i][1]
            if i == 0 or load[i - 1][0] != load[i][0]:
                end = max(end, load[i][0] + after / total_gpus)
    return end


def format_seconds(x: float) -> str:
    """Seconds in full (``18489600``, ``0.5``), never ``1.85e+07``."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e18 else repr(float(x))


def series_coverage(fleet, start: datetime, sources: dict | None = None
                    ) -> list[tuple[bool, str]]:
    """One line per market series (``repeat: false`` price or carbon curve) that a server
    of ``fleet`` uses: its start (``start``, the instance's time 0), step and end. It is
    a warning, ``(True, line)``, when the jobs reach past the end, where the series' last
    value holds for the rest of the schedule: when a job is due after it, or when
    :func:`schedule_end_bound` (every schedule runs at least that long) is after it; the
    line counts the jobs due and released after the end. ``sources`` names the file of
    ``"prices"`` and ``"carbon"``.
    """
    from datetime import timedelta
    sources = sources or {}
    used_p = {s.price_curve for s in fleet.servers}
    used_c = {s.carbon_curve for s in fleet.servers}
    curves = [("prices", c.name, c.step_s, len(c.prices_per_kwh))
              for c in fleet.price_curves.values() if not c.repeat and c.name in used_p]
    curves += [("carbon", c.name, c.step_s, len(c.g_per_kwh))
               for c in fleet.carbon_curves.values() if not c.repeat and c.name in used_c]
    if not curves:
        return []
    low = math.floor(schedule_end_bound(fleet))
    dues = [j.due_s for j in fleet.jobs if j.due_s is not None]
    gpus = sum(s.gpus for s in fleet.servers)
    secs = format_seconds
    n = len(fleet.jobs)
    out = []
    for kind, name, step, steps in curves:
        src = sources.get(kind)
        label = f"{kind} {str(src)!r}" if src else f"{kind} curve {name!r}"
        end_s = step * steps
        line = (f"{label}: from {start.isoformat()} (time 0), step {secs(step)} s, to "
                f"{(start + timedelta(seconds=end_s)).isoformat()} (time {secs(end_s)} s)")
        due = "" if not dues else f"the last job is due at time {secs(max(dues))} s, "
        bound = (f"every schedule runs to time {secs(low)} s or later (a lower bound: "
                 f"releases + each job's fastest run time, and their GPU work over all "
                 f"{gpus} GPUs)")
        due_after = sum(1 for d in dues if d > end_s)
        if low <= end_s and not due_after:
            out.append((False, f"{line}; {due}{bound}"))
            continue
        released = sum(1 for j in fleet.jobs if j.release_s >= end_s)
        out.append((True, f"{line}, but the jobs reach past its end, where its last value "
                          f"holds: {due_after} of {n} jobs are due and {released} released "
                          f"after it; {due}{bound}"))
    return out
