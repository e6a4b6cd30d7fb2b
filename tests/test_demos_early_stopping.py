"""The early-stopping demo: its replay of the stopping rule agrees with d2lutil.EarlyStopping in fit."""
import pytest
import torch
from matplotlib.figure import Figure

import d2lutil
from d2lutil.demos.early_stopping import early_stopping_curves, stopping_point


def test_stopping_point_on_a_u_shaped_curve():
    values = [5, 4, 3, 2, 3, 4, 5, 6, 7]
    assert stopping_point(values, patience=3) == (4, 7)
    assert stopping_point(values, patience=10) == (4, None)


def test_min_delta_ignores_small_improvements_and_max_mode_tracks_increases():
    values = [1.0, 0.99, 0.98, 0.97, 0.96]
    assert stopping_point(values, patience=2, min_delta=0.05) == (1, 3)
    assert stopping_point([0.1, 0.5, 0.4, 0.3], patience=2, mode="max") == (2, 4)


def test_larger_patience_never_stops_earlier():
    values = torch.randn(60, generator=torch.Generator().manual_seed(0)).cumsum(0).tolist()
    stops = [stopping_point(values, patience)[1] or 61 for patience in range(1, 20)]
    assert stops == sorted(stops)


@pytest.mark.parametrize("bad", [dict(patience=0), dict(min_delta=-1.0), dict(mode="lowest")])
def test_bad_arguments_raise_value_errors(bad):
    with pytest.raises(ValueError, match="not allowed"):
        stopping_point([1.0, 2.0], **{"patience": 2, **bad})


def test_replay_agrees_with_the_early_stopping_callback(digits):
    data = digits.subset(n_train=200, n_test=150)
    torch.manual_seed(0)
    full = d2lutil.fit(d2lutil.make_model("mlp", data.input_shape, hidden=(32,)), data, 30, lr=0.5,
                       batch_size=32, progress=False)
    best, stop = stopping_point(full.val_loss, patience=3)
    assert stop is not None
    torch.manual_seed(0)
    stopper = d2lutil.EarlyStopping("val_loss", patience=3)
    stopped = d2lutil.fit(d2lutil.make_model("mlp", data.input_shape, hidden=(32,)), data, 30, lr=0.5,
                          batch_size=32, progress=False, callbacks=[stopper])
    assert (stopper.best_epoch, stopper.stopped_epoch) == (best, stop)
    assert len(stopped) == stop


def toy_history() -> d2lutil.History:
    history = d2lutil.History()
    for epoch, val in enumerate([2.0, 1.5, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0]):
        history.append(train_loss=2.0 / (epoch + 1), train_acc=0.5 + 0.05 * epoch, val_loss=val,
                       val_acc=0.9 - 0.05 * abs(epoch - 2))
    return history


def test_demo_figure_and_numbers():
    fig, numbers = early_stopping_curves({"noisy": toy_history()}, "noisy", patience=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_legend() is not None
    assert numbers == {"best_epoch": 3, "stopped_epoch": 5, "epochs_trained": 5, "epochs_saved": 3,
                       "val_acc_at_best": pytest.approx(0.9), "val_acc_at_end": pytest.approx(0.65)}


def test_demo_without_a_stop_trains_every_epoch():
    _, numbers = early_stopping_curves({"noisy": toy_history()}, "noisy", patience=50)
    assert numbers["stopped_epoch"] is None and numbers["epochs_saved"] == 0


def test_demo_rejects_unknown_runs_and_metrics():
    with pytest.raises(ValueError, match="run='clean'"):
        early_stopping_curves({"noisy": toy_history()}, "clean")
    with pytest.raises(ValueError, match="monitor"):
        early_stopping_curves({"noisy": toy_history()}, "noisy", monitor="test_loss")
