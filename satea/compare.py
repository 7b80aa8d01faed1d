"""``satea compare``: methods side by side at equal time budgets on a set of instances.

Every (instance, method, budget, seed) runs the same way: in a **fresh Python process**
(``python -m satea.compare``), started with ``NUMBA_NUM_THREADS`` and OMP's threads set to
``threads``, CP-SAT given ``threads`` workers and the budget as every method's time limit
(HiGHS's MILP is single-threaded whatever the setting; the greedy baseline ignores the
budget). The run's assignment and holds (a method that holds no job: none) come back
and are **re-scored in float64** here by :func:`satea.objective.evaluate`; the incumbents'
trajectory ends at that value. Results go to ``DIR/runs.jsonl`` (one line per run, as it
finishes, so Ctrl-C keeps what finished; no value: ``null``, never NaN; read back by
:func:`read_runs`), ``DIR/table.md`` and two figures: ``DIR/objective_vs_time.png`` and
``DIR/profile.png`` (:mod:`satea.compare_plots`). A method that refused the instance,
was unavailable or failed is shown so in the table, not as infeasible.

Instances: ``*.json`` is a satea-instance/1 fleet; anything else an OR-Library GAP file,
``FILE:K`` its problem ``K`` (minimised), ``FILE`` all its problems. The best known value
of an instance is the published one where a ``best_known.csv`` sits beside the GAP file,
else the best objective any run found.
"""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["METHODS", "InstanceSpec", "parse_instances", "run_one", "compare",
           "summarise", "write_table", "best_known_values", "read_runs", "failure"]

#: the methods compare knows, and the function each runs
METHODS = ("satea", "cpsat", "milp", "greedy")
#: targets of the time-to-target columns (relative to the best known)
TARGETS = (1e-3, 1e-2)


@dataclass(frozen=True)
class InstanceSpec:
    """One instance: ``path``, and for a GAP file the problem ``index`` (from 1)."""

    path: str
    index: int | None = None

    @property
    def name(self) -> str:
        stem = Path(self.path).stem
        return stem if self.index is None else f"{stem}-{self.index}"

    def load(self):
        """The compiled problem."""
        from .compile import compile_assignment, compile_fleet
        if self.index is None:
            from .io import read_instance
            return compile_fleet(read_instance(self.path))
        from .io import read_orlib_gap_problem
        cost, res, cap = read_orlib_gap_problem(self.path, self.index)
        return compile_assignment(cost, res, cap, name=self.name)


def parse_instances(items: list[str]) -> list[InstanceSpec]:
    """``a.json``, ``gapd.txt:3`` or ``gapd.txt`` (every problem) -> specs."""
    out = []
    for item in items:
        path, _, k = item.rpartition(":") if ":" in item and not item.endswith(".json") \
            else (item, "", "")
        if not path:
            path, k = item, ""
        if path.endswith(".json"):
            out.append(InstanceSpec(path))
            continue
        if not Path(path).is_file():
            raise ValueError(f"instance {item!r}: no such file")
        if k:
            try:
                idx = int(k)
            except ValueError:
                raise ValueError(f"instance {item!r}: expected FILE:K with K a problem "
                                 "number") from None
            out.append(InstanceSpec(path, idx))
        else:
            from .io import read_orlib_gap
            out += [InstanceSpec(path, i) for i in range(1, len(read_orlib_gap(path)) + 1)]
    return out


def best_known_values(specs: list[InstanceSpec]) -> dict:
    """Published minimum values from a ``best_known.csv`` beside each GAP file."""
    out: dict = {}
    for sp in specs:
        if sp.index is None:
            continue
        table = Path(sp.path).parent / "best_known.csv"
        if not table.is_file():
            continue
        with open(table, newline="") as fh:
            for row in csv.DictReader(fh):
                if (row["file"] == Path(sp.path).name and int(row["problem_index"]) == sp.index
                        and row["sense"] == "min"):
                    out[sp.name] = float(row["best_known_value"])
    return out


