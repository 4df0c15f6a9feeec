"""[IC] CNNs on one MNIST '7': shallow nets learn the identity, deeper ones lose it.

One trained depth sweep of 5 × 5 stride-1 ReLU CNNs, analysed for every figure that uses it:
Figs 3–4 (predictions; depth × ρ heatmaps of the correlation to the identity and to the
constant map) and Fig 35 (the same in MSE); Fig 5 (similarity-weighted classifier on each
layer's representation, with an untrained net as reference); Figs 15–18 (per-layer views: top
singular vector across channels, most correlated channel, channel 0); Fig 19a (relative weight
change per layer); Figs 22–24 (the top 1, 2 and half of the layers fed patterns directly);
Figs 6–7, 20–21 (trained at 28 × 28, tested on patterns of other sizes).

    memjax run ic-cnn-depth                   # quick: 32 channels, depths 3/8/16, Adam 3e-4
    memjax run ic-cnn-depth --preset paper    # 128 channels, Table 1 depths, 2M SGD steps

Quick preset (the project's Q-CNN): zero biases, U(±1/√fan_in) kernels, Adam 3e-4 for 1,500
steps (pixel-mean loss); 22 min wall on the shared 2-core CPU at load ≈ 20 (mostly waiting).
Measured: corr_id(ρ=0) 0.94 / 0.25 / 0.14 at depths 3 / 8 / 16 (FINDINGS.md: 0.90 / 0.31 /
0.09), corr_const(ρ=0.5) 0.67 / 0.92 / 0.90: depth removes the identity (edge-detector-like
outputs, as Fig 3's middle rows) but no depth reaches the constant map under this optimiser.
Fig 5: trained curves rise and recover (depth 16: 0.30 at the input, 0.57 at layer 14, 0.36
at the output); the untrained depth-16 net's error plateaus at 0.60–0.68 and reaches 0.88
only at its output — not the ≥ 0.85 from layer 10 of the claims file (not reproduced here).
The bias init decides it (``model.zero_bias``; unstated in the paper). Untrained nets, 32
channels, 500/500 digits, error per layer from the input (scripted, not a preset):
U(±1/√fan_in) kernels, zero biases, depth 16: 0.30 0.44 0.55 0.57 0.57 0.58 0.63 0.72 0.75 …
0.78 0.76 0.84; depth 20: the same to layer 15, then 0.79 0.80 0.85 0.85 0.88 — never chance
by layer 10; Xavier normal kernels alike (0.73–0.77 from layer 7; a bias-free ReLU net is
positively homogeneous, so the kernel scale does not matter). The same kernels with PyTorch's
default biases U(±1/√fan_in) (``model.zero_bias=False``): 0.30 0.44 0.55 0.57 0.63, then 0.88
(predicting one class) from layer 5 on — Fig 5's "layers past the sixth are useless": each layer
shrinks the signal while its bias does not, so deep features become input-independent. The
literal "default" init N(0, 1/(fan_in·fan_out)) with PyTorch biases is at 0.88 from layer 1 (the
signal is gone at once), against Fig 5's early layers. So Fig 5's untrained curve fits PyTorch's
default kernels *and* biases; the quick default keeps zero biases (the trained results above use
it).
Paper preset: App A's SGD 0.01/0.9 with ×0.2 at 30/60/80 % of 2,000,000 steps, the literal
"default" init N(0, 1/(fan_in·fan_out)) (SGD 0.01/0.9 on the pixel-mean loss is stable with
it; see ic-cnn-training), 128 channels, depths 1–24 of Table 1:
≈ 6.7e17 FLOP, ≈ 4 GPU-hours at 50 TFLOP/s — not run here.

Left open by the paper, chosen here: the training '7' is MNIST test image 0; test inputs at ρ
are uncentred with Gaussian random parts; Pearson correlations; biases start at 0; the
classifier uses post-ReLU features, reference and query sets from the MNIST test set
(``shared/data/mnist`` when present, else the shipped sample), and the paper's "20-layer
untrained net" is the deepest depth of the sweep. The paper gives pictures: comparisons use
the claims file's thresholds (IC-F3, F4, F5, F6, F15, F19, F35).
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np
from scipy import stats

from memjax import identity as ic
from memjax import plotting
from memjax.data import CHECKOUT_MNIST_DIR
from memjax.experiment import Experiment, Run, new_config
from memjax.probes import apply_batch

TABLE1_DEPTHS = (1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 24)


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    paper = preset == "paper"
    rhos = np.round(np.linspace(0, 1, 11 if paper else 5), 2).tolist()
    return new_config(
        model={"depths": TABLE1_DEPTHS if paper else (3, 8, 16),
               "channels": 128 if paper else 32, "kernel": 5,
               "kernel_init": "ic_default" if paper else "pytorch", "use_bias": True,
               "zero_bias": True},  # bias init unstated: 0, or False: PyTorch's U(±1/√fan_in)
        data=ic.one_digit_data(paper, rhos, sizes=(7, 14, 28, 56, 112),
                               classifier_images=5000 if paper else 500),  # reference, query each
        train=ic.app_a_block(1e-3) if paper else ic.q_cnn_block(),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    x_hat, inputs, batch = ic.one_digit_setup(config.data.train_index, run.keys["patterns"])
    nets, models = {}, {}
    for depth in config.model.depths:
        model = _model(config, depth)
        key = jax.random.fold_in(run.keys["init"], depth)
        params0 = ic.init_params(key, model, x_hat[0], config.model.zero_bias)
        params, history = run.train(f"depth_{depth}", model, x_hat, init_params=params0)
        models[f"depth_{depth}"] = (model, params)
        nets[f"depth_{depth}"] = {
            "final_loss": float(history.final_loss),
            "scores": ic.rho_sweep(model, params, x_hat[0], run.keys["probes"], config.data.rhos,
                                   config.data.inputs_per_rho, config.data.centred)._asdict(),
            "weight_change": ic.relative_weight_change(params0, params),
        }  # fmt: skip
    deepest = max(config.model.depths)
    untrained = _model(config, deepest)
    params = ic.init_params(run.keys["untrained"], untrained, x_hat[0], config.model.zero_bias)
    models["untrained"] = (untrained, params)
    classifier = _classifier(run, models)
    _classifier_figure(run, classifier)
    views = _layer_views(run, models, x_hat, inputs)
    sizes = _input_sizes(run, models, x_hat)
    upper = _upper_subnetworks(run, models, x_hat)
    _compare(run, nets, classifier, views, sizes)
    _figures(run, batch, list(inputs), nets, models)
    run.table(
        [{"net": n, "loss": r["final_loss"], "corr_id(ρ=0)": r["scores"]["corr_id"][0],
          "corr_const(ρ=0)": r["scores"]["corr_const"][0],
          "corr_const(ρ=0.5)": np.interp(0.5, config.data.rhos, r["scores"]["corr_const"]),
          "classifier err (in/out)": [classifier[n][0], classifier[n][-1]]}
         for n, r in nets.items()],
        title="CNNs on one '7' (ρ = correlation of the test input to the training image)",
    )  # fmt: skip
    return {
        "nets": nets,
        "classifier_error_per_layer": classifier,
        "singular_image_corr_per_layer": views,
        "input_sizes": sizes,
        "upper_subnetworks_corr_to_training_image": upper,
        "spearman_corr_vs_minus_mse": _spearman(run, nets),
    }


def _model(config, depth):
    m = config.model
    return ic.ic_cnn(depth, m.channels, m.kernel, kernel_init=m.kernel_init, use_bias=m.use_bias)


def _classifier_data(n):
    images, labels = ic.mnist_test_digits(CHECKOUT_MNIST_DIR)
    n = min(n, len(images) // 2)
    return (images[:n], labels[:n]), (images[n : 2 * n], labels[n : 2 * n])


def _classifier(run, models):
    """Fig 5: error of the similarity-weighted classifier on the input and each layer."""
    reference, query = _classifier_data(run.config.data.classifier_images)
    return {
        name: ic.layerwise_classifier_errors(model, params, reference, query, batch_size=100)
        for name, (model, params) in models.items()
    }


def _layer_views(run, models, x_hat, inputs):
    """Figs 15–18: per-layer views of the '7' and of a disc; |corr(singular image, input)|."""
    probes = {"train '7'": x_hat[0], "disc": inputs["disc"]}
    result = {}
    for name, (model, params) in models.items():
        layers = ic.batched_layer_activations(model, params, np.stack(list(probes.values())))
        rows, labels = [], []
        for p, (probe, image) in enumerate(probes.items()):
            views = [ic.layer_views(h[p], image[0]) for h in layers]
            for view in ("singular", "correlated", "channel"):
                rows.append([image, *(v[view][None] for v in views)])
                labels.append(f"{probe}: {view}")
            if p == 0:  # the sign of the singular image follows the input: |corr| ≥ 0 anyway
                singular = np.stack([v["singular"] for v in views])[:, None]
                result[name] = np.abs(ic.correlation(singular, x_hat[0][None])).tolist()
        columns = ["input", *(f"layer {i + 1}" for i in range(len(layers)))]
        plotting.image_grid(rows, labels, run.figure(f"layers_{name}"), columns,
                            title=f"{name}: per-layer views (Figs 15–18)", cell=0.9)  # fmt: skip
    return result


def _input_sizes(run, models, x_hat):
    """Figs 6–7, 20–21: nets trained at 28 × 28 on patterns of other sizes: corr(f(x), x) and
    corr(resize₂₈(f(x)), x̂), means over the patterns."""
    result, rows = {}, []
    sizes = run.config.data.sizes
    for name, (model, params) in models.items():
        if name == "untrained":
            continue
        result[name] = {"corr_id": [], "corr_const": []}
        for size in sizes:
            x = _standard_patterns(run.keys["patterns"], size)
            y = apply_batch(model, params, x)
            result[name]["corr_id"].append(float(np.mean(ic.correlation(y, x))))
            back = ic.resize(y, 28)
            result[name]["corr_const"].append(float(np.mean(ic.correlation(back, x_hat))))
            disc = ic.PATTERNS.index("disc")
            rows.append((name, size, x[disc], y[disc]))
    grid = [[x, y] for _, _, x, y in rows]
    labels = [f"{n} @{s}" for n, s, _, _ in rows]
    title = "Figs 6–7: trained at 28, tested at other sizes"
    plotting.image_grid(grid, labels, run.figure("input_sizes"), ["input", "output"], title, 1.0)
    return result


def _standard_patterns(key, size):
    images = np.stack(list(ic.patterns(key, size).values()))
    return ((images - ic.MNIST_MEAN) / ic.MNIST_STD).astype(np.float32)


def _upper_subnetworks(run, models, x_hat):
    """Figs 22–24: patterns fed straight into the top 1, 2 and ⌈L/2⌉ layers; mean
    corr(output, x̂) over the patterns (a constant map draws the '7' from any input)."""
    x = _standard_patterns(run.keys["patterns"], 28)
    result, rows, labels = {}, [], []
    for name, (model, params) in models.items():
        depth = len(model.layers)
        result[name] = {}
        for top in sorted({1, 2, (depth + 1) // 2} & set(range(1, depth + 1))):
            y = ic.batched_layer_activations(model, params, x, start=depth - top)[-1]
            result[name][f"top_{top}"] = float(np.mean(ic.correlation(y, x_hat)))
            rows.append(list(y))
            labels.append(f"{name} top {top}")
    path, title = run.figure("upper_subnetworks"), "Figs 22–24: upper sub-networks"
    plotting.image_grid([list(x), *rows], ["input", *labels], path, list(ic.PATTERNS), title, 1.0)
    return result


def _compare(run, nets, classifier, views, sizes):
    depths = sorted(run.config.model.depths)
    shallow, deepest = f"depth_{depths[0]}", f"depth_{depths[-1]}"
    corr_id = {d: nets[f"depth_{d}"]["scores"]["corr_id"][0] for d in depths}
    run.compare(f"{shallow}: corr_id(ρ=0) (shallow: identity)", corr_id[depths[0]], 0.8,
                kind="above", fits=[shallow], note="IC-F3/F4")  # fmt: skip
    for d in (d for d in depths if d >= 8):
        run.compare(f"depth_{d}: corr_id(ρ=0) (identity lost)", corr_id[d], 0.35, kind="below",
                    fits=[f"depth_{d}"], note="IC-F3/F4, calibrated")  # fmt: skip
    drops = np.diff([corr_id[d] for d in depths])
    run.compare("largest rise of corr_id(ρ=0) with depth (non-increasing ± 0.05)",
                float(drops.max()) if drops.size else None, 0.05, kind="below",
                fits=list(nets))  # fmt: skip

    def half(d):
        return np.interp(0.5, run.config.data.rhos, nets[f"depth_{d}"]["scores"]["corr_const"])

    run.compare(f"corr_const(ρ=0.5): {deepest} − {shallow}", half(depths[-1]) - half(depths[0]),
                0.15, kind="above", fits=[shallow, deepest], note="IC-F4, calibrated")  # fmt: skip
    for d in (d for d in depths if d >= 20):
        run.compare(f"depth_{d}: corr_const(ρ=0) (deep: constant map)",
                    nets[f"depth_{d}"]["scores"]["corr_const"][0], 0.9, kind="above",
                    fits=[f"depth_{d}"], note="IC-F3 paper criterion")  # fmt: skip
    untrained = classifier["untrained"]
    run.compare("untrained: classifier error of the input", untrained[0], 0.35, kind="below",
                note="IC-F5")  # fmt: skip
    if len(untrained) > 10:
        run.compare("untrained: min classifier error from layer 10 (near chance)",
                    float(np.min(untrained[10:])), 0.85, kind="above", note="IC-F5")  # fmt: skip
    err = classifier[shallow]
    run.compare(f"{shallow}: classifier error, output − input", err[-1] - err[0], 0.05,
                kind="below", fits=[shallow], note="IC-F5")  # fmt: skip
    if len(views["untrained"]) >= 10:
        run.compare("untrained: |corr(SV image, '7')|, layer 1 − layer 10 (blurred away)",
                    views["untrained"][0] - views["untrained"][9], 0.3, kind="above",
                    note="IC-F15")  # fmt: skip
    first = {d: nets[f"depth_{d}"]["weight_change"][0] for d in depths}
    run.compare(f"weight change of layer 1: {deepest} − {shallow} (deeper moves less)",
                first[depths[-1]] - first[depths[0]], 0.0, kind="below",
                fits=[shallow, deepest], note="IC-F19a")  # fmt: skip
    size_id = sizes[shallow]["corr_id"]
    at = {s: size_id[i] for i, s in enumerate(run.config.data.sizes)}
    if {7, 28, 112} <= set(at):
        run.compare(f"{shallow}: corr_id at 112 − at 28 (identity survives larger inputs)",
                    at[112] - at[28], -0.1, kind="above", fits=[shallow], note="IC-F6")  # fmt: skip
        run.compare(f"{shallow}: corr_id at 7 − at 112 (degrades on small inputs)",
                    at[7] - at[112], 0.0, kind="below", fits=[shallow], note="IC-F6")  # fmt: skip


def _spearman(run, nets):
    """IC-F35: the MSE heatmaps tell the correlation heatmaps' story."""
    result = {}
    for ref in ("id", "const"):
        corr = np.array([r["scores"][f"corr_{ref}"] for r in nets.values()]).ravel()
        mse = np.array([r["scores"][f"mse_{ref}"] for r in nets.values()]).ravel()
        result[ref] = float(stats.spearmanr(corr, -mse).statistic)
        run.compare(f"Spearman(corr_{ref}, −MSE_{ref}) over cells", result[ref], 0.8,
                    kind="above", note="IC-F35")  # fmt: skip
    return result


