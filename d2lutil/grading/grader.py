"""Grading one notebook: run it in a sandboxed kernel, then check every question of its chapter against it.

The notebook's code cells run one by one, past errors, under one time limit (its check cells are
skipped: the grader runs its own checks instead). Then, for every question of the notebook's
chapter, the grader's check (imported here, in the grader's process) runs against a proxy of the
answer the notebook defined, on inputs drawn now. A question earns nothing when its check cell
was edited or deleted, or when the time limit stopped the notebook before its check cell.
Whatever the notebook does (a file that is not a notebook, an unknown chapter, a kernel that
dies or hangs, an answer that cannot be sent back) costs this notebook only: grade_notebook
never raises, it reports the reason. The submitted file is only read, never written.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import nbformat

from .cells import check_call
from .check import Verdict, run_check
from .registry import Question, load_question_dir, load_questions
from .remote import KernelSession, KernelUnavailable, RemoteObject
from .sandbox import Limits

DEFAULT_TIMEOUT = 600.0
DEFAULT_CALL_TIMEOUT = 30.0
MAX_NOTEBOOK = 64 * 2**20


@dataclass(frozen=True)
class GradingOptions:
    """How notebooks are graded: time limits, the inputs' seed, the sandbox and its limits, whose questions."""

    timeout: float = DEFAULT_TIMEOUT
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    seed: int | None = None
    sandbox: bool = True
    limits: Limits = Limits()
    questions: Path | None = None
    chapter: str | None = None


@dataclass
class NotebookGrade:
    """One graded notebook: a verdict per question, the seed its inputs came from, and how its run ended."""

    path: str
    chapter: str
    verdicts: list[Verdict]
    seed: int
    seconds: float
    stopped: str = ""
    failed: str = ""

    @property
    def earned(self) -> int:
        """Points earned over all questions."""
        return sum(v.earned for v in self.verdicts)

    @property
    def points(self) -> int:
        """Points available over all questions."""
        return sum(v.points for v in self.verdicts)

    def as_dict(self) -> dict:
        """The grade as plain data, ready for JSON."""
        return {"path": self.path, "chapter": self.chapter, "earned": self.earned, "points": self.points,
                "seed": self.seed, "seconds": round(self.seconds, 2), "stopped": self.stopped,
                "failed": self.failed, "questions": [asdict(v) for v in self.verdicts]}


def chapter_of(path: Path, checks: dict[str, int]) -> str:
    """The chapter number 'NN' from the file name (…NN_name.ipynb), else from the check cells present."""
    match = re.search(r"(?:^|[^0-9])(\d\d)_[A-Za-z]", path.name)
    if match:
        return match.group(1)
    chapters = {qid.split(".")[0] for qid in checks}
    if len(chapters) == 1:
        return chapters.pop()
    raise ValueError(f"cannot tell the chapter of {path.name}: name it like 02_weight_decay.ipynb")


def question_seed(seed: int, qid: str) -> int:
    """The seed of one question's inputs, derived from the grading run's seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{qid}".encode()).digest()[:8], "big") >> 1


@lru_cache(maxsize=8)
def registered_questions(folder: Path | None) -> dict[str, Question]:
    """The questions graded: the built-in ones, or only those of an instructor's private folder."""
    return load_questions() if folder is None else load_question_dir(folder)


def read_submission(path: Path) -> bytes:
    """The bytes of a submitted file, refusing links, pipes and anything over MAX_NOTEBOOK bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_NOTEBOOK:
            raise ValueError(f"larger than {MAX_NOTEBOOK // 2**20} MB")
        return f.read(MAX_NOTEBOOK)


def code_cells(text: bytes) -> list[str | None]:
    """The source of each cell of a notebook file (None for cells that are not code); a ValueError if it is not one."""
    try:
        notebook = nbformat.reads(text.decode("utf-8"), as_version=4)
        return [cell.source if cell.cell_type == "code" else None for cell in notebook.cells]
    except Exception as err:  # invalid UTF-8 or JSON, a notebook without cells, any other shape
        raise ValueError(f"not a readable notebook ({type(err).__name__}: {str(err).strip()[:200]})") from None


def run_cells(session: KernelSession, sources: list[str | None], timeout: float) -> int | None:
    """Run the code cells one by one, past errors, within `timeout` seconds; return the cell index that hit the limit.

    The time the grader spends restarting a dead kernel and replaying its finished cells is not counted.
    """
    deadline = time.monotonic() + timeout
    for index, source in enumerate(sources):
        if source is None or not source.strip() or check_call(source):
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return index
        run = session.run_cell(source, remaining)
        if run.status == "timeout":
            session.recover(timeout)
            return index
        if run.status == "dead":
            recovering = time.monotonic()
            session.recover(timeout)
            deadline += time.monotonic() - recovering
    return None


def grade_question(session: KernelSession, question: Question, seed: int) -> Verdict:
    """Run the grader's check of `question` on the answer the notebook defined."""
    try:
        answer = session.lookup(question.answer)
    except NameError:
        return Verdict(question.qid, 0, question.points,
                       f"`{question.answer}` is not defined: did the cell defining it run without errors?")
    if not isinstance(answer, RemoteObject):
        answer = None  # a plain value (a number, a tensor) is not the function or class asked for
    return run_check(question, answer, question_seed(seed, question.qid))


