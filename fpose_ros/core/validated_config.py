"""One validated-config mechanism for every configuration dataclass: descriptions and ranges as field metadata.

A configuration field is declared with :func:`param`, which stores a :class:`ParamSpec` (what the
field means, its valid range or choices, its unit) in the field's metadata; the dataclass's
``__post_init__`` calls :func:`validate`, which checks every field against its spec and raises one
:class:`~fpose_ros.core.errors.ConfigError` naming each bad field, its value and what a valid one is.
The node declares its ROS parameters from the same specs (:mod:`fpose_ros.ros.node_config`), so a
parameter's help text and range are exactly what the engine checks.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Knobs:
    ...     steps: int = param(3, "Gauss-Newton steps per rendering.", range=(1, 50))
    ...     def __post_init__(self) -> None:
    ...         validate(self)
    >>> Knobs(steps=0)
    Traceback (most recent call last):
    ...
    fpose_ros.core.errors.ConfigError: Knobs: steps=0 must be an integer in [1, 50]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fpose_ros.core.errors import ConfigError

#: Key of the :class:`ParamSpec` in a dataclass field's metadata.
PARAM_KEY = "fpose_param"

#: A custom check: None when the value is valid, else what a valid value is ("must be ...").
Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class ParamSpec:
    """What one configuration field means and which values it accepts.

    Attributes:
        description: one-line help (it becomes the ROS parameter's description).
        kind: the value's type (``bool``, ``int``, ``float``, ``str`` or ``tuple`` (of strings; a list is
            accepted); the default's type); ``int`` accepts no bool, ``float`` accepts an int and no NaN
            or infinity. None: not checked.
        range: ``(low, high)`` bounds, inclusive; either may be None (unbounded).
        low_open: the low bound itself is excluded (``(0, 180]``).
        high_open: the high bound itself is excluded (``(0, 1)``).
        unit: appended to the range in messages ("metres", "degrees", "pixels", "s").
        choices: the only values allowed (strings).
        also: values allowed outside the range, whose meaning the description gives (``0`` = by renderer).
        check: a further test of the value, for rules a range cannot say (a TF frame name, a torch device).
    """

    description: str
    kind: type | None = None
    range: tuple[float | None, float | None] | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""
    choices: tuple[str, ...] = ()
    also: tuple[Any, ...] = ()
    check: Check | None = None

    def allowed(self) -> str:
        """What a valid value is, e.g. ``an integer in [1, 50]``, ``in (0, 180] degrees``, ``one of a, b``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.range is None:
            return _KIND_NAMES[self.kind] if self.kind is not None else "any value"
        low, high = self.range
        unit = f" {self.unit}" if self.unit else ""
        if low is not None and high is not None:
            text = f"in {'(' if self.low_open else '['}{low:g}, {high:g}{')' if self.high_open else ']'}{unit}"
        elif low == 0 and self.low_open:
            text = f"a positive {'integer' if self.kind is int else 'number'}{f' ({self.unit})' if self.unit else ''}"
        elif low is not None:
            text = f"{'>' if self.low_open else '>='} {low:g}{unit}"
        else:
            text = f"{'<' if self.high_open else '<='} {high:g}{unit}"
        text = f"an integer {text}" if self.kind is int and not text.startswith("a positive") else text
        return " or ".join([*(repr(v) for v in self.also), text])

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is valid, else what a valid value is (``"must be in [0, 1]"``). O(1)."""
        if any(type(value) is type(v) and value == v for v in self.also):
            return None
        valid = (_has_kind(value, self.kind) and (not self.choices or value in self.choices)
                 and (self.range is None or self._in_range(value)))
        if not valid:
            return f"must be {self.allowed()}"
        return self.check(value) if self.check is not None else None

    def _in_range(self, value: float) -> bool:
        low, high = self.range or (None, None)
        above = low is None or (value > low if self.low_open else value >= low)
        below = high is None or (value < high if self.high_open else value <= high)
        return above and below


def param(
    default: Any = dataclasses.MISSING,
    description: str = "",
    *,
    range: tuple[float | None, float | None] | None = None,  # noqa: A002 (the word a reader expects)
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
    choices: tuple[str, ...] = (),
    also: tuple[Any, ...] = (),
    check: Check | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field whose metadata holds its :class:`ParamSpec` (arguments as its attributes).

    The spec's ``kind`` is the type of ``default`` (bool, int, float, str, or tuple for a list of strings);
    a ``default_factory`` field is not type-checked.
    """
    if not description:
        raise ValueError("param() needs a description")
    # A tuple of numbers (a range, a vector) is left unchecked: only a list of strings is a ROS kind here.
    strings = isinstance(default, tuple) and all(isinstance(v, str) for v in default)
    kind = type(default) if isinstance(default, bool | int | float | str) or strings else None
    spec = ParamSpec(description, kind, range, low_open, high_open, unit, choices, also, check)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata={PARAM_KEY: spec})
    return dataclasses.field(default=default, metadata={PARAM_KEY: spec})


def param_spec(f: dataclasses.Field) -> ParamSpec | None:
    """The :class:`ParamSpec` of a dataclass field, or None for a field not declared with :func:`param`."""
    return f.metadata.get(PARAM_KEY)


def validate(config: Any, relations: Callable[[Any], Iterable[tuple[str, bool, str]]] | None = None) -> None:
    """Check every :func:`param` field of the dataclass instance ``config`` against its spec.

    Args:
        config: a dataclass instance.
        relations: rules between fields, ``config -> [(field name, holds, "must be ...")]``; evaluated only
            when every field is valid on its own (so a rule never compares a value of the wrong type).

    Raises:
        ConfigError: ``"<Class>: name=value must be ...; ..."``, one entry per invalid field.
    """
    problems = []
    for f in dataclasses.fields(config):
        spec = param_spec(f)
        why = spec.problem(getattr(config, f.name)) if spec is not None else None
        if why:
            problems.append(f"{f.name}={getattr(config, f.name)!r} {why}")
    if not problems and relations is not None:
        problems = [f"{name}={getattr(config, name)!r} {why}" for name, holds, why in relations(config) if not holds]
    if problems:
        raise ConfigError(f"{type(config).__name__}: " + "; ".join(problems))


_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string",
               tuple: "a list of strings"}


def _has_kind(value: Any, kind: type | None) -> bool:
    if kind is None:
        return True
    if kind is tuple:
        return isinstance(value, tuple | list) and all(isinstance(v, str) for v in value)
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, kind)
