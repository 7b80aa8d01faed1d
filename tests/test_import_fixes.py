"""satea import, the fixes of a new-user trial: ISO submits measured from --start, the
window from the earliest job, the series' end reported, one-line errors for bad files
(field too long, not UTF-8, short rows), --first counting importable tasks, the row of a
gap after blank lines, and the rough edges (spaced series headers, --nodes parsing,
gpu_milli < 0, blank cells, time 0 in full). Small CSVs written in tmp_path."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from satea.grid import parse_start, read_series, schedule_end_bound, series_coverage
from satea.importers import import_alibaba, import_csv
from satea.io import read_instance
from satea.validate import InstanceError

DATA = Path(__file__).parent / "data" / "trace"
NODES, PODS = DATA / "nodes.csv", DATA / "pods.csv"
COLS = "submit=submit,duration=dur,gpus=gpus,name=name"
HOURLY = ("time,price\n" + "".join(f"2023-03-25T{h:02d}:00:00+00:00,{50 + h}\n"
                                   for h in range(20, 24)))   # 20:00 .. 23:00


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "satea.cli", *map(str, args)],
                          capture_output=True, text=True)


def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert r.stderr.startswith("satea: error: ")
    for n in needles:
        assert n in r.stderr, r.stderr


def _releases(fleet):
    return {j.name: j.release_s for j in fleet.jobs}


# ----------------------------------------------------------------- 1. time 0 and --start

ISO = ("name,submit,dur,gpus\n"
       "a,2023-03-25T22:17:00+01:00,3600,1\n"      # 21:17 UTC
       "b,2023-03-25T23:00:00+00:00,3600,1\n"
       "c,2023-03-26T03:30:00+02:00,1800,2\n")     # 01:30 UTC


def test_iso_submits_are_measured_from_start(tmp_path):
    jobs = _write(tmp_path, "iso.csv", ISO)
    f, rep = import_csv(jobs, "V100x4:2", COLS, start=parse_start("2023-03-25T21:00:00Z"))
    # a is released 17 minutes into the 21:00 hour, not at its start
    assert _releases(f) == {"a": 1020.0, "b": 7200.0, "c": 16200.0}
    assert rep.assumptions[-1] == ("time 0 = --start 2023-03-25T21:00:00+00:00: release = "
                                   "submit - --start")
    # the window is in seconds after --start; time 0 stays --start
    f, rep = import_csv(jobs, "V100x4:2", COLS, window="3600:10000",
                        start=parse_start("2023-03-25T21:00:00Z"))
    assert _releases(f) == {"b": 7200.0}
    assert rep.dropped == {"submitted outside --window": 2}


def test_a_submit_before_start_is_refused_by_row(tmp_path):
    jobs = _write(tmp_path, "iso.csv", ISO)
    start = parse_start("2023-03-25T21:30:00+00:00")
    with pytest.raises(InstanceError, match=r"iso.csv': row 2: submit "
                                            r"'2023-03-25T22:17:00\+01:00' is 780 s before "
                                            r"--start 2023-03-25T21:30:00\+00:00"):
        import_csv(jobs, "V100x4:2", COLS, start=start)
    # a window from 0 leaves it out
    f, rep = import_csv(jobs, "V100x4:2", COLS, start=start, window="0:1e9")
    assert _releases(f) == {"b": 5400.0, "c": 14400.0}
    assert rep.dropped == {"submitted outside --window": 1}


def test_iso_window_is_measured_from_the_earliest_submit_not_the_first_row(tmp_path):
    jobs = _write(tmp_path, "unsorted.csv", "name,submit,dur\n"
                  "late,2023-03-26T05:00:00Z,600\n"
                  "early,2023-03-26T01:00:00Z,600\n"
                  "mid,2023-03-26T03:00:00Z,600\n")
    cols = "submit=submit,duration=dur,name=name"
    f, rep = import_csv(jobs, "V100x4:2", cols, window="0:7200")
    assert _releases(f) == {"early": 0.0}
    assert rep.assumptions[-1] == (
        "time 0 = 2023-03-26T01:00:00+00:00 (the start of --window); --window in seconds "
        "after the file's earliest submit, 2023-03-26T01:00:00+00:00 (row 3)")
    f, _ = import_csv(jobs, "V100x4:2", cols, window="7200:14401")
    assert _releases(f) == {"mid": 0.0, "late": 7200.0}
    f, rep = import_csv(jobs, "V100x4:2", cols)
    assert _releases(f) == {"early": 0.0, "mid": 7200.0, "late": 14400.0}
    assert "time 0 = 2023-03-26T01:00:00+00:00 (the first selected" in rep.assumptions[-1]


def test_cli_import_csv_passes_start_and_reports_time_0(tmp_path):
    jobs = _write(tmp_path, "iso.csv", ISO)
    prices = _write(tmp_path, "p.csv", HOURLY)
    out = tmp_path / "i.json"
    r = _cli("import", "csv", "--jobs", jobs, "--nodes", "V100x4:2", "--columns", COLS,
             "--prices", prices, "--price-column", "price", "--start",
             "2023-03-25T21:00:00+00:00", "--out", out)
    assert r.returncode == 0, r.stderr
    assert _releases(read_instance(out)) == {"a": 1020.0, "b": 7200.0, "c": 16200.0}
    assert "time 0 = --start 2023-03-25T21:00:00+00:00" in r.stdout
    r = _cli("import", "csv", "--jobs", jobs, "--nodes", "V100x4:2", "--columns", COLS,
             "--prices", prices, "--price-column", "price", "--start",
             "2023-03-25T22:00:00+00:00", "--out", out)
    _one_line_error(r, "iso.csv': row 2:", "before --start")


def test_seconds_submits_put_time_0_at_start(tmp_path):
    jobs = _write(tmp_path, "s.csv", "name,submit,dur,gpus\na,11500000,600,1\n"
                                     "b,11500030.5,600,1\n")
    f, rep = import_csv(jobs, "V100x4:1", COLS, start=parse_start("2023-03-25T20:00:00Z"))
    assert _releases(f) == {"a": 0.0, "b": 30.5}
    # in full, not 1.15e+07
    assert rep.assumptions[-1] == ("time 0 = submit 11500000 s (the first selected task's "
                                   "submission) = --start 2023-03-25T20:00:00+00:00")
    _, rep = import_csv(jobs, "V100x4:1", COLS, window="11500000.25:2e7")
    assert rep.assumptions[-1] == "time 0 = submit 11500000.25 s (the start of --window)"
    _, rep = import_alibaba(NODES, PODS, gpu_map={"G2": "A100"}, window="25:100")
    assert rep.assumptions[-1] == "time 0 = trace second 25 (the start of --window)"


# ----------------------------------------------------------------- 2. the series' end

def test_schedule_end_bound_by_hand(tmp_path):
    jobs = _write(tmp_path, "j.csv", "name,submit,dur,gpus\na,0,100,1\nb,0,100,1\n")
    f, _ = import_csv(jobs, "V100x1:1", COLS)
    assert schedule_end_bound(f) == pytest.approx(200.0)      # both on one GPU
    f, _ = import_csv(jobs, "V100x1:2", COLS)
    assert schedule_end_bound(f) == pytest.approx(100.0)      # one each
    jobs = _write(tmp_path, "k.csv", "name,submit,dur,gpus\na,0,100,1\nb,1000,50,2\n")
    f, _ = import_csv(jobs, "V100x2:1", COLS)
    assert schedule_end_bound(f) == pytest.approx(1050.0)     # the latest release + run


def test_series_line_and_warning(tmp_path):
    jobs = _write(tmp_path, "j.csv", "name,submit,dur,gpus\na,0,3600,1\nb,10800,3600,1\n")
    prices = _write(tmp_path, "p.csv", HOURLY)
    out = tmp_path / "i.json"
    args = ("import", "csv", "--jobs", jobs, "--nodes", "V100x1:1", "--columns", COLS,
            "--prices", prices, "--price-column", "price", "--out", out, "--penalty", "none")
    # from 20:00: 4 hours to 24:00, b ends at 4 h: covered, one line in the report
    r = _cli(*args, "--start", "2023-03-25T20:00:00Z")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (f"  prices '{prices}': from 2023-03-25T20:00:00+00:00 (time 0), step 3600 s, "
            f"to 2023-03-26T00:00:00+00:00 (time 14400 s); every schedule runs to time "
            f"14400 s or later") in r.stdout
    # from 21:00: 3 hours; b runs 3 h to 4 h: a one-line warning on stderr, even --quiet
    r = _cli(*args, "--start", "2023-03-25T21:00:00Z", "--quiet")
    assert r.returncode == 0 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("satea: warning: prices ")
    assert ("to 2023-03-26T00:00:00+00:00 (time 10800 s), but the jobs reach past its end, "
            "where its last value holds: 0 of 2 jobs are due and 1 released after it; every "
            "schedule runs to time 14400 s or later") in r.stderr
    # a job due after the end warns too, though one could end in time
    f, _ = import_csv(jobs, "V100x1:2", COLS)
    from satea.grid import with_grid
    g = with_grid(f, read_series(prices, "price", parse_start("2023-03-25T20:00:00Z")))
    [(warn, line)] = series_coverage(g, parse_start("2023-03-25T20:00:00Z"))
    assert warn and "1 of 2 jobs are due" in line and "due at time 18000 s" in line


# ----------------------------------------------------------------- 3. one-line errors

def test_a_field_over_the_csv_limit_is_one_line(tmp_path):
    big = "x" * 200_000
    jobs = _write(tmp_path, "j.csv", f'name,submit,dur,gpus\na,0,60,1\nb,0,"{big},1\n')
    with pytest.raises(InstanceError, match=r"jobs file '.*j.csv': row 3: cannot read CSV: "
                                            r"a field longer than 131072 characters"):
        import_csv(jobs, "V100x1:1", COLS)
    prices = _write(tmp_path, "p.csv", HOURLY + f'2023-03-26T00:00:00+00:00,"{big}\n')
    with pytest.raises(InstanceError, match=r"p.csv: row 6: cannot read CSV: a field"):
        read_series(prices, "price", parse_start("2023-03-25T20:00:00Z"))
    pods = _write(tmp_path, "pods.csv", PODS.read_text() + f'p9,"{big}\n')
    with pytest.raises(InstanceError, match=r"pods file '.*pods.csv': row 9: cannot read"):
        import_alibaba(NODES, pods, gpu_map={"G2": "A100"})
    r = _cli("import", "csv", "--jobs", jobs, "--nodes", "V100x1:1", "--columns", COLS,
             "--out", tmp_path / "i.json")
    _one_line_error(r, "j.csv': row 3", "131072")
    r = _cli("import", "csv", "--jobs", _write(tmp_path, "ok.csv", "name,submit,dur,gpus\n"
                                                                   "a,0,60,1\n"),
             "--nodes", "V100x1:1", "--columns", COLS, "--prices", prices,
             "--price-column", "price", "--start", "2023-03-25T20:00:00Z",
             "--out", tmp_path / "i.json")
    _one_line_error(r, "p.csv: row 6", "131072")


def test_a_short_nodes_row_is_one_line(tmp_path):
    nodes = _write(tmp_path, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                          "n1,64000,262144,8,V100M32\nn2,64000\n")
    with pytest.raises(InstanceError, match=r"nodes file '.*nodes.csv': row 3: 2 fields, "
                                            r"expected 5"):
        import_alibaba(nodes, PODS)
    nodes = _write(tmp_path, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                          " ,64000,262144,8,V100M32\n")
    with pytest.raises(InstanceError, match=r"nodes.csv': row 2: empty sn"):
        import_alibaba(nodes, PODS)


def test_a_file_not_in_utf8_names_the_file_and_says_what_to_do(tmp_path):
    jobs = _write(tmp_path, "j.csv", "name,submit,dur,gpus\nrésumé,0,60,1\n", "cp1252")
    with pytest.raises(InstanceError, match=r"jobs file '.*j.csv': line 2: not UTF-8 "
                                            r"\(byte 0xe9.*re-save the file as UTF-8"):
        import_csv(jobs, "V100x1:1", COLS)
    prices = _write(tmp_path, "p.csv", "time,prix €\n2023-03-25T20:00:00+00:00,1\n", "cp1252")
    with pytest.raises(InstanceError, match=r"p.csv: line 1: not UTF-8 \(byte 0x80"):
        read_series(prices, "price", parse_start("2023-03-25T20:00:00Z"))
    r = _cli("import", "csv", "--jobs", jobs, "--nodes", "V100x1:1", "--columns", COLS,
             "--out", tmp_path / "i.json")
    _one_line_error(r, "j.csv': line 2: not UTF-8", "re-save the file as UTF-8")
    # a UTF-8 file with a BOM and CRLF still reads
    ok = tmp_path / "bom.csv"
    ok.write_bytes("\ufeffname,submit,dur,gpus\r\nrésumé,0,60,1\r\n".encode())
    f, _ = import_csv(ok, "V100x1:1", COLS)
    assert [j.name for j in f.jobs] == ["résumé"]


# ----------------------------------------------------------------- 4. --first

def test_first_counts_only_tasks_a_node_can_hold(tmp_path):
    jobs = _write(tmp_path, "j.csv", "name,submit,dur,gpus\nbig,0,600,8\na,10,600,1\n"
                                     "b,20,600,1\nc,30,600,1\n")
    f, rep = import_csv(jobs, "V100x4:2", COLS, first=2)
    assert _releases(f) == {"a": 0.0, "b": 10.0}                # time 0 = a's submission
    assert rep.dropped == {"no imported node of an allowed GPU type has enough GPUs": 1,
                           "after the first 2 GPU tasks (--first)": 1}
    assert "time 0 = submit 10 s" in rep.assumptions[-1]


# ----------------------------------------------------------------- 5. the gap's row

def test_uneven_spacing_names_the_file_row_after_blank_lines(tmp_path):
    prices = _write(tmp_path, "p.csv", "time,price\n2023-03-25T20:00:00+00:00,1\n"
                    "2023-03-25T21:00:00+00:00,2\n\n\n2023-03-25T22:00:00+00:00,3\n"
                    "2023-03-26T00:00:00+00:00,4\n")
    with pytest.raises(InstanceError, match=r"p.csv: row 7: a gap of 7200 s"):
        read_series(prices, "price", parse_start("2023-03-25T20:00:00Z"))


# ----------------------------------------------------------------- 6. rough edges

def test_series_headers_are_stripped(tmp_path):
    prices = _write(tmp_path, "p.csv", HOURLY.replace("time,price", "time , price "))
    start = parse_start("2023-03-25T20:00:00Z")
    assert read_series(prices, "price", start).values == (70.0, 71.0, 72.0, 73.0)
    assert read_series(prices, " price", start, time_column="time ").values[0] == 70.0


def test_nodes_spec_parsing(tmp_path):
    jobs = _write(tmp_path, "j.csv", "name,submit,dur,gpus\na,0,60,1\n")
    f, _ = import_csv(jobs, "gtx1080x4:2", COLS, gpu_map={"gtx1080": "P100"})
    assert [(s.name, s.gpu, s.gpus) for s in f.servers] == [
        ("gtx1080x4-0", "P100", 4), ("gtx1080x4-1", "P100", 4)]
    f, _ = import_csv(jobs, "gtx1080:1", COLS, gpu_map={"gtx1080": "P100"})
    assert [(s.gpu, s.gpus) for s in f.servers] == [("P100", 1)]
    f, _ = import_csv(jobs, "A100x8:2,A100x8:3,A100:1", COLS)
    assert [s.name for s in f.servers] == [f"A100x8-{i}" for i in range(5)] + ["A100x1-0"]
    with pytest.raises(InstanceError, match=r"--nodes: expected TYPExGPUS:COUNT"):
        import_csv(jobs, "A100xeight:2", COLS)


def test_negative_gpu_milli_is_refused_by_row(tmp_path):
    pods = _write(tmp_path, "pods.csv", PODS.read_text().replace("p2,1000,1024,1,500",
                                                                 "p2,1000,1024,1,-5"))
    with pytest.raises(InstanceError, match=r"pods.csv': row 4: gpu_milli must be >= 0.*"
                                            r"got '-5'"):
        import_alibaba(NODES, pods, gpu_map={"G2": "A100"})


@pytest.mark.parametrize("row,msg", [
    (",5,100,1", r"row 3: the name cell \('name'\) is empty"),
    ("j2,,100,1", r"row 3: the submit cell \('submit'\) is empty"),
])
def test_blank_name_or_submit_names_file_row_and_column(tmp_path, row, msg):
    jobs = _write(tmp_path, "j.csv", f"name,submit,dur,gpus\nj1,0,3600,1\n{row}\n")
    with pytest.raises(InstanceError, match=r"jobs file '.*j.csv': " + msg):
        import_csv(jobs, "V100x1:1", COLS)


def test_series_the_search_cannot_merge_are_refused_at_import(tmp_path):
    # hourly prices and 0.1 s carbon steps imported, then `solve` refused the instance
    # (the search merges price and carbon onto one curve of whole-second steps)
    prices = _write(tmp_path, "p.csv", HOURLY)
    carbon = _write(tmp_path, "c.csv", "time,g\n2023-03-25T20:00:00+00:00,100\n"
                                       "2023-03-25T20:00:00.100000+00:00,120\n")
    jobs = _write(tmp_path, "j.csv", "submit,dur,gpus,name\n0,600,1,a\n")
    out = tmp_path / "x.json"
    r = _cli("import", "csv", "--jobs", jobs, "--nodes", "V100x1:1", "--columns", COLS,
             "--prices", prices, "--price-column", "price", "--carbon", carbon,
             "--carbon-column", "g", "--carbon-price", "0.1",
             "--start", "2023-03-25T20:00:00+00:00", "--out", out)
    _one_line_error(r, "steps must be whole seconds")
    assert not out.exists()
