"""Cluster traces into ``satea-instance/1`` fleets (``satea import``).

A trace has no deadlines, no model names and no energy figures. The importers state what
they assume (docs/data.md):

* **work**: a task's run time on the GPU type it ran on, turned into samples of a trace
  model whose speed on each GPU type is :func:`gpu_speeds` (the catalogue's ResNet-50
  training throughputs, each with its source), so the same task is faster on a faster
  GPU. The Alibaba trace does not say which node a task ran on: a task that names one
  GPU type in ``gpu_spec`` ran on it, any other on ``reference_gpu`` (default V100).
  A gang of ``k`` GPUs does ``k`` times the work (``multi_gpu_efficiency`` 1).
* **allowed GPU types**: ``gpu_spec`` (``G2|G3``); empty: any. One trace model per
  distinct set of types, with profiles only on those.
* **release** = submission time - the window's start; **due** = release + ``slack`` x run
  time; **penalty** of kind ``penalty`` with weight ``penalty_weight`` and scale the
  task's run time (``penalty_scale`` seconds when given).
* **power**: the catalogue's ResNet-50 training power on each GPU type.

Rows that cannot become jobs are dropped and counted, and rows changed are counted:
nothing is dropped silently (:class:`ImportReport`). Rows that are wrong (a missing column,
an unparseable number, a duplicate name, a negative run time, an unknown GPU type) are
errors naming the file and the row (1-based; the header is row 1).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .catalogue import Catalogue, load_catalogue
from .grid import format_seconds, read_csv_rows
from .model import DNNModel, Fleet, GPUType, Job, Penalty, PENALTY_KINDS, Profile, Server
from .validate import InstanceError, validate_fleet

__all__ = ["ImportReport", "import_alibaba", "import_csv", "gpu_speeds", "parse_gpu_map",
           "ALIBABA_GPU_NAMES", "SPEED_MODEL"]

#: the catalogue model whose throughputs give the relative GPU speeds (it is profiled on
#: every GPU type of the catalogue)
SPEED_MODEL = "ResNet-50"
#: the Alibaba trace's GPU type names that are catalogue types (traces/README.md); G2 and
#: G3 are undisclosed internal types: map them with ``gpu_map``
ALIBABA_GPU_NAMES = {"T4": "T4", "P100": "P100", "V100M16": "V100", "V100M32": "V100",
                     "A10": "A10"}
#: the trace model's training memory (GB): the trace gives host memory only; small, so
#: that the allowed GPU types alone decide where a task runs
TRACE_MODEL_MEMORY_GB = 1.0


@dataclass
class ImportReport:
    """What an import did: rows read, jobs and servers written, and every dropped or
    changed row counted by reason (``dropped[reason]``, ``changed[reason]``)."""

    rows: int = 0
    jobs: int = 0
    servers: int = 0
    dropped: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    assumptions: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"read {self.rows} task rows: {self.jobs} jobs on {self.servers} servers"]
        out += [f"  dropped {n}: {why}" for why, n in sorted(self.dropped.items())]
        out += [f"  changed {n}: {why}" for why, n in sorted(self.changed.items())]
        out += [f"  assumed: {a}" for a in self.assumptions]
        return out


def gpu_speeds(catalogue: Catalogue | None = None) -> dict[str, tuple[float, float, str]]:
    """Per catalogue GPU type: ``(samples/s, training power W, source)`` of
    :data:`SPEED_MODEL`, the trace model's speed and power on that type."""
    cat = catalogue or load_catalogue()
    srcs = cat.sources.get("profiles", {})
    out = {}
    for p in cat.profiles:
        if p.model == SPEED_MODEL:
            src = srcs.get((p.model, p.gpu), {})
            out[p.gpu] = (float(p.throughput), float(p.power_w),
                          str(src.get("source", "")) if isinstance(src, dict) else str(src))
    return out


