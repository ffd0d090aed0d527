"""The float network every importer produces: a chain of dense layers, each optionally ReLU.

A :class:`DenseModel` is the mapper's one input form. Its layers hold ``weight[In, Out]`` (the
transpose of PyTorch's ``Linear.weight``, the orientation of a crossbar: rows are inputs) and
``bias[Out]`` as float64; ``forward`` is the float reference the emulated network is measured
against. On disk a model is an ``.npz`` file (no pickle), see :meth:`DenseModel.save`.

A convolution is a layer with a :class:`~spinemu.config.ConvConfig`: ``weight`` is then its
im2col matrix ``[kernel * kernel * C_in, C_out]`` (rows in ``(kh, kw, c)`` order), applied to
every patch of its flat NHWC input image (:mod:`spinemu.sim.golden.window`), followed by the
ReLU and the pooling; its output is the pooled image, flat NHWC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, ConvConfig, FlatShape, read_npz
from spinemu.sim.golden.window import im2col, windows

__all__ = ["DenseLayer", "DenseModel", "TASKS", "pool_floats", "predict_from_outputs"]

#: What the network's outputs mean: class scores (argmax, or the sign of a single output) or
#: regression values.
TASKS = ("classifier", "regressor")


def predict_from_outputs(task: str, classes, outputs: np.ndarray) -> np.ndarray:
    """Predictions from network outputs ``[batch, Out]``: class labels (``classes[argmax]``, or
    ``classes[output > 0]`` for a single output), or the regression values."""
    if task == "regressor":
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs
    index = (outputs[:, 0] > 0).astype(int) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    return np.asarray(classes)[index]


def pool_floats(a: np.ndarray, conv: ConvConfig) -> np.ndarray:
    """Float outputs ``a[batch * positions, channels]`` pooled (max, or the exact mean) and
    flattened NHWC to ``[batch, conv.outputs(channels)]``."""
    batch = a.shape[0] // conv.positions
    if conv.pool == "none":
        return a.reshape(batch, -1)
    window = windows(a, conv)
    pooled = window.max(axis=-1) if conv.pool == "max" else window.mean(axis=-1)
    return pooled.reshape(batch, -1)


@dataclass(frozen=True)
class DenseLayer(FlatShape):
    """``y = x @ weight + bias``, then ``max(y, 0)`` if ``relu``; for a convolution the same on
    every im2col patch of ``x``, then the pooling.

    Attributes
    ----------
    name : str
        Where the layer came from (an ONNX node, a torch module index), used in messages.
    weight : float64 [In, Out]
    bias : float64 [Out]
    relu : bool
    conv : ConvConfig or None
        Window geometry of a convolution (``weight`` is its im2col matrix); None when dense.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    relu: bool
    conv: ConvConfig | None = None

    def __post_init__(self):
        weight = np.asarray(self.weight, dtype=np.float64)
        bias = np.asarray(self.bias, dtype=np.float64)
        if weight.ndim != 2 or 0 in weight.shape:
            raise ConfigError(f"layer {self.name!r}: weight has shape {weight.shape}; expected "
                              f"a non-empty 2-D [in_features, out_features] matrix")
        if bias.shape != (weight.shape[1],):
            raise ConfigError(f"layer {self.name!r}: bias has shape {bias.shape}; expected "
                              f"({weight.shape[1]},) to match weight {weight.shape}")
        for label, array in (("weight", weight), ("bias", bias)):
            if not np.all(np.isfinite(array)):
                raise ConfigError(f"layer {self.name!r}: {label} holds NaN or infinite values")
        if self.conv is not None and weight.shape[0] != self.conv.patch_features:
            raise ConfigError(f"layer {self.name!r}: weight has {weight.shape[0]} rows; the "
                              f"convolution's im2col patch has {self.conv.patch_features}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)

    @property
    def in_features(self) -> int:
        """Rows of the weight matrix."""
        return self.weight.shape[0]

    @property
    def out_features(self) -> int:
        """Columns of the weight matrix (output channels of a convolution)."""
        return self.weight.shape[1]

    def describe_inputs(self) -> str:
        """``in_features = N``, or for a convolution its input image, for messages."""
        if self.conv is None:
            return f"in_features = {self.in_features}"
        c = self.conv
        return f"inputs = {self.inputs} (an image {c.height}x{c.width}x{c.channels})"

    def describe_outputs(self) -> str:
        """``out_features = N``, or for a convolution its pooled output image, for messages."""
        if self.conv is None:
            return f"out_features = {self.out_features}"
        c = self.conv
        return (f"outputs = {self.outputs} (an image {c.out_height}x{c.out_width}x"
                f"{self.out_features})")

    def patches(self, x: np.ndarray) -> np.ndarray:
        """The weight matrix's inputs for layer inputs ``x[batch, inputs]``."""
        return x if self.conv is None else im2col(x, self.conv)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self.patches(x) @ self.weight + self.bias
        y = np.maximum(y, 0.0) if self.relu else y
        return y if self.conv is None else pool_floats(y, self.conv)


@dataclass(frozen=True)
class DenseModel:
    """A chain of :class:`DenseLayer`; layer ``i``'s outputs are layer ``i+1``'s inputs.

    Attributes
    ----------
    layers : tuple of DenseLayer
    task : {"classifier", "regressor"}
        A classifier predicts ``classes[argmax]`` of its outputs, or with a single output
        ``classes[output > 0]`` (a logistic unit).
    classes : array [n_classes] or None
        Class labels of a classifier, in output order.
    name : str
    """

    layers: tuple[DenseLayer, ...]
    task: str = "classifier"
    classes: np.ndarray | None = field(default=None)
    name: str = "model"

    def __post_init__(self):
        if not isinstance(self.layers, tuple) or not self.layers:
            raise ConfigError("a model needs a non-empty tuple of dense layers")
        if self.task not in TASKS:
            raise ConfigError(f"task = {self.task!r} is not supported; allowed {list(TASKS)}")
        for index, (a, b) in enumerate(zip(self.layers, self.layers[1:], strict=False)):
            if a.outputs != b.inputs:
                raise ConfigError(
                    f"layer {index + 1} ({b.name!r}): {b.describe_inputs()} does not match "
                    f"layer {index} ({a.name!r}) {a.describe_outputs()}")
        if self.task == "classifier":
            outputs = self.layers[-1].out_features
            classes = np.arange(max(outputs, 2)) if self.classes is None else np.asarray(
                self.classes)
            if classes.shape != (max(outputs, 2),):
                raise ConfigError(f"classes has shape {classes.shape}; a classifier with "
                                  f"{outputs} output(s) needs {max(outputs, 2)} labels")
            object.__setattr__(self, "classes", classes)
        elif self.classes is not None:
            raise ConfigError("a regressor has no classes")

    @property
    def in_features(self) -> int:
        """Flat inputs of the first layer (an NHWC image for a convolution)."""
        return self.layers[0].inputs

    def check_inputs(self, x) -> np.ndarray:
        """``x`` as float64 ``[batch, in_features]``; a mismatch names the first layer."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ConfigError(f"layer 0 ({self.layers[0].name!r}): inputs have shape {x.shape}; "
                              f"expected [batch, {self.in_features}]")
        if not np.all(np.isfinite(x)):
            raise ConfigError("inputs hold NaN or infinite values")
        return x

    def activations(self, x, start: int = 0) -> list[np.ndarray]:
        """Outputs of layers ``start..`` for inputs ``x`` of layer ``start``."""
        out = []
        for layer in self.layers[start:]:
            x = layer(x)
            out.append(x)
        return out

    def __call__(self, x) -> np.ndarray:
        return self.activations(self.check_inputs(x))[-1]

    def predict(self, x) -> np.ndarray:
        return predict_from_outputs(self.task, self.classes, self(x))

    # Files ------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write an ``.npz``: ``layer{i}.weight`` [In, Out], ``layer{i}.bias`` [Out] and a JSON
        string ``meta`` (``name``, ``task``, per-layer ``names``, ``relu`` and ``conv`` (the
        :class:`ConvConfig` fields, or null; optional), and ``classes`` as a list, or null)."""
        meta = {"name": self.name, "task": self.task,
                "names": [layer.name for layer in self.layers],
                "relu": [layer.relu for layer in self.layers],
                "conv": [None if layer.conv is None else layer.conv.to_dict()
                         for layer in self.layers],
                "classes": None if self.classes is None else self.classes.tolist()}
        arrays = {}
        for i, layer in enumerate(self.layers):
            arrays[f"layer{i}.weight"] = layer.weight.astype(np.float32)
            arrays[f"layer{i}.bias"] = layer.bias.astype(np.float32)
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> DenseModel:
        """Read a file written by :meth:`save`."""
        arrays = read_npz(path, "model")
        if "meta" not in arrays:
            raise ConfigError(f"{path} is not a spinemu dense model: it has no 'meta' entry")
        try:
            meta = json.loads(str(arrays["meta"]))
            names, relus = meta["names"], meta["relu"]
            convs = meta.get("conv", [None] * len(names))
            task, classes, name = meta["task"], meta["classes"], meta["name"]
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{path}: malformed 'meta' entry ({error})") from None
        if not len(names) == len(relus) == len(convs):
            raise ConfigError(f"{path}: meta lists {len(names)} names, {len(relus)} relu flags "
                              f"and {len(convs)} conv entries")
        layers = []
        for i, (layer_name, relu, conv) in enumerate(zip(names, relus, convs, strict=True)):
            missing = [k for k in (f"layer{i}.weight", f"layer{i}.bias") if k not in arrays]
            if missing:
                raise ConfigError(f"{path}: layer {i} ({layer_name!r}) lacks {missing}")
            layers.append(DenseLayer(layer_name, arrays[f"layer{i}.weight"],
                                     arrays[f"layer{i}.bias"], bool(relu),
                                     None if conv is None else ConvConfig.from_dict(conv)))
        return cls(tuple(layers), task=task,
                   classes=None if classes is None else np.asarray(classes), name=name)
