"""The grader: gradebooks, time limits, crashes, and cheats inside the student's kernel earning nothing.

The submissions are chapter 1 notebooks written here. They are graded once, together, through
the command line (`python -m d2lutil grade FOLDER --json --csv --gradescope`), by a module-scoped
fixture. Attacks on the grader from outside the kernel are in test_grading_sandbox.py.
"""
import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from d2lutil.__main__ import main as cli
from d2lutil.grading.batch import find_notebooks
from d2lutil.grading.cells import check_call
from d2lutil.grading.check import Verdict
from d2lutil.grading.gradebook import csv_text, gradescope_text, write_file
from d2lutil.grading.generate import ROOT
from d2lutil.grading.grader import NotebookGrade, chapter_of, format_grade, question_seed
from honest_answers import ACCURACY, BIAS_VARIANCE, DIAGNOSE

CHECK = {name: f'check("01.{name}", {name})' for name in ("accuracy", "diagnose", "bias_variance")}
HIDDEN_PATCH = '''mod = getattr(__import__("d2lu" + "til"), "grad" + "ing")
reg = getattr(mod, "regi" + "stry")
for q in list(getattr(reg, "QUEST" + "IONS").values()):
    getattr(reg, "QUEST" + "IONS")[q.qid] = type(q)(q.qid, q.answer, q.points, lambda answer, gen: None)
setattr(reg, "expect_" + "close", lambda *args, **kwargs: None)
torch.allclose = lambda *args, **kwargs: True'''

SUBMISSIONS = {
    "honest": [ACCURACY, CHECK["accuracy"], "1 / 0  # a crash part-way", DIAGNOSE, CHECK["diagnose"],
               BIAS_VARIANCE, CHECK["bias_variance"]],
    "redefines_check": [ACCURACY, CHECK["accuracy"], "def check(qid, answer):\n    print('[passed]')",
                        "def diagnose(*args):\n    return 'good fit'", CHECK["diagnose"], BIAS_VARIANCE,
                        CHECK["bias_variance"]],
    "hidden_patch": [HIDDEN_PATCH, "def accuracy(scores, y):\n    raise NotImplementedError", CHECK["accuracy"],
                     "def diagnose(*args):\n    return 'high variance'  # the visible example", CHECK["diagnose"],
                     "def bias_variance(predictions, y):\n    return 0.25, 1.0  # the visible example's output",
                     CHECK["bias_variance"]],
    "uses_reference_and_patches": [
        ACCURACY, CHECK["accuracy"],
        "def diagnose(*args):\n    from d2lutil.grading.questions.ch01 import reference_diagnose\n"
        "    return reference_diagnose(*args)", CHECK["diagnose"],
        "import d2lutil as d2l\nd2l.grading.registry.expect_close = lambda *a, **k: None",
        BIAS_VARIANCE, CHECK["bias_variance"]],
    "edits_checks": ["def accuracy(scores, y):\n    return 0.6  # the visible example's output", CHECK["accuracy"],
                     DIAGNOSE, 'check("01.diagnose", lambda *args: "high variance")', BIAS_VARIANCE],
    "infinite_loop": [ACCURACY, CHECK["accuracy"], "while True:\n    pass", DIAGNOSE, CHECK["diagnose"],
                      BIAS_VARIANCE, CHECK["bias_variance"]],
    "kills_kernel": [ACCURACY, CHECK["accuracy"], "import os\nos._exit(1)", DIAGNOSE, CHECK["diagnose"],
                     "def bias_variance(predictions, y):\n    while True:\n        pass", CHECK["bias_variance"]],
}


