"""The data sets the bundled models were trained on, split the same way every time.

Both come from scikit-learn's ``load_digits`` (1797 grey 8x8 images of the digits 0..9, pixel
values 0..16), which ships with scikit-learn: nothing is downloaded. Pixels are scaled to
0..1. ``digits32`` upsamples every image to 32x32 by bilinear interpolation (1024 inputs).

The held-out split is 30 % of the images (540), stratified by class, ``random_state = 0``; the
other 70 % (1257) are the training split, from which the mapper draws its calibration batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, read_npz

__all__ = ["Dataset", "DATASETS", "load_dataset", "bilinear_matrix"]

TEST_FRACTION, SPLIT_SEED = 0.3, 0


@dataclass(frozen=True)
class Dataset:
    """A training split and a held-out split.

    Attributes
    ----------
    name : str
    train_x : float [n_train, features]
    train_y : [n_train]
    test_x : float [n_test, features]
    test_y : [n_test]
    """

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    def calibration(self, size: int, seed: int = 0) -> np.ndarray:
        """``size`` training inputs drawn without replacement (all of them if fewer)."""
        if size < 1:
            raise ConfigError(f"calibration size = {size} is out of range; allowed >= 1")
        order = np.random.default_rng(seed).permutation(len(self.train_x))
        return self.train_x[np.sort(order[:size])]


def bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """``U[size_out, size_in]`` resampling a line of pixels by linear interpolation, pixel
    centres aligned (``U @ image @ U.T`` resizes an image)."""
    centres = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5
    centres = np.clip(centres, 0, size_in - 1)
    matrix = np.zeros((size_out, size_in))
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    frac = centres - low
    matrix[np.arange(size_out), low] += 1 - frac
    matrix[np.arange(size_out), high] += frac
    return matrix


def _digits(upsample: int | None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.images.astype(np.float64) / 16.0
    if upsample:
        u = bilinear_matrix(8, upsample)
        x = np.einsum("ij,njk,lk->nil", u, x, u)
    return x.reshape(len(x), -1), digits.target


def _split(name: str, x: np.ndarray, y: np.ndarray) -> Dataset:
    from sklearn.model_selection import train_test_split

    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y)
    return Dataset(name, train_x, train_y, test_x, test_y)


#: Bundled data set names and how to build them.
DATASETS = {
    "digits": lambda: _split("digits", *_digits(None)),
    "digits32": lambda: _split("digits32", *_digits(32)),
}

#: Arrays an ``.npz`` data file must hold.
FILE_KEYS = ("train_x", "train_y", "test_x", "test_y")


def load_dataset(name_or_path: str | Path) -> Dataset:
    """A bundled data set by name, or an ``.npz`` file holding ``train_x``, ``train_y``,
    ``test_x`` and ``test_y`` (the calibration batch is drawn from ``train_x``)."""
    if str(name_or_path) in DATASETS:
        return DATASETS[str(name_or_path)]()
    path = Path(name_or_path)
    if path.suffix != ".npz":
        raise ConfigError(f"data = {str(name_or_path)!r} is neither a bundled data set "
                          f"{sorted(DATASETS)} nor an .npz file")
    arrays = read_npz(path, "data file")
    missing = [key for key in FILE_KEYS if key not in arrays]
    if missing:
        raise ConfigError(f"{path} lacks {missing}; a data file holds {list(FILE_KEYS)}")
    arrays = {key: arrays[key] for key in FILE_KEYS}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 2 or len(y) != len(x):
            raise ConfigError(f"{path}: {split}_x has shape {x.shape} and {split}_y "
                              f"{np.shape(y)}; expected [n, features] and [n]")
    return Dataset(path.stem, **arrays)
