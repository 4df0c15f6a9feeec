"""[IC] App B: the identity is representable — explicit weights under which [IC]'s nets
compute ``f(x) = x`` exactly.

- B.1, linear nets: every weight matrix (or the centre tap of every conv) is an identity, so
  hidden widths (channels) of at least the input's suffice.
- B.2, ReLU FCN: ``W₁ = [I; −I]``, middle layers ``I_{2d}``, top ``[I, −I]``:
  ``ReLU(x) − ReLU(−x) = x``, so hidden widths of at least ``2d`` (2,048 ≥ 1,568 for MNIST).
- B.3, conv: the centre tap ``W[⌊K/2⌋, ⌊K/2⌋, c, c] = 1`` (odd K, padding (K−1)/2) is a 1 × 1
  identity; a ReLU CNN carries ``+x`` and ``−x`` in two hidden channels per image channel and
  recombines them in the last layer. Zero padding never enters: only the centre tap is set.

Biases are 0 throughout. The paper's point is that SGD need not find these weights; the
functions here build them for any ``ic_fcn`` / ``ic_cnn`` so a test can check ``f(x) = x``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from memjax.models import ConvAutoencoder, MLPAutoencoder, layer_index


def identity_params(model: MLPAutoencoder | ConvAutoencoder, example, dtype=jnp.float32):
    """App B's identity weights for ``model`` (an ``ic_fcn`` or ``ic_cnn``), shaped as
    ``model.init(key, example)``.

    Args:
      model: an ``MLPAutoencoder`` or an ``ic_cnn`` (stride 1, odd K, padding (K−1)/2),
        activation ``"linear"`` or ``"relu"`` (after every layer but the last).
      example: one ``(C, H, W)`` input; only its shape is used.
      dtype: of the returned weights (float64 for exact checks).

    Raises:
      ValueError: a hidden layer narrower than the construction needs (the input size for a
        linear net, twice it for a ReLU net) or another activation.
    """
    if model.activation not in ("linear", "relu"):
        raise ValueError(f"App B covers linear and ReLU nets, not {model.activation!r}")
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros(np.shape(example)))
    layers = shapes["params"]
    names = sorted(layers, key=layer_index)
    conv = isinstance(model, ConvAutoencoder)
    d = np.shape(example)[0] if conv else int(np.prod(np.shape(example)))
    # A hidden unit carries one signed copy of an input coordinate: +x (linear), or +x and
    # −x (ReLU, since ReLU(x) − ReLU(−x) = x). ``copies`` (d, k·d) maps x to its k copies.
    copies = np.eye(d) if model.activation == "linear" else np.hstack([np.eye(d), -np.eye(d)])
    params = {}
    for i, name in enumerate(names):
        shape = layers[name]["kernel"].shape
        fan_in, fan_out = shape[-2:]
        if len(names) == 1:
            matrix = np.eye(d)
        elif i == 0:
            matrix = _pad(copies, d, fan_out, name)
        elif i == len(names) - 1:
            matrix = _pad(copies.T, fan_in, d, name)
        else:
            matrix = _pad(np.eye(copies.shape[1]), fan_in, fan_out, name)
        kernel = np.zeros(shape)
        if conv:
            kernel[shape[0] // 2, shape[1] // 2] = matrix
        else:
            kernel[...] = matrix
        params[name] = {"kernel": jnp.asarray(kernel, dtype)}
        if "bias" in layers[name]:
            params[name]["bias"] = jnp.zeros(layers[name]["bias"].shape, dtype)
    return {"params": params}


def _pad(matrix: np.ndarray, rows: int, columns: int, name: str) -> np.ndarray:
    """``matrix`` in the top-left corner of a ``rows × columns`` zero matrix."""
    if matrix.shape[0] > rows or matrix.shape[1] > columns:
        raise ValueError(
            f"{name}: a {rows} × {columns} layer cannot hold App B's {matrix.shape[0]} × "
            f"{matrix.shape[1]} block (hidden widths must be ≥ the copies of the input)"
        )
    padded = np.zeros((rows, columns))
    padded[: matrix.shape[0], : matrix.shape[1]] = matrix
    return padded
