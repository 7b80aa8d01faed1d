"""``satea`` command line: solve, generate, import, evaluate, info, bench, pareto, report.

Errors in what the user gave print one line (``satea: error: ...``) and exit with 2;
:data:`EXIT_CODES` lists every exit status.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NamedTuple

#: exit statuses (documented in ``satea --help`` and the README)
EXIT_OK, EXIT_INFEASIBLE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 130, 141
EXIT_CODES = f"""\
exit status:
  {EXIT_OK}    done (solve: a feasible assignment found)
  {EXIT_INFEASIBLE}    solve and evaluate: no feasible assignment; pareto: no feasible point;
       solve --method milp|cpsat: no assignment at all (infeasible, or none by the time
       limit): one line, nothing written
  {EXIT_USAGE}    bad input: one line naming the flag, the file, the field and the entry;
       nothing is searched (output paths are checked before any work)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C): solve and pareto first write the best so far
       where --out and the other outputs say, and print one line saying what was written
  {EXIT_PIPE}  the output pipe closed early (e.g. satea info | head -1), without a message"""

#: where the help pages send readers
DOCS = ("docs: README.md (commands, time limits, strategies, batches) and docs/model.md "
        "(the model, units, limits) in the satea source tree")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other input error
        self.exit(2, f"satea: error: {message} (see 'satea --help')\n")


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _fraction(text):
    """A share in [0, 1] (--gang-share)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return v


def _nonneg_float(text):
    """A weight of the model (--lambda, --cap-weight, a lambda of --lambdas): finite, >= 0
    and within the model's limit (satea.validate.MAX_VALUE), like an instance's numbers."""
    from .validate import MAX_VALUE
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    if v > MAX_VALUE:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_VALUE:g} (the model's limit: "
                                         f"docs/model.md, Limits), got {text!r}")
    return v


def _positive_weight(text):
    """A lambda that must be > 0 (--lam-max), within the model's limit like --lambda."""
    _positive_float(text)         # > 0 and finite
    return _nonneg_float(text)    # and within the limit


def _count(text):
    """A count that must be >= 1 (--workers, --shards): 0 would silently mean "not given"."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return v


#: instance files above this size are announced before they load (it takes a while)
ANNOUNCE_BYTES = 16 << 20


def _load_problem(args):
    """The compiled problem named by ``args`` (instance file, GAP file or built-in example)
    and the instance's currency (None when it names none)."""
    from .compile import compile_assignment, compile_fleet
    if args.instance is not None and not getattr(args, "quiet", False):
        try:
            size = os.path.getsize(args.instance)
        except OSError:
            size = 0   # the reader names a missing file
        if size > ANNOUNCE_BYTES:
            print(f"satea: loading {args.instance} ({size / 2**20:.0f} MB)", file=sys.stderr,
                  flush=True)
    if args.format == "orlib-gap":
        from .io import read_orlib_gap_problem
        if args.instance is None:
            raise ValueError("--format orlib-gap needs an INSTANCE file")
        cost, res, cap = read_orlib_gap_problem(args.instance, args.index)
        from pathlib import Path
        return compile_assignment(cost, res, cap, maximize=args.maximize,
                                  name=f"{Path(args.instance).stem}-{args.index}"), None
    fleet, currency = _read_fleet_and_currency(args.instance)
    fleet = _as_run(fleet, getattr(args, "constant_prices", False),
                    getattr(args, "hold_max", None))
    return compile_fleet(fleet, lam=getattr(args, "lam", None)), currency


def _with_hold_max(fleet, hold_max):
    """``fleet`` with every job's hold allowance ``hold_max`` seconds (--hold-max, over
    the instance's fleet-wide and per-job values); unchanged for None."""
    return fleet if hold_max is None else fleet.with_hold_max(hold_max)


def _as_run(fleet, constant_prices: bool, hold_max, axis: str = "energy"):
    """``fleet`` as a run saw it: its price curves replaced by their averages
    (--constant-prices), every job's hold allowance ``hold_max`` (--hold-max) and, for a
    point of ``pareto --axis carbon``, its carbon intensities as its prices."""
    if constant_prices:
        fleet = fleet.with_constant_prices()
    fleet = _with_hold_max(fleet, hold_max)
    return fleet.carbon_as_price() if axis == "carbon" else fleet


def _recorded_axis(res: dict, flag: str) -> str:
    """The trade-off a result was found on: ``"carbon"`` for a point of ``pareto --axis
    carbon`` (its "energy" is kg CO2e), else ``"energy"``."""
    from .io import describe_value
    v = res.get("axis", "energy")
    if v not in ("energy", "carbon"):
        raise ValueError(f"{flag}: the result file's axis must be \"energy\" or \"carbon\", "
                         f"got {describe_value(v)}")
    return v


def _recorded_constant_prices(res: dict, flag: str) -> bool:
    """Whether a result file records a run with --constant-prices (``constant_prices``:
    true); false without the record (results written before satea recorded it)."""
    from .io import describe_value
    v = res.get("constant_prices", False)
    if not isinstance(v, bool):
        raise ValueError(f"{flag}: the result file's constant_prices must be true or false, "
                         f"got {describe_value(v)}")
    return v


def _recorded_lambda(res: dict, flag: str, path: str):
    """The ``lambda`` a result file records, or None (none recorded), by --lambda's rule:
    a number, finite, >= 0 and within the model's limit."""
    v = res.get("lambda")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        from .io import describe_value
        why = f"expected a number, got {describe_value(v)}"
    else:
        try:
            return _nonneg_float(repr(v))
        except argparse.ArgumentTypeError as e:
            why = str(e)
    raise ValueError(f"{flag}: result file {path!r}: lambda: {why}")


def _recorded_hold_max(res: dict, flag: str):
    """The fleet-wide ``hold_max_s`` a result file records (a run with --hold-max), or
    None; refused unless a number >= 0."""
    v = res.get("hold_max_s")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
        raise ValueError(f"{flag}: the result file's hold_max_s must be a number of seconds "
                         f">= 0, got {v!r}")
    return float(v)


class WarmStart(NamedTuple):
    """``--warm-start``'s start: assignment and holds (None: the file holds none), the
    caller's job order, and its record (path, and a digest of the start itself)."""
    x: Any
    holds: Any
    record: dict


def _other_instance(res: dict, problem) -> str:
    """`` (the result is of instance A, the instance file holds B)`` when a result file
    names another instance than ``problem``'s, else ``""``."""
    other = res.get("instance")
    if other is None or other == problem.name:
        return ""
    return f" (the result is of instance {other!r}, the instance file holds {problem.name!r})"


def _result_on(res: dict, problem, does_not_fit: str, extra: str = ""):
    """A result file's assignment (the caller's job order) and holds (internal order;
    None: it holds none) on ``problem``, or one ValueError: ``does_not_fit``, the entry, the
    instances if they differ, then ``extra`` when the entry is a hold."""
    from .result import assignment_from_names, holds_from_names
    try:
        return (assignment_from_names(problem, res["assignment"]),
                holds_from_names(problem, res.get("holds")))
    except ValueError as e:   # InstanceError: name the files, and the instances if they differ
        more = extra if "hold_max" in str(e) else ""
        raise ValueError(f"{does_not_fit}: {e}{_other_instance(res, problem)}{more}") from None


def _warn_other_instance(flag: str, path: str, res: dict, problem) -> None:
    """A one-line warning when a result whose names fit ``problem`` names another instance
    (generated fleets share ``j0..``, ``s0..``): it is scored, but may not be what was
    meant."""
    if _other_instance(res, problem):
        print(f"satea: warning: {flag}: {path!r} is a result of instance "
              f"{res['instance']!r}, the problem is {problem.name!r}", file=sys.stderr)


def _warm_start(path: str, problem, hold_max_flag) -> WarmStart:
    """``--warm-start``: a result file's assignment and holds, checked against
    ``problem`` (``hold_max_flag``: the command line's --hold-max, for the hint)."""
    import hashlib

    import numpy as np

    from .result import read_result
    res = read_result(path)
    why = _other_instance(res, problem)
    ran = res.get("hold_max_s")
    x, holds = _result_on(
        res, problem, f"--warm-start: result file {path!r} does not fit the problem",
        f" (the result's run had --hold-max {ran:g}: give it too)"
        if isinstance(ran, (int, float)) and hold_max_flag is None else "")
    xi = problem.to_internal(x)
    bad = np.flatnonzero(~problem.is_allowed(np.arange(problem.n_jobs), xi))
    if bad.size:
        j = int(bad[0])
        raise ValueError(f"--warm-start: result file {path!r}: job "
                         f"{problem.job_names[problem.order[j]]!r} is on server "
                         f"{problem.server_names[xi[j]]!r}, which cannot run it{why}")
    _warn_other_instance("--warm-start", path, res, problem)   # the names fit: say so
    if holds is not None:   # within the evaluator's tolerance past hold_max: onto it
        holds = problem.to_caller(np.minimum(holds, problem.hold_max))
    h = hashlib.sha256(np.ascontiguousarray(x, np.int64).tobytes())
    if holds is not None:
        h.update(np.ascontiguousarray(holds, np.float64).tobytes())
    return WarmStart(x, holds, {"path": path, "sha256": h.hexdigest()})


