"""Executing the chapter notebooks with papermill: the course's main job."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def chapter_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The chapter notebooks of `folder` in course order (NN_name.ipynb)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(notebook: Path, out_dir: Path, parameters: dict[str, Any] | None = None,
                 timeout: int | None = None) -> Path:
    """Execute one notebook with papermill into out_dir/<name>.ipynb; results and figures go under out_dir."""
    import papermill

    out_dir = out_dir.resolve()
    if out_dir == notebook.resolve().parent:
        raise ValueError(f"out_dir={str(out_dir)!r} is the notebooks' own folder; choose another so no source is overwritten")
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / notebook.name
    params = {"results_dir": str(out_dir / "results"), "figures_dir": str(out_dir / "figures"),
              "progress": False, **(parameters or {})}
    papermill.execute_notebook(str(notebook), str(output), parameters=params, cwd=str(notebook.parent),
                               progress_bar=False, kernel_name="python3", execution_timeout=timeout)
    return output


def profile_parameters(notebook: Path, profile: str | None) -> dict[str, Any]:
    """The parameters of `notebook` in params/<name>.<profile>.yaml ({} for the default profile, None)."""
    import yaml

    if profile is None:
        return {}
    path = notebook.parent / "params" / f"{notebook.stem}.{profile}.yaml"
    if not path.is_file():
        found = sorted(p.name for p in path.parent.glob(f"{notebook.stem}.*.yaml"))
        raise ValueError(f"profile={profile!r}: no {path}; the profiles of {notebook.name} are {found or 'none'}")
    return yaml.safe_load(path.read_text()) or {}


def run_all(notebooks: Sequence[Path], out_dir: Path, parameters: dict[str, Any] | None = None,
            progress: bool = True, profile: str | None = None) -> list[Path]:
    """Execute every notebook in order with a progress bar; return the executed notebooks' paths.

    With a `profile` (such as 'full'), each notebook first takes the values of its params/<name>.<profile>.yaml;
    `parameters` override them.
    """
    profiles = {notebook: profile_parameters(notebook, profile) for notebook in notebooks}
    outputs = []
    for notebook in tqdm(notebooks, desc="chapters", unit="notebook", disable=not progress):
        outputs.append(run_notebook(notebook, out_dir, {**profiles[notebook], **(parameters or {})}))
    return outputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil run`."""
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: every chapter)")
    parser.add_argument("--out", type=Path, default=Path("build"), help="folder for executed notebooks, results, figures")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter (VALUE is read as YAML: 3, 0.5, true, cifar10)")
    parser.add_argument("--profile", help="run each notebook with its notebooks/params/<name>.<PROFILE>.yaml, "
                                          "e.g. 'full' for the GPU-sized run (default: the quick CPU profile)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(args: argparse.Namespace) -> int:
    """Run the chapter notebooks and say where the outputs are."""
    import yaml
    from papermill.exceptions import PapermillExecutionError

    notebooks = args.notebooks or chapter_notebooks()
    missing = [str(nb) for nb in notebooks if not nb.is_file()]
    if missing:
        raise ValueError(f"no such notebook: {', '.join(missing)}; the chapters are in {NOTEBOOKS}")
    parameters = {name: yaml.safe_load(value) for name, value in args.parameter}
    try:
        outputs = run_all(notebooks, args.out, parameters, progress=not args.no_progress, profile=args.profile)
    except PapermillExecutionError as err:
        if err.ename == "ValueError":  # a rejected parameter: say which, without the traceback
            raise ValueError(err.evalue) from err
        raise
    out = args.out.resolve()
    print(f"Executed {len(outputs)} notebook(s) into {out}\n  results (JSON): {out / 'results'}\n"
          f"  figures (PNG):  {out / 'figures'}")
    return 0
