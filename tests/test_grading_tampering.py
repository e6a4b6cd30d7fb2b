"""Reading a submission for tampering: rebinding check, patching d2lutil, reaching into the grader."""
import pytest

from d2lutil.grading.generate import ROOT
from d2lutil.grading.tampering import find_tampering

IMPORT = "from d2lutil.grading import check"


def whats(*cells):
    """The (cell, what) of every finding in the given code cells."""
    return [(t.cell, t.what) for t in find_tampering(list(cells))]


@pytest.mark.parametrize("source", [
    "def check(qid, answer):\n    print('passed')",
    "check = print",
    "check = lambda *args: None",
    "from builtins import print as check",
    "from d2lutil.grading.check import run_check as check",
    "class check:\n    pass",
    "def sneaky():\n    global check\n    check = print",
    "for check in [print]:\n    pass",
    "del check",
])
def test_rebinding_check_is_found(source):
    assert (1, "redefines `check`") in whats(IMPORT, source)


def test_local_names_and_calls_are_not_rebinding():
    assert whats(IMPORT, "def f(x):\n    check = x + 1\n    return check", 'check("01.accuracy", accuracy)') == []


@pytest.mark.parametrize("source, what", [
    ("import d2lutil as d2l\nd2l.fit = lambda *a, **k: None", "changes `d2l.fit`"),
    ("import d2lutil\ndel d2lutil.fit", "changes `d2lutil.fit`"),
    ("from d2lutil import train\ntrain.evaluate = print", "changes `train.evaluate`"),
    ("import d2lutil as d2l\nsetattr(d2l, 'fit', print)", "patches d2lutil with setattr()"),
    ("from unittest import mock\nmock.patch('d2lutil.fit', print).start()", "patches d2lutil with mock.patch()"),
    ("import d2lutil as d2l\nx = d2l.models\nx.MODELS.append('mine')", "changes `x.MODELS` with .append()"),
    ("import sys\nsys.modules['d2lutil.grading'] = None", "changes `sys.modules`"),
])
def test_patching_d2lutil_is_found(source, what):
    assert (1, what) in whats(IMPORT, source)


@pytest.mark.parametrize("source", [
    "import d2lutil.grading.registry as r",
    "from d2lutil.grading.questions import ch01",
    "from d2lutil.grading import QUESTIONS",
    "import d2lutil as d2l\nref = d2l.grading.questions.ch01.reference_accuracy",
    "import importlib\nimportlib.import_module('d2lutil.grading.questions.ch01')",
    "__d2lutil_grader__.objects.clear()",
])
def test_reaching_into_the_grader_is_found(source):
    assert any("reaches into the grader's code" in what for _, what in whats(IMPORT, source))


def test_ordinary_course_code_is_not_tampering():
    code = ("import torch\nimport d2lutil as d2l\nfrom d2lutil.grading import check\n"
            "data = d2l.load_dataset('digits', n_train=100)\nnet = d2l.make_model('mlp', data.input_shape)\n"
            "history = d2l.fit(net, data, num_epochs=1, progress=False)\nhistory.train_acc.append(1.0)\n"
            "results = {}\nresults.update(a=1)\n%matplotlib inline")
    assert whats(code, None, "x = 1") == []


def test_findings_name_their_cell_and_line():
    (finding,) = find_tampering([IMPORT, None, "x = 1\ncheck = print"])
    assert (finding.cell, finding.line) == (2, 2)


def test_committed_solutions_and_exercises_show_no_tampering():
    import nbformat

    for path in [*(ROOT / "solutions").glob("*.ipynb"), *(ROOT / "exercises").glob("*.ipynb")]:
        cells = [c.source if c.cell_type == "code" else None for c in nbformat.read(path, as_version=4).cells]
        assert find_tampering(cells) == [], path


def test_modules_imported_by_name_are_followed():
    assert (1, "changes `m.fit`") in whats(IMPORT, "import importlib\nm = importlib.import_module('d2lutil')\nm.fit = print")


def test_changing_what_a_d2lutil_function_returned_is_not_patching():
    assert whats(IMPORT, "import d2lutil as d2l\nd2l.load_dataset('digits').X_train[0] = 0") == []