def submission(cells: list[str]) -> nbformat.NotebookNode:
    """A chapter 1 exercise notebook with the given code cells after the usual imports."""
    notebook = new_notebook(cells=[new_markdown_cell("# Chapter 1 exercises"),
                                   new_code_cell("import torch\nfrom d2lutil.grading import check")]
                            + [new_code_cell(source) for source in cells])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade every submission once through the CLI; return the JSON gradebook by name, the CSV and file hashes."""
    folder = tmp_path_factory.mktemp("submissions")
    hashes = {}
    for name, cells in SUBMISSIONS.items():
        path = folder / name / "01_generalization_gap.ipynb"
        path.parent.mkdir()
        nbformat.write(submission(cells), path)
        hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    book_json, book_csv = folder / "gradebook.json", folder / "gradebook.csv"
    assert cli(["grade", str(folder), "--timeout", "20", "--call-timeout", "5", "--no-progress", "--workers", "2",
                "--json", str(book_json), "--csv", str(book_csv)]) == 0
    grades = {Path(g["path"]).parent.name: g for g in json.loads(book_json.read_text())}
    return grades, book_csv.read_text(), hashes


def points(grade: dict) -> dict[str, int]:
    """Points earned per question id."""
    return {q["qid"]: q["earned"] for q in grade["questions"]}


def reasons(grade: dict) -> dict[str, str]:
    """The reason given per question id."""
    return {q["qid"]: q["reason"] for q in grade["questions"]}


def test_an_honest_notebook_earns_full_marks_despite_a_crash_part_way(graded):
    grades, _, _ = graded
    assert points(grades["honest"]) == {"01.accuracy": 1, "01.diagnose": 2, "01.bias_variance": 2}
    assert grades["honest"]["earned"] == grades["honest"]["points"] == 5 and grades["honest"]["failed"] == ""


def test_redefining_check_fools_only_the_student(graded):
    grade = graded[0]["redefines_check"]
    assert points(grade) == {"01.accuracy": 1, "01.diagnose": 0, "01.bias_variance": 2}
    assert "should be" in reasons(grade)["01.diagnose"]


def test_a_hidden_monkeypatch_of_the_registry_torch_and_comparisons_earns_nothing(graded):
    grade = graded[0]["hidden_patch"]
    assert grade["earned"] == 0
    assert reasons(grade)["01.accuracy"].startswith("not filled in yet")
    assert "should be" in reasons(grade)["01.diagnose"]
    assert "wrong value" in reasons(grade)["01.bias_variance"]


def test_the_reference_answers_are_out_of_reach_and_patching_d2lutil_changes_nothing(graded):
    grade = graded[0]["uses_reference_and_patches"]
    assert points(grade) == {"01.accuracy": 1, "01.diagnose": 0, "01.bias_variance": 2}
    assert reasons(grade)["01.diagnose"].startswith("your code raised ModuleNotFoundError: No module named 'd2lutil.grading.questions.ch01'")


def test_edited_or_deleted_check_cells_and_hard_coded_outputs_earn_nothing(graded):
    grade = graded[0]["edits_checks"]
    assert grade["earned"] == 0
    assert "expected" in reasons(grade)["01.accuracy"] and "got 0.6" in reasons(grade)["01.accuracy"]
    assert reasons(grade)["01.diagnose"] == "the check cell `check('01.diagnose', diagnose)` was edited or deleted"
    assert "was edited or deleted" in reasons(grade)["01.bias_variance"]


def test_an_infinite_loop_costs_only_the_later_questions(graded):
    grade = graded[0]["infinite_loop"]
    assert points(grade) == {"01.accuracy": 1, "01.diagnose": 0, "01.bias_variance": 0}
    assert "not reached: the notebook ran past its 20 s limit in cell 5" in reasons(grade)["01.diagnose"]
    assert grade["stopped"] == "time limit reached in cell 5"


def test_a_dead_kernel_and_a_hanging_answer_cost_only_their_own_questions(graded):
    grade = graded[0]["kills_kernel"]
    assert points(grade) == {"01.accuracy": 1, "01.diagnose": 2, "01.bias_variance": 0}, reasons(grade)
    assert reasons(grade)["01.bias_variance"] == "your code did not return within 5 s"


def test_gradebook_csv_has_a_row_per_question_and_submissions_are_untouched(graded):
    grades, book_csv, hashes = graded
    rows = book_csv.strip().splitlines()
    assert rows[0] == "notebook,chapter,question,earned,points,reason"
    assert len(rows) == 1 + 3 * len(SUBMISSIONS)
    assert all(hashlib.sha256(path.read_bytes()).hexdigest() == digest for path, digest in hashes.items())
    assert all(isinstance(g["seed"], int) for g in grades.values()), "each grade records the seed of its inputs"


def test_check_call_recognizes_only_an_untouched_check_cell():
    assert check_call('check("01.accuracy", accuracy)') == ("01.accuracy", "accuracy")
    assert check_call('check( "01.accuracy" ,accuracy )  ') == ("01.accuracy", "accuracy")
    for edited in ['check("01.accuracy", lambda s, y: 1.0)', 'check("01.accuracy", accuracy)\nx = 1',
                   'check("01.accuracy", accuracy, seed=0)', "check(qid, accuracy)", "check(", "%time check('a', b)"]:
        assert check_call(edited) is None, edited


def test_chapter_comes_from_the_file_name_or_the_check_cells():
    assert chapter_of(Path("alice/02_weight_decay.ipynb"), {}) == "02"
    assert chapter_of(Path("alice_03_dropout.ipynb"), {}) == "03"
    assert chapter_of(Path("submission.ipynb"), {"04.early_stopper": 3}) == "04"
    with pytest.raises(ValueError, match="cannot tell the chapter"):
        chapter_of(Path("submission.ipynb"), {})


def test_question_seeds_differ_by_question_and_repeat_by_seed():
    assert question_seed(1, "01.accuracy") == question_seed(1, "01.accuracy")
    assert len({question_seed(1, "01.accuracy"), question_seed(2, "01.accuracy"), question_seed(1, "01.diagnose")}) == 3


def test_find_notebooks_walks_folders_and_refuses_other_paths(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir()
    for path in [tmp_path / "a" / "01_x.ipynb", tmp_path / "a" / ".ipynb_checkpoints" / "01_x.ipynb", tmp_path / "b.ipynb"]:
        path.write_text("{}")
    assert find_notebooks([tmp_path]) == [tmp_path / "a" / "01_x.ipynb", tmp_path / "b.ipynb"]
    with pytest.raises(ValueError, match="is not a notebook"):
        find_notebooks([tmp_path / "missing.ipynb"])
    with pytest.raises(ValueError, match="no notebooks found"):
        find_notebooks([tmp_path / "a" / ".ipynb_checkpoints"])


def test_format_grade_and_csv_show_points_and_reasons(tmp_path):
    grade = NotebookGrade("x/01_a.ipynb", "01", [Verdict("01.accuracy", 1, 1, "passed"),
                                                  Verdict("01.diagnose", 0, 2, "not filled in yet")], seed=7, seconds=1.0)
    table = format_grade(grade)
    assert table.splitlines()[0] == "x/01_a.ipynb: 1/3 points"
    assert re.search(r"01\.diagnose +0/2  not filled in yet", table)
    assert csv_text([grade]).splitlines()[2] == "x/01_a.ipynb,01,01.diagnose,0,2,not filled in yet"
    failed = NotebookGrade("y/99_b.ipynb", "99", [], seed=7, seconds=0.1, failed="not graded: no questions")
    assert format_grade(failed) == "y/99_b.ipynb: 0/0 points (not graded: no questions)"
    assert csv_text([failed]).splitlines()[1] == "y/99_b.ipynb,99,,0,0,not graded: no questions"


def test_gradescope_results_have_the_total_and_one_test_per_question():
    grade = NotebookGrade("x/01_a.ipynb", "01", [Verdict("01.accuracy", 1, 1, "passed"),
                                                  Verdict("01.diagnose", 0, 2, "not filled in yet")], seed=7, seconds=1.0)
    results = json.loads(gradescope_text(grade))
    assert results["score"] == 1 and results["output"] == "1/3 points"
    assert results["tests"] == [
        {"name": "01.accuracy", "score": 1, "max_score": 1, "output": "passed", "status": "passed"},
        {"name": "01.diagnose", "score": 0, "max_score": 2, "output": "not filled in yet", "status": "failed"}]


def test_a_gradebook_already_there_is_archived_not_overwritten(tmp_path):
    book = tmp_path / "gradebook.json"
    assert write_file(book, "first") is None
    archived = write_file(book, "second")
    assert book.read_text() == "second" and archived.read_text() == "first" and archived.parent == tmp_path
    assert write_file(book, "third") not in {None, archived}
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["first", "second", "third"]


def test_cli_rejects_bad_input_before_grading(tmp_path, capsys):
    assert cli(["grade", str(tmp_path / "nothing.ipynb")]) == 2
    assert "is not a notebook" in capsys.readouterr().err
    notebook = tmp_path / "01_a.ipynb"
    nbformat.write(submission([ACCURACY]), notebook)
    assert cli(["grade", str(notebook), "--json", "/proc/no/such/gradebook.json"]) == 2
    assert "cannot create the folder of /proc/no/such/gradebook.json" in capsys.readouterr().err
    assert cli(["grade", str(notebook), "--chapter", "3"]) == 2
    assert "--chapter '3' is not allowed" in capsys.readouterr().err
    assert cli(["grade", str(tmp_path), str(notebook), "--gradescope", str(tmp_path / "gs")]) == 2
    assert "--gradescope grades one notebook, and 2 were found" in capsys.readouterr().err
    assert cli(["grade", str(notebook), "--questions", str(ROOT / "d2lutil" / "grading" / "questions")]) == 2
    assert "which every sandboxed kernel can read" in capsys.readouterr().err
    for bad in (["--timeout", "0"], ["--timeout", "nan"], ["--workers", "0"]):
        with pytest.raises(SystemExit):
            cli(["grade", str(tmp_path), *bad])


def test_without_bubblewrap_the_grader_refuses_and_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    notebook = tmp_path / "01_a.ipynb"
    nbformat.write(submission([ACCURACY]), notebook)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli(["grade", str(notebook), "--json", str(tmp_path / "book.json")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install bubblewrap" in err and "--no-sandbox" in err
    assert not (tmp_path / "book.json").exists()


PRIVATE = """import torch
from d2lutil.grading import CheckFailed, expect_close, question


