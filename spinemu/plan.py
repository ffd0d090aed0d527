"""A mapped fabric: a :class:`NetworkConfig` and the images programmed into each layer.

On disk a plan is a folder holding ``network.toml`` (the config) and ``images.npz`` (arrays
``layer{i}.{name}`` for every name of :class:`~spinemu.sim.golden.network.LayerImages`).
Loading checks everything against the config before returning, so a malformed plan is refused
as a whole with a message naming the layer and the array.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, NetworkConfig, read_npz
from spinemu.images import LayerImages
from spinemu.sim.golden.network import NetworkModel

__all__ = ["Plan"]

CONFIG_FILE, IMAGES_FILE = "network.toml", "images.npz"


@dataclass(frozen=True)
class Plan:
    config: NetworkConfig
    images: tuple[LayerImages, ...]

    def __post_init__(self):
        if len(self.images) != len(self.config.layers):
            raise ConfigError(f"plan has {len(self.images)} layer images for "
                              f"{len(self.config.layers)} layers")
        object.__setattr__(self, "images", tuple(
            image.checked(layer, f"layer {index}")
            for index, (layer, image) in enumerate(zip(self.config.layers, self.images,
                                                       strict=True))))

    def model(self) -> NetworkModel:
        """The golden model of this plan."""
        return NetworkModel(self.config, list(self.images))

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"layer{i}.{name}": getattr(image, name)
                  for i, image in enumerate(self.images) for name in LayerImages.NAMES}
        np.savez_compressed(directory / IMAGES_FILE, **arrays)
        (directory / CONFIG_FILE).write_text(self.config.to_toml())

    @classmethod
    def load(cls, directory: str | Path) -> Plan:
        directory = Path(directory)
        for name in (CONFIG_FILE, IMAGES_FILE):
            if not (directory / name).is_file():
                raise ConfigError(f"{directory} is not a plan: {name} is missing")
        config = NetworkConfig.load(directory / CONFIG_FILE)
        arrays = read_npz(directory / IMAGES_FILE, "images file")
        images = []
        for i in range(len(config.layers)):
            missing = [n for n in LayerImages.NAMES if f"layer{i}.{n}" not in arrays]
            if missing:
                raise ConfigError(f"layer {i}: {IMAGES_FILE} lacks {missing}")
            images.append(LayerImages(**{n: arrays[f"layer{i}.{n}"] for n in LayerImages.NAMES}))
        extra = sorted(set(arrays) - {f"layer{i}.{n}" for i in range(len(config.layers))
                                      for n in LayerImages.NAMES})
        if extra:
            raise ConfigError(f"{IMAGES_FILE} holds arrays of no layer: {extra}")
        return cls(config, tuple(images))
