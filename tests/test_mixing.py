"""Mixup and CutMix, from scratch and through torchvision: label weights match what the images hold."""
import pytest
import torch
from torchvision.transforms import v2

import d2lutil
from d2lutil.regularizers.mixing import cut_box, cutmix, draw_seed, from_torchvision, make_mixing, mix, mixup, paste, sample_lambda


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def index_batch(n: int = 16, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Image i is filled with the value i and has label i, so a pixel tells which image it came from."""
    y = torch.arange(n)
    return y.float()[:, None, None, None].expand(n, 1, size, size).clone(), y


KINDS = [(kind, impl) for kind in ("mixup", "cutmix") for impl in ("scratch", "torchvision")]


@pytest.mark.parametrize("kind, implementation", KINDS)
def test_label_weights_equal_the_share_of_each_image_in_the_pixels(kind, implementation):
    X, y = index_batch()
    augment = make_mixing(kind, alpha=1.0, num_classes=len(y), implementation=implementation)
    for seed in range(5):
        mixed, soft = augment(X, y, gen(seed))
        assert mixed.shape == X.shape and soft.shape == (len(y), len(y))
        assert torch.allclose(soft.sum(dim=1), torch.ones(len(y)))
        # The mean pixel of image i is sum_k (share of image k) * k; the label weights must give the same.
        expected = soft @ torch.arange(len(y)).float()
        assert torch.allclose(mixed.mean(dim=(1, 2, 3)), expected, atol=1e-5)


def test_mixup_uses_one_lambda_for_the_whole_batch():
    X, y = index_batch()
    mixed, soft = mixup(X, y, gen(3), alpha=0.4, num_classes=len(y))
    own = soft[torch.arange(len(y)), y]
    mixed_with_another = own < 1
    assert mixed_with_another.sum() > len(y) // 2
    assert torch.allclose(own[mixed_with_another], own[mixed_with_another][0].expand(int(mixed_with_another.sum())))


def test_cutmix_keeps_the_outside_of_the_box():
    X, y = index_batch()
    mixed, soft = cutmix(X, y, gen(1), alpha=1.0, num_classes=len(y))
    from_self = (mixed == X).float().mean(dim=(1, 2, 3))
    kept = soft[torch.arange(len(y)), y]
    partner_is_self = kept == 1
    assert torch.allclose(from_self[~partner_is_self], kept[~partner_is_self])


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_lambda_follows_a_symmetric_beta_distribution(alpha):
    g = gen(0)
    lam = torch.tensor([sample_lambda(alpha, g) for _ in range(4000)])
    assert ((lam >= 0) & (lam <= 1)).all()
    assert abs(lam.mean().item() - 0.5) < 0.02
    assert abs(lam.var().item() - 1 / (4 * (2 * alpha + 1))) < 0.01


def test_cut_box_lies_inside_the_image_and_has_area_at_most_one_minus_lambda():
    g = gen(0)
    for lam in (0.0, 0.3, 0.75, 0.99):
        for _ in range(50):
            top, bottom, left, right = cut_box(8, 6, lam, g)
            assert 0 <= top <= bottom <= 8 and 0 <= left <= right <= 6
            assert (bottom - top) * (right - left) <= (1 - lam) * 48 + 1e-9


def test_mixing_is_reproducible_from_the_generator():
    X, y = torch.randn(32, 1, 8, 8, generator=gen(9)), torch.randint(10, (32,), generator=gen(9))
    for kind, implementation in KINDS:
        augment = make_mixing(kind, 1.0, 10, implementation)
        first, second, other = augment(X, y, gen(4)), augment(X, y, gen(4)), augment(X, y, gen(5))
        assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
        assert not torch.equal(first[1], other[1])


def test_from_torchvision_leaves_the_global_generator_alone():
    X, y = index_batch()
    augment = from_torchvision(v2.RandomCrop(8, padding=2))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    augment(X, y, gen(0))
    assert torch.equal(torch.rand(3), expected)


def test_a_v2_transform_on_a_batch_draws_one_set_of_parameters_unless_per_example():
    image = torch.arange(64.0).reshape(1, 1, 8, 8)
    X, y = image.expand(40, 1, 8, 8).clone(), torch.zeros(40, dtype=torch.int64)
    crop = v2.RandomCrop(8, padding=2)
    batched, _ = from_torchvision(crop)(X, y, gen(0))
    per_example, labels = from_torchvision(crop, per_example=True)(X, y, gen(0))
    assert (batched == batched[0]).all()
    assert len({tuple(x.flatten().tolist()) for x in per_example}) > 5
    assert torch.equal(labels, y)


def test_draw_seed_is_a_reproducible_integer():
    assert draw_seed(gen(1)) == draw_seed(gen(1)) != draw_seed(gen(2))


@pytest.mark.parametrize("kwargs", [{"kind": "mixcut"}, {"implementation": "timm"}, {"alpha": 0.0},
                                    {"alpha": -1.0}, {"num_classes": 0}])
def test_bad_settings_raise_value_errors_naming_what_is_allowed(kwargs):
    with pytest.raises(ValueError, match="not allowed"):
        make_mixing(**kwargs)


def test_fit_trains_with_mixed_batches_and_evaluates_with_plain_labels(digits):
    data = digits.subset(n_train=200, n_test=100)
    torch.manual_seed(0)
    net = d2lutil.make_model("mlp", data.input_shape, hidden=(32,))
    history = d2lutil.fit(net, data, 5, lr=0.1, batch_size=32, augment=make_mixing("cutmix", 1.0), progress=False)
    assert len(history) == 5 and history.train_acc[-1] > 0.5


def test_mix_and_paste_agree_with_torchvision_given_its_lambda_box_and_partners():
    X, y = torch.rand(8, 1, 6, 6, generator=gen(2)), torch.arange(8)
    partner = torch.arange(8).roll(1)  # torchvision pairs each example with the one before it
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        X_mixup, Y_mixup = v2.MixUp(alpha=1.0, num_classes=8)(X, y)
        X_cut, Y_cut = v2.CutMix(alpha=1.0, num_classes=8)(X, y)
    lam = float(Y_mixup[0, 0])
    mixed, soft = mix(X, torch.eye(8), lam, partner)
    assert torch.allclose(mixed, X_mixup, atol=1e-6) and torch.allclose(soft, Y_mixup, atol=1e-6)
    rows, cols = (X_cut != X).flatten(0, 1).any(dim=0).nonzero(as_tuple=True)
    box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
    mixed, soft = paste(X, torch.eye(8), box, partner)
    assert torch.equal(mixed, X_cut) and torch.allclose(soft, Y_cut)
