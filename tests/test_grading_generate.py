"""Exercise generation: answer regions become stubs with hints, model answers disappear, cells that use stubs are tagged."""
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from d2lutil.__main__ import main as cli
from d2lutil.grading.generate import (ANSWER_PROMPT, RAISES, STUB, ROOT, cells_that_raise, exercise_text,
                                      find_regions, generate, make_exercise, replace_regions, stale_exercises)

ANSWER = '''import torch

def l2_penalty(w):
    """Half the squared norm."""
    ### BEGIN SOLUTION
    # HINT: square, sum, halve
    return (w ** 2).sum() / 2
    ### END SOLUTION
'''


def solution_notebook() -> nbformat.NotebookNode:
    """A small solution notebook with a coding answer, its check, uses of it, and a model answer."""
    return new_notebook(cells=[
        new_code_cell("from d2lutil.grading import check"), new_code_cell(ANSWER),
        new_code_cell('check("02.l2_penalty", l2_penalty)'),
        new_code_cell("penalty = l2_penalty(torch.ones(3))"), new_code_cell("doubled = 2 * penalty"),
        new_code_cell("unrelated = 3"),
        new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nModel answer and rubric.\n### END SOLUTION\n\nMore."),
    ])


def test_find_regions_reads_begin_end_and_hint():
    (region,) = find_regions(ANSWER)
    assert (region.begin, region.end, region.hint) == (4, 7, "# HINT: square, sum, halve")


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "without a matching"),
    ("x = 1\n### END SOLUTION", "without a '### BEGIN SOLUTION' before it"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unbalanced_markers_raise_a_value_error(source, message):
    with pytest.raises(ValueError, match=message):
        find_regions(source)


def test_replace_regions_keeps_indentation_and_hint():
    stubbed = replace_regions(ANSWER, STUB, keep_hint=True)
    assert f"    # HINT: square, sum, halve\n    {STUB}\n" in stubbed
    assert "(w ** 2)" not in stubbed and "BEGIN SOLUTION" not in stubbed and stubbed.endswith("\n")
    assert replace_regions("x = 1", STUB, keep_hint=True) == "x = 1"


def test_cells_that_raise_follows_names_from_stubs():
    sources = [c.source for c in solution_notebook().cells if c.cell_type == "code"]
    assert cells_that_raise(sources) == [False, False, False, True, True, False]


def test_cells_that_raise_follows_functions_that_call_stubs_and_top_level_regions():
    sources = [ANSWER, "def helper(x):\n    return l2_penalty(x)", "def other():\n    return 1",
               "helper(1)", "other()", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", "print(answer)"]
    assert cells_that_raise(sources) == [False, False, False, True, False, True, True]


def test_make_exercise_stubs_code_strips_model_answers_and_tags_cells():
    solution = solution_notebook()
    before = nbformat.writes(solution)
    exercise = make_exercise(solution)
    assert nbformat.writes(solution) == before, "the solution notebook must not change"
    assert STUB in exercise.cells[1].source and "(w ** 2)" not in exercise.cells[1].source
    assert exercise.cells[2].source == 'check("02.l2_penalty", l2_penalty)'
    assert [RAISES in c.metadata.get("tags", []) for c in exercise.cells[:6]] == [False] * 3 + [True, True, False]
    assert exercise.cells[6].source == f"Why?\n\n{ANSWER_PROMPT}\n\nMore."


def test_generate_writes_exercises_and_stale_exercises_notices_changes(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(solution_notebook(), solutions / "02_weight_decay.ipynb")
    assert stale_exercises(solutions, exercises if exercises.exists() else tmp_path) == ["02_weight_decay.ipynb"]
    written = generate(solutions, exercises)
    assert written == [exercises / "02_weight_decay.ipynb"]
    nbformat.validate(nbformat.read(written[0], as_version=4))
    assert stale_exercises(solutions, exercises) == []
    written[0].write_text(written[0].read_text().replace("l2_penalty(torch", "l2_penalty( torch"))
    assert stale_exercises(solutions, exercises) == ["02_weight_decay.ipynb"]
    (exercises / "99_orphan.ipynb").write_text("{}")
    assert stale_exercises(solutions, exercises) == ["02_weight_decay.ipynb", "99_orphan.ipynb"]


def test_cli_generates_and_checks(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(solution_notebook(), solutions / "02_weight_decay.ipynb")
    assert cli(["exercises", "--solutions", str(solutions), "--out", str(exercises), "--check"]) == 1
    assert cli(["exercises", "--solutions", str(solutions), "--out", str(exercises)]) == 0
    assert cli(["exercises", "--solutions", str(solutions), "--out", str(exercises), "--check"]) == 0
    assert cli(["exercises", "--solutions", str(tmp_path / "none"), "--out", str(exercises)]) == 2
    assert "no solution notebooks" in capsys.readouterr().err


def test_committed_exercises_are_what_the_command_generates():
    solutions = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    assert solutions, "solutions/ holds the single source of every exercise"
    stale = stale_exercises(ROOT / "solutions", ROOT / "exercises")
    assert stale == [], f"run `python -m d2lutil exercises`: out of date: {stale}"
    for solution in solutions:
        assert (ROOT / "exercises" / solution.name).read_text(encoding="utf-8") == exercise_text(solution)


def test_exercise_and_solution_notebooks_are_committed_without_outputs():
    for path in [*Path(ROOT / "solutions").glob("*.ipynb"), *Path(ROOT / "exercises").glob("*.ipynb")]:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3", path
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in notebook.cells if c.cell_type == "code"), f"{path} has outputs"
