"""Inside a trained [IC] CNN: per-layer representations, upper sub-networks, weight change and
the per-layer similarity classifier (Figs 5, 15–19, 21–24).

The [IC] CNN is a :class:`memjax.models.ConvAutoencoder` of stride-1 convolutions (layers
``conv0 … conv{L−1}``, activation after all but the last). Its layers are applied one by one
here with the same :class:`memjax.models.conv.Conv2d` module and parameters, so a layer's
output is exactly what the full network computes, and an upper sub-network can be fed
directly (App H.2).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from memjax.identity.probes import correlation
from memjax.models.conv import Conv, Conv2d, ConvAutoencoder, get_activation, layer_index


def _check_stack(model: ConvAutoencoder) -> list[Conv]:
    if not isinstance(model, ConvAutoencoder):
        raise ValueError(f"model must be a ConvAutoencoder, got {type(model).__name__}")
    if model.skip_every or not all(isinstance(layer, Conv) for layer in model.layers):
        raise ValueError("per-layer analysis needs a plain stack of Conv layers (no skips)")
    return list(model.layers)


def layer_activations(model: ConvAutoencoder, params, image, start: int = 0) -> list[jax.Array]:
    """Each layer's output ``(C_ℓ, H, W)`` for one image entering at conv ``start``.

    ``start = 0`` gives the lower sub-networks' outputs of Figs 15–18 (post-activation; the
    last entry is the network's output). ``start > 0`` feeds ``image`` straight into conv
    ``start`` (the upper sub-network of Figs 22–24); a one-channel image is copied over the
    channels that conv expects, as App H.2 does with grayscale patterns. Any image size works
    (convolutions are size-agnostic; Figs 6, 7, 20, 21).

    Returns:
      ``L − start`` arrays, one per conv from ``start`` to the output.
    """
    convs = _check_stack(model)
    if not 0 <= start < len(convs):
        raise ValueError(f"start must be in [0, {len(convs)}), got {start}")
    expected = convs[start - 1].features if start else jnp.shape(image)[0]
    x = jnp.moveaxis(jnp.asarray(image), 0, -1)
    if x.shape[-1] == 1 and expected > 1:
        x = jnp.broadcast_to(x, (*x.shape[:-1], expected))
    if x.shape[-1] != expected:
        raise ValueError(f"conv {start} takes {expected} channels, the image has {x.shape[-1]}")
    act = get_activation(model.activation)
    outputs = []
    for index in range(start, len(convs)):
        conv = Conv2d(convs[index], model.use_bias, model.kernel_init, model.init_scale)
        x = conv.apply({"params": params["params"][f"conv{index}"]}, x)
        if index < len(convs) - 1 or model.activate_last:
            x = act(x)
        outputs.append(jnp.moveaxis(x, -1, 0))
    return outputs


@functools.lru_cache(maxsize=32)
def _batched_layers(model: ConvAutoencoder, start: int):
    return jax.jit(jax.vmap(lambda p, x: layer_activations(model, p, x, start), in_axes=(None, 0)))


def batched_layer_activations(model, params, images, start: int = 0) -> list[np.ndarray]:
    """:func:`layer_activations` of ``(n, C, H, W)`` images in one jitted call: a list of
    ``(n, C_ℓ, H, W)`` arrays. Memory: all layers of all n images at once."""
    return [np.asarray(a) for a in _batched_layers(model, start)(params, jnp.asarray(images))]


def top_singular_image(activation, reference=None) -> np.ndarray:
    """The top right singular vector of a layer's ``(C, H·W)`` matrix as an ``(H, W)`` image
    (Fig 15's view). Its sign is arbitrary; it is fixed so that the image correlates
    positively with ``reference`` (the input, ``(H, W)``), else so that its sum is ≥ 0."""
    h = np.asarray(activation, np.float64)
    if h.ndim != 3:
        raise ValueError(f"activation must be (C, H, W), got shape {h.shape}")
    _, _, vt = np.linalg.svd(h.reshape(h.shape[0], -1), full_matrices=False)
    image = vt[0].reshape(h.shape[1:])
    if reference is None:
        sign = np.sign(image.sum())
    else:
        sign = np.sign(correlation(image[None], np.asarray(reference)[None])[0])
    return image * (sign if sign != 0 else 1.0)


def most_correlated_channel(activation, image) -> int:
    """Index of the channel of ``activation`` ``(C, H, W)`` with the largest Pearson correlation
    to ``image`` ``(H, W)`` (Figs 16–18's middle view); a constant channel counts as 0."""
    h = np.asarray(activation, np.float64)
    return int(np.argmax(correlation(h, np.asarray(image)[None])))


def layer_views(activation, image, channel: int = 0) -> dict[str, np.ndarray]:
    """The three views of Figs 16–18 for one layer: ``singular`` (top singular vector),
    ``correlated`` (the channel most correlated with ``image``) and ``channel`` (a fixed
    channel, channel 0 in the paper). Each is ``(H, W)``."""
    h = np.asarray(activation)
    if not 0 <= channel < h.shape[0]:
        raise ValueError(f"channel must be in [0, {h.shape[0]}), got {channel}")
    return {
        "singular": top_singular_image(h, image),
        "correlated": h[most_correlated_channel(h, image)],
        "channel": h[channel],
    }


def layer_kernels(params) -> list[tuple[str, np.ndarray]]:
    """``(name, kernel)`` of every layer, bottom to top (ordered by the number in the name:
    ``conv0 … conv{L−1}``, ``dense0 … dense{L−1}``). Biases are left out."""
    layers = params["params"]
    named = [(name, layer["kernel"]) for name, layer in layers.items() if "kernel" in layer]
    if len(named) != len(layers):
        raise ValueError("every layer must hold a 'kernel' directly (no scanned stacks)")
    return sorted(((n, np.asarray(k)) for n, k in named), key=lambda item: layer_index(item[0]))


def relative_weight_change(params_init, params_trained) -> np.ndarray:
    """``d(W⁰, W*) = ‖W⁰ − W*‖_F / ‖W⁰‖_F`` per layer, bottom to top ([IC] App G, Fig 19)."""
    before, after = layer_kernels(params_init), layer_kernels(params_trained)
    if [n for n, _ in before] != [n for n, _ in after]:
        raise ValueError("the two parameter sets have different layers")
    return np.array(
        [
            np.linalg.norm(np.float64(w1) - w0) / np.linalg.norm(np.float64(w0))
            for (_, w0), (_, w1) in zip(before, after, strict=True)
        ]
    )


def class_sums(features, labels, n_classes: int = 10) -> np.ndarray:
    """``(n_classes, D)``: the sum of the reference features of each class."""
    features = np.asarray(features, np.float64).reshape(len(features), -1)
    return np.eye(n_classes)[np.asarray(labels)].T @ features


def similarity_classifier_error(sums, query_features, query_labels) -> float:
    """Error of [IC] §3.2's similarity-weighted classifier (Fig 5).

    A query x_i gets class ``argmax_c Σ_j ⟨h(x_i), h(x_j)⟩ 1[y_j = c]`` over the reference
    set, i.e. the inner product with each class's summed features (``sums`` from
    :func:`class_sums`).
    """
    query = np.asarray(query_features, np.float64).reshape(len(query_features), -1)
    return float(np.mean(np.argmax(query @ sums.T, axis=1) != np.asarray(query_labels)))


def layerwise_classifier_errors(
    model: ConvAutoencoder,
    params,
    reference: tuple[np.ndarray, np.ndarray],
    query: tuple[np.ndarray, np.ndarray],
    batch_size: int = 250,
    n_classes: int = 10,
) -> np.ndarray:
    """Fig 5's curve: the classifier error of the input and of every layer's output.

    Args:
      reference, query: ``(images (n, C, H, W), labels (n,))``; the paper uses the MNIST
        training set as reference and the test set as queries.
      batch_size: images per compiled call. Memory: ``batch_size`` images' activations at
        every layer (250 × 20 layers × 32 × 784 floats ≈ 0.5 GB), plus the class sums,
        ``(L + 1) × n_classes × C·H·W`` float64.

    Returns:
      ``(L + 1,)`` errors: index 0 the input, index ℓ the output of conv ℓ − 1.
    """

    def features(images):  # yields, per batch, [input, layer 1, …, layer L] flattened
        for i in range(0, len(images), batch_size):
            batch = np.asarray(images[i : i + batch_size], np.float32)
            yield [batch, *batched_layer_activations(model, params, batch)]

    ref_images, ref_labels = reference
    sums = None
    for i, batch in enumerate(features(ref_images)):
        labels = ref_labels[i * batch_size : (i + 1) * batch_size]
        batch_sums = [class_sums(h, labels, n_classes) for h in batch]
        sums = (
            batch_sums if sums is None else [s + b for s, b in zip(sums, batch_sums, strict=True)]
        )
    query_images, query_labels = query
    wrong = np.zeros(len(sums))
    for i, batch in enumerate(features(query_images)):
        labels = np.asarray(query_labels[i * batch_size : (i + 1) * batch_size])
        wrong += [
            similarity_classifier_error(s, h, labels) * len(labels)
            for s, h in zip(sums, batch, strict=True)
        ]
    return wrong / len(query_images)
