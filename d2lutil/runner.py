"""Executing the chapter notebooks with papermill: the course's main job, checked before it starts.

Before the first cell runs, every parameter is checked against the notebook's declaration, every output
folder is checked for write permission, and an output that would replace a notebook tracked by git (or the
notebook itself) is refused. An executed notebook that differs from the one already there is kept beside it,
and one run at a time writes into an output folder.
"""
from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .locks import folder_lock
from .parameters import check_names, declaration
from .results import keep_file

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
RUN_LOCK = "d2lutil-run"  # the lock of an output folder while a run or a sweep writes into it
OUTPUT_FOLDERS = ("results_dir", "figures_dir", "checkpoint_dir")  # parameters naming folders a notebook writes to


def chapter_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The chapter notebooks of `folder` in course order (NN_name.ipynb)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def read_yaml(path: Path) -> Any:
    """A YAML file's content; a syntax error names the file and the line."""
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ValueError(f"{where}: YAML syntax error: {problem}") from None


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """The values of the notebook's parameters cell (each a Python literal)."""
    import papermill

    defaults = {}
    for name, parameter in papermill.inspect_notebook(str(notebook)).items():
        try:
            defaults[name] = ast.literal_eval(parameter["default"])
        except (ValueError, SyntaxError):
            raise ValueError(f"{notebook.name}: the default of {name} ({parameter['default']}) is not a literal; "
                             "a parameters cell assigns plain values") from None
    return defaults


def check_parameter_names(notebook: Path, names: Sequence[str], defaults: Mapping[str, Any]) -> None:
    """Refuse names that are not parameters of the notebook (its declaration's, else its parameters cell's)."""
    found = declaration(notebook.stem)
    check_names(names, list(found.rules) if found else list(defaults), notebook.stem if found else notebook.name)


def check_parameters(notebook: Path, values: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> None:
    """Check names and values given to a notebook against its declaration (names only for undeclared notebooks).

    `defaults` are the values of its parameters cell (read from the notebook when not given).
    """
    defaults = notebook_defaults(notebook) if defaults is None else defaults
    check_parameter_names(notebook, list(values), defaults)
    found = declaration(notebook.stem)
    if found is not None:
        found.check({**defaults, **values}, complete=False)


def profile_parameters(notebook: Path, profile: str | None) -> dict[str, Any]:
    """The parameters of `notebook` in params/<name>.<profile>.yaml ({} for the default profile, None)."""
    if profile is None:
        return {}
    path = notebook.parent / "params" / f"{notebook.stem}.{profile}.yaml"
    if not path.is_file():
        found = sorted(p.name for p in path.parent.glob(f"{notebook.stem}.*.yaml"))
        raise ValueError(f"profile={profile!r}: no {path}; the profiles of {notebook.name} are {found or 'none'}")
    values = read_yaml(path) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path} must map parameter names to values, not {values!r}")
    return values


def is_tracked(path: Path) -> bool:
    """Whether git tracks `path` in the repository around it (False outside a repository or without git)."""
    if not path.parent.is_dir():
        return False
    try:
        found = subprocess.run(["git", "ls-files", "--error-unmatch", "--", path.name], cwd=path.parent,
                               capture_output=True, text=True)
    except OSError:
        return False
    return found.returncode == 0


def check_output(notebook: Path, output: Path) -> None:
    """Refuse an output path that is the notebook itself or a notebook git tracks."""
    if output.resolve() == notebook.resolve():
        raise ValueError(f"{output} is the notebook itself; choose another --out so it is not overwritten")
    if is_tracked(output):
        raise ValueError(f"{output} is tracked by git; running into that folder would overwrite it: choose another --out")


def output_folders(notebook: Path, out_dir: Path, parameters: Mapping[str, Any]) -> list[Path]:
    """Every folder a run writes to: out_dir and each folder parameter (relative ones start at the notebook's folder)."""
    folders = [out_dir]
    for name in OUTPUT_FOLDERS:
        value = parameters.get(name)
        if isinstance(value, str) and value and not value.startswith("drive:"):
            folders.append(notebook.parent / value)
    return folders


def check_writable(folder: Path) -> None:
    """Raise a ValueError naming `folder` unless a file can be written there (checked where it or its parent exists)."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is a file")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ValueError(f"cannot write into {folder} ({err.strerror or err}); choose a folder you can write to") from None


def prepare(notebook: Path, out_dir: Path, parameters: Mapping[str, Any]) -> None:
    """Every check a run makes before it starts: parameters, the output notebook, writable folders."""
    if not notebook.is_file():
        raise ValueError(f"no such notebook: {notebook}; the chapters are in {NOTEBOOKS}")
    check_parameters(notebook, parameters)
    check_output(notebook, out_dir / notebook.name)
    for folder in output_folders(notebook, out_dir, parameters):
        check_writable(folder)


def run_parameters(out_dir: Path, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters a run passes: results and figures under out_dir, no progress bars, then `parameters`."""
    return {"results_dir": str(out_dir / "results"), "figures_dir": str(out_dir / "figures"), "progress": False,
            **(parameters or {})}


