"""The grader's agent (run here, in-process) and the proxies that stand for objects in a student's kernel."""
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from d2lutil.grading.generate import ROOT
from d2lutil.grading.kernel_agent import HANDLE, Agent, to_torch
from d2lutil.grading.remote import KernelSession, RemoteCallable, RemoteError, RemoteObject, remote_exception, to_markers


class Counter:
    """A small stateful class standing in for a student's answer."""

    def __init__(self, start: int) -> None:
        self.count = start

    def step(self, by: int) -> int:
        self.count += by
        return self.count


def serve(agent: Agent, tmp_path: Path, **request) -> dict:
    """Send one request through files, as the grader does, and read the response with the safe loader."""
    torch.save(request, tmp_path / "request.pt")
    agent.serve(str(tmp_path / "request.pt"), str(tmp_path / "response.pt"))
    return torch.load(tmp_path / "response.pt", weights_only=True)


def test_agent_returns_values_and_keeps_objects_behind_handles(tmp_path):
    agent = Agent({"Counter": Counter, "double": lambda x: 2 * x})
    assert serve(agent, tmp_path, op="call", target={HANDLE: 0}, args=(torch.ones(2),)) == {
        "raised": "KeyError", "message": "0"}
    cls = serve(agent, tmp_path, op="lookup", name="Counter")["value"]
    assert cls == {HANDLE: 0, "type": "type", "callable": True}
    instance = serve(agent, tmp_path, op="call", target={HANDLE: 0}, args=(5,))["value"]
    assert instance[HANDLE] == 1 and instance["callable"] is False
    method = serve(agent, tmp_path, op="getattr", target={HANDLE: 1}, name="step")["value"]
    assert serve(agent, tmp_path, op="call", target={HANDLE: method[HANDLE]}, args=(3,)) == {"value": 8}
    assert serve(agent, tmp_path, op="setattr", target={HANDLE: 1}, name="count", value=1) == {"value": None}
    assert serve(agent, tmp_path, op="getattr", target={HANDLE: 1}, name="count") == {"value": 1}
    double = serve(agent, tmp_path, op="lookup", name="double")["value"]
    result = serve(agent, tmp_path, op="call", target={HANDLE: double[HANDLE]}, args=(torch.arange(3),))
    assert torch.equal(result["value"], torch.tensor([0, 2, 4]))


def test_agent_reports_exceptions_and_missing_names(tmp_path):
    def stub(x):
        raise NotImplementedError("replace this line with your code")
    agent = Agent({"stub": stub})
    assert serve(agent, tmp_path, op="lookup", name="nothing") == {
        "raised": "NameError", "message": "name 'nothing' is not defined"}
    handle = serve(agent, tmp_path, op="lookup", name="stub")["value"][HANDLE]
    assert serve(agent, tmp_path, op="call", target={HANDLE: handle}, args=(1,))["raised"] == "NotImplementedError"


def test_agent_accepts_modules_and_partials_as_arguments(tmp_path):
    agent = Agent({"count": lambda net: sum(p.numel() for p in net.parameters()),
                   "apply": lambda f: f(3)})
    count = serve(agent, tmp_path, op="lookup", name="count")["value"][HANDLE]
    assert serve(agent, tmp_path, op="call", target={HANDLE: count}, args=(nn.Linear(3, 2),)) == {"value": 8}
    apply = serve(agent, tmp_path, op="lookup", name="apply")["value"][HANDLE]
    assert serve(agent, tmp_path, op="call", target={HANDLE: apply}, args=(functools.partial(pow, 2),)) == {"value": 8}


def test_to_torch_turns_numpy_into_tensors_and_numbers():
    converted = to_torch({"a": np.float64(1.5), "b": [np.arange(3)], "c": (np.int64(2), "text")})
    assert converted["a"] == 1.5 and type(converted["a"]) is float
    assert torch.equal(converted["b"][0], torch.arange(3)) and converted["c"] == (2, "text")


def test_markers_round_trip_between_proxies_and_handles(tmp_path):
    session = KernelSession(call_timeout=5.0)
    decoded = session.from_markers({"f": {HANDLE: 3, "type": "function", "callable": True},
                                    "xs": [{HANDLE: 4, "type": "Counter", "callable": False}, 1.0]})
    assert isinstance(decoded["f"], RemoteCallable) and callable(decoded["f"])
    assert isinstance(decoded["xs"][0], RemoteObject) and not callable(decoded["xs"][0])
    assert repr(decoded["xs"][0]) == "<Counter in the student's kernel>"
    assert to_markers(decoded) == {"f": {HANDLE: 3}, "xs": [{HANDLE: 4}, 1.0]}
    session.__exit__()
    assert not session.root.exists()


@pytest.mark.parametrize("name, kind", [("ValueError", ValueError), ("NotImplementedError", NotImplementedError),
                                        ("IndexError", IndexError), ("CheckFailed", RemoteError),
                                        ("SystemExit", RemoteError), ("print", RemoteError)])
def test_remote_exceptions_become_builtins_or_remote_errors(name, kind):
    err = remote_exception(name, "message")
    assert type(err) is kind and str(err) == "message"


PEAK_SCRIPT = """
from d2lutil.grading.remote import KernelSession

def peak_kb():
    return int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])

with KernelSession(5.0) as session:
    session.run_cell('x = 1', 120)
    before = peak_kb()
    run = session.run_cell("print('x' * 300_000_000)", 120)
    print(run.status, peak_kb() - before)
"""


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)")
def test_a_notebook_printing_300_mb_costs_the_grader_no_memory():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    status, grown_kb = run.stdout.split()
    assert status == "ok" and int(grown_kb) < 50_000, (run.stdout, run.stderr[-2000:])
