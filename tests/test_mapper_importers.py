"""Importers: scikit-learn, ONNX and PyTorch models become the same dense layers, or are refused
with a message naming the layer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.mapper import DenseLayer, DenseModel, from_onnx, from_sklearn, load_model
from spinemu.models import BUNDLED, load_bundled


def fitted(estimator, x, y):
    """Fit on a few samples; the short fit's ConvergenceWarning is expected, nothing else is."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(x, y)


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1), x @ rng.normal(size=(6, 2))


def test_bundled_models_load_and_match_their_shapes():
    assert sorted(BUNDLED) == ["digits", "digits32", "digits_cnn"]
    digits, digits32 = load_bundled("digits"), load_bundled("digits32")
    assert [(layer.in_features, layer.out_features, layer.relu) for layer in digits.layers] == [
        (64, 64, True), (64, 10, False)]
    assert digits32.in_features == 1024 and -(-1024 // 128) >= 8
    assert (digits.classes == np.arange(10)).all() and digits.task == "classifier"


def test_dense_model_npz_round_trip(tmp_path):
    model = load_bundled("digits")
    model.save(tmp_path / "m.npz")
    again = DenseModel.load(tmp_path / "m.npz")
    x = np.random.default_rng(1).random((5, 64))
    assert (again(x) == model(x)).all() and again.name == model.name
    assert [layer.relu for layer in again.layers] == [layer.relu for layer in model.layers]


@pytest.mark.parametrize("kind", ["classifier3", "binary", "regressor"])
def test_sklearn_mlp_predictions_are_kept(small_data, kind):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    x, labels, targets = small_data
    if kind == "regressor":
        estimator = fitted(MLPRegressor(hidden_layer_sizes=(5, 4), max_iter=30, random_state=0),
                           x, targets)
    else:
        y = labels if kind == "classifier3" else labels > 0
        estimator = fitted(MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0),
                           x, y)
    model = from_sklearn(estimator)
    assert model.task == ("regressor" if kind == "regressor" else "classifier")
    if kind == "regressor":
        np.testing.assert_allclose(model.predict(x), estimator.predict(x), rtol=1e-12)
    else:
        assert (model.predict(x) == estimator.predict(x)).all()
    assert load_model(estimator).layers[0].weight.shape == (6, estimator.coefs_[0].shape[1])


def test_sklearn_refusals(small_data):
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPClassifier

    x, labels, _ = small_data
    tanh = fitted(MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", max_iter=5,
                                random_state=0), x, labels)
    with pytest.raises(ConfigError, match=r"^MLPClassifier activation = 'tanh' \(hidden layers\) "
                                          r"is not supported; allowed \['relu', 'identity'\]$"):
        from_sklearn(tanh)
    with pytest.raises(ConfigError, match=r"^scikit-learn model LinearRegression is not "
                                          r"supported; allowed MLPClassifier, MLPRegressor$"):
        from_sklearn(LinearRegression().fit(x, labels))
    with pytest.raises(ConfigError, match=r"^MLPClassifier is not fitted$"):
        from_sklearn(MLPClassifier())


# --- ONNX -----------------------------------------------------------------------------------

def onnx_graph(nodes, initializers, features, name="g"):
    from onnx import TensorProto, helper, numpy_helper

    return helper.make_model(helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers.items()]))


def digits_onnx(model: DenseModel):
    """The bundled digits model as Gemm(transB) -> Relu -> MatMul -> Add."""
    from onnx import helper

    first, second = model.layers
    nodes = [helper.make_node("Gemm", ["x", "w0t", "b0"], ["h"], name="fc0", transB=1),
             helper.make_node("Relu", ["h"], ["r"], name="relu0"),
             helper.make_node("MatMul", ["r", "w1"], ["m"], name="fc1"),
             helper.make_node("Add", ["m", "b1"], ["y"], name="bias1")]
    return onnx_graph(nodes, {"w0t": first.weight.T, "b0": first.bias, "w1": second.weight,
                              "b1": second.bias}, 64, name="digits_onnx")


