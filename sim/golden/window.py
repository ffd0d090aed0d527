"""Golden model of a convolution's windows: im2col patches and pooling of output codes.

A convolution layer (:class:`~spinemu.config.ConvConfig`, docs/mapper.md "Convolutions") runs
its weight matrix on the tiles of :mod:`.network` once per output position; this module only
moves codes. Images are NHWC and flat per vector: ``x[b, (h * width + w) * channels + c]``.

- :func:`im2col`: the patch of output position ``(oh, ow)`` holds, in column order
  ``(kh, kw, c)`` (``c`` fastest), the input at ``(oh * stride - padding + kh,
  ow * stride - padding + kw, c)``, or 0 outside the image. Rows are ``(b, oh, ow)``, ``ow``
  fastest.
- :func:`pool`: non-overlapping ``pool_size x pool_size`` windows of the output codes ``a``
  (per channel). ``max``: the largest code, exact. ``avg``: the sum ``s`` of the ``n`` codes
  rounded half up, ``floor((2 * s + n) / (2 * n))`` (for ``n`` a power of two this is
  ``rshift_round(s, log2 n)``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from spinemu.config import ConvConfig

__all__ = ["im2col", "nchw_order", "patch_index", "pool", "windows"]


def nchw_order(height: int, width: int, channels: int) -> np.ndarray:
    """``order[i]``: the NCHW flat index (ONNX and torch ``Flatten``) of NHWC flat index ``i``,
    so ``nchw_vector[order]`` is the NHWC vector."""
    return np.arange(height * width * channels).reshape(channels, height, width).transpose(
        1, 2, 0).ravel()


@lru_cache(maxsize=64)
def patch_index(conv: ConvConfig) -> np.ndarray:
    """``index[position, patch_feature]`` into a flat image with one zero appended: entries
    equal to ``conv.inputs`` (the appended zero) are the padding taps."""
    oh, ow, kh, kw, c = np.meshgrid(np.arange(conv.conv_height), np.arange(conv.conv_width),
                                    np.arange(conv.kernel), np.arange(conv.kernel),
                                    np.arange(conv.channels), indexing="ij")
    h = oh * conv.stride - conv.padding + kh
    w = ow * conv.stride - conv.padding + kw
    inside = (h >= 0) & (h < conv.height) & (w >= 0) & (w < conv.width)
    index = np.where(inside, (h * conv.width + w) * conv.channels + c, conv.inputs)
    index = index.reshape(conv.positions, conv.patch_features)
    index.flags.writeable = False
    return index


def im2col(x: np.ndarray, conv: ConvConfig) -> np.ndarray:
    """Patches ``[batch * positions, patch_features]`` of flat images ``x[batch, inputs]``
    (any dtype; padding taps are 0)."""
    x = np.asarray(x)
    padded = np.concatenate([x, np.zeros((x.shape[0], 1), x.dtype)], axis=1)
    return padded[:, patch_index(conv)].reshape(-1, conv.patch_features)


def windows(a: np.ndarray, conv: ConvConfig) -> np.ndarray:
    """Outputs ``a[batch * positions, channels]`` as pooling windows
    ``[batch, out_height, out_width, channels, pool_size ** 2]``."""
    p, height, width, channels = conv.pool_size, conv.out_height, conv.out_width, a.shape[-1]
    blocks = a.reshape(-1, height, p, width, p, channels).transpose(0, 1, 3, 5, 2, 4)
    return blocks.reshape(-1, height, width, channels, p * p)


def pool(a: np.ndarray, conv: ConvConfig) -> np.ndarray:
    """Output codes ``a[batch * positions, channels]`` (int) pooled and flattened NHWC to
    ``[batch, conv.outputs(channels)]`` (module doc for the rounding)."""
    batch = a.shape[0] // conv.positions
    if conv.pool == "none":
        return a.reshape(batch, -1)
    window = windows(a, conv)
    if conv.pool == "max":
        return window.max(axis=-1).reshape(batch, -1)
    n = conv.pool_size ** 2
    return ((2 * window.sum(axis=-1) + n) // (2 * n)).reshape(batch, -1)
