"""Golden models, testbenches and simulator runners (``spinemu.sim``)."""
