"""The sandbox a student's kernel runs in: bubblewrap namespaces, a read-only system, a private scratch, limits.

On the grader's side, `Sandbox.wrap(argv)` turns a kernel's command line into a bubblewrap
(`bwrap`) command: its own PID namespace (it sees no other process, and everything it starts
dies with it), no network, no IPC or hostname shared, a read-only view of the system, the
Python environment and the d2lutil package (with the reference checks of
d2lutil/grading/questions hidden), a private size-limited scratch folder as home and working
directory, and two folders of the grader: `inbox` (read-only: the connection file, the
submission, the grader's requests) and `channel` (writable: the kernel's Unix sockets and its
answers). Nothing else of the machine's files is visible: not other submissions, the
gradebook, the grader's private questions or the user's home.

Inside, this file runs as a script (only the standard library) before the kernel: when the
sandbox starts as root it drops to the unprivileged user `nobody` in a user namespace of its
own, so that the process limit counts this sandbox only; then it sets the limits (memory,
processes, file size, open files, no core dumps), copies the submission into the scratch
folder and executes the kernel. The time limit is the grader's: it kills the sandbox.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
SCRATCH = "/home/student"
CLONE_NEWUSER, PR_SET_DUMPABLE = 0x10000000, 4
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
INSTALL_HINT = ("bubblewrap (bwrap) is not installed, and the grader runs students' code only inside its sandbox. "
                "Install it (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap) "
                "or, to grade only your own notebook, pass --no-sandbox")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces on this machine."""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use: memory (bytes of address space), processes, file size, and the size of
    each of its in-memory folders (the scratch folder, /tmp and /dev/shm)."""

    memory: int = 6 * 2**30
    processes: int = 128
    file_size: int = 2**30
    scratch: int = 2**30


def bwrap_path() -> str:
    """The bubblewrap executable; a SandboxUnavailable that says how to install it if there is none."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(INSTALL_HINT)
    return found


def package_dir() -> Path:
    """The folder of the d2lutil package the grader runs from."""
    return Path(__file__).resolve().parents[1]


def visible_paths() -> list[Path]:
    """Every host folder the sandbox shows (read-only): the system, the Python environment and d2lutil."""
    python = [Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parents[1]]
    system = [Path(p) for p in SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)]
    return sorted({p.resolve() for p in system + python} | {package_dir()})


def parent_dirs(paths: list[Path], mounted: set[Path]) -> list[str]:
    """bwrap arguments creating the folders above `paths` (outside `mounted`) as traversable by anyone."""
    parents = {parent for path in paths for parent in path.parents
               if parent != Path("/") and not any(m == parent or m in parent.parents for m in mounted)}
    parents -= set(paths)
    arguments: list[str] = []
    for parent in sorted(parents, key=lambda p: len(p.parts)):
        arguments += ["--perms", "0755", "--dir", str(parent)]
    return arguments


