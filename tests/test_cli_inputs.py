"""Bad inputs and odd flags (issue 33): each is refused with one line naming the flag, the
field or the file (exit 2, no traceback, no ``[Errno N]``), or handled as documented."""
from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from satea.cli import main
from satea.io import read_instance, read_orlib_gap
from satea.validate import InstanceError

#: a small valid instance: 3 jobs on 2 servers (one with a capacity)
TINY = {
    "format": "satea-instance/1",
    "name": "tiny",
    "gpus": {"A100": {"memory_gb": 40, "idle_w": 50}, "T4": {"memory_gb": 16, "idle_w": 10}},
    "models": {"resnet50": {"memory_gb": 9}},
    "profiles": [{"model": "resnet50", "gpu": "A100", "throughput": 2000.0, "power_w": 300},
                 {"model": "resnet50", "gpu": "T4", "throughput": 400.0, "power_w": 70}],
    "servers": [{"name": "s0", "gpu": "A100", "price_per_kwh": 0.3},
                {"name": "s1", "gpu": "T4", "price_per_kwh": 0.1, "capacity_s": 1e6}],
    "jobs": [{"name": "j0", "model": "resnet50", "samples": 4e5, "due_s": 600,
              "penalty": {"kind": "linear", "weight": 1.0, "scale_s": 60}},
             {"name": "j1", "model": "resnet50", "samples": 2e5, "release_s": 100},
             {"name": "j2", "model": "resnet50", "samples": 1e5, "due_s": 300,
              "penalty": {"kind": "step", "weight": 0.5}}],
}

#: run flags that keep a search to a few milliseconds
FAST = ["--sweeps", "20", "--chains", "2", "--seed", "0", "--backend", "numba"]


def write_tiny(path: Path, **changes) -> Path:
    d = copy.deepcopy(TINY)
    d.update(changes)
    path.write_text(json.dumps(d))
    return path


