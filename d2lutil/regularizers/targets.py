"""Targets as rows of class probabilities: what mixup, CutMix and label smoothing train against."""
from __future__ import annotations

import torch
from torch.nn import functional as F


def to_probabilities(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Integer labels as one-hot rows; labels that already are probability rows pass through."""
    return y if y.is_floating_point() else F.one_hot(y, num_classes).float()
