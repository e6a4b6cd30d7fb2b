"""Chapter 8's experiments: 1-nearest-neighbour as an interpolating method, and double descent in the width
of a two-layer network whose random ReLU first layer is fixed and whose output layer is the minimum-norm fit.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..corruptions import corrupt_labels
from ..data import load_dataset
from ..implicit import min_norm_solution, one_hot
from ..validate import check_positive_int, check_probability


def nearest_neighbor_predict(X_train: torch.Tensor, y_train: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """The label of each row of X's nearest training point (Euclidean distance): 1-NN classification."""
    distances = torch.cdist(X.reshape(len(X), -1).double(), X_train.reshape(len(X_train), -1).double())
    return y_train[distances.argmin(dim=1)]


def random_relu_features(X: torch.Tensor, width: int, seed: int = 0) -> torch.Tensor:
    """relu(X W / sqrt(d)) for a Gaussian d x width matrix W drawn from `seed`: a fixed random first layer."""
    check_positive_int("width", width)
    X = X.reshape(len(X), -1).double()
    W = torch.randn(X.shape[1], width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return torch.relu(X @ W / X.shape[1] ** 0.5)


def random_features_errors(X_train: torch.Tensor, y_train: torch.Tensor, X_val: torch.Tensor, y_val: torch.Tensor,
                           width: int, num_classes: int, seed: int = 0) -> dict[str, float]:
    """Training and validation error (and validation squared error) of random ReLU features of `width` with a
    min-norm output layer."""
    F_train = random_relu_features(X_train, width, seed)
    F_val = random_relu_features(X_val, width, seed)
    W_out = min_norm_solution(F_train, one_hot(y_train, num_classes))
    scores_train, scores_val = F_train @ W_out, F_val @ W_out
    return {"train_error": float((scores_train.argmax(1) != y_train).double().mean()),
            "val_error": float((scores_val.argmax(1) != y_val).double().mean()),
            "val_mse": float((scores_val - one_hot(y_val, num_classes)).square().sum(1).mean())}


def double_descent_curve(X_train: torch.Tensor, y_train: torch.Tensor, X_val: torch.Tensor, y_val: torch.Tensor,
                         widths: Sequence[int], num_classes: int, num_draws: int = 3,
                         seed: int = 0) -> dict[str, list[float]]:
    """Errors of random-features models per width, each averaged over `num_draws` random first layers."""
    check_positive_int("num_draws", num_draws)
    curve: dict[str, list[float]] = {"widths": [check_positive_int("width", w) for w in widths],
                                     "train_error": [], "val_error": [], "val_mse": []}
    for width in widths:
        draws = [random_features_errors(X_train, y_train, X_val, y_val, width, num_classes, seed * 1000 + draw)
                 for draw in range(num_draws)]
        for key in ("train_error", "val_error", "val_mse"):
            curve[key].append(sum(d[key] for d in draws) / num_draws)
    return curve


def widths_around(n_train: int, factors: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2,
                                                            3.5, 5, 10, 15)) -> list[int]:
    """Widths at the given multiples of the interpolation threshold (width = n_train), sorted and distinct."""
    check_positive_int("n_train", n_train)
    return sorted({max(1, round(f * n_train)) for f in factors})


def double_descent_demo(label_noise: float = 0.2, n_train: int = 200, num_draws: int = 2, seed: int = 0,
                        split_seed: int = 0) -> tuple[Figure, dict[str, float]]:
    """Double descent on digits: validation error against width with and without `label_noise`; figure and numbers.

    `split_seed` draws the data split, the training subset and the noisy labels; `seed` the random first layers.
    """
    check_probability("label_noise", label_noise)
    data = load_dataset("digits", n_train=check_positive_int("n_train", n_train), seed=split_seed)
    widths = widths_around(len(data.y_train))
    noisy = corrupt_labels(data.y_train, label_noise, data.num_classes, torch.Generator().manual_seed(split_seed))
    curves = {name: double_descent_curve(data.X_train, labels, data.X_val, data.y_val, widths, data.num_classes,
                                         num_draws, seed)
              for name, labels in (("clean labels", data.y_train), (f"{label_noise:.0%} label noise", noisy))}
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, curve in curves.items():
        ax.plot(widths, curve["val_error"], marker="o", label=f"validation error, {name}")
    ax.plot(widths, curves[f"{label_noise:.0%} label noise"]["train_error"], ls=":", c="gray",
            label="training error (noisy labels)")
    ax.axvline(len(data.y_train), ls="--", c="k", label="interpolation threshold: width = n")
    ax.set(xscale="log", xlabel="width (random ReLU features)", ylabel="error", ylim=(0, 1),
           title=f"Double descent on {len(data.y_train)} digits")
    ax.legend(fontsize=8)
    noisy_curve = curves[f"{label_noise:.0%} label noise"]
    peak = max(range(len(widths)), key=lambda i: noisy_curve["val_error"][i])
    return fig, {"peak_width": float(widths[peak]), "peak_val_error": noisy_curve["val_error"][peak],
                 "widest_val_error": noisy_curve["val_error"][-1],
                 "clean_widest_val_error": curves["clean labels"]["val_error"][-1]}
