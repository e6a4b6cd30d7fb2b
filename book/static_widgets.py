"""Widget outputs of an executed notebook as static HTML, drawn from the widget state saved with it.

A page of the book has no kernel, so a live widget would show as a broken placeholder. Each widget view
in an output becomes what it last showed: boxes as rows or columns, a progress bar as a bar with its
text, a button as a disabled one, HTML and labels as themselves, other controls as "description: value"
(a selection as its options), an output widget as its outputs.
"""
from __future__ import annotations

import html
from typing import Any

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
COLUMNS = {"VBoxModel", "GridBoxModel", "AccordionModel", "TabModel", "StackModel"}

Models = dict[str, dict[str, Any]]


def widget_html(model_id: str, models: Models) -> str:
    """The widget `model_id` and its children as static HTML ('' for a model the state does not hold)."""
    model = models.get(model_id.removeprefix("IPY_MODEL_"))
    if model is None:
        return ""
    name, state = model["model_name"], model["state"]
    if "children" in state:
        direction = "column" if name in COLUMNS else "row"
        inner = "".join(widget_html(child, models) for child in state["children"])
        return f'<div class="static-widget-box static-widget-{direction}">{inner}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f'<span class="static-widget">{state.get("value", "")}</span>'
    if name.endswith("ProgressModel"):
        style = state.get("bar_style") or "info"
        return (f'<progress class="static-widget static-widget-{html.escape(style)}" '
                f'value="{state.get("value", 0)}" max="{state.get("max", 100)}"></progress>')
    if name == "ButtonModel":
        return f'<button class="static-widget" disabled>{html.escape(state.get("description", ""))}</button>'
    if name == "OutputModel":
        return "".join(output_html(output) for output in state.get("outputs", []))
    return f'<span class="static-widget">{html.escape(control_text(state))}</span>'


def control_text(state: dict[str, Any]) -> str:
    """A control as text: 'description: value'; a selection lists its options, the chosen ones marked."""
    description = state.get("description", "")
    labels, index = state.get("_options_labels"), state.get("index")
    if labels is not None:
        chosen = set(index if isinstance(index, list) else [index])
        value = "\n".join(f"{'●' if i in chosen else '○'} {label}" for i, label in enumerate(labels))
    else:
        value = "" if state.get("value") is None else str(state["value"])
    separator = ":\n" if labels is not None else ": "
    return f"{description}{separator}{value}" if description and value else f"{description}{value}"


def output_html(output: dict[str, Any]) -> str:
    """One output of an output widget as HTML: its text, image or HTML."""
    if output.get("output_type") == "stream":
        return f'<pre class="static-widget">{html.escape(joined(output.get("text", "")))}</pre>'
    data = output.get("data", {})
    if "image/png" in data:
        return f'<img class="static-widget" alt="figure" src="data:image/png;base64,{joined(data["image/png"])}">'
    if "text/html" in data:
        return joined(data["text/html"])
    if "text/plain" in data:
        return f'<pre class="static-widget">{html.escape(joined(data["text/plain"]))}</pre>'
    return ""


def joined(text: str | list[str]) -> str:
    """A notebook's multiline string (a list of lines or one string) as one string."""
    return "".join(text) if isinstance(text, list) else text


def make_static(notebook: dict[str, Any]) -> int:
    """Replace every widget view in the notebook's outputs by static HTML, in place; return how many there were.

    The saved widget state is dropped afterwards, so no page loads a widget manager. A view whose model
    the state does not hold keeps only its other representations (its text).
    """
    models = notebook.get("metadata", {}).pop("widgets", {}).get(STATE, {}).get("state", {})
    count = 0
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(VIEW, None)
            if view is None:
                continue
            count += 1
            static = widget_html(view["model_id"], models)
            if static:
                output["data"]["text/html"] = f'<div class="static-widget-output">{static}</div>'
    return count
