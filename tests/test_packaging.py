"""Packaging: the wheel holds every subpackage, and the three dependency lists agree."""
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def names(requirements: list[str]) -> set[str]:
    """Package names without versions or extras ('dask[distributed]>=1' -> 'dask')."""
    return {re.split(r"[<>=\[ ]", r.strip(), maxsplit=1)[0].lower() for r in requirements if r.strip()}


def requirements_txt() -> set[str]:
    """The packages requirements.txt installs."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return names([line for line in lines if line.strip() and not line.startswith("#")])


def test_wheel_contains_every_subpackage(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel, = tmp_path.glob("d2lutil-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.relative_to(ROOT)) for p in (ROOT / "d2lutil").rglob("__init__.py")}
    assert len(packages) > 1 and packages <= inside, f"missing from the wheel: {sorted(packages - inside)}"


def test_environment_yml_installs_what_requirements_txt_does():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = names(conda + pip) - {"python", "pip", "-e"}
    assert listed - {"distributed"} == requirements_txt(), "dask[distributed] is conda's dask + distributed"
    assert "-e ." in pip, "environment.yml installs d2lutil from the checkout"


def test_pyproject_dependencies_are_all_in_requirements_txt():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = names(project["dependencies"]), names(project["optional-dependencies"]["dev"])
    assert runtime | dev == requirements_txt()
