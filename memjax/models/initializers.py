"""Weight initializers by name, with the conventions of the papers.

Kernels use Flax's layouts: conv kernels are HWIO ``(kh, kw, in, out)``, dense kernels are
``(in, out)``. Fans follow PyTorch: ``fan_in = in * kh * kw`` and ``fan_out = out * kh * kw``,
so a name here draws from the same distribution as the PyTorch initializer of that name.

Names:
  ``pytorch``          U(±1/√fan_in), PyTorch's default for ``nn.Conv2d``/``nn.Linear``
                       (kaiming_uniform with a = √5). [DS] §3 describes it as 1/√P.
  ``xavier_uniform``   U(±√(6/(fan_in + fan_out)))
  ``xavier_normal``    N(0, 2/(fan_in + fan_out))
  ``kaiming_uniform``  U(±√(6/fan_in))     (PyTorch defaults: ReLU gain, fan_in mode)
  ``kaiming_normal``   N(0, 2/fan_in)
  ``orthogonal``       orthogonal over the (fan_in, out) matricisation
  ``ic_default``       N(0, 1/(fan_in·fan_out)), the "default" of [IC]
  ``constant:C``       every entry equals C (e.g. ``constant:1.8e-3`` for D2 of [MO1])
  ``uniform:LO:HI``    U(LO, HI), e.g. ``uniform:0.1:0.3``: random around a constant, so that
                       seeds differ where [MO1] initializes near a constant
  ``zero``             all zeros ([MO1] Thm 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

Initializer = Callable[[jax.Array, tuple[int, ...], jnp.dtype], jax.Array]

_VARIANCE_SCALING = {
    # name: (scale, mode, distribution) for jax.nn.initializers.variance_scaling
    "pytorch": (1.0 / 3.0, "fan_in", "uniform"),
    "xavier_uniform": (1.0, "fan_avg", "uniform"),
    "xavier_normal": (1.0, "fan_avg", "normal"),
    "kaiming_uniform": (2.0, "fan_in", "uniform"),
    "kaiming_normal": (2.0, "fan_in", "normal"),
}

INITIALIZERS = (
    *_VARIANCE_SCALING,
    "orthogonal",
    "ic_default",
    "constant:C",
    "uniform:LO:HI",
    "zero",
)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """PyTorch's (fan_in, fan_out) of a Flax kernel shape (..., in, out)."""
    if len(shape) < 2:
        raise ValueError(f"a kernel needs at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _ic_default(key, shape, dtype=jnp.float32):
    fan_in, fan_out = fans(shape)
    return jax.random.normal(key, shape, dtype) / math.sqrt(fan_in * fan_out)


def get_initializer(name: str) -> Initializer:
    """Returns the kernel initializer called ``name`` (see the module docstring).

    Raises:
      ValueError: ``name`` is not one of ``INITIALIZERS``.
    """
    if name in _VARIANCE_SCALING:
        scale, mode, distribution = _VARIANCE_SCALING[name]
        return jax.nn.initializers.variance_scaling(scale, mode, distribution)
    if name == "orthogonal":
        base = jax.nn.initializers.orthogonal()

        def orthogonal(key, shape, dtype=jnp.float32):
            fan_in = fans(shape)[0]
            return base(key, (fan_in, shape[-1]), dtype).reshape(shape)

        return orthogonal
    if name == "ic_default":
        return _ic_default
    if name == "zero":
        return jax.nn.initializers.zeros
    if name.startswith("constant:"):
        try:
            value = float(name.split(":", 1)[1])
        except ValueError:
            message = f"kernel_init {name!r}: 'constant:' must be followed by a number"
            raise ValueError(message) from None
        return jax.nn.initializers.constant(value)
    if name.startswith("uniform:"):
        return _uniform(name)
    raise ValueError(f"unknown kernel_init {name!r}; choose one of {', '.join(INITIALIZERS)}")


def _uniform(name: str) -> Initializer:
    try:
        low, high = (float(v) for v in name.split(":")[1:])
    except ValueError:
        raise ValueError(f"kernel_init {name!r}: write uniform:LO:HI with LO < HI") from None
    if not low < high:
        raise ValueError(f"kernel_init {name!r}: write uniform:LO:HI with LO < HI")

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, low, high)

    return init


def pytorch_bias_init(fan_in: int) -> Initializer:
    """PyTorch's default bias: U(±1/√fan_in), which needs the kernel's fan_in."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def constant_inits(model, example, values) -> dict:
    """``model``'s parameters with every entry equal to ``values[i]``, stacked on a leading run
    axis (one run per value), for runs started from ``init_params`` alone: [MO1] Table 2
    sweeps "as close to zero as possible" over constant initial values this way."""
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), example)  # shapes only
    return jax.tree.map(lambda p: jnp.asarray(values, p.dtype).reshape(-1, *[1] * p.ndim)
                        * jnp.ones(p.shape, p.dtype)[None], shapes)  # fmt: skip


def output_norm_at_init(model, key: jax.Array, x) -> float:
    """‖f(x)‖ of ``model`` under ``model.init(key, x)``, the start a run with ``key`` trains
    from: how an initializer's gain compounds over the layers ([DS] App E, [MO1] Fig 8)."""
    x = jnp.asarray(x)
    return float(jnp.linalg.norm(model.apply(model.init(key, x), x)))
