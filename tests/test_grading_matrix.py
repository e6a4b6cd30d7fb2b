"""The CI matrix: for every registered question, the solution notebook earns full marks and the generated stub none.

Each notebook is graded once per test session of this module (a module-scoped cache), in a fresh
sandboxed kernel, exactly as `python -m d2lutil grade` grades a student's submission.
"""
import nbformat
import pytest

from d2lutil.grading import load_questions
from d2lutil.grading.generate import ROOT
from d2lutil.grading.cells import check_call
from d2lutil.grading.grader import GradingOptions, NotebookGrade, grade_notebook

QUESTIONS = load_questions()
CHAPTERS = sorted({qid.split(".")[0] for qid in QUESTIONS})


def notebook_of(folder: str, chapter: str):
    """The one notebook of `chapter` in ROOT/folder."""
    found = sorted((ROOT / folder).glob(f"{chapter}_*.ipynb"))
    assert len(found) == 1, f"expected one {folder}/{chapter}_*.ipynb, found {[p.name for p in found]}"
    return found[0]


@pytest.fixture(scope="module")
def graded():
    """grade(folder, chapter): the grade of that chapter's notebook in solutions/ or exercises/, graded once."""
    cache: dict[tuple[str, str], NotebookGrade] = {}

    def grade(folder: str, chapter: str) -> dict:
        if (folder, chapter) not in cache:
            options = GradingOptions(timeout=600, call_timeout=120, seed=0)
            cache[folder, chapter] = grade_notebook(notebook_of(folder, chapter), options)
        return {v.qid: v for v in cache[folder, chapter].verdicts}

    return grade


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_the_solution_earns_full_marks(graded, qid):
    verdict = graded("solutions", qid.split(".")[0])[qid]
    assert verdict.passed, f"solution of {qid}: {verdict.reason}"


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_the_generated_stub_earns_nothing(graded, qid):
    verdict = graded("exercises", qid.split(".")[0])[qid]
    assert verdict.earned == 0 and verdict.reason.startswith("not filled in yet"), f"stub of {qid}: {verdict.reason}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_question_has_one_untouched_check_cell_in_its_solution(chapter):
    notebook = nbformat.read(notebook_of("solutions", chapter), as_version=4)
    calls = [call for cell in notebook.cells if cell.cell_type == "code" and (call := check_call(cell.source))]
    expected = sorted((q.qid, q.answer) for q in QUESTIONS.values() if q.qid.startswith(f"{chapter}."))
    assert sorted(calls) == expected

