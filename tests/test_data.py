"""Data loading: the embedded digits, its three splits, subsets, the batch iterator and bad input."""
import pytest
import torch

import d2lutil
from d2lutil.data import SPLIT_SIZES, load_dataset, load_digits, standardize


def rows(X: torch.Tensor) -> set:
    """The examples of X as hashable tuples."""
    return {tuple(x.flatten().tolist()) for x in X}


def test_digits_shapes_split_and_standardization(digits):
    assert digits.X_train.shape == (997, 1, 8, 8) and digits.X_val.shape == (300, 1, 8, 8)
    assert digits.X_test.shape == (500, 1, 8, 8)
    assert {split: len(getattr(digits, f"y_{split}")) for split in ("train", "val", "test")} == SPLIT_SIZES["digits"]
    assert digits.X_train.dtype == torch.float32 and digits.y_val.dtype == torch.int64
    assert set(digits.y_train.tolist()) == set(range(10)) and digits.num_classes == 10
    assert abs(float(digits.X_train.mean())) < 1e-4 and abs(float(digits.X_train.std()) - 1) < 1e-3
    assert digits.input_shape == (1, 8, 8) and digits.num_features == 64


def test_the_three_splits_are_disjoint_and_cover_the_digits(digits):
    train, val, test = rows(digits.X_train), rows(digits.X_val), rows(digits.X_test)
    assert not (train & val) and not (train & test) and not (val & test)
    # scikit-learn's digits hold a few exact duplicate images, so count examples, not distinct rows.
    assert len(digits.y_train) + len(digits.y_val) + len(digits.y_test) == 1797


def test_standardize_uses_the_training_statistics_for_every_split():
    X_train, X_val, X_test = torch.full((4, 1, 2, 2), 3.0), torch.full((2, 1, 2, 2), 5.0), torch.full((2, 1, 2, 2), 1.0)
    X_train[0] = 5.0
    mean, std = X_train.mean(), X_train.std()  # one channel: its statistics are those of the whole set
    out_train, out_val, out_test = standardize(X_train, X_val, X_test)
    assert abs(float(out_train.mean())) < 1e-6 and abs(float(out_train.std()) - 1) < 1e-6
    assert torch.allclose(out_val, (X_val - mean) / std) and torch.allclose(out_test, (X_test - mean) / std)


def test_split_depends_on_seed_and_is_reproducible():
    a, b, c = load_dataset(seed=0), load_dataset(seed=0), load_dataset(seed=1)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_val, b.y_val) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_train, c.y_train) and not torch.equal(a.y_val, c.y_val)


def test_subset_sizes_and_membership(digits):
    small = digits.subset(100, 40, 50, seed=3)
    assert (len(small.y_train), len(small.y_val), len(small.y_test)) == (100, 40, 50)
    for split in ("train", "val", "test"):
        assert rows(getattr(small, f"X_{split}")) <= rows(getattr(digits, f"X_{split}")), split
    full = digits.subset(None, None, None)
    assert all(torch.equal(getattr(full, f), getattr(digits, f)) for f in ("y_train", "y_val", "y_test"))


def test_load_dataset_subsets_every_split():
    data = load_dataset(n_train=200, n_val=30, n_test=60, seed=2)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (200, 30, 60)


def test_to_moves_all_six_tensors(digits):
    moved = digits.to("meta")
    assert all(getattr(moved, f"{v}_{s}").device.type == "meta" for v in "Xy" for s in ("train", "val", "test"))


def test_iterate_batches_covers_every_example_once(digits):
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat([yb for _, yb in d2lutil.iterate_batches(digits.X_train, torch.arange(997), 100, True, gen)])
    assert sorted(seen.tolist()) == list(range(997))
    sizes = [len(yb) for _, yb in d2lutil.iterate_batches(digits.X_train, digits.y_train, 400, shuffle=False)]
    assert sizes == [400, 400, 197]


def test_iterate_batches_order_follows_the_generator(digits):
    order = lambda seed: torch.cat([y for _, y in d2lutil.iterate_batches(  # noqa: E731
        digits.X_train, torch.arange(997), 64, True, torch.Generator().manual_seed(seed))])
    assert torch.equal(order(1), order(1)) and not torch.equal(order(1), order(2))


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "imagenet"}, "'digits', 'mnist', 'fashion_mnist', 'cifar10'"),
    ({"n_train": 0}, "n_train=0"),
    ({"n_test": -5}, "n_test=-5"),
    ({"n_val": 2.5}, "n_val=2.5"),
    ({"n_train": 998}, "n_train=998 .* 997 examples"),
    ({"n_val": 301}, "n_val=301 .* 300 examples"),
    ({"n_test": 10**9}, "1000000000 .* 500 examples"),
    ({"name": "cifar10", "n_train": 50_000}, "45,000 examples"),
    ({"name": "mnist", "n_val": 5_001}, "5,000 examples"),
    ({"seed": "abc"}, "seed='abc' .* integer in \\[0, 4294967295\\]"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": 2**32}, "seed=4294967296"),
    ({"seed": True}, "seed=True"),
    ({"preprocess": "whiten"}, "'standardize', 'paper'"),
    ({"preprocess": "paper"}, "'digits'.*choose 'standardize'"),
])
def test_bad_input_names_what_is_allowed(kwargs, match, monkeypatch):
    # Refused before any work: reading a dataset here fails the test.
    monkeypatch.setattr(d2lutil.data, "load_digits", lambda **kw: pytest.fail("loaded before checking"))
    monkeypatch.setattr(d2lutil.data, "load_torchvision", lambda *a, **kw: pytest.fail("loaded before checking"))
    with pytest.raises(ValueError, match=match):
        load_dataset(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 998}, "n_train=998 .* 997 examples"), ({"n_val": 0}, "n_val=0"), ({"n_test": 501}, "500 examples"),
    ({"seed": "abc"}, "seed='abc'"), ({"seed": False}, "seed=False"),
])
def test_subset_refuses_sizes_above_the_split(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        digits.subset(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"test_size": 0}, "test_size=0"), ({"val_size": -1}, "val_size=-1"), ({"seed": -3}, "seed=-3"),
    ({"test_size": 1500, "val_size": 297}, "at most 1,796"),
])
def test_load_digits_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits(**kwargs)


def test_bad_batch_size(digits):
    with pytest.raises(ValueError, match="batch_size=0"):
        next(d2lutil.iterate_batches(digits.X_train, digits.y_train, 0))


def test_missing_dataset_without_network_names_the_offline_default(tmp_path):
    with pytest.raises(d2lutil.DatasetUnavailableError, match="dataset='digits'"):
        load_dataset("mnist", root=tmp_path, download=False)
