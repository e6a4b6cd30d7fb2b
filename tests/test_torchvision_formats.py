"""torchvision's real dataset code, run on small files the tests write in each dataset's on-disk format.

The official training files hold a few more than the 5,000 examples held out for validation; pixels
(0, 0) and (0, 1) of training image i hold i // 256 and i % 256, so every loaded example can be traced
back to the file it came from (standardization is an increasing affine map per channel, so it keeps
their order).
"""
import pickle
import struct

import numpy as np
import pytest
import torch
import torchvision

import d2lutil
from d2lutil.data import SPLIT_SIZES, whiten_per_image

N_VAL = 5_000


def write_idx(path, array: np.ndarray) -> None:
    """Write an IDX file (the MNIST format): magic, dimensions, then raw unsigned bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 + array.ndim))
        f.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def traceable_images(n: int, shape: tuple, rng) -> np.ndarray:
    """Random uint8 images (n, *shape) whose first two pixels in row-major order encode the index i."""
    images = rng.integers(0, 256, (n, int(np.prod(shape))), dtype=np.uint8)
    images[:, 0], images[:, 1] = np.arange(n) // 256, np.arange(n) % 256
    return images.reshape(n, *shape)


def write_mnist_like(root, folder: str, n_train: int, n_test: int, rng) -> dict:
    """Write MNIST-format raw files under root/folder/raw and return the arrays written."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = traceable_images(n, (28, 28), rng)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[prefix] = (images, labels)
    return arrays


def write_cifar10(root, per_batch: int, rng, monkeypatch) -> dict:
    """Write CIFAR-10's pickled python batches under root and return {batch name: (images, labels)}."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    start, written = 0, {}
    for batch in names:
        n = per_batch if batch != "test_batch" else 4
        images = traceable_images(start + n, (3 * 32 * 32,), rng)[start:] if batch != "test_batch" else \
            rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
        start += n if batch != "test_batch" else 0
        labels = rng.integers(0, 10, n).tolist()
        with open(folder / batch, "wb") as f:
            pickle.dump({"data": images, "labels": labels}, f)
        written[batch] = (images, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    # The real files are checked against published MD5 sums; ours are not those files.
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, None] for n in names[:5]])
    monkeypatch.setattr(cls, "test_list", [["test_batch", None]])
    monkeypatch.setattr(cls, "meta", {"filename": "batches.meta", "key": "label_names", "md5": None})
    return written


def file_index(X: torch.Tensor) -> torch.Tensor:
    """The training-file index of each loaded image, read back from its first two pixels (channel 0)."""
    first = X[:, 0].flatten(1)[:, :2]
    high, low = (torch.unique(first[:, k], return_inverse=True)[1] for k in (0, 1))
    return high * 256 + low


def check_validation_split(data: d2lutil.Dataset, train_labels: list) -> None:
    """Train and validation partition the official training set, each in file order, labels kept."""
    index = file_index(torch.cat([data.X_train, data.X_val]))
    train_idx, val_idx = index[:len(data.y_train)], index[len(data.y_train):]
    assert len(val_idx) == N_VAL and len(train_idx) == len(train_labels) - N_VAL
    assert sorted(index.tolist()) == list(range(len(train_labels)))
    assert (train_idx.diff() > 0).all() and (val_idx.diff() > 0).all()
    assert torch.cat([data.y_train, data.y_val]).tolist() == [train_labels[i] for i in index.tolist()]


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_formats(tmp_path, name, folder):
    arrays = write_mnist_like(tmp_path, folder, N_VAL + 30, 12, np.random.default_rng(0))
    data = d2lutil.load_dataset(name, root=tmp_path, download=False)
    assert SPLIT_SIZES[name]["val"] == N_VAL
    assert data.X_train.shape == (30, 1, 28, 28) and data.X_val.shape == (N_VAL, 1, 28, 28)
    assert data.X_test.shape == (12, 1, 28, 28)
    assert data.y_test.tolist() == arrays["t10k"][1].tolist()
    check_validation_split(data, arrays["train"][1].tolist())
    # Standardized with the training split's statistics: the pixel order is kept.
    raw = torch.tensor(arrays["t10k"][0][3], dtype=torch.float32)
    assert torch.corrcoef(torch.stack([raw.flatten(), data.X_test[3].flatten()]))[0, 1] > 0.999
    assert abs(float(data.X_train.mean())) < 1e-4 and abs(float(data.X_val.mean())) > 1e-4


def test_validation_split_follows_the_seed(tmp_path):
    write_mnist_like(tmp_path, "MNIST", N_VAL + 30, 12, np.random.default_rng(0))
    a, b, c = (d2lutil.load_dataset("mnist", root=tmp_path, download=False, seed=s) for s in (0, 0, 1))
    assert torch.equal(file_index(a.X_val), file_index(b.X_val))
    assert not torch.equal(file_index(a.X_train), file_index(c.X_train))


def test_too_few_training_files_for_the_validation_split(tmp_path):
    write_mnist_like(tmp_path, "MNIST", 30, 12, np.random.default_rng(0))
    with pytest.raises(d2lutil.DatasetUnavailableError, match="30 examples, too few to hold out 5,000"):
        d2lutil.load_dataset("mnist", root=tmp_path, download=False)


def test_cifar10_format(tmp_path, monkeypatch):
    written = write_cifar10(tmp_path, 1_004, np.random.default_rng(1), monkeypatch)
    data = d2lutil.load_dataset("cifar10", root=tmp_path, download=False)
    assert data.X_train.shape == (20, 3, 32, 32) and data.X_val.shape == (N_VAL, 3, 32, 32)
    assert data.X_test.shape == (4, 3, 32, 32)
    check_validation_split(data, sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), []))
    assert data.y_test.tolist() == written["test_batch"][1]
    # CIFAR stores each image as 1024 red, then green, then blue values: channel 0 must be the red plane.
    red = torch.tensor(written["test_batch"][0][2][:1024].reshape(32, 32), dtype=torch.float32)
    assert torch.corrcoef(torch.stack([red.flatten(), data.X_test[2, 0].flatten()]))[0, 1] > 0.999


def paper_inputs(flat_image: np.ndarray) -> np.ndarray:
    """Zhang et al.'s preprocessing written out in numpy: central 28x28 crop, then per-image whitening."""
    image = flat_image.reshape(3, 32, 32)[:, 2:30, 2:30].astype(np.float64)
    return (image - image.mean()) / max(image.std(), 1 / np.sqrt(image.size))


