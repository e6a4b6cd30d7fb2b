"""Colab: every notebook and the README use the one repository address that pyproject.toml declares."""
import re
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for folder in ("notebooks", "solutions", "exercises")
                   for p in (ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
GITHUB_URL = re.compile(r"https?://(?:colab\.research\.google\.com/)?github(?:\.com)?/[^\s)\"']+")


def colab_url(path: str) -> str:
    """The address that opens the repository's notebook at `path` in Colab."""
    return REPOSITORY.replace("https://github.com/", "https://colab.research.google.com/github/") + f"/blob/main/{path}"


def badge(path: str) -> str:
    """The "Open in Colab" badge link of the notebook at `path`."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(path)})"


def test_the_repository_is_a_github_address():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY), REPOSITORY


def test_every_chapter_solution_and_exercise_is_checked():
    assert [Path(p).parent.name for p in NOTEBOOKS].count("notebooks") == 8
    assert len(NOTEBOOKS) == 24


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_opens_in_colab_and_installs_from_the_repository(path):
    cells = nbformat.read(ROOT / path, as_version=4).cells
    assert badge(path) in cells[0].source, f"{path}: the first cell has no Colab badge for {colab_url(path)}"
    assert sum(f'git+{REPOSITORY}"' in cell.source for cell in cells if cell.cell_type == "code") == 1, \
        f"{path}: no single Colab install cell installing git+{REPOSITORY}"
    others = {url for cell in cells for url in GITHUB_URL.findall(cell.source)
              if not url.startswith((REPOSITORY, colab_url("")))}
    assert not others, f"{path} names a repository other than {REPOSITORY}: {sorted(others)}"


def test_readme_chapter_table_opens_every_chapter_in_colab():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if re.match(r"\| \d \| \[`", line)]
    chapters = [p for p in NOTEBOOKS if p.startswith("notebooks/")]
    assert len(rows) == len(chapters)
    for row, chapter in zip(rows, chapters):
        assert f"({chapter})" in row and badge(chapter) in row, row
    others = {url for url in GITHUB_URL.findall(readme) if not url.startswith((REPOSITORY, colab_url("")))}
    assert not others, f"README.md names a repository other than {REPOSITORY}: {sorted(others)}"
