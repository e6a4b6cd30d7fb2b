"""Mixup and CutMix: train on blends of two examples whose labels are blended in the same proportion.

Each function here is an augment for `d2lutil.fit`: it takes a batch (X, y) on the device and a
seeded generator and returns the mixed batch with soft labels (rows of class probabilities),
which `nn.CrossEntropyLoss` accepts as targets.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from ..train import Augment
from ..validate import check_choice, check_positive, check_positive_int
from .targets import to_probabilities

MIXINGS = ("mixup", "cutmix")
IMPLEMENTATIONS = ("scratch", "torchvision")


def draw_seed(generator: torch.Generator) -> int:
    """Draw a fresh integer seed from `generator`, to seed a library that cannot take the generator itself."""
    return int(torch.randint(2**62, (1,), generator=generator))


def sample_lambda(alpha: float, generator: torch.Generator) -> float:
    """Draw the mixing weight lambda ~ Beta(alpha, alpha), reproducibly from `generator`."""
    return float(np.random.default_rng(draw_seed(generator)).beta(check_positive("alpha", alpha), alpha))


def mix(X: torch.Tensor, Y: torch.Tensor, lam: float, partner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mixup formula: lam * x_i + (1 - lam) * x_partner(i), and the same for the probability rows Y."""
    return lam * X + (1 - lam) * X[partner], lam * Y + (1 - lam) * Y[partner]


def mixup(X: torch.Tensor, y: torch.Tensor, generator: torch.Generator, alpha: float = 0.2,
          num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each example with a random partner, lam ~ Beta(alpha, alpha): see `mix`."""
    lam = sample_lambda(alpha, generator)
    partner = torch.randperm(len(X), generator=generator).to(X.device)
    return mix(X, to_probabilities(y, check_positive_int("num_classes", num_classes)), lam, partner)


def cut_box(height: int, width: int, lam: float, generator: torch.Generator) -> tuple[int, int, int, int]:
    """A box (top, bottom, left, right) of area about (1 - lam) of the image, centred at a random pixel, clipped."""
    cy, cx = (int(torch.randint(size, (1,), generator=generator)) for size in (height, width))
    half_h, half_w = (int(0.5 * math.sqrt(1 - lam) * size) for size in (height, width))
    return max(cy - half_h, 0), min(cy + half_h, height), max(cx - half_w, 0), min(cx + half_w, width)


def paste(X: torch.Tensor, Y: torch.Tensor, box: tuple[int, int, int, int],
          partner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The CutMix formula: the partner's pixels inside box = (top, bottom, left, right), labels weighted by area."""
    top, bottom, left, right = box
    mixed = X.clone()
    mixed[..., top:bottom, left:right] = X[partner][..., top:bottom, left:right]
    kept = 1 - (bottom - top) * (right - left) / (X.shape[-2] * X.shape[-1])
    return mixed, kept * Y + (1 - kept) * Y[partner]


def cutmix(X: torch.Tensor, y: torch.Tensor, generator: torch.Generator, alpha: float = 1.0,
           num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a random box, of area about 1 - lam with lam ~ Beta(alpha, alpha), from a random partner: see `paste`."""
    box = cut_box(*X.shape[-2:], sample_lambda(alpha, generator), generator)
    partner = torch.randperm(len(X), generator=generator).to(X.device)
    return paste(X, to_probabilities(y, check_positive_int("num_classes", num_classes)), box, partner)


def from_torchvision(transform: Callable, per_example: bool = False) -> Augment:
    """Wrap a torchvision `transforms.v2` transform as an augment for `fit`, seeded by fit's generator.

    Called on a batch, a v2 transform draws one set of random parameters for the whole batch
    (MixUp and CutMix are meant to be used that way). With `per_example=True`, a label-preserving
    transform is applied to each image on its own, so every image gets its own parameters.
    """
    def augment(X: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the transform under torch's global generator, seeded from `generator` and then restored."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(draw_seed(generator))
            if per_example:
                return torch.stack([transform(x) for x in X]), y
            return transform(X, y)

    return augment


def make_mixing(kind: str = "mixup", alpha: float = 0.2, num_classes: int = 10,
                implementation: str = "scratch") -> Augment:
    """Mixup or CutMix (see MIXINGS) as an augment for `fit`, from scratch or torchvision's v2 transform."""
    check_choice("mixing", kind, MIXINGS)
    check_choice("implementation", implementation, IMPLEMENTATIONS)
    check_positive("alpha", alpha)
    check_positive_int("num_classes", num_classes)
    if implementation == "torchvision":
        from torchvision.transforms import v2

        transform = v2.MixUp if kind == "mixup" else v2.CutMix
        return from_torchvision(transform(alpha=alpha, num_classes=num_classes))
    return partial(mixup if kind == "mixup" else cutmix, alpha=alpha, num_classes=num_classes)
