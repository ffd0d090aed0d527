"""Train the bundled models: ``python -m spinemu.models.train [digits|digits32 ...]``.

Each model is a scikit-learn ``MLPClassifier`` (ReLU hidden layers, Adam, mini-batches of 64,
``random_state = 0``) fitted on the training split of its data set (:mod:`.datasets`) and
written as ``spinemu/models/NAME.npz``. The script prints the held-out accuracy. A fit that
stops at ``max_iter`` before converging is reported, not hidden.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from spinemu.mapper.importers import from_sklearn

from . import MODELS_DIR
from .datasets import load_dataset

__all__ = ["SPECS", "train"]

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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"models to train, of {sorted(SPECS)} (default: all)")
    parser.add_argument("-o", "--output", type=Path, default=MODELS_DIR,
                        help="folder for the .npz files (default: the package's)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SPECS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; allowed {sorted(SPECS)}")
    for name in args.names or SPECS:
        model, accuracy, converged = train(name)
        model.save(args.output / f"{name}.npz")
        note = "" if converged else " (stopped at max_iter before converging)"
        print(f"{name}: held-out accuracy {accuracy:.4f}{note} -> {args.output / name}.npz")


if __name__ == "__main__":
    main()
