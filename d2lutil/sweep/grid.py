"""A sweep's grid: reading the grid file, naming its points, and checking all of it before the first point runs.

A grid file is YAML with a `grid` of lists (every combination is one point), `fixed` values for every point,
optionally a `base` profile (params/<notebook>.<base>.yaml) under every point, the `columns` to collect from
each point's results JSON (dotted paths; lists become one row per element) and the `plots` to draw from them.
"""
from __future__ import annotations

import ast
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ..runner import check_parameter_names, check_parameters, notebook_defaults, profile_parameters, read_yaml

SPEC_KEYS = ("grid", "fixed", "base", "columns", "plots")
PLOT_KEYS = ("x", "y", "lines", "title")
MAX_NAME = 200  # longer point names are cut and end in a hash of the whole name (file names stop at 255 bytes)
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")


@dataclass(frozen=True)
class Sweep:
    """What a grid file says: the axes, the fixed values, the base profile, the columns and the plots."""

    grid: dict[str, list]
    fixed: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    plots: list[dict[str, str]] = field(default_factory=list)
    base: str | None = None

    def points(self, base: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Every point of the grid, by name, with all its parameters (base profile values, then fixed values)."""
        points: dict[str, dict[str, Any]] = {}
        axes_of: dict[str, dict[str, Any]] = {}
        for values in itertools.product(*self.grid.values()):
            axes = dict(zip(self.grid, values))
            name = point_name(axes)
            if name in points:
                raise ValueError(f"grid points {axes_of[name]} and {axes} share the name {name!r}; make their values differ")
            points[name], axes_of[name] = {**(base or {}), **self.fixed, **axes}, axes
        return points


def _mapping(name: str, value: Any) -> dict:
    """A dict (None reads as empty), else a ValueError."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a mapping of names to values, not {value!r}")
    return value


def parse_sweep(spec: Any) -> Sweep:
    """Check a grid file's content and return it as a Sweep."""
    spec = _mapping("the grid file", spec)
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in the grid file; allowed: {', '.join(SPEC_KEYS)}")
    grid, fixed = _mapping("grid", spec.get("grid")), _mapping("fixed", spec.get("fixed"))
    if not grid:
        raise ValueError("the grid file needs a non-empty 'grid': parameter names with lists of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid.{name}={values!r} is not allowed; it must be a non-empty list of values")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"{both} appear in both 'grid' and 'fixed'; give each parameter in one place")
    columns = _mapping("columns", spec.get("columns"))
    for name, path in columns.items():
        if not isinstance(path, str) or not path:
            raise ValueError(f"columns.{name}={path!r} is not allowed; it must be a dotted path such as 'corruption.levels'")
    plots = spec.get("plots") or []
    if not isinstance(plots, list):
        raise ValueError(f"plots must be a list of plots, not {plots!r}")
    for plot in plots:
        plot = _mapping("each plot", plot)
        if set(plot) - set(PLOT_KEYS) or not {"x", "y"} <= set(plot):
            raise ValueError(f"plot {plot} is not allowed; give x and y, and optionally lines and title")
    base = spec.get("base")
    if base is not None and (not isinstance(base, str) or not base):
        raise ValueError(f"base={base!r} is not allowed; name a profile such as 'full'")
    return Sweep(grid, fixed, columns, plots, base)


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a grid YAML file; errors name the file (and the line, for YAML syntax)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such grid file: {path}")
    try:
        return parse_sweep(read_yaml(path))
    except ValueError as err:
        raise ValueError(err if str(err).startswith(str(path)) else f"{path}: {err}") from None


