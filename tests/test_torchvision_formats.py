"""torchvision's real dataset code, run on small files the tests write in each dataset's on-disk format."""
import pickle
import struct

import numpy as np
import pytest
import torch
import torchvision

import d2lutil


def write_idx(path, array: np.ndarray) -> None:
    """Write an IDX file (the MNIST format): magic, dimensions, then raw unsigned bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 + array.ndim))
        f.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def write_mnist_like(root, folder: str, n_train: int, n_test: int, rng) -> dict:
    """Write MNIST-format raw files under root/folder/raw and return the arrays written."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_formats(tmp_path, name, folder):
    arrays = write_mnist_like(tmp_path, folder, 30, 12, np.random.default_rng(0))
    data = d2lutil.load_torchvision(name, root=tmp_path, download=False, val_size=0)  # all 30 examples stay in train
    assert data.X_train.shape == (30, 1, 28, 28) and data.X_test.shape == (12, 1, 28, 28)
    assert data.y_train.tolist() == arrays["train"][1].tolist()
    assert data.y_test.tolist() == arrays["t10k"][1].tolist()
    # Standardized with the training set's statistics: the pixel order is kept.
    raw = torch.tensor(arrays["train"][0][3], dtype=torch.float32)
    assert torch.corrcoef(torch.stack([raw.flatten(), data.X_train[3].flatten()]))[0, 1] > 0.999


def test_cifar10_format(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for batch in names:
        images = rng.integers(0, 256, (4, 3 * 32 * 32), dtype=np.uint8)
        labels = rng.integers(0, 10, 4).tolist()
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
    data = d2lutil.load_torchvision("cifar10", root=tmp_path, download=False, val_size=0)
    assert data.X_train.shape == (20, 3, 32, 32) and data.X_test.shape == (4, 3, 32, 32)
    assert data.y_train.tolist() == sum((written[n][1] for n in names[:5]), [])
    assert data.y_test.tolist() == written["test_batch"][1]
    # CIFAR stores each image as 1024 red, then green, then blue values: channel 0 must be the red plane.
    red = torch.tensor(written["data_batch_1"][0][2][:1024].reshape(32, 32), dtype=torch.float32)
    assert torch.corrcoef(torch.stack([red.flatten(), data.X_train[2, 0].flatten()]))[0, 1] > 0.999


def test_failed_download_says_what_to_do(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)
    with pytest.raises(d2lutil.DatasetUnavailableError, match="download=True.*dataset='digits'"):
        d2lutil.load_dataset("mnist", root=tmp_path, download=True)
