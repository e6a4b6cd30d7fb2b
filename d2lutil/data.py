"""Datasets loaded once into train, validation and test tensors, and a batch iterator that slices them on the device."""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .validate import check_choice, check_positive_int, check_seed

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
OFFLINE_DEFAULT = "digits"
SPLITS = ("train", "val", "test")
SPLIT_SIZES: dict[str, dict[str, int]] = {
    "digits": {"train": 997, "val": 300, "test": 500},
    "mnist": {"train": 55_000, "val": 5_000, "test": 10_000},
    "fashion_mnist": {"train": 55_000, "val": 5_000, "test": 10_000},
    "cifar10": {"train": 45_000, "val": 5_000, "test": 10_000},
}
PREPROCESSINGS = ("standardize", "paper")
PAPER_CROP = 28


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
        return replace(self, **{f"{v}_{split}": getattr(self, f"{v}_{split}").to(device)
                                for split in SPLITS for v in ("X", "y")})

    def subset(self, n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
               seed: int = 0) -> "Dataset":
        """Return a random subset of `n_train`, `n_val` and `n_test` examples of each split (None keeps all)."""
        sizes = {"train": n_train, "val": n_val, "test": n_test}
        for split, n in sizes.items():
            check_split_size(split, n, len(getattr(self, f"y_{split}")), self.name)
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
        fields = {}
        for split, n in sizes.items():
            fields.update(_take(split, getattr(self, f"X_{split}"), getattr(self, f"y_{split}"), n, gen))
        return replace(self, **fields)


def check_split_size(split: str, n: int | None, size: int, name: str) -> None:
    """Refuse `n` examples of a split unless it is None or an integer in [1, size]."""
    if n is not None and check_positive_int(f"n_{split}", n) > size:
        raise ValueError(f"n_{split}={n!r} is not allowed; the {split} split of {name!r} has {size:,} examples "
                         f"(choose at most {size}, or None for all)")


def _take(split: str, X: torch.Tensor, y: torch.Tensor, n: int | None, gen: torch.Generator) -> dict:
    """Pick `n` random rows of (X, y) for one split, keyed by the Dataset field names."""
    if n is not None and n < len(y):
        idx = torch.randperm(len(y), generator=gen)[:n].sort().values.to(y.device)
        X, y = X[idx], y[idx]
    return {f"X_{split}": X, f"y_{split}": y}


def standardize(X_train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Scale each channel to zero mean and unit variance using the training set's statistics, in every split."""
    mean = X_train.mean(dim=(0, 2, 3), keepdim=True)
    std = X_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-8)
    return tuple((X - mean) / std for X in (X_train, *others))


def center_crop(X: torch.Tensor, size: int) -> torch.Tensor:
    """The central `size` x `size` pixels of each image (N, C, H, W)."""
    height, width = X.shape[-2:]
    if not size <= min(height, width):
        raise ValueError(f"crop size {size} is not allowed for {height}x{width} images; it must be at most "
                         f"{min(height, width)}")
    top, left = (height - size) // 2, (width - size) // 2
    return X[..., top:top + size, left:left + size]


def whiten_per_image(X: torch.Tensor) -> torch.Tensor:
    """Subtract each image's mean and divide by its adjusted standard deviation, max(std, 1 / sqrt(C*H*W)).

    This is TensorFlow's `per_image_standardization`, the "per-image whitening" of Zhang et al. (2017).
    """
    flat = X.reshape(len(X), -1)
    std = flat.std(dim=1, unbiased=False).clamp_min(1 / math.sqrt(flat.shape[1]))
    return ((flat - flat.mean(dim=1, keepdim=True)) / std[:, None]).reshape(X.shape)


def paper_preprocess(X: torch.Tensor) -> torch.Tensor:
    """Zhang et al.'s appendix A: the central 28x28 crop, then per-image whitening of the raw 0-255 pixels."""
    return whiten_per_image(center_crop(X, PAPER_CROP).float())


