"""Chapter 2's demo: a 2-D classification problem whose decision boundary smooths as the L2 penalty lambda grows."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from ..regularizers.penalties import penalized_loss, weight_norm
from ..validate import check_nonnegative, check_positive_int

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
LIMITS = ((-2.0, 3.0), (-1.5, 2.0))


def two_moons(n_points: int = 40, noise: float = 0.35, n_test: int = 500, seed: int = 0) -> Split:
    """Two interleaved half-moons with Gaussian noise: (X_train, y_train, X_test, y_test)."""
    from sklearn.datasets import make_moons

    n_points, n_test = check_positive_int("n_points", n_points), check_positive_int("n_test", n_test)
    X, y = make_moons(n_samples=n_points + n_test, noise=check_nonnegative("noise", noise), random_state=seed)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)
    return X[:n_points], y[:n_points], X[n_points:], y[n_points:]


def train_classifier(X: torch.Tensor, y: torch.Tensor, weight_decay: float, hidden: int = 100, steps: int = 800,
                     lr: float = 0.02, seed: int = 0) -> nn.Module:
    """Train a two-hidden-layer MLP full-batch with Adam on cross-entropy + weight_decay * ||w||^2 / 2."""
    hidden = check_positive_int("hidden", hidden)
    with torch.random.fork_rng(devices=[]):  # the initialization comes from `seed`; the caller's RNG is left alone
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    loss_fn = penalized_loss(net, "l2", weight_decay)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(check_positive_int("steps", steps)):
        optimizer.zero_grad()
        loss_fn(net(X), y).backward()
        optimizer.step()
    return net.eval()


def grid(resolution: int = 100) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A resolution x resolution grid over the plotting window: (xx, yy, points as an (N, 2) tensor)."""
    (x0, x1), (y0, y1) = LIMITS
    xx, yy = torch.meshgrid(torch.linspace(x0, x1, resolution), torch.linspace(y0, y1, resolution), indexing="xy")
    return xx, yy, torch.stack([xx.flatten(), yy.flatten()], dim=1)


def roughness(net: nn.Module, points: torch.Tensor) -> float:
    """How steeply the score changes: the mean norm of the input gradient of the class-1-minus-class-0 margin."""
    points = points.clone().requires_grad_()
    scores = net(points)
    (grad,) = torch.autograd.grad((scores[:, 1] - scores[:, 0]).sum(), points)
    return float(grad.norm(dim=1).mean())


@torch.no_grad()
def accuracy(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of points in X that `net` classifies as y."""
    return float((net(X).argmax(dim=1) == y).float().mean())


def plot_boundary(net: nn.Module, X: torch.Tensor, y: torch.Tensor, ax: Axes, title: str) -> None:
    """Shade the predicted probability of class 1, draw the decision boundary, scatter the training points."""
    xx, yy, points = grid()
    with torch.no_grad():
        prob = torch.softmax(net(points), dim=1)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, prob, levels=20, cmap="RdBu_r", alpha=0.6, vmin=0, vmax=1)
    ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=1.5)
    for label, marker in ((0, "o"), (1, "s")):
        ax.scatter(*X[y == label].T, marker=marker, edgecolor="k", c=f"C{3 * label}", label=f"class {label}")
    ax.plot([], [], c="k", label="decision boundary")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.legend(loc="lower left", fontsize=8)


def boundary_demo(weight_decay: float = 0.01, n_points: int = 40, noise: float = 0.35, hidden: int = 100,
                  steps: int = 800, seed: int = 0) -> tuple[Figure, dict[str, dict[str, float]]]:
    """Train the same network with lambda = 0 and with `weight_decay`; draw both decision boundaries.

    Returns the figure and, for each run ('unregularized', 'regularized'), its lambda, training and test
    accuracy, weight norm and roughness (see `roughness`).
    """
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    X, y, X_test, y_test = two_moons(n_points, noise, seed=seed)
    _, _, points = grid()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    numbers = {}
    for ax, (name, lam) in zip(axes, (("unregularized", 0.0), ("regularized", weight_decay))):
        net = train_classifier(X, y, lam, hidden, steps, seed=seed)
        numbers[name] = {"lambda": lam, "train_acc": accuracy(net, X, y), "test_acc": accuracy(net, X_test, y_test),
                         "weight_norm": weight_norm(net), "roughness": roughness(net, points)}
        plot_boundary(net, X, y, ax, f"$\\lambda$={lam:.3g}: train acc {numbers[name]['train_acc']:.2f}, "
                                     f"test acc {numbers[name]['test_acc']:.2f}")
    fig.suptitle(f"Weight decay smooths the decision boundary ({n_points} noisy points, {hidden}x{hidden} MLP)")
    fig.tight_layout()
    return fig, numbers
