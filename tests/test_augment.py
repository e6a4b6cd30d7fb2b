"""Data augmentation on device tensors: random translations and flips, reproducible from the generator."""
import pytest
import torch

from d2lutil.regularizers import make_augment, random_crop, random_flip


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_random_crop_translates_each_image_by_at_most_the_padding():
    X = torch.arange(1.0, 37.0).reshape(1, 1, 6, 6).repeat(200, 2, 1, 1)
    out = random_crop(X, gen(), padding=2)
    assert out.shape == X.shape and torch.equal(out[:, 0], out[:, 1])
    shifts = set()
    for image in out[:, 0]:
        found = (image == 8.0).nonzero()  # where pixel (1, 1) of the original went, if it is still in view
        if len(found):
            shifts.add(tuple((found[0] - 1).tolist()))
    assert shifts <= {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)} and len(shifts) > 15


def test_random_flip_mirrors_about_half_the_images():
    X = torch.arange(4.0).reshape(1, 1, 1, 4).repeat(1000, 1, 1, 1)
    flipped = (random_flip(X, gen())[:, 0, 0, 0] == 3.0).float().mean()
    assert 0.45 < float(flipped) < 0.55


def test_augment_is_reproducible_and_keeps_labels():
    X, y = torch.randn(50, 1, 8, 8, generator=gen(1)), torch.arange(50)
    augment = make_augment(padding=1, flip=True)
    (a, ya), (b, _) = augment(X, y, gen(3)), augment(X, y, gen(3))
    assert torch.equal(a, b) and torch.equal(ya, y) and not torch.equal(a, X)
    assert torch.equal(make_augment(padding=0)(X, y, gen(3))[0], X)


@pytest.mark.parametrize("padding", [0.5, -1, float("nan"), float("inf"), True, "2"])
def test_padding_must_be_an_integer_at_least_zero(padding):
    with pytest.raises(ValueError, match=r"padding=.* integer >= 0"):
        make_augment(padding=padding)
    with pytest.raises(ValueError, match=r"padding=.* integer >= 0"):
        random_crop(torch.zeros(2, 1, 4, 4), gen(), padding)
