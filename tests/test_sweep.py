"""Sweeps: grid files, point names, collecting results, and running points locally, after a kill, and on Dask."""
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from d2lutil.__main__ import main as cli
from d2lutil.sweep import (Outcome, Sweep, aggregate, check_notebook_parameters, draw_plots, gpu_assignments, load_sweep,
                           lookup, parse_sweep, plot_sweep, point_name, result_rows, run_point, run_sweep, scalar_leaves)

ROOT = Path(__file__).resolve().parent.parent
POINT = ROOT / "tests" / "fixtures" / "sweep_point.ipynb"  # no training: it computes a few numbers from its parameters
CURVE = {"t": "curve.t", "value": "curve.value"}


def write_grid(path: Path, spec: dict) -> Path:
    """Write a grid file and return its path."""
    path.write_text(yaml.safe_dump(spec))
    return path


def logged(log: Path) -> Counter:
    """How many times each (event, point) line appears in the fixture notebook's log."""
    return Counter(log.read_text().splitlines()) if log.exists() else Counter()


def test_points_are_every_combination_with_the_fixed_values():
    sweep = parse_sweep({"grid": {"model": ["mlp", "cnn"], "seed": [0, 1, 2]}, "fixed": {"num_epochs": 5}})
    points = sweep.points()
    assert list(points) == ["model=mlp_seed=0", "model=mlp_seed=1", "model=mlp_seed=2",
                            "model=cnn_seed=0", "model=cnn_seed=1", "model=cnn_seed=2"]
    assert points["model=cnn_seed=1"] == {"model": "cnn", "seed": 1, "num_epochs": 5}


def test_point_names_are_safe_file_names():
    assert point_name({"hidden": [512, 512], "lr": 0.1}) == "hidden=512-512_lr=0.1"
    assert point_name({"data_dir": "../data sets/", "n_train": None}) == "data_dir=..-data-sets_n_train=None"
    with pytest.raises(ValueError, match="share the name 'tag=a-b'"):
        parse_sweep({"grid": {"tag": ["a b", "a/b"]}}).points()