def _figures(run, batch, columns, nets, models):
    rhos = run.config.data.rhos
    labels = [n.replace("depth_", "") for n in nets]
    for kind in ("corr", "mse"):
        panels = {
            f"{'corr' if kind == 'corr' else 'MSE'} to {ref}": np.array(
                [r["scores"][f"{kind}_{key}"] for r in nets.values()]
            )
            for ref, key in (("constant", "const"), ("identity", "id"))
        }
        ic.plots.score_heatmaps(panels, labels, rhos, run.figure(f"heatmaps_{kind}"),
                                "CNNs (rows: depth) — Figs 4, 35")  # fmt: skip
    rows = [list(batch)] + [list(apply_batch(m, p, batch)) for m, p in models.values()]
    plotting.image_grid(rows, ["input", *models], run.figure("predictions"),
                        ["train '7'", *columns], title="CNN predictions (Fig 3)")  # fmt: skip
    ic.plots.layer_curves({n: r["weight_change"] for n, r in nets.items()},
                          run.figure("weight_change"), "layer (1 = bottom)", "‖W⁰ − W*‖ / ‖W⁰‖",
                          "Fig 19a", first_index=1)  # fmt: skip


def _classifier_figure(run, classifier):
    ic.plots.layer_curves(classifier, run.figure("classifier"), "layer (0 = input)",
                          "classifier error", "Fig 5", highlight="untrained")  # fmt: skip


EXPERIMENT = Experiment(
    name="ic-cnn-depth",
    paper="IC",
    figure="[IC] Figs 3-7, 15-24, 35: CNN depth sweep — identity → neither, layers, sizes",
    get_config=get_config,
    science=science,
    keys=("init", "untrained", "probes", "patterns"),
)
