"""Norm penalties and weight decay: values, gradients, the decay step against PyTorch, parameter groups, norms, sparsity."""
import pytest
import torch
from torch import nn

from d2lutil.regularizers.penalties import (PENALTIES, decay_groups, elastic_net_penalty, l1_penalty, l2_penalty,
                                            non_weights, penalized_loss, penalty, sgd_weight_decay_step, sparsity,
                                            weight_norm, weights)


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(8, 6, generator=gen), torch.randint(3, (8,), generator=gen)


def test_weights_are_the_matrices_and_non_weights_the_biases():
    net = small_net()
    assert [tuple(p.shape) for p in weights(net)] == [(5, 6), (3, 5)]
    assert [tuple(p.shape) for p in non_weights(net)] == [(5,), (3,)]


def test_penalty_values_on_a_known_vector():
    w = [torch.tensor([3.0, -4.0]), torch.tensor([[1.0]])]
    assert float(l2_penalty(w)) == pytest.approx((9 + 16 + 1) / 2)
    assert float(l1_penalty(w)) == pytest.approx(8.0)
    assert float(elastic_net_penalty(w, 0.25)) == pytest.approx(0.25 * 8 + 0.75 * 13)
    assert float(elastic_net_penalty(w, 1.0)) == pytest.approx(float(penalty("l1", w)))
    assert float(elastic_net_penalty(w, 0.0)) == pytest.approx(float(penalty("l2", w)))


def test_l2_penalty_gradient_is_the_weight_itself():
    w = torch.randn(4, 3, requires_grad=True)
    l2_penalty([w]).backward()
    assert torch.allclose(w.grad, w.detach())


def test_unknown_penalty_and_bad_values_name_what_is_allowed():
    with pytest.raises(ValueError, match="'l2', 'l1', 'elastic_net'"):
        penalty("l3", [torch.ones(2)])
    with pytest.raises(ValueError, match="l1_ratio=1.5"):
        elastic_net_penalty([torch.ones(2)], 1.5)
    with pytest.raises(ValueError, match="lam=-0.1"):
        penalized_loss(small_net(), "l2", -0.1)
    with pytest.raises(ValueError, match="weight_decay=-1"):
        decay_groups(small_net(), -1)
    assert PENALTIES == ("l2", "l1", "elastic_net")


@pytest.mark.parametrize("kind", PENALTIES)
def test_penalized_loss_adds_lambda_times_the_penalty_of_the_weights_only(kind):
    net, (X, y) = small_net(), batch()
    scores = net(X)
    expected = nn.functional.cross_entropy(scores, y) + 0.3 * penalty(kind, weights(net))
    assert torch.allclose(penalized_loss(net, kind, 0.3)(scores, y), expected)
    assert torch.allclose(penalized_loss(net, kind, 0.0)(scores, y), nn.functional.cross_entropy(scores, y))


def grads_of(net: nn.Module, loss_fn) -> None:
    X, y = batch()
    net.zero_grad()
    loss_fn(net(X), y).backward()


def test_scratch_decay_step_matches_torch_sgd_weight_decay():
    ours, theirs = small_net(), small_net()
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1, weight_decay=0.05)
    for _ in range(3):
        grads_of(ours, nn.functional.cross_entropy)
        sgd_weight_decay_step(ours.parameters(), lr=0.1, weight_decay=0.05)
        grads_of(theirs, nn.functional.cross_entropy)
        optimizer.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_decay_step_with_zero_gradient_shrinks_by_one_minus_lr_lambda():
    w = nn.Parameter(torch.tensor([2.0, -1.0]))
    w.grad = torch.zeros(2)
    sgd_weight_decay_step([w], lr=0.5, weight_decay=0.2)
    assert torch.allclose(w.detach(), torch.tensor([1.8, -0.9]))


def test_l2_penalty_in_the_loss_equals_optimizer_weight_decay_on_the_weights():
    penalized, decayed = small_net(), small_net()
    sgd = torch.optim.SGD(penalized.parameters(), lr=0.1)
    sgd_groups = torch.optim.SGD(decay_groups(decayed, 0.05), lr=0.1)
    for _ in range(3):
        grads_of(penalized, penalized_loss(penalized, "l2", 0.05))
        sgd.step()
        grads_of(decayed, nn.functional.cross_entropy)
        sgd_groups.step()
    for p, q in zip(penalized.parameters(), decayed.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_decay_groups_leave_biases_alone():
    net = small_net()
    groups = decay_groups(net, 0.5)
    assert [g["weight_decay"] for g in groups] == [0.5, 0.0]
    assert sum(len(g["params"]) for g in groups) == len(list(net.parameters()))
    before = [p.detach().clone() for p in net.parameters()]
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    torch.optim.SGD(groups, lr=1.0).step()
    for old, p in zip(before, net.parameters()):
        assert torch.allclose(p, old * 0.5 if p.ndim >= 2 else old)


def test_weight_norm_and_sparsity_of_known_weights():
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[3.0, 0.0], [0.0005, -4.0]]))
        net.bias.fill_(100.0)
    assert weight_norm(net) == pytest.approx((9 + 0.0005 ** 2 + 16) ** 0.5)
    assert sparsity(net, tol=1e-3) == pytest.approx(0.5)
    assert sparsity(net, tol=3.5) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="tol=-1"):
        sparsity(net, tol=-1)
