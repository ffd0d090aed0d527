"""Importers: trained models from scikit-learn, ONNX and PyTorch as a :class:`DenseModel`.

Supported, and nothing else (anything else is refused with a
:class:`~spinemu.config.ConfigError` naming the layer):

- scikit-learn ``MLPClassifier`` / ``MLPRegressor``, fitted, with ``activation`` ``"relu"`` or
  ``"identity"``. A classifier's softmax (or, with two classes, logistic) output is dropped:
  the argmax (or the sign) of the last layer's outputs gives the same class.
- ONNX graphs that are one chain of ``Gemm``, ``MatMul``, ``Add``, ``Relu``, ``Conv``,
  ``MaxPool``, ``AveragePool``, ``Flatten`` and ``BatchNormalization`` nodes from the graph
  input to the graph output, weights and biases in initializers (``Gemm`` with ``transA = 0``;
  ``alpha``, ``beta`` and ``transB`` are folded in). Read with the ``onnx`` package (protobuf,
  no code runs).
- PyTorch ``nn.Sequential`` of ``Linear``, ``ReLU``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``,
  ``Flatten`` and ``BatchNorm1d``/``BatchNorm2d`` (``Dropout`` and ``Identity`` are no-ops at
  inference and skipped; nested ``Sequential`` is flattened). A ``.pt`` file must hold the
  module itself (``torch.save(model, path)``); it is read with ``weights_only=True`` and only
  ``torch.nn`` module classes allowed, so loading runs no code from the file. torch is optional.

Convolutions (docs/mapper.md "Convolutions"): 2-D, square kernel, equal stride and padding on
every side, ``groups`` (ONNX ``group``) 1, dilation 1, zero padding (ONNX ``auto_pad`` NOTSET
or VALID, torch ``padding_mode = "zeros"``). A pooling follows a convolution (its ReLU may come
between) and must tile its output: square, stride = kernel, no padding. A batch normalization
right after a convolution or a dense layer is folded into its weights and bias. A ``Flatten``
(NCHW) reorders the rows of the next matrix to the NHWC order of the layers; an ONNX input
``[N, C, H, W]`` (or a torch ``input_shape`` ``(C, H, W)``) gives the first image, whose flat
inputs are NHWC (for one channel: the image row by row).
- ``.npz`` files written by :meth:`DenseModel.save`, and the bundled models by name.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, ConvConfig
from spinemu.sim.golden.window import nchw_order

from .dense import TASKS, DenseLayer, DenseModel

__all__ = ["from_sklearn", "from_onnx", "from_torch", "load_model", "ONNX_OPS", "TORCH_LAYERS"]

ONNX_OPS = ("Gemm", "MatMul", "Add", "Relu", "Conv", "MaxPool", "AveragePool", "Flatten",
            "BatchNormalization")
TORCH_LAYERS = ("Linear", "ReLU", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "BatchNorm1d",
                "BatchNorm2d")
_TORCH_SKIPPED = ("Dropout", "Identity")
SKLEARN_ACTIVATIONS = ("relu", "identity")
SUFFIXES = (".npz", ".onnx", ".pt", ".pth")


def _require(module: str, what: str):
    """``module`` imported, or a :class:`ConfigError` saying it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs the {module!r} package, which is not installed "
                          f"(pip install {module})") from None


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"task = {task!r} is not supported; allowed {list(TASKS)}")


