"""Energy, latency and area of a workload on the chip a :class:`Tech` describes, and of the
same workload on a digital baseline (docs/energy.md, "Estimate").

Energy is activity (:mod:`.activity`) times energy per event, per component; the digital
baseline counts the same workload's multiplies, adds and memory reads at Horowitz's energies.
All values are SI: joules, seconds, square metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from spinemu.config import ConfigError

from .activity import LayerActivity, NetworkActivity, PBitActivity
from .tech import Tech

__all__ = ["Estimate", "adc_energy", "adc_time", "add_energy", "mult_energy",
           "estimate_network", "estimate_pbit", "pbit_baseline", "sram_read_energy", "PBIT_KINDS",
           "LFSR_ADDS"]

#: p-bit implementations: a stochastic MTJ, or the emulated design's LFSR and table as CMOS.
PBIT_KINDS = ("smtj", "cmos")


# --- Energy and time of one event -----------------------------------------------------------

def adc_energy(tech: Tech, bits: int) -> float:
    """One conversion at ``bits``: ``walden`` E = c 2^bits (c per conversion step, Walden's
    figure of merit), ``linear`` E = c bits (a SAR's comparisons), ``thermal`` E = c 4^bits
    (thermal-noise limited)."""
    c, model = tech["adc.energy"], tech.choices["adc.model"]
    return {"walden": c * 2.0 ** bits, "linear": c * bits, "thermal": c * 4.0 ** bits}[model]


def adc_time(tech: Tech, bits: int) -> float:
    """One conversion: one SAR cycle per bit."""
    return tech["adc.time_per_bit"] * bits


def add_energy(tech: Tech, bits: int) -> float:
    """One ``bits``-wide add (ripple: energy grows with width)."""
    return tech["digital.add_energy_per_bit"] * bits


def mult_energy(tech: Tech, a_bits: int, b_bits: int) -> float:
    """One ``a x b``-bit multiply: the 8x8 energy times ``a b / 64`` (an array multiplier's
    partial products)."""
    return tech["digital.mult_energy_8bit"] * a_bits * b_bits / 64


def sram_read_energy(tech: Tech, nbytes: int) -> float:
    """A 64-bit read of the baseline's memory big enough for ``nbytes``: SRAM of 8 KB, 32 KB or
    1 MB, beyond that DRAM (Horowitz's figures, times ``baseline.energy_scale``)."""
    for limit, key in ((8 << 10, "sram_8kb"), (32 << 10, "sram_32kb"), (1 << 20, "sram_1mb")):
        if nbytes <= limit:
            return tech[f"baseline.{key}"] * tech["baseline.energy_scale"]
    return tech["baseline.dram"] * tech["baseline.energy_scale"]


# --- The result ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    """A workload's cost per ``unit`` (an inference, or one sweep of one chain).

    Attributes
    ----------
    title, unit : str
    components : dict[str, float]
        Energy of each component per unit, J.
    latency : float
        Time per unit, s.
    area : float
        Chip area, m2 (what is counted is said in ``area_note``).
    ops : float
        Operations per unit: 2 per MAC for a network, p-bit updates for a p-bit run.
    baseline : dict[str, float]
        Energy per unit of the digital baseline variants, J.
    notes : dict[str, str]
    """

    title: str
    unit: str
    components: dict[str, float] = field(hash=False)
    latency: float
    area: float
    ops: float
    baseline: dict[str, float] = field(hash=False)
    notes: dict[str, str] = field(hash=False, default_factory=dict)

    @property
    def energy(self) -> float:
        return sum(self.components.values())

    @property
    def ops_per_joule(self) -> float:
        """TOPS/W times 1e12 for a network; flips (updates) per joule for a p-bit run."""
        return self.ops / self.energy

    @property
    def tops_per_watt(self) -> float:
        return self.ops_per_joule / 1e12

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.latency

    def baseline_ratio(self, name: str) -> float:
        """How many times the chip's energy the baseline variant ``name`` spends."""
        return self.baseline[name] / self.energy


# --- Networks --------------------------------------------------------------------------------

def devices_per_cell(tech: Tech, cell_bits: int) -> int:
    """Devices holding one ``cell_bits`` conductance code (bit-sliced, combined in the analog
    domain before the column's one conversion)."""
    return math.ceil(cell_bits / tech["cell.bits_per_device"])


def _pulse_lengths(tech: Tech, bits: int) -> list[int]:
    """Unit pulse lengths of input bits ``0..bits-1``: 1 each (bit-serial, binary-weighted
    charge sharing) or ``2**b`` (pulse width)."""
    pwm = tech.choices["input.encoding"] == "pwm"
    return [(1 << b) if pwm else 1 for b in range(bits)]


def layer_energy(tech: Tech, a: LayerActivity) -> dict[str, float]:
    """Energy of each component of one layer's activity (totals, J)."""
    layer, tile = a.layer, a.layer.tile
    lengths = _pulse_lengths(tech, tile.input_bits)
    weighted = sum(int(p) * n for p, n in zip(a.pulses_by_bit, lengths, strict=True))
    drive = tech["input.dac_energy"] + tile.cols * tech["input.wordline_energy_per_cell"]
    tree = sum(adds * add_energy(tech, tile.out_bits + level)
               for level, adds in enumerate(a.tree_adds, start=1))
    return {
        "input drive": a.pulses * drive,
        "cell reads": weighted * tile.cols * devices_per_cell(tech, tile.cell_bits)
                      * tech["cell.read_energy"],
        "ADC": a.adc_conversions * adc_energy(tech, tile.adc_bits),
        "calibration": a.calibration_ops * (mult_energy(tech, tile.gain_bits, tile.adc_bits)
                                            + add_energy(tech, tile.out_bits)),
        "adder tree": tree,
        "periphery": a.periphery_ops * (add_energy(tech, layer.v_bits)
                                        + mult_energy(tech, layer.v_bits, layer.mult_bits))
                     + a.pool_ops * add_energy(tech, layer.act_bits),
        "buffers": (a.buffer_bits_read + a.buffer_bits_written)
                   * tech["digital.buffer_energy_per_bit"],
    }


def layer_latency(tech: Tech, a: LayerActivity) -> float:
    """Time of one layer input: its patches in series, each the input pulses, the column
    conversions sharing an ADC in series, the adder tree and the periphery."""
    tile = a.layer.tile
    pulses = sum(_pulse_lengths(tech, tile.input_bits)) * tech["cell.read_time"]
    conversions = min(int(tech["adc.columns_per_adc"]), tile.cols) * adc_time(tech,
                                                                              tile.adc_bits)
    patch = (pulses + conversions + len(a.tree_adds) * tech["digital.add_time"]
             + tech["digital.periphery_time"])
    return a.patches / a.vectors * patch


def layer_area(tech: Tech, a: LayerActivity) -> float:
    """The layer's tile grid: cells, ADCs (scaled by 2^(bits - 8)) and tile periphery."""
    layer, tile = a.layer, a.layer.tile
    adcs = math.ceil(tile.cols / tech["adc.columns_per_adc"])
    per_tile = (tile.rows * tile.cols * devices_per_cell(tech, tile.cell_bits) * tech["cell.area"]
                + adcs * tech["adc.area_8bit"] * 2.0 ** (tile.adc_bits - 8)
                + tech["digital.tile_area"])
    return layer.row_tiles * layer.col_tiles * per_tile


def network_baseline(tech: Tech, activity: NetworkActivity) -> dict[str, float]:
    """Digital baseline per inference: every MAC an 8-bit multiply and add (codes of at most 8
    bits; wider weights are not charged more), with and without a 64-bit SRAM read per MAC's
    weight share (``cell_bits / 64`` of a read from a memory holding all weights)."""
    scale = tech["baseline.energy_scale"]
    mac = (tech["baseline.mult8"] + tech["baseline.add8"]) * scale
    compute = sum(a.macs for a in activity.layers) * mac
    weight_bytes = sum(a.layer.in_features * a.layer.out_features * a.layer.tile.cell_bits
                       for a in activity.layers) // 8
    read = sram_read_energy(tech, weight_bytes)
    fetch = sum(a.macs * a.layer.tile.cell_bits / 64 for a in activity.layers) * read
    vectors = activity.vectors
    return {"digital, weights in registers": compute / vectors,
            "digital, weights from SRAM": (compute + fetch) / vectors}


def estimate_network(tech: Tech, activity: NetworkActivity, title: str = "network") -> Estimate:
    """Cost of one inference of ``activity`` (averaged over its vectors)."""
    components: dict[str, float] = {}
    for a in activity.layers:
        for name, joules in layer_energy(tech, a).items():
            components[name] = components.get(name, 0.0) + joules / a.vectors
    return Estimate(
        title=title, unit="inference", components=components,
        latency=sum(layer_latency(tech, a) for a in activity.layers),
        area=sum(layer_area(tech, a) for a in activity.layers),
        ops=2 * activity.macs / activity.vectors,
        baseline=network_baseline(tech, activity),
        notes={"ops": "2 per MAC (in_features x out_features per patch, unpadded)",
               "area": "tile grids: cells, ADCs, tile periphery"})


# --- p-bits ----------------------------------------------------------------------------------

def _synapse_time(tech: Tech, a: PBitActivity) -> float:
    """Field of one p-bit: its couplings summed by an adder tree, then the bias."""
    degree = math.ceil(2 * a.edges / a.n) if a.n else 0
    return (math.ceil(math.log2(degree + 1)) + 1) * tech["digital.add_time"]


#: An LFSR step and compare, in 8-bit adds of the baseline (Horowitz: a 32-bit add, 0.1 pJ, is
#: about four 8-bit adds, 0.03 pJ each).
LFSR_ADDS = 4


def pbit_baseline(tech: Tech, a: PBitActivity) -> dict[str, float]:
    """Digital baseline per sweep of one chain: per update its couplings' and its bias's 8-bit
    adds, one 8-bit multiply (beta) and an LFSR step (:data:`LFSR_ADDS`); from SRAM, plus
    ``coupling_bits / 64`` of a 64-bit read per coupling from a memory holding them all."""
    chains = a.sweeps * a.replicas
    updates = a.updates / chains
    adds = a.coupling_reads / chains + updates * (1 + LFSR_ADDS)
    digital = (adds * tech["baseline.add8"] + updates * tech["baseline.mult8"]) * tech[
        "baseline.energy_scale"]
    fetch = (a.coupling_reads / chains * a.coupling_bits / 64
             * sram_read_energy(tech, a.edges * a.coupling_bits // 8))
    return {"digital, couplings in registers": digital,
            "digital, couplings from SRAM": digital + fetch}


def estimate_pbit(tech: Tech, a: PBitActivity, kind: str = "smtj", beta_bits: int = 12,
                  title: str = "p-bit run") -> Estimate:
    """Cost of one sweep of one chain: ``n`` updates, each its field (couplings read from a
    buffer and added, the bias added), the inverse-temperature scaling and the random decision:
    an sMTJ driven through a DAC (``smtj``) or an LFSR leap and table read (``cmos``)."""
    if kind not in PBIT_KINDS:
        raise ConfigError(f"kind = {kind!r} is not known; allowed {', '.join(PBIT_KINDS)}")
    chains = a.sweeps * a.replicas
    if not chains:
        raise ConfigError("sweeps = 0: a p-bit run needs at least one sweep")
    updates = a.updates / chains
    adds = (a.coupling_reads + a.bias_adds) * add_energy(tech, a.field_bits) / chains
    reads = (a.coupling_reads * a.coupling_bits * tech["digital.buffer_energy_per_bit"]
             / chains)
    scaling = updates * mult_energy(tech, a.field_bits, beta_bits)
    if kind == "smtj":
        random = {"sMTJ random bits": updates * tech["pbit.smtj_energy"],
                  "sMTJ input DAC": updates * tech["input.dac_energy"]}
        update_time, area = tech["pbit.smtj_dwell"], a.n * tech["pbit.smtj_area"]
    else:
        random = {"LFSR + tanh LUT": updates * tech["pbit.cmos_update_energy"]}
        update_time, area = tech["pbit.cmos_update_time"], a.n * tech["pbit.cmos_area"]
    return Estimate(
        title=title, unit="sweep", components={"field adds": adds, "coupling reads (buffer)": reads,
                                               "beta scaling": scaling, **random},
        latency=a.colours * (update_time + _synapse_time(tech, a)), area=area, ops=updates,
        baseline=pbit_baseline(tech, a),
        notes={"ops": "p-bit updates (flips attempted) per sweep of one chain",
               "area": f"{a.n} {kind} p-bits only (no coupling memory)"})
