"""The randomization tests of Zhang et al. (2017): corrupted labels and corrupted inputs.

Every function takes a local seeded ``torch.Generator``, so a corruption is the same on
every call with the same seed; it is applied once, before training, and so is fixed
across epochs. Only the training split is corrupted unless the held-out splits (validation
and test) are asked for too.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .data import Dataset
from .validate import check_choice, check_positive_int, check_probability, check_seed

CORRUPTIONS = ("true_labels", "partial_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")


def corrupt_labels(y: torch.Tensor, p: float, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """With probability p, replace each label by a class drawn uniformly from all `num_classes`."""
    check_probability("p", p)
    check_positive_int("num_classes", num_classes)
    resample = torch.rand(len(y), generator=generator) < p
    drawn = torch.randint(num_classes, (len(y),), generator=generator)
    return torch.where(resample.to(y.device), drawn.to(y.device), y)


def random_labels(y: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Replace every label by a class drawn uniformly at random (corrupt_labels with p = 1)."""
    return corrupt_labels(y, 1.0, num_classes, generator)


def pixel_permutation(num_pixels: int, generator: torch.Generator) -> torch.Tensor:
    """One random permutation of pixel positions, to share between every split."""
    return torch.randperm(check_positive_int("num_pixels", num_pixels), generator=generator)


def shuffle_pixels(X: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """Apply the same permutation of pixel positions (all channels together) to every image."""
    n, c, h, w = X.shape
    return X.reshape(n, c, h * w)[:, :, permutation.to(X.device)].reshape(n, c, h, w)


def random_pixels(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply a different random permutation of pixel positions to each image."""
    n, c, h, w = X.shape
    perms = torch.argsort(torch.rand(n, h * w, generator=generator), dim=1).to(X.device)
    flat = X.reshape(n, c, h * w)
    return torch.gather(flat, 2, perms.unsqueeze(1).expand(n, c, h * w)).reshape(n, c, h, w)


def gaussian_like(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise with the per-channel mean and variance of X, in X's shape."""
    mean = X.mean(dim=(0, 2, 3), keepdim=True)
    std = X.std(dim=(0, 2, 3), keepdim=True)
    noise = torch.randn(X.shape, generator=generator).to(X.device)
    return mean + std * noise


def corrupt(data: Dataset, kind: str, p: float = 1.0, seed: int = 0, held_out: bool = False) -> Dataset:
    """Return `data` with the training split (and the validation and test splits if `held_out`) corrupted by `kind`.

    kind is one of CORRUPTIONS; p is the probability of corruption used by 'partial_labels'.
    'shuffled_pixels' always permutes every split with one shared permutation, since the
    held-out images must be seen the way the network was trained to see them.
    """
    check_choice("corruption", kind, CORRUPTIONS)
    check_probability("p", p)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    splits = ("train", "val", "test") if held_out or kind == "shuffled_pixels" else ("train",)
    perm = pixel_permutation(data.X_train.shape[2] * data.X_train.shape[3], gen) if kind == "shuffled_pixels" else None
    fields = {}
    for split in splits:
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        if kind in ("partial_labels", "random_labels"):
            fields[f"y_{split}"] = corrupt_labels(y, p if kind == "partial_labels" else 1.0, data.num_classes, gen)
        elif kind == "shuffled_pixels":
            fields[f"X_{split}"] = shuffle_pixels(X, perm)
        elif kind == "random_pixels":
            fields[f"X_{split}"] = random_pixels(X, gen)
        elif kind == "gaussian":
            fields[f"X_{split}"] = gaussian_like(X, gen)
    return replace(data, **fields)
