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
    output = out_dir / notebook.name
    params = {"results_dir": str(out_dir / "results"), "figures_dir": str(out_dir / "figures"),
              "progress": False, **(parameters or {})}
    papermill.execute_notebook(str(notebook), str(output), parameters=params, cwd=str(notebook.parent),
                               progress_bar=False, kernel_name="python3", execution_timeout=timeout)
    return output


def run_all(notebooks: Sequence[Path], out_dir: Path, parameters: dict[str, Any] | None = None,
            progress: bool = True) -> list[Path]:
    """Execute every notebook in order with a progress bar; return the executed notebooks' paths."""
    outputs = []
    for notebook in tqdm(notebooks, desc="chapters", unit="notebook", disable=not progress):
        outputs.append(run_notebook(notebook, out_dir, parameters))
    return outputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil run`."""
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: every chapter)")
    parser.add_argument("--out", type=Path, default=Path("build"), help="folder for executed notebooks, results, figures")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter (VALUE is read as YAML: 3, 0.5, true, cifar10)")
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
        outputs = run_all(notebooks, args.out, parameters, progress=not args.no_progress)
    except PapermillExecutionError as err:
        if err.ename == "ValueError":  # a rejected parameter: say which, without the traceback
            raise ValueError(err.evalue) from err
        raise
    out = args.out.resolve()
    print(f"Executed {len(outputs)} notebook(s) into {out}\n  results (JSON): {out / 'results'}\n"
          f"  figures (PNG):  {out / 'figures'}")
    return 0
