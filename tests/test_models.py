"""The bundled graphs and the bundled convolution net: what the files hold, that the generated
graph is reproducible, and that the CNN's ONNX file is its model."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising import colour, toroidal_spin_glass
from spinemu.mapper import from_onnx
from spinemu.models import (
    BUNDLED,
    GRAPHS,
    ONNX_FILES,
    TORUS_SEED,
    bundled_graph,
    load_bundled,
    load_dataset,
)
from spinemu.models.train import cnn_geometry, cnn_gradients, onnx_error, to_onnx


def test_bundled_torus_is_the_generators_output():
    bundled = bundled_graph("torus16")
    generated = toroidal_spin_glass(16, seed=TORUS_SEED)
    assert bundled.n == generated.n == 256
    assert np.array_equal(bundled.edges, generated.edges)
    assert np.array_equal(bundled.weights, generated.weights)
    assert colour(bundled.n, bundled.edges).num_colours == 2


def test_bundled_g14_is_the_gset_instance():
    g14 = bundled_graph("G14")
    assert (g14.n, len(g14.edges)) == (800, 4694)
    assert set(g14.weights.tolist()) == {1.0}


def test_unknown_graph_names_the_bundled_ones():
    with pytest.raises(ConfigError) as error:
        bundled_graph("G99")
    assert str(error.value) == f"graph = 'G99' is not bundled; allowed {list(GRAPHS)}"


def test_bundled_cnn_layers():
    model = load_bundled("digits_cnn")
    assert BUNDLED["digits_cnn"] == "digits"
    convs = [layer.conv for layer in model.layers]
    assert [(c.height, c.channels, c.kernel, c.padding, c.pool, c.pool_size) for c in convs[:2]] \
        == [(8, 1, 3, 1, "max", 2), (4, 8, 3, 1, "max", 2)]
    assert [layer.weight.shape for layer in model.layers] == [(9, 8), (72, 16), (64, 10)]
    assert [layer.relu for layer in model.layers] == [True, True, False] and convs[2] is None


def test_bundled_cnn_onnx_file_is_the_model():
    import onnx

    model = load_bundled("digits_cnn")
    proto = onnx.load(str(ONNX_FILES["digits_cnn"]))
    imported = from_onnx(proto)
    for a, b in zip(imported.layers, model.layers, strict=True):
        assert (a.name, a.relu, a.conv) == (b.name, b.relu, b.conv)
        assert (a.weight == b.weight).all() and (a.bias == b.bias).all()
    assert onnx_error(model, proto, load_dataset("digits").test_x) < 1e-4
    assert proto.graph.SerializeToString() == to_onnx(model).graph.SerializeToString()


def test_cnn_gradients_match_finite_differences():
    """The hand-written backpropagation of the numpy trainer against central differences, on
    a few coordinates of every parameter."""
    rng = np.random.default_rng(5)
    convs = cnn_geometry((3, 4))
    shapes = [(9, 3), (3,), (27, 4), (4,), (16, 10), (10,)]
    params = [rng.normal(scale=0.5, size=shape) for shape in shapes]
    x, labels = rng.random((6, 64)), rng.integers(0, 10, 6)
    _, grads = cnn_gradients(params, x, labels, convs)
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        for flat in rng.choice(param.size, size=min(param.size, 5), replace=False):
            where = np.unravel_index(flat, param.shape)
            saved = param[where]
            param[where] = saved + 1e-6
            up = cnn_gradients(params, x, labels, convs)[0]
            param[where] = saved - 1e-6
            down = cnn_gradients(params, x, labels, convs)[0]
            param[where] = saved
            assert abs((up - down) / 2e-6 - grad[where]) < 1e-6 + 1e-4 * abs(grad[where]), \
                (index, where)
