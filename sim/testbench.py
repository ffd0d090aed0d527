"""Stream helpers for Amaranth-simulator testbenches (``amaranth.sim``), used by every unit test.

A transfer happens on a clock edge where ``valid`` and ``ready`` are both high (lib.stream rules).
``pause`` callables return True on the cycles where the driver holds ``valid`` (or ``ready``) low,
so tests can stress back-pressure with a seeded random generator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["stream_put", "stream_get", "stream_get_timed", "random_pause"]


def random_pause(rng, probability: float) -> Callable[[], bool]:
    """A pause generator: True with ``probability`` on each call, from a seeded ``rng``."""
    return lambda: bool(rng.random() < probability)


async def stream_put(ctx, stream, payloads: Iterable, pause: Callable[[], bool] | None = None):
    """Drive each payload onto ``stream`` (an In stream of the DUT) until it is accepted."""
    for payload in payloads:
        while pause is not None and pause():
            ctx.set(stream.valid, 0)
            await ctx.tick()
        # Once offered, a payload stays valid until it is taken (lib.stream rules).
        ctx.set(stream.payload, payload)
        ctx.set(stream.valid, 1)
        await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get_timed(ctx, stream, count: int,
                           pause: Callable[[], bool] | None = None) -> tuple[list, list[int]]:
    """Accept ``count`` payloads from ``stream`` (an Out stream of the DUT); return them and the
    tick, counted from the call (the first tick is 1), on which each was taken."""
    received, ticks = [], []
    tick = 0
    while len(received) < count:
        ready = pause is None or not pause()
        ctx.set(stream.ready, ready)
        _, _, valid, payload = await ctx.tick().sample(stream.valid, stream.payload)
        tick += 1
        if ready and valid:
            received.append(payload)
            ticks.append(tick)
    ctx.set(stream.ready, 0)
    return received, ticks


async def stream_get(ctx, stream, count: int, pause: Callable[[], bool] | None = None) -> list:
    """Accept ``count`` payloads from ``stream`` (an Out stream of the DUT) and return them."""
    return (await stream_get_timed(ctx, stream, count, pause))[0]
