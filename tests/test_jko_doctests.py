"""The examples in the docstrings of the JKO modules run and give what they show."""

import doctest

import pytest

from lecture_code import jko, jko_1d, jko_entropic


@pytest.mark.parametrize("module", [jko, jko_1d, jko_entropic])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
