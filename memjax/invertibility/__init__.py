"""[INV] Invertibility of CNNs: model-RIP of conv layers, model-based IHT, sparse code recovery.

One conv layer is the matrix ``W`` (``conv``); codes are model-k-sparse and a conv + pool layer
is the structured approximation ``M(h, k)`` (``sparsity``); the model-RIP, coherence and the
reconstruction bound are in ``rip``; IHT and Alg. 2 in ``recovery``. Paper:
Gilbert, Zhang, Lee, Zhang, Lee, "Towards understanding the invertibility of convolutional
neural networks", IJCAI 2017.
"""

from memjax.invertibility.conv import (
    ConvOperator,
    gaussian_filters,
    normalize_filters,
    same_conv,
    swap_sides,
)
from memjax.invertibility.recovery import (
    iht,
    lambda_max,
    lasso,
    operator_norm,
    reconstruct,
    recover_sparse_code,
    recover_sparse_codes,
    relative_error,
    rescale_to_norm,
)
from memjax.invertibility.rip import (
    coherence,
    delta_lower_bound,
    exact_delta,
    one_layer_bound,
    ratio_summary,
    region_recall,
    rip_ratios,
    sampled_code_ratios,
    support_deltas,
)
from memjax.invertibility.sparsity import (
    active_regions,
    from_regions,
    model_supports,
    pair_supports,
    percent_positive,
    region_index_table,
    sample_model_sparse,
    sparsify,
    to_regions,
)

__all__ = [
    "ConvOperator",
    "active_regions",
    "coherence",
    "delta_lower_bound",
    "exact_delta",
    "from_regions",
    "gaussian_filters",
    "iht",
    "lambda_max",
    "lasso",
    "model_supports",
    "normalize_filters",
    "one_layer_bound",
    "operator_norm",
    "pair_supports",
    "percent_positive",
    "ratio_summary",
    "reconstruct",
    "recover_sparse_code",
    "recover_sparse_codes",
    "region_index_table",
    "region_recall",
    "relative_error",
    "rescale_to_norm",
    "rip_ratios",
    "same_conv",
    "sample_model_sparse",
    "sampled_code_ratios",
    "sparsify",
    "support_deltas",
    "swap_sides",
    "to_regions",
]
