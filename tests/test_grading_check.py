"""In-notebook feedback: check() and run_check() say pass or what is wrong, and never raise on a bad answer."""
import pytest
import torch

from d2lutil.grading import check, run_check
from d2lutil.grading.check import explain_error, find_question
from d2lutil.grading.remote import AnswerStopped
from d2lutil.grading.registry import CheckFailed, Question, expect_close
from d2lutil.grading.remote import RemoteError


def square_check(answer, gen: torch.Generator) -> None:
    """A toy check: answer(x) must be x squared for a random x."""
    x = torch.randn(3, generator=gen)
    expect_close(answer(x), x ** 2, "answer(x)")


TOY = Question("00.square", "square", 2, square_check)


def test_run_check_passes_a_right_answer():
    verdict = run_check(TOY, lambda x: x * x, seed=3)
    assert (verdict.earned, verdict.points, verdict.passed, verdict.reason) == (2, 2, True, "passed")


def test_run_check_reports_expected_versus_got():
    verdict = run_check(TOY, lambda x: x + 1, seed=3)
    assert verdict.earned == 0 and not verdict.passed
    assert "wrong value" in verdict.reason and "expected" in verdict.reason and "got" in verdict.reason


def test_run_check_reports_a_wrong_shape():
    verdict = run_check(TOY, lambda x: torch.zeros(2, 2), seed=3)
    assert "wrong shape" in verdict.reason and "(3,)" in verdict.reason and "(2, 2)" in verdict.reason


def test_run_check_says_a_stub_is_not_filled_in():
    def stub(x):
        raise NotImplementedError("replace this line with your code")
    assert run_check(TOY, stub).reason.startswith("not filled in yet")


def test_run_check_names_the_exception_the_code_raised():
    verdict = run_check(TOY, lambda x: x.no_such_method(), seed=0)
    assert verdict.reason.startswith("your code raised AttributeError")


def test_run_check_refuses_something_that_is_not_a_function():
    verdict = run_check(TOY, 42)
    assert verdict.earned == 0 and "expected the function or class `square`" in verdict.reason


def test_run_check_draws_different_inputs_for_different_seeds():
    seen = []
    run_check(TOY, lambda x: seen.append(x.clone()) or x * x, seed=1)
    run_check(TOY, lambda x: seen.append(x.clone()) or x * x, seed=2)
    run_check(TOY, lambda x: seen.append(x.clone()) or x * x, seed=1)
    assert not torch.equal(seen[0], seen[1]) and torch.equal(seen[0], seen[2])


def test_explain_error_words():
    assert explain_error(CheckFailed("f(1) should be 2, got 3")) == "f(1) should be 2, got 3"
    assert explain_error(AnswerStopped("your code did not return within 5 s")) == "your code did not return within 5 s"
    assert explain_error(RemoteError("MyError", "boom")) == "your code raised MyError: boom"
    assert explain_error(ValueError("")) == "your code raised ValueError"


def test_check_prints_pass_and_failure_and_never_raises(capsys):
    check("01.accuracy", lambda scores, y: float((scores.argmax(1) == y).float().mean()))
    assert "[passed] 01.accuracy" in capsys.readouterr().out

    def stub(scores, y):
        raise NotImplementedError
    check("01.accuracy", stub)
    assert "[not yet] 01.accuracy (0/1 points): not filled in yet" in capsys.readouterr().out
    check("01.accuracy", lambda scores, y: 1 / 0)
    assert "your code raised ZeroDivisionError" in capsys.readouterr().out


def test_unknown_question_id_lists_the_known_ones():
    with pytest.raises(ValueError, match="not registered; known ids: .*01.accuracy"):
        find_question("99.nothing")
