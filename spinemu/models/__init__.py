"""Bundled pre-trained models, each with the data set it was trained on.

| name | layers | data set | file |
|---|---|---|---|
| ``digits`` | 64 -> 64 (ReLU) -> 10 | :mod:`.datasets` ``digits`` (8x8) | ``digits.npz`` |
| ``digits32`` | 1024 -> 64 (ReLU) -> 32 (ReLU) -> 10 | ``digits32`` (32x32) | ``digits32.npz`` |
| ``digits_cnn`` | conv 3x3x8, max 2; conv 3x3x16, max 2; 64 -> 10 | ``digits`` | ``digits_cnn.*`` |

an RBM (:func:`bundled_rbm`): ``digits_rbm.npz``, a scikit-learn ``BernoulliRBM`` of 64 visible
(the 8x8 ``digits`` images binarised at half intensity) and 64 hidden units, stored as an
:class:`~spinemu.ising.RBM` (float64 weights and biases, no pickle); and two graphs
(:func:`bundled_graph`):

- ``G14.txt``: the G-set Max-Cut instance G14 (800 nodes, 4694 edges; Helmberg and Rendl's rudy
  generator, public);
- ``torus16.txt``: a +-J spin glass on a 16x16 torus (256 nodes, 512 edges, two colours),
  :func:`~spinemu.ising.toroidal_spin_glass` ``(16, seed=TORUS_SEED)`` as written by
  :func:`~spinemu.ising.write_gset`: the p-bit core of the ULX3S default fabric.

``digits`` and ``digits32`` are scikit-learn ``MLPClassifier`` fits made by
:mod:`spinemu.models.train`, ``digits_cnn`` a convolution net trained there in numpy; all are
stored as :class:`~spinemu.mapper.dense.DenseModel` ``.npz`` files (float32 weights, no pickle),
and ``digits_cnn`` also as ``digits_cnn.onnx`` (:data:`ONNX_FILES`; the same weights, input
``[N, 1, 8, 8]``). The first layer of ``digits32`` needs 8 row-tiles of 128 rows, so its adder
trees have 8 leaves.
"""

from __future__ import annotations

from pathlib import Path

from spinemu.config import ConfigError

from .datasets import DATASETS, Dataset, load_dataset

__all__ = ["BUNDLED", "GRAPHS", "ONNX_FILES", "RBMS", "TORUS_SEED", "bundled_graph", "bundled_rbm",
           "load_bundled", "Dataset",
           "DATASETS",
           "load_dataset", "MODELS_DIR"]

MODELS_DIR = Path(__file__).resolve().parent

#: Bundled G-set graphs, by name.
GRAPHS = ("G14", "torus16")

#: Seed of the bundled ``torus16`` couplings.
TORUS_SEED = 2026


def bundled_graph(name: str = "G14"):
    """A bundled G-set graph as a :class:`~spinemu.ising.MaxCut`."""
    from spinemu.ising import read_gset

    if name not in GRAPHS:
        raise ConfigError(f"graph = {name!r} is not bundled; allowed {list(GRAPHS)}")
    return read_gset(MODELS_DIR / f"{name}.txt")


#: Bundled RBMs, by name.
RBMS = ("digits_rbm",)


def bundled_rbm(name: str = "digits_rbm"):
    """A bundled :class:`~spinemu.ising.RBM` (:func:`spinemu.models.train.train_rbm`)."""
    from spinemu.ising import RBM

    if name not in RBMS:
        raise ConfigError(f"rbm = {name!r} is not bundled; allowed {list(RBMS)}")
    return RBM.load(MODELS_DIR / f"{name}.npz")


#: Bundled model name -> the data set it was trained on.
BUNDLED = {"digits": "digits", "digits32": "digits32", "digits_cnn": "digits"}

#: Bundled models also shipped as ONNX, by name.
ONNX_FILES = {"digits_cnn": MODELS_DIR / "digits_cnn.onnx"}


def load_bundled(name: str):
    """The bundled model ``name`` as a :class:`~spinemu.mapper.dense.DenseModel`."""
    from spinemu.mapper.dense import DenseModel

    if name not in BUNDLED:
        raise ConfigError(f"bundled model {name!r} does not exist; allowed {sorted(BUNDLED)}")
    return DenseModel.load(MODELS_DIR / f"{name}.npz")