def parse_gpu_map(text: str | None) -> dict[str, str]:
    """``"G2=A100,G3=A10"`` -> ``{"G2": "A100", "G3": "A10"}``."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep or not k.strip() or not v.strip():
            raise InstanceError(f"--gpu-map: expected TRACE=CATALOGUE pairs, got {part!r}")
        out[k.strip()] = v.strip()
    return out


# --------------------------------------------------------------------------- CSV reading

def _read_csv(path, label: str, need: tuple) -> tuple[list[str], list[tuple[int, list[str]]]]:
    rows = read_csv_rows(path, f"{label} {str(path)!r}")
    header = [h.strip() for h in rows[0]]
    for c in need:
        if c not in header:
            raise InstanceError(f"{label} {str(path)!r}: missing column {c!r} (columns: "
                                f"{', '.join(header)})")
    return header, [(r, row) for r, row in enumerate(rows[1:], start=2) if row]


def _num(text: str, where: str, col: str, *, empty_ok: bool = False) -> float | None:
    t = text.strip()
    if t == "" and empty_ok:
        return None
    try:
        v = float(t)
    except ValueError:
        raise InstanceError(f"{where}: {col} must be a number, got {text!r}") from None
    if not math.isfinite(v):
        raise InstanceError(f"{where}: {col} must be finite, got {text!r}")
    return v


class _Types:
    """Trace GPU type names -> catalogue types; an unknown one is refused by name."""

    def __init__(self, known: dict, gpu_map: dict, speeds: dict):
        self.names = {**known, **gpu_map}
        self.speeds = speeds
        for k, v in self.names.items():
            if v not in speeds:
                raise InstanceError(f"--gpu-map: {k}={v}: {v!r} is not a catalogue GPU type "
                                    f"with a {SPEED_MODEL} profile (known: "
                                    f"{', '.join(sorted(speeds))})")

    def __call__(self, name: str, where: str) -> str:
        g = self.names.get(name.strip())
        if g is None:
            raise InstanceError(f"{where}: unknown GPU type {name.strip()!r} (map it with "
                                f"--gpu-map {name.strip()}=TYPE; catalogue types: "
                                f"{', '.join(sorted(self.speeds))})")
        return g


@dataclass
class _Task:
    name: str
    submit: float
    run: float
    gpus: int
    types: tuple        # allowed catalogue types, () = any
    ran_on: str
    changes: tuple = ()  # why the row was changed (counted once selected)
    where: str = ""      # "<file>: row <r>", for errors about the row
    submit_text: str = ""  # "<submit column> '<cell>'", for errors about it


def _window(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    a, sep, b = text.partition(":")
    try:
        lo, hi = float(a), float(b)
    except ValueError:
        raise InstanceError(f"--window: expected START:END in trace seconds, "
                            f"got {text!r}") from None
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise InstanceError(f"--window: expected START:END with START < END, got {text!r}")
    return lo, hi


def _fits(servers: list[Server]):
    """Whether an imported node of an allowed GPU type has the task's GPUs."""
    largest: Counter = Counter()
    for s in servers:
        largest[s.gpu] = max(largest[s.gpu], s.gpus)

    def fits(t: _Task) -> bool:
        allowed = [g for g in (t.types or largest) if g in largest]
        return bool(allowed) and t.gpus <= max(largest[g] for g in allowed)
    return fits


def _select(tasks: list[_Task], report: ImportReport, window, first, fits,
            origin: str | None = None) -> tuple[list, float, str]:
    """The tasks kept, time 0 (in the tasks' submit seconds) and what it is: tasks
    submitted in ``window``, then those a node can hold (the others dropped and counted),
    then the ``first`` of them. Time 0 is the window's start, else the first kept task's
    submission; with ``origin`` (``--start``, the submit seconds' zero) it is 0, and a kept
    task submitted before it is refused."""
    tasks.sort(key=lambda t: (t.submit, t.name))
    if window is not None:
        lo, hi = window
        inside = [t for t in tasks if lo <= t.submit < hi]
        report.dropped["submitted outside --window"] += len(tasks) - len(inside)
        tasks = inside
    if origin is not None:
        for t in tasks:
            if t.submit < 0:
                raise InstanceError(f"{t.where}: {t.submit_text} is "
                                    f"{format_seconds(-t.submit)} s before --start {origin} "
                                    f"(releases are measured from --start: give an earlier "
                                    f"--start, or --window 0:END to leave it out)")
    placeable = [t for t in tasks if fits(t)]
    report.dropped["no imported node of an allowed GPU type has enough GPUs"] += (
        len(tasks) - len(placeable))
    tasks = placeable
    if first is not None:
        report.dropped[f"after the first {first} GPU tasks (--first)"] += max(0, len(tasks) - first)
        tasks = tasks[:first]
    if not tasks:
        raise InstanceError("the selection holds no GPU task that an imported node can run "
                            "(an empty window?)")
    if origin is not None:
        t0, what = 0.0, "--start"
    elif window is not None:
        t0, what = window[0], "the start of --window"
    else:
        t0, what = tasks[0].submit, "the first selected task's submission"
    for t in tasks:
        for why in t.changes:
            report.changed[why] += 1
    report.dropped = +report.dropped   # no "dropped 0" lines
    return tasks, t0, what