def execute(notebook: Path, out_dir: Path, parameters: dict[str, Any], timeout: int | None = None,
            progress: str | None = None) -> Path:
    """Execute one checked notebook with papermill into out_dir/<name>.ipynb (an older, different one is kept).

    `progress` is the label of a progress bar over the notebook's cells (None: no bar).
    """
    import papermill

    from .processes import LocalKernelManager

    output = out_dir / notebook.name
    running = out_dir / f".{notebook.stem}.{os.getpid()}.running.ipynb"
    try:
        papermill.execute_notebook(str(notebook), str(running), parameters=parameters, cwd=str(notebook.parent),
                                   progress_bar={"desc": progress, "leave": True} if progress else False,
                                   kernel_name="python3", execution_timeout=timeout,
                                   kernel_manager_class=LocalKernelManager)
    finally:
        if running.exists():
            keep_file(output, running.read_bytes())
            running.unlink()
    return output


def run_notebook(notebook: Path, out_dir: Path, parameters: dict[str, Any] | None = None,
                 timeout: int | None = None) -> Path:
    """Check, then execute one notebook into out_dir/<name>.ipynb; results and figures go under out_dir."""
    out_dir = out_dir.resolve()
    params = run_parameters(out_dir, parameters)
    prepare(notebook, out_dir, params)
    with folder_lock(out_dir, RUN_LOCK, wait=False):
        return execute(notebook, out_dir, params, timeout)


def run_all(notebooks: Sequence[Path], out_dir: Path, parameters: dict[str, Any] | None = None,
            progress: bool = True, profile: str | None = None) -> list[Path]:
    """Check every notebook, then execute them in order, one progress line each; return the executed notebooks.

    With a `profile` (such as 'full'), each notebook first takes the values of its params/<name>.<profile>.yaml;
    `parameters` override them.
    """
    out_dir = out_dir.resolve()
    runs = {notebook: run_parameters(out_dir, {**profile_parameters(notebook, profile), **(parameters or {})})
            for notebook in notebooks}
    for notebook, params in runs.items():
        prepare(notebook, out_dir, params)
    with folder_lock(out_dir, RUN_LOCK, wait=False):
        return [execute(notebook, out_dir, params, progress=f"[{i}/{len(runs)}] {notebook.stem}" if progress else None)
                for i, (notebook, params) in enumerate(runs.items(), 1)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil run`."""
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: every chapter)")
    parser.add_argument("--out", type=Path, default=Path("build"), help="folder for executed notebooks, results, figures")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter (VALUE is read as YAML: 3, 0.5, true, cifar10)")
    parser.add_argument("--profile", help="run each notebook with its notebooks/params/<name>.<PROFILE>.yaml, "
                                          "e.g. 'full' for the GPU-sized run (default: the quick CPU profile)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress lines")


def command_line_parameters(pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The -p NAME VALUE pairs as a dict, each VALUE read as YAML."""
    import yaml

    values = {}
    for name, value in pairs:
        try:
            values[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ValueError(f"-p {name} {value!r}: the value is not valid YAML (quote text, e.g. '\"a:b\"')") from None
    return values


def main(args: argparse.Namespace) -> int:
    """Run the chapter notebooks and say where the outputs are."""
    from papermill.exceptions import PapermillExecutionError

    notebooks = args.notebooks or chapter_notebooks()
    try:
        outputs = run_all(notebooks, args.out, command_line_parameters(args.parameter), progress=not args.no_progress,
                          profile=args.profile)
    except PapermillExecutionError as err:
        if err.ename == "ValueError":  # a rejected parameter: say which, without the traceback
            raise ValueError(err.evalue) from err
        raise
    except KeyboardInterrupt:  # the kernel died with us; what had executed is kept in the output folder
        print(f"interrupted: the notebooks executed so far are in {args.out.resolve()}; run the same command "
              "again to execute them anew", file=sys.stderr)
        return 130
    out = args.out.resolve()
    print(f"Executed {len(outputs)} notebook(s) into {out}\n  results (JSON): {out / 'results'}\n"
          f"  figures (PNG):  {out / 'figures'}")
    return 0
