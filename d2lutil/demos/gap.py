"""Chapter 1's experiments: bias and variance, training and summarizing MLPs, the gap versus training-set size."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..models import make_model
from ..regularizers.penalties import penalized_loss, weight_norm
from ..callbacks import Callback, History, TrainState
from ..train import fit
from ..validate import check_nonnegative, check_positive_int


def true_function(x: np.ndarray) -> np.ndarray:
    """The regression target of the bias-variance experiment: sin(2 pi x) on [0, 1]."""
    return np.sin(2 * np.pi * x)


def bias_variance(degrees: Sequence[int], n_train: int = 20, n_datasets: int = 300, noise: float = 0.3,
                  n_test: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Fit a polynomial of each degree to many noisy training sets; estimate bias^2, variance and expected test MSE.

    The inputs are `n_train` evenly spaced points in [0, 1]; each training set draws fresh noise on the
    targets. The expected test MSE is measured on fresh noisy targets, independently of the three terms,
    so the decomposition MSE = bias^2 + variance + noise^2 can be checked on the numbers.
    """
    check_positive_int("n_train", n_train)
    check_positive_int("n_datasets", n_datasets)
    noise = check_nonnegative("noise", noise)
    for degree in degrees:
        if isinstance(degree, bool) or not isinstance(degree, int) or not 0 <= degree < n_train:
            raise ValueError(f"degree={degree!r} is not allowed; it must be an integer in [0, n_train)")
    rng = np.random.default_rng(seed)
    x_train, x_test = np.linspace(0, 1, n_train), rng.uniform(0, 1, n_test)
    f_test = true_function(x_test)
    ys = true_function(x_train) + noise * rng.standard_normal((n_datasets, n_train))
    y_new = f_test + noise * rng.standard_normal((n_datasets, n_test))
    rows = []
    for degree in degrees:
        preds = np.stack([np.polynomial.Polynomial.fit(x_train, y, degree)(x_test) for y in ys])
        mean = preds.mean(axis=0)
        rows.append((((mean - f_test) ** 2).mean(), preds.var(axis=0).mean(), ((preds - y_new) ** 2).mean()))
    bias2, variance, mse = map(np.array, zip(*rows))
    return {"degree": np.array(degrees), "bias2": bias2, "variance": variance,
            "noise": np.full(len(rows), noise ** 2), "expected_mse": mse}


class WeightNormHistory(Callback):
    """Record the weight norm of the model after every epoch (a measure of its effective complexity)."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_epoch_end(self, state: TrainState) -> None:
        """Append this epoch's weight norm."""
        self.norms.append(weight_norm(state.net))


def train_mlp(data: Dataset, width: int, num_epochs: int, lr: float = 1e-3, batch_size: int = 32,
              lam: float = 0.0, seed: int = 0, device: torch.device | str | None = None,
              progress: bool = False, desc: str = "training", callbacks: Sequence[Callback] = (),
              **fit_kw: Any) -> tuple[nn.Module, History]:
    """Train a fresh one-hidden-layer MLP of `width` units, initialized from `seed`, with Adam on loss + lam * L2.

    `fit_kw` goes to `fit` (the fast path: amp, channels_last, compile_model).
    """
    net = make_model("mlp", data.input_shape, data.num_classes, hidden=[check_positive_int("width", width)], seed=seed)
    history = fit(net, data, num_epochs, optimizer=torch.optim.Adam(net.parameters(), lr=lr),
                  batch_size=batch_size, loss_fn=penalized_loss(net, "l2", lam), callbacks=callbacks,
                  device=device, seed=seed, progress=progress, desc=desc, **fit_kw)
    return net, history


def summarize(net: nn.Module, history: History) -> dict[str, float]:
    """The final losses and accuracies of a run, its generalization gaps, size and weight norm."""
    return {"train_loss": history.train_loss[-1], "val_loss": history.val_loss[-1],
            "train_acc": history.train_acc[-1], "val_acc": history.val_acc[-1],
            "gap": history.train_acc[-1] - history.val_acc[-1],
            "loss_gap": history.val_loss[-1] - history.train_loss[-1],
            "num_params": sum(p.numel() for p in net.parameters()), "weight_norm": weight_norm(net)}


def gap_vs_train_size(data: Dataset, sizes: Sequence[int], width: int, num_epochs: int,
                      split_seed: int = 0, **train_kw: Any) -> list[dict[str, float]]:
    """Train the same MLP on random training subsets of each size (drawn from `split_seed`) and summarize each run."""
    return [summarize(*train_mlp(data.subset(n_train=n, seed=split_seed), width, num_epochs,
                                 desc=f"n_train {n}", **train_kw)) for n in sizes]


def signs_of_overfitting(history: History, norms: Sequence[float]) -> dict[str, dict[str, float]]:
    """One run's underfit (first epoch), good fit (lowest validation loss) and overfit (last epoch) rows."""
    best = int(np.argmin(history.val_loss))
    return {name: {"epoch": i + 1, "train_loss": history.train_loss[i], "val_loss": history.val_loss[i],
                   "val_acc": history.val_acc[i], "loss_gap": history.val_loss[i] - history.train_loss[i], "weight_norm": norms[i]}
            for name, i in (("underfit", 0), ("good fit", best), ("overfit", len(history) - 1))}
