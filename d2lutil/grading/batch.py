"""Grading a class: python -m d2lutil grade PATH... [--workers N | --scheduler ADDRESS] [--json/--csv/--gradescope].

Every notebook is read here, then graded in a worker process of its own (N at a time on this
machine, or as tasks on a Dask cluster), each with its own sandboxed kernel and time limits. A
worker that crashes or runs past its hard limit is killed and costs its notebook only; every
failure is reported in that notebook's row and the batch goes on (the exit status is 1 when some
notebook could not be graded). The gradebook files are written by this process at the end, after
every worker and kernel is gone; their folders are made before grading starts.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from tqdm.auto import tqdm

from .gradebook import csv_text, gradescope_text, json_text, prepare_output, write_file
from .grader import (DEFAULT_CALL_TIMEOUT, DEFAULT_TIMEOUT, GradingOptions, NotebookGrade, format_grade,
                     grade_notebook, read_submission, registered_questions)
from .remote import STARTUP_TIMEOUT
from .sandbox import Limits, SandboxUnavailable, check_private, check_works

def find_notebooks(paths: Sequence[Path]) -> list[Path]:
    """The notebooks named, and those inside the folders named (recursively, skipping checkpoints)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path)
        else:
            raise ValueError(f"{str(path)!r} is not a notebook (.ipynb) or a folder of notebooks")
    if not found:
        raise ValueError(f"no notebooks found in {', '.join(map(str, paths))}")
    return found


def hard_limit(options: GradingOptions) -> float:
    """Seconds after which a notebook's worker is killed, whatever it is doing (kernel starts, cells, checks)."""
    return 3 * STARTUP_TIMEOUT + 2 * options.timeout + 20 * options.call_timeout


def failed_grade(path: Path, options: GradingOptions, reason: str) -> NotebookGrade:
    """The row of a notebook that could not be graded."""
    return NotebookGrade(str(path), options.chapter or "", [], options.seed or 0, 0.0, failed=f"not graded: {reason}")


def exit_with_grader(sender: Connection) -> None:
    """End this worker (and so its sandbox) if the grader dies, which closes its end of the pipe.

    The worker is interrupted first, so that it shuts its kernel down and removes its temporary
    folder, and ended outright if it has not finished within a few seconds.
    """
    poller = select.poll()
    poller.register(sender.fileno(), select.POLLERR)

    def watch() -> None:
        poller.poll()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(10)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def child(path: Path, text: bytes, options: GradingOptions, sender: Connection) -> None:
    """Body of a local worker process: grade one notebook from its bytes and send the grade back."""
    exit_with_grader(sender)
    sender.send(grade_notebook(path, options, text))


def grade_locally(jobs: list[tuple[Path, bytes]], options: GradingOptions, workers: int) -> Iterator[tuple[int, NotebookGrade]]:
    """Grade each job in a fresh process of its own, `workers` at a time; yield (job index, grade) as they finish."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["d2lutil.grading.grader"])
    pending, running = list(enumerate(jobs)), {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                index, (path, text) = pending.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=child, args=(path, text, options, sender), daemon=True)
                process.start()
                sender.close()
                running[receiver] = (index, path, process, time.monotonic() + hard_limit(options))
            for receiver in wait(list(running), timeout=1.0):
                index, path, process, _ = running.pop(receiver)
                try:
                    grade = receiver.recv()
                except (EOFError, OSError):
                    grade = None
                process.join(30)  # before closing the pipe, which would tell the worker that the grader died
                if process.is_alive():
                    process.kill()
                    process.join()
                receiver.close()
                yield index, grade or failed_grade(path, options, f"its grading process ended (exit code {process.exitcode})")
            for receiver, (index, path, process, deadline) in list(running.items()):
                if time.monotonic() > deadline:
                    process.kill()
                    process.join()
                    del running[receiver]
                    yield index, failed_grade(path, options, f"grading took longer than {hard_limit(options):g} s")
    finally:
        for _, _, process, _ in running.values():
            process.kill()
            process.join()


def grade_on_dask(jobs: list[tuple[Path, bytes]], options: GradingOptions, scheduler: str) -> Iterator[tuple[int, NotebookGrade]]:
    """Grade each job as a task on the Dask cluster at `scheduler` (its workers need d2lutil and bubblewrap)."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(scheduler) as client:
        futures = {client.submit(grade_notebook, path, options, text, pure=False): (index, path)
                   for index, (path, text) in enumerate(jobs)}
        for future in dask_completed(futures):
            index, path = futures[future]
            try:
                yield index, future.result()
            except Exception as err:  # a lost worker or a task that failed there costs this notebook only
                yield index, failed_grade(path, options, f"its Dask task failed ({type(err).__name__}: {err})")


