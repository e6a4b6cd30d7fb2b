"""Gradient clipping, the gradient-norm monitor, max-norm constraints and Gaussian noise injection."""
import pytest
import torch
from torch import nn

import d2lutil
from d2lutil.regularizers.constraints import (GaussianNoise, GradientClipping, GradientNormMonitor, MaxNorm,
                                              apply_max_norm, clip_gradients, constrained_weights, gradient_norm,
                                              unit_norms)


def net_with_gradients(scale: float = 10.0) -> nn.Module:
    """A small network whose gradients have been filled by one backward pass of a scaled loss."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    (scale * net(torch.randn(8, 6)).pow(2).sum()).backward()
    return net


def test_gradient_norm_is_the_norm_of_all_gradients_concatenated():
    net = net_with_gradients()
    expected = torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item()
    assert gradient_norm(net.parameters()) == pytest.approx(expected, rel=1e-6)
    assert gradient_norm(nn.Linear(2, 2).parameters()) == 0.0  # no gradients yet


def test_clipping_by_norm_rescales_all_gradients_together():
    net = net_with_gradients()
    before = [p.grad.clone() for p in net.parameters()]
    norm = gradient_norm(net.parameters())
    assert norm > 1.0
    clip_gradients(net.parameters(), 1.0, "norm")
    assert gradient_norm(net.parameters()) == pytest.approx(1.0, rel=1e-4)
    for old, p in zip(before, net.parameters()):  # the direction is kept
        assert torch.allclose(p.grad, old / norm, rtol=1e-4, atol=1e-7)


def test_clipping_by_norm_leaves_small_gradients_alone():
    net = net_with_gradients(scale=1e-4)
    before = [p.grad.clone() for p in net.parameters()]
    clip_gradients(net.parameters(), 1.0, "norm")
    assert all(torch.equal(old, p.grad) for old, p in zip(before, net.parameters()))


def test_clipping_by_value_clamps_each_entry():
    net = net_with_gradients()
    before = [p.grad.clone() for p in net.parameters()]
    clip_gradients(net.parameters(), 0.5, "value")
    for old, p in zip(before, net.parameters()):
        assert torch.equal(p.grad, old.clamp(-0.5, 0.5))
    assert any((old.abs() > 0.5).any() for old in before)


def test_max_norm_projects_each_unit_onto_the_ball_and_keeps_small_units():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Conv1d(1, 2, 1))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[3.0, 4, 0, 0], [0.1, 0, 0, 0], [0, 0, 0, 2]]))
    conv_before = net[3].weight.clone()
    apply_max_norm(net, 2.0)
    assert torch.allclose(net[1].weight[0], torch.tensor([1.2, 1.6, 0, 0]), atol=1e-5)  # norm 5 -> 2
    assert torch.equal(net[1].weight[1:], torch.tensor([[0.1, 0, 0, 0], [0, 0, 0, 2.0]]))
    assert torch.allclose(net[3].weight, conv_before)  # its filters are already short
    assert (unit_norms(net) <= 2.0 + 1e-5).all()


def test_constraints_leave_biases_and_batch_norm_alone():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    weights = constrained_weights(net)
    assert len(weights) == 2 and weights[0] is net[0].weight and weights[1] is net[3].weight
    assert unit_norms(net).shape == (4 + 2,)


def test_callbacks_clip_and_constrain_during_fit(digits):
    data = digits.subset(n_train=200, n_test=100)
    torch.manual_seed(0)
    net = d2lutil.make_model("mlp", data.input_shape, hidden=(32,))
    before_clip, after_clip = GradientNormMonitor(), GradientNormMonitor()
    callbacks = [before_clip, GradientClipping(0.5, "norm"), after_clip, MaxNorm(1.5)]
    d2lutil.fit(net, data, 3, lr=0.5, batch_size=50, callbacks=callbacks, progress=False)
    assert len(before_clip.norms) == len(after_clip.norms) == 3 * 4
    assert max(before_clip.norms) > 0.5
    assert max(after_clip.norms) <= 0.5 + 1e-5
    assert all(b >= a - 1e-6 for b, a in zip(before_clip.norms, after_clip.norms))
    assert unit_norms(net).max() <= 1.5 + 1e-5


def test_the_monitor_saves_and_restores_its_norms():
    monitor, restored = GradientNormMonitor(), GradientNormMonitor()
    monitor.norms = [1.0, 2.5]
    restored.load_state_dict(monitor.state_dict())
    assert restored.norms == [1.0, 2.5]


def test_gaussian_noise_adds_noise_of_the_given_size_while_training_only():
    torch.manual_seed(0)
    X = torch.zeros(200, 50)
    noise = GaussianNoise(0.3)
    assert abs(noise.train()(X).std().item() - 0.3) < 0.01
    assert torch.equal(noise.eval()(X), X)
    assert torch.equal(GaussianNoise(0.0).train()(X), X)


@pytest.mark.parametrize("make", [lambda: GradientClipping(0.0), lambda: GradientClipping(1.0, "sign"),
                                  lambda: MaxNorm(-1.0), lambda: GaussianNoise(-0.1),
                                  lambda: clip_gradients([], 1.0, "l1"),
                                  lambda: apply_max_norm(nn.Linear(2, 2), 0.0)])
def test_bad_settings_raise_value_errors_naming_what_is_allowed(make):
    with pytest.raises(ValueError, match="not allowed"):
        make()
