"""Sweeps, the grid: grid files, faithful point names, checking everything before a point runs, collecting results."""
import json
from pathlib import Path

import pytest
import yaml

from d2lutil.__main__ import main as cli
from d2lutil.sweep import (Sweep, aggregate, check_sweep, draw_plots, gpu_assignments, load_sweep, lookup, parse_sweep,
                           plot_sweep, point_name, result_rows, results_outline, scalar_leaves, value_text)

ROOT = Path(__file__).resolve().parent.parent
POINT = ROOT / "tests" / "fixtures" / "sweep_point.ipynb"  # no training: it computes a few numbers from its parameters
CHAPTER_6 = ROOT / "notebooks" / "06_randomization_tests.ipynb"
CURVE = {"t": "curve.t", "value": "curve.value"}


def write_grid(path: Path, spec: dict) -> Path:
    """Write a grid file and return its path."""
    path.write_text(yaml.safe_dump(spec))
    return path


def test_points_are_every_combination_with_the_fixed_values():
    sweep = parse_sweep({"grid": {"model": ["mlp", "cnn"], "seed": [0, 1, 2]}, "fixed": {"num_epochs": 5}})
    points = sweep.points()
    assert list(points) == ["model=mlp_seed=0", "model=mlp_seed=1", "model=mlp_seed=2",
                            "model=cnn_seed=0", "model=cnn_seed=1", "model=cnn_seed=2"]
    assert points["model=cnn_seed=1"] == {"model": "cnn", "seed": 1, "num_epochs": 5}


def test_a_base_lies_under_every_point_and_fixed_values_and_axes_override_it():
    sweep = parse_sweep({"grid": {"seed": [0, 1]}, "fixed": {"lr": 0.5}})
    assert sweep.points({"lr": 0.1, "seed": 9, "model": "inception"})["seed=1"] == {"lr": 0.5, "seed": 1, "model": "inception"}


@pytest.mark.parametrize("values", [
    [0.1, -0.1], [0.1, -0.2, 0.2], [1, 1.0, "1", True, "True"], [None, "None", "null", ""], [1e-5, 0.0001, 0.00010000000000000002],
    ["a b", "a/b", "a-b", "a_b", "a=b", "a%20b"], [[512, 512], [5125, 12], "512,512", [[512], 512]],
    [float("inf"), float("-inf"), "inf"], ["../data sets/", "..%2Fdata"],
])
def test_point_names_are_unique_and_faithful_for_every_value(values):
    names = [point_name({"v": value}) for value in values]
    assert len(set(names)) == len(values), names
    assert all("/" not in name and "\0" not in name and len(name.encode()) <= 255 for name in names)
    parse_sweep({"grid": {"v": values}}).points()  # no clash


def test_point_names_read_like_the_values():
    assert point_name({"model": "mlp", "seed": 0}) == "model=mlp_seed=0"
    assert point_name({"hidden": [512, 512], "lr": -0.2}) == "hidden=512,512_lr=-0.2"
    assert point_name({"data_dir": "../data sets/", "n_train": None}) == "data_dir=..%2Fdata%20sets%2F_n_train=None"
    assert value_text("True") == "%27True%27" and value_text(1e-05) == "1e-05"
    long = point_name({"tag": "x" * 400})
    assert len(long) == 200 and long != point_name({"tag": "x" * 401})


