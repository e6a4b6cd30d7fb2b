"""Chapter 05, modern regularizers: mixup, CutMix, label smoothing, distillation, clipping by norm, DropPath.

Each check draws fresh inputs of varied sizes from the generator it is given, runs the
student's answer on them, and compares with a reference (kept here, or d2lutil's own
distillation loss). Through the grader the answer runs in the student's kernel and only its
values come back, so a loss is checked by its value on many inputs and by still requiring grad.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...regularizers.losses import distillation_loss as reference_distillation_loss
from ..registry import CheckFailed, expect_close, expect_shape, question


def reference_mixup(X: torch.Tensor, Y: torch.Tensor, lam: float,
                    perm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each example and its target with the ones at `perm`: lam * own + (1 - lam) * partner."""
    return lam * X + (1 - lam) * X[perm], lam * Y + (1 - lam) * Y[perm]


def reference_cutmix(X: torch.Tensor, Y: torch.Tensor, perm: torch.Tensor,
                     box: tuple[int, int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste the partner's pixels inside box = (top, left, height, width); weight targets by area."""
    top, left, height, width = box
    mixed = X.clone()
    mixed[:, :, top:top + height, left:left + width] = X[perm][:, :, top:top + height, left:left + width]
    lam = 1 - height * width / (X.shape[2] * X.shape[3])
    return mixed, lam * Y + (1 - lam) * Y[perm]


def random_image_batch(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of images of random size (n, c, h, w) and one-hot targets over a random number of classes."""
    n, c, h, w, num_classes = torch.randint(3, 9, (5,), generator=gen).tolist()
    X = torch.randn(n, c, h, w, generator=gen)
    Y = F.one_hot(torch.randint(num_classes, (n,), generator=gen), num_classes).float()
    return X, Y


def expect_pair(got: object, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fail unless `got` is a pair of values, and return it."""
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise CheckFailed(f"{what} should return a pair (mixed images, mixed targets), got {type(got).__name__}")
    return got[0], got[1]


def expect_unchanged(before: torch.Tensor, after: torch.Tensor, what: str) -> None:
    """Fail if a function changed its input tensor in place."""
    if not torch.equal(before, after):
        raise CheckFailed(f"{what} changed its input in place; work on a copy (for example X.clone())")


def expect_mixed(result: object, expected: tuple[torch.Tensor, torch.Tensor], X: torch.Tensor, X_in: torch.Tensor,
                 name: str, case: str) -> None:
    """Fail unless `result` is the expected (images, targets) pair and the input images were left as they were."""
    X_mix, Y_mix = expect_pair(result, name)
    expect_close(X_mix, expected[0], f"the mixed images {case}")
    expect_close(Y_mix, expected[1], f"the mixed targets {case}")
    expect_unchanged(X, X_in, name)


@question("05.mixup", answer="mixup", points=2)
def check_mixup(mixup, gen: torch.Generator) -> None:
    """mixup(X, Y, lam, perm) blends each image and target with its partner at perm, weights lam and 1 - lam."""
    for _ in range(3):
        X, Y = random_image_batch(gen)
        lam, perm = float(torch.rand((), generator=gen)), torch.randperm(len(X), generator=gen)
        X_in = X.clone()
        expect_mixed(mixup(X_in, Y.clone(), lam, perm), reference_mixup(X, Y, lam, perm), X, X_in, "mixup",
                     f"on a batch of shape {tuple(X.shape)} with lam={lam:.3f}")


@question("05.cutmix", answer="cutmix", points=2)
def check_cutmix(cutmix, gen: torch.Generator) -> None:
    """cutmix(X, Y, perm, box) pastes the partner's box and weights the targets by the pasted area."""
    for _ in range(4):
        X, Y = random_image_batch(gen)
        _, _, h, w = X.shape
        height, width = int(torch.randint(1, h + 1, (), generator=gen)), int(torch.randint(1, w + 1, (), generator=gen))
        box = (int(torch.randint(h - height + 1, (), generator=gen)), int(torch.randint(w - width + 1, (), generator=gen)),
               height, width)
        perm = torch.randperm(len(X), generator=gen)
        X_in = X.clone()
        expect_mixed(cutmix(X_in, Y.clone(), perm, box), reference_cutmix(X, Y, perm, box), X, X_in, "cutmix",
                     f"on a batch of shape {tuple(X.shape)} with box (top, left, height, width) = {box}")


def expect_differentiable(loss: torch.Tensor, what: str) -> None:
    """Fail unless the loss still carries a gradient back to the scores (no .detach(), .item() or NumPy)."""
    if not loss.requires_grad:
        raise CheckFailed(f"{what} does not depend differentiably on the scores; build it from torch operations "
                          "on the scores, without .detach(), .item() or NumPy")


@question("05.label_smoothing", answer="label_smoothing_loss", points=2)
def check_label_smoothing(label_smoothing_loss, gen: torch.Generator) -> None:
    """label_smoothing_loss(scores, y, eps) is cross-entropy against (1 - eps) * one-hot + eps / K."""
    for eps in (0.0, float(torch.rand((), generator=gen)) * 0.5, 0.5):
        n, num_classes = torch.randint(2, 12, (2,), generator=gen).tolist()
        scores = (3 * torch.randn(n, num_classes, generator=gen)).requires_grad_()
        y = torch.randint(num_classes, (n,), generator=gen)
        case = f"for {n} examples, {num_classes} classes and eps={eps:.3f}"
        loss = label_smoothing_loss(scores, y, eps)
        expected = F.cross_entropy(scores, y, label_smoothing=eps)
        expect_shape(loss, (), f"the loss {case}")
        expect_close(loss, expected, f"the loss {case}")
        expect_differentiable(loss, f"the loss {case}")


@question("05.distillation", answer="distillation_loss", points=2)
def check_distillation(distillation_loss, gen: torch.Generator) -> None:
    """distillation_loss(student_scores, teacher_scores, y, T, alpha) matches Hinton et al.'s loss."""
    for T in (1.0, 1 + 4 * float(torch.rand((), generator=gen)), 8.0):
        n, num_classes = torch.randint(2, 12, (2,), generator=gen).tolist()
        student = (2 * torch.randn(n, num_classes, generator=gen)).requires_grad_()
        teacher = 4 * torch.randn(n, num_classes, generator=gen)
        y = torch.randint(num_classes, (n,), generator=gen)
        alpha = float(torch.rand((), generator=gen))
        case = f"for {n} examples, {num_classes} classes, T={T:.2f} and alpha={alpha:.2f}"
        loss = distillation_loss(student, teacher, y, T, alpha)
        expected = reference_distillation_loss(student, teacher, y, T, alpha)
        expect_shape(loss, (), f"the loss {case}")
        expect_close(loss, expected, f"the loss {case}")
        expect_differentiable(loss, f"the loss {case}")


@question("05.clip_grad_norm", answer="clip_grad_norm", points=2)
def check_clip_grad_norm(clip_grad_norm, gen: torch.Generator) -> None:
    """clip_grad_norm(grads, max_norm) rescales all gradients together; returns (clipped grads, norm before)."""
    for low, high in ((0.1, 0.9), (1.1, 3.0), (0.01, 0.1)):
        grads = random_gradients(gen)
        total = torch.cat([g.flatten() for g in grads]).norm()
        max_norm = float(total) * (low + (high - low) * float(torch.rand((), generator=gen)))
        case = (f"for {len(grads)} gradients of shapes {[tuple(g.shape) for g in grads]} with total norm "
                f"{float(total):.4g} and max_norm={max_norm:.4g}")
        got = clip_grad_norm([g.clone() for g in grads], max_norm)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise CheckFailed(f"clip_grad_norm should return a pair (clipped gradients, total norm), got {type(got).__name__}")
        clipped, norm = got
        expect_close(norm, total, f"the returned total norm (before clipping) {case}")
        if not (isinstance(clipped, (tuple, list)) and len(clipped) == len(grads)):
            raise CheckFailed(f"the clipped gradients {case} should be a list of {len(grads)} tensors, one per gradient")
        scale = min(1.0, max_norm / float(total))
        for index, (got_grad, grad) in enumerate(zip(clipped, grads)):
            expect_shape(got_grad, tuple(grad.shape), f"clipped gradient {index} {case}")
            expect_close(got_grad, scale * grad, f"clipped gradient {index} {case} (one common scale for all)")


def random_gradients(gen: torch.Generator) -> list[torch.Tensor]:
    """Two to four gradients of random shapes and random overall size."""
    count, scale = int(torch.randint(2, 5, (), generator=gen)), float(10 ** (2 * torch.rand((), generator=gen) - 1))
    shapes = [tuple(torch.randint(1, 6, (int(torch.randint(1, 4, (), generator=gen)),), generator=gen).tolist())
              for _ in range(count)]
    return [scale * torch.randn(shape, generator=gen) for shape in shapes]


@question("05.drop_path", answer="DropPath", points=3)
def check_drop_path(DropPath, gen: torch.Generator) -> None:
    """DropPath(p) zeroes whole examples with probability p in training, scales the rest by 1/(1-p), is identity in eval."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2 ** 31 - 1, (), generator=gen)))
        rates = [0.25, *(0.2 + 0.6 * torch.rand(2, generator=gen)).tolist()]
        for p, shape in zip(rates, ((4000, 3, 4, 4), (4000, 5, 6), (4000, 7))):
            X = 0.5 + torch.rand(shape, generator=gen)
            check_drop_path_once(DropPath(p), X, p)
        identity = DropPath(0.0).train()
        expect_close(identity(X), X, "the output of DropPath(0.0) in training mode (it must not change the input)")


def check_drop_path_once(layer: nn.Module, X: torch.Tensor, p: float) -> None:
    """Check one DropPath layer on a batch X of positive values in eval and in training mode."""
    case = f"for p={p:.3f} on a batch of shape {tuple(X.shape)}"
    expect_close(layer.eval()(X), X, f"the output in eval mode {case} (it must be the input unchanged)")
    out = layer.train()(X.clone())
    expect_shape(out, tuple(X.shape), f"the output in training mode {case}")
    dropped = (out.flatten(1) == 0).all(dim=1)
    kept_right = torch.isclose(out, X / (1 - p), rtol=1e-4).flatten(1).all(dim=1)
    if not (dropped | kept_right).all():
        raise CheckFailed(f"in training mode {case}, some examples were neither zeroed entirely nor kept whole and "
                          "scaled by 1/(1-p): DropPath drops whole examples (one coin per example), not single values")
    rate, tolerance = float(dropped.float().mean()), 6 * (p * (1 - p) / len(X)) ** 0.5
    if abs(rate - p) > tolerance:
        raise CheckFailed(f"in training mode {case}, a fraction {rate:.3f} of the examples was dropped; expected about {p:.3f}")