def test_cifar10_paper_preprocessing(tmp_path, monkeypatch):
    written = write_cifar10(tmp_path, 1_004, np.random.default_rng(2), monkeypatch)
    data = d2lutil.load_dataset("cifar10", root=tmp_path, download=False, preprocess="paper")
    assert data.input_shape == (3, 28, 28) and data.X_val.shape == (N_VAL, 3, 28, 28)
    for k in range(4):
        expected = torch.tensor(paper_inputs(written["test_batch"][0][k]), dtype=torch.float32)
        assert torch.allclose(data.X_test[k], expected, atol=1e-5)
    for X in (data.X_train, data.X_val, data.X_test):
        assert torch.allclose(X.mean(dim=(1, 2, 3)), torch.zeros(len(X)), atol=1e-5)
        assert torch.allclose(X.std(dim=(1, 2, 3), unbiased=False), torch.ones(len(X)), atol=1e-4)
    # The same split as the standardized load: validation image k is the file's image val_idx[k], whitened.
    val_idx = file_index(d2lutil.load_dataset("cifar10", root=tmp_path, download=False).X_val)
    train_images = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    for k in (0, 1, N_VAL - 1):
        expected = torch.tensor(paper_inputs(train_images[val_idx[k]]), dtype=torch.float32)
        assert torch.allclose(data.X_val[k], expected, atol=1e-5)
    net = d2lutil.make_model("inception", data.input_shape, width=0.25, seed=0)
    assert net(data.X_test).shape == (4, 10)


def test_whitening_a_flat_image_gives_zeros_not_nan():
    flat = torch.full((1, 3, 28, 28), 117.0)
    assert torch.equal(whiten_per_image(flat), torch.zeros_like(flat))


def test_failed_download_says_what_to_do(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)
    with pytest.raises(d2lutil.DatasetUnavailableError, match="download=True.*dataset='digits'"):
        d2lutil.load_dataset("mnist", root=tmp_path, download=True)
