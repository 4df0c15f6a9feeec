"""Speed and memory comparisons, printed as ratios measured side by side in one run.

    python -m benchmarks [--out results.json]

Not tests: nothing here asserts a time. PyTorch parts need the ``bench`` extra
(``pip install torch==2.13.0``) and are skipped without it.
"""

import os

# The benchmarks run JAX next to PyTorch, and d64_192 runs its parts in child processes: a
# first JAX process that took 75% of the GPU's memory up front would starve the others, and
# its peak-memory figures would be the preallocation. Allocate on demand instead.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
