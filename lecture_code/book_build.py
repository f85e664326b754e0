"""Sphinx extension loaded by the book build (listed in ``_config.yml``).

It marks the environment of the build, which the notebook kernels inherit,
so that :mod:`lecture_code.animation` knows it is rendering the static HTML
book: there an animation must play without a kernel, and no widget may look
live while doing nothing.
"""

import os

STATIC_BUILD_VARIABLE = "LECTURE_CODE_STATIC_BOOK"


def is_static_build():
    """Return True inside a kernel started by the HTML book build."""
    return os.environ.get(STATIC_BUILD_VARIABLE) == "1"


def setup(app):
    """Sphinx entry point: set the marker before any notebook executes."""
    os.environ[STATIC_BUILD_VARIABLE] = "1"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