class _Chain:
    """Collects layers from a sequence of ops.

    A matrix or a convolution starts a layer; a bias or a batch normalization folds into the
    open one; a ReLU closes it. A pooling joins the convolution before it (a ReLU may come
    between). A Flatten of an image (NCHW order in ONNX and torch) reorders the rows of the next
    matrix to the flat NHWC order the layers use. ``input_shape`` is ``(height, width,
    channels)`` of an image input, or None (flat or unknown).
    """

    def __init__(self, input_shape: tuple[int, int, int] | None = None):
        self.layers: list[DenseLayer] = []
        self._open: DenseLayer | None = None  # relu=False until closed
        self._input_shape = input_shape
        self._flattened = False
        self._order: np.ndarray | None = None  # rows of the next matrix after a Flatten

    def _last(self) -> DenseLayer | None:
        return self._open or (self.layers[-1] if self.layers else None)

    def _image(self) -> tuple[int, int, int] | None:
        """``(height, width, channels)`` of the current activations; None when flat."""
        last = self._last()
        if self._flattened or (last is None and self._input_shape is None):
            return None
        if last is None:
            return self._input_shape
        if last.conv is None:
            return None
        return last.conv.out_height, last.conv.out_width, last.out_features

    def conv(self, name: str, weight: np.ndarray, stride: int, padding: int) -> None:
        """A convolution of ``weight[C_out, C_in, k, k]`` (the ONNX and torch layout)."""
        image = self._image()
        if image is None:
            raise ConfigError(f"layer {name!r}: a convolution needs an image input of known "
                              f"height, width and channels (an ONNX input [N, C, H, W], a torch "
                              f"input_shape), not flat or flattened activations")
        self._close(relu=False)
        height, width, channels = image
        out_channels, in_channels, kernel = weight.shape[:3]
        where = f"layer {len(self.layers)} ({name!r})"
        if in_channels != channels:
            raise ConfigError(f"{where}: weight has {in_channels} input channels; its input "
                              f"image {height}x{width}x{channels} has {channels}")
        try:
            conv = ConvConfig(height, width, channels, kernel, stride, padding)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
        matrix = np.asarray(weight, np.float64).transpose(2, 3, 1, 0).reshape(-1, out_channels)
        self._open = DenseLayer(name, matrix, np.zeros(out_channels), False, conv)

    def matrix(self, name: str, weight: np.ndarray) -> None:
        image = self._image()
        if image is not None:
            raise ConfigError(f"layer {name!r}: a dense layer on the image "
                              f"{'x'.join(map(str, image))} (height x width x channels) needs a "
                              f"Flatten before it")
        self._close(relu=False)
        weight = np.asarray(weight, dtype=np.float64)
        previous = self._last()
        if previous is not None and weight.ndim == 2 and weight.shape[0] != previous.outputs:
            raise ConfigError(
                f"layer {len(self.layers)} ({name!r}): in_features = {weight.shape[0]} does not "
                f"match layer {len(self.layers) - 1} ({previous.name!r}) "
                f"{previous.describe_outputs()}")
        if self._order is not None:
            if weight.shape[0] != len(self._order):
                raise ConfigError(f"layer {len(self.layers)} ({name!r}): in_features = "
                                  f"{weight.shape[0]} does not match the {len(self._order)} "
                                  f"features of the flattened input")
            weight, self._order = weight[self._order], None
        out = weight.shape[1] if weight.ndim == 2 else 0
        self._open = DenseLayer(name, weight, np.zeros(out), False)

    def bias(self, name: str, bias: np.ndarray) -> None:
        if self._open is None:
            raise ConfigError(f"layer {name!r}: a bias (Add) must follow a Gemm, MatMul or Conv "
                              f"directly, before any Relu")
        total = self._open.bias
        try:
            total = total + np.broadcast_to(np.asarray(bias, np.float64).reshape(-1),
                                            total.shape)
        except ValueError:
            raise ConfigError(f"layer {name!r}: bias of shape {np.shape(bias)} does not fit "
                              f"{total.shape[0]} outputs of {self._open.name!r}") from None
        self._open = dataclasses.replace(self._open, bias=total)

    def batch_norm(self, name: str, scale: np.ndarray, shift: np.ndarray) -> None:
        """Fold ``y * scale + shift`` (per output channel) into the open layer."""
        if self._open is None:
            raise ConfigError(f"layer {name!r}: a batch normalization must follow a convolution "
                              f"or a dense layer directly (before any ReLU or pooling) to be "
                              f"folded into it")
        layer = self._open
        if np.shape(scale) != (layer.out_features,):
            raise ConfigError(f"layer {name!r}: batch normalization of {np.size(scale)} "
                              f"channels after {layer.name!r} of {layer.out_features} outputs")
        self._open = dataclasses.replace(layer, weight=layer.weight * scale,
                                         bias=layer.bias * scale + shift)

    def relu(self, name: str) -> None:
        if self._open is not None:
            self._close(relu=True)
            return
        last = self._last()
        if last is not None and last.relu:
            return  # ReLU of a ReLU changes nothing
        if last is not None and last.conv is not None and last.conv.pool in ("none", "max"):
            # ReLU commutes with a Flatten and with max pooling (both monotone); the periphery
            # applies it first.
            self.layers[-1] = dataclasses.replace(last, relu=True)
            return
        if last is not None and last.conv is not None and last.conv.pool == "avg":
            raise ConfigError(f"layer {name!r}: a ReLU after the average pooling of "
                              f"{last.name!r} is not supported (the periphery applies the ReLU "
                              f"first); allowed convolution, ReLU, pooling")
        raise ConfigError(f"layer {name!r}: a ReLU must follow a dense layer")

    def pool(self, name: str, kind: str, size: int) -> None:
        """A non-overlapping ``size x size`` pooling (``kind`` "max" or "avg")."""
        last = self._last()
        if last is None or last.conv is None or self._flattened:
            raise ConfigError(f"layer {name!r}: a pooling must follow a convolution (its ReLU "
                              f"may come between)")
        if last.conv.pool != "none":
            raise ConfigError(f"layer {name!r}: a second pooling after {last.name!r}; allowed "
                              f"one pooling per convolution")
        try:
            pooled = dataclasses.replace(
                last, conv=dataclasses.replace(last.conv, pool=kind, pool_size=size))
        except ConfigError as error:
            raise ConfigError(f"layer {name!r}: {error}") from None
        if self._open is not None:
            self._open = None
            self.layers.append(pooled)
        else:
            self.layers[-1] = pooled

    def flatten(self, name: str) -> None:
        image = self._image()
        if image is None:
            return  # already flat
        self._close(relu=False)
        self._order = nchw_order(*image)
        self._flattened = True

    def _close(self, relu: bool) -> None:
        if self._open is not None:
            self.layers.append(dataclasses.replace(self._open, relu=relu))
            self._open = None

    def model(self, **kwargs) -> DenseModel:
        self._close(relu=False)
        if not self.layers:
            raise ConfigError("the model holds no dense layer")
        last = self.layers[-1]
        # NCHW and NHWC orders agree on an image of one pixel or one channel only.
        if last.conv is not None and last.out_features > 1 and last.outputs > last.out_features:
            raise ConfigError(f"layer {len(self.layers) - 1} ({last.name!r}): the model ends in "
                              f"the image of a convolution ({last.describe_outputs()}); allowed "
                              f"a dense layer (after a Flatten) last")
        return DenseModel(tuple(self.layers), **kwargs)


