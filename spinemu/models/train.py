"""Train the bundled models: ``python -m spinemu.models.train [digits|digits32|digits_cnn|digits_rbm
...]``.

``digits`` and ``digits32`` are scikit-learn ``MLPClassifier`` s (ReLU hidden layers, Adam,
mini-batches of 64, ``random_state = 0``) fitted on the training split of their data set
(:mod:`.datasets`) and written as ``spinemu/models/NAME.npz``; the script prints the held-out
accuracy. A fit that stops at ``max_iter`` before converging is reported, not hidden.

``digits_cnn`` (:data:`CNN_SPEC`) is a small convolution net trained here in plain numpy (im2col
through :mod:`spinemu.sim.golden.window`, backpropagation by hand, Adam, a fixed seed; about 15 s
on one core) on the training split of ``digits``, written as ``digits_cnn.npz`` and as
``digits_cnn.onnx`` (:func:`to_onnx`, checked with ``onnx.checker`` and against onnx's reference
evaluator on the held-out split); the script prints the held-out accuracy and that difference.

``digits_rbm`` is a scikit-learn ``BernoulliRBM`` (:data:`RBM_SPEC`) fitted on the training
split of ``digits`` binarised at half intensity (:func:`binarised_digits`), written as an
:class:`~spinemu.ising.RBM` ``.npz``; the script prints the mean pseudo-likelihood
(``score_samples``) of the held-out split.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from spinemu.config import ConvConfig
from spinemu.mapper.dense import DenseLayer, DenseModel
from spinemu.mapper.importers import from_sklearn
from spinemu.sim.golden.window import im2col, nchw_order, patch_index, windows

from . import MODELS_DIR
from .datasets import load_dataset

__all__ = ["CNN_SPEC", "ONNX_OPSET", "RBM_SPEC", "SPECS", "binarised_digits", "cnn_geometry",
           "cnn_gradients", "onnx_error", "to_onnx", "train", "train_cnn", "train_rbm"]

#: Hidden layer sizes and L2 penalty of each bundled model.
SPECS = {
    "digits": {"hidden_layer_sizes": (64,), "alpha": 1e-3},
    "digits32": {"hidden_layer_sizes": (64, 32), "alpha": 1e-4},
}


def train(name: str, max_iter: int = 500):
    """Fit model ``name``; returns ``(DenseModel, held-out accuracy, converged)``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data = load_dataset(name)
    estimator = MLPClassifier(**SPECS[name], activation="relu", batch_size=64,
                              max_iter=max_iter, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(data.train_x, data.train_y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return (from_sklearn(estimator, name=name), estimator.score(data.test_x, data.test_y),
            converged)


#: The bundled RBM: 64 visible units (8x8 pixels), 64 hidden units.
RBM_SPEC = {"n_components": 64, "learning_rate": 0.05, "batch_size": 10, "n_iter": 100,
            "random_state": 0}


def binarised_digits(split: str = "train"):
    """The ``digits`` split ``"train"`` or ``"test"`` with pixels 0/1 (``> 0.5`` of full
    intensity), float64."""
    data = load_dataset("digits")
    return (getattr(data, f"{split}_x") > 0.5).astype("float64")


def train_rbm():
    """Fit the bundled RBM; returns ``(RBM, mean held-out pseudo-likelihood)``."""
    from sklearn.neural_network import BernoulliRBM

    from spinemu.ising import rbm_from_sklearn

    estimator = BernoulliRBM(**RBM_SPEC).fit(binarised_digits("train"))
    return rbm_from_sklearn(estimator), float(estimator.score_samples(
        binarised_digits("test")).mean())


# --- The convolution net (plain numpy) ------------------------------------------------------

#: The bundled ``digits_cnn``: conv 3x3x8 (pad 1), ReLU, max pool 2, conv 3x3x16 (pad 1), ReLU,
#: max pool 2, flatten, dense 10, trained by Adam on the softmax cross-entropy.
CNN_SPEC = {"channels": (8, 16), "epochs": 40, "batch_size": 32, "learning_rate": 2e-3,
            "weight_decay": 1e-4, "seed": 0}


def cnn_geometry(channels=CNN_SPEC["channels"]) -> tuple[ConvConfig, ConvConfig]:
    """The two convolutions of ``digits_cnn`` on the 8x8 one-channel digits."""
    first = ConvConfig(8, 8, 1, 3, padding=1, pool="max", pool_size=2)
    return first, ConvConfig(4, 4, channels[0], 3, padding=1, pool="max", pool_size=2)


def _unwindow(grad: np.ndarray, conv: ConvConfig) -> np.ndarray:
    """The inverse of :func:`windows`: ``[batch, H', W', C, p*p]`` back to ``[rows, C]``."""
    p, channels = conv.pool_size, grad.shape[3]
    grad = grad.reshape(-1, conv.out_height, conv.out_width, channels, p, p)
    return grad.transpose(0, 1, 4, 2, 5, 3).reshape(-1, channels)


def _conv_forward(x, weight, bias, conv):
    """Float conv + ReLU + max pool with what the backward pass needs."""
    patches = im2col(x, conv)
    pre = patches @ weight + bias
    window = windows(np.maximum(pre, 0.0), conv)
    winner = window.argmax(axis=-1)
    out = np.take_along_axis(window, winner[..., None], axis=-1)[..., 0]
    return out.reshape(len(x), -1), (patches, pre, winner, window.shape)


def _conv_backward(grad_out, weight, conv, cache, need_input: bool):
    """Gradients ``(input, weight, bias)`` of :func:`_conv_forward`."""
    patches, pre, winner, shape = cache
    grad_window = np.zeros(shape)
    np.put_along_axis(grad_window, winner[..., None], grad_out.reshape(shape[:-1])[..., None],
                      axis=-1)
    grad_pre = _unwindow(grad_window, conv) * (pre > 0)
    grad_input = None
    if need_input:
        batch = len(grad_out)
        padded = np.zeros((batch, conv.inputs + 1))
        np.add.at(padded, (np.arange(batch)[:, None, None], patch_index(conv)[None]),
                  (grad_pre @ weight.T).reshape(batch, conv.positions, -1))
        grad_input = padded[:, :-1]
    return grad_input, patches.T @ grad_pre, grad_pre.sum(axis=0)


class _Adam:
    def __init__(self, params, learning_rate, weight_decay):
        self.params, self.rate, self.decay, self.t = params, learning_rate, weight_decay, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads) -> None:
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            g = g + self.decay * p
            m += 0.1 * (g - m)
            v += 0.001 * (g * g - v)
            p -= self.rate * (m / (1 - 0.9 ** self.t)) / (
                np.sqrt(v / (1 - 0.999 ** self.t)) + 1e-8)


def _init(rng, rows: int, cols: int) -> np.ndarray:
    return rng.normal(scale=np.sqrt(2.0 / rows), size=(rows, cols))


def cnn_gradients(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray,
                  convs: tuple[ConvConfig, ConvConfig]) -> tuple[float, list[np.ndarray]]:
    """Mean softmax cross-entropy of the net ``params = [w1, b1, w2, b2, w3, b3]`` (two
    convolutions ``convs`` with ReLU and max pooling, then a dense layer) on images ``x`` with
    class indices ``labels``, and its gradient with respect to each parameter."""
    w1, b1, w2, b2, w3, b3 = params
    first, second = convs
    h1, cache1 = _conv_forward(x, w1, b1, first)
    h2, cache2 = _conv_forward(h1, w2, b2, second)
    logits = h2 @ w3 + b3
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(x))
    loss = float(-np.log(p[rows, labels]).mean())
    p[rows, labels] -= 1.0
    grad = p / len(x)
    g2, gw2, gb2 = _conv_backward(grad @ w3.T, w2, second, cache2, True)
    _, gw1, gb1 = _conv_backward(g2, w1, first, cache1, False)
    return loss, [gw1, gb1, gw2, gb2, h2.T @ grad, grad.sum(axis=0)]


