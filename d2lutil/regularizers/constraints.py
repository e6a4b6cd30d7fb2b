"""Constraints on the optimization: gradient clipping, gradient-norm monitoring, max-norm, noise injection.

The clipping and max-norm constraints are `d2lutil.Callback`s: `fit` calls `on_before_step`
between the backward pass and the optimizer step, and `on_batch_end` after the step.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..callbacks import Callback, TrainState
from ..validate import check_choice, check_nonnegative, check_positive

CLIP_MODES = ("norm", "value")
CONSTRAINED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def gradient_norm(parameters: Iterable[nn.Parameter]) -> float:
    """The L2 norm of all gradients together, as if they were one long vector."""
    grads = [p.grad.detach().flatten() for p in parameters if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.cat(grads))) if grads else 0.0


def clip_gradients(parameters: Iterable[nn.Parameter], threshold: float, mode: str = "norm") -> None:
    """Rescale all gradients so their joint norm is at most `threshold` ('norm'), or clamp each entry ('value')."""
    check_choice("mode", mode, CLIP_MODES)
    threshold = check_positive("threshold", threshold)
    if mode == "norm":
        nn.utils.clip_grad_norm_(parameters, threshold)
    else:
        nn.utils.clip_grad_value_(parameters, threshold)


class GradientClipping(Callback):
    """Clip the gradients before every optimizer step, by joint norm or by value (see `clip_gradients`)."""

    def __init__(self, threshold: float = 1.0, mode: str = "norm") -> None:
        self.threshold, self.mode = check_positive("threshold", threshold), check_choice("mode", mode, CLIP_MODES)

    def on_before_step(self, state: TrainState) -> None:
        """Clip the gradients the backward pass just left in the parameters."""
        clip_gradients(state.net.parameters(), self.threshold, self.mode)


class GradientNormMonitor(Callback):
    """Record the joint gradient norm at every step; put it before or after a clipping callback to see either."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_before_step(self, state: TrainState) -> None:
        """Append the current gradient norm."""
        self.norms.append(gradient_norm(state.net.parameters()))

    def state_dict(self) -> dict:
        """The norms recorded so far."""
        return {"norms": list(self.norms)}

    def load_state_dict(self, state: dict) -> None:
        """Restore the recorded norms."""
        self.norms = list(state["norms"])


def constrained_weights(net: nn.Module) -> list[torch.Tensor]:
    """The weights of every linear and convolutional layer (biases and normalization layers excluded)."""
    return [m.weight for m in net.modules() if isinstance(m, CONSTRAINED_LAYERS)]


def unit_norms(net: nn.Module) -> torch.Tensor:
    """The L2 norm of each unit's (or filter's) incoming weight vector, over all constrained layers."""
    return torch.cat([w.detach().flatten(1).norm(dim=1) for w in constrained_weights(net)])


@torch.no_grad()
def apply_max_norm(net: nn.Module, max_norm: float) -> None:
    """Project each unit's incoming weights back onto the ball ||w|| <= max_norm (Srivastava et al., 2014)."""
    max_norm = check_positive("max_norm", max_norm)
    for w in constrained_weights(net):
        w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=max_norm))


class MaxNorm(Callback):
    """Apply the max-norm constraint after every optimizer step."""

    def __init__(self, max_norm: float = 3.0) -> None:
        self.max_norm = check_positive("max_norm", max_norm)

    def on_batch_end(self, state: TrainState) -> None:
        """Renormalize the weights the optimizer just changed."""
        apply_max_norm(state.net, self.max_norm)


class GaussianNoise(nn.Module):
    """Noise injection: add N(0, std^2) noise to its input while training; the identity in eval mode."""

    def __init__(self, std: float = 0.1) -> None:
        super().__init__()
        self.std = check_nonnegative("std", std)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """X plus fresh Gaussian noise in training mode, X unchanged otherwise."""
        if not self.training or self.std == 0:
            return X
        return X + self.std * torch.randn_like(X)

    def extra_repr(self) -> str:
        return f"std={self.std}"
