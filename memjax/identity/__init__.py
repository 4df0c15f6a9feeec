"""Identity-vs-constant analysis of [IC] (*Identity Crisis: Memorization and Generalization
under Extreme Overparameterization*): does a net trained on one image learn the identity or
the constant map?

- :mod:`~memjax.identity.probes`: standardisation, test inputs at correlation ρ (§3.2),
  patterns at any size, correlation/MSE to the identity and to the constant map, ρ sweeps.
- :mod:`~memjax.identity.layers`: per-layer representations and their views (App F), upper
  sub-networks (App H), weight change per layer (App G), the per-layer classifier (Fig 5).
- :mod:`~memjax.identity.theory`: Lemmas 1–2, Theorem 2, Table 1's weight counts.
- :mod:`~memjax.identity.constructions`: App B's weights that realise the identity exactly.
- :mod:`~memjax.identity.training`: the CNN/FCN builders and App A's stage-wise SGD
  (``TrainConfig.decay_steps``).
"""

from memjax.identity import plots
from memjax.identity.constructions import identity_params
from memjax.identity.layers import (
    batched_layer_activations,
    class_sums,
    layer_activations,
    layer_kernels,
    layer_views,
    layerwise_classifier_errors,
    most_correlated_channel,
    relative_weight_change,
    similarity_classifier_error,
    top_singular_image,
)
from memjax.identity.probes import (
    MNIST_MEAN,
    MNIST_STD,
    PATTERNS,
    IdentityScores,
    OneDigitSetup,
    correlation,
    display_inputs,
    identity_scores,
    inputs_at_correlation,
    laplacian_energy_ratio,
    mnist_test_digits,
    one_digit_data,
    one_digit_setup,
    patterns,
    resize,
    rho_sweep,
    standardize,
    training_digit,
)
from memjax.identity.theory import (
    centre_tap,
    cnn_weight_count,
    fcn_weight_count,
    least_squares_gd_limit,
    patch_matrix,
    patch_rank,
    theorem2_bound,
    theorem2_pixel_errors,
    weight_count,
)
from memjax.identity.training import (
    app_a_block,
    ic_cnn,
    ic_fcn,
    init_params,
    q_cnn_block,
    q_fcn_block,
    stage_boundaries,
    stagewise_fields,
    zero_biases,
)

__all__ = [
    "IdentityScores",
    "MNIST_MEAN",
    "MNIST_STD",
    "OneDigitSetup",
    "PATTERNS",
    "app_a_block",
    "batched_layer_activations",
    "centre_tap",
    "class_sums",
    "cnn_weight_count",
    "correlation",
    "display_inputs",
    "fcn_weight_count",
    "ic_cnn",
    "ic_fcn",
    "identity_params",
    "identity_scores",
    "init_params",
    "inputs_at_correlation",
    "laplacian_energy_ratio",
    "layer_activations",
    "layer_kernels",
    "layer_views",
    "layerwise_classifier_errors",
    "least_squares_gd_limit",
    "mnist_test_digits",
    "one_digit_data",
    "one_digit_setup",
    "most_correlated_channel",
    "patch_matrix",
    "patch_rank",
    "patterns",
    "plots",
    "q_cnn_block",
    "q_fcn_block",
    "relative_weight_change",
    "resize",
    "rho_sweep",
    "similarity_classifier_error",
    "stage_boundaries",
    "stagewise_fields",
    "standardize",
    "theorem2_bound",
    "theorem2_pixel_errors",
    "top_singular_image",
    "training_digit",
    "weight_count",
    "zero_biases",
]
