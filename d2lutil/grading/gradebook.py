"""The gradebook files: JSON, CSV and Gradescope's results.json, written once, never over an earlier one.

Their folders are made (or refused) before any grading starts; at the end each file is written to
a temporary name beside it and renamed into place, and a file already there is first archived
under a dated name, so a rerun never loses an earlier gradebook.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from .grader import NotebookGrade


def prepare_output(path: Path) -> Path:
    """Make the folder `path` goes into; a ValueError if it cannot be made or written to."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the folder of {path}: {err.strerror}") from None
    if path.is_dir() or not os.access(path.parent, os.W_OK):
        raise ValueError(f"cannot write the gradebook file {path}")
    return path


def archive_name(path: Path) -> Path:
    """A free dated name beside `path` for the file already there, e.g. gradebook.2026-11-24T1403.json."""
    stamp = time.strftime("%Y-%m-%dT%H%M%S", time.localtime(path.stat().st_mtime))
    for number in range(1000):
        candidate = path.with_name(f"{path.stem}.{stamp}{f'.{number}' if number else ''}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise ValueError(f"too many archived copies of {path}")


def write_file(path: Path, text: str) -> Path | None:
    """Write `text` to `path` atomically; return where an earlier file there was archived, if any."""
    archived = None
    if path.exists():
        archived = archive_name(path)
        os.replace(path, archived)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return archived


def json_text(grades: Sequence[NotebookGrade]) -> str:
    """The gradebook as JSON: one entry per notebook with its questions."""
    return json.dumps([g.as_dict() for g in grades], indent=2) + "\n"


def csv_text(grades: Sequence[NotebookGrade]) -> str:
    """The gradebook as CSV: one row per notebook and question (one row for a notebook that could not be graded)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "chapter", "question", "earned", "points", "reason"])
    for grade in grades:
        if not grade.verdicts:
            writer.writerow([grade.path, grade.chapter, "", 0, 0, grade.failed])
        writer.writerows([grade.path, grade.chapter, v.qid, v.earned, v.points, v.reason] for v in grade.verdicts)
    return out.getvalue()


def gradescope_text(grade: NotebookGrade) -> str:
    """Gradescope's autograder results.json for one notebook: the total score and one test per question."""
    tests = [{"name": v.qid, "score": v.earned, "max_score": v.points, "output": v.reason,
              "status": "passed" if v.passed else "failed"} for v in grade.verdicts]
    output = grade.failed or grade.stopped or f"{grade.earned}/{grade.points} points"
    return json.dumps({"score": grade.earned, "output": output, "tests": tests,
                       "stdout_visibility": "hidden"}, indent=2) + "\n"
