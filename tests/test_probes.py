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


def test_cifar_probes_leave_the_training_images_out_of_the_natural_inputs():
    training, tests = probes.cifar_probes(jax.random.PRNGKey(0), [3, 6], 30)
    assert training.shape == (2, 3, 32, 32) and training.dtype == np.float32
    assert tests["natural"].shape == (18, 3, 32, 32)  # 20 shipped images, 2 used for training
    flat = tests["natural"].reshape(18, -1)
    for image in training:
        assert np.abs(flat - image.reshape(1, -1)).max(axis=1).min() > 0


def test_summarize_counts_matches_and_compare_outputs_names_the_claim():
    rng = np.random.default_rng(1)
    training = rng.uniform(size=(2, 1, 8, 8))
    inputs = rng.normal(size=(4, 1, 8, 8))
    outputs = training[[0, 1, 1, 1]] + 0.01 * rng.normal(size=(4, 1, 8, 8))
    matches = {"gaussian": {"outputs": outputs, **probes.match_outputs(outputs, inputs, training)}}
    summary = probes.summarize(matches, 2)["gaussian"]
    assert summary["nearest_counts"] == [1, 3]
    assert summary["fraction_corr_nearest_above_0.9"] == 1.0
    assert summary["median_corr_nearest_training_image"] > 0.99 > 0.5 > summary["median_corr_input"]

    class Recorder:
        calls = []

        def compare(self, label, ours, paper, **kwargs):
            self.calls.append((label, ours, paper, kwargs["kind"], kwargs["fits"]))

    run = Recorder()
    probes.compare_outputs(run, "net", {"gaussian": summary}, "input")
    ((label, ours, paper, kind, fits),) = run.calls
    assert label == "net: median |corr(out, input)|, gaussian"
    assert (ours, paper, kind, fits) == (summary["median_corr_input"], probes.MATCH_CORR, "above",
                                         ["net"])  # fmt: skip
    rows = probes.summary_rows("net", {"final_loss": 1e-3, "gaussian": summary})
    assert len(rows) == 1 and rows[0]["loss"] == 1e-3 and rows[0]["input"] == "gaussian"


def test_cosine_matches_reads_one_image_not_a_combination_and_counts_collapse():
    training = np.array([[1.0, 0.0], [0.0, 1.0]])
    outputs = np.array([[2.0, 0.0], [0.0, -3.0], [1.0, 1.0], [0.0, 0.0]])
    m = probes.cosine_matches(outputs, training, threshold=0.9)
    np.testing.assert_array_equal(m["index"], [0, 1, 0, -1])
    assert m["share_matching_one_training_image"] == 2 / 3  # the combination is not one image
    assert m["median_abs_cos_nearest"] == 1.0
    assert m["median_abs_cos_others"] == 0.0
    assert m["share_collapsed_to_zero"] == 0.25
    np.testing.assert_array_equal(m["nearest_counts"], [2, 1])
    none = probes.cosine_matches(np.zeros((2, 2)), training, threshold=0.9)
    assert none["median_abs_cos_nearest"] is None and none["share_matching_one_training_image"] == 0
