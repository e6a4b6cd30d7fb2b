"""Stochastic depth (Huang et al., 2016): randomly skip whole residual branches while training."""
from __future__ import annotations

import torch
from torch import nn

from ..validate import check_drop_rate, check_positive_int, check_seed


def keep_examples(X: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """One coin per example, True (kept) with probability 1 - p, shaped (N, 1, ..., 1) to broadcast over X."""
    shape = (X.shape[0],) + (1,) * (X.ndim - 1)
    return torch.rand(shape, generator=generator, device=X.device) >= check_drop_rate("p", p)


def scale_kept(X: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:
    """Zero the dropped examples and scale the kept ones by 1 / (1 - p), so the expected value is X."""
    return X * keep.to(X.dtype) / (1 - p)


def drop_path(X: torch.Tensor, p: float, training: bool = True,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero each example's whole tensor with probability p and scale the kept ones by 1 / (1 - p)."""
    if not training or check_drop_rate("p", p) == 0:
        return X
    return scale_kept(X, keep_examples(X, p, generator), p)


class DropPath(nn.Module):
    """`drop_path` as a layer: active in training mode, the identity in eval mode."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = check_drop_rate("p", p)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Drop whole examples of X with probability p while training."""
        return drop_path(X, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def linear_drop_rates(num_blocks: int, final_rate: float) -> list[float]:
    """The linear decay rule: block l of L (1-based) is dropped with probability (l / L) * final_rate."""
    check_positive_int("num_blocks", num_blocks)
    check_drop_rate("final_rate", final_rate)
    return [final_rate * block / num_blocks for block in range(1, num_blocks + 1)]


def conv3x3(channels: int, batch_norm: bool) -> list[nn.Module]:
    """A 3x3 same-size convolution, followed by batch normalization if asked."""
    return [nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)] + (
        [nn.BatchNorm2d(channels)] if batch_norm else [])


class ResidualBlock(nn.Module):
    """relu(X + DropPath(conv-bn-relu-conv-bn(X))): a residual block whose branch stochastic depth may skip."""

    def __init__(self, channels: int, drop_rate: float = 0.0, batch_norm: bool = True) -> None:
        super().__init__()
        self.branch = nn.Sequential(*conv3x3(channels, batch_norm), nn.ReLU(), *conv3x3(channels, batch_norm))
        self.drop_path = DropPath(drop_rate)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Add the (possibly dropped) residual branch to the identity path."""
        return torch.relu(X + self.drop_path(self.branch(X)))


class SmallResNet(nn.Module):
    """A stem convolution, `num_blocks` residual blocks with linearly decaying survival, pooling, a linear head.

    The features are average-pooled to a `pooled_size` x `pooled_size` grid (not to one value per
    channel), so the head still sees where a stroke is: on 8x8 digits this learns far faster. With a
    seed the initial weights depend on it alone and torch's global random state is left as it was.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, channels: int = 16, num_blocks: int = 3,
                 drop_path: float = 0.0, batch_norm: bool = True, pooled_size: int = 4,
                 seed: int | None = None) -> None:
        super().__init__()
        check_positive_int("channels", channels)
        check_positive_int("pooled_size", pooled_size)
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(check_seed("seed", seed))
            self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=not batch_norm),
                                      *([nn.BatchNorm2d(channels)] if batch_norm else []), nn.ReLU())
            self.blocks = nn.Sequential(*(ResidualBlock(channels, rate, batch_norm)
                                          for rate in linear_drop_rates(num_blocks, drop_path)))
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(pooled_size), nn.Flatten(),
                                      nn.Linear(channels * pooled_size**2, num_classes))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Class scores for a batch of images."""
        return self.head(self.blocks(self.stem(X)))
