"""Shared fixtures: the embedded digits dataset, loaded once per test session, and a simulated crash."""
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import d2lutil  # noqa: E402


@pytest.fixture(scope="session")
def digits() -> d2lutil.Dataset:
    """The embedded digits dataset with its default split."""
    return d2lutil.load_dataset("digits")


class Interrupt(d2lutil.Callback):
    """Simulate a crash (e.g. a Colab disconnect) at the end of a given epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, state: d2lutil.TrainState) -> None:
        if state.epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture
def interrupt_at() -> type[Interrupt]:
    """The callback class that stops training with KeyboardInterrupt after a given epoch."""
    return Interrupt