def one_error_line(capsys, needle: str) -> str:
    """The single stderr line of a refusal; it contains ``needle`` and no errno text."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("satea: error: "), err
    assert needle in lines[0], err
    assert "Errno" not in err and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------ input hygiene

def test_deeply_nested_json_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(InstanceError, match="deep.json: .*nested too deeply"):
        read_instance(deep)
    assert main(["solve", str(deep), "--quiet"]) == 2
    one_error_line(capsys, "nested too deeply")


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    plain = write_tiny(tmp_path / "plain.json")
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert read_instance(bom) == read_instance(plain)


def test_size_limit_refuses_before_reading(tmp_path, monkeypatch, capsys):
    import satea.io as sio
    path = write_tiny(tmp_path / "f.json")
    size = path.stat().st_size
    monkeypatch.setenv("SATEA_MAX_INSTANCE_BYTES", str(size - 1))
    read_bytes = []
    real_open = open

    def spy_open(file, mode="r", *a, **kw):   # what the reader reads, if anything
        fh = real_open(file, mode, *a, **kw)
        if str(file) == str(path):
            real_read = fh.read
            fh.read = lambda *ra: read_bytes.append(1) or real_read(*ra)
        return fh
    monkeypatch.setattr("builtins.open", spy_open)
    with pytest.raises(InstanceError, match=rf"f\.json: {size:,} bytes, larger than the "
                                            rf"{size - 1:,} bytes limit.*SATEA_MAX_INSTANCE"):
        read_instance(path)
    assert read_bytes == []          # refused on its size, unread
    monkeypatch.setenv("SATEA_MAX_INSTANCE_BYTES", str(size))
    assert read_instance(path).name == "tiny"
    monkeypatch.setenv("SATEA_MAX_INSTANCE_BYTES", "lots")
    with pytest.raises(InstanceError, match="SATEA_MAX_INSTANCE_BYTES: expected a whole"):
        read_instance(path)
    monkeypatch.delenv("SATEA_MAX_INSTANCE_BYTES")
    assert sio.max_instance_bytes() == sio.MAX_INSTANCE_BYTES == 512 * 2**20
    # an OR-Library file is an instance file too
    gap = tmp_path / "g.txt"
    gap.write_text("1\n1 1\n5\n1\n2\n")
    monkeypatch.setenv("SATEA_MAX_INSTANCE_BYTES", "4")
    with pytest.raises(InstanceError, match="larger than the 4 bytes limit"):
        read_orlib_gap(gap)


def test_orlib_error_cuts_the_offending_text(tmp_path, capsys):
    path = tmp_path / "long.txt"
    path.write_text("1\n2 2\n" + "x" * 200_000 + "\n")
    assert main(["solve", str(path), "--format", "orlib-gap", "--quiet"]) == 2
    line = one_error_line(capsys, "long.txt: line 3: expected an integer")
    assert len(line) - len(str(path)) < 180 and "200,000 characters" in line


def test_orlib_integer_beyond_the_limit(tmp_path, capsys):
    path = tmp_path / "big.txt"
    path.write_text("1\n1 1\n1\n1\n" + "9" * 400 + "\n")
    assert main(["solve", str(path), "--format", "orlib-gap", "--quiet"]) == 2
    assert len(one_error_line(capsys, "big.txt: problem 1:")) - len(str(path)) < 200
    path.write_text("1\n1 1\n1\n1\n10000000000000000000\n")
    assert main(["solve", str(path), "--format", "orlib-gap", "--quiet"]) == 2
    one_error_line(capsys, "big.txt: problem 1: capacity value 1e+19 is above the largest")


def test_long_unknown_key_is_cut(tmp_path, capsys):
    path = tmp_path / "k.json"
    d = copy.deepcopy(TINY)
    d["k" * 50_000] = 1
    path.write_text(json.dumps(d))
    assert main(["solve", str(path), "--quiet"]) == 2
    assert len(one_error_line(capsys, "unknown field 'kkkk")) - len(str(path)) < 300


def test_folder_and_unreadable_file_name_no_errno(tmp_path, capsys):
    assert main(["solve", str(tmp_path), "--quiet"]) == 2
    one_error_line(capsys, "cannot read: it is a folder")
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe{}")
    assert main(["solve", str(bad), "--quiet"]) == 2
    one_error_line(capsys, "bin.json: cannot read: not UTF-8 text")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_info_into_a_closed_pipe_exits_quietly():
    # `satea info | head -1`: the reader goes away after one line
    p = subprocess.Popen([sys.executable, "-m", "satea.cli", "info"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    rc = p.wait(timeout=60)
    assert rc in (0, 141), err
    assert err == ""


# ------------------------------------------------------------ overflow (docs/model.md, Limits)

@pytest.mark.parametrize("where, field, value, needle", [
    (("servers", 0), "price_per_kwh", 1e308, "server 's0': price_per_kwh must be at most 1e+15"),
    (("gpus", "A100"), "idle_w", 1e308, "gpu 'A100': idle_w must be at most 1e+15"),
    (("jobs", 0), "samples", 1e308, "job 'j0': samples must be at most 1e+15"),
    (("profiles", 1), "throughput", 1e300, "profiles[1]: throughput must be at most 1e+15"),
    (("profiles", 1), "throughput", 1e-300, "profiles[1]: throughput must be at least 1e-15"),
    (("profiles", 0), "power_w", 1e308, "profiles[0]: power_w must be at most 1e+15"),
    (("servers", 1), "capacity_s", 1e300, "server 's1': capacity_s must be at most 1e+15"),
    (("jobs", 1), "release_s", 1e300, "job 'j1': release_s must be at most 1e+15"),
    (("jobs", 0), "due_s", 1e300, "job 'j0': due_s must be at most 1e+15"),
    (("jobs", 0, "penalty"), "weight", 1e308, "job 'j0': penalty.weight must be at most 1e+15"),
    (("jobs", 0, "penalty"), "scale_s", 1e-300,
     "job 'j0': penalty.scale_s must be at least 1e-15"),
    ((), "lambda", 1e308, "lambda must be at most 1e+15"),
])
def test_overflowing_values_are_refused_at_validation(where, field, value, needle, tmp_path,
                                                      capsys):
    d = copy.deepcopy(TINY)
    entry = d
    for key in where:
        entry = entry[key]
    entry[field] = value
    path = tmp_path / "f.json"
    path.write_text(json.dumps(d))
    with pytest.raises(InstanceError, match="docs/model.md, Limits"):
        read_instance(path)
    assert main(["solve", str(path), *FAST, "--quiet"]) == 2
    one_error_line(capsys, needle)


def test_the_limits_themselves_are_carried(tmp_path):
    """At the limits every number the model forms is finite and the answer feasible."""
    import math

    from satea.annealing import anneal
    from satea.compile import compile_fleet
    d = copy.deepcopy(TINY)
    d["servers"][0]["price_per_kwh"] = 1e15
    d["gpus"]["A100"]["idle_w"] = 1e15
    d["jobs"][0].update(samples=1e15, release_s=1e15)
    d["jobs"][0]["penalty"].update(weight=1e15, scale_s=1e-15)
    d["profiles"][1]["throughput"] = 1e-15
    d["lambda"] = 1e15
    path = tmp_path / "edge.json"
    path.write_text(json.dumps(d))
    r = anneal(compile_fleet(read_instance(path)), chains=2, sweeps=20, seed=0,
               backend="numba")
    assert r.feasible and math.isfinite(r.fun) and math.isfinite(r.energy_cost)


def test_assignment_arrays_are_bounded():
    import numpy as np

    from satea.compile import compile_assignment
    with pytest.raises(InstanceError, match=r"cost\[1, 0\] must be at most 1e\+15"):
        compile_assignment(np.array([[1.0, 2.0], [1e300, 3.0]]))
    with pytest.raises(InstanceError, match=r"capacity\[0\] must be at most 1e\+15"):
        compile_assignment(np.ones((2, 2)), np.ones((2, 2)), np.array([1e20, 5.0]))
    compile_assignment(np.ones((2, 2)), np.ones((2, 2)), np.array([np.inf, 5.0]))  # unlimited


# ------------------------------------------------------------------ output paths, before any work

@pytest.fixture
def no_search(monkeypatch):
    """Any search (or generation) started fails the test: refusals come before them."""
    import importlib

    def boom(*a, **kw):
        raise AssertionError("a search started before the refusal")
    for mod, name in (("annealing", "anneal"), ("annealing", "anneal_batch"),
                      ("pareto", "pareto"), ("generate", "generate_fleet")):
        # satea.pareto is the function: the module through importlib
        monkeypatch.setattr(importlib.import_module(f"satea.{mod}"), name, boom)


linux_proc = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")


@linux_proc
@pytest.mark.parametrize("argv, needle", [
    (["solve", "{inst}", "--out", "/proc/r.json"], "--out: cannot write '/proc/r.json'"),
    (["solve", "{inst}", "--out", "{tmp}"], "--out: '{tmp}' is a folder; give a file name"),
    (["solve", "{inst}", "--report", "/proc/rep"], "--report: cannot make folder '/proc/rep'"),
    (["solve", "{inst}", "--out-dir", "/proc/x"], "--out-dir: cannot make folder '/proc/x'"),
    (["solve", "{inst}", "--out-dir", "{inst}"], "--out-dir: '{inst}' exists and is not a "
                                                 "folder"),
    (["generate", "--jobs", "3", "--servers", "2", "--out", "/nonexistent_dir/x.json"],
     "--out: folder '/nonexistent_dir' does not exist"),
    (["generate", "--jobs", "3", "--servers", "2", "--out", "{tmp}"], "--out: '{tmp}' is a "
                                                                       "folder"),
    (["report", "{inst}", "{inst}", "--out", "/proc/rep"], "--out: cannot make folder"),
    (["report", "{inst}", "{inst}", "--out", "{inst}"], "--out: '{inst}' exists and is not a "
                                                         "folder"),
    (["pareto", "{inst}", "--plot", "/proc/f.png"], "--plot: cannot write '/proc/f.png'"),
    (["pareto", "{inst}", "--out", "/proc/f.json"], "--out: cannot write"),
    (["pareto", "{inst}", "--csv", "{tmp}"], "--csv: '{tmp}' is a folder"),
    (["bench", "--json", "/proc/b.json"], "--json: cannot write '/proc/b.json'"),
])
def test_outputs_are_refused_before_any_work(argv, needle, tmp_path, capsys, no_search):
    inst = str(write_tiny(tmp_path / "tiny.json"))
    fill = lambda s: s.replace("{inst}", inst).replace("{tmp}", str(tmp_path))  # noqa: E731
    assert main([fill(a) for a in argv]) == 2
    one_error_line(capsys, fill(needle))


def test_output_probe_keeps_an_existing_file(tmp_path, capsys):
    keep = tmp_path / "keep.json"
    keep.write_text("precious")
    # the probe passes (an existing file may be overwritten), then a later check refuses
    assert main(["solve", str(tmp_path / "missing.json"), "--out", str(keep)]) == 2
    one_error_line(capsys, "missing.json: no such file")
    assert keep.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]   # no probe left
    new = tmp_path / "new.json"
    assert main(["solve", str(tmp_path / "missing.json"), "--out", str(new)]) == 2
    assert not new.exists()


def test_unreadable_result_file_names_it_without_errno(tmp_path, capsys):
    inst = write_tiny(tmp_path / "tiny.json")
    assert main(["evaluate", str(inst), str(tmp_path)]) == 2
    line = one_error_line(capsys, str(tmp_path))
    assert "is a directory" in line


# ------------------------------------------------------------------ flags accepted silently before

@pytest.mark.parametrize("argv, needle", [
    (["solve", "--t-hot", "1", "--t-cold", "5"], "--t-hot 1 must be above --t-cold 5"),
    (["solve", "--t-hot", "2", "--t-cold", "2"], "--t-hot 2 must be above --t-cold 2"),
    (["pareto", "--t-hot", "1", "--t-cold", "5"], "--t-hot 1 must be above --t-cold 5"),
    (["solve", "--workers", "0"], "argument --workers: expected a whole number >= 1, got '0'"),
    (["solve", "--shards", "0"], "argument --shards: expected a whole number >= 1, got '0'"),
    (["solve", "--shards", "-2"], "argument --shards: expected a whole number >= 1"),
    (["pareto", "--workers", "-1"], "argument --workers: expected a whole number >= 1"),
    (["solve", "{inst}", "--index", "99"], "--index applies to OR-Library GAP files"),
    (["solve", "{inst}", "--maximize"], "--maximize applies to OR-Library GAP files"),
    (["solve", "{gap}", "--format", "orlib-gap", "--constant-prices"],
     "--constant-prices applies to fleet instances"),
    (["solve", "--lambda", "1e308"], "argument --lambda: expected at most 1e+15"),
    (["solve", "--cap-weight", "1e300"], "argument --cap-weight: expected at most 1e+15"),
    (["pareto", "--lam-max", "1e308"], "argument --lam-max: expected at most 1e+15"),
    (["pareto", "--lambdas", "0,1e308"], "argument --lambdas: expected at most 1e+15"),
])
def test_meaningless_flags_are_refused(argv, needle, tmp_path, capsys, no_search):
    inst = str(write_tiny(tmp_path / "tiny.json"))
    gap = tmp_path / "g.txt"
    gap.write_text("1\n1 1\n5\n1\n2\n")
    fill = lambda s: s.replace("{inst}", inst).replace("{gap}", str(gap))  # noqa: E731
    with pytest.raises(SystemExit) if needle.startswith("argument") else _no_raise() as exc:
        rc = main([fill(a) for a in argv])
    assert (exc.value.code if needle.startswith("argument") else rc) == 2
    one_error_line(capsys, needle)


class _no_raise:
    value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_release_after_due_warns_and_runs(tmp_path, capsys):
    d = copy.deepcopy(TINY)
    d["jobs"][0]["release_s"] = 900.0      # due at 600
    d["jobs"][2]["release_s"] = 400.0      # due at 300
    path = tmp_path / "late.json"
    path.write_text(json.dumps(d))
    out = tmp_path / "r.json"
    assert main(["solve", str(path), *FAST, "--out", str(out), "--quiet"]) in (0, 1)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["satea: warning: job 'j0' is released at 900 s, after its due time 600 s: "
                   "it is late on every server (and 1 more such jobs)"]
    assert json.loads(out.read_text())["format"] == "satea-result/1"   # the run went on


def test_repeat_refuses_other_run_flags_and_a_missing_instance(tmp_path, capsys):
    inst = write_tiny(tmp_path / "tiny.json")
    res = tmp_path / "r.json"
    assert main(["solve", str(inst), *FAST, "--out", str(res), "--quiet"]) == 0
    capsys.readouterr()
    # the result is of 'tiny': without its file the built-in example would be solved
    assert main(["solve", "--repeat", str(res), "--quiet"]) == 2
    one_error_line(capsys, f"--repeat: '{res}' is a result of instance 'tiny', not of the "
                           "built-in example")
    assert main(["solve", str(inst), "--repeat", str(res), "--chains", "8", "--quiet"]) == 2
    one_error_line(capsys, "--chains with --repeat: the run repeats the settings")
    again = tmp_path / "again.json"
    assert main(["solve", str(inst), "--repeat", str(res), "--out", str(again),
                 "--quiet"]) == 0
    assert (json.loads(again.read_text())["assignment"]
            == json.loads(res.read_text())["assignment"])


# ------------------------------------------------------------------ interrupts

@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_writes_the_best_so_far_and_exits_130(tmp_path):
    inst, res = write_tiny(tmp_path / "tiny.json"), tmp_path / "r.json"
    # a time budget keeps the blocks between interrupt checks short (at least 8 a budget);
    # the child gets SIGINT's default disposition, as from a terminal (see test_cli.py)
    p = subprocess.Popen([sys.executable, "-m", "satea.cli", "solve", str(inst), "--backend",
                          "numba", "--seed", "0", "--chains", "2", "--time-limit", "4",
                          "--out", str(res), "--progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = p.stderr.readline()
        while not line.startswith("setup: compiling and starting the chains"):
            assert line.startswith("setup:"), line
            line = p.stderr.readline()
        time.sleep(0.5)                     # the search runs
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err
    assert time.perf_counter() - t0 < 2.0
    last = err.strip().splitlines()[-1]
    assert last == f"satea: interrupted (Ctrl-C): the best result so far was written to {res}"
    d = json.loads(res.read_text())
    assert d["stopped_by"] == "interrupt" and "Traceback" not in err
    assert "result written to" in out


# ------------------------------------------------------------------ help and version

def _subparsers():
    import argparse

    from satea.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices


def test_every_help_page_has_an_example_the_docs_and_helped_options():
    parser, commands = _subparsers()
    assert set(commands) == {"solve", "generate", "evaluate", "info", "bench", "pareto",
                             "report", "compare", "import"}
    for name, sub in [("satea", parser), *commands.items()]:
        text = sub.format_help()
        assert "examples:\n  satea " in text, name
        assert "docs/model.md" in text, name
        for action in sub._actions:
            if action.dest != "command":
                assert action.help and action.help.strip(), (name, action.dest)
    top = parser.format_help()
    for code in ("0 ", "2 ", "130 ", "141 "):
        assert f"\n  {code}" in top
    # the units are said where a value has one
    solve = commands["solve"].format_help()
    assert "seconds" in solve and "currency" in solve
    assert "watts" in top and "currency per kWh" in top


def test_version_is_the_package_version(capsys):
    import satea
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"satea {satea.__version__}"


def test_version_falls_back_to_setup_cfg(monkeypatch):
    """Not installed (a source tree on sys.path): setup.cfg, the version's single source."""
    import configparser
    import importlib.metadata

    import satea

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    cfg = configparser.ConfigParser()
    cfg.read(Path(satea.__file__).resolve().parent.parent / "setup.cfg")
    assert satea._package_version() == cfg["metadata"]["version"]


