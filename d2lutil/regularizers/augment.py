"""Data augmentation on tensors already on the device, as a function of (X, y, generator)."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..train import Augment
from ..validate import check_nonnegative_int


def random_crop(X: torch.Tensor, generator: torch.Generator, padding: int = 2) -> torch.Tensor:
    """Zero-pad each image by `padding` and crop it back at a random offset (a random translation)."""
    check_nonnegative_int("padding", padding)
    n, c, h, w = X.shape
    padded = F.pad(X, (padding,) * 4)
    dy, dx = (torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(X.device) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h, device=X.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=X.device))[:, None, None, :]
    batch = torch.arange(n, device=X.device)[:, None, None, None]
    channel = torch.arange(c, device=X.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_flip(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = (torch.rand(len(X), generator=generator) < 0.5).to(X.device)
    return torch.where(flip[:, None, None, None], X.flip(-1), X)


def make_augment(padding: int = 1, flip: bool = False) -> Augment:
    """An augmentation for `fit`: random translation by up to `padding` pixels, and optional flips."""
    check_nonnegative_int("padding", padding)

    def augment(X: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Randomly translate (and flip) a batch; the labels pass through."""
        if padding:
            X = random_crop(X, generator, padding)
        if flip:
            X = random_flip(X, generator)
        return X, y

    return augment
