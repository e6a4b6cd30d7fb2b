"""Interactive demos: a pure function of its knobs, wrapped in ipywidgets only when interactive."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def show_demo(demo: Callable[..., Any], interactive: bool, **controls: Any) -> Any:
    """Run `demo` once with the controls' values; when interactive, also show widgets that rerun it.

    Each control is an ipywidgets widget (its `.value` is the default) or a plain value.
    Works with ipywidgets 7 (Colab) and 8.
    """
    defaults = {name: getattr(control, "value", control) for name, control in controls.items()}
    if not interactive:
        return demo(**defaults)
    import ipywidgets
    from IPython.display import display

    panel = ipywidgets.interactive(demo, **{name: control for name, control in controls.items()
                                            if isinstance(control, ipywidgets.Widget)},
                                   **{name: ipywidgets.fixed(value) for name, value in controls.items()
                                      if not isinstance(value, ipywidgets.Widget)})
    display(panel)
    return panel
