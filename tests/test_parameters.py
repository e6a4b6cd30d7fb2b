"""Parameter checks: every rule accepts good values and rejects bad ones with what is allowed."""
import pytest

import d2lutil
from d2lutil.parameters import RULES


GOOD = {"dataset": "cifar10", "model": "inception", "models": ["mlp", "cnn"], "corruption": "gaussian",
        "device": "cpu", "num_epochs": 3, "n_train": None, "seed": 0, "seeds": [0, 1], "p": 0.5,
        "corruption_levels": [0.0, 1.0], "lr": 0.01, "hidden": [512, 512], "weight_decay": 0.0,
        "progress": False, "results_dir": "out"}
BAD = {"dataset": ("svhn", "'digits', 'mnist'"), "model": ("vgg", "'mlp', 'cnn'"), "models": ([], "non-empty list"),
       "corruption": ("blur", "'true_labels'"), "device": ("tpu", "'auto', 'cpu', 'cuda', 'mps'"),
       "num_epochs": (0, "integer >= 1"), "batch_size": (2.5, "integer >= 1"), "n_train": (-1, "integer >= 1"),
       "seed": (-3, "integer >= 0"), "p": (1.2, r"\[0, 1\]"), "corruption_levels": ([0.5, 2.0], r"corruption_levels\[1\]=2.0"),
       "lr": (0, "> 0"), "weight_decay": (-1e-4, ">= 0"), "dropout": (1.5, r"\[0, 1\]"), "progress": ("yes", "True or False"),
       "results_dir": ("", "non-empty string")}


def test_good_values_pass_through():
    assert d2lutil.check_parameters(**GOOD) == GOOD


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_values_are_rejected_naming_what_is_allowed(name):
    value, allowed = BAD[name]
    with pytest.raises(ValueError, match=allowed):
        d2lutil.check_parameters(**{name: value})


def test_every_rule_rejects_something():
    untested = set(RULES) - set(BAD)
    for name in untested:
        with pytest.raises(ValueError):
            RULES[name](name, object())


def test_names_without_a_rule_are_left_to_the_chapter():
    assert d2lutil.check_parameters(table_epochs=-1) == {"table_epochs": -1}


def test_choose_device():
    assert d2lutil.choose_device("cpu").type == "cpu"
    assert d2lutil.choose_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda', 'mps'"):
        d2lutil.choose_device("gpu0")


@pytest.mark.parametrize("value", [0, -0.5, True, "1", None])
def test_check_positive_rejects_what_is_not_a_number_above_zero(value):
    with pytest.raises(ValueError, match=r"temperature=.* must be a finite number > 0"):
        d2lutil.check_positive("temperature", value)


def test_check_positive_returns_a_float():
    assert d2lutil.check_positive("alpha", 2) == 2.0 and isinstance(d2lutil.check_positive("alpha", 2), float)
