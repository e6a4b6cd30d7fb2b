"""The main job: `python -m d2lutil run` executes chapters with papermill, parameters and all."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from d2lutil.__main__ import main as cli
from d2lutil.locks import folder_lock
from d2lutil.runner import NOTEBOOKS, RUN_LOCK, chapter_notebooks, profile_parameters, run_all, run_notebook

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = NOTEBOOKS / "06_randomization_tests.ipynb"
POINT = ROOT / "tests" / "fixtures" / "sweep_point.ipynb"  # no training: it computes a few numbers from its parameters


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m d2lutil ...` with this interpreter's environment first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "d2lutil", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_chapters_are_found_in_course_order():
    names = [p.name for p in chapter_notebooks()]
    assert "06_randomization_tests.ipynb" in names and names == sorted(names)


def test_non_default_parameters_reach_the_notebook_and_its_json(tmp_path):
    out = tmp_path / "build"  # not there yet: the runner creates it
    result = run_cli("run", str(CHAPTER), "--out", str(out), "--no-progress", "-p", "n_train", "400",
                     "-p", "seed", "3", "-p", "corruption_levels", "[0.0, 0.5, 1.0]", "-p", "table_epochs", "20",
                     "-p", "checkpoint_dir", str(tmp_path / "checkpoints"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Executed 1 notebook(s) into {out}" in result.stdout
    saved = json.loads((out / "results" / "06_randomization_tests.json").read_text())
    assert saved["parameters"]["n_train"] == 400 and saved["parameters"]["seed"] == 3
    assert saved["parameters"]["table_epochs"] == 20 and saved["corruption"]["levels"] == [0.0, 0.5, 1.0]
    assert all(row["epochs"] == 20 for row in saved["table1"] if row["labels"] == "true_labels")
    assert (out / "06_randomization_tests.ipynb").is_file()
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) >= 5, "every run checkpoints to checkpoint_dir"
    assert {p.name for p in (out / "figures").iterdir()} >= {"06_fig1a_learning_curves.png", "06_fig1bc_corruption.png"}


@pytest.mark.parametrize("name, value, allowed", [
    ("dataset", "svhn", "'digits', 'mnist', 'fashion_mnist', 'cifar10'"),
    ("corruption_levels", "[0.0, 1.5, 1.0]", r"corruption_levels\[1\]=1.5"),
    ("num_epochs", "0", "num_epochs=0"),
    ("batch_size", "-8", "batch_size=-8"),
    ("model", "resnet", "'mlp', 'cnn', 'inception', 'alexnet'"),
])
def test_a_rejected_parameter_names_what_is_allowed(tmp_path, name, value, allowed):
    result = run_cli("run", str(CHAPTER), "--out", str(tmp_path), "--no-progress", "-p", name, value)
    assert result.returncode == 2
    assert "error:" in result.stderr and re.search(allowed, result.stderr)


def test_the_notebooks_folder_is_never_an_output(tmp_path):
    with pytest.raises(ValueError, match="is the notebook itself"):
        run_notebook(CHAPTER, NOTEBOOKS)


def test_unknown_notebook_is_reported(tmp_path):
    result = run_cli("run", "notebooks/99_missing.ipynb", "--out", str(tmp_path))
    assert result.returncode == 2 and "no such notebook" in result.stderr


def test_a_profile_supplies_values_that_parameters_override(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr("d2lutil.runner.execute", lambda nb, out, params, progress: seen.setdefault(nb.name, params))
    run_all([CHAPTER], tmp_path, {"num_epochs": 3, "checkpoint_dir": str(tmp_path / "ck")}, progress=False, profile="full")
    params = seen[CHAPTER.name]
    assert params["dataset"] == "cifar10" and params["model"] == "inception" and params["num_epochs"] == 3


def test_an_unknown_profile_names_the_profiles_there_are(tmp_path):
    assert profile_parameters(CHAPTER, None) == {}
    with pytest.raises(ValueError, match=r"profile='huge'.*06_randomization_tests\.full\.yaml"):
        profile_parameters(CHAPTER, "huge")


@pytest.mark.parametrize("name, value, message", [
    ("lr", ".nan", r"lr=nan is not allowed; it must be a finite number > 0 \(not NaN or infinity\)"),
    ("weight_decay", ".inf", r"weight_decay=inf is not allowed"),
    ("width", ".inf", r"width=inf is not allowed"),
    ("lr_decay", "0", r"lr_decay=0 is not allowed; it must be a finite number in \(0, 1\]"),
    ("num_epoch", "3", r"'num_epoch' is not a parameter of 06_randomization_tests \(did you mean 'num_epochs'\?\)"),
    ("n_train", "1000000000", "the train split of digits has 997 examples"),
    ("augment_padding", "0.5", "augment_padding=0.5 is not allowed; it must be an integer >= 0"),
    ("seed", "abc", "seed='abc' is not allowed"),
])
def test_a_bad_value_or_name_is_refused_before_anything_runs(tmp_path, capsys, name, value, message):
    assert cli(["run", str(CHAPTER), "--out", str(tmp_path / "out"), "--no-progress", "-p", name, value]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists(), "nothing may be written for a refused run"


@pytest.mark.parametrize("source, out", [("notebooks/07_implicit_regularization.ipynb", "exercises"),
                                         ("solutions/07_implicit_regularization.ipynb", "notebooks"),
                                         ("exercises/03_dropout.ipynb", "solutions")])
def test_an_output_over_a_tracked_notebook_is_refused(capsys, source, out):
    before = (ROOT / out / Path(source).name).read_bytes()
    assert cli(["run", str(ROOT / source), "--out", str(ROOT / out), "--no-progress"]) == 2
    assert "is tracked by git" in capsys.readouterr().err
    assert (ROOT / out / Path(source).name).read_bytes() == before


def test_every_output_folder_is_checked_for_writing_before_the_first_cell(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    log = tmp_path / "log.txt"
    for name in ("results_dir", "figures_dir", "checkpoint_dir"):
        assert cli(["run", str(CHAPTER), "--out", str(tmp_path / "out"), "--no-progress",
                    "-p", name, str(tmp_path / "file" / name)]) == 2
        assert f"cannot write into {tmp_path / 'file' / name}" in capsys.readouterr().err
    assert cli(["run", str(POINT), "--out", str(tmp_path / "file" / "out"), "-p", "log_path", str(log)]) == 2
    assert "cannot write into" in capsys.readouterr().err and not log.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the file case above covers root")
def test_a_read_only_results_folder_is_refused_before_the_first_cell(tmp_path, capsys):
    (tmp_path / "results").mkdir(mode=0o500)
    assert cli(["run", str(POINT), "--out", str(tmp_path / "out"), "-p", "results_dir", str(tmp_path / "results")]) == 2
    assert "cannot write into" in capsys.readouterr().err


def test_an_executed_notebook_that_differs_is_kept_and_a_failed_run_loses_nothing(tmp_path):
    out = tmp_path / "out"
    run_notebook(POINT, out, {"x": 2.0})
    first = (out / "sweep_point.ipynb").read_text()
    with pytest.raises(Exception, match="fails on purpose"):
        run_notebook(POINT, out, {"x": 3.0, "fail": True})
    kept = sorted(out.glob("sweep_point*.ipynb"))
    assert len(kept) == 2 and first in [p.read_text() for p in kept]
    assert "fails on purpose" in (out / "sweep_point.ipynb").read_text()
    assert not list(out.glob(".*.running.ipynb"))


def test_a_second_run_into_a_folder_in_use_is_refused_naming_the_holder(tmp_path, capsys):
    with folder_lock(tmp_path / "out", RUN_LOCK, wait=False):
        assert cli(["run", str(POINT), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert f"is in use by pid {os.getpid()}" in capsys.readouterr().err
    assert not (tmp_path / "out" / "sweep_point.ipynb").exists()


def test_one_progress_line_per_notebook_naming_it_and_no_kernel_transport_warning(tmp_path, capfd):
    second = tmp_path / "02_second.ipynb"
    second.write_bytes(POINT.read_bytes())
    run_all([POINT, second], tmp_path / "out", {"x": 2.0})
    err = capfd.readouterr().err
    assert "without encryption" not in err and "IPKernelApp" not in err, err
    finals = [line.rsplit("\r", 1)[-1] for line in err.split("\n") if line.strip()]
    assert [line.split(":")[0] for line in finals] == ["[1/2] sweep_point", "[2/2] 02_second"], finals
    assert all("100%" in line for line in finals)


def test_ctrl_c_ends_a_run_with_a_message_and_leaves_no_kernel(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    log = tmp_path / "log.txt"
    process = subprocess.Popen([sys.executable, "-m", "d2lutil", "run", str(POINT), "--out", str(tmp_path / "out"),
                                "-p", "sleep", "60", "-p", "log_path", str(log), "--no-progress"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while not (log.exists() and "start" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted: the notebooks executed so far are in" in err, err
    assert "runner.py" not in err and "__main__.py" not in err, err  # the command's own traceback is not shown
    assert "finish" not in log.read_text()
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the run's process group is left
