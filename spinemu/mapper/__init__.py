"""The model mapper: trained float networks onto tiled crossbar layers (DESIGN.md 2, 3.1, 3.2).

:func:`map_model` takes a model (scikit-learn MLP, ONNX, PyTorch ``nn.Sequential``, a bundled
name or a ``.npz``), a calibration batch and :class:`MapSettings`, programs the weights through
a seeded :class:`DeviceModel`, calibrates every tile column, and returns a
:class:`~spinemu.plan.Plan` with the scales that turn floats into its codes and back
(:class:`Mapping`), and a :class:`MapReport` of float against emulated accuracy. See
``docs/mapper.md``.
"""

from .dense import DenseLayer, DenseModel
from .device import DeviceModel
from .importers import from_onnx, from_sklearn, from_torch, load_model
from .mapper import MapResult, map_model, network_config
from .mapping import Mapping
from .report import MapReport, evaluate
from .settings import MapSettings

__all__ = [
    "DenseLayer", "DenseModel", "DeviceModel", "MapReport", "MapResult", "MapSettings", "Mapping",
    "evaluate", "from_onnx", "from_sklearn", "from_torch", "load_model", "map_model",
    "network_config",
]
