import jax
import numpy as np

from memjax import probes


def test_probe_inputs_have_the_shape_and_kinds_asked_for():
    natural = np.random.default_rng(0).uniform(size=(3, 3, 16, 16))
    inputs = probes.probe_inputs(jax.random.PRNGKey(0), 5, (3, 16, 16), natural)
    assert {k: v.shape for k, v in inputs.items()} == {
        "gaussian": (5, 3, 16, 16),
        "squares": (5, 3, 16, 16),
        "natural": (3, 3, 16, 16),
    }
    assert "natural" not in probes.probe_inputs(jax.random.PRNGKey(0), 2, (1, 8, 8))


def test_match_outputs_tells_a_point_map_from_the_identity():
    rng = np.random.default_rng(0)
    training = rng.uniform(size=(2, 1, 8, 8))
    inputs = rng.normal(size=(6, 1, 8, 8))
    point_map = training[[0, 1, 1, 0, 1, 1]] * 3.0 + 0.5  # scaled, brightened training images
    m = probes.match_outputs(point_map, inputs, training)
    assert m["nearest"].tolist() == [0, 1, 1, 0, 1, 1]
    np.testing.assert_allclose(m["corr_nearest"], 1.0, atol=1e-12)
    assert m["median_corr_input"] < 0.5
    identity = probes.match_outputs(inputs, inputs, training)
    np.testing.assert_allclose(identity["corr_input"], 1.0, atol=1e-12)
    assert identity["median_corr_nearest"] < 0.6
    assert probes.nearest_counts(m["nearest"], 3) == [2, 4, 0]
