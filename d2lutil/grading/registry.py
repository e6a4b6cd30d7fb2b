"""The registry of auto-graded questions: each is a check run on the student's answer object.

A question module in d2lutil/grading/questions/ (or in an instructor's private folder, loaded
with load_question_dir) registers its checks with @question. A
check receives the student's answer (always a function or class the notebook defines)
and a generator seeded at check time, draws its own inputs, compares with a reference
implementation, and raises CheckFailed with a plain-words reason when the answer is wrong.

The same check runs in two places. In a notebook, check("<qid>", answer) hands it the real
object. The grader hands it a proxy for the object that lives in the student's kernel, so
nothing the student's code does can touch the check or its comparisons. A check therefore:
- only calls the answer, reads or sets its attributes, calls methods and indexes results
  (no isinstance/issubclass on it, no wrapping it in a local nn.Module);
- gets back real values when results are tensors, numbers, strings, bools, None or
  lists/tuples/dicts of these; anything else (a module, an instance) stays a proxy;
- passes arguments by copy (tensors, numbers, containers, torch.nn modules, functions or
  functools.partial of module-level functions): in-place changes the student's code makes to
  them are not seen, so answers return their results;
- draws every input from the generator it is given, never from a fixed example.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

Check = Callable[[Any, torch.Generator], None]


class CheckFailed(AssertionError):
    """A check's verdict on a wrong answer, in plain words."""


@dataclass(frozen=True)
class Question:
    """One auto-graded question: its id ('05.mixup'), the name the student defines, points and check."""

    qid: str
    answer: str
    points: int
    check: Check


QUESTIONS: dict[str, Question] = {}
_REGISTRIES = [QUESTIONS]  # the registry @question writes into: the built-in one, or a private folder's


def question(qid: str, answer: str, points: int = 1) -> Callable[[Check], Check]:
    """Register the decorated function as the check of question `qid`, whose answer is named `answer`."""
    def register(check: Check) -> Check:
        registry = _REGISTRIES[-1]
        if qid in registry and registry[qid].check.__qualname__ != check.__qualname__:
            raise ValueError(f"question id {qid!r} is registered twice")
        registry[qid] = Question(qid, answer, points, check)
        return check
    return register


def load_questions() -> dict[str, Question]:
    """Import every module of d2lutil.grading.questions and return the registry."""
    from . import questions

    for info in pkgutil.iter_modules(questions.__path__):
        importlib.import_module(f"{questions.__name__}.{info.name}")
    return QUESTIONS


def load_question_dir(folder: Path) -> dict[str, Question]:
    """The questions registered by the modules (*.py) of an instructor's own folder, apart from the built-in ones."""
    modules = sorted(Path(folder).glob("*.py"))
    if not modules:
        raise ValueError(f"{folder} holds no question modules (*.py files registering checks with @question)")
    found: dict[str, Question] = {}
    _REGISTRIES.append(found)
    try:
        package = f"d2lutil_private_questions_{secrets.token_hex(4)}"
        for path in modules:
            spec = importlib.util.spec_from_file_location(f"{package}.{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    finally:
        _REGISTRIES.pop()
    if not found:
        raise ValueError(f"the modules in {folder} register no question (decorate each check with @question)")
    return found


def expect_shape(got: torch.Tensor, expected: tuple[int, ...], what: str) -> None:
    """Fail with 'wrong shape' unless `got` is a tensor of shape `expected`."""
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(expected):
        raise CheckFailed(f"{what} has the wrong shape: expected {tuple(expected)}, got {tuple(got.shape)}")


def expect_close(got: Any, expected: Any, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Fail with expected-versus-got unless `got` is numerically close to `expected` (tensors or numbers)."""
    got_t, expected_t = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(expected, dtype=torch.float64)
    if got_t.shape != expected_t.shape:
        raise CheckFailed(f"{what} has the wrong shape: expected {tuple(expected_t.shape)}, got {tuple(got_t.shape)}")
    if not torch.allclose(got_t, expected_t, atol=atol, rtol=rtol):
        raise CheckFailed(f"{what} has the wrong value: expected {_short(expected_t)}, got {_short(got_t)}")


def _short(value: torch.Tensor) -> str:
    """A compact printout of a tensor or number for a failure message."""
    return f"{value.item():.6g}" if value.numel() == 1 else str(value.flatten()[:6].tolist()) + (" ..." if value.numel() > 6 else "")
