"""The parameters of chapter 7, implicit regularization."""
from ..parameters import Combination, Declaration, Rule, common_rules, each, integer, number

DECLARATION = Declaration("07_implicit_regularization", {
    **common_rules(),
    "ls_n": Rule(integer(1)),
    "ls_d": Rule(integer(1)),
    "ls_steps": Rule(integer(1)),
    "ls_batch_sizes": Rule(each(integer(1))),
    "kernel_gamma": Rule(number(0, low_open=True)),
    "ridges": Rule(each(number(0))),
    "sgd_n_train": Rule(integer(1), split="train"),
    "hidden": Rule(each(integer(1))),
    "lrs": Rule(each(number(0, low_open=True), min_length=2, max_length=2)),
    "batch_sizes": Rule(each(integer(1), min_length=2, max_length=2)),
    "max_epochs": Rule(integer(1)),
}, (
    Combination(lambda ls_n, ls_d: ls_d > ls_n, "ls_d must exceed ls_n (more unknowns than equations)"),
    Combination(lambda ls_n, ls_batch_sizes: max(ls_batch_sizes) <= ls_n,
                "every batch size of ls_batch_sizes must be at most ls_n"),
    Combination(lambda ridges: 0.0 in ridges, "ridges must include 0.0 (interpolation)"),
))
