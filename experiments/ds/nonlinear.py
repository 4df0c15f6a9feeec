"""[DS] Fig 7–8: nonlinear downsampling (NLD) vs non-downsampling (NLND) autoencoders.

NLD_{a,b} / NLND_{a,b} are D_{a,b} / ND_{a,b} (``downsampling_layers``) with LeakyReLU (slope
0.01) after every convolution, PyTorch's default init, Adam 1e-4. Part 1 (Fig 7) trains both
on one CIFAR-10 plane; part 2 (Fig 8) trains NLD on one image per class. Every output for a
new input (Gaussian noise, white squares, unseen CIFAR images) is matched to the training image
it correlates with most (centred correlation) and to its own input. The paper: NLD outputs a
training image for every input (strong attractors), NLND approximates the identity.

The shipped sample (the first 20 CIFAR-10 test images) has no bird or deer, so part 2 uses
the 8 classes it has; with ``cifar_dir`` set to an extracted ``cifar-10-batches-py`` it uses the
first test image of each of the 10 classes, as the paper does. The convs after the ×8
upsampling are not in the text (``convs_after_up``); biases are off as in the linear nets
(``use_bias``; PyTorch's default would be on).

    memjax run ds-nonlinear                   # quick: 32 filters, 2000 steps, ~1.5 min on CPU
    memjax run ds-nonlinear --preset paper    # NLD_{128,128}, 20,000 steps

Measured (quick, 52 s; median |corr(output, nearest training image)| / |corr(output, input)|):
Fig 7, NLD_{32,32} (loss 1.7e-3): Gaussian 0.18 / 0.03, squares 0.32 / 0.72, CIFAR 0.31 /
0.52; NLND_{32,32} (loss 3.8e-4): 0.06 / 0.36, 0.23 / 0.93, 0.20 / 0.91. NLND approximates
the identity as the paper says, and NLD drops Gaussian inputs, but NLD does not output the
plane: squares come out as plane texture inside the square, CIFAR inputs as their own blurred
layout with plane colours. Fig 8, NLD_{32,32} on 8 images (loss 7.8e-3): 0.30 / 0.05, 0.57 /
0.86, 0.34 / 0.79, with no output above 0.9 to any training image (paper: every output is a
training image). What was tried, on one image: NLD_{128,128} for 10,000 steps (loss 6.9e-4;
Gaussian 0.22 / 0.02, squares 0.27 / 0.64, CIFAR 0.23 / 0.54, unchanged since step 100),
biases on, Adam 1e-3, and images scaled to [-1, 1]: none gave a point map. The U-Net of
``ds-unet`` does give one, so depth to 1×1, biases and the sigmoid output are suspects.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import ml_collections
import numpy as np

from memjax import plotting, probes, runs
from memjax.data import load_sample, read_cifar10_batches, to_float
from memjax.models import ConvAutoencoder, downsampling_layers
from memjax.train import TrainConfig, train

PAPER_FIGURE = "[DS] Fig 7-8: NLD_{128,128} outputs training images, NLND_{128,128} the input"
PLANE = 0  # CIFAR-10 label
SHIPPED_ONE_PER_CLASS = (3, 6, 0, 12, 4, 13, 1, 11)  # plane car cat dog frog horse ship truck


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.single_image = 3  # shipped CIFAR-10 test image 3, a plane (Fig 7)
    config.training_set = SHIPPED_ONE_PER_CLASS
    config.cifar_dir = ""  # a cifar-10-batches-py folder: one test image of each of 10 classes
    config.num_test_inputs = 8 if preset == "quick" else 32
    config.filters = 32 if preset == "quick" else 128  # a = b
    config.convs_after_up = 2
    config.use_bias = False
    config.kernel_init = "pytorch"
    config.train = runs.as_config(
        TrainConfig("adam", 1e-4, max_steps=2000 if preset == "quick" else 20000)
    )
    return config


def network(config, downsample: bool) -> ConvAutoencoder:
    """NLD_{a,a} (``downsample``) or NLND_{a,a} of [DS] §6 with ``a = config.filters``."""
    a = config.filters
    return ConvAutoencoder(
        downsampling_layers(a, a, convs_after_up=config.convs_after_up, downsample=downsample),
        activation="leaky_relu",
        activate_last=True,
        use_bias=config.use_bias,
        kernel_init=config.kernel_init,
    )


def fit(config, model, data):
    """Trains ``model`` on ``data`` as [DS] §6 does; returns params and the final loss."""
    params, history = train(
        jax.random.PRNGKey(config.seed),
        model,
        jnp.asarray(data),
        TrainConfig(**config.train.to_dict()),
    )
    return params, float(history.final_loss)


def match_all(model, params, training, tests) -> dict:
    """:func:`probes.match_outputs` for each kind of test input, with outputs kept."""
    results = {}
    for kind, inputs in tests.items():
        outputs = probes.apply_batch(model, params, inputs)
        results[kind] = {"outputs": outputs, **probes.match_outputs(outputs, inputs, training)}
    return results


def summarize(matches, n_training: int) -> dict:
    """The JSON part of :func:`match_all`: medians, and nearest-image counts per kind."""
    return {
        kind: {
            "median_corr_nearest_training_image": m["median_corr_nearest"],
            "median_corr_input": m["median_corr_input"],
            "fraction_corr_nearest_above_0.9": float(np.mean(m["corr_nearest"] > 0.9)),
            "nearest_counts": probes.nearest_counts(m["nearest"], n_training),
        }
        for kind, m in matches.items()
    }


def run(config: ml_collections.ConfigDict, workdir: Path) -> dict:
    workdir = Path(workdir)
    images, labels = load_sample("cifar10")
    single = to_float(images[config.single_image : config.single_image + 1])
    if labels[config.single_image] != PLANE:
        print(f"note: image {config.single_image} has label {labels[config.single_image]}")
    training, unseen = _training_set(config, images)
    key = jax.random.PRNGKey(config.seed + 1)
    metrics = {"fig7_single_image": {}, "paper": _PAPER}

    tests = probes.probe_inputs(
        key,
        config.num_test_inputs,
        single.shape[1:],
        to_float(np.delete(images, config.single_image, axis=0)),
    )
    for name, downsample in (("NLD", True), ("NLND", False)):
        model = network(config, downsample)
        params, loss = fit(config, model, single)
        matches = match_all(model, params, single, tests)
        metrics["fig7_single_image"][name] = {"final_loss": loss, **summarize(matches, 1)}
        plot_matches(
            matches,
            tests,
            single,
            workdir / f"fig7_{name}.png",
            f"{name}_{{{config.filters},{config.filters}}} trained on one image",
        )

    tests = probes.probe_inputs(key, config.num_test_inputs, single.shape[1:], unseen)
    model = network(config, True)
    params, loss = fit(config, model, training)
    runs.save_params(workdir / "params_nld_training_set.msgpack", params)
    matches = match_all(model, params, training, tests)
    metrics["fig8_training_set"] = {
        "n_training": len(training),
        "final_loss": loss,
        **summarize(matches, len(training)),
    }
    plot_matches(
        matches,
        tests,
        training,
        workdir / "fig8_NLD_outputs.png",
        f"NLD_{{{config.filters},{config.filters}}} trained on {len(training)} images",
    )
    _plot_counts(metrics["fig8_training_set"], training, workdir / "fig8_nearest_counts.png")
    _print(metrics)
    return metrics


_PAPER = {
    "fig7": "NLD_{128,128} outputs the training image for every input; NLND ≈ identity",
    "fig8": "NLD_{128,128} on 10 images outputs one of the training images for every input",
}


def _training_set(config, images):
    """Part 2's training images and the unseen images to test with."""
    if config.cifar_dir:
        test_images, test_labels = read_cifar10_batches(config.cifar_dir, ("test_batch",))
        first = [int(np.flatnonzero(test_labels == c)[0]) for c in range(10)]
        unseen = np.delete(test_images[:200], [i for i in first if i < 200], axis=0)
        return to_float(test_images[first]), to_float(unseen)
    indices = list(config.training_set)
    return to_float(images[indices]), to_float(np.delete(images, indices, axis=0))


