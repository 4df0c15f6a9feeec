"""Speed and memory comparisons, printed as ratios measured side by side in one run.

    python -m benchmarks [--out results.json]

Not tests: nothing here asserts a time. PyTorch parts need the ``bench`` extra
(``pip install torch==2.13.0``) and are skipped without it.
"""
