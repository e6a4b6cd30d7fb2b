"""Chapter 3, dropout: standard and inverted dropout from scratch, the implicit ensemble, Monte Carlo dropout.

Dropout is random, so the checks test what must hold for every draw (each output is either
zero or the scaled input) and what must hold on average (the fraction dropped is p), with a
tolerance of six standard deviations so that a right answer fails with negligible probability.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..registry import CheckFailed, expect_close, expect_shape, question


def reference_mc_dropout(net: nn.Module, X: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance (over samples) of the softmax probabilities with dropout active."""
    net.train()
    with torch.no_grad():
        probs = torch.stack([F.softmax(net(X), dim=1) for _ in range(num_samples)])
    net.eval()
    return probs.mean(dim=0), probs.var(dim=0, unbiased=False)


def check_dropout_draws(dropout, p: float, X: torch.Tensor, kept_scale: float, name: str) -> None:
    """In training mode every output is 0 or kept_scale * input, and the fraction dropped is about p."""
    case = f"{name}(X, p={p:.3f}, training=True) on X of shape {tuple(X.shape)}"
    out = dropout(X.clone(), p, True)
    expect_shape(out, tuple(X.shape), f"the output of {case}")
    dropped, kept = out == 0, torch.isclose(out, kept_scale * X, rtol=1e-4, atol=1e-6)
    if not (dropped | kept).all():
        raise CheckFailed(f"{case}: each output should be 0 or {kept_scale:.4g} times the input "
                          f"({'scaled by 1/(1-p)' if kept_scale != 1 else 'unscaled'}), but some are neither")
    rate, tolerance = float(dropped.float().mean()), 6 * (p * (1 - p) / X.numel()) ** 0.5 + 1e-9
    if abs(rate - p) > tolerance:
        raise CheckFailed(f"{case}: a fraction {rate:.4f} of the values was dropped; expected about p={p:.3f}")
    again = dropout(X.clone(), p, True)
    if 0 < p < 1 and torch.equal(again == 0, dropped):
        raise CheckFailed(f"{case}: two calls dropped exactly the same values; draw a new random mask on every call")


def check_dropout(dropout, gen: torch.Generator, name: str, inverted: bool) -> None:
    """Check standard (inverted=False) or inverted dropout in training and evaluation mode."""
    for p in (0.5, *(0.1 + 0.8 * torch.rand(2, generator=gen)).tolist()):
        shape = tuple(torch.randint(40, 80, (2,), generator=gen).tolist())
        X = 0.5 + torch.rand(shape, generator=gen)
        check_dropout_draws(dropout, p, X, 1 / (1 - p) if inverted else 1.0, name)
        expected_eval = X if inverted else (1 - p) * X
        rule = "the input unchanged" if inverted else "the input times (1 - p)"
        expect_close(dropout(X.clone(), p, False), expected_eval,
                     f"{name}(X, p={p:.3f}, training=False) (it should be {rule})")
    X = torch.randn(5, 7, generator=gen)
    expect_close(dropout(X.clone(), 0.0, True), X, f"{name}(X, p=0, training=True) (nothing is dropped)")
    expect_close(dropout(X.clone(), 1.0, True), torch.zeros_like(X), f"{name}(X, p=1, training=True) (everything is dropped)")


@question("03.standard_dropout", "standard_dropout", points=2)
def check_standard_dropout(standard_dropout, gen: torch.Generator) -> None:
    """standard_dropout(X, p, training) zeroes values with probability p in training and scales by 1 - p in eval."""
    check_dropout(standard_dropout, gen, "standard_dropout", inverted=False)


@question("03.inverted_dropout", "inverted_dropout", points=2)
def check_inverted_dropout(inverted_dropout, gen: torch.Generator) -> None:
    """inverted_dropout(X, p, training) zeroes with probability p and scales the rest by 1/(1-p); eval is identity."""
    check_dropout(inverted_dropout, gen, "inverted_dropout", inverted=True)


@question("03.ensemble_size", "ensemble_size", points=1)
def check_ensemble_size(ensemble_size, gen: torch.Generator) -> None:
    """ensemble_size(n) is the number of subnetworks dropout samples from with n droppable units: 2 ** n."""
    for n in (1, 100, *torch.randint(2, 300, (3,), generator=gen).tolist()):
        got = ensemble_size(n)
        if not isinstance(got, int) or got != 2 ** n:
            raise CheckFailed(f"ensemble_size({n}) should be the exact integer 2 ** {n}, got {got!r:.60}")


def random_dropout_net(gen: torch.Generator, p: float) -> tuple[nn.Module, torch.Tensor]:
    """A small MLP with dropout rate p (weights drawn from `gen`) and a batch of inputs for it."""
    n, d, hidden, k = (int(torch.randint(low, high, (), generator=gen)) for low, high in ((3, 8), (3, 8), (16, 33), (2, 6)))
    net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, k))
    with torch.no_grad():
        for w in net.parameters():
            w.copy_(torch.randn(w.shape, generator=gen))
    return net.eval(), torch.randn(n, d, generator=gen)


def expect_pair_of(got: object, shape: tuple[int, ...], what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fail unless `got` is a pair of tensors of `shape`; return it."""
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise CheckFailed(f"{what} should return a pair (mean, variance), got {type(got).__name__}")
    expect_shape(got[0], shape, f"the mean returned by {what}")
    expect_shape(got[1], shape, f"the variance returned by {what}")
    return got[0], got[1]


@question("03.mc_dropout_predict", "mc_dropout_predict", points=2)
def check_mc_dropout_predict(mc_dropout_predict, gen: torch.Generator) -> None:
    """mc_dropout_predict(net, X, num_samples): mean and variance of softmax outputs over dropout samples."""
    net, X = random_dropout_net(gen, 0.0)
    shape = (len(X), net[-1].out_features)
    mean, variance = expect_pair_of(mc_dropout_predict(net, X, 5), shape, "mc_dropout_predict")
    expect_close(mean, F.softmax(net(X), dim=1).detach(), "the mean for a network with dropout rate 0 (one softmax pass)")
    expect_close(variance, torch.zeros(shape), "the variance for a network with dropout rate 0", atol=1e-6)
    net, X = random_dropout_net(gen, 0.5)
    shape, num_samples = (len(X), net[-1].out_features), 500
    mean, variance = expect_pair_of(mc_dropout_predict(net, X, num_samples), shape, "mc_dropout_predict")
    expected_mean, expected_variance = reference_mc_dropout(net, X, num_samples)
    if float(variance.max()) < 1e-8:
        raise CheckFailed("the variance is zero for a network with dropout rate 0.5: keep dropout active while "
                          "sampling (net.train()) so each pass uses a different mask")
    expect_close(mean.sum(dim=1), torch.ones(len(X)), "the mean probabilities summed over classes (softmax first)")
    case = f"for a dropout-0.5 network on {len(X)} inputs with num_samples={num_samples} (up to sampling noise)"
    expect_close(mean, expected_mean, f"the mean {case}", atol=0.1, rtol=0)
    expect_close(variance, expected_variance, f"the variance {case}", atol=0.05, rtol=0.2)