def plot_matches(matches, tests, training, path, title):
    """Per kind of input: a row of inputs, their outputs, and (for several training images)
    the training image each output is nearest to; |corr| to it is printed in the label."""
    rows, labels = [], []
    for kind, m in matches.items():
        shown = slice(0, 8)
        corr = " ".join(f"{c:.2f}" for c in m["corr_nearest"][:4])
        rows += [list(tests[kind][shown]), list(m["outputs"][shown])]
        labels += [f"{kind} in", f"out\n|corr| {corr}…"]
        if len(training) > 1:
            rows.append(
                [training[i] if i >= 0 else np.zeros_like(training[0]) for i in m["nearest"][shown]]
            )
            labels.append("nearest\ntraining image")
    if len(training) == 1:
        rows.append([training[0]])
        labels.append("training image")
    plotting.image_grid(rows, labels, path, title=title)


def _plot_counts(fig8, training, path):
    """[DS] Fig 8 as a histogram: which training image each kind of input was sent to."""
    kinds = [k for k in fig8 if isinstance(fig8[k], dict)]
    n = len(training)
    fig, axes = plt.subplots(
        2, 1, figsize=(1.0 * n + 2, 4.2), gridspec_kw={"height_ratios": [1, 2]}
    )
    for i, image in enumerate(training):
        inset = axes[0].inset_axes([i / n, 0, 1 / n, 1])
        inset.imshow(plotting.to_display(image), interpolation="nearest")
        inset.set_xticks([]), inset.set_yticks([])
    axes[0].axis("off")
    width = 0.8 / len(kinds)
    for j, kind in enumerate(kinds):
        axes[1].bar(np.arange(n) + j * width, fig8[kind]["nearest_counts"], width, label=kind)
    axes[1].set_xticks(np.arange(n) + 0.4 - width / 2, [f"#{i}" for i in range(n)])
    axes[1].set_ylabel("outputs nearest to it")
    axes[1].legend(fontsize=8)
    fig.suptitle("Which training image each output is nearest to (centred correlation)")
    plotting.save(fig, path)


def _print(metrics):
    print(
        f"{'part':<6} {'net':<5} {'input':<9} {'|corr(out, nearest train)|':>27} "
        f"{'|corr(out, in)|':>16} {'> 0.9':>6}  nearest counts"
    )
    parts = [("fig7", n, m) for n, m in metrics["fig7_single_image"].items()]
    parts.append(("fig8", "NLD", metrics["fig8_training_set"]))
    for part, name, m in parts:
        print(f"{part:<6} {name:<5} final loss {m['final_loss']:.2e}")
        for kind, s in m.items():
            if isinstance(s, dict):
                print(
                    f"{'':<6} {'':<5} {kind:<9} {s['median_corr_nearest_training_image']:>27.3f} "
                    f"{s['median_corr_input']:>16.3f} "
                    f"{s['fraction_corr_nearest_above_0.9']:>6.2f}  {s['nearest_counts']}"
                )