def test_onnx_chain_equals_the_model_it_came_from(tmp_path):
    import onnx

    model = load_bundled("digits")
    onnx.save(digits_onnx(model), str(tmp_path / "d.onnx"))
    imported = load_model(tmp_path / "d.onnx")
    assert [layer.name for layer in imported.layers] == ["fc0", "fc1"]
    assert [layer.relu for layer in imported.layers] == [True, False]
    for a, b in zip(imported.layers, model.layers, strict=True):
        assert (a.weight == b.weight).all() and (a.bias == b.bias).all()


def test_onnx_gemm_alpha_beta_are_folded():
    from onnx import helper

    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="g", alpha=0.5, beta=2.0)
    layer = from_onnx(onnx_graph([node], {"w": w, "b": b}, 3)).layers[0]
    np.testing.assert_allclose(layer.weight, 0.5 * w.astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(layer.bias, 2.0 * b.astype(np.float32), rtol=1e-6)


def test_onnx_refusals_name_the_layer():
    from onnx import helper

    w = np.ones((4, 3))
    sigmoid = [helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
               helper.make_node("Sigmoid", ["m"], ["y"], name="sig")]
    with pytest.raises(ConfigError, match=r"^ONNX node 'sig' \(Sigmoid\) is not supported; "
                                          r"allowed Gemm, MatMul, Add, Relu, Conv, MaxPool, "
                                          r"AveragePool, Flatten, BatchNormalization$"):
        from_onnx(onnx_graph(sigmoid, {"w": w}, 4))
    mismatch = [helper.make_node("MatMul", ["x", "w"], ["m"], name="fc0"),
                helper.make_node("MatMul", ["m", "v"], ["y"], name="fc1")]
    with pytest.raises(ConfigError, match=r"^layer 1 \('fc1'\): in_features = 5 does not match "
                                          r"layer 0 \('fc0'\) out_features = 3$"):
        from_onnx(onnx_graph(mismatch, {"w": w, "v": np.ones((5, 2))}, 4))
    with pytest.raises(ConfigError, match=r"^layer 0 \('fc'\): in_features = 4 but the ONNX "
                                          r"input 'x' has 7 features$"):
        from_onnx(onnx_graph(sigmoid[:1], {"w": w}, 7))
    branch = [helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
              helper.make_node("Relu", ["x"], ["y"], name="side")]
    with pytest.raises(ConfigError, match=r"^ONNX node 'side' \(Relu\) does not read the output "
                                          r"of the node before it"):
        from_onnx(onnx_graph(branch, {"w": w}, 4))


# --- PyTorch (optional) ---------------------------------------------------------------------

def test_torch_sequential_and_file(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                              torch.nn.Sequential(torch.nn.Linear(5, 3)))
    net.eval()
    x = np.random.default_rng(3).normal(size=(7, 6))
    with torch.no_grad():
        expected = net(torch.tensor(x, dtype=torch.float64).float()).double().numpy()
    model = load_model(net)
    assert [layer.name for layer in model.layers] == ["Linear[0]", "Linear[3.0]"]
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)
    torch.save(net, tmp_path / "net.pt")
    from_file = load_model(tmp_path / "net.pt", task="regressor")
    assert from_file.task == "regressor"
    np.testing.assert_allclose(from_file(x), model(x), rtol=0, atol=0)


def test_torch_refusals_name_the_layer(tmp_path):
    torch = pytest.importorskip("torch")
    conv = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Conv1d(1, 1, 3))
    pattern = (r"^torch layer 1 \(Conv1d\) is not supported; allowed Linear, ReLU, Conv2d, "
               r"MaxPool2d, AvgPool2d, Flatten, BatchNorm1d, BatchNorm2d \(Dropout, Identity "
               r"skipped\)$")
    with pytest.raises(ConfigError, match=pattern):
        load_model(conv)
    torch.save(conv, tmp_path / "conv.pt")
    with pytest.raises(ConfigError, match=pattern):
        load_model(tmp_path / "conv.pt")
    torch.save(conv.state_dict(), tmp_path / "state.pt")
    with pytest.raises(ConfigError, match=r"state\.pt holds a state_dict, not a module"):
        load_model(tmp_path / "state.pt")
    with pytest.raises(ConfigError, match=r"^torch model Linear is not supported; allowed "
                                          r"nn\.Sequential of Linear, ReLU, Conv2d, "
                                          r"MaxPool2d, AvgPool2d, Flatten, BatchNorm1d, "
                                          r"BatchNorm2d$"):
        load_model(torch.nn.Linear(2, 2))


