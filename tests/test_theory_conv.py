"""Forced zeros and the depth needed by stride-1 conv autoencoders ([MO1] §3, Tables 1–2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from memjax import spectral, theory
from memjax.models import ConvAutoencoder, stride1_stack_layers
from memjax.operator import operator
from memjax.train import TrainConfig, train


@pytest.mark.parametrize("depth, filters", [(1, 1), (2, 3), (3, 1), (4, 2)])
def test_support_pattern_from_structure_equals_a_random_networks_nonzeros(depth, filters):
    size = 6
    model = ConvAutoencoder(stride1_stack_layers(depth, filters), kernel_init="xavier_normal")
    x = jnp.zeros((1, size, size))
    for seed in range(2):
        a = operator(model.apply, x, params=model.init(jax.random.PRNGKey(seed), x))
        np.testing.assert_array_equal(np.asarray(a) != 0, theory.conv_support_pattern(size, depth))


@pytest.mark.parametrize("size", [2, 3, 4, 5, 7, 10])
def test_smallest_depth_without_forced_zeros_is_s_minus_1(size):
    depth = theory.min_depth_without_forced_zeros(size)
    assert depth == max(1, size - 1)
    assert theory.conv_support_pattern(size, depth).all()
    if depth > 1:
        assert not theory.conv_support_pattern(size, depth - 1).all()


def test_two_conv_layers_cannot_memorize_a_4x4_image_whatever_the_filters():
    # [MO1] Corollary: the memorizing operator x xᵀ/‖x‖² of a positive image has no zero
    # entry, but 2 stride-1 convs force zeros between pixels 3 apart, with 1 or 64 filters.
    image = jax.random.uniform(jax.random.PRNGKey(0), (1, 1, 4, 4), minval=0.2, maxval=1.0)
    projection = theory.min_norm_solution(image)
    pattern = theory.conv_support_pattern(4, 2)
    best_possible_error = np.linalg.norm(projection[~pattern])
    assert best_possible_error > 0.05
    for filters in (1, 64):
        model = ConvAutoencoder(stride1_stack_layers(2, filters))
        config = TrainConfig("adam", 1e-2, 1500, progress=False)
        params, history = train(jax.random.PRNGKey(1), model, image, config)
        a = np.asarray(operator(model.apply, image[0], params=params))
        assert history.final_loss < 1e-3  # it fits the image ...
        assert np.all(a[~pattern] == 0)  # ... with the forced zeros in place
        assert np.linalg.norm(a - projection) >= best_possible_error  # so not the projection
        mags = spectral.eigenspectrum(a).magnitudes
        assert mags[1] > 0.1  # and not rank 1


def test_single_filter_single_conv_learns_a_full_rank_operator():
    # [MO1] Thm 3: one 3×3 filter trained on one s×s image gives a rank-s² solution.
    image = jax.random.uniform(jax.random.PRNGKey(2), (1, 1, 5, 5))
    model = ConvAutoencoder(stride1_stack_layers(1, 1), kernel_init="constant:0.01")
    params, history = train(
        jax.random.PRNGKey(0), model, image, TrainConfig("gd", 0.2, 3000, progress=False)
    )
    a = np.asarray(operator(model.apply, image[0], params=params))
    singular = np.linalg.svd(a, compute_uv=False)
    assert history.final_loss < 1e-3
    assert spectral.effective_rank(singular, 1e-3) == 25
    np.testing.assert_allclose(singular, 1.0, atol=1e-3)  # it learns the identity (delta kernel)


def test_heuristic_depth_and_parameter_counts_match_tables_1_and_2():
    assert [theory.heuristic_depth(s) for s in range(2, 8)] == [2, 9, 29, 70, 144, 267]
    # Table 1 (3×3 images): its "2 layers" rows have 3 convs (27 = 3·9 weights), the 5- and
    # 8-layer rows 5 and 8 convs.
    table_1 = {
        (3, 1): 27,
        (3, 16): 2592,
        (3, 128): 149760,
        (5, 1): 45,
        (5, 16): 7200,
        (5, 128): 444672,
        (8, 1): 72,
        (8, 16): 14112,
        (8, 128): 887040,
    }
    for (convs, filters), count in table_1.items():
        assert theory.conv_stack_parameters(convs, filters) == count
    # Table 2: single filter, 9 weights per layer (its 350-layer row prints 3105, not 3150).
    for layers, count in [
        (3, 27),
        (9, 81),
        (29, 261),
        (70, 630),
        (144, 1296),
        (267, 2403),
        (10, 90),
        (200, 1800),
    ]:
        assert theory.conv_stack_parameters(layers, 1) == count
