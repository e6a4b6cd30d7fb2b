"""Dropout from scratch: masks, the expected-value identity, nn.Dropout equivalence, MC dropout, the ensemble view."""
import math

import pytest
import torch
from torch import nn

from d2lutil.regularizers.dropout import (Dropout, all_keep_masks, dropout, ensemble_mean, is_dropout, keep_mask,
                                          mask_probabilities, mc_dropout_predict, predictive_entropy,
                                          thinned_outputs)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_keep_mask_is_binary_on_the_input_device_and_keeps_one_minus_p():
    X = torch.ones(200, 100, dtype=torch.float64)
    mask = keep_mask(X, 0.3, generator=gen())
    assert mask.device == X.device and mask.dtype == X.dtype and mask.shape == X.shape
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert abs(mask.mean().item() - 0.7) < 0.01


def test_channelwise_mask_drops_whole_channels():
    X = torch.randn(50, 8, 4, 4)
    out = dropout(X, 0.5, channelwise=True, generator=gen(1))
    dropped = (out == 0).all(dim=(2, 3))
    kept = ~dropped
    assert dropped.any() and kept.any()
    assert torch.allclose(out[kept], 2 * X[kept])


@pytest.mark.parametrize("kind", ["inverted", "standard"])
def test_expected_value_in_training_equals_the_test_time_output(kind):
    X = torch.randn(4, 6)
    samples = torch.stack([dropout(X, 0.4, True, kind, generator=gen(s)) for s in range(4000)])
    assert torch.allclose(samples.mean(dim=0), dropout(X, 0.4, False, kind), atol=0.1)


def test_inverted_scales_in_training_and_standard_scales_at_test_time():
    X = torch.full((1000,), 3.0)
    assert set(dropout(X, 0.25, True, "inverted", generator=gen()).unique().tolist()) == {0.0, 4.0}
    assert set(dropout(X, 0.25, True, "standard", generator=gen()).unique().tolist()) == {0.0, 3.0}
    assert torch.equal(dropout(X, 0.25, False, "inverted"), X)
    assert torch.allclose(dropout(X, 0.25, False, "standard"), torch.full((1000,), 2.25))


def test_rates_zero_and_one():
    X = torch.randn(10, 10)
    assert torch.equal(dropout(X, 0.0, generator=gen()), X)
    assert torch.equal(dropout(X, 1.0), torch.zeros_like(X))


def test_same_generator_seed_gives_the_same_mask():
    X = torch.randn(30, 30)
    assert torch.equal(dropout(X, 0.5, generator=gen(7)), dropout(X, 0.5, generator=gen(7)))
    assert not torch.equal(dropout(X, 0.5, generator=gen(7)), dropout(X, 0.5, generator=gen(8)))


def test_layer_matches_nn_dropout_in_both_modes():
    X = torch.randn(300, 300) + 5
    ours, theirs = Dropout(0.3), nn.Dropout(0.3)
    for layer in (ours, theirs):
        out = layer(X)
        kept = out != 0
        assert torch.allclose(out[kept], X[kept] / 0.7)
        assert abs(1 - kept.float().mean().item() - 0.3) < 0.01
    ours.eval()
    theirs.eval()
    assert torch.equal(ours(X), X) and torch.equal(theirs(X), X)


