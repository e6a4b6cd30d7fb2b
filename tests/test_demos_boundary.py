"""The decision-boundary demo: data, roughness, training with and without the L2 penalty, the figure and numbers."""
import pytest
import torch
from torch import nn

from d2lutil.demos.boundary import accuracy, boundary_demo, grid, roughness, train_classifier, two_moons


def test_two_moons_splits_are_reproducible_and_sized():
    X, y, X_test, y_test = two_moons(30, 0.2, n_test=50, seed=3)
    assert X.shape == (30, 2) and X_test.shape == (50, 2) and set(y.tolist()) == {0, 1}
    assert torch.equal(X, two_moons(30, 0.2, n_test=50, seed=3)[0])
    assert not torch.equal(X, two_moons(30, 0.2, n_test=50, seed=4)[0])
    with pytest.raises(ValueError, match="n_points=0"):
        two_moons(0)


def linear_net() -> nn.Linear:
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [4.0, 4.0]]))
        net.bias.zero_()
    return net


def test_roughness_of_a_linear_net_is_the_norm_of_its_margin_weights():
    # margin = (4x1 + 4x2) - x1 = 3x1 + 4x2, whose gradient has norm 5 everywhere
    assert roughness(linear_net(), grid(10)[2]) == pytest.approx(5.0)


def test_accuracy_counts_correct_predictions():
    X = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, -2.0]])
    assert accuracy(linear_net(), X, torch.tensor([1, 0, 1])) == pytest.approx(2 / 3)


def test_weight_decay_shrinks_the_weights_and_smooths_the_scores():
    X, y, _, _ = two_moons(30, 0.3, seed=0)
    free, decayed = (train_classifier(X, y, lam, hidden=32, steps=300) for lam in (0.0, 0.1))
    assert accuracy(free, X, y) == 1.0
    assert decayed.state_dict().keys() == free.state_dict().keys()
    points = grid(30)[2]
    assert roughness(decayed, points) < roughness(free, points) / 3
    with pytest.raises(ValueError, match="lam=-1"):
        train_classifier(X, y, -1.0)


def test_boundary_demo_returns_both_runs_and_a_labelled_figure():
    fig, numbers = boundary_demo(0.1, n_points=30, hidden=32, steps=200)
    assert set(numbers) == {"unregularized", "regularized"}
    assert numbers["unregularized"]["lambda"] == 0.0 and numbers["regularized"]["lambda"] == 0.1
    assert numbers["regularized"]["weight_norm"] < numbers["unregularized"]["weight_norm"]
    assert len(fig.axes) >= 2 and all(ax.get_title() and ax.get_xlabel() for ax in fig.axes[:2])
    assert fig.axes[0].get_legend() is not None
    with pytest.raises(ValueError, match="weight_decay=-0.5"):
        boundary_demo(-0.5)
