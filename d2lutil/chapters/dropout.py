"""The parameters of chapter 3, dropout."""
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number

DECLARATION = Declaration("03_dropout", {
    **common_rules(models=("mlp", "cnn")),
    "hidden": Rule(each(integer(1))),
    "width": Rule(number(0, low_open=True)),
    "label_noise": Rule(number(0, 1)),
    "dropout_rates": Rule(each(number(0, 1, high_open=True))),
    "num_epochs": Rule(integer(1)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "mc_rate": Rule(number(0, 1, low_open=True, high_open=True)),
    "mc_samples": Rule(integer(1)),
    "ensemble_units": Rule(integer(1, 16)),
}, (
    Combination(lambda dropout_rates: {0.0, 0.75, 0.9} <= set(dropout_rates),
                "dropout_rates must include 0.0, 0.75 and 0.9 (no dropout, and the two rates the claims compare)"),
    Combination(lambda mc_rate, dropout_rates: mc_rate in dropout_rates,
                "mc_rate must be one of dropout_rates (the network Monte Carlo dropout samples is trained there)"),
))
