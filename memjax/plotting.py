"""Figures: image grids, eigenvalue spectra, eigenvector images, sweeps (matplotlib, Agg backend).

Importing this module selects the Agg backend outside notebooks, so modules that draw with
``matplotlib.pyplot`` import ``plt`` from here."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # scripts write files; a notebook keeps its inline backend
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path: Path, title: str | None = None) -> None:
    """Lays out, writes (PNG at 110 dpi) and closes a figure; ``title`` goes over all panels."""
    suptitle = fig.suptitle(title, fontsize=10) if title else None
    fig.tight_layout()
    if suptitle is not None:
        _lower_below(fig, suptitle)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lower_below(fig, suptitle) -> None:
    """Moves the panels down until their tops (titles included) clear ``suptitle``:
    tight_layout leaves it over the top row's titles of tall image grids (ic-cnn-training's
    14 rows). Constrained layout would not, but it cannot take over a figure whose colorbars
    already exist."""
    renderer = fig.canvas.get_renderer()
    panels_top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes if ax.get_visible())
    overlap = panels_top - suptitle.get_window_extent(renderer).y0 + 4  # pixels, with a gap
    if overlap > 0:
        fig.subplots_adjust(top=fig.subplotpars.top - overlap / fig.bbox.height)


def finish(
    fig,
    ax,
    path: Path,
    xlabel: str | None,
    ylabel: str | None,
    title: str | None = None,
    log: bool = False,
    legend: bool = True,
    grid: str = "both",
) -> None:
    """The end every line and point plot here shares: axis labels, a log ``y`` axis if
    ``log``, a light ``grid`` (``"both"``, ``"x"`` or ``"y"``), a small legend, the title, then
    :func:`save`."""
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3, axis=grid)
    if legend:
        ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    save(fig, path)


def to_display(image) -> np.ndarray:
    """A ``(C, H, W)`` image as ``(H, W)`` or ``(H, W, 3)`` scaled to [0, 1] for imshow.

    Each image is min–max scaled on its own: outputs of linear nets have arbitrary scale and
    sign ([DS] shows them the same way), so a grid compares patterns, not intensities.
    """
    image = np.asarray(image, np.float64)
    if image.ndim == 3:
        image = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    low, high = image.min(), image.max()
    if high > low:
        return (image - low) / (high - low)
    return np.clip(image, 0.0, 1.0)  # a constant image keeps its own value (white stays white)


def image_grid(
    rows: Sequence[Sequence],
    row_labels: Sequence[str],
    path: Path,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    cell: float = 1.3,
) -> None:
    """Saves a grid of images: one row per entry of ``rows`` (lists of ``(C, H, W)`` images)."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(cell * n_cols + 1.2, cell * n_rows + 0.4), squeeze=False
    )
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(row):
                shown = to_display(row[j])
                ax.imshow(
                    shown,
                    cmap="gray" if shown.ndim == 2 else None,
                    vmin=0,
                    vmax=1,
                    interpolation="nearest",
                )
            else:
                ax.axis("off")
            if i == 0 and col_labels is not None and j < len(col_labels):
                ax.set_title(col_labels[j], fontsize=8)
        axes[i, 0].set_ylabel(row_labels[i], fontsize=8, rotation=0, ha="right", va="center")
    save(fig, path, title)


