"""[INV] Tables 2–4, Fig 3 and Fig 4 through VGG-mini, a VGG-style classifier trained in memjax.

The paper measures pretrained VGG-16 on ILSVRC 2012; neither is available offline. The stand-in
(claims file, (L)): ``VGGMini`` trained with cross-entropy on MNIST's test set split by a fixed
seed, digits padded to 32 × 32 (quick: averaged down to 16 × 16), macro layers of two 3×3 convs
+ 2×2 max pool, and what-where decoders per macro layer (``ConvDecoder``: the pooled activation
unpooled with the encoder's switches, mapped back to the image through Unpool layers that use
the switches of every macro layer below, trained with MSE on the same split). On it:

- Table 2: % of nonzeros of every conv (after ReLU) and pool output on test images.
- Table 3 (learned row): coherence of each conv's filters against unit Gaussian filters.
- Fig 3(a): ‖Wᵀz‖/‖z‖ for model-sparse codes z (≤ 1 nonzero per 2×2 region, the density of
  conv(i,1), capped at 25%) with conv(i,2)'s normalised filters, learned vs unit Gaussian;
  Wᵀ is the full transposed convolution (code S × S, signal (S + 2)², as the paper's D = 15).
- Fig 3(b)–(c): the same ratio for Alg. 2 codes of real conv(i,1) activations before and after
  ReLU (λ = ``lam_fraction``·2‖Wx‖_∞; λ and the solver are unstated in the paper); here Wᵀ is
  the transpose of the net's own "same"-padded conv, which drops what falls off the border.
- Table 4: pool(i) reconstructed through conv(i+1,1)'s code space, rescaled to ‖x‖: IHT
  (x̂ = WᵀM(Wx, k), k = the share of active 2×2 regions of the real ReLU conv(i+1,1) output)
  with the learned or Gaussian filters, Alg. 2 with the same filters, and a Gaussian activation
  of equal norm; relative errors in activation space and, through the decoder (fed with the
  true switches), in image space against the input image.
- Fig 4: images decoded from the deepest reconstructed pool: (a) image, (b) decoded true
  activation, (c) IHT learned, (d) IHT Gaussian, (e) Gaussian activation; §5 (iii): Gaussian
  activations decoded with the true switches against top-left switches.

    memjax run inv-vgg-mini                  # quick: 16 × 16, 4 macro layers, 500 / 500 images
    memjax run inv-vgg-mini --preset paper   # 32 × 32, 5 macro layers, 8,000 / 2,000 images

Measured (quick, seed 0, 143 CPU-s on a shared 2-core CPU; test accuracy 87.2%): Table 2
c(1,1)–p(4) 62.8 / 62.0 / 74.2 / 73.3 / 53.4 / 72.1 / 78.0 / 57.1 / 72.8 / 72.7 / 18.6 / 50.4%
(every pool ≥ its conv; VGG-16 49.1–80.8% early, 23.1% at p(4)). Table 3: learned/random
coherence 0.88 at (1,1), 1.25–3.9× beyond (VGG-16: 1.4×, 4.2–7.4×). Fig 3(a): median ratio
0.99–1.00 at every layer, learned and random. Fig 3(b)–(c), Alg. 2 (100 FISTA steps, λ 5% of
its zero-solution value): learned medians 1.03 / 1.00 / 1.29 / 0.81 before ReLU, 0.84 / 1.09 /
1.29 / 1.01 after, spreads 0.03–0.09; Gaussian medians 0.49–0.73; but the codes fit x poorly
(‖x − Wᵀz‖/‖x‖ after ReLU 0.37–0.78 learned, 0.75–0.89 Gaussian), so this is a lead, not the
paper's "close to 1". Table 4 (median, layers 1 / 2 / 3): activation error IHT learned 0.65 /
0.81 / 0.60, IHT Gaussian 0.91 / 0.86 / 0.91, Alg. 2 learned 0.39 / 0.42 / 0.36, Gaussian
activation 1.41 (√2); image error IHT learned 0.48 / 0.67 / 0.55, IHT Gaussian 0.53 / 0.57 /
0.57, Gaussian activation 1.03 / 0.93 / 0.84 (paper: 0.42 / 0.69 / 0.33, 0.38 / 0.44 / 0.35,
0.61 / 0.86 / 0.65). Both IHT columns beat random activations at every layer, as the paper;
unlike it, learned filters beat Gaussian ones in activation space here. Fig 4 at pool(3):
(b) < (c) and (d) < (e) on 8 of 8 images (criterion 80%; median image errors 0.36 / 0.58 /
0.60 / 0.85); §5 (iii): true switches beat corner switches (top-left at every layer) on 100%
of images (median image error 0.82 true vs 0.99 corner).

The decoders see every macro layer's switches (``decoder_switches="all"``): the paper decodes
"via a pretrained decoding network as in Zhang et al. [2016], which extends a similar
autoencoder architecture as in Dosovitskiy and Brox [2016] to a stacked 'what-where'
autoencoder [Zhao et al., 2016]" (§4.5), and a stacked what-where decoder unpools with the
switches of every pooling layer. The alternative ``decoder_switches="own"`` (the decoded
layer's switches only, nearest upsampling below; 145 CPU-s) leaves Tables 2–3, Fig 3, Table 4's
activation errors and its layer-1 image errors as they are and measures image errors at layers
2 / 3 of 0.80 / 0.82 (IHT learned), 0.71 / 0.91 (IHT Gaussian) and 1.03 / 1.00 (Gaussian
activation); Fig 4 holds on 6 of 8 images and §5 (iii) on 47% (median image error 1.00 true vs
1.00 corner): neither reproduces, so both rest on the lower layers' switches.

What the stand-in cannot show: any VGG-16 or ImageNet number. MNIST's black background makes
every density incomparable with ImageNet's (Table 2), its digits are easy to decode from
switches alone (Fig 4(e)), and the quick net is tiny (8–32 channels, so Gaussian filters have
high coherence too). Only orderings and the qualitative claims transfer.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from memjax import invertibility as inv
from memjax import plotting
from memjax.data import CHECKOUT_MNIST_DIR, mnist_split
from memjax.experiment import Experiment, Run, new_config, summary, train_block
from memjax.models import ConvDecoder, VGGMini, decoder_layers, unpool_2x2, vgg_conv_filters
from memjax.models.vgg import what_where_input
from memjax.plotting import plt

# Table 2 (VGG-16, ILSVRC 2012 validation), % of nonzeros; "459" and "206" read as 45.9, 20.6.
PAPER_SPARSITY = {
    "c(1,1)": 49.1, "c(1,2)": 69.7, "p(1)": 80.8, "c(2,1)": 67.4, "c(2,2)": 49.7, "p(2)": 70.7,
    "c(3,1)": 53.4, "c(3,2)": 51.9, "c(3,3)": 28.7, "p(3)": 45.9, "c(4,1)": 35.6,
    "c(4,2)": 29.6, "c(4,3)": 12.6, "p(4)": 23.1, "c(5,1)": 23.9, "c(5,2)": 20.6,
    "c(5,3)": 7.3, "p(5)": 13.1,
}  # fmt: skip
PAPER_COHERENCE = {  # Table 3: learned / random
    "(1,1)": (0.943, 0.670), "(1,2)": (0.734, 0.122), "(2,1)": (0.644, 0.155),
    "(2,2)": (0.747, 0.105), "(3,1)": (0.584, 0.110), "(3,2)": (0.484, 0.090),
    "(4,1)": (0.460, 0.092), "(4,2)": (0.457, 0.062), "(5,1)": (0.410, 0.070),
    "(5,2)": (0.410, 0.067),
}  # fmt: skip
# Table 4, per macro layer: image space (learned, random filters, random activation), then
# activation space (same three columns).
PAPER_TABLE4 = {
    1: (0.423, 0.380, 0.610, 0.895, 0.872, 1.414), 2: (0.692, 0.438, 0.864, 0.961, 0.926, 1.414),
    3: (0.326, 0.345, 0.652, 0.912, 0.862, 1.414), 4: (0.379, 0.357, 0.436, 1.051, 0.992, 1.414),
}  # fmt: skip
_errors = jax.jit(jax.vmap(inv.relative_error))  # ‖x̂ − x‖/‖x‖ per example
_rescaled = jax.jit(jax.vmap(inv.rescale_to_norm))  # x̂·‖x‖/‖x̂‖ per example
METHODS = ("IHT learned", "IHT random", "Alg2 learned", "Alg2 random", "random act.")
REGION = (2, 2)


def get_config(preset: str = "quick") -> ml_collections.ConfigDict:
    quick = preset == "quick"
    blocks = ((8, 8), (16, 16), (32, 32), (32, 32)) if quick else (
        (32, 32), (64, 64), (128, 128), (128, 128), (128, 128))  # fmt: skip
    steps = 150 if quick else 1500
    return new_config(
        data={"mnist_dir": str(CHECKOUT_MNIST_DIR), "num_train": 500 if quick else 8000,
              "num_test": 500 if quick else 2000, "image_size": 16 if quick else 32},
        model={"blocks": blocks},
        # fit: mean cross-entropy on the training split; decoders: MSE per pixel on [0, 1]
        train=train_block("adam", 3e-3, max_steps=steps, loss="cross_entropy", fit_loss=0.5),
        decoder=train_block("adam", 3e-3, max_steps=steps, fit_loss=0.03),
        images=100 if quick else 200,  # test images for Tables 2 and 4
        draws=200 if quick else 1000,  # synthetic codes per layer, Fig 3(a)
        random_seeds=5,  # Gaussian filter draws for Table 3's random column
        alg2={"images": 8 if quick else 64, "lam_fraction": 0.05,
              "iterations": 100 if quick else 300},
        fig4_images=8,
        # the decoders' "where": "all" (every macro layer's switches, as Zhang et al.'s
        # what-where decoders that the paper uses; ConvDecoder with Unpool layers) or "own"
        # (the decoded layer's switches only, nearest upsampling below)
        decoder_switches="all",
        batch=500,  # images per forward batch (memory: batch × the largest activation)
    )  # fmt: skip


def science(run: Run) -> dict:
    config = run.config
    blocks = tuple(tuple(b) for b in config.model.blocks)
    (x_train, y_train), (x_test, y_test), source = _data(run)
    model = VGGMini(blocks)
    params, _ = run.train("vgg", model, x_train, key=run.keys["init"], targets=y_train)
    logits = _batched(lambda x: model.apply(params, x), x_test, config.batch)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y_test))
    run.compare("VGG-mini test accuracy", accuracy, None, kind="report", fits=["vgg"],
                note=f"{source}; the paper's VGG-16 is pretrained on ImageNet")  # fmt: skip
    images = x_test[: config.images]
    taps = _batched(lambda x: model.apply(params, x, taps=True)[1], images, config.batch)
    results = {"source": source, "accuracy": accuracy}
    results["table2"] = _table2(run, taps, blocks)
    results["table3"] = _table3(run, params, blocks)
    results["fig3"] = _fig3(run, params, taps, blocks)
    decoders = _train_decoders(run, model, params, x_train, blocks)
    results["table4"], reconstructions = _table4(run, params, taps, images, decoders, blocks)
    results["fig4"] = _fig4(run, taps, images, decoders, reconstructions)
    return results


def _data(run: Run):
    """The MNIST split, padded to 32 × 32, averaged over 2 × 2 pixels for ``image_size`` 16."""
    data = run.config.data
    (x_train, y_train), (x_test, y_test), source = mnist_split(
        run.keys["split"], data.mnist_dir, data.num_train, data.num_test
    )
    size = data.image_size
    if size not in (16, 32):
        raise ValueError(f"data.image_size must be 16 or 32, got {size}")

    def prepare(x):
        x = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
        if size == 16:
            x = x.reshape(len(x), 1, 16, 2, 16, 2).mean(axis=(3, 5))
        return jnp.asarray(x, jnp.float32)

    labels = lambda y: jnp.asarray(y, jnp.int32)  # noqa: E731
    return (prepare(x_train), labels(y_train)), (prepare(x_test), labels(y_test)), source


def _batched(fn, images, batch: int):
    """``jax.vmap(fn)`` over ``images`` in batches, results as numpy (a pytree of them)."""
    fn = jax.jit(jax.vmap(fn))
    parts = [jax.tree.map(np.asarray, fn(images[s : s + batch]))
             for s in range(0, len(images), batch)]  # fmt: skip
    return jax.tree.map(lambda *a: np.concatenate(a), *parts)


def _table2(run: Run, taps, blocks) -> dict:
    """% of nonzeros after ReLU per conv and per pool (Table 2's layout)."""
    rows, pool_over_conv = [], []
    for i, block in enumerate(blocks, start=1):
        for j in range(1, len(block) + 1):
            name = f"c({i},{j})"
            rows.append({"layer": name, "ours %": inv.percent_positive(taps[f"conv{i}_{j}"]),
                         "VGG-16 %": PAPER_SPARSITY.get(name)})  # fmt: skip
        pooled = inv.percent_positive(taps[f"pool{i}"])
        pool_over_conv.append(pooled >= rows[-1]["ours %"])
        rows.append({"layer": f"p({i})", "ours %": pooled,
                     "VGG-16 %": PAPER_SPARSITY.get(f"p({i})")})  # fmt: skip
    run.table(rows, title="Table 2: % of nonzeros, VGG-mini on MNIST test images vs VGG-16")
    for row in rows:
        if row["VGG-16 %"] is not None:
            run.compare(f"Table 2 {row['layer']}: % nonzeros", row["ours %"], row["VGG-16 %"],
                        kind="report", fits=["vgg"])  # fmt: skip
    run.compare("Table 2: share of macro layers whose pool is as dense as its last conv or more",
                float(np.mean(pool_over_conv)), 1.0, kind="close", tol=0.0,
                fits=["vgg"])  # fmt: skip
    return {"rows": rows}


def _table3(run: Run, params, blocks) -> dict:
    """Coherence of the learned filters of every conv against unit Gaussian filters (mean)."""
    rows = []
    keys = jax.random.split(run.keys["random"], run.config.random_seeds)
    for i, block in enumerate(blocks, start=1):
        for j in range(1, len(block) + 1):
            filters = vgg_conv_filters(params, f"conv{i}_{j}")
            k, m = filters.shape[:2]
            draw = lambda key, k=k, m=m: inv.coherence(inv.gaussian_filters(key, k, m, (3, 3)))  # noqa: E731
            random = float(jnp.mean(jax.jit(jax.vmap(draw))(keys)))
            learned = float(inv.coherence(filters))
            paper = PAPER_COHERENCE.get(f"({i},{j})", (None, None))
            rows.append({"layer": f"({i},{j})", "M→K": f"{m}→{k}", "learned": learned,
                         "random (mean)": random, "learned/random": learned / random,
                         "VGG-16 learned": paper[0], "VGG-16 random": paper[1]})  # fmt: skip
    run.table(rows, title="Table 3: coherence of VGG-mini's filters vs Gaussian filters")
    run.compare("Table 3: min learned/random coherence over the layers beyond the first",
                min(r["learned/random"] for r in rows[1:]), 1.0, kind="above", fits=["vgg"],
                note="VGG-16: 4.2–7.4× beyond (1,1), 1.4× at (1,1)")  # fmt: skip
    return {"rows": rows}


def _fig3(run: Run, params, taps, blocks) -> dict:
    """Model-RIP ratios with conv(i,2)'s filters: synthetic codes (a), Alg. 2 codes (b)–(c)."""
    config = run.config
    rows = []
    for i, block in enumerate(blocks, start=1):
        if len(block) < 2 or block[0] != block[1]:
            continue
        size = taps[f"conv{i}_1"].shape[-1]
        learned = inv.normalize_filters(vgg_conv_filters(params, f"conv{i}_2"))
        # one key per purpose: the Gaussian filters, and the synthetic codes of (a)
        filter_key, code_key = jax.random.split(jax.random.fold_in(run.keys["codes"], i))
        gaussian = inv.gaussian_filters(filter_key, *learned.shape[:2], (3, 3), scale="unit")
        density = min(inv.percent_positive(taps[f"conv{i}_1"]) / 100, 0.25)
        k = max(1, round(density * block[0] * size * size))
        activations = taps[f"conv{i}_1"][: config.alg2.images]
        for name, filters in (("learned", learned), ("random", gaussian)):
            op = inv.same_conv(filters, (size, size))
            row = {"layer": f"conv({i},2)", "filters": name, "k": k}
            # (a) as the paper and inv-random-vgg: Wᵀ is the full transposed convolution
            full = inv.ConvOperator(filters, (filters.shape[1], size + 2, size + 2))
            row["synthetic"] = inv.ratio_summary(
                inv.sampled_code_ratios(full, code_key, REGION, k, config.draws)
            )
            for when, x in (
                ("before ReLU", activations),
                ("after ReLU", np.maximum(activations, 0)),
            ):
                row[when] = _alg2_ratios(run, op, jnp.asarray(x))
            rows.append(row)
    flat = [{"layer": r["layer"], "filters": r["filters"], "k": r["k"],
             **{f"{p} {s}": r[p][s] for p in ("synthetic", "before ReLU", "after ReLU")
                for s in ("median", "spread")},
             "fit after ReLU": r["after ReLU"]["fit"]} for r in rows]  # fmt: skip
    run.table(flat, title="Fig 3: ‖Wᵀz‖/‖z‖ with conv(i,2)'s normalised filters (median, spread)")
    for r in rows:
        label = f"Fig 3 {r['layer']} {r['filters']}"
        run.compare(f"{label} (a) synthetic: median ratio", r["synthetic"]["median"], 1.0,
                    tol=0.05, fits=["vgg"])  # fmt: skip
        for when, panel in (("before ReLU", "b"), ("after ReLU", "c")):
            run.compare(f"{label} ({panel}) Alg. 2 {when}: |median − 1|",
                        abs(r[when]["median"] - 1), 0.05, kind="below", fits=["vgg"])  # fmt: skip
            run.compare(f"{label} ({panel}) Alg. 2 {when}: (p95 − p5)/2", r[when]["spread"],
                        0.05, kind="below", fits=["vgg"])  # fmt: skip
    _plot_fig3(run, rows)
    return {"rows": rows}


def _alg2(run: Run, op, xs):
    cfg = run.config.alg2
    return inv.recover_sparse_codes(op, xs, run.keys["codes"], cfg.lam_fraction, REGION,
                                    cfg.iterations)  # fmt: skip


@functools.partial(jax.jit, static_argnames=("k",))
def _iht(op, xs, k: int):
    """One IHT pass ``x̂ = WᵀM(Wx, k)`` per signal, rescaled to ``‖x‖``."""
    return jax.vmap(lambda x: inv.rescale_to_norm(inv.reconstruct(op, x, k, REGION)[1], x))(xs)


@jax.jit
def _adjoints(op, z):
    """``Wᵀz`` per code of the batch ``z``."""
    return jax.vmap(op.adjoint)(z)


def _alg2_ratios(run: Run, op, xs) -> dict:
    z = _alg2(run, op, xs)
    x_hat = _adjoints(op, z)
    norm = lambda a: jnp.sqrt(jnp.sum(a**2, axis=tuple(range(1, a.ndim))))  # noqa: E731
    stats = inv.ratio_summary(norm(x_hat) / norm(z))
    stats["fit"] = float(jnp.median(norm(xs - x_hat) / norm(xs)))
    stats["density"] = float(jnp.mean(z != 0))
    return stats


def _train_decoders(run: Run, model, params, x_train, blocks) -> dict:
    """One what-where decoder per macro layer used by Table 4 (pool(i) → image).

    Each is returned as ``decode(pooled, switches, lower)`` on a batch, jitted (one compile
    per batch shape); ``lower`` holds the switch maps of the macro layers below
    (``_lower_switches``), used with ``decoder_switches="all"`` only.
    """
    decoders = {}
    every = run.config.decoder_switches == "all"
    for layer in range(1, len(blocks)):

        def decoder_input(x, layer=layer):
            taps = model.apply(params, x, taps=True)[1]
            unpooled = unpool_2x2(taps[f"pool{layer}"], taps[f"switches{layer}"])
            if not every:
                return unpooled
            return what_where_input(unpooled, _lower_switches(taps, layer))

        inputs = jnp.asarray(_batched(decoder_input, x_train, run.config.batch))
        layers = decoder_layers(blocks, layer, switches=run.config.decoder_switches)
        map_shape = (blocks[layer - 1][-1], *(d // 2 ** (layer - 1) for d in x_train.shape[-2:]))
        decoder = ConvDecoder(layers, map_shape=map_shape if every else None)
        key = jax.random.fold_in(run.keys["decoders"], layer)
        decoder_params, _ = run.train(f"decoder{layer}", decoder, inputs, key=key,
                                      targets=x_train, block="decoder")  # fmt: skip

        def decode(p, a, s, lower, d=decoder):
            unpooled = unpool_2x2(a, s)
            return d.apply(p, what_where_input(unpooled, lower) if every else unpooled)

        batched = jax.jit(jax.vmap(decode, in_axes=(None, 0, 0, 0)))
        decoders[layer] = functools.partial(batched, decoder_params)
    return decoders


def _lower_switches(taps, layer: int, n: int | None = None) -> tuple:
    """The switches of the macro layers below ``layer``, in decoding order (first ``n``)."""
    return tuple(taps[f"switches{i}"][:n] for i in range(layer - 1, 0, -1))


def _reconstructions(run: Run, params, taps, layer: int, blocks) -> dict:
    """Each method's reconstruction of pool(layer), rescaled to ‖x‖: ``(n, C, S, S)`` arrays."""
    xs = jnp.asarray(taps[f"pool{layer}"])
    size = xs.shape[-1]
    learned = vgg_conv_filters(params, f"conv{layer + 1}_1")
    key = jax.random.fold_in(run.keys["random"], 100 + layer)
    gaussian = inv.gaussian_filters(key, *learned.shape[:2], (3, 3))
    # k: the share of active 2×2 regions of the real ReLU conv(i+1,1) output (its pooled map)
    k, regions = inv.active_regions(taps[f"conv{layer + 1}_1"], REGION)
    out = {"k": k, "regions": regions}
    for name, filters in (("learned", learned), ("random", gaussian)):
        op = inv.same_conv(filters, (size, size))
        out[f"IHT {name}"] = _iht(op, xs, k)
        n_alg2 = run.config.alg2.images
        op_unit = inv.same_conv(inv.normalize_filters(filters), (size, size))
        z = _alg2(run, op_unit, xs[:n_alg2])
        out[f"Alg2 {name}"] = _rescaled(_adjoints(op_unit, z), xs[:n_alg2])
    noise = jax.random.normal(jax.random.fold_in(run.keys["noise"], layer), xs.shape)
    out["random act."] = _rescaled(noise, xs)
    return out


def _table4(run: Run, params, taps, images, decoders, blocks) -> tuple[dict, dict]:
    """Table 4's errors per layer; also returns each layer's reconstructions (for Fig 4)."""
    rows, per_image, reconstructions = [], {}, {}
    for layer in decoders:
        xs, switches = jnp.asarray(taps[f"pool{layer}"]), jnp.asarray(taps[f"switches{layer}"])
        recon = reconstructions[layer] = _reconstructions(run, params, taps, layer, blocks)
        decode = decoders[layer]
        lower = jax.tree.map(jnp.asarray, _lower_switches(taps, layer))
        true_image = _errors(decode(xs, switches, lower), images)
        row = {"layer": layer, "k": recon["k"], "regions": recon["regions"],
               "image: decoder on x": float(np.median(true_image))}  # fmt: skip
        errors = {"decoded x": np.asarray(true_image)}
        for method in METHODS:
            x_hat = recon[method]
            n = len(x_hat)
            lower_n = jax.tree.map(lambda a, n=n: a[:n], lower)
            act = np.asarray(_errors(x_hat, xs[:n]))
            img = np.asarray(_errors(decode(x_hat, switches[:n], lower_n), images[:n]))
            row[f"act: {method}"], row[f"image: {method}"] = (
                float(np.median(act)),
                float(np.median(img)),
            )
            errors[method] = {"activation": act, "image": img}
        rows.append(row)
        per_image[layer] = errors
        paper = PAPER_TABLE4.get(layer)
        for method, col in (("IHT learned", 0), ("IHT random", 1), ("random act.", 2)):
            run.compare(f"Table 4 layer {layer} image error, {method}", row[f"image: {method}"],
                        paper[col] if paper else None, kind="report",
                        fits=["vgg", f"decoder{layer}"])  # fmt: skip
            run.compare(f"Table 4 layer {layer} activation error, {method}",
                        row[f"act: {method}"], paper[3 + col] if paper else None, kind="report",
                        fits=["vgg"])  # fmt: skip
        run.compare(f"Table 4 layer {layer}: random-activation error", row["act: random act."],
                    2**0.5, kind="close", tol=0.02, fits=["vgg"])  # fmt: skip
        for method in ("IHT learned", "IHT random"):
            run.compare(f"Table 4 layer {layer}: {method} activation error below random act.",
                        row[f"act: {method}"], row["act: random act."], kind="below",
                        fits=["vgg"])  # fmt: skip
            run.compare(f"Table 4 layer {layer}: {method} image error below random act.",
                        row[f"image: {method}"], row["image: random act."], kind="below",
                        fits=["vgg", f"decoder{layer}"])  # fmt: skip
    run.table(rows, title="Table 4: median relative errors (activation and image space)")
    return {"rows": rows, "per_image": per_image}, reconstructions


def _fig4(run: Run, taps, images, decoders, reconstructions) -> dict:
    """Images decoded from the deepest reconstructed pool; true vs corner switches (§5 iii)."""
    layer = max(decoders)
    n = run.config.fig4_images
    xs, switches = jnp.asarray(taps[f"pool{layer}"][:n]), jnp.asarray(taps[f"switches{layer}"][:n])
    recon = {name: a[:n] for name, a in reconstructions[layer].items() if name in METHODS}
    decode = decoders[layer]
    lower = jax.tree.map(jnp.asarray, _lower_switches(taps, layer, n))
    columns = {"(b) decoded x": decode(xs, switches, lower),
               "(c) IHT learned": decode(recon["IHT learned"], switches, lower),
               "(d) IHT random": decode(recon["IHT random"], switches, lower),
               "(e) random act.": decode(recon["random act."], switches, lower)}  # fmt: skip
    error = {name: np.asarray(_errors(out, images[:n]))
             for name, out in columns.items()}  # fmt: skip
    share = float(np.mean((error["(b) decoded x"] < error["(c) IHT learned"])
                          & (error["(d) IHT random"] < error["(e) random act."])))  # fmt: skip
    run.compare(f"Fig 4 pool({layer}): share of images with (b) < (c) and (d) < (e)", share, 0.8,
                kind="above", fits=["vgg", f"decoder{layer}"])  # fmt: skip
    # §5 (iii): the switches alone carry the image: Gaussian activations, true vs corner switches
    all_x, all_s = jnp.asarray(taps[f"pool{layer}"]), jnp.asarray(taps[f"switches{layer}"])
    noise = _rescaled(jax.random.normal(run.keys["noise"], all_x.shape), all_x)
    all_lower = jax.tree.map(jnp.asarray, _lower_switches(taps, layer))
    corners = jax.tree.map(jnp.zeros_like, (all_s, all_lower))  # top-left at every layer
    true_s = _errors(decode(noise, all_s, all_lower), images)
    corner = _errors(decode(noise, *corners), images)
    switch_share = float(np.mean(true_s < corner))
    run.compare(f"§5 (iii) pool({layer}): share of images better decoded with true switches",
                switch_share, 0.8, kind="above", fits=["vgg", f"decoder{layer}"])  # fmt: skip
    rows = [[images[i], *(c[i] for c in columns.values())] for i in range(n)]
    plotting.image_grid(rows, [f"#{i}" for i in range(n)], run.figure("fig4"),
                        col_labels=["(a) image", *columns],
                        title=f"Decoded from VGG-mini pool({layer})")  # fmt: skip
    return {"layer": layer, "share": share, "errors": {k: summary(v) for k, v in error.items()},
            "switches": {"true": summary(true_s), "corner": summary(corner),
                         "share": switch_share}}  # fmt: skip


FIG3_PANELS = {"synthetic": "(a) model-sparse codes", "before ReLU": "(b) Alg. 2, pre-ReLU",
               "after ReLU": "(c) Alg. 2, post-ReLU"}  # fmt: skip


def _plot_fig3(run: Run, rows) -> None:
    """Median ‖Wᵀz‖/‖z‖ with its p5–p95 range per layer, one marker per filter kind."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), sharey=True)
    for ax, panel in zip(axes, FIG3_PANELS, strict=True):
        for filters, marker in (("learned", "o"), ("random", "s")):
            stats = [(r["layer"], r[panel]) for r in rows if r["filters"] == filters]
            median = np.array([s["median"] for _, s in stats])
            low, high = (np.array([s[p] for _, s in stats]) for p in ("p5", "p95"))
            ax.errorbar([f"{layer} {filters[0].upper()}" for layer, _ in stats], median,
                        yerr=[median - low, high - median], fmt=marker, capsize=3,
                        label=f"{filters} filters")  # fmt: skip
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(FIG3_PANELS[panel], fontsize=9)
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("‖Wᵀz‖/‖z‖ (median, p5–p95)")
    axes[0].legend(fontsize=7)
    plotting.save(fig, run.figure("fig3"))


EXPERIMENT = Experiment(
    name="inv-vgg-mini",
    paper="INV",
    figure="[INV] Tables 2–4, Figs 3–4 analogue: VGG-mini trained on MNIST, IHT and Alg. 2",
    get_config=get_config,
    science=science,
    keys=("split", "init", "decoders", "random", "codes", "noise"),
)