def test_torch_model_without_torch_is_refused(tmp_path):
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torch is installed")
    (tmp_path / "m.pt").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"^a PyTorch model needs the 'torch' package, which is "
                                          r"not installed \(pip install torch\)$"):
        load_model(tmp_path / "m.pt")


# --- Dispatch and the dense form ------------------------------------------------------------

def test_load_model_refusals(tmp_path):
    with pytest.raises(ConfigError, match=r"^model 'mnist' is neither a bundled model "
                                          r"\['digits', 'digits32', 'digits_cnn'\] nor a file "
                                          r"ending in \.npz, \.onnx, \.pt, \.pth$"):
        load_model("mnist")
    with pytest.raises(ConfigError, match=r"^model file .*absent\.onnx does not exist$"):
        load_model(tmp_path / "absent.onnx")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"bad\.npz is not a readable npz model"):
        load_model(tmp_path / "bad.npz")
    with pytest.raises(ConfigError, match=r"^model of type dict is not supported"):
        load_model({})


def test_dense_model_refuses_broken_chains():
    a = DenseLayer("a", np.ones((3, 4)), np.zeros(4), True)
    b = DenseLayer("b", np.ones((5, 2)), np.zeros(2), False)
    with pytest.raises(ConfigError, match=r"^layer 1 \('b'\): in_features = 5 does not match "
                                          r"layer 0 \('a'\) out_features = 4$"):
        DenseModel((a, b))
    with pytest.raises(ConfigError, match=r"^layer 'c': bias has shape \(3,\); expected \(2,\)"):
        DenseLayer("c", np.ones((5, 2)), np.zeros(3), False)
    with pytest.raises(ConfigError, match=r"^layer 'n': weight holds NaN or infinite values$"):
        DenseLayer("n", np.full((2, 2), np.nan), np.zeros(2), False)


# --- ONNX convolutions ----------------------------------------------------------------------

def onnx_image_graph(nodes, initializers, image, outputs):
    """A checked ONNX model of ``nodes`` on an input ``x`` [N, C, H, W] of ``image`` (C, H, W)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = helper.make_model(helper.make_graph(
        nodes, "conv_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *image])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, ["N", outputs])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in initializers.items()]))
    onnx.checker.check_model(model)
    return model


def random_conv_net(seed: int):
    """``(model, image)``: one or two random convolutions (kernel 1..3, stride 1..2, padding,
    with or without bias and batch normalization, ReLU, a max or average pooling when one tiles
    the output), then Flatten and a Gemm to 3 outputs."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    channels, height, width = int(rng.integers(1, 4)), int(rng.integers(4, 9)), \
        int(rng.integers(4, 9))
    image, nodes, inits, data = (channels, height, width), [], {}, "x"

    def add(op, inputs, **attributes):
        nonlocal data
        name = f"{op.lower()}{len(nodes)}"
        nodes.append(helper.make_node(op, [data, *inputs], [name], name=name, **attributes))
        data = name

    for index in range(int(rng.integers(1, 3))):
        kernel, stride = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        padding, out = int(rng.integers(0, kernel)), int(rng.integers(1, 5))
        inits[f"w{index}"] = rng.normal(size=(out, channels, kernel, kernel))
        bias = [f"b{index}"] if rng.integers(2) else []
        inits.update({f"b{index}": rng.normal(size=out)} if bias else {})
        add("Conv", [f"w{index}", *bias], pads=[padding] * 4, strides=[stride, stride],
            kernel_shape=[kernel, kernel])
        height = (height + 2 * padding - kernel) // stride + 1
        width = (width + 2 * padding - kernel) // stride + 1
        channels = out
        if rng.integers(2):
            names = [f"{key}{index}" for key in ("g", "be", "mu", "var")]
            inits.update(zip(names, (rng.random(out) + 0.5, rng.normal(size=out),
                                     rng.normal(size=out), rng.random(out) + 0.5), strict=True))
            add("BatchNormalization", names, epsilon=1e-3)
        pool = [size for size in (2, 3) if height % size == 0 and width % size == 0]
        kind = str(rng.choice(["MaxPool", "AveragePool"])) if pool and rng.integers(2) else None
        if kind == "MaxPool" and rng.integers(2):
            add(kind, [], kernel_shape=[pool[0]] * 2, strides=[pool[0]] * 2)
            add("Relu", [])
        else:
            add("Relu", [])
            if kind:
                add(kind, [], kernel_shape=[pool[0]] * 2, strides=[pool[0]] * 2)
        if kind:
            height, width = height // pool[0], width // pool[0]
    add("Flatten", [])
    inits["fc"] = rng.normal(size=(3, channels * height * width))
    add("Gemm", ["fc"], transB=1)
    return onnx_image_graph(nodes, inits, image, 3), image


