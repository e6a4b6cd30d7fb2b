"""Progress display of a training run: one line of text over its epochs, with the latest metrics and why it ended.

In a notebook the line is an updatable display of plain text, not a widget, so a saved notebook (and
a website built from executed notebooks) keeps the last state of every run as readable text instead
of "Error displaying widget". Elsewhere it goes to stderr: redrawn in place on a terminal, and only
the final line otherwise (logs, CI).
"""
from __future__ import annotations

import sys
import time

WIDTH = 24  # characters of the bar


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel, whose front end shows updatable displays."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def format_seconds(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour on."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def text_bar(fraction: float) -> str:
    """A bar of `WIDTH` characters filled to `fraction` (clipped to 0..1)."""
    filled = round(WIDTH * min(max(fraction, 0.0), 1.0))
    return "█" * filled + "░" * (WIDTH - filled)


class EpochProgress:
    """A bar of `total` epochs named `desc`; nothing is shown when `enabled` is False.

    `update(**metrics)` after each epoch; `close(reason)` at the end fills the bar and says why the
    run ended ("train_acc reached 1 at epoch 12"), so a run that stops early ends as a completed
    bar, not as a failed one.
    """

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        if total < 0:
            raise ValueError(f"total={total} is not allowed; the number of epochs must be 0 or more")
        self.total, self.desc, self.enabled = total, desc, enabled
        self.epoch, self.metrics, self.start, self.closed = 0, {}, time.monotonic(), False
        self.handle = None
        if enabled and in_notebook():
            from IPython.display import display

            self.handle = display({"text/plain": self.line()}, raw=True, display_id=True)

    def line(self, reason: str | None = None) -> str:
        """The run's state as one line: name, bar, epochs, time, metrics, and the reason once closed."""
        fraction = 1.0 if reason is not None or not self.total else self.epoch / self.total
        metrics = "  ".join(f"{name} {value:.3f}" for name, value in self.metrics.items())
        head = f"{self.desc}: {text_bar(fraction)} {self.epoch}/{self.total} epochs  {format_seconds(time.monotonic() - self.start)}"
        return "  ".join(part for part in (head, metrics, reason and f"({reason})") if part)

    def show(self, reason: str | None = None) -> None:
        """Redraw the line (in the notebook, or on stderr)."""
        if not self.enabled:
            return
        if self.handle is not None:
            self.handle.update({"text/plain": self.line(reason)}, raw=True)
        elif reason is not None or sys.stderr.isatty():
            print(f"\r{self.line(reason)}", end="\n" if reason is not None else "", file=sys.stderr, flush=True)

    def update(self, **metrics: float) -> None:
        """Advance one epoch and show its metrics (e.g. train_acc=0.98)."""
        self.epoch += 1
        self.metrics = metrics
        self.show()

    def close(self, reason: str) -> None:
        """Fill the bar and say why training ended; later calls change nothing."""
        if not self.closed:
            self.closed = True
            self.show(reason)
