"""Plots of what the chapters measure: learning curves, metric-versus-knob lines, image grids."""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .callbacks import History
from .results import keep_file

LABELS = {"train_loss": "training loss", "train_acc": "training accuracy",
          "val_loss": "validation loss", "val_acc": "validation accuracy"}
LINESTYLES, MARKERS = ("-", "--", "-.", ":"), ("o", "s", "^", "D", "v", "x")


def distinct_style(i: int, points: int) -> dict[str, object]:
    """Colour, line style and sparse markers of series `i`, so series that coincide stay visible."""
    return {"color": f"C{i % 10}", "linestyle": LINESTYLES[i % len(LINESTYLES)], "marker": MARKERS[i % len(MARKERS)],
            "markevery": max(1, points // 8), "markersize": 4}


def plot_histories(histories: Mapping[str, History], metric: str = "train_acc", ax: Axes | None = None,
                   title: str | None = None) -> Axes:
    """Plot one metric per epoch for several named runs on one axis."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for i, (name, history) in enumerate(histories.items()):
        values = getattr(history, metric)
        ax.plot(range(1, len(values) + 1), values, label=name, **distinct_style(i, len(values)))
    ax.set(xlabel="epoch", ylabel=LABELS.get(metric, metric), title=title or LABELS.get(metric, metric))
    ax.legend()
    return ax


def plot_learning_curves(history: History, title: str = "learning curves") -> Figure:
    """Loss and accuracy, training and validation, of one run side by side."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history) + 1)
    for split in ("train", "val"):
        ax_loss.plot(epochs, getattr(history, f"{split}_loss"), label=split)
        ax_acc.plot(epochs, getattr(history, f"{split}_acc"), label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_lines(x: Sequence[float], lines: Mapping[str, Sequence[float]], xlabel: str, ylabel: str,
               title: str, ax: Axes | None = None, logx: bool = False) -> Axes:
    """Plot several named y-series against one x with markers, e.g. test error vs corruption level."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for name, ys in lines.items():
        ax.plot(x, ys, marker="o", label=name)
    if logx:
        ax.set_xscale("symlog", linthresh=min(v for v in x if v > 0))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    return ax


def save_figure(fig: Figure, folder: str | Path, name: str) -> Path:
    """Save `fig` as folder/name.png (creating the folder) and return the path; a different older figure is kept."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    return keep_file(Path(folder) / f"{name}.png", png.getvalue())


def plot_image_grid(rows: Mapping[str, torch.Tensor], labels: Mapping[str, Sequence[int]] | None = None,
                    title: str = "") -> Figure:
    """Show a few images per named row (e.g. one row per corruption), each titled with its label."""
    names = list(rows)
    cols = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(names), cols, figsize=(1.3 * cols, 1.4 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(rows[name]):
                ax.axis("off")
                continue
            image = rows[name][c].detach().cpu().float()
            image = (image - image.min()) / (image.max() - image.min()).clamp_min(1e-8)
            ax.imshow(image.permute(1, 2, 0).squeeze(-1), cmap="gray" if image.shape[0] == 1 else None)
            if labels is not None:
                ax.set_title(f"y={int(labels[name][c])}", fontsize=8)
        axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
