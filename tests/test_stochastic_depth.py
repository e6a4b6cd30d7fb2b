"""Stochastic depth: DropPath keeps the expected value, drops whole examples, and the linear decay schedule."""
import pytest
import torch
from torch import nn

import d2lutil
from torchvision.ops import stochastic_depth

from d2lutil.regularizers.stochastic_depth import (DropPath, ResidualBlock, SmallResNet, drop_path, keep_examples,
                                                   linear_drop_rates, scale_kept)
from d2lutil.validate import check_drop_rate


def test_drop_path_zeroes_whole_examples_and_scales_the_kept_ones():
    torch.manual_seed(0)
    X = torch.rand(400, 3, 4, 4) + 1  # strictly positive, so a zero can only come from a drop
    out = drop_path(X, 0.25)
    dropped = (out == 0).flatten(1).all(dim=1)
    kept = (out != 0).flatten(1).all(dim=1)
    assert (dropped | kept).all()  # every example is dropped whole or kept whole
    assert torch.allclose(out[kept], X[kept] / 0.75)
    assert 0.18 < dropped.float().mean() < 0.32


def test_drop_path_keeps_the_expected_value():
    torch.manual_seed(1)
    X = torch.ones(20000, 5)
    assert abs(drop_path(X, 0.4).mean().item() - 1.0) < 0.03


def test_drop_path_layer_is_the_identity_in_eval_mode_and_with_rate_zero():
    X = torch.randn(16, 4)
    layer = DropPath(0.5).eval()
    assert torch.equal(layer(X), X)
    assert torch.equal(DropPath(0.0).train()(X), X)
    assert torch.equal(drop_path(X, 0.9, training=False), X)
    torch.manual_seed(0)
    assert not torch.equal(DropPath(0.5).train()(X), X)


def test_drop_path_is_reproducible_from_a_generator_and_leaves_the_global_rng_alone():
    X = torch.randn(64, 3)
    state = torch.get_rng_state()
    first = drop_path(X, 0.5, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, drop_path(X, 0.5, generator=torch.Generator().manual_seed(4)))
    assert torch.equal(torch.get_rng_state(), state)
    assert keep_examples(torch.ones(5, 2, 3, 3), 0.3).shape == (5, 1, 1, 1)


def test_drop_path_agrees_with_torchvision_given_its_coins():
    X = torch.randn(1000, 2, 3)
    torch.manual_seed(0)
    theirs = stochastic_depth(X, 0.3, mode="row", training=True)
    keep = theirs.flatten(1).ne(0).any(dim=1).view(-1, 1, 1)
    assert torch.allclose(scale_kept(X, keep, 0.3), theirs, atol=1e-6)


def test_small_resnet_from_a_seed_is_the_same_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a, b = SmallResNet(channels=4, seed=3), SmallResNet(channels=4, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.stem[0].weight, SmallResNet(channels=4, seed=4).stem[0].weight)


def test_linear_drop_rates_grow_from_the_first_block_to_the_final_rate():
    assert linear_drop_rates(4, 0.2) == pytest.approx([0.05, 0.1, 0.15, 0.2])
    assert linear_drop_rates(1, 0.3) == pytest.approx([0.3])
    assert linear_drop_rates(3, 0.0) == [0.0, 0.0, 0.0]


def test_small_resnet_gives_its_blocks_the_linear_schedule():
    net = SmallResNet(num_blocks=4, drop_path=0.4)
    rates = [block.drop_path.p for block in net.blocks]
    assert rates == pytest.approx(linear_drop_rates(4, 0.4))
    assert net(torch.randn(5, 1, 8, 8)).shape == (5, 10)
    assert SmallResNet(in_channels=3, pooled_size=2)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_small_resnet_without_batch_norm_has_no_normalization_layers():
    with_bn = SmallResNet(batch_norm=True)
    without = SmallResNet(batch_norm=False)
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())
    assert without(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_a_dropped_residual_branch_leaves_relu_of_the_identity():
    block = ResidualBlock(4, drop_rate=0.5, batch_norm=False)
    X = torch.randn(64, 4, 5, 5)
    torch.manual_seed(3)
    out = block.train()(X)
    skipped = torch.isclose(out, torch.relu(X)).flatten(1).all(dim=1)
    assert 10 < skipped.sum() < 54  # about half the examples skip the branch
    with torch.no_grad():
        assert torch.allclose(block.eval()(X), torch.relu(X + block.branch(X)))


def test_training_mode_is_random_and_eval_mode_is_deterministic():
    torch.manual_seed(0)
    net = SmallResNet(channels=4, num_blocks=2, drop_path=0.5, batch_norm=False)
    X = torch.randn(8, 1, 8, 8)
    net.train()
    assert not torch.equal(net(X), net(X))
    net.eval()
    assert torch.equal(net(X), net(X))


def test_fit_trains_a_small_resnet_with_stochastic_depth(digits):
    data = digits.subset(n_train=400, n_test=200)
    torch.manual_seed(0)
    net = SmallResNet(channels=8, num_blocks=2, drop_path=0.2)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    history = d2lutil.fit(net, data, 4, batch_size=32, optimizer=optimizer, progress=False)
    assert history.val_acc[-1] > 0.8


@pytest.mark.parametrize("make", [lambda: DropPath(1.0), lambda: DropPath(-0.1), lambda: linear_drop_rates(0, 0.1),
                                  lambda: linear_drop_rates(3, 1.0), lambda: SmallResNet(channels=0),
                                  lambda: SmallResNet(pooled_size=0),
                                  lambda: drop_path(torch.ones(2), 1.5), lambda: SmallResNet(seed=-1)])
def test_bad_settings_raise_value_errors_naming_what_is_allowed(make):
    with pytest.raises(ValueError, match="not allowed"):
        make()


def test_check_drop_rate_accepts_zero_up_to_but_not_one():
    assert check_drop_rate("p", 0) == 0.0 and check_drop_rate("p", 0.99) == 0.99
    for bad in (1, float("nan"), -0.1):
        with pytest.raises(ValueError, match=r"p=.* is not allowed"):
            check_drop_rate("p", bad)
