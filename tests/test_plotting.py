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


def _capture_figures(monkeypatch) -> list:
    """Replaces ``plotting.save`` (which every plot ends with) by a recorder of the figure."""
    figures = []
    monkeypatch.setattr(plotting, "save", lambda fig, path, title=None: figures.append(fig))
    return figures


def test_truncation_plot_draws_each_spectrum_with_its_marks(tmp_path, monkeypatch):
    figures = _capture_figures(monkeypatch)
    spectra = {"n = 2": np.array([1.0, 0.5, 0.0]), "n = 1": np.array([0.9, 1e-3])}
    errors = {"n = 2": {2: 0.01, 1: 0.1}, "n = 1": {1: 0.2}}
    full, marks = {"n = 2": 0.01, "n = 1": 0.2}, {"n = 2": 2, "n = 1": 1}
    plotting.truncation_plot(spectra, errors, full, marks, tmp_path / "t.png", threshold=0.5)
    ax_spec, ax_err = figures[0].axes
    curves = [line for line in ax_spec.lines if line.get_label() in spectra]
    np.testing.assert_array_equal(curves[0].get_ydata(), [1.0, 0.5, 1e-12])  # 0 at the floor
    marks = [line for line in ax_spec.lines if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in marks] == [2, 1]
    assert [m.get_color() for m in marks] == [c.get_color() for c in curves]  # one colour each
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in ax_spec.lines)  # the threshold
    errors_drawn = [line for line in ax_err.lines if line.get_linestyle() == "-"]
    assert [list(line.get_xdata()) for line in errors_drawn] == [[1, 2], [1]]  # k in order
    assert [list(line.get_ydata()) for line in errors_drawn] == [[0.1, 0.01], [0.2]]
    assert ax_spec.get_yscale() == "log" and ax_err.get_xscale() == "log"


def test_sweep_plot_marks_the_medians_the_paper_and_skips_empty_cells(tmp_path, monkeypatch):
    figures = _capture_figures(monkeypatch)
    plotting.sweep_plot({"a": {1: [0.1, 0.3], 2: [], 3: [0.2]}}, tmp_path / "w.png", "x", "y",
                        paper={"a": {1: 0.5}}, vlines={"v": 1.5}, log=True)  # fmt: skip
    (ax,) = figures[0].axes
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines["a: ours"].get_xdata()) == [1, 3]  # the cell without values is left out
    np.testing.assert_allclose(lines["a: ours"].get_ydata(), [0.2, 0.2])  # medians
    assert list(lines["v"].get_xdata()) == [1.5, 1.5] and ax.get_yscale() == "log"
    assert [list(line.get_ydata()) for line in ax.lines if line.get_linestyle() == "--"] == [[0.5]]


def test_the_title_clears_the_column_labels_of_a_tall_grid(tmp_path, monkeypatch):
    kept = []
    monkeypatch.setattr(plotting.plt, "close", kept.append)  # keep the figure to measure it
    rows = [[np.zeros((1, 4, 4))] * 14] * 14  # as ic-cnn-training's predictions
    plotting.image_grid(rows, [f"r{i}" for i in range(14)], tmp_path / "g.png",
                        [f"column {j}" for j in range(14)], title="a title")  # fmt: skip
    fig = kept[0]
    renderer = fig.canvas.get_renderer()
    title_bottom = fig._suptitle.get_window_extent(renderer).y0
    assert max(ax.get_tightbbox(renderer).y1 for ax in fig.axes) < title_bottom
    _png(tmp_path / "g.png")


def test_truncation_plot_needs_a_mark_per_spectrum(tmp_path):
    with pytest.raises(KeyError):
        plotting.truncation_plot({"a": np.ones(2)}, {"a": {1: 0.1}}, {"a": 0.1}, {},
                                 tmp_path / "t.png")  # fmt: skip
