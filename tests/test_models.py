"""Models: output shapes, the paper's parameter counts, seeded weights, widths, dropout and bad input."""
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
    net = d2lutil.make_model("inception", (3, 28, 28))
    assert net.head.in_features == 176 + 160


@pytest.mark.parametrize("name, hidden, count", [
    ("inception", (512,), 1_649_402), ("alexnet", (512,), 1_387_786),
    ("mlp", (512, 512, 512), 1_735_178), ("mlp", (512,), 1_209_866),
])
def test_models_on_paper_inputs_have_the_papers_parameter_counts(name, hidden, count):
    # Zhang et al. (2017), appendix A: CIFAR-10 centre-cropped to 3x28x28.
    net = d2lutil.make_model(name, (3, 28, 28), hidden=hidden)
    assert sum(p.numel() for p in net.parameters()) == count


def test_inception_batch_norm_learns_a_shift_and_no_scale():
    net = d2lutil.make_model("inception", (3, 28, 28), width=0.25, seed=0)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.weight is None and isinstance(m.bias, torch.nn.Parameter) for m in norms)
    net.train()
    with torch.no_grad():
        out = norms[0](torch.randn(8, norms[0].num_features, 4, 4) * 5 + 2)
    assert abs(float(out.mean())) < 1e-5 and abs(float(out.std(unbiased=False)) - 1) < 1e-3


def weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return list(net.state_dict().values())


@pytest.mark.parametrize("name", d2lutil.MODELS)
def test_seeded_models_are_identical_and_leave_the_global_rng_alone(name):
    state = torch.random.get_rng_state()
    a, b = (d2lutil.make_model(name, (3, 16, 16), width=0.25, seed=7) for _ in range(2))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(weights(a), weights(b)))
    c = d2lutil.make_model(name, (3, 16, 16), width=0.25, seed=8)
    assert not all(torch.equal(x, y) for x, y in zip(weights(a), weights(c)))


def test_seeded_weights_do_not_depend_on_the_global_rng():
    torch.manual_seed(1)
    a = d2lutil.make_model("mlp", (1, 8, 8), seed=3)
    torch.manual_seed(2)
    b = d2lutil.make_model("mlp", (1, 8, 8), seed=3)
    assert all(torch.equal(x, y) for x, y in zip(weights(a), weights(b)))


def test_without_a_seed_the_global_rng_draws_the_weights():
    torch.manual_seed(4)
    a = d2lutil.make_model("mlp", (1, 8, 8))
    torch.manual_seed(4)
    b = d2lutil.make_model("mlp", (1, 8, 8))
    assert all(torch.equal(x, y) for x, y in zip(weights(a), weights(b)))


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "resnet"}, "'mlp', 'cnn', 'inception', 'alexnet'"),
    ({"name": "mlp", "dropout": 2.0}, "dropout=2.0"),
    ({"name": "mlp", "dropout": float("nan")}, r"dropout=nan .*\[0, 1\]"),
    ({"name": "cnn", "width": 0}, "width=0"),
    ({"name": "cnn", "width": float("nan")}, "width=nan"),
    ({"name": "inception", "width": float("inf")}, "width=inf .*NaN or infinity"),
    ({"name": "mlp", "hidden": [0, 512]}, r"hidden\[0\]=0 .* integer >= 1"),
    ({"name": "mlp", "hidden": [-5]}, r"hidden\[0\]=-5"),
    ({"name": "mlp", "hidden": [float("inf")]}, r"hidden\[0\]=inf"),
    ({"name": "mlp", "hidden": [float("nan")]}, r"hidden\[0\]=nan"),
    ({"name": "mlp", "hidden": []}, "non-empty list"),
    ({"name": "mlp", "hidden": 512}, "non-empty list"),
    ({"name": "mlp", "num_classes": 0}, "num_classes=0"),
    ({"name": "mlp", "seed": "abc"}, "seed='abc' .* integer in \\[0, 4294967295\\]"),
    ({"name": "mlp", "seed": -1}, "seed=-1"),
    ({"name": "mlp", "seed": 2**32}, "seed=4294967296"),
    ({"name": "mlp", "seed": True}, "seed=True"),
    ({"name": "mlp", "input_shape": (64,)}, r"\(channels, height, width\)"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2lutil.make_model(**{"input_shape": (1, 8, 8), **kwargs})


@pytest.mark.parametrize("widths, match", [([0, 512], r"widths\[0\]=0"), ([64, -5], r"widths\[1\]=-5"), ([], "non-empty")])
def test_mlp_refuses_bad_widths(widths, match):
    with pytest.raises(ValueError, match=match):
        d2lutil.MLP(64, widths)


@pytest.mark.parametrize("name", ["inception", "alexnet"])
def test_dropout_is_refused_where_the_model_has_no_dropout_layer(name):
    with pytest.raises(ValueError, match="only 'mlp', 'cnn' have a dropout layer"):
        d2lutil.make_model(name, (3, 28, 28), dropout=0.5)
