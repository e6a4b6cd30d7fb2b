"""The grader: python -m d2lutil grade PATH... [--json FILE] [--csv FILE] [--timeout S].

Each notebook runs in a fresh kernel, cell by cell, past errors, under one time limit (its
check cells are skipped: the grader runs its own checks instead). Then, for every question of
the notebook's chapter, the grader's check (imported here, in the grader's process) runs
against a proxy of the answer the notebook defined, on inputs drawn now. A question earns
nothing when its check cell was edited or deleted, when the notebook tampered with `check`
or d2lutil before it, or when the time limit stopped the notebook before its check cell.
The submitted file is only read, never written.
"""
from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from .check import Verdict, run_check
from .generate import python_source
from .registry import Question, load_questions
from .remote import KernelSession, KernelUnavailable, RemoteObject
from .tampering import Tampering, find_tampering

DEFAULT_TIMEOUT = 600.0
DEFAULT_CALL_TIMEOUT = 30.0


@dataclass
class NotebookGrade:
    """One graded notebook: a verdict per question, the seed its inputs came from, and how its run ended."""

    path: str
    chapter: str
    verdicts: list[Verdict]
    seed: int
    seconds: float
    stopped: str = ""
    tampering: list[str] = field(default_factory=list)

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
                "tampering": self.tampering, "questions": [asdict(v) for v in self.verdicts]}


def check_call(source: str) -> tuple[str, str] | None:
    """(question id, answer name) if the cell is exactly `check("<id>", <name>)`, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "check"
            and len(call.args) == 2 and not call.keywords and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str) and isinstance(call.args[1], ast.Name)):
        return call.args[0].value, call.args[1].id
    return None


def chapter_of(path: Path, checks: dict[str, int]) -> str:
    """The chapter number 'NN' from the file name (…NN_name.ipynb), else from the check cells present."""
    match = re.search(r"(?:^|[^0-9])(\d\d)_[A-Za-z]", path.name)
    if match:
        return match.group(1)
    chapters = {qid.split(".")[0] for qid in checks}
    if len(chapters) == 1:
        return chapters.pop()
    raise ValueError(f"cannot tell the chapter of {path}: name it like 02_weight_decay.ipynb")


def question_seed(seed: int, qid: str) -> int:
    """The seed of one question's inputs, derived from the grading run's seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{qid}".encode()).digest()[:8], "big") >> 1


def run_cells(session: KernelSession, sources: list[str | None], timeout: float) -> int | None:
    """Run the code cells one by one, past errors, within `timeout` seconds; return the cell index that hit the limit."""
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
            session.recover(timeout)
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


def why_no_credit(question: Question, checks: dict[str, tuple[int, str]], findings: list[Tampering],
                  stopped_at: int | None, timeout: float) -> str | None:
    """Why `question` earns nothing whatever its answer (edited check cell, tampering, time limit), or None."""
    index, name = checks.get(question.qid, (None, None))
    if index is None or name != question.answer:
        return f"the check cell `check({question.qid!r}, {question.answer})` was edited or deleted"
    tampering = next((t for t in findings if t.cell <= index), None)
    if tampering is not None:
        return f"the notebook {tampering.what} in cell {tampering.cell + 1}, before this question's check"
    if stopped_at is not None and index > stopped_at:
        return f"not reached: the notebook ran past its {timeout:g} s limit in cell {stopped_at + 1}"
    return None


def grade_notebook(path: Path, timeout: float = DEFAULT_TIMEOUT, seed: int | None = None,
                   call_timeout: float = DEFAULT_CALL_TIMEOUT) -> NotebookGrade:
    """Grade one notebook: run it in a fresh kernel, then check every question of its chapter."""
    started, seed = time.monotonic(), secrets.randbits(63) if seed is None else seed
    notebook = nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)
    sources = [cell.source if cell.cell_type == "code" else None for cell in notebook.cells]
    checks = {call[0]: (index, call[1]) for index, source in enumerate(sources)
              if source is not None and (call := check_call(source)) is not None}
    chapter = chapter_of(Path(path), {qid: index for qid, (index, _) in checks.items()})
    questions = [q for qid, q in load_questions().items() if qid.startswith(f"{chapter}.")]
    if not questions:
        raise ValueError(f"no questions are registered for chapter {chapter} ({path})")
    findings = find_tampering(sources)
    verdicts = {}
    with tempfile.TemporaryDirectory(prefix="d2lutil-grade-") as cwd, \
            KernelSession(Path(cwd), call_timeout) as session:
        stopped_at = run_cells(session, sources, timeout)
        # In notebook order, so a kernel that dies while checking costs only the questions after it.
        for question in sorted(questions, key=lambda q: checks.get(q.qid, (len(sources), ""))[0]):
            reason = why_no_credit(question, checks, findings, stopped_at, timeout)
            try:
                verdicts[question.qid] = (Verdict(question.qid, 0, question.points, reason) if reason
                                          else grade_question(session, question, seed))
            except KernelUnavailable as err:
                verdicts[question.qid] = Verdict(question.qid, 0, question.points, f"not graded: {err}")
    return NotebookGrade(str(path), chapter, [verdicts[q.qid] for q in questions], seed, time.monotonic() - started,
                         f"time limit reached in cell {stopped_at + 1}" if stopped_at is not None else "",
                         [f"cell {t.cell + 1}, line {t.line}: {t.what}" for t in findings])


