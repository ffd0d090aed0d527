"""The rtl backend's simulation toplevel (sim/link_server.bridge_top) and the ports a cocotb
build makes public (sim/runner.public_ports_config). Runs through the rtl backend are in
test_emulator.py."""

from __future__ import annotations

import pytest

from spinemu.sim.link_server import bridge_top
from spinemu.sim.runner import SimulatorError, public_ports_config

CORE = """\
module link_core(i__valid, o__ready, clk, rst, i__ready, o__payload, o__valid, i__payload);
  input i__valid;
  input o__ready;
  input clk;
  input rst;
  output i__ready;
  output [7:0] o__payload;
  output o__valid;
  input [7:0] i__payload;
endmodule
"""


def test_outputs_are_public_read_only_and_inputs_writable():
    text = public_ports_config(CORE, "link_core")
    lines = text.splitlines()
    assert lines[0] == "`verilator_config" and len(lines) == 9
    access = {line.split('"')[3]: line.split()[0] for line in lines[1:]}
    assert access == {"i__valid": "public_flat_rw", "o__ready": "public_flat_rw",
                      "clk": "public_flat_rw", "rst": "public_flat_rw",
                      "i__payload": "public_flat_rw", "i__ready": "public_flat_rd",
                      "o__payload": "public_flat_rd", "o__valid": "public_flat_rd"}
    with pytest.raises(SimulatorError, match="no module"):
        public_ports_config(CORE, "other")


def test_the_bridge_top_has_rings_of_the_size_asked_and_no_clock_or_reset_port():
    verilog = bridge_top(CORE, ring_bytes=64)
    assert verilog.startswith(CORE)
    top = verilog[len(CORE):]
    assert "module link_top(in_data, in_wptr, in_rptr, out_data, out_wptr, out_rptr);" in top
    assert "input [511:0] in_data;" in top and "output [511:0] out_data;" in top
    assert "input [6:0] in_wptr;" in top and "output [6:0] out_wptr;" in top
    assert "always #5 clk = ~clk;" in top and "link_core core (.clk(clk), .rst(" in top
    access = {line.split('"')[3]: line.split()[0]
              for line in public_ports_config(verilog, "link_top").splitlines()[1:]}
    assert access == {"in_data": "public_flat_rw", "in_wptr": "public_flat_rw",
                      "out_rptr": "public_flat_rw", "in_rptr": "public_flat_rd",
                      "out_data": "public_flat_rd", "out_wptr": "public_flat_rd"}


def test_the_bridge_top_refuses_other_cores_and_ring_sizes():
    with pytest.raises(SimulatorError, match="power of two"):
        bridge_top(CORE, ring_bytes=48)
    with pytest.raises(SimulatorError, match="no module"):
        bridge_top(CORE, core="other")
    with pytest.raises(SimulatorError, match="are needed"):
        bridge_top(CORE.replace("i__payload);", "i__payload, extra);"))