def test_channelwise_layer_behaves_like_dropout2d():
    X = torch.randn(40, 16, 5, 5) + 5
    for layer in (Dropout(0.5, channelwise=True), nn.Dropout2d(0.5)):
        out = layer(X)
        per_channel = (out == 0).float().mean(dim=(2, 3))
        assert set(per_channel.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("bad", [dict(p=-0.1), dict(p=1.5), dict(kind="gaussian")])
def test_bad_arguments_raise_value_errors(bad):
    with pytest.raises(ValueError, match="not allowed"):
        dropout(torch.ones(3), **{"p": 0.5, **bad})
    with pytest.raises(ValueError, match="not allowed"):
        Dropout(**{"p": 0.5, **bad})


def test_is_dropout_recognizes_torch_and_own_layers():
    assert all(is_dropout(m) for m in (Dropout(), nn.Dropout(), nn.Dropout2d()))
    assert not any(is_dropout(m) for m in (nn.Linear(2, 2), nn.BatchNorm1d(2), nn.ReLU()))


def small_net(p: float = 0.5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(p), nn.Linear(32, 3))


def test_mc_dropout_returns_probabilities_and_restores_modes():
    net = small_net()
    net.train()
    net[1].training = False
    X = torch.randn(20, 5)
    mean, var = mc_dropout_predict(net, X, num_samples=25)
    assert mean.shape == var.shape == (20, 3)
    assert torch.allclose(mean.sum(dim=1), torch.ones(20), atol=1e-5)
    assert (var > 0).any() and (var >= 0).all()
    assert net.training and not net[1].training and net[3].training


def test_mc_dropout_keeps_batch_norm_in_eval_mode():
    net = small_net(p=0.0)
    net.eval()
    X = torch.randn(20, 5)
    mean, var = mc_dropout_predict(net, X, num_samples=3)
    assert torch.allclose(mean, net(X).softmax(dim=1), atol=1e-6)
    assert torch.allclose(var, torch.zeros_like(var))


def test_mc_dropout_with_a_seed_repeats_and_leaves_the_global_rng_alone():
    net, X = small_net(), torch.randn(20, 5)
    state = torch.get_rng_state()
    first, second = (mc_dropout_predict(net, X, num_samples=5, seed=3)[0] for _ in range(2))
    assert torch.equal(first, second)
    assert torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(first, mc_dropout_predict(net, X, num_samples=5, seed=4)[0])


def test_mc_dropout_rejects_zero_samples():
    with pytest.raises(ValueError, match="num_samples"):
        mc_dropout_predict(small_net(), torch.randn(2, 5), num_samples=0)


def test_predictive_entropy_is_zero_when_certain_and_log_k_when_uniform():
    probs = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    assert torch.allclose(predictive_entropy(probs), torch.tensor([0.0, math.log(4)]))


def test_all_keep_masks_enumerates_two_to_the_n_distinct_masks():
    masks = all_keep_masks(4)
    assert masks.shape == (16, 4)
    assert len({tuple(row.tolist()) for row in masks}) == 16
    with pytest.raises(ValueError, match="n=0"):
        all_keep_masks(0)


def test_mask_probabilities_sum_to_one_and_follow_the_binomial_law():
    masks = all_keep_masks(5)
    probs = mask_probabilities(masks, 0.3)
    assert torch.isclose(probs.sum(), torch.tensor(1.0))
    full = masks.sum(dim=1) == 5
    assert torch.isclose(probs[full][0], torch.tensor(0.7 ** 5))


@pytest.mark.parametrize("kind", ["inverted", "standard"])
def test_ensemble_of_linear_heads_equals_the_test_time_network(kind):
    torch.manual_seed(0)
    hidden, head = torch.randn(7, 6), nn.Linear(6, 3)
    masks = all_keep_masks(6)
    outputs = thinned_outputs(hidden, head, masks, 0.4, kind)
    assert outputs.shape == (64, 7, 3)
    exact = ensemble_mean(outputs, mask_probabilities(masks, 0.4))
    assert torch.allclose(exact, head(dropout(hidden, 0.4, False, kind)), atol=1e-5)


def test_ensemble_mean_weights_the_members():
    outputs = torch.tensor([[1.0], [3.0]])
    assert torch.allclose(ensemble_mean(outputs, torch.tensor([3.0, 1.0])), torch.tensor([1.5]))


def test_thinned_outputs_reject_rate_one_for_inverted_dropout():
    with pytest.raises(ValueError, match="p=1"):
        thinned_outputs(torch.ones(1, 2), nn.Linear(2, 1), all_keep_masks(2), 1.0)
