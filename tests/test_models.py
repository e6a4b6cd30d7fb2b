"""Models: output shapes for both input sizes, widths, dropout and bad names."""
import pytest
import torch

import d2lutil


@pytest.mark.parametrize("name", d2lutil.MODELS)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_every_model_maps_images_to_class_scores(name, shape):
    torch.manual_seed(0)
    net = d2lutil.make_model(name, shape, num_classes=7, width=0.25)
    scores = net(torch.randn(3, *shape))
    assert scores.shape == (3, 7)
    scores.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_mlp_widths_and_dropout():
    net = d2lutil.make_model("mlp", (1, 8, 8), hidden=(32, 16), dropout=0.5)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 16), (16, 10)]
    assert sum(isinstance(m, torch.nn.Dropout) for m in net) == 2


def test_width_scales_parameters():
    count = lambda w: sum(p.numel() for p in d2lutil.make_model("inception", (3, 32, 32), width=w).parameters())  # noqa: E731
    assert count(0.5) < count(1.0) / 3


def test_inception_matches_the_papers_channel_plan():
    net = d2lutil.make_model("inception", (3, 32, 32))
    assert net.head.in_features == 176 + 160 and 1.4e6 < sum(p.numel() for p in net.parameters()) < 1.8e6


@pytest.mark.parametrize("kwargs, match", [({"name": "resnet"}, "'mlp', 'cnn', 'inception', 'alexnet'"),
                                           ({"name": "mlp", "dropout": 2.0}, "dropout=2.0"),
                                           ({"name": "cnn", "width": 0}, "width=0")])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2lutil.make_model(input_shape=(1, 8, 8), **kwargs)