# ---------------------------------------------------------------------------------------
# one run (in the child process)
# ---------------------------------------------------------------------------------------

def run_one(spec: InstanceSpec, method: str, budget: float, seed: int,
            threads: int) -> dict:
    """Run ``method`` on ``spec`` for ``budget`` seconds; the record: the assignment
    ``x`` (caller's job order), the ``holds`` it chose (``{job name: seconds}``, nonzero
    ones, as result files write them; None for a method that holds no job), the
    incumbents' (seconds, objective) trajectory, and ``objective`` and ``feasible``
    re-scored in float64 with those holds (the trajectory ends at that value)."""
    prob = spec.load()
    rec: dict = {"instance": spec.name, "method": method, "budget": budget, "seed": seed,
                 "threads": threads, "status": "done", "trajectory": []}
    t0 = time.perf_counter()
    x: np.ndarray | None
    holds: np.ndarray | None = None      # internal order
    try:
        if method == "satea":
            from .annealing import anneal
            traj: list = []

            def cb(pr):
                if pr.phase == "search" and math.isfinite(pr.best_objective):
                    traj.append((pr.elapsed, prob.sense * pr.best_objective))
            r = anneal(prob, seed=seed, time_limit=budget, callback=cb)
            x, holds, rec["trajectory"] = r.x, r.holds, traj
        elif method == "cpsat":
            from .cpsat import solve_cpsat
            cr = solve_cpsat(prob, time_limit=budget, workers=threads, seed=seed)
            x = cr.x
            rec.update(status=cr.status, bound=cr.bound, trajectory=cr.trajectory)
        elif method == "milp":
            from .milp import solve_milp
            mr = solve_milp(prob, time_limit=budget)
            x = mr.x
            rec.update(status=mr.status, bound=mr.bound)
        elif method == "greedy":
            from .baselines import greedy_energy
            x = greedy_energy(prob)
        else:
            raise ValueError(f"--methods: unknown method {method!r}; valid: "
                             f"{', '.join(METHODS)}")
    except NotImplementedError as e:
        x = None
        rec.update(status="refused", message=str(e))
    except ImportError as e:
        x = None
        rec.update(status="unavailable", message=str(e))
    rec["seconds"] = time.perf_counter() - t0
    rec["x"] = None if x is None else [int(v) for v in np.asarray(x)]
    from .result import holds_to_names
    rec["holds"] = None if x is None else holds_to_names(prob, holds)
    _rescore(prob, rec)
    return _json_safe(rec)