def train_cnn():
    """Fit ``digits_cnn`` (:data:`CNN_SPEC`); returns ``(DenseModel, held-out accuracy)``."""
    spec = CNN_SPEC
    data = load_dataset("digits")
    rng = np.random.default_rng(spec["seed"])
    convs = cnn_geometry(spec["channels"])
    outputs = convs[1].outputs(spec["channels"][1])
    params = [_init(rng, convs[0].patch_features, spec["channels"][0]),
              np.zeros(spec["channels"][0]),
              _init(rng, convs[1].patch_features, spec["channels"][1]),
              np.zeros(spec["channels"][1]), _init(rng, outputs, 10), np.zeros(10)]
    adam = _Adam(params, spec["learning_rate"], spec["weight_decay"])
    for _ in range(spec["epochs"]):
        order = rng.permutation(len(data.train_x))
        for start in range(0, len(order), spec["batch_size"]):
            batch = order[start:start + spec["batch_size"]]
            adam.step(cnn_gradients(params, data.train_x[batch], data.train_y[batch], convs)[1])
    w1, b1, w2, b2, w3, b3 = (p.astype(np.float32) for p in params)
    model = DenseModel((DenseLayer("conv1", w1, b1, True, convs[0]),
                        DenseLayer("conv2", w2, b2, True, convs[1]),
                        DenseLayer("fc", w3, b3, False)), classes=np.arange(10),
                       name="digits_cnn")
    return model, float(np.mean(model.predict(data.test_x) == data.test_y))