@pytest.mark.parametrize("spec, match", [
    ({"grid": {"seed": [0]}, "repeat": 2}, r"unknown key\(s\) \['repeat'\].*allowed: grid, fixed, base, columns, plots"),
    ({"fixed": {"seed": 0}}, "needs a non-empty 'grid'"),
    ({"grid": {"seed": 0}}, "grid.seed=0 is not allowed; it must be a non-empty list"),
    ({"grid": {"seed": []}}, r"grid.seed=\[\] is not allowed"),
    ({"grid": {"seed": [0]}, "fixed": {"seed": 1}}, r"\['seed'\] appear in both 'grid' and 'fixed'"),
    ({"grid": {"seed": [0]}, "plots": [{"x": "t"}]}, "give x and y"),
    ({"grid": {"seed": [0]}, "plots": [{"x": "t", "y": "v", "hue": "model"}]}, "give x and y"),
    ({"grid": {"seed": [0]}, "plots": {"x": "t", "y": "v"}}, "plots must be a list"),
    ({"grid": {"seed": [0]}, "columns": {"t": 3}}, "columns.t=3 is not allowed"),
    ({"grid": {"seed": [0]}, "base": 3}, "base=3 is not allowed; name a profile"),
    ({"grid": [0, 1]}, "grid must be a mapping"),
    ([1, 2], "the grid file must be a mapping"),
])
def test_bad_grid_files_are_rejected_with_what_is_allowed(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_sweep(spec)


def test_load_sweep_reads_yaml_and_names_the_file_and_line_of_an_error(tmp_path):
    path = write_grid(tmp_path / "g.yaml", {"grid": {"x": [1.0, 2.0]}, "columns": CURVE, "plots": [{"x": "t", "y": "value"}]})
    assert load_sweep(path) == Sweep({"x": [1.0, 2.0]}, {}, CURVE, [{"x": "t", "y": "value"}])
    with pytest.raises(ValueError, match="no such grid file"):
        load_sweep(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("grid:\n  x: [1.0, 2.0\n  seed: [0]\nfixed: {a: 1\n")
    with pytest.raises(ValueError, match=rf"{broken}, line \d+, column \d+: YAML syntax error"):
        load_sweep(broken)
    wrong = write_grid(tmp_path / "wrong.yaml", {"grid": {"x": 1}})
    with pytest.raises(ValueError, match=rf"^{wrong}: grid.x=1 is not allowed"):
        load_sweep(wrong)


def test_results_outline_reads_the_results_dict_without_running_the_notebook():
    assert results_outline(POINT) == {"square": None, "curve": {"t": None, "value": None}}
    outline = results_outline(CHAPTER_6)
    assert {"levels", "epochs_to_fit", "test_error"} <= set(outline["corruption"])


@pytest.mark.parametrize("spec, match", [
    ({"grid": {"x": [1.0]}, "fixed": {"epochs": 3}}, r"'epochs' is not a parameter of sweep_point.ipynb; its parameters are: x, model"),
    ({"grid": {"modle": ["a"]}}, r"'modle' is not a parameter of sweep_point.ipynb \(did you mean 'model'\?\)"),
    ({"grid": {"x": [1.0]}, "columns": {"v": "curve.valeu"}}, r"columns.v='curve.valeu': curve has no 'valeu'; it has 't', 'value'"),
    ({"grid": {"x": [1.0]}, "columns": {"v": "cube"}}, r"columns.v='cube': the results has no 'cube'; it has 'square', 'curve'"),
    ({"grid": {"x": [1.0]}, "columns": CURVE, "plots": [{"x": "t", "y": "valeu"}]}, r"y='valeu' is not a column; the columns are x, t, value"),
    ({"grid": {"x": [1.0]}, "plots": [{"x": "curve.t", "y": "cube"}]}, r"y='cube' is not a column"),
])
def test_check_sweep_refuses_names_columns_and_plots_before_any_point_runs(spec, match):
    with pytest.raises(ValueError, match=match):
        check_sweep(POINT, parse_sweep(spec))


def test_check_sweep_checks_every_points_values_against_the_chapters_declaration():
    for grid, match in [({"lr": [0.1, -0.1]}, r"point lr=-0.1: lr=-0.1 is not allowed; it must be a finite number > 0"),
                        ({"lr": [float("nan")]}, r"point lr=nan: lr=nan is not allowed.*finite"),
                        ({"n_train": [400, 10**9]}, "point n_train=1000000000: .*the train split of digits has 997"),
                        ({"num_epoch": [3]}, r"did you mean 'num_epochs'"),
                        ({"augment_padding": [0.5]}, "augment_padding=0.5 is not allowed; it must be an integer >= 0")]:
        with pytest.raises(ValueError, match=match):
            check_sweep(CHAPTER_6, parse_sweep({"grid": grid}))


def test_a_profile_is_the_base_of_every_point(tmp_path):
    sweep = parse_sweep({"grid": {"seed": [0, 1]}, "base": "full"})
    points = check_sweep(CHAPTER_6, sweep)
    assert points["seed=1"]["dataset"] == "cifar10" and points["seed=1"]["model"] == "inception"
    assert check_sweep(CHAPTER_6, parse_sweep({"grid": {"seed": [0]}}), profile="full")["seed=0"]["lr_decay"] == 0.95
    with pytest.raises(ValueError, match="--profile huge and the grid's base: full disagree"):
        check_sweep(CHAPTER_6, sweep, profile="huge")
    with pytest.raises(ValueError, match=r"profile='huge': no .*06_randomization_tests.huge.yaml"):
        check_sweep(CHAPTER_6, parse_sweep({"grid": {"seed": [0]}, "base": "huge"}))


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
    assert rows == [{"x": 2.0, "hidden": "8,8", "t": 0, "value": 0.0, "square": 4.0},
                    {"x": 2.0, "hidden": "8,8", "t": 1, "value": 2.0, "square": 4.0}]
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


def test_aggregate_collects_the_finished_points_into_a_csv_and_plots_keeping_older_ones(tmp_path):
    sweep = parse_sweep({"grid": {"x": [1.0, 2.0, 3.0]}, "fixed": {"seed": 0}, "columns": CURVE,
                         "plots": [{"x": "t", "y": "value"}]})
    for x in (1.0, 3.0):  # point x=2.0 has not finished
        (tmp_path / f"x={x}.json").write_text(json.dumps({"curve": {"t": [0, 1], "value": [0, x]}}))
    rows = aggregate(sweep, tmp_path)
    assert (tmp_path / "sweep.csv").read_text().splitlines() == ["x,t,value", "1.0,0,0", "1.0,1,1.0", "3.0,0,0", "3.0,1,3.0"]
    assert draw_plots(sweep, rows, tmp_path) == [tmp_path / "value_vs_t.png"] and (tmp_path / "value_vs_t.png").stat().st_size
    assert draw_plots(sweep, [], tmp_path / "empty") == []
    (tmp_path / "x=2.0.json").write_text(json.dumps({"curve": {"t": [0, 1], "value": [0, 20.0]}}))
    draw_plots(sweep, aggregate(sweep, tmp_path), tmp_path)
    assert len(list(tmp_path.glob("sweep*.csv"))) == 2 and len(list(tmp_path.glob("value_vs_t*.png"))) == 2


def test_cli_sweep_rejects_a_bad_grid_with_a_message_before_running(tmp_path, capsys):
    grid = write_grid(tmp_path / "grid.yaml", {"grid": {"epochs": [1, 2]}})
    assert cli(["sweep", str(POINT), "--grid", str(grid), "--out", str(tmp_path / "out")]) == 2
    assert "'epochs' is not a parameter of sweep_point.ipynb" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert cli(["sweep", str(POINT), "--grid", str(grid), "--workers", "0"]) == 2
    assert "workers=0 is not allowed" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("grid:\n  x: [1.0\n")
    assert cli(["sweep", str(POINT), "--grid", str(broken), "--out", str(tmp_path / "out")]) == 2
    assert f"{broken}, line 3" in capsys.readouterr().err


def test_the_shipped_randomization_grid_checks_against_chapter_6():
    sweep = load_sweep(ROOT / "notebooks" / "params" / "06_randomization_tests.sweep.yaml")
    check_sweep(CHAPTER_6, sweep)
    assert {"corruption_level", "test_error", "epochs_to_fit"} <= set(sweep.columns)
    assert {(plot["x"], plot["y"], plot.get("lines")) for plot in sweep.plots} == {
        ("corruption_level", "test_error", "model"), ("corruption_level", "epochs_to_fit", "model")}