def _json_safe(v):
    """``v`` with every float that is not finite replaced by None (JSON has no NaN)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _json_safe(u) for k, u in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(u) for u in v]
    return v


def _child() -> None:
    spec = json.loads(sys.stdin.read())
    rec = run_one(InstanceSpec(spec["path"], spec["index"]), spec["method"],
                  spec["budget"], spec["seed"], spec["threads"])
    sys.stdout.write(json.dumps(_json_safe(rec), allow_nan=False) + "\n")


# ---------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------

def _spawn(spec: InstanceSpec, method: str, budget: float, seed: int, threads: int,
           timeout: float) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    payload = json.dumps({"path": spec.path, "index": spec.index, "method": method,
                          "budget": budget, "seed": seed, "threads": threads})
    proc = subprocess.Popen([sys.executable, "-m", "satea.compare"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        out, err = proc.communicate(payload, timeout=timeout)
    except BaseException:       # timeout or Ctrl-C: the child goes too
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0 or not out.strip():
        tail = (err or "").strip().splitlines()[-1:] or ["no output"]
        return {"instance": spec.name, "method": method, "budget": budget, "seed": seed,
                "threads": threads, "status": "error", "message": tail[0], "x": None,
                "holds": None, "seconds": None, "trajectory": []}
    return json.loads(out.strip().splitlines()[-1])


def _rescore(problem, rec: dict) -> None:
    """Set ``objective`` and ``feasible`` of ``rec`` from its assignment and holds
    (``{job name: seconds}``; None: none held), in float64; a feasible answer's
    trajectory then ends at that objective (a last point at ``seconds`` where the
    method's own figure differed). No assignment: objective None. Holds the problem
    refuses make the record an ``error`` naming the job."""
    from .objective import evaluate
    from .result import holds_from_names
    from .validate import InstanceError
    rec["objective"], rec["feasible"] = None, False
    if rec.get("x") is None:
        return
    try:
        h = holds_from_names(problem, rec.get("holds"))
    except InstanceError as e:
        rec.update(status="error", message=f"{rec['method']} returned bad holds: {e}")
        return
    ev = evaluate(problem, np.asarray(rec["x"], np.int64), h)
    obj = float(ev.objective)
    rec["objective"] = obj if math.isfinite(obj) else None
    rec["feasible"] = bool(ev.feasible) and rec["objective"] is not None
    traj = rec.get("trajectory") or []
    if rec["feasible"] and (not traj or traj[-1][1] != obj):
        t = rec.get("seconds")
        t = traj[-1][0] if t is None and traj else (0.0 if t is None else t)
        rec["trajectory"] = [list(p) for p in traj] + [[float(t), obj]]


def compare(specs: list[InstanceSpec], methods: list[str], budgets: list[float],
            seeds: int, out_dir, *, threads: int = 2, log=None) -> tuple[list, bool]:
    """Run every (instance, method, budget, seed), each in a fresh process; append each
    record to ``out_dir/runs.jsonl`` as it finishes.

    Returns
    -------
    records : list of dict
    interrupted : bool
        Ctrl-C stopped it (the records finished before are kept).
    """
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"--methods: unknown method {m!r}; valid: {', '.join(METHODS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems = {sp.name: sp.load() for sp in specs}
    runs = [(sp, m, b, s) for sp in specs for m in methods for b in budgets
            for s in range(seeds)]
    records: list = []
    with open(out / "runs.jsonl", "w") as fh:
        for k, (sp, m, b, s) in enumerate(runs, 1):
            try:
                rec = _spawn(sp, m, b, s, threads, timeout=3 * b + 120)
            except subprocess.TimeoutExpired:
                rec = {"instance": sp.name, "method": m, "budget": b, "seed": s,
                       "threads": threads, "status": "error", "message": "timed out",
                       "x": None, "holds": None, "seconds": None, "trajectory": []}
            except KeyboardInterrupt:
                return records, True
            _rescore(problems[sp.name], rec)
            rec = _json_safe(rec)
            records.append(rec)
            fh.write(json.dumps(rec, allow_nan=False) + "\n")
            fh.flush()
            if log is not None:
                obj, sec = rec["objective"], rec.get("seconds")
                log(f"[{k}/{len(runs)}] {sp.name} {m} {b:g} s seed {s}: "
                    + (f"{obj:.10g}" if rec["feasible"] else failure(rec))
                    + ("" if sec is None else f" ({sec:.2f} s)"))
    return records, False


def read_runs(path) -> list:
    """The records of a ``runs.jsonl`` (``null`` values stay None, as :func:`compare`
    returns them); a line that is not a JSON object is refused naming its number."""
    out = []
    with open(path) as fh:
        for k, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line, parse_constant=_refuse_constant)
            except ValueError as e:
                raise ValueError(f"{path}: line {k}: not a JSON record ({e})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{path}: line {k}: expected a JSON object, got "
                                 f"{type(rec).__name__}")
            out.append(rec)
    return out


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def failure(rec: dict) -> str:
    """Why a run has no feasible answer: ``infeasible`` (an answer that is, or a proof),
    ``refused`` (the method does not model the instance), ``unavailable`` (not
    installed), ``error`` (it failed or timed out), or ``no answer`` (none in time);
    "" for a feasible run."""
    if rec.get("feasible"):
        return ""
    status = rec.get("status")
    if status in ("refused", "unavailable", "error"):   # before x: bad holds keep theirs
        return status
    if rec.get("x") is not None or status == "infeasible":
        return "infeasible"
    return "no answer"


# ---------------------------------------------------------------------------------------
# summaries
# ---------------------------------------------------------------------------------------

def summarise(records: list, best_known: dict) -> dict:
    """Per (instance, method, budget): best, mean and spread (max - min) of the feasible
    re-scored objectives over seeds; per (instance, method): the time to reach within
    each of :data:`TARGETS` of the best known (the median over seeds of the first time an
    incumbent of any of the seed's runs came within it; None when no seed did) and how
    many seeds did. ``best`` per instance: the best known value, else the best found."""
    best: dict = {}
    for r in records:
        if r.get("feasible"):
            best[r["instance"]] = min(best.get(r["instance"], math.inf), r["objective"])
    for k, v in best_known.items():     # a run may beat a best known value
        best[k] = min(v, best.get(k, math.inf))
    messages: dict = {}     # (instance, method) -> why it refused or failed, first seen
    for r in records:
        if failure(r) in ("refused", "unavailable", "error") and r.get("message"):
            messages.setdefault((r["instance"], r["method"]), f"{failure(r)}: {r['message']}")
    cells: dict = {}
    fails: dict = {}
    for r in records:
        key = (r["instance"], r["method"], r["budget"])
        ok = r.get("feasible") and r.get("objective") is not None
        cells.setdefault(key, []).append(r["objective"] if ok else math.nan)
        if not ok:
            why = failure(r) or "infeasible"
            fails.setdefault(key, {})
            fails[key][why] = fails[key].get(why, 0) + 1
    stats = {}
    for key, vals in cells.items():
        v = np.array([x for x in vals if math.isfinite(x)])
        stats[key] = (dict(best=float(v.min()), mean=float(v.mean()),
                           spread=float(v.max() - v.min()), n=len(v), runs=len(vals))
                      if v.size else dict(best=math.nan, mean=math.nan, spread=math.nan,
                                          n=0, runs=len(vals)))
        stats[key]["failures"] = fails.get(key, {})
    ttt: dict = {}
    for inst in {r["instance"] for r in records}:
        ref = best.get(inst)
        for m in {r["method"] for r in records}:
            for tgt in TARGETS:
                hits = []
                seeds = {r["seed"] for r in records if r["instance"] == inst
                         and r["method"] == m}
                for s in seeds:
                    first = math.inf
                    for r in records:
                        if ((r["instance"], r["method"], r["seed"]) != (inst, m, s)
                                or not r.get("feasible")):
                            continue
                        for t, obj in r["trajectory"]:
                            if (ref is not None and obj is not None and t is not None
                                    and obj <= ref + tgt * abs(ref) + 1e-9):
                                first = min(first, t)
                                break
                    if math.isfinite(first):
                        hits.append(first)
                ttt[(inst, m, tgt)] = (float(np.median(hits)) if hits else None, len(hits),
                                       len(seeds))
    return {"best": best, "stats": stats, "ttt": ttt, "messages": messages}


def _fmt(v: float) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.6g}"


def _cell(st: dict) -> str:
    """A table cell: ``best / mean (spread)``, ``[k/n]`` when only k of n runs are
    feasible, and why the others are not where that is not infeasibility (``refused``,
    ``error``, ...)."""
    fails = st.get("failures", {})
    why = ", ".join(f"{w}" if c == st["runs"] else f"{c} {w}"
                    for w, c in sorted(fails.items()))
    if st["n"] == 0:
        return f"{why or 'infeasible'} [0/{st['runs']}]"
    head = f"{_fmt(st['best'])} / {_fmt(st['mean'])} ({st['spread']:.3g})"
    if st["n"] == st["runs"]:
        return head
    tail = "" if set(fails) <= {"infeasible"} else f"; {why}"
    return f"{head} [{st['n']}/{st['runs']}{tail}]"


def write_table(summary: dict, methods: list, budgets: list, path, note: str = "") -> Path:
    """The Markdown table: per instance and method, best / mean (spread) per budget,
    then the time to reach within 0.1% and 1% of the best known."""
    insts = sorted({k[0] for k in summary["stats"]})
    head = (["instance", "best known", "method"] + [f"{b:g} s: best / mean (spread)"
                                                    for b in budgets]
            + [f"t to {t:.1%}" for t in TARGETS])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for inst in insts:
        for m in methods:
            row = [inst, _fmt(summary["best"].get(inst)), m]
            for b in budgets:
                st = summary["stats"].get((inst, m, b))
                row.append("-" if st is None else _cell(st))
            for t in TARGETS:
                med, k, n = summary["ttt"].get((inst, m, t), (None, 0, 0))
                row.append("-" if med is None else f"{med:.3g} s ({k}/{n})")
            lines.append("| " + " | ".join(row) + " |")
    why = [f"- {inst} {m}: {msg}" for (inst, m), msg in
           sorted(summary.get("messages", {}).items()) if m in methods]
    text = ("\n".join(lines) + "\n" + ("\n" + "\n".join(why) + "\n" if why else "")
            + (f"\n{note}\n" if note else ""))
    Path(path).write_text(text)
    return Path(path)


if __name__ == "__main__":
    _child()


def parse_budgets(text: str) -> list[float]:
    """``1,5,30`` -> [1.0, 5.0, 30.0] (each a positive number of seconds)."""
    out = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            raise ValueError(f"--budgets: expected seconds like 1,5,30, got {part!r}") from None
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"--budgets: expected positive seconds, got {part!r}")
        out.append(v)
    return out


def command(args) -> int:
    """``satea compare``: run, then write runs.jsonl, table.md and the two figures; exit
    0, or 130 after Ctrl-C (what finished is written)."""
    from .plots import need_matplotlib
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"--methods: unknown method {m!r}; valid: {', '.join(METHODS)}")
    budgets = parse_budgets(args.budgets)
    if args.seeds < 1:
        raise ValueError(f"--seeds: expected a whole number >= 1, got {args.seeds}")
    try:
        need_matplotlib()
    except ImportError as e:
        raise ValueError(str(e)) from None
    specs = parse_instances(args.instances)
    for sp in specs:
        sp.load()          # bad files are refused before any run
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    records, interrupted = compare(specs, methods, budgets, args.seeds, args.out,
                                   threads=args.threads, log=log)
    out = Path(args.out)
    summary = summarise(records, best_known_values(specs))
    note = (f"Each run in a fresh process with {args.threads} threads (numba threads, "
            f"CP-SAT workers; HiGHS single-threaded), the budget as its time limit; every "
            f"objective re-scored in float64 with the holds the method chose. Cells: best / "
            f"mean (max - min) over {args.seeds} seeds; [k/n]: k of n runs feasible; "
            f"refused / unavailable / error: the method gave no answer (why: listed under "
            f"the table). t to x%: median over seeds "
            f"of the first time an incumbent came within x% of the best known (any budget), "
            f"(seeds that did / seeds).")
    write_table(summary, methods, budgets, out / "table.md", note)
    if records:
        from .compare_plots import plot_objective_vs_time, plot_profile
        plot_objective_vs_time(records, summary["best"], methods, budgets,
                               out / "objective_vs_time.png")
        plot_profile(records, summary["best"], methods, budgets, out / "profile.png")
    if not args.quiet:
        print(f"{len(records)} runs; written to {out}/runs.jsonl, table.md, "
              "objective_vs_time.png, profile.png")
    if interrupted:
        print(f"satea: interrupted (Ctrl-C): the {len(records)} finished runs were written "
              f"to {out}", file=sys.stderr)
        return 130
    return 0
