"""Anneal schedules: ``(B, sweeps)`` steps from betas in problem units, and a default range."""

from __future__ import annotations

import math

import numpy as np

from spinemu.config import ConfigError, PBitConfig
from spinemu.numeric import round_half_away, unsigned_range

__all__ = ["SCHEDULES", "beta_code", "linear_schedule", "geometric_schedule", "make_schedule",
           "default_beta_range"]

SCHEDULES = ("geometric", "linear")


def beta_code(config: PBitConfig, beta: float, scale: float = 1.0, name: str = "beta") -> int:
    """The code ``B = round(beta / scale * 2**(beta_frac + lut_frac))`` of a problem-unit beta.

    ``scale`` is :attr:`~spinemu.ising.scaling.Quantized.scale` (integer units per problem
    unit); the error names ``name`` and gives the range of betas the config can hold, in problem
    units.
    """
    code = round_half_away(beta / scale * (1 << (config.beta_frac + config.lut_frac)))
    top = unsigned_range(config.beta_bits)[1]
    if not 0 <= code <= top:
        raise ConfigError(f"{name} = {beta:g} needs B = {code}, out of range; allowed B "
                          f"0..{top} ({name} 0..{config.beta(top) * scale:g} with beta_bits = "
                          f"{config.beta_bits}, beta_frac = {config.beta_frac}, lut_frac = "
                          f"{config.lut_frac}, scale = {scale:g})")
    return code


def _steps(sweeps: int, steps: int | None) -> list[int]:
    """Sweeps per step: ``steps`` near-equal parts of ``sweeps`` (default ``min(sweeps,
    100)``), longer ones first."""
    if sweeps < 1:
        raise ConfigError(f"sweeps = {sweeps} is out of range; allowed >= 1")
    steps = min(sweeps, 100) if steps is None else steps
    if not 1 <= steps <= sweeps:
        raise ConfigError(f"steps = {steps} is out of range; allowed 1..{sweeps} (sweeps)")
    return [sweeps // steps + (k < sweeps % steps) for k in range(steps)]


def _schedule(config, ends, betas, lengths, scale) -> list[tuple[int, int]]:
    """``(B, sweeps)`` pairs with equal neighbouring codes merged (that changes nothing)."""
    for name, value in zip(("beta_start", "beta_end"), ends, strict=True):
        beta_code(config, value, scale, name)
    merged: list[tuple[int, int]] = []
    for beta, length in zip(betas, lengths, strict=True):
        code = beta_code(config, float(beta), scale)
        if merged and merged[-1][0] == code:
            merged[-1] = (code, merged[-1][1] + length)
        else:
            merged.append((code, length))
    return merged


def linear_schedule(config: PBitConfig, beta_start: float, beta_end: float, sweeps: int,
                    steps: int | None = None, scale: float = 1.0) -> list[tuple[int, int]]:
    """``steps`` betas evenly spaced from ``beta_start`` to ``beta_end`` (problem units of a
    problem held ``scale`` times larger by the core)."""
    lengths = _steps(sweeps, steps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not value >= 0:
            raise ConfigError(f"{name} = {value:g} is out of range; allowed >= 0")
    return _schedule(config, (beta_start, beta_end),
                     np.linspace(beta_start, beta_end, len(lengths)), lengths, scale)


def geometric_schedule(config: PBitConfig, beta_start: float, beta_end: float, sweeps: int,
                       steps: int | None = None, scale: float = 1.0) -> list[tuple[int, int]]:
    """``steps`` betas in geometric progression from ``beta_start`` to ``beta_end``."""
    lengths = _steps(sweeps, steps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not value > 0:
            raise ConfigError(f"{name} = {value:g} is out of range; allowed > 0 for a "
                              f"geometric schedule")
    return _schedule(config, (beta_start, beta_end),
                     np.geomspace(beta_start, beta_end, len(lengths)), lengths, scale)


def make_schedule(kind: str, config: PBitConfig, beta_start: float, beta_end: float,
                  sweeps: int, steps: int | None = None,
                  scale: float = 1.0) -> list[tuple[int, int]]:
    """:func:`geometric_schedule` or :func:`linear_schedule` by name."""
    if kind not in SCHEDULES:
        raise ConfigError(f"schedule = {kind!r} is not known; allowed {list(SCHEDULES)}")
    build = geometric_schedule if kind == "geometric" else linear_schedule
    return build(config, beta_start, beta_end, sweeps, steps, scale)


def default_beta_range(J: np.ndarray, h: np.ndarray, n: int, edges) -> tuple[float, float]:
    """``(beta_start, beta_end)`` in the units of ``J`` and ``h`` for an anneal.

    Hot end ``1 / sigma`` with ``sigma`` the root mean square over p-bits of the field's spread
    ``sqrt(sum_j J_ij**2 + h_i**2)`` (the typical field of a random state): most flips are then
    still taken. Cold end ``3 / |J|_min`` with ``|J|_min`` the smallest non-zero coupling or
    bias: the smallest energy step ``2 |J|_min`` is then climbed with probability
    ``e**-6 / (1 + e**-6) = 0.25 %`` per update. Tuned on G-set (docs/pbit.md).
    """
    squares = np.square(h).astype(np.float64)
    edges = np.asarray(edges).reshape(-1, 2)
    np.add.at(squares, edges[:, 0], np.square(J))
    np.add.at(squares, edges[:, 1], np.square(J))
    values = np.abs(np.concatenate([J, h]))
    values = values[values > 0]
    if not values.size:
        raise ConfigError("the problem has no non-zero coupling or bias; nothing to anneal")
    return 1 / math.sqrt(squares.mean()), 3 / float(values.min())
