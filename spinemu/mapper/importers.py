"""Importers: trained models from scikit-learn, ONNX and PyTorch as a :class:`DenseModel`.

Supported, and nothing else (anything else is refused with a
:class:`~spinemu.config.ConfigError` naming the layer):

- scikit-learn ``MLPClassifier`` / ``MLPRegressor``, fitted, with ``activation`` ``"relu"`` or
  ``"identity"``. A classifier's softmax (or, with two classes, logistic) output is dropped:
  the argmax (or the sign) of the last layer's outputs gives the same class.
- ONNX graphs that are one chain of ``Gemm``, ``MatMul``, ``Add`` and ``Relu`` nodes from the
  graph input to the graph output, weights and biases in initializers (``Gemm`` with
  ``transA = 0``; ``alpha``, ``beta`` and ``transB`` are folded in). Read with the ``onnx``
  package (protobuf, no code runs).
- PyTorch ``nn.Sequential`` of ``Linear`` and ``ReLU`` (``Dropout`` and ``Identity`` are no-ops
  at inference and skipped; nested ``Sequential`` is flattened). A ``.pt`` file must hold the
  module itself (``torch.save(model, path)``); it is read with ``weights_only=True`` and only
  ``torch.nn`` module classes allowed, so loading runs no code from the file. torch is optional.
- ``.npz`` files written by :meth:`DenseModel.save`, and the bundled models by name.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError

from .dense import TASKS, DenseLayer, DenseModel

__all__ = ["from_sklearn", "from_onnx", "from_torch", "load_model", "ONNX_OPS", "TORCH_LAYERS"]

ONNX_OPS = ("Gemm", "MatMul", "Add", "Relu")
TORCH_LAYERS = ("Linear", "ReLU")
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
    """Collects dense layers from a sequence of ops: a matrix starts a layer, a bias adds to
    the open one, a ReLU closes it."""

    def __init__(self):
        self.layers: list[DenseLayer] = []
        self._open: list | None = None  # [name, weight, bias]

    def matrix(self, name: str, weight: np.ndarray, bias=None) -> None:
        self._close(relu=False)
        weight = np.asarray(weight, dtype=np.float64)
        if self.layers and weight.ndim == 2 and weight.shape[0] != self.layers[-1].out_features:
            previous = self.layers[-1]
            raise ConfigError(
                f"layer {len(self.layers)} ({name!r}): in_features = {weight.shape[0]} does not "
                f"match layer {len(self.layers) - 1} ({previous.name!r}) out_features = "
                f"{previous.out_features}")
        out = weight.shape[1] if weight.ndim == 2 else 0
        self._open = [name, weight, np.zeros(out) if bias is None else bias]

    def bias(self, name: str, bias: np.ndarray) -> None:
        if self._open is None:
            raise ConfigError(f"layer {name!r}: a bias (Add) must follow a Gemm or MatMul "
                              f"directly, before any Relu")
        layer_name, weight, total = self._open
        try:
            total = total + np.broadcast_to(np.asarray(bias, np.float64).reshape(-1),
                                            total.shape)
        except ValueError:
            raise ConfigError(f"layer {name!r}: bias of shape {np.shape(bias)} does not fit "
                              f"{total.shape[0]} outputs of {layer_name!r}") from None
        self._open = [layer_name, weight, total]

    def relu(self, name: str) -> None:
        if self._open is None:
            if self.layers and self.layers[-1].relu:
                return  # ReLU of a ReLU changes nothing
            raise ConfigError(f"layer {name!r}: a ReLU must follow a dense layer")
        self._close(relu=True)

    def _close(self, relu: bool) -> None:
        if self._open is not None:
            name, weight, bias = self._open
            self.layers.append(DenseLayer(name, weight, bias, relu))
            self._open = None

    def model(self, **kwargs) -> DenseModel:
        self._close(relu=False)
        if not self.layers:
            raise ConfigError("the model holds no dense layer")
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


# --- ONNX -----------------------------------------------------------------------------------

def _onnx_attributes(node) -> dict:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute)
            for attribute in node.attribute}


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
    chain = _Chain()
    for index, node in enumerate(graph.node):
        label = node.name or f"node {index}"
        if node.op_type not in ONNX_OPS:
            raise ConfigError(f"ONNX node {label!r} ({node.op_type}) is not supported; allowed "
                              f"{', '.join(ONNX_OPS)}")
        operands = [value for value in node.input if value]
        if current not in operands:
            raise ConfigError(f"ONNX node {label!r} ({node.op_type}) does not read the output "
                              f"of the node before it; the graph must be one chain")
        others = [value for value in operands if value != current]
        unknown = [value for value in others if value not in constants]
        if unknown:
            raise ConfigError(f"ONNX node {label!r} ({node.op_type}) reads {unknown}, which are "
                              f"not initializers; weights and biases must be constants")
        values = [constants[value] for value in others]
        if node.op_type == "Gemm":
            attributes = _onnx_attributes(node)
            if node.input[0] != current or attributes.get("transA", 0):
                raise ConfigError(f"ONNX node {label!r} (Gemm): the data must be input A, "
                                  f"untransposed")
            weight = values[0].T if attributes.get("transB", 0) else values[0]
            bias = attributes.get("beta", 1.0) * values[1] if len(values) > 1 else None
            chain.matrix(label, attributes.get("alpha", 1.0) * np.asarray(weight, np.float64))
            if bias is not None:
                chain.bias(label, bias)
        elif node.op_type == "MatMul":
            if node.input[0] != current or values[0].ndim != 2:
                raise ConfigError(f"ONNX node {label!r} (MatMul): expected data @ a 2-D "
                                  f"initializer")
            chain.matrix(label, values[0])
        elif node.op_type == "Add":
            if len(values) != 1:
                raise ConfigError(f"ONNX node {label!r} (Add) must add one initializer")
            chain.bias(label, values[0])
        else:
            chain.relu(label)
        current = node.output[0]
    if current != graph.output[0].name:
        raise ConfigError(f"ONNX graph output {graph.output[0].name!r} is not the end of the "
                          f"chain ({current!r})")
    dense = chain.model(task=task, name=name or graph.name or "onnx")
    dims = inputs[0].type.tensor_type.shape.dim
    if dims and dims[-1].HasField("dim_value") and dims[-1].dim_value != dense.in_features:
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


def from_torch(source, task: str = "classifier", name: str | None = None) -> DenseModel:
    """A ``torch.nn.Sequential`` of ``Linear``/``ReLU``, or a ``.pt`` file holding one."""
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
    chain = _Chain()
    for key, child in _flatten_sequential(module):
        kind = type(child).__name__
        label = f"{kind}[{key}]"
        if isinstance(child, torch.nn.Linear):
            with torch.no_grad():
                chain.matrix(label, child.weight.detach().cpu().double().numpy().T)
                if child.bias is not None:
                    chain.bias(label, child.bias.detach().cpu().double().numpy())
        elif isinstance(child, torch.nn.ReLU):
            chain.relu(label)
        elif kind not in _TORCH_SKIPPED:
            raise ConfigError(f"torch layer {key} ({kind}) is not supported; allowed "
                              f"{', '.join(TORCH_LAYERS)} ({', '.join(_TORCH_SKIPPED)} skipped)")
    return chain.model(task=task, name=name or "torch")


# --- Dispatch -------------------------------------------------------------------------------

def load_model(source, task: str | None = None) -> DenseModel:
    """Any supported model: a bundled name, a file path, or a model object.

    ``task`` sets what an ONNX or torch model's outputs mean (default ``"classifier"``); the
    others carry their own.
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
        return from_torch(path, task or "classifier")
    module = type(source).__module__.split(".")[0]
    if module == "sklearn":
        return from_sklearn(source)
    if module == "onnx":
        return from_onnx(source, task or "classifier")
    if module == "torch":
        return from_torch(source, task or "classifier")
    raise ConfigError(f"model of type {type(source).__name__} is not supported; allowed a "
                      f"bundled name, a .npz/.onnx/.pt file, an MLPClassifier/MLPRegressor, an "
                      f"ONNX ModelProto or a torch nn.Sequential")
