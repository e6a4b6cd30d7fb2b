"""Demo of chapter 4: recorded learning curves with the epoch early stopping picks and its patience window."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..callbacks import METRICS, History
from ..validate import check_choice, check_nonnegative, check_positive_int


def stopping_point(values: list[float], patience: int, min_delta: float = 0.0,
                   mode: str = "min") -> tuple[int, int | None]:
    """Replay the rule of `d2lutil.EarlyStopping` on a recorded curve: (best epoch, stop epoch or None), 1-based."""
    check_positive_int("patience", patience)
    check_nonnegative("min_delta", min_delta)
    sign = -1.0 if check_choice("mode", mode, ("min", "max")) == "min" else 1.0
    best, best_epoch, wait = -float("inf"), 0, 0
    for epoch, value in enumerate(values, 1):
        if sign * value > best + min_delta:
            best, best_epoch, wait = sign * value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, None


def early_stopping_curves(histories: Mapping[str, History], run: str, patience: int = 5, min_delta: float = 0.0,
                          monitor: str = "val_loss") -> tuple[Figure, dict[str, Any]]:
    """Plot run's loss and accuracy curves with the best epoch, the stop and the patience window between them."""
    history = histories[check_choice("run", run, tuple(histories))]
    check_choice("monitor", monitor, METRICS)
    best, stop = stopping_point(getattr(history, monitor), patience, min_delta,
                                "min" if monitor.endswith("loss") else "max")
    last = len(history)
    end = stop or last
    epochs = range(1, last + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, kind in zip(axes, ("loss", "acc")):
        ax.plot(epochs, getattr(history, f"train_{kind}"), label="training")
        ax.plot(epochs, getattr(history, f"val_{kind}"), label="validation")
        ax.axvspan(best, end, color="tab:orange", alpha=0.15, label=f"patience window ({end - best} epochs)")
        ax.axvline(best, color="tab:green", ls="--", label=f"best epoch {best} (restored)")
        if stop is not None:
            ax.axvline(stop, color="tab:red", ls=":", label=f"stopped at epoch {stop}")
        ax.set(xlabel="epoch", ylabel="loss" if kind == "loss" else "accuracy",
               title=f"{'loss' if kind == 'loss' else 'accuracy'}: {run}")
        ax.legend(fontsize=7)
    fig.suptitle(f"Early stopping on {monitor}, patience={patience}, min_delta={min_delta:g}")
    fig.tight_layout()
    return fig, {"best_epoch": best, "stopped_epoch": stop, "epochs_trained": end,
                 "epochs_saved": last - end, "val_acc_at_best": history.val_acc[best - 1],
                 "val_acc_at_end": history.val_acc[-1]}
