"""[IC]'s figure types: depth × ρ heatmaps (Figs 4, 14, 33–35) and per-layer curves (Figs 5,
19). Drawn with matplotlib and finished by :mod:`memjax.plotting`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from memjax.plotting import finish, plt, save


def score_heatmaps(
    panels: Mapping[str, np.ndarray],
    row_labels: Mapping[str, Sequence[str]] | Sequence[str],
    rhos: Sequence[float],
    path: Path,
    title: str | None = None,
    columns: int = 2,
) -> None:
    """One heatmap per panel (e.g. ``"ReLU: corr to constant"``), ``columns`` panels a row;
    rows = networks (depths), columns = the test inputs' correlation ρ to the training image,
    each cell annotated. ``row_labels`` is one list for all panels or one per panel.
    Correlation panels share the colour range [0, 1]; MSE panels (name containing "MSE")
    use their own range."""
    if not isinstance(row_labels, Mapping):
        row_labels = dict.fromkeys(panels, row_labels)
    n_rows = -(-len(panels) // columns)
    tallest = max(len(labels) for labels in row_labels.values())
    size = (columns * (0.5 * len(rhos) + 2.0), n_rows * (0.3 * tallest + 1.4))
    fig, axes = plt.subplots(n_rows, columns, figsize=size, squeeze=False)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    for ax, (name, grid) in zip(axes.ravel(), panels.items(), strict=False):
        grid = np.asarray(grid, np.float64)
        limits = (None, None) if "MSE" in name else (0.0, 1.0)
        image = ax.imshow(grid, cmap="viridis", vmin=limits[0], vmax=limits[1], aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="w")
        ax.set_xticks(range(len(rhos)), [f"{r:.2g}" for r in rhos], fontsize=7)
        ax.set_yticks(range(len(row_labels[name])), row_labels[name], fontsize=7)
        ax.set_xlabel("ρ = corr(test input, training image)", fontsize=8)
        ax.set_title(name, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    save(fig, path, title)


def layer_curves(
    curves: Mapping[str, np.ndarray],
    path: Path,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    first_index: int = 0,
    highlight: str | None = None,
) -> None:
    """One line per labelled curve against the layer index (``first_index`` for entry 0);
    ``highlight`` draws that curve thick and red (Fig 5's untrained net)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, values in curves.items():
        values = np.asarray(values, np.float64)
        style = {"color": "red", "lw": 3} if label == highlight else {"marker": "o", "ms": 3}
        ax.plot(np.arange(values.size) + first_index, values, label=label, **style)
    finish(fig, ax, path, xlabel, ylabel, title)