def _fleet(name: str, tasks: list[_Task], t0: float, servers: list[Server], speeds: dict,
           cat: Catalogue, slack: float, penalty: str, weight: float, scale: float | None,
           report: ImportReport, hold_slack: float | None = None) -> Fleet:
    if penalty not in PENALTY_KINDS:
        raise InstanceError(f"--penalty: expected one of {', '.join(PENALTY_KINDS)}, "
                            f"got {penalty!r}")
    if not (slack >= 1.0 and math.isfinite(slack)):
        raise InstanceError(f"--slack: must be a finite number >= 1, got {slack}")
    if hold_slack is not None and not (0.0 <= hold_slack <= 1.0):
        raise InstanceError(f"--hold-slack: must be in [0, 1], got {hold_slack}")
    used = sorted({s.gpu for s in servers})
    gpus = {g: GPUType(g, cat.gpus[g].memory_gb, cat.gpus[g].idle_w) for g in used}
    models: dict[str, DNNModel] = {}
    profiles: list[Profile] = []
    jobs: list[Job] = []
    for t in tasks:
        # _select kept only tasks a node can hold (so --first counts importable tasks)
        allowed = tuple(g for g in (t.types or used) if g in gpus)
        mname = "trace" if not t.types else "trace:" + "|".join(allowed)
        if mname not in models:
            models[mname] = DNNModel(mname, TRACE_MODEL_MEMORY_GB)
            profiles += [Profile(mname, g, speeds[g][0], speeds[g][1]) for g in allowed]
        samples = t.run * speeds[t.ran_on][0] * t.gpus
        release = t.submit - t0
        pen = (Penalty() if penalty == "none"
               else Penalty(penalty, weight, scale if scale is not None else t.run))
        # part 3: a job may wait this share of its slack (due - release - its run time)
        hold = None if hold_slack is None else hold_slack * (slack - 1.0) * t.run
        jobs.append(Job(t.name, mname, samples, release,
                        None if penalty == "none" else release + slack * t.run, pen, t.gpus,
                        hold_max_s=hold))
    fleet = Fleet(name, gpus, models, tuple(profiles), tuple(servers), tuple(jobs))
    validate_fleet(fleet)
    report.jobs, report.servers = len(jobs), len(servers)
    return fleet


# --------------------------------------------------------------------------- Alibaba

_NODE_COLS = ("sn", "gpu", "model")
_POD_COLS = ("name", "num_gpu", "gpu_milli", "gpu_spec", "pod_phase", "creation_time",
             "deletion_time", "scheduled_time")


