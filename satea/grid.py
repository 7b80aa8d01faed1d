"""Grid series: market prices and carbon intensity read from CSV files into the
``repeat: false`` curves of docs/model.md, part 2.

A series file has a timestamp column (``time_column``; default: the first column) and a
value column named by the user. Timestamps are ISO 8601 (``2023-06-01 00:00:00+00:00``);
one without an offset is read as UTC (docs/data.md says so). Rows must be equally spaced
(the step is the first gap: hourly, 15-minute, 5-minute); the curve starts at ``start``
(the instance's time 0, timezone-aware, on a row's timestamp) and runs to the file's
last row, after which its last value holds. Every bad row is an error naming the file
and the row (1-based, the header is row 1).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .validate import InstanceError


def read_csv_rows(path, label: str) -> list[list[str]]:
    """Every row of CSV file ``path`` (a BOM dropped), the header first; a file that
    cannot be read or is empty is refused in one line that starts with ``label``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as e:
        raise InstanceError(f"{label}: cannot read: {e.strerror or e}") from None
    if not rows:
        raise InstanceError(f"{label}: empty file")
    return rows

__all__ = ["Series", "read_series", "parse_time", "PRICE_UNITS"]

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
        The value column's header, exactly as written.
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
    header = rows[0]
    tcol = header[0] if time_column is None else time_column
    for name, what in ((tcol, "time"), (column, "value")):
        if name not in header:
            raise InstanceError(f"{label}: no {what} column {name!r} (columns: "
                                f"{', '.join(repr(h) for h in header)})")
    ti, vi = header.index(tcol), header.index(column)
    times: list[datetime] = []
    values: list[float] = []
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
    if len(times) < 2:
        raise InstanceError(f"{label}: needs at least 2 rows to know its step, got {len(times)}")
    step = (times[1] - times[0]).total_seconds()
    for i in range(2, len(times)):
        if (times[i] - times[i - 1]).total_seconds() != step:
            raise InstanceError(f"{label}: row {i + 2}: a gap of "
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
    return out
