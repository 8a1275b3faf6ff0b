"""The usage examples in the docstrings of the pure geometry functions run and print what they say.

The standard library's doctest on a fixed list of modules, rather than ``--doctest-modules`` over the tree, which
would also import every helper module under ``test/`` and every optional backend. Each module must keep at least
one example: deleting them all fails here.
"""

import doctest
import importlib

import pytest

DOCTEST_MODULES = (
    "fpose_ros.core.transforms",
    "fpose_ros.core.backprojection",
    "fpose_ros.core.validated_config",
    "fpose_ros.ros.launch_environment",
)


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed"
