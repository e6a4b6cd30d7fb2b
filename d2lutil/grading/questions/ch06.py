"""Chapter 06, randomization tests: the corruptions of Zhang et al. (2017) written from scratch.

The random corruptions cannot be compared number for number with a reference (a student
may draw in another order), so their checks test what defines them on large random
batches, with tolerances of about six standard deviations: which values may change, the
distribution of the new values, that the same generator seed gives the same result, and
that the input is left as it was. The shuffled-pixels corruption is deterministic given the
permutation and is compared with d2lutil's own implementation.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from ... import corruptions
from ..registry import CheckFailed, expect_close, expect_shape, question


def student_generator(gen: torch.Generator) -> Callable[[], torch.Generator]:
    """A factory of generators that all start from one seed drawn from `gen`, to test reproducibility."""
    seed = int(torch.randint(2 ** 31 - 1, (), generator=gen))
    return lambda: torch.Generator().manual_seed(seed)


def skewed_labels(gen: torch.Generator, n: int, num_classes: int) -> torch.Tensor:
    """n labels over `num_classes` classes, at least half of them class 0, so a mere shuffle is caught."""
    weights = torch.rand(num_classes, generator=gen) + num_classes * (torch.arange(num_classes) == 0)
    return torch.multinomial(weights, n, replacement=True, generator=gen)


def expect_labels(got: object, n: int, num_classes: int, what: str) -> torch.Tensor:
    """Fail unless `got` is an int64 tensor of n class indices in [0, num_classes)."""
    expect_shape(got, (n,), what)
    if got.dtype != torch.int64:
        raise CheckFailed(f"{what} should hold integer class indices (torch.int64), got {got.dtype}")
    if got.min() < 0 or got.max() >= num_classes:
        raise CheckFailed(f"{what} should lie in 0..{num_classes - 1}, got values from {int(got.min())} to {int(got.max())}")
    return got


def expect_near(got: float, expected: float, tolerance: float, what: str) -> None:
    """Fail unless a measured frequency or moment is within `tolerance` of the expected value."""
    if abs(got - expected) > tolerance:
        raise CheckFailed(f"{what} is {got:.4f}; expected about {expected:.4f} (within {tolerance:.3f})")


def expect_reproducible(corruption: Callable[[torch.Generator], torch.Tensor], new_generator: Callable[[], torch.Generator],
                        what: str) -> torch.Tensor:
    """Run `corruption` twice with equally seeded generators; fail unless both results are equal."""
    first, second = corruption(new_generator()), corruption(new_generator())
    if not torch.equal(first, second):
        raise CheckFailed(f"{what} gave different results for two generators with the same seed; draw every random "
                          "number from the generator argument (generator=generator), not from the global one")
    return first


def expect_unchanged(before: torch.Tensor, after: torch.Tensor, what: str) -> None:
    """Fail if a function changed its input tensor in place."""
    if not torch.equal(before, after):
        raise CheckFailed(f"{what} changed its input in place; return a new tensor and leave the input as it was")


@question("06.corrupt_labels", answer="corrupt_labels", points=2)
def check_corrupt_labels(corrupt_labels, gen: torch.Generator) -> None:
    """corrupt_labels(y, p, num_classes, generator) redraws each label uniformly from all classes with probability p."""
    new_generator = student_generator(gen)
    for _ in range(2):
        n, num_classes = int(torch.randint(40_000, 60_000, (), generator=gen)), int(torch.randint(2, 6, (), generator=gen))
        p = 0.3 + 0.5 * float(torch.rand((), generator=gen))
        y = skewed_labels(gen, n, num_classes)
        y_in = y.clone()
        case = f"for {n} labels, {num_classes} classes and p={p:.3f}"
        out = expect_reproducible(lambda g: corrupt_labels(y_in, p, num_classes, g), new_generator, f"corrupt_labels {case}")
        expect_labels(out, n, num_classes, f"the corrupted labels {case}")
        expect_unchanged(y, y_in, "corrupt_labels")
        expect_near(float((out != y).float().mean()), p * (num_classes - 1) / num_classes, 0.02,
                    f"the fraction of labels that changed {case} (a redrawn label keeps its class with chance 1/K)")
        expected_freq = (1 - p) * torch.bincount(y, minlength=num_classes) / n + p / num_classes
        expect_close(torch.bincount(out, minlength=num_classes) / n, expected_freq,
                     f"the class frequencies after corruption {case} (redrawn labels are uniform over all classes)",
                     atol=0.02, rtol=0.0)
    expect_close(corrupt_labels(y, 0.0, num_classes, new_generator()), y, "the labels for p = 0 (nothing may change)")


@question("06.random_labels", answer="random_labels", points=1)
def check_random_labels(random_labels, gen: torch.Generator) -> None:
    """random_labels(y, num_classes, generator) draws every label uniformly at random, whatever y was."""
    new_generator = student_generator(gen)
    for _ in range(2):
        n, num_classes = int(torch.randint(40_000, 60_000, (), generator=gen)), int(torch.randint(2, 11, (), generator=gen))
        y = skewed_labels(gen, n, num_classes)
        y_in = y.clone()
        case = f"for {n} labels and {num_classes} classes, half of them class 0"
        out = expect_reproducible(lambda g: random_labels(y_in, num_classes, g), new_generator, f"random_labels {case}")
        expect_labels(out, n, num_classes, f"the random labels {case}")
        expect_unchanged(y, y_in, "random_labels")
        expect_close(torch.bincount(out, minlength=num_classes) / n, torch.full((num_classes,), 1 / num_classes),
                     f"the class frequencies of the random labels {case} (each class should have 1/K)",
                     atol=0.02, rtol=0.0)
        expect_near(float((out == y).float().mean()), 1 / num_classes, 0.02,
                    f"the fraction of random labels equal to the true label {case}")


@question("06.shuffle_pixels", answer="shuffle_pixels", points=1)
def check_shuffle_pixels(shuffle_pixels, gen: torch.Generator) -> None:
    """shuffle_pixels(X, permutation) moves pixel permutation[j] to position j, in every image and channel."""
    for _ in range(3):
        n, c, h, w = (int(torch.randint(low, high, (), generator=gen)) for low, high in ((2, 7), (1, 4), (3, 8), (3, 8)))
        X, permutation = torch.randn(n, c, h, w, generator=gen), torch.randperm(h * w, generator=gen)
        X_in = X.clone()
        case = f"on images of shape {(n, c, h, w)} (permutation of {h * w} positions)"
        expected = corruptions.shuffle_pixels(X, permutation)
        out = shuffle_pixels(X_in, permutation)
        expect_shape(out, (n, c, h, w), f"the shuffled images {case}")
        expect_close(out, expected, f"the shuffled images {case}")
        expect_unchanged(X, X_in, "shuffle_pixels")


def position_images(n: int, c: int, h: int, w: int) -> torch.Tensor:
    """Images whose pixel value in channel k is (position + 100 k), so a rearrangement can be read back."""
    position = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w)
    return (position + 100 * torch.arange(c).reshape(1, c, 1, 1)).expand(n, c, h, w).clone()


@question("06.random_pixels", answer="random_pixels", points=2)
def check_random_pixels(random_pixels, gen: torch.Generator) -> None:
    """random_pixels(X, generator) rearranges each image's pixels by its own random permutation, channels together."""
    new_generator = student_generator(gen)
    n, c, h, w = (int(torch.randint(low, high, (), generator=gen)) for low, high in ((300, 500), (2, 4), (3, 7), (3, 7)))
    case = f"on images of shape {(n, c, h, w)}"
    X = torch.rand(n, c, h, w, generator=gen)
    X_in = X.clone()
    out = expect_reproducible(lambda g: random_pixels(X_in, g), new_generator, f"random_pixels {case}")
    expect_shape(out, (n, c, h, w), f"the output {case}")
    expect_unchanged(X, X_in, "random_pixels")
    expect_close(out.flatten(2).sort(dim=2).values, X.flatten(2).sort(dim=2).values,
                 f"each image's sorted pixel values {case} (the output must rearrange each image's own pixels)")
    sources = random_pixels(position_images(n, c, h, w), new_generator()).flatten(2)
    if not torch.equal(sources - sources[:, :1], 100 * torch.arange(c).reshape(1, c, 1).expand_as(sources)):
        raise CheckFailed(f"{case}, the channels of an image were rearranged differently; move all channels of a "
                          "pixel together (one permutation of the h*w positions per image)")
    distinct = len(torch.unique(sources[:, 0], dim=0))
    if distinct < 0.9 * n:
        raise CheckFailed(f"{case}, only {distinct} of {n} images got distinct rearrangements; draw a new random "
                          "permutation for every image")
    neighbours = float(((sources[:, 0, 1] - sources[:, 0, 0]).abs() == 1).float().mean())
    if neighbours > 0.6:
        raise CheckFailed(f"{case}, pixels 0 and 1 of the output were neighbours in the input in {neighbours:.0%} of "
                          "the images; a uniformly random permutation should scatter them")


