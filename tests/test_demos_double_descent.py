"""Chapter 8's experiments: 1-NN, random ReLU features and the double-descent demo."""
import matplotlib
import pytest
import torch

from d2lutil.demos import double_descent as dd


def test_nearest_neighbor_returns_the_closest_training_label():
    X_train = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    y_train = torch.tensor([4, 7, 9])
    X = torch.tensor([[1.0, 1.0], [9.0, 1.0], [1.0, 8.0], [0.0, 0.0]])
    assert dd.nearest_neighbor_predict(X_train, y_train, X).tolist() == [4, 7, 9, 4]


def test_nearest_neighbor_interpolates_its_training_set(digits):
    small = digits.subset(n_train=200, n_test=50)
    predicted = dd.nearest_neighbor_predict(small.X_train, small.y_train, small.X_train)
    assert torch.equal(predicted, small.y_train)


def test_random_relu_features_are_nonnegative_and_reproducible():
    X = torch.randn(5, 1, 2, 2)
    F = dd.random_relu_features(X, 7, seed=3)
    assert F.shape == (5, 7) and F.dtype == torch.float64 and bool((F >= 0).all())
    assert torch.equal(F, dd.random_relu_features(X, 7, seed=3))
    assert not torch.equal(F, dd.random_relu_features(X, 7, seed=4))
    with pytest.raises(ValueError, match="width"):
        dd.random_relu_features(X, 0)


def test_random_features_interpolate_beyond_the_threshold_and_not_below(digits):
    small = digits.subset(n_train=60, n_val=100)
    args = (small.X_train, small.y_train, small.X_val, small.y_val)
    wide = dd.random_features_errors(*args, width=600, num_classes=10)
    narrow = dd.random_features_errors(*args, width=5, num_classes=10)
    assert wide["train_error"] == 0.0
    assert narrow["train_error"] > 0.1
    assert 0.0 <= wide["val_error"] <= 1.0 and wide["val_mse"] > 0


def test_double_descent_curve_peaks_at_the_interpolation_threshold(digits):
    small = digits.subset(n_train=80, n_val=200)
    widths = [8, 40, 80, 160, 800]
    curve = dd.double_descent_curve(small.X_train, small.y_train, small.X_val, small.y_val, widths, 10, num_draws=2)
    assert curve["widths"] == widths
    assert max(range(len(widths)), key=lambda i: curve["val_error"][i]) == widths.index(80)
    assert curve["val_error"][-1] < curve["val_error"][2]
    assert curve["train_error"][2:] == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="num_draws"):
        dd.double_descent_curve(small.X_train, small.y_train, small.X_val, small.y_val, widths, 10, num_draws=0)


def test_widths_around_include_the_threshold_and_are_sorted():
    widths = dd.widths_around(200)
    assert 200 in widths and widths == sorted(set(widths))
    assert widths[0] < 200 < widths[-1]
    assert dd.widths_around(10, (0.01, 1.0)) == [1, 10]
    with pytest.raises(ValueError, match="n_train"):
        dd.widths_around(0)


def test_double_descent_demo_returns_a_figure_and_its_numbers():
    fig, numbers = dd.double_descent_demo(label_noise=0.2, n_train=60, num_draws=1, seed=1)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    assert set(numbers) == {"peak_width", "peak_val_error", "widest_val_error", "clean_widest_val_error"}
    assert numbers["peak_val_error"] >= numbers["widest_val_error"]
    with pytest.raises(ValueError, match="label_noise"):
        dd.double_descent_demo(label_noise=1.5)