def spectrum_plot(
    magnitudes: dict[str, np.ndarray],
    path: Path,
    threshold: float | None = None,
    title: str | None = None,
    max_index: int | None = None,
    floor: float = 1e-12,
) -> None:
    """Eigenvalue magnitudes (sorted) against their index, one line per labelled spectrum.

    Magnitudes below ``floor`` are drawn at ``floor``: exact zeros have no place on a log axis.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, values in magnitudes.items():
        values = np.sort(np.abs(np.asarray(values)))[::-1][:max_index]
        values = np.maximum(values, floor)
        ax.plot(np.arange(1, values.size + 1), values, marker="o", ms=3, label=label)
    if threshold is not None:
        ax.axhline(threshold, color="gray", ls="--", lw=0.8, label=f"rank threshold {threshold}")
    ax.xaxis.get_major_locator().set_params(integer=True)
    finish(fig, ax, path, "eigenvalue index (by magnitude)", "|λ|", title, log=True)


def strip_plot(
    values: dict[str, np.ndarray],
    path: Path,
    ylabel: str,
    title: str | None = None,
    log: bool = True,
) -> None:
    """One column of points per label (e.g. a metric per seed for each initialization)."""
    fig, ax = plt.subplots(figsize=(1.3 * len(values) + 2.5, 3.6))
    for i, points in enumerate(values.values()):
        points = np.asarray(points, np.float64)
        jitter = np.linspace(-0.15, 0.15, points.size) if points.size > 1 else np.zeros(1)
        ax.scatter(i + jitter, points, s=14, alpha=0.7, color=f"C{i}")
        ax.hlines(np.median(points), i - 0.3, i + 0.3, color="k", lw=1.5)
    ax.set_xticks(range(len(values)), list(values), rotation=20, fontsize=8)
    finish(fig, ax, path, None, ylabel, title, log=log, legend=False, grid="y")


def eigenvector_grid(
    examples, values, vectors, path: Path, title: str | None = None, k: int = 16
) -> None:
    """The training examples above the real and imaginary parts of the top ``k`` eigenvectors
    ([DS] Fig 6, 9), each column labelled with its ``|λ|``.

    Args:
      examples: ``(n, C, H, W)`` training images.
      values: ``(m,)`` eigenvalues sorted by decreasing ``|λ|``; vectors: ``(d, m)``.
    """
    k = min(k, len(values))
    top = np.asarray(vectors)[:, :k].T.reshape(k, *np.shape(examples)[1:])
    image_grid(
        [list(examples), list(top.real), list(top.imag)],
        ["training images", "eigvec re", "eigvec im"],
        path,
        col_labels=[f"|λ|={abs(v):.3f}" for v in values[:k]],
        title=title,
    )


def sweep_plot(
    values: dict[str, dict[float, Sequence[float]]],
    path: Path,
    xlabel: str,
    ylabel: str,
    paper: dict[str, dict[float, float]] | None = None,
    vlines: dict[str, float] | None = None,
    title: str | None = None,
    log: bool = False,
) -> None:
    """A measured number against a swept setting (depth, init scale, ...), one colour a label.

    Args:
      values: ``{label: {x: per-seed values}}``; the points are drawn and a line joins their
        medians (an ``x`` without values, e.g. no seed fitted, is left out).
      paper: ``{label: {x: value or None}}``, drawn dashed in the label's colour (a bound that
        does not depend on ``x`` is a constant mapping).
      vlines: ``{label: x}`` vertical reference lines (e.g. a depth from the theory).
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for i, (label, by_x) in enumerate(values.items()):
        measured = {x: np.asarray(v, np.float64) for x, v in by_x.items() if len(v)}
        for x, points in measured.items():
            ax.scatter([x] * points.size, points, color=f"C{i}", s=12, alpha=0.5)
        if measured:
            medians = [np.median(p) for p in measured.values()]
            ax.plot(list(measured), medians, color=f"C{i}", marker="o", label=f"{label}: ours")
        known = sorted(x for x, v in (paper or {}).get(label, {}).items() if v is not None)
        if known:
            ax.plot(known, [paper[label][x] for x in known], color=f"C{i}", ls="--", marker="x",
                    label=f"{label}: paper")  # fmt: skip
    for j, (label, x) in enumerate((vlines or {}).items()):
        ax.axvline(x, color=f"C{len(values) + j}", ls=":", label=label)
    ax.set_xticks(sorted({x for by_x in values.values() for x in by_x}))
    finish(fig, ax, path, xlabel, ylabel, title, log=log)


def eigenvector_pairs(
    eigenvectors: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str | None = None
) -> None:
    """One row per label: the real and imaginary parts of its eigenvectors side by side, as
    [DS] Fig 6 shows them (an all-black imaginary part is 0: a real eigenvector).

    Args:
      eigenvectors: ``{label: (real, imag)}``, each ``(k, C, H, W)`` as from
        :func:`memjax.spectral.eigenvector_images`.
    """
    rows = [[part for pair in zip(re, im, strict=True) for part in pair]
            for re, im in eigenvectors.values()]  # fmt: skip
    columns = [f"v{i // 2 + 1} {('re', 'im')[i % 2]}" for i in range(max(map(len, rows)))]
    image_grid(rows, list(eigenvectors), path, col_labels=columns, title=title)


def snapshot_grid(
    inputs,
    outputs: dict[int, np.ndarray],
    training,
    path: Path,
    title: str | None = None,
    input_label: str = "inputs",
) -> None:
    """Outputs for the same inputs at several steps of training, above the training images:
    a row of ``inputs``, a row ``step t →`` per entry of ``outputs`` (``{step: images}``),
    and a row of ``training`` images."""
    rows = [list(inputs), *(list(out) for out in outputs.values()), list(training)]
    labels = [input_label, *(f"step {step} →" for step in outputs)]
    labels.append("training image" if len(training) == 1 else "training images")
    image_grid(rows, labels, path, title=title)


def truncation_plot(
    spectra: dict[str, np.ndarray],
    errors: dict[str, dict[int, float]],
    full: dict[str, float],
    marks: dict[str, int],
    path: Path,
    threshold: float | None = None,
    error_label: str = "training MSE",
) -> None:
    """A low-rank reading of trained operators ([DS] App D, Table 1): left, each label's |λ|
    against the index with a dotted line at its ``marks`` (e.g. the number of training
    images); right, the error after keeping the top ``k`` singular components
    (``errors[label][k]``) against ``k``, dashed at the error with all components
    (``full[label]``). One colour per label on both panels."""
    fig, (ax_spec, ax_err) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, mags in spectra.items():
        (line,) = ax_spec.semilogy(np.arange(1, len(mags) + 1), np.maximum(mags, 1e-12), ".-",
                                   label=label)  # fmt: skip
        colour = line.get_color()
        ax_spec.axvline(marks[label], color=colour, ls=":", lw=1)
        ks = sorted(errors[label])
        ax_err.loglog(ks, [errors[label][k] for k in ks], "o-", color=colour, label=label)
        ax_err.axhline(full[label], color=colour, ls="--", lw=1)
    if threshold is not None:
        ax_spec.axhline(threshold, color="gray", lw=0.8)
    ax_spec.set(xlabel="index (dotted: n)", ylabel="|λ|", title="operator spectrum")
    ax_err.set(xlabel="k (top singular components kept)", ylabel=error_label,
               title="SVD truncation (dashed: all components)")  # fmt: skip
    ax_spec.legend(fontsize=8)
    ax_err.legend(fontsize=8)
    save(fig, path)