def nhwc(x: np.ndarray) -> np.ndarray:
    """NCHW images as the flat NHWC inputs of the layers."""
    return x.transpose(0, 2, 3, 1).reshape(len(x), -1)


@pytest.mark.parametrize("seed", range(30))
def test_onnx_conv_nets_equal_the_reference_evaluator(seed):
    from onnx.reference import ReferenceEvaluator

    model, image = random_conv_net(seed)
    x = np.random.default_rng(seed + 1000).normal(size=(4, *image)).astype(np.float32)
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    imported = from_onnx(model)
    assert imported.layers[0].conv is not None and imported.layers[-1].conv is None
    np.testing.assert_allclose(imported(nhwc(x)), expected, rtol=1e-4, atol=1e-4,
                               err_msg=f"seed {seed}")


def test_random_conv_nets_cover_the_ops():
    ops = [[node.op_type for node in random_conv_net(seed)[0].graph.node] for seed in range(30)]
    for op in ("MaxPool", "AveragePool", "BatchNormalization"):
        assert any(op in net for net in ops), op
    assert any(net.index("MaxPool") < net.index("Relu") for net in ops if "MaxPool" in net)
    assert any(net.count("Conv") == 2 for net in ops)


def conv_node(**attributes):
    from onnx import helper

    return helper.make_node("Conv", ["x", "w"], ["c"], name="conv1", **attributes)


def refused_conv_net(*nodes, weight=(2, 1, 3, 3), image=(1, 6, 6), outputs=72):
    return onnx_image_graph(list(nodes), {"w": np.ones(weight)}, image, outputs)


@pytest.mark.parametrize("attributes, message", [
    ({"group": 2}, r"^ONNX node 'conv1' \(Conv\): group = 2 is not supported; allowed 1$"),
    ({"dilations": [2, 2]}, r"^ONNX node 'conv1' \(Conv\): dilations = \[2, 2\] is not "
                            r"supported; allowed 1$"),
    ({"auto_pad": "SAME_UPPER"}, r"^ONNX node 'conv1' \(Conv\): auto_pad = 'SAME_UPPER' is not "
                                 r"supported; allowed NOTSET \(explicit zero pads\) or VALID$"),
    ({"pads": [1, 0, 1, 0]}, r"^ONNX node 'conv1' \(Conv\): pads = \[1, 0, 1, 0\] is not "
                             r"supported; allowed the same value in every direction$"),
])
def test_onnx_convolution_refusals_name_the_layer_and_field(attributes, message):
    from onnx import helper

    flatten = helper.make_node("Flatten", ["c"], ["y"], name="flat")
    with pytest.raises(ConfigError, match=message):
        from_onnx(refused_conv_net(conv_node(**attributes), flatten))


