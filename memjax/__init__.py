"""memjax: memorization and inductive bias in overparameterized autoencoders, in JAX.

``import memjax`` gives the submodules, each one concern (loaded on first use, so the import
stays cheap)::

    memjax.models      Flax autoencoders acting on one example, initializers
    memjax.train       train / train_seeds (jitted Optax steps), TrainConfig: losses,
                       stop rules, learning-rate decay, frozen parameters
    memjax.checkpoint  resumable training state, durable (atomic) file writes
    memjax.sweep       many runs at once: vmapped or looped, sharded over devices
    memjax.operator    the learned operator (jacfwd), top eigen/singular values, layer matrices
    memjax.spectral    eigen-analysis: spectra, rank, span distances, SVD truncation
    memjax.probes      test inputs and which training image an output matches
    memjax.dynamics    iterating an autoencoder: attractors, basins, contraction ([MO2])
    memjax.symmetry    image translations; memorization up to them ([DS] Fig 6)
    memjax.identity    [IC]: identity or constant map, by architecture
    memjax.invertibility  [INV]: random conv operators, model-RIP, IHT recovery
    memjax.theory      the papers' closed forms
    memjax.data        synthetic sets, dataset readers, the shipped sample, downloads
    memjax.plotting    image grids, spectra, strip plots
    memjax.runs        run folders, provenance, saved models (``runs.load_model``)
    memjax.experiment  experiments as declarations and their runner (``open_run``)

``from memjax import train`` is the module; its function is ``memjax.train.train``.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "checkpoint", "data", "dynamics", "experiment", "identity", "invertibility", "models",
    "operator", "plotting", "probes", "runs", "spectral", "sweep", "symmetry", "theory", "train",
)  # fmt: skip
__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"memjax.{name}")
    raise AttributeError(f"module 'memjax' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES])
