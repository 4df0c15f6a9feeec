"""The figure helpers write readable PNGs and lay out what they are given."""

import matplotlib.image
import numpy as np
import pytest

from memjax import plotting
from memjax.identity import plots as ic_plots


def _png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    return image


def _capture_grid(monkeypatch) -> dict:
    """Replaces ``plotting.image_grid`` by a recorder of its arguments."""
    seen = {}

    def record(rows, labels, path, **options):
        seen.update(rows=rows, labels=labels, **options)

    monkeypatch.setattr(plotting, "image_grid", record)
    return seen


def test_finish_labels_scales_and_saves(tmp_path):
    fig, ax = plotting.plt.subplots()
    ax.plot([1, 2, 3], [1e-3, 1e-1, 1.0], label="line")
    path = tmp_path / "f.png"
    plotting.finish(fig, ax, path, "x", "y", "title", log=True, grid="y")
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y" and ax.get_title() == "title"
    assert ax.get_yscale() == "log"
    assert ax.get_legend() is not None
    assert not plotting.plt.fignum_exists(fig.number)  # closed after saving
    _png(path)


def test_eigenvector_pairs_interleave_real_and_imaginary_parts(tmp_path, monkeypatch):
    real, imag = np.ones((2, 1, 2, 2)), np.zeros((2, 1, 2, 2))
    seen = _capture_grid(monkeypatch)
    plotting.eigenvector_pairs({"set a": (real, imag)}, tmp_path / "e.png", title="t")
    assert seen["labels"] == ["set a"]
    assert [float(image.mean()) for image in seen["rows"][0]] == [1.0, 0.0, 1.0, 0.0]
    assert seen["col_labels"] == ["v1 re", "v1 im", "v2 re", "v2 im"]


def test_snapshot_grid_has_a_row_per_step(tmp_path, monkeypatch):
    seen = _capture_grid(monkeypatch)
    images = np.zeros((3, 1, 4, 4))
    plotting.snapshot_grid(images, {10: images, 100: images}, images[:1], tmp_path / "s.png")
    assert seen["labels"] == ["inputs", "step 10 →", "step 100 →", "training image"]
    assert [len(row) for row in seen["rows"]] == [3, 3, 3, 1]


def test_truncation_plot_and_the_plots_sharing_finish_write_pngs(tmp_path):
    mags = np.array([1.0, 0.5, 0.0])  # an exact 0 is drawn at the floor of the log axis
    plotting.truncation_plot({"n = 2": mags}, {"n = 2": {1: 0.1, 2: 0.01}}, {"n = 2": 0.01},
                             {"n = 2": 2}, tmp_path / "t.png", threshold=0.5)  # fmt: skip
    plotting.spectrum_plot({"a": mags}, tmp_path / "s.png", threshold=0.5, title="s")
    plotting.strip_plot({"a": [0.1, 0.2], "b": [1.0]}, tmp_path / "p.png", "y")
    plotting.sweep_plot({"a": {1: [0.1, 0.2], 2: []}}, tmp_path / "w.png", "x", "y",
                        paper={"a": {1: 0.3}}, vlines={"v": 1.5}, log=True)  # fmt: skip
    ic_plots.layer_curves({"a": [1, 2, 3], "b": [3, 2, 1]}, tmp_path / "l.png", "layer", "y",
                          highlight="b")  # fmt: skip
    for name in ("t", "s", "p", "w", "l"):
        _png(tmp_path / f"{name}.png")


def test_truncation_plot_needs_a_mark_per_spectrum(tmp_path):
    with pytest.raises(KeyError):
        plotting.truncation_plot({"a": np.ones(2)}, {"a": {1: 0.1}}, {"a": 0.1}, {},
                                 tmp_path / "t.png")  # fmt: skip
