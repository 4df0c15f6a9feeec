"""memjax: memorization and inductive bias in overparameterized autoencoders, in JAX."""

__version__ = "0.1.0"
