"""Convolution layers in RTL (docs/layer.md "Convolutions"): the window generator in front of a
tiled layer and the pooling behind its periphery.

A :class:`ConvLayer` is a :class:`WindowGenerator` (a line buffer that turns a stream of NHWC
input codes into the stream of im2col patches), the :class:`~spinemu.hdl.layer.TiledLayer` of
the im2col weight matrix, and a :class:`Pooling` of its output codes. The orders and the
arithmetic are those of :mod:`spinemu.sim.golden.window`: patches ``(kh, kw, c)`` with ``c``
fastest, output positions ``(oh, ow)`` with ``ow`` fastest, zeros at padding taps; pooling
``max`` exact, ``avg`` = ``floor((2S + n) / (2n))``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError, ConvConfig, LayerConfig
from spinemu.images import LayerImages
from spinemu.numeric import clog2

from .periphery import act_shape
from .ports import ReadSignature
from .tile import input_shape
from .writes import WriteMap

__all__ = ["WindowGenerator", "Pooling", "ConvLayer", "reciprocal"]


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


class WindowGenerator(wiring.Component):
    """Line buffer: NHWC input codes in, im2col patch codes out (docs/layer.md, Convolutions).

    Parameters
    ----------
    conv : ConvConfig
        H x W x C input image, kernel k, stride s, padding p; Hc x Wc output positions.
    shape : shape
        One code (``signed(I)`` or ``unsigned(I)``).

    Members
    -------
    x : In(stream.Signature(shape))
        The image, one code per transfer, ``(h, w, c)`` raster order (``c`` fastest), H*W*C
        transfers per image; images follow each other without a gap.
    o : Out(stream.Signature(shape))
        Per output position ``(oh, ow)`` (``ow`` fastest) the k*k*C codes of its patch in
        ``(kh, kw, c)`` order, ``x[oh*s - p + kh, ow*s - p + kw, c]`` or 0 outside the image:
        Hc*Wc*k*k*C transfers per image.
    busy : Out(1)
        High while part of an image is held (taken and not yet wholly emitted).

    Architecture and timing
    -----------------------
    One memory of L = k + s lines of W*C codes (``L * W * C`` words of I bits; :meth:`lines`),
    a ring: input row g (counted over all images) goes to line ``g mod L``, written by a
    counter that wraps at ``L*W*C``. A signed counter ``avail`` (rows written minus rows
    released, -(H+s)..L) orders the two sides: a code is taken while ``avail < L`` (its line
    is free; the s spare lines let the next output row's new rows stream in while the current
    one is read), and output row
    ``oh`` starts once ``avail`` covers its rows ``max(0, oh*s-p) .. min(H, oh*s-p+k) - 1``;
    finishing an output row releases the rows the next one does not use (the rest of the
    image after the last). The read side emits one code per clock (synchronous read, one
    register stage: ``o`` comes 1 clock after its address) and stalls with ``o``; the write
    side takes one code per clock. An output row waits for its last input row: from idle, the
    first patch code comes 2 clocks after the last code of input row ``k - p - 1`` is taken.
    Throughput: one patch code per clock, so an image takes max(H*W*C, Hc*Wc*k*k*C) clocks
    when neither side waits for the other (a :class:`~spinemu.hdl.layer.TiledLayer` takes one
    code per clock, its k*k*C codes of a vector at a time).
    """

    def __init__(self, conv: ConvConfig, shape):
        if not isinstance(conv, ConvConfig):
            raise TypeError(f"conv must be a ConvConfig, not {type(conv).__name__}")
        self._conv, self._shape = conv, shape
        super().__init__({
            "x": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
            "busy": Out(1),
        })

    @property
    def conv(self) -> ConvConfig:
        return self._conv

    @staticmethod
    def lines(conv: ConvConfig) -> int:
        """Lines of the ring buffer: ``k + s``, those of an output row and the ``s`` rows the
        next one adds, so the next rows stream in while a row of positions is read."""
        return conv.kernel + conv.stride

    def elaborate(self, platform):
        cv = self._conv
        H, W, C, k, s, p = cv.height, cv.width, cv.channels, cv.kernel, cv.stride, cv.padding
        Hc, Wc, line = cv.conv_height, cv.conv_width, cv.width * cv.channels
        L = self.lines(cv)
        m = Module()
        m.submodules.lines = lines = memory.Memory(shape=self._shape, depth=L * line, init=[])
        wr, rd = lines.write_port(), lines.read_port()

        avail = Signal(signed(_bits(H + s + L) + 1))
        row_done, release = Signal(), Signal(range(H + 1))
        m.d.sync += avail.eq(avail + row_done - release)

        # --- Write side: code (h, w, c) of global row g at (g mod L) * W*C + w*C + c --------
        waddr, wpos, wrow = Signal(range(L * line)), Signal(range(line)), Signal(range(H))
        m.d.comb += [self.x.ready.eq(avail < L),
                     wr.addr.eq(waddr), wr.data.eq(self.x.payload)]
        with m.If(self.x.valid & self.x.ready):
            m.d.comb += wr.en.eq(1)
            m.d.sync += [waddr.eq(Mux(waddr == L * line - 1, 0, waddr + 1)),
                         wpos.eq(wpos + 1)]
            with m.If(wpos == line - 1):
                m.d.comb += row_done.eq(1)
                m.d.sync += [wpos.eq(0), wrow.eq(Mux(wrow == H - 1, 0, wrow + 1))]

        # --- Read side: position (oh, ow), tap (kh, kw, c) -----------------------------------
        oh, ow = Signal(range(Hc)), Signal(range(Wc))
        kh, kw, c = Signal(range(k)), Signal(range(k)), Signal(range(C))
        geo = signed(_bits(max(H, W) + s + k) + 1)
        top, left = Signal(geo, init=-p), Signal(geo, init=-p)   # oh*s - p, ow*s - p
        base = Signal(range(L), init=(-p) % L)                   # line of row `top`
        top0 = Mux(top < 0, 0, top)
        bottom = Mux(top + k > H, H, top + k)
        can_issue = avail >= bottom - top0

        row, col = top + kh, left + kw
        inside = (row >= 0) & (row < H) & (col >= 0) & (col < W)
        def ring(a, b):  # (a + b) mod L for a, b in 0..L-1
            return Mux(a + b >= L, a + b - L, a + b)

        slot = ring(base, kh)
        m.d.comb += rd.addr.eq(slot * line + (col * C + c)[:_bits(line)])

        advance = ~self.o.valid | self.o.ready
        pad = Signal()
        m.d.comb += [rd.en.eq(advance),
                     self.o.payload.eq(Mux(pad, 0, rd.data))]
        issue = can_issue & advance
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(can_issue), pad.eq(~inside)]

        last_c, last_kw, last_kh = c == C - 1, kw == k - 1, kh == k - 1
        last_ow, last_oh = ow == Wc - 1, oh == Hc - 1
        with m.If(issue):
            m.d.sync += c.eq(c + 1)
            with m.If(last_c):
                m.d.sync += [c.eq(0), kw.eq(kw + 1)]
                with m.If(last_kw):
                    m.d.sync += [kw.eq(0), kh.eq(kh + 1)]
                    with m.If(last_kh):
                        m.d.sync += [kh.eq(0), ow.eq(ow + 1), left.eq(left + s)]
                        with m.If(last_ow):
                            m.d.sync += [ow.eq(0), left.eq(-p)]
                            nxt = Mux(last_oh, H, Mux(top + s < 0, 0, top + s))
                            m.d.comb += release.eq(nxt - top0)
                            with m.If(last_oh):
                                m.d.sync += [oh.eq(0), top.eq(-p),
                                             base.eq(ring(base, (H - (Hc - 1) * s) % L))]
                            with m.Else():
                                m.d.sync += [oh.eq(oh + 1), top.eq(top + s),
                                             base.eq(ring(base, s % L))]

        m.d.comb += self.busy.eq((wpos != 0) | (wrow != 0) | (avail != 0) | self.o.valid
                                 | (Cat(oh, ow, kh, kw, c) != 0))
        return m


def reciprocal(numerator_max: int, divisor: int) -> tuple[int, int]:
    """``(mult, shift)`` with ``(n * mult) >> shift == n // divisor`` for every ``0 <= n <=
    numerator_max`` (Granlund and Montgomery: ``shift = N + ceil(log2 divisor)`` for N-bit
    ``n``, ``mult = ceil(2**shift / divisor)``)."""
    shift = _bits(numerator_max) + clog2(divisor)
    return -(-(1 << shift) // divisor), shift


class Pooling(wiring.Component):
    """Non-overlapping q x q pooling of a convolution's output codes, per channel (docs/layer.md,
    Convolutions; :func:`spinemu.sim.golden.window.pool`).

    Parameters
    ----------
    conv : ConvConfig
        Hc x Wc positions, ``pool`` ``"max"`` or ``"avg"`` of ``pool_size`` q (n = q*q).
    channels : int
        Output channels Co (the layer's ``out_features``).
    shape : shape
        One code, ``unsigned(O)`` or ``signed(O)``.

    Members
    -------
    i : In(stream.Signature(shape))
        Codes of positions ``(oh, ow)`` (``ow`` fastest), Co per position, channel 0 first:
        Hc*Wc*Co transfers per image.
    o : Out(stream.Signature(shape))
        Per window ``(ph, pw)`` (``pw`` fastest) its Co codes: ``max``, or the sum S rounded,
        ``floor((2S + n) / (2n))`` (on offset codes ``a + 2**(O-1)`` when signed, which shifts
        the result by the same amount). (Hc/q)*(Wc/q)*Co transfers per image.
    busy : Out(1)
        High while part of an image is held.

    Architecture and timing
    -----------------------
    One line of partial results: a memory of (Wc/q)*Co words (O bits for max, O + ceil(log2 n)
    bits for the sum), read at the code's window and channel when the code is taken and written
    back (or, on the window's last code, emitted) the next clock; the read is transparent to
    that write, so consecutive codes of one window chain. The division by 2n is a
    multiplication by a reciprocal (:func:`reciprocal`) in a stage of its own. Three stages
    (read, combine, divide), all stalled by ``o``: latency 3 clocks from the window's last code
    to its result, one code per clock.
    """

    def __init__(self, conv: ConvConfig, channels: int, shape):
        if conv.pool not in ("max", "avg"):
            raise ConfigError(f"pool = {conv.pool!r}: a Pooling is 'max' or 'avg'")
        self._conv, self._channels, self._shape = conv, channels, shape
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cv, Co = self._conv, self._channels
        q, n, Wp = cv.pool_size, cv.pool_size ** 2, cv.out_width
        bits = self._shape.width
        is_signed = self._shape.signed
        avg = cv.pool == "avg"
        acc_shape = unsigned(_bits(((1 << bits) - 1) * n) if avg else bits)
        m = Module()
        m.submodules.partial = partial = memory.Memory(shape=acc_shape, depth=Wp * Co, init=[])
        wr = partial.write_port()
        rd = partial.read_port(transparent_for=(wr,))

        # offset binary: signed codes compare and add as unsigned
        code = self.i.payload.as_unsigned() ^ (Const(1 << (bits - 1), bits) if is_signed else 0)
        ch, pw = Signal(range(Co)), Signal(range(Wp))
        qx, qy = Signal(range(q)), Signal(range(q))
        advance = ~self.o.valid | self.o.ready
        m.d.comb += [self.i.ready.eq(advance), rd.en.eq(advance),
                     rd.addr.eq(pw * Co + ch)]

        b_valid, b_first, b_last = Signal(), Signal(), Signal()
        b_code, b_index = Signal(bits), Signal(range(Wp * Co))
        taken = self.i.valid & advance
        with m.If(advance):
            m.d.sync += [b_valid.eq(self.i.valid), b_code.eq(code), b_index.eq(pw * Co + ch),
                         b_first.eq((qx == 0) & (qy == 0)),
                         b_last.eq((qx == q - 1) & (qy == q - 1))]
        with m.If(taken):
            m.d.sync += ch.eq(ch + 1)
            with m.If(ch == Co - 1):
                m.d.sync += [ch.eq(0), qx.eq(qx + 1)]
                with m.If(qx == q - 1):
                    m.d.sync += [qx.eq(0), pw.eq(pw + 1)]
                    with m.If(pw == Wp - 1):
                        m.d.sync += [pw.eq(0), qy.eq(qy + 1)]
                        with m.If(qy == q - 1):
                            m.d.sync += qy.eq(0)

        if avg:
            combined = rd.data + b_code
        else:
            combined = Mux(b_code > rd.data, b_code, rd.data)
        new = Mux(b_first, b_code, combined)[:acc_shape.width]
        m.d.comb += [wr.addr.eq(b_index), wr.data.eq(new),
                     wr.en.eq(advance & b_valid & ~b_last)]

        c_valid, c_sum = Signal(), Signal(acc_shape)
        with m.If(advance):
            m.d.sync += [c_valid.eq(b_valid & b_last), c_sum.eq(new)]
        if avg:
            mult, shift = reciprocal(2 * (((1 << bits) - 1) * n) + n, 2 * n)
            result = (((c_sum << 1) + n) * mult >> shift)[:bits]
        else:
            result = c_sum[:bits]
        if is_signed:
            result = (result ^ (1 << (bits - 1))).as_signed()
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(c_valid), self.o.payload.eq(result)]
        m.d.comb += self.busy.eq(b_valid | c_valid | self.o.valid
                                 | (Cat(ch, pw, qx, qy) != 0))
        return m


class ConvLayer(wiring.Component):
    """A convolution layer: :class:`WindowGenerator`, the :class:`~spinemu.hdl.layer.TiledLayer`
    of the im2col matrix and a :class:`Pooling` (docs/layer.md, Convolutions).

    Parameters
    ----------
    layer : LayerConfig
        With ``conv``: In = k*k*C patch features, Out = Co channels; H x W x C input image,
        Hc x Wc positions, pooling q.
    images : LayerImages, optional
        As :class:`~spinemu.hdl.layer.TiledLayer`.
    write_map : WriteMap, optional
        As :class:`~spinemu.hdl.layer.TiledLayer`.
    counters : bool
        The tiled layer's activity counters (``activity``, ``drained``), as
        :class:`~spinemu.hdl.layer.TiledLayer`: they count the im2col patches it computes
        (pooling is not counted).

    Members
    -------
    x : In(stream.Signature(input code))
        The NHWC image, one code per transfer: H*W*C transfers per image.
    o : Out(stream.Signature(output code))
        The pooled NHWC image, one code per transfer: (Hc/q)*(Wc/q)*Co transfers per image.
    write, read : as :class:`~spinemu.hdl.layer.TiledLayer` (the tiles and the periphery).
    busy : Out(1)
        High while any part holds part of an image.

    Timing
    ------
    Every position is a vector of the tiled layer, so in steady state an image takes
    :meth:`cycles_per_image` = Hc * Wc * :meth:`TiledLayer.cycles_per_vector` clocks (the
    window generator emits a vector's k*k*C codes at one per clock, no slower than the tiled
    layer takes them; the pooling takes one code per clock). Images overlap: the next image's
    first rows enter while the last positions compute.
    """

    def __init__(self, layer: LayerConfig, images: LayerImages | None = None, *,
                 write_map: WriteMap | None = None, counters: bool = False):
        from .activity import activity_layout
        from .layer import TiledLayer

        if not isinstance(layer, LayerConfig) or layer.conv is None:
            raise TypeError("layer must be a LayerConfig with conv")
        self._layer, self._counters = layer, counters
        wmap = write_map or WriteMap.of([layer])
        self._tiled = TiledLayer(layer, images, write_map=wmap, counters=counters)
        ports = {
            "x": In(stream.Signature(input_shape(layer.tile))),
            "o": Out(stream.Signature(act_shape(layer))),
            "write": In(stream.Signature(wmap.layer_layout())),
            "read": In(ReadSignature(unsigned(wmap.layer_addr_bits), unsigned(wmap.data_bits))),
            "busy": Out(1),
        }
        if counters:
            ports.update(activity=Out(activity_layout(layer)), drained=Out(1))
        super().__init__(ports)

    @property
    def layer(self) -> LayerConfig:
        return self._layer

    @staticmethod
    def cycles_per_image(layer: LayerConfig) -> int:
        """Steady-state clocks per image: Hc * Wc vectors of the tiled layer."""
        from .layer import TiledLayer

        return layer.conv.positions * TiledLayer.cycles_per_vector(layer)

    def elaborate(self, platform):
        layer, conv = self._layer, self._layer.conv
        m = Module()
        m.submodules.window = window = WindowGenerator(conv, input_shape(layer.tile))
        m.submodules.tiled = tiled = self._tiled
        wiring.connect(m, wiring.flipped(self.x), window.x)
        wiring.connect(m, window.o, tiled.x)
        busy = window.busy | tiled.busy
        if conv.pool == "none":
            wiring.connect(m, tiled.o, wiring.flipped(self.o))
        else:
            m.submodules.pool = pool = Pooling(conv, layer.out_features, act_shape(layer))
            wiring.connect(m, tiled.o, pool.i)
            wiring.connect(m, pool.o, wiring.flipped(self.o))
            busy = busy | pool.busy
        wiring.connect(m, wiring.flipped(self.write), tiled.write)
        wiring.connect(m, wiring.flipped(self.read), tiled.read)
        m.d.comb += self.busy.eq(busy)
        if self._counters:
            m.d.comb += [self.activity.eq(tiled.activity),
                         self.drained.eq(~busy & tiled.drained)]
        return m
