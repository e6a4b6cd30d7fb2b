"""Argument checks that fail early with a ValueError naming what is allowed."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return `value` if it is one of `allowed`, else raise a ValueError listing them."""
    allowed = tuple(allowed)
    if isinstance(value, (list, dict, set)) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}")
    return value


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """The allowed range in words: '> 0', '>= 1', 'in [0, 1)', or '' for every finite number."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return `value` as a float if it is a finite number (not a bool) within the bounds, else raise a ValueError."""
    in_range = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and (low is None or (value > low if low_open else value >= low))
                and (high is None or (value < high if high_open else value <= high)))
    if not in_range:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a finite number"
                         f"{_interval(low, high, low_open, high_open)} (not NaN or infinity)")
    return float(value)


def check_integer(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return `value` if it is an integer (not a bool) in [low, high], else raise a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low) \
            or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} is not allowed; it must be an integer{_interval(low, high, False, False)}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """Return `value` if it is an integer >= 1, else raise a ValueError."""
    return check_integer(name, value, low=1)


def check_probability(name: str, value: Any) -> float:
    """Return `value` as a float if it lies in [0, 1], else raise a ValueError."""
    return check_number(name, value, 0, 1)


def check_nonnegative(name: str, value: Any) -> float:
    """Return `value` as a float if it is a finite number >= 0, else raise a ValueError."""
    return check_number(name, value, low=0)


def check_positive(name: str, value: Any) -> float:
    """Return `value` as a float if it is a finite number > 0, else raise a ValueError."""
    return check_number(name, value, low=0, low_open=True)


def check_nonnegative_int(name: str, value: Any) -> int:
    """Return `value` if it is an integer >= 0 (a padding, a count), else raise a ValueError."""
    return check_integer(name, value, low=0)


def check_drop_rate(name: str, value: Any) -> float:
    """Return `value` as a float if it lies in [0, 1) (what is always dropped never learns), else raise a ValueError."""
    return check_number(name, value, 0, 1, high_open=True)


def check_seed(name: str, value: Any) -> int:
    """Return `value` if it is an integer in [0, 2**32 - 1] (what every generator accepts), else raise a ValueError."""
    return check_integer(name, value, low=0, high=2**32 - 1)

