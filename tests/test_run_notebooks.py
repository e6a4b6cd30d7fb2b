"""The main job: `python -m d2lutil run` executes chapters with papermill, parameters and all."""
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from d2lutil.runner import NOTEBOOKS, chapter_notebooks, profile_parameters, run_all, run_notebook

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = NOTEBOOKS / "06_randomization_tests.ipynb"


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
    with pytest.raises(ValueError, match="notebooks' own folder"):
        run_notebook(CHAPTER, NOTEBOOKS)


def test_unknown_notebook_is_reported(tmp_path):
    result = run_cli("run", "notebooks/99_missing.ipynb", "--out", str(tmp_path))
    assert result.returncode == 2 and "no such notebook" in result.stderr


def test_a_profile_supplies_values_that_parameters_override(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr("d2lutil.runner.run_notebook", lambda nb, out, params: seen.setdefault(nb.name, params))
    run_all([CHAPTER], tmp_path, {"num_epochs": 3}, progress=False, profile="full")
    params = seen[CHAPTER.name]
    assert params["dataset"] == "cifar10" and params["model"] == "inception" and params["num_epochs"] == 3


def test_an_unknown_profile_names_the_profiles_there_are(tmp_path):
    assert profile_parameters(CHAPTER, None) == {}
    with pytest.raises(ValueError, match=r"profile='huge'.*06_randomization_tests\.full\.yaml"):
        profile_parameters(CHAPTER, "huge")
