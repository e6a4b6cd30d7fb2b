"""Chapter 07, implicit regularization: the minimum-norm solution, gradient descent that finds it, and the
two-layer ReLU network with 2n + d weights that fits any n points (Zhang et al. 2017, Theorem 1).
"""
from __future__ import annotations

import torch

from ..registry import CheckFailed, expect_close, expect_shape, question


def reference_gradient_descent(X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int) -> torch.Tensor:
    """Gradient descent from w = 0 on the loss ||Xw - y||^2 / (2n), for `num_steps` steps."""
    w = torch.zeros(X.shape[1], dtype=X.dtype)
    for _ in range(num_steps):
        w = w - lr * X.T @ (X @ w - y) / len(y)
    return w


def reference_two_layer_relu(X: torch.Tensor, a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The network c(x) = sum_j w_j max(<a, x> - b_j, 0) on every row of X."""
    return torch.relu((X @ a)[:, None] - b[None, :]) @ w


def underdetermined_problem(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random least-squares problem in float64 with fewer equations n than unknowns d."""
    n = int(torch.randint(3, 11, (), generator=gen))
    d = n + int(torch.randint(2, 21, (), generator=gen))
    return torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(n, generator=gen, dtype=torch.float64)


@question("07.min_norm_solution", answer="min_norm_solution", points=2)
def check_min_norm_solution(min_norm_solution, gen: torch.Generator) -> None:
    """min_norm_solution(X, y) is the solution of Xw = y with the smallest Euclidean norm, for n < d."""
    for _ in range(3):
        X, y = underdetermined_problem(gen)
        case = f"for X of shape {tuple(X.shape)}"
        w = min_norm_solution(X.clone(), y.clone())
        expect_shape(w, (X.shape[1],), f"w {case}")
        expect_close(X @ w.double(), y, f"X @ w {case} (w must solve Xw = y exactly)")
        expected = torch.linalg.pinv(X) @ y
        if float(w.double().norm()) > float(expected.norm()) * (1 + 1e-4):
            raise CheckFailed(f"w solves Xw = y {case} but its norm is {float(w.double().norm()):.4f}; the smallest "
                              f"possible norm is {float(expected.norm()):.4f} (w must lie in the row space of X)")
        expect_close(w, expected, f"w {case}")


@question("07.gradient_descent", answer="gradient_descent", points=2)
def check_gradient_descent(gradient_descent, gen: torch.Generator) -> None:
    """gradient_descent(X, y, lr, num_steps) starts at w = 0 and takes steps w -= lr * X^T (Xw - y) / n."""
    X, y = underdetermined_problem(gen)
    largest = float(torch.linalg.eigvalsh(X.T @ X / len(y)).max())
    lr = (0.3 + 0.6 * float(torch.rand((), generator=gen))) / largest
    for num_steps in (0, 1, int(torch.randint(2, 20, (), generator=gen)), 300):
        case = f"for X of shape {tuple(X.shape)}, lr={lr:.4g} and num_steps={num_steps}"
        w = gradient_descent(X.clone(), y.clone(), lr, num_steps)
        expect_shape(w, (X.shape[1],), f"w {case}")
        expect_close(w, reference_gradient_descent(X, y, lr, num_steps), f"w {case}")


@question("07.two_layer_relu", answer="two_layer_relu", points=1)
def check_two_layer_relu(two_layer_relu, gen: torch.Generator) -> None:
    """two_layer_relu(X, a, b, w) computes sum_j w_j max(<a, x> - b_j, 0) for every row x of X."""
    for _ in range(3):
        n, d, m = torch.randint(2, 12, (3,), generator=gen).tolist()
        X, a = torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(d, generator=gen, dtype=torch.float64)
        b, w = torch.randn(m, generator=gen, dtype=torch.float64), torch.randn(m, generator=gen, dtype=torch.float64)
        case = f"for {n} points in {d} dimensions and {m} hidden units"
        out = two_layer_relu(X, a, b, w)
        expect_shape(out, (n,), f"the network's outputs {case}")
        expect_close(out, reference_two_layer_relu(X, a, b, w), f"the network's outputs {case}")


@question("07.fit_two_layer_relu", answer="fit_two_layer_relu", points=3)
def check_fit_two_layer_relu(fit_two_layer_relu, gen: torch.Generator) -> None:
    """fit_two_layer_relu(X, y) returns (a, b, w), 2n + d weights whose network outputs y exactly on the n rows of X."""
    for n, d in ((int(torch.randint(5, 15, (), generator=gen)), 20), (40, int(torch.randint(2, 8, (), generator=gen)))):
        X = torch.randn(n, d, generator=gen, dtype=torch.float64)
        y = 3 * torch.randn(n, generator=gen, dtype=torch.float64)
        case = f"for {n} points in {d} dimensions"
        weights = fit_two_layer_relu(X.clone(), y.clone())
        if not (isinstance(weights, (tuple, list)) and len(weights) == 3):
            raise CheckFailed(f"fit_two_layer_relu should return three tensors (a, b, w), got {type(weights).__name__}")
        for name, value, shape in zip("abw", weights, ((d,), (n,), (n,))):
            expect_shape(value, shape, f"{name} {case} (2n + d = {2 * n + d} weights: a has d, b and w have n)")
        a, b, w = (value.double() for value in weights)
        expect_close(reference_two_layer_relu(X, a, b, w), y, f"the network's outputs on the {n} points {case}",
                     atol=1e-4, rtol=1e-3)
