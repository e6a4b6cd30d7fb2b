"""Quick checks and the demo wrapper: the pure parts answer, and every real demo shows exactly its intended controls."""
import html
import re
from pathlib import Path

import ipywidgets
import matplotlib.pyplot as plt
import pytest

import d2lutil
from d2lutil.demos import boundary, double_descent, dropout, early_stopping

ROOT = Path(__file__).resolve().parents[1]
Q = d2lutil.Question("2 + 2 < 5?", ("3", "4 " + "and a long explanation " * 6), 1, "Count them.")


def test_feedback_says_right_or_wrong_and_explains():
    assert d2lutil.feedback(Q, 1).startswith("Correct.")
    assert "the answer is '4 and" in d2lutil.feedback(Q, 0) and "Count them." in d2lutil.feedback(Q, 0)
    with pytest.raises(ValueError, match="pick 0 to 1"):
        d2lutil.feedback(Q, 2)
    with pytest.raises(ValueError, match="answer=5"):
        d2lutil.Question("?", ("a",), 5, "")


def test_quick_check_prints_without_widgets(capsys):
    d2lutil.quick_check(Q, interactive=False)
    out = capsys.readouterr().out
    assert "2 + 2 < 5?" in out and "(B) 4 and a long" in out


def quick_check_box(monkeypatch) -> ipywidgets.VBox:
    """The widget box quick_check displays for Q."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    d2lutil.quick_check(Q, interactive=True)
    (box,) = shown
    return box


def test_quick_check_options_are_wrapping_text_and_the_buttons_letters(monkeypatch):
    text, answers, _ = quick_check_box(monkeypatch).children
    assert isinstance(text, ipywidgets.HTML) and "white-space: normal" in text.value
    assert re.findall(r"<li>(.*?)</li>", text.value) == [html.escape(option) for option in Q.options]
    assert html.escape("2 + 2 < 5?") in text.value
    buttons = [child for child in answers.children if isinstance(child, ipywidgets.Button)]
    assert [b.description for b in buttons] == ["A", "B"] and [b.tooltip for b in buttons] == list(Q.options)


def test_each_answer_button_shows_its_feedback_as_wrapping_text(monkeypatch):
    _, answers, verdict = quick_check_box(monkeypatch).children
    buttons = [child for child in answers.children if isinstance(child, ipywidgets.Button)]
    assert isinstance(verdict, ipywidgets.HTML) and verdict.value == ""
    for button, expected in zip(buttons, ("(A) Not quite: the answer is &#x27;4 and", "(B) Correct. Count them.")):
        button.click()
        assert "white-space: normal" in verdict.value and expected in verdict.value


def test_show_demo_runs_once_with_the_controls_values():
    demo = lambda rate, label="x": (rate * 2, label)  # noqa: E731
    assert d2lutil.show_demo(demo, False, rate=ipywidgets.FloatSlider(value=0.25)) == (0.5, "x")


def test_show_demo_refuses_unknown_and_missing_arguments():
    with pytest.raises(ValueError, match="unknown: \\['rte'\\].*missing: \\['rate'\\]"):
        d2lutil.show_demo(lambda rate: rate, False, rte=0.5)


def history(val_loss: list[float]) -> d2lutil.History:
    """A History whose validation loss is `val_loss` (the other metrics follow it)."""
    n = len(val_loss)
    return d2lutil.History(train_loss=[1 / (i + 1) for i in range(n)], train_acc=[i / n for i in range(n)],
                           val_loss=val_loss, val_acc=[1 - v / 2 for v in val_loss])


# Each library demo with the controls its chapter gives it (small sizes, so building the panels is quick). Chapter 1
# defines its demo on the page, where the browser suite and tests/test_interactive_chapters.py drive it.
DEMOS = {
    "boundary_demo": lambda digits: (boundary.boundary_demo, {
        "seed": 0, "weight_decay": ipywidgets.FloatLogSlider(value=0.01, base=10, min=-4, max=0, description="lambda"),
        "n_points": ipywidgets.IntSlider(value=20, min=10, max=200, step=10, description="points"),
        "noise": ipywidgets.FloatSlider(value=0.3, min=0.0, max=0.6, step=0.05, description="noise")}),
    "dropout_network": lambda digits: (dropout.dropout_network, {
        "rate": ipywidgets.FloatSlider(value=0.5, min=0.0, max=0.9, step=0.05, description="rate p"),
        "mode": ipywidgets.ToggleButtons(options=["training", "inference"], value="training", description="mode"),
        "draw": ipywidgets.IntText(value=0, description="mask draw")}),
    "early_stopping_curves": lambda digits: (early_stopping.early_stopping_curves, {
        "histories": {"clean": history([1.0, 0.8, 0.7, 0.75, 0.8, 0.9]), "noisy": history([1.0, 0.9, 1.0, 1.1, 1.2])},
        "run": ipywidgets.Dropdown(options=["clean", "noisy"], value="noisy", description="run"),
        "patience": ipywidgets.IntSlider(value=2, min=1, max=30, description="patience"),
        "min_delta": ipywidgets.FloatSlider(value=0.0, min=0.0, max=0.2, step=0.01, description="min_delta")}),
    "double_descent_demo": lambda digits: (double_descent.double_descent_demo, {
        "label_noise": ipywidgets.FloatSlider(value=0.2, min=0.0, max=0.5, step=0.05, description="label noise"),
        "n_train": ipywidgets.IntSlider(value=50, min=50, max=300, step=50, description="n_train"),
        "num_draws": 1, "seed": 0}),
}


def test_every_library_demo_a_chapter_shows_is_covered():
    shown = set()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        text = path.read_text()
        on_the_page = set(re.findall(r"def (\w+)\(", text))
        shown |= {name.rsplit(".", 1)[-1] for name in re.findall(r"show_demo\(([\w.]+)", text)} - on_the_page
    assert shown == set(DEMOS)


@pytest.mark.parametrize("name", DEMOS)
def test_demo_panel_shows_exactly_its_controls(name, digits, monkeypatch):
    demo, controls = DEMOS[name](digits)
    monkeypatch.setattr("IPython.display.display", lambda *_, **__: None)
    panel = d2lutil.show_demo(demo, True, **controls)
    widgets = [control for control in controls.values() if isinstance(control, ipywidgets.Widget)]
    assert isinstance(panel, ipywidgets.interactive)
    assert panel.children[:-1] == tuple(widgets) and isinstance(panel.children[-1], ipywidgets.Output)
    fig, numbers = panel.result  # the first run, with the controls' values, succeeded
    assert fig.axes and numbers
    plt.close("all")
