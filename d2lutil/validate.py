"""Argument checks that fail early with a ValueError naming what is allowed."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return `value` if it is one of `allowed`, else raise a ValueError listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """Return `value` if it is an integer >= 1, else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer >= 1")
    return value


def check_probability(name: str, value: Any) -> float:
    """Return `value` as a float if it lies in [0, 1], else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a number in [0, 1]")
    return float(value)


def check_nonnegative(name: str, value: Any) -> float:
    """Return `value` as a float if it is a finite number >= 0, else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a finite number >= 0")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """Return `value` as a float if it is a finite number > 0, else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a finite number > 0")
    return float(value)


def check_nonnegative_int(name: str, value: Any) -> int:
    """Return `value` if it is an integer >= 0 (a seed, a padding), else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer >= 0")
    return value


def check_drop_rate(name: str, value: Any) -> float:
    """Return `value` as a float if it lies in [0, 1) (what is always dropped never learns), else raise a ValueError."""
    if check_probability(name, value) >= 1:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a number in [0, 1)")
    return float(value)


def check_seed(name: str, value: Any) -> int:
    """Return `value` if it is an integer in [0, 2**32 - 1] (what every generator accepts), else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer in [0, 2**32 - 1]")
    return value
