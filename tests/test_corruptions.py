"""The randomization tests' corruptions: label marginals, corrupted fractions, permutations, moments."""
import pytest
import torch

import d2lutil
from d2lutil.corruptions import corrupt_labels, gaussian_like, pixel_permutation, random_pixels, shuffle_pixels


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.7, 1.0])
def test_partial_corruption_resamples_a_fraction_p(p):
    # A resampled label equals the old one with probability 1/K, so the changed fraction is p (K-1)/K.
    y = torch.randint(10, (20000,), generator=gen(1))
    changed = (corrupt_labels(y, p, 10, gen(2)) != y).float().mean().item()
    assert abs(changed - p * 0.9) < 0.015


def test_random_labels_are_uniform_and_independent_of_the_truth():
    y = torch.zeros(30000, dtype=torch.int64)
    counts = torch.bincount(d2lutil.random_labels(y, 10, gen()), minlength=10).float() / len(y)
    assert torch.allclose(counts, torch.full((10,), 0.1), atol=0.01)


def test_corruption_is_reproducible_and_seed_dependent(digits):
    a, b, c = (d2lutil.corrupt(digits, "random_labels", seed=s) for s in (5, 5, 6))
    assert torch.equal(a.y_train, b.y_train) and not torch.equal(a.y_train, c.y_train)


@pytest.mark.parametrize("kind", ["partial_labels", "random_labels", "random_pixels", "gaussian"])
def test_training_set_only_unless_asked(digits, kind):
    out = d2lutil.corrupt(digits, kind, p=0.5, seed=0)
    assert not (torch.equal(out.X_train, digits.X_train) and torch.equal(out.y_train, digits.y_train))
    for split in ("val", "test"):
        assert torch.equal(getattr(out, f"X_{split}"), getattr(digits, f"X_{split}")), (kind, split)
        assert torch.equal(getattr(out, f"y_{split}"), getattr(digits, f"y_{split}")), (kind, split)
    both = d2lutil.corrupt(digits, kind, p=0.5, seed=0, held_out=True)
    assert torch.equal(both.X_train, out.X_train) and torch.equal(both.y_train, out.y_train)
    for split in ("val", "test"):
        changed = not (torch.equal(getattr(both, f"X_{split}"), getattr(digits, f"X_{split}"))
                       and torch.equal(getattr(both, f"y_{split}"), getattr(digits, f"y_{split}")))
        assert changed, (kind, split)


def test_random_labels_of_the_held_out_splits(digits):
    both = d2lutil.corrupt(digits, "random_labels", seed=0, held_out=True)
    assert (both.y_val != digits.y_val).float().mean() > 0.8 and (both.y_test != digits.y_test).float().mean() > 0.8


def test_shuffled_pixels_share_one_permutation_between_all_splits():
    # Pixel values that identify their position: pixel j of every image holds j (+ a per-image offset).
    X = torch.arange(64.0).repeat(35, 1) + torch.arange(35.0)[:, None] * 1000
    labels = torch.zeros(35, dtype=torch.int64)
    data = d2lutil.Dataset(X[:20].reshape(20, 1, 8, 8), labels[:20], X[20:25].reshape(5, 1, 8, 8), labels[20:25],
                           X[25:].reshape(10, 1, 8, 8), labels[25:], 10, "toy")
    out = d2lutil.corrupt(data, "shuffled_pixels", seed=0)
    perms = (out.X_train.flatten(1) % 1000).long()
    assert sorted(perms[0].tolist()) == list(range(64)) and perms[0].tolist() != list(range(64))
    assert (perms == perms[0]).all()
    for held in (out.X_val, out.X_test):
        assert ((held.flatten(1) % 1000).long() == perms[0]).all()
    assert torch.equal(out.y_train, data.y_train)


def test_random_pixels_permute_each_image_differently():
    X = torch.arange(2 * 3 * 16, dtype=torch.float32).reshape(2, 3, 4, 4).repeat(50, 1, 1, 1)
    out = random_pixels(X, gen())
    assert torch.equal(out.sort(-1).values.flatten(2).sort(-1).values, X.flatten(2).sort(-1).values)
    orders = {tuple(out[i, 0].flatten().tolist()) for i in range(0, 100, 2)}
    assert len(orders) > 45
    # All channels of an image move together.
    assert torch.equal(out[:, 1] - out[:, 0], torch.full_like(out[:, 0], 16.0))


def test_shuffle_pixels_is_the_permutation_given():
    X = torch.arange(16.0).reshape(1, 1, 4, 4)
    perm = torch.tensor(list(range(15, -1, -1)))
    assert torch.equal(shuffle_pixels(X, perm).flatten(), torch.arange(15.0, -1, -1))


def test_gaussian_inputs_match_mean_and_variance_per_channel():
    X = torch.randn(4000, 3, 5, 5, generator=gen(3)) * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + \
        torch.tensor([0.0, 3.0, -1.0]).view(1, 3, 1, 1)
    noise = gaussian_like(X, gen(4))
    assert noise.shape == X.shape
    assert torch.allclose(noise.mean(dim=(0, 2, 3)), X.mean(dim=(0, 2, 3)), atol=0.05)
    assert torch.allclose(noise.std(dim=(0, 2, 3)), X.std(dim=(0, 2, 3)), rtol=0.03)
    assert abs(torch.corrcoef(torch.stack([noise[:, 1].flatten(), X[:, 1].flatten()]))[0, 1]) < 0.02


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "flipped_labels"}, "'true_labels', 'partial_labels'"),
    ({"kind": "partial_labels", "p": 1.5}, r"p=1.5 .*\[0, 1\]"),
    ({"kind": "partial_labels", "p": -0.1}, r"p=-0.1"),
    ({"kind": "partial_labels", "p": float("nan")}, r"p=nan .*\[0, 1\]"),
    ({"kind": "partial_labels", "p": float("inf")}, r"p=inf"),
    ({"kind": "random_labels", "seed": "abc"}, "seed='abc' .* integer in \\[0, 4294967295\\]"),
    ({"kind": "random_labels", "seed": -2}, "seed=-2"),
    ({"kind": "random_labels", "seed": True}, "seed=True"),
])
def test_bad_input(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2lutil.corrupt(digits, **kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda y: corrupt_labels(y, float("nan"), 10, gen()), "p=nan"),
    (lambda y: corrupt_labels(y, 0.5, 0, gen()), "num_classes=0"),
    (lambda y: d2lutil.random_labels(y, -3, gen()), "num_classes=-3"),
    (lambda y: pixel_permutation(0, gen()), "num_pixels=0"),
])
def test_corruption_functions_refuse_bad_values(call, match):
    with pytest.raises(ValueError, match=match):
        call(torch.zeros(5, dtype=torch.int64))
