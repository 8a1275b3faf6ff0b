"""Exceptions raised by the pose engine for bad input, each with a message a user can act on."""


class FposeError(Exception):
    """Base class of the engine's own errors."""


class InputError(FposeError, ValueError):
    """An RGB-D frame, mask or camera model is unusable (shape, dtype, encoding, values)."""


class MeshError(FposeError, ValueError):
    """The object mesh is missing, unreadable, empty or in the wrong units."""


class ConfigError(FposeError, ValueError):
    """A configuration value is out of its valid range."""
