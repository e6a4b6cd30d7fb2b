"""The per-epoch progress display: one line of text, updated in place, that ends saying how the run ended.

In a notebook the line is an updatable display of plain text (no widget), so a saved notebook, and
a website built from executed notebooks, shows the last state of every run as text. Elsewhere it
is written to stderr: updated in place on a terminal, the final line only otherwise (logs, CI).
"""
from __future__ import annotations

import sys
import time

WIDTH = 24  # characters of the bar


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel, which shows rich displays."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def format_seconds(seconds: float) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar(fraction: float) -> str:
    """A text bar `WIDTH` characters wide, filled to `fraction`."""
    filled = round(WIDTH * min(max(fraction, 0.0), 1.0))
    return "█" * filled + "░" * (WIDTH - filled)


class EpochProgress:
    """Progress of a training run over `total` epochs: `update(**metrics)` after each epoch, `close(reason)` at the end.

    A run that ends before `total` epochs shows a full bar with the reason, e.g.
    "stopped early: 100% training accuracy at epoch 12"; a run that was resumed starts at `initial`.
    """

    def __init__(self, total: int, desc: str = "training", enabled: bool = True, initial: int = 0) -> None:
        if total < 1 or not 0 <= initial <= total:
            raise ValueError(f"total={total}, initial={initial} are not allowed; need total >= 1 and 0 <= initial <= total")
        self.total, self.desc, self.enabled, self.epoch = total, desc, enabled, initial
        self.metrics: dict[str, float] = {}
        self.start, self.closed = time.monotonic(), False
        self.notebook = enabled and in_notebook()
        self.handle = None
        if self.notebook:
            from IPython.display import display

            self.handle = display({"text/plain": self.line()}, raw=True, display_id=True)

    def line(self, reason: str | None = None) -> str:
        """The current state as one line of text."""
        elapsed = time.monotonic() - self.start
        done = self.epoch if reason is None else self.total
        metrics = "  ".join(f"{name} {value:.3f}" for name, value in self.metrics.items())
        text = f"{self.desc}: {bar(done / self.total)} {self.epoch}/{self.total} epochs  {format_seconds(elapsed)}"
        return "  ".join(part for part in (text, metrics, reason) if part)

    def show(self, reason: str | None = None) -> None:
        """Replace the displayed line by the current state."""
        if not self.enabled:
            return
        if self.notebook:
            self.handle.update({"text/plain": self.line(reason)}, raw=True)
        elif sys.stderr.isatty() or reason is not None:
            end = "\n" if reason is not None else ""
            print(f"\r{self.line(reason)}", end=end, file=sys.stderr, flush=True)

    def update(self, **metrics: float) -> None:
        """One more epoch is done; `metrics` (e.g. train_acc=0.98) are shown next to the bar."""
        self.epoch += 1
        self.metrics = metrics
        self.show()

    def close(self, reason: str | None = None) -> None:
        """End the display with a full bar and why the run ended (default: all epochs done)."""
        if self.closed:
            return
        self.closed = True
        if reason is None:
            reason = "done" if self.epoch >= self.total else f"stopped after {self.epoch} epochs"
        self.show(reason)