@dataclass(frozen=True)
class Sandbox:
    """A bubblewrap sandbox around one kernel, with the grader's `inbox` and `channel` folders bound in."""

    inbox: Path
    channel: Path
    limits: Limits = Limits()

    def prepare(self) -> None:
        """Make the inbox readable and the channel writable by the sandbox's unprivileged user."""
        self.inbox.chmod(0o755)
        self.channel.chmod(0o777)

    def wrap(self, argv: list[str], submission: Path | None = None) -> list[str]:
        """The bwrap command that runs `argv` in this sandbox, with a copy of `submission` in the scratch folder."""
        command = [bwrap_path(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                   "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        command += (["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if os.geteuid() == 0
                    else ["--unshare-user"])
        for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(link):
                command += ["--symlink", os.readlink(link), link]
        command += ["--proc", "/proc", "--dev", "/dev"]
        for folder, mode in (("/tmp", "1777"), ("/dev/shm", "1777"), (SCRATCH, "0777")):
            command += ["--perms", mode, "--size", str(self.limits.scratch), "--tmpfs", folder]
        visible = visible_paths()
        command += parent_dirs(visible, set())
        for path in visible:
            command += ["--ro-bind", str(path), str(path)]
        questions = package_dir() / "grading" / "questions"
        command += ["--tmpfs", str(questions), "--remount-ro", str(questions)]
        command += parent_dirs([self.inbox, self.channel], set(visible))
        command += ["--ro-bind", str(self.inbox), str(self.inbox), "--bind", str(self.channel), str(self.channel),
                    "--chdir", SCRATCH, "--clearenv"]
        for name, value in self.environment().items():
            command += ["--setenv", name, value]
        limits = self.limits
        inside = [sys.executable, str(Path(__file__).resolve()), "--memory", str(limits.memory),
                  "--processes", str(limits.processes), "--file-size", str(limits.file_size)]
        if submission is not None:
            inside += ["--copy", str(submission), f"{SCRATCH}/{submission.name}"]
        return command + ["--", *inside, "--", *argv]

    def environment(self) -> dict[str, str]:
        """The kernel's environment: nothing of the grader's but the thread count and the paths it needs."""
        return {"HOME": SCRATCH, "TMPDIR": "/tmp", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                "PYTHONPATH": str(package_dir().parent), "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
                "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{SCRATCH}/.matplotlib",
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def check_works(limits: Limits = Limits()) -> None:
    """Start a trivial sandbox; a SandboxUnavailable saying why if bubblewrap is missing or cannot run here."""
    with tempfile.TemporaryDirectory(prefix="d2lutil-sandbox-check-") as root:
        inbox, channel = Path(root, "inbox"), Path(root, "channel")
        inbox.mkdir()
        channel.mkdir()
        sandbox = Sandbox(inbox, channel, limits)
        sandbox.prepare()
        run = subprocess.run(sandbox.wrap([sys.executable, "-c", "pass"]), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create the grader's sandbox on this machine: "
                                 f"{run.stderr.strip()[-500:]} (user namespaces may be disabled; "
                                 "to grade only your own notebook, pass --no-sandbox)")


def check_private(folder: Path) -> None:
    """A ValueError if `folder` (the instructor's questions) lies inside a path the sandbox shows."""
    folder = folder.resolve()
    for path in visible_paths():
        if folder == path or path in folder.parents:
            raise ValueError(f"the questions folder {folder} lies inside {path}, which every sandboxed kernel can read; "
                             "keep private questions outside the Python environment, d2lutil and the system folders")


def become_nobody() -> None:
    """Running as root inside the sandbox: switch to `nobody` in a user namespace of its own."""
    libc = ctypes.CDLL(None, use_errno=True)
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # lets this process write its own uid_map below
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "cannot create a user namespace for the sandbox")
    Path("/proc/self/uid_map").write_text(f"{NOBODY} {NOBODY} 1")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/gid_map").write_text(f"{NOBODY} {NOBODY} 1")


def confine(args: argparse.Namespace) -> None:
    """Inside the sandbox: drop root, set the limits, copy the submission, then become the kernel."""
    if os.geteuid() == 0:
        become_nobody()
    for limit, value in [(resource.RLIMIT_AS, args.memory), (resource.RLIMIT_NPROC, args.processes),
                         (resource.RLIMIT_FSIZE, args.file_size), (resource.RLIMIT_NOFILE, 1024),
                         (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(limit, (value, value))
    if args.copy:
        shutil.copyfile(*args.copy)
    os.execv(args.argv[0], args.argv)


def parse_inside(argv: list[str]) -> argparse.Namespace:
    """The launcher's arguments: limits, an optional file to copy, and after `--` the kernel's command."""
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="sandbox.py")
    for name in ("--memory", "--processes", "--file-size"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--copy", nargs=2)
    args = parser.parse_args(argv[:split])
    args.argv = argv[split + 1:]
    return args


if __name__ == "__main__":
    confine(parse_inside(sys.argv[1:]))
