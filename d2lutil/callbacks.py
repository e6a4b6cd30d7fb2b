"""What the training loop records and who may act on it: the per-epoch history, the training state, and callbacks."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .precision import Precision
from .validate import check_choice, check_nonnegative, check_positive_int, check_probability

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")
ACCURACIES = tuple(name for name in METRICS if name.endswith("_acc"))


@dataclass
class History:
    """Per-epoch loss and accuracy on the training and validation sets."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    def append(self, **values: float) -> None:
        """Add one epoch's values of every metric."""
        for name in METRICS:
            getattr(self, name).append(float(values[name]))

    def __len__(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list[float]]:
        """The history as a plain dict of lists, ready for JSON."""
        return asdict(self)

    def epochs_to_reach(self, metric: str, threshold: float) -> int | None:
        """The first epoch (1-based) whose `metric` is at least `threshold`, or None if never."""
        values = getattr(self, check_choice("metric", metric, METRICS))
        return next((epoch for epoch, value in enumerate(values, 1) if value >= threshold), None)


@dataclass
class TrainState:
    """What callbacks see and may change: the model, optimizer, history, and whether (and why) to stop."""

    net: nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    generator: torch.Generator
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    epoch: int = 0
    stop: bool = False
    stop_reason: str | None = None
    device: torch.device = torch.device("cpu")
    precision: Precision = field(default_factory=Precision)

    def request_stop(self, reason: str) -> None:
        """Stop after this epoch, saying why in words a learner reads on the progress bar."""
        self.stop, self.stop_reason = True, reason


class Callback:
    """Hooks called by `fit`; subclasses override the ones they need."""

    def on_train_begin(self, state: TrainState) -> None:
        """Called once before the first epoch (after a checkpoint, if any, was restored)."""

    def on_before_step(self, state: TrainState) -> None:
        """Called after each backward pass, before the optimizer step (e.g. to clip gradients)."""

    def on_batch_end(self, state: TrainState) -> None:
        """Called after each optimizer step (e.g. to apply a max-norm constraint)."""

    def on_epoch_end(self, state: TrainState) -> None:
        """Called after each epoch, once the history holds that epoch."""

    def on_train_end(self, state: TrainState) -> None:
        """Called once after the last epoch."""

    def state_dict(self) -> dict:
        """What a checkpoint must save of this callback (tensors, numbers, strings, lists and dicts)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; restore the best weights."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        self.monitor = check_choice("monitor", monitor, METRICS)
        self.patience = check_positive_int("patience", patience)
        self.min_delta, self.restore_best = check_nonnegative("min_delta", min_delta), restore_best
        self.sign = -1.0 if monitor.endswith("loss") else 1.0
        self.best, self.best_epoch, self.wait, self.best_weights = -math.inf, 0, 0, None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        """Track the best value so far and stop once patience runs out."""
        score = self.sign * getattr(state.history, self.monitor)[-1]
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, state.epoch, 0
            self.best_weights = {k: v.detach().clone() for k, v in state.net.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = state.epoch
                state.request_stop(f"early stopping: {self.monitor} best at epoch {self.best_epoch}, "
                                   f"no better for {self.patience} epochs")

    def on_train_end(self, state: TrainState) -> None:
        """Load the best weights back into the model if asked."""
        if self.restore_best and self.best_weights is not None:
            state.net.load_state_dict(self.best_weights)

    @property
    def best_value(self) -> float:
        """The best value of the monitored metric."""
        return self.sign * self.best

    def state_dict(self) -> dict:
        """Best score, its epoch and weights, and the patience counter."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_weights": self.best_weights, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore the tracking state saved in a checkpoint."""
        for key, value in state.items():
            setattr(self, key, value)


class StopAtAccuracy(Callback):
    """Stop once `monitor` (an accuracy) reaches `threshold` (e.g. 100% training accuracy) for `times` epochs in a row."""

    def __init__(self, threshold: float = 1.0, monitor: str = "train_acc", times: int = 1) -> None:
        self.threshold = check_probability("threshold", threshold)
        self.monitor = check_choice("monitor", monitor, ACCURACIES)
        self.times, self.streak = check_positive_int("times", times), 0

    def on_epoch_end(self, state: TrainState) -> None:
        """Stop when the metric has stayed at or above the threshold long enough."""
        self.streak = self.streak + 1 if getattr(state.history, self.monitor)[-1] >= self.threshold else 0
        if self.streak >= self.times:
            state.request_stop(f"{self.monitor} reached {self.threshold:g}")

    def state_dict(self) -> dict:
        """The current streak of epochs at or above the threshold."""
        return {"streak": self.streak}

    def load_state_dict(self, state: dict) -> None:
        """Restore the streak saved in a checkpoint."""
        self.streak = state["streak"]
