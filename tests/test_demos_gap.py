"""Chapter 1's experiments: bias-variance estimates, run summaries, signs of overfitting and the size sweep."""
import numpy as np
import pytest
import torch
from torch import nn

from d2lutil.demos.gap import (WeightNormHistory, bias_variance, gap_vs_train_size, signs_of_overfitting, summarize,
                               train_mlp)
from d2lutil.train import History


@pytest.fixture(scope="module")
def small(digits):
    return digits.subset(n_train=60, n_test=60, seed=0)


def test_bias_variance_terms_add_up_to_the_measured_test_error():
    result = bias_variance([0, 1, 3, 9], n_train=15, n_datasets=400, noise=0.3, seed=1)
    total = result["bias2"] + result["variance"] + result["noise"]
    assert np.allclose(total, result["expected_mse"], rtol=0.05)
    assert np.all(np.diff(result["variance"]) > 0)
    assert result["bias2"][0] > 10 * result["bias2"][-1]
    assert np.allclose(result["noise"], 0.09)


def test_bias_variance_without_noise_has_no_variance():
    result = bias_variance([2], noise=0.0, n_datasets=5)
    assert result["variance"][0] == pytest.approx(0.0, abs=1e-20)
    assert result["expected_mse"][0] == pytest.approx(result["bias2"][0])


@pytest.mark.parametrize("degree", [-1, 20, 2.5])
def test_bias_variance_rejects_degrees_outside_the_data(degree):
    with pytest.raises(ValueError, match="degree="):
        bias_variance([degree], n_train=20)


def history(train_loss, val_loss) -> History:
    h = History()
    for a, b in zip(train_loss, val_loss):
        h.append(train_loss=a, val_loss=b, train_acc=1 - a / 4, val_acc=1 - b / 4)
    return h


def test_summarize_reports_gaps_size_and_norm():
    net = nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.fill_(1.0)
    s = summarize(net, history([1.0, 0.2], [1.2, 0.6]))
    assert s["train_loss"] == 0.2 and s["val_loss"] == 0.6
    assert s["loss_gap"] == pytest.approx(0.4) and s["gap"] == pytest.approx(0.1)
    assert s["num_params"] == 8 and s["weight_norm"] == pytest.approx(6 ** 0.5)


def test_signs_of_overfitting_picks_first_best_and_last_epochs():
    rows = signs_of_overfitting(history([2.0, 0.5, 0.1, 0.01], [2.1, 0.7, 0.9, 1.2]), [1.0, 2.0, 3.0, 4.0])
    assert [rows[name]["epoch"] for name in ("underfit", "good fit", "overfit")] == [1, 2, 4]
    assert rows["overfit"]["loss_gap"] == pytest.approx(1.19) and rows["good fit"]["weight_norm"] == 2.0
    assert rows["good fit"]["val_acc"] == pytest.approx(1 - 0.7 / 4)


def test_train_mlp_records_norms_and_the_penalty_shrinks_them(small):
    norms = WeightNormHistory()
    net, h = train_mlp(small, 16, 3, lr=0.01, callbacks=[norms])
    assert len(h) == 3 and len(norms.norms) == 3 and norms.norms[-1] == summarize(net, h)["weight_norm"]
    decayed, _ = train_mlp(small, 16, 3, lr=0.01, lam=1.0)
    assert summarize(decayed, h)["weight_norm"] < norms.norms[-1]


def test_sweeps_give_one_summary_per_setting(small):
    by_width = [summarize(*train_mlp(small, width, 2, lr=0.01)) for width in (4, 8)]
    assert [row["num_params"] for row in by_width] == [4 * 65 + 5 * 10, 8 * 65 + 9 * 10]
    assert len(gap_vs_train_size(small, [20, 40], 8, 2, lr=0.01)) == 2
    with pytest.raises(ValueError, match="width=0"):
        train_mlp(small, 0, 2)


def test_train_mlp_draws_its_weights_from_its_seed_alone(small):
    torch.manual_seed(123)
    first = summarize(*train_mlp(small, 8, 2, lr=0.01, seed=5))
    torch.manual_seed(456)
    assert summarize(*train_mlp(small, 8, 2, lr=0.01, seed=5)) == first
