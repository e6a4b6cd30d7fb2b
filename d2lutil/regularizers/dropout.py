"""Dropout from scratch (Srivastava et al., 2014): standard and inverted, Monte Carlo dropout, the ensemble view.

Standard dropout keeps each unit with probability 1 - p while training and multiplies by 1 - p at
test time; inverted dropout (what `nn.Dropout` does) divides the kept units by 1 - p while training
and is the identity at test time. Both keep the expected activation equal to the test-time one.
"""
from __future__ import annotations

import itertools

import torch
from torch import nn

from ..validate import check_choice, check_drop_rate, check_positive_int, check_probability, check_seed

DROPOUT_KINDS = ("inverted", "standard")
DROPOUT_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def keep_mask(X: torch.Tensor, p: float, channelwise: bool = False,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """A 0/1 mask in X's dtype, on X's device, keeping each entry (or each whole channel) with probability 1 - p."""
    check_probability("p", p)
    shape = X.shape[:2] + (1,) * (X.ndim - 2) if channelwise else X.shape
    return (torch.rand(shape, device=X.device, generator=generator) >= p).to(X.dtype)


def dropout(X: torch.Tensor, p: float, training: bool = True, kind: str = "inverted", channelwise: bool = False,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Drop each entry (or channel, if `channelwise`) of X with probability p, the `kind` way (see DROPOUT_KINDS)."""
    check_choice("kind", kind, DROPOUT_KINDS)
    check_probability("p", p)
    if not training:
        return X if kind == "inverted" else X * (1 - p)
    if p == 1:
        return torch.zeros_like(X)
    kept = X * keep_mask(X, p, channelwise, generator)
    return kept / (1 - p) if kind == "inverted" else kept


class Dropout(nn.Module):
    """`dropout` as a layer: random masks in training mode, the test-time rule in eval mode."""

    def __init__(self, p: float = 0.5, kind: str = "inverted", channelwise: bool = False) -> None:
        super().__init__()
        self.p, self.kind = check_probability("p", p), check_choice("kind", kind, DROPOUT_KINDS)
        self.channelwise = channelwise

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Apply dropout with this layer's rate, kind and mode."""
        return dropout(X, self.p, self.training, self.kind, self.channelwise)

    def extra_repr(self) -> str:
        return f"p={self.p}, kind={self.kind!r}, channelwise={self.channelwise}"


def is_dropout(module: nn.Module) -> bool:
    """True for the dropout layers of torch and of this module."""
    return isinstance(module, (Dropout, *DROPOUT_LAYERS))


@torch.no_grad()
def mc_dropout_predict(net: nn.Module, X: torch.Tensor, num_samples: int = 30,
                       seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo dropout: the mean and variance of the softmax over `num_samples` passes with dropout on.

    Only the dropout layers are switched to training mode (batch normalization keeps its running
    statistics); every mode is restored afterwards. With a `seed` the masks come from it and the caller's
    global RNG is left as it was. Returns two (N, K) tensors.
    """
    check_positive_int("num_samples", num_samples)
    modes = {module: module.training for module in net.modules()}
    net.eval()
    for module in net.modules():
        module.train(is_dropout(module))
    devices = [X.device] if X.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(check_seed("seed", seed))
            probs = torch.stack([net(X).softmax(dim=1) for _ in range(num_samples)])
    finally:
        for module, mode in modes.items():
            module.training = mode
    return probs.mean(dim=0), probs.var(dim=0, unbiased=False)


def predictive_entropy(probs: torch.Tensor) -> torch.Tensor:
    """The entropy (in nats) of each row of class probabilities: 0 when certain, log K when uniform."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(dim=1)


def all_keep_masks(n: int) -> torch.Tensor:
    """All 2**n keep-masks of n units, one per row: the thinned networks of the ensemble view."""
    check_positive_int("n", n)
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)))


def mask_probabilities(masks: torch.Tensor, p: float) -> torch.Tensor:
    """The probability of each keep-mask (row) when every unit is dropped independently with probability p."""
    check_probability("p", p)
    kept = masks.sum(dim=1)
    return (1 - p) ** kept * p ** (masks.shape[1] - kept)


def thinned_outputs(hidden: torch.Tensor, head: nn.Module, masks: torch.Tensor, p: float,
                    kind: str = "inverted") -> torch.Tensor:
    """The head's outputs of every thinned network, (M, N, K): hidden units (N, n) times each mask of (M, n)."""
    check_choice("kind", kind, DROPOUT_KINDS)
    scale = 1 / (1 - check_drop_rate("p", p)) if kind == "inverted" else 1.0
    return head(hidden.unsqueeze(0) * masks.unsqueeze(1) * scale)


def ensemble_mean(outputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted mean over the first dimension (the thinned networks) of their outputs."""
    return torch.tensordot(weights / weights.sum(), outputs, dims=1)
