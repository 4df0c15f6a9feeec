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


def test_one_dim_small_init_contracts_large_init_does_not(run_quick):
    workdir, metrics = run_quick(
        "mo2-one-dim",
        ["model.widths=(16, 64)", "model.large_init_width=64", "num_seeds=4",
         "data.num_starts=40", "num_steps=500"],
    )  # fmt: skip
    assert (workdir / "one_dim.png").is_file()
    small = {r["width"]: r for r in metrics["small_init"]}
    large = metrics["large_init"]
    assert small[64]["fitted_seeds"] >= 3 and large["fitted_seeds"] >= 3
    # Thm 2 at the two points: small init has slope < 1 on every fitted seed, and iterating
    # sends the starts onto them; large init is steeper on average.
    assert small[64]["seeds_contracting"] == small[64]["fitted_seeds"]
    assert small[64]["converged_mean"] > 0.8
    assert large["max_slope_mean"] > small[64]["max_slope_mean"] + 0.3


def test_swiss_roll_points_are_fixed_and_limits_add_up(run_quick):
    workdir, metrics = run_quick(
        "mo2-swiss-roll",
        ["model.widths=(32,)", "train.max_steps=3000", "train.learning_rate=0.001",
         "grid.resolution=10", "num_steps=300"],
    )  # fmt: skip
    assert (workdir / "basins.png").is_file()
    (width,) = metrics["widths"]
    seed = width["per_seed"][0]
    shares = [seed[k] for k in ("captured", "other_fixed_point", "cycle", "diverged",
                                "unresolved")]  # fmt: skip
    assert abs(sum(shares) - 1) < 1e-9
    # Fitted: every training point is a fixed point; its radius is near 1 (weak contraction).
    assert width["final_loss"][0] < 1e-6 and seed["residual_max"] < 1e-2
    assert 0.5 < seed["radius"]["median"] < 1.5
    assert seed["diverged"] == 0.0


def test_no_overfitting_construction_exact_and_trained_net_recovers_digits(run_quick):
    workdir, metrics = run_quick(
        "mo2-no-overfitting",
        ["construction.num_train=3", "construction.radii=(0.001,)", "data.num_train=10",
         "data.num_heldout=20", "model.hidden=(512, 512)", "train.max_steps=1000",
         "train.learning_rate=0.0003", "snapshot_every=500", "num_steps=300"],
    )  # fmt: skip
    assert (workdir / "trajectories.png").is_file()
    built = metrics["construction"]
    assert built["fit_error"] < 1e-12 and built["jacobian_error"] < 1e-12
    assert built["recovered"] == 3
    (row,) = built["rows"]
    assert row["max_other_squared_error"] <= row["bound"]
    trained = metrics["trained"]
    assert trained["train_error"] < 1e-2
    # The training digits attract, and held-out digits iterate onto them (measured: 50% of 20
    # starts within 300 steps, 5 of 10 digits reached, ρ < 1 at all 10, median 0.983).
    assert trained["attracting_share"] >= 0.9
    assert trained["captured"] >= 0.3 and trained["reached"] >= 3


def test_recovery_rises_with_depth(run_quick):
    workdir, metrics = run_quick(
        "mo2-recovery",
        ["model.widths=(128,)", "model.width_sweep_depth=1", "model.depth_sweep_width=128",
         "model.depths=(1, 3)", "num_seeds=2", "data.num_starts=40", "steps=(1, 30, 300)",
         "train.max_steps=1500", "train.learning_rate=0.0003"],
    )  # fmt: skip
    assert (workdir / "recovery.png").is_file()
    archs = {(r["width"], r["depth"]): r for r in metrics["architectures"]}
    shallow, deep = archs[(128, 1)], archs[(128, 3)]
    assert max(shallow["final_loss"] + deep["final_loss"]) < 1e-5
    # Starts that reach a digit stay on it, so P(t) does not fall; depth raises capture.
    for r in (shallow, deep):
        assert np.all(np.diff(r["probability_mean"]) >= -1e-9)
    assert deep["captured_mean"][-1] > shallow["captured_mean"][-1]


def test_mnist_trajectories_end_on_training_digits(run_quick):
    workdir, metrics = run_quick(
        "mo2-mnist",
        ["model.iterated=(256, 256)", "model.superattracting=(256, 256)",
         "train.max_steps=800", "train.learning_rate=0.0003", "data.num_heldout=20",
         "data.num_noise=10", "data.num_fashion=5", "num_steps=300", "krylov_dim=16"],
    )  # fmt: skip
    assert (workdir / "trajectories.png").is_file() and (workdir / "one_step.png").is_file()
    iterated = metrics["iterated"]
    # Fig 3a: the training digits attract and most starts of every kind end on one.
    assert iterated["radius"]["max"] < 1.0
    assert iterated["captured_mean"] > 0.5
    # Fig 3b (not reproduced on CPU-sized nets): one step is far from superattraction.
    assert metrics["one_step"]["radius"]["median"] > 0.5


def test_early_stopping_attractors_before_the_fit(run_quick):
    workdir, metrics = run_quick(
        "mo2-early-stopping",
        ["model.hidden=(256, 256)", "snapshots=(100, 600)", "data.num_heldout=20",
         "num_steps=200", "krylov_dim=16"],
    )  # fmt: skip
    assert (workdir / "renderings.png").is_file()
    early, late = metrics["snapshots"]
    # Early on the renderings are blends far from the digits, yet held-out digits end on them.
    assert early["loss"] > 10 * late["loss"]
    assert early["render_distance_median"] > 10 * late["render_distance_median"]
    assert early["distinct_renders"] <= late["distinct_renders"]
    assert early["captured"] > 0.5 and late["captured"] > 0.5


def test_conv_outputs_move_towards_training_images(run_quick):
    workdir, metrics = run_quick(
        "mo2-conv",
        ["model.filters=8", "train.max_steps=300", "train.learning_rate=0.001",
         "data.num_probes=6", "num_steps=10"],
    )  # fmt: skip
    assert (workdir / "iterates.png").is_file()
    gaussian = metrics["one_step"]["gaussian"]
    # Gaussian inputs correlate ~0 with any image; one pass pulls them towards the training
    # set (measured on the quick preset: median best |corr| 0.34) without reaching one image.
    assert gaussian["corr_median"] > 0.15
    for stage in ("one_step", "iterated"):
        for kind in ("gaussian", "squares", "natural"):
            assert 0.0 <= metrics[stage][kind]["match_share"] <= 1.0
