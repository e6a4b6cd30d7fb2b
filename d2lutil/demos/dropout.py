"""Demo of chapter 3: a small network drawn with the units dropout removes, in training or inference mode."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..validate import check_choice, check_positive_int, check_probability

MODES = ("training", "inference")


def thinned_network(layer_sizes: Sequence[int], rate: float, mode: str = "training",
                    draw: int = 0) -> list[torch.Tensor]:
    """One keep-mask per layer: hidden units dropped with probability `rate` in training; all kept in inference."""
    check_probability("rate", rate)
    check_choice("mode", mode, MODES)
    sizes = [check_positive_int("layer size", size) for size in layer_sizes]
    if len(sizes) < 3:
        raise ValueError(f"layer_sizes={list(layer_sizes)!r} is not allowed; give input, hidden and output sizes")
    generator = torch.Generator().manual_seed(draw)
    masks = [torch.ones(sizes[0], dtype=torch.bool)]
    for size in sizes[1:-1]:
        drawn = torch.rand(size, generator=generator) >= rate
        masks.append(drawn if mode == "training" else torch.ones(size, dtype=torch.bool))
    return masks + [torch.ones(sizes[-1], dtype=torch.bool)]


def unit_positions(size: int, column: int, tallest: int) -> list[tuple[float, float]]:
    """The (x, y) centres of a layer's units, centred vertically against the tallest layer."""
    offset = (tallest - size) / 2
    return [(float(column), tallest - 1 - offset - i) for i in range(size)]


def dropout_network(rate: float = 0.5, mode: str = "training", draw: int = 0,
                    layer_sizes: Sequence[int] = (4, 6, 6, 3)) -> tuple[Figure, dict[str, Any]]:
    """Draw the network with dropped hidden units crossed out; return the figure and the counts."""
    masks = thinned_network(layer_sizes, rate, mode, draw)
    tallest = max(layer_sizes)
    layers = [unit_positions(size, column, tallest) for column, size in enumerate(layer_sizes)]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for (left, left_kept), (right, right_kept) in zip(zip(layers, masks), zip(layers[1:], masks[1:])):
        for (x0, y0), k0 in zip(left, left_kept):
            for (x1, y1), k1 in zip(right, right_kept):
                if k0 and k1:
                    ax.plot([x0, x1], [y0, y1], color="tab:blue", lw=0.8, alpha=0.6, zorder=1)
    for layer, kept in zip(layers, masks):
        xs, ys = zip(*layer)
        kept_list = kept.tolist()
        ax.scatter([x for x, k in zip(xs, kept_list) if k], [y for y, k in zip(ys, kept_list) if k], s=260,
                   color="tab:blue", zorder=2, label="kept unit" if layer is layers[0] else None)
        dropped = [(x, y) for x, y, k in zip(xs, ys, kept_list) if not k]
        if dropped:
            ax.scatter(*zip(*dropped), s=260, color="white", edgecolors="gray", zorder=2)
            ax.scatter(*zip(*dropped), s=120, marker="x", color="tab:red", zorder=3)
    ax.scatter([], [], s=120, marker="x", color="tab:red", label="dropped unit")
    hidden = torch.cat(masks[1:-1])
    scale = f"kept activations x 1/(1-p) = {1 / (1 - rate):.2f}" if mode == "training" and rate < 1 else (
        "all units, no rescaling (inverted dropout)" if mode == "inference" else "every hidden unit dropped")
    ax.set(title=f"Dropout p={rate:.2f}, {mode}: {int(hidden.sum())}/{len(hidden)} hidden units kept\n{scale}",
           xticks=range(len(layer_sizes)), xticklabels=["input"] + [f"hidden {i}" for i in
                                                                range(1, len(layer_sizes) - 1)] + ["output"],
           yticks=[], xlabel="layer", ylabel="unit")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    fig.tight_layout()
    return fig, {"hidden_units": len(hidden), "kept": int(hidden.sum()), "dropped": int((~hidden).sum()),
                 "thinned_networks": 2 ** len(hidden)}


def resample_button(draw: Any) -> Any:
    """An ipywidgets Button that re-samples the masks by bumping the `draw` widget's value."""
    import ipywidgets

    button = ipywidgets.Button(description="re-sample")
    button.on_click(lambda _: setattr(draw, "value", draw.value + 1))
    return button
