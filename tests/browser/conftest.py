"""Fixtures of the browser suite: JupyterLab on a copy of the course, and headless Chromium driving it.

JupyterLab runs from this Python environment on 127.0.0.1, a free port and a random token, in a
temporary folder holding copies of notebooks/, solutions/ and exercises/ (nothing of the checkout
is touched), with PYTHONPATH pointing at this checkout so the kernel imports its d2lutil. It is
stopped by its process group at the end. Chromium is the system's (/usr/bin/chromium), never a
downloaded one. A failing test leaves a screenshot in build/browser-screenshots/.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "browser-screenshots"
FOLDERS = ("notebooks", "solutions", "exercises")


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab server: its base URL, token and the folder it serves."""

    url: str
    token: str
    root: Path

    def notebook_url(self, path: str) -> str:
        """The address that opens the notebook at `path` (relative to `root`) in JupyterLab."""
        return f"{self.url}/lab/tree/{path}?token={self.token}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, token: str, process: subprocess.Popen, timeout: float = 180) -> None:
    """Wait until the server answers its status API; fail if it exits or takes longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer on {url} within {timeout:.0f} s")


def stop_group(process: subprocess.Popen) -> None:
    """Stop the process and everything it started (its kernels): SIGTERM, then SIGKILL after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# Every cell stays in the page (no windowed rendering) and no news or update pop-ups cover the notebook.
SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                '{"fetchNews": "false", "checkForUpdates": false}'}


def write_settings(folder: Path) -> None:
    """Write the JupyterLab user settings of the suite into `folder`."""
    for name, text in SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab serving a temporary copy of the course's notebooks, stopped with its kernels at the end."""
    root = tmp_path_factory.mktemp("course")
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(
            "checkpoints", "results", "figures", "data", ".ipynb_checkpoints"))
    write_settings(root / ".jupyter" / "lab" / "user-settings")
    port, token = free_port(), secrets.token_hex(16)
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # the kernel draws inline
    env |= {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
            "JUPYTERLAB_SETTINGS_DIR": str(root / ".jupyter" / "lab" / "user-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / ".jupyter" / "lab" / "workspaces")}
    log = (root / "jupyterlab.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ServerApp.allow_root=True"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, token, process)
        yield JupyterLab(url, token, root)
    finally:
        stop_group(process)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Chromium from the system (never downloaded), shared by the session's tests."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    """Remember each phase's report on the test item, so the page fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator:
    """A fresh browser page (1400x900); a screenshot of it is saved when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name.replace('/', '_')}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot of the failure: {path}")
    context.close()
