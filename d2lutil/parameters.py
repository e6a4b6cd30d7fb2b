"""Declaring a chapter's parameters once, and checking them all before any work starts.

A chapter declares each parameter's rule (type, range, finiteness, the data split it must fit in, whether it
belongs in the results' record) and the rules that tie several parameters together in one `Declaration`
(d2lutil/chapters/<name>.py). Its check cell is one call, `params = d2l.check_parameters("03_dropout", globals())`,
and `python -m d2lutil run` and `sweep` check the same declaration before they execute anything.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .data import DATASETS, SPLIT_SIZES
from .environment import DEVICES
from .precision import AMP_MODES
from .validate import check_choice, check_integer, check_number

Check = Callable[[str, Any], Any]



@dataclass(frozen=True)
class Rule:
    """One parameter's rule: its check, the data split its size(s) must fit in, and whether results record it."""

    check: Check
    split: str | None = None
    record: bool = True


@dataclass(frozen=True)
class Combination:
    """A rule across parameters: `test` takes them by name and returns whether they go together."""

    test: Callable[..., bool]
    message: str

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters the rule ties together: the arguments of its test."""
        return tuple(inspect.signature(self.test).parameters)

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise a ValueError naming the parameters and what is allowed unless they go together."""
        args = {name: values[name] for name in self.names}
        if not self.test(**args):
            given = ", ".join(f"{name}={value!r}" for name, value in args.items())
            raise ValueError(f"{given} are not allowed together; {self.message}")


@dataclass(frozen=True)
class Declaration:
    """A notebook's parameters: one rule per name, and the combinations they must satisfy."""

    notebook: str
    rules: dict[str, Rule]
    combinations: tuple[Combination, ...] = field(default_factory=tuple)

    def check_names(self, names: Sequence[str]) -> None:
        """Raise a ValueError for every name that is not a parameter, naming the close matches."""
        check_names(names, self.rules, self.notebook)

    def check(self, values: Mapping[str, Any], complete: bool = True) -> dict[str, Any]:
        """Check names, each value, sizes and combinations; return the values the results record.

        With complete=False only the given parameters are checked (the command line checks its overrides).
        """
        self.check_names(list(values))
        missing = [name for name in self.rules if name not in values]
        if complete and missing:
            raise ValueError(f"{self.notebook} needs the parameter(s) {', '.join(missing)}; "
                             "its parameters cell must define every declared parameter")
        checked = {name: self.rules[name].check(name, value) for name, value in values.items()}
        for name, value in checked.items():
            _check_size(name, value, self.rules[name].split, checked.get("dataset"))
        for combination in self.combinations:
            if all(name in checked for name in combination.names):
                combination.check(checked)
        return {name: value for name, value in checked.items() if self.rules[name].record}


def check_names(names: Sequence[str], allowed: Sequence[str], notebook: str) -> None:
    """Raise a ValueError if a name is not among `allowed`, naming the close matches of each."""
    unknown = [name for name in names if name not in allowed]
    if unknown:
        refusals = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(allowed), n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            refusals.append(f"{name!r} is not a parameter of {notebook}{hint}")
        raise ValueError(f"{'; '.join(refusals)}; its parameters are: {', '.join(allowed)}")


def _check_size(name: str, value: Any, split: str | None, dataset: str | None) -> None:
    """Raise a ValueError if a size (or the largest of a list of sizes) exceeds the dataset's split."""
    if split is None or dataset is None or value is None:
        return
    size = SPLIT_SIZES[dataset][split]
    largest = max(value) if isinstance(value, list) else value
    if largest > size:
        raise ValueError(f"{name}={value!r} is not allowed; the {split} split of {dataset} has {size:,} examples, "
                         f"so it must be at most {size}")


# --- Checks: each takes (name, value) and returns the value or raises a ValueError naming what is allowed.

def integer(low: int | None = 1, high: int | None = None) -> Check:
    """An integer in [low, high]."""
    return lambda name, value: check_integer(name, value, low, high)


def number(low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False) -> Check:
    """A finite number within the bounds (open bounds exclude their end)."""
    return lambda name, value: check_number(name, value, low, high, low_open, high_open)