def _warn_release_after_due(fleet) -> None:
    """One stderr line when a job is released after its due time: legal, late on every
    server whatever the schedule, and surely a mistake in the instance."""
    late = [j for j in fleet.jobs if j.due_s is not None and j.release_s > j.due_s]
    if late:
        j = late[0]
        more = f" (and {len(late) - 1} more such jobs)" if len(late) > 1 else ""
        print(f"satea: warning: job {j.name!r} is released at {j.release_s:g} s, after its "
              f"due time {j.due_s:g} s: it is late on every server{more}", file=sys.stderr)


def _load_problems(args) -> list:
    """Every problem the command line names, with the stem of its result file and its
    currency: [(problem, stem, currency)]. An OR-Library file without --index gives all
    its problems (``<stem>-<k>``); no file gives the built-in example."""
    from pathlib import Path
    files = args.instance or [None]
    if len(files) > 1 and args.index is not None:
        raise ValueError("--index picks one problem of one GAP file; with several files, "
                         "leave it out (every problem of each file is solved)")
    out = []
    for path in files:
        one = argparse.Namespace(**dict(vars(args), instance=path))
        stem = "example" if path is None else Path(path).stem
        if args.format == "orlib-gap" and args.index is None and path is not None:
            from .compile import compile_assignment
            from .io import read_orlib_gap
            problems = read_orlib_gap(path)
            for k, (cost, res, cap) in enumerate(problems, 1):
                name = f"{stem}-{k}" if len(problems) > 1 else stem
                out.append((compile_assignment(cost, res, cap, maximize=args.maximize,
                                               name=f"{stem}-{k}"), name, None))
            continue
        if args.index is None:
            one.index = 1
        gap_index = args.format == "orlib-gap" and args.index is not None
        problem, currency = _load_problem(one)
        out.append((problem, f"{stem}-{args.index}" if gap_index else stem, currency))
    stems = [stem for _p, stem, _c in out]
    twice = sorted({t for t in stems if stems.count(t) > 1})
    if twice and getattr(args, "out_dir", None):
        raise ValueError(f"--out-dir: two problems would write {twice[0]}.json: give the "
                         "files distinct names")
    return out


def _why(e: OSError) -> str:
    """The OS's reason, without Python's ``[Errno N] ...: 'path'`` wrapping."""
    return (e.strerror or str(e)).lower()


def _check_output_file(flag: str, path: str) -> None:
    """Refuse an output file that could not be written, before any work: a folder, a
    missing folder, a place that cannot be written (/proc, read-only, no permission).

    An existing file is opened for appending (neither truncated nor changed) and closed; a
    new one is created and removed again."""
    from pathlib import Path
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--{flag}: {path!r} is a folder; give a file name")
    if not p.resolve().parent.is_dir():
        raise ValueError(f"--{flag}: folder {str(p.parent)!r} does not exist")
    existed = p.exists() or p.is_symlink()
    try:
        with open(p, "a"):
            pass
    except OSError as e:
        raise ValueError(f"--{flag}: cannot write {path!r}: {_why(e)}") from None
    if not existed:
        try:
            p.unlink()
        except OSError:
            pass


#: argument names that hold files a command reads (an output must not overwrite them)
_INPUT_ARGS = ("instance", "result", "repeat", "warm_start", "front")


def _input_files(args) -> list:
    """The files a command reads, from its arguments (``instance`` may be a list)."""
    out = []
    for name in _INPUT_ARGS:
        v = getattr(args, name, None)
        for path in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(path, str):
                head, _, k = path.rpartition(":")
                out.append((name.replace("_", "-"), head if head and k.isdigit() else path))
    return out


def _check_not_an_input(flag: str, path: str, inputs: list) -> None:
    """Refuse an output file that is one of the command's input files: writing it would
    replace what was read (``satea solve f.json --out f.json`` overwrote the instance)."""
    for what, src in inputs:
        try:
            same = os.path.samefile(path, src)
        except OSError:   # either does not exist (yet): not the same file
            same = False
        if same:
            raise ValueError(f"--{flag}: {path!r} is the {what} file this command reads; "
                             "writing there would overwrite it (give another name)")


