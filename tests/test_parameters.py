"""Parameter declarations: every chapter's rules match its parameters cell and refuse bad values before any work."""
import math
from pathlib import Path
from typing import Any

import nbformat
import pytest

import d2lutil
from d2lutil.parameters import SPLIT_SIZES, Combination, Declaration, Rule, boolean, check_parameters, declaration
from d2lutil.parameters import each, integer, number

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAN, INF = float("nan"), float("inf")


def parameters_cell(notebook: Path) -> dict[str, Any]:
    """The values the notebook's parameters cell assigns."""
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook.name} has {len(cells)} cells tagged 'parameters'; it needs exactly one"
    namespace: dict[str, Any] = {}
    exec(cells[0].source, namespace)
    return {name: value for name, value in namespace.items() if name != "__builtins__"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_declaration_names_the_parameters_cell_and_accepts_its_defaults(notebook):
    found = declaration(notebook.stem)
    assert found is not None, f"{notebook.name} has no declaration: add d2lutil/chapters/{notebook.stem[3:]}.py"
    cell = parameters_cell(notebook)
    undeclared, missing = sorted(set(cell) - set(found.rules)), sorted(set(found.rules) - set(cell))
    assert not undeclared and not missing, (
        f"{notebook.name} and d2lutil/chapters/{notebook.stem[3:]}.py disagree: the parameters cell defines "
        f"{undeclared} that the declaration lacks, and lacks {missing} that the declaration has")
    found.check(cell)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_every_declared_parameter_refuses_nan_infinity_and_wrong_types(notebook):
    rules = declaration(notebook.stem).rules
    for name, rule in rules.items():
        for bad in [NAN, INF, -INF, object(), {"a": 1}] + ([] if rule.check is boolean else [True]):
            with pytest.raises(ValueError, match=f"{name}=.* is not allowed"):
                declaration(notebook.stem).check({name: bad}, complete=False)


@pytest.mark.parametrize("name, value, match", [
    ("lr", NAN, r"lr=nan is not allowed; it must be a finite number > 0 \(not NaN or infinity\)"),
    ("lr", INF, r"lr=inf is not allowed; it must be a finite number > 0"),
    ("weight_decay", NAN, r"weight_decay=nan is not allowed; it must be a finite number >= 0"),
    ("width", INF, r"width=inf is not allowed"),
    ("lr_decay", 0, r"lr_decay=0 is not allowed; it must be a finite number in \(0, 1\]"),
    ("augment_padding", 0.5, r"augment_padding=0.5 is not allowed; it must be an integer >= 0"),
    ("batch_size", True, "batch_size=True is not allowed; it must be an integer >= 1"),
    ("n_train", 1_000_000_000, "the train split of digits has 997 examples"),
    ("n_test", 501, "the test split of digits has 500 examples"),
    ("amp", "fp8", "choose one of None, 'auto', 'bf16', 'fp16'"),
    ("split_seed", -1, "split_seed=-1 is not allowed; it must be an integer >= 0"),
    ("checkpoint_dir", 3, r"checkpoint_dir=3 is not allowed; it must be a non-empty string \(or None\)"),
])
def test_chapter_6_refuses_a_bad_value_naming_what_is_allowed(name, value, match):
    with pytest.raises(ValueError, match=match):
        declaration("06_randomization_tests").check({"dataset": "digits", name: value}, complete=False)


def test_sizes_are_checked_against_the_chosen_dataset():
    ch6 = declaration("06_randomization_tests")
    assert ch6.check({"dataset": "cifar10", "n_train": 45_000}, complete=False)["n_train"] == 45_000
    with pytest.raises(ValueError, match="the train split of cifar10 has 45,000 examples"):
        ch6.check({"dataset": "cifar10", "n_train": 45_001}, complete=False)
    with pytest.raises(ValueError, match=r"train_sizes=\[50, 2000, 60000\].*fashion_mnist has 55,000"):
        declaration("01_generalization_gap").check({"dataset": "fashion_mnist", "train_sizes": [50, 2000, 60000]},
                                                   complete=False)
    with pytest.raises(ValueError, match="the val split of digits has 300 examples"):
        declaration("04_early_stopping").check({"dataset": "digits", "n_val": 301}, complete=False)


def test_split_sizes_are_the_contracts():
    assert SPLIT_SIZES["digits"] == {"train": 997, "val": 300, "test": 500}
    assert SPLIT_SIZES["cifar10"] == {"train": 45_000, "val": 5_000, "test": 10_000}
    assert SPLIT_SIZES["mnist"] == SPLIT_SIZES["fashion_mnist"] == {"train": 55_000, "val": 5_000, "test": 10_000}


@pytest.mark.parametrize("notebook, values, match", [
    ("03_dropout", {"mc_rate": 0.3}, r"mc_rate=0.3, dropout_rates=\[0.0, 0.25, 0.5, 0.75, 0.9\] are not allowed together"),
    ("03_dropout", {"dropout_rates": [0.25, 0.5]}, "dropout_rates must include 0.0, 0.75 and 0.9"),
    ("07_implicit_regularization", {"ls_d": 10}, "ls_d must exceed ls_n"),
    ("08_generalization_in_deep_learning", {"dd_n_train": 123}, "widths must contain dd_n_train"),
])
def test_combinations_are_checked_against_the_other_parameters(notebook, values, match):
    cell = {**parameters_cell(ROOT / "notebooks" / f"{notebook}.ipynb"), **values}
    with pytest.raises(ValueError, match=match):
        declaration(notebook).check(cell, complete=False)


def test_an_unknown_name_is_refused_naming_close_matches():
    with pytest.raises(ValueError, match=r"'num_epoch' is not a parameter of 03_dropout \(did you mean 'num_epochs'\?\)"):
        declaration("03_dropout").check({"num_epoch": 3}, complete=False)
    with pytest.raises(ValueError, match=r"'zzz' is not a parameter of 03_dropout; its parameters are: dataset"):
        declaration("03_dropout").check({"zzz": 3}, complete=False)


def test_a_missing_parameter_is_refused_when_the_check_is_complete():
    with pytest.raises(ValueError, match="03_dropout needs the parameter.s. seed"):
        declaration("03_dropout").check({name: v for name, v in good_dropout().items() if name != "seed"})


def good_dropout() -> dict[str, Any]:
    """Chapter 3's defaults with the parameters every chapter gains (split seed, precision)."""
    cell = parameters_cell(ROOT / "notebooks" / "03_dropout.ipynb")
    return {"split_seed": 0, "amp": None, "channels_last": False, "compile_model": False, **cell}


def test_check_parameters_reads_a_notebooks_globals_and_returns_the_record():
    namespace = {**good_dropout(), "d2l": d2lutil, "math": math, "In": [], "Out": {}, "_i1": "", "print_it": print}
    record = check_parameters("03_dropout", namespace)
    assert record["lr"] == 0.05 and record["split_seed"] == 0 and record["dropout_rates"] == [0.0, 0.25, 0.5, 0.75, 0.9]
    assert not {"progress", "interactive", "results_dir", "figures_dir", "data_dir", "device"} & set(record)


def test_check_parameters_refuses_a_typo_papermill_injected():
    namespace = {**good_dropout(), "num_epoch": 3, "d2l": d2lutil}
    with pytest.raises(ValueError, match="did you mean 'num_epochs'"):
        check_parameters("03_dropout", namespace)


def test_check_parameters_needs_a_declared_notebook():
    with pytest.raises(ValueError, match="no declaration of the parameters of '99_nothing'"):
        check_parameters("99_nothing", {})
    assert declaration("sweep_point") is None and declaration("tests/fixtures/sweep_point.ipynb") is None


def test_declaration_is_found_from_a_path():
    assert declaration("solutions/03_dropout.ipynb").notebook == "03_dropout"


def test_rules_compose():
    toy = Declaration("toy", {"xs": Rule(each(number(0, 1), min_length=2, max_length=3, increasing=True)),
                              "k": Rule(integer(1, 4), record=False)},
                      (Combination(lambda xs, k: len(xs) <= k, "k must be at least the number of xs"),))
    assert toy.check({"xs": [0.1, 0.2], "k": 2}) == {"xs": [0.1, 0.2]}
    for values, match in [({"xs": [0.2, 0.1], "k": 2}, "must increase"), ({"xs": [0.1], "k": 2}, "2 to 3 value"),
                          ({"xs": [0.1, 0.2], "k": 5}, r"integer in \[1, 4\]"),
                          ({"xs": [0.1, 0.2, 0.3], "k": 2}, "k must be at least"),
                          ({"xs": [0.1, NAN], "k": 2}, r"xs\[1\]=nan is not allowed")]:
        with pytest.raises(ValueError, match=match):
            toy.check(values)


@pytest.mark.parametrize("check", [d2lutil.check_positive, d2lutil.check_nonnegative, d2lutil.check_probability,
                                   d2lutil.check_number])
@pytest.mark.parametrize("value", [NAN, INF, -INF, True, "1", None])
def test_number_checks_refuse_nan_infinity_and_bool(check, value):
    with pytest.raises(ValueError, match="finite number.* .not NaN or infinity."):
        check("x", value)


@pytest.mark.parametrize("value", [True, 2.0, NAN, "3", 0])
def test_check_positive_int_refuses_what_is_not_an_integer_above_zero(value):
    with pytest.raises(ValueError, match="it must be an integer >= 1"):
        d2lutil.check_positive_int("n", value)


def test_number_checks_return_floats_within_their_bounds():
    assert d2lutil.check_positive("alpha", 2) == 2.0 and isinstance(d2lutil.check_positive("alpha", 2), float)
    assert d2lutil.check_number("x", -1e300) == -1e300
    assert d2lutil.check_number("x", 1.0, 0, 1, high_open=False) == 1.0
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        d2lutil.check_number("x", 1.0, 0, 1, high_open=True)


def test_choose_device():
    assert d2lutil.choose_device("cpu").type == "cpu"
    assert d2lutil.choose_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda', 'mps'"):
        d2lutil.choose_device("gpu0")


@pytest.mark.parametrize("value", [0, -0.5, True, "1", None])
def test_check_positive_rejects_what_is_not_a_number_above_zero(value):
    with pytest.raises(ValueError, match=r"temperature=.* must be a finite number > 0"):
        d2lutil.check_positive("temperature", value)


def test_check_positive_returns_a_float():
    assert d2lutil.check_positive("alpha", 2) == 2.0 and isinstance(d2lutil.check_positive("alpha", 2), float)
