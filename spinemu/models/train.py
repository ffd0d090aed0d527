"""Train the bundled models: ``python -m spinemu.models.train [digits|digits32|digits_rbm ...]``.

``digits`` and ``digits32`` are scikit-learn ``MLPClassifier`` s (ReLU hidden layers, Adam,
mini-batches of 64, ``random_state = 0``) fitted on the training split of their data set
(:mod:`.datasets`) and written as ``spinemu/models/NAME.npz``; the script prints the held-out
accuracy. A fit that stops at ``max_iter`` before converging is reported, not hidden.

``digits_rbm`` is a scikit-learn ``BernoulliRBM`` (:data:`RBM_SPEC`) fitted on the training
split of ``digits`` binarised at half intensity (:func:`binarised_digits`), written as an
:class:`~spinemu.ising.RBM` ``.npz``; the script prints the mean pseudo-likelihood
(``score_samples``) of the held-out split.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from spinemu.mapper.importers import from_sklearn

from . import MODELS_DIR
from .datasets import load_dataset

__all__ = ["RBM_SPEC", "SPECS", "binarised_digits", "train", "train_rbm"]

#: Hidden layer sizes and L2 penalty of each bundled model.
SPECS = {
    "digits": {"hidden_layer_sizes": (64,), "alpha": 1e-3},
    "digits32": {"hidden_layer_sizes": (64, 32), "alpha": 1e-4},
}


def train(name: str, max_iter: int = 500):
    """Fit model ``name``; returns ``(DenseModel, held-out accuracy, converged)``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data = load_dataset(name)
    estimator = MLPClassifier(**SPECS[name], activation="relu", batch_size=64,
                              max_iter=max_iter, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(data.train_x, data.train_y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return (from_sklearn(estimator, name=name), estimator.score(data.test_x, data.test_y),
            converged)


#: The bundled RBM: 64 visible units (8x8 pixels), 64 hidden units.
RBM_SPEC = {"n_components": 64, "learning_rate": 0.05, "batch_size": 10, "n_iter": 100,
            "random_state": 0}


def binarised_digits(split: str = "train"):
    """The ``digits`` split ``"train"`` or ``"test"`` with pixels 0/1 (``> 0.5`` of full
    intensity), float64."""
    data = load_dataset("digits")
    return (getattr(data, f"{split}_x") > 0.5).astype("float64")


def train_rbm():
    """Fit the bundled RBM; returns ``(RBM, mean held-out pseudo-likelihood)``."""
    from sklearn.neural_network import BernoulliRBM

    from spinemu.ising import rbm_from_sklearn

    estimator = BernoulliRBM(**RBM_SPEC).fit(binarised_digits("train"))
    return rbm_from_sklearn(estimator), float(estimator.score_samples(
        binarised_digits("test")).mean())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"models to train, of {sorted([*SPECS, 'digits_rbm'])} "
                             "(default: all)")
    parser.add_argument("-o", "--output", type=Path, default=MODELS_DIR,
                        help="folder for the .npz files (default: the package's)")
    args = parser.parse_args(argv)
    names = [*SPECS, "digits_rbm"]
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; allowed {sorted(names)}")
    for name in args.names or names:
        if name == "digits_rbm":
            rbm, score = train_rbm()
            rbm.save(args.output / f"{name}.npz")
            print(f"{name}: held-out mean pseudo-likelihood {score:.3f} -> "
                  f"{args.output / name}.npz")
            continue
        model, accuracy, converged = train(name)
        model.save(args.output / f"{name}.npz")
        note = "" if converged else " (stopped at max_iter before converging)"
        print(f"{name}: held-out accuracy {accuracy:.4f}{note} -> {args.output / name}.npz")


if __name__ == "__main__":
    main()
