"""[IC] the CNN's shape: training-image size, filter size and channel count.

Reproduces [IC] Fig 8 (the same '7' resized: smaller training images pull harder toward the
constant map at a given depth), Figs 9, 25–26 (5-layer CNNs with filters from 5 × 5 up:
predictions blur as K grows, and filters covering the image lean to the constant map) and
Figs 10, 27–30 (channel count: few channels fit the '7' yet lose the identity; 3-channel
nets deeper than 8 layers do not converge; at init, 128 channels give smoother layers than 3).

    memjax run ic-cnn-shape                   # quick: Adam 3e-4; ~1–2 min CPU time
    memjax run ic-cnn-shape --preset paper    # 128 ch, K 5…57, 3…1024 channels, 2M SGD steps

Quick preset: the project's Q-CNN recipe (zero biases, U(±1/√fan_in), Adam 3e-4, pixel-mean
loss) at small sizes: Fig 8 at depth 8 / 32 channels for training sizes 14 and 28; Figs 9/25
at 8 channels, K ∈ {5, 13, 29}; Figs 10/27 at 5 layers with 3 and 32 channels; Fig 28 with 3
channels at depths 5 and 12. Blur is the Laplacian-energy ratio ‖∇²f(x)‖/‖∇²x‖ over the
display inputs. Paper preset: App A's SGD schedule and the literal "default" init; a 20-layer
1024-channel net alone is ≈ 4.4e18 FLOP (≈ 25 GPU-hours), not run here.

Left open by the paper, chosen here: the resized training sizes (7, 14, 28, 56 in the paper
preset), bilinear resizing, the channel counts between 3 and 1024 (3, 32, 128, 1024).
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from memjax import identity as ic
from memjax import plotting
from memjax.experiment import Experiment, Run, new_config
from memjax.probes import apply_batch


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    paper = preset == "paper"
    return new_config(
        model={
            "kernel_init": "ic_default" if paper else "pytorch", "use_bias": True,
            "size_depths": (3, 5, 8, 12, 16, 20) if paper else (8,),
            "size_channels": 128 if paper else 32,
            "train_sizes": (7, 14, 28, 56) if paper else (14, 28),
            "kernels": (5, 7, 9, 13, 17, 25, 29, 57) if paper else (5, 13, 29),
            "kernel_channels": 128 if paper else 8,
            "channels": (3, 32, 128, 1024) if paper else (3, 32),
            "deep_channels": (128, 1024) if paper else (),  # Fig 10b: 20-layer nets
            "three_channel_depths": (5, 6, 7, 8, 9, 12) if paper else (5, 12),
            "init_seeds": 5,
        },
        data=ic.one_digit_data(paper, (0.0, 0.25, 0.5, 0.75, 1.0)),
        train=ic.app_a_block(1e-3) if paper else ic.q_cnn_block(),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    x_hat, inputs, batch = ic.one_digit_setup(config.data.train_index, run.keys["patterns"])
    rows, labels = [list(batch)], ["input"]

    def train(name, depth, channels, kernel, image):
        m = config.model
        model = ic.ic_cnn(depth, channels, kernel, kernel_init=m.kernel_init, use_bias=m.use_bias)
        key = jax.random.fold_in(run.keys["init"], len(run.fits))
        params0 = ic.init_params(key, model, image[0])
        params, history = run.train(name, model, image, init_params=params0)
        d = config.data
        scores = ic.rho_sweep(model, params, image[0], run.keys["probes"], d.rhos,
                              d.inputs_per_rho, d.centred)._asdict()  # fmt: skip
        outputs = apply_batch(model, params, ic.resize(batch, image.shape[-1]))
        rows.append(list(ic.resize(outputs, 28)))
        labels.append(name)
        test = ic.resize(batch[1:], image.shape[-1])
        blur = ic.laplacian_energy_ratio(outputs[1:], test)
        return {"final_loss": float(history.final_loss), "scores": scores,
                "blur": float(np.mean(blur)),
                "mean_corr_id": float(np.mean(scores["corr_id"])),
                "mean_corr_const": float(np.mean(scores["corr_const"]))}  # fmt: skip

    m = config.model
    sizes = {
        f"size_{s}_depth_{d}": train(f"size_{s}_depth_{d}", d, m.size_channels, 5,
                                     ic.resize(x_hat, s))
        for d in m.size_depths for s in m.train_sizes
    }  # fmt: skip
    kernels = {f"kernel_{k}": train(f"kernel_{k}", 5, m.kernel_channels, k, x_hat)
               for k in m.kernels}  # fmt: skip
    channels = {f"channels_{c}": train(f"channels_{c}", 5, c, 5, x_hat) for c in m.channels}
    deep = {f"depth_20_channels_{c}": train(f"depth_20_channels_{c}", 20, c, 5, x_hat)
            for c in m.deep_channels}  # fmt: skip
    three = {f"channels_3_depth_{d}": train(f"channels_3_depth_{d}", d, 3, 5, x_hat)
             for d in m.three_channel_depths}  # fmt: skip
    smoothness = _init_smoothness(run, x_hat)
    plotting.image_grid(rows, labels, run.figure("predictions"), ["train '7'", *inputs],
                        title="Figs 8–10, 25–28: training size, filter size, channels")  # fmt: skip
    results = {"training_size": sizes, "kernel": kernels, "channels": channels,
               "deep_channels": deep, "three_channels": three}  # fmt: skip
    _compare(run, results)
    run.table([{"net": n, "loss": r["final_loss"], "corr_id(ρ=0)": r["scores"]["corr_id"][0],
                "corr_const(ρ=0)": r["scores"]["corr_const"][0], "mean corr_id": r["mean_corr_id"],
                "mean corr_const": r["mean_corr_const"], "blur": r["blur"]}
               for group in results.values() for n, r in group.items()])  # fmt: skip
    return results | {"init_layer4_total_variation": smoothness}


def _total_variation(image):
    image = image / np.linalg.norm(image)
    return float(np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum())


def _init_smoothness(run, x_hat):
    """Figs 29–30: at init, the layer-4 top-singular image of a 5-layer net is smoother with
    128 channels than with 3 (total variation of the unit-norm image, mean over seeds)."""
    m = run.config.model
    result = {}
    for channels in (3, 128):
        model = ic.ic_cnn(5, channels, 5, kernel_init=m.kernel_init, use_bias=m.use_bias)
        values = []
        for seed in range(m.init_seeds):
            key = jax.random.fold_in(jax.random.fold_in(run.keys["init"], 10_000 + channels), seed)
            params = ic.init_params(key, model, x_hat[0])
            layer4 = ic.batched_layer_activations(model, params, x_hat)[3][0]
            values.append(_total_variation(ic.top_singular_image(layer4, x_hat[0, 0])))
        result[channels] = float(np.mean(values))
    run.compare("init: TV of the layer-4 singular image, 128 − 3 channels",
                result[128] - result[3], 0.0, kind="below",
                note="IC-F29/30: more channels are smoother at init")  # fmt: skip
    return result


def _compare(run, results):
    m = run.config.model
    for depth in m.size_depths:
        group = {s: results["training_size"][f"size_{s}_depth_{depth}"] for s in m.train_sizes}
        small, large = min(m.train_sizes), max(m.train_sizes)
        names = [f"size_{s}_depth_{depth}" for s in (small, large)]
        run.compare(f"depth {depth}: mean corr_const, size {small} − size {large}",
                    group[small]["mean_corr_const"] - group[large]["mean_corr_const"], 0.0,
                    kind="above", fits=names, note="IC-F8: smaller images → constant")  # fmt: skip
        run.compare(f"depth {depth}: mean corr_id, size {small} − size {large}",
                    group[small]["mean_corr_id"] - group[large]["mean_corr_id"], 0.0,
                    kind="below", fits=names, note="IC-F8")  # fmt: skip
    kernels = results["kernel"]
    ks = sorted(m.kernels)
    blur = [kernels[f"kernel_{k}"]["blur"] for k in ks]
    run.compare("Laplacian-energy ratio: largest rise from one K to the next (blur grows)",
                float(np.max(np.diff(blur))), 0.0, kind="below",
                fits=[f"kernel_{k}" for k in ks], note="IC-F9")  # fmt: skip
    const = {k: kernels[f"kernel_{k}"]["scores"]["corr_const"][0] for k in ks}
    run.compare(f"corr_const(ρ=0): K = {ks[-1]} − K = {ks[0]}", const[ks[-1]] - const[ks[0]],
                0.0, kind="above", fits=[f"kernel_{ks[0]}", f"kernel_{ks[-1]}"],
                note="IC-F9")  # fmt: skip
    if 57 in const:
        run.compare("corr_const(ρ=0) at K = 57", const[57], 0.8, kind="above",
                    fits=["kernel_57"], note="IC-F9 paper criterion")  # fmt: skip
    channels = results["channels"]
    few, many = min(m.channels), max(m.channels)
    names = [f"channels_{few}", f"channels_{many}"]
    run.compare(f"corr_id(ρ=0): {few} − {many} channels (few channels lose the identity)",
                channels[names[0]]["scores"]["corr_id"][0]
                - channels[names[1]]["scores"]["corr_id"][0], -0.1, kind="below", fits=names,
                note="IC-F10a")  # fmt: skip
    for name, r in results["three_channels"].items():
        run.compare(f"{name}: train MSE", r["final_loss"], None, kind="report",
                    note="IC-F28: deeper than 8 layers does not converge")  # fmt: skip
    for name, r in results["deep_channels"].items():
        run.compare(f"{name}: min corr_const over ρ", min(r["scores"]["corr_const"]), 0.9,
                    kind="above", fits=[name], note="IC-F10b")  # fmt: skip


EXPERIMENT = Experiment(
    name="ic-cnn-shape",
    paper="IC",
    figure="[IC] Figs 8-10, 25-28: training-image size, filter size, channel count",
    get_config=get_config,
    science=science,
    keys=("init", "probes", "patterns"),
)
