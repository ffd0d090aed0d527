"""Register and memory maps of a fabric on the host link, and the one bit packer.

A :class:`RegisterMap` is a list of :class:`Region` s, each a window of words with one layout:
a memory of the fabric (read and written by index), an input stream (each word written is
pushed), an output stream (each word read is popped) or read-only registers. The gateware
decoder (:mod:`spinemu.hdl.link`), the host driver and the tests are built from the same map;
its :attr:`RegisterMap.hash` travels in the ``INFO`` reply so a host can tell which fabric it
talks to.

A word of a region is its layout's bits packed as Amaranth stores them (field offsets of a
``StructLayout``, elements of an ``ArrayLayout``, two's complement for signed fields), sent
little-endian in ``word_bytes = ceil(bits / 8)`` bytes. :func:`pack` (on :func:`pack_fields`) and
:func:`unpack` are the only conversions between values and words in spinemu (each field through
:func:`spinemu.numeric.to_unsigned` / :func:`~spinemu.numeric.to_signed`).
"""

from __future__ import annotations

import enum
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from amaranth.hdl import Shape
from amaranth.lib import data

from spinemu.config import SpinemuError
from spinemu.numeric import code_range, to_signed, to_unsigned

__all__ = [
    "ADDRESS_BITS", "INDEX_BITS", "Access", "Region", "RegisterMap", "RegisterMapError",
    "layout_text", "leaf_widths", "pack", "pack_fields", "unpack", "words_to_bytes",
    "bytes_to_words",
]

INDEX_BITS = 24
ADDRESS_BITS = 32
#: Widest count of one stream region's level (free space or data waiting).
LEVEL_BITS = 16


class RegisterMapError(SpinemuError, ValueError):
    """A region name, index or value that the map does not allow."""


class Access(enum.Enum):
    RW = "rw"      #: memory: read and written by index
    RO = "ro"      #: registers: read by index
    PUSH = "push"  #: input stream: every word written is pushed; index 0 only
    POP = "pop"    #: output stream: every word read is popped; index 0 only

    @property
    def writable(self) -> bool:
        return self in (Access.RW, Access.PUSH)

    @property
    def readable(self) -> bool:
        return self is not Access.PUSH

    @property
    def stream(self) -> bool:
        return self in (Access.PUSH, Access.POP)


def _flatten(layout, offset=0, name=""):
    """(name, offset, width, signed) of every leaf of a shape-castable, in bit order."""
    if isinstance(layout, data.StructLayout):
        for field_name, field in layout:
            yield from _flatten(field.shape, offset + field.offset,
                                f"{name}.{field_name}" if name else field_name)
    elif isinstance(layout, data.ArrayLayout):
        width = Shape.cast(layout.elem_shape).width
        for k in range(layout.length):
            yield from _flatten(layout.elem_shape, offset + k * width, f"{name}[{k}]")
    else:
        shape = Shape.cast(layout)
        yield name, offset, shape.width, shape.signed


def _leaf_values(layout, value, name="", out=None) -> list[int]:
    """The leaf values of ``value`` in bit order (the order of :func:`_flatten`)."""
    out = [] if out is None else out
    if isinstance(layout, data.StructLayout):
        for field_name, field in layout:
            _leaf_values(field.shape, value[field_name],
                         f"{name}.{field_name}" if name else field_name, out)
    elif isinstance(layout, data.ArrayLayout):
        if len(value) != layout.length:
            raise RegisterMapError(f"{name or 'value'} has {len(value)} elements, "
                                   f"{layout.length} expected")
        if isinstance(layout.elem_shape, data.StructLayout | data.ArrayLayout):
            for k in range(layout.length):
                _leaf_values(layout.elem_shape, value[k], f"{name}[{k}]", out)
        else:
            out.extend(map(int, value))
    else:
        out.append(int(value))
    return out


#: Leaves of the layouts packed so far, by ``id``; each entry holds its layout, so that an id is
#: not reused while it is cached. Hosts pack many words of a few layouts.
_LEAVES: dict[int, tuple] = {}


def _leaves(layout) -> tuple:
    """``(name, low, high)`` and the widths of the leaves of ``layout``, in bit order."""
    cached = _LEAVES.get(id(layout))
    if cached is None or cached[0] is not layout:
        if len(_LEAVES) >= 256:
            _LEAVES.clear()
        leaves = tuple(_flatten(layout))
        cached = _LEAVES[id(layout)] = (
            layout,
            tuple((name, *code_range(width, signed)) for name, _, width, signed in leaves),
            tuple(width for _, _, width, _ in leaves))
    return cached[1:]


def leaf_widths(layout) -> tuple[int, ...]:
    """The widths of the leaves of ``layout`` in bit order: ``pack_fields(values,
    leaf_widths(layout))`` is :func:`pack` without its range checks, for values whose arrays
    were range-checked once as a whole (:func:`spinemu.config.check_image`)."""
    return _leaves(layout)[1]


def layout_text(layout) -> str:
    """A short description of a word layout: ``s8``, ``8 x s4``, ``{adc_shift:u5 gain:u8}``."""
    if isinstance(layout, data.StructLayout):
        return "{" + " ".join(f"{name}:{layout_text(f.shape)}" for name, f in layout) + "}"
    if isinstance(layout, data.ArrayLayout):
        return f"{layout.length} x {layout_text(layout.elem_shape)}"
    shape = Shape.cast(layout)
    return f"{'s' if shape.signed else 'u'}{shape.width}"


