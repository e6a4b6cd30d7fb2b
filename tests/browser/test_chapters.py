"""The learner's path in JupyterLab: every chapter runs with interactive = True, its widgets work, its quick checks answer.

For each chapter: open it, set `interactive = True`, Run All Cells, and require no error output (in
the saved notebook) and no traceback or broken widget on the page; move every slider of every demo
to two other values, switch every dropdown and toggle to another value and back, and use every
number box and button once, each time requiring the demo to redraw without a traceback; answer every quick check with every option and
require exactly one "Correct." and a "Not quite" for the others. One exercise notebook: a
`check(...)` cell with the stub, then with the solution's answer typed into the cell.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

import jupyterlab_page as lab_page

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT_S = float(os.environ.get("BROWSER_RUN_TIMEOUT", "900"))  # one chapter's Run All, on a busy machine
DEMO_TIMEOUT_S = float(os.environ.get("BROWSER_DEMO_TIMEOUT", "180"))  # one demo redraw
SHOW = os.environ.get("BROWSER_SHOW")  # a folder: save a picture of every demo and quick check there, to look at


def show(locator, name: str) -> None:
    """Save a picture of what the learner sees in `locator` when BROWSER_SHOW names a folder."""
    if SHOW:
        Path(SHOW).mkdir(parents=True, exist_ok=True)
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(Path(SHOW) / f"{name}.png"))


def set_interactive(path: Path) -> None:
    """Set `interactive = True` in the notebook's parameters cell, as a learner does before running it."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source, count = re.subn(r"^interactive = False", "interactive = True", cell.source, flags=re.M)
    assert count == 1, f"{path.name}: no 'interactive = False' line in the parameters cell"
    nbformat.write(notebook, path)


def drive_demos(page) -> int:
    """Use every control of every demo and every button outside the quick checks; return how many actions."""
    panels = lab_page.demo_panels(page)
    actions = 0
    for i in range(panels.count()):
        for kind, control in lab_page.controls(panels.nth(i)):
            steps = lab_page.slider_steps(page, control) if kind == "slider" else lab_page.choice_changes(control, kind)
            for n, step in enumerate(steps, 1):
                lab_page.change_and_wait(page, panels, step, f"{kind} {control.inner_text()!r} change {n}", DEMO_TIMEOUT_S)
                actions += 1
    quiz_buttons = lab_page.quick_checks(page).locator(".widget-button")
    buttons = page.locator(f"{lab_page.NOTEBOOK} .jp-OutputArea-output .widget-button")
    for i in range(buttons.count()):
        button = buttons.nth(i)
        if any(button.evaluate("(b, q) => b === q", quiz_buttons.nth(j).element_handle())
               for j in range(quiz_buttons.count())):
            continue
        lab_page.change_and_wait(page, panels, button.click, f"button {button.inner_text()!r}", DEMO_TIMEOUT_S)
        actions += 1
    return actions


def answer_quick_checks(page) -> int:
    """Answer every quick check with each option in turn; exactly one is correct. Return how many checks."""
    boxes = lab_page.quick_checks(page)
    for i in range(boxes.count()):
        box = boxes.nth(i)
        verdicts = []
        for button in box.locator(".widget-button").all():
            letter = button.inner_text().strip()
            button.click()
            output = box.locator(".widget-html").last
            lab_page.wait_for(lambda: output.inner_text().strip().startswith(f"({letter})"), 60,
                              f"feedback on answer {letter} of quick check {i + 1}")
            verdicts.append(output.inner_text().strip()[len(letter) + 3:])
        right = [v for v in verdicts if v.startswith("Correct.")]
        wrong = [v for v in verdicts if v.startswith("Not quite: the answer is")]
        assert len(right) == 1 and len(wrong) == len(verdicts) - 1, f"quick check {i + 1}: {verdicts}"
        lab_page.assert_no_error_text(box, f"quick check {i + 1}")
    return boxes.count()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_and_its_widgets_work(chapter, jupyter_lab, page):
    path = jupyter_lab.root / "notebooks" / chapter
    set_interactive(path)
    lab_page.open_notebook(page, jupyter_lab.notebook_url(f"notebooks/{chapter}"))
    lab_page.run_all(page, RUN_TIMEOUT_S)
    saved = lab_page.save_and_read(page, path)
    assert not lab_page.errors_in(saved), lab_page.errors_in(saved)
    unrun = [i for i, cell in enumerate(saved.cells) if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"cells {unrun} did not run"
    lab_page.assert_no_error_text(page.locator(lab_page.NOTEBOOK), chapter)

    panels, checks = lab_page.demo_panels(page), lab_page.quick_checks(page)
    assert panels.count() == lab_page.widget_views(saved, "interactive("), "a demo's widgets did not render"
    assert checks.count() == lab_page.widget_views(saved, "VBox(children=(HTML(value='<div style=\"white-space") > 0
    if panels.count():
        assert drive_demos(page) > 0, f"{chapter}: a demo without a control"
    assert answer_quick_checks(page) == checks.count()
    for kind, boxes in (("demo", panels), ("quick-check", checks)):
        for i in range(boxes.count()):
            show(boxes.nth(i), f"{chapter[:2]}-{kind}-{i + 1}")
    lab_page.assert_no_error_text(page.locator(lab_page.NOTEBOOK), chapter)


def test_exercise_check_gives_feedback_on_the_stub_and_on_the_solution(jupyter_lab, page):
    exercise, question = "exercises/02_weight_decay.ipynb", "02.l2_penalty"
    solution = nbformat.read(ROOT / "solutions" / "02_weight_decay.ipynb", as_version=4)
    answer = next(c.source for c in solution.cells if c.source.startswith("def l2_penalty"))
    lab_page.open_notebook(page, jupyter_lab.notebook_url(exercise))
    notebook = nbformat.read(jupyter_lab.root / exercise, as_version=4)  # the page shows its cells in this order
    cells = page.locator(f"{lab_page.NOTEBOOK} .jp-Cell")
    lab_page.wait_for(lambda: cells.count() == len(notebook.cells), 60, "every cell of the exercise to show")
    definition = next(i for i, c in enumerate(notebook.cells) if c.source.startswith("def l2_penalty"))
    check_cell = definition + 1
    assert notebook.cells[check_cell].source.startswith(f'check("{question}"')

    def run_cells(indices: list[int]) -> None:
        for i in indices:
            cells.nth(i).locator(".jp-InputPrompt").click()  # select the cell without editing it
            page.keyboard.press("Shift+Enter")
            page.wait_for_function(f"() => /\\[\\d+\\]/.test(document.querySelectorAll("
                                   f"'{lab_page.NOTEBOOK} .jp-Cell')[{i}].querySelector('.jp-InputPrompt').textContent)",
                                   timeout=RUN_TIMEOUT_S * 1000)
        lab_page.wait_idle(page, 120)

    code = [i for i in range(check_cell + 1) if notebook.cells[i].cell_type == "code"]
    run_cells(code)
    feedback = cells.nth(check_cell).locator(".jp-OutputArea")
    assert feedback.inner_text().strip() == (f"[not yet] {question} (0/1 points): not filled in yet: "
                                             "replace `raise NotImplementedError` with your code")

    editor = cells.nth(definition).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)
    page.keyboard.press("Escape")
    run_cells([definition, check_cell])
    assert feedback.inner_text().strip() == f"[passed] {question} (1/1 points): well done."