def import_alibaba(nodes_csv, pods_csv, *, window: str | None = None, first: int | None = None,
                   gpu_map: dict | None = None, slack: float = 2.0, penalty: str = "linear",
                   penalty_weight: float = 1.0, penalty_scale: float | None = None,
                   hold_slack: float | None = None, running: str = "keep",
                   sharing: str = "whole", failed: str = "keep",
                   price_per_kwh: float = 0.1, base_w: float = 0.0,
                   reference_gpu: str = "V100", name: str = "alibaba-gpu-v2023",
                   start=None, catalogue: Catalogue | None = None
                   ) -> tuple[Fleet, ImportReport]:
    """The Alibaba ``cluster-trace-gpu-v2023`` (nodes and pods CSVs) as a fleet.

    Parameters
    ----------
    nodes_csv, pods_csv : path
        ``openb_node_list_gpu_node.csv`` and ``openb_pod_list_default.csv``.
    window : "START:END", optional
        Keep tasks submitted in [START, END) trace seconds; time 0 is START.
    first : int, optional
        Keep the first ``first`` importable GPU tasks in submission order (after a window,
        and after dropping tasks no imported node can hold); time 0 is the first one's
        submission.
    gpu_map : dict, optional
        Trace GPU type -> catalogue type, for types the catalogue does not know (G2, G3);
        an unknown type is refused by name.
    slack, penalty, penalty_weight, penalty_scale
        Due = release + slack x run time; penalty kind, weight, scale (default: the run time).
    hold_slack : float in [0, 1], optional
        Each job's ``hold_max_s`` = ``hold_slack`` x its slack, ``(slack - 1)`` x run time
        (docs/model.md, part 3): 1 lets a job wait until, run as it ran, it would end at
        its due time. None: no ``hold_max_s`` written.
    running : "keep" or "drop"
        Tasks still running at the trace's end: kept with the run time seen so far (a lower
        bound, counted as changed) or dropped.
    sharing : "whole" or "drop"
        GPU-sharing tasks (``gpu_milli`` < 1000): given a whole GPU (counted) or dropped.
    failed : "keep" or "drop"
        Failed tasks used GPUs for their run time: kept or dropped.
    price_per_kwh, base_w
        Every node's constant price (replace it with a series: :func:`satea.grid.with_grid`)
        and host power.
    reference_gpu : str
        The catalogue type a task that does not name one in ``gpu_spec`` is taken to have
        run on.
    start : datetime, optional
        ``--start``, the instance's time 0 on the grid series: only named in the report
        (trace seconds have no calendar date: time 0 is put at ``start``).

    Returns
    -------
    (Fleet, ImportReport)

    Notes
    -----
    Always dropped (and counted): CPU-only tasks, tasks never scheduled (pending: no run
    time), tasks of zero run time. Refused: a node or task of a GPU type neither the
    catalogue nor ``gpu_map`` knows.
    """
    for opt, v, choices in (("--running", running, ("keep", "drop")),
                            ("--sharing", sharing, ("whole", "drop")),
                            ("--failed", failed, ("keep", "drop"))):
        if v not in choices:
            raise InstanceError(f"{opt}: expected one of {', '.join(choices)}, got {v!r}")
    if first is not None and first < 1:
        raise InstanceError(f"--first: must be >= 1, got {first}")
    cat = catalogue or load_catalogue()
    speeds = gpu_speeds(cat)
    types = _Types(ALIBABA_GPU_NAMES, gpu_map or {}, speeds)
    if reference_gpu not in speeds:
        raise InstanceError(f"--reference-gpu: unknown catalogue GPU type {reference_gpu!r}")
    report = ImportReport()
    # nodes
    header, rows = _read_csv(nodes_csv, "nodes file", _NODE_COLS)
    ci = {c: header.index(c) for c in _NODE_COLS}
    servers: list[Server] = []
    seen: dict[str, int] = {}
    for r, row in rows:
        where = f"nodes file {str(nodes_csv)!r}: row {r}"
        if len(row) < len(header):
            raise InstanceError(f"{where}: {len(row)} fields, expected {len(header)}")
        sn = row[ci["sn"]].strip()
        if not sn:
            raise InstanceError(f"{where}: empty sn (the node's name)")
        if sn in seen:
            raise InstanceError(f"{where}: duplicate node name {sn!r} (also row {seen[sn]})")
        seen[sn] = r
        n = _num(row[ci["gpu"]], where, "gpu")
        if n is None or n < 1 or not float(n).is_integer():
            raise InstanceError(f"{where}: gpu must be a whole number >= 1, got "
                                f"{row[ci['gpu']]!r}")
        servers.append(Server(sn, types(row[ci["model"]], where), price_per_kwh=price_per_kwh,
                              gpus=int(n), base_w=base_w))
    if not servers:
        raise InstanceError(f"nodes file {str(nodes_csv)!r}: no node")
    # pods
    header, rows = _read_csv(pods_csv, "pods file", _POD_COLS)
    ci = {c: header.index(c) for c in _POD_COLS}
    report.rows = len(rows)
    end = 0.0
    parsed = []
    names: dict[str, int] = {}
    for r, row in rows:
        where = f"pods file {str(pods_csv)!r}: row {r}"
        if len(row) < len(header):
            raise InstanceError(f"{where}: {len(row)} fields, expected {len(header)}")
        nm = row[ci["name"]].strip()
        if not nm:
            raise InstanceError(f"{where}: empty name")
        if nm in names:
            raise InstanceError(f"{where}: duplicate task name {nm!r} (also row {names[nm]})")
        names[nm] = r
        deletion = _num(row[ci["deletion_time"]], where, "deletion_time", empty_ok=True)
        if deletion is not None:
            end = max(end, deletion)
        parsed.append((row, where, deletion))
    tasks: list[_Task] = []
    for row, where, deletion in parsed:
        k = _num(row[ci["num_gpu"]], where, "num_gpu")
        submit = float(_num(row[ci["creation_time"]], where, "creation_time") or 0.0)
        sched = _num(row[ci["scheduled_time"]], where, "scheduled_time", empty_ok=True)
        milli = _num(row[ci["gpu_milli"]], where, "gpu_milli", empty_ok=True)
        if milli is not None and milli < 0:
            raise InstanceError(f"{where}: gpu_milli must be >= 0 (thousandths of a GPU), "
                                f"got {row[ci['gpu_milli']]!r}")
        spec = row[ci["gpu_spec"]].strip()
        allowed = (tuple(dict.fromkeys(types(g, where) for g in spec.split("|")))
                   if spec else ())
        if k is None or k < 0 or not float(k).is_integer():
            raise InstanceError(f"{where}: num_gpu must be a whole number >= 0, got "
                                f"{row[ci['num_gpu']]!r}")
        if k == 0:
            report.dropped["CPU-only (num_gpu 0)"] += 1
            continue
        if sched is None or deletion is None:
            report.dropped["never scheduled (no scheduled_time)"] += 1
            continue
        run = deletion - sched
        if run < 0:
            raise InstanceError(f"{where}: negative run time: deletion_time {deletion:g} is "
                                f"before scheduled_time {sched:g}")
        if run == 0:
            report.dropped["zero run time"] += 1
            continue
        phase = row[ci["pod_phase"]].strip()
        changes = []
        if phase == "Failed":
            if failed == "drop":
                report.dropped["failed (--failed drop)"] += 1
                continue
            changes.append("failed: kept for the GPU time it used (--failed keep)")
        if deletion >= end and phase == "Running":
            if running == "drop":
                report.dropped["still running at the trace's end (--running drop)"] += 1
                continue
            changes.append("still running at the trace's end: the run time so far")
        if milli is not None and milli < 1000 and k == 1:
            if sharing == "drop":
                report.dropped["GPU-sharing, gpu_milli < 1000 (--sharing drop)"] += 1
                continue
            changes.append("GPU-sharing (gpu_milli < 1000): given a whole GPU")
        ran_on = allowed[0] if len(allowed) == 1 else reference_gpu
        tasks.append(_Task(row[ci["name"]].strip(), submit, run, int(k), allowed, ran_on,
                           tuple(changes), where))
    tasks, t0, what = _select(tasks, report, _window(window), first, _fits(servers))
    report.assumptions += [
        f"work = run time x {SPEED_MODEL} speed of the GPU type it ran on (its only "
        f"gpu_spec type, else {reference_gpu}) x GPUs",
        f"due = release + {slack:g} x run time; penalty {penalty}, weight {penalty_weight:g}, "
        f"scale {'the run time' if penalty_scale is None else f'{penalty_scale:g} s'}",
        "hold_max_s: none" if hold_slack is None else
        f"hold_max_s = {hold_slack:g} x (slack - 1) x run time",
        f"time 0 = trace second {format_seconds(t0)} ({what})"
        + ("" if start is None else f" = --start {start.isoformat()}")]
    fleet = _fleet(name, tasks, t0, servers, speeds, cat, slack, penalty, penalty_weight,
                   penalty_scale, report, hold_slack)
    return fleet, report


