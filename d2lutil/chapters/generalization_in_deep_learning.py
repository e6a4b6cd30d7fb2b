"""The parameters of chapter 8, generalization in deep learning."""
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number

DECLARATION = Declaration("08_generalization_in_deep_learning", {
    **common_rules(),
    "hidden": Rule(each(integer(1))),
    "num_epochs": Rule(integer(1)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "label_noise": Rule(number(0, 1, low_open=True)),
    "dd_n_train": Rule(integer(1), split="train"),
    "widths": Rule(each(integer(1), min_length=3)),
    "num_draws": Rule(integer(1)),
    "n_rademacher": Rule(integer(2), split="train"),
    "num_signs": Rule(integer(1)),
    "rademacher_epochs": Rule(integer(1)),
    "kernel_gamma": Rule(number(0, low_open=True)),
    "num_flips": Rule(integer(1), split="train"),
}, (
    Combination(lambda dd_n_train, widths: dd_n_train in widths and min(widths) < dd_n_train < max(widths) / 2,
                "widths must contain dd_n_train, smaller widths, and widths beyond 2 * dd_n_train"),
))