def value_text(value: Any) -> str:
    """A value as file-name-safe text that tells it apart from every other value.

    Numbers as Python writes them (-0.2, 1e-05), lists as 'a,b', a string that would read as another type
    quoted ('True' becomes %27True%27), and every character outside [A-Za-z0-9._+-] as %XX.
    """
    if isinstance(value, (list, tuple)):
        return ",".join(f"[{value_text(v)}]" if isinstance(v, (list, tuple)) else value_text(v) for v in value)
    text = value if isinstance(value, str) and _reads_as_itself(value) else repr(value)
    return "".join(c if c in SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def _reads_as_itself(text: str) -> bool:
    """Whether `text` reads as this very string, in YAML and as Python writes other values (None, 1.0, inf)."""
    import yaml

    try:
        ast.literal_eval(text)
        return False
    except (ValueError, SyntaxError):
        pass
    try:
        return bool(text) and text not in ("inf", "-inf", "nan") and yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def point_name(axes: dict[str, Any]) -> str:
    """The file name of a grid point, from its values on the grid's axes: 'model=mlp_seed=0', 'lr=-0.1'."""
    name = "_".join(f"{axis}={value_text(value)}" for axis, value in axes.items())
    if len(name) > MAX_NAME:
        name = f"{name[:MAX_NAME - 13]}~{hashlib.sha1(name.encode()).hexdigest()[:12]}"
    return name


def results_outline(notebook: Path) -> dict[str, Any]:
    """The keys of the notebook's `results = {...}` dict, read from its code without running it.

    A nested dict literal becomes a nested outline; any other value is None (its inside is known only at run time).
    """
    outline = None
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # IPython magics: not where results are built
        for node in tree.body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["results"] \
                    and isinstance(node.value, ast.Dict):
                outline = _outline(node.value)
    if outline is None:
        raise ValueError(f"{notebook.name} assigns no dict literal `results = {{...}}`, so the grid's columns and "
                         "plots cannot be checked before the sweep runs")
    return outline


def _outline(node: ast.Dict) -> dict[str, Any]:
    """The string keys of a dict literal, each with its value's outline."""
    return {key.value: _outline(value) if isinstance(value, ast.Dict) else None
            for key, value in zip(node.keys, node.values) if isinstance(key, ast.Constant)}


def check_path(outline: dict[str, Any], path: str, where: str) -> None:
    """Raise a ValueError if a dotted path leaves the outline of the results."""
    node: Any = outline
    for i, key in enumerate(path.split(".")):
        if node is None:
            return  # below a value computed at run time
        if key not in node:
            known = ".".join(path.split(".")[:i]) or "the results"
            raise ValueError(f"{where}={path!r}: {known} has no {key!r}; it has {', '.join(map(repr, node)) or 'nothing'}")
        node = node[key]


def leaf_names(outline: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted path of the outline down to a value (the CSV's columns when the grid names none)."""
    names = []
    for key, value in outline.items():
        names += leaf_names(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return names


def check_collection(notebook: Path, sweep: Sweep) -> None:
    """Check the grid's columns against the notebook's results, and its plots against the columns."""
    outline = results_outline(notebook)
    for name, path in sweep.columns.items():
        check_path(outline, path, f"columns.{name}")
    if sweep.columns:
        columns = set(sweep.columns)
        is_column = columns.__contains__
    else:
        leaves = leaf_names(outline)
        columns = set(leaves)
        opaque = [leaf for leaf in leaves if _at(outline, leaf) is None]
        is_column = lambda name: name in columns or any(name.startswith(f"{leaf}.") for leaf in opaque)  # noqa: E731
    for plot in sweep.plots:
        for key in ("x", "y", "lines"):
            name = plot.get(key)
            if name is not None and name not in sweep.grid and not is_column(name):
                raise ValueError(f"plot {plot}: {key}={name!r} is not a column; the columns are "
                                 f"{', '.join(list(sweep.grid) + sorted(columns))}")


def _at(outline: dict[str, Any], path: str) -> Any:
    """The outline below a dotted path."""
    node: Any = outline
    for key in path.split("."):
        node = node[key]
    return node


def base_parameters(notebook: Path, sweep: Sweep, profile: str | None) -> dict[str, Any]:
    """The values under every point: the profile named by --profile or the grid's `base` (they must agree)."""
    if profile and sweep.base and profile != sweep.base:
        raise ValueError(f"--profile {profile} and the grid's base: {sweep.base} disagree; give one of them")
    return profile_parameters(notebook, profile or sweep.base)


def check_sweep(notebook: Path, sweep: Sweep, profile: str | None = None) -> dict[str, dict[str, Any]]:
    """Check everything about a sweep that can be checked before it runs; return its points' parameters.

    Names (with close matches), every point's values and combinations against the notebook's declaration,
    and the columns and plots against the notebook's results.
    """
    if not notebook.is_file():
        raise ValueError(f"no such notebook: {notebook}")
    defaults = notebook_defaults(notebook)
    check_parameter_names(notebook, [*sweep.grid, *sweep.fixed], defaults)
    points = sweep.points(base_parameters(notebook, sweep, profile))
    for name, params in points.items():
        try:
            check_parameters(notebook, params, defaults)
        except ValueError as err:
            raise ValueError(f"point {name}: {err}") from None
    check_collection(notebook, sweep)
    return points
