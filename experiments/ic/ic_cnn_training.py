"""[IC] how initialisation and optimiser shape what a CNN learns from one '7', and which
reading of the paper's "default" init and loss makes its SGD (0.01, momentum 0.9) stable.

Reproduces [IC] Fig 31 (six init schemes: default N(0, 1/(f_i·f_o)), Xavier normal/uniform,
Kaiming normal/uniform, orthogonal — trained in one vmapped program, since only the initial
weights differ) and Fig 32 (SGD 0.01/0.001/0.0001, Adagrad 1e-3, RMSprop 1e-4, Adam 1e-4,
Adamax 1e-3), plus a stability check the paper does not report: SGD 0.01 with momentum 0.9
for each init reading (literal default, PyTorch's U(±1/√fan_in), Xavier normal) on the
pixel-mean loss and on the summed loss (½·sum, i.e. the mean loss with lr × 784/2 ≈ 3.92),
vmapped over inits and learning rates.

    memjax run ic-cnn-training                   # quick: 16 channels, 3.5 min CPU time
    memjax run ic-cnn-training --preset paper    # 128 channels, inits at depths 5 and 20

Measured in this project (32 channels, zero biases, 1,000 steps, one seed): with the mean
loss SGD 0.01/0.9 trains the literal default init at depth 3 (loss 0.005, corr_id(ρ=0) 0.63)
and runs stably at depth 8 but barely moves (0.721 → 0.589); U(±1/√fan_in) trains depth 3
(1.2e-4, corr_id 0.90) and depth 8 (4.7e-4, corr_id 0.26) — it did not diverge, unlike the
claims file's prototype (inf by step 200); Xavier normal trains depth 8 (1.7e-4, corr_id
0.33). The ½·sum loss diverges within 3 steps even with the literal default at depth 3 (lr·λ
far above 2(1 + μ)). So the paper's SGD only works on the pixel-mean loss, and the literal
default's slow start fits its 2M-step budget.

Left open by the paper: the depths of Figs 31–32 (quick: 3 and 5), SGD's momentum in Fig 32
(0.9, as App A), the orthogonal init's conv reshaping ((K²·C_in, C_out) matricisation).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import identity as ic
from memjax import plotting
from memjax.experiment import Experiment, Run, new_config, train_block
from memjax.probes import apply_batch
from memjax.train import run_params

INITS = ("ic_default", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform",
         "orthogonal")  # fmt: skip
# Fig 32's settings as "optimizer:learning_rate" ("momentum" is SGD with momentum 0.9).
OPTIMIZERS = ("momentum:0.01", "momentum:0.001", "momentum:0.0001", "adagrad:0.001",
              "rmsprop:0.0001", "adam:0.0001", "adamax:0.001")  # fmt: skip
STABILITY_INITS = ("ic_default", "pytorch", "xavier_normal")


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    paper = preset == "paper"
    steps = ic.training.PAPER_STEPS if paper else 1000
    return new_config(
        model={
            "channels": 128 if paper else 16, "kernel": 5, "use_bias": True,
            "init_depths": (5, 20) if paper else (3,), "inits": INITS,
            "optimizer_depth": 5, "optimizers": OPTIMIZERS,
            "stability_depths": (3, 8), "stability_inits": STABILITY_INITS,
            "stability_channels": 32,
        },
        data=ic.one_digit_data(paper, (0.0, 0.5, 1.0)),
        # quick: fitted = the '7' at corr ≳ 0.99
        train=ic.app_a_block(1e-3) if paper else ic.q_cnn_block(steps, fit_loss=1e-2),
        train_opt=train_block("momentum", 0.01, max_steps=steps, nonfinite="stop",
                              fit_loss=1e-3 if paper else 1e-2),
        # a stability check: every finite run counts
        train_sgd=train_block("momentum", 0.01, max_steps=300, nonfinite="stop", fit_loss=1.0),
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    x_hat, inputs, batch = ic.one_digit_setup(config.data.train_index, run.keys["patterns"])
    inits = {depth: _inits(run, x_hat, batch, depth) for depth in config.model.init_depths}
    optimizers = _optimizers(run, x_hat, batch)
    stability = _stability(run, x_hat)
    rows = [list(batch)]
    labels = ["input"]
    for depth, result in inits.items():
        for name, r in result.items():
            rows.append(list(r.pop("outputs")))
            labels.append(f"{name} d{depth}")
    for name, r in optimizers.items():
        rows.append(list(r.pop("outputs")))
        labels.append(name)
    plotting.image_grid(rows, labels, run.figure("predictions"), ["train '7'", *inputs],
                        title="Figs 31–32: inits (d = depth) and optimisers")  # fmt: skip
    _compare(run, inits, optimizers, stability)
    return {"inits": inits, "optimizers": optimizers, "sgd_stability": stability}


def _model(config, depth, kernel_init="pytorch", channels=None):
    m = config.model
    return ic.ic_cnn(depth, channels or m.channels, m.kernel, kernel_init=kernel_init,
                     use_bias=m.use_bias)  # fmt: skip


def _stacked_inits(key, config, depth, names, x, channels=None):
    """One initialisation per scheme, stacked on a leading run axis (biases 0)."""
    keys = jax.random.split(key, len(names))
    params = [ic.init_params(k, _model(config, depth, n, channels), x)
              for k, n in zip(keys, names, strict=True)]  # fmt: skip
    return keys, jax.tree.map(lambda *p: jnp.stack(p), *params)


def _scores(run, model, params, x_hat):
    d = run.config.data
    return ic.rho_sweep(model, params, x_hat[0], run.keys["probes"], d.rhos, d.inputs_per_rho,
                        d.centred)._asdict()  # fmt: skip


def _inits(run, x_hat, batch, depth):
    """Fig 31: the schemes trained together (vmapped over their initial weights)."""
    names = run.config.model.inits
    model = _model(run.config, depth)
    keys, params0 = _stacked_inits(jax.random.fold_in(run.keys["init"], depth), run.config,
                                   depth, names, x_hat[0])  # fmt: skip
    params, history = run.train(f"inits_depth_{depth}", model, x_hat, keys=keys,
                                init_params=params0)  # fmt: skip
    result = {}
    for i, name in enumerate(names):
        p = run_params(params, i)
        result[name] = {"final_loss": float(history.final_loss[i]),
                        "scores": _scores(run, model, p, x_hat),
                        "outputs": apply_batch(model, p, batch)}  # fmt: skip
    return result


def _optimizers(run, x_hat, batch):
    """Fig 32: one net per optimiser setting, all from the same initial weights."""
    depth = run.config.model.optimizer_depth
    model = _model(run.config, depth)
    params0 = ic.init_params(run.keys["init"], model, x_hat[0])
    result = {}
    for setting in run.config.model.optimizers:
        optimizer, lr = setting.split(":")[0], float(setting.split(":")[1])
        name = f"{'sgd' if optimizer == 'momentum' else optimizer}_{lr:g}"
        params, history = run.train(name, model, x_hat, key=run.keys["init"],
                                    init_params=params0, block="train_opt",
                                    optimizer=optimizer, learning_rate=lr)  # fmt: skip
        result[name] = {"final_loss": float(history.final_loss),
                        "scores": _scores(run, model, params, x_hat),
                        "outputs": apply_batch(model, params, batch)}  # fmt: skip
    return result


def _stability(run, x_hat):
    """SGD 0.01/0.9 per init reading, on the mean loss (lr 0.01) and on ½·sum (lr 3.92):
    vmapped over (init, loss reading) pairs, one program per depth."""
    config = run.config
    names = config.model.stability_inits
    d = x_hat[0].size
    readings = {"mean": 0.01, "half_sum": 0.01 * d / 2}
    result = {}
    for depth in config.model.stability_depths:
        key = jax.random.fold_in(run.keys["stability"], depth)
        channels = config.model.stability_channels
        keys, params0 = _stacked_inits(key, config, depth, names, x_hat[0], channels)
        keys = jnp.concatenate([keys] * len(readings))
        params0 = jax.tree.map(lambda a: jnp.concatenate([a] * len(readings)), params0)
        rates = np.repeat(list(readings.values()), len(names))
        _, history = run.train(f"sgd_depth_{depth}", _model(config, depth, channels=channels),
                               x_hat, keys=keys, init_params=params0, learning_rates=rates,
                               block="train_sgd")  # fmt: skip
        for i, (reading, init) in enumerate((r, n) for r in readings for n in names):
            losses = history.losses[i]
            result[f"{init} {reading} depth {depth}"] = {
                "diverged": history.stop_reason[i] == "nonfinite",
                "steps": int(history.steps[i]),
                "first_loss": float(losses[0]),
                "final_loss": float(history.final_loss[i]),
            }
    run.table([{"run": k, **v} for k, v in result.items()],
              title="SGD 0.01, momentum 0.9: which init and loss reading trains?")  # fmt: skip
    return result


def _compare(run, inits, optimizers, stability):
    shallow = min(inits)
    name = f"inits_depth_{shallow}"
    corr = {n: r["scores"]["corr_id"][0] for n, r in inits[shallow].items()}
    run.compare(f"min over inits of corr_id(ρ=0) at depth {shallow} (all near identity)",
                min(corr.values()), 0.7, kind="above", fits=[name], require="all",
                note="IC-F31")  # fmt: skip
    mse = {n: r["scores"]["mse_id"][0] for n, r in inits[shallow].items()}
    if {"kaiming_normal", "kaiming_uniform", "ic_default"} <= set(mse):
        run.compare("Kaiming MSE_id(ρ=0) − default's (Kaiming leaves artefacts)",
                    min(mse["kaiming_normal"], mse["kaiming_uniform"]) - mse["ic_default"], 0.0,
                    kind="above", fits=[name], note="IC-F31")  # fmt: skip
    if 20 in inits:
        const = {n: r["scores"]["corr_const"][0] for n, r in inits[20].items()}
        run.compare("|corr_const(Xn) − corr_const(D)| at depth 20",
                    abs(const["xavier_normal"] - const["ic_default"]), 0.1, kind="below",
                    fits=["inits_depth_20"], note="IC-F31")  # fmt: skip
    spread = max(
        max(r["scores"][k][0] for r in optimizers.values())
        - min(r["scores"][k][0] for r in optimizers.values())
        for k in ("corr_id", "corr_const")
    )
    run.compare("largest spread over optimisers of corr_id or corr_const (ρ=0)", spread, 0.3,
                kind="above", fits=list(optimizers), require="any", note="IC-F32")  # fmt: skip
    for key, value in stability.items():
        run.compare(f"SGD 0.01/0.9 diverged: {key}", int(value["diverged"]), None, kind="report")


EXPERIMENT = Experiment(
    name="ic-cnn-training",
    paper="IC",
    figure="[IC] Figs 31-32: init schemes and optimisers; SGD stability per init/loss reading",
    get_config=get_config,
    science=science,
    keys=("init", "stability", "probes", "patterns"),
)
