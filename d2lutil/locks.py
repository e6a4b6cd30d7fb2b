"""Folder locks: one holder at a time, a lock file that names it, and a lock that dies with its holder.

The lock is an advisory `flock` on a file in the folder, so the operating system releases it when its holder
exits however it ends (SIGKILL included): a dead holder's lock is taken over without any cleaning up.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def holder() -> dict[str, object]:
    """Who takes a lock: this process's pid, host, start time and command line."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)}


def describe(lock_file: Path) -> str:
    """The holder named in a lock file, in words."""
    try:
        info = json.loads(lock_file.read_text())
        return f"pid {info['pid']} on {info['host']} since {info['started']} ({info['command']})"
    except (OSError, ValueError, KeyError):
        return "a process that has not yet named itself"


@contextmanager
def folder_lock(folder: str | Path, name: str, wait: bool) -> Iterator[Path]:
    """Hold the lock `name` of `folder` (created if missing); yield the lock file.

    With wait=False a lock held by a live process raises a ValueError that names the holder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock_file = folder / f".{name}.lock"
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ValueError(f"{folder} is in use by {describe(lock_file)}; wait for it to finish, stop it, "
                             "or choose another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder()).encode())
        yield lock_file
    finally:
        os.close(fd)  # closing the file releases the lock
