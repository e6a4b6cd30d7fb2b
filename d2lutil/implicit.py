"""Implicit regularization: the minimum-norm solutions that gradient descent and kernel interpolation find,
and the two-layer ReLU network with 2n + d weights that fits any n labels (Zhang et al. 2017, Theorem 1).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .validate import check_nonnegative, check_positive_int


def min_norm_solution(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The least-squares solution of Xw = y with the smallest Euclidean norm: w = X^+ y (the pseudo-inverse)."""
    return torch.linalg.pinv(X) @ y


def gradient_descent(X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int, batch_size: int | None = None,
                     w0: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    """(Stochastic) gradient descent on ||Xw - y||^2 / (2n) from w0 (zero if None); full batch if batch_size is None.

    Each stochastic step uses `batch_size` rows drawn without replacement by a generator seeded with `seed`.
    """
    if not lr > 0:
        raise ValueError(f"lr={lr!r} is not allowed; it must be a number > 0")
    if num_steps != 0:
        check_positive_int("num_steps", num_steps)
    n = len(y)
    if batch_size is not None and not 1 <= check_positive_int("batch_size", batch_size) <= n:
        raise ValueError(f"batch_size={batch_size!r} is not allowed; it must be between 1 and n={n}")
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(X.shape[1:2] + y.shape[1:], dtype=X.dtype) if w0 is None else w0.clone().to(X.dtype)
    for _ in range(num_steps):
        Xb, yb = X, y
        if batch_size is not None:
            idx = torch.randperm(n, generator=gen)[:batch_size]
            Xb, yb = X[idx], y[idx]
        w = w - lr * Xb.T @ (Xb @ w - yb) / len(yb)
    return w


def null_space_component(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The part of w orthogonal to the row space of X: the part that no gradient of ||Xw - y||^2 ever changes."""
    return w - torch.linalg.pinv(X) @ (X @ w)


def rbf_kernel(A: torch.Tensor, B: torch.Tensor, gamma: float) -> torch.Tensor:
    """The Gaussian (RBF) kernel matrix exp(-gamma ||a - b||^2) between the rows of A and of B (flattened)."""
    if not gamma > 0:
        raise ValueError(f"gamma={gamma!r} is not allowed; it must be a number > 0")
    A, B = A.reshape(len(A), -1).double(), B.reshape(len(B), -1).double()
    return torch.exp(-gamma * torch.cdist(A, B).square())


@dataclass(frozen=True)
class KernelModel:
    """f(x) = sum_i alpha_i k(x_i, x): a kernel machine with its training inputs, coefficients and gamma."""

    X_train: torch.Tensor
    alpha: torch.Tensor
    gamma: float
    norm: float

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """The model's outputs (one column per target) on the rows of X."""
        return rbf_kernel(X, self.X_train, self.gamma) @ self.alpha


def fit_kernel(X: torch.Tensor, Y: torch.Tensor, gamma: float, ridge: float = 0.0) -> KernelModel:
    """Solve (K + ridge * n * I) alpha = Y; with ridge = 0 this is the minimum-RKHS-norm interpolant of (X, Y).

    The rows of X must be distinct when ridge = 0 (K is then invertible).
    The model's `norm` is the RKHS norm sqrt(trace(alpha^T K alpha)), summed over the target columns.
    """
    check_nonnegative("ridge", ridge)
    K = rbf_kernel(X, X, gamma)
    Y = Y.double()
    alpha = torch.linalg.solve(K + ridge * len(K) * torch.eye(len(K), dtype=K.dtype), Y)
    norm = float(torch.sqrt(torch.trace(alpha.T @ K @ alpha)))
    return KernelModel(X, alpha, gamma, norm)


def one_hot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Labels as one-hot float64 rows, the regression targets of a kernel or least-squares classifier."""
    return nn.functional.one_hot(y, num_classes).double()


def two_layer_relu(X: torch.Tensor, a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The network c(x) = sum_j w_j max(<a, x> - b_j, 0) on every row of X: d + 2n weights for n hidden units."""
    return torch.relu((X @ a)[:, None] - b[None, :]) @ w


def fit_two_layer_relu(X: torch.Tensor, y: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights (a, b, w) of a two-layer ReLU network that outputs y exactly on the n distinct rows of X.

    The construction of Zhang et al. (2017), Theorem 1: project the points on a random direction a,
    put one threshold b_j just below each projection so the hidden activations form a lower-triangular
    matrix with a positive diagonal, and solve that triangular system for the output weights w.
    """
    X, y = X.reshape(len(X), -1).double(), y.double()
    a = torch.randn(X.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    z, order = torch.sort(X @ a)
    gaps = z.diff()
    if len(gaps) and float(gaps.min()) <= 0:
        raise ValueError("the points are not distinct (two rows of X project to the same value); "
                         "remove duplicate rows, or try another seed")
    below = torch.cat([gaps[:1] if len(gaps) else torch.ones(1, dtype=z.dtype), gaps])
    b = z - below / 2
    activations = torch.relu(z[:, None] - b[None, :])
    w = torch.linalg.solve_triangular(activations, y[order][:, None], upper=False).squeeze(1)
    return a, b, w


class TwoLayerReLU(nn.Module):
    """The network sum_j w_j max(<a, x> - b_j, 0) as a module, its 2n + d weights as parameters."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> None:
        super().__init__()
        self.a, self.b, self.w = nn.Parameter(a), nn.Parameter(b), nn.Parameter(w)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """The network's output for each (flattened) row of X."""
        return two_layer_relu(X.reshape(len(X), -1).to(self.a.dtype), self.a, self.b, self.w)


def num_parameters(net: nn.Module) -> int:
    """The number of trainable weights of a network."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def sharpness(net: nn.Module, X: torch.Tensor, y: torch.Tensor, num_iters: int = 20, seed: int = 0,
              loss_fn: Callable | None = None) -> float:
    """The largest eigenvalue of the Hessian of the training loss at the current weights, by power iteration."""
    check_positive_int("num_iters", num_iters)
    loss_fn = loss_fn or nn.functional.cross_entropy
    params = [p for p in net.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss_fn(net(X), y), params, create_graph=True)
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen).to(p) for p in params]
    eigenvalue = 0.0
    for _ in range(num_iters):
        norm = torch.sqrt(sum((u * u).sum() for u in v))
        v = [u / norm for u in v]
        Hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        eigenvalue = float(sum((h * u).sum() for h, u in zip(Hv, v)))
        v = [h.detach() for h in Hv]
    return eigenvalue
