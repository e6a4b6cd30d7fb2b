"""Chapter 08, generalization in deep learning: a uniform-convergence bound and two norm-based capacity measures.

The bound shows why counting hypotheses says nothing about a large network; the l2 path norm
(Neyshabur et al. 2015) and the product of spectral norms (an upper bound on a ReLU network's
Lipschitz constant, the core of Bartlett et al. 2017) are the measures that do track generalization.
Each check draws bias-free networks of random depth and widths, and random bound arguments.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..registry import CheckFailed, expect_close, question


def reference_occam_bound(train_error: float, n: int, log_num_hypotheses: float, delta: float) -> float:
    """train error + sqrt((ln|H| + ln(1/delta)) / (2n)): Hoeffding's inequality and a union bound over H."""
    return train_error + math.sqrt((log_num_hypotheses + math.log(1 / delta)) / (2 * n))


def reference_path_norm(weights: list[torch.Tensor]) -> float:
    """The l2 path norm: the square root of the sum, over all input-output paths, of the product of squared weights."""
    squared = torch.ones(weights[0].shape[1], dtype=torch.float64)
    for W in weights:
        squared = W.double() ** 2 @ squared
    return float(squared.sum().sqrt())


def reference_lipschitz_bound(weights: list[torch.Tensor]) -> float:
    """The product of the layers' spectral norms (largest singular values)."""
    return math.prod(float(torch.linalg.matrix_norm(W.double(), ord=2)) for W in weights)


def random_weights(gen: torch.Generator) -> list[torch.Tensor]:
    """The weight matrices (out, in) of a bias-free network of 2 to 4 layers, hidden widths 2 to 8."""
    depth = int(torch.randint(2, 5, (), generator=gen))
    widths = [int(torch.randint(1, 9, (), generator=gen)), *torch.randint(2, 9, (depth - 1,), generator=gen).tolist(),
              int(torch.randint(1, 5, (), generator=gen))]
    return [torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) / n_in ** 0.5
            for n_in, n_out in zip(widths[:-1], widths[1:])]


def describe(weights: list[torch.Tensor]) -> str:
    """The shapes of a list of weight matrices, for a failure message."""
    return "weights of shapes " + ", ".join(str(tuple(W.shape)) for W in weights)


@question("08.occam_bound", answer="occam_bound", points=1)
def check_occam_bound(occam_bound, gen: torch.Generator) -> None:
    """occam_bound(train_error, n, log_num_hypotheses, delta) is the finite-class bound on the test error."""
    for _ in range(5):
        train_error, delta = 0.3 * float(torch.rand((), generator=gen)), 0.001 + 0.2 * float(torch.rand((), generator=gen))
        n = int(torch.randint(10, 100_000, (), generator=gen))
        log_num_hypotheses = float(10 ** (6 * torch.rand((), generator=gen)))
        case = (f"occam_bound({train_error:.4f}, n={n}, log_num_hypotheses={log_num_hypotheses:.4g}, "
                f"delta={delta:.4f})")
        expect_close(occam_bound(train_error, n, log_num_hypotheses, delta),
                     reference_occam_bound(train_error, n, log_num_hypotheses, delta), case)


def one_number(answer: Callable, weights: list[torch.Tensor], name: str) -> object:
    """Call `answer` on copies of `weights`; fail unless it returns a single number."""
    got = answer([W.clone() for W in weights])
    if isinstance(got, torch.Tensor) and got.numel() != 1:
        raise CheckFailed(f"{name} should return one number, got a tensor of shape {tuple(got.shape)}")
    return got


@question("08.path_norm", answer="path_norm", points=2)
def check_path_norm(path_norm, gen: torch.Generator) -> None:
    """path_norm(weights) is the l2 path norm of the bias-free network with these weight matrices."""
    for _ in range(4):
        weights = random_weights(gen)
        got = one_number(path_norm, weights, "path_norm")
        expect_close(got, reference_path_norm(weights), f"the path norm for {describe(weights)}")


@question("08.lipschitz_bound", answer="lipschitz_bound", points=2)
def check_lipschitz_bound(lipschitz_bound, gen: torch.Generator) -> None:
    """lipschitz_bound(weights) is the product of the weight matrices' spectral norms."""
    for _ in range(4):
        weights = random_weights(gen)
        got = one_number(lipschitz_bound, weights, "lipschitz_bound")
        expected = reference_lipschitz_bound(weights)
        frobenius = math.prod(float(W.norm()) for W in weights)
        if abs(float(got) - frobenius) < 1e-6 * frobenius < abs(expected - frobenius):
            raise CheckFailed(f"for {describe(weights)} you returned the product of Frobenius norms ({frobenius:.6g}); "
                              f"use the spectral norm, the largest singular value (expected {expected:.6g})")
        expect_close(got, expected, f"the product of spectral norms for {describe(weights)}")
