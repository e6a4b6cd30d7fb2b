"""Quick-check multiple-choice questions that give feedback when answered."""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: its prompt, options, index of the right option, and why."""

    prompt: str
    options: tuple[str, ...]
    answer: int
    explanation: str

    def __post_init__(self) -> None:
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer={self.answer} is not allowed; it must index one of {len(self.options)} options")


def feedback(question: Question, choice: int) -> str:
    """Say whether option `choice` is right, and explain."""
    if not 0 <= choice < len(question.options):
        raise ValueError(f"choice={choice!r} is not allowed; pick 0 to {len(question.options) - 1}")
    verdict = "Correct." if choice == question.answer else f"Not quite: the answer is {question.options[question.answer]!r}."
    return f"{verdict} {question.explanation}"


def letter(i: int) -> str:
    """The letter of option `i`: A, B, C, ..."""
    return chr(65 + i)


def wrapping(markup: str) -> str:
    """HTML `markup` in a block that wraps to the width of the notebook (widget text does not wrap by itself)."""
    return f'<div style="white-space: normal; line-height: 1.5">{markup}</div>'


def question_html(question: Question) -> str:
    """The prompt and the lettered options, as wrapping HTML."""
    options = "".join(f"<li>{html.escape(option)}</li>" for option in question.options)
    return wrapping(f'<b>Quick check:</b> {html.escape(question.prompt)}<ol type="A">{options}</ol>')


def quick_check(question: Question, interactive: bool = False) -> None:
    """Show the question; interactively with one answer button per option, else as text with the answer folded.

    The options are wrapped HTML text and the buttons carry only their letters, so long options stay
    readable with ipywidgets 7 (Colab) and 8, whose radio buttons and button labels do not wrap.
    """
    if not interactive:
        letters = "\n".join(f"  ({letter(i)}) {option}" for i, option in enumerate(question.options))
        print(f"Quick check: {question.prompt}\n{letters}\n(Answer with d2lutil.quiz.feedback(question, k), "
              "or rerun with interactive=True.)")
        return
    import ipywidgets
    from IPython.display import display

    verdict = ipywidgets.HTML(layout=ipywidgets.Layout(width="100%"))

    def answer(choice: int) -> Callable[[object], None]:
        """The click handler of option `choice`: show its feedback."""
        def on_click(_: object) -> None:
            verdict.value = wrapping(html.escape(f"({letter(choice)}) {feedback(question, choice)}"))
        return on_click

    buttons = []
    for i, option in enumerate(question.options):
        button = ipywidgets.Button(description=letter(i), tooltip=option, layout=ipywidgets.Layout(width="4em"))
        button.on_click(answer(i))
        buttons.append(button)
    display(ipywidgets.VBox([ipywidgets.HTML(question_html(question), layout=ipywidgets.Layout(width="100%")),
                             ipywidgets.HBox([ipywidgets.Label("Your answer:"), *buttons]), verdict]))