def test_setup_cfg_version_is_the_changelogs():
    import configparser
    import re
    root = Path(__file__).resolve().parent.parent
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    top = re.search(r"^## (.*)$", (root / "CHANGELOG.md").read_text(), re.M).group(1)
    assert top.split()[0] == cfg["metadata"]["version"], top   # the newest section's


# ------------------------------------------------------------------ currency

def test_currency_is_read_checked_written_and_shown(tmp_path, capsys):
    from satea.io import read_instance_with_currency, write_instance
    path = write_tiny(tmp_path / "eur.json", currency="EUR")
    fleet, cur = read_instance_with_currency(path)
    assert cur == "EUR" and fleet == read_instance(write_tiny(tmp_path / "plain.json"))
    assert read_instance_with_currency(tmp_path / "plain.json")[1] is None
    back = tmp_path / "back.json"
    write_instance(fleet, back, currency="EUR")
    assert read_instance_with_currency(back) == (fleet, "EUR")
    with pytest.raises(InstanceError, match="instance: currency must be a short name"):
        read_instance(write_tiny(tmp_path / "bad.json", currency="E" * 40))
    with pytest.raises(InstanceError, match="currency must be a short name"):
        read_instance(write_tiny(tmp_path / "bad.json", currency=5))
    # summaries say it beside the costs
    assert main(["solve", str(path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "objective " in out and "(costs in EUR)" in out
    main(["solve", str(path), str(tmp_path / "plain.json"), *FAST])
    lines = capsys.readouterr().out.splitlines()
    assert " EUR  feasible" in lines[0] and "EUR" not in lines[1]
    res = tmp_path / "r.json"
    main(["solve", str(path), *FAST, "--out", str(res), "--quiet"])
    main(["evaluate", str(path), str(res)])
    assert json.loads(capsys.readouterr().out)["currency"] == "EUR"


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_an_output_never_overwrites_an_input(tmp_path, capsys):
    # `satea solve f.json --out f.json` replaced the instance with its result
    f, r = tmp_path / "f.json", tmp_path / "r.json"
    assert main(["generate", "--jobs", "6", "--servers", "2", "--out", str(f)]) == 0
    before = f.read_text()
    capsys.readouterr()
    assert main(["solve", str(f), "--sweeps", "3", "--out", str(f), "--quiet"]) == 2
    assert "is the instance file this command reads" in _one_error_line(capsys)
    assert f.read_text() == before
    # the same file by another name, and evaluate's result file
    assert main(["solve", str(f), "--sweeps", "3", "--out", str(tmp_path / "." / "f.json"),
                 "--quiet"]) == 2
    capsys.readouterr()
    assert main(["solve", str(f), "--sweeps", "3", "--out", str(r), "--quiet"]) == 0
    res = r.read_text()
    assert main(["solve", str(f), "--sweeps", "3", "--warm-start", str(r), "--out", str(r),
                 "--quiet"]) == 2
    assert "is the warm-start file" in _one_error_line(capsys)
    assert r.read_text() == res and f.read_text() == before
    # --out-dir writes STEM.json: the instance's own folder would hold f.json again
    assert main(["solve", str(f), "--sweeps", "3", "--out-dir", str(tmp_path), "--quiet"]) == 2
    assert "--out-dir:" in _one_error_line(capsys) and f.read_text() == before


def test_generate_refuses_flags_that_would_change_nothing(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert main(["generate", "--jobs", "4", "--servers", "2", "--carbon-price", "1",
                 "--out", str(out)]) == 2
    assert "--carbon-price: no server has a carbon intensity" in _one_error_line(capsys)
    csv = tmp_path / "p.csv"
    csv.write_text("time,price\n2023-06-01T00:00:00+00:00,50\n2023-06-01T01:00:00+00:00,60\n")
    assert main(["generate", "--jobs", "4", "--servers", "2", "--constant-prices",
                 "--prices", str(csv), "--price-column", "price",
                 "--start", "2023-06-01T00:00:00+00:00", "--out", str(out)]) == 2
    assert "--constant-prices" in _one_error_line(capsys)
    assert not out.exists()


def test_a_result_of_another_instance_is_scored_with_a_warning(tmp_path, capsys):
    # evaluate and report scored it silently; --warm-start warned
    a, b, r = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "r.json"
    assert main(["generate", "--jobs", "6", "--servers", "2", "--seed", "1",
                 "--out", str(a)]) == 0
    d = json.loads(a.read_text())
    b.write_text(json.dumps({**d, "name": "another"}))    # the same names, another instance
    assert main(["solve", str(a), "--sweeps", "3", "--out", str(r), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(b), str(r)]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["instance"] == "another"
    assert cap.err.strip() == (f"satea: warning: evaluate: {str(r)!r} is a result of instance "
                               "'generated-6x2-seed1', the problem is 'another'")
    assert main(["evaluate", str(a), str(r)]) == 0
    assert capsys.readouterr().err == ""