def why_no_credit(question: Question, checks: dict[str, tuple[int, str]], stopped_at: int | None,
                  timeout: float) -> str | None:
    """Why `question` earns nothing whatever its answer (edited check cell, time limit), or None."""
    index, name = checks.get(question.qid, (None, None))
    if index is None or name != question.answer:
        return f"the check cell `check({question.qid!r}, {question.answer})` was edited or deleted"
    if stopped_at is not None and index > stopped_at:
        return f"not reached: the notebook ran past its {timeout:g} s limit in cell {stopped_at + 1}"
    return None


def check_questions(path: Path, sources: list[str | None], questions: list[Question], options: GradingOptions,
                    seed: int) -> tuple[dict[str, Verdict], int | None]:
    """Run the notebook in a fresh sandboxed kernel and check each question; the verdicts and where time ran out."""
    checks = {call[0]: (index, call[1]) for index, source in enumerate(sources)
              if source is not None and (call := check_call(source)) is not None}
    verdicts = {}
    with KernelSession(options.call_timeout, options.sandbox, options.limits, path) as session:
        stopped_at = run_cells(session, sources, options.timeout)
        # In notebook order, so a kernel that dies while checking costs only the questions after it.
        for question in sorted(questions, key=lambda q: checks.get(q.qid, (len(sources), ""))[0]):
            reason = why_no_credit(question, checks, stopped_at, options.timeout)
            try:
                verdicts[question.qid] = (Verdict(question.qid, 0, question.points, reason) if reason
                                          else grade_question(session, question, seed))
            except KernelUnavailable as err:
                verdicts[question.qid] = Verdict(question.qid, 0, question.points, f"not graded: {err}")
    return verdicts, stopped_at


def grade_notebook(path: Path, options: GradingOptions = GradingOptions(), text: bytes | None = None) -> NotebookGrade:
    """Grade one notebook (its file, or `text` already read from it); never raises: a failure is its grade's reason."""
    started, seed = time.monotonic(), secrets.randbits(63) if options.seed is None else options.seed
    grade = NotebookGrade(str(path), options.chapter or "", [], seed, 0.0)
    try:
        sources = code_cells(read_submission(path) if text is None else text)
        checks = {call[0]: index for index, s in enumerate(sources) if s is not None and (call := check_call(s))}
        grade.chapter = options.chapter or chapter_of(Path(path), checks)
        questions = [q for qid, q in registered_questions(options.questions).items()
                     if qid.startswith(f"{grade.chapter}.")]
        if not questions:
            raise ValueError(f"no questions are registered for chapter {grade.chapter}")
        grade.verdicts = [Verdict(q.qid, 0, q.points, "not graded") for q in questions]
        verdicts, stopped_at = check_questions(Path(path), sources, questions, options, seed)
        grade.verdicts = [verdicts[q.qid] for q in questions]
        grade.stopped = f"time limit reached in cell {stopped_at + 1}" if stopped_at is not None else ""
    except Exception as err:  # anything this notebook causes costs this notebook only
        grade.failed = f"not graded: {err}" if isinstance(err, (ValueError, OSError, KernelUnavailable)) \
            else f"not graded: the grader failed ({type(err).__name__}: {err})"
        grade.verdicts = [Verdict(v.qid, 0, v.points, grade.failed) for v in grade.verdicts]
    grade.seconds = time.monotonic() - started
    return grade


def format_grade(grade: NotebookGrade) -> str:
    """A per-question table of points and reasons for one notebook."""
    width = max([len("question")] + [len(v.qid) for v in grade.verdicts])
    note = grade.failed or grade.stopped
    lines = [f"{grade.path}: {grade.earned}/{grade.points} points" + (f" ({note})" if note else "")]
    if grade.verdicts:
        lines.append(f"  {'question':<{width}}  points  reason")
        lines += [f"  {v.qid:<{width}}  {f'{v.earned}/{v.points}':>6}  {v.reason}" for v in grade.verdicts]
    return "\n".join(lines)
