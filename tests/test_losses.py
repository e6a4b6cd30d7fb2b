"""Label smoothing and knowledge distillation: agreement with PyTorch, limits, and the T^2 factor."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import d2lutil
from d2lutil.regularizers.losses import (DistillationLoss, LabelSmoothingLoss, attach_teacher_scores,
                                         distillation_loss, smooth_labels, soft_target_loss)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def scores_and_labels(n: int = 32, k: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return 3 * torch.randn(n, k, generator=gen(seed)), torch.randint(k, (n,), generator=gen(seed + 1))


def test_smoothed_labels_keep_eps_over_k_on_every_class():
    soft = smooth_labels(torch.tensor([1, 3]), 4, 0.2)
    assert torch.allclose(soft, torch.tensor([[0.05, 0.85, 0.05, 0.05], [0.05, 0.05, 0.05, 0.85]]))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_loss_matches_pytorch_for_labels_and_probabilities(smoothing):
    scores, y = scores_and_labels()
    reference = nn.CrossEntropyLoss(label_smoothing=smoothing)
    assert torch.allclose(LabelSmoothingLoss(smoothing)(scores, y), reference(scores, y), atol=1e-6)
    probs = torch.softmax(torch.randn(32, 10, generator=gen(7)), dim=1)
    assert torch.allclose(LabelSmoothingLoss(smoothing)(scores, probs), reference(scores, probs), atol=1e-6)


def test_label_smoothing_is_minimized_by_a_finite_score_gap():
    # With eps > 0 the best scores put probability 1 - eps + eps/K on the label, not 1.
    y = torch.tensor([0])
    loss = LabelSmoothingLoss(0.1)
    gaps = torch.linspace(0, 20, 201)
    losses = torch.stack([loss(torch.tensor([[g, 0, 0, 0]]), y) for g in gaps])
    best = gaps[losses.argmin()]
    assert 3 < best < 5  # log((1 - eps + eps/K) / (eps/K)) = log(37) = 3.6
    assert losses[-1] > losses.min() + 1


def test_soft_target_loss_is_the_kl_divergence_at_temperature_t():
    student, _ = scores_and_labels(seed=0)
    teacher, _ = scores_and_labels(seed=5)
    T = 3.0
    p_t, log_p_s = torch.softmax(teacher / T, dim=1), torch.log_softmax(student / T, dim=1)
    expected = (p_t * (p_t.log() - log_p_s)).sum(dim=1).mean()
    assert torch.allclose(soft_target_loss(student, teacher, T), expected, atol=1e-6)
    assert soft_target_loss(teacher, teacher, T).abs() < 1e-6


def test_distillation_loss_blends_soft_and_hard_terms():
    student, y = scores_and_labels(seed=0)
    teacher, _ = scores_and_labels(seed=5)
    T, alpha = 4.0, 0.7
    hard, soft = F.cross_entropy(student, y), soft_target_loss(student, teacher, T)
    assert torch.allclose(distillation_loss(student, teacher, y, T, 0.0), hard)
    assert torch.allclose(distillation_loss(student, teacher, y, T, alpha), alpha * T**2 * soft + (1 - alpha) * hard)


def test_the_t_squared_factor_keeps_the_soft_gradients_the_same_size():
    teacher, _ = scores_and_labels(seed=5)

    def grad_norm(T: float, factor: bool) -> float:
        student = scores_and_labels(seed=0)[0].requires_grad_()
        loss = soft_target_loss(student, teacher, T) * (T**2 if factor else 1)
        loss.backward()
        return student.grad.norm().item()

    assert grad_norm(5, False) / grad_norm(20, False) > 10
    assert 0.7 < grad_norm(5, True) / grad_norm(20, True) < 1.4


def test_attach_teacher_scores_packs_labels_and_scores_for_the_distillation_loss():
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.Dropout(0.5))
    X, y = torch.randn(8, 1, 8, 8), torch.randint(10, (8,))
    X_out, targets = attach_teacher_scores(teacher)(X, y, gen())
    assert not teacher.training and X_out is X and targets.shape == (8, 11)
    assert torch.equal(targets[:, 0].long(), y) and torch.allclose(targets[:, 1:], teacher(X))
    student_scores = torch.randn(8, 10)
    assert torch.allclose(DistillationLoss(2.0, 0.5)(student_scores, targets),
                          distillation_loss(student_scores, teacher(X), y, 2.0, 0.5))


def test_a_student_learns_from_a_teacher_through_fit(digits):
    data = digits.subset(n_train=300, n_test=200)
    torch.manual_seed(0)
    teacher = d2lutil.make_model("mlp", data.input_shape, hidden=(128,))
    d2lutil.fit(teacher, data, 10, lr=0.1, batch_size=32, progress=False)
    student = d2lutil.make_model("mlp", data.input_shape, hidden=(16,))
    history = d2lutil.fit(student, data, 10, lr=0.1, batch_size=32, loss_fn=DistillationLoss(4.0, 0.9),
                          augment=attach_teacher_scores(teacher), progress=False)
    assert history.val_acc[-1] > 0.8


@pytest.mark.parametrize("make", [lambda: LabelSmoothingLoss(1.5), lambda: DistillationLoss(0.0),
                                  lambda: DistillationLoss(2.0, alpha=-0.1),
                                  lambda: smooth_labels(torch.tensor([0]), 3, -0.1)])
def test_bad_settings_raise_value_errors(make):
    with pytest.raises(ValueError, match="not allowed"):
        make()