def hold_out(n: int, n_held: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split range(n) at random by `seed` into (kept, held out) sorted index tensors, with `n_held` held out."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_held:].sort().values, perm[:n_held].sort().values


def load_digits(test_size: int = 500, val_size: int = 300, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten 8x8 digits (shipped with the package), split by `seed` and standardized."""
    from sklearn.datasets import load_digits as sklearn_digits

    check_positive_int("test_size", test_size)
    check_positive_int("val_size", val_size)
    check_seed("seed", seed)
    if test_size + val_size >= 1797:
        raise ValueError(f"test_size={test_size} with val_size={val_size} is not allowed; together they must "
                         "leave training examples of the 1,797 digits (at most 1,796)")
    bunch = sklearn_digits()
    X = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.int64)
    rest, test = hold_out(len(y), test_size, seed)
    train, val = (rest[i] for i in hold_out(len(rest), val_size, seed))
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


def load_torchvision(name: str, root: str | Path = "data", download: bool = True, seed: int = 0,
                     preprocess: str = "standardize") -> Dataset:
    """MNIST, FashionMNIST or CIFAR-10 through torchvision.datasets, as tensors.

    The official test set is the test split; 5,000 examples of the official training set, drawn by
    `seed`, are the validation split. `preprocess` (see PREPROCESSINGS) is 'standardize' (each
    channel with the training split's statistics) or 'paper' (`paper_preprocess`, for CIFAR-10).
    """
    check_choice("dataset", name, DATASETS[1:])
    check_choice("preprocess", preprocess, PREPROCESSINGS)
    check_seed("seed", seed)
    root = Path(root)
    try:
        X_official, y_official = _torchvision_split(name, root, True, download)
        X_test, y_test = _torchvision_split(name, root, False, download)
    except (RuntimeError, OSError) as err:
        raise DatasetUnavailableError(
            f"Could not load {name!r} from {root.resolve()} ({err}). Connect to the internet and pass "
            f"download=True, copy the dataset's files into that folder, or use dataset={OFFLINE_DEFAULT!r}, "
            "the embedded dataset that needs no network."
        ) from err
    n_val = SPLIT_SIZES[name]["val"]
    if len(y_official) <= n_val:
        raise DatasetUnavailableError(
            f"The training files of {name!r} in {root.resolve()} hold {len(y_official):,} examples, too few to "
            f"hold out {n_val:,} for validation: delete them and load again with download=True.")
    train, val = hold_out(len(y_official), n_val, seed)
    splits = (X_official[train], X_official[val], X_test)
    if preprocess == "paper":
        X_train, X_val, X_test = (paper_preprocess(X) for X in splits)
    else:
        X_train, X_val, X_test = standardize(*(X.float() / 255.0 for X in splits))
    return Dataset(X_train, y_official[train], X_val, y_official[val], X_test, y_test, num_classes=10, name=name)


def load_dataset(name: str = OFFLINE_DEFAULT, root: str | Path = "data", download: bool = True,
                 n_train: int | None = None, n_val: int | None = None, n_test: int | None = None, seed: int = 0,
                 preprocess: str = "standardize") -> Dataset:
    """Load a dataset by name (see DATASETS), split by `seed`, optionally a random subset of each split.

    `preprocess='paper'` gives Zhang et al.'s CIFAR-10 inputs: central 28x28 crops, whitened per image.
    """
    check_choice("dataset", name, DATASETS)
    check_choice("preprocess", preprocess, PREPROCESSINGS)
    check_seed("seed", seed)
    if name == "digits" and preprocess != "standardize":
        raise ValueError(f"preprocess={preprocess!r} is not allowed for 'digits' (8x8 images, smaller than the "
                         f"paper's {PAPER_CROP}x{PAPER_CROP} crop); choose 'standardize'")
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        check_split_size(split, n, SPLIT_SIZES[name][split], name)
    data = load_digits(seed=seed) if name == "digits" else load_torchvision(name, root, download, seed, preprocess)
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
