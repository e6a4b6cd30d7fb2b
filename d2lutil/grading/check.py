"""In-notebook feedback: check("<question id>", answer) says pass, or what is wrong, and never raises."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import torch

from .registry import CheckFailed, Question, load_questions


@dataclass(frozen=True)
class Verdict:
    """The outcome of one question's check: points earned out of `points`, and why."""

    qid: str
    earned: int
    points: int
    reason: str

    @property
    def passed(self) -> bool:
        """True when the answer earned full marks."""
        return self.earned == self.points


def find_question(qid: str) -> Question:
    """The registered question `qid`; a ValueError lists the known ids if there is none."""
    questions = load_questions()
    if qid not in questions:
        raise ValueError(f"question id {qid!r} is not registered; known ids: {', '.join(sorted(questions))}")
    return questions[qid]


def explain_error(err: BaseException) -> str:
    """Plain words for an exception raised while checking an answer."""
    if isinstance(err, CheckFailed):
        return str(err)
    if isinstance(err, NotImplementedError):
        return "not filled in yet: replace `raise NotImplementedError` with your code"
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    name = getattr(err, "remote_name", type(err).__name__)
    return f"your code raised {name}" + (f": {message}" if message else "")


def run_check(question: Question, answer: Any, seed: int | None = None) -> Verdict:
    """Run `question`'s check on `answer` with inputs drawn from a generator seeded with `seed` (random if None)."""
    if not callable(answer):
        return Verdict(question.qid, 0, question.points,
                       f"expected the function or class `{question.answer}`, got {type(answer).__name__}")
    generator = torch.Generator().manual_seed(secrets.randbits(63) if seed is None else seed)
    try:
        question.check(answer, generator)
    except Exception as err:  # the student's code may raise anything; each becomes a reason
        return Verdict(question.qid, 0, question.points, explain_error(err))
    return Verdict(question.qid, question.points, question.points, "passed")


def check(qid: str, answer: Any, seed: int | None = None) -> None:
    """Check the answer to question `qid` on fresh random inputs and print pass or what is wrong."""
    verdict = run_check(find_question(qid), answer, seed)
    mark = "passed" if verdict.passed else "not yet"
    print(f"[{mark}] {qid} ({verdict.earned}/{verdict.points} points): "
          + ("well done." if verdict.passed else verdict.reason))