def _check_output_folder(flag: str, path: str, parents: bool) -> None:
    """Refuse an output folder that could not be made or written in, before any work: a
    file in its place, a missing parent (unless ``parents``: made as needed), a place that
    cannot be written. A probe file is created in it (or in the nearest folder that
    exists) and removed."""
    import tempfile
    from pathlib import Path
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"--{flag}: {path!r} exists and is not a folder")
    if not parents and not p.is_dir() and not p.resolve().parent.is_dir():
        raise ValueError(f"--{flag}: folder {str(p.parent)!r} does not exist")
    base = p.resolve()
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise ValueError(f"--{flag}: cannot make folder {path!r}: {str(base)!r} is a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".satea-probe-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        what = "write in" if base == p.resolve() else "make"
        raise ValueError(f"--{flag}: cannot {what} folder {path!r}: {_why(e)}") from None


def _check_before_search(args, outputs=("out",), plots=("report",), folders=(),
                         parent_folders=("report",)) -> None:
    """Refuse, before loading or searching, what would fail only after the search: an
    output that cannot be written (files ``outputs``; folders ``folders``, whose parent must
    exist, and ``parent_folders``, made with their parents), a figure without matplotlib,
    a cluster without Dask. Attribute names map to flags (``out_dir`` -> ``--out-dir``)."""
    inputs = _input_files(args)
    for name in outputs:
        if getattr(args, name, None):
            _check_output_file(name.replace("_", "-"), getattr(args, name))
            _check_not_an_input(name.replace("_", "-"), getattr(args, name), inputs)
    for name, parents in [(n, False) for n in folders] + [(n, True) for n in parent_folders]:
        if getattr(args, name, None):
            _check_output_folder(name.replace("_", "-"), getattr(args, name), parents)
    if any(getattr(args, name, None) for name in plots):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            flag = next(n for n in plots if getattr(args, n, None))
            raise ValueError(f"--{flag} needs matplotlib: pip install 'satea[plot]'") from None
    if getattr(args, "scheduler", None) or getattr(args, "workers", None):
        from .distributed import require_dask
        try:
            require_dask()
        except ImportError as e:
            raise ValueError(str(e)) from None


#: solve's run flags and their defaults: with --repeat (which repeats a result's own
#: settings) each one given is refused rather than ignored
_REPEAT_IGNORES = {"chains": None, "sweeps": None, "backend": "auto", "seed": None,
                   "p_swap": None, "cap_weight": None, "t_hot": None, "t_cold": None,
                   "stop": "auto", "strategy": None, "rungs": None, "exchange_sweeps": None,
                   "lam": None, "hold_max": None, "constant_prices": False,
                   "method": "anneal"}


def _check_run_flags(args) -> None:
    """Refuse flags that are meaningless together, before anything is read or searched."""
    if args.t_hot is not None and args.t_cold is not None and not args.t_hot > args.t_cold:
        raise ValueError(f"--t-hot {args.t_hot:g} must be above --t-cold {args.t_cold:g} "
                         "(the schedule cools from its hot end to its cold end)")
    if getattr(args, "repeat", None):
        for name, default in _REPEAT_IGNORES.items():
            if getattr(args, name, default) != default:
                flag = "--lambda" if name == "lam" else "--" + name.replace("_", "-")
                raise ValueError(f"{flag} with --repeat: the run repeats the settings its "
                                 "result file recorded (only --time-limit applies, as a cap); "
                                 f"leave {flag} out")


def _check_solve_flags(args) -> None:
    _check_run_flags(args)
    if args.format == "orlib-gap":
        if args.lam is not None:
            raise ValueError("--lambda has no meaning for an assignment problem (no penalties)")
        if args.constant_prices:
            raise ValueError("--constant-prices applies to fleet instances; an OR-Library GAP "
                             "file has no prices")
        if args.hold_max is not None:
            raise ValueError("--hold-max applies to fleet instances; an OR-Library GAP file "
                             "has no schedule to hold")
    else:
        for flag, given in (("--index", args.index is not None), ("--maximize", args.maximize)):
            if given:
                raise ValueError(f"{flag} applies to OR-Library GAP files (--format orlib-gap) "
                                 "only; a satea-instance/1 file holds one fleet to minimise")
    if args.out and args.out_dir is not None:
        raise ValueError("--out and --out-dir: give one (--out-dir writes <stem>.json)")
    if args.warm_start and args.method not in ("anneal", "cpsat"):
        raise ValueError(f"--warm-start applies to --method anneal and cpsat (they start from "
                         f"an assignment); --method {args.method} takes none")
    if args.repeat:
        from .result import read_result
        rec = read_result(args.repeat)
        st = rec.get("settings")
        was_warm = isinstance(st, dict) and bool(st.get("x0_given"))
        if was_warm and not args.warm_start:
            ws = rec.get("warm_start")
            was = f" ({ws['path']!r})" if isinstance(ws, dict) and "path" in ws else ""
            raise ValueError(f"--repeat: the run of {args.repeat!r} started from a warm start"
                             f"{was}: give the same --warm-start RESULT again")
        if args.warm_start and not was_warm:
            raise ValueError(f"--warm-start with --repeat: the run of {args.repeat!r} started "
                             "without one; leave --warm-start out to repeat it")
    if args.repeat and not args.instance:
        from .catalogue import example_fleet
        from .result import read_result
        rec = read_result(args.repeat)
        named = rec.get("instance")
        example = _as_run(example_fleet(), _recorded_constant_prices(rec, "--repeat"), None)
        if named is not None and named != example.name:
            raise ValueError(f"--repeat: {args.repeat!r} is a result of instance {named!r}, "
                             "not of the built-in example: give that instance's file "
                             f"(satea solve FILE --repeat {args.repeat})")


def _interrupted(what: str) -> int:
    """After a search cut by Ctrl-C: one line saying what was written; exit 130."""
    print(f"satea: interrupted (Ctrl-C): {what}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _written(paths: list) -> str:
    return (f"the best result so far was written to {', '.join(paths)}" if paths else
            "the best result so far was not written (no --out)")


def _currency_note(currency) -> str:
    return f"  (costs in {currency})" if currency else ""


def cmd_solve(args) -> int:
    from .annealing import anneal
    _check_solve_flags(args)
    _check_before_search(args, folders=("out_dir",))
    if args.out_dir is not None:   # made here if missing, before any search
        from pathlib import Path
        Path(args.out_dir).mkdir(exist_ok=True)
    if args.repeat:   # the run's --hold-max and --constant-prices, as its file recorded them
        from .result import read_result
        rec = read_result(args.repeat)
        args.hold_max = _recorded_hold_max(rec, "--repeat")
        args.constant_prices = _recorded_constant_prices(rec, "--repeat")
    problems = _load_problems(args)
    if args.out_dir is not None:   # a result file per problem: none may be an input
        from pathlib import Path
        for _p, stem, _c in problems:
            _check_not_an_input("out-dir", str(Path(args.out_dir) / f"{stem}.json"),
                                _input_files(args))
    if len(problems) > 1:
        return _solve_batch(args, problems)
    problem, stem, currency = problems[0]
    if args.out_dir is not None:   # one problem: its file in the folder
        from pathlib import Path
        args.out = str(Path(args.out_dir) / f"{stem}.json")
    if args.repeat and args.instance:
        from .result import read_result
        _warn_other_instance("--repeat", args.repeat, read_result(args.repeat), problem)
    # live output is the progress display's (a terminal, or --progress): pipes and logs
    # get the summary only
    warm = _warm_start(args.warm_start, problem, args.hold_max) if args.warm_start else None
    if warm is not None and args.repeat:   # the very start the run had, not another one
        from .result import read_result
        ws = read_result(args.repeat).get("warm_start")
        if isinstance(ws, dict) and ws.get("sha256") != warm.record["sha256"]:
            raise ValueError(f"--repeat: {args.warm_start!r} is not the start the run of "
                             f"{args.repeat!r} had ({ws.get('path')!r}): its assignment "
                             "or holds differ")
    prog = _progress_for(args, args.time_limit)
    kw = _run_kwargs(args)
    if warm is not None and args.method == "anneal":
        kw.update(x0=warm.x, holds0=warm.holds)

    try:
        if args.method != "anneal":
            from .baselines import solve_baseline
            r = solve_baseline(problem, args.method, seed=args.seed or 0,
                               time_limit=args.time_limit,
                               hint=None if warm is None else warm.x)
        elif _distributed(args):
            from .distributed import solve
            r = _with_cluster(args, lambda client, t0: solve(
                problem, client, shards=args.shards, started=t0, **kw))
        else:
            r = anneal(problem, callback=prog, **kw)
    finally:
        if prog is not None:
            prog.close()
    if args.hold_max is not None:   # recorded: evaluate, report and --repeat apply it
        r.info["hold_max_s"] = args.hold_max
    if args.constant_prices:   # recorded too
        r.info["constant_prices"] = True
    if warm is not None:   # recorded: --repeat asks for it again
        r.info["warm_start"] = warm.record
    from .bounds import attach_bound
    attach_bound(problem, r)   # assignment problems: a certified bound beside the answer
    if args.out:   # first: a closed stdout (| head) must not lose the result
        r.write(args.out, explain=args.explain)
    if not args.quiet:
        print(f"{problem.name}: {problem.n_jobs} jobs x {problem.n_servers} servers")
        print("\n".join(line + _currency_note(currency) if line.startswith("  objective ")
                        else line for line in str(r).split("\n")))
        if args.out:
            print(f"  result written to {args.out}")
    if args.explain and not args.quiet and problem.kind == "assignment":
        print(f"  {'job':>12} {'server':>10} {'server_index':>12} {'cost':>12} "
              f"{'resource':>10}")
        for e in r.explain():
            print(f"  {e['job']:>12} {e['server']:>10} {e['server_index']:>12} "
                  f"{e['cost']:>12.6g} {e['resource']:>10.6g}")
    elif args.explain and not args.quiet:
        # the columns are explain()'s keys (times in seconds)
        held = r.held   # part 3: a hold column where jobs may be held
        rows = r.explain()
        carbon = bool(rows) and "carbon_kg" in rows[0]     # part 2: where explain() has them
        lanes = bool(rows) and "gpu_indices" in rows[0]
        print(f"  {'job':>12} {'server':>10} " + (f"{'gpus':>12} " if lanes else "")
              + (f"{'hold':>10} " if held else "")
              + f"{'start':>12} {'completion':>12} "
              f"{'lateness':>10} {'penalty':>10} {'energy_cost':>11}"
              + (f" {'carbon_kg':>10}" if carbon else ""))
        for e in rows:
            gpus = ",".join(map(str, e["gpu_indices"])) if lanes else ""
            print(f"  {e['job']:>12} {e['server']:>10} " + (f"{gpus:>12} " if lanes else "")
                  + (f"{e['hold']:>10.1f} " if held else "")
                  + f"{e['start']:>12.1f} {e['completion']:>12.1f}"
                  f" {e['lateness']:>10.1f} {e['penalty']:>10.4g} {e['energy_cost']:>11.4g}"
                  + (f" {e['carbon_kg']:>10.4g}" if carbon else ""))
    if args.report:
        from .report import write_report
        fleet = (None if args.format == "orlib-gap"
                 else _as_run(_read_fleet(args.instance[0] if args.instance else None),
                              args.constant_prices, args.hold_max))
        page = _plot_or_exit(write_report, problem, r, args.report, fleet=fleet)
        if not args.quiet:
            print(f"  report written to {page}")
    if r.stopped_by == "interrupt":
        paths = [p for p in (args.out, args.report and f"the report in {args.report}") if p]
        return _interrupted(_written(paths))
    return EXIT_OK if r.feasible else EXIT_INFEASIBLE


def _solve_batch(args, problems) -> int:
    """Several problems (or --out-dir): one anneal_batch call, one summary line and one
    satea-result/1 file per problem."""
    from pathlib import Path

    from .annealing import anneal_batch
    for flag, given in (("--out", args.out), ("--report", args.report),
                        ("--repeat", args.repeat), ("--explain", args.explain)):
        if given:
            raise ValueError(f"{flag} takes one problem; with several, use --out-dir DIR "
                             "(one result file per problem)")
    if args.warm_start:
        raise ValueError("--warm-start takes one problem (a result file is of one); solve "
                         "the others without it")
    if args.method != "anneal":
        raise ValueError(f"--method {args.method} takes one problem; several are "
                         "annealed together (--method anneal)")
    prog = None if _distributed(args) else _progress_for(args, args.time_limit)
    kw = _run_kwargs(args)
    try:
        if _distributed(args):   # every shard task runs its chains of every problem
            from .distributed import solve_batch
            results = _with_cluster(args, lambda client, t0: solve_batch(
                [p for p, _s, _c in problems], client, shards=args.shards, started=t0, **kw))
        else:
            results = anneal_batch([p for p, _s, _c in problems],
                                   callback=prog, **kw)
    finally:
        if prog is not None:
            prog.close()
    for (problem, stem, currency), r in zip(problems, results):
        if args.hold_max is not None:   # recorded, as cmd_solve does
            r.info["hold_max_s"] = args.hold_max
        if args.constant_prices:
            r.info["constant_prices"] = True
        path = None
        if args.out_dir is not None:
            path = Path(args.out_dir) / f"{stem}.json"
            r.write(path)
        if not args.quiet:
            state = "feasible" if r.feasible else "INFEASIBLE"
            cost = f"{r.fun:.10g}" + (f" {currency}" if currency else "")
            print(f"{problem.name}: {problem.n_jobs} x {problem.n_servers}  objective "
                  f"{cost}  {state}  {r.sweeps} sweeps ({r.stopped_by})"
                  + (f"  -> {path}" if path else ""))
    if any(r.stopped_by == "interrupt" for r in results):
        return _interrupted(f"the best results so far were written to {args.out_dir} (one "
                            "file per problem)" if args.out_dir is not None else
                            "the best results so far were not written (no --out-dir)")
    return EXIT_OK if all(r.feasible for r in results) else EXIT_INFEASIBLE


def _distributed(args):
    """Whether the run goes through satea.distributed (a cluster, or shards in process)."""
    return bool(getattr(args, "scheduler", None) or getattr(args, "workers", None)
                or getattr(args, "shards", None))


def _with_cluster(args, fn):
    """``fn(client, started)`` with a Dask client for --scheduler / --workers (workers get
    one numba thread each), or ``fn(None, started)`` (shards one after another here) for
    --shards alone; ``started``: the clock before the cluster started."""
    import time

    from . import distributed as sd
    t0 = time.perf_counter()   # a time limit counts starting the cluster
    if not (args.scheduler or args.workers):
        return fn(None, t0)
    with sd.connect(scheduler=args.scheduler, workers=args.workers) as client:
        return fn(client, t0)


def _gpu_counts(text: str) -> tuple:
    """``--gpus-per-node``: ``8`` or ``1,2,4,8`` (each an integer >= 1)."""
    try:
        counts = tuple(int(t) for t in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a GPU count >= 1 or a comma-separated list of them, got {text!r}")
    return counts


def _slack_range(text: str) -> tuple:
    """``generate --slack``: ``LO,HI`` or one value, checked by the generator's rule."""
    from .generate import SLACK_MAX, check_slack
    try:
        vals = tuple(float(t) for t in text.split(","))
        return check_slack(vals[0] if len(vals) == 1 else vals)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SLACK or LO,HI with 0 < LO <= HI <= "
                                         f"{SLACK_MAX:g}, got {text!r}") from None


def _add_hold_flag(parser) -> None:
    """--hold-max (solve, pareto): every job's hold allowance, over the instance's."""
    parser.add_argument("--hold-max", type=_nonneg_float, default=None, metavar="SECONDS",
                        help="let the solver hold every job up to SECONDS after its release "
                             "to start in cheaper hours (over the instance's hold_max_s, "
                             "fleet-wide and per job; 0: never held); recorded in the "
                             "result (pareto: in each point), which evaluate, report and "
                             "--repeat apply again. Default: the instance's (docs/model.md, "
                             "part 3)")


def _add_node_flags(parser) -> None:
    """--gpus-per-node and --gang-share (generate, bench): the fleet's node sizes and gang
    jobs, as satea.generate_fleet draws them."""
    parser.add_argument("--gpus-per-node", type=_gpu_counts, default=(1,), metavar="G[,G...]",
                        help="GPUs per node: one count (e.g. 8) or a mix each node draws "
                             "from uniformly (e.g. 1,2,4,8); default 1 (one-GPU servers)")
    parser.add_argument("--gang-share", type=_fraction, default=0.0, metavar="F",
                        help="fraction of jobs, in [0, 1], that ask for 2, 4 or 8 GPUs of "
                             "one node at once (default 0)")


def _add_grid_flags(parser) -> None:
    """--prices/--carbon and their columns, units and start (import, generate): market
    series as non-repeating curves on every server (satea.grid)."""
    parser.add_argument("--prices", metavar="CSV", help="price series: every server buys "
                        "at it (a repeat:false curve at the file's own step)")
    parser.add_argument("--price-column", metavar="NAME", help="its value column (required "
                        "with --prices)")
    parser.add_argument("--price-unit", choices=("per-MWh", "per-kWh"), default="per-MWh",
                        help="the price column's unit (default per-MWh)")
    parser.add_argument("--carbon", metavar="CSV", help="carbon intensity series (g/kWh)")
    parser.add_argument("--carbon-column", metavar="NAME", help="its value column (required "
                        "with --carbon)")
    parser.add_argument("--time-column", metavar="NAME", help="the timestamp column of both "
                        "files (default: the first column)")
    parser.add_argument("--start", metavar="TIMESTAMP", help="the instance's time 0, "
                        "timezone-aware ISO 8601 (e.g. 2023-06-01T00:00:00+00:00); "
                        "required with --prices or --carbon")
    parser.add_argument("--carbon-price", type=_nonneg_float, default=None, metavar="X",
                        help="currency per kg CO2e in the objective (default: the "
                             "instance's, 0)")


def _apply_grid(fleet, args):
    from .grid import PRICE_UNITS, parse_start, read_series, with_grid
    if (args.prices or args.carbon) and not args.start:
        raise ValueError("--start: required with --prices or --carbon (the instance's time 0)")
    for flag, col, need in ((args.prices, args.price_column, "--price-column: required "
                             "with --prices"),
                            (args.carbon, args.carbon_column, "--carbon-column: required "
                             "with --carbon")):
        if flag and not col:
            raise ValueError(need)
    start = parse_start(args.start) if args.start else None
    prices = carbon = None
    if args.prices:
        prices = read_series(args.prices, args.price_column, start,
                             time_column=args.time_column, scale=PRICE_UNITS[args.price_unit])
    if args.carbon:
        carbon = read_series(args.carbon, args.carbon_column, start,
                             time_column=args.time_column, signed=False)
    if prices is None and carbon is None and args.carbon_price is None:
        return fleet
    if (args.carbon_price is not None and carbon is None
            and all(s.carbon_curve is None and s.carbon_g_per_kwh is None
                    for s in fleet.servers)):
        raise ValueError("--carbon-price: no server has a carbon intensity, so it would "
                         "change nothing; give --carbon CSV too")
    return with_grid(fleet, prices, carbon, args.carbon_price)


def cmd_import(args) -> int:
    from .grid import parse_start, series_coverage
    from .importers import import_alibaba, import_csv, parse_gpu_map
    from .io import write_instance
    _check_before_search(args, outputs=("out",), plots=(), parent_folders=())
    # --start: time 0 on the grid series; with ISO 8601 submits, releases are from it
    start = parse_start(args.start) if args.start else None
    common = dict(window=args.window, first=args.first, gpu_map=parse_gpu_map(args.gpu_map),
                  slack=args.slack, penalty=args.penalty, penalty_weight=args.penalty_weight,
                  penalty_scale=args.penalty_scale, hold_slack=args.hold_slack,
                  price_per_kwh=args.price_per_kwh,
                  base_w=args.base_w, reference_gpu=args.reference_gpu, start=start)
    if args.format == "alibaba-gpu-v2023":
        if not args.nodes or not args.pods:
            raise ValueError("alibaba-gpu-v2023: --nodes NODES.csv and --pods PODS.csv are "
                             "required")
        fleet, report = import_alibaba(args.nodes, args.pods, running=args.running,
                                       sharing=args.sharing, failed=args.failed, **common)
    else:
        if not args.jobs or not args.nodes or not args.columns:
            raise ValueError("csv: --jobs JOBS.csv, --nodes TYPExGPUS:COUNT[,...] and "
                             "--columns submit=...,duration=...[,gpus=...,gpu_type=...] are "
                             "required")
        fleet, report = import_csv(args.jobs, args.nodes, args.columns, **common)
    fleet = _apply_grid(fleet, args)
    # one line per series: its span, or (stderr) a warning when the jobs run past its end
    series = ([] if start is None else
              series_coverage(fleet, start, {"prices": args.prices, "carbon": args.carbon}))
    write_instance(fleet, args.out)
    if not args.quiet:
        print("\n".join(report.lines()))
        for warn, line in series:
            if not warn:
                print(f"  {line}")
    for warn, line in series:
        if warn:
            print(f"satea: warning: {line}", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {args.out}: {fleet.n_jobs} jobs x {fleet.n_servers} servers")
    return 0


def _add_import_parser(sub) -> None:
    m = _add_command(sub, "import", "turn a cluster trace (and grid series) into an instance",
                     "  satea import alibaba-gpu-v2023 --nodes openb_node_list_gpu_node.csv \\\n"
                     "      --pods openb_pod_list_default.csv --gpu-map G2=A100,G3=A10 \\\n"
                     "      --first 2000 --out trace.json\n"
                     "  satea import csv --jobs log.csv --nodes A100x8:4,V100x4:2 \\\n"
                     "      --columns submit=submit_time,duration=run_s,gpus=n_gpu --out log.json")
    m.add_argument("format", choices=("alibaba-gpu-v2023", "csv"), help="the trace's format")
    m.add_argument("--nodes", metavar="FILE|SPEC", help="alibaba: the node list CSV; csv: the "
                   "nodes to place on, TYPExGPUS:COUNT[,...] (e.g. A100x8:4)")
    m.add_argument("--pods", metavar="CSV", help="alibaba: the pod (task) list CSV")
    m.add_argument("--jobs", metavar="CSV", help="csv: the job list")
    m.add_argument("--columns", metavar="ROLE=COL,...", help="csv: the columns of submit "
                   "(seconds or ISO 8601), duration (s) and optionally gpus, gpu_type, name")
    m.add_argument("--window", metavar="START:END", help="keep tasks submitted in "
                   "[START, END) trace seconds (time 0 = START); with ISO 8601 submits, "
                   "seconds after --start (time 0 = --start), else after the file's "
                   "earliest submit")
    m.add_argument("--first", type=int, metavar="N", help="keep the first N importable GPU "
                   "tasks (after --window, of those an imported node can hold) in "
                   "submission order")
    m.add_argument("--gpu-map", metavar="T=TYPE,...", help="trace GPU types the catalogue "
                   "does not know, mapped to catalogue types (e.g. G2=A100,G3=A10)")
    m.add_argument("--reference-gpu", default="V100", metavar="TYPE", help="the GPU type a "
                   "task that does not name one ran on (default V100)")
    m.add_argument("--slack", type=float, default=2.0, help="due = release + SLACK x run "
                   "time (default 2)")
    m.add_argument("--penalty", default="linear", choices=("none", "step", "linear",
                                                           "exponential"),
                   help="lateness penalty kind (default linear)")
    m.add_argument("--penalty-weight", type=_nonneg_float, default=1.0, metavar="W",
                   help="penalty weight, currency (default 1)")
    m.add_argument("--penalty-scale", type=float, default=None, metavar="S",
                   help="penalty scale in seconds (default: each task's run time)")
    m.add_argument("--hold-slack", type=float, default=None, metavar="F",
                   help="each job may be held F (in [0, 1]) of its slack, (SLACK - 1) x run "
                        "time, for cheaper or greener hours (hold_max_s; default: none)")
    m.add_argument("--running", choices=("keep", "drop"), default="keep", help="tasks still "
                   "running at the trace's end: keep the run time so far, or drop")
    m.add_argument("--sharing", choices=("whole", "drop"), default="whole", help="GPU-sharing "
                   "tasks (gpu_milli < 1000): give a whole GPU, or drop")
    m.add_argument("--failed", choices=("keep", "drop"), default="keep", help="failed tasks: "
                   "keep for the GPU time they used, or drop")
    m.add_argument("--price-per-kwh", type=float, default=0.1, metavar="P", help="every "
                   "node's constant price without --prices (default 0.1)")
    m.add_argument("--base-w", type=_nonneg_float, default=0.0, metavar="W",
                   help="every node's host power (default 0)")
    _add_grid_flags(m)
    _add_quiet_flag(m, "the import report")
    m.add_argument("--out", required=True, metavar="FILE",
                   help="write the satea-instance/1 JSON here")
    m.set_defaults(func=cmd_import)


def cmd_generate(args) -> int:
    from .generate import generate_fleet
    from .io import write_instance
    _check_before_search(args, outputs=("out",), plots=(), parent_folders=())
    if args.constant_prices and args.prices:
        raise ValueError("--constant-prices: --prices gives every server the series; "
                         "give one of the two")
    pens = tuple(p.strip() for p in args.penalties.split(",") if p.strip())
    fleet = generate_fleet(args.jobs, args.servers, seed=args.seed, penalties=pens,
                           load=args.load, capacity=args.capacity,
                           price_curve_fraction=0.0 if args.constant_prices else 0.25,
                           gpus_per_node=args.gpus_per_node, gang_share=args.gang_share,
                           slack=args.slack)
    fleet = _with_hold_max(fleet, args.hold_max)
    fleet = _apply_grid(fleet, args)
    write_instance(fleet, args.out)
    if args.start:   # the series' span, or a warning when the jobs run past its end
        from .grid import parse_start, series_coverage
        for warn, line in series_coverage(fleet, parse_start(args.start),
                                          {"prices": args.prices, "carbon": args.carbon}):
            print(f"satea: warning: {line}" if warn else f"  {line}",
                  file=sys.stderr if warn else sys.stdout)
    print(f"wrote {args.out}: {fleet.n_jobs} jobs x {fleet.n_servers} servers (seed {args.seed})")
    return 0


def cmd_evaluate(args) -> int:
    from .compile import compile_fleet
    from .io import read_instance_with_currency
    from .objective import evaluate
    from .result import read_result
    fleet, currency = read_instance_with_currency(args.instance)
    res = read_result(args.result)
    lam = _recorded_lambda(res, "evaluate", args.result) if args.lam is None else args.lam
    constant = _recorded_constant_prices(res, "evaluate")
    axis = _recorded_axis(res, "evaluate")
    fleet = _as_run(fleet, constant, _recorded_hold_max(res, "evaluate"), axis)
    problem = compile_fleet(fleet, lam=lam)
    x, holds = _result_on(res, problem, f"result file {args.result!r} does not fit instance "
                          f"file {args.instance!r}")
    _warn_other_instance("evaluate", args.result, res, problem)
    ev = evaluate(problem, x, holds)
    out = {"format": "satea-evaluation/1", "instance": problem.name, "lambda": problem.lam,
           **({"currency": currency} if currency else {}),
           **({"constant_prices": True} if constant else {}),
           **({"axis": "carbon"} if axis == "carbon" else {}), **ev.as_dict()}
    if holds is not None:   # part 3: the holds the result chose were applied
        out["held_jobs"] = int((holds > 0).sum())
    print(json.dumps(out, indent=1))
    return EXIT_OK if ev.feasible else EXIT_INFEASIBLE


def cmd_info(args) -> int:
    import platform

    import numba
    import numpy

    from . import __version__
    from .backends import BACKEND_NAMES, backend_class, resolve
    from .bench import cpu_name, gpu_name
    print(f"satea {__version__}; python {platform.python_version()}; numpy {numpy.__version__};"
          f" numba {numba.__version__} ({numba.get_num_threads()} threads)")
    try:
        import numba_cuda
        print(f"numba-cuda {getattr(numba_cuda, '__version__', '?')}")
    except ImportError:
        print("numba-cuda not installed (pip install 'satea[gpu]')")
    try:
        import cupy
        print(f"cupy {cupy.__version__}")
    except ImportError:
        print("cupy not installed")
    print(f"cpu: {cpu_name()}")
    print(f"gpu: {gpu_name() or 'none'}")
    for name in BACKEND_NAMES:
        cls = backend_class(name)
        ok = cls.available()
        state = "available" if ok else "unavailable: " + cls.unavailable_reason()
        print(f"backend {name:>6}: {state}")
    print(f"backend auto -> {resolve('auto').name}")
    if args.scheduler:
        from . import distributed as sd
        with sd.connect(scheduler=args.scheduler) as client:
            print(sd.format_cluster_info(sd.cluster_info(client)))
    return 0


def cmd_bench(args) -> int:
    from .backends import BACKEND_NAMES
    from .bench import (DEFAULT_SIZES, format_table, machine_info, parse_sizes,
                        run_bench, write_json)
    _check_before_search(args, outputs=("json",), plots=(), parent_folders=())
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in BACKEND_NAMES:
            raise ValueError(f"--backends: unknown backend {b!r}; "
                             f"valid: {', '.join(BACKEND_NAMES)}")
    sizes = parse_sizes(args.sizes) if args.sizes else list(DEFAULT_SIZES)
    if args.quiet:   # the table once, at the end
        doc = run_bench(backends, sizes, chains=args.chains, seconds=args.seconds,
                        seed=args.seed, gpus_per_node=args.gpus_per_node,
                        gang_share=args.gang_share)
        print(format_table(doc))
    else:            # the same table, a row as each is measured
        head = machine_info()
        print(format_table(dict(head, rows=[])), flush=True)
        doc = run_bench(backends, sizes, chains=args.chains, seconds=args.seconds,
                        seed=args.seed, log=lambda line: print(line, flush=True),
                        gpus_per_node=args.gpus_per_node, gang_share=args.gang_share)
    if args.json:
        write_json(doc, args.json)
    return 0


def _parse_lambdas(text):
    """'0,0.01,0.1,1' -> [0.0, 0.01, 0.1, 1.0] (each finite and >= 0)."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if part:
            out.append(_nonneg_float(part))
    if not out:
        raise argparse.ArgumentTypeError(f"expected comma-separated lambdas, got {text!r}")
    return out


def _run_kwargs(args) -> dict:
    """anneal's keyword arguments from the run flags (--repeat: a result file's)."""
    if getattr(args, "repeat", None):
        from .result import read_result
        from .settings import repeat_kwargs
        kw = repeat_kwargs(read_result(args.repeat))
        if args.time_limit is not None:
            kw["time_limit"] = args.time_limit
        return kw
    kw = dict(chains=getattr(args, "chains", None), sweeps=args.sweeps, backend=args.backend,
              seed=args.seed,
              time_limit=args.time_limit, p_swap=args.p_swap, cap_weight=args.cap_weight,
              stop=args.stop)
    if hasattr(args, "strategy"):
        kw.update(strategy=args.strategy or "auto", rungs=args.rungs,
                  exchange_sweeps=args.exchange_sweeps)
    if args.t_hot is not None or args.t_cold is not None:
        if args.t_hot is None or args.t_cold is None:
            raise ValueError("--t-hot and --t-cold go together (the schedule's two ends)")
        kw["schedule"] = (args.t_hot, args.t_cold)
    return kw


def _add_run_flags(parser, chains: bool = True):
    """The settings of a run (satea.settings), shared by solve and pareto."""
    if chains:
        parser.add_argument("--chains", type=int, default=None, metavar="N",
                            help="Markov chains run side by side (default: the backend's, "
                                 "16 on the CPU, 1024 on cuda; under --time-limit on the "
                                 "CPU, fewer when each would get too few sweeps)")
    parser.add_argument("--sweeps", type=int, default=None, metavar="N",
                        help="sweeps per chain (a sweep: one attempted move per job). "
                             "Default: fitted to --time-limit when given, else about 2e6 "
                             "moves per chain (2000-50000 sweeps) ended early once converged")
    parser.add_argument("--time-limit", type=_positive_float, default=None, metavar="SEC",
                        help="seconds for the whole run, setup included. Without --sweeps "
                             "the schedule is fitted to it and ends cold when the time is "
                             "up; with --sweeps it only caps the run")
    parser.add_argument("--stop", choices=["auto", "sweeps", "time", "converged"],
                        default="auto",
                        help="when the run ends: auto (default: time with --time-limit and "
                             "no --sweeps, sweeps with --sweeps, else converged), sweeps "
                             "(all planned), time (fill --time-limit), converged (the "
                             "planned sweeps, ended once no chain improves)")
    parser.add_argument("--p-swap", type=float, default=None, metavar="P",
                        help="probability (0-1) that a move swaps two jobs (default 0.3; "
                             "0.6 when servers have capacities)")
    parser.add_argument("--cap-weight", type=_nonneg_float, default=None, metavar="W",
                        help="search cost (currency) per second of capacity overload, per "
                             "resource unit on an assignment problem (default: from the "
                             "instance's move costs)")
    parser.add_argument("--t-hot", type=_positive_float, default=None, metavar="T",
                        help="hot end of the geometric schedule, in objective units "
                             "(currency; cost on an assignment problem), above --t-cold "
                             "(default: sized from the instance's move costs)")
    parser.add_argument("--t-cold", type=_positive_float, default=None, metavar="T",
                        help="cold end of the schedule, in objective units, below "
                             "--t-hot (give both or neither)")
    if chains:   # one energy for all chains: not pareto's lambda per chain
        parser.add_argument("--strategy",
                            choices=["auto", "independent", "tempering", "population"],
                            default=None,
                            help="how the chains work together (satea.strategies): each "
                                 "anneals alone, parallel tempering on a fixed ladder "
                                 "between the schedule's ends, or population annealing "
                                 "(resampled by Boltzmann weights); auto (default): "
                                 "population, independent with --workers/--scheduler")
        parser.add_argument("--rungs", type=int, default=None, metavar="N",
                            help="tempering: temperatures on the ladder (default chains/2, "
                                 "at most 32)")
        parser.add_argument("--exchange-sweeps", type=int, default=None, metavar="K",
                            help="tempering and population: sweeps between exchanges or "
                                 "resamplings (default: about 4,000 moves per chain)")


def _progress_for(args, time_limit=None):
    """The progress display for a run, or None: --quiet turns it off, --progress /
    --no-progress force it, otherwise on exactly when stderr is a terminal."""
    from .progress import make_progress
    enabled = False if args.quiet else args.progress
    return make_progress(enabled, sys.stderr, time_limit=time_limit)


def _read_fleet(path):
    return _read_fleet_and_currency(path, warn=False)[0]


def _read_fleet_and_currency(path, warn: bool = True):
    """The fleet in ``path`` (None: the built-in example) and the currency it names; a job
    released after its due time is warned about (``warn``)."""
    if path is None:
        from .catalogue import example_fleet
        return example_fleet(), None
    from .io import read_instance_with_currency
    fleet, currency = read_instance_with_currency(path)
    if warn:
        _warn_release_after_due(fleet)
    return fleet, currency


def _plot_or_exit(fn, *a, **kw):
    """Run a plotting call; without matplotlib, one line naming the install, exit 2."""
    try:
        return fn(*a, **kw)
    except ImportError as e:
        raise ValueError(str(e)) from None   # main() prints "satea: error: ..." and exits 2


def cmd_pareto(args) -> int:
    from .compile import compile_fleet
    from .pareto import pareto
    _check_run_flags(args)
    if args.lambdas is not None and args.lam_max is not None:
        raise ValueError("--lam-max sets the default ladder's top; with --lambdas, leave it "
                         "out")
    _check_before_search(args, outputs=("out", "csv", "plot"), plots=("plot",),
                         parent_folders=())
    fleet, currency = _read_fleet_and_currency(args.instance)
    fleet = _with_hold_max(fleet, args.hold_max)
    if args.axis == "carbon":   # carbon against lateness: the carbon intensity as the price
        fleet = fleet.carbon_as_price()
    problem = compile_fleet(fleet)
    prog = _progress_for(args, args.time_limit)
    run = {k: v for k, v in _run_kwargs(args).items() if k != "chains"}
    kw = dict(lambdas=args.lambdas, points=args.points, lam_max=args.lam_max,
              chains_per_lambda=args.chains_per_lambda, **run)
    try:
        if _distributed(args):
            from . import distributed as sd
            front = _with_cluster(args, lambda client, t0: sd.pareto(
                problem, client, shards=args.shards, started=t0, **kw))
        else:
            front = pareto(problem, callback=prog, **kw)
    finally:
        if prog is not None:
            prog.close()
    front.axis = args.axis
    if args.hold_max is not None:   # recorded in the front's run and in each point, as
        front.run.info["hold_max_s"] = args.hold_max   # solve does: evaluate applies it
    # the files first: a closed stdout (| head) must not lose them
    written = []
    if args.out:
        front.write_json(args.out, explain=args.explain)
        written.append(f"  front written to {args.out}")
    if args.csv:
        front.write_csv(args.csv)
        written.append(f"  table written to {args.csv}")
    if args.plot:
        from .report import write_front_plot
        _plot_or_exit(write_front_plot, front, args.plot)
        written.append(f"  plot written to {args.plot}")
    if not args.quiet:
        print(f"{problem.name}: {problem.n_jobs} jobs x {problem.n_servers} servers"
              + _currency_note(currency))
        print(front)
        if front.run.stopped_by != "sweeps":
            print(f"  stopped by {front.run.stopped_by.replace('_', ' ')} after "
                  f"{front.run.sweeps} of {front.run.sweeps_requested} sweeps")
        for line in written:
            print(line)
    if front.run.stopped_by == "interrupt":
        paths = [p for p in (args.out, args.csv, args.plot) if p]
        return _interrupted(f"the front so far was written to {', '.join(paths)}" if paths
                            else "the front so far was not written (no --out, --csv, --plot)")
    return EXIT_OK if len(front) else EXIT_INFEASIBLE


def cmd_report(args) -> int:
    from .compile import compile_fleet
    from .pareto import read_front
    from .report import write_report
    from .result import read_result
    _check_before_search(args, outputs=(), plots=(), parent_folders=("out",))
    res = read_result(args.result)
    _recorded_lambda(res, "report", args.result)   # re-scored at it: refused unless valid
    fleet = _as_run(_read_fleet(args.instance), _recorded_constant_prices(res, "report"),
                    _recorded_hold_max(res, "report"), _recorded_axis(res, "report"))
    problem = compile_fleet(fleet)
    _warn_other_instance("report", args.result, res, problem)
    front = read_front(args.front) if args.front else None
    traces = None
    if args.trace:   # other results (e.g. one per backend) whose "trace" lines to compare
        traces = [res] + [read_result(t) for t in args.trace]
        traces = [t for t in traces if t.get("trace") is not None] or None
    page = _plot_or_exit(write_report, problem, res, args.out, front=front, traces=traces,
                         fleet=fleet)
    print(f"report written to {page}")
    return EXIT_OK


# --- parsers ------------------------------------------------------------------------

def _add_cluster_flags(parser):
    cl = parser.add_mutually_exclusive_group()
    cl.add_argument("--scheduler", metavar="ADDRESS",
                    help="run the shards on a Dask cluster: tcp://host:port or a scheduler "
                         "file .json (pip install 'satea[distributed]')")
    cl.add_argument("--workers", type=_count, metavar="K",
                    help="start a local Dask cluster of K single-threaded workers (K >= 1)")
    parser.add_argument("--shards", type=_count, default=None, metavar="N",
                        help="split the chains into N tasks (default: one per worker thread; "
                             "alone: the same shards one after another here, sharing "
                             "--time-limit)")


def _add_progress_flag(parser):
    parser.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="show the progress line on stderr even when it is not a "
                             "terminal (default: only on a terminal; --quiet: never)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="never show the progress line")


def _add_command(sub, name: str, help: str, examples: str):
    """A subcommand whose help page ends with examples and where the docs are."""
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog=f"examples:\n{examples}\n\n{DOCS}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_quiet_flag(parser, what: str = "the summary"):
    parser.add_argument("--quiet", action="store_true",
                        help=f"print nothing on stdout ({what}); errors and warnings still "
                             "go to stderr")


def _add_pareto_and_report_parsers(sub):
    from .pareto import DEFAULT_CHAINS_PER_LAMBDA
    q = _add_command(sub, "pareto", "energy / penalty Pareto front over lambda, one launch",
                     "  satea pareto fleet.json --points 8 --time-limit 30 --out front.json "
                     "--plot front.png\n"
                     "  satea pareto --lambdas 0,0.1,1,10 --sweeps 2000 --csv front.csv")
    q.add_argument("instance", nargs="?", help="satea-instance/1 JSON; omitted: the built-in "
                   "example fleet")
    lam = q.add_mutually_exclusive_group()
    lam.add_argument("--lambdas", type=_parse_lambdas, default=None, metavar="L1,L2,...",
                     help="the lambda ladder (comma-separated, each >= 0: the weight of "
                          "penalties against energy cost)")
    lam.add_argument("--points", type=int, default=16, metavar="K",
                     help="default ladder: 0 then K-1 geometric lambdas derived from the "
                          "instance (default 16)")
    q.add_argument("--lam-max", type=_positive_weight, default=None, metavar="LAMBDA",
                   help="top of the default ladder (default: from the instance)")
    _add_hold_flag(q)
    q.add_argument("--axis", choices=("energy", "carbon"), default="energy",
                   help="what lateness is traded against: energy cost (default), or carbon "
                        "(kg CO2e: the carbon intensity taken as the price, the electricity "
                        "price left out)")
    q.add_argument("--chains-per-lambda", type=int, default=DEFAULT_CHAINS_PER_LAMBDA,
                   metavar="N", help=f"chains at each lambda of the ladder (default "
                                     f"{DEFAULT_CHAINS_PER_LAMBDA})")
    _add_run_flags(q, chains=False)
    q.add_argument("--backend", default="auto", help="auto (default), numpy, numba or cuda")
    q.add_argument("--seed", type=int, default=None,
                   help="random seed (default: fresh entropy, recorded in the front file)")
    q.add_argument("--out", metavar="FILE", help="write the satea-front/1 JSON here")
    q.add_argument("--csv", metavar="FILE", help="write lambda, energy_cost, penalty, "
                   "objective, feasible here (costs in the instance's currency)")
    q.add_argument("--plot", metavar="FILE",
                   help="write the front as a PNG here (needs satea[plot])")
    q.add_argument("--explain", action="store_true",
                   help="per-job schedule in each point of --out")
    _add_quiet_flag(q, "the front's table")
    _add_progress_flag(q)
    _add_cluster_flags(q)
    q.set_defaults(func=cmd_pareto)

    r = _add_command(sub, "report", "HTML page and PNG figures of a result (needs "
                     "satea[plot])",
                     "  satea solve fleet.json --seed 0 --out result.json\n"
                     "  satea report fleet.json result.json --out report/")
    r.add_argument("instance", help="satea-instance/1 JSON")
    r.add_argument("result", help="satea-result/1 JSON (re-scored at its lambda)")
    r.add_argument("--out", required=True, metavar="DIR",
                   help="folder for index.html and PNGs (made if missing)")
    r.add_argument("--front", metavar="FILE", help="a satea-front/1 JSON to plot")
    r.add_argument("--trace", nargs="+", default=None, metavar="RESULT",
                   help="more satea-result/1 files (e.g. other backends) whose 'trace' to "
                        "draw in the convergence figure")
    r.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = _Parser(prog="satea", description="Simulated-annealing placement of deep-learning "
                "training jobs on GPU fleets (energy cost vs timeliness). Units: times in "
                "seconds, powers in watts, prices in currency per kWh, costs in the "
                "instance's currency.",
                epilog="examples:\n"
                       "  satea solve --seed 0 --explain          # the built-in example\n"
                       "  satea generate --jobs 1000 --servers 100 --out fleet.json\n"
                       "  satea solve fleet.json --time-limit 20 --out result.json\n"
                       "  satea <command> --help                  # each command's options\n\n"
                       f"{EXIT_CODES}\n\n{DOCS}",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"satea {__version__}",
                   help="print satea's version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)

    s = _add_command(sub, "solve", "anneal an instance (default: the built-in example)",
                     "  satea solve --seed 0 --explain                   # the built-in example\n"
                     "  satea solve fleet.json --time-limit 20 --out result.json\n"
                     "  satea solve gap12.txt --format orlib-gap --index 3 --maximize\n"
                     "  satea solve gap*.txt --format orlib-gap --out-dir results/\n"
                     "  satea solve fleet.json --repeat result.json      # the same run again\n\n"
                     "Ctrl-C during the search writes the best result so far, then exits 130.")
    s.add_argument("instance", nargs="*", help="satea-instance/1 JSON files (or OR-Library "
                   "GAP files with --format orlib-gap); omitted: the built-in example fleet. "
                   "Several problems are annealed in one batch (see --out-dir)")
    s.add_argument("--format", choices=["instance", "orlib-gap"], default="instance",
                   help="instance (default): satea-instance/1 JSON; orlib-gap: an "
                        "OR-Library generalized assignment file")
    s.add_argument("--index", type=int, default=None, metavar="K",
                   help="problem number in a GAP file (from 1; default: every problem); "
                        "--format orlib-gap only")
    s.add_argument("--out-dir", metavar="DIR",
                   help="write one satea-result/1 file per problem here (made if missing): "
                        "<stem>.json, or <stem>-<k>.json for problem k of a multi-problem "
                        "GAP file")
    s.add_argument("--maximize", action="store_true",
                   help="GAP: maximise the total cost (--format orlib-gap only)")
    s.add_argument("--constant-prices", action="store_true",
                   help="replace each price curve by its time-average price (the MILP "
                        "models constant prices only); recorded in the result, which "
                        "evaluate, report and --repeat apply again")
    _add_hold_flag(s)
    s.add_argument("--backend", default="auto", help="auto (default), numpy, numba or cuda")
    _add_run_flags(s)
    s.add_argument("--seed", type=int, default=None,
                   help="random seed (default: fresh entropy, recorded in the result)")
    s.add_argument("--lambda", dest="lam", type=_nonneg_float, default=None,
                   help="weight of penalties against energy cost, >= 0 (penalty weights "
                        "are in currency already; default: the instance's)")
    s.add_argument("--repeat", metavar="RESULT",
                   help="repeat the run recorded in a satea-result/1 file exactly (its "
                        "backend, chains, seed, settings and schedule; the other run flags "
                        "are refused, --time-limit kept as a cap); give the instance it "
                        "was run on")
    s.add_argument("--warm-start", metavar="RESULT",
                   help="start from a satea-result/1 file's assignment (and holds): every "
                        "chain of --method anneal starts there; --method cpsat takes it as "
                        "its hint (default: the greedy-cost assignment)")
    s.add_argument("--out", metavar="FILE", help="write the satea-result/1 file here")
    s.add_argument("--explain", action="store_true",
                   help="per-job schedule and costs (times in seconds, costs in currency)")
    _add_quiet_flag(s)
    s.add_argument("--method", choices=["anneal", "greedy", "greedy-cost", "greedy-hold",
                                        "list", "random", "milp", "cpsat"], default="anneal",
                   help="anneal (default) or a baseline; milp and cpsat (OR-Tools, "
                        "satea[cpsat]) are exact for small instances")
    _add_cluster_flags(s)
    s.add_argument("--report", metavar="DIR",
                   help="also write an HTML report with figures here (needs satea[plot])")
    _add_progress_flag(s)
    s.set_defaults(func=cmd_solve)

    g = _add_command(sub, "generate", "write a generated fleet instance",
                     "  satea generate --jobs 1000 --servers 100 --seed 7 --capacity "
                     "--out fleet.json\n"
                     "  satea generate --jobs 20 --servers 4 --constant-prices --out "
                     "small.json")
    g.add_argument("--jobs", type=int, required=True, metavar="N",
                   help="number of training jobs")
    g.add_argument("--servers", type=int, required=True, metavar="N",
                   help="number of GPU servers")
    g.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    g.add_argument("--penalties", default="step,linear,exponential", metavar="KINDS",
                   help="comma-separated lateness penalty kinds the jobs draw from "
                        "uniformly, of none, step, linear, exponential (none: no "
                        "deadline; default: step,linear,exponential)")
    g.add_argument("--load", type=float, default=0.8,
                   help="expected busy time over servers x release horizon, in (0, 10] "
                        "(default 0.8; above about 1 lateness is unavoidable)")
    g.add_argument("--slack", type=_slack_range, default=(1.25, 4.0), metavar="LO[,HI]",
                   help="due = release + slack x the job's expected busy time, slack "
                        "uniform on [LO, HI] (default 1.25,4; looser, e.g. 8,32, leaves "
                        "room for --hold-max)")
    g.add_argument("--capacity", action="store_true",
                   help="give servers busy-time capacities (seconds)")
    g.add_argument("--constant-prices", action="store_true",
                   help="every server pays a constant price (default: a quarter follow the "
                        "PJM hourly curve); what --method milp needs")
    _add_node_flags(g)
    g.add_argument("--hold-max", type=_nonneg_float, default=None, metavar="SECONDS",
                   help="the fleet-wide hold_max_s: how long every job may be held after "
                        "its release for cheaper hours (default: none, 0)")
    _add_grid_flags(g)
    g.add_argument("--out", required=True, metavar="FILE",
                   help="write the satea-instance/1 JSON here")
    g.set_defaults(func=cmd_generate)
    _add_import_parser(sub)

    e = _add_command(sub, "evaluate", "re-score a result's assignment in float64",
                     "  satea evaluate fleet.json result.json\n"
                     "  satea evaluate fleet.json result.json --lambda 0   # energy alone")
    e.add_argument("instance", help="the satea-instance/1 JSON the result was solved on")
    e.add_argument("result", help="a satea-result/1 JSON whose assignment to re-score")
    e.add_argument("--lambda", dest="lam", type=_nonneg_float, default=None,
                   help="weight of penalties against energy cost (default: the result's "
                        "lambda, checked by this flag's rule, else the instance's)")
    e.set_defaults(func=cmd_evaluate)

    i = _add_command(sub, "info", "versions, backends, GPU (and a Dask cluster)",
                     "  satea info\n  satea info --scheduler tcp://10.0.0.1:8786")
    i.add_argument("--scheduler", metavar="ADDRESS", help="also describe this Dask cluster")
    i.set_defaults(func=cmd_info)

    b = _add_command(sub, "bench", "attempted moves per second, backends side by side",
                     "  satea bench --backends numpy,numba --json bench.json\n"
                     "  satea bench --sizes 1000x100 --seconds 1")
    b.add_argument("--backends", default="numpy,numba", metavar="NAMES",
                   help="comma-separated backends to measure, of numpy, numba, cuda "
                        "(default numpy,numba)")
    b.add_argument("--sizes", default=None, metavar="JOBSxSERVERS,...",
                   help="generated fleet sizes (default 1000x100,10000x1000)")
    b.add_argument("--chains", type=int, default=None, metavar="N",
                   help="chains per run (default: per backend)")
    b.add_argument("--seconds", type=_positive_float, default=3.0,
                   help="search time per row, in seconds (default 3)")
    b.add_argument("--seed", type=int, default=0,
                   help="seed of the generated fleets and of the runs (default 0)")
    _add_node_flags(b)
    b.add_argument("--json", metavar="FILE", help="write the satea-bench/1 document here")
    b.add_argument("--quiet", action="store_true",
                   help="print the table once, at the end, instead of a row as each is "
                        "measured")
    b.set_defaults(func=cmd_bench)
    _add_pareto_and_report_parsers(sub)
    _add_compare_parser(sub)
    return p


def _add_compare_parser(sub):
    c = _add_command(sub, "compare", "methods side by side at equal time budgets (each run "
                     "a fresh process)",
                     "  satea compare a.json b.json gapd.txt:1 --methods satea,cpsat,milp,greedy "
                     "--budgets 1,5,30 --seeds 3 --out cmp/")
    c.add_argument("instances", nargs="+", metavar="INSTANCE",
                   help="satea-instance/1 JSON files, OR-Library GAP files (FILE:K for "
                        "problem K, FILE for all)")
    c.add_argument("--methods", default="satea,cpsat,milp,greedy", metavar="M1,M2",
                   help="of satea, cpsat, milp, greedy (default all)")
    c.add_argument("--budgets", default="1,5,30", metavar="S1,S2",
                   help="seconds per run (default 1,5,30)")
    c.add_argument("--seeds", type=int, default=3, help="seeds per cell (default 3)")
    c.add_argument("--threads", type=_count, default=2,
                   help="threads of every run (default 2)")
    c.add_argument("--out", required=True, metavar="DIR",
                   help="folder for runs.jsonl, table.md and the figures (made if missing)")
    _add_quiet_flag(c, "the per-run lines on stderr and the summary")

    def run(args):
        from .compare import command
        _check_before_search(args, outputs=(), plots=(), parent_folders=("out",))
        return command(args)
    c.set_defaults(func=run)


def _silence_stdout() -> None:
    """After the reader of stdout went away: point stdout at /dev/null, so that the
    interpreter's final flush does not report the broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # not a real file (e.g. captured)
        pass


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """A library warning on the command line: one line, as satea's own warnings."""
    print(f"satea: warning: {message}", file=sys.stderr if file is None else file)


def main(argv=None) -> int:
    import warnings
    try:
        args = build_parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return args.func(args)
    except BrokenPipeError:   # `satea info | head -1`: quiet, as Unix tools are
        _silence_stdout()
        return EXIT_PIPE
    except RecursionError:   # a JSON file nested thousands deep (instance files say so)
        print("satea: error: an input file is nested too deeply (arrays or objects "
              "thousands of levels deep)", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:   # the file named, the OS's reason without "[Errno N]"
        where = f"{e.filename}: " if e.filename else ""
        print(f"satea: error: {where}{_why(e)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, MemoryError, NotImplementedError) as e:  # InstanceError: a ValueError
        msg = str(e).replace("\n", " ")
        print(f"satea: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as e:   # an exact method found no assignment: as infeasible
        # raised only once satea.baselines is loaded: look it up, never import it here
        bl = sys.modules.get("satea.baselines")
        if bl is None or not isinstance(e, bl.NoAssignment):
            raise
        msg = str(e).replace("\n", " ")
        print(f"satea: error: {msg} (no result written)", file=sys.stderr)
        return EXIT_INFEASIBLE
    except KeyboardInterrupt:   # a search interrupted keeps its best: this came before one
        print("satea: interrupted before the search started (loading, sizing or starting "
              "the chains): no result", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
