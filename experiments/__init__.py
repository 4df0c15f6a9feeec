"""memjax's paper experiments, one folder per paper, installed as ``memjax_experiments``.

Each module declares ``EXPERIMENT = memjax.experiment.Experiment(...)``; the library finds
them through the ``memjax.experiments`` entry point (``memjax list`` shows them all).
"""