@question("06.gaussian_like", answer="gaussian_like", points=2)
def check_gaussian_like(gaussian_like, gen: torch.Generator) -> None:
    """gaussian_like(X, generator) is Gaussian noise with each channel's mean and standard deviation of X."""
    new_generator = student_generator(gen)
    for c in (1, 3):
        n, h, w = (int(torch.randint(low, high, (), generator=gen)) for low, high in ((2000, 3000), (4, 7), (4, 7)))
        order = torch.randperm(c, generator=gen)
        mean = (torch.linspace(-3, 3, c)[order] + 0.5 * torch.rand(c, generator=gen)).reshape(1, c, 1, 1)
        std = (torch.linspace(0.5, 3, c)[order] + 0.2 * torch.rand(c, generator=gen)).reshape(1, c, 1, 1)
        X = mean + std * (torch.rand(n, c, h, w, generator=gen) - 0.5) * 12 ** 0.5
        X_in = X.clone()
        case = f"on data of shape {(n, c, h, w)} (uniform values, channel means {[round(m, 2) for m in mean.flatten().tolist()]})"
        out = expect_reproducible(lambda g: gaussian_like(X_in, g), new_generator, f"gaussian_like {case}")
        expect_shape(out, (n, c, h, w), f"the noise {case}")
        expect_unchanged(X, X_in, "gaussian_like")
        data_mean, data_std = X.mean(dim=(0, 2, 3), keepdim=True), X.std(dim=(0, 2, 3), keepdim=True)
        expect_close(out.mean(dim=(0, 2, 3)), data_mean.flatten(), f"the per-channel mean of the noise {case}",
                     atol=0.15, rtol=0.0)
        expect_close(out.std(dim=(0, 2, 3)) / data_std.flatten(), torch.ones(c),
                     f"the per-channel standard deviation of the noise relative to the data's {case}", atol=0.03, rtol=0.0)
        z, z_data = (out - data_mean) / data_std, (X - data_mean) / data_std
        expect_near(float((z.abs() < 1).float().mean()), 0.6827, 0.02,
                    f"the fraction of noise values within one standard deviation of the mean {case} (Gaussian: 68.3%)")
        expect_near(float((z * z_data).mean()), 0.0, 0.05,
                    f"the correlation between the noise and the data {case} (the noise must not depend on the images)")
