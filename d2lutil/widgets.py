"""Interactive demos: a pure function of its knobs, wrapped in ipywidgets only when interactive."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def demo_arguments(demo: Callable[..., Any], controls: dict[str, Any]) -> dict[str, Any]:
    """Every argument `demo` will get: the given controls, then its other defaults; a ValueError for a wrong name."""
    parameters = inspect.signature(demo).parameters
    unknown = sorted(set(controls) - set(parameters))
    missing = sorted(name for name, p in parameters.items() if p.default is p.empty and name not in controls)
    if unknown or missing:
        raise ValueError(f"{demo.__name__} takes {', '.join(parameters)}; unknown: {unknown or 'none'}, "
                         f"missing: {missing or 'none'}")
    return {**{name: p.default for name, p in parameters.items() if p.default is not p.empty}, **controls}


def show_demo(demo: Callable[..., Any], interactive: bool, **controls: Any) -> Any:
    """Run `demo` once with the controls' values; when interactive, also show widgets that rerun it.

    Each control is an ipywidgets widget (its `.value` is the default) or a plain value. Only the
    widgets become controls: plain values and the demo's other defaulted arguments stay fixed.
    Works with ipywidgets 7 (Colab) and 8.
    """
    arguments = demo_arguments(demo, controls)
    if not interactive:
        return demo(**{name: getattr(value, "value", value) for name, value in arguments.items()})
    import ipywidgets
    from IPython.display import display

    panel = ipywidgets.interactive(demo, **{name: value if isinstance(value, ipywidgets.Widget) else ipywidgets.fixed(value)
                                            for name, value in arguments.items()})
    display(panel)
    return panel