def choice(*allowed: Any) -> Check:
    """One of `allowed`."""
    return lambda name, value: check_choice(name, value, allowed)


def boolean(name: str, value: Any) -> bool:
    """True or False, nothing else."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not allowed; it must be True or False")
    return value


def text(name: str, value: Any) -> str:
    """A non-empty string (a path or a name)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}={value!r} is not allowed; it must be a non-empty string")
    return value


def optional(check: Check) -> Check:
    """None, or what `check` accepts."""
    def check_optional(name: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(name, value)
        except ValueError as err:
            raise ValueError(f"{err} (or None)") from None
    return check_optional


def each(check: Check, min_length: int = 1, max_length: int | None = None, increasing: bool = False) -> Check:
    """A list of `min_length` to `max_length` values that `check` accepts, optionally in increasing order."""
    def check_all(name: str, values: Any) -> list:
        if not isinstance(values, (list, tuple)) or not min_length <= len(values) <= (max_length or len(values)):
            length = f"{min_length} to {max_length}" if max_length else f"at least {min_length}"
            raise ValueError(f"{name}={values!r} is not allowed; it must be a list of {length} value(s)")
        checked = [check(f"{name}[{i}]", value) for i, value in enumerate(values)]
        if increasing and any(a >= b for a, b in zip(checked, checked[1:])):
            raise ValueError(f"{name}={values!r} is not allowed; its values must increase")
        return list(values)
    return check_all


# --- Rules that many chapters share.

def common_rules(models: Sequence[str] | None = None) -> dict[str, Rule]:
    """The data, device, training-speed, display and output parameters every chapter has."""
    rules = {
        "dataset": Rule(choice(*DATASETS)),
        "data_dir": Rule(text, record=False),
        "n_train": Rule(optional(integer(1)), split="train"),
        "n_val": Rule(optional(integer(1)), split="val"),
        "n_test": Rule(optional(integer(1)), split="test"),
        "split_seed": Rule(integer(0)),
        "seed": Rule(integer(0)),
        "device": Rule(choice(*DEVICES), record=False),
        "amp": Rule(choice(None, *AMP_MODES)),  # fit's mixed precision: off, or one of its modes
        "channels_last": Rule(boolean),
        "compile_model": Rule(boolean),
        "progress": Rule(boolean, record=False),
        "interactive": Rule(boolean, record=False),
        "results_dir": Rule(text, record=False),
        "figures_dir": Rule(text, record=False),
    }
    if models is not None:
        rules["model"] = Rule(choice(*models))
    return rules


def declaration(notebook: str) -> Declaration | None:
    """The declaration of a chapter notebook ('03_dropout', or a path ending in it); None if it has none."""
    stem = str(notebook).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".ipynb")
    module = _chapter_module(stem)
    return None if module is None else module.DECLARATION


def _chapter_module(stem: str) -> ModuleType | None:
    """d2lutil.chapters.<name> for the stem 'NN_<name>', or None when no chapter declares it."""
    prefix, _, name = stem.partition("_")
    if not (prefix.isdigit() and name):
        return None
    try:
        module = importlib.import_module(f".chapters.{name}", __package__)
    except ModuleNotFoundError as err:
        if err.name != f"{__package__}.chapters.{name}":
            raise
        return None
    return module if module.DECLARATION.notebook == stem else None


def parameters_in(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of a notebook's namespace that can be parameters: no modules, functions or IPython names."""
    ipython = {"In", "Out", "get_ipython", "exit", "quit", "open"}
    return {name: value for name, value in namespace.items()
            if not name.startswith("_") and name not in ipython
            and not isinstance(value, ModuleType) and not callable(value)}


def check_parameters(notebook: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Check a chapter's parameters, found in `namespace` (its globals()), against its declaration.

    Unknown names (a typo injected by papermill), bad types, NaN or infinity, values out of range, sizes larger
    than the dataset's split and parameters that do not go together raise a ValueError before any work starts.
    Returns the record of the parameters for the results JSON.
    """
    found = declaration(notebook)
    if found is None:
        raise ValueError(f"no declaration of the parameters of {notebook!r}; the declared chapters are in d2lutil/chapters")
    return found.check(parameters_in(namespace))

