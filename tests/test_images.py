"""LayerImages (spinemu/images.py): a leaf that golden model, plans and mapper share."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from spinemu.sim.golden.network import LayerModel


def test_tile_weights_are_the_golden_tiles(small_layer):
    layer, images = small_layer
    g = images.tile_weights(layer)
    model = LayerModel(layer, images)
    for p in range(layer.row_tiles):
        for q in range(layer.col_tiles):
            assert (g[p][q] == model.tiles[p][q].g).all()
    assert np.concatenate([np.concatenate(row, axis=1) for row in g])[
        : layer.in_features, : layer.out_features].tolist() == images.g.tolist()


def test_images_golden_model_and_plans_import_no_amaranth():
    code = ("import sys, spinemu.images, spinemu.plan, spinemu.sim.golden.network; "
            "sys.exit('amaranth' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
