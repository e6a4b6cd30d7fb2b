"""Data loading: the embedded digits, subsets, the batch iterator and bad input."""
import pytest
import torch

import d2lutil
from d2lutil.data import load_dataset


def test_digits_shapes_split_and_standardization(digits):
    assert digits.X_train.shape == (997, 1, 8, 8) and digits.X_val.shape == (300, 1, 8, 8)
    assert digits.X_test.shape == (500, 1, 8, 8)
    assert digits.X_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert set(digits.y_train.tolist()) == set(range(10)) and digits.num_classes == 10
    assert abs(float(digits.X_train.mean())) < 1e-4 and abs(float(digits.X_train.std()) - 1) < 1e-3
    assert digits.input_shape == (1, 8, 8) and digits.num_features == 64


def test_split_depends_on_seed_and_is_reproducible():
    a, b, c = load_dataset(seed=0), load_dataset(seed=0), load_dataset(seed=1)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_train, c.y_train)


def test_subset_sizes_and_membership(digits):
    small = digits.subset(n_train=100, n_test=50, seed=3)
    assert len(small.y_train) == 100 and len(small.y_test) == 50
    rows = {tuple(x.flatten().tolist()) for x in digits.X_train}
    assert all(tuple(x.flatten().tolist()) in rows for x in small.X_train)
    assert len(digits.subset(None, None).y_train) == len(digits.y_train)


def test_iterate_batches_covers_every_example_once(digits):
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat([yb for _, yb in d2lutil.iterate_batches(digits.X_train, torch.arange(997), 100, True, gen)])
    assert sorted(seen.tolist()) == list(range(997))
    sizes = [len(yb) for _, yb in d2lutil.iterate_batches(digits.X_train, digits.y_train, 500, shuffle=False)]
    assert sizes == [500, 497]


def test_iterate_batches_order_follows_the_generator(digits):
    order = lambda seed: torch.cat([y for _, y in d2lutil.iterate_batches(  # noqa: E731
        digits.X_train, torch.arange(997), 64, True, torch.Generator().manual_seed(seed))])
    assert torch.equal(order(1), order(1)) and not torch.equal(order(1), order(2))


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "imagenet"}, "'digits', 'mnist', 'fashion_mnist', 'cifar10'"),
    ({"n_train": 0}, "n_train=0"),
    ({"n_test": -5}, "n_test=-5"),
])
def test_bad_input_names_what_is_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(**kwargs)


def test_bad_batch_size(digits):
    with pytest.raises(ValueError, match="batch_size=0"):
        next(d2lutil.iterate_batches(digits.X_train, digits.y_train, 0))


def test_missing_dataset_without_network_names_the_offline_default(tmp_path):
    with pytest.raises(d2lutil.DatasetUnavailableError, match="dataset='digits'"):
        load_dataset("mnist", root=tmp_path, download=False)
