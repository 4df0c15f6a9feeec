"""[INV] experiments: quick presets shrunk by overrides, asserting the direction of each result."""

import numpy as np


def test_inv_fig2(run_quick):
    workdir, metrics = run_quick(
        "inv-fig2",
        ["draws=300", "readings=('stated', 'swapped_bank')", "iht_draws=30", "iht_passes=10"],
    )
    stated = metrics["stated"]
    assert abs(stated["code"]["median"] - 1) < 0.02  # Fig 2(a): model-RIP ratio near 1
    assert abs(stated["gram_sparsified"]["median"] - 1) < 0.1  # Fig 2(b) with M
    assert stated["gram"]["median"] > 1.7  # the literal WWᵀz does not keep the norm
    assert 0.25 <= stated["error"]["median"] <= 0.35  # Fig 2(c): paper's 0.1–0.2 not reached
    swapped = metrics["readings"]["swapped_bank"]["error"]["median"]
    assert 0.1 <= swapped <= 0.2  # the reading that lands in the paper's band
    iht = metrics["iht"]["median"]
    assert iht[0] > 0.25 and iht[9] < 0.01 and np.all(np.diff(iht) <= 0)
    for figure in ("fig2", "readings", "iht_passes"):
        assert (workdir / f"{figure}.png").is_file()
