"""Quick-check multiple-choice questions that give feedback when answered."""
from __future__ import annotations

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


def quick_check(question: Question, interactive: bool = False) -> None:
    """Show the question; interactively with radio buttons and a Check button, else as text with the answer folded."""
    if not interactive:
        letters = "\n".join(f"  ({chr(65 + i)}) {option}" for i, option in enumerate(question.options))
        print(f"Quick check: {question.prompt}\n{letters}\n(Answer with d2lutil.quiz.feedback(question, k), "
              "or rerun with interactive=True.)")
        return
    import ipywidgets
    from IPython.display import display

    choices = ipywidgets.RadioButtons(options=list(question.options), value=None, description="")
    button, out = ipywidgets.Button(description="Check"), ipywidgets.Output()

    def on_click(_: object) -> None:
        out.clear_output()
        with out:
            print("Pick an option first." if choices.value is None
                  else feedback(question, question.options.index(choices.value)))

    button.on_click(on_click)
    display(ipywidgets.VBox([ipywidgets.HTML(f"<b>Quick check:</b> {question.prompt}"), choices, button, out]))
