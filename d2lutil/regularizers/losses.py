"""Losses that regularize through the targets: label smoothing and knowledge distillation."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..train import Augment
from ..validate import check_positive, check_probability
from .targets import to_probabilities


def smooth_labels(y: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    """Targets (1 - eps) * one_hot(y) + eps / K: every class keeps probability eps / K."""
    return (1 - check_probability("smoothing", smoothing)) * to_probabilities(y, num_classes) + smoothing / num_classes


class LabelSmoothingLoss(nn.Module):
    """Cross-entropy against smoothed targets; accepts integer labels or probability rows (e.g. from mixup)."""

    def __init__(self, smoothing: float = 0.1) -> None:
        super().__init__()
        self.smoothing = check_probability("smoothing", smoothing)

    def forward(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of class scores (N, K) against labels (N,) or probability rows (N, K)."""
        targets = smooth_labels(y, scores.shape[1], self.smoothing)
        return -(targets * F.log_softmax(scores, dim=1)).sum(dim=1).mean()

    def extra_repr(self) -> str:
        return f"smoothing={self.smoothing}"


def soft_target_loss(student_scores: torch.Tensor, teacher_scores: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch, without the T^2 factor."""
    T = check_positive("temperature", temperature)
    return F.kl_div(F.log_softmax(student_scores / T, dim=1), F.log_softmax(teacher_scores / T, dim=1),
                    reduction="batchmean", log_target=True)


def distillation_loss(student_scores: torch.Tensor, teacher_scores: torch.Tensor, y: torch.Tensor,
                      temperature: float = 4.0, alpha: float = 0.9) -> torch.Tensor:
    """Hinton et al. (2015): alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, y).

    The T^2 factor keeps the soft term's gradients the same size as T changes (they shrink as 1/T^2).
    """
    alpha = check_probability("alpha", alpha)
    soft = soft_target_loss(student_scores, teacher_scores, temperature) * temperature**2
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_scores, y)


def attach_teacher_scores(teacher: nn.Module) -> Augment:
    """An augment for `fit` that pairs each batch's labels with the (frozen) teacher's class scores.

    The targets become rows [label, teacher scores...] of shape (N, 1 + K), which
    `DistillationLoss` unpacks; `fit` still evaluates accuracy with the plain labels.
    """
    teacher.eval()

    def augment(X: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep X; return targets [y, teacher(X)] (the generator is unused: nothing is random)."""
        with torch.no_grad():
            scores = teacher(X)
        return X, torch.cat([y[:, None].to(scores.dtype), scores], dim=1)

    return augment


class DistillationLoss(nn.Module):
    """`distillation_loss` on targets packed by `attach_teacher_scores` as rows [label, teacher scores...]."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.alpha = check_probability("alpha", alpha)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The distillation loss of the student's scores against the packed labels and teacher scores."""
        y, teacher_scores = targets[:, 0].long(), targets[:, 1:]
        return distillation_loss(scores, teacher_scores, y, self.temperature, self.alpha)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"
