"""The randomization tests of Zhang et al. (2017): corrupted labels and corrupted inputs.

Every function takes a local seeded ``torch.Generator``, so a corruption is the same on
every call with the same seed; it is applied once, before training, and so is fixed
across epochs.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .data import Dataset
from .validate import check_choice, check_probability

CORRUPTIONS = ("true_labels", "partial_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")


def corrupt_labels(y: torch.Tensor, p: float, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """With probability p, replace each label by a class drawn uniformly from all `num_classes`."""
    check_probability("p", p)
    resample = torch.rand(len(y), generator=generator) < p
    drawn = torch.randint(num_classes, (len(y),), generator=generator)
    return torch.where(resample.to(y.device), drawn.to(y.device), y)


def random_labels(y: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Replace every label by a class drawn uniformly at random (corrupt_labels with p = 1)."""
    return corrupt_labels(y, 1.0, num_classes, generator)


def pixel_permutation(num_pixels: int, generator: torch.Generator) -> torch.Tensor:
    """One random permutation of pixel positions, to share between train and test."""
    return torch.randperm(num_pixels, generator=generator)


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


def corrupt(data: Dataset, kind: str, p: float = 1.0, seed: int = 0, include_test: bool = False) -> Dataset:
    """Return `data` with the training set (and the test set if asked) corrupted by `kind`.

    kind is one of CORRUPTIONS; p is the probability of corruption used by 'partial_labels'.
    'shuffled_pixels' always permutes both splits with one shared permutation, since the
    test images must be seen the way the network was trained to see them.
    """
    check_choice("corruption", kind, CORRUPTIONS)
    check_probability("p", p)
    gen = torch.Generator().manual_seed(seed)
    X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    if kind in ("partial_labels", "random_labels"):
        level = p if kind == "partial_labels" else 1.0
        y_train = corrupt_labels(y_train, level, data.num_classes, gen)
        if include_test:
            y_test = corrupt_labels(y_test, level, data.num_classes, gen)
    elif kind == "shuffled_pixels":
        perm = pixel_permutation(X_train.shape[2] * X_train.shape[3], gen)
        X_train = shuffle_pixels(X_train, perm)
        X_test = shuffle_pixels(X_test, perm)
    elif kind == "random_pixels":
        X_train = random_pixels(X_train, gen)
        if include_test:
            X_test = random_pixels(X_test, gen)
    elif kind == "gaussian":
        X_train = gaussian_like(X_train, gen)
        if include_test:
            X_test = gaussian_like(X_test, gen)
    return replace(data, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