@pytest.mark.parametrize("pool, message", [
    ({"kernel_shape": [2, 2]}, r"^ONNX node 'pool' \(MaxPool\): a pooling of kernel 2 with "
                               r"stride \[1\] and padding \[0\] does not tile the input; allowed "
                               r"stride = kernel and no padding$"),
    ({"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1]},
     r"^ONNX node 'pool' \(MaxPool\): a pooling of kernel 2 with stride \[2, 2\] and padding "
     r"\[1, 1, 1, 1\] does not tile the input"),
    ({"kernel_shape": [3, 3], "strides": [3, 3]}, r"^layer 'pool': pool_size = 3 does not tile "
                                                  r"the convolution output height 4; allowed a "
                                                  r"divisor of 4$"),
])
def test_onnx_pooling_that_does_not_tile_is_refused(pool, message):
    from onnx import helper

    nodes = [conv_node(), helper.make_node("MaxPool", ["c"], ["p"], name="pool", **pool),
             helper.make_node("Flatten", ["p"], ["y"], name="flat")]
    with pytest.raises(ConfigError, match=message):
        from_onnx(refused_conv_net(*nodes))


def test_onnx_chain_order_refusals():
    from onnx import helper

    relu = helper.make_node("Relu", ["c"], ["r"], name="relu")
    with pytest.raises(ConfigError, match=r"^layer 'bn': a batch normalization must follow a "
                                          r"convolution or a dense layer directly"):
        from_onnx(onnx_image_graph(
            [conv_node(), relu, helper.make_node("BatchNormalization",
                                                 ["r", "s", "b", "m", "v"], ["y"], name="bn")],
            {"w": np.ones((2, 1, 3, 3)), **{k: np.ones(2) for k in "sbmv"}}, (1, 6, 6), 32))
    with pytest.raises(ConfigError, match=r"^layer 'fc': a dense layer on the image 4x4x2 "
                                          r"\(height x width x channels\) needs a Flatten "
                                          r"before it$"):
        from_onnx(onnx_image_graph(
            [conv_node(), helper.make_node("MatMul", ["c", "m"], ["y"], name="fc")],
            {"w": np.ones((2, 1, 3, 3)), "m": np.ones((4, 3))}, (1, 6, 6), 3))
    with pytest.raises(ConfigError, match=r"^layer 'relu': a ReLU after the average pooling of "
                                          r"'conv1' is not supported"):
        from_onnx(onnx_image_graph(
            [conv_node(), helper.make_node("AveragePool", ["c"], ["p"], name="pool",
                                           kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Relu", ["p"], ["y"], name="relu")],
            {"w": np.ones((2, 1, 3, 3))}, (1, 6, 6), 8))
    with pytest.raises(ConfigError, match=r"^layer 'conv1': a convolution needs an image input "
                                          r"of known height, width and channels"):
        from_onnx(onnx_graph([conv_node()], {"w": np.ones((2, 1, 3, 3))}, 36))
    with pytest.raises(ConfigError, match=r"^layer 0 \('conv1'\): the model ends in the image of "
                                          r"a convolution \(outputs = 32 \(an image 4x4x2\)\); "
                                          r"allowed a dense layer \(after a Flatten\) last$"):
        from_onnx(onnx_image_graph([conv_node()], {"w": np.ones((2, 1, 3, 3))}, (1, 6, 6), 32))


# --- PyTorch convolutions (optional) --------------------------------------------------------

def test_torch_conv_sequential_equals_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(4, 3, 3), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Flatten(), nn.Linear(3, 5))
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 1.5)
    net.eval()
    x = np.random.default_rng(4).normal(size=(4, 2, 8, 8))
    with torch.no_grad():
        expected = net(torch.tensor(x, dtype=torch.float32)).double().numpy()
    model = load_model(net, input_shape=(2, 8, 8))
    assert [layer.conv is not None for layer in model.layers] == [True, True, False]
    np.testing.assert_allclose(model(nhwc(x)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layers, message", [
    (lambda nn: [nn.Conv2d(2, 2, 3, groups=2)],
     r"^torch layer 0 \(Conv2d\): groups = 2 is not supported; allowed 1$"),
    (lambda nn: [nn.Conv2d(2, 2, 3, dilation=2)],
     r"^torch layer 0 \(Conv2d\): dilation = \(2, 2\) is not supported; allowed 1$"),
    (lambda nn: [nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect")],
     r"^torch layer 0 \(Conv2d\): padding_mode = 'reflect' is not supported; allowed 'zeros'$"),
    (lambda nn: [nn.Conv2d(2, 2, 3), nn.MaxPool2d(2, stride=1)],
     r"^torch layer 1 \(MaxPool2d\): a pooling of kernel 2 with stride \[1\] and padding \[0\] "
     r"does not tile the input; allowed stride = kernel and no padding$"),
])
def test_torch_convolution_refusals_name_the_layer_and_field(layers, message):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(*layers(torch.nn), torch.nn.Flatten(), torch.nn.Linear(8, 2))
    with pytest.raises(ConfigError, match=message):
        load_model(net, input_shape=(2, 6, 6))
