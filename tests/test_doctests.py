"""The runnable examples in the docstrings of features/ and risk/ (the pure packages) are part of
the suite: documentation that cannot go stale."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import features
import risk

MODULES = sorted(
    info.name
    for package in (features, risk)
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


@pytest.mark.parametrize(
    "name", ["features.area_codes", "features.areas", "features.tokenizer", "risk.levels", "risk.flags"]
)
def test_the_core_pure_modules_carry_examples(name: str) -> None:
    finder = doctest.DocTestFinder()
    examples = sum(len(test.examples) for test in finder.find(importlib.import_module(name)))
    assert examples >= 2, f"{name} has {examples} docstring examples"
