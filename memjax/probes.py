"""Probing a trained autoencoder with new inputs: does the output follow the input or the
training set?

[DS] and [MO1] test memorization by feeding inputs the network never saw (Gaussian noise,
white squares, unseen natural images) and asking whether the output looks like the input
(identity-like map) or like a training image (point map / attractor). Everything here
compares by centred correlation, since all-positive natural images have raw cosines near 0.8
with anything.

The [DS] experiments share one pipeline on top: :func:`cifar_probes` (training images from the
shipped sample, probe inputs from the rest), :func:`train_and_probe` (train through the runner,
:func:`match_all`, :func:`summarize`, :func:`compare_outputs` against the paper's claim, and
:func:`plot_matches`), :func:`summary_rows` for printed tables and :func:`plot_nearest_counts`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from memjax import plotting, spectral
from memjax.data.readers import to_float
from memjax.data.sample import load_sample
from memjax.data.synthetic import gaussian_images, white_squares
from memjax.plotting import plt


def probe_inputs(key, n: int, shape, natural=None) -> dict[str, np.ndarray]:
    """The test inputs of [DS] Fig 1–3, 7–8: ``n`` each of Gaussian noise and white squares
    (sides between 1/8 and 1/2 of the image), plus up to ``n`` unseen ``natural`` images."""
    key_gauss, key_squares = jax.random.split(key)
    side = shape[-1]
    inputs = {
        "gaussian": np.asarray(gaussian_images(key_gauss, n, shape)),
        "squares": np.asarray(white_squares(key_squares, n, shape, max(1, side // 8), side // 2)),
    }
    if natural is not None and len(natural):
        inputs["natural"] = np.asarray(natural[:n], np.float32)
    return inputs


def apply_batch(model, params, inputs) -> np.ndarray:
    """The model on each of ``inputs`` (one jitted, vmapped call)."""
    return np.asarray(_batched(model)(params, jnp.asarray(inputs)))


@functools.lru_cache(maxsize=32)
def _batched(model):  # one compiled program per model, reused across snapshots
    return jax.jit(jax.vmap(model.apply, in_axes=(None, 0)))


def match_outputs(outputs, inputs, training) -> dict:
    """How each output relates to its input and to the nearest training image.

    Returns per-output arrays ``nearest`` (index of the training image with the largest
    |centred correlation|, -1 for a constant output), ``corr_nearest`` (that |correlation|),
    ``corr_input`` (|corr(output, input)|), and their medians.
    """
    nearest, corr = spectral.nearest_example(outputs, training, centred=True)
    corr_nearest = corr.max(axis=1)
    corr_input = np.abs(np.nan_to_num(spectral.centred_correlation(outputs, inputs)))
    return {
        "nearest": nearest,
        "corr_nearest": corr_nearest,
        "corr_input": corr_input,
        "median_corr_nearest": float(np.median(corr_nearest)),
        "median_corr_input": float(np.median(corr_input)),
    }


def cosine_matches(outputs, training, threshold: float) -> dict:
    """[MO1] Fig 4–5's reading of outputs for noise: is each output one training image (|cos|
    to the nearest above ``threshold``) and not a combination (|cos| to the others small)?

    Raw cosines, as [MO1]'s images are not all-positive. Returns ``index`` (nearest training
    image per output, -1 for an output that collapsed to 0), the share of outputs above
    ``threshold``, the medians of |cos| to the nearest and (mean over) the other training
    images, the share collapsed to 0, and how many outputs are nearest to each image; medians
    are None when every output collapsed.
    """
    index, cos = spectral.nearest_example(outputs, training)
    live = index >= 0
    nearest = cos[live, index[live]]
    other = (cos[live].sum(axis=1) - nearest) / max(len(training) - 1, 1)
    return {
        "index": index,
        "share_matching_one_training_image": float(np.mean(nearest > threshold)) if live.any()
        else 0.0,
        "median_abs_cos_nearest": float(np.median(nearest)) if live.any() else None,
        "median_abs_cos_others": float(np.median(other)) if live.any() and len(training) > 1
        else None,
        "share_collapsed_to_zero": float(np.mean(~live)),
        "nearest_counts": nearest_counts(index[live], len(training)),
    }  # fmt: skip


def nearest_counts(nearest, n_training: int) -> list[int]:
    """How many outputs fell nearest to each training image (a histogram, as [DS] Fig 8)."""
    nearest = np.asarray(nearest)
    return [int(np.sum(nearest == i)) for i in range(n_training)]


# ---------------------------------------------------------------------------------------------
# The probe pipeline of the [DS] experiments: train on shipped CIFAR-10 images, probe, compare.

# |centred correlation| at which an output counts as that image. [DS] shows pictures only, so
# the bound is ours: a point map's output "is" the training image, an identity-like map's
# output "is" its input.
MATCH_CORR = 0.9


def cifar_probes(key, indices, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Shipped CIFAR-10 images ``indices`` as float training images ``(k, 3, 32, 32)``, and the
    probe inputs of :func:`probe_inputs` whose natural images are the shipped others."""
    images, _ = load_sample("cifar10")
    indices = list(indices)
    training = to_float(images[indices])
    unseen = to_float(np.delete(images, indices, axis=0))
    return training, probe_inputs(key, n, training.shape[1:], unseen)


