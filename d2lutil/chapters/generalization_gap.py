"""The parameters of chapter 1, the generalization gap."""
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number

DECLARATION = Declaration("01_generalization_gap", {
    **common_rules(),
    "demo_n_train": Rule(integer(1), split="train"),
    "demo_width": Rule(integer(1)),
    "num_epochs": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "widths": Rule(each(integer(1), min_length=3, increasing=True)),
    "train_sizes": Rule(each(integer(1), min_length=3, increasing=True), split="train"),
    "sweep_width": Rule(integer(1)),
    "sweep_epochs": Rule(integer(1)),
    "sweep_lr": Rule(number(0, low_open=True)),
    "batch_size": Rule(integer(1)),
    "weight_decays": Rule(each(number(0), min_length=2, increasing=True)),
    "degrees": Rule(each(integer(0, 19), min_length=3, increasing=True)),
    "n_datasets": Rule(integer(1)),
    "noise": Rule(number(0)),
}, (
    Combination(lambda weight_decays: weight_decays[0] == 0, "weight_decays must start at 0.0 (no penalty)"),
))