def pack_fields(values: Sequence[int], widths: Sequence[int]) -> int:
    """Integers packed into one word, the first at bit 0, each in ``width`` bits (two's
    complement; bits above a field's width are dropped, not checked)."""
    word, offset = 0, 0
    for value, width in zip(values, widths, strict=True):
        word |= to_unsigned(int(value), width) << offset
        offset += width
    return word


def pack(layout, value) -> int:
    """``value`` (an int, a list for an ``ArrayLayout``, a dict for a ``StructLayout``) as a word.

    Every leaf is range-checked against its shape; the error names the leaf, the value and the
    range allowed. The leaves of a struct or array layout lie end to end from bit 0, so the word
    is :func:`pack_fields` of their values and widths.
    """
    leaves, widths = _leaves(layout)
    values = _leaf_values(layout, value)
    for (name, low, high), v in zip(leaves, values, strict=True):
        if not low <= v <= high:
            raise RegisterMapError(
                f"{name or 'value'} = {v} is out of range; allowed {low}..{high}")
    return pack_fields(values, widths)


def unpack(layout, word: int):
    """The inverse of :func:`pack`: an int, a list or a dict."""
    if isinstance(layout, data.StructLayout):
        return {name: unpack(field.shape, word >> field.offset) for name, field in layout}
    if isinstance(layout, data.ArrayLayout):
        width = Shape.cast(layout.elem_shape).width
        return [unpack(layout.elem_shape, word >> (k * width)) for k in range(layout.length)]
    shape = Shape.cast(layout)
    return to_signed(word, shape.width) if shape.signed else to_unsigned(word, shape.width)


def words_to_bytes(words: Sequence[int], word_bytes: int) -> bytes:
    return b"".join(int(w).to_bytes(word_bytes, "little") for w in words)


def bytes_to_words(raw: bytes, word_bytes: int) -> list[int]:
    if len(raw) % word_bytes:
        raise RegisterMapError(f"{len(raw)} bytes is not a whole number of {word_bytes}-byte words")
    return [int.from_bytes(raw[k:k + word_bytes], "little") for k in range(0, len(raw), word_bytes)]


@dataclass(frozen=True)
class Region:
    """One window of the map.

    Attributes
    ----------
    name : str
    id : int
        Address bits 31..24.
    access : Access
    depth : int
        Words addressable (a memory's depth, a register count; a stream's FIFO depth).
    layout : shape-castable
        One word's layout.
    doc : str
        What the words hold, for the printed map.
    fields : tuple[str, ...]
        For registers, the name of each index.
    """

    name: str
    id: int
    access: Access
    depth: int
    layout: object
    doc: str
    fields: tuple[str, ...] = ()

    @property
    def word_bits(self) -> int:
        return Shape.cast(self.layout).width

    @property
    def word_bytes(self) -> int:
        return (self.word_bits + 7) // 8

    def address(self, index: int = 0) -> int:
        if not 0 <= index < self.depth:
            raise RegisterMapError(f"index {index} of region {self.name!r} is out of range; "
                                   f"allowed 0..{self.depth - 1}")
        return self.id << INDEX_BITS | index

    def describe(self) -> dict:
        return {
            "name": self.name, "id": self.id, "address": f"0x{self.id << INDEX_BITS:08x}",
            "access": self.access.value, "depth": self.depth, "word_bits": self.word_bits,
            "word_bytes": self.word_bytes, "layout": layout_text(self.layout),
            "fields": [{"name": n, "offset": o, "width": w, "signed": s}
                       for n, o, w, s in _flatten(self.layout)] if not self.fields
            else [{"name": n, "index": k} for k, n in enumerate(self.fields)],
            "doc": self.doc,
        }


class RegisterMap:
    """The regions of one fabric, by name and by id (ids 0..255, unique)."""

    def __init__(self, fabric: str, regions: Sequence[Region]):
        self._fabric = fabric
        self._regions = tuple(regions)
        ids = [r.id for r in self._regions]
        names = [r.name for r in self._regions]
        if len(set(ids)) != len(ids) or len(set(names)) != len(names):
            raise RegisterMapError(f"region ids and names must be unique: {names} {ids}")
        for r in self._regions:
            if not 0 <= r.id < 256 or not 1 <= r.depth <= 1 << INDEX_BITS:
                raise RegisterMapError(f"region {r.name!r}: id {r.id} or depth {r.depth} "
                                       f"out of range (0..255, 1..{1 << INDEX_BITS})")

    @property
    def fabric(self) -> str:
        return self._fabric

    @property
    def regions(self) -> tuple[Region, ...]:
        return self._regions

    @property
    def data_bits(self) -> int:
        """Width of the widest word, rounded up to whole bytes."""
        return 8 * max(r.word_bytes for r in self._regions)

    def __getitem__(self, name: str) -> Region:
        for r in self._regions:
            if r.name == name:
                return r
        raise RegisterMapError(f"no region {name!r}; the map has "
                               f"{', '.join(r.name for r in self._regions)}")

    def describe(self) -> dict:
        return {"fabric": self._fabric, "hash": f"0x{self.hash:08x}",
                "regions": [r.describe() for r in self._regions]}

    @property
    def hash(self) -> int:
        """CRC-32 of the map's JSON description (without the hash itself)."""
        text = json.dumps({"fabric": self._fabric,
                           "regions": [r.describe() for r in self._regions]}, sort_keys=True)
        return zlib.crc32(text.encode())

    def to_json(self) -> str:
        return json.dumps(self.describe(), indent=2)
