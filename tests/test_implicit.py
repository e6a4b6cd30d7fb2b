"""Minimum-norm solutions, kernel interpolation, the 2n + d construction and sharpness."""
import pytest
import torch
from torch import nn

from d2lutil import implicit


def problem(n: int = 8, d: int = 20, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """An under-determined least-squares problem in float64."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(n, generator=gen, dtype=torch.float64)


def test_min_norm_solution_interpolates_with_the_smallest_norm():
    X, y = problem()
    w = implicit.min_norm_solution(X, y)
    torch.testing.assert_close(X @ w, y)
    other = w + implicit.null_space_component(X, torch.randn(20, dtype=torch.float64))
    torch.testing.assert_close(X @ other, y)
    assert float(other.norm()) > float(w.norm())


@pytest.mark.parametrize("batch_size", [None, 2])
def test_gradient_descent_from_zero_finds_the_min_norm_solution(batch_size):
    X, y = problem()
    lr = 0.5 / float(torch.linalg.eigvalsh(X.T @ X / len(y)).max())
    w = implicit.gradient_descent(X, y, lr, 20000, batch_size=batch_size)
    torch.testing.assert_close(w, implicit.min_norm_solution(X, y), atol=1e-6, rtol=1e-6)


def test_gradient_descent_from_w0_keeps_the_null_space_part_of_w0():
    X, y = problem()
    w0 = torch.randn(20, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    lr = 0.5 / float(torch.linalg.eigvalsh(X.T @ X / len(y)).max())
    w = implicit.gradient_descent(X, y, lr, 20000, w0=w0)
    torch.testing.assert_close(w, implicit.min_norm_solution(X, y) + implicit.null_space_component(X, w0),
                               atol=1e-6, rtol=1e-6)


def test_gradient_descent_steps_match_the_update_rule():
    X, y = problem(3, 5)
    w1 = implicit.gradient_descent(X, y, 0.1, 1)
    torch.testing.assert_close(w1, 0.1 * X.T @ y / 3)
    assert implicit.gradient_descent(X, y, 0.1, 0).abs().sum() == 0


@pytest.mark.parametrize("kwargs, match", [({"lr": 0.0}, "lr="), ({"num_steps": -1}, "num_steps="),
                                           ({"batch_size": 9}, "batch_size=9")])
def test_gradient_descent_rejects_bad_arguments(kwargs, match):
    X, y = problem()
    with pytest.raises(ValueError, match=match):
        implicit.gradient_descent(X, y, **{"lr": 0.1, "num_steps": 5, **kwargs})


def test_rbf_kernel_values_and_bad_gamma():
    A = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    K = implicit.rbf_kernel(A, A, 0.5)
    e = float(torch.exp(torch.tensor(-1.0)))  # ||(0, 0) - (1, 1)||^2 = 2, times gamma = 0.5
    torch.testing.assert_close(K, torch.tensor([[1.0, e], [e, 1.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="gamma"):
        implicit.rbf_kernel(A, A, 0.0)


def test_kernel_interpolation_fits_every_training_label_and_ridge_shrinks_the_norm():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(30, 1, 4, 4, generator=gen), torch.randint(3, (30,), generator=gen)
    Y = implicit.one_hot(y, 3)
    exact = implicit.fit_kernel(X, Y, gamma=0.1)
    torch.testing.assert_close(exact.predict(X), Y, atol=1e-6, rtol=0)
    ridged = implicit.fit_kernel(X, Y, gamma=0.1, ridge=0.1)
    assert ridged.norm < exact.norm
    assert float((ridged.predict(X) - Y).abs().max()) > 1e-3
    with pytest.raises(ValueError, match="ridge"):
        implicit.fit_kernel(X, Y, gamma=0.1, ridge=-1.0)


def test_one_hot_rows():
    torch.testing.assert_close(implicit.one_hot(torch.tensor([2, 0]), 3),
                               torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("n, d", [(1, 3), (7, 2), (200, 64)])
def test_fit_two_layer_relu_fits_any_labels_with_2n_plus_d_weights(n, d):
    gen = torch.Generator().manual_seed(n)
    X, y = torch.randn(n, d, generator=gen), torch.randint(10, (n,), generator=gen)
    a, b, w = implicit.fit_two_layer_relu(X, y, seed=3)
    net = implicit.TwoLayerReLU(a, b, w)
    assert implicit.num_parameters(net) == 2 * n + d
    torch.testing.assert_close(net(X), y.double(), atol=1e-6, rtol=0)
    torch.testing.assert_close(implicit.two_layer_relu(X.double(), a, b, w), y.double(), atol=1e-6, rtol=0)


def test_fit_two_layer_relu_rejects_duplicate_points():
    X = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="not distinct"):
        implicit.fit_two_layer_relu(X, torch.tensor([0.0, 1.0]))


def test_two_layer_relu_formula():
    X = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    out = implicit.two_layer_relu(X, torch.tensor([1.0, 1.0]), torch.tensor([0.5, 1.5]), torch.tensor([2.0, -1.0]))
    torch.testing.assert_close(out, torch.tensor([2 * 0.5, 2 * 1.5 - 0.5]))


def test_sharpness_of_a_quadratic_is_its_largest_curvature():
    net = nn.Linear(3, 1, bias=False)
    X = torch.diag(torch.tensor([3.0, 1.0, 0.5])) * 3 ** 0.5
    y = torch.zeros(3, 1)
    mse = lambda out, target: ((out - target) ** 2).sum() / len(target)  # noqa: E731
    # loss = (1/3) sum_i (x_i . w)^2 has Hessian (2/3) X^T X = diag(18, 2, 0.5)
    assert implicit.sharpness(net, X, y, num_iters=50, loss_fn=mse) == pytest.approx(18.0, rel=1e-4)
    with pytest.raises(ValueError, match="num_iters"):
        implicit.sharpness(net, X, y, num_iters=0, loss_fn=mse)
