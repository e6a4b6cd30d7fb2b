"""Exercise generation: solutions/NN_name.ipynb becomes exercises/NN_name.ipynb with the answers stubbed out.

In code cells, each region between `### BEGIN SOLUTION` and `### END SOLUTION` becomes
`raise NotImplementedError(...)` at the region's indentation, keeping a `# HINT: ...` line that
follows BEGIN. In Markdown cells the region (a model answer, a rubric) becomes a prompt for the
student's own answer. Cells that would raise because they call a stub are tagged
`raises-exception`, so nbval executes an untouched exercise top to bottom.
"""
from __future__ import annotations

import argparse
import ast
import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import python_source

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "# HINT:"
STUB = 'raise NotImplementedError("replace this line with your code")'
ANSWER_PROMPT = "*Your answer here.*"
RAISES = "raises-exception"
ROOT = Path(__file__).resolve().parents[2]
COLAB_SOLUTIONS, COLAB_EXERCISES = "/blob/main/solutions/", "/blob/main/exercises/"


@dataclass(frozen=True)
class Region:
    """One answer region of a cell: its BEGIN and END line numbers (0-based) and the hint, if any."""

    begin: int
    end: int
    hint: str | None


def find_regions(source: str) -> list[Region]:
    """The answer regions of a cell's source; a ValueError names an unbalanced BEGIN/END marker."""
    lines, regions, begin = source.splitlines(), [], None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise ValueError(f"line {number + 1}: {BEGIN!r} inside another solution region")
            begin = number
        elif marker == END:
            if begin is None:
                raise ValueError(f"line {number + 1}: {END!r} without a {BEGIN!r} before it")
            after = lines[begin + 1].strip() if begin + 1 < number else ""
            regions.append(Region(begin, number, after if after.startswith(HINT) else None))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin + 1}: {BEGIN!r} without a matching {END!r}")
    return regions


def replace_regions(source: str, replacement: str, keep_hint: bool) -> str:
    """`source` with each answer region replaced by `replacement` at the region's indentation."""
    regions = find_regions(source)
    if not regions:
        return source
    lines = source.splitlines()
    for region in reversed(regions):
        indent = re.match(r"\s*", lines[region.begin]).group(0)
        new = ([indent + region.hint] if keep_hint and region.hint else []) + [indent + replacement]
        lines[region.begin:region.end + 1] = new
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def is_check_call(statement: ast.stmt) -> bool:
    """True for a bare `check(...)` statement, which never raises."""
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name) and statement.value.func.id == "check")


def names_in(node: ast.AST, context: type) -> set[str]:
    """The names that `node` loads (context=ast.Load) or binds (ast.Store, imports included)."""
    found = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, context)}
    if context is ast.Store:
        for n in ast.walk(node):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                found |= {(alias.asname or alias.name).split(".")[0] for alias in n.names}
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(n.name)
    return found


def stubbed_definitions(tree: ast.Module, regions: list[Region]) -> tuple[set[str], bool]:
    """The top-level functions and classes holding an answer region, and whether a region lies outside them."""
    stubbed, outside = set(), False
    for region in regions:
        line = region.begin + 1
        owner = next((s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and s.lineno <= line <= s.end_lineno), None)
        if owner is None:
            outside = True
        else:
            stubbed.add(owner.name)
    return stubbed, outside


def cells_that_raise(sources: list[str]) -> list[bool]:
    """For each solution code cell, whether its stubbed version raises when run top to bottom.

    A cell raises when it holds an answer region at top level, or when its top-level code uses a
    stubbed function or class, or a name that an earlier raising cell would have defined.
    """
    tainted: set[str] = set()
    raises = []
    for source in sources:
        tree = ast.parse(python_source(source))
        stubbed, outside = stubbed_definitions(tree, find_regions(source))
        tainted |= stubbed
        run_loads: set[str] = set()
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if names_in(statement, ast.Load) & tainted:
                    tainted.add(statement.name)
            elif not is_check_call(statement):
                run_loads |= names_in(statement, ast.Load)
        cell_raises = outside or bool(run_loads & tainted)
        if cell_raises:
            tainted |= names_in(tree, ast.Store)
        raises.append(cell_raises)
    return raises


def make_exercise(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The exercise notebook generated from a solution notebook (which is left unchanged)."""
    exercise = copy.deepcopy(solution)
    code_cells = [cell for cell in exercise.cells if cell.cell_type == "code"]
    for cell, raises in zip(code_cells, cells_that_raise([cell.source for cell in code_cells])):
        cell.source = replace_regions(cell.source, STUB, keep_hint=True)
        cell.outputs, cell.execution_count = [], None
        tags = cell.metadata.get("tags", [])
        if raises and RAISES not in tags:
            cell.metadata["tags"] = [*tags, RAISES]
    for cell in exercise.cells:
        if cell.cell_type == "markdown":
            cell.source = replace_regions(cell.source, ANSWER_PROMPT, keep_hint=False)
            cell.source = cell.source.replace(COLAB_SOLUTIONS, COLAB_EXERCISES)  # the Colab badge opens the exercise
    return exercise


def exercise_text(solution_path: Path) -> str:
    """The exact file content of the exercise generated from the notebook at `solution_path`."""
    return nbformat.writes(make_exercise(nbformat.read(solution_path, as_version=4)))


def solution_notebooks(solutions_dir: Path) -> list[Path]:
    """The solution notebooks of a folder (NN_name.ipynb) in course order."""
    return sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb"))


def generate(solutions_dir: Path, exercises_dir: Path) -> list[Path]:
    """Write one exercise per solution notebook into `exercises_dir`; return the written paths."""
    solutions = solution_notebooks(solutions_dir)
    if not solutions:
        raise ValueError(f"no solution notebooks (NN_name.ipynb) in {solutions_dir}")
    exercises_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for solution in solutions:
        target = exercises_dir / solution.name
        target.write_text(exercise_text(solution), encoding="utf-8")
        written.append(target)
    return written


def stale_exercises(solutions_dir: Path, exercises_dir: Path) -> list[str]:
    """Exercise files that are missing, out of date, or have no solution; empty when all are in sync."""
    expected = {s.name: exercise_text(s) for s in solution_notebooks(solutions_dir)}
    present = {p.name for p in exercises_dir.glob("*.ipynb")}
    stale = [name for name, text in expected.items()
             if name not in present or (exercises_dir / name).read_text(encoding="utf-8") != text]
    return sorted(stale + [name for name in present - set(expected)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil exercises`."""
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="folder of solution notebooks")
    parser.add_argument("--out", type=Path, default=ROOT / "exercises", help="folder to write the exercises into")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit with status 1 if any exercise differs from what would be generated")


def main(args: argparse.Namespace) -> int:
    """Generate the exercises, or with --check report the ones out of date."""
    if args.check:
        stale = stale_exercises(args.solutions, args.out)
        for name in stale:
            print(f"out of date: {args.out / name}")
        print("exercises are up to date" if not stale else "run `python -m d2lutil exercises` to regenerate them")
        return 1 if stale else 0
    written = generate(args.solutions, args.out)
    print(f"Wrote {len(written)} exercise notebook(s) into {args.out}")
    return 0
