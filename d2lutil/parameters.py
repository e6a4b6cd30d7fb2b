"""Checking a notebook's parameters (from its cell, papermill or a sweep) before any work starts."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .corruptions import CORRUPTIONS
from .data import DATASETS
from .environment import DEVICES
from .models import MODELS
from .validate import check_choice, check_nonnegative, check_positive, check_positive_int, check_probability


def _optional_positive_int(name: str, value: Any) -> Any:
    """None, or an integer >= 1."""
    return value if value is None else check_positive_int(name, value)


def _boolean(name: str, value: Any) -> bool:
    """True or False, nothing else."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not allowed; it must be True or False")
    return value


def _text(name: str, value: Any) -> str:
    """A non-empty string (a path or a name)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a non-empty string")
    return value


def _seed(name: str, value: Any) -> int:
    """An integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer >= 0")
    return value


def each(check: Callable[[str, Any], Any]) -> Callable[[str, Any], list]:
    """Lift a single-value check to a non-empty list of values."""
    def check_all(name: str, values: Any) -> list:
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{name}={values!r} is not allowed; it must be a non-empty list")
        return [check(f"{name}[{i}]", value) for i, value in enumerate(values)]
    return check_all


RULES: dict[str, Callable[[str, Any], Any]] = {
    "dataset": lambda n, v: check_choice(n, v, DATASETS),
    "model": lambda n, v: check_choice(n, v, MODELS),
    "models": each(lambda n, v: check_choice(n, v, MODELS)),
    "corruption": lambda n, v: check_choice(n, v, CORRUPTIONS),
    "device": lambda n, v: check_choice(n, v, DEVICES),
    "num_epochs": check_positive_int, "max_epochs": check_positive_int, "batch_size": check_positive_int,
    "patience": check_positive_int, "n_train": _optional_positive_int, "n_test": _optional_positive_int,
    "seed": _seed, "seeds": each(_seed), "p": check_probability, "corruption_levels": each(check_probability),
    "dropout": check_probability, "dropout_rates": each(check_probability),
    "lr": check_positive, "width": check_positive, "hidden": each(check_positive_int), "weight_decay": check_nonnegative,
    "weight_decays": each(check_nonnegative), "min_delta": check_nonnegative,
    "progress": _boolean, "interactive": _boolean,
    "results_dir": _text, "figures_dir": _text, "data_dir": _text, "checkpoint_dir": _text,
}


def check_parameters(**params: Any) -> dict[str, Any]:
    """Check every parameter whose name has a rule in RULES; raise ValueError naming what is allowed.

    Names without a rule pass through unchecked, so a chapter checks its own extras itself.
    """
    for name, value in params.items():
        if name in RULES:
            RULES[name](name, value)
    return params
