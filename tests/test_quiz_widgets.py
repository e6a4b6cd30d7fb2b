"""Quick checks and the widget wrapper: the pure parts answer, the wrapper builds widgets."""
import ipywidgets
import pytest

import d2lutil

Q = d2lutil.Question("2 + 2?", ("3", "4"), 1, "Count them.")


def test_feedback_says_right_or_wrong_and_explains():
    assert d2lutil.feedback(Q, 1).startswith("Correct.")
    assert "the answer is '4'" in d2lutil.feedback(Q, 0) and "Count them." in d2lutil.feedback(Q, 0)
    with pytest.raises(ValueError, match="pick 0 to 1"):
        d2lutil.feedback(Q, 2)
    with pytest.raises(ValueError, match="answer=5"):
        d2lutil.Question("?", ("a",), 5, "")


def test_quick_check_prints_without_widgets(capsys):
    d2lutil.quick_check(Q, interactive=False)
    assert "2 + 2?" in capsys.readouterr().out


def test_show_demo_runs_once_with_the_controls_defaults():
    demo = lambda rate, label: (rate * 2, label)  # noqa: E731
    assert d2lutil.show_demo(demo, False, rate=ipywidgets.FloatSlider(value=0.25), label="x") == (0.5, "x")


def test_show_demo_interactive_builds_a_widget_panel():
    panel = d2lutil.show_demo(lambda rate, label: rate, True, rate=ipywidgets.FloatSlider(value=0.25), label="x")
    assert isinstance(panel, ipywidgets.interactive) and panel.children[0].value == 0.25
