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
    assert sorted(BUNDLED) == ["digits", "digits32"]
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
                                          r"allowed Gemm, MatMul, Add, Relu$"):
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
    pattern = (r"^torch layer 1 \(Conv1d\) is not supported; allowed Linear, ReLU "
               r"\(Dropout, Identity skipped\)$")
    with pytest.raises(ConfigError, match=pattern):
        load_model(conv)
    torch.save(conv, tmp_path / "conv.pt")
    with pytest.raises(ConfigError, match=pattern):
        load_model(tmp_path / "conv.pt")
    torch.save(conv.state_dict(), tmp_path / "state.pt")
    with pytest.raises(ConfigError, match=r"state\.pt holds a state_dict, not a module"):
        load_model(tmp_path / "state.pt")
    with pytest.raises(ConfigError, match=r"^torch model Linear is not supported; allowed "
                                          r"nn\.Sequential of Linear, ReLU$"):
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
                                          r"\['digits', 'digits32'\] nor a file ending in "
                                          r"\.npz, \.onnx, \.pt, \.pth$"):
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