@pytest.mark.parametrize("spec, match", [
    ({"grid": {"seed": [0]}, "repeat": 2}, r"unknown key\(s\) \['repeat'\].*allowed: grid, fixed, columns, plots"),
    ({"fixed": {"seed": 0}}, "needs a non-empty 'grid'"),
    ({"grid": {"seed": 0}}, "grid.seed=0 is not allowed; it must be a non-empty list"),
    ({"grid": {"seed": []}}, r"grid.seed=\[\] is not allowed"),
    ({"grid": {"seed": [0]}, "fixed": {"seed": 1}}, r"\['seed'\] appear in both 'grid' and 'fixed'"),
    ({"grid": {"seed": [0]}, "plots": [{"x": "t"}]}, "give x and y"),
    ({"grid": {"seed": [0]}, "plots": [{"x": "t", "y": "v", "hue": "model"}]}, "give x and y"),
    ({"grid": [0, 1]}, "grid must be a mapping"),
    ([1, 2], "the grid file must be a mapping"),
])
def test_bad_grid_files_are_rejected_with_what_is_allowed(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_sweep(spec)


def test_load_sweep_reads_yaml_and_rejects_a_missing_file(tmp_path):
    path = write_grid(tmp_path / "g.yaml", {"grid": {"x": [1.0, 2.0]}, "columns": CURVE, "plots": [{"x": "t", "y": "value"}]})
    assert load_sweep(path) == Sweep({"x": [1.0, 2.0]}, {}, CURVE, [{"x": "t", "y": "value"}])
    with pytest.raises(ValueError, match="no such grid file"):
        load_sweep(tmp_path / "missing.yaml")


def test_a_name_that_is_not_a_parameter_of_the_notebook_is_rejected():
    check_notebook_parameters(POINT, parse_sweep({"grid": {"x": [1.0]}, "fixed": {"seed": 3}}))
    with pytest.raises(ValueError, match=r"\['epochs'\] are not parameters of sweep_point.ipynb; its parameters are: x, model"):
        check_notebook_parameters(POINT, parse_sweep({"grid": {"x": [1.0]}, "fixed": {"epochs": 3}}))
    with pytest.raises(ValueError, match="no such notebook"):
        check_notebook_parameters(POINT.with_name("missing.ipynb"), parse_sweep({"grid": {"x": [1.0]}}))


def test_one_gpu_per_worker_round_robin():
    assert gpu_assignments(3, 0) == [None, None, None]
    assert gpu_assignments(3, 2) == ["0", "1", "0"]
    assert gpu_assignments(2, 4) == ["0", "1"]


def test_lookup_and_scalar_leaves_of_nested_results():
    results = {"a": 1, "b": {"c": "x", "d": [1, 2], "e": {"f": True}}}
    assert lookup(results, "b.e.f") is True and lookup(results, "b.d") == [1, 2]
    with pytest.raises(ValueError, match=r"no 'b.g' \(no 'g' there\)"):
        lookup(results, "b.g")
    assert scalar_leaves(results) == {"a": 1, "b.c": "x", "b.e.f": True}


def test_result_rows_give_one_row_per_list_element_next_to_the_points_values():
    results = {"square": 4.0, "curve": {"t": [0, 1], "value": [0.0, 2.0]}}
    rows = result_rows({"x": 2.0, "hidden": [8, 8]}, results, {**CURVE, "square": "square"})
    assert rows == [{"x": 2.0, "hidden": "8-8", "t": 0, "value": 0.0, "square": 4.0},
                    {"x": 2.0, "hidden": "8-8", "t": 1, "value": 2.0, "square": 4.0}]
    assert result_rows({"x": 2.0}, results, {}) == [{"x": 2.0, "square": 4.0}]
    with pytest.raises(ValueError, match="lists of different lengths"):
        result_rows({}, {"a": [1, 2], "b": [1]}, {"a": "a", "b": "b"})


def test_plot_sweep_draws_the_mean_over_seeds_with_one_line_per_model():
    rows = [{"model": m, "seed": s, "p": p, "err": (0.1 if m == "mlp" else 0.2) * p + 0.01 * s}
            for m in ("mlp", "cnn") for s in (0, 2) for p in (1.0, 0.0)]
    ax = plot_sweep(rows, x="p", y="err", lines="model", title="test error").axes[0]
    assert [line.get_label() for line in ax.lines] == ["model=mlp", "model=cnn"]
    assert list(ax.lines[0].get_xdata()) == [0.0, 1.0]
    assert list(ax.lines[1].get_ydata()) == pytest.approx([0.01, 0.21])
    assert ax.get_title() == "test error" and ax.get_xlabel() == "p" and ax.get_ylabel() == "err"


def test_aggregate_collects_the_finished_points_into_a_csv_and_plots(tmp_path):
    sweep = parse_sweep({"grid": {"x": [1.0, 2.0, 3.0]}, "fixed": {"seed": 0}, "columns": CURVE,
                         "plots": [{"x": "t", "y": "value"}]})
    for x in (1.0, 3.0):  # point x=2.0 has not finished
        (tmp_path / f"x={x}.json").write_text(json.dumps({"curve": {"t": [0, 1], "value": [0, x]}}))
    rows = aggregate(sweep, tmp_path)
    assert (tmp_path / "sweep.csv").read_text().splitlines() == ["x,t,value", "1.0,0,0", "1.0,1,1.0", "3.0,0,0", "3.0,1,3.0"]
    assert draw_plots(sweep, rows, tmp_path) == [tmp_path / "value_vs_t.png"] and (tmp_path / "value_vs_t.png").stat().st_size
    assert draw_plots(sweep, [], tmp_path / "empty") == []


def test_a_point_whose_results_exist_is_skipped_without_running(tmp_path):
    (tmp_path / "x=1.0.json").write_text("{}")
    assert run_point(POINT.with_name("missing.ipynb"), tmp_path, "x=1.0", {"x": 1.0}) == Outcome("x=1.0", "skipped")


def test_local_sweep_reports_failing_points_and_a_rerun_retries_only_them(tmp_path):
    log, out = tmp_path / "log.txt", tmp_path / "out"
    sweep = parse_sweep({"grid": {"x": [1.0, 3.0], "fail": [False, True]}, "fixed": {"log_path": str(log)},
                         "columns": {"square": "square"}})
    outcomes = run_sweep(POINT, sweep, out, workers=2, progress=False)
    assert [(o.point, o.status) for o in outcomes] == [("x=1.0_fail=False", "ran"), ("x=1.0_fail=True", "failed"),
                                                       ("x=3.0_fail=False", "ran"), ("x=3.0_fail=True", "failed")]
    assert all(o.error == "ValueError: fail=True: this point fails on purpose" for o in outcomes if o.status == "failed")
    assert (out / "x=3.0_fail=True.error.txt").read_text().startswith("ValueError: fail=True")
    assert (out / "x=3.0_fail=True.ipynb").exists() and not (out / "x=3.0_fail=True.json").exists()
    assert json.loads((out / "x=3.0_fail=False.json").read_text())["square"] == 9.0
    assert not (out / ".work").exists()
    assert aggregate(sweep, out) == [{"x": 1.0, "fail": False, "square": 1.0}, {"x": 3.0, "fail": False, "square": 9.0}]

    again = run_sweep(POINT, sweep, out, workers=1, progress=False)
    assert [o.status for o in again] == ["skipped", "failed", "skipped", "failed"]
    assert logged(log) == Counter({"start x=1.0 model=a seed=0": 3, "finish x=1.0 model=a seed=0": 1,
                                   "start x=3.0 model=a seed=0": 3, "finish x=3.0 model=a seed=0": 1})


def test_a_killed_sweep_started_again_runs_no_point_twice_and_loses_none(tmp_path):
    log, out = tmp_path / "log.txt", tmp_path / "out"
    grid = write_grid(tmp_path / "grid.yaml", {"grid": {"x": [1.0, 2.0, 3.0, 4.0]},
                                               "fixed": {"sleep": 1.5, "log_path": str(log)}})
    command = [sys.executable, "-m", "d2lutil", "sweep", str(POINT), "--grid", str(grid), "--out", str(out), "--no-progress"]
    sweep = subprocess.Popen(command, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill while the second point sleeps, after the first has finished
        events = [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []
        if events.count("finish") == 1 and events.count("start") == 2:
            break
        time.sleep(0.1)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    before = logged(log)
    assert before["finish x=1.0 model=a seed=0"] == 1 and before["start x=2.0 model=a seed=0"] == 1
    assert sum(before.values()) == 3 and (out / "x=1.0.json").exists() and not (out / "x=2.0.json").exists()

    outcomes = run_sweep(POINT, load_sweep(grid), out, progress=False)
    assert [o.status for o in outcomes] == ["skipped", "ran", "ran", "ran"]
    after = logged(log)
    assert all(after[f"finish x={x} model=a seed=0"] == 1 for x in (1.0, 2.0, 3.0, 4.0))
    assert after["start x=1.0 model=a seed=0"] == 1 and after["start x=2.0 model=a seed=0"] == 2  # killed, then rerun
    assert [json.loads((out / f"x={x}.json").read_text())["square"] for x in (1.0, 2.0, 3.0, 4.0)] == [1, 4, 9, 16]


def test_sweep_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    log, out = tmp_path / "log.txt", tmp_path / "out"
    sweep = parse_sweep({"grid": {"model": ["a", "b"], "seed": [0, 1]}, "fixed": {"x": 2.0, "log_path": str(log)},
                         "columns": CURVE, "plots": [{"x": "t", "y": "value", "lines": "model"}]})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        outcomes = run_sweep(POINT, sweep, out, scheduler=cluster.scheduler_address, progress=False)
    assert [o.status for o in outcomes] == ["ran"] * 4
    assert sum(logged(log).values()) == 8
    rows = aggregate(sweep, out)
    assert len(rows) == 12 and {row["value"] for row in rows if row["t"] == 2} == {4.0, 5.0}


def test_cli_sweep_rejects_a_bad_grid_with_a_message(tmp_path, capsys):
    grid = write_grid(tmp_path / "grid.yaml", {"grid": {"epochs": [1, 2]}})
    assert cli(["sweep", str(POINT), "--grid", str(grid), "--out", str(tmp_path / "out")]) == 2
    assert "['epochs'] are not parameters of sweep_point.ipynb" in capsys.readouterr().err
    assert cli(["sweep", str(POINT), "--grid", str(grid), "--workers", "0"]) == 2
    assert "workers=0 is not allowed" in capsys.readouterr().err


def test_the_shipped_randomization_grid_names_parameters_of_chapter_6():
    notebook = ROOT / "notebooks" / "06_randomization_tests.ipynb"
    sweep = load_sweep(ROOT / "notebooks" / "params" / "06_randomization_tests.sweep.yaml")
    check_notebook_parameters(notebook, sweep)
    assert {"corruption_level", "test_error", "epochs_to_fit"} <= set(sweep.columns)
    assert {(plot["x"], plot["y"], plot.get("lines")) for plot in sweep.plots} == {
        ("corruption_level", "test_error", "model"), ("corruption_level", "epochs_to_fit", "model")}
