"""The parameters of chapter 4, early stopping."""
from ..models import MODELS
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number, text

DECLARATION = Declaration("04_early_stopping", {
    **common_rules(models=MODELS),
    "hidden": Rule(each(integer(1))),
    "width": Rule(number(0, low_open=True)),
    "label_noise": Rule(number(0, 1, low_open=True)),
    "max_epochs": Rule(integer(1)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "patience": Rule(integer(1)),
    "min_delta": Rule(number(0)),
    "patiences": Rule(each(integer(1))),
    "min_deltas": Rule(each(number(0))),
    "num_halves": Rule(integer(1)),
    "checkpoint_dir": Rule(text, record=False),
}, (
    Combination(lambda min_deltas: 0.0 in min_deltas, "min_deltas must include 0.0 (any decrease counts)"),
))
