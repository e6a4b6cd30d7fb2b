"""Running a sweep's points: a local pool of point processes or a Dask cluster, interruptible, one sweep per folder.

Each point runs into OUT/.work/<point>/ and its notebook and results move into OUT when it ends, so a point whose
JSON exists is finished and a sweep started again runs only what is missing. Locally every point is a process
of its own that dies with the sweep (and its notebook kernel with it), however the sweep ends. A first Ctrl-C
starts no new point and ends the running ones within seconds; a second ends the sweep at once.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import Any

from ..processes import die_with_parent
from ..results import write_atomically
from ..runner import run_notebook

WORK = ".work"  # OUT/.work/<point>/: where a point runs before its results are moved into OUT
POLL = 0.2  # seconds between looks at running points and interrupts
GRACE = 5.0  # seconds a terminated point process has to end before it is killed


@dataclass(frozen=True)
class Outcome:
    """How one point went: 'ran', 'skipped' (its results existed), 'failed' with the error, or 'stopped'."""

    point: str
    status: str
    error: str = ""


class Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM while a sweep runs: the first asks it to stop, the second ends it at once."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.stopping = False
        self.say = say
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """First signal: stop starting points and end the running ones. Second: end now."""
        if self.stopping:
            raise KeyboardInterrupt
        self.stopping = True
        self.say("stopping: no new point starts and the running ones end (press Ctrl-C again to end at once)")


def _saved_results(folder: Path, notebook: Path) -> Path:
    """The results JSON a point's notebook saved into its results folder."""
    saved = sorted(folder.glob("*.json"))
    preferred = folder / f"{notebook.stem}.json"
    if preferred in saved:
        return preferred
    if len(saved) == 1:
        return saved[0]
    raise RuntimeError(f"the notebook saved {len(saved)} JSON files into results_dir; expected {notebook.stem}.json")


def run_point(notebook: Path, out_dir: Path, point: str, parameters: dict[str, Any],
              timeout: int | None = None) -> Outcome:
    """Run one point into out_dir/<point>.ipynb and .json unless its JSON exists; never raises for the point's errors."""
    from papermill.exceptions import PapermillExecutionError

    from ..results import keep_file

    results = out_dir / f"{point}.json"
    if results.exists():
        return Outcome(point, "skipped")
    work = out_dir / WORK / point
    shutil.rmtree(work, ignore_errors=True)  # what an interrupted run of this point left behind
    error_file = out_dir / f"{point}.error.txt"
    params = {**parameters, "results_dir": str(work / "results"), "figures_dir": str(out_dir / "figures" / point)}
    try:
        try:
            run_notebook(notebook, work, params, timeout)
        finally:
            if (work / notebook.name).exists():
                keep_file(out_dir / f"{point}.ipynb", (work / notebook.name).read_bytes())
        write_atomically(results, _saved_results(work / "results", notebook).read_text())
    except Exception as err:  # a failing point is reported, the others go on
        message = (f"{err.ename}: {err.evalue}" if isinstance(err, PapermillExecutionError)
                   else f"{type(err).__name__}: {err}")
        write_atomically(error_file, message + "\n")
        return Outcome(point, "failed", message)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    error_file.unlink(missing_ok=True)
    return Outcome(point, "ran")


def gpu_assignments(workers: int, num_gpus: int) -> list[str | None]:
    """The CUDA_VISIBLE_DEVICES of each local worker slot: one GPU each, round robin; None without GPUs."""
    return [str(i % num_gpus) if num_gpus else None for i in range(workers)]


def _point_process(result: Connection, sweep: int, gpu: str | None, run: Callable[..., Outcome],
                   point: str, parameters: dict[str, Any]) -> None:
    """The body of a point's process: die with the sweep, leave Ctrl-C to it, use one GPU, run, report."""
    die_with_parent(sweep)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sweep decides what an interrupt ends
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    result.send(run(point=point, parameters=parameters))


@dataclass
class Running:
    """A point's process, the end of the pipe its outcome comes through, and its worker slot."""

    point: str
    process: Any
    result: Connection
    slot: int


