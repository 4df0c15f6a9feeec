"""Identity-vs-constant analysis of [IC] (*Identity Crisis: Memorization and Generalization
under Extreme Overparameterization*): does a net trained on one image learn the identity or
the constant map?

- :mod:`~memjax.identity.probes`: standardisation, test inputs at correlation ρ (§3.2),
  patterns at any size, correlation/MSE to the identity and to the constant map, ρ sweeps.
- :mod:`~memjax.identity.layers`: per-layer representations and their views (App F), upper
  sub-networks (App H), weight change per layer (App G), the per-layer classifier (Fig 5).
- :mod:`~memjax.identity.theory`: Lemmas 1–2, Theorem 2, Table 1's weight counts.
- :mod:`~memjax.identity.training`: the CNN/FCN builders and App A's stage-wise SGD.
"""

from memjax.identity import plots
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
    correlation,
    display_inputs,
    identity_scores,
    inputs_at_correlation,
    laplacian_energy_ratio,
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
    ic_cnn,
    ic_fcn,
    init_params,
    learning_rate_schedule,
    stage_boundaries,
    train_in_run,
    train_stagewise,
    zero_biases,
)

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "PATTERNS",
    "IdentityScores",
    "batched_layer_activations",
    "centre_tap",
    "class_sums",
    "cnn_weight_count",
    "correlation",
    "display_inputs",
    "fcn_weight_count",
    "ic_cnn",
    "ic_fcn",
    "identity_scores",
    "init_params",
    "inputs_at_correlation",
    "layer_activations",
    "layer_kernels",
    "layer_views",
    "laplacian_energy_ratio",
    "layerwise_classifier_errors",
    "learning_rate_schedule",
    "least_squares_gd_limit",
    "most_correlated_channel",
    "patch_matrix",
    "patch_rank",
    "patterns",
    "plots",
    "relative_weight_change",
    "resize",
    "rho_sweep",
    "similarity_classifier_error",
    "stage_boundaries",
    "standardize",
    "training_digit",
    "theorem2_bound",
    "theorem2_pixel_errors",
    "top_singular_image",
    "train_in_run",
    "train_stagewise",
    "weight_count",
    "zero_biases",
]