# --- scikit-learn ---------------------------------------------------------------------------

def from_sklearn(estimator, name: str | None = None) -> DenseModel:
    """A fitted ``MLPClassifier`` or ``MLPRegressor`` as a :class:`DenseModel`."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    kind = type(estimator).__name__
    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        raise ConfigError(f"scikit-learn model {kind} is not supported; allowed MLPClassifier, "
                          f"MLPRegressor")
    if not hasattr(estimator, "coefs_"):
        raise ConfigError(f"{kind} is not fitted")
    if estimator.activation not in SKLEARN_ACTIVATIONS:
        raise ConfigError(f"{kind} activation = {estimator.activation!r} (hidden layers) is not "
                          f"supported; allowed {list(SKLEARN_ACTIVATIONS)}")
    classifier = isinstance(estimator, MLPClassifier)
    if classifier and estimator.out_activation_ == "logistic" and estimator.n_outputs_ > 1:
        raise ConfigError(f"{kind} is a multilabel classifier ({estimator.n_outputs_} logistic "
                          f"outputs); allowed: one label per sample")
    count = len(estimator.coefs_)
    layers = tuple(
        DenseLayer(f"coefs_[{i}]", weight, bias,
                   relu=i < count - 1 and estimator.activation == "relu")
        for i, (weight, bias) in enumerate(zip(estimator.coefs_, estimator.intercepts_,
                                               strict=True)))
    return DenseModel(layers, task="classifier" if classifier else "regressor",
                      classes=np.asarray(estimator.classes_) if classifier else None,
                      name=name or kind)


# --- Window attributes (ONNX and torch) -----------------------------------------------------

def _refuse(where: str, field: str, value, allowed: str) -> ConfigError:
    return ConfigError(f"{where}: {field} = {value!r} is not supported; allowed {allowed}")


def _square(where: str, field: str, values) -> int:
    """The one value of a square kernel, an equal stride or padding on every side."""
    values = [int(v) for v in np.ravel(values)]
    if len(set(values)) != 1:
        raise _refuse(where, field, values, "the same value in every direction")
    return values[0]


def _pool_size(where: str, kernel, stride, padding) -> int:
    """The size of a pooling that tiles its input: square, stride = kernel, no padding."""
    size = _square(where, "kernel_shape", kernel)
    if [int(v) for v in np.ravel(stride)] != [size] * np.size(stride) or np.any(padding):
        raise ConfigError(f"{where}: a pooling of kernel {size} with stride "
                          f"{[int(v) for v in np.ravel(stride)]} and padding "
                          f"{[int(v) for v in np.ravel(padding)]} does not tile the input; "
                          f"allowed stride = kernel and no padding")
    return size


def _fold_batch_norm(chain: _Chain, name: str, gamma, beta, mean, var, eps: float) -> None:
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    chain.batch_norm(name, scale, np.asarray(beta, np.float64) - np.asarray(mean) * scale)


# --- ONNX -----------------------------------------------------------------------------------

def _onnx_attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute)
            for attribute in node.attribute}


def _onnx_window(where: str, attributes: dict) -> None:
    """Refuse the window attributes spinemu does not model: dilation, automatic padding."""
    if any(d != 1 for d in attributes.get("dilations", [1])):
        raise _refuse(where, "dilations", list(attributes["dilations"]), "1")
    auto_pad = attributes.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad not in ("NOTSET", "VALID"):
        raise _refuse(where, "auto_pad", auto_pad, "NOTSET (explicit zero pads) or VALID")


@dataclasses.dataclass(frozen=True)
class _OnnxOp:
    """One node of the chain: ``values`` are its initializers, ``current`` the data it reads."""

    label: str
    where: str
    kind: str
    inputs: list[str]
    attributes: dict
    values: list[np.ndarray]
    current: str


def _onnx_gemm(chain: _Chain, op: _OnnxOp) -> None:
    if op.inputs[0] != op.current or op.attributes.get("transA", 0):
        raise ConfigError(f"{op.where}: the data must be input A, untransposed")
    weight = op.values[0].T if op.attributes.get("transB", 0) else op.values[0]
    chain.matrix(op.label, op.attributes.get("alpha", 1.0) * np.asarray(weight, np.float64))
    if len(op.values) > 1:
        chain.bias(op.label, op.attributes.get("beta", 1.0) * op.values[1])


def _onnx_matmul(chain: _Chain, op: _OnnxOp) -> None:
    if op.inputs[0] != op.current or op.values[0].ndim != 2:
        raise ConfigError(f"{op.where}: expected data @ a 2-D initializer")
    chain.matrix(op.label, op.values[0])


def _onnx_add(chain: _Chain, op: _OnnxOp) -> None:
    if len(op.values) != 1:
        raise ConfigError(f"{op.where} must add one initializer")
    chain.bias(op.label, op.values[0])


def _onnx_conv(chain: _Chain, op: _OnnxOp) -> None:
    if op.inputs[0] != op.current or op.values[0].ndim != 4:
        raise ConfigError(f"{op.where}: expected a 2-D convolution of the data by a 4-D "
                          f"initializer [C_out, C_in, kH, kW]")
    if op.attributes.get("group", 1) != 1:
        raise _refuse(op.where, "group", op.attributes["group"], "1")
    _onnx_window(op.where, op.attributes)
    weight = op.values[0]
    _square(op.where, "kernel_shape", op.attributes.get("kernel_shape", weight.shape[2:]))
    chain.conv(op.label, weight, _square(op.where, "strides", op.attributes.get("strides", [1])),
               _square(op.where, "pads", op.attributes.get("pads", [0])))
    if len(op.values) > 1:
        chain.bias(op.label, op.values[1])


def _onnx_pool(chain: _Chain, op: _OnnxOp) -> None:
    _onnx_window(op.where, op.attributes)
    size = _pool_size(op.where, op.attributes["kernel_shape"], op.attributes.get("strides", [1]),
                      op.attributes.get("pads", [0]))
    chain.pool(op.label, "max" if op.kind == "MaxPool" else "avg", size)


def _onnx_flatten(chain: _Chain, op: _OnnxOp) -> None:
    if op.attributes.get("axis", 1) != 1:
        raise _refuse(op.where, "axis", op.attributes["axis"], "1")
    chain.flatten(op.label)


def _onnx_batch_norm(chain: _Chain, op: _OnnxOp) -> None:
    if op.attributes.get("training_mode", 0):
        raise _refuse(op.where, "training_mode", op.attributes["training_mode"], "0")
    if op.inputs[0] != op.current or len(op.values) != 4:
        raise ConfigError(f"{op.where}: expected the data and four initializers (scale, B, mean, "
                          f"var)")
    _fold_batch_norm(chain, op.label, *op.values, op.attributes.get("epsilon", 1e-5))


def _onnx_relu(chain: _Chain, op: _OnnxOp) -> None:
    chain.relu(op.label)


_ONNX_HANDLERS = {"Gemm": _onnx_gemm, "MatMul": _onnx_matmul, "Add": _onnx_add,
                  "Relu": _onnx_relu, "Conv": _onnx_conv, "MaxPool": _onnx_pool,
                  "AveragePool": _onnx_pool, "Flatten": _onnx_flatten,
                  "BatchNormalization": _onnx_batch_norm}


def _onnx_input_image(value) -> tuple[int, int, int] | None:
    """``(height, width, channels)`` of an input ``[N, C, H, W]`` with known sizes."""
    dims = value.type.tensor_type.shape.dim
    if len(dims) != 4 or not all(d.HasField("dim_value") for d in dims[1:]):
        return None
    return dims[2].dim_value, dims[3].dim_value, dims[1].dim_value


def from_onnx(source, task: str = "classifier", name: str | None = None) -> DenseModel:
    """An ONNX ``ModelProto`` or ``.onnx`` file as a :class:`DenseModel` (see module doc)."""
    onnx = _require("onnx", "an ONNX model")
    from onnx import numpy_helper

    _check_task(task)
    if isinstance(source, (str, Path)):
        try:
            model = onnx.load(str(source))
        except Exception as error:  # protobuf raises its own DecodeError types
            raise ConfigError(f"{source} is not a readable ONNX model: {error}") from None
        name = name or Path(source).stem
    else:
        model = source
    graph = model.graph
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ConfigError(f"ONNX graph has {len(inputs)} input(s) and {len(graph.output)} "
                          f"output(s); allowed one of each")
    current = inputs[0].name
    chain = _Chain(_onnx_input_image(inputs[0]))
    for index, node in enumerate(graph.node):
        label = node.name or f"node {index}"
        where = f"ONNX node {label!r} ({node.op_type})"
        if node.op_type not in ONNX_OPS:
            raise ConfigError(f"{where} is not supported; allowed {', '.join(ONNX_OPS)}")
        operands = [value for value in node.input if value]
        if current not in operands:
            raise ConfigError(f"{where} does not read the output of the node before it; the "
                              f"graph must be one chain")
        others = [value for value in operands if value != current]
        unknown = [value for value in others if value not in constants]
        if unknown:
            raise ConfigError(f"{where} reads {unknown}, which are not initializers; weights "
                              f"and biases must be constants")
        _ONNX_HANDLERS[node.op_type](chain, _OnnxOp(
            label, where, node.op_type, list(node.input), _onnx_attributes(node),
            [constants[value] for value in others], current))
        current = node.output[0]
    if current != graph.output[0].name:
        raise ConfigError(f"ONNX graph output {graph.output[0].name!r} is not the end of the "
                          f"chain ({current!r})")
    dense = chain.model(task=task, name=name or graph.name or "onnx")
    dims = inputs[0].type.tensor_type.shape.dim
    if (len(dims) == 2 and dims[-1].HasField("dim_value")
            and dims[-1].dim_value != dense.in_features):
        raise ConfigError(f"layer 0 ({dense.layers[0].name!r}): in_features = "
                          f"{dense.in_features} but the ONNX input {inputs[0].name!r} has "
                          f"{dims[-1].dim_value} features")
    return dense


# --- PyTorch --------------------------------------------------------------------------------

def _load_torch_module(path: Path):
    """``torch.load`` of a whole module with only ``torch.nn`` module classes allowed."""
    import torch

    try:
        wanted = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as error:  # a file that is no torch archive
        raise ConfigError(f"{path} is not a readable torch file: {error}") from None
    allowed = []
    for qualified in wanted:
        module_name, _, class_name = qualified.rpartition(".")
        cls = None
        if module_name.startswith("torch.nn.modules."):
            cls = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise ConfigError(f"{path} needs {qualified} to load; allowed torch.nn modules "
                              f"only (save an nn.Sequential with torch.save(model, path))")
        allowed.append(cls)
    with torch.serialization.safe_globals(allowed):
        try:
            loaded = torch.load(str(path), weights_only=True, map_location="cpu")
        except Exception as error:
            raise ConfigError(f"{path} is not a loadable torch module: {error}") from None
    if isinstance(loaded, dict):
        raise ConfigError(f"{path} holds a state_dict, not a module; save the nn.Sequential "
                          f"itself with torch.save(model, path)")
    return loaded


def _flatten_sequential(module, prefix: str = ""):
    import torch

    for key, child in module.named_children():
        if isinstance(child, torch.nn.Sequential):
            yield from _flatten_sequential(child, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", child


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()


def _torch_conv(chain: _Chain, label: str, where: str, child) -> None:
    if child.groups != 1:
        raise _refuse(where, "groups", child.groups, "1")
    if any(d != 1 for d in np.ravel(child.dilation)):
        raise _refuse(where, "dilation", tuple(np.ravel(child.dilation).tolist()), "1")
    if child.padding_mode != "zeros":
        raise _refuse(where, "padding_mode", child.padding_mode, "'zeros'")
    padding = child.padding
    if isinstance(padding, str):
        if padding != "valid":
            raise _refuse(where, "padding", padding, "'valid' or numbers")
        padding = 0
    _square(where, "kernel_size", child.kernel_size)
    chain.conv(label, _numpy(child.weight), _square(where, "stride", child.stride),
               _square(where, "padding", padding))
    if child.bias is not None:
        chain.bias(label, _numpy(child.bias))


def _torch_pool(chain: _Chain, label: str, where: str, child, kind: str) -> None:
    if any(d != 1 for d in np.ravel(getattr(child, "dilation", 1))):
        raise _refuse(where, "dilation", child.dilation, "1")
    if getattr(child, "divisor_override", None) is not None:
        raise _refuse(where, "divisor_override", child.divisor_override, "None")
    chain.pool(label, kind, _pool_size(where, child.kernel_size, child.stride, child.padding))


def _torch_batch_norm(chain: _Chain, label: str, where: str, child) -> None:
    if child.running_mean is None:
        raise _refuse(where, "track_running_stats", False, "True")
    channels = child.num_features
    gamma = _numpy(child.weight) if child.affine else np.ones(channels)
    beta = _numpy(child.bias) if child.affine else np.zeros(channels)
    _fold_batch_norm(chain, label, gamma, beta, _numpy(child.running_mean),
                     _numpy(child.running_var), child.eps)


def _torch_layer(chain: _Chain, nn, key: str, child) -> None:
    kind = type(child).__name__
    label, where = f"{kind}[{key}]", f"torch layer {key} ({kind})"
    if isinstance(child, nn.Linear):
        chain.matrix(label, _numpy(child.weight).T)
        if child.bias is not None:
            chain.bias(label, _numpy(child.bias))
    elif isinstance(child, nn.ReLU):
        chain.relu(label)
    elif isinstance(child, nn.Conv2d):
        _torch_conv(chain, label, where, child)
    elif isinstance(child, (nn.MaxPool2d, nn.AvgPool2d)):
        _torch_pool(chain, label, where, child, "max" if isinstance(child, nn.MaxPool2d)
                    else "avg")
    elif isinstance(child, nn.Flatten):
        if (child.start_dim, child.end_dim) != (1, -1):
            raise _refuse(where, "(start_dim, end_dim)", (child.start_dim, child.end_dim),
                          "(1, -1)")
        chain.flatten(label)
    elif isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
        _torch_batch_norm(chain, label, where, child)
    elif kind not in _TORCH_SKIPPED:
        raise ConfigError(f"{where} is not supported; allowed {', '.join(TORCH_LAYERS)} "
                          f"({', '.join(_TORCH_SKIPPED)} skipped)")


def _image_shape(input_shape) -> tuple[int, int, int] | None:
    """``(height, width, channels)`` of a torch ``input_shape`` ``(C, H, W)``."""
    if input_shape is None:
        return None
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in shape):
        raise ConfigError(f"input_shape = {input_shape!r} is not supported; allowed (channels, "
                          f"height, width), positive integers")
    channels, height, width = (int(v) for v in shape)
    return height, width, channels


def from_torch(source, task: str = "classifier", name: str | None = None,
               input_shape=None) -> DenseModel:
    """A ``torch.nn.Sequential`` (see module doc), or a ``.pt`` file holding one.

    ``input_shape`` ``(C, H, W)`` is the image a convolution model takes (torch modules do not
    record it); its flat inputs are then NHWC.
    """
    torch = _require("torch", "a PyTorch model")

    _check_task(task)
    if isinstance(source, (str, Path)):
        module = _load_torch_module(Path(source))
        name = name or Path(source).stem
    else:
        module = source
    if not isinstance(module, torch.nn.Sequential):
        raise ConfigError(f"torch model {type(module).__name__} is not supported; allowed "
                          f"nn.Sequential of {', '.join(TORCH_LAYERS)}")
    chain = _Chain(_image_shape(input_shape))
    with torch.no_grad():
        for key, child in _flatten_sequential(module):
            _torch_layer(chain, torch.nn, key, child)
    return chain.model(task=task, name=name or "torch")


# --- Dispatch -------------------------------------------------------------------------------

def load_model(source, task: str | None = None, input_shape=None) -> DenseModel:
    """Any supported model: a bundled name, a file path, or a model object.

    ``task`` sets what an ONNX or torch model's outputs mean (default ``"classifier"``); the
    others carry their own. ``input_shape`` ``(C, H, W)`` is the input image of a torch
    convolution model (ONNX graphs carry theirs).
    """
    if isinstance(source, DenseModel):
        return source
    if isinstance(source, (str, Path)):
        from spinemu.models import BUNDLED, load_bundled

        if str(source) in BUNDLED:
            return load_bundled(str(source))
        path = Path(source)
        if path.suffix not in SUFFIXES:
            raise ConfigError(f"model {str(source)!r} is neither a bundled model "
                              f"{sorted(BUNDLED)} nor a file ending in {', '.join(SUFFIXES)}")
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist")
        if path.suffix == ".npz":
            return DenseModel.load(path)
        if path.suffix == ".onnx":
            return from_onnx(path, task or "classifier")
        return from_torch(path, task or "classifier", input_shape=input_shape)
    module = type(source).__module__.split(".")[0]
    if module == "sklearn":
        return from_sklearn(source)
    if module == "onnx":
        return from_onnx(source, task or "classifier")
    if module == "torch":
        return from_torch(source, task or "classifier", input_shape=input_shape)
    raise ConfigError(f"model of type {type(source).__name__} is not supported; allowed a "
                      f"bundled name, a .npz/.onnx/.pt file, an MLPClassifier/MLPRegressor, an "
                      f"ONNX ModelProto or a torch nn.Sequential")
