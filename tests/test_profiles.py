"""Papermill profiles: every notebooks/params/*.yaml names only parameters of its notebook, with values it accepts."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
import yaml

from d2lutil.parameters import declaration
from d2lutil.sweep import parse_sweep

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PROFILES = sorted((ROOT / "notebooks" / "params").glob("*.yaml"))


def notebook_of(profile: Path) -> Path:
    """The notebook a profile is for: params/NN_name.<kind>.yaml belongs to NN_name.ipynb."""
    return profile.parent.parent / f"{profile.name.split('.')[0]}.ipynb"


def tagged_source(notebook: Path, tag: str) -> str:
    """The source of the notebook's one cell with `tag`."""
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook.name} has {len(cells)} cells tagged {tag!r}; it needs exactly one"
    return cells[0].source


def check_values(notebook: Path, values: dict[str, Any]) -> None:
    """Run the notebook's parameters cell, then `values` as papermill would inject them, then its check cell."""
    namespace: dict[str, Any] = {}
    exec(tagged_source(notebook, "parameters"), namespace)
    namespace.update(values)
    exec(tagged_source(notebook, "check-parameters"), namespace)


def profile_runs(profile: Path) -> list[dict[str, Any]]:
    """The parameter sets a profile stands for: the YAML itself, or every point of a sweep grid."""
    spec = yaml.safe_load(profile.read_text())
    if profile.name.endswith(".sweep.yaml"):
        return list(parse_sweep(spec).points().values())
    assert isinstance(spec, dict) and spec, f"{profile.name} must map parameter names to values"
    return [spec]


def check_profile(profile: Path) -> None:
    """Fail if the profile has no notebook, names a non-parameter, or gives a value the declaration refuses."""
    notebook = notebook_of(profile)
    assert notebook.is_file(), f"{profile.name} has no notebook: {notebook.name} does not exist"
    defaults = {name: ast.literal_eval(p["default"]) for name, p in papermill.inspect_notebook(str(notebook)).items()}
    for values in profile_runs(profile):
        unknown = sorted(set(values) - set(defaults))
        assert not unknown, f"{profile.name} names {unknown}, not parameters of {notebook.name}: {', '.join(defaults)}"
        declaration(notebook.stem).check({**defaults, **values}, complete=False)


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_profile_names_parameters_of_its_notebook_with_accepted_values(profile):
    check_profile(profile)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_every_chapter_has_a_full_profile(notebook):
    assert (notebook.parent / "params" / f"{notebook.stem}.full.yaml").is_file(), \
        f"{notebook.name} has no GPU-sized profile params/{notebook.stem}.full.yaml"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
@pytest.mark.parametrize("bad", [{"seed": -1}, {"device": "tpu"}, {"progress": "yes"}, {"dataset": "imagenet"}],
                         ids=lambda bad: f"{next(iter(bad))}={next(iter(bad.values()))!r}")
def test_check_cell_rejects_a_bad_value(notebook, bad):
    check_values(notebook, {})  # the defaults pass
    name, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=f"{name}={value!r} is not allowed"):
        check_values(notebook, bad)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_help_notebook_lists_each_parameter_with_its_comment(notebook):
    parameters = papermill.inspect_notebook(str(notebook))
    shown = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(notebook)],
                           capture_output=True, text=True, check=True).stdout
    for name, parameter in parameters.items():
        assert parameter["help"].strip(), f"{notebook.name}: parameter {name} has no '# comment' saying what it means"
        assert f"  {name}: " in shown and parameter["help"].strip() in shown, f"--help-notebook does not show {name}"


@pytest.fixture
def chapter_copy(tmp_path) -> Path:
    """A copy of chapter 6 in a notebooks/ folder of its own, with an empty params/ beside it."""
    (tmp_path / "notebooks" / "params").mkdir(parents=True)
    return Path(shutil.copy(ROOT / "notebooks" / "06_randomization_tests.ipynb", tmp_path / "notebooks"))


@pytest.mark.parametrize("name, text, match", [
    ("06_randomization_tests.full.yaml", "seed: 1\nepochs: 5\n", r"names \['epochs'\], not parameters"),
    ("06_randomization_tests.full.yaml", "seed: 1\nbatch_size: 0\n", "batch_size=0 is not allowed"),
    ("06_randomization_tests.sweep.yaml", "grid:\n  seed: [0, -2]\n", "seed=-2 is not allowed"),
    ("06_randomization_tests.sweep.yaml", "grid:\n  seed: [0]\nfixed:\n  epochs: 5\n", r"names \['epochs'\]"),
    ("99_no_such_chapter.full.yaml", "seed: 1\n", "has no notebook: 99_no_such_chapter.ipynb does not exist"),
    ("06_randomization_tests.full.yaml", "", "must map parameter names to values"),
])
def test_check_profile_fails_for_a_bad_profile(chapter_copy, name, text, match):
    profile = chapter_copy.parent / "params" / name
    profile.write_text(text)
    with pytest.raises((AssertionError, ValueError), match=match):
        check_profile(profile)
