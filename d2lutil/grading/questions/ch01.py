"""Chapter 1, the generalization gap: accuracy, diagnosing bias and variance, and their decomposition."""
from __future__ import annotations

import torch

from ..registry import CheckFailed, expect_close, question

DIAGNOSES = ("good fit", "high bias", "high variance", "high bias and high variance")


def reference_accuracy(scores: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of rows whose highest score is at the true label."""
    return float((scores.argmax(dim=1) == y).float().mean())


def reference_diagnose(train_error: float, val_error: float, baseline_error: float = 0.0,
                       tolerance: float = 0.05) -> str:
    """Which of DIAGNOSES fits: bias is train minus baseline error, variance is validation minus train error."""
    bias, variance = train_error - baseline_error > tolerance, val_error - train_error > tolerance
    return DIAGNOSES[bias + 2 * variance]


def reference_bias_variance(predictions: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Squared bias and variance of (models, points) predictions of targets y, averaged over the points."""
    mean = predictions.mean(dim=0)
    return float(((mean - y) ** 2).mean()), float(predictions.var(dim=0, unbiased=False).mean())


@question("01.accuracy", "accuracy", points=1)
def check_accuracy(accuracy, gen: torch.Generator) -> None:
    """accuracy(scores, y) matches the fraction of correct argmax predictions on random scores."""
    n, k = int(torch.randint(5, 40, (1,), generator=gen)), int(torch.randint(2, 8, (1,), generator=gen))
    scores, y = torch.randn(n, k, generator=gen), torch.randint(0, k, (n,), generator=gen)
    expect_close(accuracy(scores, y), reference_accuracy(scores, y), f"accuracy on {n} random {k}-class scores")
    expect_close(accuracy(scores, scores.argmax(dim=1)), 1.0, "accuracy when every prediction is right")


@question("01.diagnose", "diagnose", points=2)
def check_diagnose(diagnose, gen: torch.Generator) -> None:
    """diagnose(...) names the same diagnosis as the reference on random and on textbook cases."""
    cases = [(0.002, 0.28, 0.0), (0.15, 0.17, 0.01), (0.15, 0.30, 0.0), (0.03, 0.05, 0.01)]
    cases += [tuple(sorted(torch.rand(2, generator=gen).mul(0.4).tolist())) + (float(torch.rand(1, generator=gen)) * 0.05,)
              for _ in range(20)]
    for train_error, val_error, baseline in cases:
        got, expected = diagnose(train_error, val_error, baseline), reference_diagnose(train_error, val_error, baseline)
        if got != expected:
            raise CheckFailed(f"diagnose({train_error:.3f}, {val_error:.3f}, {baseline:.3f}) should be "
                              f"{expected!r}, got {got!r}")


@question("01.bias_variance", "bias_variance", points=2)
def check_bias_variance(bias_variance, gen: torch.Generator) -> None:
    """bias_variance(predictions, y) returns the reference squared bias and variance on random predictions."""
    models, points = int(torch.randint(2, 9, (1,), generator=gen)), int(torch.randint(3, 30, (1,), generator=gen))
    y = torch.randn(points, generator=gen)
    predictions = y + 0.5 * torch.randn(points, generator=gen) + torch.randn(models, points, generator=gen)
    got = bias_variance(predictions, y)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"bias_variance should return a pair (bias_squared, variance), got {got!r}")
    bias, variance = reference_bias_variance(predictions, y)
    expect_close(got[0], bias, f"the squared bias of {models} models' predictions at {points} points")
    expect_close(got[1], variance, f"the variance of {models} models' predictions at {points} points")
