"""Datasets loaded once into tensors, and a batch iterator that slices them on the device."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .validate import check_choice, check_positive_int

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
OFFLINE_DEFAULT = "digits"


class DatasetUnavailableError(RuntimeError):
    """A dataset could not be downloaded or found on disk."""


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test tensors of one dataset: X is (N, C, H, W) float32, y is (N,) int64."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    name: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example, (C, H, W)."""
        return tuple(self.X_train.shape[1:])

    @property
    def num_features(self) -> int:
        """The number of input values per example (C * H * W)."""
        return int(np.prod(self.input_shape))

    def to(self, device: torch.device | str) -> "Dataset":
        """Return the same dataset with all six tensors on `device`."""
        return replace(self, X_train=self.X_train.to(device), y_train=self.y_train.to(device),
                       X_val=self.X_val.to(device), y_val=self.y_val.to(device), X_test=self.X_test.to(device), y_test=self.y_test.to(device))

    def subset(self, n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
               seed: int = 0) -> "Dataset":
        """Return a random subset of `n_train` training, `n_val` validation and `n_test` test examples (None keeps all)."""
        gen = torch.Generator().manual_seed(seed)
        return replace(self, **_take("train", self.X_train, self.y_train, n_train, gen),
                       **_take("val", self.X_val, self.y_val, n_val, gen),
                       **_take("test", self.X_test, self.y_test, n_test, gen))


def _take(split: str, X: torch.Tensor, y: torch.Tensor, n: int | None, gen: torch.Generator) -> dict:
    """Pick `n` random rows of (X, y) for one split, keyed by the Dataset field names."""
    if n is not None:
        check_positive_int(f"n_{split}", n)
        if n < len(y):
            idx = torch.randperm(len(y), generator=gen)[:n].sort().values.to(y.device)
            X, y = X[idx], y[idx]
    return {f"X_{split}": X, f"y_{split}": y}


def standardize(X_train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Scale each channel to zero mean and unit variance using the training set's statistics."""
    mean = X_train.mean(dim=(0, 2, 3), keepdim=True)
    std = X_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-8)
    return tuple((X - mean) / std for X in (X_train, *others))


def load_digits(test_size: int = 500, val_size: int = 300, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten 8x8 digits (shipped with the package), split and standardized."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    X = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    test, val = perm[:test_size].sort().values, perm[test_size:test_size + val_size].sort().values
    train = perm[test_size + val_size:].sort().values
    X_train, X_val, X_test = standardize(X[train], X[val], X[test])
    return Dataset(X_train, y[train], X_val, y[val], X_test, y[test], num_classes=10, name="digits")


def _torchvision_split(name: str, root: Path, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one split of a torchvision dataset into (X uint8 (N, C, H, W), y int64)."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}[name]
    ds = cls(root=str(root), train=train, download=download)
    X = torch.as_tensor(np.asarray(ds.data))
    X = X.unsqueeze(1) if X.ndim == 3 else X.permute(0, 3, 1, 2)
    return X.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)


def load_torchvision(name: str, root: str | Path = "data", download: bool = True, val_size: int = 5000,
                     seed: int = 0) -> Dataset:
    """MNIST, FashionMNIST or CIFAR-10 through torchvision.datasets, standardized, as tensors."""
    check_choice("dataset", name, DATASETS[1:])
    root = Path(root)
    try:
        X_train, y_train = _torchvision_split(name, root, True, download)
        X_test, y_test = _torchvision_split(name, root, False, download)
    except (RuntimeError, OSError) as err:
        raise DatasetUnavailableError(
            f"Could not load {name!r} from {root.resolve()} ({err}). Connect to the internet and pass "
            f"download=True, copy the dataset's files into that folder, or use dataset={OFFLINE_DEFAULT!r}, "
            "the embedded dataset that needs no network."
        ) from err
    perm = torch.randperm(len(y_train), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:val_size].sort().values, perm[val_size:].sort().values
    X_train, X_val, X_test = standardize(X_train[train].float() / 255.0, X_train[val].float() / 255.0,
                                         X_test.float() / 255.0)
    return Dataset(X_train, y_train[train], X_val, y_train[val], X_test, y_test, num_classes=10, name=name)


def load_dataset(name: str = OFFLINE_DEFAULT, root: str | Path = "data", download: bool = True,
                 n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
                 seed: int = 0) -> Dataset:
    """Load a dataset by name (see DATASETS), optionally a random subset of each split; `seed` draws the split."""
    check_choice("dataset", name, DATASETS)
    data = load_digits(seed=seed) if name == "digits" else load_torchvision(name, root, download, seed=seed)
    return data.subset(n_train, n_val, n_test, seed=seed)


def iterate_batches(X: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = True,
                    generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (X, y) minibatches sliced from tensors that already live on the training device."""
    check_positive_int("batch_size", batch_size)
    n = len(y)
    if shuffle:
        order = torch.randperm(n, generator=generator).to(X.device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            yield X[idx], y[idx]
    else:
        for start in range(0, n, batch_size):
            yield X[start:start + batch_size], y[start:start + batch_size]