# --------------------------------------------------------------------------- generic CSV

CSV_KEYS = ("submit", "duration", "gpus", "gpu_type", "name")


def parse_columns(text: str) -> dict[str, str]:
    """``"submit=ts,duration=dur,..."`` -> role -> column; submit and duration required."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        k = k.strip()
        if not sep or k not in CSV_KEYS or not v.strip():
            raise InstanceError(f"--columns: expected ROLE=COLUMN with ROLE one of "
                                f"{', '.join(CSV_KEYS)}, got {part!r}")
        out[k] = v.strip()
    for k in ("submit", "duration"):
        if k not in out:
            raise InstanceError(f"--columns: missing {k}=COLUMN")
    return out


def parse_nodes(text: str, gpu_map: dict, speeds: dict, price_per_kwh: float,
                base_w: float) -> list[Server]:
    """``"A100x8:4,V100x4:2"`` (type x GPUs per node : node count) -> servers. The type
    is split off at the last ``x`` unless the whole is a type (``gtx1080x4`` is 4 GPUs
    of a mapped ``gtx1080``); a kind given twice adds nodes (``A100x8:2,A100x8:3``: 5)."""
    types = _Types({g: g for g in speeds}, gpu_map, speeds)
    out: list[Server] = []
    made: Counter = Counter()   # servers named so far per kind ("A100x8")
    for part in text.split(","):
        if not part.strip():
            continue
        kind, _, count = part.partition(":")
        kind = kind.strip()
        g, sep, per = kind.rpartition("x")
        if not sep or kind in types.names:
            g, per = kind, ""
        try:
            n_nodes, n_gpus = int(count or 1), int(per or 1)
        except ValueError:
            raise InstanceError(f"--nodes: expected TYPExGPUS:COUNT, got {part!r}") from None
        if n_nodes < 1 or n_gpus < 1:
            raise InstanceError(f"--nodes: counts must be >= 1, got {part!r}")
        gt = types(g, "--nodes")
        prefix = f"{g.strip()}x{n_gpus}"
        out += [Server(f"{prefix}-{made[prefix] + i}", gt, price_per_kwh=price_per_kwh,
                       gpus=n_gpus, base_w=base_w) for i in range(n_nodes)]
        made[prefix] += n_nodes
    if not out:
        raise InstanceError("--nodes: no node")
    return out


def import_csv(jobs_csv, nodes: str, columns: str, *, window: str | None = None,
               first: int | None = None, gpu_map: dict | None = None, slack: float = 2.0,
               penalty: str = "linear", penalty_weight: float = 1.0,
               penalty_scale: float | None = None, hold_slack: float | None = None,
               price_per_kwh: float = 0.1,
               base_w: float = 0.0, reference_gpu: str = "V100", name: str = "csv-trace",
               start=None, catalogue: Catalogue | None = None
               ) -> tuple[Fleet, ImportReport]:
    """A generic job list (the shape Helios, Acme and Philly-derived logs share) as a
    fleet on the nodes ``nodes`` (``"A100x8:4,V100x4:2"``, a job log has no node list).

    ``columns`` names the user's columns: ``submit`` (seconds, or ISO 8601 timestamps)
    and ``duration`` (seconds) required; ``gpus`` (default 1), ``gpu_type`` (the type it
    ran on and the one it may run on; default: any type, run on ``reference_gpu``) and
    ``name`` (default ``job<row>``) optional. The other options are those of
    :func:`import_alibaba`. A row of 0 GPUs is dropped (CPU-only), of 0 duration too.

    Time 0 (docs/data.md): with ISO 8601 submits and ``start`` (``--start``, a
    timezone-aware datetime), time 0 is ``start``: release = submit - ``start``, a
    ``window`` is in seconds after ``start``, and a kept job submitted before ``start`` is
    refused by row. With ISO submits and no ``start``, a ``window`` is in seconds after the
    file's earliest submit, and time 0 is the window's start or the first kept job's
    submission. With submits in seconds, time 0 is the window's start or the first kept
    job's submission (and ``start``, when given, is that instant on the calendar).
    """
    from .grid import parse_time
    cols = parse_columns(columns)
    cat = catalogue or load_catalogue()
    speeds = gpu_speeds(cat)
    if first is not None and first < 1:
        raise InstanceError(f"--first: must be >= 1, got {first}")
    if reference_gpu not in speeds:
        raise InstanceError(f"--reference-gpu: unknown catalogue GPU type {reference_gpu!r}")
    gmap = gpu_map or {}
    servers = parse_nodes(nodes, gmap, speeds, price_per_kwh, base_w)
    types = _Types({g: g for g in speeds}, gmap, speeds)
    label = f"jobs file {str(jobs_csv)!r}"
    header, rows = _read_csv(jobs_csv, "jobs file", tuple(cols.values()))
    ci = {k: header.index(c) for k, c in cols.items()}
    report = ImportReport(rows=len(rows))
    tasks: list[_Task] = []
    stamps: list = []   # ISO submits: each task's datetime (tasks[i] <-> stamps[i])
    earliest: tuple | None = None   # ISO submits: (earliest datetime of any row, its row)
    names: dict[str, int] = {}
    first_form: tuple | None = None    # (seconds or ISO time, its row): every row the same
    for r, row in rows:
        where = f"{label}: row {r}"
        if len(row) < len(header):
            raise InstanceError(f"{where}: {len(row)} fields, expected {len(header)}")
        nm = row[ci["name"]].strip() if "name" in ci else f"job{r}"
        if not nm:
            raise InstanceError(f"{where}: the name cell ({cols['name']!r}) is empty")
        if nm in names:
            raise InstanceError(f"{where}: duplicate job name {nm!r} (also row {names[nm]})")
        names[nm] = r
        text = row[ci["submit"]].strip()
        if not text:
            raise InstanceError(f"{where}: the submit cell ({cols['submit']!r}) is empty")
        stamp = None
        try:
            submit = float(text)
            form = "seconds"
        except ValueError:
            stamp = parse_time(text, f"{where}: {cols['submit']}")
            submit = 0.0   # seconds from the origin, once every row is read
            form = "an ISO 8601 time"
            if earliest is None or stamp < earliest[0]:
                earliest = (stamp, r)
        if first_form is None:
            first_form = (form, r)
        elif form != first_form[0]:   # seconds and times have no common origin
            raise InstanceError(f"{where}: {cols['submit']} is {form}, but row "
                                f"{first_form[1]}'s is {first_form[0]}: give one form")
        if not math.isfinite(submit):
            raise InstanceError(f"{where}: {cols['submit']} must be finite, got {text!r}")
        dur = _num(row[ci["duration"]], where, cols["duration"])
        assert dur is not None
        if dur < 0:
            raise InstanceError(f"{where}: negative duration {dur:g} ({cols['duration']})")
        k = _num(row[ci["gpus"]], where, cols["gpus"]) if "gpus" in ci else 1.0
        if k is None or k < 0 or not float(k).is_integer():
            raise InstanceError(f"{where}: {cols.get('gpus')} must be a whole number >= 0, "
                                f"got {row[ci['gpus']]!r}")
        if k == 0:
            report.dropped["CPU-only (0 GPUs)"] += 1
            continue
        if dur == 0:
            report.dropped["zero duration"] += 1
            continue
        allowed: tuple = ()
        if "gpu_type" in ci and row[ci["gpu_type"]].strip():
            allowed = (types(row[ci["gpu_type"]], where),)
        tasks.append(_Task(nm, submit, dur, int(k), allowed,
                           allowed[0] if allowed else reference_gpu, (), where,
                           f"{cols['submit']} {text!r}"))
        stamps.append(stamp)
    origin = None
    if earliest is not None:   # ISO submits: seconds from --start, else from the earliest
        zero = start if start is not None else earliest[0]
        for t, stamp in zip(tasks, stamps):
            t.submit = (stamp - zero).total_seconds()
        origin = None if start is None else start.isoformat()
    tasks, t0, what = _select(tasks, report, _window(window), first, _fits(servers), origin)
    if earliest is None:
        when = f"submit {format_seconds(t0)} s ({what})" + (
            "" if start is None else f" = --start {start.isoformat()}")
    elif start is not None:
        when = (f"--start {start.isoformat()}: release = submit - --start"
                + ("" if window is None else "; --window in seconds after --start"))
    else:
        from datetime import timedelta
        when = f"{(earliest[0] + timedelta(seconds=t0)).isoformat()} ({what})" + (
            "" if window is None else f"; --window in seconds after the file's earliest "
                                      f"submit, {earliest[0].isoformat()} (row {earliest[1]})")
    report.assumptions += [
        f"work = duration x {SPEED_MODEL} speed of its GPU type (else {reference_gpu}) x GPUs",
        f"due = release + {slack:g} x duration; penalty {penalty}, weight {penalty_weight:g}",
        f"time 0 = {when}"]
    fleet = _fleet(name, tasks, t0, servers, speeds, cat, slack, penalty, penalty_weight,
                   penalty_scale, report, hold_slack)
    return fleet, report
