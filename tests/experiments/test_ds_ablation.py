"""ds-ablation quick preset, shrunk: zero vs circular padding of a small linear D."""

import numpy as np
from memjax_experiments.ds.ablation import cells, get_config


def test_cells_vary_one_factor_at_a_time():
    config = get_config("paper")
    grid = cells(config)
    base = grid[0]
    assert (
        base["name"] == "base" and base["padding"] == "zeros" and base["optimizer"] == "adam:0.0001"
    )
    for cell in grid[1 : 1 + sum(len(v) for v in config.factors.values())]:
        changed = [k for k in base if k != "name" and cell[k] != base[k]]
        assert len(changed) == 1, cell
    assert grid[-1]["padding"] == "circular" and grid[-1]["activation"] == "leaky_relu"


def test_ds_ablation_quick_circular_padding_commutes_with_8_pixel_shifts(run_quick):
    overrides = [
        "model.a=8", "model.b=8", "base.steps=60", "top_k=6", "extra_cells=()",
        "factors.padding=('circular',)", "factors.steps=()", "commutator_probes=2",
    ]  # fmt: skip
    workdir, metrics = run_quick("ds-ablation", overrides)
    base, circular = metrics["cells"]
    assert (base["cell"], circular["cell"]) == ("base", "padding=circular")
    # exact symmetry with circular padding; the zero-padded border breaks it on 32×32
    assert circular["commutator"] < 1e-5 < 0.1 < base["commutator"]
    assert base["orbit_dimension"] == circular["orbit_dimension"] == 16  # (32/8)² shifts
    assert len(circular["top_abs_eigenvalues"]) == 6
    assert np.all(
        np.asarray(circular["distance_to_orbit"]) <= np.asarray(circular["distance_to_span"]) + 1e-9
    )  # the orbit span contains span(X)
    assert circular["median_shift_covariance"] > 0.99  # eigenvectors: Fourier modes of the shifts
    figures = {"spectra.png", "multiplicity.png", "eigenvectors_base.png"}
    assert figures | {"eigenvectors_padding_circular.png"} <= {p.name for p in workdir.iterdir()}
