"""The student's kernel seen from the grader: run a notebook's cells in it, then reach its answers by proxy.

A KernelSession starts a fresh Jupyter kernel (through nbclient), executes cells one at a time
under a time limit, and then installs the agent of kernel_agent.py. Remote objects forward
calls, attribute access and indexing to the agent; arguments travel by pickle, results come
back only through torch.load(weights_only=True), so whatever the notebook did to its own
kernel (redefining functions, patching d2lutil or torch) cannot reach the grader's process.
"""
from __future__ import annotations

import builtins
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from . import kernel_agent
from .check import AnswerStopped
from .kernel_agent import HANDLE

PROBE_TIMEOUT = 10


class RemoteError(Exception):
    """An exception raised by the student's code in the kernel, known to the grader by its name only."""

    def __init__(self, remote_name: str, message: str) -> None:
        super().__init__(message)
        self.remote_name = remote_name


class KernelUnavailable(Exception):
    """The kernel died or stopped responding and could not be brought back."""


@dataclass
class CellRun:
    """How one cell's execution ended: 'ok', 'error', 'timeout' or 'dead' (the kernel died)."""

    status: str
    error: str = ""


class RemoteObject:
    """A proxy for an object living in the student's kernel: attributes, items and len() are fetched there."""

    __slots__ = ("_session", "_handle", "_type")

    def __init__(self, session: "KernelSession", handle: int, type_name: str) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Any:
        return self._session.request("getattr", target=self, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.request("setattr", target=self, name=name, value=value)

    def __getitem__(self, key: Any) -> Any:
        return self._session.request("getitem", target=self, value=key)

    def __len__(self) -> int:
        return self._session.request("len", target=self)

    def __repr__(self) -> str:
        return f"<{self._type} in the student's kernel>"


class RemoteCallable(RemoteObject):
    """A proxy for a function or class in the student's kernel; calling it calls it there."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.request("call", target=self, args=args, kwargs=kwargs)


def to_markers(value: Any) -> Any:
    """Replace remote objects in (nested) arguments by the handle markers the agent understands."""
    if isinstance(value, RemoteObject):
        return {HANDLE: value._handle}
    if isinstance(value, dict):
        return {key: to_markers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_markers(item) for item in value)
    return value


def remote_exception(name: str, message: str) -> Exception:
    """The built-in exception `name` with `message` (so checks can catch ValueError etc.), else a RemoteError."""
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and name not in {"SystemExit", "KeyboardInterrupt"}:
        return kind(message)
    return RemoteError(name, message)


class KernelSession:
    """A fresh kernel for one submission: runs its cells, then answers the grader's requests."""

    def __init__(self, cwd: Path, call_timeout: float = 30.0) -> None:
        self.cwd, self.call_timeout = cwd, call_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="d2lutil-grader-"))
        self.completed: list[str] = []
        self.client: NotebookClient | None = None
        self.agent_ready = False

    def start(self) -> None:
        """Start a new kernel (and its client) in `cwd`."""
        self.client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3", allow_errors=True,
                                     interrupt_on_timeout=False, startup_timeout=120)
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel(cwd=str(self.cwd))
        self.client.start_new_kernel_client()
        self.agent_ready = False

    def close(self) -> None:
        """Shut the kernel down."""
        if self.client is not None and self.client.km is not None:
            self.client._cleanup_kernel()
        self.client = None

    def __enter__(self) -> "KernelSession":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_cell(self, source: str, timeout: float, record: bool = True) -> CellRun:
        """Execute `source` in the kernel within `timeout` seconds; remember it for a replay if it finished."""
        assert self.client is not None, "start() the session first"
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells.append(cell)
        self.client.timeout = max(1, math.ceil(timeout))
        try:
            self.client.execute_cell(cell, len(self.client.nb.cells) - 1, store_history=False)
        except CellTimeoutError:
            return CellRun("timeout", f"did not finish within {self.client.timeout} s")
        except DeadKernelError:
            return CellRun("dead", "the kernel died")
        finally:
            self.client.nb.cells.pop()
        errors = [out for out in cell.outputs if out.output_type == "error"]
        if record:
            self.completed.append(source)
        return CellRun("error", f"{errors[0].ename}: {errors[0].evalue}") if errors else CellRun("ok")

    def responsive(self) -> bool:
        """Interrupt whatever runs in the kernel; True if it then answers a trivial request in time."""
        if self.client is None or self.client.km is None:
            return False
        try:
            run_sync(self.client.km.interrupt_kernel)()
        except RuntimeError:
            return False
        return self.run_cell("pass", PROBE_TIMEOUT, record=False).status == "ok"

    def recover(self, limit: float) -> None:
        """After a timeout or a crash: keep the kernel if it responds, else restart it and replay the finished cells."""
        if self.responsive():
            return
        self.close()
        self.start()
        replay, self.completed = self.completed, []
        for source in replay:
            if self.run_cell(source, limit).status in {"timeout", "dead"}:
                raise KernelUnavailable("the kernel stopped responding and replaying the notebook failed")

    def install_agent(self) -> None:
        """Bind the grader's agent to the notebook's namespace inside the kernel."""
        source = Path(kernel_agent.__file__).read_text(encoding="utf-8")
        code = (f"__d2lutil_grader__ = {{'__name__': 'd2lutil_grader_agent'}}\n"
                f"exec(compile({source!r}, '<d2lutil grader agent>', 'exec'), __d2lutil_grader__)\n"
                f"__d2lutil_grader__ = __d2lutil_grader__['Agent'](globals())")
        run = self.run_cell(code, self.call_timeout, record=False)
        if run.status != "ok":
            raise KernelUnavailable(f"could not set up grading in the kernel ({run.error})")
        self.agent_ready = True

    def request(self, op: str, **fields: Any) -> Any:
        """Perform one operation through the agent and return its result (a value or a remote proxy)."""
        if not self.agent_ready:
            self.install_agent()
        request_path, response_path = self.workdir / "request.pt", self.workdir / "response.pt"
        response_path.unlink(missing_ok=True)
        torch.save({"op": op, **to_markers(fields)}, request_path)
        run = self.run_cell(f"__d2lutil_grader__.serve({str(request_path)!r}, {str(response_path)!r})",
                            self.call_timeout, record=False)
        if run.status in {"timeout", "dead"}:
            self.recover(self.call_timeout)
            raise AnswerStopped("your code made the kernel die" if run.status == "dead"
                                else f"your code did not return within {self.call_timeout:g} s")
        try:
            response = torch.load(response_path, weights_only=True)
        except Exception as err:  # a missing or unsafe response is the kernel's fault, never the grader's
            raise RemoteError(type(err).__name__, "the grader could not read what your code returned") from None
        if "raised" in response:
            raise remote_exception(str(response["raised"]), str(response["message"]))
        return self.from_markers(response["value"])

    def from_markers(self, value: Any) -> Any:
        """Replace handle markers in a result by remote proxies."""
        if isinstance(value, dict):
            if HANDLE in value:
                kind = RemoteCallable if value.get("callable") else RemoteObject
                return kind(self, int(value[HANDLE]), str(value.get("type", "object")))
            return {key: self.from_markers(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.from_markers(item) for item in value)
        return value

    def lookup(self, name: str) -> Any:
        """The object bound to `name` in the notebook's namespace (a proxy unless it is a plain value)."""
        return self.request("lookup", name=name)
