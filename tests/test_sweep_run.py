"""Sweeps, the execution: points run in processes that end with the sweep, Ctrl-C, SIGKILL, reruns and the folder lock."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml

from d2lutil.__main__ import main as cli
from d2lutil.locks import folder_lock
from d2lutil.runner import RUN_LOCK
from d2lutil.sweep import Outcome, aggregate, load_sweep, parse_sweep, run_point, run_sweep

ROOT = Path(__file__).resolve().parent.parent
POINT = ROOT / "tests" / "fixtures" / "sweep_point.ipynb"  # no training: it computes a few numbers from its parameters
CURVE = {"t": "curve.t", "value": "curve.value"}
XS = (1.0, 2.0, 3.0)


def logged(log: Path) -> Counter:
    """How many times each (event, point) line appears in the fixture notebook's log."""
    return Counter(log.read_text().splitlines()) if log.exists() else Counter()


def marked(mark: str) -> list[int]:
    """The live processes whose environment carries this test's mark: the sweep, its points and their kernels."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and f"D2L_TEST_MARK={mark}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def running(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped, has an empty environment)."""
    try:
        return bool(Path(f"/proc/{pid}/environ").read_bytes())
    except OSError:
        return False


def wait_until(condition, seconds: float) -> bool:
    """Poll `condition` until it holds or `seconds` pass; return whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


class Sweeping:
    """The sweep command running in a session of its own, marked so that every process it starts can be found."""

    def __init__(self, tmp_path: Path, sleep: float, workers: int = 2):
        self.log, self.out, self.mark = tmp_path / "log.txt", tmp_path / "out", uuid.uuid4().hex
        self.grid = tmp_path / "grid.yaml"
        self.grid.write_text(yaml.safe_dump({"grid": {"x": list(XS)}, "fixed": {"sleep": sleep, "log_path": str(self.log)},
                                             "columns": CURVE}))
        self.command = [sys.executable, "-m", "d2lutil", "sweep", str(POINT), "--grid", str(self.grid),
                        "--out", str(self.out), "--workers", str(workers), "--no-progress"]
        self.env = {**os.environ, "D2L_TEST_MARK": self.mark, "PYTHONPATH": str(ROOT)}

    def start(self) -> subprocess.Popen:
        """Start the sweep; return its process."""
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, start_new_session=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self.process

    def events(self, kind: str) -> int:
        """How many points have logged `kind` ('start' or 'finish')."""
        return sum(n for line, n in logged(self.log).items() if line.startswith(kind))

    def rerun(self) -> subprocess.CompletedProcess:
        """Run the same command again to the end."""
        return subprocess.run(self.command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600)

    def assert_complete(self) -> None:
        """Every point finished exactly once and the CSV has every row."""
        finished = logged(self.log)
        assert all(finished[f"finish x={x} model=a seed=0"] == 1 for x in XS), finished
        rows = (self.out / "sweep.csv").read_text().splitlines()
        assert rows[0] == "x,t,value" and len(rows) == 1 + 3 * len(XS)
        assert [json.loads((self.out / f"x={x}.json").read_text())["square"] for x in XS] == [x * x for x in XS]
        assert not (self.out / ".work").exists()


def test_a_point_whose_results_exist_is_skipped_without_running(tmp_path):
    (tmp_path / "x=1.0.json").write_text("{}")
    assert run_point(POINT.with_name("missing.ipynb"), tmp_path, "x=1.0", {"x": 1.0}) == Outcome("x=1.0", "skipped")


def test_local_sweep_reports_failing_points_and_a_rerun_retries_only_them(tmp_path):
    log, out = tmp_path / "log.txt", tmp_path / "out"
    sweep = parse_sweep({"grid": {"x": [1.0, -3.0], "fail": [False, True]}, "fixed": {"log_path": str(log)},
                         "columns": {"square": "square"}})
    outcomes = run_sweep(POINT, sweep, out, workers=2, progress=False)
    assert [(o.point, o.status) for o in outcomes] == [("x=1.0_fail=False", "ran"), ("x=1.0_fail=True", "failed"),
                                                       ("x=-3.0_fail=False", "ran"), ("x=-3.0_fail=True", "failed")]
    assert all(o.error == "ValueError: fail=True: this point fails on purpose" for o in outcomes if o.status == "failed")
    assert (out / "x=-3.0_fail=True.error.txt").read_text().startswith("ValueError: fail=True")
    assert (out / "x=-3.0_fail=True.ipynb").exists() and not (out / "x=-3.0_fail=True.json").exists()
    assert json.loads((out / "x=-3.0_fail=False.json").read_text())["square"] == 9.0
    assert not (out / ".work").exists()
    assert aggregate(sweep, out) == [{"x": 1.0, "fail": False, "square": 1.0}, {"x": -3.0, "fail": False, "square": 9.0}]

    again = run_sweep(POINT, sweep, out, workers=1, progress=False)
    assert [o.status for o in again] == ["skipped", "failed", "skipped", "failed"]
    assert logged(log) == Counter({"start x=1.0 model=a seed=0": 3, "finish x=1.0 model=a seed=0": 1,
                                   "start x=-3.0 model=a seed=0": 3, "finish x=-3.0 model=a seed=0": 1})
    assert len(list(out.glob("x=1.0_fail=True*.ipynb"))) == 2, "the first failed notebook is kept beside the second"


def test_ctrl_c_stops_the_sweep_within_seconds_and_a_rerun_finishes_every_point_once(tmp_path):
    sweeping = Sweeping(tmp_path, sleep=60)
    process = sweeping.start()
    assert wait_until(lambda: sweeping.events("start") == 2, 120), "two points should have started"
    interrupted = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    output, _ = process.communicate(timeout=60)
    assert time.monotonic() - interrupted < 15, "the sweep should end within seconds of Ctrl-C"
    assert process.returncode == 130, output
    assert "stopping: no new point starts" in output and "To finish the sweep, run again" in output
    assert "0 ran" in output and "2 stopped, 1 not started" in output
    assert wait_until(lambda: not marked(sweeping.mark), 5), f"processes outlived the sweep: {marked(sweeping.mark)}"
    assert sweeping.events("start") == 2 and sweeping.events("finish") == 0, "no point may start after Ctrl-C"

    sweeping.grid.write_text(sweeping.grid.read_text().replace("sleep: 60", "sleep: 0.0"))
    rerun = sweeping.rerun()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    sweeping.assert_complete()
    assert not marked(sweeping.mark)


def test_a_second_ctrl_c_ends_the_sweep_at_once(tmp_path):
    sweeping = Sweeping(tmp_path, sleep=60)
    process = sweeping.start()
    assert wait_until(lambda: sweeping.events("start") == 2, 120)
    os.killpg(process.pid, signal.SIGINT)
    time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    # The second Ctrl-C ends the stop at once; if the first had already ended it, the report is still whole.
    ended = "sweep ended at once" in output or "interrupted: 2 stopped, 1 not started" in output
    assert process.returncode == 130 and ended and "run again" in output, output
    assert wait_until(lambda: not marked(sweeping.mark), 5), f"processes outlived the sweep: {marked(sweeping.mark)}"


def test_a_sigkilled_sweep_leaves_no_process_and_a_rerun_finishes_every_point_once(tmp_path):
    sweeping = Sweeping(tmp_path, sleep=2)
    process = sweeping.start()
    assert wait_until(lambda: sweeping.events("finish") >= 1 and sweeping.events("start") >= 3, 300)
    sweeping.grid.write_text(sweeping.grid.read_text().replace("sleep: 2", "sleep: 0.0"))
    process.kill()  # SIGKILL to the sweep command alone: its points and kernels must notice by themselves
    process.communicate()
    assert wait_until(lambda: not marked(sweeping.mark), 3), f"processes outlived the sweep: {marked(sweeping.mark)}"
    finished = sweeping.events("finish")
    time.sleep(2)  # a point that outlived the sweep would finish its 2 s sleep now
    assert sweeping.events("finish") == finished

    rerun = sweeping.rerun()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{finished} skipped" in rerun.stdout
    sweeping.assert_complete()
    assert not marked(sweeping.mark)


def test_a_sweep_into_a_folder_in_use_is_refused_naming_the_holder(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"grid": {"x": [1.0]}}))
    with folder_lock(tmp_path / "out", RUN_LOCK, wait=False):
        assert cli(["sweep", str(POINT), "--grid", str(grid), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    message = capsys.readouterr().err
    assert f"is in use by pid {os.getpid()} on {os.uname().nodename} since" in message
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from d2lutil.locks import folder_lock; "
                               f"folder_lock({str(tmp_path / 'out')!r}, {RUN_LOCK!r}, wait=False).__enter__(); "
                               "print('held', flush=True); time.sleep(600)"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert holder.stdout.readline() == "held\n"
    holder.kill()  # the holder dies without releasing anything: the lock is taken over
    holder.wait()
    assert [o.status for o in run_sweep(POINT, load_sweep(grid), tmp_path / "out", progress=False)] == ["ran"]


def test_a_sweep_refuses_an_unwritable_folder_and_a_tracked_notebook_before_running(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"grid": {"x": [1.0]}}))
    (tmp_path / "file").write_text("")
    assert cli(["sweep", str(POINT), "--grid", str(grid), "--out", str(tmp_path / "file" / "out")]) == 2
    assert "cannot write into" in capsys.readouterr().err
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "x=1.0.ipynb").write_text("{}")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "x=1.0.ipynb"], cwd=repo, check=True)
    assert cli(["sweep", str(POINT), "--grid", str(grid), "--out", str(repo)]) == 2
    assert "x=1.0.ipynb is tracked by git" in capsys.readouterr().err
    assert (repo / "x=1.0.ipynb").read_text() == "{}"


def test_sweep_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    log, out = tmp_path / "log.txt", tmp_path / "out"
    sweep = parse_sweep({"grid": {"model": ["a", "b"], "seed": [0, 1]}, "fixed": {"x": 2.0, "log_path": str(log)},
                         "columns": CURVE, "plots": [{"x": "t", "y": "value", "lines": "model"}]})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        outcomes = run_sweep(POINT, sweep, out, scheduler=cluster.scheduler_address, progress=False)
    assert [o.status for o in outcomes] == ["ran"] * 4
    assert sum(logged(log).values()) == 8
    rows = aggregate(sweep, out)
    assert len(rows) == 12 and {row["value"] for row in rows if row["t"] == 2} == {4.0, 5.0}


def test_a_process_that_asked_to_die_with_its_parent_dies_when_the_parent_is_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    child = tmp_path / "child.py"
    child.write_text("import os, sys, time\nfrom d2lutil.processes import die_with_parent\n"
                     f"die_with_parent(os.getppid())\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               f"subprocess.Popen([sys.executable, {str(child)!r}])\ntime.sleep(600)"],
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text(), 120)
    pid = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    assert wait_until(lambda: not running(pid), 2), "the child outlived its parent"
