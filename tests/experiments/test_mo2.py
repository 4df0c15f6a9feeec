"""Quick presets of the [MO2] experiments, shrunk, with the direction of each result."""

import numpy as np


def test_width_theorem_jacobian_tends_to_projection(run_quick):
    workdir, metrics = run_quick("mo2-width-theorem", ["widths=(100, 1000)"])
    assert (workdir / "width_theorem.png").is_file()
    rows = metrics["rows"]
    # Homogeneity: the radial eigenvalue is exactly 1 at every width, so Thm 3's "< 1" fails.
    assert max(r["max |rho-1|"] for r in rows) < 1e-8
    distance = metrics["distance_median_by_width"]
    assert distance["1000"] < 0.5 * distance["100"]
    wide = [r["non-radial |λ| max"] for r in rows if r["case"] != "single" and r["width"] == 1000]
    assert max(wide) < 1.0
    statuses = {c["label"]: c["status"] for c in metrics["comparisons"]}
    assert statuses["Thm 3 as stated: top |λ| < 1"] == "not reproduced"
    assert np.isclose(distance["1000"], 0.64, atol=0.1)
