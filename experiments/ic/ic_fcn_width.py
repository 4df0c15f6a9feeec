"""[IC] App E: for FCNs depth, not width, pulls toward the constant map; training only the
bottom layer cannot leave the initial function off x̂.

Reproduces [IC] Fig 11 (linear FCNs with 1, 3, 5 hidden layers at widths 2,048 and 784: H3 at
784 — 2,458,624 weights — is further from the convex one-layer case than H1 at 2,048 —
3,211,264) and Fig 12 (two-layer ReLU FCNs, bottom layer only vs both layers trained: eqs
15–18 make the first layer's update ``(∂R̂/∂z) x̂ᵀ``, so with the top frozen the net is its
initial random function on every input orthogonal to x̂: speckled noise; training both
layers drifts toward the constant map).

    memjax run ic-fcn-width                   # quick: widths 2,048/784 and 512/2,048, 1,000 steps
    memjax run ic-fcn-width --preset paper    # Fig 12 at widths 2,048/16,384, 2,000,000 steps

Quick preset (the claims file's Q-FCN recipe): U(±1/√fan_in) kernels, zero-initialised
biases, SGD 0.01 with momentum 0.9 on the pixel-mean loss, constant rate. Paper preset: App A's
schedule (×0.2 at 30/60/80 % of 2M steps) and the literal "default" init N(0, 1/(fan_in·
fan_out)); cost: 10 nets × 2M latency-bound steps (≈ 0.1–0.3 ms each on a GPU, the 16,384-wide
ones ≈ 50 MFLOP a step): ≈ 1 GPU-hour if vmapped by shape, ≈ 2–3 run one after another. Not run.

"Bottom layer only" trains ``dense0``'s kernel and bias (``TrainConfig.frozen`` holds
``dense1``). With biases the bottom bias moves too, so the output on x ⊥ x̂ changes by the
bias shift only; eq 16's statement about the kernel, ``(W₁ − W₁⁰)Π⊥ = 0``, holds either way and
is checked; ``model.use_bias=False`` makes the net exactly its initial function off x̂.
Other choices as ic-fcn-depth (training '7' = MNIST test image 0, Pearson correlations,
uncentred-orthogonal inputs at ρ, Gaussian random parts).
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from memjax import identity as ic
from memjax import plotting
from memjax.experiment import Experiment, Run
from memjax.probes import apply_batch

TOP_LAYER = r"^params/dense1/"  # Fig 12's frozen layer of a two-layer net


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    paper = preset == "paper"
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.model = ml_collections.ConfigDict({
        "linear_hidden": (1, 3, 5), "linear_widths": (2048, 784),  # Fig 11
        "relu_widths": (2048, 16384) if paper else (512, 2048),  # Fig 12
        "kernel_init": "ic_default" if paper else "pytorch", "use_bias": True,
    })  # fmt: skip
    config.data = ml_collections.ConfigDict({
        "train_index": 0, "rhos": (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0),
        "inputs_per_rho": 16 if paper else 4, "centred": True,
    })  # fmt: skip
    config.train = ic.app_a_block(1e-4) if paper else ic.q_fcn_block()
    return config


def science(run: Run) -> dict:
    config = run.config
    x_hat = ic.training_digit(config.data.train_index)
    inputs = ic.display_inputs(run.keys["patterns"])
    batch = np.stack([x_hat[0], *inputs.values()])
    m = config.model
    nets = {}
    for width in m.linear_widths:
        for hidden in m.linear_hidden:
            model = ic.ic_fcn(hidden, width, "linear", m.kernel_init, m.use_bias)
            nets[f"linear_H{hidden}_w{width}"] = _train_and_score(run, model, x_hat, batch)
    for width in m.relu_widths:
        model = ic.ic_fcn(1, width, "relu", m.kernel_init, m.use_bias)
        for trained, frozen in (("both", ()), ("bottom", (TOP_LAYER,))):
            name = f"relu_H1_w{width}_{trained}"
            nets[name] = _train_and_score(run, model, x_hat, batch, frozen)
    outputs = {name: net.pop("outputs") for name, net in nets.items()}
    _compare(run, nets)
    _figures(run, nets, outputs, batch, list(inputs))
    run.table(
        [{"net": name, "loss": r["final_loss"], "corr_id(ρ=0)": r["scores"]["corr_id"][0],
          "corr_const(ρ=0)": r["scores"]["corr_const"][0]} for name, r in nets.items()],
        title="FCN width vs depth (Fig 11) and bottom-only training (Fig 12)",
    )  # fmt: skip
    return {"nets": nets}


def _train_and_score(run, model, x_hat, batch, frozen=()):
    """Trains one net (``frozen`` layers held), scores it on the ρ sweep and, for a frozen top,
    measures eqs 15–18: the bottom kernel's update off x̂ and the output change off x̂."""
    name = f"{model.activation}_H{len(model.hidden)}_w{model.hidden[0]}"
    name += f"_{'bottom' if frozen else 'both'}" if model.activation == "relu" else ""
    # both Fig 12 nets of one width start from the same weights
    shape = (model.activation == "relu", len(model.hidden), model.hidden[0])
    key = jax.random.fold_in(run.keys["init"], int(np.ravel_multi_index(shape, (2, 10, 2**17))))
    params0 = ic.init_params(key, model, x_hat[0])
    params, history = run.train(name, model, x_hat,
                                      key=key, init=params0, frozen=frozen)  # fmt: skip
    d = run.config.data
    result = {
        "final_loss": float(history.final_loss),
        "scores": ic.rho_sweep(model, params, x_hat[0], run.keys["probes"], d.rhos,
                               d.inputs_per_rho, d.centred)._asdict(),
        "outputs": apply_batch(model, params, batch),
    }  # fmt: skip
    if frozen:
        orthogonal = ic.inputs_at_correlation(run.keys["probes"], x_hat[0], 0.0, d.inputs_per_rho,
                                              d.centred)  # fmt: skip
        change = apply_batch(model, params, orthogonal) - apply_batch(model, params0, orthogonal)
        u = np.ravel(x_hat).astype(np.float64) / np.linalg.norm(x_hat)
        update = np.asarray(params["params"]["dense0"]["kernel"], np.float64) - np.asarray(
            params0["params"]["dense0"]["kernel"], np.float64
        )  # (in, out): f's first layer is W₁ = kernelᵀ, so (W₁ − W₁⁰)Π⊥ = (Π⊥ update)ᵀ
        result["bottom_update_off_span"] = float(np.abs(update - np.outer(u, u @ update)).max())
        result["top_change"] = float(np.abs(
            np.asarray(params["params"]["dense1"]["kernel"])
            - np.asarray(params0["params"]["dense1"]["kernel"])).max())  # fmt: skip
        result["output_change_off_span"] = float(np.abs(change).max())
    return result