def find_notebooks(paths: Sequence[Path]) -> list[Path]:
    """The notebooks named, and those inside the folders named (recursively, skipping checkpoints)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise ValueError(f"{str(path)!r} is not a notebook (.ipynb) or a folder of notebooks")
    if not found:
        raise ValueError(f"no notebooks found in {', '.join(map(str, paths))}")
    return found


def format_grade(grade: NotebookGrade) -> str:
    """A per-question table of points and reasons for one notebook."""
    width = max([len("question")] + [len(v.qid) for v in grade.verdicts])
    lines = [f"{grade.path}: {grade.earned}/{grade.points} points" + (f" ({grade.stopped})" if grade.stopped else ""),
             f"  {'question':<{width}}  points  reason"]
    lines += [f"  {v.qid:<{width}}  {f'{v.earned}/{v.points}':>6}  {v.reason}" for v in grade.verdicts]
    return "\n".join(lines)


def write_json(grades: Sequence[NotebookGrade], path: Path) -> None:
    """Write the gradebook as JSON: one entry per notebook with its questions."""
    path.write_text(json.dumps([g.as_dict() for g in grades], indent=2) + "\n", encoding="utf-8")


def write_csv(grades: Sequence[NotebookGrade], path: Path) -> None:
    """Write the gradebook as CSV: one row per notebook and question."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "chapter", "question", "earned", "points", "reason"])
        for grade in grades:
            writer.writerows([grade.path, grade.chapter, v.qid, v.earned, v.points, v.reason] for v in grade.verdicts)


def grade_paths(paths: Sequence[Path], timeout: float = DEFAULT_TIMEOUT, seed: int | None = None,
                call_timeout: float = DEFAULT_CALL_TIMEOUT, progress: bool = True) -> list[NotebookGrade]:
    """Grade every notebook found in `paths`, one fresh kernel each."""
    notebooks = find_notebooks(paths)
    return [grade_notebook(nb, timeout, seed, call_timeout)
            for nb in tqdm(notebooks, desc="grading", unit="notebook", disable=not progress or len(notebooks) < 2)]


def positive_seconds(text: str) -> float:
    """A time limit in seconds (> 0), for argparse."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; it must be a number of seconds > 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil grade`."""
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders of submissions, to grade")
    parser.add_argument("--json", type=Path, help="write the gradebook as JSON to this file")
    parser.add_argument("--csv", type=Path, help="write the gradebook as CSV to this file")
    parser.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT,
                        help=f"time limit per notebook in seconds (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--call-timeout", type=positive_seconds, default=DEFAULT_CALL_TIMEOUT,
                        help=f"time limit in seconds for each call the checks make to an answer (default {DEFAULT_CALL_TIMEOUT:g})")
    parser.add_argument("--seed", type=int, help="seed of the inputs the checks draw (default: a fresh random one)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(args: argparse.Namespace) -> int:
    """Grade the notebooks, print a table per notebook, and write the gradebook files asked for."""
    grades = grade_paths(args.paths, args.timeout, args.seed, args.call_timeout, progress=not args.no_progress)
    print("\n\n".join(format_grade(g) for g in grades))
    if len(grades) > 1:
        print(f"\nGraded {len(grades)} notebooks: {sum(g.earned for g in grades)}/{sum(g.points for g in grades)} points in all")
    if args.json:
        write_json(grades, args.json)
    if args.csv:
        write_csv(grades, args.csv)
    return 0