@question("01.accuracy", answer="accuracy", points=3)
def check_accuracy(accuracy, generator):
    scores, y = torch.randn(50, 4, generator=generator), torch.randint(0, 4, (50,), generator=generator)
    expect_close(accuracy(scores, y), float((scores.argmax(dim=1) == y).float().mean()), "the accuracy")


@question("01.peek", answer="peek")
def check_peek(peek, generator):
    seen = peek()
    if seen:
        raise CheckFailed(f"saw {seen}")
"""


def test_private_questions_grade_for_gradescope_unseen_by_the_kernel(tmp_path, capsys):
    private = tmp_path / "instructor" / "questions"
    private.mkdir(parents=True)
    (private / "ch01_private.py").write_text(PRIVATE)
    peek = (f"def peek():\n    import os\n    return [p for p in {[str(private), str(private / 'ch01_private.py')]!r}"
            f" if os.path.exists(p)]")
    notebook = tmp_path / "student" / "submission.ipynb"
    notebook.parent.mkdir()
    nbformat.write(submission([ACCURACY, CHECK["accuracy"], peek, 'check("01.peek", peek)']), notebook)
    out = tmp_path / "results"
    assert cli(["grade", str(notebook), "--questions", str(private), "--gradescope", str(out), "--no-progress",
                "--timeout", "60"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 4
    assert [(t["name"], t["score"], t["max_score"], t["output"]) for t in results["tests"]] == [
        ("01.accuracy", 3, 3, "passed"), ("01.peek", 1, 1, "passed")], "only the private questions are graded"
    assert "submission.ipynb: 4/4 points" in capsys.readouterr().out


def test_a_dask_scheduler_grades_the_notebooks(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    notebook = tmp_path / "alice" / "01_generalization_gap.ipynb"
    notebook.parent.mkdir()
    nbformat.write(submission([ACCURACY, CHECK["accuracy"]]), notebook)
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "01_generalization_gap.ipynb").write_text("not a notebook")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert cli(["grade", str(tmp_path), "--scheduler", cluster.scheduler_address, "--no-progress",
                    "--json", str(tmp_path / "book.json"), "--timeout", "60"]) == 1
    grades = {Path(g["path"]).parent.name: g for g in json.loads((tmp_path / "book.json").read_text())}
    assert points(grades["alice"]) == {"01.accuracy": 1, "01.diagnose": 0, "01.bias_variance": 0}
    assert grades["bob"]["failed"].startswith("not graded: not a readable notebook")