# --- ONNX export ----------------------------------------------------------------------------

#: Opset of the exported graphs.
ONNX_OPSET = 17


def to_onnx(model: DenseModel):
    """``model`` as an ONNX ``ModelProto``: per layer ``Conv`` or ``Gemm`` (``transB``, node
    named as the layer), ``Relu``, ``MaxPool`` / ``AveragePool``, and a ``Flatten`` before the
    first dense layer after a convolution (its rows reordered from NHWC to ONNX's NCHW). The
    input is ``x`` [N, C, H, W] for a convolution first, else [N, features]."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers, data = [], [], "x"

    def add(op: str, name: str, *constants, **attributes) -> None:
        nonlocal data
        inputs = [data]
        for suffix, value in constants:
            inputs.append(f"{name}.{suffix}")
            initializers.append(numpy_helper.from_array(np.asarray(value, np.float32),
                                                        inputs[-1]))
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        data = name

    image = None
    for layer in model.layers:
        c = layer.conv
        if c is None:
            weight = layer.weight
            if image is not None:
                add("Flatten", f"{layer.name}.flatten")
                weight, image = weight[np.argsort(nchw_order(*image))], None
            add("Gemm", layer.name, ("weight", weight.T), ("bias", layer.bias), transB=1)
        else:
            add("Conv", layer.name, ("weight", layer.weight.reshape(
                c.kernel, c.kernel, c.channels, -1).transpose(3, 2, 0, 1)),
                ("bias", layer.bias), kernel_shape=[c.kernel] * 2, strides=[c.stride] * 2,
                pads=[c.padding] * 4)
            image = c.out_height, c.out_width, layer.out_features
        if layer.relu:
            add("Relu", f"{layer.name}.relu")
        if c is not None and c.pool != "none":
            add("MaxPool" if c.pool == "max" else "AveragePool", f"{layer.name}.pool",
                kernel_shape=[c.pool_size] * 2, strides=[c.pool_size] * 2)
    first = model.layers[0].conv
    shape = ["N", model.in_features] if first is None else [
        "N", first.channels, first.height, first.width]
    graph = helper.make_graph(
        nodes, model.name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(data, TensorProto.FLOAT,
                                       ["N", model.layers[-1].outputs])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])


def onnx_error(model: DenseModel, proto, x) -> float:
    """Largest difference between onnx's reference evaluator on ``proto`` (of
    :func:`to_onnx`) and ``model`` on flat inputs ``x``, after ``onnx.checker``."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    onnx.checker.check_model(proto)
    first, x = model.layers[0].conv, np.asarray(x, np.float32)
    if first is not None:  # flat NHWC to ONNX's NCHW
        x = x.reshape(len(x), first.height, first.width, first.channels).transpose(0, 3, 1, 2)
    got = ReferenceEvaluator(proto).run(None, {"x": x})[0]
    return float(np.abs(got - model(x.reshape(len(x), -1) if first is None else
                                    x.transpose(0, 2, 3, 1).reshape(len(x), -1))).max())


def _write_cnn(folder: Path) -> None:
    import onnx

    model, accuracy = train_cnn()
    model.save(folder / "digits_cnn.npz")
    proto = to_onnx(model)
    error = onnx_error(model, proto, load_dataset("digits").test_x)
    if error > 1e-4:
        raise RuntimeError(f"the ONNX export differs from the model by {error:.3g}")
    onnx.save(proto, str(folder / "digits_cnn.onnx"))
    print(f"digits_cnn: held-out accuracy {accuracy:.4f}, ONNX reference evaluator within "
          f"{error:.2g} -> {folder / 'digits_cnn'}.npz, .onnx")


def main(argv=None) -> None:
    names = [*SPECS, "digits_cnn", "digits_rbm"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"models to train, of {sorted(names)} (default: all)")
    parser.add_argument("-o", "--output", type=Path, default=MODELS_DIR,
                        help="folder for the .npz files (default: the package's)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; allowed {sorted(names)}")
    for name in args.names or names:
        if name == "digits_cnn":
            _write_cnn(args.output)
            continue
        if name == "digits_rbm":
            rbm, score = train_rbm()
            rbm.save(args.output / f"{name}.npz")
            print(f"{name}: held-out mean pseudo-likelihood {score:.3f} -> "
                  f"{args.output / name}.npz")
            continue
        model, accuracy, converged = train(name)
        model.save(args.output / f"{name}.npz")
        note = "" if converged else " (stopped at max_iter before converging)"
        print(f"{name}: held-out accuracy {accuracy:.4f}{note} -> {args.output / name}.npz")


if __name__ == "__main__":
    main()
