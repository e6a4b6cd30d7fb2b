"""Driving JupyterLab 4 in Chromium as a learner does: open a notebook, run all cells, use its widgets."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
PROMPTS = f"[...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim())"
WIDGET_ERRORS = ("Traceback", "Error displaying widget")


def open_notebook(page: Page, url: str) -> None:
    """Open the notebook at `url` and wait until its kernel is idle."""
    page.goto(url)
    page.locator(f"{NOTEBOOK} .jp-Cell").first.wait_for(timeout=120_000)
    wait_idle(page, 180)


def wait_idle(page: Page, timeout_s: float) -> None:
    """Wait until the status bar says the kernel is idle."""
    page.locator(".jp-StatusBar-Widget").get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=timeout_s * 1000)


def menu(page: Page, top: str, item: str) -> None:
    """Choose `item` (a regular expression of its label) from the menu bar's `top` menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def run_all(page: Page, timeout_s: float) -> None:
    """Run > Run All Cells, and wait until no cell is queued or running (all ran, or one failed)."""
    for _ in range(3):  # a kernel that has just said idle may still miss the first request
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(f"() => {PROMPTS}.some(t => /\\[(\\*|\\d+)\\]/.test(t))", timeout=30_000)
            break
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: nothing started, try again
            continue
    else:
        raise AssertionError("Run All Cells started no cell in 3 tries")
    page.wait_for_function(f"() => !{PROMPTS}.some(t => t.includes('*'))", timeout=timeout_s * 1000, polling=1000)
    wait_idle(page, 60)


def save_and_read(page: Page, path: Path) -> nbformat.NotebookNode:
    """File > Save Notebook, then read the saved file (with its outputs) from disk."""
    before = path.stat().st_mtime_ns
    menu(page, "File", "Save( Notebook)?")
    deadline = time.monotonic() + 60
    while path.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} was not saved within 60 s")
        time.sleep(0.2)
    time.sleep(0.5)
    return nbformat.read(path, as_version=4)


def errors_in(notebook: nbformat.NotebookNode) -> list[str]:
    """Every error output of a saved notebook, as 'cell N: Name: message'."""
    return [f"cell {i}: {output.ename}: {output.evalue}" for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" for output in cell.outputs if output.output_type == "error"]


def widget_views(notebook: nbformat.NotebookNode, starts: str) -> int:
    """How many widget outputs of a saved notebook have a text form starting with `starts`."""
    return sum(1 for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
               if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
               and output.data.get("text/plain", "").startswith(starts))


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail saying `what` was awaited."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.3)


def assert_no_error_text(locator: Locator, where: str) -> None:
    """Fail if a traceback or a broken widget shows inside `locator`."""
    text = locator.inner_text()
    for marker in WIDGET_ERRORS:
        assert marker not in text, f"{where} shows {marker!r}:\n{text[-2000:]}"


def demo_panels(page: Page) -> Locator:
    """The notebook's interactive demos (ipywidgets.interactive panels)."""
    return page.locator(f"{NOTEBOOK} .widget-interact")


def quick_checks(page: Page) -> Locator:
    """The notebook's quick-check boxes."""
    return page.locator(f"{NOTEBOOK} .widget-vbox:has(> .widget-html:has-text('Quick check:'))")


def output_of(panel: Locator) -> str:
    """What a demo panel shows now (its output area's HTML, figures included)."""
    return panel.locator(".widget-output").last.inner_html()


def change_and_wait(page: Page, panels: Locator, act: Callable[[], None], what: str, timeout_s: float) -> None:
    """Do `act`, then wait until some demo's output has changed and the kernel is idle; no traceback may show."""
    before = [output_of(panels.nth(i)) for i in range(panels.count())]

    def changed() -> bool:
        now = [output_of(panels.nth(i)) for i in range(panels.count())]
        return any(a != b and "<img" in b for a, b in zip(before, now))

    act()
    wait_for(changed, timeout_s, f"the demo to redraw after {what}")
    wait_idle(page, timeout_s)
    for i in range(panels.count()):
        assert_no_error_text(panels.nth(i), f"the demo after {what}")


def controls(panel: Locator) -> list[tuple[str, Locator]]:
    """The controls of a demo panel, each with its kind: slider, dropdown, toggle or text."""
    kinds = {"slider": ".widget-slider", "dropdown": ".widget-dropdown", "toggle": ".widget-toggle-buttons",
             "text": ".widget-text"}
    return [(kind, panel.locator(selector).nth(i)) for kind, selector in kinds.items()
            for i in range(panel.locator(selector).count())]


def slider_steps(page: Page, slider: Locator) -> list[Callable[[], None]]:
    """Two actions that move a slider by one step each, away from the end it sits at (keyboard on its handle)."""
    handle = slider.locator(".noUi-handle")
    key = "ArrowLeft" if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax") else "ArrowRight"

    def step() -> None:
        handle.focus()
        page.keyboard.press(key)
    return [step, step]


def choice_changes(control: Locator, kind: str) -> list[Callable[[], None]]:
    """Actions that use a dropdown, toggle or number box once: a dropdown or toggle changes and changes
    back (a demo may ignore some controls in some states, as dropout's mask draw in inference mode)."""
    if kind == "dropdown":
        select = control.locator("select")
        labels = select.locator("option").all_inner_texts()
        current = labels[select.evaluate("s => s.selectedIndex")]
        other = next(label for label in labels if label != current)
        return [lambda: select.select_option(label=other), lambda: select.select_option(label=current)]
    if kind == "toggle":
        current = control.locator("button.mod-active").inner_text()
        other = control.locator("button:not(.mod-active)").first.inner_text()
        return [lambda: control.get_by_role("button", name=other, exact=True).click(),
                lambda: control.get_by_role("button", name=current, exact=True).click()]
    box = control.locator("input")
    return [lambda: (box.fill(str(int(box.input_value()) + 1)), box.press("Enter"))]
