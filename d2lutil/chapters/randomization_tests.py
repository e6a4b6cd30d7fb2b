"""The parameters of chapter 6, the randomization tests."""
from ..models import MODELS
from ..parameters import Combination, Declaration, Rule, boolean, common_rules, each, integer, number, optional, text

DECLARATION = Declaration("06_randomization_tests", {
    **common_rules(models=MODELS),
    "hidden": Rule(each(integer(1))),
    "width": Rule(number(0, low_open=True)),
    "num_epochs": Rule(integer(1)),
    "table_epochs": Rule(integer(1)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "lr_decay": Rule(number(0, 1, low_open=True)),
    "weight_decay": Rule(number(0)),
    "augment_padding": Rule(integer(0)),
    "augment_flip": Rule(boolean),
    "corruption_levels": Rule(each(number(0, 1), min_length=2)),
    "checkpoint_dir": Rule(optional(text), record=False),
}, (
    Combination(lambda corruption_levels: 0.0 in corruption_levels and 1.0 in corruption_levels,
                "corruption_levels must include 0.0 (true labels) and 1.0 (random labels)"),
))
