"""Child processes that never outlive the command that started them, and notebook kernels that talk over IPC.

On Linux a child asks the kernel for a signal when its parent dies (prctl PR_SET_PDEATHSIG), elsewhere it
watches its parent from a thread, so even a SIGKILL of the command takes its sweep workers and their notebook
kernels with it. Kernels listen on local IPC sockets,
not TCP, so nothing on the network can reach them (and ipykernel has no unencrypted-TCP warning to print).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """End this process when its parent `parent_pid` dies (at once if it is gone already).

    On Linux the kernel sends `sig` (prctl PR_SET_PDEATHSIG); elsewhere a watchdog thread polls the parent.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="watch parent", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    """Exit the process as soon as its parent has changed (the parent died and it was adopted)."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


class LocalKernelManager(AsyncKernelManager):
    """A kernel on IPC sockets (POSIX) that dies with the process that started it."""

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        """Use IPC sockets of this kernel's own (in Jupyter's private runtime folder) where the platform has them."""
        if os.name == "posix":
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.transport = "ipc"
            self.ip = str(runtime / f"kernel-{uuid.uuid4().hex[:12]}-ipc")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """Launch the kernel with a parent-death signal (Linux; elsewhere ipykernel polls its parent itself)."""
        if sys.platform.startswith("linux"):
            parent = os.getpid()
            kw["preexec_fn"] = lambda: die_with_parent(parent)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt the kernel, but not as the first step of its shutdown, as jupyter_client does."""
        # At shutdown an idle kernel would only log "KeyboardInterrupt caught in kernel" on the command's output;
        # a kernel still busy then is terminated instead.
        if not self.shutting_down:
            await super()._async_interrupt_kernel()