def grade_all(notebooks: Sequence[Path], options: GradingOptions = GradingOptions(), workers: int = 1,
              scheduler: str | None = None, progress: bool = True) -> list[NotebookGrade]:
    """Grade every notebook in workers of its own (or on a Dask cluster); the grades in the notebooks' order."""
    grades: dict[int, NotebookGrade] = {}
    jobs: list[tuple[Path, bytes]] = []
    positions = []
    for position, path in enumerate(notebooks):
        try:
            jobs.append((path, read_submission(path)))
            positions.append(position)
        except (OSError, ValueError) as err:
            grades[position] = failed_grade(path, options, f"cannot read the file ({getattr(err, 'strerror', None) or err})")
    running = grade_on_dask(jobs, options, scheduler) if scheduler else grade_locally(jobs, options, workers)
    with tqdm(total=len(notebooks), initial=len(grades), desc="grading", unit="notebook",
              disable=not progress or len(notebooks) < 2) as bar:
        for index, grade in running:
            grades[positions[index]] = grade
            bar.update()
    return [grades[position] for position in range(len(notebooks))]


def positive_seconds(text: str) -> float:
    """A time limit in seconds (> 0), for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; it must be a number of seconds > 0")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1, for argparse."""
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; it must be a whole number >= 1")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python -m d2lutil grade`."""
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders of submissions, to grade")
    parser.add_argument("--json", type=Path, help="write the gradebook as JSON to this file")
    parser.add_argument("--csv", type=Path, help="write the gradebook as CSV to this file")
    parser.add_argument("--gradescope", type=Path, metavar="DIR",
                        help="write Gradescope's results.json for the (one) notebook into this folder")
    parser.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT,
                        help=f"time limit in seconds for running a notebook's cells (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--call-timeout", type=positive_seconds, default=DEFAULT_CALL_TIMEOUT,
                        help=f"time limit in seconds for each call the checks make to an answer (default {DEFAULT_CALL_TIMEOUT:g})")
    parser.add_argument("--seed", type=int, help="seed of the inputs the checks draw (default: a fresh random one)")
    parser.add_argument("--workers", type=positive_int, default=1, help="notebooks graded at once (default 1)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to grade on instead")
    parser.add_argument("--questions", type=Path, metavar="DIR",
                        help="grade with the question modules of this private folder instead of the built-in ones")
    parser.add_argument("--chapter", help="grade every notebook as this chapter (NN) whatever its file name")
    parser.add_argument("--memory", type=positive_int, default=Limits.memory // 2**30,
                        help=f"GiB of memory each sandboxed kernel may use (default {Limits.memory // 2**30})")
    parser.add_argument("--max-processes", type=positive_int, default=Limits.processes,
                        help=f"processes and threads each sandboxed kernel may run (default {Limits.processes})")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without bubblewrap's sandbox: only for grading your own notebook")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def options_from(args: argparse.Namespace) -> GradingOptions:
    """The grading options of the command line; a ValueError for a bad chapter or questions folder."""
    if args.chapter is not None and not re.fullmatch(r"\d\d", args.chapter):
        raise ValueError(f"--chapter {args.chapter!r} is not allowed; it must be two digits such as 03")
    questions = None
    if args.questions is not None:
        if not args.questions.is_dir():
            raise ValueError(f"--questions {args.questions} is not a folder")
        questions = args.questions.resolve()
        check_private(questions)
        registered_questions(questions)  # a broken module is reported now, before any grading
    return GradingOptions(args.timeout, args.call_timeout, args.seed, not args.no_sandbox,
                          Limits(memory=args.memory * 2**30, processes=args.max_processes), questions, args.chapter)


def main(args: argparse.Namespace) -> int:
    """Grade the notebooks, print a table per notebook, and write the gradebook files asked for."""
    options = options_from(args)
    notebooks = find_notebooks(args.paths)
    if args.gradescope and len(notebooks) != 1:
        raise ValueError(f"--gradescope grades one notebook, and {len(notebooks)} were found")
    outputs = {kind: prepare_output(path) for kind, path in
               [("json", args.json), ("csv", args.csv),
                ("gradescope", args.gradescope and args.gradescope / "results.json")] if path}
    if options.sandbox:
        try:
            check_works(options.limits)
        except SandboxUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    grades = grade_all(notebooks, options, args.workers, args.scheduler, progress=not args.no_progress)
    print("\n\n".join(format_grade(g) for g in grades))
    failed = [g for g in grades if g.failed]
    print(f"\nGraded {len(grades) - len(failed)} of {len(grades)} notebooks: "
          f"{sum(g.earned for g in grades)}/{sum(g.points for g in grades)} points in all"
          + (f"; {len(failed)} could not be graded (see their rows)" if failed else ""))
    texts = {"json": lambda: json_text(grades), "csv": lambda: csv_text(grades),
             "gradescope": lambda: gradescope_text(grades[0])}
    for kind, path in outputs.items():
        archived = write_file(path, texts[kind]())
        print(f"Wrote {path}" + (f" (the earlier file is kept as {archived})" if archived else ""))
    return 1 if failed else 0