def _compare(run, nets):
    m = run.config.model

    def const(name):
        return nets[name]["scores"]["corr_const"][0] if name in nets else None

    deep, wide = "linear_H3_w784", "linear_H1_w2048"
    if deep in nets and wide in nets:
        run.compare("linear corr_const(ρ=0): H3/784 − H1/2,048 (depth beats width)",
                    const(deep) - const(wide), 0.0, kind="above", fits=[deep, wide],
                    note="IC-F11; paper-preset margin 0.1")  # fmt: skip
    for width in m.linear_widths:
        shallow, deepest = (f"linear_H{k}_w{width}" for k in (min(m.linear_hidden),
                                                               max(m.linear_hidden)))  # fmt: skip
        run.compare(f"linear width {width}: corr_const(ρ=0), deepest − shallowest",
                    const(deepest) - const(shallow), 0.0, kind="above",
                    fits=[shallow, deepest], note="IC-F11")  # fmt: skip
    for width in m.relu_widths:
        both, bottom = f"relu_H1_w{width}_both", f"relu_H1_w{width}_bottom"
        fits = [both, bottom]
        run.compare(f"{bottom}: corr_const(ρ=0) (speckled noise)", const(bottom), 0.1,
                    kind="below", fits=[bottom], note="IC-F12")  # fmt: skip
        run.compare(f"width {width}: corr_const(ρ=0), both − bottom only", const(both)
                    - const(bottom), 0.2, kind="above", fits=fits, note="IC-F12")  # fmt: skip
        run.compare(f"{bottom}: max|(W₁ − W₁⁰)Π⊥| (eq 16)",
                    nets[bottom]["bottom_update_off_span"], 1e-5, kind="below", fits=[bottom],
                    note="float32")  # fmt: skip
        run.compare(f"{bottom}: max|f(x) − f⁰(x)| on x ⊥ x̂ (eq 17)",
                    nets[bottom]["output_change_off_span"], 1e-5 if not m.use_bias else None,
                    kind="below" if not m.use_bias else "report", fits=[bottom],
                    note="the bottom bias moves" if m.use_bias else "bias-free")  # fmt: skip


def _figures(run, nets, outputs, batch, columns):
    rhos = run.config.data.rhos
    panels, labels = {}, {}
    for prefix, title in (("linear_", "Fig 11 linear"), ("relu_", "Fig 12 ReLU H1")):
        names = [n for n in nets if n.startswith(prefix)]
        for key, ref in (("corr_const", "constant"), ("corr_id", "identity")):
            panel = f"{title}: corr to {ref}"
            panels[panel] = np.array([nets[n]["scores"][key] for n in names])
            labels[panel] = [n.removeprefix(prefix) for n in names]
    ic.plots.score_heatmaps(panels, labels, rhos, run.figure("heatmaps"),
                            "FCN width, depth and trained layers — Figs 11, 12")  # fmt: skip
    rows = [list(batch)] + [list(o) for o in outputs.values()]
    plotting.image_grid(rows, ["input", *outputs], run.figure("predictions"),
                        ["train '7'", *columns], title="Figs 11–12 predictions")  # fmt: skip


EXPERIMENT = Experiment(
    name="ic-fcn-width",
    paper="IC",
    figure="[IC] Figs 11-12 (App E): FCN depth beats width; bottom-layer-only training",
    get_config=get_config,
    science=science,
    keys=("init", "probes", "patterns"),
)
