"""Shared fixtures: the embedded digits dataset, loaded once per test session, a simulated crash, and the training device."""
import os

import pytest
import torch

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


NO_GPU = "needs a CUDA GPU and torch.cuda.is_available() is False here; run the suite on a GPU machine to include it"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked `cuda` where no CUDA GPU is present, saying why."""
    if torch.cuda.is_available():
        return
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(pytest.mark.skip(reason=NO_GPU))


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device a training test runs on: the CPU, and CUDA as well where a GPU is present."""
    return torch.device(request.param)
