"""One convolutional layer as the matrix ``W`` of [INV] §2.2 (Figure 1), matrix-free and explicit.

``W`` is the ``Kn × MD`` matrix whose row ``(i, j)`` is filter ``i`` shifted by ``j·t`` in every
one of the ``M`` input channels: ``h = W x`` is a convolution layer (cross-correlation summed over
channels, PyTorch conventions: filters ``(K, M, *window)``, channels first), and ``x = Wᵀ z`` is
its transposed convolution, which generates a signal from a code ``z`` of shape ``(K, *n)``.
``ConvOperator`` holds the filters as a pytree leaf, so a batch of operators (one per filter
draw) is a ``jax.vmap`` away; ``matrix()`` builds ``W`` explicitly, for small sizes only.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from memjax.operator import conv_matrix

PADDINGS = ("valid", "circular")
FILTER_SCALES = ("fan_in", "unit", "none")


@dataclasses.dataclass(frozen=True)
class ConvOperator:
    """``W`` of one conv layer: ``forward`` is ``h = W x``, ``adjoint`` is ``x = Wᵀ z``.

    Attributes:
      filters: ``(K, M, *window)``; 1-d (``window = (ℓ,)``) or 2-d (``(ℓ, ℓ)``) filter bank.
      input_shape: ``(M, *spatial)``, the shape of one signal ``x``.
      stride: ``t``, the same along every spatial axis.
      padding: ``"valid"`` (the paper's ``n = (D − ℓ)/t + 1`` shifts), ``"circular"``
        (``n = D/t`` shifts that wrap around) or an int of zeros added on each side.

    Raises:
      ValueError: the filters do not match ``input_shape`` or the number of shifts is not an
        integer (the paper assumes it is).
    """

    filters: jax.Array
    input_shape: tuple[int, ...]
    stride: int = 1
    padding: str | int = "valid"

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        if not hasattr(self.filters, "shape"):  # placeholder leaves during tree transforms
            return
        shape = self.filters.shape
        if len(shape) not in (3, 4) or len(self.input_shape) != len(shape) - 1:
            raise ValueError(
                f"filters must be (K, M, ℓ) or (K, M, ℓ, ℓ) matching input_shape (M, *spatial); "
                f"got filters {shape} and input_shape {self.input_shape}"
            )
        if shape[1] != self.input_shape[0]:
            raise ValueError(f"filters have {shape[1]} channels, input_shape {self.input_shape}")
        if not isinstance(self.stride, int) or self.stride < 1:
            raise ValueError(f"stride must be a positive int, got {self.stride!r}")
        if self.padding not in PADDINGS and not (
            isinstance(self.padding, int) and self.padding >= 0
        ):
            raise ValueError(
                f"padding must be one of {PADDINGS} or an int ≥ 0, got {self.padding!r}"
            )
        self.code_shape  # noqa: B018 (validates the number of shifts)

    @property
    def window(self) -> tuple[int, ...]:
        return tuple(self.filters.shape[2:])

    @property
    def code_shape(self) -> tuple[int, ...]:
        """``(K, *n)``: the shape of ``h = W x`` and of a code ``z``."""
        spatial = []
        for size, ell in zip(self.input_shape[1:], self.window, strict=True):
            span = size if self.padding == "circular" else size + 2 * self._zeros - ell
            if span < 0 or span % self.stride:
                raise ValueError(
                    f"the number of shifts is not an integer: size {size}, filter {ell}, "
                    f"stride {self.stride}, padding {self.padding!r}"
                )
            spatial.append(span // self.stride + (self.padding != "circular"))
        return (self.filters.shape[0], *spatial)

    @property
    def _zeros(self) -> int:
        return self.padding if isinstance(self.padding, int) else 0

    def forward(self, x: jax.Array) -> jax.Array:
        """``h = W x``: ``(M, *spatial) → (K, *n)``, in true float32/float64 (HIGHEST)."""
        nd = len(self.window)
        if self.padding == "circular":
            x = jnp.pad(x, [(0, 0)] + [(0, ell - 1) for ell in self.window], mode="wrap")
        elif self._zeros:
            x = jnp.pad(x, [(0, 0)] + [(self._zeros, self._zeros)] * nd)
        out = lax.conv_general_dilated(
            x[None],
            self.filters.astype(x.dtype),
            window_strides=(self.stride,) * nd,
            padding="VALID",
            precision=lax.Precision.HIGHEST,
        )
        return out[0]

    def adjoint(self, z: jax.Array) -> jax.Array:
        """``x = Wᵀ z``: ``(K, *n) → (M, *spatial)``, the transposed convolution."""
        primal = jax.ShapeDtypeStruct(self.input_shape, z.dtype)
        return jax.linear_transpose(self.forward, primal)(z)[0]

    def matrix(self) -> np.ndarray:
        """The explicit ``Kn × MD`` float64 matrix, rows and columns in C order of the shapes.

        Memory: ``8·Kn·MD`` bytes (21 MiB at the paper's 5×1×32×96, D = 32). Built from the
        definition of §2.2 (1-d) or by ``memjax.operator.conv_matrix`` (2-d, square inputs,
        zero padding), independently of ``forward``.
        """
        filters = np.asarray(self.filters, np.float64)
        if filters.ndim == 3:
            return _matrix_1d(filters, self.input_shape[1], self.stride, self.padding)
        size = self.input_shape[1]
        if self.input_shape[2] != size or self.padding == "circular":
            raise ValueError("explicit 2-d matrices need square inputs and zero padding")
        return conv_matrix(filters, size, self.stride, self._zeros)


jax.tree_util.register_dataclass(
    ConvOperator, data_fields=["filters"], meta_fields=["input_shape", "stride", "padding"]
)


def _matrix_1d(filters: np.ndarray, size: int, stride: int, padding: str | int) -> np.ndarray:
    """Row ``(i, j)`` = filter ``i`` at offset ``j·t`` in every channel ([INV] Figure 1)."""
    num_filters, channels, ell = filters.shape
    circular = padding == "circular"
    zeros = 0 if circular or padding == "valid" else padding
    shifts = size // stride if circular else (size + 2 * zeros - ell) // stride + 1
    w = np.zeros((num_filters, shifts, channels, size))
    j = np.arange(shifts)
    for a in range(ell):
        src = j * stride + a - zeros
        if circular:
            src %= size
        inside = (src >= 0) & (src < size)
        # advanced indices around a slice go first: the update is (shifts, K, M)
        np.add.at(w, (slice(None), j[inside], slice(None), src[inside]), filters[None, :, :, a])
    return w.reshape(num_filters * shifts, channels * size)


def gaussian_filters(
    key: jax.Array,
    num_filters: int,
    channels: int,
    window: tuple[int, ...],
    scale: str = "fan_in",
    dtype=jnp.float32,
) -> jax.Array:
    """Gaussian random filters ``(K, M, *window)`` ([INV] §4, Thm 3.1).

    Args:
      scale: ``"fan_in"``: i.i.d. N(0, 1) times ``1/√(ℓ^d·M)`` (Thm 3.1, Fig 2: rows of unit
        norm in expectation); ``"unit"``: each filter (all channels) of unit ℓ2 norm (§2.2's
        unit rows, the 2-d experiments); ``"none"``: N(0, 1) (Table 1).
    """
    if scale not in FILTER_SCALES:
        raise ValueError(f"scale must be one of {FILTER_SCALES}, got {scale!r}")
    shape = (num_filters, channels, *window)
    filters = jax.random.normal(key, shape, dtype)
    if scale == "fan_in":
        return filters / math.sqrt(channels * math.prod(window))
    if scale == "unit":
        return normalize_filters(filters)
    return filters


def normalize_filters(filters: jax.Array) -> jax.Array:
    """Each filter ``(M, *window)`` scaled to unit ℓ2 norm (Fig 3, Table 3: VGG filters)."""
    axes = tuple(range(1, filters.ndim))
    return filters / jnp.sqrt(jnp.sum(filters**2, axis=axes, keepdims=True))


def same_conv(filters: jax.Array, spatial: tuple[int, ...]) -> ConvOperator:
    """``W`` of a stride-1 conv with "same" zero padding (VGG's 3×3 convs), odd windows only.

    The code ``(K, *spatial)`` has the signal's spatial size; ``Wᵀ`` is then the transpose of
    that conv, which drops what falls off the border (unlike the full transposed conv of
    ``padding="valid"`` on a signal ``ℓ − 1`` larger).
    """
    window = filters.shape[2:]
    if any(ell % 2 == 0 for ell in window):
        raise ValueError(f"'same' padding needs odd filter sizes, got {window}")
    return ConvOperator(filters, (filters.shape[1], *spatial), padding=window[0] // 2)


def swap_sides(op: ConvOperator) -> ConvOperator:
    """The operator whose ``W`` is ``op``'s ``Wᵀ`` (a reading of Fig 2, see the claims file).

    The bank then *generates* with its forward convolution (``x`` has ``K`` channels) and
    encodes with the transpose: a full convolution (zero padding ``ℓ − 1``) with the filters
    flipped and their in/out channels swapped. Only for stride 1, valid padding.
    """
    if op.stride != 1 or op.padding != "valid":
        raise ValueError("swap_sides needs stride 1 and valid padding")
    nd = len(op.window)
    flipped = jnp.flip(jnp.swapaxes(op.filters, 0, 1), axis=tuple(range(2, 2 + nd)))
    return ConvOperator(flipped, op.code_shape, 1, op.window[0] - 1)
