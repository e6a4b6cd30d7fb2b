"""The parameters of chapter 2, weight decay and norm penalties."""
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number

DECLARATION = Declaration("02_weight_decay", {
    **common_rules(),
    "hidden": Rule(each(integer(1))),
    "num_epochs": Rule(integer(1)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "momentum": Rule(number(0, 1, high_open=True)),
    "adam_lr": Rule(number(0, low_open=True)),
    "weight_decay": Rule(number(0, low_open=True)),
    "penalty_lambda": Rule(number(0, low_open=True)),
    "l1_ratio": Rule(number(0, 1, low_open=True, high_open=True)),
    "sparsity_tol": Rule(number(0)),
    "weight_decays": Rule(each(number(0), min_length=3, increasing=True)),
    "check_epochs": Rule(integer(1)),
    "boundary_lambda": Rule(number(0)),
    "boundary_points": Rule(integer(1)),
    "boundary_noise": Rule(number(0)),
}, (
    Combination(lambda weight_decays: weight_decays[0] == 0, "weight_decays must start at 0.0 (no penalty)"),
))
