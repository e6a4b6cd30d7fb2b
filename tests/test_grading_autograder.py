"""The Gradescope autograder zip: what it holds, and its run script grading a submission as Gradescope runs it."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from d2lutil.__main__ import main as cli

ACCURACY = "def accuracy(scores, y):\n    return float((scores.argmax(dim=1) == y).float().mean())"


def test_the_zip_holds_the_scripts_and_d2lutil_and_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "gradescope" / "autograder_01.zip"
    assert cli(["autograder", "01", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "d2lutil/__init__.py",
            "d2lutil/grading/questions/ch01.py"} <= names
    assert not any("__pycache__" in name for name in names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "apt-get install" in setup and "bubblewrap" in setup and "/autograder/source" in setup
    assert cli(["autograder", "01", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli(["autograder", "99", "--out", str(tmp_path / "x.zip")]) == 2
    assert "no questions are registered for chapter 99" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)")
def test_run_autograder_grades_the_submission_into_results_json(tmp_path):
    out = tmp_path / "autograder.zip"
    assert cli(["autograder", "01", "--out", str(out), "--timeout", "60"]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(root / "source" / script)]).returncode == 0
    notebook = new_notebook(cells=[new_code_cell("from d2lutil.grading import check"), new_code_cell(ACCURACY),
                                   new_code_cell('check("01.accuracy", accuracy)')])
    (root / "submission" / "renamed").mkdir(parents=True)
    nbformat.write(notebook, root / "submission" / "renamed" / "my homework.ipynb")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                         env={**env, "AUTOGRADER": str(root), "PYTHON": sys.executable}, timeout=600)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 1, (run.stdout, run.stderr)
    assert [(t["name"], t["score"], t["max_score"]) for t in results["tests"]] == [
        ("01.accuracy", 1, 1), ("01.diagnose", 0, 2), ("01.bias_variance", 0, 2)]
