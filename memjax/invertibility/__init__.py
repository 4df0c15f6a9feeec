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
    swap_sides,
)
from memjax.invertibility.recovery import (
    iht,
    lasso,
    operator_norm,
    reconstruct,
    recover_sparse_code,
)
from memjax.invertibility.rip import (
    coherence,
    delta_lower_bound,
    exact_delta,
    one_layer_bound,
    region_recall,
    rip_ratios,
    support_deltas,
)
from memjax.invertibility.sparsity import (
    from_regions,
    model_supports,
    pair_supports,
    region_index_table,
    sample_model_sparse,
    sparsify,
    to_regions,
)

__all__ = [
    "ConvOperator",
    "coherence",
    "delta_lower_bound",
    "exact_delta",
    "from_regions",
    "gaussian_filters",
    "iht",
    "lasso",
    "model_supports",
    "normalize_filters",
    "one_layer_bound",
    "operator_norm",
    "pair_supports",
    "reconstruct",
    "recover_sparse_code",
    "region_index_table",
    "region_recall",
    "rip_ratios",
    "sample_model_sparse",
    "sparsify",
    "support_deltas",
    "swap_sides",
    "to_regions",
]
