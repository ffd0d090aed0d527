"""Fixtures shared by the test modules (plain helpers live in ``cases.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from spinemu.config import LayerConfig, TileConfig
from spinemu.images import LayerImages
from spinemu.ising import MaxCut, write_gset
from spinemu.sim.runner import OPT_VARIABLE

from cases import random_layer_images

#: The modules whose tests build and run simulators, longest first (summed test time of a
#: fresh-cache run, ``pytest --durations=0``): run before the rest, so that pytest-xdist's
#: workers end on short tests instead of one waiting on the other's last build.
LONG_MODULES = ("test_tile_cocotb", "test_layer_cocotb", "test_pbit", "test_emulator",
                "test_cli", "test_cli_link", "test_layer", "test_link_cocotb",
                "test_energy_counters", "test_ising_run", "test_link_vboard", "test_build",
                "test_runner", "test_synth", "test_hybrid")


def pytest_configure(config):
    """The suite's simulations are short: its Verilator builds made to run fast compile at -O1
    (``$SPINEMU_VERILATOR_OPT``, unless set already; its largest designs in 0.78x the time of
    the default -O2, running at 0.93x the clocks a second). Workers and the commands tests
    start inherit it."""
    os.environ.setdefault(OPT_VARIABLE, "1")


def pytest_collection_modifyitems(items):
    """Long modules first (``LONG_MODULES``), each module's tests kept together and in order."""
    rank = {name: k for k, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rpartition(".")[2],
                                         len(rank)))


@pytest.fixture
def small_layer() -> tuple[LayerConfig, LayerImages]:
    """A layer on 3 x 2 tiles (6 of the 8 tile addresses), padded rows and columns, with random
    images (seed 11)."""
    tile = TileConfig(rows=3, cols=2, lanes=2, cell_bits=4, input_bits=3, adc_bits=6, out_bits=7)
    layer = LayerConfig(7, 3, tile, act_bits=5, mult_bits=6, bias_bits=8)
    return layer, random_layer_images(np.random.default_rng(11), layer)


@pytest.fixture
def cache_without_ccache(tmp_path, monkeypatch):
    """An empty simulator build cache (``$SPINEMU_CACHE``, returned) and no ccache on the path
    for the builds, as on a fresh machine: the Verilator runtime is then compiled by the first
    build of a kind and only kept objects serve the next."""
    import shutil

    which = shutil.which
    monkeypatch.setattr(shutil, "which",
                        lambda name, *args, **kw: None if name == "ccache" else which(name))
    monkeypatch.setenv("SPINEMU_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture
def nvdcim():
    """The bundled nvDCIM validation macro's tech file (40 nm STT-MRAM digital CIM, nominal
    supply 0.9 V)."""
    from spinemu.energy.tech import bundled_tech

    return bundled_tech("natelec2025")


@pytest.fixture
def random_graph():
    """``random_graph(rng, n, density=0.5, integer=False)``: a :class:`~spinemu.ising.MaxCut`
    on ``n`` nodes, each pair an edge with probability ``density``, weights normal (or
    integers in -3..3)."""
    def make(rng, n: int, density: float = 0.5, integer: bool = False) -> MaxCut:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < density]
        edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        weights = (rng.integers(-3, 4, len(edges)) if integer
                   else rng.normal(size=len(edges))).astype(np.float64)
        return MaxCut(n, edges, weights, "random")

    return make


@pytest.fixture
def text_file(tmp_path):
    """``text_file(text, name="g.txt")``: the path of a file holding ``text`` in ``tmp_path``."""
    def write(text: str, name: str = "g.txt") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture
def graph_dir(tmp_path, random_graph) -> Path:
    """A folder of two small integer Max-Cut graphs in G-set format, ``g10.txt`` (10 nodes)
    and ``g16.txt`` (16 nodes), drawn from seeds 10 and 16: a sweep spec's ``data_dir``."""
    folder = tmp_path / "graphs"
    folder.mkdir()
    for n in (10, 16):
        write_gset(random_graph(np.random.default_rng(n), n, integer=True), folder / f"g{n}.txt")
    return folder


@pytest.fixture(scope="module")
def dask_client():
    """A client of a LocalCluster of two worker processes of one thread each (no dashboard),
    shared by a test module; closed after it."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
