"""Gradescope: python -m d2lutil autograder CHAPTER --out autograder.zip builds the autograder of one chapter.

The zip holds d2lutil's source, the instructor's private questions if given, and Gradescope's two
scripts: setup.sh (run once when Gradescope builds the image: installs bubblewrap and d2lutil into
a virtual environment) and run_autograder (run for each submission: grades the submitted notebook,
in the sandbox, into /autograder/results/results.json, or writes there why it could not).
"""
from __future__ import annotations

import argparse
import re
import zipfile
from pathlib import Path

from .generate import ROOT
from .grader import DEFAULT_TIMEOUT, registered_questions
from .sandbox import check_private, package_dir

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root on Ubuntu, to build the autograder's image.
set -euo pipefail
apt-get update -q
apt-get install -y -q --no-install-recommends bubblewrap python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu \\
    /autograder/source "ipykernel>=6.25" "nbformat>=5.9"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade the submitted chapter {chapter} notebook into results.json.
set -uo pipefail
AUTOGRADER=${{AUTOGRADER:-/autograder}}
PYTHON=${{PYTHON:-$AUTOGRADER/venv/bin/python}}
shopt -s nullglob globstar
notebooks=("$AUTOGRADER"/submission/**/{chapter}_*.ipynb)
((${{#notebooks[@]}})) || notebooks=("$AUTOGRADER"/submission/**/*.ipynb)
mkdir -p "$AUTOGRADER/results"
if ((${{#notebooks[@]}} == 0)); then
    echo '{{"score": 0, "output": "No notebook (.ipynb) was submitted."}}' > "$AUTOGRADER/results/results.json"
    exit 0
fi
cd "$AUTOGRADER/source"
"$PYTHON" -m d2lutil grade "${{notebooks[0]}}" --chapter {chapter} --timeout {timeout:g} --no-progress \\
    --gradescope "$AUTOGRADER/results"{questions} 2> "$AUTOGRADER/results/errors.txt"
status=$?
cat "$AUTOGRADER/results/errors.txt" >&2
if [[ ! -f "$AUTOGRADER/results/results.json" ]]; then  # the grader refused (e.g. no sandbox here): say why
    "$PYTHON" -c 'import json, sys; print(json.dumps({{"score": 0, "output": "Not graded: " + sys.stdin.read()[-2000:]}}))' \\
        < "$AUTOGRADER/results/errors.txt" > "$AUTOGRADER/results/results.json"
fi
exit $status
"""


def source_files() -> list[tuple[Path, str]]:
    """d2lutil's source files and what pip needs to install it, with their names inside the zip."""
    package = package_dir()
    files = [(path, str(path.relative_to(package.parent))) for path in sorted(package.rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts]
    return files + [(ROOT / name, name) for name in ("pyproject.toml", "README.md", "LICENSE") if (ROOT / name).exists()]


def build_autograder(chapter: str, out: Path, questions: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Write Gradescope's autograder zip for `chapter` to `out`; return the names it holds."""
    if not re.fullmatch(r"\d\d", chapter):
        raise ValueError(f"chapter {chapter!r} is not allowed; it must be two digits such as 03")
    if questions is not None:
        check_private(questions)
    registry = registered_questions(questions.resolve() if questions else None)
    if not any(qid.startswith(f"{chapter}.") for qid in registry):
        raise ValueError(f"no questions are registered for chapter {chapter}; "
                         f"chapters with questions: {', '.join(sorted({q.split('.')[0] for q in registry}))}")
    if out.exists():
        raise ValueError(f"{out} already exists; choose another --out or move it away")
    out.parent.mkdir(parents=True, exist_ok=True)
    private = [(p, f"questions/{p.name}") for p in sorted(questions.glob("*.py"))] if questions else []
    scripts = {"setup.sh": SETUP, "run_autograder": RUN.format(
        chapter=chapter, timeout=timeout, questions=' --questions "$AUTOGRADER/source/questions"' if questions else "")}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in scripts.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            archive.writestr(info, text)
        for path, name in source_files() + private:
            archive.write(path, name)
        return archive.namelist()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil autograder`."""
    parser.add_argument("chapter", help="the chapter (two digits, e.g. 03) whose notebook Gradescope grades")
    parser.add_argument("--out", type=Path, required=True, help="the zip file to write (upload it to Gradescope)")
    parser.add_argument("--questions", type=Path, metavar="DIR", help="the instructor's private question modules to grade with")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"time limit in seconds for running the notebook's cells (default {DEFAULT_TIMEOUT:g})")


def main(args: argparse.Namespace) -> int:
    """Build the autograder zip and say what to do with it."""
    if not 0 < args.timeout < float("inf"):
        raise ValueError(f"--timeout {args.timeout} is not allowed; it must be a number of seconds > 0")
    names = build_autograder(args.chapter, args.out, args.questions, args.timeout)
    print(f"Wrote {args.out} ({len(names)} files). In Gradescope: create a programming assignment, choose "
          "'Zip file upload' as the autograder and upload it; students submit their chapter notebook.")
    return 0