def _sent(running: Running) -> Outcome | None:
    """The outcome a point's process sent before it ended, if it sent one."""
    try:
        return running.result.recv() if running.result.poll() else None
    except EOFError:  # it ended without sending
        return None


def _finished(running: Running) -> Outcome:
    """The outcome of a point whose process has ended."""
    running.process.join()
    return _sent(running) or Outcome(running.point, "failed",
                                     f"its process ended with exit code {running.process.exitcode}")


def _end(processes: list[Running], grace: float) -> None:
    """Terminate the processes, give them `grace` seconds, then kill what is left."""
    for running in processes:
        if running.process.is_alive():
            running.process.terminate()
    deadline = time.monotonic() + grace
    for running in processes:
        running.process.join(max(0.0, deadline - time.monotonic()))
        if running.process.is_alive():
            running.process.kill()
            running.process.join()


def run_local(tasks: dict[str, dict], run: Callable[..., Outcome], workers: int, interrupts: Interrupts,
              num_gpus: int = 0) -> Iterator[Outcome]:
    """Run the points in up to `workers` processes at a time (one GPU each where there are GPUs); yield outcomes."""
    context = multiprocessing.get_context("spawn")  # the sweep is each point's parent, so points die with it
    pending = list(tasks.items())
    gpus = gpu_assignments(workers, num_gpus)
    running: list[Running] = []
    try:
        while pending or running:
            free = sorted(set(range(workers)) - {r.slot for r in running})
            while pending and free and not interrupts.stopping:
                point, params = pending.pop(0)
                slot = free.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_point_process, name=f"sweep point {point}", daemon=True,
                                          args=(send, os.getpid(), gpus[slot], run, point, params))
                process.start()
                send.close()
                running.append(Running(point, process, receive, slot))
            if interrupts.stopping:
                _end(running, GRACE)
                yield from (_sent(r) or Outcome(r.point, "stopped") for r in running)
                return
            ended = wait([r.process.sentinel for r in running], timeout=POLL)
            for done in [r for r in running if r.process.sentinel in ended]:
                running.remove(done)
                yield _finished(done)
    finally:
        _end(running, 0.0)  # a second Ctrl-C or an error: nothing may outlive the sweep


def run_dask(tasks: dict[str, dict], run: Callable[..., Outcome], scheduler: str,
             interrupts: Interrupts) -> Iterator[Outcome]:
    """Run the points on an existing Dask cluster, whose workers see the notebook and out folder at the same paths.

    Where workers advertise a GPU resource (`dask worker ADDRESS --resources GPU=1`, one worker per GPU with its
    CUDA_VISIBLE_DEVICES, as dask-cuda's `dask cuda worker` starts them), each point takes one GPU. An interrupt
    cancels the points that have not started; points already running on the cluster finish there.
    """
    from distributed import Client
    from distributed import wait as dask_wait

    with Client(scheduler) as client:
        workers = client.scheduler_info()["workers"].values()
        resources = {"GPU": 1} if any("GPU" in w.get("resources", {}) for w in workers) else None
        futures = {client.submit(run, parameters=params, point=point, pure=False, resources=resources): point
                   for point, params in tasks.items()}
        try:
            while futures and not interrupts.stopping:
                try:
                    done = dask_wait(list(futures), timeout=POLL, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    continue
                for future in done:
                    yield _outcome(futures.pop(future), future)
        finally:
            client.cancel(list(futures))
        yield from (Outcome(point, "stopped") for point in futures.values())


def _outcome(point: str, future: Any) -> Outcome:
    """A finished future's outcome; a worker that died counts as a failed point."""
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001 - e.g. a worker process killed by the OS
        return Outcome(point, "failed", f"{type(err).__name__}: {err}")


def resume_hint() -> str:
    """The command that finishes an interrupted sweep: the same one again."""
    import shlex

    return f"{Path(sys.executable).name} -m d2lutil {' '.join(map(shlex.quote, sys.argv[1:]))}"