def match_all(model, params, training, tests: dict) -> dict[str, dict]:
    """:func:`match_outputs` for each kind of probe input, with the outputs kept."""
    results = {}
    for kind, inputs in tests.items():
        outputs = apply_batch(model, params, inputs)
        results[kind] = {"outputs": outputs, **match_outputs(outputs, inputs, training)}
    return results


def summarize(matches: dict, n_training: int) -> dict[str, dict]:
    """The JSON part of :func:`match_all` per kind: medians, the share of outputs matching a
    training image (``MATCH_CORR``) and how many outputs are nearest to each training image."""
    return {
        kind: {
            "median_corr_nearest_training_image": m["median_corr_nearest"],
            "median_corr_input": m["median_corr_input"],
            "fraction_corr_nearest_above_0.9": float(np.mean(m["corr_nearest"] > MATCH_CORR)),
            "nearest_counts": nearest_counts(m["nearest"], n_training),
        }
        for kind, m in matches.items()
    }


def summary_rows(name: str, summary: dict) -> list[dict]:
    """Rows of a printed table (``Run.table``) for one model's :func:`summarize` (or the
    result of :func:`train_and_probe`, whose final loss gets a column)."""
    return [
        {"model": name, "loss": summary.get("final_loss"), "input": kind,
         "|corr(out, nearest train)|": s["median_corr_nearest_training_image"],
         "|corr(out, in)|": s["median_corr_input"],
         "> 0.9": s["fraction_corr_nearest_above_0.9"], "nearest counts": s["nearest_counts"]}
        for kind, s in summary.items() if isinstance(s, dict)
    ]  # fmt: skip


def compare_outputs(run, name: str, summary: dict, expect: str) -> None:
    """``run.compare`` the paper's claim about the model ``name``'s outputs, per kind of input:
    ``expect="training image"`` (a point map: every output is a training image) or
    ``"input"`` (identity-like), against ``MATCH_CORR``; measured on ``name``'s fit."""
    key = {"training image": "median_corr_nearest_training_image", "input": "median_corr_input"}
    for kind, s in summary.items():
        run.compare(f"{name}: median |corr(out, {expect})|, {kind}", s[key[expect]],
                    MATCH_CORR, kind="above", fits=[name],
                    note="[DS] shows pictures; the bound is ours")  # fmt: skip


def plot_matches(matches: dict, tests: dict, training, path, title: str) -> None:
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


def train_and_probe(run, name: str, model, training, tests: dict, *, key, expect: str,
                    figure: str | None = None, title: str = "") -> tuple[dict, dict]:  # fmt: skip
    """The [DS] probe pipeline: ``run.train`` the model ``name`` on ``training``, match its
    outputs for ``tests`` (:func:`match_all`), compare the paper's claim (``expect``, see
    :func:`compare_outputs`) and draw the matches into the run's figure ``figure``.

    Returns:
      ``({"final_loss", **summarize(...)}, matches)``.
    """
    params, history = run.train(name, model, training, key=key)
    matches = match_all(model, params, training, tests)
    summary = summarize(matches, len(training))
    compare_outputs(run, name, summary, expect)
    if figure:
        plot_matches(matches, tests, training, run.figure(figure), title)
    return {"final_loss": float(history.final_loss), **summary}, matches


def plot_nearest_counts(summary: dict, training, path) -> None:
    """[DS] Fig 8 as a histogram: which training image each kind of input was sent to."""
    kinds = [k for k in summary if isinstance(summary[k], dict)]
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
        axes[1].bar(np.arange(n) + j * width, summary[kind]["nearest_counts"], width, label=kind)
    axes[1].set_xticks(np.arange(n) + 0.4 - width / 2, [f"#{i}" for i in range(n)])
    axes[1].set_ylabel("outputs nearest to it")
    axes[1].legend(fontsize=8)
    fig.suptitle("Which training image each output is nearest to (centred correlation)")
    plotting.save(fig, path)
