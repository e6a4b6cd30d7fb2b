"""The parameters of chapter 6, the randomization tests."""
from ..data import PREPROCESSINGS
from ..models import MODELS
from ..parameters import (Combination, Declaration, Rule, boolean, choice, common_rules, each, integer, number,
                          optional, text)

DECLARATION = Declaration("06_randomization_tests", {
    **common_rules(models=MODELS),
    "preprocess": Rule(choice(*PREPROCESSINGS)),
    "n_val": Rule(optional(integer(1)), split="val"),
    "hidden": Rule(each(integer(1))),
    "width": Rule(number(0, low_open=True)),
    "num_epochs": Rule(integer(1)),
    "fit_accuracy": Rule(number(0, 1, low_open=True)),
    "batch_size": Rule(integer(1)),
    "lr": Rule(number(0, low_open=True)),
    "momentum": Rule(number(0, 1, high_open=True)),
    "lr_decay": Rule(number(0, 1, low_open=True)),
    "table_n_train": Rule(optional(integer(1)), split="train"),
    "table_epochs": Rule(integer(1)),
    "table_random_epochs": Rule(integer(1)),
    "weight_decay": Rule(number(0)),
    "dropout": Rule(number(0, 1, high_open=True)),
    "augment_padding": Rule(integer(0)),
    "augment_flip": Rule(boolean),
    "corruption_levels": Rule(each(number(0, 1), min_length=2)),
    "checkpoint_dir": Rule(optional(text), record=False),
}, (
    Combination(lambda corruption_levels: 0.0 in corruption_levels and 1.0 in corruption_levels,
                "corruption_levels must include 0.0 (true labels) and 1.0 (random labels)"),
    Combination(lambda dataset, preprocess: dataset != "digits" or preprocess == "standardize",
                "the digits (8x8 images) take preprocess='standardize'; 'paper' crops CIFAR-10 to 28x28"),
    Combination(lambda n_train, table_n_train: None in (n_train, table_n_train) or table_n_train <= n_train,
                "table_n_train draws from the n_train training examples, so it must be at most n_train"),
))
