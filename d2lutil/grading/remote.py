"""The student's kernel seen from the grader: run a notebook's cells in it, then reach its answers by proxy.

A KernelSession starts a fresh Jupyter kernel inside a Sandbox (sandbox.py), talking to it over
Unix sockets in the sandbox's channel folder. It executes cells one at a time under a time limit
and reads only each cell's reply (never the kernel's output stream, so what a notebook prints
costs the grader nothing), then installs the agent of kernel_agent.py. Remote objects forward
calls, attribute access and indexing to the agent; requests travel by pickle through the
sandbox's read-only inbox, results come back only through torch.load(weights_only=True) of a
bounded regular file, so whatever the notebook did to its own kernel (redefining functions,
patching d2lutil or torch) cannot reach the grader's process.
"""
from __future__ import annotations

import builtins
import io
import os
import queue
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import zmq
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec

from . import kernel_agent
from .kernel_agent import HANDLE
from .registry import CheckFailed
from .sandbox import Limits, Sandbox

PROBE_TIMEOUT = 10
AGENT_TIMEOUT = 60  # installing the agent imports torch in the kernel, slow on a loaded machine
STARTUP_TIMEOUT = 120
MAX_MESSAGE = 16 * 2**20
MAX_RESPONSE = 256 * 2**20


class AnswerStopped(CheckFailed):
    """The answer ran past the grader's time limit or killed its kernel: a failed check, the message says which."""


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


class SandboxedKernelManager(KernelManager):
    """A Jupyter kernel manager whose IPython kernel runs in `sandbox` (or, if None, as a plain local process)."""

    def __init__(self, sandbox: Sandbox | None, submission: Path | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox, self.submission = sandbox, submission

    @property
    def kernel_spec(self) -> KernelSpec:
        """This Python's IPython kernel, interrupted by message (a signal cannot cross the sandbox)."""
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                          display_name="Python 3 (sandboxed)", language="python", interrupt_mode="message")

    def write_connection_file(self, **kwargs: Any) -> None:
        """Write the connection file, readable by the sandbox's unprivileged user (the folder above is private)."""
        super().write_connection_file(**kwargs)
        if self.sandbox:
            os.chmod(self.connection_file, 0o644)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's command line, wrapped in the sandbox."""
        argv = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.wrap(argv, self.submission) if self.sandbox else argv


class KernelSession:
    """A fresh kernel for one submission, sandboxed unless `sandbox` is False: runs its cells, then serves requests."""

    def __init__(self, call_timeout: float = 30.0, sandbox: bool = True, limits: Limits = Limits(),
                 submission: Path | None = None) -> None:
        self.call_timeout = call_timeout
        self.root = Path(tempfile.mkdtemp(prefix="d2lutil-grade-"))
        self.inbox, self.channel, self.scratch = self.root / "inbox", self.root / "channel", self.root / "scratch"
        for folder in (self.inbox, self.channel, self.scratch):
            folder.mkdir()
        self.sandbox = Sandbox(self.inbox, self.channel, limits) if sandbox else None
        if self.sandbox:
            self.sandbox.prepare()
        self.submission = None
        if submission is not None:
            self.submission = self.inbox / submission.name
            shutil.copyfile(submission, self.submission)
            if not sandbox:
                shutil.copyfile(submission, self.scratch / submission.name)
        self.completed: list[str] = []
        self.manager: SandboxedKernelManager | None = None
        self.client: Any = None
        self.agent_ready = False

    def start(self) -> None:
        """Start a new kernel and connect to its shell and control channels only."""
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)  # a larger reply drops the connection, not the grader
        transport = {"transport": "ipc", "ip": str(self.channel / "kernel")} if self.sandbox else {}
        self.manager = SandboxedKernelManager(self.sandbox, self.submission, context=context,
                                              connection_file=str(self.inbox / "kernel.json"), **transport)
        self.manager.start_kernel(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  cwd=str(self.scratch))
        self.client = self.manager.client()
        self.client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=True)
        self.agent_ready = False
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        """Wait for the kernel's first reply; a KernelUnavailable if it dies or does not answer in time."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            msg_id = self.client.kernel_info()
            if self.reply_to(msg_id, 2.0) is not None:
                return
            if not self.manager.is_alive():
                raise KernelUnavailable("the kernel could not start (is the sandbox working? see `bwrap --version`)")
        raise KernelUnavailable(f"the kernel did not start within {STARTUP_TIMEOUT} s")

    def reply_to(self, msg_id: str, timeout: float) -> dict | None:
        """The shell reply to `msg_id` within `timeout` seconds, else None (also when the kernel died)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                reply = self.client.get_shell_msg(timeout=min(1.0, remaining))
            except queue.Empty:
                if not self.manager.is_alive():
                    return None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]
        return None

    def close(self) -> None:
        """Kill the kernel and its whole sandbox."""
        if self.client is not None:
            self.client.stop_channels()
        if self.manager is not None:
            self.manager.shutdown_kernel(now=True)
            self.manager.context.destroy(linger=0)
        self.client = self.manager = None

    def __enter__(self) -> "KernelSession":
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def run_cell(self, source: str, timeout: float, record: bool = True) -> CellRun:
        """Execute `source` in the kernel within `timeout` seconds; remember it for a replay if it finished."""
        assert self.client is not None, "start() the session first"
        msg_id = self.client.execute(source, store_history=False, allow_stdin=False, stop_on_error=False)
        content = self.reply_to(msg_id, timeout)
        if content is None:
            return (CellRun("dead", "the kernel died") if not self.manager.is_alive()
                    else CellRun("timeout", f"did not finish within {timeout:.0f} s"))
        if record:
            self.completed.append(source)
        if content.get("status") == "error":
            return CellRun("error", f"{str(content.get('ename'))[:100]}: {str(content.get('evalue'))[:300]}")
        return CellRun("ok")

    def responsive(self) -> bool:
        """Interrupt whatever runs in the kernel; True if it then answers a trivial request in time."""
        if self.manager is None or not self.manager.is_alive():
            return False
        self.manager.interrupt_kernel()
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
        run = self.run_cell(code, max(self.call_timeout, AGENT_TIMEOUT), record=False)
        if run.status != "ok":
            raise KernelUnavailable(f"could not set up grading in the kernel ({run.error})")
        self.agent_ready = True

    def request(self, op: str, **fields: Any) -> Any:
        """Perform one operation through the agent and return its result (a value or a remote proxy)."""
        if not self.agent_ready:
            self.install_agent()
        name = secrets.token_hex(8)  # unguessable, so the kernel cannot plant a file or link there beforehand
        request_path, response_path = self.inbox / "request.pt", self.channel / f"{name}.pt"
        torch.save({"op": op, **to_markers(fields)}, request_path)
        run = self.run_cell(f"__d2lutil_grader__.serve({str(request_path)!r}, {str(response_path)!r})",
                            self.call_timeout, record=False)
        if run.status in {"timeout", "dead"}:
            self.recover(self.call_timeout)
            raise AnswerStopped("your code made the kernel die" if run.status == "dead"
                                else f"your code did not return within {self.call_timeout:g} s")
        try:
            response = torch.load(io.BytesIO(read_bounded(response_path)), weights_only=True)
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


def read_bounded(path: Path, limit: int = MAX_RESPONSE) -> bytes:
    """The bytes of a regular file the kernel wrote, refusing links, pipes and anything over `limit` bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise ValueError(f"{path.name} is not a regular file of at most {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
